"""Every command that takes data, run against every canonical table emptied in turn (header only).

No traceback: the command either stops with an error naming the table, or does its work without
it; then, when the command loaded the table, the loading warning names it (logged to stderr).
Commands run in-process (``xladdin.ops.cli.main``) on the small corpus market of conftest.
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

import pytest

from xladdin.data.schema import TABLES
from xladdin.ops.cli import build_parser, main
from xladdin.workbook.template import RefreshError


def _leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) of every command and sub-command of the CLI."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for sub in subs:
        for name, child in sub.choices.items():
            yield from _leaf_parsers(child, path + (name,))


#: what a command's positional argument or required option gets here, by its metavar
ARGUMENTS = {"WORKBOOK": "t.xlsm", "OUT.xlsm": "t.xlsm", "OUT.xlsx": "r.xlsx", "DIR": "out", "FOLDER": "setup"}
#: the commands that take their data folder as a positional argument (this dest) rather than ``--data``
DATA_POSITIONAL = {("validate",): "path"}


def data_commands() -> dict[str, list]:
    """Every command that takes data (its parser has ``--data``, or :data:`DATA_POSITIONAL`; the CLI's parsers
    are the registry), with its arguments: the data and, by metavar (:data:`ARGUMENTS`), its other positionals
    and required options; ``--no-progress`` where it has one."""
    out = {}
    for path, parser in _leaf_parsers(build_parser()):
        options = parser._option_string_actions
        if "--data" not in options and path not in DATA_POSITIONAL:
            continue
        argv: list = list(path)
        for action in parser._actions:
            if action.dest == DATA_POSITIONAL.get(path):
                argv.append("DATA")
            elif not action.option_strings and not isinstance(action, argparse._SubParsersAction):
                argv.append(ARGUMENTS[action.metavar])
            elif action.required and action.option_strings:
                argv += [action.option_strings[0], ARGUMENTS[action.metavar]]
        argv += (["--data", "DATA"] if "--data" in options else []) + (
            ["--no-progress"] if "--no-progress" in options else [])
        out["-".join(path)] = argv
    return out


COMMANDS = data_commands()


def command_argv(command: str, data: Path, tmp: Path) -> list[str]:
    """The command's arguments with the data folder and, for file arguments, paths in ``tmp``."""
    return [str(data) if a == "DATA" else str(tmp / a) if a in ARGUMENTS.values() else a for a in COMMANDS[command]]


def test_every_command_that_takes_data_is_run():
    assert set(COMMANDS) >= {"validate", "study-correlation", "style", "backtest-rotation", "backtest-northbound",
                             "dashboard", "crowding", "template", "refresh", "report", "weekly"}
    assert COMMANDS["report"] == ["report", "r.xlsx", "--data", "DATA", "--no-progress"]
    assert COMMANDS["weekly"][:3] == ["weekly", "--out", "out"] and COMMANDS["validate"] == ["validate", "DATA"]


@pytest.fixture(scope="module")
def workbook(tiny_short_dir, tmp_path_factory) -> Path:
    """A tracking workbook built from the clean corpus (what ``refresh`` refreshes)."""
    folder = tmp_path_factory.mktemp("wb")
    assert main(["template", str(folder / "t.xlsm"), "--data", str(tiny_short_dir), "--no-progress"]) == 0
    return folder / "t.xlsm"


#: the commands that load only the tables they use from a folder (the others load every table present)
LOADS_OWN_TABLES = ("study-correlation", "style", "backtest-northbound", "crowding")
#: the commands that compute the whole weekly workbook and save it (marked slow: about 1 s a run, one per table each)
WORKBOOK_COMMANDS = ("template", "refresh", "report", "weekly", "excel-setup")
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
    argv = command_argv(command, data, tmp_path)
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
        uses_all = command not in LOADS_OWN_TABLES
        assert loaded or not uses_all, (out, caplog.text)
    else:
        assert f"{table}.csv: no data rows (a header only)" in out, out
