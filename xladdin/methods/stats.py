"""Statistics, pure functions in the style of empyrical: performance of strategy NAVs (spec M12), the
rank IC (M11), the trailing percentile rank and realised volatility (M13).

**Performance (M12).**

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

from xladdin.conventions import MONTHS_PER_YEAR, TRADING_DAYS_PER_YEAR

__all__ = [
    "COLUMNS", "FULL_PERIOD", "RF_RANGE", "check_nav", "daily_returns", "total_return", "annual_return",
    "annualise", "annual_volatility", "sharpe_ratio", "max_drawdown", "relative_nav", "excess_return",
    "tracking_error", "information_ratio", "relative_max_drawdown", "monthly_returns",
    "monthly_excess", "monthly_excess_win_rate", "odds", "performance_table", "period_label",
    "DEFAULT_MIN_OBS", "rank_ic", "ic_summary", "DEFAULT_VOL_WINDOW", "trailing_percentile", "realised_volatility",
]

#: columns of :func:`performance_table`, in order
COLUMNS = ["annual_return", "volatility", "sharpe", "max_drawdown", "excess_return", "tracking_error",
           "information_ratio", "relative_max_drawdown", "win_rate", "odds", "turnover", "annualised_return",
           "annualised_excess", "days", "part_year"]
_COLUMN_INDEX = pd.Index(COLUMNS)  # built once (an Index is immutable)
#: label of the full-period row
FULL_PERIOD = "Full period"
#: default annual risk-free rate of the Sharpe ratios (M12)
DEFAULT_RF = 0.0
#: the annual risk-free rates a setting may take (the sheet's rf, ``XA_PERF``): -10 % to 20 %
RF_RANGE = (-0.1, 0.2)
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
    nav = nav.astype(float) if nav.dtype != np.float64 else nav.copy(deep=False)
    if not nav.index.is_monotonic_increasing:
        nav = nav.sort_index()
    if nav.index.has_duplicates:
        raise ValueError(f"`{name}` has duplicated dates; keep one value per trading day")
    if nav.index.hasnans:
        raise ValueError(f"`{name}` has a value without a date; give every value its trading date")
    v = nav.to_numpy()
    missing = np.isnan(v)
    if missing.any():
        first = nav.index[missing][0].date()
        raise ValueError(f"`{name}` has missing values (first on {first}); fill or trim them before computing statistics")
    if (v <= 0).any():
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


def annualise(ret: float, n: int, periods: int = TRADING_DAYS_PER_YEAR) -> float:
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


def annual_return(nav: pd.Series, periods: int = TRADING_DAYS_PER_YEAR) -> float:
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


def annual_volatility(nav: pd.Series, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised volatility ``sqrt(periods) · std(r, ddof=1)`` of daily returns (M12)."""
    r = daily_returns(nav)
    if len(r) < 2:
        return float("nan")
    return float(np.sqrt(periods) * r.std(ddof=1))


def sharpe_ratio(nav: pd.Series, rf: float = DEFAULT_RF, periods: int = TRADING_DAYS_PER_YEAR, method: str = "geometric") -> float:
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
    b = benchmark if benchmark.index.equals(nav.index) else benchmark.reindex(nav.index)
    missing = np.isnan(b.to_numpy(dtype=float, na_value=np.nan))
    if missing.any():
        first = b.index[missing][0].date()
        raise ValueError(f"benchmark has no value on {first}, a date of the strategy NAV; "
                         "give the benchmark on every NAV date")
    return b.astype(float)


