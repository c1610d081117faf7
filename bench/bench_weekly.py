"""Benchmark: ``xladdin weekly`` end to end against a bare pyarrow read of the same files.

Run: ``.venv/bin/python bench/bench_weekly.py [--data DIR] [--repeat 5] [--before TREE] [--profile]``

Goal (issue 14): on the full-scale sample (``xladdin sample DIR --scale full``, parquet), the whole
``xladdin weekly`` (start-up, load, checks, compute, write) takes at most **2x** a bare pyarrow read of
the same files, start-up included in both, each in a fresh process, timed in the same run; and at
most **2 GB** (2e9 bytes = 1,907 MiB) peak resident memory.

1. The data: ``--data DIR`` (a full-scale sample already generated, e.g. under /tmp), else one
   generated once with ``xladdin sample --scale full --format parquet`` into a cache folder
   (``$XDG_CACHE_HOME/xladdin-bench`` or ``~/.cache/xladdin-bench``; about 40 s and 3.6 GB) and reused.
2. ``--repeat`` rounds (default 6), each in fresh processes, the order changing from round to round (:func:`round_order`):
   * baseline: ``python -c <bare read>``: ``pyarrow.parquet.read_table`` of every ``.parquet`` file of
     the folder (all rows, all columns, pyarrow's default threads), the interpreter's start-up and
     ``import pyarrow.parquet`` included;
   * ``python -m xladdin weekly --data DIR --out TMP --no-progress --timings-json FILE``;
   * with ``--before TREE`` (another source tree of xladdin, e.g. ``git archive COMMIT | tar -x -C TREE``):
     the same command run from that tree (``cwd=TREE``, so ``python -m`` imports its ``xladdin``), in the
     same rounds: a before/after comparison that sees the same load as the baseline.
   Both trees are byte-compiled first (``compileall``), as an installed package is: where
   ``PYTHONDONTWRITEBYTECODE`` is set, a tree without ``.pyc`` files would compile every module it
   imports on every run (0.1-0.2 s of CPU measured), which is no cost a user's install pays.
   Wall time is ``time.perf_counter`` around the subprocess; CPU time is the child's user + system
   time; peak memory is the child's maximum resident set size (``/usr/bin/time -v`` when present, else
   ``getrusage(RUSAGE_CHILDREN)``).
3. Prints every run, the medians, the ratio of the medians against 2x (and the median of the
   per-round ratios), the largest peak memory against 2 GB, the job's own per-step times (the
   median run's ``--timings-json``; the M14 crowding step on its own line, beside the two compute
   threads' totals) and the load average before and after (the machine is shared:
   other developers' test suites slow both sides, the multi-threaded baseline more). No assertion.
   ``--profile`` adds a cProfile of one run: the xladdin functions with the largest cumulative time.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
GOAL_RATIO = 2.0
#: the budget issue 27 set for the weekly job with M14 (its "current budget": <= 3x the bare read)
BUDGET_RATIO = 3.0
GOAL_BYTES = 2e9
GOAL_MIB = GOAL_BYTES / 2**20  # 1,907 MiB
TIME_BIN = "/usr/bin/time"

WRAPPER = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "peak_kb": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime}), file=sys.stderr)
"""

#: the baseline: a bare pyarrow read of every parquet file of the folder
BARE_READ = r"""
import sys
from pathlib import Path
import pyarrow.parquet as pq
rows = 0
for p in sorted(Path(sys.argv[1]).glob("*.parquet")):
    rows += pq.read_table(p).num_rows
print(f"{rows} rows read")
"""


@dataclass
class Run:
    label: str
    wall: float
    peak_mib: float
    rc: int
    stdout: str
    stderr: str
    timings: dict | None = None
    cpu: float = float("nan")  # user + system seconds of the child


def measure(label: str, cmd: list[str], cwd: Path = ROOT) -> Run:
    """Run ``cmd`` in a fresh subprocess: wall time, the child's CPU time and peak resident memory."""
    use_time = Path(TIME_BIN).is_file() and os.access(TIME_BIN, os.X_OK)
    full = [TIME_BIN, "-v", *cmd] if use_time else [PY, "-c", WRAPPER, *cmd]
    t = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - t
    err = proc.stderr
    if use_time:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
        peak_kb, rc = (float(m.group(1)) if m else float("nan")), proc.returncode
        if rc == 0:
            m = re.search(r"Exit status: (\d+)", err)
            rc = int(m.group(1)) if m else rc
        cpu = sum(float(m.group(1)) for m in re.finditer(r"(?:User|System) time \(seconds\): ([\d.]+)", err))
    else:
        info = json.loads(err.strip().splitlines()[-1])
        peak_kb, rc, wall, cpu = float(info["peak_kb"]), int(info["rc"]), float(info["wall"]), float(info["cpu"])
    return Run(label, wall, peak_kb / 1024.0, rc, proc.stdout, err, cpu=cpu)


