"""M11: northbound ETF rotation (factors, composite, rank IC, groups, backtest, ranking table)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from xladdin.data.market import Market
from xladdin.methods.backtest import backtest_weights, returns_from_prices
from xladdin.methods.northbound import (
    adjusted_nav,
    factor_marks,
    forward_returns,
    group_returns,
    holdings_staleness,
    ic_summary,
    northbound_etf_factors,
    northbound_rotation,
    rank_ic,
    ranking_table,
    select_universe,
)
from xladdin.methods.ranking import composite_scores, top_n_weights


def composite_score(factors):
    """The M11 composite: every factor's percentile rank, an ETF missing one that others have is not ranked."""
    return composite_scores(factors, require_all=True)


# ------------------------------------------------------------------------------------------ builders
# the market of the rotation tests is conftest.rotation_market (fixture make_rotation_market): the CLI tests use it too
def tiny_market() -> Market:
    """2 ETFs on 2 indices, 3 stocks, 3 month ends: every factor computable by hand."""
    days = pd.to_datetime(["2023-01-30", "2023-01-31", "2023-02-27", "2023-02-28", "2023-03-30", "2023-03-31"])
    info = pd.DataFrame({"etf": ["A.SH", "B.SH"], "name": ["Alpha", "Beta"], "tracked_index": ["I1", "I2"],
                         "category": ["broad", "sector_theme"], "list_date": pd.NaT})
    w = pd.DataFrame([
        ("2023-01-31", "I1", "S1", 0.6), ("2023-01-31", "I1", "S2", 0.4),
        ("2023-01-31", "I2", "S2", 0.5), ("2023-01-31", "I2", "S3", 0.5),
        # I1 re-weighted at the end of February; I2 keeps its January weights (carried forward)
        ("2023-02-28", "I1", "S1", 0.2), ("2023-02-28", "I1", "S2", 0.8),
    ], columns=["date", "index", "stock", "weight"])
    w["date"] = pd.to_datetime(w["date"])
    nb = pd.DataFrame([
        ("2023-01-31", "S1", 0.10), ("2023-01-31", "S2", 0.02), ("2023-01-31", "S3", 0.05),
        ("2023-02-28", "S1", 0.12), ("2023-02-28", "S2", 0.01),  # S3 absent -> 0
        ("2023-03-31", "S1", 0.11), ("2023-03-31", "S2", 0.03), ("2023-03-31", "S3", 0.04),
    ], columns=["date", "stock", "float_ratio"])
    nb["date"] = pd.to_datetime(nb["date"])
    nav = {"A.SH": [1.0, 1.0, 1.1, 1.2, 1.2, 1.3], "B.SH": [2.0, 2.0, 1.1, 1.0, 1.05, 1.1]}
    split = {"A.SH": [1.0] * 6, "B.SH": [1.0, 1.0, 2.0, 1.0, 1.0, 1.0]}  # B splits 1:2 on 2023-02-27
    rows = [(d, e, 1e8, nav[e][i], nav[e][i], split[e][i]) for e in nav for i, d in enumerate(days)]
    ed = pd.DataFrame(rows, columns=["date", "etf", "shares", "nav", "close", "split_ratio"]).sort_values(["date", "etf"])
    return Market({"etf_info": info, "etf_daily": ed.reset_index(drop=True), "index_weights": w,
                   "northbound_holdings": nb}, source="tiny")


