"""M2 rolling flow/return correlation and top signal; M3 event-study grid."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr

from xladdin.methods.correlation import (
    event_days,
    event_study,
    forward_returns,
    grid_table,
    index_flow_correlation,
    rolling_correlation,
    top_signal,
)


def bdays(n, start="2020-01-01"):
    return pd.bdate_range(start, periods=n)


# ------------------------------------------------------------------ M2
@pytest.mark.parametrize("window", [3, 5, 20])
def test_every_window_matches_scipy(window):
    rng = np.random.default_rng(7)
    n = 120
    idx = bdays(n)
    ret = pd.Series(rng.normal(0, 0.01, n), idx)
    flow = pd.Series(3e9 * ret.to_numpy() + rng.normal(5e9, 1e9, n), idx)   # large yuan magnitudes
    flow.iloc[[10, 11, 50]] = np.nan                                        # days without a flow
    ret = ret.drop(idx[[70, 90]])                                           # days without a return
    out = rolling_correlation(flow, ret, window)
    common = flow.dropna().index.intersection(ret.index)
    assert out.index.equals(common)
    x, y = flow.reindex(common).to_numpy(), ret.reindex(common).to_numpy()
    assert out.iloc[: window - 1].isna().all()
    expected = [pearsonr(x[i - window + 1: i + 1], y[i - window + 1: i + 1])[0] for i in range(window - 1, len(x))]
    np.testing.assert_allclose(out.iloc[window - 1:].to_numpy(), expected, rtol=0, atol=1e-12)


def test_correlation_invariant_to_scale_and_shift():
    rng = np.random.default_rng(1)
    idx = bdays(60)
    f, r = pd.Series(rng.normal(size=60), idx), pd.Series(rng.normal(size=60), idx)
    a = rolling_correlation(f, r, 20)
    b = rolling_correlation(1e10 * f + 7e11, 0.01 * r - 3, 20)
    np.testing.assert_allclose(a.dropna(), b.dropna(), atol=1e-10)
    np.testing.assert_allclose(rolling_correlation(-f, r, 20).dropna(), -a.dropna(), atol=1e-12)


def test_constant_window_is_nan_and_short_input():
    idx = bdays(6)
    r = pd.Series([0.01, -0.02, 0.03, 0.01, 0.02, -0.01], idx)
    f = pd.Series([5.0, 5.0, 5.0, 1.0, 2.0, 3.0], idx)
    out = rolling_correlation(f, r, 3)
    assert np.isnan(out.iloc[2]) and np.isfinite(out.iloc[3])
    assert rolling_correlation(f.iloc[:2], r.iloc[:2], 3).isna().all()
    with pytest.raises(ValueError, match="window"):
        rolling_correlation(f, r, 1)


def test_top_signal_strict_and_nan():
    c = pd.Series([np.nan, 0.5, 0.51, -0.9, 0.8])
    assert top_signal(c, 0.5).tolist()[1:] == [0.0, 1.0, 0.0, 1.0]
    assert np.isnan(top_signal(c).iloc[0])


# ------------------------------------------------------------------ M3
def test_grid_hand_computed():
    idx = bdays(10)
    close = pd.Series([10, 11, 9, 12, 8, 13, 7, 14, 6, 15], idx, dtype=float)
    corr = pd.Series([np.nan, 0.2, 0.6, 0.1, 0.7, 0.8, 0.3, 0.9, 0.4, 0.2], idx)
    g = event_study(corr, close, event_thresholds=[0.5], event_horizons=[1, 2, 3]).set_index("horizon")
    # events (every): days 2, 4, 5, 7
    assert g.loc[1, "events"] == 4
    assert g.loc[1, "p_down"] == 0.5                      # 9->12 up, 8->13 up, 13->7 down, 14->6 down
    assert g.loc[1, "mean_return"] == pytest.approx((12 / 9 + 13 / 8 + 7 / 13 + 6 / 14 - 4) / 4)
    assert g.loc[2, "mean_return"] == pytest.approx((8 / 9 + 7 / 8 + 14 / 13 + 15 / 14 - 4) / 4)
    assert g.loc[3, "events"] == 3                        # day 7 + 3 runs past the sample end
    # base: days 1..8 with a valid t+1 (corr NaN on day 0 is outside the sample)
    base1 = [close.iloc[t + 1] < close.iloc[t] for t in range(1, 9)]
    assert g.loc[1, "base_p_down"] == pytest.approx(np.mean(base1))
    first = event_study(corr, close, event_thresholds=[0.5], event_horizons=[1], event_mode="first")
    assert first["events"].iloc[0] == 3                   # day 5 continues day 4's run
    assert first["p_down"].iloc[0] == pytest.approx(1 / 3)  # days 2 (up), 4 (up), 7 (down)


def test_grid_on_constructed_series_with_known_answer():
    # close rises 1% a day, except it falls 10% 20 days after each of 5 spikes: above 0.5 exactly on
    # the spike days, so at h = 20 each event is down; at h = 5 none is.
    n = 300
    idx = bdays(n)
    daily = np.full(n, 0.01)
    spikes = [30, 80, 130, 180, 230]
    for s in spikes:
        daily[s + 20] = -0.5
    close = pd.Series(100 * np.cumprod(1 + daily), idx)
    corr = pd.Series(0.0, idx)
    corr.iloc[spikes] = 0.9
    corr.iloc[:19] = np.nan
    g = event_study(corr, close, event_thresholds=[0.5, 0.95], event_horizons=[5, 20]).set_index(["threshold", "horizon"])
    assert g.loc[(0.5, 20), "events"] == 5 and g.loc[(0.5, 20), "p_down"] == 1.0
    assert g.loc[(0.5, 20), "mean_return"] == pytest.approx(1.01 ** 19 * 0.5 - 1)
    assert g.loc[(0.5, 5), "p_down"] == 0.0 and g.loc[(0.5, 5), "mean_return"] == pytest.approx(1.01 ** 5 - 1)
    assert g.loc[(0.95, 20), "events"] == 0 and np.isnan(g.loc[(0.95, 20), "p_down"])
    # base: days 19..n-21 at h=20, of which the days whose window covers a crash are down
    valid = range(19, n - 20)
    downs = sum(any(t < s + 20 <= t + 20 for s in spikes) for t in valid)
    assert g.loc[(0.5, 20), "base_p_down"] == pytest.approx(downs / len(valid))
    assert list(g.reset_index().columns[:5]) == ["threshold", "horizon", "events", "p_down", "mean_return"]


def test_grid_matches_brute_force_loop():
    rng = np.random.default_rng(3)
    n = 400
    idx = bdays(n)
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), idx)
    corr = pd.Series(np.tanh(np.cumsum(rng.normal(0, 0.3, n))), idx)
    corr.iloc[:19] = np.nan
    ths, hs = [0.3, 0.5, 0.7], [5, 20, 30]
    for mode in ("every", "first"):
        g = event_study(corr, close, ths, hs, event_mode=mode).set_index(["threshold", "horizon"])
        c, p = corr.to_numpy(), close.to_numpy()
        for th in ths:
            for h in hs:
                ev = []
                for t in range(n):
                    if np.isnan(c[t]) or not c[t] > th or t + h >= n:
                        continue
                    if mode == "first" and t > 0 and not np.isnan(c[t - 1]) and c[t - 1] > th:
                        continue
                    ev.append(p[t + h] / p[t] - 1)
                row = g.loc[(th, h)]
                assert row["events"] == len(ev)
                assert row["p_down"] == pytest.approx(np.mean(np.array(ev) < 0))
                assert row["mean_return"] == pytest.approx(np.mean(ev))


def test_event_days_modes_and_errors():
    c = pd.Series([0.6, 0.7, np.nan, 0.8, 0.2, 0.9])
    assert event_days(c, 0.5).tolist() == [True, True, False, True, False, True]
    # NaN is skipped: day 3 continues the run of days 0-1 (previous valid reading 0.7)
    assert event_days(c, 0.5, "first").tolist() == [True, False, False, False, False, True]
    with pytest.raises(ValueError, match="mode"):
        event_study(c, pd.Series(1.0, c.index), event_mode="all")
    with pytest.raises(ValueError, match="close must be > 0"):
        forward_returns(pd.Series([1.0, 0.0]))


def test_grid_table_pivot():
    idx = bdays(40)
    close = pd.Series(np.linspace(100, 80, 40), idx)
    corr = pd.Series(np.linspace(0, 1, 40), idx)
    g = event_study(corr, close, [0.3, 0.6], [5, 10])
    t = grid_table(g)
    assert list(t.index) == [0.3, 0.6] and list(t.columns) == [5, 10]
    assert (t == 1.0).all().all()                         # a falling close: every event is down


# ------------------------------------------------------------------ real data
def test_real_data_correlation_june_2021(real_market):
    """README's verification: +0.894 on 2021-06-10 and +0.754 on 2021-06-21 (4 CSI 300 ETFs)."""
    for require_all in (False, True):
        res = index_flow_correlation(real_market, "000300.SH", start="2021-01-01", end="2021-06-30",
                                     require_all=require_all).set_index("date")
        assert res.loc["2021-06-10", "corr"] == pytest.approx(0.8941, abs=5e-4)
        assert res.loc["2021-06-21", "corr"] == pytest.approx(0.7541, abs=5e-4)
        assert res.loc["2021-06-10", "signal"] == 1.0
    # the report: above 0.5 from late May 2021 through 2021-06-21
    assert (res.loc["2021-05-31":"2021-06-21", "corr"] > 0.5).all()
    assert list(res.reset_index().columns) == ["date", "flow", "return", "corr", "signal"]