def tree_pss_peak(cmd: list[str], cwd: Path, every: float = 0.02) -> float | None:
    """Run ``cmd`` once and sample, every ``every`` seconds, the proportional set size (PSS) of it and of every
    process it forked (``/proc/<pid>/smaps_rollup``): the largest sum, MiB. The sum of PSS counts a page shared
    by a forked child once, so it is the memory the job's processes take together; the peak resident size of
    each process alone misses a child's own pages. None where ``/proc`` has no ``smaps_rollup`` (not Linux)."""
    if not Path("/proc/self/smaps_rollup").is_file():
        return None

    def tree(pid: int) -> list[int]:
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            out.append(p)
            try:
                tasks = list(Path(f"/proc/{p}/task").iterdir())
            except OSError:  # the process ended meanwhile (its children are reparented: not the job's any more)
                continue
            for task in tasks:
                try:
                    todo += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    pass
        return out

    def pss(pid: int) -> int:
        try:
            m = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M)
        except OSError:  # the process ended meanwhile
            return 0
        return int(m.group(1)) if m else 0
    peak = 0
    with tempfile.TemporaryDirectory(prefix="xladdin-bench-") as d:
        proc = subprocess.Popen([*cmd, "--out", str(Path(d) / "out")], cwd=cwd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            peak = max(peak, sum(pss(p) for p in tree(proc.pid)))
            time.sleep(every)
    return peak / 1024.0


def round_order(sides: list, i: int) -> list:
    """Round ``i``'s order of ``sides``: their rotations, then the rotations of ``sides`` reversed, and again. Over
    ``2 * len(sides)`` rounds every side runs in each place, and right after each other side, equally often: a
    run's time depends on the one before it (the memory that run just gave back), and with three sides rotations
    alone put the weekly job after the bare read in two rounds of three, the other tree's in one (its median
    came out 0.1-0.3 s faster than the same code's, bench/README.md "Sixth round")."""
    k = len(sides)
    base = sides if (i // k) % 2 == 0 else sides[::-1]
    return base[i % k:] + base[:i % k]


def bare_read(data: Path) -> Run:
    run = measure("bare pyarrow read", [PY, "-c", BARE_READ, str(data)])
    if run.rc != 0:
        raise SystemExit(f"the bare read failed (exit {run.rc}):\n{run.stderr[-3000:]}")
    return run


def entry(tree: Path) -> str:
    """The module ``python -m`` runs as the command line of ``tree``: ``xladdin``, or in a tree from before
    ``xladdin/__main__.py`` existed its target, ``xladdin.ops.cli``."""
    return "xladdin" if (tree / "xladdin" / "__main__.py").is_file() else "xladdin.ops.cli"


def weekly(data: Path, tree: Path = ROOT) -> Run:
    with tempfile.TemporaryDirectory(prefix="xladdin-bench-") as d:
        tj = Path(d) / "timings.json"
        run = measure("xladdin weekly", [PY, "-m", entry(tree), "weekly", "--data", str(data), "--out",
                                         str(Path(d) / "out"), "--no-progress", "--timings-json", str(tj)], cwd=tree)
        if run.rc != 0:
            raise SystemExit(f"xladdin weekly failed (exit {run.rc}):\n{run.stderr[-3000:]}")
        run.timings = json.loads(tj.read_text(encoding="utf-8"))
    return run


def ensure_data(cache: Path, seed: int | None) -> Path:
    """The cached full-scale parquet sample (generated on first use)."""
    final = cache / f"full-{seed or 'default'}-parquet"
    if (final / ".complete").is_file():
        return final
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".full.", dir=cache))
    cmd = [PY, "-m", "xladdin", "sample", str(tmp), "--scale", "full", "--format", "parquet"]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    print(f"generating the full-scale sample into {final} (about 40 s, 3.6 GB) ...", flush=True)
    t = time.perf_counter()
    try:
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit(f"xladdin sample failed:\n{exc.stderr}") from None
    (tmp / ".complete").write_text(f"{time.perf_counter() - t:.1f}\n", encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def profile(data: Path, top: int) -> str:
    """cProfile of one run; the ``top`` xladdin functions by cumulative time."""
    import pstats
    with tempfile.TemporaryDirectory(prefix="xladdin-prof-") as d:
        prof = Path(d) / "weekly.prof"
        subprocess.run([PY, "-m", "cProfile", "-o", str(prof), "-m", "xladdin", "weekly", "--data", str(data),
                        "--out", str(Path(d) / "out"), "--no-progress"], check=True, cwd=ROOT, capture_output=True)
        rows = [(ct, tt, nc, f"{Path(f).parent.name}/{Path(f).name}:{line} {fn}")
                for (f, line, fn), (cc, nc, tt, ct, _) in pstats.Stats(str(prof)).stats.items()
                if "/xladdin/" in f and "/commands/" not in f and not f.endswith(("jobs.py", "cli.py"))]
    rows.sort(reverse=True)
    out = ["| cumulative s | own s | calls | function |", "|---:|---:|---:|---|"]
    return "\n".join(out + [f"| {ct:,.2f} | {tt:,.2f} | {nc:,} | `{name}` |" for ct, tt, nc, name in rows[:top]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", metavar="DIR", help="a full-scale parquet sample already generated (else cached)")
    parser.add_argument("--cache", metavar="DIR", help="where the generated sample is kept (default ~/.cache/xladdin-bench)")
    parser.add_argument("--seed", type=int, help="sample seed (default: xladdin's default seed)")
    parser.add_argument("--repeat", type=int, default=6,
                        help="rounds of (bare read, weekly), order rotating (default 6; a multiple of 2 x the sides, "
                             "4 or 6 with --before, gives every side each place and predecessor equally often)")
    parser.add_argument("--before", metavar="TREE",
                        help="another xladdin source tree (e.g. `git archive COMMIT | tar -x -C TREE`): its weekly job "
                             "runs in the same rounds, for a before/after comparison under the same load")
    parser.add_argument("--profile", action="store_true", help="also profile one run with cProfile")
    parser.add_argument("--top", type=int, default=20, help="functions listed by --profile (default 20)")
    args = parser.parse_args(argv)

    import numpy
    import pandas
    import pyarrow
    cache = Path(args.cache) if args.cache else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xladdin-bench"
    data = Path(args.data) if args.data else ensure_data(cache, args.seed)
    files = sorted(data.glob("*.parquet"))
    if not files:
        raise SystemExit(f"{data}: no parquet files (generate them with `xladdin sample DIR --scale full`)")
    before = Path(args.before).resolve() if args.before else None
    if before is not None and not (before / "xladdin" / "ops" / "cli.py").is_file():
        raise SystemExit(f"--before {before}: not an xladdin source tree with the layers (no xladdin/ops/cli.py)")
    print(f"# xladdin weekly against a bare pyarrow read\n\nPython {platform.python_version()}, pandas "
          f"{pandas.__version__}, numpy {numpy.__version__}, pyarrow {pyarrow.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} CPU(s); data {data}: {len(files)} parquet files, "
          f"{sum(p.stat().st_size for p in files) / 2**20:,.0f} MiB; load average before: {loadavg()}\n")

    for tree in (ROOT, before):
        if tree is not None:
            compileall.compile_dir(tree / "xladdin", quiet=1)
    sides: list[tuple[str, Callable[[], Run]]] = [("bare read", lambda: bare_read(data)), ("weekly", lambda: weekly(data))]
    if before is not None:
        sides.append(("weekly before", lambda: weekly(data, before)))
    runs: dict[str, list[Run]] = {name: [] for name, _ in sides}
    for i in range(args.repeat):
        for name, fn in round_order(sides, i):
            runs[name].append(fn())
        print(f"round {i + 1}: " + ", ".join(f"{name} {runs[name][-1].wall:.2f} s" for name, _ in sides)
              + f" (ratio {runs['weekly'][-1].wall / runs['bare read'][-1].wall:.2f}"
              + (f", before {runs['weekly before'][-1].wall / runs['bare read'][-1].wall:.2f}" if before else "")
              + f"), load average {loadavg()}", flush=True)
    reads, weeklies = runs["bare read"], runs["weekly"]

    med_read = statistics.median(r.wall for r in reads)
    med_weekly = statistics.median(r.wall for r in weeklies)
    ratio = med_weekly / med_read
    pair_ratio = statistics.median(w.wall / r.wall for w, r in zip(weeklies, reads))
    peak = max(r.peak_mib for r in weeklies)
    rows = re.search(r"(\d+) rows read", reads[0].stdout)

    def cpu(rs: list[Run]) -> str:
        return f"{statistics.median(r.cpu for r in rs):.2f} s"
    print(f"\nload average after: {loadavg()}\n")
    print("| run | median wall | every run (s) | median CPU (user + system) | peak memory |\n|---|---:|---|---:|---:|")
    print(f"| bare pyarrow read of the {len(files)} files ({int(rows.group(1)) if rows else 0:,} rows) | {med_read:.2f} s | "
          + ", ".join(f"{r.wall:.2f}" for r in reads) + f" | {cpu(reads)} | {max(r.peak_mib for r in reads):,.0f} MiB |")
    if before is not None:
        bw = runs["weekly before"]
        print(f"| `xladdin weekly` of {before} | {statistics.median(r.wall for r in bw):.2f} s | "
              + ", ".join(f"{r.wall:.2f}" for r in bw) + f" | {cpu(bw)} | {max(r.peak_mib for r in bw):,.0f} MiB |")
    print(f"| **`xladdin weekly`** | **{med_weekly:.2f} s** | " + ", ".join(f"{r.wall:.2f}" for r in weeklies)
          + f" | {cpu(weeklies)} | **{peak:,.0f} MiB** |")
    ok_t = "met" if ratio <= GOAL_RATIO else "missed"
    ok_m = "met" if peak <= GOAL_MIB else "missed"
    if before is not None:
        bw = runs["weekly before"]
        print(f"\nbefore: weekly / bare read = {statistics.median(r.wall for r in bw) / med_read:.2f}x (median of the "
              f"per-round ratios {statistics.median(w.wall / r.wall for w, r in zip(bw, reads)):.2f}x)")
    print(f"\nweekly / bare read = {ratio:.2f}x (median of the per-round ratios {pair_ratio:.2f}x); goal <= "
          f"{GOAL_RATIO:g}x: **{ok_t}**")
    print(f"against issue 27's budget (<= {BUDGET_RATIO:g}x): **{'met' if ratio <= BUDGET_RATIO else 'missed'}**")
    print(f"peak memory {peak:,.0f} MiB = {peak * 2**20 / 1e9:.2f} GB; goal <= 2 GB ({GOAL_MIB:,.0f} MiB): **{ok_m}**")
    trees = [("weekly", ROOT)] + ([("weekly before", before)] if before is not None else [])
    for name, tree in trees:  # one more run each, sampled from outside: the processes' memory together
        together = tree_pss_peak([PY, "-m", entry(tree), "weekly", "--data", str(data), "--no-progress"], tree)
        if together is not None:
            print(f"{name}: peak memory of its processes together (sum of PSS, sampled every 20 ms) "
                  f"{together:,.0f} MiB; goal <= {GOAL_MIB:,.0f} MiB: **{'met' if together <= GOAL_MIB else 'missed'}**")

    med_run = sorted(weeklies, key=lambda r: r.wall)[(len(weeklies) - 1) // 2]
    info = med_run.timings
    steps = info["steps"]
    total = sum(steps.values())
    print(f"\nInside the median weekly run ({med_run.wall:.2f} s wall; the rest is start-up and exit):\n")
    print("| step | seconds | share | peak memory after | slowest unit |\n|---|---:|---:|---:|---|")
    for step, secs in steps.items():
        units = info["units"].get(step) or {}
        top = max(units, key=units.get) if units else ""
        print(f"| {step} | {secs:.2f} | {secs / total:.0%} | {info.get('memory', {}).get(step, float('nan')):,.0f} MiB | "
              + (f"{top} ({units[top]:.2f} s)" if top else "") + " |")
    print(f"| total | {total:.2f} | 100% | {info['peak_rss_mb']:,.0f} MiB | |")
    if "compute" in info["units"]:
        units = info["units"]["compute"]
        print("\ncompute units: " + ", ".join(f"{u} {t:.2f} s" for u, t in units.items()))
        if "crowding" in units:  # M14, in the second lane after the dashboard
            side = sum(units.get(u, 0.0) for u in ("dashboard", "crowding"))
            main = sum(units.values()) - side
            print(f"M14 crowding step: {units['crowding']:.2f} s (second lane: dashboard + crowding {side:.2f} s, "
                  f"the other steps {main:.2f} s in the first)")
    if args.profile:
        print(f"\nProfile (cProfile, one run); top {args.top} xladdin functions by cumulative time:\n")
        print(profile(data, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
