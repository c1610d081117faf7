#!/usr/bin/env python
"""Regenerate every results figure users see: ``docs/results.md`` and the README's headline block.

Every figure comes from an xladdin command run here, in-process, through its ``--json`` output (or the
CSV files of ``--csv``), on the real data (``../shared/data/real/canonical``) and on the embedded
sample market; the reports' own figures (spec ``methods.md``, seeds) are set beside them.

Usage (from anywhere; the commands run from the repository root)::

    .venv/bin/python scripts/results.py               # write docs/results.md and the README's block
    .venv/bin/python scripts/results.py --part m10    # print one part (what tests/test_results_doc.py reruns)
    .venv/bin/python scripts/results.py --list        # the parts, in document order
    .venv/bin/python scripts/results.py --check       # exit 1 if either file differs from a fresh run

The document is a sequence of *parts* (consecutive lines; a part may be rows of a table that another
part starts). A last comment line records each part's line range, so a test can regenerate one part
at a time and compare it with its lines. A part's first line of the form ``**<title>.** ...`` after a
``<!-- headline -->`` line is its headline paragraph: the README's results block is those paragraphs,
verbatim, one list item each.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from xladdin.conventions import TRADING_DAYS_PER_YEAR, YI

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "results.md"
README = ROOT / "README.md"
#: the real canonical data, as typed from the repository root
REAL = "../shared/data/real/canonical"
HEADLINE_MARK = "<!-- headline -->"
README_BEGIN = "<!-- results:begin (written by scripts/results.py from docs/results.md; do not edit) -->"
README_END = "<!-- results:end -->"
INDEX_PREFIX = "<!-- parts written by scripts/results.py:"
MINUS = "\u2212"

# ----------------------------------------------------------------------------------------- the reports' figures
#: Huatai 2021-06 (seed 002; spec M2-M3): CSI 300 ETFs, 2016 .. 2021-06
HUATAI = {"corr_0610": 0.9, "corr_0621": 0.7, "theta": 0.5, "horizon": 20, "p_down": 0.8214, "mean_return": -0.0359,
          "peak_horizon": 20}
#: Huafu 2026-02 (seed 003): M7 short-term-flow groups, 2017 .. 2026-01 (annualised absolute returns)
HUAFU_M7 = {"G1": 0.0061, "G2": 0.0249, "G3": 0.0379, "G4": 0.0411, "G5": 0.0617, "EW": 0.0345}
#: M8 (seed 003, "风格强弱的择时持仓"): year -> (return, excess, IR); 2026 = 2026 to date
HUAFU_M8_YEARS = {2017: (-0.0257, -0.0152, -0.28), 2018: (-0.2410, 0.0962, 1.46), 2019: (0.3727, 0.0128, 0.22),
                  2020: (0.2005, -0.0678, -0.76), 2021: (0.1251, 0.0902, 0.87), 2022: (0.0325, 0.2520, 3.06),
                  2023: (0.0405, 0.1260, 1.82), 2024: (0.2039, 0.1181, 1.40), 2025: (0.2022, -0.0471, -0.63),
                  2026: (0.0567, 0.0074, 3.25)}
HUAFU_M8 = {"annual_return": 0.0966, "excess": 0.0582, "information_ratio": 0.75, "max_drawdown": -0.2911,
            "relative_max_drawdown": -0.1233, "start": "2017-01-09"}
#: M9 (seed 003, "与主动权益的持仓分歧度"), 2019-10-08 .. 2026-01-30
HUAFU_M9 = {"annual_return": 0.1401, "excess": 0.0611, "information_ratio": 0.76, "max_drawdown": -0.2880,
            "relative_max_drawdown": -0.1555}
#: M10 (seed 003, "基于ETF资金流向的行业配置策略"): year -> (return, vol, Sharpe, max DD, excess, TE, IR, rel. DD);
#: 2019 = from 2019-10-08, annualised by the report; 2026 = to 2026-01-30, the raw return
HUAFU_M10_YEARS = {
    2019: (0.3042, 0.1346, 2.26, -0.0523, 0.0113, 0.0471, -0.24, -0.0219),
    2020: (0.3473, 0.2429, 1.43, -0.1437, 0.0462, 0.0760, 0.61, -0.0687),
    2021: (0.0636, 0.1826, 0.35, -0.1223, 0.0306, 0.1123, 0.27, -0.0699),
    2022: (-0.1196, 0.2196, -0.54, -0.2400, 0.0675, 0.0899, 0.75, -0.0830),
    2023: (0.0077, 0.1442, 0.05, -0.1155, 0.0905, 0.0642, 1.41, -0.0303),
    2024: (0.2336, 0.2602, 0.90, -0.1665, 0.1457, 0.0738, 1.98, -0.0408),
    2025: (0.3600, 0.1942, 1.85, -0.1610, 0.0780, 0.0691, 1.13, -0.0601),
    2026: (0.0568, 0.2164, 5.27, -0.0339, 0.0075, 0.1066, 3.24, -0.0184)}
HUAFU_M10 = {"annual_return": 0.1557, "volatility": 0.2075, "sharpe": 0.75, "max_drawdown": -0.2475,
             "excess": 0.0756, "tracking_error": 0.0813, "information_ratio": 0.93, "relative_max_drawdown": -0.0830,
             "win_rate": 0.64, "odds": 1.38}
#: M10 factor correlations (seed 003, "因子相关性")
HUAFU_CORR = {("short_term_flow", "style_level"): -0.1149, ("short_term_flow", "style_change"): 0.1075,
              ("short_term_flow", "divergence"): -0.0875, ("style_level", "style_change"): -0.3653,
              ("style_level", "divergence"): -0.1511, ("style_change", "divergence"): -0.1712}
#: Zhongtai digest of 2025-11-09 (seed 001), the week 2025-11-03 .. 11-07
#: (figures as the digest prints them; its industry names mapped to CITIC level 1)
ZHONGTAI = {"week_end": "2025-11-07", "returns": {"399006.SZ": "+0.6%", "000905.SH": "−0.04%"},
            "top_industries": [("石油石化", "4.3%"), ("电力设备及新能源", "4.3%"), ("钢铁", "4.2%"), ("基础化工", "4.1%"),
                               ("煤炭", "3.55%")],
            "worst_industries": ["通信", "电子"]}
#: Sinolink digest of 2026-02-09 (seed 000): the week to 2026-02-06
SINOLINK_WEEK_END = "2026-02-06"

FACTOR_LABEL = {"short_term_flow": "short-term flow", "style_level": "style-adjusted level",
                "style_change": "style-adjusted change", "divergence": "divergence", "composite": "composite",
                "preference": "preference", "change": "change", "momentum": "momentum"}


# ----------------------------------------------------------------------------------------------------- running
@dataclass
class Run:
    rc: int
    out: str
    err: str


_RUNS: dict[tuple[str, ...], Run] = {}
_SHOWN: list[str] = []          # commands of the part being written, as shown in the document
_TEMP: list[Path] = []


def _run(argv: Iterable[str], shown: str | None = None) -> Run:
    """Run ``xladdin argv`` in-process (once per process; later calls reuse the result)."""
    key = tuple(str(a) for a in argv)
    if key not in _RUNS:
        from xladdin.ops.cli import main
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(list(key))
        _RUNS[key] = Run(rc, out.getvalue(), err.getvalue())
    text = shown or "xladdin " + " ".join(key)
    if text not in _SHOWN:
        _SHOWN.append(text)
    return _RUNS[key]


def cli_json(*argv: str, shown: str | None = None) -> dict:
    """The JSON object an xladdin command prints; stops with its message when it fails."""
    run = _run(argv, shown)
    if run.rc != 0:
        raise SystemExit(f"xladdin {' '.join(argv)} failed (exit {run.rc}): {run.err.strip()}")
    return json.loads(run.out)


def cli_error(*argv: str) -> str:
    """The one-line error of a command that must fail (exit 1)."""
    run = _run(argv)
    if run.rc != 1:
        raise SystemExit(f"xladdin {' '.join(argv)} was expected to fail, exit {run.rc}")
    return [ln for ln in run.err.splitlines() if ": error: " in ln][-1]


def temp_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="xladdin-results-"))
    _TEMP.append(path)
    return path


def rotation(start: str, end: str | None = None, real: bool = True, lag0: bool = False) -> tuple[dict, Path | None]:
    """``backtest rotation --json`` on the real data or the sample; the lag-1 runs also write their CSV files
    (``--csv``, one temporary folder per run). Returns the JSON and that folder."""
    argv = ["backtest", "rotation"] + (["--data", REAL] if real else []) + ["--start", start]
    argv += (["--end", end] if end else []) + ["--json"] + (["--lag", "0", "--cost", "0"] if lag0 else [])
    if lag0:
        return cli_json(*argv), None
    out = _OUT_DIRS.setdefault(tuple(argv), temp_dir())
    return cli_json(*argv, "--csv", str(out), shown="xladdin " + " ".join(argv) + " --csv DIR"), out


_OUT_DIRS: dict[tuple[str, ...], Path] = {}


def northbound(lag0: bool = False) -> dict:
    return cli_json("backtest", "northbound", "--json", *(["--lag", "0", "--etf-cost", "0"] if lag0 else []))


R1_START, R2_START, SAMPLE_END = "2017-01-09", "2019-10-08", "2026-01-30"


def real_from_2017(lag0: bool = False) -> dict:
    return rotation(R1_START, real=True, lag0=lag0)[0]


def real_from_2019(lag0: bool = False) -> dict:
    return rotation(R2_START, real=True, lag0=lag0)[0]


def sample_from_2017(lag0: bool = False) -> dict:
    return rotation(R1_START, SAMPLE_END, real=False, lag0=lag0)[0]


def sample_from_2019(lag0: bool = False) -> dict:
    return rotation(R2_START, SAMPLE_END, real=False, lag0=lag0)[0]


# -------------------------------------------------------------------------------------------------- formatting
def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def _minus(text: str) -> str:
    return text.replace("-", MINUS) if text.startswith("-") or text.startswith("+-") else text


def pct(x, d: int = 2, sign: bool = False) -> str:
    """0.0806 -> "8.06%" (a true minus sign; "+" with ``sign``); None/NaN -> "–"."""
    if _missing(x):
        return "–"
    s = f"{x * 100:+,.{d}f}%" if sign else f"{x * 100:,.{d}f}%"
    return s.replace("-", MINUS)


def num(x, d: int = 2, sign: bool = False) -> str:
    if _missing(x):
        return "–"
    s = f"{x:+,.{d}f}" if sign else f"{x:,.{d}f}"
    return s.replace("-", MINUS)


def yi(x, d: int = 2) -> str:
    """An amount already in 亿元, signed."""
    return "–" if _missing(x) else f"{num(x, d, sign=True)} 亿元"


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    """A markdown table; ``align`` one letter per column (l / r / c), default: first left, rest right."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = {"l": "---", "r": "---:", "c": ":-:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def headline(title: str, text: str) -> list[str]:
    return [HEADLINE_MARK, f"**{title}.** {text}", ""]


