"""Excel functions for strategies: the composite picks (spec M10) and the backtest engine.

Each function converts the Excel values (:mod:`xladdin_udfs._convert`), calls the core
(:mod:`xladdin.methods.ranking`: composite score, top-N selection; :mod:`xladdin.methods.backtest`: the engine every
strategy uses) and converts back.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xlwings as xw

from xladdin.methods import backtest, ranking, strategy

from ._convert import XAInputError, _blank_mask, opt_float, opt_int, opt_numbers, series_cells, to_block, to_dates
from ._errors import excel_safe

CATEGORY = "xladdin"


@xw.func(category=CATEGORY)
@xw.arg("factor_block", doc="One row per industry (codes in the first column), one column per factor "
        "(names in the first row); higher = more attractive. Blank = factor unknown.", err_to_str=True)
@xw.arg("top", doc=f"Optional. Number of industries to pick (default {strategy.DEFAULT_TOP_N}).")
@xw.arg("weights", doc="Optional. One weight per factor column, same order (default equal weights).")
@excel_safe
def XA_PICKS(factor_block, top=None, weights=None):
    """Composite picks (M10): each factor as a cross-sectional percentile rank, weighted mean, top N. Values within 1e-9 (relative) are ties; a factor with no spread gives no ranks. Table sorted by score: code, score, rank, pick (1/0), then each factor's rank."""
    b = to_block(factor_block, "factor_block", flat_as="column")
    n_rows, n_f = b.values.shape
    codes = ([str(x) for x in b.row_labels] if b.row_labels is not None
             else list(map(str, range(1, n_rows + 1))))
    if b.row_labels is not None and len(set(codes)) != len(codes):
        twice = pd.Index(codes, dtype=object).duplicated(keep=False)
        dup = codes[int(np.argmax(twice))]
        raise XAInputError(f"factor_block lists industry {dup} twice; keep one row each")
    names = b.columns if b.columns and len(set(b.columns)) == n_f and all(b.columns) else [
        f"factor{j + 1}" for j in range(n_f)]
    k = opt_int(top, "top", strategy.DEFAULT_TOP_N, lo=strategy.TOP_N_RANGE[0], hi=strategy.TOP_N_RANGE[1])
    w = opt_numbers(weights, "weights", None, lo=0.0)
    if w is not None:
        if len(w) != n_f:
            raise XAInputError(f"weights has {len(w)} values for {n_f} factor columns; give one per factor")
        if sum(w) <= 0:
            raise XAInputError("weights must not all be 0")
    res = ranking.composite_picks(b.values, codes, k, w)
    order, score = res["order"], res["score"][res["order"]]
    scored = ~np.isnan(score)
    table = [("code", np.array(codes, dtype=object)[order]), ("score", score),
             ("rank", pd.arrays.IntegerArray(np.arange(1, n_rows + 1), ~scored)), ("pick", res["pick"][order])]
    table += [(f"{nm} rank", res["ranks"][order, j]) for j, nm in enumerate(names)]
    return series_cells(table, header=True)


def _dated_rows(b, name: str) -> pd.DatetimeIndex | None:
    """The block's first-column dates (datetimes, or ISO text), None without row labels."""
    if b.row_labels is None:
        return None
    labels = list(b.row_labels)
    blank = _blank_mask(labels)
    if blank.any():
        i = int(np.argmax(blank))
        raise XAInputError(f"{name} row {i + 1 + b.title_row} has no date in its first column")
    return to_dates(labels, f"{name} (date column)", offset=int(b.title_row))


