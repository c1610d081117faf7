"""Industry-portfolio strategies from ETF flows (spec M7 backtest, M8, M10) and their engine.

* :func:`backtest_weights` — the engine: target weights decided at a rebalance date's close,
  held (drifting with prices) until the next rebalance, cost on traded value.
* :func:`quintile_backtest` — equal-weight portfolios of each factor group (M7, the report's
  short-term flow table) against industry equal weight.
* :func:`style_adjusted_factors` / :func:`style_holdings_weights` — M8: the regime picks group 5
  or group 1 of holding level (size regime) and of holding change (growth regime).
* :func:`composite_scores` / :func:`rotation_backtest` — M10: the four factors as cross-sectional
  percentile ranks, weighted mean, top N, equal weight, rebalanced every two weeks.

Frames are wide: index = date, columns = industry code. Weights are fractions of the portfolio.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .grouping import assign_groups
from .performance import performance_table

__all__ = [
    "backtest_weights", "equal_weight_benchmark", "asof", "rebalance_dates", "quintile_backtest",
    "short_term_flow", "style_adjusted_factors", "style_holdings_weights", "top_n_weights",
    "percentile_ranks", "composite_scores", "factor_correlation", "rotation_flags", "holdings_table",
    "BacktestResult", "RotationResult", "run_backtest", "rotation_backtest", "FACTOR_NAMES", "flow_rotation",
]

#: the four M10 factors, in the report's order
FACTOR_NAMES = ("short_term_flow", "style_level", "style_change", "divergence")


# ----------------------------------------------------------------------------- engine
@dataclass
class BacktestResult:
    """Output of :func:`backtest_weights`.

    nav : Series, index = trading date, strategy NAV (1 at the first rebalance date).
    returns : Series, daily returns (net of cost).
    weights : DataFrame, rebalance date x industry, target weights.
    turnover : Series, index = rebalance date, two-sided traded fraction Σ|w_new − w_drifted|.
    period_returns : DataFrame, rebalance date x industry, each holding's return over the
        period that starts at that rebalance (NaN for industries not held).
    """

    nav: pd.Series
    returns: pd.Series
    weights: pd.DataFrame
    turnover: pd.Series
    period_returns: pd.DataFrame


def _prices(close: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(close, pd.DataFrame):
        raise ValueError("`close` must be a DataFrame, index = date, columns = industry")
    if not close.index.is_monotonic_increasing:
        close = close.sort_index()
    return close.astype(float).ffill()  # carry a close over a missing day; NaN before an index starts


def backtest_weights(weights: pd.DataFrame, close: pd.DataFrame, cost: float = 0.0, end=None) -> BacktestResult:
    """Backtest target weights rebalanced on given dates (engine for M7–M10).

    Parameters
    ----------
    weights : DataFrame, index = rebalance date (a trading date of ``close``), columns =
        industry; each row sums to 1 (or is all 0 = cash). Decided with data up to that date's
        close and traded at that close.
    close : DataFrame, index = trading date, columns = industry, closes (forward-filled over gaps).
    cost : cost rate on traded value (two-sided), deducted from the NAV at each rebalance.
    end : optional last date of the NAV (default: last date of ``close``).

    Returns
    -------
    :class:`BacktestResult`

    Notes
    -----
    Between rebalances t_k < t ≤ t_{k+1}: ``NAV_t = NAV_{t_k} (1 − c·TO_k) Σ_i w_{k,i} P_{i,t} / P_{i,t_k}``
    (buy-and-hold drift), ``TO_k = Σ_i |w_{k,i} − w̃_{k,i}|`` with ``w̃`` the drifted weights just before
    the rebalance (0 before the first, so the initial purchase counts 1.0).
    """
    if cost < 0:
        raise ValueError("cost must be >= 0 (a rate on traded value, e.g. 0.001)")
    px = _prices(close)
    if end is not None:
        px = px.loc[:pd.Timestamp(end)]
    w = weights.reindex(columns=px.columns).fillna(0.0).astype(float).sort_index()
    w = w.loc[w.index < px.index[-1]]  # a rebalance on the last date would hold nothing
    if w.empty:
        raise ValueError("no rebalance date falls inside the price history")
    missing_dates = w.index.difference(px.index)
    if len(missing_dates):
        raise ValueError(f"rebalance date {missing_dates[0].date()} is not a trading date of the industry closes")
    sums = w.sum(axis=1)
    off = ((sums - 1).abs() > 1e-8) & (sums.abs() > 1e-12)
    if off.any():
        bad = sums.index[off][0]
        raise ValueError(f"weights on {bad.date()} sum to {sums[bad]:.6f}; each row must sum to 1 (or 0 for cash)")
    if (w < 0).to_numpy().any():
        raise ValueError("weights must be >= 0 (long-only industry portfolios)")
    pos = px.index.get_indexer(w.index)
    start_px = px.iloc[pos].to_numpy()
    held = w.to_numpy() > 0
    if np.isnan(start_px[held]).any():
        r, c = np.argwhere(np.isnan(start_px) & held)[0]
        raise ValueError(f"industry {w.columns[c]} is weighted on {w.index[r].date()} but has no close then")

    nav_parts, turnover, per_ret = [], [], []
    level = 1.0
    prev_w = np.zeros(w.shape[1])
    bounds = list(pos) + [len(px) - 1]
    px_v = px.to_numpy()
    w_v = w.to_numpy()
    for k in range(len(pos)):  # loop over rebalance periods only (vectorised within)
        a, b = bounds[k], bounds[k + 1]
        wk = w_v[k]
        to = float(np.abs(wk - prev_w).sum())
        turnover.append(to)
        seg = px_v[a:b + 1]
        rel = seg / seg[0]
        rel = np.where(np.isnan(rel), 1.0, rel)  # unheld industries without prices contribute nothing
        value = rel @ wk if wk.sum() > 0 else np.ones(len(seg))
        path = level * (1.0 - cost * to) * value
        path[0] = level  # the rebalance date shows the value before trading; the cost hits the next return
        nav_parts.append(path[1:] if k else path)
        per_ret.append(np.where(wk > 0, rel[-1] - 1.0, np.nan))
        end_val = rel[-1] * wk
        prev_w = end_val / end_val.sum() if end_val.sum() > 0 else np.zeros_like(wk)
        level = path[-1]
    nav = pd.Series(np.concatenate(nav_parts), index=px.index[bounds[0]:bounds[-1] + 1], name="nav")
    ret = nav.pct_change().iloc[1:]
    return BacktestResult(nav=nav, returns=ret, weights=w,
                          turnover=pd.Series(turnover, index=w.index, name="turnover"),
                          period_returns=pd.DataFrame(per_ret, index=w.index, columns=w.columns))


def equal_weight_benchmark(close: pd.DataFrame, dates: pd.DatetimeIndex, end=None) -> BacktestResult:
    """Industry equal weight (行业等权), re-weighted on ``dates`` over the industries with a close.

    Returns the :class:`BacktestResult` of equal weights on every industry that has a close on
    each date, no cost.
    """
    px = _prices(close)
    avail = px.reindex(pd.DatetimeIndex(dates)).notna()
    w = avail.astype(float).div(avail.sum(axis=1), axis=0)
    return backtest_weights(w, px, 0.0, end)


# ----------------------------------------------------------------------------- helpers
def asof(frame: pd.DataFrame | pd.Series, dates, max_age_days: int | None = None):
    """Rows of ``frame`` (index = date) as of each of ``dates`` (latest row on or before).

    Rows older than ``max_age_days`` calendar days become NaN. The result is indexed by ``dates``.
    """
    dates = pd.DatetimeIndex(dates)
    frame = frame.sort_index()
    pos = frame.index.searchsorted(dates, side="right") - 1
    ok = pos >= 0
    out = frame.iloc[np.where(ok, pos, 0)].copy()
    src = frame.index[np.where(ok, pos, 0)]
    out.index = dates
    stale = ~ok
    if max_age_days is not None:
        stale |= np.asarray((dates - src).days > max_age_days)
    if stale.any():
        out.loc[stale] = np.nan
    return out


def rebalance_dates(trading_days, every: int = 2, freq: str = "W", start=None, end=None) -> pd.DatetimeIndex:
    """Every ``every``-th week end (``freq="W"``) or month end (``"M"``) among trading days in [start, end]."""
    from .holdings import holding_dates
    d = holding_dates(trading_days, freq)
    if start is not None:
        d = d[d >= pd.Timestamp(start)]
    if end is not None:
        d = d[d <= pd.Timestamp(end)]
    return d[::every]


def top_n_weights(scores: pd.DataFrame, n: int = 6, ascending: bool = False) -> pd.DataFrame:
    """Equal weights on the top ``n`` scores of each row (ties by code), 0 elsewhere.

    ``ascending=True`` takes the lowest scores. Rows with fewer than ``n`` scores hold them all;
    rows with none are all 0 (cash).
    """
    cols = sorted(scores.columns, key=str)
    s = scores[cols].astype(float)
    vals = -s.to_numpy() if not ascending else s.to_numpy()
    order = np.argsort(np.where(np.isnan(vals), np.inf, vals), axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(len(s))[:, None], order] = np.arange(s.shape[1])[None, :]
    pick = (rank < n) & ~np.isnan(vals)
    cnt = pick.sum(axis=1, keepdims=True)
    w = np.where(pick, 1.0 / np.where(cnt == 0, 1, cnt), 0.0)
    return pd.DataFrame(w, index=s.index, columns=cols)[list(scores.columns)]


def percentile_ranks(factor: pd.DataFrame) -> pd.DataFrame:
    """Cross-sectional percentile rank per row (pandas ``rank(pct=True)``, average ties), NaN kept."""
    return factor.rank(axis=1, pct=True)


def _groups_weights(groups: pd.DataFrame, which: pd.DataFrame | int) -> pd.DataFrame:
    """Equal weights over the codes whose group equals ``which`` (scalar or per-row frame)."""
    g = groups.astype("float")
    target = which if np.isscalar(which) else which.reindex(g.index)
    mask = g.eq(target, axis=0) if not np.isscalar(which) else g.eq(target)
    mask = mask.fillna(False).astype(float)
    return mask.div(mask.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)


# ----------------------------------------------------------------------------- M7 quintile backtest
def short_term_flow(level: pd.DataFrame, holdings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Short-term flow factor (短期资金流入流出, M7): weekly change of holding level.

    Parameters
    ----------
    level : DataFrame, index = week end, columns = industry: weekly holding level (M6).
    holdings : optional weekly holdings (yuan) of the same shape; an industry held at neither
        end of the week (0 yuan both times) gets NaN — it carries no flow information.

    Returns
    -------
    DataFrame ``L_t − L_{t−1}``, same shape (first row NaN).
    """
    chg = level - level.shift(1)
    if holdings is not None:
        h = holdings.reindex_like(level)
        never = (h.fillna(0) <= 0) & (h.shift(1).fillna(0) <= 0)
        chg = chg.mask(never)
    return chg