def commands_block() -> list[str]:
    """The commands the current part ran, as a fenced block (then cleared)."""
    note = "; `DIR` is a temporary folder for the CSV files" if any(" DIR" in c for c in _SHOWN) else ""
    note += "; `FILE` is a temporary CSV file" if any(c.endswith(" FILE") for c in _SHOWN) else ""
    lines = [f"Commands (run by `scripts/results.py`{note}):", "", "```"]
    lines += list(_SHOWN) + ["```", ""]
    _SHOWN.clear()
    return lines


def year_of(period: str) -> int | None:
    head = period.split(" ")[0]
    return int(head) if head.isdigit() else None


def period_text(row: dict) -> str:
    return row["period"].replace("Full period", "full period")


def pw_ranking(pw: dict, periods: int, names: Iterable[str] | None = None) -> str:
    keys = [k for k in (names or pw) if k in pw]
    return ", ".join(f"{FACTOR_LABEL.get(k, k)} {pw[k]}" for k in keys) + f" (of {periods})"


def monotone(values: list[float]) -> bool:
    return all(b > a for a, b in zip(values, values[1:]))


# ------------------------------------------------------------------------------------------------------- parts
def part_intro() -> list[str]:
    return [
        "# Results: xladdin beside the reports",
        "",
        "Written by `scripts/results.py` from the commands each section lists (run in-process, read through their "
        "`--json` output or the CSV files of `--csv`); do not edit by hand, rerun "
        "`.venv/bin/python scripts/results.py` after a change. `tests/test_results_doc.py` reruns the script part "
        "by part and compares every number here with the fresh run (relative tolerance 1e-6, the text identical "
        "otherwise); the README's results paragraphs are copies of the headline paragraphs below, pinned by the "
        "same test.",
        "",
        "**Timing and costs.** Every backtest trades at the close one trading day after the data it uses "
        "(`--lag 1`: shares, NAVs and holdings of day t are published after t's close) and pays a one-way cost on "
        "traded value, on buys and on sells (`--cost`: 0.1% for the industry baskets of M7–M10, the spec's default "
        "since the report states none; `--etf-cost`: 0.3% for the ETF rotation of M11, the report's). *Net* figures are after "
        "costs, *gross* the same trades without costs. Turnover is two-sided (Σ|w_new − w_drifted| at each trade; "
        f"the first build counts 1): a year's row sums that year's trades, the full period gives the sum per "
        f"{TRADING_DAYS_PER_YEAR} trading days. Returns are annualised geometrically over {TRADING_DAYS_PER_YEAR} "
        "trading days; "
        "excess = the annualised return of strategy / benchmark; IR = excess / tracking error. A part year is "
        "labelled (\"2019 (from 10-11)\") and shows its period return and, in brackets, its annualised return. "
        "Factor values within 1e-9 (relative) of each other are ties, and a cross-section without spread gives no "
        "ranking that period: the sections count those periods. The last section, *Before and after*, shows what "
        "the lag and the costs changed.",
        "",
        "**Data.** *Real*: `../shared/data/real/canonical/` — the CSI 300 ETFs and the ChiNext ETF (daily shares "
        "and NAVs), index closes (CNI Growth/Value 399370/399371 to 2024-12-12), CITIC level-1 industry closes and "
        "CSI 300 weights; it has no northbound, margin, stock-level or active-fund table (its README gives the "
        "sources). *Sample*: the embedded synthetic market (`xladdin sample`), which plants the effects the methods "
        "look for: its figures test the machinery, not the strategies. The reports' figures are their own, on Wind "
        "data and every stock ETF in the market (`../shared/spec/methods.md`, seeds in `../shared/seeds/`).",
        "",
        "Sections: M1–M3 flow/return correlation · M4–M5 style regimes · M6–M7 holdings and quintiles · "
        "M8 style-adjusted holdings · M9 divergence · M10 composite rotation (M12 per-year tables) · "
        "M11 northbound ETF rotation · M13 dashboard · Before and after (lag 0, no cost → lag 1 with costs).",
        "",
    ]


def _grid_rows(js: dict, bold: tuple[float, int] | None = None) -> list[list[str]]:
    horizons = sorted({g["horizon"] for g in js["grid"]})
    rows = []
    for theta in sorted({g["threshold"] for g in js["grid"]}):
        row = [f"> {theta:g}"]
        for h in horizons:
            g = next(x for x in js["grid"] if x["threshold"] == theta and x["horizon"] == h)
            cell = f"{pct(g['p_down'])} / {pct(g['mean_return'], sign=True)} ({g['events']})"
            row.append(f"**{cell}**" if bold == (theta, h) else cell)
        rows.append(row)
    rows.append(["all days"] + [f"{pct(b['p_down'])} / {pct(b['mean_return'], sign=True)} ({b['days']})"
                                for b in js["all_days"]])
    return rows


def _cell(js: dict, theta: float, h: int) -> dict:
    return next(g for g in js["grid"] if g["threshold"] == theta and g["horizon"] == h)


def _reading(js: dict, date: str) -> dict:
    return next(r for r in js["latest"] if r["date"] == date)


