"""The traps between a download and the first Refresh, one check each (xladdin/ops/platform_checks.py), run with
the platform's facts stubbed (CI is Linux): the Python version, the ``xladdin`` command on PATH, the macOS
AppleScript file, the Windows Mark of the Web, the module beside the workbook, which Python Excel will run.

What the checks assume of xlwings is read from xlwings' own code: the VBA the template carries (olevba on the
committed workbook: ``GetConfig``'s order, ``XLPyLoadDLL``'s folders, ``CheckConda``, ``AppleScriptTask``), its
``cli.runpython_install`` (run, with HOME in a temporary folder), ``cli.config_create`` and
``utils.read_user_config`` (the config file format)."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path, PureWindowsPath

import pytest
import xlwings
import xlwings.cli
import xlwings.utils

from xladdin.ops import platform_checks as pc
from xladdin.ops.cli import main as cli
from xladdin.workbook.template import module_name_problem

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbooks" / "xladdin_weekly.xlsm"
V = xlwings.__version__


@pytest.fixture(scope="module")
def vba() -> str:
    """The xlwings module of the VBA project the template embeds (read from the committed workbook)."""
    from oletools.olevba import VBA_Parser
    vp = VBA_Parser(str(COMMITTED))
    try:
        code = {name: src for (_, _, name, src) in vp.extract_all_macros()}
    finally:
        vp.close()
    return code["xlwings.bas"]


def files(*paths: str):
    """``exists`` for a machine whose files are exactly ``paths`` (Windows paths compared case-insensitively)."""
    norm = {str(PureWindowsPath(p)).lower() if "\\" in p or ":" in p[:2] else p for p in paths}
    return lambda p: (str(PureWindowsPath(p)).lower() if "\\" in p or ":" in p[:2] else p) in norm


# ------------------------------------------------------------------------------------------ the interpreter rows
def test_interpreter_rows_per_install():
    win = {}
    assert pc.interpreter_rows(r"C:\Users\me\AppData\Local\Programs\Python\Python312\python.exe", win, "Windows") == [
        ("Interpreter_Win", r"C:\Users\me\AppData\Local\Programs\Python\Python312\pythonw.exe")]
    assert pc.interpreter_rows(r"C:\Users\me\xl\Scripts\python.exe", win, "Windows") == [
        ("Interpreter_Win", r"C:\Users\me\xl\Scripts\pythonw.exe")]  # a venv: pythonw.exe sits beside python.exe
    activated = {"CONDA_PREFIX": r"C:\Users\me\anaconda3\envs\research", "CONDA_DEFAULT_ENV": "research",
                 "CONDA_EXE": r"C:\Users\me\anaconda3\Scripts\conda.exe"}
    rows = [("Conda Path", r"C:\Users\me\anaconda3"), ("Conda Env", "research")]
    assert pc.interpreter_rows(r"C:\Users\me\anaconda3\envs\research\python.exe", activated, "Windows") == rows
    # not activated (Excel's own launch, a shortcut): the conda-meta folder of sys.prefix says conda
    assert pc.interpreter_rows(r"C:\Users\me\anaconda3\envs\research\python.exe", {}, "Windows",
                               conda_prefix=r"C:\Users\me\anaconda3\envs\research") == rows
    assert pc.interpreter_rows(r"C:\Users\me\anaconda3\python.exe", {}, "Windows",
                               conda_prefix=r"C:\Users\me\anaconda3") == [("Conda Path", r"C:\Users\me\anaconda3"),
                                                                          ("Conda Env", "base")]
    outside = {"CONDA_PREFIX": r"D:\envs\xl", "CONDA_EXE": r"C:\Miniconda3\Scripts\conda.exe"}
    assert pc.interpreter_rows(r"D:\envs\xl\python.exe", outside, "Windows") == [
        ("Conda Path", r"C:\Miniconda3"), ("Conda Env", r"D:\envs\xl")]  # xlwings takes a path with "\" (GH 2655)
    assert pc.interpreter_rows("/Users/me/xl/bin/python3", {}, "Darwin") == [("Interpreter_Mac",
                                                                               "/Users/me/xl/bin/python3")]
    assert pc.interpreter_rows("/usr/bin/python3", {}, "Linux") == []


def test_conda_path_is_what_xlwings_config_create_takes(monkeypatch):
    """xlwings' own ``get_conda_settings`` (used by ``xlwings config create``) strips ``\\Scripts\\conda.exe``."""
    monkeypatch.setenv("CONDA_EXE", "C:/Users/me/anaconda3/Scripts/conda.exe")  # "/": xlwings splits on os.sep
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "research")
    path, env = xlwings.cli.get_conda_settings()
    rows = dict(pc.interpreter_rows("C:/Users/me/anaconda3/envs/research/python.exe", dict(os.environ), "Windows",
                                    conda_prefix="C:/Users/me/anaconda3/envs/research"))
    assert PureWindowsPath(rows["Conda Path"]) == PureWindowsPath(path) and rows["Conda Env"] == env


