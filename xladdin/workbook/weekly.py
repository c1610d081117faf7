"""The week's tables for the tracking workbook: orchestrates the method modules (no method here).

:func:`compute_weekly` runs, for one as-of date, every output table of the spec ("Output tables the
reports show") by calling the public functions of :mod:`xladdin.methods.holdings` (M1, M6),
:mod:`xladdin.methods.grouping` (M7), :mod:`xladdin.methods.style` (M4, M5), :mod:`xladdin.methods.strategy`
(M8, M10), :mod:`xladdin.methods.stats` (M12), :mod:`xladdin.methods.correlation` (M2, M3),
:mod:`xladdin.methods.northbound` (M11) and :mod:`xladdin.methods.dashboard` (M13), and shapes each result
into the columns of ``workbooks/layout.toml``. It also builds the cover (headline signals in plain words, data
freshness per canonical table) and the week's :class:`~xladdin.workbook.summary.WeeklySummary` for the mail.

Amounts are shown in 亿元 (1e8 yuan). Data after the as-of date is never used: the market is cut
to ``asof`` first.

The run builds one :class:`~xladdin.workbook.context.WeeklyContext` and passes it to every step (:data:`STEPS`):
the intermediates several tables read (the M1 ETF flows, the M6 penetration weights, the M5 style
tables, the calendar and week bounds) are computed once there. Every text that depends on the
sheet's language comes from :mod:`xladdin.workbook.messages`.
"""
from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xladdin.conventions import YI
from xladdin.data.ends import EffectiveEnd, current_until, market_effective_end, rhythm
from xladdin.data.market import Market, MissingTableError
from xladdin.data.schema import STOCK_ETF_CATEGORIES, TABLES
from xladdin.data.views import scope, shared, table_dates, table_values
from xladdin.errors import DataError, Note, ReportedError, note_of
from xladdin.methods import correlation, crowding, dashboard, grouping, holdings, northbound, strategy, style
from xladdin.methods.flows import market_missing_nav
from xladdin.methods.ranking import tie_values
from xladdin.methods.stats import FULL_PERIOD, period_label

from .context import WeeklyContext, week_bounds
from .lanes import Outcome, lane_kind, start_lane
from .layout import load_layout
from .messages import amount, both, note_text, say
from .params import Params, default_params, params_to_frame
from .summary import WeeklySummary


class StaleInputs(DataError):
    """A table of the as-of week whose inputs stop being current before the as-of date: not computed
    (spec, "Stale inputs"); the message names the input."""


class WeeklyError(ReportedError, RuntimeError):
    """A table of the weekly workbook failed; ``table`` names it, the message says why."""

    def __init__(self, table: str, message: str):
        self.table = table
        self.message = message
        super().__init__(f"computing table `{table}`: {message}")

    def __reduce__(self):  # pickled with its table and message (from the second compute process)
        return (type(self), (self.table, self.message))


@dataclass
class WeeklyResult:
    """Everything the workbook writers need for one week."""

    asof: pd.Timestamp
    tables: dict[str, pd.DataFrame | None]
    subtitles: dict[str, dict[str, str]]  # subtitle key -> {"zh": ..., "en": ...}
    notes: dict[str, str] = field(default_factory=dict)  # table key -> why it was not computed
    summary: Any = None  # xladdin.workbook.summary.WeeklySummary
    facts: dict[str, Any] = field(default_factory=dict)
    #: wall time of each computation step (:data:`STEPS`), seconds; steps run in two threads overlap
    step_seconds: dict[str, float] = field(default_factory=dict)
    #: computed from the embedded sample (``Market.sample``): every sheet, the mail and the commands say so
    sample: bool = False
    #: canonical table -> its status when missing or behind (in the tables' language): why columns are blank
    inputs: dict[str, str] = field(default_factory=dict)

    def subtitles_for(self, language: str) -> dict[str, str]:
        return {k: v.get(language, v.get("zh", "")) for k, v in self.subtitles.items()}


# ------------------------------------------------------------------------------------- helpers
def resolve_asof(market: Market, asof=None) -> pd.Timestamp:
    """The as-of date: ``asof`` (must lie within the ETF dates) or the last date of etf_daily that no
    check flags.

    Never a flagged row's date: a date the loader flagged (a weekday the exchange was closed,
    ``Market.flagged``), a Saturday or Sunday, or a date after today (possible in a market built in
    memory) is skipped for the next earlier date. etf_daily must have its ``nav`` column (ETF flows, M1).
    """
    try:
        market.require("etf_daily", "shares", "nav", purpose="ETF flows (M1), which the weekly workbook is built on")
    except MissingTableError as exc:
        raise DataError(str(exc)) from None
    last = market.last_date("etf_daily")
    first = market.first_date("etf_daily")
    if asof is not None:
        ts = pd.Timestamp(asof).normalize()
        if ts < first:
            raise DataError(f"as-of date {ts:%Y-%m-%d} is before the first ETF date {first:%Y-%m-%d}")
        if ts > last:
            raise DataError(f"as-of date {ts:%Y-%m-%d} is after the last ETF date {last:%Y-%m-%d}; "
                            "load newer data or pick an earlier date")
        return ts
    dates = market.table("etf_daily")["date"]
    flagged = market.flagged.get("etf_daily", pd.DatetimeIndex([]))
    today = pd.Timestamp.today().normalize()
    candidate, skipped = last, []
    while candidate is not None and (candidate in flagged or candidate.day_of_week >= 5 or candidate > today):
        skipped.append(candidate)
        earlier = dates[dates < candidate]
        candidate = pd.Timestamp(earlier.max()) if len(earlier) else None
    if candidate is None:
        raise DataError(f"etf_daily ({market.file_of('etf_daily')}) has no date that can be the as-of date: "
                        f"{', '.join(f'{d:%Y-%m-%d}' for d in skipped[:5])} are flagged (not trading days or after today)")
    return candidate


def stock_rows_since(asof, params: Params) -> dict[str, pd.Timestamp]:
    """Table -> the first date of its rows the weekly tables read for ``asof``: the dashboard's window
    (:func:`xladdin.methods.dashboard.stock_rows_since`: stock_daily and margin_daily) and, for stock_daily,
    the crowding sheet's when it reaches further back (:func:`xladdin.methods.crowding.stock_rows_since`,
    the dispersion of the last ``crowding_weeks`` weeks). A market holding only these rows gives the same
    tables as the full one (tests/test_weekly_window.py); the weekly job reads them so."""
    start = dashboard.stock_rows_since(asof, heat_years=params.heat_years)
    out = {t: start for t in dashboard.STOCK_WINDOW_TABLES}
    out["stock_daily"] = min(start, crowding.stock_rows_since(asof, crowding_weeks=params.crowding_weeks,
                                                              crowding_history=params.crowding_history))
    return out


def _names(market: Market) -> pd.Series:
    return market.industry_names


# ------------------------------------------------------------------------------------- effective ends
def _end_of(market: Market, needs: Mapping, cap) -> EffectiveEnd | None:
    """:func:`xladdin.data.ends.market_effective_end` of ``needs``; None when one of its tables (or codes) is
    missing: that step cannot run and says so itself, so it dates nothing."""
    if not all(market.has(t) for t in needs):
        return None
    eff = market_effective_end(market, needs, cap)
    named = {i.table for i in eff.inputs}
    if any(codes and t not in named for t, codes in needs.items()):
        return None
    return eff


def _rotation_end(market: Market, p: Params, cap) -> EffectiveEnd | None:
    return _end_of(market, strategy.ROTATION_NEEDS, cap)


def _style_end(market: Market, p: Params, cap) -> EffectiveEnd | None:
    """The later of the style pairs' ends: the sheet runs as far as one pair does (each pair to its own)."""
    ends = [e for e in (_end_of(market, {"index_daily": list(style.STYLE_PAIRS[pair][:2])}, cap)
                        for pair in style.STYLE_PAIRS) if e is not None]
    return max(ends, key=lambda e: e.end) if ends else None


def _correlation_end(market: Market, p: Params, cap) -> EffectiveEnd | None:
    return _end_of(market, correlation.correlation_needs(p.corr_index), cap)


def _etf_rotation_end(market: Market, p: Params, cap) -> EffectiveEnd | None:
    return _end_of(market, northbound.NORTHBOUND_NEEDS, cap)


def _dashboard_end(market: Market, p: Params, cap) -> EffectiveEnd | None:
    try:
        return dashboard.dashboard_end(market, cap)
    except ValueError:  # no daily table at all: the dashboard says so itself
        return None


