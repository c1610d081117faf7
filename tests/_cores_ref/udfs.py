# Frozen copies of the Excel adapters XA_PICKS, XA_BACKTEST, XA_PERF and XA_QUINTILE (udfs/strategy.py, udfs/stats.py,
# udfs/holdings.py) as of
# commit 55a094b, calling the frozen cores of this folder: the reference that tests/test_cores_pinned.py
# compares the Excel functions against. Not used by the package.
"""Frozen XA_PICKS, XA_BACKTEST, XA_PERF and XA_QUINTILE (commit 55a094b) on the frozen cores."""
from __future__ import annotations

import numpy as np
import pandas as pd

from xladdin_udfs._convert import (
    XAInputError,
    frame_rows,
    is_blank,
    matrix_cells,
    opt_bool,
    opt_choice,
    opt_float,
    opt_int,
    opt_numbers,
    series_cells,
    to_block,
    to_dates,
    to_vector,
)
from xladdin_udfs._errors import excel_safe
from xladdin_udfs.holdings import _codes
from xladdin_udfs.stats import _nav_series, _trim_trailing

from . import backtest, grouping, performance, ranking


@excel_safe
def XA_PICKS(factor_block, top=None, weights=None):
    b = to_block(factor_block, "factor_block", flat_as="column")
    n_rows, n_f = b.values.shape
    codes = ([str(x) for x in b.row_labels] if b.row_labels is not None
             else [f"{i + 1}" for i in range(n_rows)])
    if len(set(codes)) != len(codes):
        twice = pd.Index(codes, dtype=object).duplicated(keep=False)
        dup = codes[int(np.argmax(twice))]
        raise XAInputError(f"factor_block lists industry {dup} twice; keep one row each")
    names = b.columns if b.columns and len(set(b.columns)) == n_f and all(b.columns) else [
        f"factor{j + 1}" for j in range(n_f)]
    k = opt_int(top, "top", 6, lo=1)
    w = opt_numbers(weights, "weights", None, lo=0.0)
    if w is not None:
        if len(w) != n_f:
            raise XAInputError(f"weights has {len(w)} values for {n_f} factor columns; give one per factor")
        if sum(w) <= 0:
            raise XAInputError("weights must not all be 0")
    columns = pd.Index(codes, dtype=object)  # plain Python strings: the core iterates and sorts them
    factors = {nm: pd.DataFrame(b.values[None, :, j], index=[0], columns=columns) for j, nm in enumerate(names)}
    score = ranking.composite_scores(factors, None if w is None else dict(zip(names, w)))
    picks = ranking.top_n_weights(score, k).fillna(0.0)  # no ranking: no pick
    at = score.columns.get_indexer(columns)  # the core's columns (sorted codes) in the input's order
    score_v = score.to_numpy(dtype=float)[0][at]
    at_pick = at if picks.columns.equals(score.columns) else picks.columns.get_indexer(columns)
    pick_v = (picks.to_numpy(dtype=float)[0][at_pick] > 0).astype(np.int64)
    # picks first, then by score (highest first, scores within the tie tolerance equal, blank last), ties by code
    tied = ranking.tie_values(pd.Series(score_v))[0].to_numpy()
    code_order = np.empty(n_rows, dtype=np.int64)
    code_order[np.argsort(np.array(codes, dtype=object), kind="stable")] = np.arange(n_rows)
    order = np.lexsort((code_order, np.where(np.isnan(tied), np.inf, -tied), -pick_v))
    scored = ~np.isnan(score_v[order])
    table = [("code", np.array(codes, dtype=object)[order]), ("score", score_v[order]),
             ("rank", pd.arrays.IntegerArray(np.arange(1, n_rows + 1), ~scored)), ("pick", pick_v[order])]
    table += [(f"{nm} rank", ranking.percentile_ranks(f).to_numpy(dtype=float)[0][order]) for nm, f in factors.items()]
    return series_cells(table, header=True)


@excel_safe
def XA_QUINTILE(values, groups=None, by=None, header=False):
    b = to_block(values, "values", flat_as="column")
    k = opt_int(groups, "groups", 5, lo=1, hi=1000)
    n_r, n_c = b.values.shape
    default_by = "column" if n_c == 1 else "row"
    direction = opt_choice(by, "by", default_by, ("row", "column"))
    if direction == "row":
        frame = pd.DataFrame(b.values, columns=pd.Index(_codes(b.columns, n_c), dtype=object))
        g = grouping.assign_groups(frame, k).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    else:  # each column is one cross-section: one Series per column (a wide frame costs per column)
        codes = pd.Index(_codes(b.row_labels, n_r), dtype=object)  # Python strings: the core iterates them
        g = np.column_stack([grouping.assign_groups(pd.Series(b.values[:, j], index=codes), k)
                             .to_numpy(dtype=float, na_value=np.nan) for j in range(n_c)])
    if b.title_row:
        head = list(b.columns or [])
    elif opt_bool(header, "header"):
        head = ["group"] if n_c == 1 else [f"group{j + 1}" for j in range(n_c)]
    else:
        head = None
    return matrix_cells(g, whole=True, labels=b.row_labels, header=head)


def _dated_rows(b, name: str) -> pd.DatetimeIndex | None:
    """The block's first-column dates (datetimes, or ISO text), None without row labels."""
    if b.row_labels is None:
        return None
    labels = list(b.row_labels)
    if any(is_blank(x) for x in labels):
        i = next(i for i, x in enumerate(labels) if is_blank(x))
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


@excel_safe
def XA_BACKTEST(weights, returns, cost=None, lag=None):
    """Backtest target weights (engine of M7-M11): trade lag days after each decision, drift, one-way cost on traded value. Per returns row: date, NAV net and gross (1 the day before the first trade), turnover and cost on trade days."""
    c = opt_float(cost, "cost", backtest.INDUSTRY_COST, lo=0.0, hi=0.5)
    k = opt_int(lag, "lag", backtest.DEFAULT_LAG, lo=0, hi=250)
    wf, rf, dated = _backtest_frames(weights, returns)
    res = backtest.backtest_weights(wf, rf, c, k)
    idx = rf.index
    out = pd.DataFrame(index=idx)
    out["nav"] = res.nav.reindex(idx)
    out["nav_gross"] = res.nav_gross.reindex(idx)
    trades = res.trades.set_index("trade_date")
    out["turnover"] = trades["turnover"].reindex(idx)
    out["cost"] = trades["cost"].reindex(idx)
    if not dated:
        out.index = pd.RangeIndex(1, len(idx) + 1)
        return frame_rows(out, index_name="row")
    return frame_rows(out, index_name="date")


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
    r = opt_float(rf, "rf", 0.0, lo=-1.0, hi=1.0)
    method = opt_choice(sharpe, "sharpe", "geometric", ("geometric", "arithmetic"))
    table = performance.performance_table(s, b, rf=r, sharpe=method)
    cols = ([c for c in table.columns if c != "turnover"] if b is not None
            else ["annual_return", "volatility", "sharpe", "max_drawdown"])
    values, periods = table.to_numpy(dtype=float), table.index.to_numpy(dtype=object)
    if v.dates is None:
        # without dates only the full period is meaningful; win rate and odds need calendar months
        keep = [table.index.get_loc(performance.FULL_PERIOD)]
        values, periods = values[keep].copy(), periods[keep]
        values[:, [table.columns.get_loc(c) for c in ("win_rate", "odds")]] = np.nan
    return series_cells([("period", periods)] + [(c, values[:, table.columns.get_loc(c)]) for c in cols], True)