# ------------------------------------------------------------------------------------------ the config files
def test_conf_file_round_trips_through_xlwings_reader(tmp_path, monkeypatch):
    rows = [("Interpreter_Win", r"C:\Program Files\Python312\pythonw.exe"), ("UDF Modules", "xladdin_udfs.flows")]
    file = tmp_path / "xlwings.conf"
    file.write_text(pc.conf_file_text(rows))
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(file))
    assert xlwings.utils.read_user_config() == {"interpreter_win": r"C:\Program Files\Python312\pythonw.exe",
                                                "udf modules": "xladdin_udfs.flows"}
    assert pc.read_conf_file(file.read_text()) == {"INTERPRETER_WIN": rows[0][1], "UDF MODULES": rows[1][1]}
    with pytest.raises(ValueError, match="quote"):
        pc.conf_file_text([("Interpreter_Win", 'C:\\a"b')])


def test_read_conf_file_reads_what_xlwings_config_create_writes(tmp_path, monkeypatch):
    file = tmp_path / ".xlwings" / "xlwings.conf"
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(file))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    xlwings.cli.config_create(None)
    assert pc.read_conf_file(file.read_text()) == {"INTERPRETER_WIN": sys.executable}  # (not macOS: _WIN)


def test_the_lookup_order_is_the_vbas(vba):
    """GetConfig: the sheet, then the file beside the workbook, then the user's file; the first that has the key."""
    body = vba[vba.index("Function GetConfig("):]
    body = body[:body.index("End Function")]
    assert body.index("GetConfigFromSheet(ThisWorkbook)") < body.index("GetDirectoryConfigFilePath()") \
        < body.index("GetConfigFilePath()")
    layers = [("sheet", {"UDF Modules": "x"}), ("dir", {"INTERPRETER_WIN": "C:\\a.exe"}),
              ("user", {"interpreter_win": "C:\\b.exe", "CONDA PATH": "C:\\c"})]
    assert pc.conf_lookup("Interpreter_Win", layers) == ("C:\\a.exe", "dir")
    assert pc.conf_lookup("Conda Path", layers) == ("C:\\c", "user")
    assert pc.conf_lookup("Conda Env", layers) is None


# ------------------------------------------------------------------------------------------ which Python Excel runs
PYW = r"C:\Users\me\AppData\Local\Programs\Python\Python312\pythonw.exe"
THIS = [("Interpreter_Win", PYW)]


def _sheet(**rows):
    return [("its xlwings.conf sheet", {k.replace("_", " ") if k.startswith("Conda") else k: v
                                        for k, v in rows.items()})]


def test_vba_loads_the_dll_beside_the_python_or_one_folder_up_and_checks_condabin(vba):
    assert 'LoadLibrary(ParentFolder(PYTHON_WIN) + "\\" + XLPyDLLName)' in vba
    assert 'LoadLibrary(ParentFolder(ParentFolder(PYTHON_WIN)) + "\\" + XLPyDLLName)' in vba
    assert 'condaExecutable = CondaPath & "\\condabin\\conda.bat"' in vba
    assert 'PYTHON_WIN = CondaPath & "\\envs\\" & CondaEnv & "\\" & PYTHON_WIN' in vba
    assert f'XLPyDLLName As String = "xlwings64-{V}.dll"' in vba


