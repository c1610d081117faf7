"""Error handling for the Excel functions: bad input never raises, it returns one short text.

Every UDF is decorated, innermost, with :func:`excel_safe`::

    @xw.func                      # outermost: registers the function (name = Python name)
    @xw.arg("shares", doc="...")  # argument docs for the function wizard
    @excel_safe                   # innermost: catches everything, cleans the output
    def XA_ETF_FLOW(shares, nav, split_ratio=None, header=False):
        ...

Order matters on Windows: ``xw.func`` reads the signature, the docstring and the type hints of
the object it receives and stores them in ``__xlfunc__`` on that object, which is the object the
module must expose. :func:`excel_safe` uses :func:`functools.wraps`, so the wrapper carries the
original ``__name__``, ``__doc__`` and ``__wrapped__`` (``inspect.signature`` follows it): xlwings
sees the real argument names and defaults, never ``*args``.

Bounded work: a call whose arguments hold more than :data:`INPUT_BUDGET` cells, or whose work would build
more than :data:`WORK_BUDGET` cells (:func:`check_work`), answers ``#XA! input too large: ...`` before
converting anything.

What a cell shows on failure: ``#XA! <what to fix>`` in a single cell, e.g.
``#XA! shares and nav differ in length (250 vs 249)``. The message of a :class:`ValueError`
(input problems, raised by :mod:`xladdin_udfs._convert` and by the core, whose messages already say what to
fix) is shown as is; any other exception is a bug and shows ``#XA! internal error in <function>:
<type>: <message>`` so that it can be reported.
"""
from __future__ import annotations

import datetime as dt
import functools
import gc
import math
import operator
import warnings
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

from xladdin.cells import function_cell

PREFIX = "#XA! "
MAX_MESSAGE = 250  # Excel shows long texts truncated anyway; keep every message readable in a cell
#: most cells one call may pass in all its arguments: 20 million (a full column of 1,048,576 rows x 19; all
#: A shares x ten years of days), some 0.5-1 GB as the Python lists xlwings builds, seconds to convert
INPUT_BUDGET = 20_000_000
#: most cells of the intermediate arrays a function may build beyond its input (8 bytes each: 400 MB); a
#: function whose work grows with a parameter (XA_EVENT_STUDY: rows x (thresholds + horizons)) checks it
#: before converting anything (:func:`check_work`)
WORK_BUDGET = 50_000_000
#: most multiply-adds one call may ask for where the work grows with the product of two parameters
#: (XA_EVENT_STUDY: rows x thresholds x horizons, counted by :func:`check_work` with ``unit="operations"``):
#: a few seconds; the default thresholds and horizons on a full column (1,048,576 x 5 x 6) are 31 million
OPERATION_BUDGET = 500_000_000


class XAInputError(ValueError):
    """An Excel argument cannot be used; the message says what to fix (without the prefix)."""


def cells_of(x: Any) -> int:
    """Cells in an argument as xlwings passes it (an omitted one 0, a scalar 1, a list its length, a list of
    rows rows x the first row's length), or as Python passes it (an array's size); counted without walking
    the cells."""
    if x is None:
        return 0
    size = getattr(x, "size", None)
    if isinstance(size, (int, np.integer)) and not isinstance(x, (list, tuple)):
        return int(size)
    if isinstance(x, (list, tuple)):
        if x and isinstance(x[0], (list, tuple)):
            return len(x) * max(len(x[0]), 1)
        return len(x)
    return 1


def check_input(func_name: str, args: tuple, kwargs: dict) -> None:
    """XAInputError ``input too large`` when the arguments hold more than :data:`INPUT_BUDGET` cells."""
    n = sum(map(cells_of, args)) + sum(map(cells_of, kwargs.values()))
    if n > INPUT_BUDGET:
        raise XAInputError(f"input too large: {n:,} cells in the arguments of {func_name} (budget {INPUT_BUDGET:,}); "
                           "pass fewer rows or columns")


def check_work(cost: int, formula: str, budget: int = WORK_BUDGET, unit: str = "cells") -> None:
    """XAInputError ``input too large`` when ``cost`` (the ``unit`` a call would build or do, ``formula`` says
    how they are counted) exceeds ``budget``."""
    if cost > budget:
        raise XAInputError(f"input too large: {formula} = {cost:,} {unit} (budget {budget:,}); use fewer rows or "
                           "fewer parameter values")


def error_cell(message: str) -> list[list[str]]:
    """The single-cell result ``[["#XA! message"]]``, message flattened to one line and shortened."""
    text = " ".join(str(message).split()) or "invalid input"
    if text.startswith(PREFIX.strip()):
        text = text[len(PREFIX.strip()):].strip()
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 3] + "..."
    return [[PREFIX + text]]


def _message(func_name: str, exc: BaseException) -> str:
    if isinstance(exc, ValueError):  # XAInputError, DataError and the core's ValueErrors
        return str(exc) or f"invalid input to {func_name}"
    if isinstance(exc, KeyError):  # MissingTableError and friends: str() without quotes
        return str(exc.args[0]) if exc.args else f"missing key in {func_name}"
    if isinstance(exc, (OverflowError, FloatingPointError)):
        return f"numbers out of range in {func_name} ({exc}); check the scale of the input (e.g. a NAV, not percent)"
    if isinstance(exc, MemoryError):
        return f"input too large for {func_name}; use fewer rows or columns"
    if isinstance(exc, TypeError) and "positional argument" in str(exc):
        return f"wrong number of arguments to {func_name}: {exc}"
    return f"internal error in {func_name}: {type(exc).__name__}: {exc}"