def _crowding_end(market: Market, p: Params, cap) -> EffectiveEnd | None:
    return _end_of(market, crowding.CROWDING_NEEDS, cap)


def report_asof(market: Market, params: Params, cap: pd.Timestamp) -> pd.Timestamp:
    """The as-of date of the report: the latest effective end of its weekly tables (spec, "Stale inputs"), at
    most ``cap`` (:func:`resolve_asof`), on an ETF trading day no check flags; ``cap`` when no step can run.

    Each step's end is the last date all its input tables are current (:data:`STEPS`' ``current``); the report
    is dated by the step that runs furthest, and every table whose inputs stop earlier is limited there
    (a history) or not computed (a table of the as-of week), naming the input."""
    with scope(market):  # each table's last date and the codes' rows read once for all the steps
        ends = [s.current(market, params, cap) for s in STEPS if s.current is not None]
    dated = [e.end for e in ends if e is not None and e.end is not None]
    if not dated:
        return cap
    days = table_dates(market, "etf_daily")
    flagged = market.flagged.get("etf_daily", pd.DatetimeIndex([]))
    days = days[(days <= min(max(dated), cap)) & ~days.isin(flagged)]
    return pd.Timestamp(days[-1]) if len(days) else cap


def _past_end(ctx: WeeklyContext, step: str) -> EffectiveEnd | None:
    """The step's effective end when its inputs stop before the as-of date (else None)."""
    eff = ctx.ends.get(step)
    return eff if eff is not None and eff.limit is not None and eff.end < ctx.asof else None


def _stale_note(eff: EffectiveEnd) -> Note:
    """Why a table of the as-of week is not computed: the input that stops before the as-of date. In English (the
    command line's); its key gives the workbook the Chinese (:data:`~xladdin.workbook.messages.NOTE_TEXTS`)."""
    lim = eff.limit
    return Note("weekly.stale", f"{lim.text()} (current to {lim.until:%Y-%m-%d}): not computed on stale inputs",
                table=lim.name, last=lim.last, until=lim.until)


def _require_current(ctx: WeeklyContext, step: str) -> None:
    """Raise :class:`StaleInputs` (the step's tables are then not computed) when the tables of ``step``, each of
    the as-of week, would be computed on inputs past their currency."""
    eff = _past_end(ctx, step)
    if eff is not None:
        raise StaleInputs(_stale_note(eff))


def _stale_table(ctx: WeeklyContext, step: str, key: str) -> bool:
    """True (and the reason kept for ``key``) when table ``key`` of ``step``, a table of the as-of week, is past
    its inputs; the step's other tables (histories) run to the effective end."""
    eff = _past_end(ctx, step)
    if eff is None:
        return False
    ctx.stale[key] = _stale_note(eff)
    return True


# ------------------------------------------------------------------------------------- tables
def _stock_flow(ctx: WeeklyContext) -> tuple:
    """M1: the stock ETFs' flows of the as-of week (the week of the ETF rows) per tracked index, and the stock ETFs
    the totals leave out. Reads etf_info and etf_daily only: the cover's headline figure stands when the industry
    flows are not computed (e.g. index_weights past their currency)."""
    wk = week_bounds(ctx.etf_flows.index, ctx.asof)
    ctx.results.etf_week = (wk.start, wk.end)
    try:
        ctx.results.index_flows = holdings.index_flows(ctx.market, wk.start, wk.end, flows=ctx.etf_flows)
    except ValueError as exc:  # etf_info without the columns or without a stock ETF: said on the cover
        raise DataError(str(exc)) from exc
    ctx.results.flows_left_out = _flows_left_out(ctx, wk.start, wk.end)
    return ()


def _industry_flow(ctx: WeeklyContext) -> pd.DataFrame:
    market, wk = ctx.market, ctx.week
    ctx.results.week = (wk.start, wk.end)  # the cover's week, also when a table below fails
    _require_current(ctx, "industry_flow")
    flows, weights = ctx.etf_flows, ctx.penetration
    cur = holdings.flow_table(market, wk.start, wk.end, flows=flows, weights=weights)
    out = pd.DataFrame({"industry": cur.index.astype(str), "industry_name": cur["name"].to_numpy(),
                        "net_flow": cur["net_flow_yi"].to_numpy(), "industry_return": cur["industry_return"].to_numpy()})
    lv = ctx.results.level_w.loc[:wk.end]
    out["holding_share"] = lv.iloc[-1].reindex(out["industry"]).to_numpy() if len(lv) else np.nan
    out["holding_change"] = (lv.iloc[-1] - lv.iloc[-2]).reindex(out["industry"]).to_numpy() if len(lv) > 1 else np.nan
    div = ctx.results.divergence
    out["divergence"] = div.loc[:wk.end].iloc[-1].reindex(out["industry"]).to_numpy() \
        if div is not None and len(div.loc[:wk.end]) else np.nan
    if wk.prev_start is not None:
        prev = holdings.flow_table(market, wk.prev_start, wk.prev_end, flows=flows, weights=weights)
        out["prev_net_flow"] = prev["net_flow_yi"].reindex(out["industry"]).to_numpy()
        # return of each industry over this week, i.e. after last week's flow (seed 003's "two cases")
        out["next_return"] = out["industry_return"]
    else:
        out["prev_net_flow"] = np.nan
        out["next_return"] = np.nan
    # the chart's two series: inflows drawn red, outflows green (A-share desks read red as in / up)
    out["flow_in"] = out["net_flow"].where(out["net_flow"] > 0)
    out["flow_out"] = out["net_flow"].where(out["net_flow"] < 0)
    ctx.results.industry_flow = out
    return out


