"""What the weekly job prints: English lines whatever the report's language (the notes carry both, the
workbook shows its own), the --asof help saying the rule the as-of date follows, and no progress bar
written into a log (stderr not a terminal), a bar on a terminal."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from xladdin.ops.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _help(command: str) -> str:
    parser = build_parser(command)
    sub = parser._subparsers._group_actions[0].choices[command]
    return " ".join(sub.format_help().split())  # argparse wraps lines: compare words


# ------------------------------------------------------------------------------------------ English notes
@pytest.mark.slow
@pytest.mark.parametrize("language", ["zh", "en"])
def test_not_computed_lines_are_english_on_real_data(real_data_dir, tmp_path, capsys, language):
    """The real data's weights are stale at the as-of date (2025-12-31): the CLI says so in English, as it says
    the missing northbound table, whatever --language the report has."""
    rc = main(["weekly", "--data", str(real_data_dir), "--out", str(tmp_path / "r"), "--no-progress",
               "--language", language])
    out = capsys.readouterr().out
    assert rc == 0, out
    lines = [ln for ln in out.splitlines() if ln.startswith("  not computed:")]
    assert {ln.split(":")[1].strip() for ln in lines} == {"industry_flow", "latest_picks", "etf_ranking", "etf_ic"}
    assert [ln for ln in lines if CJK.search(ln)] == []
    assert ("  not computed: industry_flow: index_weights end 2024-10-08 (current to 2024-12-08): "
            "not computed on stale inputs") in lines


# ------------------------------------------------------------------------------------------ --asof help
@pytest.mark.parametrize("command", ["weekly", "report", "template"])
def test_asof_help_says_the_effective_end(command):
    """The default as-of date is the weekly tables' effective end (2025-12-31 on the real data, where etf_daily runs
    to 2026-08-21: tests/test_weekly_strategy.py), not the last ETF date; the help says the rule the parameters
    sheet says."""
    from xladdin.workbook.params import ASOF_DEFAULT
    text = _help(command)
    assert "last ETF date" not in text
    assert f"as-of date YYYY-MM-DD (default: {ASOF_DEFAULT['en']})" in text


def test_refresh_asof_help_the_sheet_and_the_docs_say_the_same():
    from xladdin.workbook.params import ASOF_DEFAULT, SPEC_BY_KEY
    text = _help("refresh")
    assert "last ETF date" not in text and ASOF_DEFAULT["en"] in text
    spec = SPEC_BY_KEY["asof"]  # the parameters sheet
    assert ASOF_DEFAULT["en"] in spec.en and ASOF_DEFAULT["zh"] in spec.zh
    row = next(ln for ln in (ROOT / "docs" / "excel.md").read_text(encoding="utf-8").splitlines()
               if ln.startswith("| `asof` |"))
    assert ASOF_DEFAULT["en"] in row


# ------------------------------------------------------------------------------------------ progress bar
def _run(args: list[str], stderr) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "xladdin", *args], stdout=subprocess.PIPE, stderr=stderr,
                          env=env, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["weekly", "report"])
def test_no_progress_bar_into_a_pipe(command, real_data_dir, tmp_path):
    """stderr a pipe (cron, CI, `2>log`): no carriage returns, no bar; the result lines and warnings as before."""
    target = ["--out", str(tmp_path / "r")] if command == "weekly" else [str(tmp_path / "r.xlsx")]
    done = _run([command, "--data", str(real_data_dir), *target], subprocess.PIPE)
    err = done.stderr.decode("utf-8")
    assert done.returncode == 0, err
    assert "\r" not in err and "%|" not in err, err[:400]
    assert "warning: index_weights.csv: 24 constituent(s) not in stock_industry.csv" in err  # still said, whole
    assert "(as of 2025-12-31)" in done.stdout.decode("utf-8")


@pytest.mark.slow
def test_progress_bar_on_a_terminal(real_data_dir, tmp_path):
    """stderr a terminal: the bar is drawn (and --no-progress still turns it off)."""
    def run_on_tty(*extra: str) -> str:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
        try:
            proc = subprocess.Popen([sys.executable, "-m", "xladdin", "weekly", "--data", str(real_data_dir),
                                     "--out", str(tmp_path / "r"), *extra], stdout=subprocess.DEVNULL,
                                    stderr=slave, env={**os.environ, "COLUMNS": "100"})
            os.close(slave)
            chunks = []
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            assert proc.wait(timeout=600) == 0
        finally:
            os.close(master)
        return b"".join(chunks).decode("utf-8", "replace")

    drawn = run_on_tty()
    assert "\r" in drawn and "weekly: compute" in drawn and "%|" in drawn
    quiet = run_on_tty("--no-progress")
    assert "%|" not in quiet
