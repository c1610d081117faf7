"""Excel values <-> numpy/pandas, for the UDFs in this package (no method lives here).

What Excel (through xlwings, default converter) passes to a Python function:

* one cell -> a scalar: ``float`` (Excel has no integers), ``str``, ``bool``, ``datetime`` or
  ``None`` (blank);
* one row or one column -> a flat ``list`` (the orientation is lost);
* a block -> a ``list`` of rows (lists of equal length);
* error cells -> ``None`` by default, or the error text (``"#N/A"``, ``"#DIV/0!"``...) when the
  argument is declared with ``err_to_str=True``, which every data argument here is;
* an omitted optional argument -> the Python default; a blank referenced cell -> ``None``.

Rules applied to data ranges (documented in the README):

* blank (``None`` or ``""``) and Excel error texts (``#N/A``, ``#DIV/0!``, ``#VALUE!``, ``#NUM!``,
  ``#REF!``, ``#NAME?``, ``#NULL!``, ``#SPILL!``, ``#CALC!``, ...) are *missing* values (NaN): a
  suspended day's ``#N/A`` price is a gap, not a reason to fail;
* ``#XA! ...`` (the error text of another XA function) is an error: the message points at it;
* text where a number is expected (including numbers stored as text, ``"1.5"``), TRUE/FALSE and
  dates are errors that name the argument and the position (``row 3``): convert the cells;
* NaN and +-inf (possible only from Python callers) are missing;
* a first row of non-numeric text (column titles) is taken as a title row and skipped; the
  result then starts with a header row so that it stays aligned with the input rows.

Outputs are lists of rows; NaN/inf/NaT become ``None``, which xlwings writes as an empty cell
(``""``, so ``ISBLANK`` is FALSE but the cell looks blank and ``COUNT`` skips it).

Conversion is in bulk: a range is flattened once, the Python types of its cells are collected
(one C-level pass), and a range holding only numbers and blanks becomes a float array in one
``numpy`` call. Otherwise each kind of cell (numbers, blanks, text, anything else) is found with a
vectorised test on the array of cell types, text is classified once per distinct string, and the
first offending cell in reading order (row by row) is named with the same message as a cell-by-cell
check would give (``tests/test_udfs_convert.py`` compares both on random ranges).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from xladdin.cells import function_cell

from ._errors import Cells, XAInputError, unchanged_cells

#: Error values Excel can pass as text (``err_to_str=True``) -> treated as missing values.
EXCEL_ERRORS = frozenset({
    "#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
    "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!",
    "#N/A WAITING...",
})
_FAST_TYPES = frozenset({float, int, type(None)})
_DATE_TYPES = (dt.datetime, dt.date, pd.Timestamp, np.datetime64)
#: what :func:`_plain` turns into a row (a list)
_ROW_TYPES = (list, tuple, np.ndarray, pd.Series, pd.Index, pd.DataFrame)
#: cells of these types make a range "nested too deeply"
_DEEP_TYPES = (list, tuple, np.ndarray, dict, set)
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # 1900 date system as Windows Excel uses it
MAX_SERIAL = 2958465.0  # 9999-12-31
#: rows of an Excel sheet: the largest window or count a parameter can meaningfully take
EXCEL_ROWS = 1_048_576
#: an ASCII character that no text ``float()`` accepts can contain (after removing commas), other
#: than the letters of inf / infinity / nan: a quick "not a number" before trying ``float()``
_NOT_FLOAT_CHAR = re.compile(r"[^0-9+\-.eE_,\s]")
_FLOAT_WORDS = frozenset({"inf", "infinity", "nan"})

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
    if v.isascii() and _NOT_FLOAT_CHAR.search(v) \
            and v.replace(",", "").strip().lstrip("+-").lower() not in _FLOAT_WORDS:
        return False  # a letter (other than e) or symbol float() never accepts
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


# --------------------------------------------------------------------------- cell kinds, in bulk
_NUM, _NONE, _STR, _OTHER = range(4)


def _type_kind(t: type) -> int:
    """What a cell of Python type ``t`` is: a number, a blank, text (decided by its value) or other."""
    if t is type(None):
        return _NONE
    if issubclass(t, (bool, np.bool_)):
        return _OTHER
    if issubclass(t, (int, float, np.integer, np.floating)):
        return _NUM
    if issubclass(t, str):
        return _STR
    return _OTHER


def _objects(values: list[Any]) -> np.ndarray:
    """A flat list -> 1-D object array of the same objects (sequences are not unpacked)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _type_masks(values: list[Any], types: set) -> dict[type, np.ndarray]:
    """For each Python type among ``values``: a boolean mask of its cells (one vectorised compare each)."""
    if len(types) == 1:
        return {next(iter(types)): np.ones(len(values), dtype=bool)}
    ids = np.fromiter(map(id, map(type, values)), dtype=np.uint64, count=len(values))
    return {t: ids == np.uint64(id(t)) for t in types}


