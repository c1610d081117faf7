"""The issue-13 cores rewritten on arrays (issue 14) give today's results: the M12 table, ranks, groups,
picks and the backtest engine are compared with frozen copies of the code before the rewrite
(``tests/_cores_ref``, commit 55a094b) on the sample, on the real data and on random inputs (same labels,
values bit-for-bit or within 1e-12 relative), and the M12 table with a naive per-year loop written here
from the formulas (empyrical style), independent of both."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xladdin.methods import backtest as bt, grouping as gp, ranking as rk, stats as pf

sys.path.insert(0, str(Path(__file__).parent))
from _cores_ref import (  # noqa: E402
    backtest as ref_bt,
    grouping as ref_gp,
    performance as ref_pf,
    ranking as ref_rk,
)

RTOL = 1e-12


def seeds(n: int, fast: int = 4) -> list:
    """``range(n)`` as parameters; the seeds after the first ``fast`` are marked ``slow`` (the fast subset
    keeps a few random cases of each core, the whole suite runs them all)."""
    return [pytest.param(s, marks=pytest.mark.slow) if s >= fast else s for s in range(n)]


def assert_same_frame(got: pd.DataFrame | pd.Series, ref: pd.DataFrame | pd.Series, rtol: float = RTOL) -> None:
    """Same labels, dtypes and missing cells; numbers equal within ``rtol`` relative (bit-for-bit if 0)."""
    assert type(got) is type(ref)
    pd.testing.assert_index_equal(got.index, ref.index, exact=True)
    if isinstance(ref, pd.DataFrame):
        pd.testing.assert_index_equal(got.columns, ref.columns, exact=True)
        pd.testing.assert_series_equal(got.dtypes, ref.dtypes)
    else:
        assert got.dtype == ref.dtype and got.name == ref.name
    g = got.to_numpy(dtype=float, na_value=np.nan)
    r = ref.to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(r))
    np.testing.assert_allclose(g, r, rtol=rtol, atol=0)


# ----------------------------------------------------------------------------- M12: random NAVs
def _dates(rng: np.random.Generator, n: int) -> pd.DatetimeIndex:
    start = pd.Timestamp("2003-01-01") + pd.Timedelta(days=int(rng.integers(0, 7000)))
    kind = rng.integers(0, 5)
    if kind == 0:
        return pd.bdate_range(start, periods=n)
    if kind == 1:  # calendar days
        return pd.date_range(start, periods=n, freq="D")
    if kind == 2:  # irregular: gaps of 1-40 days (some months and years without a date)
        return pd.DatetimeIndex(start + pd.to_timedelta(np.cumsum(rng.integers(1, 41, n)), unit="D"))
    if kind == 3:  # starts on a year's last day: the first year holds only the base NAV
        return pd.bdate_range(pd.Timestamp(f"{start.year}-12-31"), periods=n)
    return pd.DatetimeIndex(pd.Timestamp(f"{start.year}-12-30")  # a one-return first year, first month
                            + pd.to_timedelta(np.r_[0, 1, np.cumsum(rng.integers(1, 4, n - 2)) + 1], unit="D"))


def _walk(rng: np.random.Generator, n: int) -> np.ndarray:
    vol = rng.choice([0.0, 1e-4, 0.01, 0.03, 0.3])
    r = rng.normal(rng.normal(0, 5e-4), vol, n - 1)
    if rng.random() < 0.3:  # flat stretches: zero volatility, no excess in a month
        r[rng.random(n - 1) < 0.5] = 0.0
    return float(rng.uniform(0.01, 1e4)) * np.r_[1.0, np.cumprod(1 + np.clip(r, -0.9, None))]


def random_case(seed: int) -> dict:
    """One random call of ``performance_table``: NAV, and sometimes a benchmark, turnover, rf, options."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([2, 3, 5, 30, 250, 800, 2600]))
    idx = _dates(rng, n)
    nav = pd.Series(_walk(rng, n), index=idx)
    kw: dict = {}
    pick = rng.integers(0, 4)
    if pick == 1:
        kw["benchmark"] = pd.Series(_walk(rng, n), index=idx)
    elif pick == 2:  # the NAV itself, rescaled: excess and TE are rounding noise
        kw["benchmark"] = nav * float(rng.uniform(0.1, 10))
    elif pick == 3:  # a benchmark on more dates (a longer history, gaps) than the NAV
        extra = idx.union(idx - pd.Timedelta(days=1))
        b = pd.Series(_walk(rng, len(extra)), index=extra)
        off = np.flatnonzero(~extra.isin(idx))
        b.iloc[rng.choice(off, min(3, len(off)), replace=False)] = np.nan  # missing off the NAV's dates: dropped
        kw["benchmark"] = b
    if rng.random() < 0.4:
        k = int(rng.integers(1, max(2, n // 5)))
        when = pd.DatetimeIndex(rng.choice(idx.union(idx - pd.Timedelta(days=400)), k, replace=False))
        t = pd.Series(rng.uniform(0, 2, k), index=when)
        t.iloc[0] = np.nan
        kw["turnover"] = t
    if rng.random() < 0.3:
        kw["rf"] = float(rng.choice([0.02, -0.01]))
    if rng.random() < 0.3:
        kw["sharpe"] = "arithmetic"
    if rng.random() < 0.2:
        kw["periods"] = 12
    if rng.random() < 0.2:
        kw["min_full_year"] = float(rng.choice([0.5, 1.0, 0.0]))
    if rng.random() < 0.2:  # unsorted input with integer-like values
        nav = nav.sample(frac=1.0, random_state=seed)
    return {"nav": nav, **kw}


@pytest.mark.parametrize("seed", seeds(150))
def test_performance_table_random_navs_as_before(seed):
    case = random_case(seed)
    assert_same_frame(pf.performance_table(**case), ref_pf.performance_table(**case))


def test_performance_table_many_years_and_monthly_periods_as_before():
    rng = np.random.default_rng(7)
    idx = pd.DatetimeIndex(np.datetime64("1800-01-01") + np.arange(40_000) * np.timedelta64(1, "D"))
    nav, b = (pd.Series(np.exp(np.cumsum(rng.normal(0, 0.01, len(idx)))), index=idx) for _ in range(2))
    turnover = pd.Series(rng.uniform(0, 1, 500), index=idx[::80])
    assert_same_frame(pf.performance_table(nav, b, turnover=turnover),
                      ref_pf.performance_table(nav, b, turnover=turnover))
    months = pd.date_range("2001-01-31", periods=300, freq="ME")
    m = pd.Series(np.exp(np.cumsum(rng.normal(0, 0.05, 300))), index=months)
    assert_same_frame(pf.performance_table(m, periods=12), ref_pf.performance_table(m, periods=12))


@pytest.mark.filterwarnings("ignore:Could not infer format")
@pytest.mark.parametrize("bad", [
    lambda n: n.iloc[:1], lambda n: n.where(n.index != n.index[3]), lambda n: -n,
    lambda n: pd.concat([n, n.iloc[:2]]), lambda n: n.set_axis([f"day {i}" for i in range(len(n))]),
])
def test_performance_table_errors_as_before(bad):
    nav = pd.Series(np.linspace(1, 2, 30), index=pd.bdate_range("2020-12-01", periods=30))
    x = bad(nav)
    with pytest.raises(Exception) as ref_err:
        ref_pf.performance_table(x)
    with pytest.raises(type(ref_err.value), match=None) as err:
        pf.performance_table(x)
    assert str(err.value) == str(ref_err.value)
    with pytest.raises(ValueError) as ref_err:
        ref_pf.performance_table(nav, nav.iloc[5:])
    with pytest.raises(ValueError) as err:
        pf.performance_table(nav, nav.iloc[5:])
    assert str(err.value) == str(ref_err.value)


# ----------------------------------------------------------------------------- M12: sample and real data
def _closes(table: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    return table.pivot(index="date", columns=key, values=value).sort_index()


def _momentum_backtest(close: pd.DataFrame, cost: float, engine=bt):
    """A monthly top-5 momentum basket on ``close`` through ``engine``: NAVs gross and net, turnover."""
    px = close.ffill()
    month_ends = px.index[np.r_[px.index.month[1:] != px.index.month[:-1], True]][2:-1]
    mom = px.pct_change(60, fill_method=None).loc[month_ends]
    w = ref_rk.top_n_weights(mom, 5)
    return engine.backtest_weights(w, engine.returns_from_prices(px), cost, 1)


@pytest.mark.slow
def test_performance_table_on_the_sample_as_before(sample_market):
    t = sample_market.tables
    funds = _closes(t["fund_nav"], "fund", "nav")
    bench = _closes(t["index_daily"], "index", "close")
    res = _momentum_backtest(_closes(t["industry_daily"], "industry", "close"), 0.001)
    b = bench.iloc[:, 0].reindex(res.nav.index)
    assert_same_frame(pf.performance_table(res.nav, b, turnover=res.turnover),
                      ref_pf.performance_table(res.nav, b, turnover=res.turnover))
    assert_same_frame(pf.performance_table(res.nav_gross, b, turnover=res.turnover),
                      ref_pf.performance_table(res.nav_gross, b, turnover=res.turnover))
    for j in range(0, funds.shape[1], max(1, funds.shape[1] // 12)):  # funds start and end on their own dates
        nav = funds.iloc[:, j].dropna()
        bm = bench.iloc[:, j % bench.shape[1]].reindex(nav.index).ffill().bfill()
        for kw in ({}, {"benchmark": bm}, {"benchmark": bm, "sharpe": "arithmetic", "rf": 0.015}):
            assert_same_frame(pf.performance_table(nav, **kw), ref_pf.performance_table(nav, **kw))


def test_performance_table_on_real_indices_as_before(real_market):
    close = _closes(real_market.tables["index_daily"], "index", "close")
    cols = list(close.columns)
    for a, b in zip(cols, cols[1:] + cols[:1]):
        nav = close[a].dropna()
        bm = close[b].reindex(nav.index).ffill().bfill()
        assert_same_frame(pf.performance_table(nav, bm), ref_pf.performance_table(nav, bm))


# ----------------------------------------------------------------------------- M12: an independent derivation
def naive_table(dates: pd.DatetimeIndex, nav: np.ndarray, bench: np.ndarray | None, periods: int = 252,
                min_full_year: float = 0.9) -> dict[str, dict[str, float]]:
    """The M12 table from the spec's formulas, one calendar year at a time in plain numpy (empyrical's
    forms: ``cum_returns_final``, ``annual_volatility`` with ddof=1, ``max_drawdown`` on the running peak),
    labels written out here."""
    def ann(total, n):
        return (1 + total) ** (periods / n) - 1

    def mdd(x):
        return float(np.min(x / np.maximum.accumulate(x) - 1))

    def month_returns(d, x):
        ends = [i for i in range(len(d))
                if i == len(d) - 1 or (d[i].year, d[i].month) != (d[i + 1].year, d[i + 1].month)]
        base = [0] + ends[:-1]
        out = [x[e] / x[b] - 1 for b, e in zip(base, ends)]
        return out[1:] if ends[0] == 0 else out

    rows = {}
    years = sorted(set(d.year for d in dates))
    segments = []
    for y in years:
        pos = [i for i, d in enumerate(dates) if d.year == y]
        segments.append((y, max(pos[0] - 1, 0), pos[-1]))
    segments.append((None, 0, len(nav) - 1))
    for y, a, e in segments:
        n = e - a
        if n == 0:
            continue
        x = nav[a:e + 1]
        r = x[1:] / x[:-1] - 1
        total = x[-1] / x[0] - 1
        part = y is not None and n < min_full_year * periods
        full = y is None
        vol = np.sqrt(periods) * np.std(r, ddof=1) if n > 1 else np.nan
        ratio_ret = ann(total, n) if (full or part) else total
        row = {"annual_return": ann(total, n) if full else total, "volatility": vol,
               "sharpe": ratio_ret / vol if vol > 1e-12 else np.nan, "max_drawdown": mdd(x),
               "days": float(n), "annualised_return": ann(total, n) if (full or part) else np.nan,
               "part_year": float(part)}
        if bench is not None:
            b = bench[a:e + 1]
            rel = (x / x[0]) / (b / b[0])
            rel_total = rel[-1] - 1
            te = np.sqrt(periods) * np.std(r - (b[1:] / b[:-1] - 1), ddof=1) if n > 1 else np.nan
            ex = np.array(month_returns(dates[a:e + 1], x)) - np.array(month_returns(dates[a:e + 1], b))
            ex[np.abs(ex) <= 1e-12] = 0
            win, loss = ex[ex > 0], ex[ex < 0]
            row.update({"excess_return": ann(rel_total, n) if full else rel_total, "tracking_error": te,
                        "information_ratio": (ann(rel_total, n) if (full or part) else rel_total) / te
                        if te > 1e-12 else np.nan,
                        "relative_max_drawdown": mdd(rel), "win_rate": float(np.mean(ex > 0)) if len(ex) else np.nan,
                        "odds": win.mean() / abs(loss.mean()) if len(win) and len(loss) else np.nan,
                        "annualised_excess": ann(rel_total, n) if (full or part) else np.nan})
        if full:
            label = "Full period"
        else:
            first, last = part and y == years[0], part and y == years[-1]
            label = str(y) + (f" ({dates[a]:%m-%d} to {dates[e]:%m-%d})" if first and last
                              else f" (from {dates[a]:%m-%d})" if first else f" (to {dates[e]:%m-%d})" if last else "")
        rows[label] = row
    return rows


@pytest.mark.parametrize("seed", seeds(12))
def test_performance_table_against_a_naive_per_year_loop(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.choice([40, 300, 700, 1500]))
    dates = pd.bdate_range(pd.Timestamp("2010-01-01") + pd.Timedelta(days=int(rng.integers(0, 3000))), periods=n)
    nav = np.exp(np.cumsum(rng.normal(3e-4, 0.012, n)))
    bench = np.exp(np.cumsum(rng.normal(1e-4, 0.01, n))) if seed % 3 else None
    got = pf.performance_table(pd.Series(nav, dates), None if bench is None else pd.Series(bench, dates))
    expected = naive_table(dates, nav, bench)
    assert list(got.index) == list(expected)
    for label, row in expected.items():
        for col, v in row.items():
            assert got.loc[label, col] == pytest.approx(v, rel=1e-9, abs=1e-13, nan_ok=True), (label, col)


# ----------------------------------------------------------------------------- ranks, groups, picks
def _codes(rng: np.random.Generator, k: int) -> list:
    kind = rng.integers(0, 3)
    if kind == 0:
        codes = [f"CI005{i:03d}.WI" for i in range(k)]
    elif kind == 1:  # numbers as codes: ordered as text ("10" before "9")
        codes = list(rng.choice(1000, k, replace=False).astype(int).tolist())
    else:
        codes = [f"{i}" if i % 2 else f"x{i}" for i in range(k)]
    return [codes[i] for i in rng.permutation(k)]


def random_factor(rng: np.random.Generator, rows: int, codes: list, dates: bool = True) -> pd.DataFrame:
    """Cross-sections with the awkward cases: ties (integers, values within 1e-9), rounding noise
    around 0 (no spread), blanks, a lone value, all blank, large magnitudes."""
    k = len(codes)
    x = rng.normal(size=(rows, k)) * float(rng.choice([1.0, 1e-6, 1e8]))
    for i in range(rows):
        kind = rng.integers(0, 8)
        if kind == 0:
            x[i] = rng.integers(0, 4, k)
        elif kind == 1:
            x[i] = rng.choice([-1e-16, 0.0, 1e-16, 3e-17], k)
        elif kind == 2:
            x[i] = np.nan
        elif kind == 3:
            x[i, rng.integers(0, k)] = np.nan
            x[i] = np.where(np.isnan(x[i]), np.nan, 7.0)
        elif kind == 4:
            x[i] = np.repeat(rng.normal(size=k // 3 + 1), 3)[:k] + rng.normal(0, 1e-13, k)
    x[rng.random(x.shape) < 0.15] = np.nan
    index = (pd.date_range("2024-01-31", periods=rows, freq="ME") if dates else pd.RangeIndex(rows))
    return pd.DataFrame(x, index=index, columns=codes)


@pytest.mark.parametrize("seed", seeds(60))
def test_ranks_composite_and_picks_random_as_before(seed):
    rng = np.random.default_rng(1000 + seed)
    codes = _codes(rng, int(rng.choice([1, 2, 5, 30, 97])))
    rows = int(rng.choice([1, 3, 20]))
    base = random_factor(rng, rows, codes)
    tied, flat = rk.tie_values(base)
    ref_tied, ref_flat = ref_rk.tie_values(base)
    assert_same_frame(tied, ref_tied, 0)
    assert_same_frame(flat, ref_flat, 0)
    assert_same_frame(rk.no_ranking(base), ref_rk.no_ranking(base), 0)
    assert_same_frame(rk.percentile_ranks(base), ref_rk.percentile_ranks(base), 0)
    # factors on overlapping dates and codes (the composite takes the unions)
    factors = {"level": base}
    for name in ("change", "flow", "momentum")[:int(rng.integers(0, 4))]:
        sub = [c for c in codes if rng.random() < 0.8] or codes[:1]
        f = random_factor(rng, rows, sub)
        if rng.random() < 0.5:
            f = f.iloc[int(rng.integers(0, rows)):]
        factors[name] = f
    weights = None if rng.random() < 0.5 else {k: float(rng.choice([0.0, 0.5, 1.0, 3.0])) for k in factors}
    if weights is not None and not any(weights.values()):
        weights["level"] = 1.0
    for require_all in (False, True):
        got = rk.composite_scores(factors, weights, require_all=require_all)
        ref = ref_rk.composite_scores(factors, weights, require_all=require_all)
        assert_same_frame(got, ref, 0)
        for n in (1, 3, 6, 200):
            for ascending in (False, True):
                assert_same_frame(rk.top_n_weights(got, n, ascending), ref_rk.top_n_weights(ref, n, ascending), 0)
        groups = {c: f"IDX{int(rng.integers(0, 4))}" for c in codes if rng.random() < 0.7}
        if codes and rng.random() < 0.5:
            groups[codes[0]] = np.nan  # no group: its own
        assert_same_frame(rk.top_n_weights(got, 3, one_per=groups), ref_rk.top_n_weights(ref, 3, one_per=groups), 0)
    # a plain index (not dates) and a frame of object dtype
    plain = random_factor(rng, rows, codes, dates=False)
    pair = {"a": plain, "b": -plain}
    assert_same_frame(rk.composite_scores(pair), ref_rk.composite_scores(pair), 0)
    assert_same_frame(rk.percentile_ranks(plain.astype(object)), ref_rk.percentile_ranks(plain.astype(object)), 0)


@pytest.mark.parametrize("seed", seeds(60))
def test_groups_random_as_before(seed):
    rng = np.random.default_rng(2000 + seed)
    codes = _codes(rng, int(rng.choice([1, 2, 4, 5, 31, 200])))
    frame = random_factor(rng, int(rng.choice([1, 3, 25])), codes)
    k = int(rng.choice([1, 3, 5, 10]))
    assert_same_frame(gp.assign_groups(frame, k), ref_gp.assign_groups(frame, k), 0)
    row = frame.iloc[-1]
    assert_same_frame(gp.assign_groups(row, k), ref_gp.assign_groups(row, k), 0)
    texty = frame.astype(object)
    texty.iloc[0, 0] = "n/a"  # text in a cell: no value
    assert_same_frame(gp.assign_groups(texty, k), ref_gp.assign_groups(texty, k), 0)
    assert_same_frame(gp.assign_groups(texty.iloc[0], k), ref_gp.assign_groups(texty.iloc[0], k), 0)
    if len(codes) > 1:
        dup = row.iloc[[0, 0, 1]]  # repeated codes: the same error
        with pytest.raises(ValueError) as ref_err:
            ref_gp.assign_groups(dup, k)
        with pytest.raises(ValueError, match="duplicated codes") as err:
            gp.assign_groups(dup, k)
        assert str(err.value) == str(ref_err.value)
    num = frame.to_numpy(dtype=float)
    np.testing.assert_array_equal(gp._groups_numeric(num, frame.columns, k),
                                  ref_gp._groups_numeric(num, frame.columns, k))
    assert_same_frame(gp.group_table(frame, k), ref_gp.group_table(frame, k), 0)


# ----------------------------------------------------------------------------- the backtest engine
@pytest.mark.parametrize("seed", seeds(40))
def test_backtest_random_as_before(seed):
    rng = np.random.default_rng(3000 + seed)
    n, k = int(rng.choice([5, 60, 700])), int(rng.choice([1, 3, 30]))
    days = pd.bdate_range("2019-01-02", periods=n)
    codes = [f"A{j}" for j in range(k)]
    rets = pd.DataFrame(rng.normal(0, float(rng.choice([0.001, 0.02, 0.2])), (n, k)).clip(-0.95), days, codes)
    when = days[np.sort(rng.choice(n - 1, int(rng.integers(1, max(2, n // 10))), replace=False))]
    w = pd.DataFrame(rng.dirichlet(np.ones(k), len(when)), when, codes)
    w.iloc[rng.random(len(w)) < 0.2] = np.nan  # no decision
    w.iloc[rng.random(len(w)) < 0.1] = 0.0  # all cash
    if k > 1:
        w.iloc[:, 0] = np.where(rng.random(len(w)) < 0.3, 0.0, w.iloc[:, 0])
        w = w.div(w.sum(axis=1).where(lambda s: s > 0, 1.0), axis=0)
    if n > 5 and rng.random() < 0.5:  # an asset that starts later: NaN returns before, never held there
        late = rets.columns[-1]
        rets.iloc[: n // 3, -1] = np.nan
        w.loc[w.index < days[n // 3], late] = 0.0
        w = w.div(w.sum(axis=1).where(lambda s: s > 0, 1.0), axis=0)
    cost, lag = float(rng.choice([0.0, 0.001, 0.003])), int(rng.choice([0, 1, 2]))
    end = days[-2] if rng.random() < 0.3 else None
    try:
        ref = ref_bt.backtest_weights(w, rets, cost, lag, end)
    except ValueError as exc:
        with pytest.raises(ValueError) as err:
            bt.backtest_weights(w, rets, cost, lag, end)
        assert str(err.value) == str(exc)
        return
    got = bt.backtest_weights(w, rets, cost, lag, end)
    for name in ("nav", "nav_gross", "weights", "period_returns"):
        assert_same_frame(getattr(got, name), getattr(ref, name))
    pd.testing.assert_frame_equal(got.trades, ref.trades, check_exact=False, rtol=RTOL)
    pd.testing.assert_index_equal(got.unexecuted, ref.unexecuted)
    assert (got.lag, got.cost_rate) == (ref.lag, ref.cost_rate)
    b = rets.iloc[:, 0].fillna(0).add(1).cumprod().reindex(got.nav.index)
    summary, ref_summary = bt.backtest_summary(got, b), ref_bt.backtest_summary(ref, b)
    assert list(summary) == list(ref_summary)
    for key, v in ref_summary.items():
        if isinstance(v, float):
            assert summary[key] == pytest.approx(v, rel=RTOL, abs=0, nan_ok=True), key
        else:
            assert summary[key] == v, key


# ----------------------------------------------------------------------------- the Excel functions
def _cells(x: np.ndarray, rng: np.random.Generator) -> list:
    """Excel values of a float matrix: NaN as blank or an error text, the rest as floats."""
    rows = []
    for r in x.tolist():
        rows.append([(None if rng.random() < 0.5 else "#N/A") if v != v else v for v in r])
    return rows


def _excel_codes(rng: np.random.Generator, k: int) -> list[str]:
    """Codes as an Excel column holds them (text), in an order where text order matters (A10 < A9 < a1)."""
    return [["A", "a", "B", "CI005"][i % 4] + str(int(v)) for i, v in enumerate(rng.choice(1000, k, replace=False))]


@pytest.mark.parametrize("seed", seeds(40))
def test_xa_picks_as_before(seed):
    from _cores_ref import udfs as ref_udfs

    from xladdin_udfs import strategy as G
    rng = np.random.default_rng(4000 + seed)
    n, k = int(rng.choice([1, 2, 7, 30, 300])), int(rng.choice([1, 2, 4]))
    x = random_factor(rng, k, [f"c{j}" for j in range(n)]).to_numpy().T  # codes x factors, awkward columns
    body = _cells(x, rng)
    codes = _excel_codes(rng, n)
    if rng.random() < 0.7:
        block = [["code"] + [f"f{j}" for j in range(k)]] + [[str(c)] + r for c, r in zip(codes, body)]
    else:
        block = body if k > 1 else [r[0] for r in body]
    top = int(rng.choice([1, 3, 6, 100]))  # at most strategy.TOP_N_RANGE's 100 since #23 (the sheet's top_n range)
    weights = None if rng.random() < 0.5 else [float(v) for v in rng.choice([0.0, 1.0, 2.5], k)]
    if weights is not None and not any(weights):
        weights[0] = 1.0
    assert G.XA_PICKS(block, top, weights) == ref_udfs.XA_PICKS(block, top, weights)


@pytest.mark.parametrize("seed", seeds(30))
def test_xa_quintile_as_before(seed):
    from _cores_ref import udfs as ref_udfs

    from xladdin_udfs import holdings as H
    rng = np.random.default_rng(5000 + seed)
    n_r, n_c = int(rng.choice([1, 4, 40])), int(rng.choice([1, 3, 31]))
    codes = _excel_codes(rng, n_c)
    x = random_factor(rng, n_r, codes).to_numpy()
    block = _cells(x, rng)
    if rng.random() < 0.5:
        block = [["date"] + codes] + [[f"2024-{i % 12 + 1:02d}-28"] + r for i, r in enumerate(block)]
    k, by = int(rng.choice([2, 3, 5, 10])), rng.choice([None, "row", "column"])  # groups >= 2 since #23 (GROUPS_RANGE)
    header = bool(rng.random() < 0.3)
    assert H.XA_QUINTILE(block, k, by, header) == ref_udfs.XA_QUINTILE(block, k, by, header)


@pytest.mark.parametrize("seed", seeds(30))
def test_xa_backtest_as_before(seed):
    from _cores_ref import udfs as ref_udfs

    from xladdin_udfs import strategy as G
    rng = np.random.default_rng(6000 + seed)
    n, k = int(rng.choice([3, 40, 300, 600])), int(rng.choice([1, 4]))
    days = pd.bdate_range("2021-01-04", periods=n).to_pydatetime().tolist()
    rets = rng.normal(0, 0.02, (n, k))
    if rng.random() < 0.3:
        rets[rng.integers(0, n)] = np.nan  # a day without returns: an error if held
    assets = [f"E{j}" for j in range(k)]
    dated = rng.random() < 0.7
    r_block = ([["date"] + assets] + [[d] + r for d, r in zip(days, _cells(rets, rng))] if dated
               else _cells(rets, rng))
    every = int(rng.choice([1, 5, 21]))
    w = rng.dirichlet(np.ones(k), n)
    first = int(rng.integers(0, 3))  # a decision on the first day with lag 0 is an error
    if dated:
        w_block = [["date"] + assets] + [[days[i]] + w[i].tolist() for i in range(first, n, every)]
    else:
        w_block = [w[i].tolist() if i >= first and (i - first) % every == 0 else [None] * k for i in range(n)]
    cost, lag = rng.choice([None, 0.0, 0.003]), rng.choice([None, 0, 2])
    got, ref = G.XA_BACKTEST(w_block, r_block, cost, lag), ref_udfs.XA_BACKTEST(w_block, r_block, cost, lag)
    assert [len(row) for row in got] == [len(row) for row in ref]
    for a, b in zip(sum(got, []), sum(ref, [])):  # the engine is within 1e-12 of the per-period loop
        assert type(a) is type(b) and (a == pytest.approx(b, rel=RTOL, abs=0) if isinstance(b, float) else a == b)


@pytest.mark.parametrize("seed", seeds(30))
def test_xa_perf_as_before(seed):
    from _cores_ref import udfs as ref_udfs

    from xladdin_udfs import stats as S
    case = random_case(seed)
    nav = case["nav"].sort_index()
    rng = np.random.default_rng(7000 + seed)
    dated = rng.random() < 0.7
    x_nav = [[d, v] for d, v in zip(nav.index.to_pydatetime().tolist(), nav.tolist())] if dated else nav.tolist()
    bm = None
    if rng.random() < 0.6:
        bm = (nav * np.exp(np.cumsum(rng.normal(0, 0.01, len(nav))))).tolist()
    rf, sharpe = rng.choice([None, 0.02]), rng.choice([None, "arithmetic"])
    got, ref = S.XA_PERF(x_nav, bm, rf, sharpe), ref_udfs.XA_PERF(x_nav, bm, rf, sharpe)
    assert [len(row) for row in got] == [len(row) for row in ref]
    for a, b in zip(sum(got, []), sum(ref, [])):
        assert type(a) is type(b) and (a == pytest.approx(b, rel=RTOL, abs=0) if isinstance(b, float) else a == b)
