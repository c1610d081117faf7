"""One rule for turning a Python, numpy or pandas value into a spreadsheet cell.

Every writer goes through :func:`cell_value`: the workbook tables (:func:`to_cell_value`, used by
:mod:`xladdin.workbook.layout` for openpyxl and xlwings) and the results of the Excel functions
(:func:`function_cell`, used by :mod:`xladdin_udfs`).

=========================================  ==========================================================
value                                      cell
=========================================  ==========================================================
None, NaN, ±inf, NaT, ``pd.NA``             None (an empty cell)
int, float, numpy numbers                  Python int / float
str (numpy str too)                        Python str
Timestamp, datetime64, datetime, date      naive ``datetime``: Excel has no time zones, so a zone is
                                           dropped and the wall-clock time kept
time                                       as is
bool, numpy bool                           workbook tables: 1 / 0; Excel functions: TRUE / FALSE
anything else                              its text, ``str(value)``
=========================================  ==========================================================

Booleans differ by destination on purpose. A workbook table column carries a number format and may
carry a colour scale or a chart, all of which read numbers (a flag column sums to a
count). An Excel function's result is used in formulas, where Excel's own TRUE / FALSE is what
``IF``, ``FILTER`` and ``AND`` expect.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd

#: the number formats :func:`format_number` writes as text: ``0``, ``0.00``, ``#,##0.00``, ``0.0%`` ...
_NUMBER_FORMAT = re.compile(r"^(#,##)?0(?:\.(0+))?(%)?$")


def format_number(value: float, code: str) -> str:
    """``value`` as the Excel number format ``code`` shows it (the codes of the workbook's tables: thousands
    separator, decimals, percent), so a mail says a figure as its sheet does; "—" for a missing value."""
    m = _NUMBER_FORMAT.match(code)
    if m is None:
        raise ValueError(f"number format `{code}` is not one of 0, 0.00, #,##0.00, 0.0% ...")
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    thousands, decimals, percent = m.groups()
    x = float(value) * (100 if percent else 1)
    return f"{x:{',' if thousands else ''}.{len(decimals or '')}f}" + ("%" if percent else "")


def cell_value(v: Any, *, logical: bool = False) -> Any:
    """``v`` as a spreadsheet cell (see the module's table); booleans as True/False when ``logical``,
    else as 1/0."""
    kind = type(v)
    if kind is float:
        return v if math.isfinite(v) else None
    if kind is str or kind is int or v is None:
        return v
    if isinstance(v, (bool, np.bool_)):
        return bool(v) if logical else int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, str):
        return str(v)
    if v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(v)
        return None if pd.isna(ts) else ts.to_pydatetime().replace(tzinfo=None)
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, dt.time):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def to_cell_value(v: Any) -> Any:
    """A value of a workbook table as its cell (booleans as 1/0): :func:`cell_value`."""
    return cell_value(v)


def function_cell(v: Any) -> Any:
    """A value of an Excel function's result as its cell (booleans as TRUE/FALSE): :func:`cell_value`."""
    return cell_value(v, logical=True)