def _missing_texts(strings) -> set:
    """The distinct strings among ``strings`` that are missing values (blank or an Excel error text)."""
    return {s for s in set(strings) if is_missing(s)}


def _first_bad_text(values: list[Any], idx: np.ndarray, ok: Callable[[str], bool]) -> int | None:
    """First position in ``idx`` (ascending) whose string fails ``ok`` (checked once per distinct string)."""
    strs = _objects(values)[idx] if len(idx) < len(values) else _objects(values)
    bad = {s for s in set(strs.tolist()) if not ok(s)}
    if not bad:
        return None
    hit = np.fromiter((s in bad for s in strs), dtype=bool, count=len(strs))
    return int(idx[np.argmax(hit)])


def _mask_by_type(values: list[Any], types: set, text: Callable[[list], set]) -> np.ndarray:
    """Cells that are None, NaN floats, or strings in ``text(strings)``: vectorised by type."""
    out = np.zeros(len(values), dtype=bool)
    masks = _type_masks(values, types)
    for t, m in masks.items():
        if t is type(None):
            out |= m
        elif issubclass(t, float):
            sub = values if len(masks) == 1 else _objects(values)[m].tolist()
            out[m] = np.isnan(np.array(sub, dtype=float))
        elif issubclass(t, str):
            strs = values if len(masks) == 1 else _objects(values)[m].tolist()
            hits = text(strs)
            if hits:  # only then a pass over every string
                out[m] = np.fromiter(map(hits.__contains__, strs), dtype=bool, count=len(strs))
    return out


def _missing_mask(values: list[Any], types: set | None = None) -> np.ndarray:
    """Boolean mask of the missing cells (:func:`is_missing`) of a flat list, vectorised by type."""
    types = set(map(type, values)) if types is None else types
    return _mask_by_type(values, types, _missing_texts)


def _blank_texts(strings: list) -> set:
    """The distinct blank strings ("" or whitespace) among ``strings`` (a C-level scan first)."""
    if "" not in strings and not any(map(str.isspace, strings)):
        return set()
    return set(filter(str.isspace, strings)) | ({""} & set(strings))


def _blank_mask(values: list[Any], types: set | None = None) -> np.ndarray:
    """Boolean mask of the blank cells (:func:`is_blank`: None, NaN, empty text) of a flat list."""
    types = set(map(type, values)) if types is None else types
    return _mask_by_type(values, types, _blank_texts)


