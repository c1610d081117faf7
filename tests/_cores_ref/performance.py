# Frozen copy of the module now at xladdin/methods/stats.py,
# as of commit 55a094b (before issue 14's rewrite of the issue-13 cores): the reference tests/test_cores_pinned.py
# compares the package against. Not used by the package.
"""Performance statistics for strategy NAVs (spec M12).

Every function takes a daily NAV (:class:`pandas.Series`, index = trading date ascending,
values > 0) rather than returns, so that a year's figures can be computed on the NAV segment
that starts at the previous year's last close. Conventions (spec M12, pinned by the Huafu
report's own tables):

* ``periods`` trading days a year (252).
* Annualised return is geometric: ``(NAV_end / NAV_start) ** (periods / n) - 1`` with ``n`` the
  number of daily returns.
* Annualised volatility = ``sqrt(periods) * std(daily returns, ddof=1)``.
* Sharpe = (annualised return − rf) / annualised volatility (``sharpe="geometric"``, default);
  ``sharpe="arithmetic"`` gives the empyrical / quantstats form
  ``sqrt(periods) * mean(r − rf/periods) / std(r)``.
* Excess return = annualised return of the relative NAV ``(NAV / NAV_0) / (B / B_0)``.
* Tracking error = ``sqrt(periods) * std(r − r_B)``; information ratio = excess / TE.
* Drawdowns are reported as negative fractions (the report prints −24.75%).
* Monthly excess = month return of the strategy − month return of the benchmark (calendar
  months, each month measured from the previous month's last NAV).

In :func:`performance_table` a calendar year's row shows that year's return *un-annualised*;
for the ratios (Sharpe, IR) a part year (fewer than ``min_full_year × periods`` daily returns,
e.g. "2026 to date") is annualised geometrically first. A part year is labelled as one
("2019 (from 10-08)", "2026 (to 01-30)") and shows both its period return (``annual_return``)
and its annualised return (``annualised_return``, ``annualised_excess``), so that either of the
report's part-year rows (its first row is annualised, its last is not) can be set beside it.
The full-period row annualises.
Consistency checks from the report: 15.57% / 20.75% → Sharpe 0.75; 7.56% / 8.13% → IR 0.93;
2019 (from 10-08): 30.42% annualised / 13.46% → 2.26.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS", "FULL_PERIOD", "check_nav", "daily_returns", "total_return", "annual_return",
    "annualise", "annual_volatility", "sharpe_ratio", "max_drawdown", "relative_nav", "excess_return",
    "tracking_error", "information_ratio", "relative_max_drawdown", "monthly_returns",
    "monthly_excess", "monthly_excess_win_rate", "odds", "performance_table", "period_label",
]

#: columns of :func:`performance_table`, in order
COLUMNS = ["annual_return", "volatility", "sharpe", "max_drawdown", "excess_return", "tracking_error",
           "information_ratio", "relative_max_drawdown", "win_rate", "odds", "turnover", "annualised_return",
           "annualised_excess", "days", "part_year"]
#: label of the full-period row
FULL_PERIOD = "Full period"
_EPS = 1e-12


# ----------------------------------------------------------------------------- helpers
def check_nav(nav: pd.Series, name: str = "nav") -> pd.Series:
    """Validate a NAV series and return it as float, index sorted ascending.

    Raises ValueError when the index is not dates, values are missing or not positive.
    """
    if not isinstance(nav, pd.Series):
        raise ValueError(f"`{name}` must be a pandas Series indexed by date, got {type(nav).__name__}")
    if not isinstance(nav.index, pd.DatetimeIndex):
        try:
            nav = nav.copy()
            nav.index = pd.DatetimeIndex(pd.to_datetime(nav.index))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"`{name}` must be indexed by dates") from exc
    nav = nav.astype(float).sort_index()
    if nav.index.has_duplicates:
        raise ValueError(f"`{name}` has duplicated dates; keep one value per trading day")
    if nav.isna().any():
        first = nav.index[nav.isna()][0].date()
        raise ValueError(f"`{name}` has missing values (first on {first}); fill or trim them before computing statistics")
    if (nav <= 0).any():
        raise ValueError(f"`{name}` must be positive (a NAV, not returns)")
    return nav


def daily_returns(nav: pd.Series) -> pd.Series:
    """Simple daily returns ``NAV_t / NAV_{t-1} − 1`` (first date dropped)."""
    return nav.pct_change().iloc[1:]


def _n(nav: pd.Series) -> int:
    return max(len(nav) - 1, 0)


def total_return(nav: pd.Series) -> float:
    """Cumulative return over the series: ``NAV_end / NAV_start − 1`` (NaN for < 2 points)."""
    if len(nav) < 2:
        return float("nan")
    return float(nav.iloc[-1] / nav.iloc[0] - 1.0)


def annualise(ret: float, n: int, periods: int = 252) -> float:
    """Geometric annualisation of a cumulative return earned over ``n`` daily returns.

    Notes
    -----
    ``(1 + ret) ** (periods / n) − 1``.
    """
    if n <= 0 or not np.isfinite(ret):
        return float("nan")
    with np.errstate(over="ignore"):
        value = np.float64(1.0 + ret) ** (periods / n) - 1.0
    return float(value)  # inf when a short, huge gain overflows: honest, not an exception


def annual_return(nav: pd.Series, periods: int = 252) -> float:
    """Annualised geometric return (M12).

    Parameters
    ----------
    nav : Series, index = date, daily NAV.
    periods : trading days per year.

    Returns
    -------
    float : ``(NAV_end / NAV_start) ** (periods / n) − 1``, n = number of daily returns.
    """
    return annualise(total_return(nav), _n(nav), periods)


def annual_volatility(nav: pd.Series, periods: int = 252) -> float:
    """Annualised volatility ``sqrt(periods) · std(r, ddof=1)`` of daily returns (M12)."""
    r = daily_returns(nav)
    if len(r) < 2:
        return float("nan")
    return float(np.sqrt(periods) * r.std(ddof=1))


def sharpe_ratio(nav: pd.Series, rf: float = 0.0, periods: int = 252, method: str = "geometric") -> float:
    """Sharpe ratio (M12).

    Parameters
    ----------
    nav : Series, index = date, daily NAV.
    rf : annual risk-free rate (0 by default).
    periods : trading days per year.
    method : ``"geometric"`` (default, the report's convention) or ``"arithmetic"``.

    Returns
    -------
    float

    Notes
    -----
    geometric: ``(annual_return − rf) / annual_volatility``;
    arithmetic (empyrical): ``sqrt(periods) · mean(r − rf/periods) / std(r)``.
    """
    if method == "geometric":
        vol = annual_volatility(nav, periods)
        return _ratio(annual_return(nav, periods) - rf, vol)
    if method == "arithmetic":
        r = daily_returns(nav) - rf / periods
        if len(r) < 2:
            return float("nan")
        return _ratio(float(np.sqrt(periods) * r.mean()), float(r.std(ddof=1)))
    raise ValueError(f"sharpe method `{method}` unknown; use 'geometric' or 'arithmetic'")


def _ratio(num: float, den: float) -> float:
    if not np.isfinite(num) or not np.isfinite(den) or abs(den) < _EPS:
        return float("nan")
    return float(num / den)


def max_drawdown(nav: pd.Series) -> float:
    """Maximum drawdown as a negative fraction: ``min_t(NAV_t / max_{s≤t} NAV_s − 1)`` (M12)."""
    if len(nav) < 1:
        return float("nan")
    return float((nav / nav.cummax() - 1.0).min())


def relative_nav(nav: pd.Series, benchmark: pd.Series) -> pd.Series:
    """Relative NAV ``(NAV / NAV_0) / (B / B_0)`` on the NAV's dates (M12)."""
    b = _align(nav, benchmark)
    return (nav / nav.iloc[0]) / (b / b.iloc[0])


def _align(nav: pd.Series, benchmark: pd.Series) -> pd.Series:
    b = benchmark.reindex(nav.index)
    if b.isna().any():
        first = b.index[b.isna()][0].date()
        raise ValueError(f"benchmark has no value on {first}, a date of the strategy NAV; "
                         "give the benchmark on every NAV date")
    return b.astype(float)


def excess_return(nav: pd.Series, benchmark: pd.Series, periods: int = 252) -> float:
    """Annualised return of the relative NAV strategy / benchmark (M12)."""
    return annual_return(relative_nav(nav, benchmark), periods)


def tracking_error(nav: pd.Series, benchmark: pd.Series, periods: int = 252) -> float:
    """Tracking error ``sqrt(periods) · std(r − r_B, ddof=1)`` (M12)."""
    d = daily_returns(nav) - daily_returns(_align(nav, benchmark))
    if len(d) < 2:
        return float("nan")
    return float(np.sqrt(periods) * d.std(ddof=1))


def information_ratio(nav: pd.Series, benchmark: pd.Series, periods: int = 252) -> float:
    """Information ratio = annualised excess return / tracking error (M12)."""
    return _ratio(excess_return(nav, benchmark, periods), tracking_error(nav, benchmark, periods))


def relative_max_drawdown(nav: pd.Series, benchmark: pd.Series) -> float:
    """Maximum drawdown (negative) of the relative NAV (M12)."""
    return max_drawdown(relative_nav(nav, benchmark))


def monthly_returns(nav: pd.Series) -> pd.Series:
    """Calendar-month returns, index = calendar month (``Period[M]``).

    Each month runs from the previous month's last NAV (the series' first NAV for the first month)
    to the month's last NAV.
    """
    if len(nav) < 2:
        return pd.Series(dtype=float)
    month = nav.index.to_period("M")
    last = nav.groupby(month).last()
    base = last.shift(1)
    base.iloc[0] = nav.iloc[0]
    out = last / base - 1.0
    # a first month that holds only the first NAV has no return
    if (month == month[0]).sum() == 1:
        out = out.iloc[1:]
    return out


def monthly_excess(nav: pd.Series, benchmark: pd.Series) -> pd.Series:
    """Monthly excess return: strategy month return − benchmark month return (M12).

    Index = calendar month; |excess| below 1e-12 is set to 0 (neither a win nor a loss).
    """
    b = _align(nav, benchmark)
    ex = monthly_returns(nav) - monthly_returns(b)
    return ex.where(ex.abs() > _EPS, 0.0)  # float noise is no excess


def monthly_excess_win_rate(nav: pd.Series, benchmark: pd.Series) -> float:
    """Share of calendar months with positive excess return (M12)."""
    return _win_rate(monthly_excess(nav, benchmark))


def _win_rate(ex: pd.Series) -> float:
    return float((ex > 0).mean()) if len(ex) else float("nan")


def odds(nav: pd.Series, benchmark: pd.Series) -> float:
    """Odds (赔率) = mean of positive monthly excess / |mean of negative monthly excess| (M12).

    NaN when there is no winning or no losing month.
    """
    return _odds(monthly_excess(nav, benchmark))


def _odds(ex: pd.Series) -> float:
    win, loss = ex[ex > 0], ex[ex < 0]
    if win.empty or loss.empty:
        return float("nan")
    return float(win.mean() / abs(loss.mean()))


# ----------------------------------------------------------------------------- table
def _segment_stats(nav: pd.Series, bench: pd.Series | None, turnover: pd.Series | None, rf: float,
                   periods: int, sharpe: str, annualised: bool, ratio_annualise: bool) -> dict:
    """Statistics of one NAV segment (its first point is the base)."""
    n = _n(nav)
    tot = total_return(nav)
    ann = annualise(tot, n, periods)
    shown = ann if annualised else tot
    for_ratio = ann if (annualised or ratio_annualise) else tot
    vol = annual_volatility(nav, periods)
    if sharpe == "geometric":
        sr = _ratio(for_ratio - rf, vol)
    else:
        sr = sharpe_ratio(nav, rf, periods, method=sharpe)
    row = {"annual_return": shown, "volatility": vol, "sharpe": sr, "max_drawdown": max_drawdown(nav),
           "days": float(n), "annualised_return": ann if (annualised or ratio_annualise) else np.nan}
    if bench is not None:
        rel = relative_nav(nav, bench)
        rel_tot = total_return(rel)
        rel_ann = annualise(rel_tot, n, periods)
        te = tracking_error(nav, bench, periods)
        ex = monthly_excess(nav, bench)  # once for the win rate and the odds
        row.update({
            "excess_return": rel_ann if annualised else rel_tot,
            "tracking_error": te,
            "information_ratio": _ratio(rel_ann if (annualised or ratio_annualise) else rel_tot, te),
            "relative_max_drawdown": max_drawdown(rel),
            "annualised_excess": rel_ann if (annualised or ratio_annualise) else np.nan,
            "win_rate": _win_rate(ex),
            "odds": _odds(ex),
        })
    if turnover is not None:
        inside = turnover[(turnover.index >= nav.index[0]) & (turnover.index <= nav.index[-1])]
        total = float(inside.sum())
        row["turnover"] = total * periods / n if (annualised and n > 0) else total
    return row


def period_label(year: int, start=None, end=None, language: str = "en") -> str:
    """Row label of a calendar year: ``"2020"``; a part year ``"2019 (from 10-08)"``,
    ``"2026 (to 01-30)"`` or ``"2019 (10-08 to 12-20)"`` (``start`` = the NAV date the row is
    measured from, ``end`` = its last date). ``language="zh"``: ``"2019年(10-08起)"``,
    ``"2026年(至01-30)"``, ``"2019年(10-08至12-20)"``; a full year ``"2020年"``."""
    s = None if start is None else pd.Timestamp(start).strftime("%m-%d")
    e = None if end is None else pd.Timestamp(end).strftime("%m-%d")
    if language == "zh":
        base = f"{year}年"
        if s and e:
            return f"{base}({s}至{e})"
        return base + (f"({s}起)" if s else f"(至{e})" if e else "")
    if s and e:
        return f"{year} ({s} to {e})"
    return f"{year}" + (f" (from {s})" if s else f" (to {e})" if e else "")


def performance_table(nav: pd.Series, benchmark: pd.Series | None = None, rf: float = 0.0,
                      turnover: pd.Series | None = None, periods: int = 252, sharpe: str = "geometric",
                      min_full_year: float = 0.9) -> pd.DataFrame:
    """Per-calendar-year and full-period performance table (M12).

    Parameters
    ----------
    nav : Series, index = trading date, daily strategy NAV (any starting level).
    benchmark : Series, index = date, daily benchmark NAV on (at least) every NAV date, or None.
    rf : annual risk-free rate for the Sharpe ratio.
    turnover : Series, index = rebalance date, traded fraction of the portfolio at each rebalance
        (two-sided if you want two-sided turnover), or None.
    periods : trading days a year.
    sharpe : ``"geometric"`` (report convention) or ``"arithmetic"``.
    min_full_year : a year with fewer than ``min_full_year × periods`` daily returns is a part year:
        its row is labelled as one (:func:`period_label`), its return column keeps the period
        return, ``annualised_return`` / ``annualised_excess`` show it annualised, and the Sharpe
        ratio and IR use the annualised figures.

    Returns
    -------
    DataFrame, index = ``"2019 (from 10-08)", "2020", …, "2026 (to 01-30)", "Full period"``,
    columns = :data:`COLUMNS`: annual_return (a year's period return; annualised on the full
    period), volatility, sharpe, max_drawdown, excess_return, tracking_error, information_ratio,
    relative_max_drawdown, win_rate, odds, turnover, annualised_return and annualised_excess
    (part years and the full period; NaN on full years), days (daily returns in the row),
    part_year (1.0 / 0.0). Benchmark columns are NaN without a benchmark; turnover is NaN without
    ``turnover``.

    Notes
    -----
    Year y uses the NAV segment from the last NAV of year y−1 (or the series' first NAV) to
    the last NAV of year y: return = un-annualised segment return, volatility = √periods ·
    std of the year's daily returns, drawdowns within the segment, excess = segment return of
    the relative NAV, win rate / odds over the year's calendar months, turnover = sum of the
    year's rebalance turnover. The full-period row annualises return, excess and turnover
    (``turnover × periods / n``). Sharpe = (return − rf) / volatility, IR = excess / TE, with a
    part year's return and excess annualised geometrically for the ratios.
    """
    nav = check_nav(nav)
    if len(nav) < 2:
        raise ValueError("`nav` needs at least two dates to compute performance")
    if sharpe not in ("geometric", "arithmetic"):
        raise ValueError(f"sharpe method `{sharpe}` unknown; use 'geometric' or 'arithmetic'")
    bench = None
    if benchmark is not None:
        bench = _align(nav, check_nav(benchmark.dropna(), "benchmark"))
    if turnover is not None:
        turnover = turnover.copy()
        turnover.index = pd.DatetimeIndex(pd.to_datetime(turnover.index))
        turnover = turnover.astype(float).fillna(0.0)

    rows: dict[str, dict] = {}
    years = nav.index.year
    for y in np.unique(years):
        pos = np.flatnonzero(years == y)
        start = pos[0] - 1 if pos[0] > 0 else pos[0]
        seg = nav.iloc[start:pos[-1] + 1]
        b = bench.iloc[start:pos[-1] + 1] if bench is not None else None
        t = None
        if turnover is not None:
            t = turnover[turnover.index.year == y]  # the year's rebalances
        n = _n(seg)
        if n == 0:
            continue  # only the series' base NAV falls in this year: no return to show
        part = n < min_full_year * periods
        row = _segment_stats(seg, b, None, rf, periods, sharpe, annualised=False, ratio_annualise=part)
        row["part_year"] = float(part)
        if t is not None:
            row["turnover"] = float(t.sum())
        first, last = y == years[0], y == years[-1]
        label = period_label(int(y), seg.index[0] if (part and first) else None,
                             seg.index[-1] if (part and last) else None)
        rows[label] = row
    full = _segment_stats(nav, bench, turnover, rf, periods, sharpe, annualised=True, ratio_annualise=True)
    full["part_year"] = 0.0
    rows[FULL_PERIOD] = full
    out = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=COLUMNS)
    out.index.name = "period"
    return out.astype(float)
