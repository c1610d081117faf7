"""Industry-portfolio strategies from ETF flows (spec M7 backtest, M8, M9, M10).

Every backtest here runs on the one engine, :func:`xladdin.methods.backtest.backtest_weights` (execution
lag, cost on traded value, turnover, gross and net NAV), and every ranking on
:mod:`xladdin.methods.ranking` (ties within a tolerance; a cross-section with no spread gives no ranking,
and the strategy then keeps its holdings for that period).

* :func:`quintile_backtest` — equal-weight portfolios of each factor group (M7, the report's
  short-term flow table) against industry equal weight.
* :func:`style_adjusted_factors` / :func:`style_holdings_weights` — M8: the regime picks group 5
  or group 1 of holding level (size regime) and of holding change (growth regime).
* :func:`rotation_backtest` — M10: the four factors as cross-sectional percentile ranks
  (:func:`xladdin.methods.ranking.composite_scores`), top N (:func:`xladdin.methods.ranking.top_n_weights`), equal
  weight, rebalanced every two weeks.

Timing: a decision on date t uses data up to t's close and trades ``lag`` trading days later
(default 1). Defaults: cost 0.1% one-way on traded value (:data:`xladdin.methods.backtest.DEFAULT_COST`;
the report states none for industry baskets). A style regime older than
:data:`REGIME_MAX_AGE_DAYS` at a decision date is not used (a pair's data that ends is not carried
forward), nor is a factor value older than :data:`FACTOR_MAX_AGE_DAYS`.

Frames are wide: index = date, columns = industry code. Weights are fractions of the portfolio.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xladdin.conventions import TRADING_DAYS_PER_YEAR
from xladdin.data.ends import EffectiveEnd, market_effective_end
from xladdin.data.market import MissingTableError
from xladdin.data.views import scope
from xladdin.errors import DataError, Note, note_of

from . import holdings as hd
from .backtest import (
    DEFAULT_COST,
    DEFAULT_LAG,
    BacktestResult,
    backtest_summary,
    backtest_weights,
    equal_weights,
    returns_from_prices,
)
from .divergence import DEFAULT_TRAILING_WINDOW, market_divergence
from .grouping import DEFAULT_GROUPS, assign_groups
from .holdings import holding_dates
from .ranking import ATOL, RTOL, composite_scores, no_ranking, percentile_ranks, top_n_weights
from .stats import FULL_PERIOD, performance_table
from .style import DEFAULT_LAMBDA, STYLE_PAIRS, weekly_style_table

__all__ = [
    "equal_weight_benchmark", "asof", "rebalance_dates", "quintile_backtest", "clearly_positive",
    "short_term_flow", "style_adjusted_factors", "style_holdings_weights", "top_n_weights",
    "percentile_ranks", "composite_scores", "factor_correlation", "rotation_flags", "holdings_table",
    "RotationResult", "run_backtest", "rotation_backtest", "FACTOR_NAMES", "flow_rotation",
    "REGIME_MAX_AGE_DAYS", "FACTOR_MAX_AGE_DAYS", "DEFAULT_TOP_N", "DEFAULT_REBALANCE_WEEKS", "TOP_N_RANGE",
    "ROTATION_NEEDS", "DIVERGENCE_NEEDS", "rotation_end",
]

#: the four M10 factors, in the report's order
FACTOR_NAMES = ("short_term_flow", "style_level", "style_change", "divergence")
#: how the notes name them
FACTOR_WORDS = {"short_term_flow": "short-term flow", "style_level": "style-adjusted level",
                "style_change": "style-adjusted change", "divergence": "divergence"}
#: a weekly style regime older than this many calendar days at a decision date is not used (M8):
#: week-end signals are 0 days old at week-end decisions; 10 days allows one late week of index data
REGIME_MAX_AGE_DAYS = 10
#: industries held by the rotation and its rebalance period in weeks (M10, the report's)
DEFAULT_TOP_N = 6
DEFAULT_REBALANCE_WEEKS = 2
#: how many picks a setting may ask for (the sheet's top_n, ``XA_PICKS``' top)
TOP_N_RANGE = (1, 100)
#: first decision date of the report's M10 backtest (seed 001: 2019-10-08 to 2026-01-30): the one default start
#: of the rotation backtest, the weekly workbook's ``backtest_start`` and ``xladdin backtest rotation --start``
#: (``flow_rotation(start=None)`` itself, a function of any data, starts at the data's first date)
DEFAULT_BACKTEST_START = pd.Timestamp("2019-10-08")
#: a factor value older than this many calendar days at a rebalance is not used (M10; covers the
#: monthly factors, whose values are up to a month old between month ends)
FACTOR_MAX_AGE_DAYS = 45
#: the tables every M6-M10 result reads (M6 penetration of ETF sizes, industry returns); their effective end
#: (:mod:`xladdin.data.ends`) is where the rotation, its factors and its backtests stop
ROTATION_NEEDS = {"etf_info": None, "etf_daily": None, "index_weights": None, "stock_industry": None,
                  "industry_daily": None}
#: the tables of the M9 divergence factor alone: past their effective end the factor gives no value
DIVERGENCE_NEEDS = {"active_fund_holdings": None, "fund_nav": None, "fund_issuance": None}


# ----------------------------------------------------------------------------- helpers
def _prices(close: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(close, pd.DataFrame):
        raise ValueError("`close` must be a DataFrame, index = date, columns = industry")
    if not close.index.is_monotonic_increasing:
        close = close.sort_index()
    return close.astype(float).ffill()  # carry a close over a missing day; NaN before an index starts


def equal_weight_benchmark(close: pd.DataFrame, dates: pd.DatetimeIndex, lag: int = DEFAULT_LAG,
                           end=None) -> BacktestResult:
    """Industry equal weight (行业等权), re-weighted on ``dates`` over the industries with a close.

    Decided on each of ``dates`` (equal weights over the industries with a close that day), traded
    ``lag`` days later, no cost: :func:`xladdin.methods.backtest.backtest_weights`.
    """
    px = _prices(close)
    dates = pd.DatetimeIndex(dates)
    w = equal_weights(px.reindex(dates).notna())
    return backtest_weights(w, returns_from_prices(px), 0.0, lag, end)


def asof(frame: pd.DataFrame | pd.Series, dates, max_age_days: int | None = None):
    """Rows of ``frame`` (index = date) as of each of ``dates`` (latest row on or before).

    Rows older than ``max_age_days`` calendar days become NaN (nothing is carried past that age).
    The result is indexed by ``dates``.
    """
    dates = pd.DatetimeIndex(dates)
    frame = frame.sort_index()
    if frame.empty:
        if isinstance(frame, pd.Series):
            return pd.Series(np.nan, index=dates, name=frame.name)
        return pd.DataFrame(np.nan, index=dates, columns=frame.columns)
    pos = frame.index.searchsorted(dates, side="right") - 1
    ok = pos >= 0
    out = frame.iloc[np.where(ok, pos, 0)].copy()
    src = frame.index[np.where(ok, pos, 0)]
    out.index = dates
    stale = ~ok
    if max_age_days is not None:
        stale |= np.asarray((dates - src).days > max_age_days)
    if stale.any():
        out = out.astype(float) if isinstance(out, pd.Series) else out.astype(float)
        out.loc[stale] = np.nan
    return out


def rebalance_dates(trading_days, every: int = DEFAULT_REBALANCE_WEEKS, freq: str = "W", start=None, end=None) -> pd.DatetimeIndex:
    """Every ``every``-th week end (``freq="W"``) or month end (``"M"``) among trading days in [start, end]."""
    d = holding_dates(trading_days, freq)
    if start is not None:
        d = d[d >= pd.Timestamp(start)]
    if end is not None:
        d = d[d <= pd.Timestamp(end)]
    return d[::every]


def clearly_positive(values: pd.DataFrame, rtol: float = RTOL, atol: float = ATOL) -> pd.DataFrame:
    """1 where a value exceeds its cross-section's tie tolerance ``max(rtol × max|x|, atol)``, else 0
    (``<NA>`` where missing): "clearly above 0", not rounding noise (M10 holdings-table flags)."""
    v = values.astype(float)
    tol = np.maximum(rtol * v.abs().max(axis=1).fillna(0.0), atol)
    out = v.gt(tol, axis=0).astype("Int64")
    return out.mask(v.isna())


def _groups_weights(groups: pd.DataFrame, which: pd.DataFrame | int) -> pd.DataFrame:
    """Equal weights over the codes whose group equals ``which`` (scalar or per-row frame).

    A row with no group at all (no ranking that date) is all NaN: no decision, holdings kept.
    """
    g = groups.astype("float")
    target = which if np.isscalar(which) else which.reindex(g.index)
    mask = g.eq(target, axis=0) if not np.isscalar(which) else g.eq(target)
    mask = mask.fillna(False).astype(float)
    w = mask.div(mask.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    return w.mask(g.isna().all(axis=1), np.nan)


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


def _no_rank_count(frame: pd.DataFrame) -> int:
    """Rows of ``frame`` that give no ranking (no value, or no spread: :func:`xladdin.methods.ranking.no_ranking`)."""
    return int(no_ranking(frame).sum()) if len(frame) else 0


def quintile_backtest(factor: pd.DataFrame, close: pd.DataFrame, groups: int = DEFAULT_GROUPS, cost: float = DEFAULT_COST,
                      lag: int = DEFAULT_LAG, start=None, end=None, periods: int = TRADING_DAYS_PER_YEAR) -> dict:
    """Equal-weight portfolio of each factor group, rebalanced on the factor's dates (M7).

    Parameters
    ----------
    factor : DataFrame, index = decision date (e.g. week ends), columns = industry.
    close : DataFrame, daily industry closes.
    groups : number of groups (:func:`xladdin.methods.grouping.assign_groups`, ties within the tolerance).
    cost : one-way cost rate on traded value (default 0.1%).
    lag : execution lag in trading days (default 1).
    start, end : optional range of decision dates / NAV end.

    Returns
    -------
    dict with ``nav`` (net NAVs, date x ["G1" … "Gk", "EW"]), ``nav_gross``, ``table`` (index =
    G1 … Gk, EW; columns annual_return (net), annual_return_gross, volatility, sharpe,
    max_drawdown, excess_return (net), excess_return_gross, information_ratio, turnover (two-sided,
    per year) — the report's table, gross and net), ``groups`` (Int64 groups per decision date),
    ``results`` (the engine's result per group), ``periods`` (decision dates),
    ``periods_without_ranking`` (decision dates whose cross-section gives no groups: the portfolios
    keep their holdings then), ``lag``, ``cost``. A factor that ranks on no date gives no portfolio:
    ``nav``, ``nav_gross`` and ``table`` are None and ``periods_without_ranking == periods``.

    Notes
    -----
    At decision date t the groups of ``factor_t`` are formed, traded ``lag`` days later and held to
    the next trade; EW = equal weight of all industries with a close, re-weighted on the same
    dates, no cost. The portfolios start at the first date with a ranking.
    """
    px = _prices(close)
    f = factor.loc[factor.index.isin(px.index)]
    if start is not None:
        f = f.loc[pd.Timestamp(start):]
    if end is not None:
        f = f.loc[:pd.Timestamp(end)]
    f = f.where(px.reindex(f.index).reindex(columns=f.columns).notna())
    if f.empty:
        raise ValueError("factor has no date that is also a trading date of the industry closes")
    g = assign_groups(f, groups)
    ranked = g.notna().any(axis=1)
    n_dates, n_unranked = int(len(f)), int((~ranked).sum())
    if not ranked.any():  # nothing to hold: no portfolio, the counts say why
        return {"nav": None, "nav_gross": None, "table": None, "groups": g, "results": {}, "periods": n_dates,
                "periods_without_ranking": n_unranked, "lag": int(lag), "cost": float(cost)}
    first = ranked[ranked].index[0]
    g, f = g.loc[first:], f.loc[first:]
    rets = returns_from_prices(px)
    results = {f"G{k}": backtest_weights(_groups_weights(g, k), rets, cost, lag, end) for k in range(1, groups + 1)}
    bench = equal_weight_benchmark(px, f.index, lag, end)
    nav = pd.DataFrame({k: r.nav for k, r in results.items()} | {"EW": bench.nav})
    nav_gross = pd.DataFrame({k: r.nav_gross for k, r in results.items()} | {"EW": bench.nav_gross})
    rows = {}
    for col in nav.columns:
        b = None if col == "EW" else nav["EW"]
        net = performance_table(nav[col], b, periods=periods).loc[FULL_PERIOD]
        gross = performance_table(nav_gross[col], b, periods=periods).loc[FULL_PERIOD]
        rows[col] = {"annual_return": net["annual_return"], "annual_return_gross": gross["annual_return"],
                     "volatility": net["volatility"], "sharpe": net["sharpe"], "max_drawdown": net["max_drawdown"],
                     "excess_return": net["excess_return"], "excess_return_gross": gross["excess_return"],
                     "information_ratio": net["information_ratio"],
                     "turnover": results[col].turnover_annual(periods) if col in results else np.nan}
    return {"nav": nav, "nav_gross": nav_gross, "table": pd.DataFrame(rows).T, "groups": g, "results": results,
            "periods": n_dates, "periods_without_ranking": n_unranked, "lag": int(lag), "cost": float(cost)}


# ----------------------------------------------------------------------------- M8
def style_adjusted_factors(level: pd.DataFrame, change: pd.DataFrame, size_regime: pd.Series,
                           growth_regime: pd.Series, dates=None, regime_max_age: int | None = REGIME_MAX_AGE_DAYS,
                           factor_max_age: int | None = FACTOR_MAX_AGE_DAYS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Style-adjusted holding level and holding change (M8), as factor values.

    Parameters
    ----------
    level, change : DataFrame, index = date (month ends), columns = industry: holding level and
        its change (M6/M7).
    size_regime, growth_regime : Series, index = date (weekly), 1 = large-cap / growth leads,
        0 = small-cap / value (M5).
    dates : evaluation dates (default: the index of ``level``); values and regimes are taken as of
        each date (latest on or before).
    regime_max_age : a regime older than this many calendar days at a date is not used (NaN):
        a pair whose data ends stops giving a regime instead of its last one being carried forward.
    factor_max_age : the same for the level and change values.

    Returns
    -------
    (style_level, style_change) : DataFrames, index = dates, columns = industry.
    ``style_level = L`` when the size regime is 1, ``−L`` when 0; ``style_change = C`` when growth,
    ``−C`` when value; NaN where the regime is unknown or stale. High values = the group M8 holds.
    """
    dates = pd.DatetimeIndex(level.index if dates is None else dates)
    L = asof(level, dates, factor_max_age)
    C = asof(change.reindex(columns=level.columns), dates, factor_max_age)
    s = asof(size_regime.astype(float).dropna(), dates, regime_max_age)
    gr = asof(growth_regime.astype(float).dropna(), dates, regime_max_age)
    sign_s = (2 * s - 1).where(s.isin([0.0, 1.0]))
    sign_g = (2 * gr - 1).where(gr.isin([0.0, 1.0]))
    return L.mul(sign_s, axis=0), C.mul(sign_g, axis=0)


def style_holdings_weights(style_level: pd.DataFrame, style_change: pd.DataFrame, groups: int = DEFAULT_GROUPS,
                           mix: float = 0.5) -> pd.DataFrame:
    """M8 portfolio: group ``groups`` of each style-adjusted factor, mixed ``mix`` / ``1 − mix``.

    Holding group 5 of ``style_level`` is holding group 5 of level in the large-cap regime and group
    1 in the small-cap regime (the sign flips the order; ties within the tolerance resolved by code).
    The two equal-weight sub-portfolios are combined with weights ``mix`` and ``1 − mix`` (chosen:
    50/50; an industry in both gets both shares). A row with only one sub-portfolio available holds
    that one; a row with neither (no regime, no ranking) is all NaN: no decision, holdings kept.

    Returns
    -------
    DataFrame, index = date, columns = industry, rows summing to 1 (NaN rows: no decision).
    """
    a = _groups_weights(assign_groups(style_level, groups), groups)
    b = _groups_weights(assign_groups(style_change.reindex_like(style_level), groups), groups)
    ha, hb = a.sum(axis=1, min_count=1) > 0, b.sum(axis=1, min_count=1) > 0
    wa = np.where(ha & hb, mix, np.where(ha, 1.0, 0.0))
    wb = np.where(ha & hb, 1 - mix, np.where(hb, 1.0, 0.0))
    out = a.fillna(0.0).mul(wa, axis=0) + b.fillna(0.0).mul(wb, axis=0)
    return out.mask(~(ha | hb), np.nan)


# ----------------------------------------------------------------------------- M10
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

    * ``flow_inflow`` (短期资金是否明显流入): short-term flow factor clearly > 0
      (:func:`clearly_positive`: above the cross-section's tie tolerance, not rounding noise).
    * ``style_advantage`` (风格调整后持仓是否有优势): the industry is in the M8 selection
      (``style_weights > 0``), or, without it, either style-adjusted factor is in its top group.
    * ``divergence_favoured`` (相对权益基金高配/低配): direction-adjusted divergence clearly > 0,
      i.e. overweighted by ETFs vs active funds when issuance heat > 0, by active funds otherwise.
    """
    out = {}
    if "short_term_flow" in factors:
        out["flow_inflow"] = clearly_positive(factors["short_term_flow"])
    if style_weights is not None:
        out["style_advantage"] = (style_weights > 0).astype(int)
    elif "style_level" in factors and "style_change" in factors:
        out["style_advantage"] = ((assign_groups(factors["style_level"]) == 5).fillna(False)
                                  | (assign_groups(factors["style_change"]) == 5).fillna(False)).astype(int)
    if "divergence" in factors:
        out["divergence_favoured"] = clearly_positive(factors["divergence"])
    return out


def holdings_table(result: BacktestResult, benchmark: BacktestResult, flags: dict[str, pd.DataFrame],
                   names: pd.Series | None = None) -> pd.DataFrame:
    """Per-rebalance holdings table (M10 output 4).

    Returns
    -------
    DataFrame with columns rebalance_date (the decision date), trade_date (the close traded at),
    period_end (the next trade date), industry, name, weight, the flag columns, abs_return (the
    industry's return from the trade to the period end), excess_return (abs_return − benchmark
    return over the same period). One row per held industry per executed rebalance.
    """
    w = result.weights
    held = w.stack()
    held = held[held > 0]
    held.index.names = ["rebalance_date", "industry"]
    df = held.rename("weight").reset_index()
    tr = result.trades
    df["trade_date"] = df["rebalance_date"].map(tr["trade_date"])
    df["period_end"] = df["rebalance_date"].map(tr["period_end"])
    df["name"] = df["industry"].map(names) if names is not None else ""
    key = pd.MultiIndex.from_arrays([df["rebalance_date"], df["industry"]])
    for k, f in flags.items():
        df[k] = pd.array(f.stack().reindex(key).to_numpy(), dtype="Float64").astype("Int64")
    df["abs_return"] = result.period_returns.stack().reindex(key).to_numpy()
    bnav = benchmark.nav_gross
    b_start = bnav.reindex(df["trade_date"]).to_numpy()
    b_end = bnav.reindex(df["period_end"]).to_numpy()
    df["excess_return"] = df["abs_return"].to_numpy() - (b_end / b_start - 1.0)
    return df[["rebalance_date", "trade_date", "period_end", "industry", "name", "weight", *flags.keys(),
               "abs_return", "excess_return"]]


@dataclass
class RotationResult:
    """Output of :func:`run_backtest` / :func:`rotation_backtest`.

    ``table`` is the M12 table of the net NAV (turnover per year included), ``table_gross`` that of
    the gross NAV; ``summary`` the headline figures (:func:`xladdin.methods.backtest.backtest_summary`) plus
    ``periods`` and ``periods_without_ranking`` (decision dates a factor / the composite could not
    rank: factor name -> count, ``"composite"``: dates without any decision, holdings kept).
    """

    strategy: BacktestResult
    benchmark: BacktestResult
    table: pd.DataFrame
    holdings: pd.DataFrame
    scores: pd.DataFrame
    factors: dict[str, pd.DataFrame] = field(default_factory=dict)
    correlation: pd.DataFrame | None = None
    table_gross: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)

    @property
    def nav(self) -> pd.DataFrame:
        """Strategy (net), strategy gross, benchmark and relative (net) NAV, index = date."""
        s, b = self.strategy.nav, self.benchmark.nav.reindex(self.strategy.nav.index)
        return pd.DataFrame({"strategy": s, "strategy_gross": self.strategy.nav_gross, "benchmark": b,
                             "relative": (s / s.iloc[0]) / (b / b.iloc[0])})


def run_backtest(weights: pd.DataFrame, close: pd.DataFrame, cost: float = DEFAULT_COST, lag: int = DEFAULT_LAG,
                 end=None, flags: dict[str, pd.DataFrame] | None = None, names: pd.Series | None = None,
                 scores: pd.DataFrame | None = None, factors: dict[str, pd.DataFrame] | None = None,
                 periods: int = TRADING_DAYS_PER_YEAR, no_rank: dict[str, int] | None = None) -> RotationResult:
    """Backtest ``weights`` against industry equal weight on the same decision dates, with the M12 tables.

    ``weights``: index = decision dates (all of them; an all-NaN row = no decision that date, the
    holdings are kept and the benchmark still re-weights). The benchmark is decided on the same
    dates from the strategy's first decision, traded with the same lag, without cost.
    """
    px = _prices(close)
    res = backtest_weights(weights, returns_from_prices(px), cost, lag, end)
    dates = pd.DatetimeIndex(weights.index)
    bench = equal_weight_benchmark(px, dates[dates >= res.weights.index[0]], lag, end)
    bnav = bench.nav.reindex(res.nav.index)
    table = performance_table(res.nav, bnav, turnover=res.turnover, periods=periods)
    table_gross = performance_table(res.nav_gross, bnav, turnover=res.turnover, periods=periods)
    hold = holdings_table(res, bench, flags or {}, names)
    summary = backtest_summary(res, bnav, periods)
    decided = weights.loc[weights.index >= res.weights.index[0]]
    summary["periods"] = int(len(decided))
    summary["periods_without_ranking"] = dict(no_rank or {}) | {
        "composite": int(decided.isna().all(axis=1).sum())}
    return RotationResult(res, bench, table, hold, scores if scores is not None else pd.DataFrame(), factors or {},
                          factor_correlation(factors) if factors else None, table_gross, summary)


def rotation_backtest(factors: dict[str, pd.DataFrame], close: pd.DataFrame, rebalance: pd.DatetimeIndex,
                      top: int = DEFAULT_TOP_N, factor_weights: dict[str, float] | None = None, cost: float = DEFAULT_COST,
                      lag: int = DEFAULT_LAG, end=None, names: pd.Series | None = None,
                      style_weights: pd.DataFrame | None = None, periods: int = TRADING_DAYS_PER_YEAR,
                      factor_max_age: int | None = FACTOR_MAX_AGE_DAYS,
                      factor_ends: dict[str, pd.Timestamp] | None = None) -> RotationResult:
    """The composite ETF-flow industry rotation (M10).

    Parameters
    ----------
    factors : name -> DataFrame (index = date, columns = industry), higher = better; usually
        :data:`FACTOR_NAMES` (short-term flow, style-adjusted level, style-adjusted change,
        direction-adjusted divergence). Each is taken as of each rebalance date (at most
        ``factor_max_age`` calendar days old).
    close : daily industry closes.
    rebalance : decision dates (every two weeks: :func:`rebalance_dates`).
    top : industries held (6), equal weight.
    factor_weights : weights of the factors in the composite (default equal).
    cost, lag : one-way cost on traded value, execution lag (trading days).
    names : industry code -> name for the holdings table.
    style_weights : optional M8 weights (for the style flag).
    factor_ends : name -> the last date that factor's own inputs are current (:mod:`xladdin.data.ends`):
        no value of it is used at a rebalance after that date (it gives no ranking there).

    Returns
    -------
    :class:`RotationResult` (strategy, benchmark, M12 tables net and gross, holdings table, scores,
    factors, factor correlation, summary with the periods without ranking per factor).

    Notes
    -----
    A factor with no ranking on a date (no value, or no spread) is left out of that date's
    composite, and a factor that ranks on no date at all leaves the composite to the others (its
    count of dates without ranking is all of them); a date where no factor ranks gives no decision
    (holdings kept).
    """
    px = _prices(close)
    rebalance = pd.DatetimeIndex(rebalance)
    rebalance = rebalance[rebalance.isin(px.index)]
    at = {k: asof(f, rebalance, factor_max_age) for k, f in factors.items()}
    for k, last in (factor_ends or {}).items():
        if k in at and last is not None:
            f = at[k].astype(float)
            f.loc[f.index > pd.Timestamp(last)] = np.nan
            at[k] = f
    has_close = px.reindex(rebalance).notna()
    at = {k: f.reindex(columns=px.columns).where(has_close) for k, f in at.items()}
    scores = composite_scores(at, factor_weights).reindex(index=rebalance, columns=px.columns)
    ranked = scores.notna().any(axis=1)
    if not ranked.any():
        counts = ", ".join(f"{k} {_no_rank_count(f)}/{len(f)}" for k, f in at.items())
        spans = "; ".join(f"{k} {_dates_of(f)}" for k, f in factors.items())
        raise ValueError(f"no rebalance date of the backtest ({_dates_of(pd.DataFrame(index=rebalance))}) has a "
                         f"factor ranking (factor values: {spans}; dates without a ranking: {counts}): the factors "
                         "need ETF shares and index weights over the backtest period; move its start into the "
                         "factors' dates or provide longer data")
    first = ranked[ranked].index[0]
    scores = scores.loc[first:]
    at = {k: f.loc[first:] for k, f in at.items()}
    w = top_n_weights(scores, top)
    sw = asof(style_weights, w.index).reindex(columns=px.columns) if style_weights is not None else None
    flags = rotation_flags(at, sw)
    no_rank = {k: _no_rank_count(f) for k, f in at.items()}
    return run_backtest(w, px, cost, lag, end, flags, names, scores, at, periods, no_rank)


# ----------------------------------------------------------------------------- market orchestration
def flow_rotation(market, start=None, end=None, top_n: int = DEFAULT_TOP_N, rebalance_weeks: int = DEFAULT_REBALANCE_WEEKS,
                  cost: float = DEFAULT_COST, factor_weights: dict[str, float] | None = None, groups: int = DEFAULT_GROUPS,
                  hp_lambda: float | None = None, trailing_window: int = DEFAULT_TRAILING_WINDOW, m8_every: int = 1,
                  backtests: bool = True, lag: int = DEFAULT_LAG,
                  regime_max_age: int | None = REGIME_MAX_AGE_DAYS, weights=None,
                  style_tables: dict | None = None) -> dict:
    """Run M6–M10 on a market: the Huafu ETF-flow industry rotation and its building blocks.

    Parameters
    ----------
    market : :class:`xladdin.data.market.Market`. Needs etf_info, etf_daily, index_weights,
        stock_industry, industry_daily; uses index_daily (CSI 300 / CSI 1000, 399370 / 399371) for
        the M5 regimes and active_fund_holdings, fund_nav, fund_issuance for M9 when present.
        A factor whose data is missing is left out and named in ``notes``.
    start, end : range of the decision dates (and NAV end).
    top_n, rebalance_weeks, factor_weights : M10 settings (6 industries, every 2 weeks, factor weights).
    cost : one-way cost on traded value of every backtest (default 0.1%, the spec's default for
        industry baskets: the report states none).
    lag : execution lag in trading days of every backtest (default 1).
    groups : number of groups (M7/M8).
    hp_lambda : HP smoothing of the style signals (default :data:`xladdin.methods.style.DEFAULT_LAMBDA`).
    trailing_window : trailing window (days) of the M9 simulated active holdings.
    m8_every : M8 rebalance every ``m8_every`` weeks.
    backtests : False skips the stand-alone M8 and M9 backtests and the M7 quintile backtest
        (``m8``, ``m9`` and ``quintiles`` are then None); the factors, the M8 style weights and the
        M10 rotation are the same either way. The weekly workbook shows only M10.
    regime_max_age : a style regime older than this many calendar days at a decision is not used
        (:func:`style_adjusted_factors`); the notes say from when a pair stops giving regimes.
    weights : :func:`xladdin.methods.holdings.penetration_weights` of ``market`` when the caller has it
        (else computed here, once for the weekly and the monthly holdings).
    style_tables : the M5 tables the caller computed already: pair -> its
        :func:`xladdin.methods.style.weekly_style_table` (``pairs=(pair,)``, lambda ``hp_lambda``), or the error
        that computing it raised (:func:`style_pair_tables`); else computed here.

    Returns
    -------
    dict: ``rotation`` (:class:`RotationResult`, M10), ``m8`` and ``m9`` (:class:`RotationResult`
    or None), ``quintiles`` (M7 short-term-flow quintile backtest), ``weekly_level``,
    ``monthly_level``, ``monthly_change``, ``short_term_flow``, ``regimes``, ``divergence`` (dict or
    None), ``notes`` (list of str: what was skipped and why), ``factors_used``, ``lag``, ``cost``,
    ``effective_end`` (:class:`xladdin.data.ends.EffectiveEnd` of :data:`ROTATION_NEEDS` capped at ``end``:
    every result stops there, :func:`rotation_end`) and ``end`` (its last industry trading day).
    A factor whose own inputs end earlier (M9's fund tables) gives no value after their end.
    """
    with scope(market):
        return _flow_rotation(market, start, end, top_n, rebalance_weeks, cost, factor_weights, groups, hp_lambda,
                              trailing_window, m8_every, backtests, lag, regime_max_age, weights, style_tables)


def style_pair_tables(market, hp_lambda: float | None = None) -> dict:
    """pair -> :func:`xladdin.methods.style.weekly_style_table` of that pair alone (M5), or the
    :class:`~xladdin.data.market.MissingTableError` / ``KeyError`` / ``ValueError`` computing it raised
    (a pair without closes); every pair of :data:`xladdin.methods.style.STYLE_PAIRS`, in order."""
    lam = DEFAULT_LAMBDA if hp_lambda is None else hp_lambda
    out: dict = {}
    for pair in STYLE_PAIRS:
        try:
            out[pair] = weekly_style_table(market, lam, pairs=(pair,))
        except (MissingTableError, KeyError, ValueError) as exc:
            out[pair] = exc
    return out


def _regimes(tables: dict, notes: list[str]) -> pd.DataFrame:
    """Weekly M5 regimes per style pair that has data (columns ``size``, ``growth``); the others noted."""
    cols = {}
    for pair in ("size", "growth"):
        t = tables[pair]
        if isinstance(t, Exception):
            notes.append(Note("strategy.regime_unavailable", f"{pair} regime unavailable "
                              f"({str(t).splitlines()[0][:200]}): its M8 factor is left out", pair=pair,
                              cause=note_of(t)))
        else:
            cols[pair] = t[f"{pair}_regime"].astype(float).dropna()
    return pd.DataFrame(cols)


def rotation_end(market, start=None, end=None) -> EffectiveEnd:
    """Where M6-M10 on ``market`` stop: the effective end of :data:`ROTATION_NEEDS`, capped at ``end``
    (:func:`xladdin.data.ends.market_effective_end`). A :class:`~xladdin.errors.DataError` names the input
    that ends first when ``start`` lies after it: nothing in the window can be computed."""
    eff = market_effective_end(market, ROTATION_NEEDS, cap=end)
    if start is not None and eff.end is not None and pd.Timestamp(start) > eff.end:
        lim = eff.limit
        why = (f"{lim.text()}, current to {lim.until:%Y-%m-%d}: load newer {lim.table} or start earlier"
               if lim is not None else "the end comes before the start")
        raise DataError(f"nothing to compute from {pd.Timestamp(start):%Y-%m-%d}: the rotation's inputs are current "
                        f"only to {eff.end:%Y-%m-%d} ({why})")
    return eff


def _dates_of(frame: pd.DataFrame) -> str:
    """``first .. last`` date of the rows of ``frame`` holding a value (every row when it has no columns)."""
    rows = frame.index if frame.shape[1] == 0 else frame.dropna(how="all").index
    return f"{rows.min():%Y-%m-%d} .. {rows.max():%Y-%m-%d}" if len(rows) else "none"


def _no_period(days: pd.DatetimeIndex, start, end) -> str:
    """Why a backtest has no rebalance date: its start and end against the industry closes' dates."""
    have = f"the industry closes cover {days.min():%Y-%m-%d} .. {days.max():%Y-%m-%d}" if len(days) else \
        "industry_daily has no closes"
    period = " .. ".join(f"{pd.Timestamp(d):%Y-%m-%d}" if d is not None else "open" for d in (start, end))
    return (f"no weekly rebalance date in the backtest period {period} ({have}): set the backtest start "
            "(backtest_start / --start) before the as-of date and within the data")


def _flow_rotation(market, start, end, top: int, every: int, cost: float, factor_weights, groups: int,
                   lamb: float | None, window: int, m8_every: int, backtests: bool, lag: int,
                   regime_max_age: int | None, weights=None, style_tables: dict | None = None) -> dict:
    notes: list[str] = []
    close = market.industry_close()
    if rebalance_dates(close.index, every, "W", start, end).empty:  # a period outside the data: a bad setting
        raise ValueError(_no_period(close.index, start, end))
    eff = rotation_end(market, start, end)  # a period past the inputs' currency: not computed, naming the input
    end = eff.on(close.index) if eff.end is not None else end
    if eff.limit is not None:
        notes.append(Note("strategy.limited", f"{eff.text()}: M6-M10 run to {end:%Y-%m-%d}, never on older data "
                          "carried past that", table=eff.limit.name, last=eff.limit.last, until=eff.limit.until,
                          end=end))
    names = market.industry_names
    reb = rebalance_dates(close.index, every, "W", start, end)
    weights = hd.penetration_weights(market) if weights is None else weights
    wk_h = hd.industry_holdings(market, "W", end=end, weights=weights)
    wk_l = hd.holding_level(wk_h)
    stf = short_term_flow(wk_l, wk_h)
    mo_h = hd.industry_holdings(market, "M", end=end, weights=weights)
    mo_l = hd.holding_level(mo_h).dropna(how="all")
    mo_c = (mo_l - mo_l.shift(1)).iloc[1:]
    factors: dict[str, pd.DataFrame] = {"short_term_flow": stf.dropna(how="all")}

    regimes = _regimes(style_pair_tables(market, lamb) if style_tables is None else style_tables, notes)
    m8, style_w = _style_factors(factors, regimes, mo_l, mo_c, close, names, start, end, cost, lag, groups, m8_every,
                                 backtests, regime_max_age, notes)
    div, m9, div_end = _divergence_factor(market, factors, mo_l, close, names, start, end, top, cost, lag, window,
                                          backtests, notes)
    rot = rotation_backtest(factors, close, reb, top, factor_weights, cost, lag, end, names, style_w,
                            factor_ends={"divergence": div_end})
    q = quintile_backtest(stf, close, groups, cost, lag, start, end) if backtests else None
    _ranking_notes(rot, q, notes)
    return {"rotation": rot, "m8": m8, "m9": m9, "quintiles": q, "weekly_level": wk_l, "monthly_level": mo_l,
            "monthly_change": mo_c, "short_term_flow": stf, "regimes": regimes, "divergence": div,
            "notes": notes, "factors_used": list(factors), "lag": int(lag), "cost": float(cost),
            "effective_end": eff, "end": end}


def _ranking_notes(rot: RotationResult, quintiles: dict | None, notes: list[str]) -> None:
    """A note per M10 factor without a ranking on some rebalances (all of them: left out of the composite),
    and one when the M7 quintiles have no ranking on any week (no portfolio)."""
    n = rot.summary["periods"]
    for name, nr in rot.summary["periods_without_ranking"].items():
        if name == "composite" or not nr:
            continue
        why = " (no spread between industries beyond rounding noise)" if name == "short_term_flow" else ""
        where = "the composite is left to the other factors" if nr == n else "left out of the composite there"
        notes.append(Note("strategy.no_ranking_all" if nr == n else "strategy.no_ranking",
                          f"{FACTOR_WORDS.get(name, name)} gives no ranking on {nr} of {n} rebalance dates{why}: {where}",
                          factor=name, n=nr, periods=n))
    if quintiles is not None and quintiles["table"] is None:
        notes.append(Note("strategy.m7_not_computed", "short-term flow quintiles (M7) not computed: no ranking on "
                          f"{quintiles['periods_without_ranking']} of {quintiles['periods']} weeks",
                          n=quintiles["periods_without_ranking"], periods=quintiles["periods"]))


def _style_factors(factors: dict, regimes: pd.DataFrame, mo_l: pd.DataFrame, mo_c: pd.DataFrame, close: pd.DataFrame,
                   names, start, end, cost: float, lag: int, groups: int, m8_every: int, backtests: bool,
                   regime_max_age: int | None, notes: list[str]) -> tuple:
    """M8: the style-adjusted level and change factors (added to ``factors``), the style holdings weights
    and, with ``backtests``, the stand-alone M8 backtest. Returns (M8 result or None, style weights or None)."""
    if "size" not in regimes:
        return None, None
    growth = regimes["growth"] if "growth" in regimes else pd.Series(np.nan, index=regimes.index)
    week_dates = rebalance_dates(close.index, 1, "W", None, end)
    sl, sc = style_adjusted_factors(mo_l, mo_c, regimes["size"], growth, dates=week_dates,
                                    regime_max_age=regime_max_age)
    tradable = close.reindex(sl.index).notna().reindex(columns=sl.columns, fill_value=False)
    sl, sc = sl.where(tradable), sc.where(tradable.reindex_like(sc).fillna(False).astype(bool))
    _stale_notes(regimes, week_dates, regime_max_age, notes)
    factors["style_level"] = sl  # all-NaN weeks kept: a stale regime is not carried forward
    if sc.notna().any(axis=None):
        factors["style_change"] = sc
    style_w = style_holdings_weights(sl, sc.reindex_like(sl), groups)
    m8_dates = rebalance_dates(close.index, m8_every, "W", start, end)
    w8 = style_w.reindex(m8_dates).reindex(columns=close.columns)
    w8 = w8.loc[w8.notna().any(axis=1).idxmax():] if w8.notna().any(axis=None) else w8.iloc[:0]
    m8 = None
    if backtests and not len(w8):
        notes.append(Note("strategy.m8_not_computed", "style-adjusted holdings (M8) not computed: no ranking on any of "
                          f"the {len(m8_dates)} weeks", periods=len(m8_dates)))
    if len(w8) and backtests:
        m8 = run_backtest(w8, close, cost, lag, end, names=names,
                          no_rank={"style_level": _no_rank_count(sl.reindex(w8.index)),
                                   "style_change": _no_rank_count(sc.reindex(w8.index))})
    return m8, style_w


def _divergence_factor(market, factors: dict, mo_l: pd.DataFrame, close: pd.DataFrame, names, start, end, top: int,
                       cost: float, lag: int, window: int, backtests: bool, notes: list[str]) -> tuple:
    """M9: the directed divergence factor (added to ``factors``) when the fund tables are present and,
    with ``backtests``, the stand-alone M9 backtest. Returns (divergence dict or None, M9 result or None, the
    last date the fund tables are current when that is before ``end``, else None)."""
    needed = tuple(DIVERGENCE_NEEDS)
    if not all(market.has(t) for t in needed):
        missing = " / ".join(t for t in needed if not market.has(t))
        notes.append(Note("strategy.no_divergence", f"no {missing}: divergence (M9) left out", tables=missing))
        return None, None, None
    own = market_effective_end(market, DIVERGENCE_NEEDS, cap=end)
    div_end = own.end if own.limit is not None else None
    if div_end is not None:
        notes.append(Note("strategy.divergence_limited", f"{own.text()}: the divergence factor (M9) gives no value "
                          f"after {div_end:%Y-%m-%d}", table=own.limit.name, last=own.limit.last,
                          until=own.limit.until, end=div_end))
    div = market_divergence(market, mo_l, window=window)
    directed = div["directed"]
    factors["divergence"] = directed.dropna(how="all")
    m9_dates = rebalance_dates(close.index, 1, "M", start, end if div_end is None else div_end)
    d9 = asof(directed, m9_dates, FACTOR_MAX_AGE_DAYS)
    d9 = d9.where(close.reindex(d9.index).reindex(columns=d9.columns).notna())
    w9 = top_n_weights(d9, top).reindex(columns=close.columns)
    w9 = w9.loc[w9.notna().any(axis=1).idxmax():] if w9.notna().any(axis=None) else w9.iloc[:0]
    m9 = None
    if backtests and not len(w9):
        notes.append(Note("strategy.m9_not_computed", "divergence from active funds (M9) not computed: no ranking on any "
                          f"of the {len(m9_dates)} months", periods=len(m9_dates)))
    if len(w9) and backtests:
        m9 = run_backtest(w9, close, cost, lag, end if div_end is None else div_end, names=names,
                          no_rank={"divergence": _no_rank_count(d9.reindex(w9.index))})
    return div, m9, div_end


def _stale_notes(regimes: pd.DataFrame, dates: pd.DatetimeIndex, max_age: int | None, notes: list[str]) -> None:
    """A note per regime whose data ends before the last decision date (not carried forward)."""
    if max_age is None or not len(dates):
        return
    for pair in regimes.columns:
        last = regimes[pair].dropna().index.max()
        if pd.isna(last) or last + pd.Timedelta(days=max_age) >= dates[-1]:
            continue
        word = {"size": "size (CSI 300 / CSI 1000)", "growth": "growth/value (399370 / 399371)"}.get(pair, pair)
        until = last + pd.Timedelta(days=max_age)
        notes.append(Note("strategy.regime_stale", f"{word} regime: data end {last:%Y-%m-%d}; not used after "
                          f"{until:%Y-%m-%d} (older than {max_age} days): M8 and M10 run without it from then on",
                          pair=pair, last=last, until=until, max_age=max_age))