# --------------------------------------------------------------------------- shapes
@dataclass
class Grid:
    """An Excel argument as a rectangular list of rows, with how it arrived.

    ``kind``: ``"scalar"`` (one cell), ``"flat"`` (one row or one column; orientation unknown),
    ``"block"`` (a list of rows). ``cells``: the cells row by row (one flat list) and ``types``
    their Python types, when known (filled by :func:`to_grid`).
    """

    rows: list[list[Any]]
    kind: str
    cells: list[Any] | None = field(default=None, repr=False)
    types: frozenset | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), (len(self.rows[0]) if self.rows else 0)

    def flat(self) -> list[Any]:
        """The cells row by row."""
        if self.cells is None:
            self.cells = list(chain.from_iterable(self.rows))
        return self.cells

    def cell_types(self) -> frozenset:
        if self.types is None:
            self.types = frozenset(map(type, self.flat()))
        return self.types


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
        return Grid([[x]], "scalar", [x], frozenset({type(x)}))
    if len(x) == 0:
        if allow_empty:
            return Grid([], "flat", [], frozenset())
        raise XAInputError(f"{name} is empty; select a range with values")
    outer = set(map(type, x))
    if outer == {list}:
        return _block_grid(x, name)
    if not any(issubclass(t, _ROW_TYPES) for t in outer):
        return Grid([x], "flat", x, frozenset(outer))
    items = [_plain(v) if type(v) is not list else v for v in x]  # rows as tuples / arrays (Python callers)
    if not all(isinstance(v, list) for v in items):
        if not any(isinstance(v, list) for v in items):
            return Grid([items], "flat", items)
        raise XAInputError(f"{name} mixes single values and rows; pass one cell range")
    return _block_grid([list(r) for r in items], name)


def _block_grid(rows: list[list[Any]], name: str) -> Grid:
    """A list of rows (lists) -> a block Grid; ragged or nested rows raise, naming the first."""
    width = len(rows[0])
    if width == 0:
        raise XAInputError(f"{name} has an empty row; select a range with values")
    cells = list(chain.from_iterable(rows))
    types = frozenset(map(type, cells))
    if len(set(map(len, rows))) > 1 or any(issubclass(t, _DEEP_TYPES) for t in types):
        for i, row in enumerate(rows):  # the first row at fault, as a row-by-row check finds it
            if len(row) != width:
                raise XAInputError(f"{name} rows differ in length (row 1 has {width}, row {i + 1} has {len(row)})")
            if any(isinstance(v, _DEEP_TYPES) for v in row):
                raise XAInputError(f"{name} is nested too deeply; pass a cell range (rows x columns)")
    return Grid(rows, "block", cells, types)


def _floats(values: list[Any], name: str, locate: Callable[[int], str], types: Any = None) -> np.ndarray:
    """Flat list of cells -> float array (missing -> NaN); the first bad cell raises with its position.

    ``types``: the Python types of ``values`` when the caller has them (a superset will do when it
    holds only numbers and ``None``).
    """
    types = set(map(type, values)) if types is None else types
    if types <= _FAST_TYPES:
        out = np.array(values, dtype=float)
    else:
        out = _floats_mixed(values, name, locate, set(types))
    bad = ~np.isfinite(out)
    if bad.any():
        out[bad] = np.nan
    return out


def _floats_mixed(values: list[Any], name: str, locate: Callable[[int], str], types: set) -> np.ndarray:
    """:func:`_floats` for ranges holding text, booleans, dates or other objects."""
    n = len(values)
    masks = _type_masks(values, types)
    number = np.zeros(n, dtype=bool)
    first = n
    for t, m in masks.items():
        kind = _type_kind(t)
        if kind == _NUM:
            number |= m
        elif kind == _OTHER:
            first = min(first, int(np.argmax(m)))
        elif kind == _STR:
            i = _first_bad_text(values, np.flatnonzero(m), is_missing)
            first = first if i is None else min(first, i)
    if first < n:
        raise _bad_cell(name, values[first], locate(first))
    out = np.full(n, np.nan)
    if number.all():
        out = np.array(values, dtype=float)
    elif number.any():
        out[number] = _objects(values)[number].astype(float)
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
    if g.kind == "flat" or n_c == 1 or n_r == 1:
        cells, types = g.flat(), g.cell_types()
        if len(cells) > 1 and _is_title(cells[0]):
            title, cells, types = str(cells[0]).strip(), cells[1:], None
        vals = _floats(cells, name, lambda i: f"cell {i + 1 + (title is not None)}", types)
        out = Vector(vals, title)
    elif dates and n_c == 2:
        offset = 0
        last = _last_row_with_a_value(g)
        rows = rows[: last + 1]  # trailing blank rows of an oversized range
        if _has_title_row(rows):
            title = str(rows[0][1]).strip() if _is_title(rows[0][1]) else None
            rows, offset = rows[1:], 1
        cells = g.flat()[2 * offset: 2 * (last + 1)]  # row by row: date, value, date, value, ...
        first, second = cells[0::2], cells[1::2]
        d = _dates(first, set(map(type, first)), f"{name} (date column)", offset)
        vals = _floats(second, name, lambda i: f"row {i + 1 + offset}, column 2")
        out = Vector(vals, title, d)
    else:
        hint = " (or two columns: dates, values)" if dates else ""
        raise XAInputError(f"{name} must be one row or one column{hint}; got {n_r} rows x {n_c} columns")
    if len(out.values) < min_len:
        raise XAInputError(f"{name} needs at least {min_len} values (got {len(out.values)})")
    return out


