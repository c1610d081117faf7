"""Northbound flows through ETF constituents and the ETF rotation strategy (spec M11, Dongxing).

Per ETF at each month end, from its tracked index's constituents and weights ``w_i``:

* **preference** ``P_e,t = Σ_i w_i,t × f_i,t`` where ``f_i,t`` is the northbound share of stock
  ``i``'s free float (``northbound_holdings.float_ratio``) on the latest holdings date on or before
  ``t`` and ``w_i,t`` the index weights on the latest weights date on or before ``t``;
* **change** ``C_e,t = Σ_i w_i,t × (f_i,t − f_i,t−1m)`` (weights at ``t`` on both terms);
* **momentum** ``M_e,t = A_e,t / A_e,t−1m − 1``: the ETF's past-month return from its
  split-adjusted NAV ``A_e,t = nav_e,t × Π_{s≤t} split_ratio_e,s`` (so that
  ``A_t / A_t−1 = nav_t × split_ratio_t / nav_t−1``, the real-data README convention).

The composite is the mean of the three cross-sectional percentile ranks; its monthly rank IC
against next month's return, the long-short spread of top minus bottom group and a top-N
equal-weight strategy (month-start rebalance, cost on traded value) follow the report.

Northbound holdings were published daily until 2024-08-16 and quarterly after. Holdings are
always taken *as of* the month end (last holdings date on or before it), so later months reuse the
last quarterly snapshot; :func:`holdings_staleness` marks those months, and the change factor is
NaN (default) when a month has no newer holdings than the month before. Nothing fails.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .calendar import month_ends
from .errors import DataError
from .grouping import assign_groups
from .performance import performance_table
from .market import Market
from ._shared import pivot, scope, table_dates

#: ETF categories that hold stocks (etf_info.category); "other" (bonds, gold, ...) is left out
STOCK_ETF_CATEGORIES = ("broad", "sector_theme", "strategy_style")
#: factor names, in the order of the report's ranking table
FACTORS = ("preference", "change", "momentum")
#: marks by tercile of a factor's cross-section (group 3 = top third)
MARKS = {3: "↑↑", 2: "↑", 1: "O"}


# ---------------------------------------------------------------------------------------- helpers
def _month_ends(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Last trading day of each calendar month in ``dates`` (the final month counts if incomplete)."""
    return pd.DatetimeIndex(month_ends(pd.DatetimeIndex(dates).unique().sort_values()))


def _asof_positions(available: pd.DatetimeIndex, dates: pd.DatetimeIndex) -> np.ndarray:
    """Position in sorted ``available`` of the last date <= each of ``dates`` (-1 when none)."""
    return available.searchsorted(dates, side="right") - 1


def _asof_rows(panel: pd.DataFrame, dates: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.Series]:
    """Rows of ``panel`` (sorted date index) as of each date; NaN rows where none is on/before it.

    Returns the frame re-indexed by ``dates`` and the source date used (NaT when none).
    """
    pos = _asof_positions(panel.index, dates)
    ok = pos >= 0
    values = np.full((len(dates), panel.shape[1]), np.nan)
    if ok.any():
        values[ok] = panel.to_numpy(dtype=float)[pos[ok]]
    used = pd.Series(pd.NaT, index=dates, dtype="datetime64[ns]")
    used[ok] = panel.index[pos[ok]]
    return pd.DataFrame(values, index=dates, columns=panel.columns), used


def _row_sum(x: np.ndarray) -> np.ndarray:
    """``DataFrame(x).sum(axis=1, min_count=1)``: NaN skipped, NaN when a row has no value.

    numpy's pairwise sum; pandas' own order depends on its block layout, so the two agree to
    rounding (a few 1e-16 relative, 1e-13 where positive and negative terms cancel).
    """
    valid = ~np.isnan(x)
    if x.shape[1] == 0:
        return np.full(len(x), np.nan)
    out = np.where(valid, x, 0.0).sum(axis=1)
    out[~valid.any(axis=1)] = np.nan
    return out


def adjusted_nav(market: Market, etfs: list[str] | None = None, price: str = "nav") -> pd.DataFrame:
    """Split-adjusted unit value of each ETF (spec M1/M11 convention).

    Parameters
    ----------
    market : Market
        Needs ``etf_daily`` (``price`` column and, when present, ``split_ratio``).
    etfs : list of str, optional
        ETF codes; default all ETFs in ``etf_daily``.
    price : {"nav", "close"}
        Which per-unit series to adjust. There is no mixing: a missing value stays missing.

    Returns
    -------
    DataFrame
        index = date, columns = ETF; ``A_t = price_t × Π_{s<=t} split_ratio_s`` (level in the
        units of each ETF's first row), NaN where ``price`` is missing.

    Notes
    -----
    ``A_t / A_t−1 − 1 = price_t × split_ratio_t / price_t−1 − 1`` is the unit return across a
    split (``split_ratio`` = new units per old unit on the split row; missing ratios count as 1).
    """
    if price not in ("nav", "close"):
        raise ValueError(f"price must be 'nav' or 'close', not {price!r}")
    daily = market.table("etf_daily")
    if price not in daily.columns:
        raise DataError(f"column `{price}` missing in etf_daily; provide it or choose price='close'/'nav'")
    px = pivot(market, "etf_daily", price, codes=etfs)
    if "split_ratio" in daily.columns:
        split = pivot(market, "etf_daily", "split_ratio", codes=etfs).reindex_like(px).fillna(1.0)
    else:
        split = pd.DataFrame(1.0, index=px.index, columns=px.columns)
    return px.astype(float) * split.astype(float).cumprod()