# ------------------------------------------------------------------------------------------ factors
def test_factors_by_hand():
    m = tiny_market()
    f = northbound_etf_factors(m, ["A.SH", "B.SH"])
    me = pd.to_datetime(["2023-01-31", "2023-02-28", "2023-03-31"])
    assert list(f["preference"].index) == list(me)
    p, c, mo = f["preference"], f["change"], f["momentum"]
    # January: A = .6*.10+.4*.02, B = .5*.02+.5*.05
    assert p.loc["2023-01-31", "A.SH"] == pytest.approx(0.068)
    assert p.loc["2023-01-31", "B.SH"] == pytest.approx(0.035)
    # February: A uses the new weights .2/.8; B the carried January weights; S3 has no row -> 0
    assert p.loc["2023-02-28", "A.SH"] == pytest.approx(0.2 * 0.12 + 0.8 * 0.01)
    assert p.loc["2023-02-28", "B.SH"] == pytest.approx(0.5 * 0.01 + 0.5 * 0.0)
    # change uses the weights at t on both terms
    assert c.loc["2023-02-28", "A.SH"] == pytest.approx(0.2 * 0.02 + 0.8 * -0.01)
    assert c.loc["2023-02-28", "B.SH"] == pytest.approx(0.5 * -0.01 + 0.5 * -0.05)
    assert c.loc["2023-03-31", "B.SH"] == pytest.approx(0.5 * 0.02 + 0.5 * 0.04)
    assert np.isnan(c.loc["2023-01-31"]).all()           # no previous month
    # momentum: A 1.2/1.0-1; B across the split: adjusted 1.0*2 / 2.0 - 1 = 0
    assert mo.loc["2023-02-28", "A.SH"] == pytest.approx(0.2)
    assert mo.loc["2023-02-28", "B.SH"] == pytest.approx(1.0 * 2.0 / 2.0 - 1)
    assert mo.loc["2023-03-31", "B.SH"] == pytest.approx(1.1 / 1.0 - 1)
    assert f["coverage"].loc["2023-02-28", "B.SH"] == pytest.approx(0.5)  # S3 missing on the holdings date


def test_adjusted_nav_split_convention():
    a = adjusted_nav(tiny_market(), ["B.SH"])["B.SH"]
    r = a.pct_change()
    # unit return on the split day = nav_t * split_t / nav_t-1 - 1
    assert r.loc["2023-02-27"] == pytest.approx(1.1 * 2.0 / 2.0 - 1)
    with pytest.raises(ValueError, match="price"):
        adjusted_nav(tiny_market(), price="mid")


def test_missing_nav_is_not_replaced_by_close():
    m = tiny_market()
    ed = m.table("etf_daily").copy()
    ed.loc[(ed.etf == "A.SH") & (ed.date == "2023-02-28"), "nav"] = np.nan
    m2 = Market({**m.tables, "etf_daily": ed})
    f = northbound_etf_factors(m2, ["A.SH", "B.SH"])
    assert np.isnan(f["momentum"].loc["2023-02-28", "A.SH"])
    assert np.isnan(f["momentum"].loc["2023-03-31", "A.SH"])
    close = northbound_etf_factors(m2, ["A.SH", "B.SH"], price="close")
    assert close["momentum"].loc["2023-02-28", "A.SH"] == pytest.approx(0.2)


# ------------------------------------------------------------------------------------------ staleness
def test_quarterly_holdings_are_carried_and_flagged(make_rotation_market):
    m = make_rotation_market()
    f = northbound_etf_factors(m, ["510000.SH", "510002.SH", "510003.SH"])
    st = f["staleness"]
    assert st.loc["2024-07-31", "stale"] == False  # noqa: E712 (numpy bool)
    assert st.loc["2024-08-30", "holdings_date"] == pd.Timestamp("2024-08-16")
    assert st.loc["2024-08-30", "stale"] and st.loc["2024-10-31", "stale"] and st.loc["2024-11-29", "stale"]
    assert not st.loc["2024-12-31", "stale"]
    assert not st.loc["2024-10-31", "change_valid"] and st.loc["2024-12-31", "change_valid"]
    # preference on carried holdings exists; change is NaN where no newer holdings
    assert f["preference"].loc["2024-11-29"].notna().all()
    assert f["change"].loc["2024-11-29"].isna().all()
    assert f["change"].loc["2024-12-31"].notna().all()
    # December's change spans the quarter 2024-09-30 -> 2024-12-31
    nb = m.table("northbound_holdings")
    fr = nb.pivot(index="date", columns="stock", values="float_ratio")
    w = m.index_weights("IDX2.SH")
    w = w[w.date == w.date[w.date <= "2024-12-31"].max()].set_index("stock")["weight"]
    want = (w * (fr.loc["2024-12-31", w.index] - fr.loc["2024-09-30", w.index])).sum()
    assert f["change"].loc["2024-12-31", "510002.SH"] == pytest.approx(want)
    zero = northbound_etf_factors(m, ["510000.SH", "510002.SH"], stale_change="zero")
    assert (zero["change"].loc["2024-11-29"] == 0).all()