def part_m1_m3() -> list[str]:
    base = ["study", "correlation", "--corr-index", "000300.SH", "--data", REAL, "--start", "2016-01-01"]
    every = cli_json(*base, "--end", "2021-06-30", "--last", "30", "--json")
    first = cli_json(*base, "--end", "2021-06-30", "--event-mode", "first", "--json")
    run_end = cli_json(*base, "--end", "2021-06-22", "--json")
    alle = cli_json(*base, "--end", "2021-06-30", "--last", "30", "--require-all", "--json")
    allf = cli_json(*base, "--end", "2021-06-30", "--event-mode", "first", "--require-all", "--json")
    theta, h = HUATAI["theta"], HUATAI["horizon"]
    r10, r21 = _reading(every, "2021-06-10"), _reading(every, "2021-06-21")
    sig = run_end["signal"]
    days = [r["date"] for r in every["latest"]]
    k_off = next(i for i, r in enumerate(every["latest"]) if r["date"] > sig["date"])
    off = every["latest"][k_off]
    left = every["latest"][k_off - every["corr_window"]]
    run_len = sum(1 for r in every["latest"] if sig["above_since"] <= r["date"] <= sig["date"])
    assert days[0] < sig["above_since"], "the latest readings must start before the run above the threshold"
    cell, cellf = _cell(every, theta, h), _cell(first, theta, h)
    base20 = next(b for b in every["all_days"] if b["horizon"] == h)
    hi = max(every["grid"], key=lambda g: g["p_down"])
    lo = min(every["grid"], key=lambda g: g["mean_return"])
    col = [_cell(every, t, h)["p_down"] for t in sorted({g["threshold"] for g in every["grid"]})]
    row = {g["horizon"]: g["p_down"] for g in every["grid"] if g["threshold"] == theta}
    peak = max(row, key=row.get)
    # the report's 82.14% as k / n: every n up to 1.2 x our count
    max_n = int(cell["events"] * 1.2)
    fractions = [(round(n * HUATAI["p_down"]), n) for n in range(1, max_n + 1)
                 if round(round(n * HUATAI["p_down"]) / n, 4) == HUATAI["p_down"]]
    nearest = min(fractions, key=lambda kn: abs(kn[1] - cell["events"]))
    same_readings = all(abs(_reading(alle, d)["corr"] - _reading(every, d)["corr"]) < 1e-12
                        for d in ("2021-06-10", "2021-06-21"))
    acell, acellf = _cell(alle, theta, h), _cell(allf, theta, h)
    lines = ["## M1–M3 ETF flow / return correlation (Huatai, 2021-06) — real data", ""]
    lines += headline(
        "M1–M3 ETF flow / return correlation (Huatai), real data",
        f"The 20-day correlation of the CSI 300 ETFs' daily net flow with the index return was "
        f"{num(r10['corr'], 3, sign=True)} on 2021-06-10 and {num(r21['corr'], 3, sign=True)} on 2021-06-21 "
        f"(report: about {HUATAI['corr_0610']:g} and {HUATAI['corr_0621']:g}) and above {theta:g} every day from "
        f"{sig['above_since']} to {sig['date']}. After a day with corr > {theta:g} the CSI 300 was lower {h} days "
        f"later in {pct(cell['p_down'])} of {cell['events']} such days, {pct(cell['mean_return'], sign=True)} on "
        f"average (report: {pct(HUATAI['p_down'])} and {pct(HUATAI['mean_return'], sign=True)}; all days: "
        f"{pct(base20['p_down'])}, {pct(base20['mean_return'], sign=True)}).")
    lines += [
        f"Setup: {every['corr_index']}, the {every['tracking_etfs']} ETFs tracking it in the data, a "
        f"{every['corr_window']}-day window, flow 0 on a split day, each day's flow summing the ETFs that have one; "
        f"sample {every['first_date']} … {every['last_date']} ({every['days']:,} days), mean correlation "
        f"{num(every['mean_corr'], 3, sign=True)}.",
        ""]
    lines += table(["reading", "xladdin (real data)", "report"], align="lll", rows=[
        ["corr on 2021-06-10", num(r10["corr"], 3, sign=True), f"about {HUATAI['corr_0610']:g}"],
        ["corr on 2021-06-21", num(r21["corr"], 3, sign=True), f"about {HUATAI['corr_0621']:g}"],
        [f"corr above {theta:g}", f"every day from {sig['above_since']} to {sig['date']} ({run_len} days)",
         f"above {theta:g} through June 2021"],
        ["the day after", f"{off['date']}: {num(off['corr'], 3, sign=True)}, when {left['date']} "
                          f"({yi(left['flow'] / YI)}, CSI 300 {pct(left['return'], sign=True)}) left the window", "–"],
        [f"θ {theta:g}, h {h}: down probability (events)", f"{pct(cell['p_down'])} ({cell['events']})",
         pct(HUATAI["p_down"])],
        [f"θ {theta:g}, h {h}: mean return", pct(cell["mean_return"], sign=True),
         pct(HUATAI["mean_return"], sign=True)],
        [f"all days, h {h}", f"{pct(base20['p_down'])} / {pct(base20['mean_return'], sign=True)}", "–"],
        ["highest down probability in the grid", f"{pct(hi['p_down'])} (θ {hi['threshold']:g}, h {hi['horizon']}, "
                                                 f"{hi['events']} events)", f"{pct(HUATAI['p_down'])} (θ 0.5, h 20)"],
        ["lowest mean return in the grid", f"{pct(lo['mean_return'], sign=True)} (θ {lo['threshold']:g}, "
                                           f"h {lo['horizon']})", f"{pct(HUATAI['mean_return'], sign=True)} (θ 0.5, h 20)"],
        [f"down probability rises with θ (h {h})", ("yes" if monotone(col) else "no") + ": "
         + " → ".join(pct(v) for v in col), "yes"],
        [f"peak horizon of the down probability (θ {theta:g})", f"{peak} days", f"{HUATAI['peak_horizon']} days "
                                                                                 "(4 weeks)"],
        [f"first crossings only: θ {theta:g}, h {h}", f"{pct(cellf['p_down'])} / "
                                                        f"{pct(cellf['mean_return'], sign=True)} ({cellf['events']})",
         "–"],
    ])
    lines += ["", "**Grid, every qualifying day (default).** Each cell: down probability / mean forward return "
                  "(events); the report's cell in bold.", ""]
    lines += table(["threshold"] + [f"{x['horizon']}d" for x in every["all_days"]], _grid_rows(every, (theta, h)))
    lines += ["", "**Grid, first crossings only (`--event-mode first`).**", ""]
    lines += table(["threshold"] + [f"{x['horizon']}d" for x in first["all_days"]], _grid_rows(first, (theta, h)))
    lines += [
        "",
        f"**Only days on which every CSI 300 ETF has a flow (`--require-all`).** The sample starts on "
        f"{alle['first_date']}; the readings on 2021-06-10 and 2021-06-21 are "
        + ("the same" if same_readings else "different")
        + f"; θ {theta:g}, h {h}: {pct(acell['p_down'])} / {pct(acell['mean_return'], sign=True)} "
          f"({acell['events']} events), first crossings {pct(acellf['p_down'])} / "
          f"{pct(acellf['mean_return'], sign=True)} ({acellf['events']}).",
        "",
        "**Why the levels differ.** (1) The report summed every listed CSI 300 ETF; the data here has "
        f"{every['tracking_etfs']} large, long-listed ones, so fewer arbitrage creations push the correlation over "
        "a threshold. (2) NAVs: the report used Wind daily NAVs; here most ETF-days use the traded close or a NAV "
        "reconstructed from month-end NAVs (the data README's NAV sources). (3) Event counting: the report does "
        f"not say whether overlapping days count. Of the fractions k/n with n up to {max_n}, "
        f"{pct(HUATAI['p_down'])} is " + ", ".join(f"{k}/{n}" for k, n in fractions)
        + f"; the nearest denominator to our {cell['events']} qualifying days is {nearest[1]}, so the report "
          f"probably counted every qualifying day too. Overlapping {h}-day windows make neighbouring events "
          f"dependent: {cellf['events']} first crossings support the cell, so its sampling error is large either "
          "way. (4) Whether the report cut the sample the same way and dropped events whose horizon runs past "
          f"its end, as here, is not stated. The mean correlation over the sample is "
          f"{num(every['mean_corr'], 3, sign=True)}, where the report describes the long-run relation as negative.",
        ""]
    return lines + commands_block()


def _week_table(v100: dict, v1600: dict) -> list[list[str]]:
    rows = []
    other = {w["date"]: w for w in v1600["weeks"]}
    for w in v100["weeks"]:
        rows.append([w["date"], num(w["size_ratio"], 4), num(w["size_filtered"], 4),
                     num(w["size_momentum"], 5, sign=True), str(w["size_regime"]),
                     str(other[w["date"]]["size_regime"]), str(w["size_regime_report"]), str(w["size_realised"]),
                     str(w["size_realised_report"])])
    return rows


def _bound(lo: float, hi: float, inside_is_hi: bool, base: list[str], size_weeks: int) -> tuple[float, float]:
    """Bracket to 0.001 the lambda between ``lo`` and ``hi`` where the agreement changes from/to 18/18
    (three scans of 11 lambdas each)."""
    for step in (0.1, 0.01, 0.001):
        grid = [round(lo + i * step, 3) for i in range(11)]
        scan = cli_json(*base, "--scan", *[f"{x:g}" for x in grid], "--json")["scan"]["size"]
        ok = [r["lamb"] for r in scan if r["agree"] == size_weeks]
        if inside_is_hi:     # lower bound: the first lambda that agrees
            first = min(ok)
            lo, hi = round(first - step, 3), first
        else:                # upper bound: the last lambda that agrees
            last = max(ok)
            lo, hi = last, round(last + step, 3)
    return lo, hi


def outside(a: int, b: int, n: int) -> str:
    return f"{a}/{n} each" if a == b else f"{a}/{n} and {b}/{n}"


