"""M9: constrained regression vs SLSQP and KKT, disclosed/simulated splice, divergence, heat."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.methods import divergence as dv


def test_constrained_regression_matches_slsqp_and_kkt():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.015, (60, 30))
    true = np.zeros(30)
    true[[2, 7, 11]] = [0.5, 0.3, 0.2]
    y = X @ true + rng.normal(0, 0.002, 60)
    w = dv.constrained_regression(y, X)
    w2 = dv.constrained_regression(y, X, method="slsqp")
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert np.abs(w - w2).max() < 1e-4
    # KKT: gradient equal (= multiplier) on the support, not smaller off it
    g = 2 * X.T @ (X @ w - y)
    on = w > 1e-8
    lam = g[on].mean()
    assert np.allclose(g[on], lam, atol=1e-6 * np.abs(g).max() + 1e-12)
    assert (g[~on] >= lam - 1e-8).all()
    # exact recovery without noise
    assert dv.constrained_regression(X @ true, X) == pytest.approx(true, abs=1e-6)


def test_disclosed_shares_and_splice():
    h = pd.DataFrame({"report_date": pd.to_datetime(["2024-03-29"] * 3 + ["2024-06-28"]),
                      "fund": ["f1", "f1", "f2", "f1"], "stock": ["s1", "s2", "s9", "s2"],
                      "value": [30.0, 10.0, 60.0, 5.0]})
    si = pd.Series({"s1": "I1", "s2": "I2"})
    d = dv.active_disclosed_shares(h, si)
    assert d.loc["2024-03-29"].tolist() == pytest.approx([0.75, 0.25])  # s9 unclassified: left out
    dates = pd.to_datetime(["2024-03-29", "2024-04-30", "2024-05-31", "2024-06-28", "2024-07-31"])
    sim = pd.DataFrame({"I1": 0.1, "I2": 0.9}, index=dates)
    shares, source = dv.active_shares(d, sim, dates)
    assert source.tolist() == ["simulated", "disclosed", "disclosed", "simulated", "disclosed"]
    assert shares.loc["2024-04-30"].tolist() == pytest.approx([0.75, 0.25])
    assert shares.loc["2024-06-28"].tolist() == pytest.approx([0.1, 0.9])
    assert shares.loc["2024-07-31"].tolist() == pytest.approx([0.0, 1.0])


def test_divergence_zscores_and_direction():
    idx = pd.to_datetime(["2024-01-31"])
    etf = pd.DataFrame({"a": [0.5], "b": [0.3], "c": [0.2]}, index=idx)
    act = pd.DataFrame({"a": [0.2], "b": [0.3], "c": [0.5]}, index=idx)
    z = dv.divergence(etf, act)
    d = np.array([0.3, 0.0, -0.3])
    assert z.iloc[0].to_numpy() == pytest.approx((d - d.mean()) / d.std(ddof=1))
    heat = pd.Series([-0.1], index=idx)
    assert dv.directed_divergence(z, heat).iloc[0].to_numpy() == pytest.approx(-z.iloc[0].to_numpy())


def test_issuance_heat_and_timing():
    iss = pd.DataFrame({"month": pd.to_datetime(["2025-11-28", "2025-11-28", "2025-12-31", "2025-12-31",
                                                 "2026-01-30", "2026-01-30"]),
                        "category": ["stock_etf", "active_equity"] * 3,
                        "new_shares": [100.0, 100.0, 150.0, 110.0, 120.0, 132.0]})
    h = dv.issuance_heat(iss)
    assert h.loc[pd.Period("2025-12", "M"), "heat"] == pytest.approx(0.5 - 0.1)
    assert h.loc[pd.Period("2026-01", "M"), "heat"] == pytest.approx(120 / 150 - 132 / 110)
    days = pd.bdate_range("2025-12-01", "2026-02-27")
    at = dv.heat_at(h["heat"], pd.to_datetime(["2026-01-16", "2026-01-30", "2026-02-13"]), days)
    # mid-January uses December; from January's last trading day on, January (report, seed 003)
    assert at.tolist() == pytest.approx([0.4, 120 / 150 - 132 / 110, 120 / 150 - 132 / 110])


def test_simulated_shares_recover_weights():
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2024-01-01", periods=120)
    r = rng.normal(0, 0.01, (120, 5))
    close = pd.DataFrame(np.cumprod(1 + r, axis=0), index=days, columns=list("abcde"))
    rets = close.pct_change()
    fund = (rets @ np.array([0.6, 0.4, 0, 0, 0])).iloc[1:]
    sim = dv.simulated_active_shares(fund, close, days[[70, 119]], window=60)
    assert sim.iloc[1].to_numpy() == pytest.approx([0.6, 0.4, 0, 0, 0], abs=1e-6)


def test_simulated_shares_with_gaps_against_a_naive_loop():
    """Blank fund returns shorten a window (below ``min_obs``: no weights); an industry with a blank
    return in the window is not estimated (NaN) while the others are; each date is one regression of
    the fund's returns on the complete industries' returns over the window's days with a fund return."""
    from xladdin.methods.divergence import constrained_regression
    rng = np.random.default_rng(5)
    days = pd.bdate_range("2024-01-01", periods=230)
    close = pd.DataFrame(np.cumprod(1 + rng.normal(0, 0.01, (230, 6)), axis=0), index=days, columns=list("abcdef"))
    close.iloc[95, 2] = np.nan  # industry c: two blank returns around day 95
    rets = close.pct_change(fill_method=None)
    fund = (rets.fillna(0) @ np.array([0.3, 0.3, 0.2, 0.2, 0, 0]) + rng.normal(0, 1e-4, 230)).iloc[1:]
    fund.iloc[130:160] = np.nan  # a month without the fund aggregate
    dates = days[[30, 70, 100, 150, 160, 229]]
    sim = dv.simulated_active_shares(fund, close, dates, window=60)
    want = pd.DataFrame(np.nan, index=dates, columns=close.columns)
    for d in dates:
        win = rets.loc[:d].iloc[-60:]
        y = fund.reindex(win.index)
        win, y = win[y.notna()], y[y.notna()]
        if len(win) < 40:
            continue
        ok = [c for c in win.columns if win[c].notna().all()]
        want.loc[d, ok] = constrained_regression(y.to_numpy(), win[ok].to_numpy())
    assert np.isnan(want.loc[days[100], "c"]) and want.loc[days[160]].isna().all() and want.loc[days[30]].isna().all()
    assert want.loc[days[229]].notna().all() and want.loc[days[100]].notna().sum() == 5
    pd.testing.assert_frame_equal(sim, want, check_exact=True, check_freq=False)


