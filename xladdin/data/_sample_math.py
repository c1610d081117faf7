"""exp, log and log1p that give the same bits on every CPU, for the sample market generator.

numpy picks a SIMD implementation of ``np.exp``, ``np.log``, ``np.log1p`` (and ``np.power``,
``np.expm1``, ...) at run time: on an AVX-512 CPU its results differ by up to an ulp from those of
the AVX2 or baseline code (measured: a different bit pattern on 4 M inputs for each of the three).
The sample market rounds many of its values (prices to the fen, units to hundreds), so one ulp can
move a rounded value and make the "deterministic" sample depend on the machine.

These functions use only IEEE-754 operations whose result is exactly specified (``+ - * /``,
``rint``, ``frexp``, ``ldexp``), so every CPU and platform computes the same bits:

* ``exp(x) = 2**k · 2**(j/32) · P(r)`` with ``n = rint(32·x / ln 2) = 32·k + j``,
  ``r = x − n·ln2_hi/32 − n·ln2_lo/32`` (Cody–Waite: ``n·ln2_hi`` is exact), ``|r| ≤ ln2 / 64``,
  ``P`` the Taylor polynomial of degree 6 (truncation below 4e-18), and the 32 constants
  ``2**(j/32)`` computed once at import by the Taylor polynomial of degree 20;
* ``log(x) = e·ln 2 + 2·atanh(s)``, ``x = m·2**e`` with ``m`` in ``[√½, √2)``, ``s = (m − 1) / (m + 1)``,
  ``2·atanh(s) = 2s·Σ s**(2j) / (2j + 1)``, ``j = 0..11`` (``|s| ≤ 0.172``, truncation below 1e-18);
* ``log1p(x) = log(u) · x / (u − 1)``, ``u = 1 + x`` (``x`` where ``u == 1``), which keeps the
  accuracy of ``log`` for small ``x`` (Goldberg, "What every computer scientist should know about
  floating-point arithmetic", 1991, theorem 4).

Accuracy is a few ulp (tests/test_sample_math.py: against ``math``), which is plenty for a
synthetic market; special values (±inf, NaN, 0, negatives, overflow, underflow) follow numpy.
Results keep a float32 input's dtype (computed in float64, rounded once).
"""
from __future__ import annotations

import numpy as np

__all__ = ["exp", "log", "log1p"]

_LN2_HI = 6.93147180369123816490e-01   # 0x3fe62e42fee00000: 21 trailing zero bits, k·_LN2_HI exact
_LN2_LO = 1.90821492927058770002e-10   # ln 2 − _LN2_HI
_INV_LN2 = 1.44269504088896338700e+00
_EXP_COEF = [1.0 / np.prod(np.arange(1, j + 1, dtype=np.float64)) for j in range(21)]  # 1/j!, j = 0..20
_LOG_COEF = [1.0 / (2 * j + 1) for j in range(12)]                                      # 1/(2j+1)
_SQRT_HALF = 0.70710678118654752440


def _horner(coef: list[float], x: np.ndarray) -> np.ndarray:
    """Σ coef[j]·x**j by Horner's rule, one IEEE operation per step."""
    p = np.full_like(x, coef[-1])
    for c in reversed(coef[:-1]):
        p *= x
        p += c
    return p


def _as_float(x) -> tuple[np.ndarray, np.dtype]:
    a = np.asarray(x)
    dtype = a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    return a.astype(np.float64), dtype


def _out(y: np.ndarray, dtype: np.dtype, scalar: bool):
    y = y.astype(dtype, copy=False)
    return y[()] if scalar else y


def _exp_reduced(r: np.ndarray, degree: int) -> np.ndarray:
    """e**r for small |r|: Taylor polynomial of ``degree``."""
    return _horner(_EXP_COEF[: degree + 1], r)


#: 2**(j/32), j = 0..31: e**(j·ln2/32) by the degree-20 polynomial (|j·ln2/32| < 0.7: truncation < 1e-23)
_TWO_J32 = _exp_reduced(np.arange(32) * (_LN2_HI / 32) + np.arange(32) * (_LN2_LO / 32), 20)


def exp(x):
    """e**x, the same bits on every CPU (see module doc)."""
    a, dtype = _as_float(x)
    finite = bool(np.isfinite(a).all())
    v = np.clip(a if finite else np.where(np.isfinite(a), a, 0.0), -746.0, 710.0)
    n = np.rint(v * (32 * _INV_LN2))
    r = (v - n * (_LN2_HI / 32)) - n * (_LN2_LO / 32)
    ni = n.astype(np.int64)
    y = _exp_reduced(r, 6)
    y *= _TWO_J32[ni & 31]
    with np.errstate(over="ignore"):
        y = np.ldexp(y, (ni >> 5).astype(np.int32))  # past ~709.78: inf; below ~-745: 0
    if not finite:
        y = np.where(np.isfinite(a), y, np.where(np.isnan(a), np.nan, np.where(a > 0, np.inf, 0.0)))
    return _out(y, dtype, np.ndim(x) == 0)


def _log64(a: np.ndarray) -> np.ndarray:
    ok = np.isfinite(a) & (a > 0)
    m, e = np.frexp(np.where(ok, a, 1.0))
    low = m < _SQRT_HALF
    m = np.where(low, m * 2.0, m)
    e = (e - low).astype(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    logm = 2.0 * s * _horner(_LOG_COEF, s * s)
    y = e * _LN2_HI + (e * _LN2_LO + logm)
    special = np.where(a == 0, -np.inf, np.where(a == np.inf, np.inf, np.nan))
    return np.where(ok, y, special)


def log(x):
    """Natural logarithm, the same bits on every CPU (see module doc)."""
    a, dtype = _as_float(x)
    return _out(_log64(a), dtype, np.ndim(x) == 0)


def log1p(x):
    """log(1 + x), accurate for small x, the same bits on every CPU (see module doc)."""
    a, dtype = _as_float(x)
    u = 1.0 + a
    with np.errstate(invalid="ignore", divide="ignore"):
        y = _log64(u) * (a / (u - 1.0))
    y = np.where(u == 1.0, a, y)
    y = np.where(u == np.inf, np.inf, y)
    y = np.where(a == -1.0, -np.inf, y)
    return _out(y, dtype, np.ndim(x) == 0)
