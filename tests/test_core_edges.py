"""Edge cases found by the UDF fuzzing, pinned in the core."""
import numpy as np
import pytest

from xladdin.performance import annualise


def test_annualise_overflow_is_inf_not_exception():
    assert annualise(700.0, 1) == np.inf
    assert annualise(0.1, 252) == pytest.approx(0.1)