# ---------------------------------------------------------------------------------------- universe
def select_universe(market: Market, codes: list[str] | None = None,
                    categories: tuple[str, ...] = STOCK_ETF_CATEGORIES) -> tuple[list[str], list[str]]:
    """ETFs to rank (spec M11 universe).

    Parameters
    ----------
    market : Market
        Needs ``etf_info`` and ``index_weights``.
    codes : list of str, optional
        Explicit universe (e.g. a file of codes, one per line). Every code must be in ``etf_info``
        and its tracked index must have constituent weights, else ValueError naming them.
    categories : tuple of str
        Default universe: ETFs of these ``etf_info.category`` values (stock ETFs).

    Returns
    -------
    (universe, notes)
        Sorted codes, and human-readable notes on ETFs left out of the default universe.
    """
    info = market.etf_info
    weights = market.table("index_weights")
    with_weights = set(weights["index"].unique())
    notes: list[str] = []
    if codes is not None:
        codes = [c.strip() for c in codes if c and c.strip()]
        if not codes:
            raise ValueError("the ETF universe is empty: give at least one ETF code")
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            notes.append(f"duplicate codes ignored: {', '.join(dup)}")
        codes = sorted(set(codes))
        unknown = [c for c in codes if c not in info.index]
        if unknown:
            raise ValueError(f"ETF code(s) not in etf_info: {', '.join(unknown)}; add them to etf_info "
                             "(etf, name, tracked_index, category) or remove them from the universe")
        no_w = [c for c in codes if info.at[c, "tracked_index"] not in with_weights]
        if no_w:
            raise ValueError(
                "no index_weights for the tracked index of " + ", ".join(
                    f"{c} ({info.at[c, 'tracked_index']})" for c in no_w)
                + ": add the index's constituent weights or remove these ETFs from the universe")
        return codes, notes
    cand = info.index[info["category"].isin(categories)]
    out = sorted(c for c in cand if info.at[c, "tracked_index"] in with_weights)
    left = sorted(set(cand) - set(out))
    if left:
        notes.append("left out (tracked index has no index_weights): " + ", ".join(
            f"{c} ({info.at[c, 'tracked_index']})" for c in left))
    if not out:
        raise ValueError("no stock ETF in etf_info tracks an index with constituent weights in index_weights; "
                         "provide index_weights for the tracked indices or an explicit universe")
    return out, notes


# ---------------------------------------------------------------------------------------- factors
def holdings_staleness(holdings_dates: pd.DatetimeIndex, month_ends: pd.DatetimeIndex,
                       max_age_days: int = 10) -> pd.DataFrame:
    """Which northbound holdings each month end uses, and whether they are stale (spec M11).

    Parameters
    ----------
    holdings_dates : DatetimeIndex
        Dates present in ``northbound_holdings``.
    month_ends : DatetimeIndex
        Signal dates.
    max_age_days : int
        Holdings older than this many calendar days at the month end are stale (10 covers
        holiday gaps in daily publication; quarterly snapshots are 30-90 days old).

    Returns
    -------
    DataFrame
        index = month end; columns ``holdings_date`` (latest on or before, NaT if none),
        ``age_days``, ``stale`` (bool: no holdings or older than ``max_age_days``),
        ``change_from`` (holdings date of the previous month end) and ``change_valid`` (bool:
        newer holdings than at the previous month end, so the monthly change carries information).
    """
    avail = pd.DatetimeIndex(holdings_dates).unique().sort_values()
    me = pd.DatetimeIndex(month_ends)
    pos = _asof_positions(avail, me)
    used = pd.Series(pd.NaT, index=me, dtype="datetime64[ns]")
    used[pos >= 0] = avail[pos[pos >= 0]]
    age = (me.to_series() - used).dt.days
    prev = used.shift(1)
    out = pd.DataFrame({
        "holdings_date": used,
        "age_days": age.astype("Float64"),
        "stale": (age.isna() | (age > max_age_days)).astype(bool),
        "change_from": prev,
        "change_valid": (used.notna() & prev.notna() & (used > prev)).astype(bool),
    }, index=me)
    out.index.name = "date"
    return out