def _flows_left_out(ctx: WeeklyContext, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The stock ETFs whose flows of the week ``start``..``end`` the totals leave out, index = ETF: ``reason`` "nav"
    (days with a missing NAV, M1 leaves them out; ``amount`` their share changes at the last known NAV, yuan) or
    "index" (no tracked index, so no index or industry gets their flow; ``amount`` their flow of the week)."""
    market = ctx.market
    info = market.etf_info
    present = set(table_values(market, "etf_daily", "etf"))
    stock = info[info["category"].isin(STOCK_ETF_CATEGORIES) & info.index.isin(list(present))]
    blank = stock["tracked_index"].isna() | (stock["tracked_index"].astype(str).str.strip() == "")
    rows = []
    nav = market_missing_nav(market, start, end, etfs=sorted(stock.index[~blank]), flows=ctx.etf_flows)
    rows += [(etf, "nav", int(r.days), r.estimate) for etf, r in nav.iterrows()]
    week = ctx.etf_flows.loc[start:end]
    rows += [(etf, "index", None, float(week[etf].sum(min_count=1)) if etf in week.columns else np.nan)
             for etf in sorted(stock.index[blank])]
    return pd.DataFrame(rows, columns=["etf", "reason", "days", "amount"]).set_index("etf")


def _quintiles(ctx: WeeklyContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    p = ctx.params
    level_m = ctx.results.level_m
    change_m = holdings.holding_change(level_m)
    names = _names(ctx.market)

    def shape(values: pd.DataFrame) -> pd.DataFrame:
        v = values.loc[:ctx.asof].tail(p.quintile_months)
        g = grouping.group_table(v, groups=p.groups, names=None)
        # group_table labels columns by date text; keep Timestamps so the layout formats the header
        g.columns = list(v.index)
        g = g.reindex(names.index)
        g.insert(0, "industry_name", names.reindex(g.index).to_numpy())
        g.insert(0, "industry", g.index.astype(str))
        return g.reset_index(drop=True)

    return shape(level_m), shape(change_m.dropna(how="all"))


def _style(ctx: WeeklyContext) -> pd.DataFrame:
    """Every style pair that has data (a pair without closes is noted, never hides the other)."""
    frames, missing = [], []
    for pair, tab in ctx.style.items():
        if isinstance(tab, (MissingTableError, ValueError)):
            missing.append(f"{pair}: {str(tab).splitlines()[0][:160]}")
        elif isinstance(tab, Exception):
            raise tab
        else:
            frames.append(tab.loc[:ctx.asof])
    if not frames:
        raise MissingTableError(Note("style.no_pair", "no style pair has closes in index_daily (" + "; ".join(missing)
                                     + ")", pairs=", ".join(m.split(":")[0] for m in missing)))
    tab = pd.concat(frames, axis=1, join="outer", sort=True)
    ctx.results.style_table = tab
    ctx.results.style_missing = missing
    ctx.results.style_ends = {pair: tab[f"{pair}_ratio"].dropna().index.max() for pair in style.STYLE_PAIRS
                                 if f"{pair}_ratio" in tab.columns}
    t = tab.tail(ctx.params.style_weeks)
    out = pd.DataFrame({"date": t.index})
    for pair in ("size", "growth"):
        for f_out, f_in in (("ratio", "ratio"), ("filtered", "filtered"), ("signal", "regime"), ("realised", "realised")):
            col = f"{pair}_{f_in}"
            out[f"{pair}_{f_out}"] = t[col].to_numpy() if col in t.columns else np.nan
    return out


def _strategy(ctx: WeeklyContext) -> tuple:
    """M6-M10 through :func:`xladdin.methods.strategy.flow_rotation`; leaves levels, divergence and the rotation."""
    p = ctx.params
    out = strategy.flow_rotation(ctx.market, start=p.backtest_start, end=ctx.asof, top_n=p.top_n,
                                 rebalance_weeks=p.rebalance_weeks, cost=p.cost, groups=p.groups,
                                 hp_lambda=p.hp_lambda, trailing_window=p.trailing_window, lag=p.lag,
                                 backtests=False,  # the workbook shows M10 only: no stand-alone M7/M8/M9
                                 weights=ctx.penetration, style_tables=ctx.style)
    div = out.get("divergence")
    ctx.results.rotation = out["rotation"]
    ctx.results.level_w = out["weekly_level"]
    ctx.results.level_m = out["monthly_level"]
    ctx.results.divergence = div["divergence"] if div else None
    ctx.results.strategy_notes = list(out.get("notes", []))
    return ()


#: strategy_holdings flag columns: rotation holdings column -> sheet column
FLAG_COLUMNS = {"flow_inflow": "flow_in", "style_advantage": "style_adv", "divergence_favoured": "overweight"}


def _holdings_tables(ctx: WeeklyContext) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """The latest picks (the as-of week's: not computed past the rotation's inputs) and the holdings history."""
    hist = _holding_history(ctx.results.rotation.holdings, ctx.params.holding_periods)
    latest = None if _stale_table(ctx, "holdings", "latest_picks") else _latest_picks(ctx, hist)
    return latest, hist


def _holding_history(h: pd.DataFrame, periods_kept: int) -> pd.DataFrame:
    """The last ``periods_kept`` rebalances' holdings, flags as numbers (NA -> blank cell), newest first."""
    periods = list(pd.unique(h["rebalance_date"]))[-periods_kept:]
    hist = h[h["rebalance_date"].isin(periods)].copy()
    if "flow_inflow" in hist.columns:
        for c in FLAG_COLUMNS:
            if c in hist.columns:
                hist[c] = hist[c].astype("Float64").astype(float)
    hist = hist.rename(columns={"rebalance_date": "signal_date", "trade_date": "period_start", "name": "industry_name",
                                **FLAG_COLUMNS})
    for c in FLAG_COLUMNS.values():
        if c not in hist.columns:
            hist[c] = np.nan
    return hist.sort_values(["period_start", "excess_return"], ascending=[False, False], kind="stable")


def _latest_picks(ctx: WeeklyContext, hist: pd.DataFrame) -> pd.DataFrame:
    """The last rebalance's scores, top N (ties ordered by code, as the picks), with their flags."""
    scores = ctx.results.rotation.scores
    last = scores.index[-1]
    top = scores.loc[last].dropna()
    tied, _ = tie_values(top)  # scores within the tie tolerance ordered by code, as the picks
    top = top.iloc[np.lexsort((top.index.astype(str), -tied.to_numpy()))].head(ctx.params.top_n)
    names = _names(ctx.market)
    flags_last = hist[hist["signal_date"] == pd.Timestamp(last)].set_index("industry") if len(hist) else None
    latest = pd.DataFrame({"rank": np.arange(1, len(top) + 1), "industry": top.index.astype(str),
                           "industry_name": names.reindex(top.index).to_numpy(), "score": top.to_numpy()})
    for c in FLAG_COLUMNS.values():
        latest[c] = flags_last[c].reindex(latest["industry"]).to_numpy() if flags_last is not None and c in flags_last \
            else np.nan
    ctx.results.latest_picks = latest
    ctx.results.latest_rebalance = pd.Timestamp(last)
    return latest


def _performance(ctx: WeeklyContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    res = ctx.results.rotation
    t = res.table.copy()
    g = res.table_gross.reindex(t.index)
    t["annual_return_gross"] = g["annual_return"].to_numpy()
    t["excess_return_gross"] = g["excess_return"].to_numpy()
    t.insert(0, "period", [_period_text(str(i), ctx.params.language) for i in t.index])
    nav = res.nav
    wk = nav.groupby(nav.index.to_period("W-SUN")).tail(1)
    wk = wk.rename_axis("date").reset_index()
    ctx.results.performance_full = res.table.loc[FULL_PERIOD] if FULL_PERIOD in res.table.index else None
    return t.reset_index(drop=True), wk


def _period_text(label: str, language: str) -> str:
    """An M12 row label in the sheet's language: "2019 (from 10-08)" -> "2019年(10-08起)"."""
    if label == FULL_PERIOD:
        return say("period.full", language)
    if language != "zh":
        return label
    m = re.fullmatch(r"(\d{4})(?: \((?:from (\d\d-\d\d)|to (\d\d-\d\d)|(\d\d-\d\d) to (\d\d-\d\d))\))?", label)
    if not m:
        return label
    y, start, end, s2, e2 = m.groups()
    year = int(y)
    start, end = start or s2, end or e2
    return period_label(year, f"{year}-{start}" if start else None, f"{year}-{end}" if end else None, "zh")


def _correlation(ctx: WeeklyContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    p, asof = ctx.params, ctx.asof
    df = correlation.index_flow_correlation(ctx.market, corr_index=p.corr_index, corr_window=p.corr_window, end=asof,
                                            corr_threshold=p.corr_threshold, flows=ctx.etf_flows)
    close = ctx.market.index_close(p.corr_index).loc[:asof]
    corr = df.set_index("date")["corr"]
    grid = correlation.event_study(corr, close, event_thresholds=p.event_thresholds, event_horizons=p.event_horizons,
                                   event_mode=p.event_mode)
    recent = df.tail(p.corr_days).copy()
    recent["close"] = close.reindex(recent["date"]).to_numpy()
    recent["flow"] = recent["flow"] / YI
    recent["signal"] = recent["signal"].astype(float)
    ctx.results.corr_last = recent.iloc[-1] if len(recent) else None

    def pivot(value: str) -> pd.DataFrame:
        g = correlation.grid_table(grid, value)
        g.columns = [say("event.horizon", p.language, days=int(h)) for h in g.columns]
        return g.rename_axis("threshold").reset_index()

    return recent[["date", "close", "flow", "corr", "signal"]], pivot("p_down"), pivot("mean_return")


#: the ETF rotation's statistics table: message id -> the number format of its value (IC, returns, rates and
#: shares in percent; ratios with two decimals; counts as integers)
ETF_STATS = {"etf.ic_mean": "0.00%", "etf.ic_std": "0.00%", "etf.ic_ir": "0.00", "etf.ic_positive": "0.0%",
             "etf.ic_months": "0", "etf.long_short": "0.00%", "etf.annual_return": "0.00%", "etf.sharpe": "0.00",
             "etf.max_drawdown": "0.00%", "etf.excess": "0.00%", "etf.turnover_month": "0.0%",
             "etf.turnover_year": "0.0%", "etf.annual_return_gross": "0.00%", "etf.excess_gross": "0.00%",
             "etf.cost": "0.00%", "etf.lag": "0", "etf.no_ranking": "0", "etf.no_ranking.preference": "0",
             "etf.no_ranking.change": "0", "etf.no_ranking.momentum": "0"}


def _etf_rotation(ctx: WeeklyContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    p, market = ctx.params, ctx.market
    universe = [c.strip() for c in p.etf_universe.split(",") if c.strip()] or None
    res = northbound.northbound_rotation(market, etf_universe=universe, etf_top_n=p.etf_top_n, etf_cost=p.etf_cost,
                                         end=ctx.asof, rf=p.rf, lag=p.lag,
                                         etf_one_per_index=bool(p.etf_one_per_index))
    r = res.ranking
    info = market.etf_info
    out = pd.DataFrame({
        "rank": r["rank"].to_numpy(), "etf": r["code"].astype(str).to_numpy(), "name": r["name"].to_numpy(),
        "tracked_index": info["tracked_index"].reindex(r["code"]).to_numpy(),
        "preference": r["preference_value"].to_numpy(), "change": r["change_value"].to_numpy(),
        "momentum": r["momentum_value"].to_numpy(), "preference_mark": r["preference"].to_numpy(),
        "change_mark": r["change"].to_numpy(), "momentum_mark": r["momentum"].to_numpy(),
        "composite": r["composite"].to_numpy(), "pick": r["pick"].astype(float).to_numpy()})
    values = _etf_stat_values(res)
    ic = pd.DataFrame([(say(k, p.language), values[k], fmt) for k, fmt in ETF_STATS.items()],
                      columns=["stat", "value", "format"])
    ic["value"] = pd.to_numeric(ic["value"], errors="coerce")
    if _stale_table(ctx, "etf_rotation", "etf_ranking"):  # the ranking of the as-of month: past its inputs
        return None, ic
    ctx.results.etf_picks = out[out["pick"] == 1][["etf", "name"]]
    signals = res.composite.dropna(how="all")
    ctx.results.etf_signal_date = signals.index[-1] if len(signals) else None
    return out, ic


def _etf_stat_values(res) -> dict[str, Any]:
    """Message id -> value of the ETF rotation's statistics (IC, long-short, strategy, costs)."""
    s, sm, perf = res.ic_summary, res.summary, res.performance
    full = perf.iloc[-1] if len(perf) else pd.Series(dtype=float)
    ls_full = res.long_short_performance.iloc[-1] if len(res.long_short_performance) else pd.Series(dtype=float)
    return {
        "etf.ic_mean": s.get("ic_mean"), "etf.ic_std": s.get("ic_std"), "etf.ic_ir": s.get("ic_ir"),
        "etf.ic_positive": s.get("positive_share"), "etf.ic_months": s.get("months"),
        "etf.long_short": ls_full.get("annual_return"), "etf.annual_return": full.get("annual_return"),
        "etf.sharpe": full.get("sharpe"), "etf.max_drawdown": full.get("max_drawdown"),
        "etf.excess": full.get("excess_return"),
        "etf.turnover_month": res.turnover.iloc[1:].mean() if len(res.turnover) > 1 else np.nan,
        "etf.turnover_year": sm.get("turnover_annual"), "etf.annual_return_gross": sm.get("annual_return_gross"),
        "etf.excess_gross": sm.get("excess_gross"), "etf.cost": sm.get("cost"), "etf.lag": sm.get("lag_days"),
        "etf.no_ranking": sm["periods_without_ranking"]["composite"],
        **{f"etf.no_ranking.{k}": sm["periods_without_ranking"].get(k) for k in northbound.FACTORS},
    }


def _dashboard(ctx: WeeklyContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    _require_current(ctx, "dashboard")
    p, market = ctx.params, ctx.market
    flows = ctx.etf_flows if market.has("etf_daily") and market.has("etf_info") else None
    weights = _penetration_or_none(ctx)
    d = dashboard.weekly_dashboard(market, asof=ctx.asof, heat_years=p.heat_years, heat_flag=p.heat_flag,
                                   vol_flag=p.vol_flag, unit=YI, flows=flows, weights=weights, calendar=ctx.calendar)
    lang = p.language

    def shape(cur: pd.DataFrame, chg: pd.DataFrame | None) -> pd.DataFrame:
        out = pd.DataFrame({"code": cur.index.astype(str), "name": cur["name"].to_numpy(),
                            "weekly_return": cur["return"].to_numpy(), "etf_flow": cur["etf_total"].to_numpy()})
        if chg is not None and "etf_total" in chg.columns:
            out["etf_flow_prev"] = (cur["etf_total"] - chg["etf_total"].reindex(cur.index)).to_numpy()
        else:
            out["etf_flow_prev"] = np.nan
        out["northbound"] = cur["northbound_net_buy"].to_numpy()
        out["margin_net_buy"] = cur["margin_net_buy"].to_numpy()
        out["margin_buy_share"] = cur["financing_buy_share"].to_numpy()
        out["heat_pct"] = cur["heat_pct"].to_numpy()
        out["vol_pct"] = cur["vol_pct"].to_numpy()
        heat, vol = say("dashboard.heat", lang), say("dashboard.volatility", lang)
        out["flag"] = [", ".join(f for f, on in ((heat, h), (vol, v)) if on) for h, v in
                       zip(cur["heat_flag"].fillna(False).astype(bool), cur["vol_flag"].fillna(False).astype(bool))]
        return out

    ind = shape(d["industry"], d.get("industry_change")).sort_values("etf_flow", ascending=False, kind="stable")
    idx = shape(d["broad_index"], d.get("broad_index_change"))
    return idx, ind.reset_index(drop=True)


def _crowding(ctx: WeeklyContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """M14: the crowding table of the as-of date (crowded industries first) and the weekly count of the last
    ``crowding_weeks`` weeks."""
    _require_current(ctx, "crowding")
    p, lang = ctx.params, ctx.params.language
    res = crowding.market_crowding(ctx.market, ctx.asof, crowding_history=p.crowding_history,
                                   min_history=min(crowding.DEFAULT_MIN_HISTORY, p.crowding_history),
                                   crowding_heat_flag=p.crowding_heat_flag, crowding_price_move=p.crowding_price_move,
                                   crowding_volume_move=p.crowding_volume_move,
                                   crowding_dispersion_flag=p.crowding_dispersion_flag)
    t = res.table
    sep = say("sep.items", lang)
    out = pd.DataFrame({
        "industry": t["industry"].to_numpy(), "industry_name": t["name"].to_numpy(), "crowded": t["crowded"].to_numpy(),
        "heat_pct": t["heat_pct"].to_numpy(), "ret": t["ret"].to_numpy(),
        "volume_change": t["volume_change"].to_numpy(),
        "divergence": [crowding.DIVERGENCE_NAMES[k].get(lang, k) if k else "" for k in t["divergence"]],
        "dispersion_pct": t["dispersion_pct"].to_numpy(), "n_stocks": t["n_stocks"].to_numpy(),
        "reasons": [sep.join(crowding.reason_text(r, lang) for r in rs) for rs in t["reasons"]]})
    out = out.sort_values("crowded", ascending=False, kind="stable", na_position="last").reset_index(drop=True)
    weekly = res.weekly.tail(p.crowding_weeks).rename_axis("date").reset_index()
    ctx.results.crowding = res
    return out, weekly[["date", "crowded", "heat", "divergence", "dispersion"]]


def _penetration_or_none(ctx: WeeklyContext):
    """The run's M6 weights when the dashboard can use them (it notes their absence itself), else None.
    A ValueError computing them (e.g. no stock ETF) is left for the dashboard to meet and note."""
    if not (ctx.market.has("index_weights") and ctx.market.has("stock_industry")):
        return None
    try:
        return ctx.penetration
    except ValueError:
        return None


# ------------------------------------------------------------------------------------- cover
#: freshness states that limit what a table can show: a blank column's note names its inputs in one of them
LIMITING = frozenset({"fresh.missing", "fresh.behind", "fresh.northbound_quarterly"})


def _freshness(market: Market, asof: pd.Timestamp, p: Params) -> tuple[pd.DataFrame, dict[str, str]]:
    """The cover's freshness table, and each canonical table that is missing or behind with its status (the
    notes on blank columns name them)."""
    lang = p.language
    desc = market.describe().set_index("table")
    rows, limiting = [], {}
    for name in TABLES:
        used = say(f"used_by.{name}", lang)
        if name not in desc.index:
            rows.append({"table": name, "status": say("fresh.missing", lang), "detail": used, "rows": 0,
                         "first": None, "last": None, "lag_days": None})
            limiting[name] = say("notes.input", lang, table=name, status=say("fresh.missing", lang))
            continue
        r = desc.loc[name]
        last = r["last"]
        lag = None if pd.isna(last) else int((asof - pd.Timestamp(last)).days)
        beyond = lag is not None and lag < 0  # rows after the as-of date: read up to it, so 0 days behind
        lag = 0 if beyond else lag
        since = market.read_from.get(name)
        if since is not None:  # read partially (xladdin weekly: the dashboard's window of stock rows)
            used += say("fresh.read_from", lang, since=since)
        state = _freshness_status(name, last, lag, p.stale_days, asof)
        status = say(state, lang, lag=lag) + (say("fresh.beyond", lang) if beyond else "")
        rows.append({"table": name, "status": status, "detail": used, "rows": int(r["rows"]), "first": r["first"],
                     "last": last, "lag_days": lag})
        if state in LIMITING:
            limiting[name] = say("notes.input", lang, table=name, status=status)
    return pd.DataFrame(rows), limiting


def _freshness_status(name: str, last, lag: int | None, stale_days: int, asof: pd.Timestamp) -> str:
    """Message id of a table's freshness: static, current or behind. A monthly or quarterly table is current
    while :func:`xladdin.data.ends.current_until` says so (the rule the tables stop by); a daily one within
    ``stale_days`` of the as-of date."""
    if lag is None:
        return "fresh.static"
    seen = min(pd.Timestamp(last), asof)  # a table running past the as-of date is read to it
    kind = rhythm(name, seen)
    if kind in ("monthly", "quarterly"):
        if current_until(name, seen) < asof:
            return "fresh.behind"
        return "fresh.northbound_quarterly" if name == "northbound_holdings" else f"fresh.{kind}_current"
    return "fresh.current" if lag <= stale_days else "fresh.behind"


#: the signal column of a cover row that is a note (a table not computed, a strategy note): its detail says it
NO_SIGNAL = "—"


def _headlines(p: Params, ctx: WeeklyContext, notes: Mapping[str, str]) -> pd.DataFrame:
    """The cover's headline rows (item, signal, detail): style, flows, correlation, picks, what is missing."""
    lang = p.language
    rows = _style_headlines(ctx.results.style_table, lang)
    rows += _stock_flow_headline(ctx.results.index_flows, ctx.results.etf_week, lang)
    flow = ctx.results.industry_flow
    if flow is not None and len(flow):
        rows += _flow_headlines(flow, ctx, lang)
    rows += _left_out_headlines(ctx.results.flows_left_out, lang)
    c = ctx.results.corr_last
    if c is not None and pd.notna(c["corr"]):
        hot = c["corr"] > p.corr_threshold
        rows.append((say("corr.title", lang, index=p.corr_index), say("corr.hot" if hot else "corr.quiet", lang, corr=c["corr"]),
                     say("corr.detail", lang, window=p.corr_window, threshold=p.corr_threshold)))
    latest = ctx.results.latest_picks
    if latest is not None and len(latest):
        rows.append((say("picks.title", lang), say("sep.list", lang).join(latest["industry_name"]),
                     say("picks.detail", lang, date=ctx.results.latest_rebalance, top=p.top_n)))
    picks = ctx.results.etf_picks
    if picks is not None and len(picks):
        d = ctx.results.etf_signal_date
        rows.append((say("etf_picks.title", lang), say("sep.list", lang).join(picks["name"].astype(str)),
                     say("etf_picks.detail", lang, date=d) if d is not None else ""))
    cr = ctx.results.crowding
    if cr is not None:
        rows.append(_crowding_headline(cr, p, lang))
    for key, why in notes.items():
        rows.append((say("not_computed", lang, table=_table_name(key, lang)), NO_SIGNAL, note_text(why, lang)))
    # a strategy note says something or is left out (no row "策略说明 — —")
    rows += [(say("strategy_note", lang), NO_SIGNAL, text) for text in (note_text(why, lang).strip()
                                                                         for why in ctx.results.strategy_notes)
             if text and text != NO_SIGNAL]
    # direction: the sign of a row's net flow (its signal red for an inflow, green for an outflow); none for the rest
    return pd.DataFrame([(*r, None) if len(r) == 3 else r for r in rows],
                        columns=["item", "signal", "detail", "direction"])


def _table_name(key: str, lang: str) -> str:
    """How the cover names table ``key``: its sheet and title in ``lang`` (the layout's), or for a step that
    yields no table (the strategy) its methods' numbers."""
    try:
        sheet, table = load_layout().find_table(key)
    except KeyError:
        return next(s.what.split()[0] for s in STEPS if s.name == key)
    return f"{sheet.name(lang)} · {table.title(lang)}"


def _crowding_headline(res, p: Params, lang: str) -> tuple[str, str, str]:
    """The cover's crowding row: "N 个行业拥挤: A(flags)、B(flags)", the thresholds, and the flags blank for
    every industry (no input)."""
    panels, day = res.panels, res.asof
    crowded = res.table[res.table["crowded"] == 1]
    on = {"heat": panels.heat_on, "divergence": panels.divergence_on, "dispersion": panels.dispersion_on}
    items = []
    for code, name in crowded[["industry", "name"]].itertuples(index=False):
        flags = [crowding.FLAG_NAMES[f].get(lang, f) for f, frame in on.items() if frame.at[day, code] == 1]
        items.append(say("crowding.item", lang, name=name, flags=say("sep.list", lang).join(flags)))
    signal = (say("crowding.count", lang, n=len(items), names=say("sep.list", lang).join(items)) if items
              else say("crowding.count_none", lang))
    detail = say("crowding.detail", lang, date=day, heat=p.crowding_heat_flag, dispersion=p.crowding_dispersion_flag)
    blank_flags = [f for f, frame in on.items() if frame.loc[day].isna().all()]
    blank = [crowding.FLAG_NAMES[f].get(lang, f) for f in blank_flags]
    if blank:
        flags = say("sep.list", lang).join(blank)
        why = _blank_reasons(res.table, blank_flags, lang)
        detail += say("crowding.blank_why", lang, flags=flags, why=why) if why else say("crowding.blank", lang, flags=flags)
        # no count where no flag could be computed: "0 crowded" would be a claim the data cannot support
        signal = say("crowding.unknown", lang) if len(blank) == len(on) else signal + say("crowding.partial", lang,
                                                                                           flags=flags)
    return say("crowding.title", lang), signal, detail


#: the most distinct reasons a cover row names for blank crowding flags (more: the first ones and how many more)
BLANK_REASONS_SHOWN = 3


def _blank_reasons(table: pd.DataFrame, flags: list[str], lang: str) -> str:
    """Why the crowding ``flags`` are blank: the distinct reasons of the industries' rows for them (e.g. "换手热度:
    成交量数据截至2024-12-31"), in the table's order; "" when the table gives none."""
    texts = list(dict.fromkeys(crowding.reason_text(r, lang) for rs in table["reasons"] for r in rs
                               if r.flag in flags and r.code not in crowding.ON_REASONS))
    sep = say("sep.items", lang)
    if len(texts) <= BLANK_REASONS_SHOWN:
        return sep.join(texts)
    return sep.join(texts[:BLANK_REASONS_SHOWN]) + say("crowding.more_reasons", lang, n=len(texts) - BLANK_REASONS_SHOWN)


def _style_headlines(tab: pd.DataFrame | None, lang: str) -> list[tuple[str, str, str]]:
    """One cover row per style pair with a regime on the last week: who leads, and whether it switched."""
    rows: list[tuple[str, str, str]] = []
    if tab is None or not len(tab):
        return rows
    last = tab.iloc[-1]
    for pair in ("size", "growth"):
        col = f"{pair}_regime"
        if col not in tab.columns or pd.isna(last[col]):
            continue
        reg = int(last[col])
        prev = tab[col].dropna()
        changed = len(prev) > 1 and int(prev.iloc[-2]) != reg
        side = say(f"style.side.{pair}.{1 if reg == 1 else 0}", lang)
        rows.append((say(f"style.title.{pair}", lang), say("style.leads", lang, side=side),
                     say("style.detail", lang, date=tab.index[-1], regime=reg)
                     + say("style.switched" if changed else "style.unchanged", lang)))
    return rows


#: a flow of at most this many 亿元 in absolute value shows as 0.00 and is neither an inflow nor an outflow
FLOW_SIGN_FLOOR = 0.005


def signed_flows(flow: pd.DataFrame, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` largest net inflows (flow > 0) and net outflows (flow < 0) of an industry flow table.

    Flows within :data:`FLOW_SIGN_FLOOR` 亿元 of 0 (shown as 0.00) are neither; an empty side means
    no industry had a net flow of that sign. Ties by code.
    """
    f = flow.dropna(subset=["net_flow"]).sort_values("industry", kind="stable")
    inflow = f[f["net_flow"] > FLOW_SIGN_FLOOR].sort_values("net_flow", ascending=False, kind="stable").head(n)
    outflow = f[f["net_flow"] < -FLOW_SIGN_FLOOR].sort_values("net_flow", ascending=True, kind="stable").head(n)
    return inflow, outflow


def _etf_count(idx: pd.DataFrame) -> int:
    """How many stock ETFs the rows of :func:`xladdin.methods.holdings.index_flows` ``idx`` count."""
    return sum(len([c for c in str(x).split(", ") if c]) for x in idx["etfs"])


def _flow_signal(total: float, lang: str) -> str:
    """``净流入12.34亿元`` / ``净流出12.34亿元`` (``net inflow 12.34 (100m yuan)``): a flow of the week, 亿元."""
    return say("flow.net_inflow" if total >= 0 else "flow.net_outflow", lang, amount=amount(abs(total), lang))


def flow_direction(total: float) -> int | None:
    """1 for a net inflow, -1 for a net outflow (亿元), None for a flow shown as 0.00 (:data:`FLOW_SIGN_FLOOR`)."""
    return 1 if total > FLOW_SIGN_FLOOR else -1 if total < -FLOW_SIGN_FLOOR else None


def _stock_flow_headline(idx: pd.DataFrame | None, week, lang: str) -> list[tuple]:
    """The cover's headline figure: the as-of week's net flow of the stock ETFs with a tracked index (M1, 亿元; the
    ETFs and days it leaves out have rows of their own), needing etf_info and etf_daily only."""
    if idx is None or week is None or not idx["flow"].notna().any():
        return []
    total = float(np.nansum(idx["flow"])) / YI
    return [(say("flow.total.title", lang), _flow_signal(total, lang),
             say("flow.total.detail", lang, start=week[0], end=week[1], n=_etf_count(idx)), flow_direction(total))]


def _flow_headlines(flow: pd.DataFrame, ctx: WeeklyContext, lang: str) -> list[tuple]:
    """Cover rows: the industry total (and what it includes), the ETFs it leaves out, top inflows and outflows."""
    rows = []
    total = float(np.nansum(flow["net_flow"]))
    top_in, top_out = signed_flows(flow, 3)
    wk = ctx.week
    idx = ctx.results.index_flows
    inc = idx[idx["penetrated"]] if idx is not None else None
    exc = idx[~idx["penetrated"] & idx["flow"].notna()] if idx is not None else None
    what = say("flow.period", lang, start=wk.start, end=wk.end)
    if inc is not None:
        what += say("flow.included", lang, n=_etf_count(inc))
    if inc is not None and len(inc):
        own = float(np.nansum(inc["flow"])) / YI
        what += say("flow.own", lang, own=amount(own, lang), rest=amount(own - total, lang))
    rows.append((say("flow.title", lang), _flow_signal(total, lang), what, flow_direction(total)))
    items, listing = say("sep.items", lang), say("sep.list", lang)
    if exc is not None and len(exc):
        rows.append((say("flow.unpenetrated", lang),
                     items.join(say("amount.item", lang, name=r.etfs, amount=amount(r.flow / YI, lang))
                                for r in exc.itertuples()),
                     say("flow.unpenetrated.detail", lang, indices=listing.join(exc.index))))
    for key, part in (("flow.top_in", top_in), ("flow.top_out", top_out)):
        rows.append((say(key, lang), listing.join(part["industry_name"]) if len(part) else say("none", lang),
                     items.join(say("amount.item", lang, name=n, amount=amount(v, lang))
                                for n, v in zip(part["industry_name"], part["net_flow"]))
                     if len(part) else say(f"{key}.none", lang)))
    return rows


def _left_out_headlines(left: pd.DataFrame | None, lang: str) -> list[tuple[str, str, str]]:
    """Cover rows (and so mail lines) naming the stock ETFs whose flows of the week the totals leave out, and
    what they weigh: days with a missing NAV (valued at the last known NAV), ETFs without a tracked index."""
    rows: list[tuple[str, str, str]] = []
    if left is None or not len(left):
        return rows
    listing = say("sep.list", lang)
    nav = left[left["reason"] == "nav"]
    if len(nav):
        one = len(nav) == 1
        etfs = listing.join(e if one else say("left_out.nav.item", lang, etf=e, days=int(d))
                            for e, d in nav["days"].items())
        known = bool(nav["amount"].notna().all())
        weight = say("left_out.nav.weight", lang, amount=amount(float(nav["amount"].sum()) / YI, lang)) if known else ""
        rows.append((say("left_out.nav.title", lang),
                     say("left_out.nav", lang, n=len(nav), days=int(nav["days"].sum()), etfs=etfs, weight=weight),
                     say("left_out.nav.detail" if known else "left_out.nav.unknown", lang)))
    idx = left[left["reason"] == "index"]
    if len(idx):
        total = idx["amount"].sum(min_count=1)
        weight = "" if pd.isna(total) else say("left_out.index.weight", lang, amount=amount(float(total) / YI, lang))
        rows.append((say("left_out.index.title", lang),
                     say("left_out.index", lang, n=len(idx), etfs=listing.join(idx.index), weight=weight),
                     say("left_out.index.detail", lang)))
    return rows


def mail_lines(headlines: pd.DataFrame) -> list[str]:
    """A mail line per cover row, ``item:text``: its signal, or for a note (signal :data:`NO_SIGNAL`) the reason the
    cover gives beside it; a row with nothing to say (blank, or only the dash) has no line."""
    out = []
    for item, signal, detail in headlines[["item", "signal", "detail"]].itertuples(index=False):
        text = detail if signal == NO_SIGNAL else signal
        text = "" if not isinstance(text, str) else text.strip()
        if text and text != NO_SIGNAL:
            out.append(f"{item}:{text}")
    return out


def _summary(p: Params, asof: pd.Timestamp, ctx: WeeklyContext, headlines: pd.DataFrame):
    flow = ctx.results.industry_flow
    inflows, outflows = [], []
    if flow is not None and len(flow):
        top_in, top_out = signed_flows(flow, 5)
        inflows = [(str(n), float(v)) for n, v in top_in[["industry_name", "net_flow"]].itertuples(index=False)]
        outflows = [(str(n), float(v)) for n, v in top_out[["industry_name", "net_flow"]].itertuples(index=False)]
    picks = []
    latest = ctx.results.latest_picks
    if latest is not None:
        picks += [(str(c), str(n)) for c, n in latest[["industry", "industry_name"]].itertuples(index=False)]
    etf = ctx.results.etf_picks
    if etf is not None:
        picks += [(str(c), str(n)) for c, n in etf.itertuples(index=False)]
    heads = mail_lines(headlines)
    extra: dict[str, Any] = {}
    perf = ctx.results.performance_full
    if perf is not None:
        how = say("summary.how", p.language, cost=p.cost, lag=p.lag)
        extra[say("summary.annual_return", p.language, how=how)] = float(perf["annual_return"])
        extra[say("summary.excess", p.language, how=how)] = float(perf["excess_return"])
    formats = dict.fromkeys(extra, "0.00%")  # returns, in percent as on the performance sheet
    return WeeklySummary(asof=asof.date(), headlines=heads, inflows=inflows, outflows=outflows, picks=picks,
                         extra=extra, flows_known=flow is not None and len(flow) > 0, sample=ctx.market.sample,
                         formats=formats, language=p.language)


# ------------------------------------------------------------------------------------- driver
@dataclass(frozen=True)
class Step:
    """One computation step of the weekly run: the layout tables it yields (in the order ``run`` returns
    them) and the results it hands on (:class:`~xladdin.workbook.context.StepResults` fields).

    ``needs``: results without which the step cannot run: when the step writing one left it unset (a
    missing input table), this step's tables are noted with that step's reason instead. ``reads``: every
    result it reads (``needs`` and the optional ones). ``writes``: the results it sets.
    tests/test_weekly_steps.py checks these declarations against the code of ``run`` (and of the
    functions it calls).
    """

    name: str
    tables: tuple[str, ...]
    run: Callable[[WeeklyContext], Any]
    writes: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    #: what the step computes, in a few words (the note when a step it needs did not run; docs/architecture.md)
    what: str = ""
    #: where its input tables are current: ``(market, params, cap) -> EffectiveEnd`` (None when an input table
    #: is missing); the report is dated by the step that runs furthest (:func:`report_asof`)
    current: Callable[[Market, Params, pd.Timestamp], EffectiveEnd | None] | None = None


#: computation steps in order
STEPS: list[Step] = [
    Step("strategy", (), _strategy, what="M6-M10 strategy", current=_rotation_end,
         writes=("rotation", "level_w", "level_m", "divergence", "strategy_notes")),
    # no ``current``: its inputs (etf_info, etf_daily) are current on any as-of date (at most etf_daily's last), so
    # it neither dates the report nor stops before it
    Step("stock_flow", (), _stock_flow, what="M1 stock-ETF flows of the week",
         writes=("etf_week", "index_flows", "flows_left_out")),
    Step("industry_flow", ("industry_flow",), _industry_flow, what="M1/M6 industry flows of the week",
         current=_rotation_end,
         writes=("week", "industry_flow"), needs=("level_w",),
         reads=("level_w", "divergence")),
    Step("quintiles", ("quintile_level", "quintile_change"), _quintiles, what="M7 quintile tables",
         current=_rotation_end,
         needs=("level_m",), reads=("level_m",)),
    Step("style", ("style_signals",), _style, what="M4-M5 style signals", current=_style_end,
         writes=("style_table", "style_missing", "style_ends")),
    Step("holdings", ("latest_picks", "strategy_holdings"), _holdings_tables, what="M10 picks and holdings",
         current=_rotation_end,
         writes=("latest_picks", "latest_rebalance"), needs=("rotation",), reads=("rotation",)),
    Step("performance", ("performance", "nav"), _performance, what="M12 performance of the rotation",
         current=_rotation_end,
         writes=("performance_full",), needs=("rotation",), reads=("rotation",)),
    Step("correlation", ("correlation", "event_p_down", "event_mean_return"), _correlation,
         what="M2-M3 correlation monitor and event study", writes=("corr_last",), current=_correlation_end),
    Step("etf_rotation", ("etf_ranking", "etf_ic"), _etf_rotation, what="M11 northbound ETF rotation",
         writes=("etf_picks", "etf_signal_date"), current=_etf_rotation_end),
    Step("dashboard", ("dashboard_index", "dashboard_industry"), _dashboard, what="M13 fund-flow dashboard",
         current=_dashboard_end),
    Step("crowding", ("crowding", "crowding_weekly"), _crowding, what="M14 industry crowding",
         writes=("crowding",), current=_crowding_end),
]
#: the steps of the M6-M10 rotation: their tables stop where the rotation's inputs do (its industry trading days)
ROTATION_STEPS = ("strategy", "industry_flow", "quintiles", "holdings", "performance")
#: the results the cover, the mail's summary and the sheets' subtitles read (:func:`_result`)
COVER_READS = ("week", "etf_week", "rotation", "strategy_notes", "industry_flow", "index_flows", "flows_left_out",
               "style_table", "style_missing",
               "style_ends", "latest_picks", "latest_rebalance", "performance_full", "corr_last", "etf_picks",
               "etf_signal_date", "crowding")
#: steps run in a second lane beside the others (:data:`COMPUTE_THREADS`): they read no other step's
#: results (their ``reads`` are empty), only the run's context (its shared intermediates computed once: in a thread
#: lane by whichever lane asks first, for a process lane before the fork, :data:`SHARED_INTERMEDIATES`); reported
#: and placed after the other steps, as last in :data:`STEPS`
SIDE_STEPS = ("dashboard", "crowding")
#: lanes of the compute step: 2 runs :data:`SIDE_STEPS` (the dashboard's stock-level panels, about half the
#: compute, then the M14 crowding) beside the strategy and rotation steps, on two cores; 1 runs every step one
#: after another, in the calling thread (also where threads cannot start, as in the browser's Python of
#: xlwings Lite). Same tables.
COMPUTE_THREADS = 2
#: where the second lane runs (:mod:`xladdin.workbook.lanes`): "auto" = a forked process on Linux when the
#: caller runs no other Python thread (the steps hold Python's lock most of the time, so a thread shares one
#: core with the main lane), else a thread; "process" or "thread" to choose
COMPUTE_LANE = "auto"


def compute_weekly(market: Market, params: Params | None = None, asof=None,
                   progress: Callable[[str], None] | None = None, threads: int | None = None,
                   lane: str | None = None) -> WeeklyResult:
    """Compute every table of the weekly workbook for ``asof`` (default: the tables' effective end, :func:`report_asof`).

    Parameters
    ----------
    market : Market
        Canonical tables; data after ``asof`` is cut before anything is computed.
    params : Params, optional
        Parameters (:mod:`xladdin.workbook.params`); default :func:`~xladdin.workbook.params.default_params`.
    asof : date-like, optional
        Overrides ``params.asof``. Either is a cap: the report's as-of date is the effective end of its tables
        (:func:`report_asof`), and a table whose inputs stop earlier runs to its own end (a history, its subtitle
        naming the input) or is not computed (a table of the as-of week, its note naming the input).
    progress : callable, optional
        Called with each step's name when it finishes (in the calling thread, in the order of :data:`STEPS`).
    threads : int, optional
        1 = every step in the calling thread; 2 = :data:`SIDE_STEPS` in a second lane beside the
        others; default :data:`COMPUTE_THREADS`. The tables are the same.
    lane : {"auto", "process", "thread"}, optional
        Where the second lane runs (:func:`xladdin.workbook.lanes.lane_kind`); default :data:`COMPUTE_LANE`.

    Returns
    -------
    WeeklyResult
        ``tables`` keyed as in ``workbooks/layout.toml``; a table whose input table is missing is
        None with the reason in ``notes`` (shown on the cover and in the table). Any other error
        raises :class:`WeeklyError` naming the table.
    """
    p = params or default_params()
    cap = resolve_asof(market, asof if asof is not None else p.asof)
    with shared(market):  # each input's last date and codes' rows read once for the date, the cut and every step
        asof = report_asof(market, p, cap)  # dated by its tables, not by the longest table (spec, "Stale inputs")
        cut = _cut(market, asof)
        with scope(cut):  # the same scope unless rows after ``asof`` were cut; wide views (pivots) built once
            ctx = WeeklyContext(cut, p, asof)
            ctx.ends = {s.name: s.current(ctx.market, p, asof) for s in STEPS if s.current is not None}
            tables, notes, seconds = _run_steps(ctx, progress, threads, lane)
    result = _result(market, ctx, tables, notes)
    result.step_seconds = seconds
    return result


def _cut(market: Market, asof: pd.Timestamp) -> Market:
    """``market.subset(None, asof)``; the market itself (no copy) when no table has a later date."""
    for name, df in market.tables.items():
        col = TABLES[name].sorted_by if name in TABLES else None
        if df is None or col is None:
            continue
        if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
            return market.subset(None, asof)
        last = market.last_date(name)
        if last is not None and last > asof:
            return market.subset(None, asof)
    return market


def _writer_of(result: str) -> Step:
    """The step of :data:`STEPS` that writes ``result``."""
    return next(s for s in STEPS if result in s.writes)


def _attempt(ctx: WeeklyContext, step: Step, before: Mapping[str, Outcome]) -> Outcome:
    """Run one step on the run's context after the steps ``before`` (never raises an ``Exception``:
    see :class:`Outcome`)."""
    name, keys, fn = step.name, step.tables, step.run
    unset = [r for r in step.needs if getattr(ctx.results, r) is None]
    if unset:  # a step it needs did not produce it (a missing input table): its reason, for these tables too
        writer = _writer_of(unset[0])
        outcome = before.get(writer.name)
        note = (outcome.notes.get(writer.name) if outcome else None) or Note(
            "weekly.step_not_computed", f"the {writer.what} step was not computed", step=writer.what.split()[0])
        return Outcome({k: None for k in keys}, {k: note for k in keys})
    t0 = time.perf_counter()
    try:
        out = fn(ctx)
    except (MissingTableError, DataError) as exc:
        return Outcome({k: None for k in keys or (name,)}, {k: note_of(exc) for k in keys or (name,)},
                        seconds=time.perf_counter() - t0)
    except Exception as exc:  # a bug or a bad parameter: stop, naming the table
        error = WeeklyError(keys[0] if keys else name, f"{type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return Outcome(error=error, seconds=time.perf_counter() - t0)
    return Outcome(dict(zip(keys, out if isinstance(out, tuple) else (out,))), seconds=time.perf_counter() - t0)


#: the context's intermediates both lanes read (:class:`~xladdin.workbook.context.WeeklyContext`): built before a
#: process lane forks, so that the child inherits them instead of building them again (their time and memory twice)
SHARED_INTERMEDIATES = ("etf_flows", "penetration", "calendar")


def _build_shared(ctx: WeeklyContext) -> None:
    """Build :data:`SHARED_INTERMEDIATES` on ``ctx``; one that fails keeps its error for the step that asks."""
    for name in SHARED_INTERMEDIATES:
        try:
            getattr(ctx, name)
        except Exception:  # noqa: BLE001 - kept by the context (``_once``): the step asking for it reports it
            pass


def _run_steps(ctx: WeeklyContext, progress: Callable[[str], None] | None, threads: int | None = None,
               lane: str | None = None) -> tuple[dict[str, pd.DataFrame | None], dict[str, str], dict[str, float]]:
    """Every step of :data:`STEPS` on the run's context: the tables, why each missing one is missing,
    and each step's wall time (steps of two lanes overlap). ``progress(name)`` is called, in the
    calling thread and in the order of :data:`STEPS`, for each step that computed its tables."""
    threads = COMPUTE_THREADS if threads is None else threads
    if sys.platform == "emscripten":  # the browser's Python (xlwings Lite, Pyodide) starts no thread
        threads = 1
    side = [s for s in STEPS if s.name in SIDE_STEPS] if threads > 1 else []
    kind = lane_kind(COMPUTE_LANE if lane is None else lane) if side else None
    if kind == "process":
        _build_shared(ctx)
    second = start_lane(kind, ctx, side, _attempt) if side else None
    if second is None:  # one lane, or no thread can start here: every step in this one
        side = []
    outcomes: dict[str, Outcome] = {}
    try:
        for step in STEPS:
            if second is not None and step in side:
                continue
            outcome = outcomes[step.name] = _attempt(ctx, step, outcomes)
            if outcome.error is not None:
                break
            if progress is not None and not outcome.notes:
                progress(step.name)
        if second is not None:
            outcomes.update(second.join())
            second = None
    finally:
        if second is not None:  # interrupted (Ctrl-C) before the second lane was joined
            second.cancel()
    tables: dict[str, pd.DataFrame | None] = {}
    notes: dict[str, str] = {}
    for name in (s.name for s in STEPS):
        outcome = outcomes.get(name)
        if outcome is None:
            continue
        if outcome.error is not None:  # the first failed step of STEPS (a step after it did not run or is dropped)
            raise outcome.error
        tables.update(outcome.tables)
        notes.update(outcome.notes)
    for key, why in ctx.stale.items():  # tables of the as-of week past their inputs, in steps that ran
        tables[key] = None
        notes[key] = why
    if side and progress is not None:
        for name in (s.name for s in side):
            if not outcomes[name].notes:
                progress(name)
    tables.pop("strategy", None)
    return tables, notes, {s.name: outcomes[s.name].seconds for s in STEPS if s.name in outcomes}


def _result(market: Market, ctx: WeeklyContext, tables: dict, notes: dict[str, str]) -> WeeklyResult:
    """The cover tables, parameters, subtitles and mail summary around the computed tables."""
    p, asof = ctx.params, ctx.asof
    tables["cover_headlines"] = _headlines(p, ctx, dict(notes))
    tables["cover_freshness"], inputs = _freshness(market, asof, p)
    tables["params"] = params_to_frame(p)
    week = ctx.results.week
    summary = _summary(p, asof, ctx, tables["cover_headlines"])
    return WeeklyResult(asof=asof, tables=tables, subtitles=_subtitles(p, ctx, market.source, week), notes=notes,
                        summary=summary, facts={"week": week, "source": market.source}, sample=market.sample,
                        inputs=inputs)


def _subtitles(p: Params, ctx: WeeklyContext, src: str, week) -> dict[str, dict[str, str]]:
    """The sheets' subtitles in both languages (the workbook shows the one of its language)."""
    asof, rot = ctx.asof, ctx.results.rotation
    langs = ("zh", "en")

    def limited(key: str, step: str) -> dict[str, str]:  # a history whose inputs stop early: where, and why
        text = both(key, **fields[key])
        return {lang: text[lang] + _limit_text(ctx, step, lang) for lang in langs}

    fields = {"sub.months": dict(months=p.quintile_months, groups=p.groups),
              "sub.rebalance": dict(top=p.top_n, weeks=p.rebalance_weeks, lag=p.lag, cost=p.cost),
              "sub.correlation": dict(index=p.corr_index, window=p.corr_window, threshold=p.corr_threshold)}
    return {
        "asof": both("sub.asof", asof=asof, source=src),
        "week": both("sub.week", start=week[0], end=week[1]) if week else {"zh": "", "en": ""},
        "months": limited("sub.months", "quintiles"),
        "lambda": {lang: say("sub.lambda", lang, lamb=p.hp_lambda, ends=_style_ends_text(ctx, lang)) for lang in langs},
        "rebalance": limited("sub.rebalance", "holdings"),
        "backtest": {lang: say("sub.backtest", lang, start=pd.Timestamp(p.backtest_start), lag=p.lag, cost=p.cost,
                               rf=p.rf, turnover=say("sub.turnover", lang, turnover=rot.summary["turnover_annual"])
                               if rot is not None else "") + _limit_text(ctx, "performance", lang)
                     + _no_ranking_text(rot, lang) for lang in langs},
        "correlation": limited("sub.correlation", "correlation"),
        "rotation": {lang: say("sub.rotation", lang, top=p.etf_top_n, lag=p.lag, cost=p.etf_cost,
                               one_per=say("sub.one_per_index", lang) if p.etf_one_per_index else "")
                     + _limit_text(ctx, "etf_rotation", lang) for lang in langs},
        "crowding": _crowding_subtitle(p, ctx.results.crowding, asof),
    }


def _limit_text(ctx: WeeklyContext, step: str, lang: str) -> str:
    """``;计算至 2024-12-06(输入表 index_weights 截至 2024-10-08)`` when the step's inputs stop before the as-of
    date (its histories end there), else ``""``."""
    eff = _past_end(ctx, step)
    if eff is None:
        return ""
    days = ctx.market.industry_close().index if step in ROTATION_STEPS and ctx.market.has("industry_daily") else None
    end = eff.on(days) if days is not None else eff.end
    return say("stale.limit", lang, end=end if end is not None else eff.end, table=eff.limit.name, last=eff.limit.last)


def _no_ranking_text(rot, lang: str) -> str:
    """The M10 rebalances without a ranking, per factor (a factor that never ranks leaves the composite to the
    others): ``;无排名调仓期:短期资金流入流出 96/132、…``."""
    if rot is None:
        return ""
    n, counts = rot.summary["periods"], rot.summary["periods_without_ranking"]
    items = [say("no_ranking.item", lang, factor=say(f"factor.{k}", lang), n=v, of=n)
             for k, v in counts.items() if k != "composite"]
    return say("no_ranking", lang, counts=say("sep.list", lang).join(items)) if items else ""


def _crowding_subtitle(p: Params, res, asof: pd.Timestamp) -> dict[str, str]:
    """The crowding sheet's row 3 in both languages: its date, the heat measure and the thresholds."""
    measure = crowding.MEASURE_NAMES[getattr(res, "measure", None)]
    return {lang: say("sub.crowding", lang, asof=res.asof if res is not None else asof,
                      measure=measure.get(lang, measure["zh"]), history=p.crowding_history,
                      heat=p.crowding_heat_flag, price=p.crowding_price_move, volume=p.crowding_volume_move,
                      dispersion=p.crowding_dispersion_flag) for lang in ("zh", "en")}


def _style_ends_text(ctx: WeeklyContext, lang: str) -> str:
    """Which style pair's data ends before the as-of date, or is missing."""
    parts = []
    for pair in ctx.results.style_ends:  # the pairs with data: each runs to the end of its two indices' closes
        eff = style.style_end(ctx.market, pair, ctx.asof)
        if eff.limit is not None and eff.end < ctx.asof:
            parts.append(say("sub.style_end", lang, pair=say(f"sub.style_pair.{pair}", lang), table=eff.limit.name,
                             last=eff.limit.last))
    for miss in ctx.results.style_missing:
        parts.append(say("sub.style_missing", lang, pair=miss.split(":")[0]))
    return say("sub.style_parts", lang, parts=say("sep.items", lang).join(parts)) if parts else ""


def compute_weekly_tables(market: Market, params: Params | None = None, asof=None) -> dict[str, pd.DataFrame | None]:
    """The tables of :func:`compute_weekly` only (key -> DataFrame, columns as in the layout)."""
    return compute_weekly(market, params, asof).tables