def part_m4_m5() -> list[str]:
    base = ["style", "--data", REAL, "--pair", "size"]
    weeks_args = ["--start", "2025-09-05", "--end", "2025-12-31", "--vs-report", "--json"]
    v100 = cli_json(*base, *weeks_args)
    v1600 = cli_json(*base, *weeks_args[:-1], "--hp-lambda", "1600", "--json")
    n = v100["agreement"]["size"]["regime"]["weeks"]
    coarse = ["1", "10", "30", "50", "75", "76", "100", "137", "138", "200", "300", "1600", "1e4", "1e5", "3e5", "1e6"]
    scan = cli_json(*base, "--scan", *coarse, "--json")["scan"]["size"]
    integers = list(range(60, 161))
    iscan = cli_json(*base, "--scan", *map(str, integers), "--json")["scan"]["size"]
    full = [int(r["lamb"]) for r in iscan if r["agree"] == n]
    contiguous = full == list(range(full[0], full[-1] + 1))
    lo_bracket = _bound(full[0] - 1, full[0], True, base, n)
    hi_bracket = _bound(full[-1], full[-1] + 1, False, base, n)
    dates = [w["date"] for w in v100["weeks"]]
    sig = {int(r["lamb"]): r["signals"] for r in iscan}
    low_week = [d for d, a, b in zip(dates, sig[full[0] - 1], sig[full[0]]) if a != b]
    high_week = [d for d, a, b in zip(dates, sig[full[-1]], sig[full[-1] + 1]) if a != b]
    at = {r["lamb"]: r for r in scan}
    at_int = {int(r["lamb"]): r for r in iscan}
    # the filter started in 2015 instead of 2010: index_daily cut, same scan
    cut_dir = temp_dir()
    import pandas as pd
    idx = pd.read_csv(Path(REAL) / "index_daily.csv", dtype={"date": str})
    idx[idx["date"] >= "2015-01-01"].to_csv(cut_dir / "index_daily.csv", index=False)
    cut = cli_json("style", "--data", str(cut_dir), "--pair", "size", "--scan", *map(str, integers), "--json",
                   shown="xladdin style --data FROM2015 --pair size --scan 60 61 … 160 --json")["scan"]["size"]
    same_2015 = sum(a["signals"] == b["signals"] for a, b in zip(iscan, cut))
    # realised column read as the week ending at t (ours) against the following week's
    ours = [w["size_realised"] for w in v100["weeks"]]
    rep = [w["size_realised_report"] for w in v100["weeks"]]
    next_week = sum(a == b for a, b in zip(ours[1:], rep[:-1]))
    growth = cli_json("style", "--data", REAL, "--pair", "growth", "--start", "2015-01-01", "--json")
    size_all = cli_json(*base, "--start", "2015-01-01", "--json")
    gw = growth["weeks"]
    g_regime = [w["growth_regime"] for w in gw if w["growth_regime"] is not None]
    switches = sum(a != b for a, b in zip(g_regime, g_regime[1:]))

    def hit_rate(weeks: list[dict], pair: str, until: str) -> tuple[int, int]:
        ws = [w for w in weeks if w[f"{pair}_regime"] is not None and w["date"] <= until]
        pairs = [(a[f"{pair}_regime"], b[f"{pair}_realised"]) for a, b in zip(ws, ws[1:])]
        return sum(x == y for x, y in pairs), len(pairs)

    g_end = gw[-1]["date"]
    gh, gn = hit_rate(gw, "growth", g_end)
    sh, sn = hit_rate(size_all["weeks"], "size", g_end)
    agree100, agree1600 = v100["agreement"]["size"], v1600["agreement"]["size"]
    lines = ["## M4–M5 Style regimes: one-sided HP + factor momentum (Huafu) — real data", ""]
    lines += headline(
        "M4–M5 style regimes (Huafu), real data",
        f"With λ = {v100['hp_lambda']:g} the weekly size signal (CSI 300 / CSI 1000, one-sided HP, factor momentum) "
        f"reproduces {agree100['regime']['agree']} of the report's {n} signals of {dates[0]} … {dates[-1]} and "
        f"{agree100['realised']['agree']} of its {n} realised styles. {n}/{n} holds for every whole number from "
        f"{full[0]} to {full[-1]} and, refined to 0.001, from {lo_bracket[1]:g} to {hi_bracket[0]:g}; {full[0] - 1} "
        f"and {full[-1] + 1} give {outside(at_int[full[0] - 1]['agree'], at_int[full[-1] + 1]['agree'], n)}, the "
        f"weeks deciding the bounds being "
        f"{', '.join(low_week)} and {', '.join(high_week)}; λ = 1600 gives {at[1600.0]['agree']}/{n}. The "
        f"growth/value pair (399370/399371, data to {g_end}) cannot be set beside the report's weeks, which start "
        f"on {dates[0]}.")
    lines += [
        "**Reading of the report's table.** The realised style on row t is the week *ending* at t: our realised "
        f"column agrees with the report's in {agree100['realised']['agree']} of {n} weeks read that way, and in "
        f"{next_week} of {n - 1} if it were the following week's. The signal on row t uses closes up to t; the "
        "strategies (M8, M10) use the regime known at their decision close and trade it `--lag` sessions later.",
        "",
        f"**Which λ.** The report does not state λ. Report weeks reproduced (of {n}) and our signals, in date "
        f"order ({dates[0]} … {dates[-1]}; the report's: {''.join(str(w['size_regime_report']) for w in v100['weeks'])}):",
        ""]
    lines += table(["λ", "weeks agreeing", "signals"],
                   [[lam, f"{r['agree']}/{r['weeks']}", f"`{r['signals']}`"] for lam, r in zip(coarse, scan)], "lrl")
    lines += [
        "",
        f"On the whole numbers 60 … 160, exactly {full[0]} … {full[-1]} give {n}/{n} "
        + ("(one interval)" if contiguous else "(not one interval)")
        + f"; refined on a 0.001 grid the lower bound lies in ({lo_bracket[0]:g}, {lo_bracket[1]:g}] and the "
          f"upper in [{hi_bracket[0]:g}, {hi_bracket[1]:g}). Below the interval the week {', '.join(low_week)} "
          f"turns to 0 (the report has 1); above it {', '.join(high_week)} turns to 1 (the report has 0). The "
          f"default λ = {v100['hp_lambda']:g} lies inside. The filter runs on every weekly close from 2010; started "
          f"in 2015 instead (FROM2015: a copy of index_daily.csv from 2015-01-01) it gives the same signals for "
          f"{same_2015} of the {len(integers)} whole-number λ. This is "
          f"thin evidence: {n} weeks, two of which decide the bounds.",
        "",
        f"**Weekly size signals, λ = {v100['hp_lambda']:g} and 1600, beside the report.** Weeks agreeing: signal "
        f"{agree100['regime']['agree']}/{n} at λ = {v100['hp_lambda']:g}, {agree1600['regime']['agree']}/{n} at "
        f"λ = 1600; realised {agree100['realised']['agree']}/{n}.",
        ""]
    lines += table(["week end", "ratio", "filtered", "momentum", f"regime λ={v100['hp_lambda']:g}", "regime λ=1600",
                    "report signal", "realised", "report realised"], _week_table(v100, v1600),
                   "lrrrccccc")
    last = gw[-5:]
    lines += [
        "",
        f"**Growth/value on the real data** (CNI Growth 399370 / CNI Value 399371, λ = {growth['hp_lambda']:g}): "
        f"{len(gw)} weeks, {gw[0]['date']} … {g_end}; regime 1 (growth leads) in "
        f"{pct(sum(g_regime) / len(g_regime), 0)} of the weeks with a signal, {switches} switches. The regime at t "
        f"matched the next week's realised style in {gh} of {gn} weeks ({pct(gh / gn, 1)}); the size regime over "
        f"the same weeks did in {sh} of {sn} ({pct(sh / sn, 1)}). The last weeks:",
        ""]
    lines += table(["week end", "ratio", "filtered", "momentum", "regime", "realised"],
                   [[w["date"], num(w["growth_ratio"], 4), num(w["growth_filtered"], 4),
                     num(w["growth_momentum"], 5, sign=True), str(w["growth_regime"]), str(w["growth_realised"])]
                    for w in last], "lrrrcc")
    lines += ["",
              f"The report's growth table ({dates[0]} … 2026-01-30) starts after these data end, so no week can be "
              "compared; M8 and M10 use the growth regime only while it is fresh (see M8).", ""]
    return lines + commands_block()


def _groups(js: dict) -> dict:
    return js["m7_quintiles"]["groups"]


def limit(js: dict) -> str:
    """``", where its inputs stop: index_weights end 2024-10-08"`` when a command's run was cut by an input
    (its ``effective_end``), else ``""``."""
    lim = (js.get("effective_end") or {}).get("limited_by")
    return f", where its inputs stop: {lim['text']}" if lim else ""


def part_m6_m7() -> list[str]:
    real, sample = real_from_2017(), sample_from_2017()
    qr, qs = real["m7_quintiles"], sample["m7_quintiles"]
    gr, gs = _groups(real), _groups(sample)
    names = ["G1", "G2", "G3", "G4", "G5"]
    rep_mono = monotone([HUAFU_M7[g] for g in names])

    def cell(g: dict) -> str:
        return f"{pct(g['annual_return'])} ({pct(g['annual_return_gross'])})"

    rows = [[g, pct(HUAFU_M7[g]), cell(gr[g]), cell(gs[g])] for g in names + ["EW"]]
    rows.append(["G5 − G1, points", num((HUAFU_M7["G5"] - HUAFU_M7["G1"]) * 100),
                 f"{num((gr['G5']['annual_return'] - gr['G1']['annual_return']) * 100)} "
                 f"({num((gr['G5']['annual_return_gross'] - gr['G1']['annual_return_gross']) * 100)})",
                 f"{num((gs['G5']['annual_return'] - gs['G1']['annual_return']) * 100)} "
                 f"({num((gs['G5']['annual_return_gross'] - gs['G1']['annual_return_gross']) * 100)})"])
    rows.append(["monotone G1 < … < G5 (net)", "yes" if rep_mono else "no",
                 "yes" if monotone([gr[g]["annual_return"] for g in names]) else "no",
                 "yes" if monotone([gs[g]["annual_return"] for g in names]) else "no"])
    rows.append(["turnover a year, G1 … G5", "–", " / ".join(pct(gr[g]["turnover"], 0) for g in names),
                 " / ".join(pct(gs[g]["turnover"], 0) for g in names)])
    rows.append(["weeks without a ranking", "–", f"{qr['periods_without_ranking']} of {qr['periods']}",
                 f"{qs['periods_without_ranking']} of {qs['periods']}"])
    lines = ["## M6–M7 ETF holdings by industry and short-term-flow quintiles (Huafu)", ""]
    lines += headline(
        "M7 short-term-flow quintiles (Huafu)",
        f"Weekly groups of the change in stock-ETF holding level, lag 1, 0.1% cost, annualised net: real data "
        f"({qr['start']} … {qr['end']}{limit(real)}) G1…G5 "
        + ", ".join(pct(gr[g]["annual_return"]) for g in names)
        + f" against {pct(gr['EW']['annual_return'])} for industry equal weight, "
        + ("monotone" if monotone([gr[g]["annual_return"] for g in names]) else "not monotone")
        + f", with no ranking in {qr['periods_without_ranking']} of {qr['periods']} weeks (only the CSI 300 ETFs "
          f"can be penetrated: the weekly change is mostly rounding noise); sample ({qs['start']} … {qs['end']}) "
        + ", ".join(pct(gs[g]["annual_return"]) for g in names)
        + f" against {pct(gs['EW']['annual_return'])}, "
        + ("monotone" if monotone([gs[g]["annual_return"] for g in names]) else "not monotone")
        + "; report (all stock ETFs, no cost stated) "
        + ", ".join(pct(HUAFU_M7[g]) for g in names) + f" against {pct(HUAFU_M7['EW'])}.")
    lines += [
        "**M6.** Each week-end, each stock ETF's size (shares × NAV) is spread over its tracked index's latest "
        "weights and summed per CITIC industry; holding level = an industry's share of all stock-ETF holdings, "
        "short-term flow = its weekly change. On the real data only the CSI 300 ETFs can be penetrated (the ChiNext "
        "ETF's index has no weights), so the level is CSI 300's industry mix and its weekly change moves only when "
        "the weights change: most weeks have no ranking, and the portfolios keep their holdings then.",
        "",
        f"**M7, weekly groups of short-term flow**, each rebalanced every week, lag {qr['lag_days']}, cost "
        f"{pct(qr['cost'], 1)} one-way; annualised return net of costs (gross in brackets). Windows: report "
        f"2017 … 2026-01; real {qr['start']} … {qr['end']}; sample {qs['start']} … {qs['end']} (the first week with "
        "a ranking is the first trade).",
        ""]
    lines += table(["", "report (all stock ETFs; no cost stated)", "real data (CSI 300 ETFs)", "sample (synthetic)"], rows)
    lines += [""]
    return lines + commands_block()


def _full(js: dict) -> dict:
    return next(y for y in js["years"] if y["period"] == "Full period")


