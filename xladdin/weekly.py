"""The week's tables for the tracking workbook: orchestrates the method modules (no method here).

:func:`compute_weekly` runs, for one as-of date, every output table of the spec ("Output tables the
reports show") by calling the public functions of :mod:`xladdin.holdings` (M1, M6), :mod:`xladdin.grouping`
(M7), :mod:`xladdin.style` (M4, M5), :mod:`xladdin.strategy` (M8, M10), :mod:`xladdin.performance` (M12),
:mod:`xladdin.correlation` (M2, M3), :mod:`xladdin.northbound` (M11) and :mod:`xladdin.dashboard` (M13),
and shapes each result into the columns of ``workbooks/layout.toml``. It also builds the cover
(headline signals in plain words, data freshness per canonical table) and the week's
:class:`~xladdin.summary.WeeklySummary` for the mail.

Amounts are shown in 亿元 (1e8 yuan). Data after the as-of date is never used: the market is cut
to ``asof`` first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .conventions import YI
from .errors import DataError
from .market import Market, MissingTableError
from .params import Params, default_params, params_to_frame
from .schema import NORTHBOUND_DAILY_UNTIL

#: canonical table -> sheets it feeds (cover freshness table)
USED_BY = {
    "etf_info": "行业资金流, 月度分组, 相关性监控, ETF轮动, 资金流看板",
    "etf_daily": "行业资金流, 月度分组, 策略, 相关性监控, ETF轮动, 资金流看板",
    "index_daily": "风格信号, 相关性监控, 资金流看板",
    "index_weights": "行业资金流, 月度分组, 策略, ETF轮动",
    "stock_industry": "行业资金流, 月度分组, 策略, 资金流看板",
    "industry_daily": "行业资金流, 策略表现, 资金流看板",
    "northbound_holdings": "ETF轮动, 资金流看板",
    "active_fund_holdings": "持仓分歧度 (M9)",
    "fund_nav": "持仓分歧度 (M9)",
    "fund_issuance": "持仓分歧度 (M9)",
    "margin_daily": "资金流看板",
    "stock_daily": "资金流看板",
}
USED_BY_EN = {
    "etf_info": "Industry flows, quintiles, correlation, ETF rotation, dashboard",
    "etf_daily": "Industry flows, quintiles, strategy, correlation, ETF rotation, dashboard",
    "index_daily": "Style signals, correlation, dashboard",
    "index_weights": "Industry flows, quintiles, strategy, ETF rotation",
    "stock_industry": "Industry flows, quintiles, strategy, dashboard",
    "industry_daily": "Industry flows, performance, dashboard",
    "northbound_holdings": "ETF rotation, dashboard",
    "active_fund_holdings": "Divergence (M9)",
    "fund_nav": "Divergence (M9)",
    "fund_issuance": "Divergence (M9)",
    "margin_daily": "Dashboard",
    "stock_daily": "Dashboard",
}


class WeeklyError(RuntimeError):
    """A table of the weekly workbook failed; ``table`` names it, the message says why."""

    def __init__(self, table: str, message: str):
        self.table = table
        super().__init__(f"computing table `{table}`: {message}")


@dataclass
class WeeklyResult:
    """Everything the workbook writers need for one week."""

    asof: pd.Timestamp
    tables: dict[str, pd.DataFrame | None]
    subtitles: dict[str, dict[str, str]]  # subtitle key -> {"zh": ..., "en": ...}
    notes: dict[str, str] = field(default_factory=dict)  # table key -> why it was not computed
    summary: Any = None  # xladdin.summary.WeeklySummary
    facts: dict[str, Any] = field(default_factory=dict)

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


def _week_bounds(dates: pd.DatetimeIndex, asof: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp | None, pd.Timestamp | None]:
    """First/last trading day of the week (Mon-Sun) containing asof, and of the week before."""
    d = dates[dates <= asof]
    week = d.to_period("W-SUN")
    this = week[-1]
    cur = d[week == this]
    prev_weeks = week[week < this]
    if len(prev_weeks):
        prev = d[week == prev_weeks[-1]]
        return cur[0], cur[-1], prev[0], prev[-1]
    return cur[0], cur[-1], None, None


def _names(market: Market) -> pd.Series:
    return market.industry_names


def _fmt_yi(x: float) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:,.2f}亿元"


# ------------------------------------------------------------------------------------- tables
def _industry_flow(market: Market, p: Params, asof: pd.Timestamp, ctx: dict) -> pd.DataFrame:
    from . import holdings
    dates = market.industry_close().index
    s, e, ps, pe = _week_bounds(dates, asof)
    ctx["week"] = (s, e)
    ctx["prev_week"] = (ps, pe)
    cur = holdings.flow_table(market, s, e)
    ctx["index_flows"] = holdings.index_flows(market, s, e)
    out = pd.DataFrame({"industry": cur.index.astype(str), "industry_name": cur["name"].to_numpy(),
                        "net_flow": cur["net_flow_yi"].to_numpy(), "industry_return": cur["industry_return"].to_numpy()})
    level = ctx["level_w"]
    lv = level.loc[:e]
    out["holding_share"] = lv.iloc[-1].reindex(out["industry"]).to_numpy() if len(lv) else np.nan
    out["holding_change"] = (lv.iloc[-1] - lv.iloc[-2]).reindex(out["industry"]).to_numpy() if len(lv) > 1 else np.nan
    div = ctx.get("divergence")
    out["divergence"] = div.loc[:e].iloc[-1].reindex(out["industry"]).to_numpy() if div is not None and len(div.loc[:e]) \
        else np.nan
    if ps is not None:
        prev = holdings.flow_table(market, ps, pe)
        out["prev_net_flow"] = prev["net_flow_yi"].reindex(out["industry"]).to_numpy()
        # return of each industry over this week, i.e. after last week's flow (seed 003's "two cases")
        out["next_return"] = out["industry_return"]
    else:
        out["prev_net_flow"] = np.nan
        out["next_return"] = np.nan
    return out


def _quintiles(market: Market, p: Params, asof: pd.Timestamp, ctx: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    from . import grouping, holdings
    level_m = ctx["level_m"]
    change_m = holdings.holding_change(level_m)
    names = _names(market)

    def shape(values: pd.DataFrame) -> pd.DataFrame:
        v = values.loc[:asof].tail(p.quintile_months)
        g = grouping.group_table(v, groups=p.groups, names=None)
        # group_table labels columns by date text; keep Timestamps so the layout formats the header
        g.columns = list(v.index)
        g = g.reindex(names.index)
        g.insert(0, "industry_name", names.reindex(g.index).to_numpy())
        g.insert(0, "industry", g.index.astype(str))
        return g.reset_index(drop=True)

    return shape(level_m), shape(change_m.dropna(how="all"))


def _style(market: Market, p: Params, asof: pd.Timestamp, ctx: dict) -> pd.DataFrame:
    """Every style pair that has data (a pair without closes is noted, never hides the other)."""
    from . import style
    frames, missing = [], []
    for pair in style.STYLE_PAIRS:
        try:
            frames.append(style.weekly_style_table(market, lamb=p.hp_lambda, pairs=(pair,), end=asof))
        except (MissingTableError, ValueError) as exc:
            missing.append(f"{pair}: {str(exc).splitlines()[0][:160]}")
    if not frames:
        raise MissingTableError("no style pair has closes in index_daily (" + "; ".join(missing) + ")")
    tab = pd.concat(frames, axis=1, join="outer", sort=True)
    ctx["style_table"] = tab
    ctx["style_missing"] = missing
    ctx["style_ends"] = {pair: tab[f"{pair}_ratio"].dropna().index.max() for pair in style.STYLE_PAIRS
                         if f"{pair}_ratio" in tab.columns}
    t = tab.tail(p.style_weeks)
    out = pd.DataFrame({"date": t.index})
    for pair in ("size", "growth"):
        for f_out, f_in in (("ratio", "ratio"), ("filtered", "filtered"), ("signal", "regime"), ("realised", "realised")):
            col = f"{pair}_{f_in}"
            out[f"{pair}_{f_out}"] = t[col].to_numpy() if col in t.columns else np.nan
    return out


def _strategy(market: Market, p: Params, asof: pd.Timestamp, ctx: dict) -> tuple:
    """M6-M10 through :func:`xladdin.strategy.flow_rotation`; stashes levels, divergence and the rotation."""
    from . import strategy
    out = strategy.flow_rotation(market, start=p.backtest_start, end=asof, top=p.top_n, every=p.rebalance_weeks,
                                 cost=p.cost, groups=p.groups, lamb=p.hp_lambda, window=p.trailing_window,
                                 lag=p.lag, backtests=False)  # the workbook shows M10 only: no stand-alone M7/M8/M9
    ctx["rotation"] = out["rotation"]
    ctx["level_w"] = out["weekly_level"]
    ctx["level_m"] = out["monthly_level"]
    div = out.get("divergence")
    ctx["divergence"] = div["divergence"] if div else None
    ctx["strategy_notes"] = list(out.get("notes", []))
    return ()


def _holdings_tables(market: Market, p: Params, asof: pd.Timestamp, ctx: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    res = ctx["rotation"]
    h = res.holdings
    flag_cols = {"flow_inflow": "flow_in", "style_advantage": "style_adv", "divergence_favoured": "overweight"}
    periods = list(pd.unique(h["rebalance_date"]))[-p.holding_periods:]
    hist = h[h["rebalance_date"].isin(periods)].copy()
    if "flow_inflow" in hist.columns:  # flags as numbers (NA -> blank cell)
        for c in flag_cols:
            if c in hist.columns:
                hist[c] = hist[c].astype("Float64").astype(float)
    hist = hist.rename(columns={"rebalance_date": "signal_date", "trade_date": "period_start", "name": "industry_name",
                                **flag_cols})
    for c in flag_cols.values():
        if c not in hist.columns:
            hist[c] = np.nan
    hist = hist.sort_values(["period_start", "excess_return"], ascending=[False, False], kind="stable")
    # latest picks: the last rebalance's scores, top N
    scores = res.scores
    last = scores.index[-1]
    from .ranking import tie_values
    top = scores.loc[last].dropna()
    tied, _ = tie_values(top)  # scores within the tie tolerance ordered by code, as the picks
    top = top.iloc[np.lexsort((top.index.astype(str), -tied.to_numpy()))].head(p.top_n)
    names = _names(market)
    flags_last = hist[hist["signal_date"] == pd.Timestamp(last)].set_index("industry") if len(hist) else None
    latest = pd.DataFrame({"rank": np.arange(1, len(top) + 1), "industry": top.index.astype(str),
                           "industry_name": names.reindex(top.index).to_numpy(), "score": top.to_numpy()})
    for c in flag_cols.values():
        latest[c] = flags_last[c].reindex(latest["industry"]).to_numpy() if flags_last is not None and c in flags_last \
            else np.nan
    ctx["latest_picks"] = latest
    ctx["latest_rebalance"] = pd.Timestamp(last)
    return latest, hist


def _performance(market: Market, p: Params, asof: pd.Timestamp, ctx: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    from .performance import FULL_PERIOD
    res = ctx["rotation"]
    t = res.table.copy()
    g = res.table_gross.reindex(t.index)
    t["annual_return_gross"] = g["annual_return"].to_numpy()
    t["excess_return_gross"] = g["excess_return"].to_numpy()
    t.insert(0, "period", [_period_text(str(i), p.language) for i in t.index])
    nav = res.nav
    wk = nav.groupby(nav.index.to_period("W-SUN")).tail(1)
    wk = wk.rename_axis("date").reset_index()
    ctx["performance_full"] = res.table.loc[FULL_PERIOD] if FULL_PERIOD in res.table.index else None
    return t.reset_index(drop=True), wk


def _period_text(label: str, language: str) -> str:
    """An M12 row label in the sheet's language: "2019 (from 10-08)" -> "2019年(10-08起)"."""
    import re
    from .performance import FULL_PERIOD, period_label
    if language != "zh":
        return label
    if label == FULL_PERIOD:
        return "全时期"
    m = re.fullmatch(r"(\d{4})(?: \((?:from (\d\d-\d\d)|to (\d\d-\d\d)|(\d\d-\d\d) to (\d\d-\d\d))\))?", label)
    if not m:
        return label
    y, start, end, s2, e2 = m.groups()
    year = int(y)
    start, end = start or s2, end or e2
    return period_label(year, f"{year}-{start}" if start else None, f"{year}-{end}" if end else None, "zh")