def _backtest_frames(weights, returns) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """Excel blocks -> (weights, returns) frames for the engine, and whether the returns carry dates."""
    r = to_block(returns, "returns", flat_as="column")
    w = to_block(weights, "weights", flat_as="row")
    r_dates = _dated_rows(r, "returns")
    w_dates = _dated_rows(w, "weights")
    n_r, n_a = r.values.shape
    index = r_dates if r_dates is not None else pd.bdate_range("2001-01-01", periods=n_r)
    if r_dates is not None and (r_dates.has_duplicates or not r_dates.is_monotonic_increasing):
        raise XAInputError("returns dates must be in increasing order without repeats (oldest first)")
    if r.columns is not None and w.columns is not None:
        cols = [c or f"column {j + 1}" for j, c in enumerate(r.columns)]
        if len(set(cols)) != len(cols):
            raise XAInputError("returns has two columns with the same title; keep one per asset")
        unknown = [c for c in w.columns if c not in cols]
        if unknown:
            raise XAInputError(f"weights column '{unknown[0]}' is not a returns column title; use the same titles")
        wcols = list(w.columns)
        if len(set(wcols)) != len(wcols):
            raise XAInputError("weights has two columns with the same title; keep one per asset")
    else:
        if w.values.shape[1] != n_a:
            raise XAInputError(f"weights has {w.values.shape[1]} columns for {n_a} returns columns; give one weight "
                               "column per returns column (or titles in both first rows)")
        cols = wcols = [f"asset{j + 1}" for j in range(n_a)]
    if w_dates is not None:
        if r_dates is None:
            raise XAInputError("weights has dates but returns has none; add the dates as the first column of returns")
        w_index = w_dates
        missing = w_index.difference(r_dates)
        if len(missing):
            raise XAInputError(f"weights date {missing[0]:%Y-%m-%d} is not a date of returns")
    else:
        if w.values.shape[0] != n_r:
            raise XAInputError(f"weights has {w.values.shape[0]} rows for {n_r} returns rows; give dates in both first "
                               "columns or one weights row per returns row (blank row = no rebalance)")
        w_index = index
    wf = pd.DataFrame(w.values, index=w_index, columns=wcols)
    if wf.index.has_duplicates:
        raise XAInputError(f"weights has two rows for {wf.index[wf.index.duplicated()][0]:%Y-%m-%d}; keep one")
    return wf, pd.DataFrame(r.values, index=index, columns=cols), r_dates is not None


@xw.func(category=CATEGORY)
@xw.arg("weights", doc="Target weights, one row per rebalance, one column per asset (>= 0, rows sum to 1 or 0 = "
        "cash); decision dates in the first column, or one row per returns row (blank = no rebalance). Titles "
        "match returns titles.", err_to_str=True)
@xw.arg("returns", doc="Daily simple returns, oldest first: one row per trading day, one column per asset, "
        "optionally dates in the first column and titles in the first row. A held asset needs a return on "
        "every day (0 for a suspended day).", err_to_str=True)
@xw.arg("cost", doc="Optional. One-way cost on traded value, charged on buys and sells (default "
        f"{backtest.DEFAULT_COST:g} = {backtest.DEFAULT_COST:.1%}, the spec's default for industry baskets; "
        f"{backtest.DEFAULT_ETF_COST:g} for the M11 ETF rotation).")
@xw.arg("lag", doc=f"Optional. Trading days between a decision and its trade at the close (default {backtest.DEFAULT_LAG}: "
        "data of day t trades at t+1; 0 trades at the decision close).")
@excel_safe
def XA_BACKTEST(weights, returns, cost=None, lag=None):
    """Backtest target weights (engine of M7-M11): trade lag days after each decision, drift, one-way cost on traded value. Per returns row: date, NAV net and gross (1 the day before the first trade), turnover and cost on trade days."""
    c = opt_float(cost, "cost", backtest.DEFAULT_COST, lo=backtest.COST_RANGE[0], hi=backtest.COST_RANGE[1])
    k = opt_int(lag, "lag", backtest.DEFAULT_LAG, lo=backtest.LAG_RANGE[0], hi=backtest.LAG_RANGE[1])
    wf, rf, dated = _backtest_frames(weights, returns)
    res = backtest.backtest_weights(wf, rf, c, k)
    n = len(rf)
    nav, nav_gross, turnover, cost_ = (np.full(n, np.nan) for _ in range(4))
    nav[n - len(res.nav):] = res.nav.to_numpy()  # from the day before the first trade to the end
    nav_gross[n - len(res.nav):] = res.nav_gross.to_numpy()
    at = rf.index.get_indexer(res.trades["trade_date"])
    turnover[at] = res.trades["turnover"].to_numpy()
    cost_[at] = res.trades["cost"].to_numpy()
    # dates as Python datetimes in one numpy conversion (midnight, as to_dates parsed them)
    first = ("date", rf.index.to_numpy().astype("datetime64[us]").astype(object)) if dated else (
        "row", np.arange(1, n + 1))
    return series_cells([first, ("nav", nav), ("nav_gross", nav_gross), ("turnover", turnover), ("cost", cost_)],
                        header=True)
