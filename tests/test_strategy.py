"""Strategy engine (hand-computed), quintile backtest, M8 factors, M10 composite, sample run."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin import strategy as st

IDX = pd.bdate_range("2024-01-01", periods=6)
CLOSE = pd.DataFrame({"A": [1, 1.1, 1.21, 1.1, 1.0, 1.2], "B": [1, 1, 1, 2, 2, 2.2]}, index=IDX, dtype=float)


def test_engine_hand_computed_with_cost():
    w = pd.DataFrame({"A": [0.5, 1.0], "B": [0.5, 0.0]}, index=IDX[[0, 3]])
    r = st.backtest_weights(w, CLOSE, cost=0.01)
    drift_a = 0.5 * 1.1 / (0.5 * 1.1 + 0.5 * 2)
    to2 = (1 - drift_a) + (1 - drift_a)
    assert r.turnover.tolist() == pytest.approx([1.0, to2])
    nav3 = 0.99 * (0.5 * 1.1 + 0.5 * 2)
    expected = [1.0, 0.99 * 1.05, 0.99 * (0.5 * 1.21 + 0.5), nav3,
                nav3 * (1 - 0.01 * to2) * 1.0 / 1.1, nav3 * (1 - 0.01 * to2) * 1.2 / 1.1]
    assert r.nav.to_numpy() == pytest.approx(expected)
    assert r.period_returns.loc[IDX[0], "A"] == pytest.approx(0.1)
    assert np.isnan(r.period_returns.loc[IDX[3], "B"])


def test_engine_errors():
    with pytest.raises(ValueError, match="sum to"):
        st.backtest_weights(pd.DataFrame({"A": [0.5]}, index=IDX[:1]), CLOSE)
    with pytest.raises(ValueError, match="not a trading date"):
        st.backtest_weights(pd.DataFrame({"A": [1.0]}, index=pd.to_datetime(["2024-01-06"])), CLOSE)
    c = CLOSE.copy()
    c.loc[IDX[0], "B"] = np.nan
    with pytest.raises(ValueError, match="no close"):
        st.backtest_weights(pd.DataFrame({"B": [1.0]}, index=IDX[:1]), c)


def test_equal_weight_benchmark_skips_missing_industry():
    c = CLOSE.copy()
    c["C"] = [np.nan, np.nan, np.nan, 5.0, 5.0, 5.5]
    b = st.equal_weight_benchmark(c, IDX[[0, 3]])
    assert b.weights.loc[IDX[0]].tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert b.weights.loc[IDX[3]].tolist() == pytest.approx([1 / 3] * 3)


def test_top_n_and_composite():
    s = pd.DataFrame({"a": [3.0, np.nan], "b": [1.0, 2.0], "c": [3.0, 1.0], "d": [0.0, np.nan]}, index=IDX[:2])
    w = st.top_n_weights(s, 2)
    assert w.iloc[0].tolist() == [0.5, 0.0, 0.5, 0.0]  # tie a/c both in
    w3 = st.top_n_weights(s, 3)
    assert w3.iloc[1].tolist() == [0.0, 0.5, 0.5, 0.0]  # only two scores known
    f1 = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]}, index=IDX[:1])
    f2 = pd.DataFrame({"a": [3.0], "b": [np.nan], "c": [1.0]}, index=IDX[:1])
    comp = st.composite_scores({"x": f1, "y": f2})
    # pct ranks: x: a 1/3, b 2/3, c 1 ; y: a 1, c 1/2 ; b only has x
    assert comp.iloc[0].tolist() == pytest.approx([(1 / 3 + 1) / 2, 2 / 3, (1 + 0.5) / 2])
    comp_w = st.composite_scores({"x": f1, "y": f2}, {"x": 3.0, "y": 1.0})
    assert comp_w.loc[IDX[0], "a"] == pytest.approx((3 / 3 + 1) / 4)
    with pytest.raises(ValueError, match="unknown factor"):
        st.composite_scores({"x": f1}, {"z": 1.0})


def test_style_adjusted_factors_flip_with_regime():
    dates = pd.to_datetime(["2024-01-31", "2024-02-29"])
    level = pd.DataFrame({"a": [0.1, 0.1], "b": [0.3, 0.3], "c": [0.6, 0.6]}, index=dates)
    change = pd.DataFrame({"a": [0.02, 0.02], "b": [0.0, 0.0], "c": [-0.02, -0.02]}, index=dates)
    size = pd.Series([1, 0], index=dates)
    growth = pd.Series([0, 1], index=dates)
    sl, sc = st.style_adjusted_factors(level, change, size, growth)
    assert sl.iloc[0].tolist() == [0.1, 0.3, 0.6] and sl.iloc[1].tolist() == [-0.1, -0.3, -0.6]
    assert sc.iloc[0].tolist() == [-0.02, 0.0, 0.02]
    w = st.style_holdings_weights(sl, sc, groups=3)
    # date 1: large-cap -> top level c; value -> lowest change c: c gets both halves
    assert w.iloc[0].tolist() == pytest.approx([0.0, 0.0, 1.0])
    # date 2: small-cap -> lowest level a; growth -> top change a
    assert w.iloc[1].tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_quintile_backtest_monotone_on_planted_signal():
    rng = np.random.default_rng(0)
    days = pd.bdate_range("2020-01-01", periods=400)
    n = 10
    r = rng.normal(0, 0.01, (400, n))
    signal = rng.normal(size=(400, n))
    r[1:] += 0.002 * signal[:-1]  # yesterday's signal predicts today's return
    close = pd.DataFrame(np.cumprod(1 + r, axis=0), index=days, columns=[f"I{i}" for i in range(n)])
    factor = pd.DataFrame(signal, index=days, columns=close.columns)
    out = st.quintile_backtest(factor, close, groups=5)
    ann = out["table"]["annual_return"]
    assert list(out["table"].index) == ["G1", "G2", "G3", "G4", "G5", "EW"]
    assert ann["G5"] > ann["G4"] > ann["G2"] > ann["G1"]
    ew = (1 + r[1:].mean(axis=1)).prod()  # daily-rebalanced equal weight
    assert out["nav"]["EW"].iloc[-1] == pytest.approx(ew)


def test_factor_correlation_identity():
    f = pd.DataFrame(np.random.default_rng(1).normal(size=(20, 8)), index=pd.bdate_range("2024-01-01", periods=20))
    c = st.factor_correlation({"x": f, "y": f, "z": -f})
    assert c.loc["x", "y"] == pytest.approx(1.0) and c.loc["x", "z"] == pytest.approx(-1.0)


def test_flow_rotation_on_sample(sample_market):
    res = st.flow_rotation(sample_market.subset("2019-01-01", "2021-12-31"), start="2019-06-01")
    rot = res["rotation"]
    assert res["factors_used"] == list(st.FACTOR_NAMES)
    assert (rot.strategy.weights.gt(0).sum(axis=1) == 6).all()
    assert (rot.strategy.weights.sum(axis=1) - 1).abs().max() < 1e-12
    assert rot.table.index[-1] == "Full period"
    gaps = rot.strategy.weights.index.to_series().diff().dt.days.dropna()
    assert gaps.median() == 14
    h = rot.holdings
    assert {"industry", "name", "flow_inflow", "style_advantage", "divergence_favoured", "abs_return",
            "excess_return"} <= set(h.columns)
    # the holdings table's returns reproduce the NAV: period return = mean of the six picks
    first = h[h["rebalance_date"] == h["rebalance_date"].min()]
    nav = rot.strategy.nav
    end = first["period_end"].iloc[0]
    assert nav.loc[end] / nav.iloc[0] - 1 == pytest.approx(first["abs_return"].mean())
    assert rot.correlation.shape == (4, 4)


def test_flow_rotation_without_side_backtests_keeps_m10(sample_market):
    """backtests=False (the weekly workbook) drops only the stand-alone M7/M8/M9 backtests."""
    m = sample_market.subset("2019-01-01", "2021-12-31")
    full = st.flow_rotation(m, start="2019-06-01")
    lean = st.flow_rotation(m, start="2019-06-01", backtests=False)
    assert full["quintiles"] is not None and full["m8"] is not None and full["m9"] is not None
    assert lean["quintiles"] is None and lean["m8"] is None and lean["m9"] is None
    pd.testing.assert_frame_equal(lean["rotation"].table, full["rotation"].table, check_exact=True)
    pd.testing.assert_frame_equal(lean["rotation"].holdings, full["rotation"].holdings, check_exact=True)
    pd.testing.assert_series_equal(lean["rotation"].strategy.nav, full["rotation"].strategy.nav, check_exact=True)
    pd.testing.assert_frame_equal(lean["divergence"]["divergence"], full["divergence"]["divergence"], check_exact=True)
    assert lean["factors_used"] == full["factors_used"] and lean["notes"] == full["notes"]