def _last_row_with_a_value(g: Grid) -> int:
    """Index of the last row of a block with a non-missing cell (0 when none: the first row stays)."""
    if not all(map(is_missing, g.rows[-1])):
        return len(g.rows) - 1  # no trailing blank row (the usual case)
    cells = g.flat()
    if g.cell_types() <= {float}:
        filled = ~np.isnan(np.array(cells, dtype=float))
    else:
        filled = ~_missing_mask(cells, set(g.cell_types()))
    rows_filled = filled.reshape(g.shape).any(axis=1)
    hit = np.flatnonzero(rows_filled)
    return int(hit[-1]) if hit.size else 0


@dataclass
class Block:
    """A rows x columns Excel block as floats, with optional column titles and row labels."""

    values: np.ndarray  # 2-D float
    columns: list[str] | None = None
    row_labels: list[Any] | None = None  # first column when it holds dates or text labels
    title_row: bool = False


def _labels_column(first: list[Any]) -> bool:
    """A first column of dates, or of text titles (blanks aside): the row labels of a block."""
    types = set(map(type, first))
    if not any(issubclass(t, (str,) + _DATE_TYPES) for t in types):
        return False  # numbers and blanks only (the usual block)
    blank = _blank_mask(first, types)
    if blank.all():
        return False
    nonblank = first if not blank.any() else _objects(first)[~blank].tolist()
    types = set(map(type, nonblank))
    if all(issubclass(t, _DATE_TYPES) for t in types):
        return True
    if not all(issubclass(t, str) for t in types):
        return False
    return all(_is_title(v) for v in set(nonblank))


def to_block(x: Any, name: str, *, flat_as: str = "row", row_labels: bool = True) -> Block:
    """A block of numbers -> :class:`Block` (blank / #N/A -> NaN).

    A first row of text is taken as column titles; with ``row_labels`` a first column holding dates
    or text (under a title row, or not) is taken as row labels. A flat list is one row
    (``flat_as="row"``) or one column (``flat_as="column"``).
    """
    g = to_grid(x, name)
    rows = g.rows
    cells, types = g.flat(), g.cell_types()
    n_c = len(rows[0])
    if g.kind == "flat" and flat_as == "column":
        rows, n_c = [[v] for v in rows[0]], 1
    columns = None
    title_row = False
    if _has_title_row(rows):
        columns = ["" if is_blank(v) else str(v).strip() for v in rows[0]]
        rows, title_row = rows[1:], True
    labels = None
    if row_labels and rows and n_c > 1:
        first = [r[0] for r in rows]
        if _labels_column(first):
            labels = first
            if columns is not None:
                columns = columns[1:]
    n_r = len(rows)
    width = n_c - (labels is not None)
    if not rows or width == 0:
        raise XAInputError(f"{name} has no numbers below its titles; select the data too")
    off_r = 1 if title_row else 0
    off_c = 1 if labels is not None else 0
    if off_c:
        body = _objects(cells).reshape(n_r + off_r, n_c)[off_r:, 1:].ravel().tolist()
    else:
        body = cells[off_r * n_c:] if off_r else cells
    if off_r or off_c:
        types = types if types <= _FAST_TYPES else None
    vals = _floats(body, name, lambda i: f"row {i // width + 1 + off_r}, column {i % width + 1 + off_c}", types)
    return Block(vals.reshape(n_r, width), columns, labels, title_row)