def test_holdings_staleness_by_hand():
    hd = pd.to_datetime(["2024-08-15", "2024-08-16", "2024-09-30"])
    me = pd.to_datetime(["2024-07-31", "2024-08-30", "2024-09-30", "2024-10-31"])
    st = holdings_staleness(hd, me, max_age_days=10)
    assert st["holdings_date"].isna().iloc[0] and st["stale"].iloc[0]
    assert st["age_days"].tolist()[1:] == [14, 0, 31]
    assert st["stale"].tolist() == [True, True, False, True]
    assert st["change_valid"].tolist() == [False, False, True, False]


def test_rotation_never_fails_on_quarterly_holdings(make_rotation_market):
    r = northbound_rotation(make_rotation_market(quarterly_after="2024-08-16"))
    assert r.summary["stale_months"] == 5
    assert any("stale northbound holdings" in n for n in r.notes)
    # the composite still exists in stale months (preference + momentum)
    assert r.composite.loc["2024-11-29"].notna().sum() == len(r.universe)
    assert r.nav.index[-1] == pd.Timestamp("2025-03-31")


# ------------------------------------------------------------------------------------------ composite / IC
def test_composite_by_hand_and_stale_factor_dropped():
    idx = pd.to_datetime(["2020-01-31", "2020-02-28"])
    p = pd.DataFrame({"A": [3.0, 1.0], "B": [2.0, 2.0], "C": [1.0, 3.0], "D": [np.nan, 4.0]}, index=idx)
    c = pd.DataFrame({"A": [1.0, np.nan], "B": [2.0, np.nan], "C": [3.0, np.nan], "D": [4.0, np.nan]}, index=idx)
    m = pd.DataFrame({"A": [2.0, 4.0], "B": [2.0, 3.0], "C": [1.0, 2.0], "D": [5.0, 1.0]}, index=idx)
    s = composite_score({"preference": p, "change": c, "momentum": m})
    # Jan: D lacks preference (others have it) -> NaN; A: p 3/3, c 1/4, m rank(2 of [2,2,1,5]) = 2.5/4
    assert np.isnan(s.loc["2020-01-31", "D"])
    assert s.loc["2020-01-31", "A"] == pytest.approx((1.0 + 0.25 + 2.5 / 4) / 3)
    assert s.loc["2020-01-31", "C"] == pytest.approx((1 / 3 + 0.75 + 0.25) / 3)
    # Feb: change missing for everyone -> mean of two ranks
    assert s.loc["2020-02-28", "A"] == pytest.approx((0.25 + 1.0) / 2)
    assert s.loc["2020-02-28", "D"] == pytest.approx((1.0 + 0.25) / 2)


def test_rank_ic_matches_scipy_per_date():
    rng = np.random.default_rng(3)
    idx = pd.date_range("2018-01-31", periods=40, freq="ME")
    cols = [f"E{i:02d}" for i in range(15)]
    s = pd.DataFrame(rng.normal(size=(40, 15)), index=idx, columns=cols)
    r = pd.DataFrame(rng.normal(size=(40, 15)) + 0.3 * s.to_numpy(), index=idx, columns=cols)
    s.iloc[:, 3] = s.iloc[:, 3].round(0)                # ties
    r = r.mask(rng.random((40, 15)) < 0.15)              # missing returns
    s = s.mask(rng.random((40, 15)) < 0.1)
    s.iloc[5, :12] = np.nan                              # too few observations
    ic = rank_ic(s, r, min_obs=4)
    for d in idx:
        ok = s.loc[d].notna() & r.loc[d].notna()
        if ok.sum() < 4:
            assert np.isnan(ic.loc[d])
            continue
        want = spearmanr(s.loc[d][ok], r.loc[d][ok]).statistic
        assert ic.loc[d] == pytest.approx(want, abs=1e-12)
    summ = ic_summary(ic)
    x = ic.dropna()
    assert summ["ic_mean"] == pytest.approx(x.mean())
    assert summ["ic_ir"] == pytest.approx(x.mean() / x.std(ddof=1))
    assert summ["months"] == len(x)


