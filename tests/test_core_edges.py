"""Edge cases found by the UDF fuzzing, pinned in the core."""
import numpy as np
import pytest

from xladdin.filters import hp_filter
from xladdin.performance import annualise


def test_two_sided_hp_huge_lambda_tends_to_the_line_then_refuses():
    """λ → ∞: the HP trend tends to the least-squares line (numpy's polyfit, independent); beyond what
    double precision can solve the error names lambda. Each λ has one expected outcome."""
    y = np.cumsum(np.random.default_rng(0).standard_normal(2500))
    x = np.arange(y.size)
    line = np.polyval(np.polyfit(x, y, 1), x)
    span = np.ptp(y)
    assert np.abs(hp_filter(y, 1e13) - line).max() < 1e-3 * span
    # 1e15 still solves but double precision is worn thin: within 1% of the line, not 1e-6
    assert np.abs(hp_filter(y, 1e15) - line).max() < 1e-2 * span
    with pytest.raises(ValueError, match="lambda 1e\\+18 is too large"):
        hp_filter(y, 1e18)


def test_annualise_overflow_is_inf_not_exception():
    assert annualise(700.0, 1) == np.inf
    assert annualise(0.1, 252) == pytest.approx(0.1)