def to_dates(x: Any, name: str, *, offset: int = 0) -> pd.DatetimeIndex:
    """Cells holding dates -> DatetimeIndex (normalised to midnight).

    Accepted per cell: a date/datetime, an Excel date serial number (1900 system: 45000 =
    2023-03-15), or ISO text (``2024-01-31``). Blank or error cells are errors (every row needs a
    date).
    """
    g = to_grid(x, name)
    if g.kind == "block" and g.shape[1] != 1 and g.shape[0] != 1:
        raise XAInputError(f"{name} must be one row or one column of dates; got {g.shape[0]} x {g.shape[1]}")
    return _dates(g.flat(), g.cell_types(), name, offset)


def _dates(cells: list[Any], types: Any, name: str, offset: int) -> pd.DatetimeIndex:
    """:func:`to_dates` of a flat list of cells whose Python types are ``types``."""
    if types == {dt.datetime}:  # the Excel case: one conversion (microseconds, as pd.Timestamp(v) keeps)
        try:
            idx = pd.DatetimeIndex(cells)
        except (ValueError, TypeError):  # mixed time zones: cell by cell below
            idx = None
        if idx is not None and idx.tz is None:
            days = idx.to_numpy().astype("datetime64[D]")  # midnight, as normalize()
            return pd.DatetimeIndex(days.astype("datetime64[us]"))
    if types <= {float, int} and cells:
        serial = np.array(cells, dtype=float)
        if (np.isfinite(serial).all() and (serial >= 1).all() and (serial <= MAX_SERIAL).all()
                and (serial == np.floor(serial)).all()):
            # whole-day serial numbers: exact day counts from the 1900-system epoch
            return pd.DatetimeIndex(EXCEL_EPOCH.to_datetime64() + serial.astype("timedelta64[D]")).as_unit("us")
    return pd.DatetimeIndex([_one_date(v, name, f"cell {i + 1 + offset}") for i, v in enumerate(cells)])


def _one_date(v: Any, name: str, where: str) -> pd.Timestamp:
    """One cell as a date (midnight): a date/datetime, a serial number or ISO text."""
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
    return ts.normalize()


def to_labels(x: Any, name: str) -> list[str]:
    """One row or column of codes/names -> list of str (whole numbers without '.0')."""
    g = to_grid(x, name)
    n_r, n_c = g.shape
    if g.kind == "block" and n_r > 1 and n_c > 1:
        raise XAInputError(f"{name} must be one row or one column of codes; got {n_r} x {n_c}")
    return _labels(g.flat(), name, lambda i: f"cell {i + 1}")


def _labels(cells: list[Any], name: str, locate: Callable[[int], str]) -> list[str]:
    """:func:`label` of every cell: text stripped in bulk, other cells one by one."""
    if set(map(type, cells)) != {str}:
        return [label(v, name, locate(i)) for i, v in enumerate(cells)]
    stripped = list(map(str.strip, cells))
    if "" in stripped or "#" in "\n".join(stripped):
        # only a blank or a text starting with '#' can be missing or an error
        for i in [i for i, t in enumerate(stripped) if not t or t[0] == "#"]:
            if is_missing(cells[i]) or is_xa_error(cells[i]):
                label(cells[i], name, locate(i))  # raises its message
    return stripped


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