def test_market_divergence_on_sample(sample_market):
    from xladdin.methods.holdings import holding_level
    m = sample_market.subset("2020-01-01", "2021-06-30")
    lvl = holding_level(m, "M")
    out = dv.market_divergence(m, lvl)
    z = out["divergence"].dropna(how="all")
    assert np.allclose(z.mean(axis=1), 0, atol=1e-12) and np.allclose(z.std(axis=1), 1)
    assert set(out["source"]) <= {"disclosed", "simulated", "none"} and (out["source"] == "disclosed").any()
    shares = out["active_share"].dropna(how="all")
    assert np.allclose(shares.sum(axis=1), 1)


def test_divergence_with_missing_values_equals_pandas_mean_and_std():
    rng = np.random.default_rng(8)
    e = pd.DataFrame(rng.dirichlet(np.ones(12), 20))
    a = pd.DataFrame(rng.dirichlet(np.ones(12), 20))
    e = e.mask(rng.random(e.shape) < 0.2)
    e.iloc[3] = np.nan                                                       # a date without data
    e.iloc[4, 1:] = np.nan                                                   # one value: no std
    d = e - a
    want = d.sub(d.mean(axis=1), axis=0).div(d.std(axis=1, ddof=1), axis=0)
    pd.testing.assert_frame_equal(dv.divergence(e, a), want, rtol=1e-12)
    assert dv.divergence(e, a).iloc[[3, 4]].isna().all().all()
