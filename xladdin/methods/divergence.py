"""Divergence between stock-ETF and active-fund industry holdings (spec M9, Huafu).

* Active funds' industry holdings: from the disclosed top holdings in the two months after a
  quarterly report becomes public; in the other months simulated by a constrained regression of
  the active-fund aggregate's daily returns on industry index returns over a trailing window
  (weights ≥ 0, summing to 1; :func:`constrained_regression`, scipy SLSQP).
* Divergence_i = ETF holding share_i − active holding share_i, standardised across industries.
* Issuance heat = month-on-month growth of stock-ETF new shares − that of active equity funds.
* Rule: heat > 0 → the 6 industries most overweighted by ETFs; otherwise the 6 most overweighted
  by active funds (:func:`directed_divergence` turns this into one "higher = favoured" factor).

Frames are wide: index = date, columns = industry code.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from xladdin.data.market import Market

from .holdings import holding_dates

__all__ = [
    "constrained_regression", "active_disclosed_shares", "active_aggregate_returns", "simulated_active_shares",
    "active_shares", "divergence", "issuance_heat", "heat_at", "directed_divergence", "market_divergence",
    "DEFAULT_TRAILING_WINDOW",
]

#: trading days of the trailing regression that simulates the active funds' holdings (M9)
DEFAULT_TRAILING_WINDOW = 60


def constrained_regression(y: np.ndarray, X: np.ndarray, method: str = "nnls", penalty: float = 1e4) -> np.ndarray:
    """Least squares with weights ≥ 0 summing to 1 (M9 simulated holdings).

    Parameters
    ----------
    y : array (n,), the fund aggregate's returns.
    X : array (n, k), industry returns.
    method : ``"nnls"`` (default, fast): :func:`scipy.optimize.nnls` on the system augmented with
        the row ``penalty · (1 … 1) = penalty`` (enforces Σw = 1 up to ~1/penalty², then renormalised);
        ``"slsqp"``: :func:`scipy.optimize.minimize` (SLSQP) with the exact equality constraint.
    penalty : weight of the sum-to-one row, relative to the scale of ``X``.

    Returns
    -------
    array (k,) : ``argmin_w ||y − X w||²`` s.t. ``w ≥ 0, Σ w = 1``.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or y.shape[0] != X.shape[0]:
        raise ValueError(f"shapes do not match: y {y.shape}, X {X.shape}")
    k = X.shape[1]
    if k == 0:
        raise ValueError("no regressor (industry) with a complete return history in the window")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ValueError("y and X must be finite; drop days or industries with missing returns first")
    from scipy.optimize import minimize, nnls  # here: importing it takes 0.3 s that most commands never need
    scale = float(np.sqrt((X ** 2).sum())) or 1.0
    Xs, ys = X / scale, y / scale
    if method == "nnls":
        A = np.vstack([Xs, np.full((1, k), penalty)])
        b = np.concatenate([ys, [penalty]])
        w, _ = nnls(A, b, maxiter=50 * k)
    elif method == "slsqp":
        XtX, Xty = Xs.T @ Xs, Xs.T @ ys
        res = minimize(lambda w: float((Xs @ w - ys) @ (Xs @ w - ys)), np.full(k, 1.0 / k),
                       jac=lambda w: 2.0 * (XtX @ w - Xty), method="SLSQP", bounds=[(0.0, 1.0)] * k,
                       constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(k)}],
                       options={"ftol": 1e-14, "maxiter": 1000})
        w = res.x
    else:
        raise ValueError(f"method must be 'nnls' or 'slsqp', got {method!r}")
    w = np.clip(w, 0.0, None)
    return w / w.sum()


def active_disclosed_shares(holdings: pd.DataFrame, stock_industry: pd.Series) -> pd.DataFrame:
    """Industry shares of the active funds' disclosed holdings per report date (M9).

    Parameters
    ----------
    holdings : DataFrame with columns report_date, fund, stock, value (``active_fund_holdings``).
    stock_industry : Series stock -> industry.

    Returns
    -------
    DataFrame, index = report_date, columns = industry, rows summing to 1 (value of all funds'
    disclosed holdings per industry / total classified value). Stocks without industry are left
    out of both numerator and denominator.
    """
    for c in ("report_date", "stock", "value"):
        if c not in holdings.columns:
            raise ValueError(f"column `{c}` missing in active_fund_holdings")
    h = holdings.assign(industry=holdings["stock"].map(stock_industry)).dropna(subset=["industry"])
    if h.empty:
        raise ValueError("no active-fund holding has a stock with an industry in stock_industry")
    v = h.pivot_table(index="report_date", columns="industry", values="value", aggfunc="sum").fillna(0.0)
    return v.div(v.sum(axis=1), axis=0)