# --------------------------------------------------------------------------- outputs
def _object_cells(a: Any) -> np.ndarray:
    """A 1-D array/Series/list -> object array of Excel cells (NaN/inf/NaT -> None), vectorised by dtype."""
    if isinstance(a, (pd.Series, pd.Index)):
        if isinstance(a.array, pd.arrays.IntegerArray):
            a = a.array
        elif isinstance(a.dtype, pd.StringDtype):  # text: Python strings, missing -> None
            a = a.to_numpy(dtype=object, na_value=None)
        else:
            a = a.to_numpy()
    arr = np.asarray(a) if not isinstance(a, (list, pd.arrays.IntegerArray)) else None
    if arr is not None and arr.dtype.kind == "f":
        out = arr.astype(object)
        bad = ~np.isfinite(arr)
        if bad.any():
            out[bad] = None
        return out
    if arr is not None and arr.dtype.kind in "iub":
        return arr.astype(object)
    if arr is not None and arr.dtype.kind == "M":
        out = pd.DatetimeIndex(arr).to_pydatetime()
        out[np.isnat(arr)] = None
        return out
    if isinstance(a, pd.arrays.IntegerArray):  # nullable integers: Python ints, <NA> -> None
        out = a.to_numpy(dtype=np.int64, na_value=0).astype(object)
        out[a.isna()] = None
        return out
    seq = a if isinstance(a, list) else arr.tolist()
    types = set(map(type, seq))
    if unchanged_cells(types, seq):  # Python scalars already: only non-finite floats change
        out = _objects(seq)
        if float in types:
            floats = _type_masks(seq, types)[float]
            values = np.array(out[floats].tolist(), dtype=float)
            out[np.flatnonzero(floats)[~np.isfinite(values)]] = None
        return out
    return _objects([function_cell(v) for v in seq])


def _column_cells(a: Any) -> list[Any]:
    """A 1-D array/Series/list -> list of Excel cells (NaN -> None)."""
    return _object_cells(a).tolist()


def _stack(cols: list[np.ndarray]) -> np.ndarray:
    """Columns of Excel cells -> a rows x columns object array (as many rows as the shortest column)."""
    if not cols:
        return np.empty((0, 0), dtype=object)
    n = min(len(c) for c in cols)
    if len(cols) == 1:
        return cols[0][:n].reshape(-1, 1)
    block = np.empty((n, len(cols)), dtype=object)
    for j, c in enumerate(cols):
        block[:, j] = c[:n]
    return block


def series_cells(columns: Sequence[tuple[str, Any]], header: bool) -> Cells:
    """:func:`series_rows` as :class:`Cells` (returned as is by an Excel function: no second check)."""
    block = _stack([_object_cells(c) for _, c in columns])
    head = [_header_cell(n) for n, _ in columns] if header else None
    if block.size == 0 and head is None:
        block = np.full((1, max(1, len(columns))), None, dtype=object)
    return Cells(block, head)


def series_rows(columns: Sequence[tuple[str, Any]], header: bool) -> list[list[Any]]:
    """Columns (name, 1-D values of equal length) -> rows; a header row when ``header``."""
    return series_cells(columns, header).rows()


def frame_cells(df: pd.DataFrame, *, index: bool = True, index_name: str | None = None,
                header: bool = True) -> Cells:
    """:func:`frame_rows` as :class:`Cells` (returned as is by an Excel function: no second check)."""
    cols: list[tuple[str, Any]] = []
    if index:
        name = index_name or (str(df.index.name) if df.index.name is not None else "")
        idx = df.index
        if isinstance(idx, pd.MultiIndex):
            for lvl in range(idx.nlevels):
                cols.append((str(idx.names[lvl] or ""), idx.get_level_values(lvl)))
        else:
            cols.append((name, idx))
    if len(df.columns) and all(dtype == np.float64 for dtype in df.dtypes):  # one conversion for the values
        values = df.to_numpy(dtype=float)
        cols += [(c, values[:, j]) for j, c in enumerate(df.columns)]
    else:
        cols += [(c, df.iloc[:, j]) for j, c in enumerate(df.columns)]
    block = _stack([_object_cells(c) for _, c in cols])
    names = [_header_cell(n) for n, _ in cols] or [None]
    if block.size == 0:
        return Cells(np.empty((0, len(names)), dtype=object), names)
    return Cells(block, names if header else None)


def frame_rows(df: pd.DataFrame, *, index: bool = True, index_name: str | None = None,
               header: bool = True) -> list[list[Any]]:
    """A DataFrame -> rows (header row first; the index as first column when ``index``)."""
    return frame_cells(df, index=index, index_name=index_name, header=header).rows()


