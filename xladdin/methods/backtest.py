"""The one backtest engine of every strategy (M7 groups, M8, M9, M10, M11; spec "Timing, costs and ties").

Weights in, returns in. A row of target weights is *decided* on a date with the data known at that
date's close; it is *traded* ``lag`` trading days later, at that day's close (default one day:
ETF shares and NAVs, northbound holdings of day t are published after t's close), and earns the
returns from the following day on. Between trades the positions drift with their returns.

Timing and NAV, for trades at closes ``e_0 < e_1 < …`` (trading-day positions in ``returns``):

* the NAV starts at 1 (cash) on the trading day before ``e_0``; with ``lag = 1`` that is the first
  decision date;
* at each trade, with ``w̃`` the drifted weights just before it (0 before the first) and ``w`` the
  target: turnover ``TO_k = Σ_i |w_i − w̃_i|`` (two-sided; the first build counts Σ w);
  cost ``c · TO_k`` of the NAV (``c`` = one-way rate charged on buys and on sells);
  ``NAV_{e_k} = NAV⁻_{e_k} (1 − c · TO_k)``: the NAV shown on a trade date is after that trade;
* for ``e_k < t ≤ e_{k+1}``: ``NAV⁻_t = NAV_{e_k} (Σ_i w_i Π_{s=e_k+1..t} (1 + r_{s,i}) + 1 − Σ_i w_i)``;
* the gross NAV is the same path without the cost factors.

A weight row that is all missing (NaN) is no decision (no trade; holdings keep drifting): the
strategies use it for a date whose factors give no ranking. Weights must be ≥ 0 and each row must
sum to 1 (or 0 = all cash) within :data:`WEIGHT_TOL`. A held asset needs a return on every day it is
held: a missing return there is an error naming the asset and the date (give 0 for a suspended
day, or build the returns with :func:`returns_from_prices`, which carries a close over a gap).
The cost is applied to the NAV before the trade (``c · TO · NAV⁻``), the usual first-order form.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xladdin.conventions import TRADING_DAYS_PER_YEAR

from . import stats as pf

__all__ = ["DEFAULT_LAG", "DEFAULT_COST", "DEFAULT_ETF_COST", "COST_RANGE", "LAG_RANGE", "WEIGHT_TOL", "BacktestResult", "returns_from_prices",
           "backtest_weights", "equal_weights", "backtest_summary"]

#: default execution lag in trading days (data of day t trades at t+1's close)
DEFAULT_LAG = 1
#: default one-way cost on traded value for industry baskets (M7-M10: the report states none)
DEFAULT_COST = 0.001
#: default one-way cost on traded value for the ETF rotation (M11: the report's 0.3%)
DEFAULT_ETF_COST = 0.003
#: the one-way costs and execution lags a setting may take (the sheet, ``--set``, ``XA_BACKTEST``): 10 % of
#: traded value is beyond any market's cost; a lag of a quarter (60 trading days) is the longest that still
#: tests a weekly signal
COST_RANGE = (0.0, 0.1)
LAG_RANGE = (0, 60)
#: tolerance of the weight-row sums (1 or 0)
WEIGHT_TOL = 1e-6


@dataclass
class BacktestResult:
    """Output of :func:`backtest_weights`.

    nav, nav_gross : Series, index = trading date from the base day (NAV 1) to the end; net and
        gross of costs.
    weights : DataFrame, index = decision date (executed decisions only), columns = asset: targets.
    trades : DataFrame, index = decision date; columns ``trade_date`` (the close traded at),
        ``period_end`` (next trade date, or the last date), ``turnover`` (two-sided),
        ``cost`` (fraction of the NAV paid: ``c × turnover``).
    period_returns : DataFrame, decision date x asset: each held asset's return from its trade
        close to the period end (NaN for assets not held).
    lag, cost_rate : the execution lag (trading days) and the one-way cost rate used.
    unexecuted : decision dates whose trade day falls on or after the last date (not traded).
    """

    nav: pd.Series
    nav_gross: pd.Series
    weights: pd.DataFrame
    trades: pd.DataFrame
    period_returns: pd.DataFrame
    lag: int
    cost_rate: float
    unexecuted: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))

    @property
    def turnover(self) -> pd.Series:
        """Two-sided turnover per trade, index = trade date."""
        return pd.Series(self.trades["turnover"].to_numpy(), index=pd.DatetimeIndex(self.trades["trade_date"]),
                         name="turnover")

    @property
    def costs(self) -> pd.Series:
        """Cost per trade as a fraction of the NAV, index = trade date."""
        return pd.Series(self.trades["cost"].to_numpy(), index=pd.DatetimeIndex(self.trades["trade_date"]),
                         name="cost")

    @property
    def returns(self) -> pd.Series:
        """Daily net returns (first NAV date dropped)."""
        return self.nav.pct_change().iloc[1:]

    @property
    def days(self) -> int:
        """Number of daily returns in the NAV."""
        return max(len(self.nav) - 1, 0)

    def turnover_annual(self, periods: int = TRADING_DAYS_PER_YEAR) -> float:
        """Total two-sided turnover per year: ``Σ_k TO_k × periods / days`` (initial build included)."""
        return float(self.trades["turnover"].sum() * periods / self.days) if self.days else float("nan")

    def turnover_per_rebalance(self) -> float:
        """Mean two-sided turnover per trade after the initial build (NaN with a single trade)."""
        to = self.trades["turnover"]
        return float(to.iloc[1:].mean()) if len(to) > 1 else float("nan")

    def cost_annual(self, periods: int = TRADING_DAYS_PER_YEAR) -> float:
        """Costs paid per year as a fraction of the NAV: ``Σ_k c·TO_k × periods / days``."""
        return float(self.trades["cost"].sum() * periods / self.days) if self.days else float("nan")


def returns_from_prices(prices: pd.DataFrame) -> pd.DataFrame:
    """Daily simple returns of prices: ``P_t / P_{t−1} − 1`` after carrying a price over a gap.

    NaN before an asset's first price (and on its first day); a missing price inside the history
    gives 0 on the missing day and the whole move on the next price.
    """
    if not isinstance(prices, pd.DataFrame):
        raise ValueError("`prices` must be a DataFrame, index = date, columns = asset")
    px = prices.sort_index().astype(float).ffill()
    if (px <= 0).to_numpy().any():
        bad = px.columns[(px <= 0).any()][0]
        raise ValueError(f"price of {bad} is not positive; prices (closes, NAVs) must be > 0")
    return px / px.shift(1) - 1.0


def _check_returns(returns: pd.DataFrame, end) -> pd.DataFrame:
    if not isinstance(returns, pd.DataFrame):
        raise ValueError("`returns` must be a DataFrame, index = trading date, columns = asset")
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise ValueError("`returns` must be indexed by trading dates (DatetimeIndex)")
    r = returns.sort_index() if not returns.index.is_monotonic_increasing else returns
    if r.index.has_duplicates:
        raise ValueError(f"`returns` has duplicated date {r.index[r.index.duplicated()][0].date()}")
    if end is not None:
        r = r.loc[:pd.Timestamp(end)]
    if not all(d == np.float64 for d in r.dtypes):
        r = r.astype(float)
    v = r.to_numpy()
    if np.isinf(v).any():
        i, j = np.argwhere(np.isinf(v))[0]
        raise ValueError(f"return of {r.columns[j]} on {r.index[i].date()} is infinite")
    if (v < -1).any():
        i, j = np.argwhere(v < -1)[0]
        raise ValueError(f"return of {r.columns[j]} on {r.index[i].date()} is {v[i, j]:.4g}, below −100%; "
                         "give simple returns (0.01 = 1%)")
    return r


def _check_weights(weights: pd.DataFrame, returns: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Decision dates (sorted, rows that are not all missing) and their weights on the returns' assets
    (missing = 0), after the checks; errors name the first offending asset and date."""
    if not isinstance(weights, pd.DataFrame):
        raise ValueError("`weights` must be a DataFrame, index = decision date, columns = asset")
    assets = returns.columns
    same = weights.columns.equals(assets)
    if not same:
        known = weights.columns.isin(assets)
        unknown = [c for c, k in zip(weights.columns, known) if not k
                   and (pd.to_numeric(weights[c], errors="coerce").fillna(0.0) != 0).any()]
        if unknown:
            raise ValueError(f"weights on {', '.join(map(str, unknown[:5]))}, which have no returns; "
                             "give returns for every weighted asset")
        weights = weights.loc[:, known]  # unknown: never weighted
        if weights.columns.has_duplicates:
            raise ValueError(f"weights have two columns for {weights.columns[weights.columns.duplicated()][0]}; "
                             "keep one per asset")
    v = weights.to_numpy(dtype=float, na_value=np.nan)
    index = pd.DatetimeIndex(weights.index)
    decided = ~np.isnan(v).all(axis=1)  # an all-missing row is no decision
    v, index = v[decided], index[decided]
    if not index.is_monotonic_increasing:
        order = index.argsort()
        v, index = v[order], index[order]
    if index.has_duplicates:
        raise ValueError(f"weights have two rows for {index[index.duplicated()][0].date()}; keep one per date")
    if not same:
        src = weights.columns.get_indexer(assets)
        full = np.zeros((len(v), len(assets)))
        full[:, src >= 0] = v[:, src[src >= 0]]
        v = full
    v = np.where(np.isnan(v), 0.0, v)
    if np.isinf(v).any():
        raise ValueError("weights must be finite numbers")
    if (v < 0).any():
        i, j = np.argwhere(v < 0)[0]
        raise ValueError(f"weight of {assets[j]} on {index[i].date()} is negative; weights must be >= 0 "
                         "(long-only portfolios)")
    sums = v.sum(axis=1)
    off = (np.abs(sums - 1) > WEIGHT_TOL) & (np.abs(sums) > WEIGHT_TOL)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(f"weights on {index[i].date()} sum to {sums[i]:.6f}; each row must sum to 1 "
                         "(or 0 for all cash)")
    return index, v