def test_windows_interpreter_checks():
    dll = rf"C:\Users\me\AppData\Local\Programs\Python\Python312\xlwings64-{V}.dll"
    [ok] = pc.interpreter_checks("Windows", _sheet(Interpreter_Win=PYW), THIS, files(PYW, dll), V)
    assert ok == pc.Check("ok", f"the workbook runs {PYW} (its xlwings.conf sheet)")
    venv_py, venv_dll = r"C:\xl\Scripts\pythonw.exe", rf"C:\xl\xlwings64-{V}.dll"
    assert [c.status for c in pc.interpreter_checks("Windows", _sheet(Interpreter_Win=venv_py), THIS,
                                                    files(venv_py, venv_dll), V)] == ["ok", "note"]  # another Python
    [no_dll] = pc.interpreter_checks("Windows", _sheet(Interpreter_Win=PYW), THIS, files(PYW), V)
    assert no_dll.status == "fix" and f"xlwings64-{V}.dll is neither in" in no_dll.text
    [gone] = pc.interpreter_checks("Windows", _sheet(Interpreter_Win=PYW), THIS, files(), V)
    assert gone.status == "fix" and "does not exist on this machine" in gone.text
    for sheet in (_sheet(), _sheet(Interpreter_Win="python")):
        [none] = pc.interpreter_checks("Windows", sheet, THIS, files(), V)
        assert none.status == "fix" and "Microsoft Store alias" in none.text
        assert f"Interpreter_Win = {PYW}" in none.text and "above" not in none.text  # the row is in the message
    beside = [("its xlwings.conf sheet", {}), ("xlwings.conf beside it", {"INTERPRETER_WIN": PYW})]
    assert pc.interpreter_checks("Windows", beside, THIS, files(PYW, dll), V)[0].text.endswith("(xlwings.conf beside it)")


def test_conda_interpreter_checks():
    base = r"C:\Users\me\anaconda3"
    sheet = _sheet(Conda_Path=base, Conda_Env="research")
    conda_bat, dll = rf"{base}\condabin\conda.bat", rf"{base}\envs\research\xlwings64-{V}.dll"
    [ok] = pc.interpreter_checks("Windows", sheet, [], files(conda_bat, dll), V)
    assert ok.status == "ok" and "conda environment research" in ok.text
    [old] = pc.interpreter_checks("Windows", sheet, [], files(dll), V)
    assert old.status == "fix" and "condabin" in old.text
    [bare] = pc.interpreter_checks("Windows", sheet, [], files(conda_bat), V)
    assert bare.status == "fix" and "not installed in that environment" in bare.text
    [base_env] = pc.interpreter_checks("Windows", _sheet(Conda_Path=base, Conda_Env="base"), [],
                                       files(conda_bat, rf"{base}\xlwings64-{V}.dll"), V)
    assert base_env.status == "ok"


def test_mac_and_linux_interpreter_checks():
    py = "/Users/me/xl/bin/python3"
    assert pc.interpreter_checks("Darwin", [("s", {"Interpreter_Mac": py})], [("Interpreter_Mac", py)],
                                 files(py), V) == [pc.Check("ok", f"the workbook runs {py} (s)")]
    [none] = pc.interpreter_checks("Darwin", [("s", {})], [("Interpreter_Mac", py)], files(py), V)
    assert none.status == "fix" and f"Interpreter_Mac = {py}" in none.text
    [note] = pc.interpreter_checks("Linux", [("s", {})], [], files(), V)  # what scripts/run.sh builds, on Linux
    assert note.status == "note" and "no desktop Excel on Linux: the workbook names no Python" in note.text
    [named] = pc.interpreter_checks("Linux", _sheet(Interpreter_Win=PYW), [], files(), V)
    assert named.status == "note" and f"Interpreter_Win = {PYW}" in named.text


def test_excel_only_findings_are_notes_without_excel():
    fix = pc.Check("fix", "x")
    assert pc.excel_only(fix, "Windows") == fix and pc.excel_only(fix, "Darwin") == fix
    assert pc.excel_only(fix, "Linux") == pc.Check("note", "for Excel on Windows or macOS (none on Linux): x")
    assert pc.excel_only(None, "Linux") is None and pc.excel_only(pc.Check("ok", "y"), "Linux").status == "ok"


# ------------------------------------------------------------------------------------------ the traps
def test_python_check_against_xlwings_requires_python():
    assert pc.python_check((3, 11, 7), ">=3.11", V).status == "ok"
    old = pc.python_check((3, 10, 13), ">=3.11", V)
    assert old.status == "fix" and "Python 3.10.13 is outside xlwings" in old.text
    assert pc.python_check((3, 12, 0), None, V).status == "note"
    assert pc.satisfies((3, 13, 1), ">=3.9, <3.14") and not pc.satisfies((3, 14, 0), ">=3.9,<3.14")
    assert pc.satisfies((3, 11, 0), "==3.11") and pc.satisfies((3, 12, 0), "!=3.11")
    with pytest.raises(ValueError, match="cannot read"):
        pc.satisfies((3, 11), "~=3.11")