def test_forward_returns_and_group_returns_by_hand():
    days = pd.to_datetime(["2020-01-31", "2020-02-03", "2020-02-28", "2020-03-02", "2020-03-31", "2020-04-01"])
    prices = pd.DataFrame({"A": [1.0, 1.05, 1.1, 1.2, 1.21, 1.3], "B": [1.0, 0.95, 0.9, 0.8, 0.9, 1.0]}, index=days)
    sig = days[[0, 2, 4]]
    lag0 = forward_returns(prices, sig, lag=0)
    assert lag0.loc["2020-01-31", "A"] == pytest.approx(0.1) and np.isnan(lag0.iloc[-1]).all()
    # lag 1: bought at the next day's close (02-03), sold when the next signal trades (03-02)
    lag1 = forward_returns(prices, sig, lag=1)
    assert lag1.loc["2020-01-31", "A"] == pytest.approx(1.2 / 1.05 - 1)
    assert lag1.loc["2020-02-28", "B"] == pytest.approx(1.0 / 0.8 - 1)
    assert forward_returns(prices, sig).equals(lag1)  # lag 1 by default
    with pytest.raises(ValueError, match="not a trading date"):
        forward_returns(prices, pd.to_datetime(["2020-02-01"]))
    idx = sig
    scores = pd.DataFrame({"A": [1, 2, 3, 4, 5, 6]}, dtype=float).T
    scores.columns = list("abcdef")
    scores.index = idx[:1]
    rets = pd.DataFrame([[0.01, 0.02, 0.03, 0.04, 0.05, 0.06]], index=idx[:1], columns=list("abcdef"))
    g = group_returns(scores, rets, groups=3)
    assert g.loc[idx[0], 1] == pytest.approx(0.015) and g.loc[idx[0], 3] == pytest.approx(0.055)
    assert g.loc[idx[0], "long_short"] == pytest.approx(0.04)
    # a composite with no spread (rounding noise) gives no groups
    flat = scores * 0 + np.array([1e-17, -1e-17, 0, 0, 2e-17, 0])
    assert group_returns(flat, rets, groups=3)[[1, 2, 3]].isna().all(axis=None)


# ------------------------------------------------------------------------------------------ backtest
def test_top_n_weights_ties_by_code():
    s = pd.DataFrame([[1.0, 2.0, 2.0, 0.5], [np.nan] * 4], columns=["D", "C", "B", "A"],
                     index=pd.to_datetime(["2020-01-31", "2020-02-28"]))
    w = top_n_weights(s, 2)
    assert w.iloc[0].to_dict() == {"D": 0.0, "C": 0.5, "B": 0.5, "A": 0.0}
    w1 = top_n_weights(s, 1)
    assert w1.iloc[0]["B"] == 1.0                            # B before C on a tie
    assert w.iloc[1].isna().all()


