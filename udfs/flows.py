"""Excel functions for ETF flows and the flow/return correlation signal (spec M1-M3).

Each function converts the Excel values (:mod:`xladdin_udfs._convert`), calls one core function of
:mod:`xladdin.methods.flows` / :mod:`xladdin.methods.correlation` and converts back. Rows are positions: the
functions work on the rows as given (trading days, ascending), aligned with the input.
"""
from __future__ import annotations

import pandas as pd
import xlwings as xw

from xladdin.methods import correlation, flows

from ._convert import (
    XAInputError,
    check_same_length,
    frame_cells,
    opt_bool,
    opt_choice,
    opt_float,
    opt_int,
    opt_numbers,
    series_cells,
    to_block,
    to_vector,
)
from ._errors import OPERATION_BUDGET, WORK_BUDGET, cells_of, check_work, excel_safe

HEADER_DOC = "Optional. TRUE adds a header row above the results (default FALSE)."
CATEGORY = "xladdin"


def _titles(block, n: int, default: str) -> list[str]:
    if n > 1 and block.columns and len(block.columns) == n and any(block.columns):
        return [c or f"{default}{i + 1}" for i, c in enumerate(block.columns)]
    return [default] if n == 1 else [f"{default}{i + 1}" for i in range(n)]


@xw.func(category=CATEGORY)
@xw.arg("shares", doc="Units outstanding per day, oldest first: one column (one ETF) or a block with one "
        "column per ETF. Blank or #N/A = no observation.", err_to_str=True)
@xw.arg("nav", doc="Unit NAV per day, same shape and rows as shares.", err_to_str=True)
@xw.arg("split_ratio", doc="Optional. New units per old unit on split days, 1 (or blank) otherwise; "
        "same shape as shares. The flow on a split day is 0.", err_to_str=True)
@xw.arg("missing_nav", doc='Optional. Where the NAV is blank: "blank" (default, flow left blank), '
        '"previous" (last known NAV) or "error".')
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_ETF_FLOW(shares, nav, split_ratio=None, missing_nav=None, header=False):
    """Daily ETF net flow (M1): (shares_t - shares_t-1 x split) x nav_t, in the units of shares x nav. One row per input row; the first row is blank."""
    s = to_block(shares, "shares", flat_as="column", row_labels=False)
    v = to_block(nav, "nav", flat_as="column", row_labels=False)
    if s.values.shape != v.values.shape:
        r1, c1 = s.values.shape
        r2, c2 = v.values.shape
        if c1 == c2:
            raise XAInputError(f"shares and nav differ in length ({r1} vs {r2})")
        raise XAInputError(f"shares and nav differ in shape ({r1} x {c1} vs {r2} x {c2})")
    ratio = None
    if split_ratio is not None and not (isinstance(split_ratio, str) and not split_ratio.strip()):
        r = to_block(split_ratio, "split_ratio", flat_as="column", row_labels=False)
        if r.values.shape != s.values.shape:
            raise XAInputError(f"split_ratio and shares differ in shape ({r.values.shape[0]} x {r.values.shape[1]} "
                               f"vs {s.values.shape[0]} x {s.values.shape[1]})")
        ratio = r.values
    policy = {"blank": "nan", "previous": "previous", "error": "raise"}[
        opt_choice(missing_nav, "missing_nav", "blank", ("blank", "previous", "error"))]
    names = _titles(s, s.values.shape[1], "flow")
    idx = pd.RangeIndex(1, s.values.shape[0] + 1)  # data rows, as the core's messages name them
    cols = [f"column {i + 1}" for i in range(s.values.shape[1])]
    out = flows.etf_flows(pd.DataFrame(s.values, idx, cols), pd.DataFrame(v.values, idx, cols),
                          None if ratio is None else pd.DataFrame(ratio, idx, cols), missing_nav=policy)
    hdr = opt_bool(header, "header") or s.title_row or v.title_row
    return series_cells(list(zip(names, (out[c].to_numpy() for c in cols))), hdr)


@xw.func(category=CATEGORY)
@xw.arg("flows", doc="Daily aggregate ETF net flow, one column, oldest first (e.g. the output of XA_ETF_FLOW).",
        err_to_str=True)
