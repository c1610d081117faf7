"""Benchmark: ``xladdin weekly`` end to end on ``xladdin sample --scale full`` data.

Run: ``.venv/bin/python bench/bench_weekly.py [--format parquet csv] [--cache DIR] [--repeat 3] [--profile]``

1. Generates the full-scale (and the small) synthetic market once with ``xladdin sample`` into a
   cache folder (default ``$XDG_CACHE_HOME/xladdin-bench``, else ``~/.cache/xladdin-bench``) and
   reuses it on later runs.
2. Measures, each in a fresh subprocess (so start-up, imports and memory are counted):
   * ``startup``: ``python -m xladdin.cli weekly --help`` (interpreter + imports, the fixed cost);
   * ``io floor``: the bare ``pandas.read_parquet`` / ``pandas.read_csv`` of the same files;
   * ``weekly``: ``python -m xladdin.cli weekly --data DIR --out TMP --timings-json FILE`` on the
     full-scale data and, as a baseline, on the small-scale data.
   Wall time is ``time.perf_counter`` around the subprocess; peak memory is the child's maximum
   resident set size (``/usr/bin/time -v`` when present, else ``getrusage(RUSAGE_CHILDREN)``
   measured by a wrapper process).
3. Prints the per-step times of the full run (from the job's own ``--timings-json``), the slowest
   step and unit, ratios against the baselines measured in this same run, and the goal (10 s,
   2 GB = 2·10⁹ bytes, i.e. 1,907 MiB) as text. Each weekly run is repeated ``--repeat`` times
   (default 3): every wall time is printed, the goal is judged on the median wall time and on the
   largest peak memory. With ``--profile`` the full run is repeated under cProfile and the top
   functions of ``xladdin`` are listed. No assertion on time.

The machine's load average is printed before and after: numbers taken while other jobs run on the
same cores are slower than on an idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
GOAL_SECONDS = 10.0
GOAL_MB = 2e9 / 2**20  # 2 GB (decimal) in MiB: 1,907
TIME_BIN = "/usr/bin/time"

WRAPPER = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": rc, "wall": wall, "peak_kb": peak}), file=sys.stderr)
"""

IO_FLOOR = r"""
import sys, time
from pathlib import Path
import pandas as pd
t = time.perf_counter()
rows = 0
for p in sorted(Path(sys.argv[1]).iterdir()):
    if p.suffix == ".parquet":
        rows += len(pd.read_parquet(p))
    elif p.suffix == ".csv":
        rows += len(pd.read_csv(p))
print(f"{rows} rows read in {time.perf_counter() - t:.3f} s")
"""


@dataclass
class Measure:
    label: str
    wall: float
    peak_mb: float
    rc: int
    stdout: str
    stderr: str


def measure(label: str, cmd: list[str], env: dict | None = None) -> Measure:
    """Run ``cmd`` in a subprocess; wall time and the child's peak RSS."""
    env = {**os.environ, **(env or {})}
    use_time = Path(TIME_BIN).is_file() and os.access(TIME_BIN, os.X_OK)
    full = [TIME_BIN, "-v", *cmd] if use_time else [PY, "-c", WRAPPER, *cmd]
    t = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t
    err = proc.stderr
    if use_time:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
        peak_kb = float(m.group(1)) if m else float("nan")
        rc = proc.returncode
    else:
        info = json.loads(err.strip().splitlines()[-1])
        peak_kb, rc, wall = float(info["peak_kb"]), int(info["rc"]), float(info["wall"])
    return Measure(label, wall, peak_kb / 1024.0, rc, proc.stdout, err)


