"""ETF flow / index return correlation as a top-risk signal (spec M2) and its event study (M3).

Series are indexed by date (trading days, ascending). Pure functions: pandas in, pandas out.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from xladdin.data.ends import EffectiveEnd, market_effective_end
from xladdin.data.market import Market, MissingTableError
from xladdin.errors import Note

from .flows import MissingNav, SplitDay, index_flow

EventMode = Literal["every", "first"]
#: event days (M3): every day above a threshold (the default) or first crossings only
EVENT_MODES: tuple[str, ...] = get_args(EventMode)
DEFAULT_EVENT_MODE: EventMode = "every"
#: the index the report watches, the rolling window (trading days) and the signal threshold (M2)
DEFAULT_CORR_INDEX = "000300.SH"
DEFAULT_CORR_WINDOW = 20
DEFAULT_CORR_THRESHOLD = 0.5
DEFAULT_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
DEFAULT_HORIZONS = (5, 10, 15, 20, 25, 30)
#: the values each setting may take, wherever it is given (the parameters sheet, ``--set``, the ``XA_``
#: functions): a rolling correlation needs 3 points and a window of four years is the longest that means
#: anything for weekly decisions; a correlation threshold lies in [-1, 1]; an event horizon is at most a year
CORR_WINDOW_RANGE = (3, 1000)
CORR_THRESHOLD_RANGE = (-1.0, 1.0)
HORIZON_RANGE = (1, 250)
GRID_COLUMNS = ["threshold", "horizon", "events", "p_down", "mean_return", "base_p_down", "base_mean_return"]


def _check_series(s: pd.Series, name: str) -> None:
    if not isinstance(s, pd.Series):
        raise TypeError(f"`{name}` must be a Series indexed by date, got {type(s).__name__}")
    if not s.index.is_unique:
        raise ValueError(f"`{name}` has duplicated dates; keep one value per date")


def rolling_correlation(flow: pd.Series, returns: pd.Series, window: int = DEFAULT_CORR_WINDOW) -> pd.Series:
    """Rolling Pearson correlation of a daily flow with a daily return (spec M2).

    Parameters
    ----------
    flow : Series
        Aggregate ETF flow (yuan), index = date.
    returns : Series
        Daily return of the tracked index, index = date.
    window : int
        Number of observations per window (default 20 trading days), >= 3.

    Returns
    -------
    Series
        ``corr`` indexed by the common dates where both inputs are valid (sorted); NaN for the
        first ``window - 1`` of them and for a window in which either input is constant.

    Notes
    -----
    The two series are first aligned on the dates where both are non-missing, so a window is
    always ``window`` valid pairs (a day with no flow is dropped, not bridged with 0). For the
    window ending at t: ``rho_t = sum (x - xbar)(y - ybar) / sqrt(sum (x - xbar)^2 sum (y - ybar)^2)``,
    computed per window on demeaned values (no running sums, so no cancellation with flows of
    order 1e10 yuan); equal to ``scipy.stats.pearsonr`` on each window. Each window is first scaled
    by a power of two (exact) so that no product overflows or underflows: any finite magnitude,
    1e-300 or 1e300, gives the same correlation (:func:`_scaled_windows`).
    """
    _check_series(flow, "flow")
    _check_series(returns, "returns")
    if int(window) != window or window < 3:
        raise ValueError(f"window must be an integer >= 3, got {window!r}")
    window = int(window)
    x, y, idx = _valid_pairs(flow, returns)
    out = np.full(len(idx), np.nan)
    if len(idx) >= window:
        out[window - 1:] = _window_correlation(x, y, window)
    return pd.Series(out, index=idx, name="corr", copy=False)


def _valid_pairs(flow: pd.Series, returns: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Both series on their common dates where both are valid, in date order: (x, y, dates)."""
    if flow.index.equals(returns.index) and flow.index.is_monotonic_increasing:
        x = flow.to_numpy(dtype=float, na_value=np.nan)
        y = returns.to_numpy(dtype=float, na_value=np.nan)
        keep = ~(np.isnan(x) | np.isnan(y))
        return x[keep], y[keep], flow.index[keep]
    both = pd.concat([flow.astype(float).rename("x"), returns.astype(float).rename("y")], axis=1,
                     join="inner").dropna().sort_index()
    return both["x"].to_numpy(), both["y"].to_numpy(), both.index


def _power_of_two_scaled(v: np.ndarray) -> np.ndarray:
    """``v`` times the power of two that brings its largest |value| into [0.5, 1) (exact)."""
    peak = float(np.abs(v).max()) if v.size else 0.0
    return np.ldexp(v, -np.frexp(peak)[1]) if peak > 0 else v