def _header_cell(label: Any) -> Any:
    """A column label for a header row: numbers stay numbers (horizons 5, 10), the rest text."""
    if isinstance(label, (int, float, np.integer, np.floating)) and not isinstance(label, (bool, np.bool_)):
        return function_cell(label)
    if isinstance(label, (pd.Timestamp, dt.datetime, dt.date)):
        return function_cell(pd.Timestamp(label))
    return str(label)


def matrix_cells(a: np.ndarray, *, whole: bool = False, labels: Sequence[Any] | None = None,
                 header: Sequence[Any] | None = None) -> Cells:
    """:func:`matrix_rows` as :class:`Cells` (returned as is by an Excel function: no second check)."""
    a = np.asarray(a, dtype=float)
    bad = ~np.isfinite(a)
    anybad = bool(bad.any())
    if whole:
        cells = (np.where(bad, 0.0, a) if anybad else a).astype(np.int64).astype(object)
    else:
        cells = a.astype(object)
    if anybad:
        cells[bad] = None
    if labels is not None:
        cells = np.concatenate([_object_cells(list(labels)).reshape(-1, 1), cells], axis=1)
    head = None
    if header is not None:
        head = ([""] if labels is not None else []) + [_header_cell(h) for h in header]
    return Cells(cells, head)


def matrix_rows(a: np.ndarray, *, whole: bool = False, labels: Sequence[Any] | None = None,
                header: Sequence[Any] | None = None) -> list[list[Any]]:
    """A 2-D float array -> rows with NaN -> None (whole numbers as ``int`` when ``whole``).

    ``labels``: cells put before each row (the input's row labels); ``header``: a first row (with a
    blank corner cell above the labels).
    """
    return matrix_cells(a, whole=whole, labels=labels, header=header).rows()


def check_same_length(*pairs: tuple[str, Any]) -> int:
    """All (name, sequence) pairs have the same length, else "a and b differ in length (n vs m)"."""
    (n0, a0), *rest = pairs
    for n, a in rest:
        if len(a) != len(a0):
            raise XAInputError(f"{n0} and {n} differ in length ({len(a0)} vs {len(a)})")
    return len(a0)


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
    if g.kind != "block" and len(g.rows[0]) < len(columns):
        raise XAInputError(f"{name} needs {len(columns)} columns ({', '.join(columns)}); got one column")
    n_c = len(g.rows[0])
    if n_c < len(columns):
        raise XAInputError(f"{name} needs {len(columns)} columns ({', '.join(columns)}); got {n_c}")
    names = list(columns) + list(optional)[: max(0, n_c - len(columns))]
    width = len(names)
    table = _objects(g.flat()).reshape(len(g.rows), n_c)[:, :width]
    blank = _blank_mask(table[:, 0].tolist())  # a fully blank row is blank in its first column too
    rest = np.flatnonzero(blank)
    if rest.size and width > 1:
        blank[rest] = _blank_mask(table[rest, 1:].ravel().tolist()).reshape(rest.size, width - 1).all(axis=1)
    if blank.all():
        raise XAInputError(f"{name} is blank")
    if blank.any():
        table = table[~blank]
    offset = 0
    if len(table) > 1:
        head, second = table[0].tolist(), table[1].tolist()
        if all(_is_title(v) or is_blank(v) for v in head):
            nums = [i for i in numeric if i < width]
            if nums:
                title = all(_is_number(second[i]) or is_missing(second[i]) for i in nums)
            else:
                title = not any(_has_digit(v) for v in head) and any(_has_digit(v) for v in second)
            if title:
                table, offset = table[1:], 1
    data: dict[str, Any] = {}
    for j, col in enumerate(names):
        cells = table[:, j].tolist()
        where = (lambda i, j=j: f"row {i + 1 + offset}, column {j + 1}")
        data[col] = (_floats(cells, name, where) if j in numeric
                     else pd.Series(_labels(cells, name, where), dtype=object))  # plain Python strings
    return pd.DataFrame(data)