def test_month_start_backtest_by_hand_lag_zero_and_one():
    """The M11 trades on the one engine: month-end decisions, lag 0 (signal close) and 1 (next session)."""
    d = pd.to_datetime(["2020-01-30", "2020-01-31", "2020-02-03", "2020-02-28", "2020-03-02", "2020-03-03"])
    prices = pd.DataFrame({"A": [1.0, 1.0, 1.1, 1.21, 1.21, 1.21], "B": [2.0, 2.0, 2.0, 1.0, 1.5, 1.5]}, index=d)
    w = pd.DataFrame({"A": [0.5, 0.0], "B": [0.5, 1.0]}, index=pd.to_datetime(["2020-01-31", "2020-02-28"]))
    out = backtest_weights(w, returns_from_prices(prices), cost=0.01, lag=0)
    nav, to = out.nav, out.turnover
    c0 = 1 - 0.01 * 1.0                                      # initial build from cash
    assert nav.loc["2020-01-30"] == 1.0 and nav.loc["2020-01-31"] == pytest.approx(c0)
    assert nav.loc["2020-02-03"] == pytest.approx(c0 * (0.5 * 1.1 + 0.5 * 1.0))
    v = 0.5 * 1.21 + 0.5 * 0.5                               # value at 02-28 before trading
    drift_a = 0.5 * 1.21 / v
    assert to.loc["2020-02-28"] == pytest.approx(2 * drift_a)  # sell all A, buy the same amount of B
    assert nav.loc["2020-02-28"] == pytest.approx(c0 * v * (1 - 0.01 * 2 * drift_a))
    assert nav.loc["2020-03-02"] == pytest.approx(c0 * v * (1 - 0.01 * 2 * drift_a) * 1.5)
    assert to.loc["2020-01-31"] == 1.0
    # lag 1: bought 50/50 at 02-03 (A 1.1, B 2.0), switched at 03-02 (A 1.21, B 1.5)
    out1 = backtest_weights(w, returns_from_prices(prices), cost=0.01, lag=1)
    assert out1.nav.index[0] == pd.Timestamp("2020-01-31") and out1.nav.iloc[0] == 1.0
    v1 = 0.5 * 1.21 / 1.1 + 0.5 * 1.5 / 2.0
    a1 = 0.5 * 1.21 / 1.1 / v1
    assert out1.turnover.loc["2020-03-02"] == pytest.approx(2 * a1)
    assert out1.nav.loc["2020-03-02"] == pytest.approx(c0 * v1 * (1 - 0.01 * 2 * a1))


def test_no_decision_row_keeps_holdings():
    d = pd.to_datetime(["2020-01-30", "2020-01-31", "2020-02-28", "2020-03-31", "2020-04-01"])
    prices = pd.DataFrame({"A": [1.0, 1.0, 2.0, 2.0, 3.0], "B": [1.0, 1.0, 1.0, 1.0, 1.0]}, index=d)
    w = pd.DataFrame({"A": [0.5, np.nan], "B": [0.5, np.nan]}, index=d[1:3])
    out = backtest_weights(w, returns_from_prices(prices), cost=0.0, lag=0)
    assert len(out.trades) == 1
    assert out.nav.iloc[-1] == pytest.approx(0.5 * 3.0 + 0.5 * 1.0)


# ------------------------------------------------------------------------------------------ ranking
def test_factor_marks_terciles():
    v = pd.Series([0.1, 0.5, 0.3, np.nan, 0.9, 0.2, 0.7], index=list("abcdefg"))
    marks = factor_marks(v)
    # 6 values: f(0.2), a(0.1) bottom two -> O; c, b middle -> ↑; g, e top -> ↑↑
    assert marks.to_dict() == {"a": "O", "b": "↑", "c": "↑", "d": "", "e": "↑↑", "f": "O", "g": "↑↑"}


def test_ranking_table_layout(make_rotation_market):
    r = northbound_rotation(make_rotation_market())
    t = r.ranking
    assert list(t.columns[:5]) == ["code", "name", "preference", "change", "momentum"]
    assert t["pick"].sum() == 3
    assert t["rank"].iloc[:3].tolist() == [1, 2, 3]
    assert set(t["preference"]) <= {"↑↑", "↑", "O", ""}
    assert t["composite"].is_monotonic_decreasing
    last = r.composite.index[-1]
    comp = r.composite.loc[last].dropna()
    tracked = make_rotation_market().etf_info["tracked_index"]
    want, seen = [], set()
    for c in sorted(comp.index, key=lambda c: (-comp[c], c)):  # best first, one per tracked index
        if tracked[c] not in seen and len(want) < 3:
            want.append(c)
            seen.add(tracked[c])
    assert set(t.loc[t.pick, "code"]) == set(want)
    # the ranking of an earlier date, explicitly
    t2 = ranking_table(r.factors, r.composite, pd.Series({c: c for c in r.universe}), date="2023-06-30")
    assert t2["pick"].sum() == 3