def test_real_data_end_is_respected(real_market):
    res = index_flow_correlation(real_market, "000300.SH", start="2016-01-01", end="2021-06-30")
    assert res["date"].min() >= pd.Timestamp("2016-01-01") and res["date"].max() == pd.Timestamp("2021-06-30")
    assert res["corr"].iloc[0] == res["corr"].iloc[0]       # warm-up from 2015 data: no NaN on day 1


def test_real_data_grid_2016_2021(real_market):
    """Regression pin of the README's real-data grid (default flow rules, every-day events)."""
    res = index_flow_correlation(real_market, "000300.SH", start="2016-01-01", end="2021-06-30").set_index("date")
    close = real_market.index_close("000300.SH").loc["2016-01-01":"2021-06-30"]
    g = event_study(res["corr"], close).set_index(["threshold", "horizon"])
    row = g.loc[(0.5, 20)]
    assert row["events"] == 113 and row["p_down"] == pytest.approx(76 / 113)
    assert row["mean_return"] == pytest.approx(-0.01553, abs=5e-5)
    assert row["p_down"] > row["base_p_down"] + 0.2            # the signal's edge over all days
    first = event_study(res["corr"], close, event_mode="first").set_index(["threshold", "horizon"])
    assert first.loc[(0.5, 20), "events"] == 18


def test_windows_far_below_the_series_maximum_keep_their_correlation():
    """A stretch of flows 1e-250 times the rest (squares would underflow): its windows are scaled alone."""
    rng = np.random.default_rng(9)
    idx = bdays(80)
    f, r = rng.normal(size=80), rng.normal(size=80)
    tiny = f.copy()
    tiny[:40] *= 1e-250
    got = rolling_correlation(pd.Series(tiny, idx), pd.Series(r, idx), 10).to_numpy()
    want = [pearsonr(f[i - 9: i + 1], r[i - 9: i + 1])[0] for i in range(9, 40)]
    np.testing.assert_allclose(got[9:40], want, rtol=0, atol=1e-12)


def test_top_signal_on_an_array_returns_an_array():
    c = np.array([np.nan, 0.5, 0.51, -0.9, 0.8])
    out = top_signal(c, 0.5)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [np.nan, 0.0, 1.0, 0.0, 1.0])