def excess_return(nav: pd.Series, benchmark: pd.Series, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised return of the relative NAV strategy / benchmark (M12)."""
    return annual_return(relative_nav(nav, benchmark), periods)


def tracking_error(nav: pd.Series, benchmark: pd.Series, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Tracking error ``sqrt(periods) · std(r − r_B, ddof=1)`` (M12)."""
    d = daily_returns(nav) - daily_returns(_align(nav, benchmark))
    if len(d) < 2:
        return float("nan")
    return float(np.sqrt(periods) * d.std(ddof=1))


def information_ratio(nav: pd.Series, benchmark: pd.Series, periods: int = TRADING_DAYS_PER_YEAR) -> float:
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
def _seg_sum(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sum of ``v[lo_k:hi_k]`` for each segment k (0 for an empty one).

    One segment: numpy's pairwise sum, as pandas' ``Series.sum`` (bit-for-bit with the one-segment
    functions); several: ``np.add.reduceat`` (sequential: the same to ~1e-16 relative).
    """
    if len(lo) == 1:
        return np.array([v[lo[0]:hi[0]].sum()])
    out = np.zeros(len(lo))
    ok = hi > lo
    if ok.all() and hi[-1] == len(v) and (lo[1:] == hi[:-1]).all():  # segments tile v
        out[:] = np.add.reduceat(v, lo)
    elif ok.any():
        cut = np.unique(np.concatenate([lo[ok], hi[ok][hi[ok] < len(v)]]))
        out[ok] = np.add.reduceat(v, cut)[np.searchsorted(cut, lo[ok])]
    return out


def _seg_masked_sum(v: np.ndarray, mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sum of the ``mask``-ed values of each segment (one segment: pairwise over the selected values)."""
    if len(lo) == 1:
        return np.array([v[lo[0]:hi[0]][mask[lo[0]:hi[0]]].sum()])
    return _seg_sum(np.where(mask, v, 0.0), lo, hi)


def _seg_std(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sample standard deviation (ddof=1) of each segment, two-pass as pandas' ``Series.std``
    (``mean``, then the mean squared deviation); NaN for fewer than two values."""
    cnt = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = _seg_sum(v, lo, hi) / cnt
        if len(lo) == 1:
            var = ((avg[0] - v[lo[0]:hi[0]]) ** 2).sum() / (cnt - 1)
        else:
            start = _offsets(cnt)
            dev = (np.repeat(avg, cnt) - v[_seg_positions(lo, cnt)]) ** 2
            var = _seg_sum(dev, start, start + cnt) / (cnt - 1)
    return np.where(cnt >= 2, np.sqrt(var), np.nan)


def _offsets(cnt: np.ndarray) -> np.ndarray:
    """Start of each consecutive segment of lengths ``cnt``."""
    out = np.zeros(len(cnt), dtype=np.int64)
    np.cumsum(cnt[:-1], out=out[1:])
    return out


def _seg_positions(lo: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Concatenated positions ``lo_k, lo_k + 1, …, lo_k + cnt_k − 1`` of all segments."""
    total = int(cnt.sum())
    return np.arange(total) + np.repeat(lo - _offsets(cnt), cnt)


def _seg_cummax(v: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Running maximum within each of the consecutive segments of ``v`` (lengths ``cnt``); exact.

    Segments of similar lengths (calendar years) are laid out as the rows of a padded matrix and
    accumulated along the rows at once; otherwise a Hillis-Steele scan (after the pass with shift s
    each value is the maximum of the 2s values ending at it within its segment: log2(longest)
    passes).
    """
    if len(cnt) == 1:
        return np.maximum.accumulate(v)
    width = int(cnt.max())
    pos = np.arange(len(v)) - np.repeat(_offsets(cnt), cnt)  # position within the segment
    if len(cnt) * width <= 2 * len(v):
        at = np.repeat(np.arange(len(cnt)) * width, cnt) + pos
        pad = np.full(len(cnt) * width, -np.inf)
        pad[at] = v
        return np.maximum.accumulate(pad.reshape(len(cnt), width), axis=1).ravel()[at]
    m = v.copy()
    s = 1
    while s < width:
        m[s:] = np.where(pos[s:] >= s, np.maximum(m[s:], m[:-s]), m[s:])
        s *= 2
    return m


def _drawdowns(path: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Maximum drawdown (negative) of each consecutive segment of ``path``: ``min(P / running max − 1)``."""
    dd = path / _seg_cummax(path, cnt) - 1.0
    if len(cnt) == 1:
        return np.array([dd.min()])
    return np.minimum.reduceat(dd, _offsets(cnt))


def _annualise_each(ret: np.ndarray, n: np.ndarray, periods: int) -> np.ndarray:
    """:func:`annualise` of each segment (scalar powers: the same rounding as the one-segment code)."""
    with np.errstate(over="ignore"):
        return np.array([np.float64(1.0 + t) ** (periods / k) - 1.0 if (k > 0 and np.isfinite(t)) else np.nan
                         for t, k in zip(ret.tolist(), n.tolist())], dtype=float)


def _ratio_each(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """:func:`_ratio` elementwise: NaN where either is not finite or ``|den| < 1e-12``."""
    ok = np.isfinite(num) & np.isfinite(den) & (np.abs(den) >= _EPS)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def _table_values(x: np.ndarray, b: np.ndarray | None, ym: np.ndarray, base: np.ndarray, end: np.ndarray,
                  rf: float, periods: int, sharpe: str, annualised: bool, ratio_annualise: np.ndarray) -> dict:
    """Statistics of NAV segments ``x[base_k .. end_k]`` (each one's first point is its base), all at once.

    ``x``, ``b``: NAV and benchmark on every date; ``ym``: year × 12 + month of each date. Segments
    are consecutive (``base_{k+1} = end_k``) or one (the full period). Same formulas as the module's
    one-segment functions: returns ``r_t = x_t / x_{t−1} − 1`` (the segment's are ``r[base:end]``),
    two-pass sample std, drawdown on the segment's running peak, relative NAV
    ``(x / x_base) / (b / b_base)``, calendar months measured from the previous month's last NAV.
    """
    n = end - base
    r = x[1:] / x[:-1] - 1.0
    tot = x[end] / x[base] - 1.0
    ann = _annualise_each(tot, n, periods)
    for_ratio = np.where(ratio_annualise, ann, tot) if not annualised else ann
    vol = np.sqrt(periods) * _seg_std(r, base, end)
    if sharpe == "geometric":
        sr = _ratio_each(for_ratio - rf, vol)
    else:
        ra = r - rf / periods
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = _seg_sum(ra, base, end) / n
        sr = np.where(n >= 2, _ratio_each(np.sqrt(periods) * mean, _seg_std(ra, base, end)), np.nan)
    cnt = n + 1
    pos = _seg_positions(base, cnt) if len(base) > 1 else np.arange(base[0], end[0] + 1)
    out = {"annual_return": ann if annualised else tot, "volatility": vol, "sharpe": sr,
           "max_drawdown": _drawdowns(x[pos], cnt), "days": n.astype(float),
           "annualised_return": np.where(ratio_annualise, ann, np.nan) if not annualised else ann}
    if b is None:
        return out
    seg_base = np.repeat(base, cnt)
    rel = (x[pos] / x[seg_base]) / (b[pos] / b[seg_base])
    rel_tot = rel[np.cumsum(cnt) - 1] - 1.0  # the segment's first relative NAV is exactly 1
    rel_ann = _annualise_each(rel_tot, n, periods)
    te = np.sqrt(periods) * _seg_std(r - (b[1:] / b[:-1] - 1.0), base, end)
    win, loss, months = _monthly_excess_stats(x, b, ym, base, end)
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(months > 0, win[0] / months, np.nan)
        odds_ = np.where((win[0] > 0) & (loss[0] > 0), (win[1] / win[0]) / np.abs(loss[1] / loss[0]), np.nan)
    out.update({
        "excess_return": rel_ann if annualised else rel_tot, "tracking_error": te,
        "information_ratio": _ratio_each(rel_ann if annualised else np.where(ratio_annualise, rel_ann, rel_tot), te),
        "relative_max_drawdown": _drawdowns(rel, cnt),
        "annualised_excess": rel_ann if annualised else np.where(ratio_annualise, rel_ann, np.nan),
        "win_rate": win_rate, "odds": odds_,
    })
    return out


def _monthly_excess_stats(x: np.ndarray, b: np.ndarray, ym: np.ndarray, base: np.ndarray, end: np.ndarray):
    """Per segment: (count, sum) of the winning months, (count, sum) of the losing months, and the
    number of months (:func:`monthly_excess`: strategy − benchmark month return, |excess| ≤ 1e-12 is 0).

    A calendar month's return runs from the previous month's last NAV (the series' first NAV for the
    first month, which is dropped when it holds only that NAV) to its last NAV; a segment's months are
    those whose last NAV lies in ``(base, end]`` (the segment's base closes the month before).
    """
    last = np.flatnonzero(np.append(ym[1:] != ym[:-1], True))
    prev = np.concatenate([[0], last[:-1]])
    if last[0] == 0:
        last, prev = last[1:], prev[1:]
    ex = (x[last] / x[prev] - 1.0) - (b[last] / b[prev] - 1.0)
    ex = np.where(np.abs(ex) > _EPS, ex, 0.0)
    lo, hi = np.searchsorted(last, base, "right"), np.searchsorted(last, end, "right")
    win, loss = ex > 0, ex < 0
    return ((_seg_sum(win.astype(float), lo, hi), _seg_masked_sum(ex, win, lo, hi)),
            (_seg_sum(loss.astype(float), lo, hi), _seg_masked_sum(ex, loss, lo, hi)), (hi - lo).astype(float))


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


def _year_month(index: pd.DatetimeIndex) -> np.ndarray:
    """``year × 12 + month − 1`` of each date of a sorted index (local calendar for time-zone-aware
    dates): the position of each day among the first days of the months it spans."""
    if index.tz is not None:
        return index.year.to_numpy(dtype=np.int64) * 12 + index.month.to_numpy(dtype=np.int64) - 1
    days = index.to_numpy().astype("datetime64[D]")
    m0, m1 = days[[0, -1]].astype("datetime64[M]")
    month_starts = np.arange(m0, m1 + np.timedelta64(1, "M")).astype("datetime64[D]")
    return np.searchsorted(month_starts, days, "right") - 1 + (m0.astype(np.int64) + 1970 * 12)


def performance_table(nav: pd.Series, benchmark: pd.Series | None = None, rf: float = DEFAULT_RF,
                      turnover: pd.Series | None = None, periods: int = TRADING_DAYS_PER_YEAR, sharpe: str = "geometric",
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
    part year's return and excess annualised geometrically for the ratios. All years are computed
    at once on arrays (segment sums, a segmented running maximum), the same numbers as the
    one-segment functions of this module applied year by year.
    """
    nav = check_nav(nav)
    if len(nav) < 2:
        raise ValueError("`nav` needs at least two dates to compute performance")
    if sharpe not in ("geometric", "arithmetic"):
        raise ValueError(f"sharpe method `{sharpe}` unknown; use 'geometric' or 'arithmetic'")
    bench = None
    if benchmark is not None:
        if not (isinstance(benchmark, pd.Series) and benchmark.dtype == np.float64
                and not np.isnan(benchmark.to_numpy()).any()):
            benchmark = benchmark.dropna()
        bench = _align(nav, check_nav(benchmark, "benchmark"))
    if turnover is not None:
        turnover = turnover.copy()
        turnover.index = pd.DatetimeIndex(pd.to_datetime(turnover.index))
        turnover = turnover.astype(float).fillna(0.0)

    x = nav.to_numpy(dtype=float)
    b = None if bench is None else bench.to_numpy(dtype=float)
    ym = _year_month(nav.index)
    years = ym // 12
    first = np.flatnonzero(np.concatenate([[True], years[1:] != years[:-1]]))  # each year's first date
    end = np.append(first[1:] - 1, len(x) - 1)
    base = np.maximum(first - 1, 0)  # the previous year's last NAV (the series' first NAV)
    keep = end > base  # a first year holding only the base NAV has no return to show
    first, end, base = first[keep], end[keep], base[keep]
    y = years[first]
    part = (end - base) < min_full_year * periods
    cols = {c: np.full(len(y) + 1, np.nan) for c in COLUMNS}
    if len(y):
        for c, v in _table_values(x, b, ym, base, end, rf, periods, sharpe, False, part).items():
            cols[c][:-1] = v
    full = _table_values(x, b, ym, np.array([0]), np.array([len(x) - 1]), rf, periods, sharpe, True,
                         np.array([True]))
    for c, v in full.items():
        cols[c][-1] = v[0]
    cols["part_year"][:-1] = part
    cols["part_year"][-1] = 0.0
    if turnover is not None:
        t = turnover.to_numpy(dtype=float)
        t_years = turnover.index.year.to_numpy()
        order = np.argsort(t_years, kind="stable")  # each year's rebalances in their given order
        sorted_years = t_years[order]
        cols["turnover"][:-1] = _seg_sum(t[order], np.searchsorted(sorted_years, y, "left"),
                                         np.searchsorted(sorted_years, y, "right")) if len(y) else []
        inside = (turnover.index >= nav.index[0]) & (turnover.index <= nav.index[-1])
        cols["turnover"][-1] = float(t[inside].sum()) * periods / (len(x) - 1)
    y0, y1 = years[0], years[-1]
    labels = [period_label(int(yy), nav.index[a] if (p and yy == y0) else None,
                           nav.index[e] if (p and yy == y1) else None) for yy, a, e, p in zip(y, base, end, part)]
    return pd.DataFrame(np.column_stack([cols[c] for c in COLUMNS]),
                        index=pd.Index(labels + [FULL_PERIOD], dtype="str", name="period"), columns=_COLUMN_INDEX)


# ------------------------------------------------------------- information coefficient (M11)
#: the fewest ETFs with both a score and a return for a date's rank IC (fewer: NaN)
DEFAULT_MIN_OBS = 3


def rank_ic(scores: pd.DataFrame, returns: pd.DataFrame, min_obs: int = DEFAULT_MIN_OBS) -> pd.Series:
    """Cross-sectional Spearman rank IC per date (spec M11).

    Parameters
    ----------
    scores, returns : DataFrame
        index = date, columns = ETF (``returns`` = next-period returns, aligned on the signal date).
    min_obs : int
        Dates with fewer ETFs having both values get NaN.

    Returns
    -------
    Series
        index = date: Pearson correlation of the average-tie ranks of the jointly non-missing
        pairs (= scipy.stats.spearmanr); NaN when a side is constant.
    """
    if scores.index.equals(returns.index) and scores.columns.equals(returns.columns):
        s, r = scores, returns
    else:
        s, r = scores.align(returns, join="inner")
    sv = s.to_numpy(dtype=float, na_value=np.nan)
    rv = r.to_numpy(dtype=float, na_value=np.nan)
    both = ~(np.isnan(sv) | np.isnan(rv))
    complete = bool(both.all())
    if not complete:
        sv, rv = np.where(both, sv, np.nan), np.where(both, rv, np.nan)
    rs, rr = _row_ranks(sv, complete), _row_ranks(rv, complete)
    count = both.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if complete:  # every row ranks 1..k: the mean rank is (k + 1) / 2
            rs -= (sv.shape[1] + 1) / 2.0
            rr -= (sv.shape[1] + 1) / 2.0
        else:
            rs = np.where(both, rs - rs.sum(axis=1, where=both, keepdims=True) / count[:, None], 0.0)
            rr = np.where(both, rr - rr.sum(axis=1, where=both, keepdims=True) / count[:, None], 0.0)
        den = np.sqrt(np.einsum("ij,ij->i", rs, rs) * np.einsum("ij,ij->i", rr, rr))
        ic = np.where(den > 0, np.einsum("ij,ij->i", rs, rr) / den, np.nan)
    ic[count < min_obs] = np.nan
    return pd.Series(ic, index=s.index, name="ic", copy=False)


def _row_ranks(x: np.ndarray, complete: bool = False) -> np.ndarray:
    """Average-tie ranks (1 = smallest) within each row of ``x``, as ``DataFrame.rank(axis=1)``; NaN stays
    NaN. ``complete``: ``x`` has no NaN (skips restoring them)."""
    n, k = x.shape
    flat = (np.argsort(x, axis=1) + (np.arange(n) * k)[:, None]).ravel()   # NaN sorted last
    xs = x.ravel()[flat].reshape(n, k)
    pos = np.broadcast_to(np.arange(1, k + 1, dtype=float), x.shape)
    starts = np.ones(x.shape, dtype=bool)
    np.not_equal(xs[:, 1:], xs[:, :-1], out=starts[:, 1:])  # a new value opens a tie group
    if starts.all():  # no tie (NaN != NaN): the rank is the position
        avg = pos
    else:
        ends = np.ones(x.shape, dtype=bool)
        ends[:, :-1] = starts[:, 1:]
        first = np.maximum.accumulate(np.where(starts, pos, 0.0), axis=1)
        last = np.minimum.accumulate(np.where(ends, pos, k + 1.0)[:, ::-1], axis=1)[:, ::-1]
        avg = (first + last) / 2.0
    ranks = np.empty(x.shape)
    ranks.ravel()[flat] = np.ravel(avg)  # back to each value's own column
    if not complete:
        ranks[np.isnan(x)] = np.nan
    return ranks


def ic_summary(ic: pd.Series, periods_per_year: int = MONTHS_PER_YEAR) -> pd.Series:
    """IC mean, std, IC IR = mean / std, t-statistic, share of positive ICs, count.

    Parameters
    ----------
    ic : Series
        index = date (NaNs ignored).
    periods_per_year : int
        For the annualised IR ``mean / std × √periods`` (reported beside the plain IR).

    Returns
    -------
    Series
        ``ic_mean``, ``ic_std`` (ddof 1), ``ic_ir``, ``ic_ir_annualised``, ``t_stat``
        (``mean / std × √n``), ``positive_share``, ``months``, ``last_ic``.
    """
    x = ic.to_numpy(dtype=float, na_value=np.nan)
    x = x[~np.isnan(x)]
    n = x.size
    mean = x.mean() if n else np.nan
    std = x.std(ddof=1) if n > 1 else np.nan
    ir = mean / std if std and np.isfinite(std) and std > 0 else np.nan
    return pd.Series({
        "ic_mean": mean, "ic_std": std, "ic_ir": ir,
        "ic_ir_annualised": ir * np.sqrt(float(periods_per_year)) if np.isfinite(ir) else np.nan,
        "t_stat": ir * np.sqrt(float(n)) if np.isfinite(ir) else np.nan,
        "positive_share": (x > 0).mean() if n else np.nan,
        "months": float(n),
        "last_ic": x[-1] if n else np.nan,
    }, name="ic")


# ------------------------------------------------- percentile rank, realised volatility (M13)
#: trading days of the realised-volatility window (M13)
DEFAULT_VOL_WINDOW = 20


def trailing_percentile(values: pd.Series | pd.DataFrame, window: int,
                        min_periods: int | None = None) -> pd.Series | pd.DataFrame:
    """Percentile of each value within its own trailing window, current value included (M13).

    Parameters
    ----------
    values : Series or DataFrame
        index = date (ascending); a DataFrame is treated column by column.
    window : int
        Number of rows in the window, the current row included (e.g. 156 weeks = 3 years).
    min_periods : int, optional
        Minimum non-missing values in the window; default ``window`` (a full history).

    Returns
    -------
    Same shape and labels as ``values``: fractions in (0, 1]; NaN where the value is missing or the
    window has fewer than ``min_periods`` values.

    Notes
    -----
    Empirical distribution function of the window: ``p_t = #{s ∈ W_t : x_s ≤ x_t} / #{s ∈ W_t}``,
    ``W_t`` = the non-missing values among rows ``t − window + 1 … t``. The current maximum gives 1,
    the minimum ``1 / n``; ties count as ≤ (a constant series gives 1). This differs from Excel's
    PERCENTRANK.INC, which is ``#{x_s < x_t} / (n − 1)`` (0 for the minimum). Implemented with
    pandas' rolling rank (``method="max", pct=True``).
    """
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"`window` must be a positive integer, got {window!r}")
    if min_periods is None:
        min_periods = int(window)
    if not 1 <= min_periods <= window:
        raise ValueError(f"`min_periods` must be in 1..window ({window}), got {min_periods}")
    if not isinstance(values, (pd.Series, pd.DataFrame)):
        raise ValueError(f"`values` must be a Series or DataFrame, got {type(values).__name__}")
    return values.astype(float).rolling(int(window), min_periods=int(min_periods)).rank(method="max", pct=True)


def realised_volatility(close: pd.Series | pd.DataFrame, window: int = DEFAULT_VOL_WINDOW,
                        periods: int = TRADING_DAYS_PER_YEAR) -> pd.Series | pd.DataFrame:
    """Annualised realised volatility of daily simple returns over a trailing window (M13).

    Parameters
    ----------
    close : Series or DataFrame
        index = trading date, columns = industry / index.
    window : int
        Trading days (default 20).
    periods : int
        Trading days a year.

    Returns
    -------
    Same shape: ``σ_t = √periods × std(r_{t−window+1} … r_t)`` (ddof 1), ``r_t = close_t/close_t−1 − 1``;
    NaN until ``window`` returns exist.
    """
    r = close.astype(float).pct_change(fill_method=None)
    return r.rolling(window, min_periods=window).std() * np.sqrt(periods)
