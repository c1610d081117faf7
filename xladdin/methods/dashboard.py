"""Weekly fund-flow tracking dashboard (spec M13, Sinolink / Zhongtai digests).

Per industry and per broad index, for the week that contains ``asof`` and the week before:

* ETF net subscriptions by category (broad, sector/theme, strategy): per broad index from the ETFs
  tracking it (``etf_info.tracked_index``); per industry through the M6 penetration of the daily
  M1 flows (:func:`xladdin.methods.holdings.industry_flows`);
* northbound net buying ``Σ_t (h_t − h_t−1) × close_t`` per stock (``h`` = shares held), only for
  weeks where daily holdings exist (to 2024-08-16); NaN with a note otherwise;
* margin financing net buying ``Δ financing_balance`` over the week, its share of the week's
  turnover, and the financing-buy share ``Σ financing_buy / Σ amount``;
* trading heat: the week's average daily turnover as a percentile of its own trailing weekly
  history (default 3 years = 156 weeks), flagged above the 90th percentile;
* volatility: 20-day realised volatility of the industry / index close on the week's last day, as a
  percentile of its trailing weekly history, flagged above the 80th percentile;
* the largest net buys and sells (ETFs, stocks, industries) and the change against the week before.

Every component is computed when its tables are present; otherwise its columns are NaN and the
``notes`` table says why. Amounts are yuan unless ``unit`` is given (1e8 for 亿元).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from xladdin.conventions import WEEKS_PER_YEAR, YI
from xladdin.data.calendar import week_ends
from xladdin.data.ends import EffectiveEnd, market_effective_end, market_ends
from xladdin.data.market import Market
from xladdin.data.views import pivot, release, scope, table_dates, table_values
from xladdin.errors import DataError

from .flows import market_etf_flows
from .holdings import industry_flows, penetration_weights
from .stats import DEFAULT_VOL_WINDOW, realised_volatility, trailing_percentile

#: ETF categories shown as subscription columns (etf_info.category -> column)
ETF_CATEGORY_COLUMNS = {"broad": "etf_broad", "sector_theme": "etf_sector_theme", "strategy_style": "etf_strategy"}
#: display names of common broad indices (others show their code)
INDEX_NAMES = {
    "000300.SH": "沪深300", "000905.SH": "中证500", "000852.SH": "中证1000", "000016.SH": "上证50",
    "399006.SZ": "创业板指", "000688.SH": "科创50", "932000.CSI": "中证2000", "000001.SH": "上证指数",
    "399001.SZ": "深证成指", "000985.CSI": "中证全指", "399370.SZ": "国证成长", "399371.SZ": "国证价值",
    "000510.CSI": "中证A500", "000903.SH": "中证100", "000906.SH": "中证800", "399330.SZ": "深证100",
    "399673.SZ": "创业板50",
}
#: percentile history and the fewest years a percentile needs, the realised-volatility window (trading days),
#: the heat and volatility flag percentiles and the rows of the largest net buys / sells (M13)
DEFAULT_HEAT_YEARS = 3.0
DEFAULT_MIN_YEARS = 1.0
DEFAULT_HEAT_FLAG = 0.9
DEFAULT_VOL_FLAG = 0.8
DEFAULT_TOP_ROWS = 10
#: the daily tables the dashboard reads, each present one needed on its week: their effective end
#: (:mod:`xladdin.data.ends`) is the default as-of date and the latest one the dashboard computes
DAILY_TABLES = ("etf_daily", "stock_daily", "margin_daily", "index_daily", "industry_daily")
#: snapshot tables read beside them (index weights: the industry ETF subscriptions and the broad indices'
#: stock-based columns): one not current on the as-of date is left out, its columns blank with a note
SNAPSHOT_NEEDS = {"index_weights": None}
#: columns holding yuan amounts (divided by ``unit``)
AMOUNT_COLUMNS = ("etf_broad", "etf_sector_theme", "etf_strategy", "etf_total", "northbound_net_buy",
                  "margin_net_buy", "turnover", "net_buy", "this_week", "previous_week", "change")


# ----------------------------------------------------------------------------------------- core maths
def northbound_daily_net_buying(shares_held: pd.DataFrame, close: pd.DataFrame) -> pd.DataFrame:
    """Daily northbound net buying per stock from holdings changes (M13).

    Parameters
    ----------
    shares_held : DataFrame
        index = holdings date, columns = stock: shares held by northbound investors. A stock
        missing on a holdings date is taken as 0 shares (exchanges list held stocks only).
    close : DataFrame
        index = trading date, columns = stock: close price (defines the trading calendar).

    Returns
    -------
    DataFrame
        index = trading date, columns = stock, yuan: ``(h_t − h_t−1) × close_t`` where ``t`` and the
        previous trading day ``t−1`` are both holdings dates; NaN otherwise (e.g. after 2024-08-16,
        when holdings became quarterly).

    Notes
    -----
    Valuing the change in shares at the day's close removes the price effect contained in the
    change of held value: ``Δ(h·p) − h_t−1·Δp = Δh·p_t``.
    """
    days = close.index
    held_days = shares_held.index
    cols = shares_held.columns.union(close.columns)
    # h_t: NaN on non-holdings days; 0 for a stock absent on a holdings day
    hv = np.array(shares_held.reindex(index=days, columns=cols).to_numpy(dtype=float), dtype=float, copy=True)
    is_held = np.asarray(days.isin(held_days), dtype=bool)
    gap = np.isnan(hv)
    gap[~is_held] = False
    hv[gap] = 0.0
    del gap
    out = np.empty_like(hv)
    if len(hv):
        out[0] = np.nan
        np.subtract(hv[1:], hv[:-1], out=out[1:])
    del hv
    np.multiply(out, close.reindex(columns=cols).to_numpy(dtype=float), out=out)
    valid = is_held.copy()
    valid[1:] &= is_held[:-1]
    if len(valid):
        valid[0] = False
    out[~valid] = np.nan
    return pd.DataFrame(out, index=days, columns=cols, copy=False)


def _week_labels(dates: pd.DatetimeIndex, ends: pd.DatetimeIndex) -> np.ndarray:
    """Week end label (first of ``ends`` on or after) of each date; NaT past the last end."""
    pos = ends.searchsorted(dates, side="left")
    out = np.full(len(dates), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = pos < len(ends)
    out[ok] = ends[pos[ok]].to_numpy()
    return out


def weekly_sum(daily: pd.DataFrame, ends: pd.DatetimeIndex, complete: bool = False) -> pd.DataFrame:
    """Sum a daily frame within weeks labelled by their last trading day.

    Parameters
    ----------
    daily : DataFrame
        index = trading date, columns = code.
    ends : DatetimeIndex
        Week end dates (:func:`xladdin.data.calendar.week_ends`).
    complete : bool
        True: a week with a missing day for a code gives NaN for that code; False: NaN only when
        every day is missing (``min_count=1``).

    Returns
    -------
    DataFrame, index = week end (all of ``ends``), columns = code.
    """
    lab = _week_labels(daily.index, ends)
    keep = ~pd.isna(lab)
    d = daily.loc[keep]
    g = d.groupby(pd.DatetimeIndex(lab[keep]))  # an Index: pandas does not look an array up among the columns
    out = g.sum(min_count=1)
    if complete:
        out = out.where(g.count().eq(g.size(), axis=0))
    out = out.reindex(ends)
    out.index.name = "date"
    return out


def weekly_last(daily: pd.DataFrame, ends: pd.DatetimeIndex) -> pd.DataFrame:
    """Last non-missing value of each code within each week (index = week end)."""
    lab = _week_labels(daily.index, ends)
    keep = ~pd.isna(lab)
    out = daily.loc[keep].groupby(pd.DatetimeIndex(lab[keep])).last().reindex(ends)
    out.index.name = "date"
    return out


def _group_columns(frame: pd.DataFrame, mapping: pd.Series) -> pd.DataFrame:
    """Sum columns (stocks) into groups (industries); codes without a group are left out."""
    m = mapping.reindex(frame.columns)
    keep = m.notna().to_numpy()
    f = frame.loc[:, keep]
    return f.T.groupby(m[keep].to_numpy()).sum(min_count=1).T


def _member_sum(frame: pd.DataFrame, members: pd.DataFrame) -> pd.Series:
    """Row sums of ``frame`` over the columns flagged in ``members`` (same index)."""
    cols = frame.columns.union(members.columns)
    f = frame.reindex(columns=cols)
    mk = members.reindex(index=frame.index, columns=cols, fill_value=False).astype(bool)
    return f.where(mk.to_numpy()).sum(axis=1, min_count=1)


def _member_sums(frame: pd.DataFrame, members: dict[str, pd.DataFrame], out: pd.DataFrame) -> pd.DataFrame:
    """:func:`_member_sum` of ``frame`` for every index of ``members`` into the columns of ``out``.

    Same sums as :func:`_member_sum` (each row summed sequentially over the member columns in
    sorted code order, NaN when no member has a value); numpy on the member columns only.
    """
    if not frame.columns.is_monotonic_increasing or not frame.columns.is_unique:
        for ix, mk in members.items():
            out[ix] = _member_sum(frame, mk)
        return out
    vals = frame.to_numpy(dtype=float)
    valid = ~np.isnan(vals)
    rows = np.flatnonzero(valid.any(axis=1))  # rows without any value sum to NaN: only the others are summed
    if len(rows) < 2:  # (two rows at least: one row would be summed pairwise, not column after column)
        rows = np.arange(len(frame))
    vals, valid = vals[rows], valid[rows]
    filled = np.where(valid, vals, 0.0)
    for ix, mk in members.items():
        # the member flags on those rows, for the frame's columns that are members on one of them
        r = mk.index.get_indexer(frame.index[rows])
        c = frame.columns.get_indexer(mk.columns)
        flags = np.zeros((len(rows), mk.shape[1]), dtype=bool)
        flags[r >= 0] = mk.to_numpy(dtype=bool)[r[r >= 0]]
        keep = (c >= 0) & flags.any(axis=0)
        m, used = flags[:, keep], c[keep]
        order = np.argsort(used, kind="stable")  # the frame's column order (already so when both are sorted)
        m, used = m[:, order], used[order]
        # F order: numpy reduces axis 1 column after column, as pandas does on its column-major block
        x = np.asfortranarray(np.where(m, filled[:, used], 0.0))
        part = x.sum(axis=1) if x.shape[1] else np.zeros(len(rows))
        part[~(m & valid[:, used]).any(axis=1)] = np.nan
        total = np.full(len(frame), np.nan)
        total[rows] = part
        out[ix] = total
    return out


# ----------------------------------------------------------------------------------------- market level
def dashboard_end(market: Market, asof=None) -> EffectiveEnd:
    """Where the dashboard's daily inputs (:data:`DAILY_TABLES` present) are all current, capped at ``asof``
    (:func:`xladdin.data.ends.market_effective_end`): its default as-of date, and the latest it computes."""
    names = [n for n in DAILY_TABLES if market.has(n)]
    if not names:
        raise ValueError("the dashboard needs at least one daily table: " + ", ".join(DAILY_TABLES))
    return market_effective_end(market, dict.fromkeys(names), cap=asof)


def _default_asof(market: Market) -> pd.Timestamp:
    return dashboard_end(market).end


def current_snapshots(market: Market, asof) -> tuple[Market, list[str]]:
    """``market`` without the tables of :data:`SNAPSHOT_NEEDS` that are not current on ``asof`` (the same
    object when all are), and a note per table left out naming it and its end."""
    asof = pd.Timestamp(asof)
    stale = [e for e in market_ends(market, SNAPSHOT_NEEDS) if e.until < asof]
    if not stale:
        return market, []
    tables = {k: v for k, v in market.tables.items() if k not in {e.table for e in stale}}
    notes = [f"{e.text()}, current to {e.until:%Y-%m-%d}: not used for the week of {asof:%Y-%m-%d} (the industry ETF "
             "subscriptions and the broad indices' stock-based columns need current index weights)" for e in stale]
    return replace(market, tables=tables), notes


def trading_calendar(market: Market, asof) -> pd.DatetimeIndex:
    """The dashboard's trading days up to ``asof``: every date of the daily tables present (etf_daily,
    stock_daily, margin_daily, index_daily, industry_daily), sorted."""
    asof = pd.Timestamp(asof)
    parts = []
    for n in ("etf_daily", "stock_daily", "margin_daily", "index_daily", "industry_daily"):
        if market.has(n):
            parts.append(table_dates(market, n))
    cal = parts[0]
    for p in parts[1:]:
        cal = cal.union(p)
    cal = cal[cal <= asof].sort_values()
    if len(cal) == 0:
        raise ValueError(f"no trading day on or before {asof.date()} in the daily tables")
    return cal


def _index_members(market: Market, indices: list[str], ends: pd.DatetimeIndex) -> dict[str, pd.DataFrame]:
    """Constituent flags per index at each week end (latest weights snapshot on or before it)."""
    out = {}
    if not market.has("index_weights"):
        return out
    present = set(table_values(market, "index_weights", "index"))
    for ix in indices:
        if ix not in present:
            continue
        piv = pivot(market, "index_weights", "weight", columns="stock", where=("index", ix)).gt(0)
        pos = piv.index.searchsorted(ends, side="right") - 1
        arr = np.zeros((len(ends), piv.shape[1]), dtype=bool)
        ok = pos >= 0
        arr[ok] = piv.to_numpy()[pos[ok]]
        out[ix] = pd.DataFrame(arr, index=ends, columns=piv.columns)
    return out


def weekly_metrics(market: Market, asof=None, heat_years: float = DEFAULT_HEAT_YEARS,
                   min_years: float = DEFAULT_MIN_YEARS, vol_window: int = DEFAULT_VOL_WINDOW,
                   indices: list[str] | None = None) -> dict:
    """Weekly M13 series for every industry and broad index, up to ``asof``.

    Parameters
    ----------
    market : Market
        Any of etf_info/etf_daily, index_weights, stock_industry, stock_daily, margin_daily,
        northbound_holdings, index_daily, industry_daily; missing tables leave their metrics NaN.
    asof : date-like, optional
        Last date used; default the earliest last date among the daily tables present (the latest
        day every table covers).
    heat_years, min_years : float
        Percentile window (``round(52 × heat_years)`` weeks) and minimum history
        (``round(52 × min_years)`` weeks) for heat and volatility.
    vol_window : int
        Realised-volatility window, trading days.
    indices : list of str, optional
        Broad indices; default every index tracked by a ``broad`` ETF in etf_info (else the indices
        of index_daily).

    Returns
    -------
    dict
        ``"industry"`` and ``"index"``: dict metric -> DataFrame (index = week end, columns =
        industry / index code) with metrics ``return``, ``etf_broad``, ``etf_sector_theme``,
        ``etf_strategy``, ``etf_total``, ``northbound_net_buy``, ``margin_net_buy``, ``turnover``
        (week's sum), ``avg_turnover`` (per trading day), ``margin_net_buy_share``
        (= margin net buy / turnover), ``financing_buy_share``, ``heat_pct``, ``volatility``,
        ``vol_pct``; ``"etf"`` (weekly flow per ETF), ``"stock_northbound"``, ``"stock_margin"``
        (weekly per stock), ``"category"`` (weekly ETF flow per category), ``"week_ends"``,
        ``"asof"``, ``"notes"`` (list of str), ``"names"`` (industry code -> name).
    """
    with scope(market):
        return _weekly_metrics(market, asof, heat_years, min_years, vol_window, indices)


#: tables the dashboard reads only over its stock window (see :func:`stock_rows_since`)
STOCK_WINDOW_TABLES = ("stock_daily", "margin_daily")
#: weeks of slack before that window: weeks without trading (Spring Festival, National Day: about
#: two a year) and short gaps in a table
STOCK_WINDOW_SLACK_WEEKS = 13


def stock_rows_since(asof, heat_years: float = DEFAULT_HEAT_YEARS) -> pd.Timestamp:
    """Earliest date of the stock_daily / margin_daily rows :func:`weekly_dashboard` can read for ``asof``.

    The dashboard computes its stock-level series (turnover, margin financing) for the last
    ``W + 2`` trading weeks only, ``W = round(52 × heat_years)`` (the percentile window, plus this
    and the previous week's snapshots), from the table's last day on or before the week before
    them. Those weeks start after ``asof − 7 × (W + 2 + 1 + h)`` days with ``h`` weeks without
    trading; this returns ``asof − 7 × (W + 3 + 13)`` days (:data:`STOCK_WINDOW_SLACK_WEEKS` = 13 ≥ h
    for three years of SSE holidays). A market whose two stock tables hold only the rows from this
    date on gives the same dashboard as the full tables (tested); ``xladdin weekly`` reads them so.
    When a table has no row between this date and that week (a gap), the week's margin change is
    missing either way.
    """
    window = max(1, int(round(WEEKS_PER_YEAR * heat_years)))
    weeks = window + 3 + STOCK_WINDOW_SLACK_WEEKS
    return pd.Timestamp(asof).normalize() - pd.Timedelta(days=7 * weeks)


def _stock_start(market: Market, table: str, cut: pd.Timestamp | None) -> pd.Timestamp | None:
    """Last date of ``table`` on or before ``cut`` (None: no cut, or no such date)."""
    if cut is None or not market.has(table):
        return None
    d = table_dates(market, table)
    pos = d.searchsorted(cut, side="right") - 1
    return d[pos] if pos >= 0 else None


@dataclass
class _Weeks:
    """The dashboard's frame: its weeks, its universe and what the stock-level window covers."""

    asof: pd.Timestamp
    ends: pd.DatetimeIndex  # week ends (last trading day of each week up to asof)
    days_per_week: pd.Series  # trading days per week
    window: int  # percentile window, weeks
    minp: int  # minimum history of a percentile, weeks
    first_week: int  # first week whose stock-level values are computed
    cut: pd.Timestamp | None  # stock rows after it (+ the table's last day before it) feed those weeks
    industries: list[str]
    indices: list[str]
    names: pd.Series  # industry code -> name
    si: pd.Series | None  # stock -> industry
    info: pd.DataFrame | None  # etf_info indexed by etf
    members: dict[str, pd.DataFrame]  # index -> constituent flags at each week end

    def empty_industry(self) -> pd.DataFrame:
        return pd.DataFrame(np.nan, index=self.ends, columns=self.industries)

    def empty_index(self) -> pd.DataFrame:
        return pd.DataFrame(np.nan, index=self.ends, columns=list(self.indices))


def _weekly_metrics(market: Market, asof, window_years: float, min_years: float, vol_window: int,
                    indices: list[str] | None, stock_weeks: int | None = None, flows: pd.DataFrame | None = None,
                    weights=None, calendar: pd.DatetimeIndex | None = None) -> dict:
    """:func:`weekly_metrics`; with ``stock_weeks``, the stock-level series (turnover, margin, northbound
    and what is summed from them) and the ETF subscriptions per industry (the M6 penetration of every day)
    are computed for the last ``stock_weeks`` weeks only, NaN before (the stock panels and the penetrated
    days then span those weeks instead of the whole history). ``flows``, ``weights``,
    ``calendar``: the M1 flows of every ETF, :func:`xladdin.methods.holdings.penetration_weights` and the
    trading days up to ``asof`` (:func:`trading_calendar`) when the caller has them."""
    w = _weeks(market, asof, window_years, min_years, indices, stock_weeks, calendar)
    notes: list[str] = []
    ind: dict[str, pd.DataFrame] = {}
    idx: dict[str, pd.DataFrame] = {}
    _price_metrics(market, w, vol_window, ind, idx, notes)
    etf_week, cat_week = _etf_metrics(market, w, ind, idx, notes, flows, weights)
    stock = _stock_metrics(market, w, notes)
    _stock_aggregates(w, stock, ind, idx, notes)
    return {"industry": ind, "index": idx, "etf": etf_week, "category": cat_week,
            "stock_northbound": stock["northbound"], "stock_margin": stock["margin"], "week_ends": w.ends,
            "days_per_week": w.days_per_week, "asof": w.asof, "notes": notes, "names": w.names,
            "window_weeks": w.window, "min_weeks": w.minp}


def _weeks(market: Market, asof, window_years: float, min_years: float, indices: list[str] | None,
           stock_weeks: int | None, calendar: pd.DatetimeIndex | None) -> _Weeks:
    """The weeks (from the trading calendar), the industries and broad indices, and the stock window."""
    asof = _default_asof(market) if asof is None else pd.Timestamp(asof)
    cal = trading_calendar(market, asof) if calendar is None else calendar
    ends = week_ends(cal)
    first_week, cut = 0, None
    if stock_weeks is not None and len(ends) > stock_weeks + 1:
        first_week = len(ends) - stock_weeks
        cut = ends[first_week - 1]
    window = max(1, int(round(WEEKS_PER_YEAR * window_years)))
    si = market.stock_industry["industry"] if market.has("stock_industry") else None
    industries: list[str] = sorted(si.dropna().unique()) if si is not None else []
    if market.has("industry_daily"):
        industries = sorted(set(industries) | set(table_values(market, "industry_daily", "industry")))
    info = market.etf_info if market.has("etf_info") else None
    if indices is None:
        if info is not None and (info["category"] == "broad").any():
            indices = sorted(info.loc[info["category"] == "broad", "tracked_index"].dropna().unique())
        elif market.has("index_daily"):
            indices = sorted(table_values(market, "index_daily", "index"))
        else:
            indices = []
    return _Weeks(asof=asof, ends=ends,
                  days_per_week=pd.Series(1, index=cal).groupby(_week_labels(cal, ends)).sum().reindex(ends),
                  window=window, minp=min(window, max(1, int(round(WEEKS_PER_YEAR * min_years)))),
                  first_week=first_week, cut=cut,
                  industries=industries, indices=list(indices),
                  names=market.industry_names if market.has("stock_industry") else pd.Series(dtype=object),
                  si=si, info=info, members=_index_members(market, list(indices), ends))


def _price_metrics(market: Market, w: _Weeks, vol_window: int, ind: dict, idx: dict, notes: list[str]) -> None:
    """Weekly return and realised volatility of every industry and broad index."""
    def ret_vol(close: pd.DataFrame, cols) -> tuple[pd.DataFrame, pd.DataFrame]:
        close = close.loc[close.index <= w.asof]
        wl = weekly_last(close, w.ends)
        ret = wl / wl.shift(1) - 1
        vol = weekly_last(realised_volatility(close, vol_window), w.ends)
        return ret.reindex(columns=cols), vol.reindex(columns=cols)

    if market.has("industry_daily") and w.industries:
        ind["return"], ind["volatility"] = ret_vol(market.industry_close(), w.industries)
    else:
        ind["return"], ind["volatility"] = w.empty_industry(), w.empty_industry()
        notes.append("industry_daily missing: industry returns and volatility are NaN")
    if market.has("index_daily") and len(w.indices):
        idx["return"], idx["volatility"] = ret_vol(market.index_close(), w.indices)
        have = set(table_values(market, "index_daily", "index"))
        absent = [i for i in w.indices if i not in have]
        if absent:
            notes.append(f"no index_daily closes for {', '.join(absent)}: their return and volatility are NaN")
    else:
        idx["return"], idx["volatility"] = w.empty_index(), w.empty_index()
        notes.append("index_daily missing: index returns and volatility are NaN")


def _etf_metrics(market: Market, w: _Weeks, ind: dict, idx: dict, notes: list[str], flows, weights
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weekly ETF net subscriptions: per ETF, per category, per broad index (by category) and, through
    the M6 penetration, per industry (by category). Returns (per ETF, per category)."""
    etf_week = pd.DataFrame(index=w.ends, dtype=float)
    cat_week = pd.DataFrame(index=w.ends, dtype=float)
    for col in ETF_CATEGORY_COLUMNS.values():
        ind[col] = w.empty_industry()
        idx[col] = w.empty_index()
    if market.has("etf_daily") and w.info is not None:
        info = w.info
        flows = market_etf_flows(market, missing_nav="nan") if flows is None else flows
        daily = flows.loc[flows.index <= w.asof]
        etf_week = weekly_sum(daily, w.ends)
        cats = info["category"].reindex(etf_week.columns)
        cat_week = _group_columns(etf_week, cats)
        tracked = info["tracked_index"].reindex(etf_week.columns)
        for cat, col in ETF_CATEGORY_COLUMNS.items():
            sel = cats == cat
            idx[col] = _group_columns(etf_week.loc[:, sel.to_numpy()], tracked[sel]).reindex(
                index=w.ends, columns=w.indices) if sel.any() else w.empty_index().fillna(0.0)
        idx["etf_total"] = _group_columns(etf_week, tracked).reindex(columns=w.indices)
        in_week = daily.index[_week_labels(daily.index, w.ends) == w.ends[-1].to_datetime64()]
        shares = pivot(market, "etf_daily", "shares").reindex(index=in_week, columns=daily.columns)
        gap = (daily.loc[in_week].isna() & shares.notna()).any()
        if gap.any():
            notes.append("ETF flow missing (etf_daily.nav empty, no stand-in used) on some days of the week for "
                         + ", ".join(gap[gap].index[:10]) + ": their weekly sums cover the other days only")
        _industry_subscriptions(market, w, etf_week, ind, notes, flows, weights)
    else:
        idx["etf_total"] = w.empty_index()
        notes.append("etf_daily/etf_info missing: no ETF subscriptions")
    ind["etf_total"] = (ind["etf_broad"].add(ind["etf_sector_theme"], fill_value=0)
                        .add(ind["etf_strategy"], fill_value=0))
    ind["etf_total"] = ind["etf_total"].where(
        ind["etf_broad"].notna() | ind["etf_sector_theme"].notna() | ind["etf_strategy"].notna())
    return etf_week, cat_week


def _industry_subscriptions(market: Market, w: _Weeks, etf_week: pd.DataFrame, ind: dict, notes: list[str],
                            flows: pd.DataFrame, weights) -> None:
    """Weekly ETF net subscriptions per industry and category (M6 penetration of the daily M1 flows)."""
    if not (market.has("index_weights") and market.has("stock_industry")):
        notes.append("industry ETF subscriptions need index_weights and stock_industry (M6 penetration): "
                     "shown per broad index and category only")
        return
    info = w.info
    weighted = set(table_values(market, "index_weights", "index"))
    known = info.reindex(etf_week.columns[etf_week.columns.isin(info.index)])
    left_out = known[known["category"].isin(list(ETF_CATEGORY_COLUMNS)) & ~known["tracked_index"].isin(weighted)]
    unpen = sorted(left_out.index)
    if unpen:
        notes.append("industry ETF subscriptions leave out ETFs whose tracked index has no index_weights: "
                     + ", ".join(f"{e} ({left_out.at[e, 'tracked_index']})" for e in unpen[:10]))
    start = None if w.cut is None else w.cut + pd.Timedelta(days=1)  # the weeks after the cut: those computed
    for cat, col in ETF_CATEGORY_COLUMNS.items():
        if not (info["category"] == cat).any():
            ind[col] = w.empty_industry().fillna(0.0)
            notes.append(f"no {cat} ETF in etf_info: its subscriptions are 0")
            continue
        try:
            if weights is None:
                weights = penetration_weights(market)
            f = industry_flows(market, "W", categories=(cat,), start=start, end=w.asof, flows=flows, weights=weights)
        except ValueError as exc:  # e.g. no ETF of the category has weights for its index
            notes.append(f"industry ETF subscriptions ({cat}) not available: {exc}")
            continue
        lab = _week_labels(f.index, w.ends)
        ok = ~pd.isna(lab)
        ind[col] = f.loc[ok].groupby(pd.DatetimeIndex(lab[ok])).sum(min_count=1).reindex(index=w.ends,
                                                                                        columns=w.industries)


def _stock_metrics(market: Market, w: _Weeks, notes: list[str]) -> dict[str, pd.DataFrame | None]:
    """Weekly stock-level series over the stock window: turnover, margin net buying, financing buys,
    northbound net buying (None when their table is missing); weeks before the window are NaN."""
    out: dict[str, pd.DataFrame | None] = {"turnover": None, "northbound": None, "margin": None, "financing_buy": None}
    close = None
    sd_start = _stock_start(market, "stock_daily", w.cut)
    if market.has("stock_daily"):
        amount = pivot(market, "stock_daily", "amount", end=w.asof, share=False, start=sd_start)
        out["turnover"] = weekly_sum(amount, w.ends)
        del amount
        close = pivot(market, "stock_daily", "close", end=w.asof, share=False, start=sd_start)
        release(market, "stock_daily")  # no other table of the workbook reads stock_daily
    else:
        notes.append("stock_daily missing: turnover, trading heat, margin shares of turnover and northbound "
                     "net buying are NaN")
    if market.has("margin_daily"):
        md_start = _stock_start(market, "margin_daily", w.cut)
        bal = pivot(market, "margin_daily", "financing_balance", end=w.asof, share=False, start=md_start)
        wb = weekly_last(bal, w.ends)
        del bal
        out["margin"] = wb - wb.shift(1)
        out["financing_buy"] = weekly_sum(pivot(market, "margin_daily", "financing_buy", end=w.asof, share=False,
                                                start=md_start), w.ends)
        release(market, "margin_daily")
    else:
        notes.append("margin_daily missing: margin financing columns are NaN")
    if market.has("northbound_holdings") and close is not None:
        out["northbound"] = _northbound_weekly(market, w, close, sd_start, notes)
    elif not market.has("northbound_holdings"):
        notes.append("northbound_holdings missing: northbound net buying is NaN")
    if w.first_week:  # weeks before the computed span (partly covered by the panels): NaN
        for key, first in (("turnover", w.first_week), ("financing_buy", w.first_week), ("northbound", w.first_week),
                           ("margin", w.first_week + 1)):  # margin: Δ of the previous week's balance
            if out[key] is not None:
                out[key].iloc[:first] = np.nan
    return out


def _northbound_weekly(market: Market, w: _Weeks, close: pd.DataFrame, sd_start, notes: list[str]) -> pd.DataFrame | None:
    """Weekly northbound net buying per stock (weeks whose days are not all holdings days: NaN)."""
    nb = market.table("northbound_holdings")
    upto = (nb["date"] <= w.asof).to_numpy()  # rows used (no filtered copy of the table)

    def has(col: str) -> bool:
        return col in nb.columns and bool((upto & nb[col].notna().to_numpy()).any())
    # from the first day of the close panel: the net buying of its next day needs that day's holdings
    if has("shares_held"):
        held = pivot(market, "northbound_holdings", "shares_held", end=w.asof, share=False, start=sd_start)
    elif has("held_value"):
        hv = pivot(market, "northbound_holdings", "held_value", end=w.asof, share=False, start=sd_start)
        held = hv / close.reindex(index=hv.index, columns=hv.columns)
        notes.append("northbound shares derived as held_value / close (shares_held missing)")
    else:
        held = None
        notes.append("northbound_holdings has neither shares_held nor held_value: northbound net buying is NaN")
    release(market, "northbound_holdings")
    if held is None:
        return None
    daily_nb = northbound_daily_net_buying(held, close)
    valid_day = daily_nb.notna().any(axis=1).astype(float).to_frame("v")
    stock_nb = weekly_sum(daily_nb, w.ends)
    del daily_nb
    complete = weekly_sum(valid_day, w.ends)["v"].eq(w.days_per_week)
    nbv = stock_nb.to_numpy(dtype=float, copy=True)
    nbv[~complete.to_numpy()] = np.nan
    if len(w.ends) and not complete.iloc[-1]:
        days = nb["date"].to_numpy()  # the latest date up to asof, without copying the rows (in the column's unit)
        last = np.max(days.view(np.int64), where=upto, initial=np.iinfo(np.int64).min)
        last_h = pd.Timestamp(np.int64(last).view(days.dtype)) if upto.any() else None
        notes.append("northbound net buying not available for the week of "
                     f"{w.ends[-1].date()}: per-stock holdings are not daily there "
                     f"(last holdings date {last_h.date() if last_h is not None else 'none'}; "
                     "published daily only until 2024-08-16, quarterly after)")
    return pd.DataFrame(nbv, index=stock_nb.index, columns=stock_nb.columns, copy=False)


def _stock_aggregates(w: _Weeks, stock: dict, ind: dict, idx: dict, notes: list[str]) -> None:
    """The stock-level series summed per industry and per broad index (constituents), their shares of
    turnover, and the heat and volatility percentiles."""
    def per_industry(frame):
        if frame is None or w.si is None:
            return w.empty_industry()
        return _group_columns(frame, w.si).reindex(index=w.ends, columns=w.industries)

    def per_index(frame):
        out = w.empty_index()
        if frame is None:
            return out
        return _member_sums(frame.reindex(w.ends), w.members, out)

    turn_, margin_, nb_ = stock["turnover"], stock["margin"], stock["northbound"]
    if w.si is None and (turn_ is not None or margin_ is not None):
        notes.append("stock_industry missing: stock-level flows cannot be summed per industry")
    missing_members = [i for i in w.indices if i not in w.members]
    if missing_members and (turn_ is not None or margin_ is not None or nb_ is not None):
        notes.append(f"no index_weights for {', '.join(missing_members)}: their stock-based columns are NaN")
    for tgt, agg in ((ind, per_industry), (idx, per_index)):
        tgt["turnover"] = agg(turn_)
        tgt["northbound_net_buy"] = agg(nb_)
        tgt["margin_net_buy"] = agg(margin_)
        fbuy = agg(stock["financing_buy"])
        turn = tgt["turnover"].where(tgt["turnover"] > 0)
        tgt["avg_turnover"] = tgt["turnover"].div(w.days_per_week, axis=0)
        tgt["margin_net_buy_share"] = tgt["margin_net_buy"] / turn
        tgt["financing_buy_share"] = fbuy / turn
        tgt["heat_pct"] = trailing_percentile(tgt["avg_turnover"], w.window, w.minp)
        tgt["vol_pct"] = trailing_percentile(tgt["volatility"], w.window, w.minp)


# ----------------------------------------------------------------------------------------- tables
INDUSTRY_COLUMNS = ["name", "return", "etf_broad", "etf_sector_theme", "etf_strategy", "etf_total",
                    "northbound_net_buy", "margin_net_buy", "margin_net_buy_share", "financing_buy_share",
                    "turnover", "heat_pct", "heat_flag", "volatility", "vol_pct", "vol_flag"]
CHANGE_COLUMNS = ["return", "etf_total", "northbound_net_buy", "margin_net_buy", "margin_net_buy_share",
                  "financing_buy_share", "turnover", "heat_pct", "volatility", "vol_pct"]


def _snapshot(metrics: dict[str, pd.DataFrame], week: pd.Timestamp, names: pd.Series,
              heat_flag: float, vol_flag: float) -> pd.DataFrame:
    cols = metrics["return"].columns
    out = pd.DataFrame(index=pd.Index(cols, name="code"))
    out["name"] = names.reindex(cols).astype(object).to_numpy() if len(names) else ""
    for c in INDUSTRY_COLUMNS:
        if c in ("name", "heat_flag", "vol_flag"):
            continue
        out[c] = metrics[c].loc[week].to_numpy(dtype=float) if week in metrics[c].index else np.nan
    out["heat_flag"] = (out["heat_pct"] > heat_flag).to_numpy()
    out["vol_flag"] = (out["vol_pct"] > vol_flag).to_numpy()
    return out[INDUSTRY_COLUMNS]


def _top(series_by_source: list[tuple[str, str, pd.Series, pd.Series, pd.Series]], n: int, sells: bool) -> pd.DataFrame:
    rows = []
    for source, level, s, names, groups in series_by_source:
        s = s.dropna()
        s = s[s < 0] if sells else s[s > 0]
        s = s.sort_values(ascending=sells, kind="stable").iloc[:n]
        for r, (code, v) in enumerate(s.items(), start=1):
            rows.append({"source": source, "level": level, "rank": r, "code": code,
                         "name": names.get(code, "") if len(names) else "",
                         "group": groups.get(code, "") if len(groups) else "", "net_buy": float(v)})
    return pd.DataFrame(rows, columns=["source", "level", "rank", "code", "name", "group", "net_buy"])


def weekly_dashboard(market: Market, asof=None, heat_years: float = DEFAULT_HEAT_YEARS,
                     min_years: float = DEFAULT_MIN_YEARS, vol_window: int = DEFAULT_VOL_WINDOW,
                     heat_flag: float = DEFAULT_HEAT_FLAG, vol_flag: float = DEFAULT_VOL_FLAG,
                     top_rows: int = DEFAULT_TOP_ROWS, unit: float = 1.0, indices: list[str] | None = None, *,
                     flows: pd.DataFrame | None = None, weights=None,
                     calendar: pd.DatetimeIndex | None = None) -> dict[str, pd.DataFrame]:
    """The weekly fund-flow dashboard of the week containing ``asof`` (spec M13, output table 8).

    Parameters
    ----------
    market : Market
        See :func:`weekly_metrics`; absent tables leave their columns NaN (``notes`` says which).
    asof : date-like, optional
        The dashboard week is the calendar week (Mon-Sun) containing ``asof``, cut at ``asof``
        (a partial week if ``asof`` is mid-week). Default: the latest date all daily tables cover.
    heat_years : float
        Trailing history for the heat and volatility percentiles (default 3 years = 156 weeks).
    min_years : float
        Minimum history before a percentile is shown (default 1 year = 52 weeks).
    vol_window : int
        Realised-volatility window in trading days (default 20).
    heat_flag, vol_flag : float
        Flag thresholds: heat percentile > 0.9, volatility percentile > 0.8 (the digests' levels).
    top_rows : int
        Rows per source in the largest net buys / sells.
    unit : float
        Divide yuan amounts by this (1e8 for 亿元); shares and percentiles are unchanged.
    indices : list of str, optional
        Broad indices (default: those tracked by broad ETFs).
    flows, weights, calendar : optional
        What the caller computed already (a weekly run computes each once): the M1 flows of every
        ETF (:func:`xladdin.methods.flows.market_etf_flows`, ``missing_nav="nan"``), the M6 penetration
        weights (:func:`xladdin.methods.holdings.penetration_weights`) and the trading days up to ``asof``
        (:func:`trading_calendar`). Computed here when not given.

    Returns
    -------
    dict of DataFrame
        ``industry``: index = industry code; columns name, return (week), etf_broad,
        etf_sector_theme, etf_strategy, etf_total (ETF net subscriptions, M6 penetration),
        northbound_net_buy, margin_net_buy (Δ financing balance), margin_net_buy_share
        (÷ turnover), financing_buy_share (Σ financing_buy ÷ turnover), turnover, heat_pct,
        heat_flag, volatility (20-day, annualised), vol_pct, vol_flag.
        ``industry_change``: the numeric columns this week minus the previous week.
        ``broad_index`` / ``broad_index_change``: the same per broad index (ETF subscriptions of the
        ETFs tracking it; stock-based columns summed over its constituents at the latest weights).
        ``etf_category``: ETF net subscriptions per category: this_week, previous_week, change.
        ``top_buys`` / ``top_sells``: source (etf, northbound, margin, etf_industry,
        northbound_industry, margin_industry), level, rank, code, name, group, net_buy.
        ``flags``: industries / indices above the heat or volatility threshold.
        ``summary``: one row per item (week, previous week, days in week, percentile window ...).
        ``notes``: one row per data limitation met.

    Notes
    -----
    Percentiles: :func:`trailing_percentile` of the weekly series (average daily turnover for heat,
    the 20-day volatility on the week's last day for volatility) over ``round(52 × heat_years)``
    weeks including the current one.
    """
    if unit <= 0:
        raise ValueError(f"`unit` must be > 0, got {unit}")
    eff = dashboard_end(market, asof)
    if asof is not None and not eff.covers(asof):
        raise DataError(f"the dashboard of {pd.Timestamp(asof):%Y-%m-%d} is not computed: {eff.text()} (its week "
                        "needs every daily table; pick an earlier --asof or load newer data)")
    asof = eff.end if asof is None else pd.Timestamp(asof)
    market, stale_notes = current_snapshots(market, asof)
    window = max(1, int(round(WEEKS_PER_YEAR * heat_years)))
    with scope(market):  # stock-level series only for the weeks the two snapshots read (percentile window + 2)
        m = _weekly_metrics(market, asof, heat_years, min_years, vol_window, indices, stock_weeks=window + 2,
                            flows=flows, weights=weights, calendar=calendar)
    ends = m["week_ends"]
    week, prev = ends[-1], (ends[-2] if len(ends) > 1 else None)
    tables = _snapshot_tables(market, m, week, prev, heat_flag, vol_flag)
    tables["etf_category"] = _category_table(m["category"], week, prev)
    tables["top_buys"], tables["top_sells"] = _top_tables(market, m, tables["industry"], week, top_rows)
    tables["flags"] = _flags_table(tables, heat_flag, vol_flag)
    for key in ("industry", "industry_change", "broad_index", "broad_index_change", "etf_category",
                "top_buys", "top_sells"):
        t = tables[key]
        for c in t.columns:
            if c in AMOUNT_COLUMNS:
                t[c] = t[c] / unit
    tables["summary"] = _summary_table(market, m, week, prev, vol_window, heat_flag, vol_flag, unit)
    tables["notes"] = pd.DataFrame({"note": stale_notes + m["notes"]})
    tables["summary"].loc["effective_end_limit"] = eff.limit.text() if eff.limit is not None else ""
    return tables


def _snapshot_tables(market: Market, m: dict, week, prev, heat_flag: float, vol_flag: float) -> dict[str, pd.DataFrame]:
    """This week's values per industry and per broad index, and their change from the week before."""
    idx_names = pd.Series({i: INDEX_NAMES.get(i, i) for i in m["index"]["return"].columns}, dtype=object)
    tables: dict[str, pd.DataFrame] = {}
    for key, metrics, nm in (("industry", m["industry"], m["names"]), ("broad_index", m["index"], idx_names)):
        now = _snapshot(metrics, week, nm, heat_flag, vol_flag)
        before = _snapshot(metrics, prev, nm, heat_flag, vol_flag) if prev is not None else now * np.nan
        chg = now[CHANGE_COLUMNS] - before[CHANGE_COLUMNS].astype(float)
        chg.insert(0, "name", now["name"])
        chg["heat_flag_new"] = now["heat_flag"] & ~before["heat_flag"].astype(bool)
        chg["vol_flag_new"] = now["vol_flag"] & ~before["vol_flag"].astype(bool)
        tables[key] = now
        tables[key + "_change"] = chg
    if "etf_total" in tables["broad_index"]:
        n_etf = pd.Series(0, index=tables["broad_index"].index)
        if market.has("etf_info"):
            counts = market.etf_info["tracked_index"].value_counts()
            n_etf = counts.reindex(tables["broad_index"].index).fillna(0).astype(int)
        tables["broad_index"].insert(1, "n_etfs", n_etf.to_numpy())
    return tables


def _category_table(cat: pd.DataFrame, week, prev) -> pd.DataFrame:
    """ETF net subscriptions per category: this week, the week before, the change (and their total)."""
    cat_tab = pd.DataFrame({
        "this_week": cat.loc[week] if week in cat.index and cat.shape[1] else pd.Series(dtype=float),
        "previous_week": cat.loc[prev] if prev is not None and prev in cat.index and cat.shape[1] else np.nan,
    })
    if len(cat_tab):
        cat_tab.loc["total"] = [cat_tab["this_week"].sum(min_count=1), cat_tab["previous_week"].sum(min_count=1)]
    cat_tab["change"] = cat_tab["this_week"] - cat_tab["previous_week"]
    cat_tab.index.name = "category"
    return cat_tab


def _top_tables(market: Market, m: dict, industry: pd.DataFrame, week, top_n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The largest net buys and sells of the week per source (ETFs, stocks, industries)."""
    info = market.etf_info if market.has("etf_info") else None
    stock_ind = market.stock_industry["industry_name"] if market.has("stock_industry") else pd.Series(dtype=object)
    sources = []
    if m["etf"].shape[1] and week in m["etf"].index:
        sources.append(("etf", "etf", m["etf"].loc[week],
                        info["name"] if info is not None else pd.Series(dtype=object),
                        info["category"] if info is not None else pd.Series(dtype=object)))
    for src, frame in (("northbound", m["stock_northbound"]), ("margin", m["stock_margin"])):
        if frame is not None and week in frame.index:
            sources.append((src, "stock", frame.loc[week], pd.Series(dtype=object), stock_ind))
    for src, col in (("etf_industry", "etf_total"), ("northbound_industry", "northbound_net_buy"),
                     ("margin_industry", "margin_net_buy")):
        sources.append((src, "industry", industry[col], m["names"], pd.Series(dtype=object)))
    return _top(sources, top_n, sells=False), _top(sources, top_n, sells=True)


def _flags_table(tables: dict[str, pd.DataFrame], heat_flag: float, vol_flag: float) -> pd.DataFrame:
    """Industries and indices above the heat or volatility threshold this week."""
    flags = []
    for level, key in (("industry", "industry"), ("index", "broad_index")):
        for code, row in tables[key].iterrows():
            if row["heat_flag"]:
                flags.append({"level": level, "code": code, "name": row["name"], "flag": "heat",
                              "percentile": row["heat_pct"], "threshold": heat_flag})
            if row["vol_flag"]:
                flags.append({"level": level, "code": code, "name": row["name"], "flag": "volatility",
                              "percentile": row["vol_pct"], "threshold": vol_flag})
    return pd.DataFrame(flags, columns=["level", "code", "name", "flag", "percentile", "threshold"])


def _summary_table(market: Market, m: dict, week, prev, vol_window: int, heat_flag: float, vol_flag: float,
                   unit: float) -> pd.DataFrame:
    """One row per setting of the dashboard (weeks, percentile window, thresholds, unit, source)."""
    days = int(m["days_per_week"].loc[week])
    return pd.DataFrame({"value": [
        week.date().isoformat(), prev.date().isoformat() if prev is not None else "",
        m["asof"].date().isoformat(), days, m["window_weeks"], m["min_weeks"], vol_window, heat_flag, vol_flag,
        "yuan" if unit == 1 else ("亿元" if unit == YI else f"yuan / {unit:g}"), market.source]},
        index=pd.Index(["week_end", "previous_week_end", "asof", "trading_days_in_week", "percentile_window_weeks",
                        "percentile_min_weeks", "vol_window_days", "heat_flag_above", "vol_flag_above", "amount_unit",
                        "source"], name="item"))