def active_aggregate_returns(fund_nav: pd.DataFrame) -> pd.Series:
    """Equal-weight mean daily return of the active funds (M9).

    Parameters
    ----------
    fund_nav : DataFrame, index = date, columns = fund, unit NAV.

    Returns
    -------
    Series, index = date, mean over funds with a return that day (NaN when none).
    """
    return fund_nav.sort_index().pct_change(fill_method=None).mean(axis=1).iloc[1:]


def simulated_active_shares(fund_returns: pd.Series, industry_close: pd.DataFrame, dates,
                            window: int = DEFAULT_TRAILING_WINDOW, min_obs: int | None = None) -> pd.DataFrame:
    """Simulated active industry weights from a trailing constrained regression (M9).

    Parameters
    ----------
    fund_returns : Series, index = date, the active-fund aggregate's daily returns.
    industry_close : DataFrame, index = date, columns = industry, closes.
    dates : evaluation dates; each uses the ``window`` trading days ending on it.
    window : trailing window length (trading days, default 60 ≈ one quarter: chosen).
    min_obs : fewest common days needed (default ``window * 2 // 3``); NaN row otherwise.

    Returns
    -------
    DataFrame, index = dates, columns = industry; rows sum to 1. Industries without a complete
    return history in the window get weight NaN (not estimated).
    """
    rets = industry_close.sort_index().pct_change(fill_method=None)
    data = rets.join(fund_returns.rename("__fund__"), how="inner")
    min_obs = window * 2 // 3 if min_obs is None else min_obs
    dates = pd.DatetimeIndex(dates)
    fund = data["__fund__"].to_numpy(dtype=float)
    inds = data.drop(columns="__fund__").to_numpy(dtype=float)
    weights = np.full((len(dates), len(industry_close.columns)), np.nan)
    ends = data.index.searchsorted(dates, side="right")
    for i, e in enumerate(ends):  # one small optimisation per month end
        days = np.arange(max(0, e - window), e)
        days = days[~np.isnan(fund[days])]
        if len(days) < min_obs:
            continue
        X = inds[days]
        cols = np.flatnonzero(~np.isnan(X).any(axis=0))
        if not len(cols):
            continue
        weights[i, cols] = constrained_regression(fund[days], X[:, cols])
    return pd.DataFrame(weights, index=dates, columns=industry_close.columns)


