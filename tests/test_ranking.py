"""Cross-sectional ranking with ties (xladdin.methods.ranking): hand cases, scipy, the noise trap."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from xladdin.methods import ranking as rk, strategy as st
from xladdin.methods.grouping import assign_groups

CODES = [f"CI005{i:03d}.WI" for i in range(1, 31)]


def test_noise_trap_no_groups_no_ranks_no_picks():
    """A cross-section of ±1e-16 (a difference of equal shares) gives no ranking at all."""
    rng = np.random.default_rng(0)
    noise = pd.DataFrame(rng.choice([-1e-16, 1e-16, 0.0, 5e-17], size=(3, 30)), columns=CODES)
    assert assign_groups(noise).isna().all(axis=None)
    assert rk.percentile_ranks(noise).isna().all(axis=None)
    assert rk.top_n_weights(noise, 6).isna().all(axis=None)
    assert rk.no_ranking(noise).all()
    assert assign_groups(noise.iloc[0]).isna().all()
    # and flipping the noise's sign changes nothing
    pd.testing.assert_frame_equal(assign_groups(noise), assign_groups(-noise))


def test_ties_within_tolerance_ordered_by_code_and_flip_invariant():
    """Real differences rank; noise around them is a tie, broken by code whatever its sign."""
    base = pd.Series(np.repeat([0.01, 0.02, 0.03, 0.04, 0.05], 6), index=CODES)
    jitter = pd.Series(np.random.default_rng(1).normal(0, 1e-17, 30), index=CODES)
    g_plus, g_minus = assign_groups(base + jitter), assign_groups(base - jitter)
    assert g_plus.tolist() == [1] * 6 + [2] * 6 + [3] * 6 + [4] * 6 + [5] * 6
    pd.testing.assert_series_equal(g_plus, g_minus)
    # the tied zeros among real values: ranked by code, identical for either sign of the noise
    x = pd.Series([0.03, 1e-17, -1e-17, 0.0, -0.02, 2e-18], index=list("fedcba"))
    tied, flat = rk.tie_values(x)
    assert not flat and tied[["e", "d", "c", "a"]].nunique() == 1
    w1 = rk.top_n_weights(x.to_frame().T, 2)
    w2 = rk.top_n_weights((x * [1, -1, -1, 1, 1, -1]).to_frame().T, 2)
    pd.testing.assert_frame_equal(w1, w2)
    assert w1.iloc[0][w1.iloc[0] > 0].index.tolist() == ["f", "a"]  # 0.03, then the tie's first code


def test_relative_tolerance_scale():
    # 1e-9 of the largest |value|: 1000 and 1000 + 5e-7 tie, 1000 + 5e-6 does not
    x = pd.Series([1000.0, 1000.0 + 5e-7, 1000.0 + 5e-6], index=["a", "b", "c"])
    tied, flat = rk.tie_values(x)
    assert tied["a"] == tied["b"] != tied["c"] and not flat
    assert rk.tie_values(pd.Series([3.0, 3.0]))[1]  # two equal values: no spread
    assert not rk.tie_values(pd.Series([3.0]))[1]   # one value is not "all tied"
    with pytest.raises(ValueError, match="tolerances"):
        rk.tie_values(x, rtol=-1)


def test_percentile_ranks_match_scipy():
    rng = np.random.default_rng(2)
    f = pd.DataFrame(rng.integers(0, 6, (8, 12)).astype(float), columns=CODES[:12])
    f.iloc[2, [1, 5]] = np.nan
    got = rk.percentile_ranks(f)
    for i in range(len(f)):
        v = f.iloc[i].dropna()
        expected = rankdata(v.to_numpy(), method="average") / len(v)
        np.testing.assert_allclose(got.iloc[i][v.index].to_numpy(), expected)
    assert got.iloc[2, [1, 5]].isna().all()


def test_composite_hand_and_require_all():
    d = pd.to_datetime(["2024-01-31"])
    f1 = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]}, index=d)
    f2 = pd.DataFrame({"a": [3.0], "b": [np.nan], "c": [1.0]}, index=d)
    flat = pd.DataFrame({"a": [1e-17], "b": [0.0], "c": [-1e-17]}, index=d)
    # pct ranks: f1 a 1/3, b 2/3, c 1 ; f2 a 1, c 1/2 ; b only has f1
    skip = rk.composite_scores({"x": f1, "y": f2})
    assert skip.iloc[0].tolist() == pytest.approx([(1 / 3 + 1) / 2, 2 / 3, (1 + 0.5) / 2])
    strict = rk.composite_scores({"x": f1, "y": f2}, require_all=True)
    assert np.isnan(strict.loc[d[0], "b"]) and strict.loc[d[0], "a"] == pytest.approx(2 / 3)
    weighted = rk.composite_scores({"x": f1, "y": f2}, {"x": 3.0, "y": 1.0})
    assert weighted.loc[d[0], "a"] == pytest.approx((3 / 3 + 1) / 4)
    # a factor without spread drops out of that date for every code (not an average rank)
    with_flat = rk.composite_scores({"x": f1, "z": flat})
    assert with_flat.iloc[0].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    with pytest.raises(ValueError, match="unknown factor"):
        rk.composite_scores({"x": f1}, {"q": 1.0})
    # strategy and the Excel function use these very functions
    assert st.composite_scores is rk.composite_scores and st.top_n_weights is rk.top_n_weights


def test_top_n_one_per_group_takes_the_next_ranked_code():
    s = pd.DataFrame([[0.9, 0.8, 0.7, 0.6, 0.5]], columns=["e1", "e2", "e3", "e4", "e5"])
    tracked = {"e1": "IDX300", "e2": "IDX300", "e3": "IDX300", "e4": "IDX500", "e5": "IDX1000"}
    w = rk.top_n_weights(s, 3, one_per=tracked)
    assert w.iloc[0].tolist() == pytest.approx([1 / 3, 0, 0, 1 / 3, 1 / 3])
    assert rk.top_n_weights(s, 3).iloc[0].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0, 0])
    # fewer groups than picks: one per group
    w2 = rk.top_n_weights(s.iloc[:, :3], 3, one_per=tracked)
    assert w2.iloc[0].tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="positive integer"):
        rk.top_n_weights(s, 0)


def test_stable_argsort_matches_numpy_stable_on_ties():
    """The picks' order: numpy's unstable sort with runs of equal keys put back in position order."""
    rng = np.random.default_rng(5)
    for key in (rng.integers(0, 50, 5000).astype(float), rng.normal(size=3000), np.zeros(100), np.array([1.0]),
                np.r_[np.full(10, np.inf), rng.integers(0, 3, 40).astype(float)]):
        np.testing.assert_array_equal(rk._stable_argsort(key), np.argsort(key, kind="stable"))


def test_composite_picks_hand_case():
    """3 codes x 2 factors: ranks by hand, ties broken by code text (b10 before b9), picks lead the order."""
    codes = ["b9", "b10", "a1"]
    x = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])  # every code has mean rank 2/3
    res = rk.composite_picks(x, codes, 2)
    np.testing.assert_allclose(res["ranks"], [[1 / 3, 1.0], [2 / 3, 2 / 3], [1.0, 1 / 3]])
    np.testing.assert_allclose(res["score"], [2 / 3, 2 / 3, 2 / 3])
    # all scores tied: no spread, no picks, table in code order a1, b10, b9
    assert res["pick"].tolist() == [0, 0, 0] and [codes[i] for i in res["order"]] == ["a1", "b10", "b9"]
    res = rk.composite_picks(np.array([[5.0], [5.0], [1.0]]), codes, 1)  # b9 and b10 tie at the top
    assert res["pick"].tolist() == [0, 1, 0] and [codes[i] for i in res["order"]] == ["b10", "b9", "a1"]
    with pytest.raises(ValueError, match="positive integer"):
        rk.composite_picks(x, codes, 0)