def _years_table(js: dict, report: dict[int, tuple], report_cols: list[int], report_names: list[str]) -> list[str]:
    header = ["period", "return net (gross)", "excess net (gross)", "Sharpe", "max DD", "IR", "turnover"]
    header += [f"report {n}" for n in report_names]
    rows = []
    for y in js["years"]:
        ret = pct(y["annual_return"])
        if y["part_year"]:
            ret += f" [ann. {pct(y['annualised_return'])}]"
        gross = pct(y["annual_return_gross"])
        exc = pct(y["excess_return"], sign=True)
        if y["part_year"]:
            exc += f" [ann. {pct(y['annualised_excess'], sign=True)}]"
        row = [period_text(y), f"{ret} ({gross})", f"{exc} ({pct(y['excess_return_gross'], sign=True)})",
               num(y["sharpe"]), pct(y["max_drawdown"]), num(y["information_ratio"]), pct(y["turnover"], 0)]
        yr = year_of(y["period"])
        rep = report.get(yr) if yr is not None else report.get("full")
        row += [("–" if rep is None else (num(rep[i]) if n in ("IR", "Sharpe") else pct(rep[i], sign=n == "excess")))
                for i, n in zip(report_cols, report_names)]
        rows.append(row)
    return table(header, rows)


def part_m8() -> list[str]:
    real, sample = real_from_2017(), sample_from_2017()
    r8, s8 = real["m8"], sample["m8"]
    fr, fs = _full(r8), _full(s8)
    end_note = next((n for n in real["notes"] if "index_weights end" in n), "")

    def col(m: dict, f: dict) -> list[str]:
        return [f"{pct(m['annual_return_net'])} ({pct(m['annual_return_gross'])})",
                f"{pct(m['excess_net'], sign=True)} ({pct(m['excess_gross'], sign=True)})",
                f"{num(m['information_ratio_net'])} ({num(m['information_ratio_gross'])})",
                pct(m["max_drawdown_net"]), pct(f["relative_max_drawdown"]), pct(m["turnover_annual"], 0),
                pw_ranking(m["periods_without_ranking"], m["periods"], ["style_level", "style_change"]),
                f"{m['start']} … {m['end']}"]

    rep = [pct(HUAFU_M8["annual_return"]), pct(HUAFU_M8["excess"], sign=True), num(HUAFU_M8["information_ratio"]),
           pct(HUAFU_M8["max_drawdown"]), pct(HUAFU_M8["relative_max_drawdown"]), "–", "–",
           f"{HUAFU_M8['start']} … 2026-01-30"]
    labels = ["annualised return net (gross)", "excess over industry EW net (gross)", "IR net (gross)",
              "max drawdown (net)", "relative max drawdown (net)", "turnover a year", "rebalances without a ranking",
              "window"]
    rows = [[lab, a, b, c] for lab, a, b, c in zip(labels, rep, col(r8, fr), col(s8, fs))]
    lines = ["## M8 Style-adjusted holdings (Huafu)", ""]
    lines += headline(
        "M8 style-adjusted holdings (Huafu)",
        f"Holding group 5 or 1 of holding level by the size regime and of holding change by the growth regime, "
        f"weekly, lag 1, 0.1% cost: real data (to {r8['end']}{limit(real)}) {pct(r8['annual_return_net'])} a "
        f"year, excess "
        f"{pct(r8['excess_net'], sign=True)} over industry equal weight, IR {num(r8['information_ratio_net'])} "
        f"(gross {pct(r8['annual_return_gross'])}, {pct(r8['excess_gross'], sign=True)}); sample "
        f"{pct(s8['annual_return_net'])}, excess {pct(s8['excess_net'], sign=True)}, IR "
        f"{num(s8['information_ratio_net'])}; report {pct(HUAFU_M8['annual_return'])}, excess "
        f"{pct(HUAFU_M8['excess'], sign=True)}, IR {num(HUAFU_M8['information_ratio'])} ({HUAFU_M8['start']} … "
        f"2026-01-30).")
    lines += ["Rebalanced each week end on the regimes known at that close (a regime is not used more than 10 days "
              "past its pair's last data), traded a session later; each half (level, change) holds its group "
              "equal-weighted. Net of 0.1% one-way cost, gross in brackets. The real data's run stops where the CSI "
              f"300 weights stop being current (spec, \"Stale inputs\"): \"{end_note}\" (the growth/value closes, to "
              "2024-12-12, outlast them).", ""]
    lines += table(["", "report", "real data (CSI 300 ETFs)", "sample (synthetic)"], rows)
    lines += ["", "**Per year on the real data** (M12; net, gross in brackets; the report's columns beside; its "
                  "2026 row is 2026 to date):", ""]
    lines += _years_table(r8, {**HUAFU_M8_YEARS, "full": (HUAFU_M8["annual_return"], HUAFU_M8["excess"],
                                                          HUAFU_M8["information_ratio"])},
                          [0, 1, 2], ["return", "excess", "IR"])
    lines += [""]
    return lines + commands_block()


def part_m9() -> list[str]:
    real, sample = real_from_2019(), sample_from_2019()
    s9 = sample["m9"]
    f9 = _full(s9)
    note = next(n for n in real["notes"] if "divergence" in n)
    lines = ["## M9 Divergence from active equity funds (Huafu)", ""]
    lines += headline(
        "M9 divergence from active funds (Huafu)",
        f"Not measurable on the real data (no active-fund tables). Sample, {s9['start']} … {s9['end']}, monthly, "
        f"lag 1, 0.1% cost: {pct(s9['annual_return_net'])} a year, excess {pct(s9['excess_net'], sign=True)}, IR "
        f"{num(s9['information_ratio_net'])} (gross {pct(s9['annual_return_gross'])}, "
        f"{pct(s9['excess_gross'], sign=True)}); report {pct(HUAFU_M9['annual_return'])}, excess "
        f"{pct(HUAFU_M9['excess'], sign=True)}, IR {num(HUAFU_M9['information_ratio'])} (2019-10-08 … 2026-01-30).")
    lines += [f"Real data: the command says \"{note}\".", ""]
    lines += table(["", "report", "sample (synthetic)"], [
        ["annualised return net (gross)", pct(HUAFU_M9["annual_return"]),
         f"{pct(s9['annual_return_net'])} ({pct(s9['annual_return_gross'])})"],
        ["excess net (gross)", pct(HUAFU_M9["excess"], sign=True),
         f"{pct(s9['excess_net'], sign=True)} ({pct(s9['excess_gross'], sign=True)})"],
        ["IR net (gross)", num(HUAFU_M9["information_ratio"]),
         f"{num(s9['information_ratio_net'])} ({num(s9['information_ratio_gross'])})"],
        ["max drawdown / relative (net)", f"{pct(HUAFU_M9['max_drawdown'])} / {pct(HUAFU_M9['relative_max_drawdown'])}",
         f"{pct(s9['max_drawdown_net'])} / {pct(f9['relative_max_drawdown'])}"],
        ["turnover a year", "–", pct(s9["turnover_annual"], 0)],
        ["rebalances without a ranking", "–", pw_ranking(s9["periods_without_ranking"], s9["periods"], ["divergence"])],
        ["window", "2019-10-08 … 2026-01-30", f"{s9['start']} … {s9['end']}"],
    ])
    lines += [""]
    return lines + commands_block()


def _factor_corr(folder: Path) -> dict[tuple[str, str], float]:
    import pandas as pd
    path = folder / "factor_correlation.csv"
    if not path.exists():
        return {}
    c = pd.read_csv(path, index_col=0, encoding="utf-8-sig")
    return {(a, b): float(c.loc[a, b]) for a in c.index for b in c.columns}