def northbound_etf_factors(market: Market, etfs: list[str], dates: pd.DatetimeIndex | None = None,
                           price: str = "nav", stale_change: str = "nan",
                           max_age_days: int = 10) -> dict[str, pd.DataFrame]:
    """The three M11 factors per ETF at each month end.

    Parameters
    ----------
    market : Market
        Needs ``etf_info``, ``etf_daily``, ``index_weights``, ``northbound_holdings``
        (``float_ratio``).
    etfs : list of str
        ETF codes (see :func:`select_universe`).
    dates : DatetimeIndex, optional
        Signal dates; default the last trading day of each month in ``etf_daily``.
    price : {"nav", "close"}
        Per-unit series for momentum (:func:`adjusted_nav`).
    stale_change : {"nan", "zero"}
        Value of the change factor in months without newer holdings than the previous month end
        (after 2024-08-16 holdings are quarterly): NaN (default: the factor is dropped from that
        month's composite) or 0 (every ETF ties).
    max_age_days : int
        Staleness threshold, see :func:`holdings_staleness`.

    Returns
    -------
    dict of DataFrame
        ``preference``, ``change``, ``momentum``: index = month end, columns = ETF.
        ``coverage``: index weight share of constituents with a northbound row on the holdings date.
        ``staleness``: :func:`holdings_staleness` for the dates.

    Notes
    -----
    ``P_e,t = Σ_i w_i,t f_i,t``, ``C_e,t = Σ_i w_i,t (f_i,t − f_i,t−1m)``, ``M_e,t = A_t/A_t−1m − 1``
    (spec M11). A constituent with no northbound row on a holdings date counts as ``f = 0`` (the
    exchanges list held stocks only); ``coverage`` shows how much weight that concerns. Float
    ratios are used as given (shares, not percent).
    """
    if stale_change not in ("nan", "zero"):
        raise ValueError(f"stale_change must be 'nan' or 'zero', not {stale_change!r}")
    info = market.etf_info
    missing = [e for e in etfs if e not in info.index]
    if missing:
        raise ValueError(f"ETF code(s) not in etf_info: {', '.join(missing)}")
    nav = adjusted_nav(market, etfs, price)
    if dates is None:
        dates = _month_ends(nav.index)
    dates = pd.DatetimeIndex(dates)

    nb = market.table("northbound_holdings")
    if "float_ratio" not in nb.columns:
        raise DataError("column `float_ratio` missing in northbound_holdings (northbound share of free float)")
    held_days = table_dates(market, "northbound_holdings")
    staleness = holdings_staleness(held_days, dates, max_age_days)
    # as-of rows (month end -> latest holdings date on or before), NaN rows before the first; only
    # those holdings dates are pivoted (a stock absent on all of them counts as 0, as absent on one)
    pos = _asof_positions(held_days, dates)
    ok = pos >= 0
    used = held_days[np.unique(pos[ok])]
    fr = pivot(market, "northbound_holdings", "float_ratio", share=False, at=used).astype(float)
    raw = fr.to_numpy(dtype=float)
    fr_t = np.full((len(dates), fr.shape[1]), np.nan)
    pres_t = np.full((len(dates), fr.shape[1]), np.nan)
    nb_stocks = fr.columns
    if ok.any():
        rows = raw[fr.index.get_indexer(held_days[pos[ok]])]
        pres_t[ok] = ~np.isnan(rows)
        fr_t[ok] = np.where(np.isnan(rows), 0.0, rows)
    del raw, fr
    fr_prev = np.full_like(fr_t, np.nan)
    if len(fr_t) > 1:
        fr_prev[1:] = fr_t[:-1]
    prev_missing = np.isnan(fr_prev).all(axis=1) if fr_prev.shape[1] else np.ones(len(dates), dtype=bool)

    weights = market.table("index_weights")
    with_weights = set(weights["index"].unique())
    no_hold = staleness["holdings_date"].isna().to_numpy()
    etf_pos = {e: i for i, e in enumerate(etfs)}
    pref_a = np.full((len(dates), len(etfs)), np.nan)
    chg_a = pref_a.copy()
    cov_a = pref_a.copy()
    for index, group in info.loc[list(etfs)].groupby("tracked_index").groups.items():
        if index not in with_weights:
            continue
        wp = pivot(market, "index_weights", "weight", columns="stock", where=("index", index))
        wp = wp.fillna(0.0).astype(float)
        w_t, _ = _asof_rows(wp, dates)
        w_v = w_t.to_numpy(dtype=float)
        cols = nb_stocks.get_indexer(wp.columns)
        have = cols >= 0
        f_now = np.zeros((len(dates), len(cols)))
        f_now[:, have] = fr_t[:, cols[have]]
        f_prev = np.zeros((len(dates), len(cols)))
        f_prev[:, have] = fr_prev[:, cols[have]]
        f_prev[prev_missing] = np.nan  # first month: no previous holdings
        p_now = np.zeros((len(dates), len(cols)))
        p_now[:, have] = pres_t[:, cols[have]]
        p = _row_sum(w_v * f_now)
        c = _row_sum(w_v * (f_now - f_prev))
        v = _row_sum(w_v * p_now)
        p[no_hold] = np.nan
        c[no_hold] = np.nan
        v[no_hold] = np.nan
        at = [etf_pos[e] for e in group]
        pref_a[:, at] = p[:, None]
        chg_a[:, at] = c[:, None]
        cov_a[:, at] = v[:, None]
    invalid = ~staleness["change_valid"].to_numpy()
    chg_a[invalid] = np.nan if stale_change == "nan" else 0.0
    chg_a[no_hold | prev_missing] = np.nan
    pref = pd.DataFrame(pref_a, index=dates, columns=list(etfs))
    chg = pd.DataFrame(chg_a, index=dates, columns=list(etfs))
    cov = pd.DataFrame(cov_a, index=dates, columns=list(etfs))

    exact = nav.reindex(dates)  # prices on the month ends themselves; a missing price gives NaN
    mom = exact / exact.shift(1) - 1.0
    out = {"preference": pref, "change": chg, "momentum": mom, "coverage": cov, "staleness": staleness}
    for k in ("preference", "change", "momentum", "coverage"):
        out[k].index.name = "date"
        out[k].columns.name = "etf"
    return out


