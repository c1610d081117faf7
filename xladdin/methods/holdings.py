"""Penetrating stock-ETF holdings to stocks and industries (spec M6).

Each stock ETF's size (units × unit NAV, yuan) on a holding date is spread over its tracked
index's constituents with the index's latest weights on or before that date (snapshots carried
forward, so irregular or missing months are handled), summed over ETFs per stock and per
industry. The same penetration applied to the daily ETF flows of M1 gives industry net flows.

Universe: *stock* ETFs, i.e. ``etf_info.category`` in ``broad`` / ``sector_theme`` /
``strategy_style`` (:data:`STOCK_ETF_CATEGORIES`); ``other`` (bond, gold, money-market, cross
border …) is excluded. ETFs whose tracked index has no weights (yet) on a date cannot be
penetrated: they are left out and reported by :func:`penetration_coverage`, as is the share of
index weight whose stock has no industry in ``stock_industry``.

Frames are wide: index = date, columns = industry (or stock, ETF, index). Amounts in yuan.
The computation is vectorised: ETF sizes are summed per tracked index, then each index's amounts
are multiplied into its as-of weight snapshots (a dense snapshot × constituent matrix); no loop over
ETFs, stocks or dates.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from xladdin.conventions import YI
from xladdin.data.calendar import month_ends, week_ends
from xladdin.data.market import Market
from xladdin.data.schema import STOCK_ETF_CATEGORIES
from xladdin.data.views import pivot, table_codes, table_values

from .flows import aggregate_flows, flows_of, market_etf_flows

__all__ = [
    "stock_etfs", "holding_dates", "etf_sizes", "index_amounts",
    "industry_weights", "snapshot_weights", "SnapshotWeights", "penetration_weights", "penetrate", "etf_stock_holdings", "industry_holdings", "holding_level",
    "holding_change", "index_flows", "industry_flows", "penetration_coverage", "flow_table", "penetrate_snapshot", "YI",
]

Freq = Literal["D", "W", "M"]


# ----------------------------------------------------------------------------- frame-level core
def holding_dates(dates, freq: Freq = "W") -> pd.DatetimeIndex:
    """Holding dates among trading ``dates``: every day (``"D"``), each week's last trading day
    (``"W"``) or each month's (``"M"``); the final, possibly incomplete, period counts."""
    idx = pd.DatetimeIndex(sorted(pd.DatetimeIndex(dates).unique()))
    if freq == "D":
        return pd.DatetimeIndex(idx, name="date")
    if freq == "W":
        return week_ends(idx)
    if freq == "M":
        return month_ends(idx)
    raise ValueError(f"freq must be 'D', 'W' or 'M', got {freq!r}")


def etf_sizes(shares: pd.DataFrame, nav: pd.DataFrame, dates=None) -> pd.DataFrame:
    """ETF size = units outstanding × unit NAV (yuan), M6.

    Parameters
    ----------
    shares, nav : DataFrame, index = date, columns = ETF (same units on each row).
    dates : optional holding dates to keep (rows absent from ``shares`` give NaN).

    Returns
    -------
    DataFrame, index = date, columns = ETF, yuan; NaN where shares or NAV is missing
    (not listed yet, or NAV unknown) — never filled.
    """
    size = shares.astype(float) * nav.reindex(index=shares.index, columns=shares.columns).astype(float)
    if dates is not None:
        size = size.reindex(pd.DatetimeIndex(dates))
    size.index.name = "date"
    return size


def index_amounts(amounts: pd.DataFrame, tracked_index: pd.Series) -> pd.DataFrame:
    """Sum per-ETF amounts (sizes or flows) by tracked index.

    Parameters
    ----------
    amounts : DataFrame, index = date, columns = ETF, yuan.
    tracked_index : Series ETF -> tracked index code.

    Returns
    -------
    DataFrame, index = date, columns = index code, yuan (NaN where no member ETF has a value).
    """
    g = tracked_index.reindex(amounts.columns)
    g.name = "tracked_index"
    return aggregate_flows(amounts, g.dropna())