@xw.arg("returns", doc="Daily return of the tracked index, same rows as flows.", err_to_str=True)
@xw.arg("window", doc=f"Optional. Rolling window in trading days (default {correlation.DEFAULT_CORR_WINDOW}, "
        f"{correlation.CORR_WINDOW_RANGE[0]} to {correlation.CORR_WINDOW_RANGE[1]}).")
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_FLOW_CORR(flows, returns, window=None, header=False):
    """Rolling Pearson correlation of ETF flow and index return (M2). Rows with a blank flow or return are skipped inside the window and left blank; the first window-1 valid rows are blank."""
    f = to_vector(flows, "flows")
    r = to_vector(returns, "returns")
    n = check_same_length(("flows", f.values), ("returns", r.values))
    w = opt_int(window, "window", correlation.DEFAULT_CORR_WINDOW, lo=correlation.CORR_WINDOW_RANGE[0],
                hi=correlation.CORR_WINDOW_RANGE[1])
    idx = pd.RangeIndex(n)
    corr = correlation.rolling_correlation(pd.Series(f.values, idx), pd.Series(r.values, idx), w)
    hdr = opt_bool(header, "header") or f.title is not None or r.title is not None
    return series_cells([("corr", corr.reindex(idx).to_numpy())], hdr)


@xw.func(category=CATEGORY)
@xw.arg("corr", doc="Rolling flow/return correlation, one column (e.g. the output of XA_FLOW_CORR).",
        err_to_str=True)
@xw.arg("threshold", doc=f"Optional. Signal when corr is above this (default {correlation.DEFAULT_CORR_THRESHOLD:g}).")
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_CORR_SIGNAL(corr, threshold=None, header=False):
    """Top-risk signal (M2): 1 where the correlation is above the threshold (strictly), 0 otherwise, blank where corr is blank."""
    c = to_vector(corr, "corr")
    th = opt_float(threshold, "threshold", correlation.DEFAULT_CORR_THRESHOLD, lo=correlation.CORR_THRESHOLD_RANGE[0],
                   hi=correlation.CORR_THRESHOLD_RANGE[1])
    sig = correlation.top_signal(c.values, th)
    hdr = opt_bool(header, "header") or c.title is not None
    return series_cells([("signal", sig)], hdr)


LAYOUTS = ("long", "p_down", "mean_return", "events")


@xw.func(category=CATEGORY)
@xw.arg("corr", doc="Rolling flow/return correlation per day, one column, oldest first (XA_FLOW_CORR).",
        err_to_str=True)
@xw.arg("closes", doc="Index close per day, same rows as corr. Forward returns use these rows only.",
        err_to_str=True)
@xw.arg("thresholds", doc="Optional. Correlation thresholds, a cell or a range (default "
        f"{', '.join(f'{t:g}' for t in correlation.DEFAULT_THRESHOLDS)}). Rows x (thresholds + horizons) may be at "
        f"most {WORK_BUDGET:,}, rows x thresholds x horizons at most {OPERATION_BUDGET:,} (larger: #XA! input too "
        "large).")
@xw.arg("horizons", doc="Optional. Forward horizons in trading days, a cell or a range (default 5, 10, ..., 30).")
@xw.arg("mode", doc='Optional. "every" (default): every day above the threshold is an event; '
        '"first": only first crossings.')
@xw.arg("layout", doc='Optional. "long" (default): one row per threshold and horizon; "p_down", '
        '"mean_return" or "events": a grid, thresholds down, horizons across.')
@excel_safe
def XA_EVENT_STUDY(corr, closes, thresholds=None, horizons=None, mode=None, layout=None):
    """Event study of the correlation signal (M3): down probability and mean forward return after days with corr above each threshold, beside the base rates over all days."""
    th = opt_numbers(thresholds, "thresholds", correlation.DEFAULT_THRESHOLDS, lo=correlation.CORR_THRESHOLD_RANGE[0],
                     hi=correlation.CORR_THRESHOLD_RANGE[1])
    hz = opt_numbers(horizons, "horizons", correlation.DEFAULT_HORIZONS, whole=True, lo=correlation.HORIZON_RANGE[0],
                     hi=correlation.HORIZON_RANGE[1])
    rows = max(cells_of(corr), cells_of(closes))
    check_work(rows * (len(th) + len(hz)), f"{rows:,} rows x ({len(th)} thresholds + {len(hz)} horizons)")
    check_work(rows * len(th) * len(hz), f"{rows:,} rows x {len(th)} thresholds x {len(hz)} horizons",
               OPERATION_BUDGET, "operations")
    c = to_vector(corr, "corr")
    p = to_vector(closes, "closes")
    n = check_same_length(("corr", c.values), ("closes", p.values))
    if max(hz) >= n:
        raise XAInputError(f"horizon {int(max(hz))} needs more than {n} rows of closes")
    m = opt_choice(mode, "mode", correlation.DEFAULT_EVENT_MODE, correlation.EVENT_MODES)
    lay = opt_choice(layout, "layout", "long", LAYOUTS)
    idx = pd.RangeIndex(n)
    grid = correlation.event_study(pd.Series(c.values, idx), pd.Series(p.values, idx), th, [int(h) for h in hz], m)
    if lay == "long":
        return frame_cells(grid, index=False)
    table = correlation.grid_table(grid, lay)
    return frame_cells(table, index_name=f"{lay} / horizon")

