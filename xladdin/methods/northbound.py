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

from xladdin.conventions import MONTHS_PER_YEAR
from xladdin.data.calendar import month_ends
from xladdin.data.ends import EffectiveEnd, market_effective_end
from xladdin.data.market import Market
from xladdin.data.schema import STOCK_ETF_CATEGORIES
from xladdin.data.views import pivot, scope, table_codes, table_dates, table_values
from xladdin.errors import DataError, Note

from .backtest import (
    DEFAULT_ETF_COST,
    DEFAULT_LAG,
    backtest_summary,
    backtest_weights,
    equal_weights,
    returns_from_prices,
)
from .grouping import DEFAULT_GROUPS, _groups_numeric, _numeric, assign_groups
from .ranking import composite_scores, no_ranking, tie_values, top_n_weights
from .stats import DEFAULT_MIN_OBS, DEFAULT_RF, FULL_PERIOD, ic_summary, performance_table, rank_ic

#: factor names, in the order of the report's ranking table
FACTORS = ("preference", "change", "momentum")
#: ETFs picked (the report's 3); the fewest valid pairs for a month's rank IC is stats.DEFAULT_MIN_OBS
DEFAULT_ETF_TOP_N = 3
#: default: at most one pick per tracked index (the next-ranked ETF on another index takes the place)
DEFAULT_ETF_ONE_PER_INDEX = True
#: marks by tercile of a factor's cross-section (group 3 = top third)
MARKS = {3: "↑↑", 2: "↑", 1: "O"}
#: the tables M11 reads: its signals, IC and NAV stop at their effective end (:mod:`xladdin.data.ends`)
NORTHBOUND_NEEDS = {"etf_info": None, "etf_daily": None, "index_weights": None, "northbound_holdings": None}