def cache_root(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xladdin-bench"


def ensure_data(cache: Path, scale: str, fmt: str, seed: int | None) -> tuple[Path, float | None]:
    """The cached sample folder (generated on first use); seconds spent generating, None if cached."""
    name = f"{scale}-{seed or 'default'}-{fmt}"
    final = cache / name
    if (final / ".complete").is_file():
        return final, None
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=cache))
    cmd = [PY, "-m", "xladdin.cli", "sample", str(tmp), "--scale", scale, "--format", fmt]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    print(f"generating {scale}-scale sample ({fmt}) into {final} ...", flush=True)
    t = time.perf_counter()
    try:
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit(f"xladdin sample failed:\n{exc.stderr}") from None
    took = time.perf_counter() - t
    (tmp / ".complete").write_text(f"{took:.1f}\n", encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final, took


def data_size(folder: Path) -> tuple[int, float]:
    files = [p for p in folder.iterdir() if p.suffix in (".csv", ".parquet")]
    return len(files), sum(p.stat().st_size for p in files) / 2**20


def run_weekly(label: str, data: Path, repeat: int, extra: list[str] | None = None) -> tuple[Measure, dict, list[Measure]]:
    """``repeat`` runs of ``xladdin weekly`` on ``data``: the median run (by wall time) with its timings
    JSON, and every run."""
    runs: list[tuple[Measure, dict]] = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="xladdin-bench-") as d:
            tj = Path(d) / "timings.json"
            cmd = [PY, *(extra or []), "-m", "xladdin.cli", "weekly", "--data", str(data), "--out", str(Path(d) / "out"),
                   "--no-progress", "--timings-json", str(tj)]
            m = measure(label, cmd)
            if m.rc != 0:
                raise SystemExit(f"{label}: xladdin weekly failed (exit {m.rc}):\n{m.stderr[-3000:]}")
            info = json.loads(tj.read_text(encoding="utf-8"))
        runs.append((m, info))
    ordered = sorted(runs, key=lambda r: r[0].wall)
    median, median_json = ordered[(len(ordered) - 1) // 2]
    return median, median_json, [m for m, _ in runs]


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def fmt_s(x: float) -> str:
    return f"{x:,.2f} s"


def profile(data: Path, top: int) -> str:
    """cProfile of one full run; the ``top`` xladdin functions by cumulative time."""
    import pstats
    with tempfile.TemporaryDirectory(prefix="xladdin-prof-") as d:
        prof = Path(d) / "weekly.prof"
        cmd = [PY, "-m", "cProfile", "-o", str(prof), "-m", "xladdin.cli", "weekly", "--data", str(data),
               "--out", str(Path(d) / "out"), "--no-progress"]
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
        st = pstats.Stats(str(prof))
        rows = []
        for (file, line, func), (cc, nc, tt, ct, callers) in st.stats.items():
            if "/xladdin/" in file and "/commands/" not in file and not file.endswith(("jobs.py", "cli.py")):
                rows.append((ct, tt, nc, f"{Path(file).parent.name}/{Path(file).name}:{line} {func}"))
        rows.sort(reverse=True)
        out = [f"| cumulative s | own s | calls | function |", "|---:|---:|---:|---|"]
        out += [f"| {ct:,.2f} | {tt:,.2f} | {nc:,} | `{name}` |" for ct, tt, nc, name in rows[:top]]
        return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", metavar="DIR", help="where the generated samples are kept (reused)")
    parser.add_argument("--format", dest="formats", nargs="+", choices=["parquet", "csv"], default=["parquet"],
                        help="file format(s) of the full-scale data to benchmark (default parquet)")
    parser.add_argument("--seed", type=int, help="sample seed (default: xladdin's default seed)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each weekly measurement; the median is reported (default 3)")
    parser.add_argument("--skip-small", action="store_true", help="no small-scale baseline run")
    parser.add_argument("--profile", action="store_true", help="also profile one full run with cProfile")
    parser.add_argument("--top", type=int, default=20, help="functions listed by --profile (default 20)")
    args = parser.parse_args(argv)

    import numpy
    import pandas
    print(f"# xladdin weekly benchmark\n\nPython {platform.python_version()}, pandas {pandas.__version__}, "
          f"numpy {numpy.__version__}, {platform.machine()}, {os.cpu_count()} CPU(s); "
          f"load average before: {loadavg()}")
    cache = cache_root(args.cache)
    small = None
    if not args.skip_small:
        small, took = ensure_data(cache, "small", "parquet", args.seed)
    fulls = {}
    for fmt in args.formats:
        fulls[fmt], took = ensure_data(cache, "full", fmt, args.seed)
        if took is not None:
            print(f"generated the full-scale sample ({fmt}) in {took:.1f} s")

    startup = measure("startup", [PY, "-m", "xladdin.cli", "weekly", "--help"])
    results = []
    for fmt, data in fulls.items():
        nfiles, mb = data_size(data)
        floor = measure(f"io floor ({fmt})", [PY, "-c", IO_FLOOR, str(data)])
        m, info, runs = run_weekly(f"weekly full ({fmt})", data, args.repeat)
        results.append((fmt, data, nfiles, mb, floor, m, info, runs))
    base = None
    if small is not None:
        base, base_info, _ = run_weekly("weekly small (parquet)", small, args.repeat)

    print(f"\nload average after: {loadavg()}\n")
    print("| run | wall | peak memory | notes |\n|---|---:|---:|---|")
    print(f"| start-up (`xladdin weekly --help`) | {fmt_s(startup.wall)} | {startup.peak_mb:,.0f} MiB | interpreter + imports |")
    for fmt, data, nfiles, mb, floor, m, info, runs in results:
        found = re.search(r"(\d+) rows read", floor.stdout)
        file_rows = int(found.group(1)) if found else float("nan")
        rows = sum(info["rows"].values())
        print(f"| I/O floor: bare `read_{fmt}` of the {nfiles} files | {fmt_s(floor.wall)} | {floor.peak_mb:,.0f} MiB | "
              f"{file_rows:,} rows, {mb:,.0f} MiB on disk; includes start-up |")
        peak = max(r.peak_mb for r in runs)
        print(f"| **`xladdin weekly`, full scale ({fmt})** | **{fmt_s(m.wall)}** | **{peak:,.0f} MiB** | "
              f"end to end, one process; median of {len(runs)} runs: "
              + ", ".join(fmt_s(r.wall) for r in runs)
              + f"; {rows:,} rows read (stock_daily and margin_daily from the dashboard's window on) |")
    if base is not None:
        print(f"| `xladdin weekly`, small scale (parquet) | {fmt_s(base.wall)} | {base.peak_mb:,.0f} MiB | "
              f"{sum(base_info['rows'].values()):,} rows |")

    for fmt, data, nfiles, mb, floor, m, info, runs in results:
        steps = info["steps"]
        total = sum(steps.values())
        print(f"\nPer step, full scale ({fmt}), the median run; seconds inside the job (the rest of the wall "
              f"time is start-up and interpreter exit):\n")
        print("| step | seconds | share | peak memory after the step | slowest unit |\n|---|---:|---:|---:|---|")
        for step, secs in steps.items():
            units = info["units"].get(step) or {}
            top = max(units, key=units.get) if units else ""
            unit = f"{top} ({units[top]:.2f} s)" if top else ""
            mem = info.get("memory", {}).get(step)
            print(f"| {step} | {secs:,.2f} | {secs / total:.0%} | {mem:,.0f} MiB | {unit} |")
        print(f"| total | {total:,.2f} | 100% | {info['peak_rss_mb']:,.0f} MiB | |")
        flat = sorted(((s, u, t) for s, d in info["units"].items() for u, t in d.items()), key=lambda x: -x[2])[:5]
        print(f"\nslowest step: **{info['slowest']['step']}** ({info['slowest']['seconds']:.2f} s); slowest units: "
              + ", ".join(f"{s}/{u} {t:.2f} s" for s, u, t in flat))
        print(f"\nratios: weekly / I/O floor = {m.wall / floor.wall:.1f}x; weekly / start-up = "
              f"{m.wall / startup.wall:.1f}x" + (f"; full / small scale = {m.wall / base.wall:.1f}x wall, "
                                                  f"{m.peak_mb / base.peak_mb:.1f}x memory" if base else ""))
        peak = max(r.peak_mb for r in runs)
        ok_t = "met" if m.wall <= GOAL_SECONDS else "missed"
        ok_m = "met" if peak <= GOAL_MB else "missed"
        slow = max(r.wall for r in runs)
        print(f"goal: wall <= {GOAL_SECONDS:g} s {ok_t} (median {m.wall:,.1f} s, slowest of {len(runs)} "
              f"{slow:,.1f} s); peak memory <= 2 GB ({GOAL_MB:,.0f} MiB) {ok_m} ({peak:,.0f} MiB = "
              f"{peak * 2**20 / 1e9:,.2f} GB)")

    if args.profile:
        fmt, data = next(iter(fulls.items()))
        print(f"\nProfile (cProfile, full scale, {fmt}); top {args.top} xladdin functions by cumulative time:\n")
        print(profile(data, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