def quintile_backtest(factor: pd.DataFrame, close: pd.DataFrame, groups: int = 5, cost: float = 0.0,
                      start=None, end=None, periods: int = 252) -> dict:
    """Equal-weight portfolio of each factor group, rebalanced on the factor's dates (M7).

    Parameters
    ----------
    factor : DataFrame, index = rebalance date (e.g. week ends), columns = industry.
    close : DataFrame, daily industry closes.
    groups : number of groups (:func:`xladdin.grouping.assign_groups`).
    cost : cost rate on traded value.
    start, end : optional range of rebalance dates / NAV end.

    Returns
    -------
    dict with ``nav`` (DataFrame, date x ["G1" … "Gk", "EW"]), ``table`` (index = G1 … Gk, EW;
    columns annual_return, volatility, sharpe, max_drawdown, excess_return, information_ratio — the
    report's table), ``groups`` (Int64 groups per rebalance date).

    Notes
    -----
    At rebalance date t the groups of ``factor_t`` are formed and held from t's close to the next
    rebalance; EW = equal weight of all industries with a close, re-weighted on the same dates.
    """
    f = factor.dropna(how="all")
    if start is not None:
        f = f.loc[pd.Timestamp(start):]
    if end is not None:
        f = f.loc[:pd.Timestamp(end)]
    px = _prices(close)
    f = f.loc[f.index.isin(px.index)]
    f = f.where(px.reindex(f.index).reindex(columns=f.columns).notna())
    if f.empty:
        raise ValueError("factor has no date that is also a trading date of the industry closes")
    g = assign_groups(f, groups)
    navs = {}
    for k in range(1, groups + 1):
        navs[f"G{k}"] = backtest_weights(_groups_weights(g, k), px, cost, end).nav
    bench = equal_weight_benchmark(px, f.index, end).nav
    navs["EW"] = bench
    nav = pd.DataFrame(navs)
    rows = {}
    for col in nav.columns:
        t = performance_table(nav[col], None if col == "EW" else bench, periods=periods).loc["Full period"]
        rows[col] = t[["annual_return", "volatility", "sharpe", "max_drawdown", "excess_return", "information_ratio"]]
    return {"nav": nav, "table": pd.DataFrame(rows).T, "groups": g}


