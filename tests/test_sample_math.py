"""The sample generator's exp/log/log1p (xladdin.data._sample_math) against Python's math module.

Their point is to give the same bits on every CPU (tests/test_sample_cpu.py checks that on the whole
sample); here: they are accurate to a few ulp of the C library's functions, and treat special values
as numpy does.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from xladdin.data import _sample_math as sm

RNG = np.random.default_rng(12)


def ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.abs(got - ref) / np.spacing(np.abs(ref))


@pytest.mark.parametrize("x", [RNG.uniform(-700, 700, 20_000), RNG.normal(0, 1, 20_000), RNG.normal(0, 1e-6, 5_000),
                               np.array([0.0, 1.0, -1.0, 1e-300, -1e-300, 709.7, -708.0, 0.5 * math.log(2)])])
def test_exp_within_two_ulp_of_math(x):
    assert ulps(sm.exp(x), np.array([math.exp(v) for v in x])).max() <= 2


@pytest.mark.parametrize("x", [np.exp(RNG.uniform(-700, 700, 20_000)), RNG.uniform(0.5, 2.0, 20_000),
                               1 + RNG.normal(0, 1e-9, 5_000), np.array([5e-324, 2.2e-308, 1.0, 2.0, 1.7e308])])
def test_log_within_four_ulp_of_math(x):
    assert ulps(sm.log(x), np.array([math.log(v) for v in x])).max() <= 4


@pytest.mark.parametrize("x", [RNG.normal(0, 0.03, 20_000), RNG.normal(0, 1e-12, 5_000), RNG.uniform(-0.999, 1e6, 20_000)])
def test_log1p_within_four_ulp_of_math_also_for_tiny_arguments(x):
    assert ulps(sm.log1p(x), np.array([math.log1p(v) for v in x])).max() <= 4


def test_special_values_follow_numpy():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -1.0, 1000.0, -1000.0, -2.0])
    with np.errstate(all="ignore"):
        for ours, theirs in ((sm.exp, np.exp), (sm.log, np.log), (sm.log1p, np.log1p)):
            np.testing.assert_array_equal(ours(x), theirs(x), err_msg=ours.__name__)


def test_dtype_and_scalars():
    assert sm.exp(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert sm.log(np.array([1, 2, 3])).dtype == np.float64
    assert isinstance(sm.log1p(0.5), np.floating) and sm.exp(0.0) == 1.0
    assert sm.exp(np.ones((2, 3))).shape == (2, 3)
