"""Benchmark: one-sided HP filter (M4), O(n) augmented Kalman vs the expanding banded re-solve.

Run: ``.venv/bin/python bench/bench_hp.py [--n 2500] [--repeat 5]``

Both run in this process on the same random walk; the ratio printed is measured here, not
quoted. The baseline re-solves ``(I + lamb D'D) tau = y[:t]`` with a banded Cholesky
(scipy ``solveh_banded``) for every t and keeps the last point (O(n^2)). Timings are the best of
``--repeat`` runs. No assertion on time.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xladdin.filters import hp_filter, hp_filter_one_sided, hp_filter_one_sided_expanding  # noqa: E402
from xladdin.style import DEFAULT_LAMBDA  # noqa: E402


def best_time(func, repeat: int) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2500, help="series length (default 2500)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing, best kept (default 5)")
    parser.add_argument("--lambdas", type=float, nargs="+", default=[DEFAULT_LAMBDA, 1600.0, 1e5, 1e8])
    args = parser.parse_args(argv)

    rng = np.random.default_rng(20250905)
    y = 100.0 + np.cumsum(rng.normal(0.0, 1.0, args.n))
    print(f"one-sided HP, n = {args.n}, best of {args.repeat}; Python {platform.python_version()}, "
          f"numpy {np.__version__}, {platform.machine()}")
    print(f"{'lambda':>10} {'expanding (s)':>14} {'one-sided (ms)':>15} {'speed-up':>9} {'max |diff|/range':>17}")
    for lamb in args.lambdas:
        t_base, base = best_time(lambda: hp_filter_one_sided_expanding(y, lamb), max(1, args.repeat // 2))
        t_fast, fast = best_time(lambda: hp_filter_one_sided(y, lamb), args.repeat * 20)
        diff = np.max(np.abs(fast - base)) / np.ptp(y)
        print(f"{lamb:>10g} {t_base:>14.3f} {t_fast * 1e3:>15.3f} {t_base / t_fast:>8.0f}x {diff:>17.1e}")
    t_two, _ = best_time(lambda: hp_filter(y, DEFAULT_LAMBDA), args.repeat * 20)
    print(f"two-sided HP (banded solve), lambda = {DEFAULT_LAMBDA:g}: {t_two * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
