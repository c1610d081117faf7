"""Edge cases found by the UDF fuzzing, pinned in the core."""
import numpy as np
import pytest

from xladdin.filters import hp_filter
from xladdin.performance import annualise


def test_two_sided_hp_huge_lambda_raises_readable_error_or_solves():
    y = np.cumsum(np.random.default_rng(0).standard_normal(2500))
    for lamb in (1e13, 1e15, 1e18):
        try:
            out = hp_filter(y, lamb)
        except ValueError as exc:
            assert "too large" in str(exc) and "lambda" in str(exc)
        else:
            assert np.isfinite(out).all()


def test_annualise_overflow_is_inf_not_exception():
    assert annualise(700.0, 1) == np.inf
    assert annualise(0.1, 252) == pytest.approx(0.1)
