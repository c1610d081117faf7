"""Frozen copy of the per-cell converters of ``udfs/_convert.py`` as of commit 350dcc2 (before the bulk
converters): the reference that tests/test_udfs_convert.py compares the bulk converters against on
random ranges (same values, same first bad cell, same message). Not used by the package."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xladdin_udfs._errors import XAInputError

#: Error values Excel can pass as text (``err_to_str=True``) -> treated as missing values.
EXCEL_ERRORS = frozenset({
    "#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
    "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!",
    "#N/A WAITING...",
})
_FAST_TYPES = frozenset({float, int, type(None)})
_DATE_TYPES = (dt.datetime, dt.date, pd.Timestamp, np.datetime64)
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # 1900 date system as Windows Excel uses it
MAX_SERIAL = 2958465.0  # 9999-12-31


# --------------------------------------------------------------------------- cell predicates
def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "") or (isinstance(v, float) and math.isnan(v))


def is_error_text(v: Any) -> bool:
    return isinstance(v, str) and v.strip().upper() in EXCEL_ERRORS


def is_xa_error(v: Any) -> bool:
    return isinstance(v, str) and v.lstrip().startswith("#XA!")


def is_missing(v: Any) -> bool:
    """Blank, NaN or an Excel error text."""
    return is_blank(v) or is_error_text(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _is_date(v: Any) -> bool:
    return isinstance(v, _DATE_TYPES)


def _looks_numeric_text(v: str) -> bool:
    try:
        float(v.replace(",", ""))
        return True
    except ValueError:
        return False


def _is_title(v: Any) -> bool:
    """Text that is a column title: not blank, not an error, not a number stored as text."""
    return isinstance(v, str) and not is_missing(v) and not is_xa_error(v) and not _looks_numeric_text(v)


def _short(v: Any, n: int = 24) -> str:
    s = str(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def _where(r: int, c: int | None, shape: str) -> str:
    if shape == "block" and c is not None:
        return f"row {r + 1}, column {c + 1}"
    return f"cell {r + 1}"


def _bad_cell(name: str, v: Any, where: str, expected: str = "a number") -> XAInputError:
    if is_xa_error(v):
        return XAInputError(f"{name} {where} holds an XA error ({_short(v, 60)}): fix that formula first")
    if isinstance(v, (bool, np.bool_)):
        return XAInputError(f"{name} {where} is TRUE/FALSE; expected {expected}")
    if _is_date(v):
        return XAInputError(f"{name} {where} is a date; expected {expected} (select the value column)")
    if isinstance(v, str):
        if _looks_numeric_text(v):
            return XAInputError(f"{name} {where} is a number stored as text ('{_short(v)}'); convert it to a number")
        return XAInputError(f"{name} {where} is text ('{_short(v)}'); expected {expected}")
    return XAInputError(f"{name} {where} is not {expected} ({type(v).__name__})")


# --------------------------------------------------------------------------- shapes
@dataclass
class Grid:
    """An Excel argument as a rectangular list of rows, with how it arrived.

    ``kind``: ``"scalar"`` (one cell), ``"flat"`` (one row or one column; orientation unknown),
    ``"block"`` (a list of rows).
    """

    rows: list[list[Any]]
    kind: str

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), (len(self.rows[0]) if self.rows else 0)


def _plain(x: Any) -> Any:
    """numpy arrays / pandas objects (Python callers) -> nested lists; tuples -> lists."""
    if isinstance(x, (pd.DataFrame,)):
        return x.to_numpy(dtype=object).tolist()
    if isinstance(x, (pd.Series, pd.Index, np.ndarray)):
        return np.asarray(x, dtype=object).tolist()
    if isinstance(x, tuple):
        return list(x)
    return x


def to_grid(x: Any, name: str, *, allow_empty: bool = False) -> Grid:
    """Shape an Excel argument: scalar -> [[x]], flat list -> one row, list of rows -> itself.

    Raises :class:`XAInputError` for empty input, ragged rows, or ranges nested deeper than 2.
    """
    x = _plain(x)
    if not isinstance(x, list):
        if isinstance(x, (dict, set)):
            raise XAInputError(f"{name} must be a cell range or a value")
        return Grid([[x]], "scalar")
    if len(x) == 0:
        if allow_empty:
            return Grid([], "flat")
        raise XAInputError(f"{name} is empty; select a range with values")
    items = [_plain(v) if type(v) is not list else v for v in x]
    nested = [isinstance(v, list) for v in items]
    if not any(nested):
        return Grid([items], "flat")
    if not all(nested):
        raise XAInputError(f"{name} mixes single values and rows; pass one cell range")
    width = len(items[0])
    if width == 0:
        raise XAInputError(f"{name} has an empty row; select a range with values")
    deep = {list, tuple, np.ndarray, dict, set}
    for i, row in enumerate(items):
        if len(row) != width:
            raise XAInputError(f"{name} rows differ in length (row 1 has {width}, row {i + 1} has {len(row)})")
        if deep & set(map(type, row)) or any(isinstance(v, (list, tuple, np.ndarray, dict, set))
                                             for v in row if type(v) not in _FAST_TYPES and type(v) is not str):
            raise XAInputError(f"{name} is nested too deeply; pass a cell range (rows x columns)")
    return Grid([list(r) for r in items], "block")


def _floats(values: list[Any], name: str, locate) -> np.ndarray:
    """Flat list of cells -> float array (missing -> NaN); bad cells raise with their position."""
    types = set(map(type, values))
    if types <= _FAST_TYPES:
        out = np.array(values, dtype=float)
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = np.nan
        return out
    out = np.empty(len(values), dtype=float)
    for i, v in enumerate(values):
        if _is_number(v):
            f = float(v)
            out[i] = f if math.isfinite(f) else np.nan
        elif is_missing(v):
            out[i] = np.nan
        else:
            raise _bad_cell(name, v, locate(i))
    return out


def _has_title_row(rows: list[list[Any]]) -> bool:
    if len(rows) < 2:
        return False
    first = [v for v in rows[0] if not is_blank(v)]
    return bool(first) and all(_is_title(v) for v in first)


@dataclass
class Vector:
    """A one-row or one-column Excel range as floats, with its optional title."""

    values: np.ndarray
    title: str | None = None
    dates: pd.DatetimeIndex | None = None

    def __len__(self) -> int:
        return len(self.values)


def to_vector(x: Any, name: str, *, min_len: int = 1, dates: bool = False) -> Vector:
    """One row or one column of numbers -> :class:`Vector` (blank / #N/A -> NaN).

    A first cell of text is a title and is skipped. With ``dates=True`` a two-column block whose
    first column holds dates is accepted as (dates, values).
    """
    g = to_grid(x, name)
    rows = g.rows
    n_r, n_c = g.shape
    title = None
    if g.kind == "flat":
        cells = rows[0]
        if len(cells) > 1 and _is_title(cells[0]):
            title, cells = str(cells[0]).strip(), cells[1:]
        vals = _floats(cells, name, lambda i: f"cell {i + 1 + (title is not None)}")
        out = Vector(vals, title)
    elif n_c == 1 or n_r == 1:
        cells = [r[0] for r in rows] if n_c == 1 else rows[0]
        if len(cells) > 1 and _is_title(cells[0]):
            title, cells = str(cells[0]).strip(), cells[1:]
        vals = _floats(cells, name, lambda i: f"cell {i + 1 + (title is not None)}")
        out = Vector(vals, title)
    elif dates and n_c == 2:
        offset = 0
        while len(rows) > 1 and is_missing(rows[-1][0]) and is_missing(rows[-1][1]):
            rows = rows[:-1]  # trailing blank rows of an oversized range
        if _has_title_row(rows):
            title = str(rows[0][1]).strip() if _is_title(rows[0][1]) else None
            rows, offset = rows[1:], 1
        d = to_dates([r[0] for r in rows], f"{name} (date column)", offset=offset)
        vals = _floats([r[1] for r in rows], name, lambda i: f"row {i + 1 + offset}, column 2")
        out = Vector(vals, title, d)
    else:
        hint = " (or two columns: dates, values)" if dates else ""
        raise XAInputError(f"{name} must be one row or one column{hint}; got {n_r} rows x {n_c} columns")
    if len(out.values) < min_len:
        raise XAInputError(f"{name} needs at least {min_len} values (got {len(out.values)})")
    return out


@dataclass
class Block:
    """A rows x columns Excel block as floats, with optional column titles and row labels."""

    values: np.ndarray  # 2-D float
    columns: list[str] | None = None
    row_labels: list[Any] | None = None  # first column when it holds dates or text labels
    title_row: bool = False


def to_block(x: Any, name: str, *, flat_as: str = "row", row_labels: bool = True) -> Block:
    """A block of numbers -> :class:`Block` (blank / #N/A -> NaN).

    A first row of text is taken as column titles; with ``row_labels`` a first column holding dates
    or text (under a title row, or not) is taken as row labels. A flat list is one row
    (``flat_as="row"``) or one column (``flat_as="column"``).
    """
    g = to_grid(x, name)
    rows = g.rows
    if g.kind == "flat" and flat_as == "column":
        rows = [[v] for v in rows[0]]
    columns = None
    title_row = False
    if _has_title_row(rows):
        columns = ["" if is_blank(v) else str(v).strip() for v in rows[0]]
        rows, title_row = rows[1:], True
    labels = None
    if row_labels and rows and len(rows[0]) > 1:
        first = [r[0] for r in rows]
        nonblank = [v for v in first if not is_blank(v)]
        if nonblank and (all(_is_date(v) for v in nonblank) or all(_is_title(v) for v in nonblank)):
            labels = first
            rows = [r[1:] for r in rows]
            if columns is not None:
                columns = columns[1:]
    if not rows or not rows[0]:
        raise XAInputError(f"{name} has no numbers below its titles; select the data too")
    n_c = len(rows[0])
    off_r = 1 if title_row else 0
    off_c = 1 if labels is not None else 0
    flat = [v for r in rows for v in r]
    vals = _floats(flat, name, lambda i: f"row {i // n_c + 1 + off_r}, column {i % n_c + 1 + off_c}")
    return Block(vals.reshape(len(rows), n_c), columns, labels, title_row)


def to_dates(x: Any, name: str, *, offset: int = 0) -> pd.DatetimeIndex:
    """Cells holding dates -> DatetimeIndex (normalised to midnight).

    Accepted per cell: a date/datetime, an Excel date serial number (1900 system: 45000 =
    2023-03-15), or ISO text (``2024-01-31``). Blank or error cells are errors (every row needs a
    date).
    """
    g = to_grid(x, name)
    cells = [v for r in g.rows for v in r] if g.kind != "block" or g.shape[1] == 1 or g.shape[0] == 1 else None
    if cells is None:
        raise XAInputError(f"{name} must be one row or one column of dates; got {g.shape[0]} x {g.shape[1]}")
    out = []
    for i, v in enumerate(cells):
        where = f"cell {i + 1 + offset}"
        if isinstance(v, (dt.datetime, dt.date, pd.Timestamp, np.datetime64)):
            ts = pd.Timestamp(v)
            if pd.isna(ts):
                raise XAInputError(f"{name} {where} is blank; every row needs a date")
        elif _is_number(v) and math.isfinite(float(v)) and 1 <= float(v) <= MAX_SERIAL:
            ts = EXCEL_EPOCH + pd.Timedelta(days=float(v))
        elif isinstance(v, str) and not is_missing(v) and not is_xa_error(v):
            try:
                ts = pd.Timestamp(v.strip())
            except (ValueError, TypeError):
                raise XAInputError(f"{name} {where} is text ('{_short(v)}'), not a date") from None
            if pd.isna(ts):
                raise XAInputError(f"{name} {where} is not a date")
        elif is_missing(v):
            raise XAInputError(f"{name} {where} is blank or an error; every row needs a date")
        else:
            raise _bad_cell(name, v, where, "a date")
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        out.append(ts.normalize())
    return pd.DatetimeIndex(out)


def to_labels(x: Any, name: str) -> list[str]:
    """One row or column of codes/names -> list of str (whole numbers without '.0')."""
    g = to_grid(x, name)
    n_r, n_c = g.shape
    if g.kind == "block" and n_r > 1 and n_c > 1:
        raise XAInputError(f"{name} must be one row or one column of codes; got {n_r} x {n_c}")
    cells = [v for r in g.rows for v in r]
    return [label(v, name, f"cell {i + 1}") for i, v in enumerate(cells)]


def label(v: Any, name: str, where: str = "") -> str:
    """One cell as a code/name string."""
    if is_missing(v) or is_xa_error(v):
        raise XAInputError(f"{name} {where} is blank or an error; every row needs a code".replace("  ", " "))
    if _is_number(v):
        f = float(v)
        if not math.isfinite(f):
            raise XAInputError(f"{name} {where} is not a code".replace("  ", " "))
        return str(int(f)) if f == int(f) else str(f)
    if isinstance(v, (bool, np.bool_)) or _is_date(v):
        raise _bad_cell(name, v, where, "a code or name")
    return str(v).strip()


# --------------------------------------------------------------------------- scalar parameters
def _one_cell(x: Any, name: str) -> Any:
    x = _plain(x)
    if isinstance(x, list):
        flat = [v for r in x for v in (r if isinstance(r, list) else [r])]
        if len(flat) == 1:
            return flat[0]
        raise XAInputError(f"{name} must be a single cell, not a range of {len(flat)}")
    return x


def opt_float(x: Any, name: str, default: float | None, *, lo: float | None = None,
              hi: float | None = None, lo_open: bool = False) -> float | None:
    """An optional number: blank/omitted -> ``default``; range-checked."""
    v = _one_cell(x, name)
    if is_blank(v):
        return default
    if is_error_text(v) or is_xa_error(v):
        raise XAInputError(f"{name} is an error ({_short(v)}); enter a number or leave it out")
    if not _is_number(v):
        raise XAInputError(str(_bad_cell(name, v, "")).replace("  ", " "))
    f = float(v)
    if not math.isfinite(f):
        raise XAInputError(f"{name} must be a finite number")
    if lo is not None and (f < lo or (lo_open and f == lo)):
        raise XAInputError(f"{name} must be {'>' if lo_open else '>='} {lo:g} (got {f:g})")
    if hi is not None and f > hi:
        raise XAInputError(f"{name} must be <= {hi:g} (got {f:g})")
    return f


def opt_int(x: Any, name: str, default: int | None, *, lo: int | None = None, hi: int | None = None) -> int | None:
    """An optional whole number: blank/omitted -> ``default``; 20.0 -> 20; 20.5 is an error."""
    f = opt_float(x, name, None)
    if f is None:
        return default
    if f != int(f):
        raise XAInputError(f"{name} must be a whole number (got {f:g})")
    i = int(f)
    if lo is not None and i < lo:
        raise XAInputError(f"{name} must be >= {lo} (got {i})")
    if hi is not None and i > hi:
        raise XAInputError(f"{name} must be <= {hi} (got {i})")
    return i


def opt_bool(x: Any, name: str, default: bool = False) -> bool:
    """TRUE/FALSE, 1/0 or the texts TRUE/FALSE; blank/omitted -> ``default``."""
    v = _one_cell(x, name)
    if is_blank(v):
        return default
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if _is_number(v) and float(v) in (0.0, 1.0):
        return bool(float(v))
    if isinstance(v, str) and v.strip().upper() in ("TRUE", "FALSE"):
        return v.strip().upper() == "TRUE"
    raise XAInputError(f"{name} must be TRUE or FALSE (got {_short(v)})")


def opt_choice(x: Any, name: str, default: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (case-insensitive text); blank/omitted -> ``default``."""
    v = _one_cell(x, name)
    if is_blank(v):
        return default
    if isinstance(v, str):
        key = v.strip().lower()
        for c in choices:
            if c.lower() == key:
                return c
    raise XAInputError(f"{name} must be one of {', '.join(choices)} (got {_short(v)})")


def opt_numbers(x: Any, name: str, default: Sequence[float] | None, *, whole: bool = False,
                lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> list[float] | None:
    """A cell or a range of numbers (blanks skipped); omitted/all blank -> ``default``."""
    x = _plain(x)
    if x is None or (isinstance(x, list) and len(x) == 0):
        return None if default is None else list(default)
    g = to_grid(x, name)
    cells = [v for r in g.rows for v in r if not is_blank(v)]
    if not cells:
        return None if default is None else list(default)
    out: list[float] = []
    for i, v in enumerate(cells):
        if whole:
            out.append(opt_int(v, f"{name} value {i + 1}", None, lo=None if lo is None else int(math.ceil(lo))))
        else:
            out.append(opt_float(v, f"{name} value {i + 1}", None, lo=lo, hi=hi, lo_open=lo_open))
        if hi is not None and out[-1] > hi:
            raise XAInputError(f"{name} value {i + 1} must be <= {hi:g} (got {out[-1]:g})")
    return out




def _has_digit(v: Any) -> bool:
    return any(ch.isdigit() for ch in str(v))


def to_records(x: Any, name: str, columns: Sequence[str], numeric: Sequence[int] = (),
               optional: Sequence[str] = ()) -> pd.DataFrame:
    """A table range (one record per row) -> DataFrame with ``columns`` (+ any of ``optional``).

    Columns are taken by position. ``numeric`` positions must hold numbers (blank/#N/A -> NaN);
    the others are codes/names (text; whole numbers become text without ``.0``). Fully blank rows
    (an oversized range) are dropped. A first row of titles is skipped: it is a title row when its
    cells are text and, for numeric columns, the next row holds numbers there; in an all-text
    table when the first row has no digit and the second row does (codes such as ``600519.SH``).
    """
    g = to_grid(x, name)
    rows = g.rows if g.kind == "block" else ([g.rows[0]] if len(g.rows[0]) >= len(columns) else None)
    if rows is None:
        raise XAInputError(f"{name} needs {len(columns)} columns ({', '.join(columns)}); got one column")
    n_c = len(rows[0])
    if n_c < len(columns):
        raise XAInputError(f"{name} needs {len(columns)} columns ({', '.join(columns)}); got {n_c}")
    names = list(columns) + list(optional)[: max(0, n_c - len(columns))]
    width = len(names)
    rows = [r[:width] for r in rows if not all(is_blank(v) for v in r[:width])]
    if not rows:
        raise XAInputError(f"{name} is blank")
    offset = 0
    if len(rows) > 1 and all(_is_title(v) or is_blank(v) for v in rows[0]):
        nums = [i for i in numeric if i < width]
        if nums:
            title = all(_is_number(rows[1][i]) or is_missing(rows[1][i]) for i in nums)
        else:
            title = not any(_has_digit(v) for v in rows[0]) and any(_has_digit(v) for v in rows[1])
        if title:
            rows, offset = rows[1:], 1
    data: dict[str, Any] = {}
    for j, col in enumerate(names):
        cells = [r[j] for r in rows]
        if j in numeric:
            data[col] = _floats(cells, name, lambda i, j=j: f"row {i + 1 + offset}, column {j + 1}")
        else:
            data[col] = [label(v, name, f"row {i + 1 + offset}, column {j + 1}") for i, v in enumerate(cells)]
    return pd.DataFrame(data)