def part_m10() -> list[str]:
    real, real_dir = rotation(R2_START, real=True)
    sample, sample_dir = rotation(R2_START, SAMPLE_END, real=False)
    fr, fs = _full(real), _full(sample)
    cr, cs = _factor_corr(real_dir), _factor_corr(sample_dir)

    def col(m: dict, f: dict) -> list[str]:
        return [f"{pct(m['annual_return_net'])} ({pct(m['annual_return_gross'])})",
                f"{pct(m['excess_net'], sign=True)} ({pct(m['excess_gross'], sign=True)})",
                f"{num(m['information_ratio_net'])} ({num(m['information_ratio_gross'])})",
                pct(m["volatility_net"]), num(m["sharpe_net"]), pct(m["max_drawdown_net"]),
                pct(m["tracking_error_net"]), pct(m["relative_max_drawdown_net"]), pct(m["win_rate_net"]),
                num(m["odds_net"]), pct(m["benchmark_annual_return"]),
                f"{pct(m['turnover_annual'], 0)} ({pct(m['turnover_per_rebalance'], 0)} per rebalance)",
                pct(m["cost_annual"]),
                pw_ranking(m["periods_without_ranking"], m["periods"]),
                ", ".join(FACTOR_LABEL[f] for f in m["factors_used"]), f"{m['start']} … {m['end']}"]

    labels = ["annualised return net (gross)", "excess net (gross)", "IR net (gross)", "volatility", "Sharpe",
              "max drawdown", "tracking error", "relative max drawdown", "monthly excess win rate", "odds",
              "industry equal weight", "turnover a year", "costs a year", "rebalances without a ranking",
              "factors", "window"]
    rep = [pct(HUAFU_M10["annual_return"]), pct(HUAFU_M10["excess"], sign=True), num(HUAFU_M10["information_ratio"]),
           pct(HUAFU_M10["volatility"]), num(HUAFU_M10["sharpe"]), pct(HUAFU_M10["max_drawdown"]),
           pct(HUAFU_M10["tracking_error"]), pct(HUAFU_M10["relative_max_drawdown"]), pct(HUAFU_M10["win_rate"], 0),
           num(HUAFU_M10["odds"]), "–", "–", "–", "–", "all four", "2019-10-08 … 2026-01-30"]
    rows = [[lab, a, b, c] for lab, a, b, c in zip(labels, rep, col(real, fr), col(sample, fs))]
    names = ["short_term_flow", "style_level", "style_change", "divergence"]
    corr_rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            corr_rows.append([f"{FACTOR_LABEL[a]} / {FACTOR_LABEL[b]}", num(HUAFU_CORR[(a, b)], 2, sign=True),
                              num(cr.get((a, b)), 2, sign=True), num(cs.get((a, b)), 2, sign=True)])
    rep_years = {**HUAFU_M10_YEARS, "full": (HUAFU_M10["annual_return"], None, None, None, HUAFU_M10["excess"],
                                             None, HUAFU_M10["information_ratio"])}
    lines = ["## M10 The composite rotation and its per-year table (Huafu; M12)", ""]
    lines += headline(
        "M10 composite industry rotation (Huafu)",
        f"Top 6 industries by the mean percentile rank of the factors, every two weeks, lag 1, 0.1% cost, "
        f"{R2_START} on: real data (to {real['end']}{limit(real)}) {pct(real['annual_return_net'])} a year, excess "
        f"{pct(real['excess_net'], sign=True)} over industry equal weight, IR {num(real['information_ratio_net'])} "
        f"(gross {pct(real['annual_return_gross'])}, {pct(real['excess_gross'], sign=True)}; "
        f"{len(real['factors_used'])} of 4 factors; turnover {pct(real['turnover_annual'], 0)} a year); sample "
        f"{pct(sample['annual_return_net'])}, excess {pct(sample['excess_net'], sign=True)}, IR "
        f"{num(sample['information_ratio_net'])} (gross {pct(sample['annual_return_gross'])}, "
        f"{pct(sample['excess_gross'], sign=True)}); report {pct(HUAFU_M10['annual_return'])}, excess "
        f"{pct(HUAFU_M10['excess'], sign=True)}, IR {num(HUAFU_M10['information_ratio'])}, relative max drawdown "
        f"{pct(HUAFU_M10['relative_max_drawdown'])}, win rate {pct(HUAFU_M10['win_rate'], 0)}, odds "
        f"{num(HUAFU_M10['odds'])}.")
    lines += [
        "Factors: short-term flow (M7), style-adjusted holding level and change (M8), divergence (M9), each as a "
        "cross-sectional percentile rank, averaged over the factors that rank that date; top 6 equal-weighted, "
        "rebalanced every second week end, traded a session later. Net of 0.1% one-way cost (gross in brackets).",
        ""]
    lines += table(["", "report", "real data (CSI 300 ETFs)", "sample (synthetic)"], rows)
    lines += ["", "The commands' notes on the real data:", ""]
    lines += [f"- {n}" for n in real["notes"]]
    lines += ["", "**Factor correlations** (mean cross-sectional Spearman over the rebalance dates; the report: "
                  "|ρ| ≤ 0.37):", ""]
    lines += table(["factors", "report", "real data", "sample"], corr_rows)
    lines += ["", f"**Per year on the real data** ({real['start']} … {real['end']}; M12, net of costs, gross in "
                  "brackets; a part year shows its period return and [annualised]; the report's 2019 row is "
                  "annualised, its 2026 row is 2026 to date):", ""]
    lines += _years_table(real, rep_years, [0, 4, 6], ["return", "excess", "IR"])
    lines += ["", f"**Per year on the sample** ({sample['start']} … {sample['end']}):", ""]
    lines += _years_table(sample, rep_years, [0, 4, 6], ["return", "excess", "IR"])
    lines += [""]
    return lines + commands_block()


def part_m11() -> list[str]:
    nb = northbound()
    rep = nb["report"]
    error = cli_error("backtest", "northbound", "--data", REAL, "--json")
    full = _full(nb)
    lines = ["## M11 Northbound flows through ETF constituents, ETF rotation (Dongxing)", ""]
    lines += headline(
        "M11 northbound ETF rotation (Dongxing)",
        f"Not measurable on the real data (no northbound holdings). Sample ({nb['universe_size']} ETFs, signals "
        f"{nb['first_signal']} … {nb['last_signal']}, top 3, at most one per tracked index, lag 1, 0.3% cost): IC "
        f"mean {pct(nb['ic_mean'])}, IC IR {num(nb['ic_ir'])}, strategy {pct(nb['annual_return_net'])} a year "
        f"against {pct(nb['benchmark_annual_return'])} for the equal-weight universe (gross "
        f"{pct(nb['annual_return_gross'])}), monthly turnover {pct(nb['monthly_turnover'])}; report (22 Fullgoal "
        f"ETFs, 2017 … 2022-05) IC mean {pct(rep['ic_mean'])}, IC IR {num(rep['ic_ir'])}, "
        f"{pct(rep['strategy_annual_return'])} against {pct(rep['benchmark_annual_return'])}, turnover "
        f"{pct(rep['monthly_turnover'])}.")
    lines += [f"Real data: `xladdin backtest northbound --data {REAL}` stops with \"{error.split(': error: ', 1)[1]}\".",
              "",
              "Per ETF each month end: northbound preference (Σ w·float ratio through the tracked index), its "
              "monthly change, past-month momentum; composite = mean of the three percentile ranks; rank IC with "
              "the next month's return; top 3 (at most one per tracked index) equal-weighted, traded a session "
              "after the month end, 0.3% one-way cost, against the equal-weight universe. Sample holdings after "
              "2024-08-16 are quarterly, carried forward and flagged stale.",
              ""]
    rows = [
        ["IC mean / IC IR", f"{pct(rep['ic_mean'])} / {num(rep['ic_ir'])}",
         f"{pct(nb['ic_mean'])} / {num(nb['ic_ir'])} ({nb['ic']['months']:.0f} months)"],
        ["long-short annualised (Sharpe), gross", f"{pct(rep['long_short_annual_return'])} ({num(rep['long_short_sharpe'])})",
         f"{pct(nb['long_short_annual_return'])} ({num(nb['long_short_sharpe'])})"],
        ["strategy vs benchmark annualised, net", f"{pct(rep['strategy_annual_return'])} vs "
                                                  f"{pct(rep['benchmark_annual_return'])}",
         f"{pct(nb['annual_return_net'])} vs {pct(nb['benchmark_annual_return'])}"],
        ["strategy annualised, gross", "–", pct(nb["annual_return_gross"])],
        ["excess net (gross) / IR net (gross)", f"{pct(rep['excess_return'], sign=True)} / {num(rep['information_ratio'])}",
         f"{pct(nb['excess_net'], sign=True)} ({pct(nb['excess_gross'], sign=True)}) / "
         f"{num(nb['information_ratio_net'])} ({num(nb['information_ratio_gross'])})"],
        ["Sharpe, strategy vs benchmark", f"{num(rep['strategy_sharpe'])} vs {num(rep['benchmark_sharpe'])}",
         f"{num(nb['strategy_sharpe'])} vs {num(nb['benchmark_sharpe'])}"],
        ["max drawdown, strategy vs benchmark", f"{pct(rep['strategy_max_drawdown'])} vs "
                                                f"{pct(rep['benchmark_max_drawdown'])}",
         f"{pct(nb['strategy_max_drawdown'])} vs {pct(nb['benchmark_max_drawdown'])}"],
        ["monthly two-sided turnover (a year)", pct(rep["monthly_turnover"]),
         f"{pct(nb['monthly_turnover'])} ({pct(nb['turnover_annual'], 0)})"],
        ["costs a year", "–", pct(nb["cost_annual"])],
        ["months without a ranking", "–", pw_ranking(nb["periods_without_ranking"], nb["periods"])],
        ["months holding two ETFs of one index", "–", str(nb["same_index_months"])],
        ["stale northbound months", "–", f"{nb['stale_months']:.0f}"],
        ["window", "2017 … 2022-05", f"{nb['start']} … {nb['end']} ({full['days']:,} trading days)"],
    ]
    lines += table(["", "report (22 Fullgoal ETFs, Wind)", "sample (synthetic)"], rows)
    lines += ["", "The command's notes on the sample:", ""] + [f"- {n}" for n in nb["notes"]] + [""]
    return lines + commands_block()


def _dash(asof: str, indices: list[str] | None = None) -> dict:
    argv = ["dashboard", "--data", REAL, "--asof", asof, "--json"]
    return cli_json(*argv, *(["--indices", *indices] if indices else []))


def same_five(ours: list[str], theirs: list[str]) -> str:
    k = len(set(ours) & set(theirs))
    if k == len(theirs):
        return f"the week's {k} best CITIC industries by return are the digest's top {k}"
    return f"{k} of the digest's top {len(theirs)} industries are among the week's {len(ours)} best here"