def test_rotation_nav_turnover_and_summary_against_independent_derivations(make_rotation_market, naive_units_nav):
    m = make_rotation_market(quarterly_after=None)
    r = northbound_rotation(m, groups=3)
    prices = adjusted_nav(m, r.universe)
    naive = naive_units_nav(r.weights, prices, 0.003, 1)
    np.testing.assert_allclose(r.nav.to_numpy(), naive.reindex(r.nav.index).to_numpy(), rtol=1e-10)
    # turnover: Σ|w_new − w_drifted| from the weights and the prices, by hand
    px = prices.ffill()
    tds = r.backtest.trades["trade_date"]
    hand = [1.0]
    for k in range(1, len(tds)):
        w0 = r.weights.iloc[k - 1].fillna(0.0)
        grow = px.loc[tds.iloc[k]] / px.loc[tds.iloc[k - 1]]
        drift = (w0 * grow).where(w0 > 0, 0.0)
        hand.append(float((r.weights.iloc[k].fillna(0.0) - drift / drift.sum()).abs().sum()))
    np.testing.assert_allclose(r.turnover.to_numpy(), hand, rtol=1e-10)
    assert r.summary["monthly_turnover"] == pytest.approx(np.mean(hand[1:]))
    n = len(r.nav) - 1
    assert r.summary["turnover_annual"] == pytest.approx(sum(hand) * 252 / n)
    assert r.summary["annual_return_net"] == pytest.approx((naive.iloc[-1] / naive.iloc[0]) ** (252 / n) - 1)
    # gross: the same units without costs
    gross = naive_units_nav(r.weights, prices, 0.0, 1)
    assert r.summary["annual_return_gross"] == pytest.approx((gross.iloc[-1] / gross.iloc[0]) ** (252 / n) - 1)
    # benchmark: equal weight of the ETFs priced at each month end, same lag, no cost
    bw = prices.reindex(r.weights.index).notna().astype(float)
    bench = naive_units_nav(bw.div(bw.sum(axis=1), axis=0), prices, 0.0, 1)
    np.testing.assert_allclose(r.benchmark_nav.to_numpy(), bench.reindex(r.nav.index).to_numpy(), rtol=1e-10)
    rel = (naive.iloc[-1] / bench.iloc[-1]) ** (252 / n) - 1
    assert r.summary["excess_net"] == pytest.approx(rel)
    assert r.summary["lag_days"] == 1 and r.summary["cost"] == 0.003
    assert r.summary["stale_months"] == 0
    assert list(r.group_returns.columns) == [1, 2, 3, "long_short"]


def test_at_most_one_pick_per_tracked_index(make_rotation_market):
    m = make_rotation_market(quarterly_after=None)  # 510000/510001 both track IDX1.SH
    tracked = m.etf_info["tracked_index"]
    on = northbound_rotation(m, etf_top_n=3)
    off = northbound_rotation(m, etf_top_n=3, etf_one_per_index=False)
    for res in (on, off):
        assert ((res.weights > 0).sum(axis=1) == 3).all()
    doubled = sum(tracked.reindex(row[row > 0].index).duplicated().any() for _, row in off.weights.iterrows())
    assert doubled > 0 and off.summary["same_index_months"] == doubled
    assert on.summary["same_index_months"] == 0
    # where the unconstrained picks double an index, the constrained ones take the next-ranked other index
    for d, row in off.weights.iterrows():
        picks = row[row > 0].index
        if tracked.reindex(picks).duplicated().any():
            comp = on.composite.loc[d].dropna()
            order = sorted(comp.index, key=lambda c: (-comp[c], c))
            want, seen = [], set()
            for c in order:
                if tracked[c] not in seen:
                    want.append(c)
                    seen.add(tracked[c])
                if len(want) == 3:
                    break
            assert set(on.weights.loc[d][on.weights.loc[d] > 0].index) == set(want)
            break
    t = on.ranking
    assert not tracked.reindex(t.loc[t["pick"], "code"]).duplicated().any()


