"""The embedded sample market is the same, bit for bit, whatever SIMD code numpy and OpenBLAS pick.

Issue #22: the sample's active funds drew their weights in the order ``np.argpartition`` returned
their stocks, an order numpy's AVX-512, AVX2 and baseline code paths do not share; and numpy's SIMD
``exp``/``log``/``log1p`` differ by an ulp between those paths (which moves a rounded value now and
then). On an AVX-512 machine the golden figures and docs/results.md's sample figures came out
different (M10 4.11 % instead of 4.47 %).

This test generates the sample in two processes: one with every numpy SIMD extension above the build's
baseline disabled (``NPY_DISABLE_CPU_FEATURES``, the list read from this machine's numpy) and
OpenBLAS on a conservative kernel (``OPENBLAS_CORETYPE=Nehalem``), one as the machine runs; every
table must be identical. On the code before the fix it fails on an AVX-512 machine and on an AVX2-only
one (disabling AVX2 alone changes argpartition's order: checked on 2026-12-06).
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pandas as pd
import pytest

#: (scale, start, end): the small sample as every command uses it, and the full scale over 15 months
#: (a quarter end for the funds, the 510310.SH consolidation, month ends for the index weights)
CASES = [("small", "2016-01-01", "2026-10-31"), ("full", "2024-01-01", "2025-03-31")]

_GENERATE = """
import pickle, sys
from xladdin.data.sample import generate_market
cases = pickle.loads(bytes.fromhex(sys.argv[1]))
out = {case: dict(generate_market(case[0], start=case[1], end=case[2]).tables) for case in cases}
with open(sys.argv[2], "wb") as f:
    pickle.dump(out, f)
"""

_FEATURES = """
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
print(" ".join(f for f in __cpu_dispatch__ if __cpu_features__.get(f)))
"""


def simd_beyond_baseline() -> list[str]:
    """numpy's dispatch targets enabled on this machine (those above the build's baseline)."""
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    res = subprocess.run([sys.executable, "-c", _FEATURES], capture_output=True, text=True, env=env, check=True)
    return res.stdout.split()


def start_generation(out, env_extra: dict[str, str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")}
    env.update(env_extra)
    return subprocess.Popen([sys.executable, "-c", _GENERATE, pickle.dumps(CASES).hex(), str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sample_is_identical_with_simd_disabled_and_a_conservative_blas_kernel(tmp_path):
    features = simd_beyond_baseline()
    if not features:
        pytest.skip("numpy runs its baseline code on this CPU: nothing to disable, no second code path to compare")
    runs = {"machine": start_generation(tmp_path / "machine.pkl", {}),
            "baseline": start_generation(tmp_path / "baseline.pkl", {"NPY_DISABLE_CPU_FEATURES": " ".join(features),
                                                                     "OPENBLAS_CORETYPE": "Nehalem"})}
    for name, proc in runs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name} run failed:\n{err}"
    machine = pickle.loads((tmp_path / "machine.pkl").read_bytes())
    baseline = pickle.loads((tmp_path / "baseline.pkl").read_bytes())
    for case in CASES:
        for table, df in machine[case].items():
            other = baseline[case][table]
            # exact: floats compared bit for bit (NaN equal to NaN), dtypes and order included
            pd.testing.assert_frame_equal(df, other, check_exact=True, obj=f"{case[0]} sample, {table} "
                                          f"(numpy SIMD {' '.join(features)} on vs off)")