_FIRST = operator.itemgetter(0)
_PLAIN = frozenset({str, bool, int, float, type(None), dt.datetime, dt.time})


def unchanged_cells(types: set[type], cells: list[Any]) -> bool:
    """Whether :func:`xladdin.cells.function_cell` leaves every cell unchanged but non-finite floats:
    plain Python scalars, datetimes without a time zone (a date or a zoned datetime is converted)."""
    if not types <= _PLAIN:
        return False
    return dt.datetime not in types or all(c.tzinfo is None for c in cells if type(c) is dt.datetime)


class Cells:
    """Excel-ready results: a read-only 2-D object array of str / int / finite float / bool /
    datetime / None cells, and an optional header row, built by the converters of
    :mod:`xladdin_udfs._convert` (``series_cells``, ``frame_cells``, ``matrix_cells``), which clean every cell
    as they build it. :func:`excel_safe` turns it into rows without checking each cell again.
    """

    __slots__ = ("block", "header")

    def __init__(self, block: np.ndarray, header: list[Any] | None = None) -> None:
        if not (isinstance(block, np.ndarray) and block.dtype == object and block.ndim == 2):
            raise TypeError("Cells holds a 2-D object array of Excel cells")
        block.flags.writeable = False
        self.block, self.header = block, header

    def rows(self) -> list[list[Any]]:
        """The cells as a list of rows (header first)."""
        rows = self.block.tolist()
        if self.header is not None:
            rows.insert(0, list(self.header))
        return rows


def clean_output(out: Any) -> list[list[Any]]:
    """Make ``out`` a rectangular list of rows of Excel scalars (short rows padded with None)."""
    if isinstance(out, Cells):
        out = out.rows()
        return out if out and out[0] else [[None]]
    fast = _clean_rectangle(out)
    if fast is not None:
        return fast
    if not isinstance(out, list):
        out = [[out]]
    rows = []
    for row in out:
        if not isinstance(row, (list, tuple)):
            row = [row]
        types = set(map(type, row))
        if unchanged_cells(types, row):  # fast path: Python scalars; only non-finite floats change
            rows.append([v if type(v) is not float or math.isfinite(v) else None for v in row]
                        if float in types else list(row))
        else:
            rows.append([function_cell(v) for v in row])
    if not rows:
        return [[None]]
    width = max(len(r) for r in rows) or 1
    for r in rows:
        if len(r) < width:
            r.extend([None] * (width - len(r)))
    return rows


def _clean_rectangle(out: Any) -> list[list[Any]] | None:
    """``out`` itself when it already is a non-empty rectangle of plain Excel scalars, with non-finite
    floats set to None in place; None when the general cleaning is needed. Checked in bulk: the
    types of all cells in one pass, the floats' finiteness in one numpy call."""
    if type(out) is not list or not out:
        return None
    if set(map(type, out)) != {list} or len(set(map(len, out))) != 1 or not out[0]:
        return None
    cells = list(map(_FIRST, out)) if len(out[0]) == 1 else list(chain.from_iterable(out))
    types = set(map(type, cells))
    if not unchanged_cells(types, cells):
        return None
    if float in types:
        if types <= {float, int, type(None)}:
            try:
                values = np.array(cells, dtype=float)
            except OverflowError:  # a Python int beyond float range: the general path keeps it
                return None
            bad = np.flatnonzero(~np.isfinite(values))  # NaN / inf floats (and None, which stays None)
        else:  # text or dates beside the floats: test the float cells only
            is_float = np.fromiter(map(id, map(type, cells)), dtype=np.uint64, count=len(cells)) == np.uint64(id(float))
            where = np.flatnonzero(is_float)
            values = np.array(np.fromiter(cells, dtype=object, count=len(cells))[where].tolist(), dtype=float)
            bad = where[~np.isfinite(values)]
        width = len(out[0])
        for i in bad.tolist():
            out[i // width][i % width] = None
    return out


def excel_safe(func: Callable[..., Any]) -> Callable[..., list[list[Any]]]:
    """Decorator: run ``func``; on any exception return ``[["#XA! <short message>"]]``.

    The result is always a rectangular list of rows of str / float / int / bool / datetime /
    None (NaN, inf and NaT become None, which xlwings writes as an empty cell). numpy warnings are
    silenced inside the call (an all-blank window is not worth a log line). Python's cyclic garbage
    collector is paused during the call: a call on a large range creates one list per row, and each
    collection that triggers re-scans every live object (a 100,000-row call ran 2.5x slower);
    memory is still freed by reference counting, and cycles are collected after the call.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> list[list[Any]]:
        collecting = gc.isenabled()
        gc.disable()
        try:
            check_input(func.__name__, args, kwargs)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out = func(*args, **kwargs)
            return clean_output(out)
        except RecursionError:
            return error_cell(f"input nested too deeply for {func.__name__}; pass a cell range")
        except Exception as exc:  # noqa: BLE001 - the point of the decorator
            return error_cell(_message(func.__name__, exc))
        finally:
            if collecting:
                gc.enable()

    return wrapper