def test_universe_selection(make_rotation_market):
    m = make_rotation_market()
    codes, notes = select_universe(m)
    assert "510005.SH" not in codes                          # category "other"
    assert codes == ["510000.SH", "510001.SH", "510002.SH", "510003.SH", "510004.SH"]
    codes, notes = select_universe(m, ["510003.SH", " 510001.SH", "", "510003.SH"])
    assert codes == ["510001.SH", "510003.SH"] and "duplicate" in notes[0]
    with pytest.raises(ValueError, match="not in etf_info: 999999.SH"):
        select_universe(m, ["510001.SH", "999999.SH"])
    info = m.table("etf_info").copy()
    info.loc[info.etf == "510001.SH", "tracked_index"] = "NOPE.SH"
    m2 = Market({**m.tables, "etf_info": info})
    with pytest.raises(ValueError, match="no index_weights .*510001.SH"):
        select_universe(m2, ["510001.SH"])
    codes, notes = select_universe(m2)
    assert "510001.SH" not in codes and "NOPE.SH" in notes[0]


def test_etf_not_ranked_or_bought_before_it_lists(sample_market):
    """The tracked index has weights and northbound data before the ETF exists: no pick before listing."""
    from xladdin.methods.northbound import adjusted_nav, northbound_rotation
    res = northbound_rotation(sample_market)
    prices = adjusted_nav(sample_market, list(res.universe))
    held = res.weights.fillna(0.0) > 0
    no_price = prices.reindex(index=held.index, columns=held.columns).isna()
    assert not (held & no_price).any(axis=None)
    assert res.composite.where(prices.reindex(index=res.composite.index, columns=res.composite.columns).isna()).isna().all(axis=None)
    daily = res.nav.pct_change().dropna()
    assert daily.abs().max() < 0.2  # no jumps from unpriced holdings


def test_ranking_table_when_a_factor_lacks_some_etfs(make_rotation_market):
    """An ETF listed after the factor's first months has no column in that factor's frame: blank mark
    and NaN value, not a length error (seen on the sample with as-of 2022-03-16)."""
    r = northbound_rotation(make_rotation_market())
    dropped = r.universe[0]
    factors = dict(r.factors)
    factors["momentum"] = factors["momentum"].drop(columns=[dropped])
    t = ranking_table(factors, r.composite, pd.Series({c: c for c in r.universe})).set_index("code")
    assert t.loc[dropped, "momentum"] == "" and np.isnan(t.loc[dropped, "momentum_value"])
    assert (t.drop(index=dropped)["momentum"] != "").all()
    assert len(t) == len(r.universe)


def test_rank_ic_without_ties_or_gaps_matches_scipy():
    rng = np.random.default_rng(12)
    s = pd.DataFrame(rng.normal(size=(50, 9)))
    r = pd.DataFrame(rng.normal(size=(50, 9)) - 0.4 * s.to_numpy())
    ic = rank_ic(s, r)
    want = [spearmanr(s.iloc[i], r.iloc[i]).statistic for i in range(50)]
    np.testing.assert_allclose(ic.to_numpy(), want, rtol=0, atol=1e-12)


def naive_factors(market: Market, etfs: list[str], dates: pd.DatetimeIndex) -> dict[str, pd.DataFrame]:
    """Preference, change and coverage by a loop over dates and ETFs (spec M11), written apart from the
    code: each ETF's index weights of its last weight date on or before the date, the float ratios of
    the last holdings date on or before it (a constituent without a row, or a blank ratio, counts 0)."""
    info, iw, nb = market.etf_info, market.table("index_weights"), market.table("northbound_holdings")
    held_days = sorted(nb["date"].unique())
    wanted = {max((d for d in held_days if d <= t), default=None) for t in dates} - {None}
    ratios = {d: g.set_index("stock")["float_ratio"] for d, g in nb[nb["date"].isin(wanted)].groupby("date")}
    by_index = {ix: g for ix, g in iw.groupby("index")}
    index_of = {e: info.at[e, "tracked_index"] for e in etfs}
    vals: dict[tuple, float] = {}  # (factor, date, index) -> value
    prev_h = None
    for t in dates:
        past = [d for d in held_days if d <= t]
        h = past[-1] if past else None
        for ix in set(index_of.values()):
            rows = by_index.get(ix)
            rows = rows[rows["date"] <= t] if rows is not None else None
            if h is None or rows is None or rows.empty:
                continue
            cons = rows[rows["date"] == rows["date"].max()]
            w = cons["weight"].to_numpy()
            now = cons["stock"].map(ratios[h])
            vals["preference", t, ix] = float((w * now.fillna(0).to_numpy()).sum())
            vals["coverage", t, ix] = float((w * now.notna().to_numpy()).sum())
            if prev_h is not None and h > prev_h:
                before = cons["stock"].map(ratios[prev_h]).fillna(0)
                vals["change", t, ix] = float((w * (now.fillna(0) - before).to_numpy()).sum())
        prev_h = h
    return {k: pd.DataFrame([[vals.get((k, t, index_of[e]), np.nan) for e in etfs] for t in dates], index=dates,
                            columns=etfs) for k in ("preference", "change", "coverage")}


