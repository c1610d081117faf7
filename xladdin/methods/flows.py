"""ETF daily net flows (spec M1) and their aggregation by tracked index and by category.

All frames are wide: index = date (trading days, ascending), columns = ETF codes (``510300.SH``).
Amounts are yuan. Pure functions: pandas in, pandas out.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from xladdin.data.market import Market
from xladdin.data.views import dates_with_rows, pivot, table_values

MissingNav = Literal["raise", "nan", "previous"]
SplitDay = Literal["zero", "adjusted"]

MISSING_NAV_POLICIES = ("raise", "nan", "previous")
SPLIT_DAY_RULES = ("zero", "adjusted")


def _check_wide(df: pd.DataFrame, name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`{name}` must be a DataFrame (index = date, columns = ETF), got {type(df).__name__}")
    if not df.index.is_unique:
        raise ValueError(f"`{name}` has duplicated dates in its index; keep one row per date")
    if not df.columns.is_unique:
        raise ValueError(f"`{name}` has duplicated ETF columns; keep one column per ETF")


def etf_flows(shares: pd.DataFrame, nav: pd.DataFrame, split_ratio: pd.DataFrame | None = None,
              missing_nav: MissingNav = "raise", split_day: SplitDay = "zero",
              nav_fill_limit: int | None = None) -> pd.DataFrame:
    """Daily net creation/redemption flow of each ETF (spec M1), split-safe.

    Parameters
    ----------
    shares : DataFrame
        Units outstanding, index = date (ascending trading days), columns = ETF. A missing value
        means "no observation that day".
    nav : DataFrame
        Unit NAV in the same units as ``shares`` on that row (post-split units on a split day).
        Reindexed to ``shares`` (same dates and ETFs); an ETF column of ``shares`` absent from
        ``nav`` is an error.
    split_ratio : DataFrame, optional
        New units per old unit on a split / consolidation day, 1 otherwise (same shape as
        ``shares``). ``None`` or a missing cell means 1 (no split), as in the canonical
        ``etf_daily.split_ratio`` column.
    missing_nav : {"raise", "nan", "previous"}
        What to do where the flow is otherwise computable but ``nav_t`` is missing:
        ``"raise"`` (default) raises ValueError listing the cells; ``"nan"`` leaves the flow
        NaN; ``"previous"`` values the units at the ETF's last known NAV (made split-consistent,
        at most ``nav_fill_limit`` rows old when given). Never a silent zero.
    split_day : {"zero", "adjusted"}
        ``"zero"`` (default, the report's rule): the flow on a split day (ratio != 1) is 0.
        ``"adjusted"``: ``(shares_t - shares_{t-1} * ratio_t) * nav_t``, which keeps a creation
        made on the split day itself (e.g. 510310.SH on 2024-09-20: +14.4e8 units besides the
        consolidation).
    nav_fill_limit : int, optional
        With ``missing_nav="previous"``: the largest number of consecutive rows a NAV is carried.

    Returns
    -------
    DataFrame
        Flow in yuan, index = date, columns = ETF (same as ``shares``). NaN on an ETF's first
        row, on a row whose own or previous ``shares`` is missing (a gap is never collapsed
        into one day's flow) and where the NAV is missing under ``missing_nav="nan"``.

    Notes
    -----
    ``flow_t = (shares_t - shares_{t-1} * r_t) * nav_t`` with ``r_t`` the split ratio (1 on a
    normal day), so shares are compared in post-split units. It depends only on primary-market
    creations/redemptions and that day's NAV, not on the day's price move. On a split day the
    flow is 0 under ``split_day="zero"`` (the spec's chosen rule, also when the NAV is missing).
    ``shares_{t-1}`` is the previous row of the frame: pass the panel of trading days.

    Examples
    --------
    >>> idx = pd.to_datetime(["2021-01-04", "2021-01-05"])
    >>> etf_flows(pd.DataFrame({"A": [100.0, 110.0]}, idx), pd.DataFrame({"A": [2.0, 2.5]}, idx))["A"].tolist()
    [nan, 25.0]
    """
    _check_wide(shares, "shares")
    _check_wide(nav, "nav")
    if missing_nav not in MISSING_NAV_POLICIES:
        raise ValueError(f"missing_nav must be one of {MISSING_NAV_POLICIES}, got {missing_nav!r}")
    if split_day not in SPLIT_DAY_RULES:
        raise ValueError(f"split_day must be one of {SPLIT_DAY_RULES}, got {split_day!r}")
    if not shares.index.is_monotonic_increasing:
        raise ValueError("`shares` index must be ascending dates; sort it with .sort_index()")
    absent = [] if shares.columns.equals(nav.columns) else shares.columns[~shares.columns.isin(nav.columns)]
    if len(absent):
        raise ValueError(f"nav has no column for ETF(s) {', '.join(map(str, absent[:10]))}; "
                         "provide etf_daily.nav for every ETF in shares")
    s = shares.to_numpy(dtype=float, na_value=np.nan)
    v = _aligned(nav, shares)
    r = None
    if split_ratio is not None:
        _check_wide(split_ratio, "split_ratio")
        r = np.array(_aligned(split_ratio, shares), dtype=float)  # a copy: blanks become 1
        r[np.isnan(r)] = 1.0
        if (r <= 0).any():
            raise ValueError("split_ratio must be > 0 (new units per old unit; 1 when no split)")
    if (s < 0).any():
        raise ValueError("shares must be >= 0 (units outstanding)")
    if (v <= 0).any():
        raise ValueError("nav must be > 0 where present; leave a cell empty when the NAV is unknown")

    flow = np.empty_like(s)                           # delta first: NaN on first row and around gaps
    flow[:1] = np.nan
    if r is None:
        np.subtract(s[1:], s[:-1], out=flow[1:])
    else:
        np.subtract(s[1:], s[:-1] * r[1:], out=flow[1:])
    known = ~np.isnan(flow) if (missing_nav == "raise" or r is not None) else None
    if missing_nav == "previous":
        # carry the last NAV in split-invariant units: nav_t * K_t, K_t = cumulative product of ratios
        k = np.ones_like(s) if r is None else np.cumprod(r, axis=0)
        nav_used = _ffill(v * k, nav_fill_limit) / k
    else:
        nav_used = v
    flow *= nav_used
    if split_day == "zero" and r is not None:
        flow[(r != 1.0) & known] = 0.0
    if np.isinf(flow).any():
        i, j = (int(k[0]) for k in np.nonzero(np.isinf(flow)))
        day = shares.index[i]
        when = f"{day:%Y-%m-%d}" if isinstance(day, (pd.Timestamp, np.datetime64)) else f"row {day}"
        raise ValueError(f"the flow of {shares.columns[j]} on {when} is beyond the float range "
                         "(|shares x nav| > 1.8e308); check the units of shares and nav")
    if missing_nav == "raise":
        bad = np.isnan(flow) & known & np.isnan(nav_used)
        if bad.any():
            rows, cols = np.nonzero(bad)                  # date by date, ETFs in column order
            examples = ", ".join(f"{shares.columns[j]} on {pd.Timestamp(shares.index[i]):%Y-%m-%d}"
                                 for i, j in zip(rows[:5], cols[:5]))
            raise ValueError(
                f"etf_daily.nav is missing on {len(rows)} (date, ETF) row(s) where the flow is needed, e.g. "
                f"{examples}; fill the NAV, cut the dates (--end), or choose missing_nav='nan' (flow left NaN) "
                "or 'previous' (last known NAV)")
    out = pd.DataFrame(flow, index=shares.index, columns=shares.columns, copy=False)
    out.index.name = shares.index.name
    out.columns.name = shares.columns.name
    return out


def missing_nav_flows(shares: pd.DataFrame, nav: pd.DataFrame, split_ratio: pd.DataFrame | None = None,
                      start=None, end=None, flows: pd.DataFrame | None = None) -> pd.DataFrame:
    """The flows of ``[start, end]`` that M1 leaves out because the NAV is missing, per ETF (M1).

    With ``missing_nav="nan"`` (:func:`etf_flows`) a day whose shares are known, as are the day before's,
    but whose NAV is missing has no flow, and sums skip it. This says which ETFs and days, and what the
    left-out share changes are worth at the last known NAV (:func:`etf_flows` with ``missing_nav="previous"``,
    split-consistent) -- a size for the cover, not a figure used in any total. ``flows``: the
    ``missing_nav="nan"`` flows of the same ETFs and dates, when the caller has them.

    Returns
    -------
    DataFrame
        Index = ETF (only those with a left-out day, in column order), columns ``days`` (int) and
        ``estimate`` (yuan; NaN when no earlier NAV is known): ``Σ_t (shares_t − shares_{t−1}·r_t) · nav_last``
        over the left-out days t.
    """
    if flows is None:
        flows = etf_flows(shares, nav, split_ratio, missing_nav="nan")
    else:
        flows = flows.reindex(index=shares.index, columns=shares.columns)
    s = shares.to_numpy(dtype=float, na_value=np.nan)
    known = np.zeros(s.shape, dtype=bool)
    known[1:] = ~np.isnan(s[1:]) & ~np.isnan(s[:-1])
    rows = _window(shares.index, start, end)
    left = np.isnan(flows.to_numpy()) & known & rows[:, None]
    cols = np.flatnonzero(left.any(axis=0))
    out = pd.DataFrame({"days": pd.Series(dtype=int), "estimate": pd.Series(dtype=float)})
    if not cols.size:
        return out.rename_axis(shares.columns.name or "etf")
    picked = shares.columns[cols]
    ratio = None if split_ratio is None else split_ratio.reindex(columns=picked)
    est = etf_flows(shares[picked], nav.reindex(columns=picked), ratio, missing_nav="previous").to_numpy()
    mask = left[:, cols]
    amounts = np.where(mask, est, 0.0)
    unknown = (mask & np.isnan(est)).any(axis=0)
    out = pd.DataFrame({"days": mask.sum(axis=0).astype(int),
                        "estimate": np.where(unknown, np.nan, np.nansum(amounts, axis=0))}, index=picked)
    out.index.name = shares.columns.name or "etf"
    return out


def _window(dates: pd.Index, start, end) -> np.ndarray:
    """Boolean mask of ``dates`` within [start, end] (either may be None)."""
    keep = np.ones(len(dates), dtype=bool)
    if start is not None:
        keep &= np.asarray(dates >= pd.Timestamp(start))
    if end is not None:
        keep &= np.asarray(dates <= pd.Timestamp(end))
    return keep


def _aligned(frame: pd.DataFrame, like: pd.DataFrame) -> np.ndarray:
    """``frame`` reindexed to the dates and ETFs of ``like``, as a float array (read only: may share memory)."""
    if not (frame.index.equals(like.index) and frame.columns.equals(like.columns)):
        frame = frame.reindex(index=like.index, columns=like.columns)
    return frame.to_numpy(dtype=float, na_value=np.nan)


def _ffill(a: np.ndarray, limit: int | None) -> np.ndarray:
    """Forward fill along rows (``DataFrame.ffill(limit=limit)``): a missing cell takes the last value
    above it, at most ``limit`` rows back."""
    rows = np.arange(a.shape[0])[:, None]
    last = np.maximum.accumulate(np.where(np.isnan(a), -1, rows), axis=0)
    usable = last >= 0
    if limit is not None:
        usable &= rows - last <= limit
    return np.where(usable, a[np.maximum(last, 0), np.arange(a.shape[1])[None, :]], np.nan)


def aggregate_flows(flows: pd.DataFrame, groups: pd.Series, require_all: bool = False) -> pd.DataFrame:
    """Sum ETF flows into groups (tracked index, category, ...) per day (spec M1).

    Parameters
    ----------
    flows : DataFrame
        Per-ETF flows from :func:`etf_flows`, index = date, columns = ETF.
    groups : Series
        ETF code -> group label. ETFs with a missing label are left out; ETFs of ``flows`` not in
        ``groups`` are ignored. Every labelled ETF must be a column of ``flows``.
    require_all : bool
        ``False`` (default): a day's group flow is the sum over the member ETFs that have a flow
        that day (an ETF not yet listed, or with a NaN flow, is skipped); NaN when none has one.
        ``True``: the group flow is NaN on any day where a member ETF's flow is NaN (the real-data
        verification counted only days with all four CSI 300 ETFs).

    Returns
    -------
    DataFrame
        Flow in yuan, index = date, columns = group (sorted).

    Notes
    -----
    ``F_{g,t} = sum_{e in g} flow_{e,t}``. With ``require_all=False`` a skipped ETF contributes
    nothing that day: check :func:`flow_coverage` for how many members were counted.
    """
    _check_wide(flows, "flows")
    g = _clean_groups(groups, flows)
    if g.empty:
        raise ValueError("no ETF has a group label; check etf_info.tracked_index / category")
    f = flows[list(g.index)]
    sums = f.T.groupby(g).sum(min_count=1).T
    if require_all:
        counts = f.notna().T.groupby(g).sum().T
        sizes = g.value_counts().reindex(sums.columns)
        sums = sums.where(counts.eq(sizes, axis=1))
    sums = sums.reindex(columns=sorted(sums.columns)).astype(float)
    sums.index.name = flows.index.name
    sums.columns.name = groups.name
    return sums


def flow_coverage(flows: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """How many member ETFs of each group have a flow on each day.

    Returns
    -------
    DataFrame
        Integer counts, index = date, columns = group (sorted); compare with the group sizes
        ``groups.value_counts()`` to see the days where :func:`aggregate_flows` skipped ETFs.
    """
    _check_wide(flows, "flows")
    g = _clean_groups(groups, flows)
    counts = flows[list(g.index)].notna().T.groupby(g).sum().T
    return counts.reindex(columns=sorted(counts.columns)).astype(int)


def _clean_groups(groups: pd.Series, flows: pd.DataFrame) -> pd.Series:
    if not isinstance(groups, pd.Series):
        raise TypeError("`groups` must be a Series mapping ETF code -> group label")
    g = groups.dropna()
    g = g[~g.index.duplicated(keep="first")] if g.index.has_duplicates else g
    absent = [e for e in g.index if e not in flows.columns]
    if absent:
        raise ValueError(f"ETF(s) {', '.join(map(str, absent[:10]))} have a group but no flow column; "
                         "drop them from `groups` or add their etf_daily rows")
    return g.astype(str)


# ---------------------------------------------------------------------------- market wrappers
def market_etf_flows(market: Market, etfs: list[str] | None = None, missing_nav: MissingNav = "nan",
                     split_day: SplitDay = "zero", nav_fill_limit: int | None = None, end=None) -> pd.DataFrame:
    """Per-ETF daily flows (M1) from a market's ``etf_daily`` table.

    Parameters
    ----------
    market : Market
        Needs ``etf_daily`` (shares, nav; split_ratio optional).
    etfs : list of str, optional
        ETF codes to keep (default: all).
    missing_nav, split_day, nav_fill_limit
        As in :func:`etf_flows`; ``missing_nav`` defaults to ``"nan"`` here so a panel whose NAVs
        end before its shares (e.g. the real data after 2025-12-31) still loads; the NaN flows are
        then skipped or flagged by :func:`aggregate_flows`.
    end : date-like, optional
        Last date used (rows after it are not read).

    Returns
    -------
    DataFrame
        Flow in yuan, index = the dates on which one of the ETFs has a row, columns = ETF.
        Computed each time it is called: a run that needs the flows several times computes them
        once and passes them on (``flows=`` of :func:`index_flow`, :mod:`xladdin.methods.holdings`,
        :mod:`xladdin.methods.dashboard`, :mod:`xladdin.methods.correlation`;
        :class:`xladdin.workbook.context.WeeklyContext`).
    """
    daily = market.require("etf_daily", "shares", "nav", purpose="ETF flows (M1)")
    shares = pivot(market, "etf_daily", "shares", codes=etfs, end=end)
    nav = pivot(market, "etf_daily", "nav", codes=etfs, end=end)
    ratio = pivot(market, "etf_daily", "split_ratio", codes=etfs, end=end) if "split_ratio" in daily.columns else None
    return etf_flows(shares, nav, ratio, missing_nav=missing_nav, split_day=split_day, nav_fill_limit=nav_fill_limit)


def market_missing_nav(market: Market, start=None, end=None, etfs: list[str] | None = None,
                       flows: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`missing_nav_flows` of a market's ``etf_daily`` (the ETFs ``etfs``, default all), rows up to ``end``;
    ``flows``: the ``missing_nav="nan"`` flows of every ETF (:func:`market_etf_flows`), when the caller has them."""
    daily = market.require("etf_daily", "shares", "nav", purpose="ETF flows (M1)")
    shares = pivot(market, "etf_daily", "shares", codes=etfs, end=end)
    nav = pivot(market, "etf_daily", "nav", codes=etfs, end=end)
    ratio = pivot(market, "etf_daily", "split_ratio", codes=etfs, end=end) if "split_ratio" in daily.columns else None
    given = None if flows is None else flows_of(flows, market, list(shares.columns))
    return missing_nav_flows(shares, nav, ratio, start, end, flows=given)


def flows_of(flows: pd.DataFrame, market: Market, etfs: list[str]) -> pd.DataFrame:
    """The columns ``etfs`` of the flows of every ETF (:func:`market_etf_flows` with ``etfs=None``) on
    the dates one of them has an ``etf_daily`` row: equal to ``market_etf_flows(market, etfs)`` with
    the same options (each ETF's flow depends on its own rows only), without computing them again."""
    codes = [c for c in sorted(set(etfs)) if c in flows.columns]
    rows = dates_with_rows(market, "etf_daily", codes)
    return flows.reindex(index=rows[rows.isin(flows.index)], columns=codes)


def _flows_by(market: Market, column: str, require_all: bool, **kwargs) -> pd.DataFrame:
    info = market.etf_info
    if column not in info.columns:
        raise ValueError(f"column `{column}` missing in etf_info ({market.source})")
    flows = market_etf_flows(market, **kwargs)
    groups = info[column].reindex(flows.columns)
    groups.name = column
    return aggregate_flows(flows, groups, require_all=require_all)


def flows_by_index(market: Market, require_all: bool = False, missing_nav: MissingNav = "nan",
                   split_day: SplitDay = "zero") -> pd.DataFrame:
    """Daily ETF flow aggregated by tracked index (spec M1).

    Returns
    -------
    DataFrame
        Flow in yuan, index = date, columns = tracked index code (``000300.SH``).

    Notes
    -----
    :func:`market_etf_flows` then :func:`aggregate_flows` with ``etf_info.tracked_index`` as the
    groups; ETFs without ``etf_info`` rows or without a tracked index are left out.
    """
    return _flows_by(market, "tracked_index", require_all, missing_nav=missing_nav, split_day=split_day)


def flows_by_category(market: Market, require_all: bool = False, missing_nav: MissingNav = "nan",
                      split_day: SplitDay = "zero") -> pd.DataFrame:
    """Daily ETF flow aggregated by category (broad / sector_theme / strategy_style / other), M1.

    Returns
    -------
    DataFrame
        Flow in yuan, index = date, columns = category.
    """
    return _flows_by(market, "category", require_all, missing_nav=missing_nav, split_day=split_day)


def index_flow(market: Market, index: str, require_all: bool = False, missing_nav: MissingNav = "nan",
               split_day: SplitDay = "zero", flows: pd.DataFrame | None = None, end=None) -> pd.Series:
    """Aggregate daily flow (yuan) of the ETFs tracking ``index``, index = date (M1).

    ``flows``: the flows of every ETF (:func:`market_etf_flows` of the same options), when the caller
    has them already; ``end``: last date used. Raises ValueError when no ETF in ``etf_info`` tracks
    ``index``.
    """
    members = market.etfs_tracking(index)
    present = set(table_values(market, "etf_daily", "etf"))
    members = [e for e in members if e in present]
    if not members:
        known = sorted(market.etf_info["tracked_index"].dropna().unique())
        raise ValueError(f"no ETF with etf_daily rows tracks `{index}`; tracked indices: {', '.join(known)}")
    if flows is None:
        flows = market_etf_flows(market, members, missing_nav=missing_nav, split_day=split_day, end=end)
    else:
        flows = flows_of(flows, market, members)
        if end is not None:
            flows = flows.loc[flows.index <= pd.Timestamp(end)]
    groups = pd.Series(index, index=pd.Index(members, name="etf"), name="tracked_index")
    out = aggregate_flows(flows, groups, require_all=require_all)[index]
    out.name = "flow"
    return out
