"""Benchmark every Excel function on 10 years of daily, Excel-shaped inputs.

For each function: median wall time of the UDF call (Excel values in, list of rows out) and of
the core call alone on the same data already in pandas/numpy (the baseline, measured in the same
run); the ratio is the cost of the Excel adapter. Run: ``python bench/bench_udfs.py [--repeat 7]``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import udfs.flows as F  # noqa: E402
import udfs.holdings as H  # noqa: E402
import udfs.stats as S  # noqa: E402
import udfs.strategy as G  # noqa: E402
import udfs.style as Y  # noqa: E402
from xladdin import (backtest, correlation, dashboard, divergence, filters, flows, grouping,  # noqa: E402
                     holdings, northbound, performance, strategy, style)

N = 2520          # 10 years of trading days
IND = 30          # industries


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def cases():
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2016-01-04", periods=N)
    pydates = [d.to_pydatetime() for d in dates]
    shares = (5e9 + np.cumsum(rng.normal(0, 2e7, N))).round()
    nav = 3 + np.cumsum(rng.normal(0, 0.02, N))
    close = 3500 * np.cumprod(1 + rng.normal(0, 0.012, N))
    ret = np.r_[np.nan, close[1:] / close[:-1] - 1]
    flow = np.r_[np.nan, np.diff(shares) * nav[1:]]
    corr = correlation.rolling_correlation(pd.Series(flow), pd.Series(ret), 20).reindex(range(N)).to_numpy()
    small = 6000 * np.cumprod(1 + rng.normal(0, 0.015, N))
    block = rng.normal(size=(N, IND))
    fwd = rng.normal(size=(N, IND))
    col = lambda a: [[None if np.isnan(v) else float(v)] for v in a]  # noqa: E731
    rows = lambda a: [[None if np.isnan(v) else float(v) for v in r] for r in a]  # noqa: E731
    x_shares, x_nav, x_close, x_ret = col(shares), col(nav), col(close), col(ret)
    x_flow, x_corr = col(flow), col(corr)
    x_block, x_fwd = rows(block), rows(fwd)
    codes = [f"CI005{i:03d}.WI" for i in range(1, IND + 1)]
    x_block_t = [["date"] + codes] + [[d] + r for d, r in zip(pydates, x_block)]
    idx = pd.RangeIndex(N)
    ratio = close / small
    dated_large = [[d, v] for d, v in zip(pydates, close)]
    dated_small = [[d, v] for d, v in zip(pydates, small)]
    weekly_idx = pd.date_range("2001-01-05", periods=N, freq="W-FRI")
    # holdings snapshot: 60 indices, 5,000 constituent rows, 5,000 stocks
    stocks = [f"{i:06d}.SZ" for i in range(5000)]
    idxs = [f"IDX{i:02d}" for i in range(60)]
    w_rows = []
    for i, ix in enumerate(idxs):
        members = rng.choice(5000, 80, replace=False)
        wt = rng.dirichlet(np.ones(80))
        w_rows += [[ix, stocks[m], float(v)] for m, v in zip(members, wt)]
    sizes = [[ix, float(v)] for ix, v in zip(idxs, rng.uniform(1e8, 1e11, 60))]
    si = [[s, codes[i % IND]] for i, s in enumerate(stocks)]
    long = pd.DataFrame(w_rows, columns=["index", "stock", "weight"]).assign(date=pd.Timestamp("2000-01-03"))
    amounts = pd.DataFrame([[v for _, v in sizes]], index=pd.DatetimeIndex([pd.Timestamp("2000-01-03")]),
                           columns=idxs)
    sim = pd.Series({s: c for s, c in si})
    etf_sh = rng.dirichlet(np.ones(IND), N)
    act_sh = rng.dirichlet(np.ones(IND), N)
    factors = rng.normal(size=(IND, 4))
    fb = [["code", "f1", "f2", "f3", "f4"]] + [[c] + list(map(float, r)) for c, r in zip(codes, factors)]
    navs = np.cumprod(1 + rng.normal(3e-4, 0.01, N))
    bm = np.cumprod(1 + rng.normal(2e-4, 0.01, N))
    x_bm = col(bm)
    dated_nav = [[d, v] for d, v in zip(pydates, navs)]
    x_etf_sh, x_act_sh, x_small = rows(etf_sh), rows(act_sh), col(small)
    fr = {f"f{j + 1}": pd.DataFrame([factors[:, j]], columns=codes) for j in range(4)}
    # XA_BACKTEST: 10 years of daily industry returns, monthly target weights
    bt_ret = pd.DataFrame(fwd * 0.01, index=dates, columns=codes)
    bt_dec = dates[::21][:-1]
    bt_w = pd.DataFrame(rng.dirichlet(np.ones(IND), len(bt_dec)), index=bt_dec, columns=codes)
    x_bt_ret = [["date"] + codes] + [[d] + list(map(float, r)) for d, r in zip(pydates, bt_ret.to_numpy())]
    x_bt_w = [["date"] + codes] + [[d.to_pydatetime()] + list(map(float, r)) for d, r in zip(bt_dec, bt_w.to_numpy())]

    def picks_core():
        sc = strategy.composite_scores(fr)
        strategy.top_n_weights(sc, 6)

    def pen_core():
        iw, _ = holdings.industry_weights(long, sim)
        holdings.holding_level(holdings.penetrate(amounts, iw, "industry"))

    def ic_core():
        ic = northbound.rank_ic(pd.DataFrame(block, idx), pd.DataFrame(fwd, idx))
        northbound.ic_summary(ic)

    return [
        ("XA_ETF_FLOW", "2,520 rows", lambda: F.XA_ETF_FLOW(x_shares, x_nav),
         lambda: flows.etf_flows(pd.DataFrame({"e": shares}, idx), pd.DataFrame({"e": nav}, idx), missing_nav="nan")),
        ("XA_FLOW_CORR", "2,520 rows", lambda: F.XA_FLOW_CORR(x_flow, x_ret, 20),
         lambda: correlation.rolling_correlation(pd.Series(flow, idx), pd.Series(ret, idx), 20)),
        ("XA_CORR_SIGNAL", "2,520 rows", lambda: F.XA_CORR_SIGNAL(x_corr, 0.5),
         lambda: correlation.top_signal(pd.Series(corr), 0.5)),
        ("XA_EVENT_STUDY", "2,520 rows, 5 x 6 grid", lambda: F.XA_EVENT_STUDY(x_corr, x_close),
         lambda: correlation.event_study(pd.Series(corr, idx), pd.Series(close, idx))),
        ("XA_HP1S", "2,520 rows", lambda: Y.XA_HP1S(x_close, 100),
         lambda: filters.hp_filter_one_sided(close, 100.0)),
        ("XA_HP", "2,520 rows", lambda: Y.XA_HP(x_close, 100), lambda: filters.hp_filter(close, 100.0)),
        ("XA_FACTOR_MOM", "2,520 rows", lambda: Y.XA_FACTOR_MOM(x_close),
         lambda: style.factor_momentum(pd.Series(close))),
        ("XA_STYLE_SIGNAL", "2,520 rows, no dates", lambda: Y.XA_STYLE_SIGNAL(x_close, x_small),
         lambda: style.style_signal(pd.Series(close, weekly_idx), pd.Series(small, weekly_idx))),
        ("XA_STYLE_SIGNAL", "2,520 daily rows with dates", lambda: Y.XA_STYLE_SIGNAL(dated_large, dated_small),
         lambda: style.style_signal(pd.Series(close, dates), pd.Series(small, dates))),
        ("XA_QUINTILE", "2,520 x 30 block", lambda: H.XA_QUINTILE(x_block_t),
         lambda: grouping.assign_groups(pd.DataFrame(block, columns=codes))),
        ("XA_PENETRATE", "60 indices, 4,800 weights, 5,000 stocks", lambda: H.XA_PENETRATE(sizes, w_rows, si),
         pen_core),
        ("XA_DIVERGENCE", "2,520 x 30 block", lambda: H.XA_DIVERGENCE(x_etf_sh, x_act_sh),
         lambda: divergence.divergence(pd.DataFrame(etf_sh), pd.DataFrame(act_sh))),
        ("XA_PICKS", "30 industries x 4 factors", lambda: G.XA_PICKS(fb, 6), picks_core),
        ("XA_PERF", "2,520 rows with dates + benchmark", lambda: S.XA_PERF(dated_nav, x_bm),
         lambda: performance.performance_table(pd.Series(navs, dates), pd.Series(bm, dates))),
        ("XA_PCTRANK", "2,520 rows, window 252", lambda: S.XA_PCTRANK(x_close, 252),
         lambda: dashboard.trailing_percentile(pd.Series(close), 252)),
        ("XA_IC", "2,520 x 30 blocks", lambda: S.XA_IC(x_block, x_fwd), ic_core),
        ("XA_BACKTEST", "2,520 x 30 returns, 119 monthly rebalances", lambda: G.XA_BACKTEST(x_bt_w, x_bt_ret, 0.001, 1),
         lambda: backtest.backtest_weights(bt_w, bt_ret, 0.001, 1)),
        ("XA_VERSION", "-", lambda: S.XA_VERSION(), lambda: None),
    ], (x_shares, x_nav, x_block)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    table, _ = cases()
    print("| function | input | UDF (ms) | core alone (ms) | ratio |")
    print("|---|---|---:|---:|---:|")
    for name, what, udf, core in table:
        res = udf()
        assert not (isinstance(res[0][0], str) and res[0][0].startswith("#XA!")), (name, res[0][0])
        t_udf = timed(udf, args.repeat)
        t_core = timed(core, args.repeat)
        ratio = f"{t_udf / t_core:.1f}" if t_core > 0.01 else "-"
        print(f"| {name} | {what} | {t_udf:.1f} | {t_core:.1f} | {ratio} |")
    print(f"\n(median of {args.repeat} runs, {dt.date.today()}, Python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
