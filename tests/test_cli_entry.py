"""The two ways to run the command line -- ``python -m xladdin`` (``xladdin/__main__.py``) and the ``xladdin``
console script the install writes beside the interpreter -- are one program: the same help, version, usage
errors and exit codes, the program named ``xladdin`` in both."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import xladdin

ENTRIES = {"python -m xladdin": [sys.executable, "-m", "xladdin"],
           "console script": [str(Path(sys.executable).parent / "xladdin")]}


def run(entry: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*ENTRIES[entry], *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("entry", ENTRIES)
def test_the_entry_runs_the_command_line(entry):
    version = run(entry, "--version")
    assert (version.returncode, version.stdout) == (0, f"xladdin {xladdin.__version__}\n"), version.stderr
    bad = run(entry, "weekly", "--no-such-flag")
    assert bad.returncode == 2 and bad.stderr.startswith("usage: xladdin weekly ")
    assert "xladdin weekly: error: " in bad.stderr and "Traceback" not in bad.stderr


def test_both_entries_print_the_same_help():
    by_module, by_script = run("python -m xladdin", "--help"), run("console script", "--help")
    assert by_module.returncode == by_script.returncode == 0
    assert by_module.stdout == by_script.stdout and by_module.stdout.startswith("usage: xladdin [-h] [--version]")


def test_the_command_registry_lists_every_command_module():
    """``COMMAND_MODULES`` (the order of ``--help``) names each command module of ``xladdin/ops/commands`` (without
    a leading underscore) once; a module not listed is a sub-command another listed module registers (imports):
    a new command is its module plus one line there, and cannot be left out."""
    import ast
    import pkgutil

    import xladdin.ops.commands as commands
    from xladdin.ops.cli import COMMAND_MODULES
    folder = Path(commands.__path__[0])
    modules = {m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")}
    listed = [name.replace("-", "_") for name in COMMAND_MODULES]  # the command `excel-setup` is excel_setup.py
    assert len(set(listed)) == len(listed) and set(listed) <= modules
    imported = {alias.name for m in listed
                for node in ast.walk(ast.parse((folder / f"{m}.py").read_text(encoding="utf-8")))
                if isinstance(node, ast.ImportFrom) and node.level == 1 for alias in node.names}
    imported |= {node.module for m in listed
                 for node in ast.walk(ast.parse((folder / f"{m}.py").read_text(encoding="utf-8")))
                 if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}
    assert modules - set(listed) <= imported, modules - set(listed) - imported


#: run in the command's own process (``PYTHONPATH``): prints numpy's huge-page switch as the process ends, also
#: through the weekly job's fast exit (``os._exit``)
REPORT_PAGES = '''
import atexit, os, sys
def report():
    m = sys.modules.get("numpy._core.multiarray")
    sys.stderr.write(f"numpy huge pages: {None if m is None else m._get_madvise_hugepage()}\\n")
atexit.register(report)
_exit = os._exit
def exit_reporting(code):
    report()
    _exit(code)
os._exit = exit_reporting
'''


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize(("chosen", "expected"), [(None, "False"), ("1", "True")])
def test_the_program_gives_numpy_small_pages_unless_the_user_chose(entry, chosen, expected, tmp_path, monkeypatch):
    """The command line turns numpy's transparent huge pages off (``cli.NUMPY_HUGEPAGE_ENV``: measured slower for
    the weekly job, bench/README.md) before numpy is imported; a value the user set is kept."""
    (tmp_path / "sitecustomize.py").write_text(REPORT_PAGES, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    if chosen is not None:
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", chosen)
    done = run(entry, "doctor")
    assert f"numpy huge pages: {expected}\n" in done.stderr, done.stderr[-2000:]


def test_python_code_calling_the_command_line_keeps_its_numpy_settings(monkeypatch):
    """Only the program sets the switch: numpy is imported here already, so nothing changes."""
    from xladdin.ops import cli

    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    cli.small_pages_for_numpy()
    assert "NUMPY_MADVISE_HUGEPAGE" not in __import__("os").environ
