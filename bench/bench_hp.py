"""Benchmark: one-sided HP filter (M4), the core and ``XA_HP1S`` against the expanding banded re-solve.

Run: ``.venv/bin/python bench/bench_hp.py [--n 2500] [--repeat 7] [--lambdas 100 1600 1e5 1e8]``

All in this process on the same random walk; every ratio is measured here, not quoted. The
baseline re-solves ``(I + lamb D'D) tau = y[:t]`` with a banded Cholesky (scipy ``solveh_banded``)
for every t and keeps the last point (the definition, O(n^2)). The core
(:func:`xladdin.methods.filters.hp_filter_one_sided`) is the augmented Kalman filter solved by recursive
doubling; ``XA_HP1S`` is the Excel function, called with what xlwings passes for a one-column range
(a flat list of floats) and returning the list of rows. Timings are medians of ``--repeat`` runs
(the machine is shared). Goals: ``XA_HP1S`` at least 300x faster than the re-solve at n = 2,500,
and the core at least 100x. No assertion on time.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xladdin.methods.filters import hp_filter, hp_filter_one_sided, hp_filter_one_sided_expanding  # noqa: E402
from xladdin.methods.style import DEFAULT_LAMBDA  # noqa: E402
from xladdin_udfs.style import XA_HP1S  # noqa: E402

GOAL_UDF = 300.0
GOAL_CORE = 100.0


def median_time(func, repeat: int) -> tuple[float, object]:
    out = func()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2500, help="series length (default 2500)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per timing, median kept (default 7)")
    parser.add_argument("--lambdas", type=float, nargs="+", default=[DEFAULT_LAMBDA, 1600.0, 1e5, 1e8])
    args = parser.parse_args(argv)

    rng = np.random.default_rng(20250905)
    y = 100.0 + np.cumsum(rng.normal(0.0, 1.0, args.n))
    cells = y.tolist()
    print(f"one-sided HP, n = {args.n}, median of {args.repeat}; Python {platform.python_version()}, "
          f"numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'lambda':>10} {'expanding (s)':>14} {'core (ms)':>10} {'core x':>8} {'XA_HP1S (ms)':>13} "
          f"{'XA_HP1S x':>10} {'goals (core >= 100x, XA_HP1S >= 300x)':>40} {'max |diff|/range':>17}")
    for lamb in args.lambdas:
        t_base, base = median_time(lambda lamb=lamb: hp_filter_one_sided_expanding(y, lamb), max(1, args.repeat // 2))
        t_core, fast = median_time(lambda lamb=lamb: hp_filter_one_sided(y, lamb), args.repeat * 20)
        t_udf, rows = median_time(lambda lamb=lamb: XA_HP1S(cells, lamb), args.repeat * 20)
        got = np.array([r[0] for r in rows], dtype=float)
        assert np.array_equal(got, fast), "XA_HP1S must return the core's numbers"
        diff = np.max(np.abs(fast - base)) / np.ptp(y)
        core_x, udf_x = t_base / t_core, t_base / t_udf
        goals = (f"core {'met' if core_x >= GOAL_CORE else 'MISSED'}, "
                 f"XA_HP1S {'met' if udf_x >= GOAL_UDF else 'MISSED'}")
        print(f"{lamb:>10g} {t_base:>14.3f} {t_core * 1e3:>10.3f} {core_x:>7.0f}x {t_udf * 1e3:>13.3f} "
              f"{udf_x:>9.0f}x {goals:>40} {diff:>17.1e}")
    t_two, _ = median_time(lambda: hp_filter(y, DEFAULT_LAMBDA), args.repeat * 20)
    print(f"two-sided HP (banded solve), lambda = {DEFAULT_LAMBDA:g}: {t_two * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