def composite_score(factors: dict[str, pd.DataFrame], names: tuple[str, ...] = FACTORS) -> pd.DataFrame:
    """Equal-weight mean of cross-sectional percentile ranks (spec M11).

    Parameters
    ----------
    factors : dict of DataFrame
        index = date, columns = ETF, one frame per name in ``names``; higher = better.
    names : tuple of str
        Factors to combine.

    Returns
    -------
    DataFrame
        index = date, columns = ETF: ``S_e,t = mean_k rank_pct_k(e, t)`` with
        ``rank_pct = rank / n`` (average ties, ``n`` = ETFs with a value).

    Notes
    -----
    A factor missing for the whole cross-section on a date (the change factor in a month with
    stale northbound holdings) is dropped for that date: the composite averages the remaining
    ranks. An ETF missing a factor that other ETFs have gets NaN (it is not ranked that month).
    """
    frames = [factors[n] for n in names]
    idx, cols = frames[0].index, frames[0].columns
    total = pd.DataFrame(0.0, index=idx, columns=cols)
    count = pd.Series(0, index=idx)
    bad = pd.DataFrame(False, index=idx, columns=cols)
    for f in frames:
        f = f.reindex(index=idx, columns=cols)
        r = f.rank(axis=1, pct=True, method="average")
        avail = f.notna().any(axis=1)
        total = total + r.fillna(0.0).mul(avail.astype(float), axis=0)
        bad = bad | r.isna().mul(avail, axis=0).astype(bool)
        count = count + avail.astype(int)
    out = total.div(count.where(count > 0), axis=0)
    out = out.mask(bad)
    out.index.name, out.columns.name = "date", "etf"
    return out