def _scaled_windows(v: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The windows of ``v`` (rows; ``v`` already scaled as a whole), and each window's largest |value|.

    A window whose values are all far below the series' largest (< 2^-400, e.g. 1e-200 beside 1e0)
    is scaled on its own by a power of two. Power-of-two scaling is exact, so ordinary data gives the
    same bits as unscaled, and no square or product of deviations can overflow or underflow,
    whatever the magnitude of the data.
    """
    windows = sliding_window_view(v, window)
    top = sliding_window_view(np.abs(v), window).max(axis=1)
    tiny = (top > 0) & (top < 2.0 ** -400)
    if tiny.any():
        exp = np.where(tiny, np.frexp(top)[1], 0)
        windows, top = np.ldexp(windows, -exp[:, None]), np.ldexp(top, -exp)
    return windows, top


#: values per temporary array of the window computation: windows are taken in chunks of this size
#: so that time stays proportional to rows (no array outgrows the CPU caches)
_CHUNK_VALUES = 1 << 20


def _window_correlation(x: np.ndarray, y: np.ndarray, window: int) -> np.ndarray:
    """Pearson correlation of every window of ``window`` consecutive pairs (NaN for a flat window)."""
    x, y = _power_of_two_scaled(x), _power_of_two_scaled(y)
    n = x.size - window + 1
    out = np.empty(n)
    step = max(1, _CHUNK_VALUES // window)
    for lo in range(0, n, step):  # a few chunks, not a loop over rows
        hi = min(n, lo + step)
        out[lo:hi] = _chunk_correlation(x[lo:hi + window - 1], y[lo:hi + window - 1], window)
    return out


def _chunk_correlation(x: np.ndarray, y: np.ndarray, window: int) -> np.ndarray:
    xw, scale_x = _scaled_windows(x, window)
    yw, scale_y = _scaled_windows(y, window)
    xd = xw - xw.mean(axis=1, keepdims=True)
    yd = yw - yw.mean(axis=1, keepdims=True)
    sxy = (xd * yd).sum(axis=1)
    sxx = (xd * xd).sum(axis=1)
    syy = (yd * yd).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = sxy / np.sqrt(sxx * syy)
    # a constant window has no defined correlation; tiny spread from rounding counts as constant
    flat = (sxx <= (1e-12 * scale_x) ** 2 * window) | (syy <= (1e-12 * scale_y) ** 2 * window)
    return np.where(flat, np.nan, np.clip(rho, -1.0, 1.0))


def top_signal(corr: pd.Series | np.ndarray, threshold: float = DEFAULT_CORR_THRESHOLD) -> pd.Series | np.ndarray:
    """Top-risk signal: 1 where the rolling correlation exceeds ``threshold`` (spec M2).

    Parameters
    ----------
    corr : Series (index = date) or 1-D array
        The rolling correlation.
    threshold : float

    Returns
    -------
    Series or array (as ``corr``)
        Float 1.0 / 0.0, indexed like ``corr``; NaN where ``corr`` is NaN (no signal can be read).

    Notes
    -----
    ``signal_t = 1{corr_t > threshold}`` (strict inequality).
    """
    if isinstance(corr, np.ndarray):
        return _signal(np.asarray(corr, dtype=float), threshold)
    _check_series(corr, "corr")
    return pd.Series(_signal(corr.to_numpy(dtype=float), threshold), index=corr.index, name="signal", copy=False)


def _signal(c: np.ndarray, threshold: float) -> np.ndarray:
    return np.where(np.isnan(c), np.nan, (c > threshold).astype(float))


def forward_returns(close: pd.Series, horizons: Sequence[int] = DEFAULT_HORIZONS) -> pd.DataFrame:
    """Forward returns ``close_{t+h} / close_t - 1`` over trading days (rows of ``close``).

    Returns
    -------
    DataFrame
        index = date (as ``close``), columns = horizon; NaN where t+h runs past the last row.
    """
    _check_series(close, "close")
    c = close.astype(float).sort_index()
    if (c <= 0).any():
        raise ValueError("close must be > 0")
    out = pd.DataFrame({int(h): c.shift(-int(h)) / c - 1.0 for h in horizons}, index=c.index)
    out.columns.name = "horizon"
    return out


def event_days(corr: pd.Series, threshold: float, mode: EventMode = DEFAULT_EVENT_MODE) -> pd.Series:
    """Boolean Series (index of ``corr``): the event days of threshold ``threshold`` (M3).

    ``"every"``: every day with ``corr_t > threshold``. ``"first"``: only a day where the
    correlation crosses above the threshold, i.e. ``corr_t > threshold`` and the previous valid
    reading was ``<= threshold`` (the first valid reading counts when it is above).
    """
    if mode not in ("every", "first"):
        raise ValueError(f"mode must be 'every' or 'first', got {mode!r}")
    valid = corr.dropna()
    above = valid > threshold
    if mode == "first":
        above = above & ~above.shift(1, fill_value=False)
    return above.reindex(corr.index, fill_value=False).astype(bool)


def event_study(corr: pd.Series, close: pd.Series, event_thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                event_horizons: Sequence[int] = DEFAULT_HORIZONS, event_mode: EventMode = DEFAULT_EVENT_MODE
                ) -> pd.DataFrame:
    """Down probability and mean forward return after high-correlation days (spec M3).

    Parameters
    ----------
    corr : Series
        Rolling correlation (:func:`rolling_correlation`), index = date. Its non-NaN dates are the
        study sample.
    close : Series
        Index close, index = date (trading days). Forward returns are taken over its rows, so
        pass it cut at the study's end date: nothing after its last row is used.
    event_thresholds : sequence of float
        Correlation thresholds theta (event: ``corr_t > theta``).
    event_horizons : sequence of int
        Forward horizons h in trading days.
    event_mode : {"every", "first"}
        ``"every"`` (default): every qualifying day is an event (overlapping windows).
        ``"first"``: only first crossings above theta (see :func:`event_days`).

    Returns
    -------
    DataFrame
        One row per (threshold, horizon), sorted: threshold, horizon, events, p_down,
        mean_return, base_p_down, base_mean_return. ``p_down``/``mean_return`` are NaN when
        there is no event.

    Notes
    -----
    ``R_{t,h} = close_{t+h} / close_t - 1``; ``p_down = share of events with close_{t+h} < close_t``;
    ``mean_return = mean R_{t,h}`` over the events. Base rates: the same over every sample day
    (non-NaN corr) with a valid ``R_{t,h}``. An event whose horizon runs past the last close
    (or whose date has no close) is excluded from that horizon's count, as are base days.
    """
    _check_series(corr, "corr")
    if event_mode not in ("every", "first"):
        raise ValueError(f"event_mode must be 'every' or 'first', got {event_mode!r}")
    thresholds = [float(t) for t in event_thresholds]
    horizons = [int(h) for h in event_horizons]
    if not thresholds or not horizons:
        raise ValueError("give at least one threshold and one horizon")
    if any(h < 1 for h in horizons):
        raise ValueError("horizons must be >= 1 trading day")
    r = _forward_matrix(close, corr.index, horizons)                      # dates x horizons
    c = corr.to_numpy(dtype=float, na_value=np.nan)
    sample = ~np.isnan(c)
    valid = np.isfinite(r) & sample[:, None]
    down = valid & (np.nan_to_num(r, nan=0.0) < 0)
    r0 = np.where(valid, r, 0.0)
    ev = _event_matrix(c, thresholds, event_mode).astype(float)                # dates x thresholds
    n_ev = ev.T @ valid                     # θ x h
    n_down = ev.T @ down
    s_ret = ev.T @ r0
    n_base = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_down = np.where(n_ev > 0, n_down / n_ev, np.nan)
        mean_ret = np.where(n_ev > 0, s_ret / n_ev, np.nan)
        base_p = np.where(n_base > 0, down.sum(axis=0) / n_base, np.nan)
        base_m = np.where(n_base > 0, r0.sum(axis=0) / n_base, np.nan)
    nt, nh = len(thresholds), len(horizons)
    grid = pd.DataFrame({
        "threshold": np.repeat(thresholds, nh),
        "horizon": np.tile(horizons, nt),
        "events": n_ev.reshape(-1).astype(int),
        "p_down": p_down.reshape(-1),
        "mean_return": mean_ret.reshape(-1),
        "base_p_down": np.tile(base_p, nt),
        "base_mean_return": np.tile(base_m, nt),
    })
    return grid.sort_values(["threshold", "horizon"], kind="stable").reset_index(drop=True)


def _forward_matrix(close: pd.Series, dates: pd.Index, horizons: list[int]) -> np.ndarray:
    """:func:`forward_returns` on the rows ``dates`` as an array (dates x horizons)."""
    _check_series(close, "close")
    if not (close.index.equals(dates) and close.index.is_monotonic_increasing):
        return forward_returns(close, horizons).reindex(dates).to_numpy(dtype=float, na_value=np.nan)
    c = close.to_numpy(dtype=float, na_value=np.nan)
    if (c <= 0).any():
        raise ValueError("close must be > 0")
    out = np.full((c.size, len(horizons)), np.nan)
    for j, h in enumerate(horizons):  # one column per horizon
        if h < c.size:
            out[: c.size - h, j] = c[h:] / c[: c.size - h] - 1.0
    return out


def _event_matrix(corr: np.ndarray, thresholds: list[float], mode: EventMode) -> np.ndarray:
    """:func:`event_days` of every threshold at once: a boolean array dates x thresholds."""
    valid = ~np.isnan(corr)
    above = corr[valid, None] > np.asarray(thresholds, dtype=float)[None, :]
    if mode == "first":
        above[1:] &= ~above[:-1].copy()
    out = np.zeros((corr.size, len(thresholds)), dtype=bool)
    out[valid] = above
    return out


def grid_table(grid: pd.DataFrame, value: str = "p_down") -> pd.DataFrame:
    """Pivot an :func:`event_study` grid: index = threshold, columns = horizon, values = ``value``."""
    if value not in grid.columns:
        raise ValueError(f"column `{value}` not in the grid; choose one of {', '.join(grid.columns)}")
    return grid.pivot(index="threshold", columns="horizon", values=value)


def correlation_needs(corr_index: str) -> dict[str, list[str] | None]:
    """The tables M1-M3 on ``corr_index`` read: the ETF tables and that index's closes (:mod:`xladdin.data.ends`)."""
    return {"etf_info": None, "etf_daily": None, "index_daily": [corr_index]}


def correlation_end(market: Market, corr_index: str, end=None) -> EffectiveEnd:
    """Where M1-M3 on ``corr_index`` stop: the effective end of :func:`correlation_needs`, capped at ``end``."""
    return market_effective_end(market, correlation_needs(corr_index), cap=end)


def index_flow_correlation(market: Market, corr_index: str, corr_window: int = DEFAULT_CORR_WINDOW, start=None,
                           end=None, corr_threshold: float = DEFAULT_CORR_THRESHOLD, require_all: bool = False,
                           missing_nav: MissingNav = "nan", split_day: SplitDay = "zero",
                           flows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Aggregate ETF flow of ``corr_index``, its daily return, rolling correlation and signal (M1-M2).

    Parameters
    ----------
    market : Market
        Needs etf_info, etf_daily and index_daily.
    corr_index : str
        Tracked index code, e.g. ``000300.SH``.
    corr_window, corr_threshold
        Window and threshold as in :func:`rolling_correlation` and :func:`top_signal`.
    start, end : date-like, optional
        Rows returned. Data after ``end`` is never used; data before ``start`` serves as warm-up,
        so the first returned day already has a full window when history exists.
    require_all, missing_nav, split_day
        As in :func:`xladdin.methods.flows.aggregate_flows` / :func:`xladdin.methods.flows.etf_flows`.
    flows : DataFrame, optional
        The M1 flows of every ETF (:func:`xladdin.methods.flows.market_etf_flows` with the same options) when
        the caller has them; else the flows of the index's ETFs are computed here.

    Returns
    -------
    DataFrame
        Columns date, flow (yuan), return, corr, signal; one row per date with both a flow and a
        return (the correlation's sample), none after the effective end (:func:`correlation_end`).
    """
    eff = correlation_end(market, corr_index, end)
    end_ts = eff.end
    start_ts = pd.Timestamp(start) if start is not None else None
    if start_ts is not None and end_ts is not None and start_ts > end_ts:
        why = f" ({eff.text()})" if eff.limit is not None else ""
        raise ValueError(f"start {start_ts:%Y-%m-%d} is after end {end_ts:%Y-%m-%d}{why}")
    flow = index_flow(market, corr_index, require_all=require_all, missing_nav=missing_nav, split_day=split_day,
                      flows=flows, end=end_ts)
    close = market.index_close(corr_index)
    if end_ts is not None:
        close = close.loc[close.index <= end_ts]
        if close.empty:
            raise MissingTableError(Note(
                "data.no_index_before", f"index `{corr_index}` has no rows in index_daily on or before "
                f"{end_ts:%Y-%m-%d} ({market.source})", index=corr_index, end=end_ts, source=market.source))
    ret = close.astype(float).pct_change()
    ret.name = "return"
    corr = rolling_correlation(flow, ret, corr_window)
    df = pd.DataFrame({"flow": flow.reindex(corr.index), "return": ret.reindex(corr.index), "corr": corr,
                       "signal": top_signal(corr, corr_threshold)})
    if start_ts is not None:
        df = df.loc[df.index >= start_ts]
    df.index.name = "date"
    return df.reset_index()