# ----------------------------------------------------------------------------- M8
def style_adjusted_factors(level: pd.DataFrame, change: pd.DataFrame, size_regime: pd.Series,
                           growth_regime: pd.Series, dates=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Style-adjusted holding level and holding change (M8), as factor values.

    Parameters
    ----------
    level, change : DataFrame, index = date (month ends), columns = industry: holding level and
        its change (M6/M7).
    size_regime, growth_regime : Series, index = date (weekly), 1 = large-cap / growth leads,
        0 = small-cap / value (M5).
    dates : evaluation dates (default: the index of ``level``); values and regimes are taken as of
        each date (latest on or before).

    Returns
    -------
    (style_level, style_change) : DataFrames, index = dates, columns = industry.
    ``style_level = L`` when the size regime is 1, ``−L`` when 0; ``style_change = C`` when growth,
    ``−C`` when value; NaN where the regime is unknown. High values = the group M8 holds.
    """
    dates = pd.DatetimeIndex(level.index if dates is None else dates)
    L = asof(level, dates)
    C = asof(change.reindex(columns=level.columns), dates)
    s = asof(size_regime.astype(float), dates)
    gr = asof(growth_regime.astype(float), dates)
    sign_s = (2 * s - 1).where(s.isin([0.0, 1.0]))
    sign_g = (2 * gr - 1).where(gr.isin([0.0, 1.0]))
    return L.mul(sign_s, axis=0), C.mul(sign_g, axis=0)


def style_holdings_weights(style_level: pd.DataFrame, style_change: pd.DataFrame, groups: int = 5,
                           mix: float = 0.5) -> pd.DataFrame:
    """M8 portfolio: group ``groups`` of each style-adjusted factor, mixed ``mix`` / ``1 − mix``.

    Holding group 5 of ``style_level`` is holding group 5 of level in the large-cap regime and group
    1 in the small-cap regime (the sign flips the order; ties resolved by code). The two equal-weight
    sub-portfolios are combined with weights ``mix`` and ``1 − mix`` (chosen: 50/50; an industry in
    both gets both shares). A row with only one sub-portfolio available holds that one.

    Returns
    -------
    DataFrame, index = date, columns = industry, rows summing to 1 (0 where nothing is available).
    """
    a = _groups_weights(assign_groups(style_level, groups), groups)
    b = _groups_weights(assign_groups(style_change.reindex_like(style_level), groups), groups)
    ha, hb = a.sum(axis=1) > 0, b.sum(axis=1) > 0
    wa = np.where(ha & hb, mix, np.where(ha, 1.0, 0.0))
    wb = np.where(ha & hb, 1 - mix, np.where(hb, 1.0, 0.0))
    return a.mul(wa, axis=0) + b.mul(wb, axis=0)


# ----------------------------------------------------------------------------- M10
def composite_scores(factors: dict[str, pd.DataFrame], weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Composite score (M10): weighted mean of the factors' cross-sectional percentile ranks.

    Parameters
    ----------
    factors : name -> DataFrame (index = date, columns = industry); higher = more attractive.
    weights : name -> weight (default equal). Weights are renormalised over the factors an industry
        has on a date (a missing factor value is skipped, not treated as average).

    Returns
    -------
    DataFrame, index = union of dates, columns = union of industries; NaN where no factor exists.

    Notes
    -----
    ``S_{t,i} = Σ_f a_f · pct_rank_t(F_{f,t,i}) / Σ_{f: F_{f,t,i} known} a_f``.
    """
    if not factors:
        raise ValueError("no factor given")
    weights = weights or {k: 1.0 for k in factors}
    unknown = set(weights) - set(factors)
    if unknown:
        raise ValueError(f"weights for unknown factor(s) {sorted(unknown)}; factors: {sorted(factors)}")
    idx = sorted(set().union(*[f.index for f in factors.values()]))
    cols = sorted(set().union(*[f.columns for f in factors.values()]), key=str)
    num = pd.DataFrame(0.0, index=idx, columns=cols)
    den = pd.DataFrame(0.0, index=idx, columns=cols)
    for name, f in factors.items():
        a = float(weights.get(name, 0.0))
        if a == 0:
            continue
        r = percentile_ranks(f.reindex(index=idx, columns=cols))
        num += r.fillna(0.0) * a
        den += r.notna() * a
    return (num / den.where(den > 0)).rename_axis(index="date", columns="industry")


def factor_correlation(factors: dict[str, pd.DataFrame], method: str = "spearman") -> pd.DataFrame:
    """Mean over dates of the factors' cross-sectional correlations (M10 correlation matrix).

    Returns
    -------
    DataFrame factor x factor (diagonal 1).
    """
    names = list(factors)
    stacked = pd.concat({n: f.stack() for n, f in factors.items()}, axis=1).dropna()
    if stacked.empty:
        return pd.DataFrame(np.nan, index=names, columns=names)
    if method == "spearman":
        stacked = stacked.groupby(level=0).rank()
    out = stacked.groupby(level=0).corr().groupby(level=1).mean()
    return out.reindex(index=names, columns=names)


def rotation_flags(factors: dict[str, pd.DataFrame], style_weights: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The three 0/1 columns of the report's holdings table (M10).

    * ``flow_inflow`` (短期资金是否明显流入): short-term flow factor > 0 (net inflow).
    * ``style_advantage`` (风格调整后持仓是否有优势): the industry is in the M8 selection
      (``style_weights > 0``), or, without it, either style-adjusted factor is in its top group.
    * ``divergence_favoured`` (相对权益基金高配/低配): direction-adjusted divergence > 0, i.e.
      overweighted by ETFs vs active funds when issuance heat > 0, by active funds otherwise.
    """
    out = {}
    if "short_term_flow" in factors:
        out["flow_inflow"] = (factors["short_term_flow"] > 0).astype(int)
    if style_weights is not None:
        out["style_advantage"] = (style_weights > 0).astype(int)
    elif "style_level" in factors and "style_change" in factors:
        out["style_advantage"] = ((assign_groups(factors["style_level"]) == 5).fillna(False)
                                  | (assign_groups(factors["style_change"]) == 5).fillna(False)).astype(int)
    if "divergence" in factors:
        out["divergence_favoured"] = (factors["divergence"] > 0).astype(int)
    return out


def holdings_table(result: BacktestResult, benchmark: BacktestResult, flags: dict[str, pd.DataFrame],
                   names: pd.Series | None = None) -> pd.DataFrame:
    """Per-rebalance holdings table (M10 output 4).

    Returns
    -------
    DataFrame with columns rebalance_date, period_end, industry, name, weight, the flag columns,
    abs_return (the industry's return over the period), excess_return (abs_return − benchmark
    return over the same period). One row per held industry per rebalance.
    """
    w = result.weights
    held = w.stack()
    held = held[held > 0]
    held.index.names = ["rebalance_date", "industry"]
    df = held.rename("weight").reset_index()
    ends = list(w.index[1:]) + [result.nav.index[-1]]
    df["period_end"] = df["rebalance_date"].map(dict(zip(w.index, ends)))
    df["name"] = df["industry"].map(names) if names is not None else ""
    key = pd.MultiIndex.from_arrays([df["rebalance_date"], df["industry"]])
    for k, f in flags.items():
        df[k] = f.stack().reindex(key).to_numpy()
        df[k] = df[k].astype("Int64")
    df["abs_return"] = result.period_returns.stack().reindex(key).to_numpy()
    bnav = benchmark.nav
    b_start = bnav.reindex(df["rebalance_date"]).to_numpy()
    b_end = bnav.reindex(df["period_end"]).to_numpy()
    df["excess_return"] = df["abs_return"].to_numpy() - (b_end / b_start - 1.0)
    return df[["rebalance_date", "period_end", "industry", "name", "weight", *flags.keys(), "abs_return",
               "excess_return"]]


@dataclass
class RotationResult:
    """Output of :func:`run_backtest` / :func:`rotation_backtest`."""

    strategy: BacktestResult
    benchmark: BacktestResult
    table: pd.DataFrame
    holdings: pd.DataFrame
    scores: pd.DataFrame
    factors: dict[str, pd.DataFrame] = field(default_factory=dict)
    correlation: pd.DataFrame | None = None

    @property
    def nav(self) -> pd.DataFrame:
        """Strategy, benchmark and relative NAV, index = date."""
        s, b = self.strategy.nav, self.benchmark.nav.reindex(self.strategy.nav.index)
        return pd.DataFrame({"strategy": s, "benchmark": b, "relative": (s / s.iloc[0]) / (b / b.iloc[0])})


def run_backtest(weights: pd.DataFrame, close: pd.DataFrame, cost: float = 0.0, end=None,
                 flags: dict[str, pd.DataFrame] | None = None, names: pd.Series | None = None,
                 scores: pd.DataFrame | None = None, factors: dict[str, pd.DataFrame] | None = None,
                 periods: int = 252) -> RotationResult:
    """Backtest ``weights`` against industry equal weight on the same dates, with the M12 table."""
    res = backtest_weights(weights, close, cost, end)
    bench = equal_weight_benchmark(close, res.weights.index, end)
    table = performance_table(res.nav, bench.nav.reindex(res.nav.index), turnover=res.turnover, periods=periods)
    hold = holdings_table(res, bench, flags or {}, names)
    return RotationResult(res, bench, table, hold, scores if scores is not None else pd.DataFrame(), factors or {},
                          factor_correlation(factors) if factors else None)


def rotation_backtest(factors: dict[str, pd.DataFrame], close: pd.DataFrame, rebalance: pd.DatetimeIndex,
                      top: int = 6, factor_weights: dict[str, float] | None = None, cost: float = 0.0,
                      end=None, names: pd.Series | None = None, style_weights: pd.DataFrame | None = None,
                      periods: int = 252) -> RotationResult:
    """The composite ETF-flow industry rotation (M10).

    Parameters
    ----------
    factors : name -> DataFrame (index = date, columns = industry), higher = better; usually
        :data:`FACTOR_NAMES` (short-term flow, style-adjusted level, style-adjusted change,
        direction-adjusted divergence). Each is taken as of each rebalance date.
    close : daily industry closes.
    rebalance : rebalance dates (every two weeks: :func:`rebalance_dates`).
    top : industries held (6), equal weight.
    factor_weights : weights of the factors in the composite (default equal).
    cost : cost rate on traded value.
    names : industry code -> name for the holdings table.
    style_weights : optional M8 weights (for the style flag).

    Returns
    -------
    :class:`RotationResult` (strategy, benchmark, M12 table, holdings table, scores, factors,
    factor correlation).
    """
    px = _prices(close)
    rebalance = pd.DatetimeIndex(rebalance)
    rebalance = rebalance[rebalance.isin(px.index)]
    at = {k: asof(f, rebalance) for k, f in factors.items()}
    has_close = px.reindex(rebalance).notna()
    at = {k: f.reindex(columns=px.columns).where(has_close) for k, f in at.items()}
    scores = composite_scores(at, factor_weights).reindex(index=rebalance, columns=px.columns)
    scores = scores.dropna(how="all")
    if scores.empty:
        raise ValueError("no rebalance date has any factor value; check the factors' date ranges")
    w = top_n_weights(scores, top)
    sw = asof(style_weights, w.index).reindex(columns=px.columns) if style_weights is not None else None
    flags = rotation_flags({k: f.loc[w.index] for k, f in at.items()}, sw)
    return run_backtest(w, px, cost, end, flags, names, scores, at, periods)


# ----------------------------------------------------------------------------- market orchestration
def flow_rotation(market, start=None, end=None, top: int = 6, every: int = 2, cost: float = 0.0,
                  factor_weights: dict[str, float] | None = None, groups: int = 5, lamb: float | None = None,
                  window: int = 60, m8_every: int = 1, backtests: bool = True) -> dict:
    """Run M6–M10 on a market: the Huafu ETF-flow industry rotation and its building blocks.

    Parameters
    ----------
    market : :class:`xladdin.market.Market`. Needs etf_info, etf_daily, index_weights,
        stock_industry, industry_daily; uses index_daily (CSI 300 / CSI 1000, 399370 / 399371) for
        the M5 regimes and active_fund_holdings, fund_nav, fund_issuance for M9 when present.
        A factor whose data is missing is left out and named in ``notes``.
    start, end : range of the rebalance dates (and NAV end).
    top, every, cost, factor_weights : M10 settings (6 industries, every 2 weeks, cost rate, weights).
    groups : number of groups (M7/M8).
    lamb : HP smoothing of the style signals (default :data:`xladdin.style.DEFAULT_LAMBDA`).
    window : trailing window (days) of the M9 simulated active holdings.
    m8_every : M8 rebalance every ``m8_every`` weeks.
    backtests : False skips the stand-alone M8 and M9 backtests and the M7 quintile backtest
        (``m8``, ``m9`` and ``quintiles`` are then None); the factors, the M8 style weights and the
        M10 rotation are the same either way. The weekly workbook shows only M10.

    Returns
    -------
    dict: ``rotation`` (:class:`RotationResult`, M10), ``m8`` and ``m9`` (:class:`RotationResult`
    or None), ``quintiles`` (M7 short-term-flow quintile backtest), ``weekly_level``,
    ``monthly_level``, ``monthly_change``, ``short_term_flow``, ``regimes``, ``divergence`` (dict or
    None), ``notes`` (list of str: what was skipped and why).
    """
    from ._shared import scope
    with scope(market):
        return _flow_rotation(market, start, end, top, every, cost, factor_weights, groups, lamb, window, m8_every,
                              backtests)


def _flow_rotation(market, start, end, top: int, every: int, cost: float, factor_weights, groups: int,
                   lamb: float | None, window: int, m8_every: int, backtests: bool = True) -> dict:
    from . import holdings as hd
    from .market import MissingTableError

    notes: list[str] = []
    close = market.industry_close()
    names = market.industry_names
    wk_h = hd.industry_holdings(market, "W", end=end)
    wk_l = hd.holding_level(wk_h)
    stf = short_term_flow(wk_l, wk_h)
    mo_h = hd.industry_holdings(market, "M", end=end)
    mo_l = hd.holding_level(mo_h).dropna(how="all")
    mo_c = (mo_l - mo_l.shift(1)).iloc[1:]
    factors: dict[str, pd.DataFrame] = {"short_term_flow": stf.dropna(how="all")}

    regimes = pd.DataFrame()
    try:
        from .style import DEFAULT_LAMBDA, weekly_style_table
        lam = DEFAULT_LAMBDA if lamb is None else lamb
        for pair in ("size", "growth"):
            try:
                t = weekly_style_table(market, lam, pairs=(pair,))
                regimes[pair] = t[f"{pair}_regime"].astype(float)
            except (MissingTableError, KeyError) as exc:
                notes.append(f"{pair} regime unavailable ({str(exc).splitlines()[0][:120]}): its M8 factor is left out")
    except ImportError:  # pragma: no cover - style module missing
        notes.append("xladdin.style missing: no M5 regimes, M8 factors left out")
    m8 = None
    style_w = None
    if "size" in regimes:
        growth = regimes["growth"] if "growth" in regimes else pd.Series(np.nan, index=regimes.index)
        sl, sc = style_adjusted_factors(mo_l, mo_c, regimes["size"], growth, dates=regimes.index)
        tradable = asof(close, sl.index).notna().reindex(columns=sl.columns, fill_value=False)
        sl = sl.where(tradable).dropna(how="all")
        sc = sc.where(tradable.reindex_like(sc).fillna(False).astype(bool)).dropna(how="all")
        factors["style_level"] = sl
        if not sc.empty:
            factors["style_change"] = sc
        style_w = style_holdings_weights(sl, sc.reindex_like(sl), groups)
        m8_dates = rebalance_dates(close.index, m8_every, "W", start, end)
        w8 = asof(style_w, m8_dates).dropna(how="all")
        w8 = w8[w8.sum(axis=1) > 0]
        if len(w8) and backtests:
            m8 = run_backtest(w8.reindex(columns=close.columns).fillna(0.0), close, cost, end, names=names)
    div = None
    m9 = None
    needed = ("active_fund_holdings", "fund_nav", "fund_issuance")
    if all(market.has(t) for t in needed):
        from .divergence import market_divergence
        div = market_divergence(market, mo_l, window=window)
        directed = div["directed"].dropna(how="all")
        factors["divergence"] = directed
        m9_dates = rebalance_dates(close.index, 1, "M", start, end)
        d9 = asof(directed, m9_dates).dropna(how="all")
        d9 = d9.where(close.reindex(d9.index).reindex(columns=d9.columns).notna())
        if len(d9) and backtests:
            w9 = top_n_weights(d9, top).reindex(columns=close.columns).fillna(0.0)
            m9 = run_backtest(w9, close, cost, end, names=names)
    else:
        notes.append("no " + " / ".join(t for t in needed if not market.has(t))
                     + ": divergence (M9) left out")
    reb = rebalance_dates(close.index, every, "W", start, end)
    rot = rotation_backtest(factors, close, reb, top, factor_weights, cost, end, names, style_w)
    q = quintile_backtest(stf, close, groups, cost, start, end) if backtests else None
    return {"rotation": rot, "m8": m8, "m9": m9, "quintiles": q, "weekly_level": wk_l, "monthly_level": mo_l,
            "monthly_change": mo_c, "short_term_flow": stf, "regimes": regimes, "divergence": div,
            "notes": notes, "factors_used": list(factors)}