def forward_returns(prices: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Return from each date to the next one in ``dates``.

    Parameters
    ----------
    prices : DataFrame
        index = date, columns = ETF (adjusted NAV, :func:`adjusted_nav`).
    dates : DatetimeIndex
        Signal dates (month ends).

    Returns
    -------
    DataFrame
        index = date, columns = ETF: ``A_{t+1}/A_t − 1``; NaN for the last date or a missing price.
    """
    p = prices.reindex(pd.DatetimeIndex(dates))
    return p.shift(-1) / p - 1.0


def rank_ic(scores: pd.DataFrame, returns: pd.DataFrame, min_obs: int = 3) -> pd.Series:
    """Cross-sectional Spearman rank IC per date (spec M11).

    Parameters
    ----------
    scores, returns : DataFrame
        index = date, columns = ETF (``returns`` = next-period returns, aligned on the signal date).
    min_obs : int
        Dates with fewer ETFs having both values get NaN.

    Returns
    -------
    Series
        index = date: Pearson correlation of the average-tie ranks of the jointly non-missing
        pairs (= scipy.stats.spearmanr); NaN when a side is constant.
    """
    if scores.index.equals(returns.index) and scores.columns.equals(returns.columns):
        s, r = scores, returns
    else:
        s, r = scores.align(returns, join="inner")
    sv = s.to_numpy(dtype=float, na_value=np.nan)
    rv = r.to_numpy(dtype=float, na_value=np.nan)
    both = ~(np.isnan(sv) | np.isnan(rv))
    complete = bool(both.all())
    if not complete:
        sv, rv = np.where(both, sv, np.nan), np.where(both, rv, np.nan)
    rs, rr = _row_ranks(sv, complete), _row_ranks(rv, complete)
    count = both.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if complete:  # every row ranks 1..k: the mean rank is (k + 1) / 2
            rs -= (sv.shape[1] + 1) / 2.0
            rr -= (sv.shape[1] + 1) / 2.0
        else:
            rs = np.where(both, rs - rs.sum(axis=1, where=both, keepdims=True) / count[:, None], 0.0)
            rr = np.where(both, rr - rr.sum(axis=1, where=both, keepdims=True) / count[:, None], 0.0)
        den = np.sqrt(np.einsum("ij,ij->i", rs, rs) * np.einsum("ij,ij->i", rr, rr))
        ic = np.where(den > 0, np.einsum("ij,ij->i", rs, rr) / den, np.nan)
    ic[count < min_obs] = np.nan
    return pd.Series(ic, index=s.index, name="ic", copy=False)


def _row_ranks(x: np.ndarray, complete: bool = False) -> np.ndarray:
    """Average-tie ranks (1 = smallest) within each row of ``x``, as ``DataFrame.rank(axis=1)``; NaN stays
    NaN. ``complete``: ``x`` has no NaN (skips restoring them)."""
    n, k = x.shape
    flat = (np.argsort(x, axis=1) + (np.arange(n) * k)[:, None]).ravel()   # NaN sorted last
    xs = x.ravel()[flat].reshape(n, k)
    pos = np.broadcast_to(np.arange(1, k + 1, dtype=float), x.shape)
    starts = np.ones(x.shape, dtype=bool)
    np.not_equal(xs[:, 1:], xs[:, :-1], out=starts[:, 1:])  # a new value opens a tie group
    if starts.all():  # no tie (NaN != NaN): the rank is the position
        avg = pos
    else:
        ends = np.ones(x.shape, dtype=bool)
        ends[:, :-1] = starts[:, 1:]
        first = np.maximum.accumulate(np.where(starts, pos, 0.0), axis=1)
        last = np.minimum.accumulate(np.where(ends, pos, k + 1.0)[:, ::-1], axis=1)[:, ::-1]
        avg = (first + last) / 2.0
    ranks = np.empty(x.shape)
    ranks.ravel()[flat] = np.ravel(avg)  # back to each value's own column
    if not complete:
        ranks[np.isnan(x)] = np.nan
    return ranks


def ic_summary(ic: pd.Series, periods_per_year: int = 12) -> pd.Series:
    """IC mean, std, IC IR = mean / std, t-statistic, share of positive ICs, count.

    Parameters
    ----------
    ic : Series
        index = date (NaNs ignored).
    periods_per_year : int
        For the annualised IR ``mean / std × √periods`` (reported beside the plain IR).

    Returns
    -------
    Series
        ``ic_mean``, ``ic_std`` (ddof 1), ``ic_ir``, ``ic_ir_annualised``, ``t_stat``
        (``mean / std × √n``), ``positive_share``, ``months``, ``last_ic``.
    """
    x = ic.to_numpy(dtype=float, na_value=np.nan)
    x = x[~np.isnan(x)]
    n = x.size
    mean = x.mean() if n else np.nan
    std = x.std(ddof=1) if n > 1 else np.nan
    ir = mean / std if std and np.isfinite(std) and std > 0 else np.nan
    return pd.Series({
        "ic_mean": mean, "ic_std": std, "ic_ir": ir,
        "ic_ir_annualised": ir * np.sqrt(float(periods_per_year)) if np.isfinite(ir) else np.nan,
        "t_stat": ir * np.sqrt(float(n)) if np.isfinite(ir) else np.nan,
        "positive_share": (x > 0).mean() if n else np.nan,
        "months": float(n),
        "last_ic": x[-1] if n else np.nan,
    }, name="ic")


def group_returns(scores: pd.DataFrame, returns: pd.DataFrame, groups: int = 5) -> pd.DataFrame:
    """Equal-weight next-period return of each score group (spec M11 long-short, M7 groups).

    Parameters
    ----------
    scores, returns : DataFrame
        index = date, columns = ETF; ``returns`` are next-period returns aligned on the signal date.
    groups : int
        Number of groups (:func:`xladdin.grouping.assign_groups`; group ``groups`` = highest scores).

    Returns
    -------
    DataFrame
        index = date, columns = ``1 … groups`` and ``long_short`` (group ``groups`` − group 1);
        an ETF counts only where both score and return exist.
    """
    from .grouping import _groups_numeric, _numeric
    s, r = scores.align(returns, join="inner")
    s = s.where(r.notna())
    if s.columns.has_duplicates:
        raise ValueError("`values` has duplicated codes (columns); keep one column per code")
    g = _groups_numeric(_numeric(s), s.columns, groups)  # assign_groups as floats (NaN = no group)
    out = {}
    for k in range(1, groups + 1):
        out[k] = r.where(g == k).mean(axis=1)
    frame = pd.DataFrame(out, index=s.index)
    frame["long_short"] = frame[groups] - frame[1]
    frame.index.name = "date"
    return frame


def top_n_weights(scores: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """Equal target weights on the ``top`` highest scores of each date (spec M11 strategy).

    Parameters
    ----------
    scores : DataFrame
        index = rebalance date, columns = ETF.
    top : int
        Number of ETFs held.

    Returns
    -------
    DataFrame
        Same shape, weights ``1/k`` on the ``k = min(top, valid)`` picks, 0 elsewhere; a date with
        no valid score has NaN weights (the backtest then keeps the previous holdings).

    Notes
    -----
    Ties are broken by ETF code (ascending text order), so picks are deterministic.
    """
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"`top` must be a positive integer, got {top!r}")
    cols = sorted(scores.columns, key=str)
    s = scores[cols]
    r = s.rank(axis=1, ascending=False, method="first")
    pick = r.le(top)
    k = pick.sum(axis=1)
    w = pick.astype(float).div(k.where(k > 0), axis=0)
    return w[list(scores.columns)]


def rebalance_backtest(weights: pd.DataFrame, prices: pd.DataFrame, cost: float = 0.003) -> dict[str, pd.Series | pd.DataFrame]:
    """Daily NAV of a portfolio rebalanced to target weights at the close of given dates.

    Parameters
    ----------
    weights : DataFrame
        index = rebalance date (a trading day in ``prices``), columns = ETF; rows sum to 1.
        A row of NaN keeps the previous holdings (no trade).
    prices : DataFrame
        index = trading date, columns = ETF: split-adjusted unit values (:func:`adjusted_nav`).
    cost : float
        Cost per unit of traded value (0.003 = 0.3%), charged on two-sided turnover.

    Returns
    -------
    dict
        ``nav`` (Series from the first rebalance date, starting at ``1 − cost × 1``),
        ``turnover`` (Series per rebalance: ``Σ|w_target − w_drifted|``, 1 for the initial build),
        ``weights`` (the target weights applied, NaN rows replaced by the drifted holdings).

    Notes
    -----
    Between rebalances positions drift: ``V_d = Σ_i w_i A_i,d / A_i,R`` for the period that
    began at rebalance ``R`` (trading at ``R``'s close, the signal date, i.e. the month-start
    rebalance earns from the first trading day of the month). At each rebalance
    ``NAV ← NAV × (1 − cost × turnover)``. A missing price inside a holding period carries the
    position's last value (prices are forward-filled); the NAV ends at the last date with any price.
    """
    if cost < 0:
        raise ValueError(f"`cost` must be >= 0, got {cost}")
    weights = weights.reindex(columns=prices.columns, fill_value=0.0)
    reb = pd.DatetimeIndex(weights.index)
    bad = reb.difference(prices.index)
    if len(bad):
        raise ValueError(f"rebalance date(s) not in the price dates: {', '.join(str(d.date()) for d in bad[:5])}")
    has_any = prices.notna().any(axis=1)
    last = has_any[has_any].index.max()
    w_arr = weights.to_numpy(dtype=float)
    keep = np.isnan(w_arr).all(axis=1)
    start_ok = np.flatnonzero(~keep)
    if len(start_ok) == 0:
        raise ValueError("no rebalance date has target weights (no valid scores)")
    first = start_ok[0]
    reb, w_arr, keep = reb[first:], w_arr[first:], keep[first:]
    reb_keep = reb < last  # a rebalance on the last price date would start no period
    if not reb_keep.any():
        raise ValueError(f"no rebalance date before the last price date {last.date()}")
    reb, w_arr, keep = reb[reb_keep], w_arr[reb_keep], keep[reb_keep]
    px = prices.loc[reb[0]:last].ffill()
    p = px.to_numpy(dtype=float)
    day_idx = px.index
    rpos = day_idx.get_indexer(reb)
    n_reb = len(reb)
    base = p[rpos]  # price at each rebalance close
    targets = np.zeros_like(w_arr)
    turnover = np.zeros(n_reb)
    growth = np.ones(n_reb)  # value of the previous period's portfolio at this rebalance
    prev = None
    prev_base = None
    for k in range(n_reb):  # loop over rebalances only (monthly), vectorised over ETFs
        if prev is None:
            drifted = np.zeros(w_arr.shape[1])
        else:
            rel = np.nan_to_num(base[k] / prev_base, nan=1.0)
            val = prev * rel
            growth[k] = val.sum()
            drifted = val / growth[k] if growth[k] > 0 else val
        tgt = drifted if keep[k] else np.nan_to_num(w_arr[k])
        unpriced = (tgt > 0) & np.isnan(base[k])
        if unpriced.any():
            names = ", ".join(map(str, px.columns[unpriced][:5]))
            raise ValueError(f"target weight on {names} at {reb[k].date()}, which has no price that day; "
                             "give weights only to ETFs with a price at the rebalance close")
        turnover[k] = np.abs(tgt - drifted).sum()
        targets[k] = tgt
        prev, prev_base = tgt, base[k]
    start_val = np.cumprod(growth * (1.0 - cost * turnover))
    # daily: period of each day = last rebalance strictly before it (the rebalance day closes the old period)
    period = np.searchsorted(rpos, np.arange(len(day_idx)), side="left") - 1
    period[0] = 0
    rel = p / base[period]
    val = np.nansum(np.where(targets[period] > 0, targets[period] * rel, 0.0), axis=1)
    nav_prev_start = start_val[period]  # NAV after cost at the start of the day's period
    nav = nav_prev_start * val
    nav[0] = start_val[0]
    nav_s = pd.Series(nav, index=day_idx, name="nav")
    # on a rebalance day (k >= 1) show the NAV after that day's cost
    nav_s.iloc[rpos[1:]] = start_val[1:]
    to = pd.Series(turnover, index=reb, name="turnover")
    tw = pd.DataFrame(targets, index=reb, columns=prices.columns)
    return {"nav": nav_s, "turnover": to, "weights": tw}


def factor_marks(values: pd.Series) -> pd.Series:
    """Report marks for one factor's cross-section: ↑↑ top tercile, ↑ middle, O bottom (spec M11).

    Parameters
    ----------
    values : Series
        index = ETF, one date's factor values.

    Returns
    -------
    Series of str (same index): ``"↑↑"``, ``"↑"``, ``"O"``; ``""`` (blank, as in the report's
    table) where the factor is missing. Terciles via :func:`xladdin.grouping.assign_groups`
    with 3 groups (ties by code).
    """
    g = assign_groups(values.astype(float), 3).reindex(values.index)  # ETFs without a value: blank
    return g.map(lambda x: "" if pd.isna(x) else MARKS[int(x)]).astype(object)


def ranking_table(factors: dict[str, pd.DataFrame], composite: pd.DataFrame, names: pd.Series,
                  date: pd.Timestamp | None = None, top: int = 3) -> pd.DataFrame:
    """The report's ETF ranking table at one signal date (spec M11, output table 7).

    Parameters
    ----------
    factors : dict of DataFrame
        ``preference``, ``change``, ``momentum``: index = date, columns = ETF.
    composite : DataFrame
        :func:`composite_score`.
    names : Series
        ETF code -> name.
    date : Timestamp, optional
        Signal date (a row of ``composite``); default the last with any composite value.
    top : int
        Number of picks flagged.

    Returns
    -------
    DataFrame
        index = rank position; columns ``code``, ``name``, ``preference``, ``change``,
        ``momentum`` (marks, :func:`factor_marks`), their raw values ``preference_value``,
        ``change_value``, ``momentum_value``, ``composite``, ``rank`` (1 = best, ties by code;
        NA when unranked), ``pick`` (bool). Sorted by rank, unranked ETFs last.
    """
    if date is None:
        valid = composite.notna().any(axis=1)
        if not valid.any():
            raise ValueError("no date has a composite score; check the northbound holdings and index weights dates")
        date = valid[valid].index[-1]
    date = pd.Timestamp(date)
    if date not in composite.index:
        raise ValueError(f"{date.date()} is not a signal date (month end); choose one of the composite's dates")
    comp = composite.loc[date]
    w = top_n_weights(composite.loc[[date]], top).iloc[0]
    # ties by code: rank after sorting codes
    cols = sorted(comp.index, key=str)
    order = comp[cols].rank(ascending=False, method="first").reindex(comp.index)
    out = pd.DataFrame({"code": comp.index, "name": names.reindex(comp.index).astype(object).to_numpy()})
    for f in FACTORS:
        out[f] = factor_marks(factors[f].loc[date].reindex(comp.index)).to_numpy()
    for f in FACTORS:
        out[f + "_value"] = factors[f].loc[date].reindex(comp.index).to_numpy(dtype=float)
    out["composite"] = comp.to_numpy(dtype=float)
    out["rank"] = pd.array(order.to_numpy(), dtype="Int64")
    out["pick"] = (w.fillna(0.0) > 0).to_numpy()
    out = out.sort_values(["rank", "code"], na_position="last").reset_index(drop=True)
    out.index = pd.RangeIndex(1, len(out) + 1, name="position")
    return out


@dataclass
class RotationResult:
    """Everything :func:`northbound_rotation` computes (spec M11, M12).

    Frames use index = month end (signal date), columns = ETF unless stated.
    """

    universe: list[str]
    factors: dict[str, pd.DataFrame]
    composite: pd.DataFrame
    forward_returns: pd.DataFrame
    ic: pd.Series
    ic_summary: pd.Series
    group_returns: pd.DataFrame
    long_short_nav: pd.Series
    weights: pd.DataFrame
    turnover: pd.Series
    nav: pd.Series
    benchmark_nav: pd.Series
    performance: pd.DataFrame
    long_short_performance: pd.DataFrame
    ranking: pd.DataFrame
    staleness: pd.DataFrame
    summary: pd.Series
    notes: list[str] = field(default_factory=list)


def northbound_rotation(market: Market, universe: list[str] | None = None, top: int = 3, cost: float = 0.003,
                        groups: int = 5, price: str = "nav", stale_change: str = "nan", max_age_days: int = 10,
                        start=None, end=None, rf: float = 0.0, min_obs: int = 3) -> RotationResult:
    """Northbound ETF rotation, end to end (spec M11; per-year table M12).

    Parameters
    ----------
    market : Market
        Needs ``etf_info``, ``etf_daily``, ``index_weights``, ``northbound_holdings``.
    universe : list of str, optional
        ETF codes; default every stock ETF (:data:`STOCK_ETF_CATEGORIES`) whose tracked index has
        weights (:func:`select_universe`).
    top : int
        ETFs held (report: 3).
    cost : float
        Cost on traded value per rebalance, two-sided (report: 0.003).
    groups : int
        Groups for the long-short spread (default 5: top fifth minus bottom fifth of the
        composite; with 22 ETFs about 4-5 per group).
    price : {"nav", "close"}
        Per-unit series for momentum, returns and the backtest (no mixing).
    stale_change, max_age_days
        Handling of months with stale northbound holdings (:func:`northbound_etf_factors`).
    start, end : date-like, optional
        First / last signal month end used for IC, groups and the backtest (factors use all data).
    rf : float
        Risk-free rate for the Sharpe ratios.
    min_obs : int
        Minimum ETFs for a month's IC.

    Returns
    -------
    RotationResult
        factors, composite, next-month returns, monthly IC and its summary, group returns and the
        long-short NAV, strategy weights / turnover / NAV, the equal-weight benchmark NAV (no
        cost, rebalanced monthly over ETFs with a price), the M12 tables of the strategy and of
        the long-short spread, the latest ranking table, the staleness flags and a one-line
        summary (IC mean, IC IR, long-short annualised return and Sharpe, strategy and benchmark
        annualised return / Sharpe / max drawdown, average monthly two-sided turnover excluding
        the initial build, number of stale months).

    Notes
    -----
    Signals at month end ``t`` use data up to ``t``; the portfolio trades at ``t``'s close and
    earns from the first trading day of the next month (the report's month-start rebalance).
    IC_t = Spearman(S_t, R_t→t+1m); IC IR = mean / std (monthly, not annualised). The long-short
    spread is rebalanced monthly and compounded monthly (its M12 table uses 12 periods a year).
    """
    with scope(market):
        return _northbound_rotation(market, universe, top, cost, groups, price, stale_change, max_age_days,
                                    start, end, rf, min_obs)


def _northbound_rotation(market: Market, universe, top, cost, groups, price, stale_change, max_age_days,
                         start, end, rf, min_obs) -> RotationResult:
    codes, notes = select_universe(market, universe)
    fac = northbound_etf_factors(market, codes, price=price, stale_change=stale_change, max_age_days=max_age_days)
    staleness = fac["staleness"]
    prices = adjusted_nav(market, codes, price)
    # only ETFs with a price at the signal date can be ranked and bought (an ETF's index has weights
    # and northbound data before the ETF lists; without this it could be "picked" before it exists)
    fac = dict(fac)
    for k in FACTORS:
        tradable = prices.reindex(index=fac[k].index, columns=fac[k].columns).notna()
        fac[k] = fac[k].where(tradable)
    composite = composite_score(fac)
    dates = composite.index
    fwd = forward_returns(prices, dates)
    sel = pd.Series(True, index=dates)
    if start is not None:
        sel &= dates >= pd.Timestamp(start)
    if end is not None:
        sel &= dates <= pd.Timestamp(end)
    comp_s = composite.loc[sel.to_numpy()]
    fwd_s = fwd.loc[sel.to_numpy()]
    if not comp_s.notna().any(axis=None):
        raise ValueError("no month end in the chosen range has a composite score: the northbound holdings, "
                         "index weights and ETF prices do not overlap there")
    ic = rank_ic(comp_s, fwd_s, min_obs=min_obs)
    ics = ic_summary(ic)
    gr = group_returns(comp_s, fwd_s, groups)
    ls = gr["long_short"].dropna()
    ls_nav = pd.Series(dtype=float, name="long_short")
    if len(ls):
        # the spread earned over month t -> t+1 is booked at t+1; the NAV starts at 1 on the first t
        nxt = dates[dates.get_indexer(ls.index) + 1]
        ls_nav = pd.concat([pd.Series([1.0], index=ls.index[:1]),
                            pd.Series((1.0 + ls).cumprod().to_numpy(), index=nxt)])
        ls_nav.name = "long_short"
    # strategy and benchmark
    valid_rows = comp_s.notna().any(axis=1)
    first_sig = valid_rows[valid_rows].index[0]
    w = top_n_weights(comp_s.loc[first_sig:], top)
    strat = rebalance_backtest(w, prices, cost)
    px_at = prices.reindex(w.index)
    bw = px_at.notna().astype(float)
    bw = bw.div(bw.sum(axis=1).where(bw.sum(axis=1) > 0), axis=0)
    bench = rebalance_backtest(bw, prices, 0.0)
    nav = strat["nav"]
    bnav = bench["nav"].reindex(nav.index)
    perf = performance_table(nav, bnav, rf=rf, turnover=strat["turnover"])
    ls_perf = performance_table(ls_nav, rf=rf, periods=12) if len(ls_nav) > 2 else pd.DataFrame()
    ranking = ranking_table(fac, composite, market.etf_info["name"], top=top)
    to = strat["turnover"]
    stale_used = staleness.loc[comp_s.index, "stale"]
    full = perf.loc["Full period"]
    bfull = performance_table(bnav.dropna()).loc["Full period"]
    summary = pd.Series({
        "ic_mean": ics["ic_mean"], "ic_ir": ics["ic_ir"], "ic_months": ics["months"],
        "long_short_annual_return": ls_perf.loc["Full period", "annual_return"] if len(ls_perf) else np.nan,
        "long_short_sharpe": ls_perf.loc["Full period", "sharpe"] if len(ls_perf) else np.nan,
        "strategy_annual_return": full["annual_return"], "benchmark_annual_return": bfull["annual_return"],
        "strategy_sharpe": full["sharpe"], "benchmark_sharpe": bfull["sharpe"],
        "strategy_max_drawdown": full["max_drawdown"], "benchmark_max_drawdown": bfull["max_drawdown"],
        "excess_return": full["excess_return"], "information_ratio": full["information_ratio"],
        "monthly_turnover": float(to.iloc[1:].mean()) if len(to) > 1 else np.nan,
        "stale_months": float(stale_used.sum()),
        "first_signal": first_sig, "last_signal": comp_s.index[-1],
    }, name="northbound_rotation")
    if stale_used.any():
        sd = stale_used[stale_used].index
        notes.append(f"{len(sd)} month end(s) use stale northbound holdings (carried forward; change factor "
                     f"{'dropped' if stale_change == 'nan' else 'set to 0'} where no newer holdings): "
                     f"{sd[0].date()} … {sd[-1].date()}")
    return RotationResult(universe=codes, factors={k: fac[k] for k in ("preference", "change", "momentum", "coverage")},
                          composite=composite, forward_returns=fwd, ic=ic, ic_summary=ics, group_returns=gr,
                          long_short_nav=ls_nav, weights=strat["weights"], turnover=to, nav=nav,
                          benchmark_nav=bnav, performance=perf, long_short_performance=ls_perf,
                          ranking=ranking, staleness=staleness, summary=summary, notes=notes)
