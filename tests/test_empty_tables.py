"""Every command that takes data, run against every canonical table emptied in turn (header only).

No traceback: the command either stops with an error naming the table, or does its work without
it; then, when the command loaded the table, the loading warning names it (logged to stderr).
Commands run in-process (``xladdin.ops.cli.main``) on the small corpus market of conftest.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from xladdin.data.schema import TABLES
from xladdin.ops.cli import main
from xladdin.workbook.template import RefreshError

COMMANDS = {
    "validate": lambda d, tmp: ["validate", d],
    "study": lambda d, tmp: ["study", "correlation", "--data", d],
    "style": lambda d, tmp: ["style", "--data", d],
    "backtest-rotation": lambda d, tmp: ["backtest", "rotation", "--data", d],
    "backtest-northbound": lambda d, tmp: ["backtest", "northbound", "--data", d],
    "dashboard": lambda d, tmp: ["dashboard", "--data", d],
    "template": lambda d, tmp: ["template", tmp / "t.xlsm", "--data", d, "--no-progress"],
    "refresh": lambda d, tmp: ["refresh", tmp / "t.xlsm", "--data", d, "--no-progress"],
    "report": lambda d, tmp: ["report", tmp / "r.xlsx", "--data", d, "--no-progress"],
    "weekly": lambda d, tmp: ["weekly", "--data", d, "--out", tmp / "out", "--no-progress"],
}


@pytest.fixture(scope="module")
def workbook(tiny_short_dir, tmp_path_factory) -> Path:
    """A tracking workbook built from the clean corpus (what ``refresh`` refreshes)."""
    folder = tmp_path_factory.mktemp("wb")
    assert main(["template", str(folder / "t.xlsm"), "--data", str(tiny_short_dir), "--no-progress"]) == 0
    return folder / "t.xlsm"


#: the commands that compute the whole weekly workbook and save it (marked slow: about 1 s a run, 48 runs)
WORKBOOK_COMMANDS = ("template", "refresh", "report", "weekly")
#: the fast subset (-m "not slow") empties these two: the ETF-flow commands stop on the first, all work without the second
FAST_TABLES = ("etf_daily", "margin_daily")


@pytest.mark.parametrize("table", [t if t in FAST_TABLES else pytest.param(t, marks=pytest.mark.slow) for t in TABLES])
@pytest.mark.parametrize("command", [pytest.param(c, marks=pytest.mark.slow) if c in WORKBOOK_COMMANDS else c
                                     for c in COMMANDS])
def test_command_with_an_empty_table(tiny_short_dir, workbook, tmp_path, capsys, caplog, command, table):
    data = tmp_path / "data"
    shutil.copytree(tiny_short_dir, data)
    p = data / f"{table}.csv"
    p.write_text(p.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    if command == "refresh":
        shutil.copy(workbook, tmp_path / "t.xlsm")
    argv = [str(a) for a in COMMANDS[command](data, tmp_path)]
    caplog.set_level(logging.WARNING, logger="xladdin.data")
    try:
        rc = main(argv)  # any other exception escaping here is the traceback this test forbids
    except RefreshError as exc:  # the CLI of issue 17 prints it as one line; its text is checked here
        rc, refresh_error = 1, str(exc)
    else:
        refresh_error = ""
    got = capsys.readouterr()
    out = got.out + got.err + refresh_error
    assert rc in (0, 1), out
    assert "Traceback" not in out
    named = f"`{table}`" in out or f"{table}.csv" in out
    if rc == 1:
        assert named, out
    elif command != "validate":
        loaded = any(f"{table}.csv: no data rows" in r.getMessage() for r in caplog.records)
        uses_all = command not in ("study", "style", "backtest-northbound")  # these load only their own tables
        assert loaded or not uses_all, (out, caplog.text)
    else:
        assert f"{table}.csv: no data rows (a header only)" in out, out
