"""M12 performance statistics: hand computations, independent formulas, report consistency."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from xladdin.methods import stats as pf


def _nav(values, start="2020-01-02"):
    idx = pd.bdate_range(start, periods=len(values))
    return pd.Series(values, index=idx, dtype=float)


def _nav_with(ann_ret: float, ann_vol: float, n: int, start: str, seed: int = 1) -> pd.Series:
    """A NAV of n daily returns with exactly the given annualised vol and geometric return."""
    z = np.random.default_rng(seed).standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    b = ann_vol / np.sqrt(252)
    target = np.log1p(ann_ret) * n / 252
    a = brentq(lambda a: np.log1p(a + b * z).sum() - target, -0.01, 0.01)
    r = a + b * z
    idx = pd.bdate_range(start, periods=n + 1)
    return pd.Series(np.concatenate([[1.0], np.cumprod(1 + r)]), index=idx)


def test_hand_computed_small_series():
    nav = _nav([1.0, 1.1, 0.99, 1.2])
    r = np.array([0.1, 0.99 / 1.1 - 1, 1.2 / 0.99 - 1])
    assert pf.total_return(nav) == pytest.approx(0.2)
    assert pf.annual_return(nav) == pytest.approx(1.2 ** (252 / 3) - 1)
    assert pf.annual_volatility(nav) == pytest.approx(np.sqrt(252) * np.std(r, ddof=1))
    assert pf.max_drawdown(nav) == pytest.approx(0.99 / 1.1 - 1)
    assert pf.sharpe_ratio(nav, method="arithmetic") == pytest.approx(np.sqrt(252) * r.mean() / r.std(ddof=1))
    assert pf.sharpe_ratio(nav, rf=0.03) == pytest.approx((1.2 ** 84 - 1 - 0.03) / (np.sqrt(252) * np.std(r, ddof=1)))


def test_relative_statistics_hand():
    nav = _nav([1.0, 1.02, 1.01, 1.05])
    bm = _nav([2.0, 2.02, 2.04, 2.04])
    rel = np.array([1.0, 1.02 / 1.01, 1.01 / 1.02, 1.05 / 1.02])
    assert pf.relative_nav(nav, bm).to_numpy() == pytest.approx(rel)
    d = np.diff(nav.to_numpy()) / nav.to_numpy()[:-1] - np.diff(bm.to_numpy()) / bm.to_numpy()[:-1]
    te = np.sqrt(252) * d.std(ddof=1)
    assert pf.tracking_error(nav, bm) == pytest.approx(te)
    ex = rel[-1] ** (252 / 3) - 1
    assert pf.excess_return(nav, bm) == pytest.approx(ex)
    assert pf.information_ratio(nav, bm) == pytest.approx(ex / te)
    assert pf.relative_max_drawdown(nav, bm) == pytest.approx((1.01 / 1.02) / (1.02 / 1.01) - 1)


def test_monthly_win_rate_and_odds_hand():
    idx = pd.to_datetime(["2021-01-04", "2021-01-29", "2021-02-26", "2021-03-31", "2021-04-30"])
    nav = pd.Series([1.0, 1.10, 1.045, 1.0868, 1.0977], index=idx)
    bm = pd.Series([1.0, 1.05, 1.05, 1.05, 1.05], index=idx)
    ex = pf.monthly_excess(nav, bm)
    expected = np.array([0.10 - 0.05, 1.045 / 1.10 - 1, 1.0868 / 1.045 - 1, 1.0977 / 1.0868 - 1])
    assert ex.to_numpy() == pytest.approx(expected)
    assert pf.monthly_excess_win_rate(nav, bm) == pytest.approx(3 / 4)
    pos = expected[expected > 0]
    neg = expected[expected < 0]
    assert pf.odds(nav, bm) == pytest.approx(pos.mean() / abs(neg.mean()))


def test_invariance_to_rescaling_and_identity_benchmark():
    nav = _nav_with(0.12, 0.2, 600, "2019-01-02")
    t1 = pf.performance_table(nav, benchmark=nav * 3)
    t2 = pf.performance_table(nav * 7.5, benchmark=nav)
    pd.testing.assert_frame_equal(t1, t2)
    assert (t1["excess_return"].abs() < 1e-12).all()
    assert (t1["tracking_error"].abs() < 1e-12).all()
    assert t1["information_ratio"].isna().all()


def test_table_year_rows_are_unannualised_and_chain():
    nav = _nav_with(0.10, 0.18, 800, "2019-01-02", seed=3)
    bm = _nav_with(0.04, 0.15, 800, "2019-01-02", seed=4)
    t = pf.performance_table(nav, bm)
    assert list(t.columns) == pf.COLUMNS
    # 800 business days from 2019-01-02: 2019 and 2020 full, 2022 a part year to 01-25
    assert list(t.index) == ["2019", "2020", "2021", f"2022 (to {nav.index[-1]:%m-%d})", "Full period"]
    years = list(t.index[:-1])
    # year rows chain to the total return
    assert np.prod(1 + t.loc[years, "annual_return"]) - 1 == pytest.approx(pf.total_return(nav))
    rel = pf.relative_nav(nav, bm)
    assert np.prod(1 + t.loc[years, "excess_return"]) - 1 == pytest.approx(pf.total_return(rel))
    # second year measured from the first year's last NAV
    y1 = nav[nav.index.year == 2019].iloc[-1]
    y2 = nav[nav.index.year == 2020].iloc[-1]
    assert t.loc["2020", "annual_return"] == pytest.approx(y2 / y1 - 1)
    seg = nav[(nav.index >= nav[nav.index.year == 2019].index[-1]) & (nav.index.year <= 2020)]
    assert t.loc["2020", "max_drawdown"] == pytest.approx(pf.max_drawdown(seg))
    assert t.loc["2020", "volatility"] == pytest.approx(np.sqrt(252) * seg.pct_change().std())
    # full row is annualised
    full = t.loc["Full period"]
    assert full["annual_return"] == pytest.approx(pf.annual_return(nav))
    assert full["sharpe"] == pytest.approx(pf.annual_return(nav) / pf.annual_volatility(nav))
    assert full["information_ratio"] == pytest.approx(pf.information_ratio(nav, bm))
    assert full["win_rate"] == pytest.approx(pf.monthly_excess_win_rate(nav, bm))
    assert t["turnover"].isna().all()


def test_full_year_sharpe_not_annualised_part_year_annualised():
    nav = _nav_with(0.10, 0.18, 300, "2019-01-01", seed=5)  # 2019 full (≈260 bdays) + part of 2020
    t = pf.performance_table(nav)
    y19 = t.loc["2019"]
    assert y19["sharpe"] == pytest.approx(y19["annual_return"] / y19["volatility"])
    assert np.isnan(y19["annualised_return"]) and y19["part_year"] == 0
    y20 = t.loc[f"2020 (to {nav.index[-1]:%m-%d})"]
    n20 = (nav.index.year == 2020).sum()
    ann = (1 + y20["annual_return"]) ** (252 / n20) - 1
    assert y20["annualised_return"] == pytest.approx(ann) and y20["part_year"] == 1 and y20["days"] == n20
    assert y20["sharpe"] == pytest.approx(ann / y20["volatility"])
    assert np.isnan(y20["excess_return"])


def test_part_year_rows_show_period_and_annualised_return_report_2019_row():
    """The report's first row, 2019 (from 2019-10-08), is annualised: 30.42% / 13.46% = Sharpe 2.26.

    A NAV from 2019-10-08 into 2020: its 2019 row is labelled as a part year and shows both the
    period return (what the report's last row, "2026 to date", prints) and the annualised one.
    """
    n19 = len(pd.bdate_range("2019-10-09", "2019-12-31"))  # daily returns in 2019 after the 10-08 base
    head = _nav_with(0.3042, 0.1346, n19, "2019-10-08", seed=9)
    tail = _nav_with(0.05, 0.15, 60, "2019-12-31", seed=10) * head.iloc[-1]
    nav = pd.concat([head, tail.iloc[1:]])
    bm = nav / _nav_with(0.0113, 0.05, len(nav) - 1, "2019-10-08", seed=11).to_numpy()
    t = pf.performance_table(nav, bm)
    assert list(t.index) == ["2019 (from 10-08)", f"2020 (to {nav.index[-1]:%m-%d})", "Full period"]
    row = t.loc["2019 (from 10-08)"]
    assert row["part_year"] == 1 and row["days"] == n19
    assert row["annualised_return"] == pytest.approx(0.3042, abs=1e-10)
    assert row["annual_return"] == pytest.approx(1.3042 ** (n19 / 252) - 1, abs=1e-10)  # period return
    assert row["volatility"] == pytest.approx(0.1346, abs=1e-10)
    assert round(row["sharpe"], 2) == 2.26
    rel = nav.loc[:"2019-12-31"] / bm.loc[:"2019-12-31"]
    rel_ret = rel.iloc[-1] / rel.iloc[0] - 1
    assert row["excess_return"] == pytest.approx(rel_ret)
    assert row["annualised_excess"] == pytest.approx((1 + rel_ret) ** (252 / n19) - 1)
    # the report's "2026 to date": 5.68% in one month (21 days) at 14.2% volatility -> Sharpe 5.27 annualised
    m = _nav_with(1.0568 ** (252 / 21) - 1, 0.142, 21, "2025-12-31", seed=12)  # base 2025-12-31, 21 days of 2026
    tm = pf.performance_table(m)
    assert list(tm.index) == [f"2026 (to {m.index[-1]:%m-%d})", "Full period"]  # the lone 2025 base has no row
    part = tm.iloc[0]
    assert part["annual_return"] == pytest.approx(0.0568, abs=1e-10)
    assert part["sharpe"] == pytest.approx((1.0568 ** 12 - 1) / 0.142, rel=0.01)
    assert pf.period_label(2019, "2019-10-08", None, "zh") == "2019年(10-08起)"
    assert pf.period_label(2026, None, "2026-01-30", "zh") == "2026年(至01-30)"
    assert pf.period_label(2020) == "2020" and pf.period_label(2020, language="zh") == "2020年"


def test_report_consistency_checks():
    """Spec M12 checks: 15.57%/20.75% -> 0.75, 7.56%/8.13% -> 0.93, 2019 30.42%/13.46% -> 2.26."""
    nav = _nav_with(0.1557, 0.2075, 1550, "2019-10-08", seed=7)
    rel = _nav_with(0.0756, 0.0813, 1550, "2019-10-08", seed=8)
    bm = nav / rel
    t = pf.performance_table(nav, bm)
    full = t.loc["Full period"]
    assert full["annual_return"] == pytest.approx(0.1557, abs=1e-10)
    assert full["volatility"] == pytest.approx(0.2075, abs=1e-10)
    assert round(full["sharpe"], 2) == 0.75
    assert full["excess_return"] == pytest.approx(0.0756, abs=1e-10)
    # TE uses r - r_B, the relative NAV's own std differs only at second order
    assert round(full["information_ratio"], 2) == 0.93


def test_turnover_columns():
    nav = _nav_with(0.05, 0.1, 504, "2020-01-01", seed=2)
    reb = pd.Series(0.5, index=nav.index[::10])
    t = pf.performance_table(nav, turnover=reb)
    for y, label in ((2020, "2020"), (2021, "2021")):  # 2021 to 12-07: 242 days, a full year (>= 0.9 x 252)
        assert t.loc[label, "turnover"] == pytest.approx(0.5 * (reb.index.year == y).sum())
    assert t.loc["Full period", "turnover"] == pytest.approx(reb.sum() * 252 / 504)


def test_arithmetic_option_and_errors():
    nav = _nav_with(0.08, 0.2, 300, "2021-01-04", seed=11)
    t = pf.performance_table(nav, sharpe="arithmetic", rf=0.02)
    r = nav.pct_change().dropna() - 0.02 / 252
    assert t.loc["Full period", "sharpe"] == pytest.approx(np.sqrt(252) * r.mean() / r.std())
    with pytest.raises(ValueError, match="sharpe"):
        pf.performance_table(nav, sharpe="bogus")
    bad = nav.copy()
    bad.iloc[5] = np.nan
    with pytest.raises(ValueError, match="missing"):
        pf.performance_table(bad)
    with pytest.raises(ValueError, match="benchmark has no value"):
        pf.performance_table(nav, benchmark=nav.iloc[10:])