def part_m13() -> list[str]:
    idx = ["000300.SH", "399006.SZ", "000905.SH", "000016.SH", "000852.SH"]
    zt = _dash(ZHONGTAI["week_end"], idx)
    weeks = [_dash("2021-06-11"), _dash("2025-12-31")]
    broad = {r["code"]: r for r in zt["broad_index"]}
    ranked = sorted(zt["industry"], key=lambda r: -r["return"])
    rank = {r["name"]: i + 1 for i, r in enumerate(ranked)}
    top = [r["name"] for r in ranked[:5]]
    rep_top = [n for n, _ in ZHONGTAI["top_industries"]]
    flows = [r for r in zt["broad_index"] if r["n_etfs"]]
    n_out = sum(r["etf_total"] < 0 for r in flows)
    lines = ["## M13 Weekly fund-flow dashboard (Sinolink, Zhongtai) — real data", ""]
    lines += headline(
        "M13 weekly fund-flow dashboard, real data",
        f"Only ETF subscriptions, returns and volatility can be shown (no stock, margin or northbound table). In "
        f"the week to {zt['summary']['week_end']} (the Zhongtai digest's week): CSI 300 ETFs "
        f"{yi(broad['000300.SH']['etf_total'])}, ChiNext ETF {yi(broad['399006.SZ']['etf_total'])} (digest: most "
        f"major index ETFs had net outflows); ChiNext {pct(broad['399006.SZ']['return'], sign=True)} and CSI 500 "
        f"{pct(broad['000905.SH']['return'], sign=True)} (digest: {ZHONGTAI['returns']['399006.SZ']} "
        f"and {ZHONGTAI['returns']['000905.SH']}); {same_five(top, rep_top)}.")
    lines += [
        f"**The week to {zt['summary']['week_end']}** ({zt['summary']['trading_days_in_week']} trading days; "
        "Zhongtai, 2025-11-09, seed 001). Broad indices (the dashboard's `--indices`):", ""]
    lines += table(["index", "return", "digest", "ETF net subscriptions", "ETFs", "20-day volatility (percentile)"],
                   [[f"{r['code']} {r['name']}", pct(r["return"], sign=True),
                     ZHONGTAI["returns"].get(r["code"], "–"),
                     yi(r["etf_total"]) if r["n_etfs"] else "–", str(r["n_etfs"]),
                     f"{pct(r['volatility'], 1)} ({pct(r['vol_pct'], 0)})"] for r in zt["broad_index"]])
    lines += ["", f"ETF net subscriptions: {n_out} of the {len(flows)} indices with an ETF in the data had net "
                  "outflows (the digest: \"most major index ETFs had net outflows\"). Industries by the week's "
                  "return (CITIC level 1; the digest does not name its classification):", ""]
    rows = [[str(i + 1), r["name"], pct(r["return"], sign=True), yi(r["etf_total"])] for i, r in enumerate(ranked[:5])]
    lines += table(["rank", "industry", "return", "ETF flow through CSI 300 weights"], rows, "llrr")
    stale = next((n for n in zt["notes"] if "index_weights end" in n), None)
    if stale:
        lines += ["", "No industry ETF flow that week (–): the CSI 300 weights end 2024-10-08 and are current to "
                      "2024-12-08 only (spec, \"Stale inputs\"), so the dashboard leaves them out rather than carry "
                      "them a year on."]
    lines += ["", "The digest's top five: " + ", ".join(f"{n} +{v}" for n, v in ZHONGTAI["top_industries"])
              + f" ({len(set(top) & set(rep_top))} of them in our top five). Its largest declines, "
              + " and ".join(ZHONGTAI["worst_industries"]) + ", rank "
              + " and ".join(f"{rank[n]}" for n in ZHONGTAI["worst_industries"])
              + f" of {len(ranked)} here. Volatility flags (> 80th percentile): "
              + ", ".join(f"{f['name']} {pct(f['percentile'], 0)}" for f in zt["flags"]) + ".",
              "", "**Other weeks** (CSI 300 ETFs and the ChiNext ETF):", ""]
    wrows = []
    for w in weeks:
        b = {r["code"]: r for r in w["broad_index"]}
        wrows.append([f"{w['summary']['week_end']} ({w['summary']['trading_days_in_week']} days)",
                      yi(b["000300.SH"]["etf_total"]), pct(b["000300.SH"]["return"], sign=True),
                      pct(b["000300.SH"]["vol_pct"], 0), yi(b["399006.SZ"]["etf_total"]),
                      pct(b["399006.SZ"]["return"], sign=True), pct(b["399006.SZ"]["vol_pct"], 0)])
    lines += table(["week to", "CSI 300 ETFs", "CSI 300", "vol. pct.", "ChiNext ETF", "ChiNext", "vol. pct."], wrows)
    lines += ["", f"The Sinolink digest (2026-02-09, seed 000) covers the week to {SINOLINK_WEEK_END}, after the "
                  f"data's last close ({weeks[-1]['summary']['week_end']}): no comparison. The dashboard's notes on "
                  "the real data:", ""]
    lines += [f"- {n}" for n in zt["notes"]] + [""]
    return lines + commands_block()


#: Huatai 2021-06-27 (seed 002), its crowding read of the week to 2021-06-25: (the seed's words, its industry,
#: what it says, the CITIC level-1 industry here, the flag it names)
HUATAI_CROWDING = [
    ("酒类行业近期换手率处于历史高位", "酒类", "turnover rate at a historical high", "食品饮料", "heat"),
    ("医药行业出现了量价背离现象", "医药", "price-volume divergence, downside risk", "医药", "divergence"),
    ("通信…行业成分股分化过小", "通信", "constituents too little differentiated", "通信", "dispersion"),
    ("…证券行业成分股分化过小", "证券", "constituents too little differentiated", "非银行金融", "dispersion"),
]
HUATAI_CROWDED = 4  # "总计四个行业出现拥挤状态"
CROWDING_WEEK = "2021-06-25"
#: the CITIC level-2 industries the seed names, with their level-1 parent
LEVEL2 = {"酒类": "食品饮料", "证券": "非银行金融"}


def _crowding(asof: str | None = None, real: bool = True, *extra: str) -> list[dict]:
    """``crowding --json`` rows with the 20-day return and volume change of its ``--csv`` file added."""
    import pandas as pd
    argv = ["crowding"] + (["--data", REAL] if real else []) + (["--asof", asof] if asof else []) + list(extra)
    out = _OUT_DIRS.setdefault(tuple(argv), temp_dir()) / "crowding.csv"
    rows = cli_json(*argv, "--json", "--csv", str(out), shown="xladdin " + " ".join(argv) + " --json --csv FILE")
    csv = pd.read_csv(out, encoding="utf-8-sig").set_index("industry")
    for r in rows:
        r["ret"], r["volume_change"] = (None if pd.isna(csv.at[r["industry"], c]) else float(csv.at[r["industry"], c])
                                        for c in ("ret", "volume_change"))
    return rows


def _why(r: dict) -> str:
    """The flags that are on, in short words."""
    parts = []
    if r["heat_pct"] is not None and r["heat_pct"] >= 0.95:
        parts.append(f"heat {pct(r['heat_pct'], 1)}")
    if r["divergence"]:
        parts.append(f"{'放量下跌' if r['divergence'] == 'volume_up_price_down' else '缩量上涨'} "
                     f"{pct(r['ret'], 1, sign=True)} on volume {pct(r['volume_change'], 0, sign=True)}")
    if r["dispersion_pct"] is not None and r["dispersion_pct"] <= 0.05:
        parts.append(f"dispersion {pct(r['dispersion_pct'], 1)}")
    return f"{r['name']}: {', '.join(parts)}"


def _read(r: dict, flag: str) -> str:
    if flag == "heat":
        return f"heat {pct(r['heat_pct'], 1)} (crowded at ≥ 95%)"
    if flag == "divergence":
        kind = {"volume_up_price_down": "放量下跌", "price_up_volume_down": "缩量上涨"}.get(r["divergence"], "none")
        return f"{kind}: 20-day return {pct(r['ret'], 1, sign=True)}, volume {pct(r['volume_change'], 1, sign=True)}"
    return "blank: no per-stock prices"


def _divergence_words(r: dict) -> str:
    """What the divergence flag says of one industry, in words (a near miss of 放量下跌 said as one)."""
    moves = f"{pct(r['ret'], 1, sign=True)} on volume {pct(r['volume_change'], 1, sign=True)}"
    if r["divergence"] == "volume_up_price_down":
        return f"shows 放量下跌 ({moves})"
    if r["divergence"] == "price_up_volume_down":
        return f"shows 缩量上涨 ({moves})"
    if r["ret"] is not None and r["ret"] <= -0.03 and 0.19 <= (r["volume_change"] or 0) < 0.2:
        return f"misses 放量下跌 by a hair ({moves}; threshold +20%)"
    return f"shows no price-volume divergence ({moves})"