def industry_weights(weights: pd.DataFrame, stock_industry: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Industry weights of each index snapshot (M6).

    Parameters
    ----------
    weights : DataFrame with columns date, index, stock, weight (canonical ``index_weights``).
    stock_industry : Series stock -> industry code.

    Returns
    -------
    (industry_w, coverage) :
        ``industry_w`` long DataFrame with columns date, index, industry, weight
        (Σ of the constituents' weights per industry; stocks without an industry are left out);
        ``coverage`` DataFrame with columns date, index, weight_total, weight_classified,
        coverage (= classified / total).
    """
    _need(weights, ("date", "index", "stock", "weight"), "index_weights")
    w = weights[["date", "index", "stock", "weight"]].copy()
    w["industry"] = w["stock"].map(stock_industry)
    w["classified"] = w["weight"].where(w["industry"].notna(), 0.0)
    cov = w.groupby(["date", "index"], sort=True).agg(weight_total=("weight", "sum"),
                                                       weight_classified=("classified", "sum")).reset_index()
    cov["coverage"] = cov["weight_classified"] / cov["weight_total"]
    return _industry_weight_rows(weights, stock_industry), cov


def _industry_weight_rows(weights: pd.DataFrame, stock_industry: pd.Series, factorize=None) -> pd.DataFrame:
    """The ``industry_w`` table of :func:`industry_weights` (date, index, industry, weight).

    Equal to ``w.dropna(subset=["industry"]).groupby(["date", "index", "industry"]).weight.sum()``
    (the same grouped sum, in the same row order) over one integer key built from sorted codes;
    the industry of each distinct stock is looked up once. ``factorize(column)``: the column's
    ``pd.factorize(sort=True)`` when the caller has it already (default: computed here).
    """
    _need(weights, ("date", "index", "stock", "weight"), "index_weights")
    factorize = factorize or (lambda col: pd.factorize(weights[col], sort=True))
    scodes, suniq = factorize("stock")
    ind_u = pd.Series(suniq).map(stock_industry)
    dc, du = factorize("date")
    xc, xu = factorize("index")
    kc, ku = pd.factorize(ind_u, sort=True)  # industry code of each distinct stock (-1: none)
    krow = kc[scodes] if len(kc) else np.zeros(0, dtype=np.intp)
    keep = np.flatnonzero(krow >= 0)
    if (scodes < 0).any() or (dc < 0).any() or (xc < 0).any() or len(keep) == 0:
        w = weights[["date", "index", "stock", "weight"]].copy()  # missing keys, nothing kept: the pandas grouping
        w["industry"] = w["stock"].map(stock_industry)
        return (w.dropna(subset=["industry"]).groupby(["date", "index", "industry"], sort=True)["weight"].sum()
                .reset_index())
    nx, nk = len(xu), max(len(ku), 1)
    key = (dc[keep].astype(np.int64) * nx + xc[keep]) * nk + krow[keep]
    sums = pd.Series(weights["weight"].to_numpy()[keep]).groupby(key, sort=True).sum()  # pandas' (Kahan) sums
    k, total = sums.index.to_numpy(), sums.to_numpy()
    rest = k // nk
    return pd.DataFrame({"date": du[rest // nx], "index": xu[rest % nx], "industry": ku[k % nk],
                         "weight": total})


@dataclass(frozen=True)
class SnapshotWeights:
    """Weight snapshots of every index as dense matrices, prepared once for :func:`penetrate` (M6).

    ``codes``: every constituent code (sorted; the columns of a penetration); ``per_index``: index ->
    (snapshot dates, positions of its constituents in ``codes``, snapshot × constituent weights).
    Built by :func:`snapshot_weights`; penetrating several amount frames through one of them builds
    the matrices once instead of once per frame.
    """

    code: str
    codes: pd.Index
    per_index: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def snapshot_weights(weights: pd.DataFrame, code: str = "stock") -> SnapshotWeights:
    """The long weight snapshots (columns date, index, ``code``, weight) as :class:`SnapshotWeights`.

    Per index: its distinct snapshot dates, its distinct constituents and the dense matrix of their
    weights (a constituent listed twice in a snapshot counts twice, a missing weight counts 0).
    """
    _need(weights, ("date", "index", code, "weight"), "weights")
    codes = pd.Index(sorted(weights[code].unique()), name=code)
    per_index: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if not weights.empty:
        col_of = codes.get_indexer(weights[code])
        wdates = weights["date"].to_numpy(dtype="datetime64[ns]")
        wvalues = np.nan_to_num(weights["weight"].to_numpy(dtype=float))
        for index, rows in weights.groupby("index", sort=True).indices.items():
            snaps, snap_of_row = np.unique(wdates[rows], return_inverse=True)
            cols, col_of_row = np.unique(col_of[rows], return_inverse=True)
            matrix = np.zeros((len(snaps), len(cols)))
            np.add.at(matrix, (snap_of_row, col_of_row), wvalues[rows])
            matrix.flags.writeable = False
            per_index[index] = (snaps, cols, matrix)
    return SnapshotWeights(code, codes, per_index)


def penetrate(amounts: pd.DataFrame, weights: pd.DataFrame | SnapshotWeights, code: str = "stock",
              max_age_days: int | None = None) -> pd.DataFrame:
    """Spread amounts per (date, index) over constituents with as-of weights (M6 core).

    Parameters
    ----------
    amounts : DataFrame, index = date, columns = index code, yuan (ETF sizes or flows summed per
        tracked index, see :func:`index_amounts`).
    weights : long DataFrame with columns date, index, ``code``, weight: weight snapshots (stock
        weights, or industry weights from :func:`industry_weights`); or those snapshots prepared
        by :func:`snapshot_weights` (then ``code`` is theirs).
    code : name of the constituent column of ``weights`` (``"stock"`` or ``"industry"``).
    max_age_days : optional; a snapshot older than this many calendar days is not used (the amount
        of that index is then not penetrated on that date). None: carry forward without limit.

    Returns
    -------
    DataFrame, index = date (the dates of ``amounts``), columns = ``code`` values (sorted), yuan.
    A date on which nothing could be penetrated is all-NaN; otherwise missing cells are 0.

    Notes
    -----
    ``H_{t,c} = Σ_I A_{t,I} · w_{I,s(I,t),c}`` with ``s(I,t)`` the latest snapshot of index I on or
    before t. Per index: its snapshots as a dense (snapshot × constituent) matrix, the as-of
    snapshot of every date by binary search, and one multiply-add into the result; a constituent
    listed twice in a snapshot counts twice, a missing weight counts 0.
    """
    prepared = weights if isinstance(weights, SnapshotWeights) else snapshot_weights(weights, code)
    codes = prepared.codes
    out_index = pd.DatetimeIndex(amounts.index, name="date")
    out = np.zeros((len(out_index), len(codes)))
    done = np.zeros(len(out_index), dtype=bool)
    if len(out_index):
        days = out_index.to_numpy(dtype="datetime64[ns]")
        for index, (snaps, cols, matrix) in prepared.per_index.items():
            if index not in amounts.columns:
                continue
            amount = amounts[index].to_numpy(dtype=float)
            pos = np.searchsorted(snaps, days, side="right") - 1
            use = (pos >= 0) & ~np.isnan(amount)
            if max_age_days is not None:
                age = (days - snaps[np.maximum(pos, 0)]) // np.timedelta64(1, "D")
                use &= age <= max_age_days
            if not use.any():
                continue
            sel = np.flatnonzero(use)
            out[np.ix_(sel, cols)] += amount[sel, None] * matrix[pos[sel]]
            done[sel] = True
    out[~done] = np.nan  # a date on which nothing could be penetrated
    return pd.DataFrame(out, index=out_index, columns=codes)


def _need(df: pd.DataFrame, cols, name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) {', '.join(missing)} missing in {name}")


# ----------------------------------------------------------------------------- market level
def stock_etfs(market: Market, categories: tuple[str, ...] = STOCK_ETF_CATEGORIES) -> pd.DataFrame:
    """``etf_info`` rows of the stock ETFs (category in ``categories``), indexed by etf (M6)."""
    info = market.etf_info
    for col in ("tracked_index", "category"):
        if col not in info.columns:
            raise ValueError(f"column `{col}` missing in etf_info ({market.source})")
    out = info[info["category"].isin(categories) & info["tracked_index"].notna()]
    if out.empty:
        raise ValueError(f"no ETF in etf_info has a category in {categories} and a tracked index ({market.source})")
    return out


def _industry_map(market: Market) -> pd.Series:
    si = market.stock_industry
    if "industry" not in si.columns:
        raise ValueError(f"column `industry` missing in stock_industry ({market.source})")
    return si["industry"]


def penetration_weights(market: Market) -> SnapshotWeights:
    """The industry weight snapshots of every index (:func:`industry_weights` of the market's
    index_weights and stock_industry) prepared for :func:`penetrate` (M6).

    Compute it once and pass it (``weights=``) to :func:`industry_holdings`, :func:`industry_flows`
    and :func:`flow_table` when several of them run on one market.
    """
    rows = _industry_weight_rows(market.table("index_weights"), _industry_map(market),
                                 lambda col: table_codes(market, "index_weights", col))
    return snapshot_weights(rows, "industry")


def _sizes_by_index(market: Market, freq: Freq, categories, start, end) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    info = stock_etfs(market, categories)
    market.require("etf_daily", "shares", "nav", purpose="ETF holdings and flows by industry (M6)")
    present = sorted(set(info.index) & set(table_values(market, "etf_daily", "etf")))
    if not present:
        raise ValueError(f"no stock ETF of etf_info has rows in etf_daily ({market.source})")
    shares = pivot(market, "etf_daily", "shares", codes=present)
    nav = pivot(market, "etf_daily", "nav", codes=present)
    dates = holding_dates(shares.index, freq)
    dates = _cut(dates, start, end)
    sizes = etf_sizes(shares, nav, dates)
    return sizes, index_amounts(sizes, info["tracked_index"]), info["tracked_index"]


def _cut(dates: pd.DatetimeIndex, start, end) -> pd.DatetimeIndex:
    if start is not None:
        dates = dates[dates >= pd.Timestamp(start)]
    if end is not None:
        dates = dates[dates <= pd.Timestamp(end)]
    return dates


def etf_stock_holdings(market: Market, freq: Freq = "W", categories: tuple[str, ...] = STOCK_ETF_CATEGORIES,
                       start=None, end=None, max_age_days: int | None = None) -> pd.DataFrame:
    """Yuan held in each stock by all stock ETFs together (M6).

    Parameters
    ----------
    market : Market with etf_info, etf_daily, index_weights.
    freq : ``"W"`` (each week's last trading day), ``"M"`` (month ends) or ``"D"``.
    categories : etf_info categories counted as stock ETFs.
    start, end : optional date range of the holding dates.
    max_age_days : optional limit on the age of the weight snapshot used (see :func:`penetrate`).

    Returns
    -------
    DataFrame, index = holding date, columns = stock, yuan.
    """
    _, amounts, _ = _sizes_by_index(market, freq, categories, start, end)
    return penetrate(amounts, market.table("index_weights"), "stock", max_age_days)


def industry_holdings(market: Market, freq: Freq = "W", categories: tuple[str, ...] = STOCK_ETF_CATEGORIES,
                      start=None, end=None, max_age_days: int | None = None,
                      weights: SnapshotWeights | None = None) -> pd.DataFrame:
    """Yuan held in each industry by all stock ETFs (M6).

    Parameters
    ----------
    market : Market with etf_info, etf_daily, index_weights, stock_industry.
    freq, categories, start, end, max_age_days : as in :func:`etf_stock_holdings`.
    weights : :func:`penetration_weights` of ``market`` when the caller has it (else computed here).

    Returns
    -------
    DataFrame, index = holding date, columns = industry code, yuan.

    Notes
    -----
    ``H_{t,j} = Σ_I S_{t,I} · Σ_{i∈j} w_{I,s(I,t),i}`` with ``S_{t,I}`` the summed size
    (units × NAV) of the stock ETFs tracking index I on t. Constituents without an industry are
    not allocated (see :func:`penetration_coverage`).
    """
    _, amounts, _ = _sizes_by_index(market, freq, categories, start, end)
    iw = penetration_weights(market) if weights is None else weights
    return _all_industries(market, penetrate(amounts, iw, "industry", max_age_days))


def _all_industries(market: Market, wide: pd.DataFrame) -> pd.DataFrame:
    """Every industry of stock_industry as a column: 0 held on a penetrated date, NaN otherwise."""
    inds = sorted(set(market.industry_names.index) | set(wide.columns))
    done = wide.notna().any(axis=1)
    out = wide.reindex(columns=inds)
    out.loc[done] = out.loc[done].fillna(0.0)
    out.columns.name = "industry"
    return out


def holding_level(holdings: pd.DataFrame | Market, freq: Freq = "W", **kwargs) -> pd.DataFrame:
    """Holding level (持仓程度): each industry's share of all stock-ETF industry holdings (M6).

    Parameters
    ----------
    holdings : DataFrame from :func:`industry_holdings` (index = date, columns = industry, yuan),
        or a Market (then :func:`industry_holdings` is computed with ``freq`` and ``kwargs``).

    Returns
    -------
    DataFrame, same shape, rows summing to 1 (all-NaN rows where nothing is held).

    Notes
    -----
    ``L_{t,j} = H_{t,j} / Σ_k H_{t,k}``.
    """
    if isinstance(holdings, Market):
        holdings = industry_holdings(holdings, freq, **kwargs)
    total = holdings.sum(axis=1, min_count=1)
    total = total.where(total > 0)
    return holdings.div(total, axis=0)


def holding_change(level: pd.DataFrame, periods: int = 1) -> pd.DataFrame:
    """Change of holding level over ``periods`` rows (持仓边际变化, M7): ``L_t − L_{t−periods}``.

    On weekly levels this is the short-term flow factor (短期资金流入流出); on monthly levels the
    monthly holding change. Index = date, columns = industry; first ``periods`` rows NaN.
    """
    return level - level.shift(periods)


def _daily_index_flows(market: Market, categories, missing_nav: str, flows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Daily M1 flows of the stock ETFs of ``categories`` summed per tracked index; from ``flows`` (the
    flows of every ETF, :func:`xladdin.methods.flows.market_etf_flows`) when given."""
    info = stock_etfs(market, categories)
    market.require("etf_daily", "shares", "nav", purpose="ETF holdings and flows by industry (M6)")
    present = sorted(set(info.index) & set(table_values(market, "etf_daily", "etf")))
    if flows is None:
        flows = market_etf_flows(market, present, missing_nav=missing_nav)
    else:
        flows = flows_of(flows, market, present)
    return index_amounts(flows, info["tracked_index"])


def index_flows(market: Market, start=None, end=None, categories: tuple[str, ...] = STOCK_ETF_CATEGORIES,
                missing_nav: str = "nan", flows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Net flow of the stock ETFs per tracked index over [start, end] (M1 summed), and whether it reaches industries.

    ``flows``: the M1 flows of every ETF (:func:`xladdin.methods.flows.market_etf_flows` with ``missing_nav``)
    when the caller has them; else computed here.

    Returns
    -------
    DataFrame, index = tracked index, columns ``flow`` (yuan), ``etfs`` (the stock ETFs tracking it,
    comma-separated), ``penetrated`` (bool: the index has constituent weights in ``index_weights``,
    so its flow is part of :func:`industry_flows`). Says what an industry total includes.
    """
    idx_flows = _daily_index_flows(market, categories, missing_nav, flows)
    total = idx_flows.loc[_cut(idx_flows.index, start, end)].sum(min_count=1)
    info = stock_etfs(market, categories)
    etfs = info.groupby("tracked_index").apply(lambda g: ", ".join(sorted(g.index)))
    with_weights = set(table_values(market, "index_weights", "index")) if market.has("index_weights") else set()
    out = pd.DataFrame({"flow": total, "etfs": etfs.reindex(total.index).fillna("")})
    out["penetrated"] = out.index.isin(list(with_weights))
    out.index.name = "index"
    return out


def industry_flows(market: Market, freq: Freq = "W", categories: tuple[str, ...] = STOCK_ETF_CATEGORIES,
                   start=None, end=None, max_age_days: int | None = None,
                   missing_nav: str = "nan", flows: pd.DataFrame | None = None,
                   weights: SnapshotWeights | None = None) -> pd.DataFrame:
    """Industry net flow of stock ETFs per period, yuan (M6; the report's 资金流入流出 table in 亿元 = / :data:`YI`).

    Parameters
    ----------
    market : Market with etf_info, etf_daily, index_weights, stock_industry.
    freq : ``"D"`` daily, ``"W"`` summed Monday–Friday (labelled by the week's last trading day),
        ``"M"`` summed per calendar month (labelled by its last trading day).
    categories, start, end, max_age_days : as in :func:`industry_holdings` (``start``/``end`` cut
        the daily flows before summing).
    missing_nav : policy of :func:`xladdin.methods.flows.etf_flows` for a missing NAV (``"nan"``: the
        ETF's flow that day is left out).
    flows, weights : the M1 flows of every ETF (:func:`xladdin.methods.flows.market_etf_flows` with
        ``missing_nav``) and :func:`penetration_weights`, when the caller has them (else computed here).

    Returns
    -------
    DataFrame, index = period end date, columns = industry code, yuan.

    Notes
    -----
    ``F_{p,j} = Σ_{t∈p} Σ_I flow_{t,I} · W_{I,s(I,t),j}``, where ``flow_{t,I}`` is the M1 flow summed
    over the stock ETFs tracking I and ``W`` the industry weight of I's latest snapshot.
    """
    idx_flows = _daily_index_flows(market, categories, missing_nav, flows)
    idx_flows = idx_flows.loc[_cut(idx_flows.index, start, end)]
    iw = penetration_weights(market) if weights is None else weights
    daily = _all_industries(market, penetrate(idx_flows, iw, "industry", max_age_days))
    if freq == "D":
        return daily
    ends = holding_dates(daily.index, freq)
    label = pd.Series(ends, index=ends).reindex(daily.index, method="bfill")
    out = daily.groupby(pd.DatetimeIndex(label.to_numpy())).sum(min_count=1)  # an Index: not looked up as a column
    out.index = pd.DatetimeIndex(out.index, name="date")
    return out


def penetration_coverage(market: Market, freq: Freq = "W", categories: tuple[str, ...] = STOCK_ETF_CATEGORIES,
                         start=None, end=None, max_age_days: int | None = None) -> pd.DataFrame:
    """How much of the stock-ETF size could be penetrated to industries, per holding date (M6).

    Returns
    -------
    DataFrame, index = holding date, columns:
        ``etf_size`` (yuan, all stock ETFs with a size), ``penetrated_size`` (yuan, ETFs whose index
        had weights), ``size_coverage`` (ratio), ``industry_coverage`` (share of the penetrated
        yuan whose stock has an industry), ``weight_age_days`` (largest age of a snapshot used),
        ``etfs_without_weights`` (ETF codes with a size but no usable weights, comma-separated).
    """
    sizes, amounts, tracked = _sizes_by_index(market, freq, categories, start, end)
    weights = market.table("index_weights")
    _, cov = industry_weights(weights, _industry_map(market))
    long = amounts.rename_axis(index="date", columns="index").stack().rename("amount").reset_index()
    long = long[long["amount"].notna()].sort_values("date", kind="stable")  # ties: index order, on every CPU
    long["date"] = long["date"].astype("datetime64[ns]")
    c = cov.rename(columns={"date": "snapshot"}).sort_values("snapshot", kind="stable")
    c["snapshot"] = c["snapshot"].astype("datetime64[ns]")
    m = pd.merge_asof(long, c, left_on="date", right_on="snapshot", by="index", direction="backward")
    m["age"] = (m["date"] - m["snapshot"]).dt.days
    usable = m["snapshot"].notna()
    if max_age_days is not None:
        usable &= m["age"] <= max_age_days
    m["pen"] = m["amount"].where(usable, 0.0)
    m["cls"] = (m["amount"] * m["coverage"]).where(usable, 0.0)
    m["age_used"] = m["age"].where(usable)
    g = m.groupby("date").agg(penetrated_size=("pen", "sum"), classified=("cls", "sum"),
                              weight_age_days=("age_used", "max"))
    out = pd.DataFrame(index=sizes.index)
    out["etf_size"] = sizes.sum(axis=1, min_count=1)
    out = out.join(g)
    out["size_coverage"] = out["penetrated_size"] / out["etf_size"]
    out["industry_coverage"] = out["classified"] / out["penetrated_size"].where(out["penetrated_size"] > 0)
    bad = m.loc[~usable, ["date", "index"]]
    etf_of = tracked.reindex(sizes.columns)
    has = sizes.notna().stack()
    has = has[has].reset_index()
    has.columns = ["date", "etf", "_"]
    has["index"] = has["etf"].map(etf_of)
    missing = has.merge(bad.assign(_bad=True), on=["date", "index"], how="left")
    no_idx_weights = ~has["index"].isin(set(weights["index"].unique()))
    missing = missing[missing["_bad"].fillna(False).astype(bool) | no_idx_weights.to_numpy()]
    listed = missing.groupby("date")["etf"].agg(lambda s: ", ".join(sorted(s)))
    out["etfs_without_weights"] = listed.reindex(out.index).fillna("")
    out = out[["etf_size", "penetrated_size", "size_coverage", "industry_coverage", "weight_age_days",
               "etfs_without_weights"]]
    out.index.name = "date"
    return out


def flow_table(market: Market, start, end, categories: tuple[str, ...] = STOCK_ETF_CATEGORIES,
               max_age_days: int | None = None, flows: pd.DataFrame | None = None,
               weights: SnapshotWeights | None = None) -> pd.DataFrame:
    """The report's industry flow table for one period (M6, output table 1).

    Parameters
    ----------
    market : Market with etf_info, etf_daily, index_weights, stock_industry, industry_daily.
    start, end : first and last trading day of the period (e.g. a week).
    flows, weights : as in :func:`industry_flows` (computed here when not given).

    Returns
    -------
    DataFrame, index = industry code, columns: ``name``, ``net_flow_yi`` (亿元),
    ``industry_return`` (close_end / close before start − 1), sorted by net flow descending.
    """
    flows = industry_flows(market, "D", categories, start, end, max_age_days, flows=flows,
                           weights=weights).sum(min_count=1)
    close = market.industry_close()
    before = close.loc[close.index < pd.Timestamp(start)]
    upto = close.loc[close.index <= pd.Timestamp(end)]
    if before.empty or upto.empty:
        raise ValueError(f"industry_daily has no close before {start} or on/before {end}")
    ret = upto.iloc[-1] / before.iloc[-1] - 1.0
    out = pd.DataFrame({"name": market.industry_names.reindex(flows.index).astype(object),
                        "net_flow_yi": flows / YI, "industry_return": ret.reindex(flows.index)})
    out.index.name = "industry"
    return out.sort_values("net_flow_yi", ascending=False, kind="stable")


def penetrate_snapshot(sizes: pd.Series, weights: pd.DataFrame, stock_industry: pd.Series,
                       industries: list[str] | None = None) -> tuple[pd.DataFrame, float]:
    """Penetrate one snapshot of ETF sizes to industries (M6, a single date).

    Parameters
    ----------
    sizes : Series, index = ETF (or index) code, values = size in yuan (shares x NAV), >= 0.
    weights : DataFrame with columns ``code``, ``stock``, ``weight``: each code's constituent weights
        (fractions, summing to at most 1 per code).
    stock_industry : Series, index = stock, values = industry code.
    industries : industries to report (default: every industry in ``stock_industry``), in that order.

    Returns
    -------
    (table, unclassified) : ``table`` indexed by industry with ``amount`` = Σ_codes size × Σ_{stocks in
        industry} weight and ``level`` = amount / Σ amount (持仓程度); ``unclassified`` = yuan on stocks
        without an industry (not in ``level``'s denominator).

    Raises
    ------
    ValueError
        Negative sizes or weights, weights of a code summing to more than 1, duplicated codes or
        (code, stock) rows, a sized code without weights.
    """
    sizes = pd.Series(sizes, dtype=float)
    code, stock = weights["code"], weights["stock"]
    weight = weights["weight"].to_numpy(dtype=float, na_value=np.nan)
    if sizes.index.has_duplicates:
        raise ValueError(f"etf_sizes lists code {sizes.index[sizes.index.duplicated()][0]} twice; keep one row each")
    if stock_industry.index.has_duplicates:
        raise ValueError(f"stock_industry lists stock {stock_industry.index[stock_industry.index.duplicated()][0]} "
                         "twice; keep one row each")
    codes, known = pd.factorize(code, sort=True)            # as groupby("code"): sorted, NaN codes left out
    pair_stock, stocks = pd.factorize(stock)
    twice = pd.Index(codes.astype(np.int64) * max(len(stocks), 1) + pair_stock).duplicated()
    if twice.any():
        i = int(np.argmax(twice))
        raise ValueError(f"weights lists code / stock {code.iloc[i]} / {stock.iloc[i]} twice; keep one row each")
    if sizes.isna().any() or (sizes < 0).any():
        raise ValueError("etf_sizes: sizes must be numbers >= 0")
    bad = np.isnan(weight) | (weight < 0)
    if bad.any():
        raise ValueError(f"weights row {int(np.argmax(bad)) + 1}: weight must be a number >= 0")
    totals = np.bincount(codes[codes >= 0], weight[codes >= 0], minlength=len(known))
    over = np.flatnonzero(totals > 1 + 1e-6)
    if over.size:
        raise ValueError(f"weights of {known[over[0]]} sum to {totals[over[0]]:g} (> 1); enter fractions "
                         "(divide percentages by 100)")
    missing = sizes.index[~sizes.index.isin(known)]
    if len(missing):
        raise ValueError(f"etf_sizes code {missing[0]} has no rows in weights; add its constituents")
    inds = industries if industries is not None else sorted(set(stock_industry.dropna()))
    at = stock_industry.index.get_indexer(stock)
    industry = np.append(stock_industry.to_numpy(dtype=object), None)[at]  # -1 (no row) -> None
    classified = ~pd.isna(industry)
    column = pd.Index(inds, dtype=object).get_indexer(industry)
    sized = sizes.index.get_indexer(code)
    value = np.append(sizes.to_numpy(), 0.0)[sized] * weight   # yuan per weight row (0 for unsized codes)
    held = np.bincount(column[column >= 0], value[column >= 0], minlength=len(inds))
    lost = float(value[~classified].sum())
    if not (np.isfinite(held).all() and np.isfinite(lost)):
        raise ValueError("penetrated amounts are beyond the float range (1.8e308); check the units of etf_sizes")
    total = held.sum()
    level = held / total if total > 0 else np.full(len(inds), np.nan)
    table = pd.DataFrame({"amount": held, "level": level}, index=pd.Index(inds, name="industry"))
    return table, lost