# ---------------------------------------------------------------------------------------- helpers
def _month_ends(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Last trading day of each calendar month in ``dates`` (the final month counts if incomplete)."""
    return pd.DatetimeIndex(month_ends(pd.DatetimeIndex(dates).unique().sort_values()))


def _asof_positions(available: pd.DatetimeIndex, dates: pd.DatetimeIndex) -> np.ndarray:
    """Position in sorted ``available`` of the last date <= each of ``dates`` (-1 when none)."""
    return available.searchsorted(dates, side="right") - 1


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
        raise DataError(Note("data.no_price", f"column `{price}` missing in etf_daily; provide it or choose "
                             "price='close'/'nav'", column=price))
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
    market.table("index_weights")  # raises, naming the table, when it is missing
    with_weights = set(table_values(market, "index_weights", "index"))
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
    out = sorted(info.index[info["category"].isin(categories) & info["tracked_index"].isin(with_weights)])
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
                           max_age_days: int = 10, prices: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
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
    prices : DataFrame, optional
        ``adjusted_nav(market, etfs, price)`` when the caller has it (computed here otherwise).

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
    nav = adjusted_nav(market, etfs, price) if prices is None else prices
    if dates is None:
        dates = _month_ends(nav.index)
    dates = pd.DatetimeIndex(dates)

    nb = market.table("northbound_holdings")
    if "float_ratio" not in nb.columns:
        raise DataError(Note("data.no_float_ratio", "column `float_ratio` missing in northbound_holdings (northbound "
                             "share of free float)"))
    held_days = table_dates(market, "northbound_holdings")
    staleness = holdings_staleness(held_days, dates, max_age_days)
    fr_t, pres_t, nb_stocks = _float_ratios_asof(market, held_days, dates)
    fr_prev = np.full_like(fr_t, np.nan)
    if len(fr_t) > 1:
        fr_prev[1:] = fr_t[:-1]
    prev_missing = np.isnan(fr_prev).all(axis=1) if fr_prev.shape[1] else np.ones(len(dates), dtype=bool)
    no_hold = staleness["holdings_date"].isna().to_numpy()
    etf_pos = {e: i for i, e in enumerate(etfs)}
    pref_a = np.full((len(dates), len(etfs)), np.nan)
    chg_a = pref_a.copy()
    cov_a = pref_a.copy()
    with_weights = set(table_values(market, "index_weights", "index"))
    tracked = info.loc[list(etfs)].groupby("tracked_index").groups
    indices = [i for i in tracked if i in with_weights]
    sums = _index_weight_sums(market, indices, dates, nb_stocks, fr_t, fr_prev, pres_t)
    sums[:, no_hold] = np.nan
    for j, index in enumerate(indices):
        at = [etf_pos[e] for e in tracked[index]]
        for out_a, s_a in zip((pref_a, chg_a, cov_a), sums):
            out_a[:, at] = s_a[:, j, None]
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


def _float_ratios_asof(market: Market, held_days: pd.DatetimeIndex, dates: pd.DatetimeIndex
                       ) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Northbound float ratios as of each of ``dates`` (the latest holdings date on or before it):
    (ratios with 0 for a stock absent that day, presence 1/0, the stocks); NaN rows before the first
    holdings date. Only those holdings dates are pivoted (a stock absent on all of them counts as 0,
    as absent on one)."""
    pos = _asof_positions(held_days, dates)
    ok = pos >= 0
    used = held_days[np.unique(pos[ok])]
    fr = pivot(market, "northbound_holdings", "float_ratio", share=False, at=used).astype(float)
    fr_t = np.full((len(dates), fr.shape[1]), np.nan)
    pres_t = np.full((len(dates), fr.shape[1]), np.nan)
    if ok.any():
        rows = fr.to_numpy(dtype=float)[fr.index.get_indexer(held_days[pos[ok]])]
        pres_t[ok] = ~np.isnan(rows)
        fr_t[ok] = np.where(np.isnan(rows), 0.0, rows)
    return fr_t, pres_t, fr.columns


def _index_weight_sums(market: Market, indices: list[str], dates: pd.DatetimeIndex, stocks: pd.Index,
                       fr_t: np.ndarray, fr_prev: np.ndarray, pres_t: np.ndarray) -> np.ndarray:
    """Each index's weighted sums at each date (3 x dates x ``indices``): preference ``Σ w f``, change
    ``Σ w (f − f_prev)`` and coverage ``Σ w·[held]``, over the constituents of the index's last weight
    date on or before the date (NaN when it has none). ``fr_t``, ``fr_prev``, ``pres_t``: float ratios,
    previous month's ratios and presence as of each date (dates x ``stocks``); a constituent without a
    column there (no northbound row ever) counts 0; a missing weight counts 0.

    All indices at once on the long table: each (date, index) pair picks its weight date's rows (the
    table's runs of one index and weight date), whose products are summed per pair (``np.bincount``).
    """
    out = np.full((3, len(dates), len(indices)), np.nan)
    if not len(indices) or not len(dates):
        return out
    icode, ilabels = table_codes(market, "index_weights", "index")
    dcode, wdates = table_codes(market, "index_weights", "date")
    scode, slabels = table_codes(market, "index_weights", "stock")
    want = pd.Index(ilabels).get_indexer(indices)
    ni = len(ilabels)
    key = dcode.astype(np.int64) * ni + icode  # runs of one (weight date, index), dates ascending
    rows = np.arange(len(key))
    if len(key) and ((key[1:] < key[:-1]).any() or (icode < 0).any() or (dcode < 0).any() or (scode < 0).any()):
        rows = rows[(icode >= 0) & (dcode >= 0) & (scode >= 0)]
        rows = rows[np.argsort(key[rows], kind="stable")]
        key = key[rows]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(key)]
    # run of (each weight date, each wanted index), then carried forward: run ids grow with the date
    slot = np.full(ni, -1)
    slot[want[want >= 0]] = np.flatnonzero(want >= 0)
    run_slot = slot[key[starts] % ni]
    grid = np.full((len(wdates), len(indices)), -1, dtype=np.int64)
    mine = run_slot >= 0
    grid[key[starts][mine] // ni, run_slot[mine]] = np.flatnonzero(mine)
    np.maximum.accumulate(grid, axis=0, out=grid)
    last_date = _asof_positions(pd.DatetimeIndex(wdates), dates)
    run = np.where(last_date[:, None] >= 0, grid[np.maximum(last_date, 0)], -1)
    ok = run >= 0
    pair_t, pair_j = np.nonzero(ok)
    pair_run = run[pair_t, pair_j]
    size = ends[pair_run] - starts[pair_run]
    weight = market.table("index_weights")["weight"].to_numpy(dtype=float)
    ncol = len(stocks) + 1  # a last column of zeros for the constituents without one
    col = stocks.get_indexer(slabels)
    col[col < 0] = ncol - 1
    padded = []
    for a in (fr_t, fr_prev, pres_t):
        p = np.zeros((len(a), ncol))
        p[:, :-1] = a
        padded.append(p.ravel())
    no_prev = np.isnan(fr_prev).all(axis=1)  # first month: no previous holdings
    sums = np.full((3, len(pair_run)), np.nan)
    # pairs in blocks of about PAIR_ROWS expanded rows (bounded temporary memory; a larger pair alone)
    cum = np.cumsum(size)
    total = int(cum[-1]) if len(cum) else 0
    cuts = np.searchsorted(cum, np.arange(PAIR_ROWS, total, PAIR_ROWS), side="right")
    edges = np.unique(np.r_[0, cuts, len(pair_run)])
    for lo, hi in zip(edges[:-1], edges[1:]):
        sz = size[lo:hi]
        pair = np.repeat(np.arange(hi - lo), sz)
        at = rows[np.repeat(starts[pair_run[lo:hi]] - (np.cumsum(sz) - sz), sz) + np.arange(len(pair))]
        w = weight[at]
        w[np.isnan(w)] = 0.0
        t = pair_t[lo:hi][pair]
        cell = t * ncol + col[scode[at]]
        f_now, f_prev, held = (p.take(cell) for p in padded)
        f_prev[no_prev[t]] = np.nan
        for k, x in enumerate((w * f_now, w * (f_now - f_prev), w * held)):
            sums[k, lo:hi] = np.bincount(pair, weights=x, minlength=hi - lo)
    out[:, pair_t, pair_j] = sums
    return out


#: expanded (date, constituent) rows per block in :func:`_index_weight_sums`
PAIR_ROWS = 1 << 17


def forward_returns(prices: pd.DataFrame, dates: pd.DatetimeIndex, lag: int = DEFAULT_LAG) -> pd.DataFrame:
    """Return earned from trading on each signal date to trading on the next one.

    Parameters
    ----------
    prices : DataFrame
        index = trading date, columns = ETF (adjusted NAV, :func:`adjusted_nav`).
    dates : DatetimeIndex
        Signal dates (month ends), trading dates of ``prices``.
    lag : int
        Trading days between a signal and its trade (0 = at the signal close).

    Returns
    -------
    DataFrame
        index = signal date, columns = ETF: ``A_{e_{j+1}} / A_{e_j} − 1`` with ``e_j`` the trading day
        ``lag`` days after signal ``j`` (prices carried over gaps); NaN for the last signal, a trade
        day past the data, or a missing price.
    """
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
        raise ValueError(f"`lag` must be a whole number of trading days >= 0, got {lag!r}")
    dates = pd.DatetimeIndex(dates)
    px = prices.sort_index().ffill()
    pos = px.index.get_indexer(dates)
    if (pos < 0).any():
        raise ValueError(f"signal date {dates[pos < 0][0].date()} is not a trading date of the prices")
    epos = pos + int(lag)
    ok = epos < len(px)
    at = np.full((len(dates), px.shape[1]), np.nan)
    at[ok] = px.to_numpy(dtype=float)[epos[ok]]
    # an ETF not yet priced at its signal date is not tradable (no price carried from nothing)
    listed = prices.reindex(dates).notna().to_numpy()
    at = np.where(listed, at, np.nan)
    p = pd.DataFrame(at, index=dates, columns=px.columns)
    nxt = pd.DataFrame(np.full_like(at, np.nan), index=dates, columns=px.columns)
    nxt.iloc[:-1] = np.where(ok[1:, None], px.to_numpy(dtype=float)[np.minimum(epos[1:], len(px) - 1)], np.nan)
    return nxt / p - 1.0


def group_returns(scores: pd.DataFrame, returns: pd.DataFrame, groups: int = DEFAULT_GROUPS) -> pd.DataFrame:
    """Equal-weight next-period return of each score group (spec M11 long-short, M7 groups).

    Parameters
    ----------
    scores, returns : DataFrame
        index = date, columns = ETF; ``returns`` are next-period returns aligned on the signal date.
    groups : int
        Number of groups (:func:`xladdin.methods.grouping.assign_groups`; group ``groups`` = highest scores).

    Returns
    -------
    DataFrame
        index = date, columns = ``1 … groups`` and ``long_short`` (group ``groups`` − group 1);
        an ETF counts only where both score and return exist.
    """
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


def factor_marks(values: pd.Series) -> pd.Series:
    """Report marks for one factor's cross-section: ↑↑ top tercile, ↑ middle, O bottom (spec M11).

    Parameters
    ----------
    values : Series
        index = ETF, one date's factor values.

    Returns
    -------
    Series of str (same index): ``"↑↑"``, ``"↑"``, ``"O"``; ``""`` (blank, as in the report's
    table) where the factor is missing. Terciles via :func:`xladdin.methods.grouping.assign_groups`
    with 3 groups (ties by code).
    """
    g = assign_groups(values.astype(float), 3).reindex(values.index)  # ETFs without a value: blank
    return g.map(lambda x: "" if pd.isna(x) else MARKS[int(x)]).astype(object)


def ranking_table(factors: dict[str, pd.DataFrame], composite: pd.DataFrame, names: pd.Series,
                  date: pd.Timestamp | None = None, etf_top_n: int = DEFAULT_ETF_TOP_N,
                  one_per: pd.Series | None = None) -> pd.DataFrame:
    """The report's ETF ranking table at one signal date (spec M11, output table 7).

    Parameters
    ----------
    factors : dict of DataFrame
        ``preference``, ``change``, ``momentum``: index = date, columns = ETF.
    composite : DataFrame
        :func:`xladdin.methods.ranking.composite_scores` of the factors (``require_all=True``).
    names : Series
        ETF code -> name.
    date : Timestamp, optional
        Signal date (a row of ``composite``); default the last with any composite value.
    etf_top_n : int
        Number of picks flagged.
    one_per : Series, optional
        ETF -> tracked index: at most one pick per index (:func:`xladdin.methods.ranking.top_n_weights`).

    Returns
    -------
    DataFrame
        index = rank position; columns ``code``, ``name``, ``preference``, ``change``,
        ``momentum`` (marks, :func:`factor_marks`), their raw values ``preference_value``,
        ``change_value``, ``momentum_value``, ``composite``, ``rank`` (1 = best, ties by code;
        NA when unranked), ``pick`` (bool: the top ``etf_top_n``, at most one per ``one_per`` group, so a
        pick can rank below an ETF left out for its index). Sorted by rank, unranked ETFs last.
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
    w = top_n_weights(composite.loc[[date]], etf_top_n, one_per=one_per).iloc[0]
    # ties (within the tolerance) by code: rank the tied values after sorting codes
    cols = sorted(comp.index, key=str)
    tied, flat = tie_values(comp[cols].astype(float))
    order = tied.rank(ascending=False, method="first").reindex(comp.index)
    if flat:
        order[:] = np.nan  # no spread: no ranking
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

    Frames use index = month end (signal date), columns = ETF unless stated. ``nav`` is net of
    costs, ``nav_gross`` before them; ``backtest`` is the engine's full result
    (:class:`xladdin.methods.backtest.BacktestResult`: trades, turnover and cost per rebalance).
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
    nav_gross: pd.Series | None = None
    performance_gross: pd.DataFrame | None = None
    backtest: object = None
    #: where the data lets M11 run (:func:`xladdin.data.ends.market_effective_end` of :data:`NORTHBOUND_NEEDS`)
    effective_end: EffectiveEnd | None = None


def northbound_rotation(market: Market, etf_universe: list[str] | None = None, etf_top_n: int = DEFAULT_ETF_TOP_N,
                        etf_cost: float = DEFAULT_ETF_COST, groups: int = DEFAULT_GROUPS, price: str = "nav",
                        stale_change: str = "nan", max_age_days: int = 10, start=None, end=None, rf: float = DEFAULT_RF,
                        min_obs: int = DEFAULT_MIN_OBS, lag: int = DEFAULT_LAG,
                        etf_one_per_index: bool = DEFAULT_ETF_ONE_PER_INDEX) -> RotationResult:
    """Northbound ETF rotation, end to end (spec M11; per-year table M12).

    Parameters
    ----------
    market : Market
        Needs ``etf_info``, ``etf_daily``, ``index_weights``, ``northbound_holdings``.
    etf_universe : list of str, optional
        ETF codes; default every stock ETF (:data:`STOCK_ETF_CATEGORIES`) whose tracked index has
        weights (:func:`select_universe`).
    etf_top_n : int
        ETFs held (report: 3).
    etf_cost : float
        One-way cost on traded value, charged on buys and sells (report: 0.003).
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
    lag : int
        Trading days between the month-end signal and the trade (default 1: the holdings of the
        month end are published after its close); IC, groups and the strategy all use it.
    etf_one_per_index : bool
        At most one pick per tracked index (default True): the next-ranked ETF on another index
        takes the place of a second ETF on the same index.

    Returns
    -------
    RotationResult
        factors, composite, next-month returns, monthly IC and its summary, group returns and the
        long-short NAV, strategy weights / turnover / NAV (net and gross), the equal-weight
        benchmark NAV (no cost, rebalanced monthly over ETFs with a price, same lag), the M12
        tables of the strategy (net, gross) and of the long-short spread, the latest ranking table,
        the staleness flags and a summary: IC mean / IR, long-short annualised return and Sharpe,
        strategy and benchmark annualised return / Sharpe / max drawdown, excess and IR (net and
        gross), average monthly two-sided turnover excluding the initial build and per year, lag,
        cost, rebalances without a ranking per factor and for the composite, months whose picks
        hold two ETFs of one index, stale months.

    Notes
    -----
    Signals at month end ``t`` use data up to ``t``; the portfolio trades ``lag`` trading days
    later (the report's month-start rebalance) and earns from the next day.
    IC_t = Spearman(S_t, R_{e_t → e_{t+1}}); IC IR = mean / std (monthly, not annualised). The
    long-short spread is rebalanced monthly and compounded monthly, gross of costs (its M12 table
    uses 12 periods a year). A month whose composite has no ranking (no spread) gives no trade.
    Nothing runs past the effective end of :data:`NORTHBOUND_NEEDS` (``effective_end``: no signal, price
    or NAV after the last date every input is current; a ``start`` after it is a DataError naming the input).
    """
    with scope(market):
        return _northbound_rotation(market, etf_universe, etf_top_n, etf_cost, groups, price, stale_change,
                                    max_age_days, start, end, rf, min_obs, lag, etf_one_per_index)


def _same_index_months(weights: pd.DataFrame, tracked: pd.Series) -> int:
    """Rebalances whose picks hold two or more ETFs tracking one index."""
    held = weights.fillna(0.0) > 0
    n = 0
    for _, row in held.iterrows():  # monthly rows
        idx = tracked.reindex(row.index[row.to_numpy()])
        n += int(idx.duplicated().any())
    return n


def _rotation_inputs(market: Market, universe, price: str, stale_change: str, max_age_days: int) -> tuple:
    """M11's data: the universe and its notes, the adjusted prices (computed once: factors, returns and
    the backtest read them), the factors of the ETFs with a price at each signal date, the composite."""
    codes, notes = select_universe(market, universe)
    prices = adjusted_nav(market, codes, price)
    fac = dict(northbound_etf_factors(market, codes, price=price, stale_change=stale_change,
                                      max_age_days=max_age_days, prices=prices))
    # only ETFs with a price at the signal date can be ranked and bought (an ETF's index has weights
    # and northbound data before the ETF lists; without this it could be "picked" before it exists)
    for k in FACTORS:
        tradable = prices.reindex(index=fac[k].index, columns=fac[k].columns).notna()
        fac[k] = fac[k].where(tradable)
    base = fac[FACTORS[0]]
    composite = composite_scores({k: fac[k] for k in FACTORS}, require_all=True).reindex(
        index=base.index, columns=base.columns)
    composite.index.name, composite.columns.name = "date", "etf"
    return codes, notes, prices, fac, composite


def _northbound_rotation(market: Market, universe, top, cost, groups, price, stale_change, max_age_days,
                         start, end, rf, min_obs, lag, one_per_index) -> RotationResult:
    """M11 in named steps: inputs, signal window, IC and groups, the two backtests, summary and notes."""
    eff = market_effective_end(market, NORTHBOUND_NEEDS)
    if start is not None and eff.end is not None and pd.Timestamp(start) > eff.end:
        raise DataError(f"nothing to compute from {pd.Timestamp(start):%Y-%m-%d}: the inputs of M11 are current only "
                        f"to {eff.end:%Y-%m-%d} ({eff.text() or 'the data end there'})")
    codes, notes, prices, fac, composite = _rotation_inputs(market, universe, price, stale_change, max_age_days)
    if eff.limit is not None:
        prices, composite = prices.loc[:eff.end], composite.loc[:eff.end]
        fac = {k: (v.loc[:eff.end] if k != "staleness" else v) for k, v in fac.items()}
        notes.append(f"{eff.text()}: signals, returns and NAVs stop at {prices.index[-1]:%Y-%m-%d}")
    fwd = forward_returns(prices, composite.index, lag)
    comp_s, fwd_s = _signal_window(composite, fwd, start, end)
    ic = rank_ic(comp_s, fwd_s, min_obs=min_obs)
    ics = ic_summary(ic)
    gr = group_returns(comp_s, fwd_s, groups)
    ls_nav = _long_short_nav(gr["long_short"].dropna(), composite.index)
    tracked = market.etf_info["tracked_index"].reindex(codes)
    one_per = tracked if one_per_index else None
    decided, w, strat, bnav = _rotation_backtests(comp_s, prices, top, cost, lag, one_per)
    perf = performance_table(strat.nav, bnav, rf=rf, turnover=strat.turnover)
    perf_gross = performance_table(strat.nav_gross, bnav, rf=rf, turnover=strat.turnover)
    ls_perf = performance_table(ls_nav, rf=rf, periods=MONTHS_PER_YEAR) if len(ls_nav) > 2 else pd.DataFrame()
    ranking = ranking_table(fac, composite, market.etf_info["name"], etf_top_n=top, one_per=one_per)
    staleness = fac["staleness"]
    stale_used = staleness.loc[comp_s.index, "stale"]
    no_rank = {k: int(no_ranking(fac[k].reindex(decided.index)).sum()) for k in FACTORS}
    no_rank["composite"] = int(w.isna().all(axis=1).sum())
    summary = _rotation_summary(ics, ls_perf, perf, bnav, strat, rf, stale_used, decided, comp_s, no_rank, tracked,
                                one_per_index)
    notes += _rotation_notes(stale_used, stale_change, no_rank, len(decided))
    return RotationResult(universe=codes, factors={k: fac[k] for k in ("preference", "change", "momentum", "coverage")},
                          composite=composite, forward_returns=fwd, ic=ic, ic_summary=ics, group_returns=gr,
                          long_short_nav=ls_nav, weights=strat.weights, turnover=strat.turnover, nav=strat.nav,
                          benchmark_nav=bnav, performance=perf, long_short_performance=ls_perf,
                          ranking=ranking, staleness=staleness, summary=summary, notes=notes,
                          nav_gross=strat.nav_gross, performance_gross=perf_gross, backtest=strat, effective_end=eff)


def _signal_window(composite: pd.DataFrame, fwd: pd.DataFrame, start, end) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The signal dates in ``start … end`` (composite and forward returns); an error when none has a score."""
    dates = composite.index
    sel = np.ones(len(dates), dtype=bool)
    if start is not None:
        sel &= dates >= pd.Timestamp(start)
    if end is not None:
        sel &= dates <= pd.Timestamp(end)
    comp_s, fwd_s = composite.loc[sel], fwd.loc[sel]
    if not comp_s.notna().any(axis=None):
        raise ValueError("no month end in the chosen range has a composite score: the northbound holdings, "
                         "index weights and ETF prices do not overlap there")
    return comp_s, fwd_s


def _long_short_nav(ls: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """NAV of the top-minus-bottom group spread: the spread of month t -> t+1 is booked at t+1; 1 on the first t."""
    if not len(ls):
        return pd.Series(dtype=float, name="long_short")
    nxt = dates[dates.get_indexer(ls.index) + 1]
    nav = pd.concat([pd.Series([1.0], index=ls.index[:1]), pd.Series((1.0 + ls).cumprod().to_numpy(), index=nxt)])
    nav.name = "long_short"
    return nav


def _rotation_backtests(comp_s: pd.DataFrame, prices: pd.DataFrame, top: int, cost: float, lag: int,
                        one_per: pd.Series | None):
    """Strategy and benchmark through the one engine, same decisions and lag (the benchmark pays no cost):
    returns (the composite rows from the first signal on, their target weights (an all-NaN row: no
    ranking, no trade), the strategy's result, the benchmark NAV on the strategy's dates)."""
    valid_rows = comp_s.notna().any(axis=1)
    decided = comp_s.loc[valid_rows[valid_rows].index[0]:]
    w = top_n_weights(decided, top, one_per=one_per)
    rets = returns_from_prices(prices)
    strat = backtest_weights(w, rets, cost, lag)
    bench = backtest_weights(equal_weights(prices.reindex(w.index).notna()), rets, 0.0, lag)
    return decided, w, strat, bench.nav.reindex(strat.nav.index)


def _rotation_summary(ics, ls_perf, perf, bnav, strat, rf, stale_used, decided, comp_s, no_rank, tracked,
                      one_per_index) -> pd.Series:
    """The headline figures of M11 (IC, long-short, strategy against benchmark, gross and net, turnover)."""
    full = perf.loc[FULL_PERIOD]
    bfull = performance_table(bnav).loc[FULL_PERIOD]
    bt = backtest_summary(strat, bnav, rf=rf)
    return pd.Series({
        "ic_mean": ics["ic_mean"], "ic_ir": ics["ic_ir"], "ic_months": ics["months"],
        "long_short_annual_return": ls_perf.loc[FULL_PERIOD, "annual_return"] if len(ls_perf) else np.nan,
        "long_short_sharpe": ls_perf.loc[FULL_PERIOD, "sharpe"] if len(ls_perf) else np.nan,
        "strategy_annual_return": full["annual_return"], "benchmark_annual_return": bfull["annual_return"],
        "strategy_sharpe": full["sharpe"], "benchmark_sharpe": bfull["sharpe"],
        "strategy_max_drawdown": full["max_drawdown"], "benchmark_max_drawdown": bfull["max_drawdown"],
        "excess_return": full["excess_return"], "information_ratio": full["information_ratio"],
        "monthly_turnover": bt["turnover_per_rebalance"],
        "stale_months": float(stale_used.sum()),
        "first_signal": decided.index[0], "last_signal": comp_s.index[-1],
        **{k: bt[k] for k in ("lag_days", "cost", "start", "end", "rebalances", "turnover_annual", "cost_annual",
                              "annual_return_gross", "annual_return_net", "excess_gross", "excess_net",
                              "information_ratio_gross", "information_ratio_net")},
        "periods": int(len(decided)), "periods_without_ranking": no_rank,
        "same_index_months": _same_index_months(strat.weights, tracked), "one_per_index": bool(one_per_index),
    }, name="northbound_rotation")


def _rotation_notes(stale_used: pd.Series, stale_change: str, no_rank: dict[str, int], months: int) -> list[str]:
    """What the user should know: stale holdings carried forward, months without a ranking."""
    notes = []
    if stale_used.any():
        sd = stale_used[stale_used].index
        notes.append(f"{len(sd)} month end(s) use stale northbound holdings (carried forward; change factor "
                     f"{'dropped' if stale_change == 'nan' else 'set to 0'} where no newer holdings): "
                     f"{sd[0].date()} … {sd[-1].date()}")
    for k, n in no_rank.items():
        if n and k != "composite":
            notes.append(f"{k} gives no ranking in {n} of {months} months (no value or no spread): left out "
                         "of the composite there")
    if no_rank["composite"]:
        notes.append(f"the composite gives no ranking in {no_rank['composite']} month(s): no trade, holdings kept")
    return notes