def part_m14() -> list[str]:
    week = _crowding(CROWDING_WEEK)
    by_name = {r["name"]: r for r in week}
    crowded = [r for r in week if r["crowded"]]
    food, pharma = by_name["食品饮料"], by_name["医药"]
    earlier = [(d, _crowding(d)) for d in ("2021-06-04", "2021-06-11", "2021-06-18")]
    looser = {r["name"]: r for r in _crowding(CROWDING_WEEK, True, "--crowding-volume-move", "0.19")}
    sample = _crowding(None, real=False)
    s_crowded = [r for r in sample if r["crowded"]]
    s_day = _run(["crowding"]).out.split(" on ", 1)[1].split(",", 1)[0]  # "... (M14) on 2026-10-30, source ..."
    lines = ["## M14 Industry crowding (Huatai) — real data and sample", ""]
    lines += headline(
        "M14 industry crowding, real data",
        f"In the seed's week (to {CROWDING_WEEK}) the read here finds {len(crowded)} crowded of the {len(week)} "
        f"CITIC level-1 industries ({'; '.join(_why(r) for r in crowded) or 'none'}), where the seed counts "
        f"{HUATAI_CROWDED}. Its four cannot all be set beside ours: 酒类 and 证券 are level-2 industries, its "
        "turnover rate needs float shares and its dispersion per-stock prices, neither in the real data. Where a "
        f"comparison holds, 医药 {_divergence_words(pharma)}, and 食品饮料, 酒类's level-1 parent, "
        f"{_divergence_words(food)}.")
    lines += [f"**The week to {CROWDING_WEEK}** (Huatai, 2021-06-27, seed 002: 总计四个行业出现拥挤状态). Heat is each "
              "industry's share of the traded volume (the real data have volume, no amount), its 20-day mean as a "
              "percentile of the last 750 trading days; divergence compares the 20-day return with the change of the "
              "20-day mean volume (±3%, ±20%). The seed's sentences beside the read here:", ""]
    rows = [[f"{words} ({what})", f"{here}" + (f" (parent of {ind})" if ind in LEVEL2 else ""),
             _read(by_name[here], flag),
             ("no: level 2 vs level 1; volume share vs turnover rate" if ind == "酒类"
              else "yes" if flag == "divergence" else "no: needs per-stock prices")]
            for words, ind, what, here, flag in HUATAI_CROWDING]
    lines += table(["the seed", "CITIC level 1 here", f"read here on {CROWDING_WEEK}", "comparable"], rows, "llll")
    hottest = sorted((r for r in week if r["heat_pct"] is not None), key=lambda r: -r["heat_pct"])[:5]
    lines += ["", "The five hottest industries by this measure: " + ", ".join(f"{r['name']} {pct(r['heat_pct'], 1)}"
                                                                          for r in hottest) + ". "
              f"With the volume threshold at 19% instead of 20%, 食品饮料 flags 放量下跌: "
              f"{'yes' if looser['食品饮料']['divergence'] == 'volume_up_price_down' else 'no'} "
              f"({sum(r['crowded'] for r in looser.values())} industries crowded then).", "",
              "**The weeks before** (crowded industries on each Friday):", ""]
    lines += table(["week to", "crowded", "which"],
                   [[d, str(sum(r["crowded"] for r in rs)), "; ".join(_why(r) for r in rs if r["crowded"]) or "–"]
                    for d, rs in earlier + [(CROWDING_WEEK, week)]], "lrl")
    lines += ["", f"**The embedded sample** (synthetic; the only data with per-stock prices, so the only place the "
                  f"dispersion flag can be shown): {len(s_crowded)} of {len(sample)} industries crowded on its last "
                  f"day, {s_day}: " + "; ".join(_why(r) for r in s_crowded) + ".", "",
              "What can and cannot be compared:", "",
              "- **Level.** The real data classify by CITIC level 1 (30 industries); the seed names level-2 "
              "industries where it has them (酒类 within 食品饮料, 证券 within 非银行金融), whose turnover and "
              "constituents differ from their parents'.",
              "- **Heat.** The seed reads a turnover rate (traded shares / float shares); industry_daily carries no "
              "float shares, so heat here is the industry's share of the market's traded volume (amount where a "
              "file has it). Both rank an industry against its own history, on different scales.",
              "- **Dispersion.** The cross-section of the constituents' 20-day returns needs per-stock closes "
              "(stock_daily), which the real data lack: the flag is blank there, never 0, and the count covers heat "
              "and divergence only.",
              "- **Formulas.** The seed gives none; windows and thresholds are the spec's choices (each a parameter "
              "of `xladdin crowding` and of the workbook's parameters sheet).", ""]
    return lines + commands_block()


# before/after: one table, rows written by the parts that run each strategy twice
BA_HEADER = ["strategy", "data, window", "lag 0, no cost", "lag 1, no cost (gross)", "lag 1, with cost (net)",
             "turnover a year", "report"]


def part_before_after_head() -> list[str]:
    return [
        "## Before and after: lag 0 without costs → lag 1 with costs",
        "",
        "Each strategy run twice: with `--lag 0 --cost 0` (M11: `--lag 0 --etf-cost 0`) added to the commands of its "
        "section (how the figures "
        "were measured before: trading at the close of the data's own day, without costs) and as in its section "
        "(a session later, with costs). Cells: annualised return / excess over the benchmark (M7: group 5 and its "
        "excess over industry equal weight; M11: the strategy and its excess over the equal-weight universe). "
        "Gross = the lag-1 trades without costs; turnover of the lag-1 run. The Huafu report (M7–M10) states no "
        "trading cost; the Dongxing figures (M11) are after its 0.3%.",
        "",
    ] + table(BA_HEADER, [], "llrrrrr")


def _ba_row(label: str, data: str, before: dict, after: dict, report: str) -> list[str]:
    def cell(ret, exc):
        return f"{pct(ret)} / {pct(exc, sign=True)}"
    return ["| " + " | ".join([label, data, cell(before["annual_return_net"], before["excess_net"]),
                               cell(after["annual_return_gross"], after["excess_gross"]),
                               cell(after["annual_return_net"], after["excess_net"]),
                               pct(after["turnover_annual"], 0), report]) + " |"]


def _ba_m7(label: str, data: str, before: dict, after: dict) -> list[str]:
    b, a = _groups(before)["G5"], _groups(after)["G5"]
    cell = lambda r, e: f"{pct(r)} / {pct(e, sign=True)}"  # noqa: E731
    rep = f"{pct(HUAFU_M7['G5'])} (EW {pct(HUAFU_M7['EW'])})"
    return ["| " + " | ".join([label, data, cell(b["annual_return"], b["excess_return"]),
                               cell(a["annual_return_gross"], a["excess_return_gross"]),
                               cell(a["annual_return"], a["excess_return"]), pct(a["turnover"], 0), rep]) + " |"]


def _window(js: dict) -> str:
    return f"{js['start']} … {js['end']}"


def part_before_after_real() -> list[str]:
    b1, a1 = real_from_2017(lag0=True), real_from_2017()
    b2, a2 = real_from_2019(lag0=True), real_from_2019()
    rows = _ba_m7("M7 G5", f"real, {_window(a1['m7_quintiles'])}", b1, a1)
    rows += _ba_row("M8", f"real, {_window(a1['m8'])}", b1["m8"], a1["m8"],
                    f"{pct(HUAFU_M8['annual_return'])} / {pct(HUAFU_M8['excess'], sign=True)}")
    rows += _ba_row("M10", f"real, {_window(a2)}", b2, a2,
                    f"{pct(HUAFU_M10['annual_return'])} / {pct(HUAFU_M10['excess'], sign=True)}")
    rows += _ba_row("M10", f"real, {_window(a1)}", b1, a1, "–")
    return rows


def part_before_after_sample_m7_m8() -> list[str]:
    b, a = sample_from_2017(lag0=True), sample_from_2017()
    rows = _ba_m7("M7 G5", f"sample, {_window(a['m7_quintiles'])}", b, a)
    rows += _ba_row("M8", f"sample, {_window(a['m8'])}", b["m8"], a["m8"],
                    f"{pct(HUAFU_M8['annual_return'])} / {pct(HUAFU_M8['excess'], sign=True)}")
    return rows


def part_before_after_sample_m9_m10() -> list[str]:
    b, a = sample_from_2019(lag0=True), sample_from_2019()
    rows = _ba_row("M9", f"sample, {_window(a['m9'])}", b["m9"], a["m9"],
                   f"{pct(HUAFU_M9['annual_return'])} / {pct(HUAFU_M9['excess'], sign=True)}")
    rows += _ba_row("M10", f"sample, {_window(a)}", b, a,
                    f"{pct(HUAFU_M10['annual_return'])} / {pct(HUAFU_M10['excess'], sign=True)}")
    return rows


def part_before_after_m11() -> list[str]:
    b, a = northbound(lag0=True), northbound()
    rep = a["report"]
    rows = _ba_row("M11", f"sample, {_window(a)}", b, a,
                   f"{pct(rep['strategy_annual_return'])} / {pct(rep['excess_return'], sign=True)} (net)")
    _SHOWN.clear()  # the commands are those of the sections above, with and without --lag 0 --cost 0 / --etf-cost 0
    return rows + [""]


#: the document's parts, in order: every ``part_<name>`` function of this module, in the order they are defined
#: (a new part is one function, placed where its lines go), named ``<name>`` with ``-`` for ``_``
PARTS: list[tuple[str, Callable[[], list[str]]]] = [(name[5:].replace("_", "-"), fn) for name, fn in list(globals().items())
                                                    if name.startswith("part_") and callable(fn)]
PART_NAMES = [name for name, _ in PARTS]


# ------------------------------------------------------------------------------------------------------ output
def render_part(name: str) -> list[str]:
    """The lines of one part (its commands run in this process)."""
    fn = dict(PARTS)[name]
    _SHOWN.clear()
    return fn()


def render_document() -> str:
    lines, index = [], []
    for name, _ in PARTS:
        part = render_part(name)
        index.append(f"{name} {len(lines) + 1}-{len(lines) + len(part)}")
        lines += part
    lines.append(f"{INDEX_PREFIX} {', '.join(index)} -->")
    return "\n".join(lines) + "\n"


def headlines(document: str) -> list[str]:
    """The headline paragraphs of a document (the line after each headline mark)."""
    lines = document.splitlines()
    return [lines[i + 1] for i, ln in enumerate(lines) if ln == HEADLINE_MARK]


def readme_with_block(readme: str, document: str) -> str:
    """README text with its results block replaced by the document's headline paragraphs, one list item each."""
    if README_BEGIN not in readme or README_END not in readme:
        raise SystemExit(f"README.md has no results block: add the lines\n{README_BEGIN}\n{README_END}")
    head, rest = readme.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    body = "\n".join(f"- {h}" for h in headlines(document))
    return f"{head}{README_BEGIN}\n{body}\n{README_END}{tail}"


def _cleanup() -> None:
    for path in _TEMP:
        shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate docs/results.md and the README's results block.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--part", choices=PART_NAMES, help="print one part's lines instead of writing the files")
    group.add_argument("--list", action="store_true", help="print the part names in document order")
    group.add_argument("--check", action="store_true", help="exit 1 if docs/results.md or README.md differs")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(PART_NAMES))
        return 0
    os.chdir(ROOT)
    if not Path(REAL).is_dir():
        raise SystemExit(f"real data not found at {ROOT / REAL}: the results need ../shared/data/real/canonical")
    try:
        if args.part:
            sys.stdout.write("\n".join(render_part(args.part)) + "\n")
            return 0
        document = render_document()
        readme = readme_with_block(README.read_text(encoding="utf-8"), document)
    finally:
        _cleanup()
    if args.check:
        stale = [p.name for p, text in ((DOC, document), (README, readme))
                 if not p.exists() or p.read_text(encoding="utf-8") != text]
        if stale:
            print(f"not up to date: {', '.join(stale)}; run .venv/bin/python scripts/results.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(document, encoding="utf-8")
    README.write_text(readme, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)} ({len(document.splitlines())} lines) and the results block of README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
