"""Excel functions on extreme numbers (issue 17, item 6): inputs far beyond +-1e150, where products
overflow, are computed with exact scaling or get a clear ``#XA!`` message; no internal error and no
silent blank. Each case failed on the code before (zeros, -0.0, blanks, a TypeError)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import xladdin_udfs.flows as F
import xladdin_udfs.holdings as H
import xladdin_udfs.stats as S
import xladdin_udfs.strategy as G
import xladdin_udfs.style as Y
from xladdin.methods import northbound

RNG = np.random.default_rng(17)


def message(out) -> str:
    assert len(out) == 1 and len(out[0]) == 1 and isinstance(out[0][0], str), out[:3]
    text = out[0][0]
    assert text.startswith("#XA! ") and "internal error" not in text
    return text


def values(out, col: int = 0, skip: int = 0) -> np.ndarray:
    return np.array([np.nan if r[col] is None else r[col] for r in out[skip:]], dtype=float)


# ----------------------------------------------------------------------------- scaled, not broken
@pytest.mark.parametrize("scale", [2e154, -2e154, 1e200, 1e300, 1e-200, 5e-300])
def test_flow_corr_of_opposite_series_is_minus_one_at_any_scale(scale):
    """Was -0.0 (products overflowing to inf) or blank (underflow) for these magnitudes."""
    v = RNG.normal(size=60)
    out = F.XA_FLOW_CORR((v * scale).tolist(), (-v * scale).tolist(), 10)
    got = values(out)
    assert np.isnan(got[:9]).all()
    np.testing.assert_allclose(got[9:], -1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("exp", [-1000, -600, 500, 900])
def test_flow_corr_is_exactly_scale_free(exp):
    f, r = RNG.normal(size=80), RNG.normal(size=80)
    base = values(F.XA_FLOW_CORR(f.tolist(), r.tolist(), 20))
    scaled = values(F.XA_FLOW_CORR(np.ldexp(f, exp).tolist(), np.ldexp(r, exp + 7).tolist(), 20))
    np.testing.assert_array_equal(scaled, base)


@pytest.mark.parametrize("scale", [1e200, -1e200, 1e300, 1e-200])
def test_divergence_zscores_at_any_scale(scale):
    """Were all zeros for +-1e200 (squares overflowing) and blank for 1e-200 (underflowing)."""
    e, a = RNG.dirichlet(np.ones(12), 4), RNG.dirichlet(np.ones(12), 4)
    base = np.array(H.XA_DIVERGENCE(e.tolist(), a.tolist()), dtype=float)
    got = np.array(H.XA_DIVERGENCE((e * scale).tolist(), (a * scale).tolist()), dtype=float)
    np.testing.assert_allclose(got, np.sign(scale) * base, rtol=1e-9, atol=1e-9)  # z-scores flip with the sign
    d = e - a
    np.testing.assert_allclose(base, (d - d.mean(axis=1, keepdims=True)) / d.std(axis=1, ddof=1, keepdims=True),
                               rtol=1e-12)


def test_factor_momentum_near_the_largest_float():
    """(y1 + y2) / 2 overflowed for values near 1.7e308: every momentum was blank."""
    y = np.array([1.5e308, 1.7e308, 1.6e308, 1.65e308])
    got = values(Y.XA_FACTOR_MOM(y.tolist()))
    want = [np.nan, np.nan, 1.6e308 - (1.7e308 / 2 + 1.5e308 / 2), 1.65e308 - (1.6e308 / 2 + 1.7e308 / 2)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("func", [Y.XA_HP, Y.XA_HP1S], ids=["XA_HP", "XA_HP1S"])
def test_hp_filters_on_values_near_the_float_limits(func):
    """y - y1 overflowed for +-1e308 data (blank trend); exact power-of-two scaling gives the trend."""
    y = 50 + np.cumsum(RNG.normal(size=120))
    base = values(func(y.tolist(), 100))
    for exp in (-1010, -700, 700, 1015):
        np.testing.assert_array_equal(values(func(np.ldexp(y, exp).tolist(), 100)), np.ldexp(base, exp))
    alternating = [1e308, -1e308] * 10
    got = values(func(alternating, 100))
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got / 1e308, values(func([1.0, -1.0] * 10, 100)), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- a clear message
def test_etf_flow_beyond_the_float_range_is_a_message():
    """shares x nav > 1.8e308 gave a column of blanks with no message."""
    shares = (np.arange(1.0, 11.0) * 2e154).tolist()
    nav = (np.full(10, 3e154)).tolist()
    text = message(F.XA_ETF_FLOW(shares, nav))
    assert "beyond the float range" in text and "row 2" in text
    np.testing.assert_allclose(values(F.XA_ETF_FLOW(shares, [1.0] * 10))[1:], 2e154)   # representable: computed


def test_divergence_raw_difference_beyond_the_float_range_is_a_message():
    text = message(H.XA_DIVERGENCE([[1e308, -1e308, 0.5]], [[-1e308, 1e308, 0.2]], False))
    assert "beyond the float range" in text and "column 1" in text


def test_penetrated_amounts_beyond_the_float_range_are_a_message():
    out = H.XA_PENETRATE([["A", 1e308], ["B", 1e308]], [["A", "s1", 1.0], ["B", "s1", 1.0]], [["s1", "I1"]])
    assert "beyond the float range" in message(out)


def test_style_ratio_beyond_the_float_range_is_a_message():
    """Closes 1e-200 against 1e200: the ratio underflowed to 0 and every regime read 0, silently."""
    y = 100 + np.cumsum(RNG.normal(size=40))
    text = message(Y.XA_STYLE_SIGNAL((y * 1e-200).tolist(), (y * 1e200).tolist()))
    assert "beyond the float range" in text and "week 1" in text


def test_ic_with_a_huge_periods_per_year_is_a_message_and_the_core_computes_it():
    """periods_per_year = 1e30 ended in '#XA! internal error in XA_IC: TypeError'."""
    f, r = RNG.normal(size=(6, 8)), RNG.normal(size=(6, 8))
    assert "periods_per_year must be <= 1048576" in message(S.XA_IC(f.tolist(), r.tolist(), 1e30))
    ic = pd.Series([0.1, 0.3, -0.05, 0.2])
    out = northbound.ic_summary(ic, periods_per_year=10 ** 30)
    assert out["ic_ir_annualised"] == pytest.approx(out["ic_ir"] * 1e15)


@pytest.mark.parametrize("call, fragment", [
    (lambda: S.XA_PCTRANK(RNG.normal(size=30).tolist(), 1e30), "window must be <= 1048576"),
    (lambda: F.XA_FLOW_CORR(RNG.normal(size=30).tolist(), RNG.normal(size=30).tolist(), 1e30),
     "window must be <= 1000"),  # the sheet's corr_window bound (methods.correlation.CORR_WINDOW_RANGE)
    (lambda: S.XA_IC(RNG.normal(size=(5, 6)).tolist(), RNG.normal(size=(5, 6)).tolist(), None, 1e30),
     "more than the 6 columns"),
], ids=["pctrank-window", "flow-corr-window", "ic-min-obs"])
def test_windows_and_counts_no_sheet_can_fill_are_messages(call, fragment):
    """Were a misleading 'numbers out of range ... C long' (XA_PCTRANK) or all-blank results."""
    assert fragment in message(call())


# ----------------------------------------------------------------------------- properties
finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False).filter(lambda v: abs(v) > 1e-3)
series = st.lists(finite, min_size=8, max_size=40)
exps = st.integers(min_value=-1000, max_value=1000)


def _fits(xs, exp) -> bool:
    peak = max(abs(v) for v in xs)
    low = min(abs(v) for v in xs)
    return math.ldexp(peak, exp) < 1e307 and math.ldexp(low, exp) > 1e-300


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(x=series, y=series, exp=exps)
def test_scale_free_functions_give_the_same_cells_for_data_times_a_power_of_two(x, y, exp):
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    if not (_fits(x, exp) and _fits(y, exp)):
        return
    sx, sy = [math.ldexp(v, exp) for v in x], [math.ldexp(v, exp) for v in y]
    k = n // 4
    block_x, block_y = np.array(x[: 4 * k]).reshape(k, 4).tolist(), np.array(y[: 4 * k]).reshape(k, 4).tolist()
    sbx, sby = np.array(sx[: 4 * k]).reshape(k, 4).tolist(), np.array(sy[: 4 * k]).reshape(k, 4).tolist()
    assert F.XA_FLOW_CORR(sx, sy, 5) == F.XA_FLOW_CORR(x, y, 5)
    assert H.XA_DIVERGENCE(sbx, sby) == H.XA_DIVERGENCE(block_x, block_y)
    assert S.XA_PCTRANK(sx, 5) == S.XA_PCTRANK(x, 5)
    assert S.XA_IC(sbx, sby) == S.XA_IC(block_x, block_y)
    # ranking ties within max(1e-9 x the row's largest |value|, 1e-12) (xladdin.methods.ranking): scale-free
    # wherever the 1e-12 floor does not bind, i.e. every row's largest |value| is at least 1e-3
    if min(max(abs(v) for v in row) for row in sbx + block_x) >= 1e-3:
        assert H.XA_QUINTILE(sbx) == H.XA_QUINTILE(block_x)
        assert G.XA_PICKS(sbx, 2) == G.XA_PICKS(block_x, 2)


def test_ranking_below_the_absolute_tie_floor_gives_no_groups():
    """A cross-section whose whole spread is below 1e-12 (rounding noise in natural units) is all tied."""
    row = [3e-13, -2e-13, 1e-13, 0.0, -4e-13]
    assert H.XA_QUINTILE([row]) == [[None] * 5]
    assert H.XA_QUINTILE([[v * 2 ** 50 for v in row]]) == [[5, 2, 4, 3, 1]]  # the same spread above the floor


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(x=series, exp=exps)
def test_linear_functions_scale_exactly_with_the_data(x, exp):
    if not _fits(x, exp):
        return
    sx = [math.ldexp(v, exp) for v in x]
    for func in (Y.XA_HP, Y.XA_HP1S, Y.XA_FACTOR_MOM):
        base, scaled = values(func(x)), values(func(sx))
        np.testing.assert_array_equal(scaled, np.ldexp(base, exp))
