"""Excel functions for filters and style signals: one- and two-sided HP filter (M4), factor
momentum and the weekly style regime (M5).

Each function converts the Excel values (:mod:`xladdin_udfs._convert`), calls one core function of
:mod:`xladdin.methods.filters` / :mod:`xladdin.methods.style` and converts back. ``lamb`` is the HP smoothing
parameter lambda (``lambda`` is a reserved word in Python).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xlwings as xw

from xladdin.methods import filters, style

from ._convert import XAInputError, check_same_length, opt_bool, opt_float, series_cells, to_vector
from ._errors import excel_safe

CATEGORY = "xladdin"
HEADER_DOC = "Optional. TRUE adds a header row above the results (default FALSE)."
LAMB_DOC = (f"Optional. HP smoothing parameter lambda (default {style.DEFAULT_LAMBDA:g}, the value that "
            f"reproduces the Huafu report's weekly style table); {filters.MIN_LAMBDA:g} to {filters.MAX_LAMBDA:g}.")
#: dates given to closes passed without dates: one row = one week (Fridays)
_NO_DATES_START = "2001-01-05"


def _span(values: np.ndarray, name: str) -> tuple[int, int]:
    """First and one-past-last non-blank rows; a blank inside that span is an error (the HP filter
    needs a gap-free series). Leading and trailing blanks stay blank in the output."""
    valid = np.flatnonzero(~np.isnan(values))
    if valid.size == 0:
        raise XAInputError(f"{name} has no numbers")
    lo, hi = int(valid[0]), int(valid[-1]) + 1
    gaps = np.flatnonzero(np.isnan(values[lo:hi]))
    if gaps.size:
        raise XAInputError(f"{name} cell {lo + gaps[0] + 1} is blank or an error inside the series; "
                           "the HP filter needs a gap-free series: fill it")
    return lo, hi


def _filter(values, lamb, header, func, label):
    v = to_vector(values, "values")
    lam = opt_float(lamb, "lamb", style.DEFAULT_LAMBDA, lo=filters.MIN_LAMBDA, hi=filters.MAX_LAMBDA)
    lo, hi = _span(v.values, "values")
    out = np.full(len(v.values), np.nan)
    out[lo:hi] = func(v.values[lo:hi], lam)
    return series_cells([(label, out)], opt_bool(header, "header") or v.title is not None)


@xw.func(category=CATEGORY)
@xw.arg("values", doc="The series, oldest first: one column (e.g. weekly CSI 300 / CSI 1000 ratio). "
        "Leading/trailing blanks are allowed, gaps inside are not.", err_to_str=True)
@xw.arg("lamb", doc=LAMB_DOC)
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_HP1S(values, lamb=None, header=False):
    """One-sided HP trend (M4): at each row the HP filter of the rows up to it, last point kept; uses no future data. One row per input row."""
    return _filter(values, lamb, header, filters.hp_filter_one_sided, "hp1s")


@xw.func(category=CATEGORY)
@xw.arg("values", doc="The series, oldest first: one column. Leading/trailing blanks are allowed, gaps "
        "inside are not.", err_to_str=True)
@xw.arg("lamb", doc=LAMB_DOC)
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_HP(values, lamb=None, header=False):
    """Two-sided (ordinary) Hodrick-Prescott trend (M4); uses the whole series, so past rows change when data is added. One row per input row."""
    return _filter(values, lamb, header, filters.hp_filter, "hp")


@xw.func(category=CATEGORY)
@xw.arg("values", doc="A filtered series, oldest first, one column (e.g. the output of XA_HP1S).",
        err_to_str=True)
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_FACTOR_MOM(values, header=False):
    """Factor momentum (M5): y_t - (y_t-1 + y_t-2) / 2 on a filtered series; above 0 = rising. One row per input row, the first two blank."""
    v = to_vector(values, "values")
    mom = style.factor_momentum(v.values)
    return series_cells([("momentum", mom)], opt_bool(header, "header") or v.title is not None)


@xw.func(category=CATEGORY)
@xw.arg("large_close", doc="Closes of the large-cap (or growth) index, oldest first: one column (each row = "
        "one week), or two columns (dates, closes) of daily data.", err_to_str=True)
@xw.arg("small_close", doc="Closes of the small-cap (or value) index, same layout and rows as large_close.",
        err_to_str=True)
@xw.arg("lamb", doc=LAMB_DOC)
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_STYLE_SIGNAL(large_close, small_close, lamb=None, header=False):
    """Weekly style signal (M4+M5): ratio, one-sided HP trend, momentum, realised style and, last, the regime (1 = large/growth leads). With dates, only week-end rows are filled."""
    a = to_vector(large_close, "large_close", dates=True)
    b = to_vector(small_close, "small_close", dates=True)
    n = check_same_length(("large_close", a.values), ("small_close", b.values))
    if (a.dates is None) != (b.dates is None):
        raise XAInputError("give dates with both large_close and small_close, or with neither")
    lam = opt_float(lamb, "lamb", style.DEFAULT_LAMBDA, lo=filters.MIN_LAMBDA, hi=filters.MAX_LAMBDA)
    if a.dates is None:  # one row = one week: consecutive Fridays
        idx = pd.DatetimeIndex(np.datetime64(_NO_DATES_START) + np.arange(n) * np.timedelta64(7, "D"))
        ib = idx
    else:
        idx, ib = a.dates, b.dates
        if idx.has_duplicates:
            raise XAInputError("large_close has duplicated dates; keep one row per date")
    table = style.style_signal(pd.Series(a.values, idx), pd.Series(b.values, ib), lam)
    at = idx.get_indexer(table.index)  # the week-end rows of the input
    data = []
    for c in ("ratio", "filtered", "momentum"):
        full = np.full(n, np.nan)
        full[at] = table[c].to_numpy(dtype=float)
        data.append((c, full))
    for c in ("realised", "regime"):  # whole numbers, blank where unknown
        week = table[c].array
        values, blank = np.zeros(n, dtype=np.int8), np.ones(n, dtype=bool)
        values[at] = week.to_numpy(dtype=np.int8, na_value=0)
        blank[at] = week.isna()
        data.append((c, pd.arrays.IntegerArray(values, blank)))
    hdr = opt_bool(header, "header") or a.title is not None or b.title is not None
    return series_cells(data, hdr)
