"""Benchmark of the Excel functions: the Excel layer, the cores at the numpy floor, time against rows.

Run: ``.venv/bin/python bench/bench_udfs.py [--repeat 15] [--sizes 10000 100000 1048576] [--only XA_HP1S ...]
[--no-layer]``

Three parts, every ratio against its goal, every baseline measured in this same run (no assertion
on time; the machine is shared, so each figure is a median of ``--repeat`` samples, a sample being
as many calls as last about 2 ms):

1. **The Excel layer** (10 years = 2,520 daily rows; blocks 2,520 x 30): median time of the Excel
   function (Excel-shaped values in, list of rows out, as xlwings calls it) and of its core calls on
   the same data already in pandas (inputs built before timing), run alternately; layer = the median
   of the paired differences (function - core). Goal: at most 1 ms per 2,500 input cells, and 1 ms
   for any smaller input (the fixed cost of a call).
2. **Cores at the numpy floor**: each core against a plain numpy/scipy computation of the same
   numbers written here (checked equal to the core's result before timing), run alternately; the
   ratio is the median of the paired ratios. Goal: at most 5x. XA_PICKS runs on its use (30
   industries) and on 2,520 codes (the goal's size; its layer there, 2,520 text codes, is shown for
   information: the layer goal is judged on the 30-industry case).
3. **Linear in the input**: each Excel function on 10,000, 100,000 and 1,048,576 rows (a full
   Excel column; blocks have 10 columns, XA_PICKS 4 factor columns, XA_PENETRATE one weight per
   row, XA_BACKTEST 10 assets with a rebalance every 21 rows), one run each after inputs are built, and how time grows with rows (x10 rows -> x10 time
   is linear). Goals: at most 1 s at 100,000 rows, at most 5 s at 1,048,576 rows.

Inputs are what xlwings passes: a one-column range as a flat list (arguments without ``ndim=2``),
blocks as lists of rows, dates as ``datetime``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xladdin_udfs.flows as F  # noqa: E402
import xladdin_udfs.holdings as H  # noqa: E402
import xladdin_udfs.stats as S  # noqa: E402
import xladdin_udfs.strategy as G  # noqa: E402
import xladdin_udfs.style as Y  # noqa: E402
from xladdin.methods import (  # noqa: E402
    backtest,
    correlation,
    divergence,
    filters,
    flows,
    grouping,
    holdings,
    ranking,
    stats,
    style,
)
from xladdin_udfs._convert import to_records  # noqa: E402

performance = stats  # the M12 part of the statistics module

N = 2520          # 10 years of trading days
IND = 30          # industries / ETFs in a block
GOAL_LAYER_MS = 1.0        # Excel layer, per 2,500 input cells
GOAL_FLOOR = 5.0           # core / numpy floor
GOAL_100K_S = 1.0
GOAL_FULL_S = 5.0
FULL_COLUMN = 1_048_576
SCALE_WIDTH = 10


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up (imports, caches)
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def _batch(fn: Callable[[], Any]) -> int:
    """Calls per sample so that one sample lasts about 2 ms (a single call of a few microseconds is
    below the clock's and the scheduler's noise)."""
    t = time.perf_counter()
    fn()
    return max(1, int(0.002 / max(time.perf_counter() - t, 1e-7)))


def paired_ms(a: Callable[[], Any], b: Callable[[], Any], repeat: int) -> tuple[float, float, float, float]:
    """Median time of ``a`` and of ``b`` (ms per call), and the medians of their paired difference and
    ratio: the two run alternately, so both see the same load on a shared machine."""
    a(), b()  # warm-up
    ka, kb = _batch(a), _batch(b)
    ta, tb = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(ka):
            a()
        ta.append((time.perf_counter() - t) / ka)
        t = time.perf_counter()
        for _ in range(kb):
            b()
        tb.append((time.perf_counter() - t) / kb)
    diff = statistics.median(x - y for x, y in zip(ta, tb))
    ratio = statistics.median(x / y for x, y in zip(ta, tb))
    return statistics.median(ta) * 1000, statistics.median(tb) * 1000, diff * 1000, ratio


def status(ok: bool) -> str:
    return "met" if ok else "MISSED"


def flat(a: np.ndarray) -> list:
    """A one-column range as xlwings passes it (no ndim=2): a flat list, blanks as None."""
    return [None if v != v else v for v in np.asarray(a, dtype=float).tolist()]


def column(a: np.ndarray) -> list:
    """A one-column range with ndim=2: a list of one-cell rows."""
    return [[v] for v in flat(a)]


def block(a: np.ndarray) -> list:
    a = np.asarray(a, dtype=float)
    rows = a.tolist()
    if np.isnan(a).any():
        rows = [[None if v != v else v for v in r] for r in rows]
    return rows


def pydates(idx: pd.DatetimeIndex) -> list:
    return idx.to_pydatetime().tolist()


def same(a, b, rtol: float = 1e-9) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=1e-12, equal_nan=True)


# ----------------------------------------------------------------------------- numpy / scipy floors
def floor_flows(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.full_like(s, np.nan)
    out[1:] = (s[1:] - s[:-1]) * v[1:]
    return out


def floor_rolling_corr(x: np.ndarray, y: np.ndarray, w: int) -> np.ndarray:
    ok = ~(np.isnan(x) | np.isnan(y))
    xw, yw = sliding_window_view(x[ok], w), sliding_window_view(y[ok], w)
    xd, yd = xw - xw.mean(axis=1, keepdims=True), yw - yw.mean(axis=1, keepdims=True)
    return (xd * yd).sum(axis=1) / np.sqrt((xd * xd).sum(axis=1) * (yd * yd).sum(axis=1))


def floor_signal(c: np.ndarray, th: float) -> np.ndarray:
    return np.where(np.isnan(c), np.nan, (c > th).astype(float))


def floor_event_study(c: np.ndarray, close: np.ndarray, ths, hs) -> np.ndarray:
    """Events, down probability, mean return and the base rates, thresholds x horizons."""
    n = close.size
    fwd = np.full((n, len(hs)), np.nan)
    for j, h in enumerate(hs):
        fwd[: n - h, j] = close[h:] / close[: n - h] - 1
    valid = ~np.isnan(fwd) & ~np.isnan(c)[:, None]
    ev = (np.nan_to_num(c, nan=-np.inf)[:, None] > np.asarray(ths)[None, :]).astype(float)
    down = (valid & (np.nan_to_num(fwd) < 0)).astype(float)
    r0 = np.where(valid, fwd, 0.0)
    count = ev.T @ valid
    base = valid.sum(axis=0)
    return np.stack([count, (ev.T @ down) / count, (ev.T @ r0) / count,
                     np.broadcast_to(down.sum(axis=0) / base, count.shape),
                     np.broadcast_to(r0.sum(axis=0) / base, count.shape)])


def event_grid(g: pd.DataFrame) -> np.ndarray:
    cols = ["events", "p_down", "mean_return", "base_p_down", "base_mean_return"]
    return np.stack([correlation.grid_table(g, c).to_numpy(dtype=float) for c in cols])


def _steady_gain(lamb: float) -> tuple[float, float]:
    """Steady-state Kalman gain of the HP model (the closed form of Riccati's fixed point)."""
    import cmath
    sq = np.sqrt(1.0 / lamb)
    s = cmath.sqrt(1j * sq * (4.0 + 1j * sq))
    d = (1j * sq + s) / 2.0
    if abs(1.0 + d) < 1.0:
        d = (1j * sq - s) / 2.0
    r2 = 1.0 / abs(1.0 + d) ** 2
    return r2 * (2.0 * d.real + abs(d) ** 2), 2.0 * r2 * d.real


def floor_hp1s(y: np.ndarray, lamb: float) -> np.ndarray:
    """One-sided HP: the same augmented Kalman filter with scipy.signal.lfilter for each recursion."""
    from scipy.signal import lfilter, lfiltic
    n, c = y.size, y[0]
    z = y - c
    k1, k2 = _steady_gain(lamb)
    b, a = [k1, -k2], [1.0, -(2.0 - 2.0 * k1 + k2), 1.0 - k1]

    def filt(p, u):
        out = np.empty(n)
        p1, p2 = p
        for t in range(2):
            e = u[t] - p1
            x1, x2 = p1 + k1 * e, p2 + k2 * e
            out[t] = x1
            p1, p2 = 2.0 * x1 - x2, x1
        out[2:] = lfilter(b, a, u[2:], zi=lfiltic(b, a, y=[out[1], out[0]], x=[u[1]]))[0]
        return out
    w = 1.0 - k1
    af, g1, g2 = filt((0.0, 0.0), z), filt((1.0, 0.0), np.zeros(n)), filt((0.0, 1.0), np.zeros(n))
    e, e1, e2 = (z - af) / w, -g1 / w, -g2 / w
    s11, s12, s22 = np.cumsum(e1 * e1), np.cumsum(e1 * e2), np.cumsum(e2 * e2)
    r1, r2 = np.cumsum(e1 * e), np.cumsum(e2 * e)
    det = s11 * s22 - s12 * s12
    with np.errstate(divide="ignore", invalid="ignore"):
        out = af + g1 * (-(s22 * r1 - s12 * r2) / det) + g2 * (-(s11 * r2 - s12 * r1) / det) + c
    out[:2] = y[:2]
    return out


def floor_hp(y: np.ndarray, lamb: float) -> np.ndarray:
    from scipy.linalg import solveh_banded
    n = y.size
    ab = np.zeros((3, n))
    ab[0, 2:] = lamb
    ab[1, 1:] = -2.0 * lamb * (np.r_[1.0, np.full(n - 3, 2.0), 1.0])
    ab[2] = 1.0 + lamb * np.r_[1.0, 5.0, np.full(n - 4, 6.0), 5.0, 1.0]
    return solveh_banded(ab, y)


def floor_momentum(y: np.ndarray) -> np.ndarray:
    out = np.full(y.size, np.nan)
    out[2:] = y[2:] - (y[1:-1] + y[:-2]) / 2
    return out


def floor_style(days: pd.DatetimeIndex, large: np.ndarray, small: np.ndarray, lamb: float) -> np.ndarray:
    d = days.to_numpy().astype("datetime64[D]").astype(np.int64) - 4  # days since Monday 1970-01-05
    week = d // 7
    last = np.r_[week[1:] != week[:-1], True]
    return floor_hp1s(large[last] / small[last], lamb)


def floor_quintile(x: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(x, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, x.shape[1] + 1)[None, :], axis=1)
    return np.ceil(rank * k / x.shape[1])


def floor_picks(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite score (mean of the factors' percentile ranks, average ties) and the top ``n``
    (highest scores; codes already in text order, so a stable sort breaks ties by code)."""
    from scipy.stats import rankdata
    score = (rankdata(x, axis=0) / len(x)).mean(axis=1)
    pick = np.zeros(len(x))
    pick[np.argsort(-score, kind="stable")[:n]] = 1.0
    return score, pick


def floor_perf(days: np.ndarray, x: np.ndarray, b: np.ndarray, periods: int = 252) -> np.ndarray:
    """M12 table on plain arrays (dates as datetime64[D], NAV, benchmark): one row per calendar year,
    measured from the previous year's last NAV, then the full period; columns return (a year's
    period return, annualised on the full period), volatility, Sharpe (a part year annualised),
    max drawdown, excess, TE, IR, relative drawdown, monthly win rate, odds."""
    n_all = len(x) - 1
    ym = days.astype("datetime64[M]").astype(np.int64)
    yr = ym // 12
    cut = np.flatnonzero(yr[1:] != yr[:-1]) + 1
    base, end = np.r_[0, cut - 1], np.r_[cut - 1, n_all]  # year k: x[base_k .. end_k]
    n = end - base
    r, rb = x[1:] / x[:-1] - 1, b[1:] / b[:-1] - 1

    def std(v):
        m = np.add.reduceat(v, base) / n
        return np.sqrt(np.add.reduceat((v - np.repeat(m, n)) ** 2, base) / (n - 1))

    def dd(p):
        return np.min(p / np.maximum.accumulate(p) - 1)

    part = n < 0.9 * periods
    tot = x[end] / x[base] - 1
    rel_end = (x[end] / x[base]) / (b[end] / b[base]) - 1
    ann, rel_ann = (1 + tot) ** (periods / n) - 1, (1 + rel_end) ** (periods / n) - 1
    vol, te = np.sqrt(periods) * std(r), np.sqrt(periods) * std(r - rb)
    mdd = np.array([dd(x[a:e + 1]) for a, e in zip(base, end)])  # a loop over years
    rel_mdd = np.array([dd((x[a:e + 1] / x[a]) / (b[a:e + 1] / b[a])) for a, e in zip(base, end)])
    last = np.flatnonzero(np.r_[ym[1:] != ym[:-1], True])  # months from the previous month's last NAV
    prev = np.r_[0, last[:-1]]
    last, prev = last[last > 0], prev[last > 0]
    ex = x[last] / x[prev] - b[last] / b[prev]
    ex[np.abs(ex) <= 1e-12] = 0
    year_of = np.searchsorted(end, last)
    wins, losses = np.bincount(year_of, ex > 0, len(n)), np.bincount(year_of, ex < 0, len(n))
    odds = (np.bincount(year_of, np.where(ex > 0, ex, 0), len(n)) / wins) / np.abs(
        np.bincount(year_of, np.where(ex < 0, ex, 0), len(n)) / losses)
    years = np.column_stack([tot, vol, np.where(part, ann, tot) / vol, mdd, rel_end, te,
                             np.where(part, rel_ann, rel_end) / te, rel_mdd,
                             wins / np.bincount(year_of, None, len(n)), odds])
    f_ann = (x[-1] / x[0]) ** (periods / n_all) - 1
    f_rel = (x / x[0]) / (b / b[0])
    f_ex = f_rel[-1] ** (periods / n_all) - 1
    f_vol, f_te = np.sqrt(periods) * np.std(r, ddof=1), np.sqrt(periods) * np.std(r - rb, ddof=1)
    full = [f_ann, f_vol, f_ann / f_vol, dd(x), f_ex, f_te, f_ex / f_te, dd(f_rel), np.mean(ex > 0),
            ex[ex > 0].mean() / -ex[ex < 0].mean()]
    return np.vstack([years, full])


PERF_COLUMNS = ["annual_return", "volatility", "sharpe", "max_drawdown", "excess_return", "tracking_error",
                "information_ratio", "relative_max_drawdown", "win_rate", "odds"]


def floor_backtest(r: np.ndarray, w: np.ndarray, trade: np.ndarray, cost: float) -> np.ndarray:
    """NAV net and gross and turnover: weights ``w[k]`` bought at the close of day ``trade[k]``, held and
    drifting to the next trade; each asset's growth since a trade as a ratio of cumulative products."""
    n = len(r)
    length = np.diff(np.r_[trade, n - 1])
    period = np.repeat(np.arange(len(trade)), length)
    c = np.cumprod(1 + r, axis=0)
    g = c[trade[0] + 1:] / c[trade][period]
    value = np.einsum("ij,ij->i", g, w[period]) + (1 - w.sum(axis=1))[period]
    growth = value[np.cumsum(length) - 1]
    drift = w * g[np.cumsum(length) - 1] / growth[:, None]
    turnover = np.abs(w - np.r_[np.zeros((1, w.shape[1])), drift[:-1]]).sum(axis=1)
    before = np.r_[1.0, np.cumprod(growth)[:-1]]
    net = before * np.cumprod(1 - cost * turnover)
    nav_g, nav_n = np.ones(n - trade[0] + 1), np.ones(n - trade[0] + 1)
    nav_g[2:], nav_n[2:] = before[period] * value, net[period] * value
    nav_g[trade - trade[0] + 1], nav_n[trade - trade[0] + 1] = before, net
    return np.r_[nav_n, nav_g, turnover]


def floor_penetrate(size_code, size_val, code, stock, weight, si_stock, si_ind) -> np.ndarray:
    """Yuan per industry: size of the row's code x weight, summed by the stock's industry (sorted)."""
    order = np.argsort(size_code)
    size_of = size_val[order][np.searchsorted(size_code[order], code)]
    sorder = np.argsort(si_stock)
    pos = sorder[np.searchsorted(si_stock[sorder], stock)]
    inds, ind_code = np.unique(si_ind, return_inverse=True)
    return np.bincount(ind_code[pos], size_of * weight, minlength=len(inds))


def floor_divergence(e: np.ndarray, a: np.ndarray) -> np.ndarray:
    d = e - a
    return (d - np.nanmean(d, axis=1, keepdims=True)) / np.nanstd(d, axis=1, ddof=1, keepdims=True)


def floor_pctrank(x: np.ndarray, w: int) -> np.ndarray:
    win = sliding_window_view(x, w)
    out = np.full(x.size, np.nan)
    out[w - 1:] = (win <= x[w - 1:, None]).sum(axis=1) / w
    return out


def floor_rank_ic(f: np.ndarray, r: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata
    rf, rr = rankdata(f, axis=1), rankdata(r, axis=1)
    rf -= rf.mean(axis=1, keepdims=True)
    rr -= rr.mean(axis=1, keepdims=True)
    return (rf * rr).sum(axis=1) / np.sqrt((rf * rf).sum(axis=1) * (rr * rr).sum(axis=1))


# ----------------------------------------------------------------------------- cases (2,520 rows)
@dataclass
class Case:
    name: str
    what: str
    udf: Callable[[], Any]
    core: Callable[[], Any]
    cells: int                                 # input cells the Excel function converts
    floor: Callable[[], Any] | None = None     # plain numpy/scipy computation of the same numbers
    core_values: Callable[[Any], Any] | None = None
    layer_note: str = ""                       # the layer is shown for information, not against the goal


def cases() -> list[Case]:
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2016-01-04", periods=N)
    days = dates.to_numpy().astype("datetime64[D]")
    idx = pd.RangeIndex(N)
    shares = (5e9 + np.cumsum(rng.normal(0, 2e7, (N, IND)), axis=0)).round()
    nav = 3 + np.abs(np.cumsum(rng.normal(0, 0.02, (N, IND)), axis=0))
    close = 3500 * np.cumprod(1 + rng.normal(0, 0.012, N))
    small = 6000 * np.cumprod(1 + rng.normal(0, 0.015, N))
    ret = np.r_[np.nan, close[1:] / close[:-1] - 1]
    flow = np.r_[np.nan, np.diff(shares[:, 0]) * nav[1:, 0]]
    corr = correlation.rolling_correlation(pd.Series(flow), pd.Series(ret), 20).reindex(range(N)).to_numpy()
    fac = rng.normal(size=(N, IND))
    fwd = rng.normal(size=(N, IND))
    codes = [f"CI005{i:03d}.WI" for i in range(1, IND + 1)]
    etf_sh = rng.dirichlet(np.ones(IND), N)
    act_sh = rng.dirichlet(np.ones(IND), N)
    navs = np.cumprod(1 + rng.normal(3e-4, 0.01, N))
    bm = np.cumprod(1 + rng.normal(2e-4, 0.01, N))
    # holdings snapshot: 60 indices x 80 constituents, 5,000 stocks in 30 industries
    stocks = [f"{i:06d}.SZ" for i in range(5000)]
    idxs = [f"IDX{i:02d}" for i in range(60)]
    w_rows = []
    for ix in idxs:
        members = rng.choice(5000, 80, replace=False)
        w_rows += [[ix, stocks[m], float(v)] for m, v in zip(members, rng.dirichlet(np.ones(80)))]
    sizes = [[ix, float(v)] for ix, v in zip(idxs, rng.uniform(1e8, 1e11, 60))]
    si = [[s, codes[i % IND]] for i, s in enumerate(stocks)]
    # the core's inputs as XA_PENETRATE passes them (text as Python strings)
    sizes_s = to_records(sizes, "etf_sizes", ["code", "size"], numeric=[1]).set_index("code")["size"]
    w_frame = to_records(w_rows, "weights", ["code", "stock", "weight"], numeric=[2])
    si_s = to_records(si, "stock_industry", ["stock", "industry"]).set_index("stock")["industry"]
    pen_arrays = (np.array(sizes_s.index, dtype=object), sizes_s.to_numpy(), w_frame["code"].to_numpy(dtype=object),
                  w_frame["stock"].to_numpy(dtype=object), w_frame["weight"].to_numpy(),
                  np.array(si_s.index, dtype=object), si_s.to_numpy(dtype=object))
    factors = rng.normal(size=(IND, 4))
    fb = [["code", "f1", "f2", "f3", "f4"]] + [[c] + r for c, r in zip(codes, factors.tolist())]
    many = [f"{i:06d}.SZ" for i in range(N)]  # XA_PICKS on 2,520 codes
    factors_n = rng.normal(size=(N, 4))
    fb_n = [["code", "f1", "f2", "f3", "f4"]] + [[c] + r for c, r in zip(many, factors_n.tolist())]

    # XA_BACKTEST: 10 years of daily industry returns, monthly target weights
    bt_ret = pd.DataFrame(fwd * 0.01, index=dates, columns=codes)
    bt_dec = dates[::21][:-1]
    bt_w = pd.DataFrame(rng.dirichlet(np.ones(IND), len(bt_dec)), index=bt_dec, columns=codes)
    bt_trade = dates.get_indexer(bt_dec) + 1  # lag 1
    x_bt_ret = [["date"] + codes] + [[d] + r for d, r in zip(pydates(dates), bt_ret.to_numpy().tolist())]
    x_bt_w = [["date"] + codes] + [[d] + r for d, r in zip(pydates(bt_dec), bt_w.to_numpy().tolist())]

    x_shares, x_nav = block(shares), block(nav)
    x_flow, x_ret, x_corr, x_close, x_small = flat(flow), flat(ret), flat(corr), flat(close), flat(small)
    x_fac = [["date"] + codes] + [[d] + r for d, r in zip(pydates(dates), fac.tolist())]
    dl = [[d, v] for d, v in zip(pydates(dates), close.tolist())]
    ds = [[d, v] for d, v in zip(pydates(dates), small.tolist())]
    dnav = [[d, v] for d, v in zip(pydates(dates), navs.tolist())]
    weekly = pd.date_range("2001-01-05", periods=N, freq="W-FRI")
    ths, hs = list(correlation.DEFAULT_THRESHOLDS), list(correlation.DEFAULT_HORIZONS)

    # the cores' inputs as the Excel functions build them, made before timing
    p_shares, p_nav = pd.DataFrame(shares, idx), pd.DataFrame(nav, idx)
    p_flow, p_ret, p_corr, p_close = (pd.Series(a, idx) for a in (flow, ret, corr, close))
    p_close_w, p_small_w = pd.Series(close, weekly), pd.Series(small, weekly)
    p_close_d, p_small_d = pd.Series(close, dates), pd.Series(small, dates)
    p_etf, p_act = pd.DataFrame(etf_sh), pd.DataFrame(act_sh)
    p_navs, p_bm = pd.Series(navs, dates), pd.Series(bm, dates)
    p_fac, p_fwd = pd.DataFrame(fac, idx), pd.DataFrame(fwd, idx)
    x_etf, x_act, x_fac2, x_fwd, x_bm = block(etf_sh), block(act_sh), block(fac), block(fwd), flat(bm)

    def picks_values(res: dict) -> np.ndarray:
        return np.r_[res["score"], res["pick"]]

    def ic_core():
        ic = stats.rank_ic(p_fac, p_fwd)
        stats.ic_summary(ic)
        return ic

    return [
        Case("XA_ETF_FLOW", "2,520 x 30 block", lambda: F.XA_ETF_FLOW(x_shares, x_nav),
             lambda: flows.etf_flows(p_shares, p_nav, missing_nav="nan"),
             2 * N * IND, lambda: floor_flows(shares, nav)),
        Case("XA_FLOW_CORR", "2,520 rows, window 20", lambda: F.XA_FLOW_CORR(x_flow, x_ret, 20),
             lambda: correlation.rolling_correlation(p_flow, p_ret, 20), 2 * N,
             lambda: floor_rolling_corr(flow, ret, 20), lambda r: r.to_numpy()[19:]),
        Case("XA_CORR_SIGNAL", "2,520 rows", lambda: F.XA_CORR_SIGNAL(x_corr, 0.5),
             lambda: correlation.top_signal(corr, 0.5), N, lambda: floor_signal(corr, 0.5)),
        Case("XA_EVENT_STUDY", "2,520 rows, 5 x 6 grid", lambda: F.XA_EVENT_STUDY(x_corr, x_close),
             lambda: correlation.event_study(p_corr, p_close), 2 * N,
             lambda: floor_event_study(corr, close, ths, hs), event_grid),
        Case("XA_HP1S", "2,520 rows", lambda: Y.XA_HP1S(x_close, 100),
             lambda: filters.hp_filter_one_sided(close, 100.0), N, lambda: floor_hp1s(close, 100.0)),
        Case("XA_HP", "2,520 rows", lambda: Y.XA_HP(x_close, 100), lambda: filters.hp_filter(close, 100.0), N,
             lambda: floor_hp(close, 100.0)),
        Case("XA_FACTOR_MOM", "2,520 rows", lambda: Y.XA_FACTOR_MOM(x_close),
             lambda: style.factor_momentum(close), N, lambda: floor_momentum(close)),
        Case("XA_STYLE_SIGNAL", "2,520 weekly rows, no dates", lambda: Y.XA_STYLE_SIGNAL(x_close, x_small),
             lambda: style.style_signal(p_close_w, p_small_w), 2 * N,
             lambda: floor_style(weekly, close, small, style.DEFAULT_LAMBDA), lambda r: r["filtered"].to_numpy()),
        Case("XA_STYLE_SIGNAL", "2,520 daily rows with dates", lambda: Y.XA_STYLE_SIGNAL(dl, ds),
             lambda: style.style_signal(p_close_d, p_small_d), 4 * N,
             lambda: floor_style(dates, close, small, style.DEFAULT_LAMBDA), lambda r: r["filtered"].to_numpy()),
        Case("XA_QUINTILE", "2,520 x 30 block, dates and codes", lambda: H.XA_QUINTILE(x_fac),
             lambda: grouping.group_matrix(fac, codes, 5), (N + 1) * (IND + 1), lambda: floor_quintile(fac, 5)),
        Case("XA_PENETRATE", "60 indices, 4,800 weights, 5,000 stocks", lambda: H.XA_PENETRATE(sizes, w_rows, si),
             lambda: holdings.penetrate_snapshot(sizes_s, w_frame, si_s), 2 * 60 + 3 * 4800 + 2 * 5000,
             lambda: floor_penetrate(*pen_arrays), lambda r: r[0]["amount"].to_numpy()),
        Case("XA_DIVERGENCE", "2,520 x 30 block", lambda: H.XA_DIVERGENCE(x_etf, x_act),
             lambda: divergence.divergence(p_etf, p_act), 2 * N * IND,
             lambda: floor_divergence(etf_sh, act_sh)),
        Case("XA_PICKS", "30 industries x 4 factors", lambda: G.XA_PICKS(fb, 6),
             lambda: ranking.composite_picks(factors, codes, 6), 31 * 5,
             lambda: np.concatenate(floor_picks(factors, 6)), picks_values),
        Case("XA_PICKS", "2,520 codes x 4 factors", lambda: G.XA_PICKS(fb_n, 6),
             lambda: ranking.composite_picks(factors_n, many, 6), (N + 1) * 5,
             lambda: np.concatenate(floor_picks(factors_n, 6)), picks_values,
             "the floor case; the layer goal is on the 30-industry case"),
        Case("XA_PERF", "2,520 rows with dates + benchmark", lambda: S.XA_PERF(dnav, x_bm),
             lambda: performance.performance_table(p_navs, p_bm), 3 * N,
             lambda: floor_perf(days, navs, bm), lambda t: t[PERF_COLUMNS].to_numpy()),
        Case("XA_BACKTEST", "2,520 x 30 returns, 119 monthly rebalances",
             lambda: G.XA_BACKTEST(x_bt_w, x_bt_ret, 0.001, 1), lambda: backtest.backtest_weights(bt_w, bt_ret, 0.001, 1),
             (N + 1) * (IND + 1) + (len(bt_dec) + 1) * (IND + 1),
             lambda: floor_backtest(bt_ret.to_numpy(), bt_w.to_numpy(), bt_trade, 0.001),
             lambda res: np.r_[res.nav, res.nav_gross, res.trades["turnover"]]),
        Case("XA_PCTRANK", "2,520 rows, window 252", lambda: S.XA_PCTRANK(x_close, 252),
             lambda: stats.trailing_percentile(p_close, 252), N, lambda: floor_pctrank(close, 252)),
        Case("XA_IC", "2,520 x 30 blocks", lambda: S.XA_IC(x_fac2, x_fwd), ic_core, 2 * N * IND,
             lambda: floor_rank_ic(fac, fwd)),
    ]


def _values(result: Any) -> Any:
    if isinstance(result, (pd.Series, pd.DataFrame)):
        return result.to_numpy(dtype=float)
    return result


def part_layer_and_floor(table: list[Case], repeat: int) -> None:
    print("## 1. The Excel layer (goal: at most 1 ms per 2,500 input cells, 1 ms at least) and 2. cores at the "
          "numpy floor (goal: at most 5x)\n")
    print("| function | input | input cells | function (ms) | core (ms) | layer (ms) | allowed (ms) | goal "
          "| numpy floor (ms) | core / floor | goal |")
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for c in table:
        res = c.udf()
        assert not (isinstance(res[0][0], str) and res[0][0].startswith("#XA!")), (c.name, res[0][0])
        t_udf, t_core, layer, _ = paired_ms(c.udf, c.core, repeat)
        allowed = GOAL_LAYER_MS * max(1.0, c.cells / 2500)
        verdict = f"info: {c.layer_note}" if c.layer_note else status(layer <= allowed)
        row = (f"| {c.name} | {c.what} | {c.cells:,} | {t_udf:.2f} | {t_core:.2f} | {layer:.2f} | {allowed:.2f} | "
               f"{verdict} |")
        if c.floor is None:
            row += " - | - | - |"
        else:
            got = (c.core_values or _values)(c.core())
            ref = c.floor()
            if not same(got, ref):
                raise SystemExit(f"{c.name}: the numpy floor does not compute the core's numbers")
            _, t_floor, _, ratio = paired_ms(c.core, c.floor, repeat)
            row += f" {t_floor:.3f} | {ratio:.1f} | {status(ratio <= GOAL_FLOOR)} |"
        print(row, flush=True)


# ----------------------------------------------------------------------------- scaling
def scaling_calls(n: int) -> dict[str, Callable[[], Callable[[], Any]]]:
    """Excel function -> a builder of its inputs on ``n`` rows, returning the call to time (inputs are
    built one function at a time, outside the timing, and released after)."""
    rng = np.random.default_rng(1)
    w = SCALE_WIDTH

    def walk(scale: float, vol: float, cols: int | None = None) -> np.ndarray:
        shape = (n,) if cols is None else (n, cols)
        return scale * np.exp(np.cumsum(rng.normal(0, vol, shape), axis=0))

    def dated(a: np.ndarray) -> list:
        days = pydates(pd.DatetimeIndex(np.datetime64("1800-01-01") + np.arange(n) * np.timedelta64(1, "D")))
        return [[d, v] for d, v in zip(days, flat(a))]

    def penetrate():
        n_ix = 50
        per = -(-n // n_ix)
        w_rows = [[f"IX{i % n_ix:02d}", f"{i:07d}.SZ", 0.9 / per] for i in range(n)]
        sizes = [[f"IX{i:02d}", 1e9 + i] for i in range(n_ix)]
        si = [[f"{i:07d}.SZ", f"CI{i % 31:03d}"] for i in range(n)]
        return lambda: H.XA_PENETRATE(sizes, w_rows, si)

    def backtest_blocks():
        days = pydates(pd.DatetimeIndex(np.datetime64("1800-01-01") + np.arange(n) * np.timedelta64(1, "D")))
        assets = [f"A{j}" for j in range(w)]
        rets = rng.normal(2e-4, 0.01, (n, w)).tolist()
        every = list(range(0, n - 1, 21))
        weights = rng.dirichlet(np.ones(w), len(every)).tolist()
        r_block = [["date"] + assets] + [[d] + r for d, r in zip(days, rets)]
        w_block = [["date"] + assets] + [[days[i]] + wr for i, wr in zip(every, weights)]
        return lambda: G.XA_BACKTEST(w_block, r_block, 0.001, 1)

    def bind(func, *make):
        def build():
            args = [m() for m in make]
            return lambda: func(*args)
        return build

    x = rng.normal(size=n)
    return {
        "XA_ETF_FLOW": bind(F.XA_ETF_FLOW, lambda: block(walk(5e9, 0.004, w).round()),
                            lambda: block(walk(3, 0.006, w))),
        "XA_FLOW_CORR": bind(lambda a, b: F.XA_FLOW_CORR(a, b, 20), lambda: flat(x), lambda: flat(np.tanh(x + 1))),
        "XA_CORR_SIGNAL": bind(F.XA_CORR_SIGNAL, lambda: flat(np.tanh(x))),
        "XA_EVENT_STUDY": bind(F.XA_EVENT_STUDY, lambda: flat(np.tanh(x)), lambda: flat(walk(3500, 0.012))),
        "XA_HP1S": bind(Y.XA_HP1S, lambda: flat(walk(3500, 0.012))),
        "XA_HP": bind(Y.XA_HP, lambda: flat(walk(3500, 0.012))),
        "XA_FACTOR_MOM": bind(Y.XA_FACTOR_MOM, lambda: flat(walk(3500, 0.012))),
        "XA_STYLE_SIGNAL": bind(Y.XA_STYLE_SIGNAL, lambda: flat(walk(3500, 0.012)), lambda: flat(walk(6000, 0.015))),
        "XA_STYLE_SIGNAL (dates)": bind(Y.XA_STYLE_SIGNAL, lambda: dated(walk(3500, 0.012)),
                                        lambda: dated(walk(6000, 0.015))),
        "XA_QUINTILE (column)": bind(H.XA_QUINTILE, lambda: column(x)),
        "XA_QUINTILE (block)": bind(H.XA_QUINTILE, lambda: block(rng.normal(size=(n, w)))),
        "XA_PENETRATE": penetrate,
        "XA_DIVERGENCE": bind(H.XA_DIVERGENCE, lambda: block(rng.normal(size=(n, w))),
                              lambda: block(rng.normal(size=(n, w)))),
        "XA_PICKS": bind(lambda b: G.XA_PICKS(b, 6), lambda: block(rng.normal(size=(n, 4)))),
        "XA_PERF": bind(S.XA_PERF, lambda: flat(walk(1, 0.01)), lambda: flat(walk(1, 0.01))),
        "XA_PERF (dates)": bind(S.XA_PERF, lambda: dated(walk(1, 0.01))),
        "XA_BACKTEST": backtest_blocks,
        "XA_PCTRANK": bind(S.XA_PCTRANK, lambda: flat(x)),
        "XA_IC": bind(S.XA_IC, lambda: block(rng.normal(size=(n, w))), lambda: block(rng.normal(size=(n, w)))),
    }


def part_scaling(sizes: list[int], only: set[str]) -> None:
    print(f"\n## 3. Linear in the input (goals: at most {GOAL_100K_S:g} s at 100,000 rows, at most {GOAL_FULL_S:g} s "
          f"at {FULL_COLUMN:,} rows; blocks {SCALE_WIDTH} columns)\n")
    times: dict[str, dict[int, float]] = {}
    for n in sizes:
        for name, build in scaling_calls(n).items():
            if only and name.split(" ")[0] not in only:
                continue
            call = build()
            gc.collect()
            t = time.perf_counter()
            out = call()
            el = time.perf_counter() - t
            if isinstance(out[0][0], str) and out[0][0].startswith("#XA!"):
                raise SystemExit(f"{name} on {n} rows: {out[0][0]}")
            times.setdefault(name, {})[n] = el
            del call, out
            gc.collect()
    head = [f"{n:,} rows (s)" for n in sizes]
    head += [f"x{b / a:.3g} rows: time x" for a, b in zip(sizes, sizes[1:])]
    print(f"| function | {' | '.join(head)} | goal |")
    print("|---|" + "---:|" * len(head) + "---|")
    for name, by_n in times.items():
        cells = [f"{by_n[n]:.3f}" for n in sizes] + [f"{by_n[b] / by_n[a]:.1f}" for a, b in zip(sizes, sizes[1:])]
        verdict = []
        if 100_000 in by_n:
            verdict.append(f"100k {status(by_n[100_000] <= GOAL_100K_S)}")
        if FULL_COLUMN in by_n:
            verdict.append(f"full column {status(by_n[FULL_COLUMN] <= GOAL_FULL_S)}")
        print(f"| {name} | {' | '.join(cells)} | {', '.join(verdict) or '-'} |", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=15,
                   help="paired samples per timing in parts 1-2, median kept (default 15)")
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, FULL_COLUMN],
                   help="rows for part 3 (default 10000 100000 1048576; none to skip)")
    p.add_argument("--only", nargs="*", default=[], help="only these Excel functions")
    p.add_argument("--no-layer", action="store_true", help="skip parts 1-2 (the 2,520-row tables)")
    args = p.parse_args(argv)
    only = set(args.only)
    print(f"# bench_udfs: {dt.date.today()}, Python {platform.python_version()}, numpy {np.__version__}, "
          f"pandas {pd.__version__}, {os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f}\n")
    table = [c for c in cases() if not only or c.name in only]
    if table and not args.no_layer:
        part_layer_and_floor(table, args.repeat)
    if args.sizes:
        part_scaling(sorted(args.sizes), only)
    print(f"\n(parts 1-2: median of {args.repeat} paired samples; part 3: one run per size; load average after "
          f"{os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