def active_shares(disclosed: pd.DataFrame, simulated: pd.DataFrame, dates, disclosed_months: int = 2,
                  lag_months: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    """Splice disclosed and simulated active industry shares on ``dates`` (M9).

    Parameters
    ----------
    disclosed : DataFrame, index = report date (quarter end), columns = industry.
    simulated : DataFrame, index ⊇ dates, columns = industry.
    dates : month-end evaluation dates.
    disclosed_months : months a disclosure is used (2).
    lag_months : months after the report date before it is public (1: a quarter's top holdings,
        published within about 15 working days, are used from the next month's end).

    Returns
    -------
    (shares, source) : DataFrame dates x industry, and Series dates -> "disclosed" / "simulated".

    Notes
    -----
    Month end t uses the latest report R < t if ``lag ≤ months(t) − months(R) < lag + disclosed_months``;
    otherwise the simulated weights at t.
    """
    dates = pd.DatetimeIndex(dates)
    cols = sorted(set(disclosed.columns) | set(simulated.columns))
    rep = disclosed.sort_index()
    pos = rep.index.searchsorted(dates, side="left") - 1  # latest report strictly before t
    has = pos >= 0
    rdate = rep.index[np.where(has, pos, 0)]
    gap = (dates.year - rdate.year) * 12 + (dates.month - rdate.month)
    use = has & (gap >= lag_months) & (gap < lag_months + disclosed_months)
    d = rep.reindex(columns=cols).iloc[np.where(has, pos, 0)].fillna(0.0)
    d.index = dates
    s = simulated.reindex(index=dates, columns=cols)
    use_arr = np.asarray(use)
    shares = s.copy()
    shares.loc[use_arr] = d.loc[use_arr]
    source = pd.Series(np.where(use_arr, "disclosed", "simulated"), index=dates, name="source")
    source[~use_arr & s.isna().all(axis=1).to_numpy()] = "none"
    return shares, source


def divergence(etf_share: pd.DataFrame, active_share: pd.DataFrame, standardise: bool = True, ddof: int = 1) -> pd.DataFrame:
    """Holding divergence (持仓分歧度, M9): ETF share − active share, standardised per date.

    Parameters
    ----------
    etf_share : DataFrame, index = date, columns = industry, stock-ETF holding level.
    active_share : DataFrame, same layout, active-fund industry shares.
    standardise : z-score across industries per date.

    Returns
    -------
    DataFrame ``z_{t,i} = (d_{t,i} − mean_t d) / std_t d`` with ``d = etf − active``; only industries
    known in both frames. Positive = overweighted by ETFs relative to active funds. Missing values are
    skipped in the mean and std (as pandas does); a date with fewer than ``ddof + 1`` values is NaN.

    Notes
    -----
    The z-scores do not depend on the scale of the data: each date's shares are first multiplied by
    a power of two (exact) bringing its largest |value| into [0.5, 1), so that no difference or
    square overflows or underflows (values from 1e-300 to 1e300 give the same z-scores). The raw
    difference (``standardise=False``) beyond the float range raises ValueError.
    """
    if etf_share.index.equals(active_share.index) and etf_share.columns.equals(active_share.columns):
        a = active_share
    else:
        a = active_share.reindex(index=etf_share.index, columns=etf_share.columns)
    e = etf_share.to_numpy(dtype=float, na_value=np.nan)
    av = a.to_numpy(dtype=float, na_value=np.nan)
    if not standardise:
        d = e - av
        over = np.isinf(d) & np.isfinite(e) & np.isfinite(av)
        if over.any():
            i, j = (int(k[0]) for k in np.nonzero(over))
            where = (f"{etf_share.index.name or 'date'} {etf_share.index[i]}, "
                     f"{etf_share.columns.name or 'industry'} {etf_share.columns[j]}")
            raise ValueError(f"etf_share - active_share at {where} is beyond the float range (1.8e308); give holding "
                             "shares as fractions")
        return pd.DataFrame(d, index=etf_share.index, columns=etf_share.columns, copy=False)
    return pd.DataFrame(_row_zscores(e, av, ddof), index=etf_share.index, columns=etf_share.columns, copy=False)


def _row_zscores(e: np.ndarray, a: np.ndarray, ddof: int) -> np.ndarray:
    """``(d - mean) / std`` of each row of ``d = e - a`` (NaN skipped); rows rescaled exactly when needed."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        d = e - a
        size = np.abs(d)
        big = np.nanmax(size, initial=0.0)
        small = np.nanmin(np.where(size > 0, size, np.inf), initial=np.inf)
        if not (big <= 2.0 ** 500 and small >= 2.0 ** -500):  # overflow, inf or squares that would underflow
            peak = np.fmax.reduce(np.fmax(np.abs(e), np.abs(a)), axis=1)
            exp = np.frexp(peak)[1][:, None]
            d = np.ldexp(e, -exp) - np.ldexp(a, -exp)
        valid = ~np.isnan(d)
        count = valid.sum(axis=1, keepdims=True)
        mean = np.where(valid, d, 0.0).sum(axis=1, keepdims=True) / count
        dev = np.where(valid, d - mean, 0.0)
        std = np.sqrt((dev * dev).sum(axis=1, keepdims=True) / np.where(count > ddof, count - ddof, np.nan))
        return (d - mean) / std


def issuance_heat(fund_issuance: pd.DataFrame) -> pd.DataFrame:
    """New-issuance heat (新发热度, M9) per month.

    Parameters
    ----------
    fund_issuance : DataFrame with columns month, category (stock_etf / active_equity), new_shares.

    Returns
    -------
    DataFrame, index = month (Period[M]), columns stock_etf_growth, active_equity_growth, heat.
    ``growth = new_shares_m / new_shares_{m−1} − 1`` (NaN after a month with 0 new shares);
    ``heat = stock_etf_growth − active_equity_growth``.
    """
    for c in ("month", "category", "new_shares"):
        if c not in fund_issuance.columns:
            raise ValueError(f"column `{c}` missing in fund_issuance")
    df = fund_issuance.assign(period=pd.to_datetime(fund_issuance["month"]).dt.to_period("M"))
    wide = df.pivot_table(index="period", columns="category", values="new_shares", aggfunc="sum").sort_index()
    for c in ("stock_etf", "active_equity"):
        if c not in wide.columns:
            raise ValueError(f"fund_issuance has no `{c}` rows; categories must be stock_etf and active_equity")
    full = pd.period_range(wide.index.min(), wide.index.max(), freq="M")
    wide = wide.reindex(full)
    growth = wide / wide.shift(1).where(wide.shift(1) > 0) - 1.0
    out = pd.DataFrame({"stock_etf_growth": growth["stock_etf"], "active_equity_growth": growth["active_equity"]})
    out["heat"] = out["stock_etf_growth"] - out["active_equity_growth"]
    out.index.name = "month"
    return out


def heat_at(heat: pd.Series, dates, trading_days) -> pd.Series:
    """Heat known at each date: the latest month whose last trading day is on or before the date.

    Parameters
    ----------
    heat : Series, index = Period[M] (from :func:`issuance_heat`).
    dates : evaluation dates.
    trading_days : the trading calendar (to find each month's last trading day).

    Returns
    -------
    Series, index = dates.
    """
    td = pd.DatetimeIndex(trading_days)
    me = pd.Series(holding_dates(td, "M"))
    last_day = pd.Series(me.to_numpy(), index=me.dt.to_period("M"))
    h = heat.dropna()
    avail = last_day.reindex(h.index)
    # months beyond the calendar: usable from the month's calendar end
    fallback = pd.Series(h.index.to_timestamp(how="end").normalize(), index=h.index)
    avail = avail.fillna(fallback)
    s = pd.Series(h.to_numpy(), index=pd.DatetimeIndex(avail.to_numpy())).sort_index()
    dates = pd.DatetimeIndex(dates)
    pos = s.index.searchsorted(dates, side="right") - 1
    vals = np.where(pos >= 0, s.to_numpy()[np.clip(pos, 0, None)] if len(s) else np.nan, np.nan)
    return pd.Series(vals, index=dates, name="heat")


def directed_divergence(div: pd.DataFrame, heat: pd.Series) -> pd.DataFrame:
    """Divergence signed by issuance heat (M9 rule as a factor; M10's fourth factor).

    ``div`` when heat > 0 (favour ETF-overweighted industries), ``−div`` otherwise (favour
    active-overweighted ones); NaN where the heat is unknown. The top 6 of this factor are M9's picks.
    """
    h = heat.reindex(div.index)
    sign = pd.Series(np.where(h > 0, 1.0, -1.0), index=div.index).where(h.notna())
    return div.mul(sign, axis=0)


def market_divergence(market: Market, etf_level: pd.DataFrame, window: int = DEFAULT_TRAILING_WINDOW, disclosed_months: int = 2,
                      lag_months: int = 1) -> dict:
    """M9 on a market: divergence, heat and the directed factor at the month ends of ``etf_level``.

    Parameters
    ----------
    market : Market with active_fund_holdings, fund_nav, fund_issuance, stock_industry, industry_daily.
    etf_level : monthly stock-ETF holding level (:func:`xladdin.methods.holdings.holding_level`, freq "M").

    Returns
    -------
    dict with ``divergence`` (z-scores), ``active_share``, ``source`` (disclosed / simulated per
    month), ``heat`` (per month end), ``directed`` (factor), ``issuance`` (growth table).
    """
    dates = etf_level.index
    si = market.stock_industry["industry"]
    disclosed = active_disclosed_shares(market.table("active_fund_holdings"), si)
    close = market.industry_close()
    fund = active_aggregate_returns(market.panel("fund_nav", "nav"))
    gap = pd.DatetimeIndex(dates)
    rep = disclosed.index.sort_values()
    pos = rep.searchsorted(gap, side="left") - 1
    rdate = rep[np.clip(pos, 0, None)]
    months = (gap.year - rdate.year) * 12 + (gap.month - rdate.month)
    need = (pos < 0) | (months < lag_months) | (months >= lag_months + disclosed_months)
    simulated = simulated_active_shares(fund, close, gap[np.asarray(need)], window)
    shares, source = active_shares(disclosed, simulated, dates, disclosed_months, lag_months)
    div = divergence(etf_level, shares)
    issuance = issuance_heat(market.table("fund_issuance"))
    heat = heat_at(issuance["heat"], dates, close.index)
    return {"divergence": div, "active_share": shares, "source": source, "heat": heat,
            "directed": directed_divergence(div, heat), "issuance": issuance}