def _correlation(market: Market, p: Params, asof: pd.Timestamp, ctx: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from . import correlation
    df = correlation.index_flow_correlation(market, p.corr_index, window=p.corr_window, end=asof,
                                            threshold=p.corr_threshold)
    close = market.index_close(p.corr_index).loc[:asof]
    corr = df.set_index("date")["corr"]
    grid = correlation.event_study(corr, close, thresholds=p.event_thresholds, horizons=p.event_horizons,
                                   mode=p.event_mode)
    recent = df.tail(p.corr_days).copy()
    recent["close"] = close.reindex(recent["date"]).to_numpy()
    recent["flow"] = recent["flow"] / YI
    recent["signal"] = recent["signal"].astype(float)
    ctx["corr_last"] = recent.iloc[-1] if len(recent) else None

    def pivot(value: str) -> pd.DataFrame:
        g = correlation.grid_table(grid, value)
        g.columns = [f"{int(h)}日" if p.language == "zh" else f"{int(h)}d" for h in g.columns]
        return g.rename_axis("threshold").reset_index()

    return recent[["date", "close", "flow", "corr", "signal"]], pivot("p_down"), pivot("mean_return")


def _etf_rotation(market: Market, p: Params, asof: pd.Timestamp, ctx: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    from . import northbound
    universe = [c.strip() for c in p.etf_universe.split(",") if c.strip()] or None
    res = northbound.northbound_rotation(market, universe, top=p.etf_top_n, cost=p.etf_cost, end=asof, rf=p.rf,
                                         lag=p.lag, one_per_index=bool(p.etf_one_per_index))
    r = res.ranking
    info = market.etf_info
    out = pd.DataFrame({
        "rank": r["rank"].to_numpy(), "etf": r["code"].astype(str).to_numpy(), "name": r["name"].to_numpy(),
        "tracked_index": info["tracked_index"].reindex(r["code"]).to_numpy(),
        "preference": r["preference_value"].to_numpy(), "change": r["change_value"].to_numpy(),
        "momentum": r["momentum_value"].to_numpy(), "preference_mark": r["preference"].to_numpy(),
        "change_mark": r["change"].to_numpy(), "momentum_mark": r["momentum"].to_numpy(),
        "composite": r["composite"].to_numpy(), "pick": r["pick"].astype(float).to_numpy()})
    zh = p.language == "zh"
    s = res.ic_summary
    sm = res.summary
    perf = res.performance
    full = perf.iloc[-1] if len(perf) else pd.Series(dtype=float)
    ls_full = res.long_short_performance.iloc[-1] if len(res.long_short_performance) else pd.Series(dtype=float)
    stats = [
        ("IC均值" if zh else "IC mean", s.get("ic_mean")),
        ("IC标准差" if zh else "IC std", s.get("ic_std")),
        ("IC IR(月度)" if zh else "IC IR (monthly)", s.get("ic_ir")),
        ("IC>0占比" if zh else "Share of IC > 0", s.get("positive_share")),
        ("IC月数" if zh else "Months", s.get("months")),
        ("多空年化收益" if zh else "Long-short annual return", ls_full.get("annual_return")),
        ("策略年化收益" if zh else "Strategy annual return", full.get("annual_return")),
        ("策略夏普" if zh else "Strategy Sharpe", full.get("sharpe")),
        ("策略最大回撤" if zh else "Strategy max drawdown", full.get("max_drawdown")),
        ("超额年化" if zh else "Excess return", full.get("excess_return")),
        ("月均双边换手" if zh else "Avg monthly two-way turnover", res.turnover.iloc[1:].mean() if len(res.turnover) > 1 else np.nan),
        ("年化双边换手" if zh else "Two-way turnover per year", sm.get("turnover_annual")),
        ("策略年化收益(未扣成本)" if zh else "Strategy annual return, gross", sm.get("annual_return_gross")),
        ("超额年化(未扣成本)" if zh else "Excess return, gross", sm.get("excess_gross")),
        ("单边成本" if zh else "One-way cost", sm.get("cost")),
        ("执行滞后(交易日)" if zh else "Execution lag (trading days)", sm.get("lag_days")),
        ("无排序月数(综合)" if zh else "Months without a ranking (composite)", sm["periods_without_ranking"]["composite"]),
    ]
    ic = pd.DataFrame(stats, columns=["stat", "value"])
    ic["value"] = pd.to_numeric(ic["value"], errors="coerce")
    ctx["etf_picks"] = out[out["pick"] == 1][["etf", "name"]]
    ctx["etf_signal_date"] = res.composite.dropna(how="all").index[-1] if len(res.composite.dropna(how="all")) else None
    return out, ic


def _dashboard(market: Market, p: Params, asof: pd.Timestamp, ctx: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    from . import dashboard
    d = dashboard.weekly_dashboard(market, asof=asof, window_years=p.heat_years, heat_flag=p.heat_flag,
                                   vol_flag=p.vol_flag, unit=YI)
    zh = p.language == "zh"

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
        flags = []
        for h, v in zip(cur["heat_flag"].fillna(False).astype(bool), cur["vol_flag"].fillna(False).astype(bool)):
            f = []
            if h:
                f.append("交易过热" if zh else "heat high")
            if v:
                f.append("波动偏高" if zh else "volatility high")
            flags.append(", ".join(f))
        out["flag"] = flags
        return out

    ind = shape(d["industry"], d.get("industry_change")).sort_values("etf_flow", ascending=False, kind="stable")
    idx = shape(d["broad_index"], d.get("broad_index_change"))
    ctx["dashboard"] = d
    return idx, ind.reset_index(drop=True)


# ------------------------------------------------------------------------------------- cover
def _freshness(market: Market, asof: pd.Timestamp, p: Params) -> pd.DataFrame:
    from .schema import TABLES
    zh = p.language == "zh"
    desc = market.describe().set_index("table")
    rows = []
    for name in TABLES:
        used = (USED_BY if zh else USED_BY_EN).get(name, "")
        if name not in desc.index:
            rows.append({"table": name, "status": "缺失" if zh else "missing", "detail": used, "rows": 0,
                         "first": None, "last": None, "lag_days": None})
            continue
        r = desc.loc[name]
        last = r["last"]
        lag = None if pd.isna(last) else int((asof - pd.Timestamp(last)).days)
        if lag is None:
            status = "静态表" if zh else "static"
        elif name == "northbound_holdings" and lag > p.stale_days and pd.Timestamp(last) > NORTHBOUND_DAILY_UNTIL:
            status = (f"季度披露,滞后{lag}天" if zh else f"quarterly since 2024-08, {lag} days behind")
        elif name in ("index_weights", "fund_issuance") and lag <= 31:
            status = "月度,最新" if zh else "monthly, current"
        elif name == "active_fund_holdings" and lag <= 120:
            status = "季度,最新" if zh else "quarterly, current"
        elif lag <= p.stale_days:
            status = "最新" if zh else "current"
        else:
            status = f"滞后{lag}天" if zh else f"{lag} days behind"
        since = market.read_from.get(name)
        if since is not None:  # read partially (xladdin weekly: the dashboard's window of stock rows)
            used += (f"(读取 {since:%Y-%m-%d} 起的行,看板窗口)" if zh else f" (rows from {since:%Y-%m-%d} read: dashboard window)")
        rows.append({"table": name, "status": status, "detail": used, "rows": int(r["rows"]),
                     "first": r["first"], "last": last, "lag_days": lag})
    return pd.DataFrame(rows)


def _headlines(p: Params, asof: pd.Timestamp, ctx: dict, notes: Mapping[str, str]) -> pd.DataFrame:
    zh = p.language == "zh"
    rows = []
    tab = ctx.get("style_table")
    if tab is not None and len(tab):
        last = tab.iloc[-1]
        for pair, big, small, nm in (("size", "大盘", "小盘", "大小盘"), ("growth", "成长", "价值", "成长价值")):
            col = f"{pair}_regime"
            if col not in tab.columns or pd.isna(last[col]):
                continue
            reg = int(last[col])
            prev = tab[col].dropna()
            changed = len(prev) > 1 and int(prev.iloc[-2]) != reg
            if zh:
                sig = f"{big if reg == 1 else small}占优"
                det = (f"截至{tab.index[-1]:%Y-%m-%d}单边HP+因子动量信号为{reg}" +
                       (",本周发生切换" if changed else f",与上周相同"))
                rows.append((f"风格:{nm}", sig, det))
            else:
                en_big, en_small = ("large-cap", "small-cap") if pair == "size" else ("growth", "value")
                sig = f"{en_big if reg == 1 else en_small} leads"
                det = f"one-sided HP + factor momentum signal {reg} at {tab.index[-1]:%Y-%m-%d}" + (
                    "; switched this week" if changed else "; unchanged from last week")
                rows.append((f"Style: {pair}", sig, det))
    flow = ctx.get("industry_flow")
    if flow is not None and len(flow):
        rows += _flow_headlines(flow, ctx, zh)
    c = ctx.get("corr_last")
    if c is not None and pd.notna(c["corr"]):
        hot = c["corr"] > p.corr_threshold
        if zh:
            rows.append((f"{p.corr_index} 资金流相关性", f"{c['corr']:.2f}" + (" 高于阈值,警惕短期顶部" if hot else " 未触发"),
                         f"{p.corr_window}日滚动相关,阈值{p.corr_threshold:g}(M2)"))
        else:
            rows.append((f"{p.corr_index} flow correlation", f"{c['corr']:.2f}" + (" above threshold: short-term top risk" if hot else " no signal"),
                         f"{p.corr_window}-day rolling correlation, threshold {p.corr_threshold:g} (M2)"))
    latest = ctx.get("latest_picks")
    if latest is not None and len(latest):
        names = "、".join(latest["industry_name"]) if zh else ", ".join(latest["industry_name"])
        d = ctx.get("latest_rebalance")
        rows.append(("行业轮动最新持仓" if zh else "Rotation picks", names,
                     (f"{d:%Y-%m-%d}调仓,前{p.top_n}名等权(M10)" if zh else f"rebalanced {d:%Y-%m-%d}, top {p.top_n} equal weight (M10)")))
    picks = ctx.get("etf_picks")
    if picks is not None and len(picks):
        d = ctx.get("etf_signal_date")
        rows.append(("ETF轮动入选" if zh else "ETF rotation picks",
                     ("、" if zh else ", ").join(picks["name"].astype(str)),
                     (f"{d:%Y-%m-%d}月末信号(M11)" if zh else f"month-end signal {d:%Y-%m-%d} (M11)") if d is not None else ""))
    for key, why in notes.items():
        rows.append((("未计算:" if zh else "Not computed: ") + key, "—", why))
    for why in ctx.get("strategy_notes", []):
        rows.append(("策略说明" if zh else "Strategy note", "—", why))
    return pd.DataFrame(rows, columns=["item", "signal", "detail"])


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


def _flow_headlines(flow: pd.DataFrame, ctx: dict, zh: bool) -> list[tuple[str, str, str]]:
    """Cover rows: the industry total (and what it includes), the ETFs it leaves out, top inflows and outflows."""
    rows = []
    total = float(np.nansum(flow["net_flow"]))
    top_in, top_out = signed_flows(flow, 3)
    s, e = ctx["week"]
    idx = ctx.get("index_flows")
    inc = idx[idx["penetrated"]] if idx is not None else None
    exc = idx[~idx["penetrated"] & idx["flow"].notna()] if idx is not None else None
    n_in = sum(len([c for c in str(x).split(", ") if c]) for x in inc["etfs"]) if inc is not None else None
    every = float(np.nansum(idx["flow"])) / YI if idx is not None else np.nan
    if zh:
        what = (f"{s:%m-%d}至{e:%m-%d},穿透到行业合计:跟踪指数有成分股权重的{n_in}只股票ETF" if n_in is not None
                else f"{s:%m-%d}至{e:%m-%d},穿透到行业合计")
        if inc is not None and len(inc):
            own = float(np.nansum(inc["flow"])) / YI
            what += f"(这些ETF合计{_fmt_yi(own)},其中{_fmt_yi(own - total)}对应无行业分类的成分股)"
        if exc is not None and len(exc):
            what += f";全部股票ETF合计{_fmt_yi(every)}"
        rows.append(("股票ETF资金(穿透行业)", f"净{'流入' if total >= 0 else '流出'}{_fmt_yi(abs(total))}", what))
        if exc is not None and len(exc):
            rows.append(("未穿透的股票ETF", ";".join(f"{r.etfs} {_fmt_yi(r.flow / YI)}" for r in exc.itertuples()),
                         "跟踪指数无成分股权重(" + "、".join(exc.index) + "),未计入行业合计"))
        for title, part, none in (("净流入居前行业", top_in, "无(本周没有净流入的行业)"),
                                  ("净流出居前行业", top_out, "无(本周没有净流出的行业)")):
            rows.append((title, "、".join(part["industry_name"]) if len(part) else "无",
                         ";".join(f"{n} {_fmt_yi(v)}" for n, v in zip(part["industry_name"], part["net_flow"]))
                         if len(part) else none))
    else:
        what = (f"{s:%Y-%m-%d} to {e:%Y-%m-%d}, summed over industries: the {n_in} stock ETFs whose tracked index has "
                "constituent weights" if n_in is not None else f"{s:%Y-%m-%d} to {e:%Y-%m-%d}, summed over industries")
        if inc is not None and len(inc):
            own = float(np.nansum(inc["flow"])) / YI
            what += f" (these ETFs {own:,.2f}, of which {own - total:,.2f} on constituents without an industry)"
        if exc is not None and len(exc):
            what += f"; all stock ETFs {every:,.2f}"
        rows.append(("Stock-ETF flow (penetrated)", f"net {'inflow' if total >= 0 else 'outflow'} {abs(total):,.2f} (100m yuan)",
                     what))
        if exc is not None and len(exc):
            rows.append(("Stock ETFs not penetrated", "; ".join(f"{r.etfs} {r.flow / YI:,.2f}" for r in exc.itertuples()),
                         "no constituent weights for " + ", ".join(exc.index) + ": not in the industry total"))
        for title, part, none in (("Top net inflows", top_in, "none (no industry had a net inflow)"),
                                  ("Top net outflows", top_out, "none (no industry had a net outflow)")):
            rows.append((title, ", ".join(part["industry_name"]) if len(part) else "none",
                         "; ".join(f"{n} {v:,.2f}" for n, v in zip(part["industry_name"], part["net_flow"]))
                         if len(part) else none))
    return rows


def _summary(p: Params, asof: pd.Timestamp, ctx: dict, headlines: pd.DataFrame):
    from .summary import WeeklySummary
    flow = ctx.get("industry_flow")
    inflows, outflows = [], []
    if flow is not None and len(flow):
        top_in, top_out = signed_flows(flow, 5)
        inflows = [(str(n), float(v)) for n, v in top_in[["industry_name", "net_flow"]].itertuples(index=False)]
        outflows = [(str(n), float(v)) for n, v in top_out[["industry_name", "net_flow"]].itertuples(index=False)]
    picks = []
    latest = ctx.get("latest_picks")
    if latest is not None:
        picks += [(str(c), str(n)) for c, n in latest[["industry", "industry_name"]].itertuples(index=False)]
    etf = ctx.get("etf_picks")
    if etf is not None:
        picks += [(str(c), str(n)) for c, n in etf.itertuples(index=False)]
    heads = [f"{i}:{s}" for i, s in headlines[["item", "signal"]].itertuples(index=False)]
    extra: dict[str, Any] = {}
    perf = ctx.get("performance_full")
    if perf is not None:
        zh = p.language == "zh"
        how = (f"(扣除单边{p.cost:.2%}成本,滞后{p.lag}日成交)" if zh else
               f" (net of {p.cost:.2%} one-way cost, traded {p.lag} day(s) after the signal)")
        extra[("策略年化收益" if zh else "strategy_annual_return") + how] = float(perf["annual_return"])
        extra[("超额年化" if zh else "excess_return") + how] = float(perf["excess_return"])
    return WeeklySummary(asof=asof.date(), headlines=heads, inflows=inflows, outflows=outflows, picks=picks,
                         extra=extra, flows_known=flow is not None and len(flow) > 0)


# ------------------------------------------------------------------------------------- driver
#: computation steps in order: (name, table keys it yields, function)
Step = tuple[str, tuple[str, ...], Callable[[Market, Params, pd.Timestamp, dict], Any]]
STEPS: list[Step] = [
    # the dashboard first: it reads the stock-level tables (the largest) while the shared cache is
    # still empty and releases them; the ETF flows and panels it leaves behind serve the later steps
    ("dashboard", ("dashboard_index", "dashboard_industry"), _dashboard),
    ("strategy", (), _strategy),
    ("industry_flow", ("industry_flow",), _industry_flow),
    ("quintiles", ("quintile_level", "quintile_change"), _quintiles),
    ("style", ("style_signals",), _style),
    ("holdings", ("latest_picks", "strategy_holdings"), _holdings_tables),
    ("performance", ("performance", "nav"), _performance),
    ("correlation", ("correlation", "event_p_down", "event_mean_return"), _correlation),
    ("etf_rotation", ("etf_ranking", "etf_ic"), _etf_rotation),
]


def compute_weekly(market: Market, params: Params | None = None, asof=None,
                   progress: Callable[[str], None] | None = None) -> WeeklyResult:
    """Compute every table of the weekly workbook for ``asof`` (default: the data's last ETF date).

    Parameters
    ----------
    market : Market
        Canonical tables; data after ``asof`` is cut before anything is computed.
    params : Params, optional
        Parameters (:mod:`xladdin.params`); default :func:`~xladdin.params.default_params`.
    asof : date-like, optional
        Overrides ``params.asof``.
    progress : callable, optional
        Called with each step's name when it finishes.

    Returns
    -------
    WeeklyResult
        ``tables`` keyed as in ``workbooks/layout.toml``; a table whose input table is missing is
        None with the reason in ``notes`` (shown on the cover and in the table). Any other error
        raises :class:`WeeklyError` naming the table.
    """
    from ._shared import shared
    p = params or default_params()
    asof = resolve_asof(market, asof if asof is not None else p.asof)
    m = _cut(market, asof)
    with shared(m):  # ETF flows, panels and penetration weights computed once for every table
        return _compute(market, m, p, asof, progress)


def _cut(market: Market, asof: pd.Timestamp) -> Market:
    """``market.subset(None, asof)``; the market itself (no copy) when no table has a later date."""
    from .schema import TABLES
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


def _compute(market: Market, m: Market, p: Params, asof: pd.Timestamp,
             progress: Callable[[str], None] | None) -> WeeklyResult:
    ctx: dict[str, Any] = {}
    tables: dict[str, pd.DataFrame | None] = {}
    notes: dict[str, str] = {}

    #: steps that need the holding levels / rotation of the strategy step
    needs_strategy = {"industry_flow", "quintiles", "holdings", "performance"}
    for name, keys, fn in STEPS:
        if name in needs_strategy and "rotation" not in ctx:
            for k in keys:
                tables[k] = None
                notes[k] = notes.get("strategy", "the M6-M10 strategy step was not computed")
            continue
        try:
            out = fn(m, p, asof, ctx)
        except (MissingTableError, DataError) as exc:
            for k in keys or (name,):
                tables[k] = None
                notes[k] = str(exc)
            continue
        except Exception as exc:  # a bug or a bad parameter: stop, naming the table
            raise WeeklyError(keys[0] if keys else name, f"{type(exc).__name__}: {exc}") from exc
        outs = out if isinstance(out, tuple) else (out,)
        for k, df in zip(keys, outs):
            tables[k] = df
        if name == "industry_flow":
            ctx["industry_flow"] = outs[0]
        if progress is not None:
            progress(name)
    tables.pop("strategy", None)
    notes_cover = dict(notes)
    tables["cover_headlines"] = _headlines(p, asof, ctx, notes_cover)
    tables["cover_freshness"] = _freshness(market, asof, p)
    tables["params"] = params_to_frame(p)
    zh = p.language == "zh"
    week = ctx.get("week")
    src = market.source
    subtitles = {
        "asof": {"zh": f"截至 {asof:%Y-%m-%d}  |  数据来源:{src}  |  表头语言与阈值见“参数”表",
                 "en": f"As of {asof:%Y-%m-%d}  |  data: {src}  |  headers and thresholds: see Parameters"},
        "week": {"zh": f"统计区间:{week[0]:%Y-%m-%d} 至 {week[1]:%Y-%m-%d}(亿元)" if week else "",
                 "en": f"Week {week[0]:%Y-%m-%d} to {week[1]:%Y-%m-%d} (100m yuan)" if week else ""},
        "months": {"zh": f"最近{p.quintile_months}个月末,{p.groups}组", "en": f"Last {p.quintile_months} month ends, {p.groups} groups"},
        "lambda": {"zh": f"lambda = {p.hp_lambda:g};信号 = 滤波值 − 前两期均值" + _style_ends_text(ctx, asof, True),
                   "en": f"lambda = {p.hp_lambda:g}; signal = filtered − mean of the two previous"
                         + _style_ends_text(ctx, asof, False)},
        "rebalance": {"zh": f"前{p.top_n}名等权,每{p.rebalance_weeks}周调仓;信号日后{p.lag}个交易日收盘成交,"
                            f"单边成本{p.cost:.2%}(占成交额)",
                      "en": f"Top {p.top_n} equal weight, rebalanced every {p.rebalance_weeks} weeks; traded {p.lag} "
                            f"trading day(s) after the signal, one-way cost {p.cost:.2%} of traded value"},
        "backtest": {"zh": f"回测起点 {pd.Timestamp(p.backtest_start):%Y-%m-%d},滞后{p.lag}日成交,净值扣除单边"
                           f"{p.cost:.2%}成本(未扣成本见“未扣成本”列),无风险利率 {p.rf:g}" + _turnover_text(ctx, True),
                     "en": f"Backtest from {pd.Timestamp(p.backtest_start):%Y-%m-%d}, traded {p.lag} day(s) after the "
                           f"signal, NAV net of {p.cost:.2%} one-way cost (gross columns beside), risk-free {p.rf:g}"
                           + _turnover_text(ctx, False)},
        "correlation": {"zh": f"指数 {p.corr_index},窗口 {p.corr_window} 日,阈值 {p.corr_threshold:g}",
                        "en": f"Index {p.corr_index}, window {p.corr_window} days, threshold {p.corr_threshold:g}"},
        "rotation": {"zh": f"月末信号,入选前{p.etf_top_n}只" + ("(同一跟踪指数最多1只)" if p.etf_one_per_index else "")
                           + f",信号后{p.lag}个交易日成交,单边成本{p.etf_cost:.2%}",
                     "en": f"Month-end signal, top {p.etf_top_n} picked" + (" (at most one per tracked index)"
                                                                           if p.etf_one_per_index else "")
                           + f", traded {p.lag} day(s) after the signal, one-way cost {p.etf_cost:.2%}"},
    }
    summary = _summary(p, asof, ctx, tables["cover_headlines"])
    return WeeklyResult(asof=asof, tables=tables, subtitles=subtitles, notes=notes, summary=summary,
                        facts={"week": week, "source": src})


def _turnover_text(ctx: dict, zh: bool) -> str:
    rot = ctx.get("rotation")
    if rot is None:
        return ""
    s = rot.summary
    return (f";双边换手 {s['turnover_annual']:.0%}/年" if zh else f"; two-way turnover {s['turnover_annual']:.0%} a year")


def _style_ends_text(ctx: dict, asof: pd.Timestamp, zh: bool) -> str:
    """Which style pair's data ends before the as-of date, or is missing."""
    parts = []
    for pair, last in ctx.get("style_ends", {}).items():
        if pd.notna(last) and (asof - last).days > 10:
            name = {"size": ("大小盘", "size"), "growth": ("成长价值", "growth/value")}[pair][0 if zh else 1]
            parts.append(f"{name}数据截至{last:%Y-%m-%d}" if zh else f"{name} data end {last:%Y-%m-%d}")
    for miss in ctx.get("style_missing", []):
        parts.append(("缺少 " if zh else "missing ") + miss.split(":")[0])
    return ("(" + ";".join(parts) + ")") if parts and zh else (" (" + "; ".join(parts) + ")" if parts else "")


def compute_weekly_tables(market: Market, params: Params | None = None, asof=None) -> dict[str, pd.DataFrame | None]:
    """The tables of :func:`compute_weekly` only (key -> DataFrame, columns as in the layout)."""
    return compute_weekly(market, params, asof).tables