def backtest_weights(weights: pd.DataFrame, returns: pd.DataFrame, cost: float = 0.0, lag: int = DEFAULT_LAG,
                     end=None) -> BacktestResult:
    """Backtest target weights with an execution lag and a cost on traded value (the engine).

    Parameters
    ----------
    weights : DataFrame, index = decision date (a date of ``returns``), columns = asset; rows ≥ 0
        summing to 1 (or 0 = cash); an all-NaN row = no decision; NaN in a row with values = 0.
    returns : DataFrame, index = trading date, columns = asset: simple daily returns (the return on
        row t is earned from t−1's close to t's close); see :func:`returns_from_prices`.
    cost : one-way cost rate on traded value (0.001 = 0.1%), charged on buys and on sells.
    lag : trading days between the decision and the trade (0 = trade at the decision close,
        which uses that close's data: look-ahead for data published after the close).
    end : optional last date.

    Returns
    -------
    :class:`BacktestResult`

    Notes
    -----
    See the module docstring for the formulas. All holding periods at once: each asset's growth since
    its trade is a cumulative product restarted at every trade (:func:`_segment_cumprod`), the
    drifted weights before a trade are ``w_i G_i / Σ_j w_j G_j + cash`` at the previous period's end.
    """
    if not np.isfinite(cost) or cost < 0 or cost >= 1:
        raise ValueError(f"`cost` must be a rate in [0, 1) on traded value (e.g. 0.001), got {cost!r}")
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
        raise ValueError(f"`lag` must be a whole number of trading days >= 0, got {lag!r}")
    r = _check_returns(returns, end)
    decisions, wv = _check_weights(weights, r)
    dpos = r.index.get_indexer(decisions)
    if (dpos < 0).any():
        raise ValueError(f"decision date {decisions[dpos < 0][0].date()} is not a trading date of the returns")
    if not len(decisions):
        raise ValueError("no decision date has weights")
    n_days = len(r)
    epos = dpos + int(lag)
    done = epos < n_days - 1  # a trade on (or after) the last date would hold nothing
    unexecuted = decisions[~done]
    decisions, wv, epos = decisions[done], wv[done], epos[done]
    if not len(decisions):
        raise ValueError(f"no decision trades before the last date {r.index[-1].date()} (lag {lag})")
    if epos[0] == 0:
        raise ValueError(f"the first trade falls on the first date of the returns ({r.index[0].date()}); the NAV "
                         "needs the day before as its base: start the returns a day earlier or use lag >= 1")
    rv = r.to_numpy()
    bounds = np.append(epos, n_days - 1)  # trade k holds over days bounds[k] + 1 .. bounds[k + 1]
    length = np.diff(bounds)
    held = wv > 0
    _check_held_returns(r, rv, held, bounds)
    value, g_end = _holding_values(rv, wv, held, bounds)
    period = np.repeat(np.arange(len(epos)), length)  # the holding period of each day after the first trade
    day = np.arange(epos[0] + 1, n_days)
    growth = value[np.cumsum(length) - 1]  # each period's value at its end, per 1 invested
    per_ret = np.where(held, g_end - 1.0, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        drifted = np.where(held & (growth[:, None] > 0), wv * g_end / growth[:, None], 0.0)
    turnover = np.abs(wv - np.vstack([np.zeros((1, wv.shape[1])), drifted[:-1]])).sum(axis=1)
    keep = 1.0 - cost * turnover
    # value after the k-th trade, gross and net: Π_{j<k} growth_j × (Π_{j<=k} keep_j)
    before = np.append(1.0, np.cumprod(growth)[:-1])
    post_net = before * np.cumprod(keep)
    base = epos[0] - 1
    idx = r.index[base:]
    nav_g = np.ones(len(idx))
    nav_n = np.ones(len(idx))
    nav_g[day - base] = before[period] * value
    nav_n[day - base] = post_net[period] * value
    nav_g[epos - base] = before  # a trade date shows the NAV after its trade
    nav_n[epos - base] = post_net
    trades = pd.DataFrame({"trade_date": r.index[epos], "period_end": r.index[bounds[1:]], "turnover": turnover,
                           "cost": cost * turnover}, index=decisions)
    trades.index.name = "decision_date"
    return BacktestResult(nav=pd.Series(nav_n, index=idx, name="nav"),
                          nav_gross=pd.Series(nav_g, index=idx, name="nav_gross"),
                          weights=pd.DataFrame(wv, index=decisions, columns=r.columns), trades=trades,
                          period_returns=pd.DataFrame(per_ret, index=decisions, columns=r.columns),
                          lag=int(lag), cost_rate=float(cost), unexecuted=pd.DatetimeIndex(unexecuted))


def _check_held_returns(r: pd.DataFrame, rv: np.ndarray, held: np.ndarray, bounds: np.ndarray) -> None:
    """A held asset needs a return on every day of its holding period: else an error naming the
    first such asset and day."""
    tail = rv[bounds[0] + 1:]
    if not np.isnan(tail).any():
        return
    period = np.repeat(np.arange(len(held)), np.diff(bounds))
    gaps = np.isnan(tail) & held[period]
    if gaps.any():
        i, j = np.argwhere(gaps)[0]
        raise ValueError(f"{r.columns[j]} is held from {r.index[bounds[period[i]]].date()} but has no return on "
                         f"{r.index[bounds[0] + 1 + i].date()}; give 0 for a suspended day or trade only assets "
                         "with returns")


#: padded cells per block of holding periods computed at once (bounds the memory: 8 bytes each)
_BLOCK_CELLS = 1 << 22


def _holding_values(rv: np.ndarray, wv: np.ndarray, held: np.ndarray, bounds: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Each holding period's portfolio value per 1 invested, on each of its days, and each asset's
    growth over the whole period.

    For trade k (weights ``w``, closes ``bounds[k]`` to ``bounds[k + 1]``): ``G_{t,i} = Π_{s ≤ t}
    (1 + r_{s,i})`` from the day after the trade (a product restarted at each trade, multiplied in
    the same order as ``np.cumprod`` on the period alone) and ``V_t = Σ_i w_i G_{t,i} + 1 − Σ_i w_i``.
    Periods are grouped by length class (lengths in (2^(c−1), 2^c]) and each class laid out as a
    padded (day of the period × period × asset) array: the products advance one day for all its
    periods and assets at once, so the work is at most twice one pass over the data.
    """
    length = np.diff(bounds)
    cash = 1.0 - wv.sum(axis=1)
    value = np.empty(int(length.sum()))
    g_end = np.empty_like(wv)
    start = np.cumsum(length) - length  # each period's first day in ``value``
    cls = np.frexp((length - 1).astype(float))[1]
    for c in np.unique(cls):
        members = np.flatnonzero(cls == c)
        width = int(length[members].max())
        per_block = max(1, _BLOCK_CELLS // (width * wv.shape[1]))
        for ks in np.array_split(members, -(-len(members) // per_block)):
            step = np.arange(width)[:, None]
            inside = step < length[ks][None, :]  # (day of the period, period)
            days = bounds[ks][None, :] + 1 + np.where(inside, step, 0)
            blk = np.take(rv, days, axis=0)
            blk += 1.0
            np.copyto(blk, 1.0, where=~held[ks][None, :, :])  # not held: growth 1 (weight 0)
            if blk[0].size >= 256:  # many periods x assets: advance them all one day at a time
                for i in range(1, width):
                    np.multiply(blk[i - 1], blk[i], out=blk[i])
            else:  # few and long: numpy's accumulation down each column
                blk = np.cumprod(blk, axis=0)
            val = np.einsum("dka,ka->dk", blk, wv[ks]) + cash[ks][None, :]
            value[(start[ks][None, :] + step)[inside]] = val[inside]
            g_end[ks] = blk[length[ks] - 1, np.arange(len(ks))]
    return value, g_end


def equal_weights(available: pd.DataFrame) -> pd.DataFrame:
    """Equal weights over the True cells of each row (all 0 where none): the equal-weight benchmark."""
    a = available.fillna(False).astype(bool).astype(float)
    n = a.sum(axis=1)
    return a.div(n.where(n > 0), axis=0).fillna(0.0)


def backtest_summary(result: BacktestResult, benchmark: pd.Series | None = None, periods: int = TRADING_DAYS_PER_YEAR,
                     rf: float = pf.DEFAULT_RF) -> dict:
    """Headline figures of a backtest, gross and net (M12 conventions), as plain Python values.

    Keys: ``lag_days``, ``cost`` (one-way rate), ``start``, ``end`` (ISO dates of the NAV),
    ``days``, ``rebalances``, ``turnover_annual``, ``turnover_per_rebalance``, ``cost_annual``,
    ``annual_return_gross``, ``annual_return_net``, ``volatility_net``, ``sharpe_net``,
    ``max_drawdown_net`` and, with a benchmark (NAV on the same dates, no cost), ``benchmark_annual_return``,
    ``excess_gross``, ``excess_net`` (annualised return of strategy / benchmark),
    ``tracking_error_net``, ``information_ratio_gross``, ``information_ratio_net``.
    """
    nav, gross = result.nav, result.nav_gross
    out = {
        "lag_days": result.lag, "cost": result.cost_rate,
        "start": nav.index[0].strftime("%Y-%m-%d"), "end": nav.index[-1].strftime("%Y-%m-%d"),
        "days": result.days, "rebalances": int(len(result.trades)),
        "turnover_annual": result.turnover_annual(periods), "turnover_per_rebalance": result.turnover_per_rebalance(),
        "cost_annual": result.cost_annual(periods),
        "annual_return_gross": pf.annual_return(gross, periods), "annual_return_net": pf.annual_return(nav, periods),
        "volatility_net": pf.annual_volatility(nav, periods), "sharpe_net": pf.sharpe_ratio(nav, rf, periods),
        "max_drawdown_net": pf.max_drawdown(nav),
    }
    if benchmark is not None:
        b = benchmark.reindex(nav.index)
        out.update({
            "benchmark_annual_return": pf.annual_return(b, periods),
            "excess_gross": pf.excess_return(gross, b, periods), "excess_net": pf.excess_return(nav, b, periods),
            "tracking_error_net": pf.tracking_error(nav, b, periods),
            "information_ratio_gross": pf.information_ratio(gross, b, periods),
            "information_ratio_net": pf.information_ratio(nav, b, periods),
        })
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}
