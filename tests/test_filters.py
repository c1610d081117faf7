"""M4 HP filters: two-sided and one-sided against statsmodels, a 60-digit reference and hand cases."""
from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.filters.hp_filter import hpfilter

from xladdin.filters import MAX_LAMBDA, hp_filter, hp_filter_one_sided, hp_filter_one_sided_expanding

getcontext().prec = 60


def random_walk(n: int, seed: int, level: float = 50.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level + np.cumsum(rng.normal(0.05, 1.0, size=n))


def statsmodels_expanding(y: np.ndarray, lamb: float) -> np.ndarray:
    """The definition with an independent solver: statsmodels' hpfilter on every prefix."""
    out = np.array(y, dtype=float)
    for t in range(3, y.size + 1):
        out[t - 1] = hpfilter(y[:t], lamb)[1][-1]
    return out


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def decimal_kalman(y: np.ndarray, lamb: float) -> list[Decimal]:
    """One-sided HP in 60-digit arithmetic: Kalman filter with the exact diffuse start."""
    q = 1 / _dec(lamb)
    yd = [_dec(v) for v in y]
    out = yd[:2]
    a1, a2 = yd[1], yd[0]
    p11, p12, p22 = Decimal(1), Decimal(0), Decimal(1)
    for t in range(2, len(yd)):
        m11 = 4 * p11 - 4 * p12 + p22 + q
        m12 = 2 * p11 - p12
        m22 = p11
        s = m11 + 1
        k1, k2 = m11 / s, m12 / s
        pred = 2 * a1 - a2
        v = yd[t] - pred
        a1, a2 = pred + k1 * v, a1 + k2 * v
        p11, p12, p22 = k1, k2, m22 - m12 * k2
        out.append(a1)
    return out


def decimal_hp(y: np.ndarray, lamb: float) -> list[Decimal]:
    """Two-sided HP trend of ``y`` by the definition, in 60-digit arithmetic: (I + lamb D'D) tau = y
    solved by banded Gaussian elimination (SPD, no pivoting; rows kept as {column: value})."""
    n = len(y)
    lam = _dec(lamb)
    A = [{j: Decimal(0) for j in range(max(i - 2, 0), min(i + 3, n))} for i in range(n)]
    for i in range(n):
        A[i][i] += 1
    for r in range(n - 2):
        coef = {r: 1, r + 1: -2, r + 2: 1}
        for i, ci in coef.items():
            for j, cj in coef.items():
                A[i][j] += lam * ci * cj
    b = [_dec(v) for v in y]
    for k in range(n):
        for i in range(k + 1, min(k + 3, n)):
            f = A[i][k] / A[k][k]
            for j in range(k, min(k + 3, n)):
                A[i][j] -= f * A[k][j]
            b[i] -= f * b[k]
    x = [Decimal(0)] * n
    for i in range(n - 1, -1, -1):
        s = b[i] - sum(A[i][j] * x[j] for j in range(i + 1, min(i + 3, n)))
        x[i] = s / A[i][i]
    return x


def decimal_hp_last(y: np.ndarray, lamb: float) -> Decimal:
    """Last point of :func:`decimal_hp`."""
    return decimal_hp(y, lamb)[-1]


# ----------------------------------------------------------------------------- two-sided
@pytest.mark.parametrize("lamb", [1.0, 100.0, 1600.0, 1e5])
def test_two_sided_matches_statsmodels(lamb):
    y = random_walk(400, seed=1)
    ours = hp_filter(y, lamb)
    ref = hpfilter(y, lamb)[1]
    assert np.max(np.abs(ours - ref)) <= 1e-9 * np.ptp(y)


@pytest.mark.parametrize("lamb", [1600.0, 1e6, 1e8, MAX_LAMBDA])
def test_two_sided_large_lambda_within_the_conditioning_bound(lamb):
    """Up to the largest lambda accepted, the error against the 60-digit solution stays within what
    the conditioning allows, whatever BLAS kernel LAPACK's banded Cholesky runs on.

    Bound (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., Thm 10.4 and 7.2): the
    computed solution of an SPD system by Cholesky satisfies ``(A + dA) x^ = b`` with
    ``||dA||_2 <= c u ||A||_2``, c about 3 (w + 1) (w + 1) = 27 for the half-bandwidth w = 2, so
    ``||x^ - x||_2 <= c u k2 ||x||_2 / (1 - c u k2)`` with ``k2 = 1 + 16 lamb`` (the eigenvalues of
    D'D lie in [0, 16), those of A in [1, 1 + 16 lamb)) and u = 2**-53. The filter solves for
    ``y - y_1`` (HP is equivariant to a constant), so that is the system compared here. The earlier
    test compared lambda = 1e15 with the least-squares line "within 1 %": there c u k2 is about 50,
    no accuracy is promised, and the error moved with OpenBLAS' kernel (0.85 % Haswell, 1.04 % SkylakeX).
    """
    y = np.cumsum(np.random.default_rng(0).standard_normal(2500))
    c = y[0]
    exact = np.array([float(v) for v in decimal_hp(y - c, lamb)])
    err = np.linalg.norm((hp_filter(y, lamb) - c) - exact)
    cuk = 27 * 2.0 ** -53 * (1 + 16 * lamb)
    assert err <= cuk / (1 - cuk) * np.linalg.norm(exact)


def test_two_sided_refuses_lambda_above_the_supported_range():
    y = np.cumsum(np.random.default_rng(0).standard_normal(50))
    assert hp_filter(y, MAX_LAMBDA).shape == y.shape
    for f in (hp_filter, hp_filter_one_sided):
        with pytest.raises(ValueError, match=r"lamb 1e\+11 is above the largest supported 1e\+10"):
            f(y, 1e11)


def test_two_sided_hand_case_n3():
    # D = [1, -2, 1]: tau = y - lamb D' (D y) / (1 + 6 lamb)
    y = np.array([1.0, 4.0, 2.0])
    lamb = 2.0
    d2 = y[0] - 2 * y[1] + y[2]
    expected = y - lamb * np.array([1.0, -2.0, 1.0]) * d2 / (1 + 6 * lamb)
    np.testing.assert_allclose(hp_filter(y, lamb), expected, rtol=0, atol=1e-14)


# ----------------------------------------------------------------------------- one-sided: definition
@pytest.mark.parametrize("lamb,seed", [(1.0, 0), (100.0, 0), (1600.0, 0), (1e4, 0), (1e5, 0), (1e5, 1)])
def test_one_sided_equals_statsmodels_on_every_prefix(lamb, seed):
    y = random_walk(300, seed=seed)
    ref = statsmodels_expanding(y, lamb)
    ours = hp_filter_one_sided(y, lamb)
    assert np.max(np.abs(ours - ref)) <= 1e-8 * np.ptp(y)


@pytest.mark.parametrize("lamb", [1e6, 1e7, 1e8])
def test_one_sided_vs_statsmodels_large_lambda(lamb):
    """At large lambda the double-precision re-solve is itself inexact (cond ~ 16 lamb): measured
    max gap / range ~ 5e-10 (1e6), 4e-9 (1e7), 3e-8 (1e8) on this series; bound 1e-14 * lamb."""
    y = random_walk(300, seed=0)
    ref = statsmodels_expanding(y, lamb)
    gap = np.max(np.abs(hp_filter_one_sided(y, lamb) - ref)) / np.ptp(y)
    assert gap <= 1e-14 * lamb


@pytest.mark.parametrize("lamb", [1.0, 100.0, 1600.0, 1e5, 1e6, 1e7, 1e8])
def test_one_sided_accuracy_against_60_digit_reference(lamb):
    """Measured max error / range (n = 300, recursive-doubling scan): 7e-16 (1), 1.2e-15 (100),
    3.6e-15 (1600), 1.5e-14 (1e4), 5e-14 (1e5), 7e-13 (1e6), 9e-13 (1e7), 1.2e-12 (1e8); statsmodels
    re-solved on every prefix reaches 5e-11 (1e5) and 3e-8 (1e8) on the same series."""
    y = random_walk(300, seed=0)
    truth = np.array([float(v) for v in decimal_kalman(y, lamb)])
    err = np.max(np.abs(hp_filter_one_sided(y, lamb) - truth)) / np.ptp(y)
    bound = 1e-13 if lamb <= 1e5 else 5e-12
    assert err <= bound


@pytest.mark.parametrize("lamb", [1600.0, 1e8])
def test_decimal_kalman_is_the_definition(lamb):
    """The 60-digit Kalman reference equals the 60-digit re-solve of HP on prefixes (so the test
    above measures error against the definition, not against a second Kalman filter)."""
    y = random_walk(40, seed=3)
    kal = decimal_kalman(y, lamb)
    for t in (3, 4, 17, 40):
        assert abs(kal[t - 1] - decimal_hp_last(y[:t], lamb)) < Decimal("1e-40")


@pytest.mark.parametrize("lamb", [1600.0, 1e5])
def test_one_sided_long_series_matches_expanding(lamb):
    y = random_walk(2000, seed=7, level=3000.0)
    ref = hp_filter_one_sided_expanding(y, lamb)
    assert np.max(np.abs(hp_filter_one_sided(y, lamb) - ref)) <= 1e-8 * np.ptp(y)


def test_expanding_reference_matches_statsmodels():
    y = random_walk(120, seed=5)
    np.testing.assert_allclose(hp_filter_one_sided_expanding(y, 1600.0), statsmodels_expanding(y, 1600.0),
                               rtol=0, atol=1e-10 * np.ptp(y))


def test_one_sided_hand_case_n3_and_last_point_of_two_sided():
    y = np.array([1.0, 4.0, 2.0, 7.0, 5.0])
    lamb = 3.0
    ours = hp_filter_one_sided(y, lamb)
    assert ours[0] == 1.0 and ours[1] == 4.0
    # t = 3: y3 - lamb (y1 - 2 y2 + y3) / (1 + 6 lamb)
    assert ours[2] == pytest.approx(2.0 - 3.0 * (1 - 8 + 2) / 19.0, abs=1e-14)
    for t in (4, 5):
        assert ours[t - 1] == pytest.approx(hp_filter(y[:t], lamb)[-1], abs=1e-13)


# ----------------------------------------------------------------------------- edge cases
@pytest.mark.parametrize("func", [hp_filter, hp_filter_one_sided, hp_filter_one_sided_expanding])
@pytest.mark.parametrize("values", [[], [3.5], [3.5, -1.0]])
def test_short_series_returned_unchanged(func, values):
    out = func(np.array(values, dtype=float), 100.0)
    np.testing.assert_array_equal(out, np.array(values, dtype=float))
    s = pd.Series(values, index=pd.date_range("2024-01-05", periods=len(values), freq="W-FRI"), name="r",
                  dtype=float)
    pd.testing.assert_series_equal(func(s, 100.0), s)


@pytest.mark.parametrize("func", [hp_filter, hp_filter_one_sided, hp_filter_one_sided_expanding])
@pytest.mark.parametrize("lamb", [1.0, 1e4, 1e8])
def test_constant_and_linear_series_are_their_own_trend(func, lamb):
    const = np.full(500, 0.6173)
    np.testing.assert_allclose(func(const, lamb), const, rtol=1e-13, atol=0)
    t = np.arange(500.0)
    line = 2.0 - 0.013 * t
    np.testing.assert_allclose(func(line, lamb), line, rtol=0, atol=1e-9 * np.ptp(line) * max(1.0, lamb / 1e6))


def test_one_sided_constant_series_exact():
    const = np.full(300, 1234.5)
    assert np.array_equal(hp_filter_one_sided(const, 1e5), const)


@pytest.mark.parametrize("lamb", [100.0, 1e6])
def test_one_sided_affine_equivariance(lamb):
    y = random_walk(250, seed=11)
    t = np.arange(250.0)
    base = hp_filter_one_sided(y, lamb)
    moved = hp_filter_one_sided(-2.5 * y + 40.0 + 0.3 * t, lamb)
    np.testing.assert_allclose(moved, -2.5 * base + 40.0 + 0.3 * t, rtol=0, atol=1e-10 * np.ptp(y))


def test_causality_future_values_do_not_change_the_past():
    y = random_walk(200, seed=2)
    z = y.copy()
    z[150:] += 100.0
    a, b = hp_filter_one_sided(y, 1600.0), hp_filter_one_sided(z, 1600.0)
    np.testing.assert_array_equal(a[:150], b[:150])
    assert np.all(np.abs(a[150:] - b[150:]) > 1e-3)


def test_nan_raises_with_position_and_label():
    idx = pd.date_range("2025-01-03", periods=6, freq="W-FRI")
    s = pd.Series([1.0, 2.0, np.nan, 4.0, 5.0, 6.0], index=idx, name="ratio")
    for func in (hp_filter, hp_filter_one_sided, hp_filter_one_sided_expanding):
        with pytest.raises(ValueError, match=r"position 2 \(label 2025-01-17"):
            func(s, 100.0)
    with pytest.raises(ValueError, match="position 1"):
        hp_filter_one_sided(np.array([1.0, np.nan, 3.0]), 10.0)
    with pytest.raises(ValueError, match="infinite"):
        hp_filter_one_sided(np.array([1.0, np.inf, 3.0]), 10.0)


def test_skip_leading_nan():
    y = random_walk(60, seed=4)
    padded = np.concatenate([[np.nan, np.nan, np.nan], y])
    out = hp_filter_one_sided(padded, 50.0, skip_leading_nan=True)
    assert np.isnan(out[:3]).all()
    np.testing.assert_array_equal(out[3:], hp_filter_one_sided(y, 50.0))
    with pytest.raises(ValueError, match="position 10"):
        bad = padded.copy()
        bad[10] = np.nan
        hp_filter_one_sided(bad, 50.0, skip_leading_nan=True)
    assert np.isnan(hp_filter_one_sided(np.full(4, np.nan), 5.0, skip_leading_nan=True)).all()


def test_pandas_index_name_and_dataframe_kept():
    idx = pd.date_range("2020-01-03", periods=80, freq="W-FRI", name="date")
    s = pd.Series(random_walk(80, seed=9), index=idx, name="size")
    out = hp_filter_one_sided(s, 100.0)
    assert isinstance(out, pd.Series) and out.name == "size" and out.index.equals(idx)
    np.testing.assert_array_equal(out.to_numpy(), hp_filter_one_sided(s.to_numpy(), 100.0))
    df = pd.DataFrame({"a": s, "b": s * 2})
    dout = hp_filter(df, 100.0)
    assert list(dout.columns) == ["a", "b"] and dout.index.equals(idx)
    np.testing.assert_allclose(dout["b"], 2 * dout["a"], rtol=1e-12)


@pytest.mark.parametrize("lamb", [0, -5, np.nan, np.inf, "x"])
def test_bad_lambda_raises(lamb):
    with pytest.raises(ValueError, match="lamb"):
        hp_filter_one_sided(np.arange(5.0), lamb)


def test_two_dimensional_array_rejected():
    with pytest.raises(ValueError, match="1-D"):
        hp_filter_one_sided(np.ones((4, 2)), 10.0)