def test_command_check_windows_path():
    exe = r"C:\Users\me\AppData\Local\Programs\Python\Python312\python.exe"
    scripts = r"C:\Users\me\AppData\Local\Programs\Python\Python312\Scripts"
    script = scripts + r"\xladdin.exe"
    off = pc.command_check(exe, [scripts], r"C:\Windows\system32;C:\Windows", "Windows", files(script))
    assert off.status == "note" and "is not on PATH (python.org's installer leaves it off" in off.text
    assert f"`{exe} -m xladdin ...`" in off.text
    on = pc.command_check(exe, [scripts], r"C:\Windows;c:\users\me\appdata\local\programs\python\python312\scripts\\",
                          "Windows", files(script))
    assert on.status == "ok"  # case and a trailing backslash do not matter on Windows
    other = pc.command_check(exe, [scripts], rf"C:\Tools;{scripts}", "Windows", files(script, r"C:\Tools\xladdin.exe"))
    assert other.status == "note" and r"another install (C:\Tools)" in other.text
    spaced = pc.command_check(r"C:\Program Files\Python312\python.exe", [r"C:\Program Files\Python312\Scripts"], "",
                              "Windows", files(r"C:\Program Files\Python312\Scripts\xladdin.exe"))
    assert '`"C:\\Program Files\\Python312\\python.exe" -m xladdin ...`' in spaced.text
    none = pc.command_check(exe, [scripts], "", "Windows", files())
    assert none.status == "note" and "no `xladdin` command was installed" in none.text


def test_command_check_posix_and_this_machine():
    assert pc.command_check("/v/bin/python", ["/v/bin"], "/usr/bin:/v/bin", "Linux",
                            files("/v/bin/xladdin")).status == "ok"
    f = pc.real_facts("Linux")
    here = str(Path(sys.executable).parent)
    assert here in f.scripts_dirs  # this venv's bin, where the install put the console script
    assert pc.command_check(f.executable, f.scripts_dirs, here, "Linux", f.exists).status == "ok"


def test_applescript_is_where_xlwings_runpython_install_puts_it(tmp_path, monkeypatch, vba):
    """Run xlwings' own ``runpython install`` with HOME in a temporary folder: before it the check says what to
    run, after it the check finds the file; the name is the one the VBA's AppleScriptTask calls."""
    assert 'AppleScriptTask("xlwings-" & XLWINGS_VERSION & ".applescript"' in vba
    assert f'XLWINGS_VERSION As String = "{V}"' in vba
    monkeypatch.setenv("HOME", str(tmp_path))
    missing = pc.applescript_check("Darwin", str(tmp_path), V, os.path.exists)
    assert missing.status == "fix" and "xlwings runpython install" in missing.text
    xlwings.cli.runpython_install(None)
    assert pc.applescript_check("Darwin", str(tmp_path), V, os.path.exists).status == "ok"
    assert pc.applescript_check("Windows", str(tmp_path), V, os.path.exists) is None


ZONE = "[ZoneTransfer]\r\nZoneId=3\r\nReferrerUrl=https://mail.example.com/\r\nHostUrl=https://mail.example.com/a.xlsm\r\n"


def test_zone_check_mark_of_the_web():
    wb = r"C:\Users\me\Downloads\xladdin_weekly.xlsm"
    blocked = pc.zone_check(wb, "Windows", lambda p: ZONE)
    assert blocked.status == "fix" and "ZoneId=3: the Internet, https://mail.example.com/a.xlsm" in blocked.text
    assert f'`Unblock-File -Path "{wb}"`' in blocked.text and "Trusted Location" in blocked.text
    assert pc.zone_check(wb, "Windows", lambda p: "[ZoneTransfer]\nZoneId=4\n").status == "fix"
    assert pc.zone_check(wb, "Windows", lambda p: "[ZoneTransfer]\nZoneId=1\n").status == "ok"
    assert pc.zone_check(wb, "Windows", lambda p: None) == pc.Check(
        "ok", "xladdin_weekly.xlsm carries no Mark of the Web (its macros are not blocked as a download)")
    assert pc.zone_check(wb, "Darwin", lambda p: ZONE) is None


def test_read_zone_identifier_reads_the_stream_by_its_ntfs_name(tmp_path):
    """On NTFS the stream opens as ``<file>:Zone.Identifier``; here a file of that name stands in for it."""
    wb = tmp_path / "w.xlsm"
    wb.write_bytes(b"")
    assert pc.read_zone_identifier(str(wb)) is None
    (tmp_path / "w.xlsm:Zone.Identifier").write_text(ZONE, newline="")
    assert pc.read_zone_identifier(str(wb)) == ZONE.replace("\r\n", "\n")  # read as text