@pytest.mark.parametrize("case", ["rotation", "sample", "small blocks"])
def test_factors_against_a_naive_loop(case, make_rotation_market, sample_market, monkeypatch):
    """Every ETF and signal date: weights carried between weight dates (an index with gaps), constituents
    without northbound rows, blank ratios, quarterly holdings after 2024-08-16 (change NaN when stale)."""
    if case == "small blocks":  # the index sums in blocks of a few rows (and single pairs larger than one)
        import xladdin.methods.northbound as nbm
        monkeypatch.setattr(nbm, "PAIR_ROWS", 7)
    if case != "sample":
        m = make_rotation_market(seed=3)
        iw = m.tables["index_weights"]
        drop = (iw["index"] == "IDX2.SH") & iw["date"].dt.month.isin([2, 3, 7])  # IDX2 carries older weights
        nb = m.tables["northbound_holdings"]
        gone = (nb["stock"] == "600004.SH") & (nb.index % 3 == 0)  # sometimes absent
        nb = nb[~gone].reset_index(drop=True)
        nb.loc[nb.index % 97 == 0, "float_ratio"] = np.nan  # a few blank ratios
        m = Market({**m.tables, "index_weights": iw[~drop].reset_index(drop=True), "northbound_holdings": nb},
                   source="test")
        etfs = sorted(m.etf_info.index)
        dates = None
    else:
        m = sample_market
        etfs = select_universe(m)[0]
        nb_days = pd.DatetimeIndex(m.table("northbound_holdings")["date"].unique()).sort_values()
        dates = pd.DatetimeIndex(pd.Series(nb_days, index=nb_days).groupby(nb_days.to_period("M")).max())[-30:]
    f = northbound_etf_factors(m, etfs, dates=dates)
    ref = naive_factors(m, etfs, f["preference"].index)
    assert f["preference"].notna().to_numpy().sum() > 0.5 * f["preference"].size
    for k in ("preference", "change", "coverage"):
        got = f[k]
        pd.testing.assert_frame_equal(got.isna(), ref[k].isna(), check_names=False, obj=k)
        np.testing.assert_allclose(got.to_numpy(dtype=float), ref[k].to_numpy(dtype=float), rtol=1e-12, atol=1e-15,
                                   equal_nan=True, err_msg=k)


def test_rotation_stops_at_the_next_northbound_disclosure_deadline(make_rotation_market):
    """Quarterly holdings to 2024-09-30 are current until Q4's are due: the 5th trading day after
    2024-12-31 (2 Jan, 3 Jan, 6 Jan, 7 Jan, 8 Jan 2025). No signal, return or NAV after it."""
    m = make_rotation_market(quarterly_after="2024-08-16")
    nb = m.tables["northbound_holdings"]
    m.tables["northbound_holdings"] = nb[nb["date"] <= "2024-09-30"].reset_index(drop=True)
    r = northbound_rotation(m)
    assert r.effective_end.end == pd.Timestamp("2025-01-08")
    assert r.effective_end.limit.text() == "northbound_holdings end 2024-09-30"
    assert r.composite.index[-1] == pd.Timestamp("2024-12-31") and r.nav.index[-1] == pd.Timestamp("2025-01-08")
    assert any("northbound_holdings end 2024-09-30, current to 2025-01-08" in n for n in r.notes)
    with pytest.raises(ValueError, match="nothing to compute from 2025-02-01"):
        northbound_rotation(m, start="2025-02-01")
