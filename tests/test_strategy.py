"""Industry strategies on the one engine: benchmark, quintile backtest, M8 factors (stale regimes), M10
composite and picks re-derived with scipy, the NAV re-derived by a naive loop, the noise trap."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from xladdin.methods import strategy as st

IDX = pd.bdate_range("2024-01-01", periods=6)
CLOSE = pd.DataFrame({"A": [1, 1.1, 1.21, 1.1, 1.0, 1.2], "B": [1, 1, 1, 2, 2, 2.2]}, index=IDX, dtype=float)


def test_equal_weight_benchmark_skips_missing_industry():
    c = CLOSE.copy()
    c["C"] = [np.nan, np.nan, np.nan, 5.0, 5.0, 5.5]
    b = st.equal_weight_benchmark(c, IDX[[0, 3]], lag=1)
    assert b.weights.loc[IDX[0]].tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert b.weights.loc[IDX[3]].tolist() == pytest.approx([1 / 3] * 3)
    # traded on day 1 (A 1.1, B 1) and day 4: NAV on day 3 = 0.5*1.1/1.1 + 0.5*2/1
    assert b.nav.loc[IDX[3]] == pytest.approx(1.5) and b.trades["cost"].sum() == 0


def test_top_n_and_composite():
    s = pd.DataFrame({"a": [3.0, np.nan], "b": [1.0, 2.0], "c": [3.0, 1.0], "d": [0.0, np.nan]}, index=IDX[:2])
    w = st.top_n_weights(s, 2)  # xladdin.methods.ranking.top_n_weights
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
    r[2:] += 0.002 * signal[:-2]  # the signal of day t predicts day t+2: tradable with a one-day lag
    close = pd.DataFrame(np.cumprod(1 + r, axis=0), index=days, columns=[f"I{i}" for i in range(n)])
    factor = pd.DataFrame(signal, index=days, columns=close.columns)
    out = st.quintile_backtest(factor, close, groups=5, cost=0.0)
    ann = out["table"]["annual_return"]
    assert list(out["table"].index) == ["G1", "G2", "G3", "G4", "G5", "EW"]
    assert ann["G5"] > ann["G4"] > ann["G2"] > ann["G1"]
    ew = (1 + r[2:].mean(axis=1)).prod()  # equal weight traded daily from day 1's close
    assert out["nav"]["EW"].iloc[-1] == pytest.approx(ew)
    assert out["periods_without_ranking"] == 0 and out["lag"] == 1
    # with the default 0.1% cost the net returns are lower by about the traded value x 0.1%
    net = st.quintile_backtest(factor, close, groups=5)
    g5 = net["results"]["G5"]
    drag = np.prod(1 - g5.trades["cost"].to_numpy())
    assert net["nav"]["G5"].iloc[-1] == pytest.approx(out["nav"]["G5"].iloc[-1] * drag)
    assert net["table"].loc["G5", "annual_return_gross"] == pytest.approx(ann["G5"])


def test_quintile_noise_weeks_keep_holdings_whatever_the_noise_sign():
    """Weeks whose factor is rounding noise give no groups: no trade, and flipping the noise changes nothing."""
    rng = np.random.default_rng(4)
    days = pd.bdate_range("2021-01-04", periods=300)
    close = pd.DataFrame(np.cumprod(1 + rng.normal(0, 0.01, (300, 12)), axis=0), index=days,
                         columns=[f"CI{i:03d}" for i in range(12)])
    weeks = days[4::5]
    f = pd.DataFrame(rng.normal(size=(len(weeks), 12)), index=weeks, columns=close.columns)
    noisy = np.arange(len(weeks)) % 3 != 0
    noise = rng.choice([-1.1e-16, 1.1e-16, 0.0], size=(int(noisy.sum()), 12))
    f_plus, f_minus = f.copy(), f.copy()
    f_plus.loc[noisy] = noise
    f_minus.loc[noisy] = -noise
    a = st.quintile_backtest(f_plus, close)
    b = st.quintile_backtest(f_minus, close)
    pd.testing.assert_frame_equal(a["nav"], b["nav"])
    assert a["periods_without_ranking"] == int(noisy.sum())
    assert len(a["results"]["G5"].trades) == int((~noisy).sum())


def test_factor_correlation_identity():
    f = pd.DataFrame(np.random.default_rng(1).normal(size=(20, 8)), index=pd.bdate_range("2024-01-01", periods=20))
    c = st.factor_correlation({"x": f, "y": f, "z": -f})
    assert c.loc["x", "y"] == pytest.approx(1.0) and c.loc["x", "z"] == pytest.approx(-1.0)


def test_style_regime_is_not_carried_past_its_data():
    weeks = pd.date_range("2024-01-05", periods=12, freq="W-FRI")
    level = pd.DataFrame({"a": 0.1, "b": 0.3, "c": 0.6}, index=weeks)
    change = pd.DataFrame({"a": 0.02, "b": 0.0, "c": -0.02}, index=weeks)
    size = pd.Series(1.0, index=weeks)
    growth = pd.Series(1.0, index=weeks[:4])  # the growth/value data end in week 4
    sl, sc = st.style_adjusted_factors(level, change, size, growth, dates=weeks, regime_max_age=10)
    assert sc.iloc[:4].notna().all(axis=None)
    assert sc.iloc[5:].isna().all(axis=None)  # 7 days later still used (week 5), from 14 days on not
    assert sc.iloc[4].notna().all() and sl.notna().all(axis=None)
    w = st.style_holdings_weights(sl, sc, groups=3)
    assert w.iloc[-1].tolist() == pytest.approx([0.0, 0.0, 1.0])  # level group only, no stale half
    # without a regime at all: no decision (NaN row), not cash
    none = st.style_holdings_weights(sl * np.nan, sc * np.nan, groups=3)
    assert none.isna().all(axis=None)


def test_flow_rotation_on_sample_against_independent_derivations(sample_market, naive_units_nav):
    m = sample_market.subset("2019-01-01", "2021-12-31")
    res = st.flow_rotation(m, start="2019-06-01")
    rot = res["rotation"]
    assert res["factors_used"] == list(st.FACTOR_NAMES) and res["lag"] == 1 and res["cost"] == 0.001
    w = rot.strategy.weights
    assert (w.gt(0).sum(axis=1) == 6).all() and (w.sum(axis=1) - 1).abs().max() < 1e-12
    assert rot.table.index[-1] == "Full period"
    assert w.index.to_series().diff().dt.days.dropna().median() == 14
    # the picks: composite of the factors' percentile ranks (scipy), top 6, ties by code
    for d in w.index[::7]:
        parts = []
        for f in rot.factors.values():
            v = f.loc[d].dropna()
            if v.nunique() > 1:
                parts.append(pd.Series(rankdata(v.to_numpy(), method="average") / len(v), index=v.index))
        score = pd.concat(parts, axis=1).mean(axis=1)
        # equal scores summed in another order differ by 1e-16 (0.65 vs 0.65000000000000013 on 2020-04-02):
        # ties, ordered by code
        top = sorted(score.index, key=lambda c: (-round(score[c], 12), c))[:6]
        assert set(w.loc[d][w.loc[d] > 0].index) == set(top), d
    # the NAV: units traded a day after each decision at 0.1% of traded value
    close = m.industry_close()
    naive = naive_units_nav(rot.scores.pipe(lambda s: st.top_n_weights(s, 6)), close.loc[:rot.strategy.nav.index[-1]],
                                0.001, 1)
    np.testing.assert_allclose(rot.strategy.nav.to_numpy(), naive.reindex(rot.strategy.nav.index).to_numpy(),
                               rtol=1e-10)
    h = rot.holdings
    assert {"industry", "name", "trade_date", "flow_inflow", "style_advantage", "divergence_favoured", "abs_return",
            "excess_return"} <= set(h.columns)
    first = h[h["rebalance_date"] == h["rebalance_date"].min()]
    t0, t1 = first["trade_date"].iloc[0], first["period_end"].iloc[0]
    assert t0 == close.index[close.index.get_loc(first["rebalance_date"].iloc[0]) + 1]
    rets = close.loc[t1, first["industry"]].to_numpy() / close.loc[t0, first["industry"]].to_numpy() - 1
    np.testing.assert_allclose(first["abs_return"].to_numpy(), rets, rtol=1e-12)
    # summary: periods without a ranking per factor, gross vs net
    s = rot.summary
    assert set(s["periods_without_ranking"]) == set(st.FACTOR_NAMES) | {"composite"}
    assert s["annual_return_gross"] > s["annual_return_net"]
    assert rot.correlation.shape == (4, 4)


def test_flow_rotation_flags_are_not_set_by_noise():
    f = pd.DataFrame({"a": [1e-16, 0.02], "b": [-1e-16, -0.01], "c": [0.0, 1e-17]},
                     index=pd.to_datetime(["2024-01-05", "2024-01-12"]))
    flags = st.rotation_flags({"short_term_flow": f})["flow_inflow"]
    assert flags.iloc[0].tolist() == [0, 0, 0]
    assert flags.iloc[1].tolist() == [1, 0, 0]


def test_flow_rotation_without_side_backtests_against_a_naive_nav(sample_market, naive_units_nav):
    """backtests=False (the weekly workbook's path): no stand-alone M7/M8/M9 backtests, and its M10 NAV is
    the naive unit-by-unit NAV of its own holdings table (weights traded a session after each decision at
    0.1% of traded value), not a comparison with the full path."""
    m = sample_market.subset("2019-01-01", "2021-12-31")
    lean = st.flow_rotation(m, start="2019-06-01", backtests=False)
    assert lean["quintiles"] is None and lean["m8"] is None and lean["m9"] is None
    rot = lean["rotation"]
    weights = rot.holdings.pivot(index="rebalance_date", columns="industry", values="weight")
    assert (weights.sum(axis=1) - 1).abs().max() < 1e-12 and (weights.notna().sum(axis=1) == 6).all()
    close = m.industry_close()
    naive = naive_units_nav(weights, close.loc[:rot.strategy.nav.index[-1]], 0.001, 1)
    np.testing.assert_allclose(rot.strategy.nav.to_numpy(), naive.reindex(rot.strategy.nav.index).to_numpy(),
                               rtol=1e-10)


def test_a_factor_that_never_ranks_leaves_the_composite_to_the_others():
    """Partial rankings (M10): factor x is flat on every date (no spread), y ranks; the composite is y's
    percentile rank, the picks y's top 2, and x counts every date without a ranking."""
    days = pd.bdate_range("2024-01-01", periods=30)
    close = pd.DataFrame({c: np.linspace(1, 1.1 + 0.01 * i, len(days)) for i, c in enumerate("abcd")}, index=days)
    reb = days[[0, 10, 20]]
    flat = pd.DataFrame(0.3, index=reb, columns=list("abcd"))
    y = pd.DataFrame([[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 1.0, 3.0]], index=reb, columns=list("abcd"))
    res = st.rotation_backtest({"x": flat, "y": y}, close, reb, top=2, cost=0.0)
    # y's percentile ranks by hand: rank / 4
    assert res.scores.loc[reb[0]].tolist() == pytest.approx([1.0, 0.75, 0.5, 0.25])
    assert res.scores.loc[reb[2]].tolist() == pytest.approx([0.5, 1.0, 0.25, 0.75])
    held = res.strategy.weights.gt(0)
    assert [sorted(held.columns[held.loc[d]]) for d in reb] == [["a", "b"], ["c", "d"], ["b", "d"]]
    assert res.summary["periods_without_ranking"] == {"x": 3, "y": 0, "composite": 0}
    # no factor ranks anywhere: an error naming the counts
    with pytest.raises(ValueError, match=r"x 3/3, y 3/3"):
        st.rotation_backtest({"x": flat, "y": flat * 2}, close, reb, top=2)


def test_a_factor_past_its_own_inputs_gives_no_value():
    days = pd.bdate_range("2024-01-01", periods=30)
    close = pd.DataFrame({c: 1.0 + 0.01 * i for i, c in enumerate("abcd")}, index=days)
    reb = days[[0, 10, 20]]
    y = pd.DataFrame([[4.0, 3.0, 2.0, 1.0]] * 3, index=reb, columns=list("abcd"))
    z = pd.DataFrame([[1.0, 2.0, 3.0, 4.0]] * 3, index=reb, columns=list("abcd"))
    res = st.rotation_backtest({"y": y, "z": z}, close, reb, top=2, cost=0.0, factor_ends={"z": days[10]})
    assert res.summary["periods_without_ranking"] == {"y": 0, "z": 1, "composite": 0}
    assert res.scores.loc[reb[2]].tolist() == pytest.approx([1.0, 0.75, 0.5, 0.25])  # y alone after z's end
    assert res.scores.loc[reb[1]].tolist() == pytest.approx([0.625] * 4)


def test_quintiles_without_any_ranking_give_counts_not_a_failure():
    days = pd.bdate_range("2024-01-01", periods=20)
    close = pd.DataFrame({c: 1.0 for c in "abcdefghij"}, index=days)
    flat = pd.DataFrame(1e-17, index=days[::5], columns=list("abcdefghij"))
    q = st.quintile_backtest(flat, close)
    assert q["table"] is None and q["nav"] is None
    assert q["periods"] == 4 and q["periods_without_ranking"] == 4


def _weights_until(market, last: str):
    """``market`` with index_weights snapshots only up to ``last``."""
    from xladdin.data.market import Market
    w = market.tables["index_weights"]
    tables = dict(market.tables) | {"index_weights": w[w["date"] <= pd.Timestamp(last)].reset_index(drop=True)}
    return Market(tables, source=market.source)


def test_flow_rotation_stops_where_the_index_weights_stop_being_current(sample_market):
    """The sample's weights cut after the 2021-03-31 snapshot: current to 2021-05-31 (two months on), so the
    rotation, its factors and its NAV end on 2021-05-31, the last trading day on or before it; the result is
    the one of a run asked to end there (no later week computed on the March weights)."""
    m = _weights_until(sample_market.subset("2019-01-01", "2021-12-31"), "2021-03-31")
    res = st.flow_rotation(m, start="2020-01-01", backtests=False)
    eff = res["effective_end"]
    assert eff.end == pd.Timestamp("2021-05-31") and eff.limit.text() == "index_weights end 2021-03-31"
    assert res["end"] == pd.Timestamp("2021-05-31")
    rot = res["rotation"]
    assert rot.strategy.nav.index[-1] == pd.Timestamp("2021-05-31")
    assert rot.scores.index[-1] <= pd.Timestamp("2021-05-31") and res["weekly_level"].index[-1] <= res["end"]
    assert any("index_weights end 2021-03-31, current to 2021-05-31" in n for n in res["notes"])
    asked = st.flow_rotation(m, start="2020-01-01", end="2021-05-31", backtests=False)["rotation"]
    pd.testing.assert_series_equal(rot.strategy.nav, asked.strategy.nav)
    with pytest.raises(ValueError, match="nothing to compute from 2021-06-01.*index_weights end 2021-03-31"):
        st.flow_rotation(m, start="2021-06-01")