def test_module_check(tmp_path):
    def check(name):
        return pc.module_check(str(tmp_path / name), os.path.exists, lambda p: Path(p).read_text(),
                               module_name_problem)

    copy = check("xladdin_weekly (1).xlsm")
    assert copy.status == "fix" and "`xladdin_weekly (1)` is not a Python module name" in copy.text
    assert "rename the workbook to xladdin_weekly_1.xlsm" in copy.text and pc.SHIM_LINE in copy.text
    assert "rename the workbook to w_2026.xlsm" in check("2026.xlsm").text
    missing = check("weekly.xlsm")
    assert missing.status == "fix" and "weekly.py is missing beside the workbook" in missing.text
    flat = ".".join(["macros", "refresh"])  # the folder's name, the import path before xladdin_macros
    (tmp_path / "weekly.py").write_text(f"from {flat} import main\n")
    assert check("weekly.xlsm").status == "fix"
    (tmp_path / "weekly.py").write_text(pc.SHIM_LINE + "\n")
    assert check("weekly.xlsm").status == "ok"


def test_a_workbook_name_that_would_hide_a_module(tmp_path, monkeypatch):
    """``xladdin.xlsm`` would put ``xladdin.py`` beside it: the workbook's folder comes first on ``sys.path`` when the
    button runs (xlwings' ``prepare_sys_path``), so that file would hide the xladdin package from the refresh, and
    from ``python -m xladdin`` run in that folder. The template refuses such names; doctor says what to rename to."""
    first = subprocess.run([sys.executable, "-c", "import xlwings.utils, sys; "
                            f"xlwings.utils.prepare_sys_path('true;{tmp_path / 'w.xlsm'};;;;'); "
                            "print(*sys.path[:2], sep='\\n')"], capture_output=True, text=True, timeout=120)
    # xlwings' own code puts the workbook's folder (and <stem>.zip beside it, in either order) before the rest
    assert os.path.normcase(str(tmp_path)) in map(os.path.normcase, first.stdout.splitlines()), first.stdout
    (tmp_path / "xladdin.py").write_text(pc.SHIM_LINE + "\n")  # what `template xladdin.xlsm` wrote before the fix
    r = subprocess.run([sys.executable, "-m", "xladdin", "--version"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and "ImportError" in r.stderr  # the trap: the whole command line is gone there
    (tmp_path / "xladdin.py").unlink()
    for stem, why in (("xladdin", "installed module"), ("pandas", "installed module"), ("calendar", "standard library"),
                      ("class", "not a Python module name"), ("xlwings", "installed module")):
        problem = module_name_problem(stem, tmp_path)
        assert problem is not None and why in problem, (stem, problem)
        assert cli(["template", str(tmp_path / f"{stem}.xlsm"), "--no-progress"]) == 1
        assert not (tmp_path / f"{stem}.xlsm").exists() and not (tmp_path / f"{stem}.py").exists()
        got = pc.module_check(str(tmp_path / f"{stem}.xlsm"), os.path.exists, lambda p: "", module_name_problem)
        assert got.status == "fix" and f"rename the workbook to {stem}_1.xlsm and put {stem}_1.py beside it" in got.text
    for stem in ("xladdin_weekly", "weekly_2026", "周报"):  # the workbook's own module in its folder does not count
        (tmp_path / f"{stem}.py").write_text(pc.SHIM_LINE + "\n")
        assert module_name_problem(stem, tmp_path) is None
    monkeypatch.chdir(tmp_path)  # nor does the current folder
    assert module_name_problem("weekly_2026", tmp_path / "elsewhere") is None
    other = tmp_path / "on_path"  # another workbook's module elsewhere on sys.path hides nothing; another module does
    other.mkdir()
    (other / "desk_weekly.py").write_text(pc.SHIM_LINE + "\n")
    (other / "desk_tools.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(other))
    assert module_name_problem("desk_weekly", tmp_path / "elsewhere") is None
    assert "desk_tools.py, which desk_tools.py would hide" in module_name_problem("desk_tools", tmp_path / "elsewhere")


def test_the_one_line_module_the_fix_asks_for_runs_the_refresh(tmp_path):
    """The line the messages give is what the Refresh button needs: ``import <stem>; <stem>.main`` is xladdin's."""
    (tmp_path / "renamed.py").write_text(pc.SHIM_LINE + "\n")
    code = ("import renamed, xladdin_macros.refresh as r; "
            "assert renamed.main is r.main; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
    assert importlib.util.find_spec("xladdin_macros.refresh") is not None
