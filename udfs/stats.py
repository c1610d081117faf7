"""Excel functions for statistics: performance table (M12), rank IC (M11), rolling percentile
rank (M13) and the version.

Each function converts the Excel values (:mod:`xladdin_udfs._convert`), calls one core function and
converts back.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xlwings as xw

import xladdin
from xladdin.conventions import MONTHS_PER_YEAR, TRADING_DAYS_PER_YEAR, WEEKS_PER_YEAR
from xladdin.methods import dashboard, stats

from ._convert import (
    EXCEL_ROWS,
    XAInputError,
    frame_rows,
    opt_bool,
    opt_choice,
    opt_float,
    opt_int,
    series_cells,
    to_block,
    to_vector,
)
from ._errors import excel_safe

CATEGORY = "xladdin"
#: placeholder time stamps of a NAV passed without dates: one second apart from this instant, so
#: that all rows fall in one calendar year and month (the core then computes one year, not one per
#: 252 rows); only the full-period row is returned, since calendar-year rows and monthly win rate /
#: odds need real dates, and its figures count rows (daily returns), not calendar time
_NO_DATES_START = np.datetime64("2001-01-01T00:00:00", "s")


def _trim_trailing(v) -> int:
    """Number of leading rows to keep: drops trailing blank rows of an oversized range."""
    valid = np.flatnonzero(~np.isnan(v.values))
    return int(valid[-1]) + 1 if valid.size else 0


def _nav_series(vec, name: str, dates=None) -> pd.Series:
    n = _trim_trailing(vec)
    vals = vec.values[:n]
    if n < 2:
        raise XAInputError(f"{name} needs at least two values")
    gaps = np.flatnonzero(np.isnan(vals))
    if gaps.size:
        raise XAInputError(f"{name} cell {gaps[0] + 1} is blank or an error; fill or trim it")
    if vec.dates is not None:
        idx = vec.dates[:n]
    elif dates is not None:
        idx = dates
    else:
        idx = pd.DatetimeIndex(_NO_DATES_START + np.arange(n).astype("timedelta64[s]"))
    if len(idx) != n:
        raise XAInputError(f"{name} has {n} values but {len(idx)} dates")
    return pd.Series(vals, index=pd.DatetimeIndex(idx))


@xw.func(category=CATEGORY)
@xw.arg("nav", doc="Daily strategy NAV, oldest first: one column, or two columns (dates, NAV). "
        "With dates the table has a row per calendar year.", err_to_str=True)
@xw.arg("benchmark", doc="Optional. Benchmark NAV on the same rows (one column), or two columns "
        "(dates, NAV) aligned by date.", err_to_str=True)
@xw.arg("rf", doc="Optional. Annual risk-free rate for the Sharpe ratio (default 0).")
@xw.arg("sharpe", doc='Optional. "geometric" (default: annualised return / volatility, the '
        'report convention) or "arithmetic" (empyrical).')
@excel_safe
def XA_PERF(nav, benchmark=None, rf=None, sharpe=None):
    """Performance table (M12): return, volatility, Sharpe, max drawdown, excess return, tracking error, IR, relative drawdown, monthly win rate and odds, per calendar year and full period."""
    v = to_vector(nav, "nav", dates=True)
    s = _nav_series(v, "nav")
    b = None
    if benchmark is not None and not (isinstance(benchmark, str) and not benchmark.strip()):
        bv = to_vector(benchmark, "benchmark", dates=True)
        if bv.dates is None:
            nb = _trim_trailing(bv)
            if nb != len(s):
                raise XAInputError(f"nav and benchmark differ in length ({len(s)} vs {nb})")
            b = _nav_series(bv, "benchmark", s.index)
        else:
            b = _nav_series(bv, "benchmark")
    r = opt_float(rf, "rf", stats.DEFAULT_RF, lo=stats.RF_RANGE[0], hi=stats.RF_RANGE[1])
    method = opt_choice(sharpe, "sharpe", "geometric", ("geometric", "arithmetic"))
    table = stats.performance_table(s, b, rf=r, sharpe=method)
    at = {c: j for j, c in enumerate(stats.COLUMNS)}  # the table's columns, in this order
    cols = ([c for c in stats.COLUMNS if c != "turnover"] if b is not None
            else ["annual_return", "volatility", "sharpe", "max_drawdown"])
    values, periods = table.to_numpy(dtype=float), table.index.to_numpy(dtype=object)
    if v.dates is None:
        # without dates only the full period is meaningful (the last row); win rate and odds need calendar months
        values, periods = values[-1:].copy(), periods[-1:]
        values[:, [at["win_rate"], at["odds"]]] = np.nan
    return series_cells([("period", periods)] + [(c, values[:, at[c]]) for c in cols], True)


@xw.func(category=CATEGORY)
@xw.arg("factor_block", doc="Factor values: one row per date, one column per industry/ETF. May include a "
        "first row of codes and a first column of dates.", err_to_str=True)
@xw.arg("forward_returns", doc="Next-period returns, same layout and size as factor_block (aligned on the "
        "signal date).", err_to_str=True)
@xw.arg("periods_per_year", doc=f"Optional. Dates per year for the annualised IC IR (default {MONTHS_PER_YEAR}, "
        "monthly).")
@xw.arg("min_obs", doc=f"Optional. Rows with fewer valid pairs get a blank IC (default {stats.DEFAULT_MIN_OBS}).")
@excel_safe
def XA_IC(factor_block, forward_returns, periods_per_year=None, min_obs=None):
    """Rank IC (Spearman) per row of the two blocks (M11), then summary rows: IC mean, std, IC IR, annualised IR, t-stat, share of positive ICs, count, last IC."""
    f = to_block(factor_block, "factor_block")
    r = to_block(forward_returns, "forward_returns")
    if f.values.shape != r.values.shape:
        (a, b), (c, d) = f.values.shape, r.values.shape
        raise XAInputError(f"factor_block and forward_returns differ in size ({a} x {b} vs {c} x {d})")
    ppy = opt_int(periods_per_year, "periods_per_year", MONTHS_PER_YEAR, lo=1, hi=EXCEL_ROWS)
    n, k = f.values.shape
    mo = opt_int(min_obs, "min_obs", stats.DEFAULT_MIN_OBS, lo=2)
    if mo > k:
        raise XAInputError(f"min_obs ({mo}) is more than the {k} columns of factor_block: every IC would be blank")
    idx = pd.RangeIndex(n)
    cols = [f"c{j}" for j in range(k)]
    ic = stats.rank_ic(pd.DataFrame(f.values, idx, cols), pd.DataFrame(r.values, idx, cols), min_obs=mo)
    summary = stats.ic_summary(ic, periods_per_year=ppy)
    labels = f.row_labels if f.row_labels is not None else r.row_labels
    if labels is None:
        first, labels = "row", list(range(1, n + 1))
    else:
        first = "date" if all(isinstance(x, (pd.Timestamp, np.datetime64)) or hasattr(x, "year")
                              for x in labels if x is not None) else "label"
    body = frame_rows(pd.DataFrame({"ic": ic.to_numpy()}, index=pd.Index(labels, dtype=object)), index_name=first)
    body.append([None, None])
    body.extend([[_SUMMARY_LABELS.get(str(k_), str(k_)), v] for k_, v in summary.items()])
    return body


#: ic_summary labels shown in Excel ("months" is the count of ICs whatever the frequency)
_SUMMARY_LABELS = {"months": "count"}
#: XA_PCTRANK's window: the dashboard's percentile history (M13) in weeks
PCTRANK_WINDOW = round(dashboard.DEFAULT_HEAT_YEARS * WEEKS_PER_YEAR)


@xw.func(category=CATEGORY)
@xw.arg("values", doc="The series, oldest first: one column (e.g. weekly turnover, 20-day volatility).",
        err_to_str=True)
@xw.arg("window", doc=f"Optional. Rows in the trailing window, current row included (default {PCTRANK_WINDOW} = "
        f"{dashboard.DEFAULT_HEAT_YEARS:g} years of weeks; {round(dashboard.DEFAULT_HEAT_YEARS * TRADING_DAYS_PER_YEAR)} "
        "for daily data).")
@xw.arg("min_periods", doc="Optional. Fewest non-blank values the window needs (default: window).")
@xw.arg("header", doc="Optional. TRUE adds a header row above the results (default FALSE).")
@excel_safe
def XA_PCTRANK(values, window=None, min_periods=None, header=False):
    """Trailing percentile rank (M13): share of the window's values <= the current one, in (0, 1]; blank until the window has min_periods values. One row per input row."""
    v = to_vector(values, "values")
    w = opt_int(window, "window", PCTRANK_WINDOW, lo=1, hi=EXCEL_ROWS)
    mp = opt_int(min_periods, "min_periods", w, lo=1, hi=w)
    pct = stats.trailing_percentile(pd.Series(v.values), w, mp)
    return series_cells([("pctrank", pct.to_numpy())], opt_bool(header, "header") or v.title is not None)


@xw.func(category=CATEGORY)
@excel_safe
def XA_VERSION():
    """Version of the xladdin package serving these functions."""
    return [[f"xladdin {xladdin.__version__}"]]
