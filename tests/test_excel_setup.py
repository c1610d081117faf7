"""``xladdin excel-setup [FOLDER] [--data DIR]``: the workbook (its xlwings.conf sheet naming the running Python), its
module and an xlwings.conf file in one folder, data_dir on the Parameters sheet, the AppleScript file on macOS,
the steps left per platform; run as on Linux, Windows and macOS (``excel_setup.machine`` returns that platform's
facts). The rows are read back with openpyxl (the sheet) and with xlwings' own config-file reader (the file); the
AppleScript file is installed by xlwings' own ``runpython install``; doctor then finds nothing to fix."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import xlwings
import xlwings.utils
from openpyxl import load_workbook

from xladdin.ops import platform_checks as pc
from xladdin.ops.cli import main as cli
from xladdin.ops.commands import doctor, excel_setup
from xladdin.workbook.template import read_params_sheet, udf_modules

V = xlwings.__version__
WIN_PY = "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python312\\python.exe"
WIN_PYW = WIN_PY.replace("python.exe", "pythonw.exe")


@pytest.fixture
def fast(monkeypatch, workbook_inputs):
    """The weekly tables from the cached sample result (the build is what is tested here, not the numbers)."""
    workbook_inputs.patch_compute(monkeypatch)


def as_platform(monkeypatch, tmp_path, system: str, executable: str, environ=None, files=()):
    facts = dataclasses.replace(pc.real_facts(system), system=system, executable=executable,
                                environ=environ or {"PATH": ""}, conda_prefix=None, home=str(tmp_path / "home"),
                                exists=lambda p: p in set(files) or os.path.exists(p), read_zone=lambda p: None)
    for module in (excel_setup, doctor):
        monkeypatch.setattr(module, "machine", lambda: facts)
    monkeypatch.setattr(doctor, "vbom_trusted", lambda s: True if s == "Windows" else None)
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(tmp_path / "no-user-conf" / "xlwings.conf"))
    return facts


def conf_sheet(path: Path) -> dict[str, str]:
    wb = load_workbook(path, keep_vba=True, read_only=True)
    try:
        return {k: v for k, v, *_ in wb["xlwings.conf"].iter_rows(min_col=1, max_col=2, values_only=True) if k}
    finally:
        wb.close()


def conf_file(path: Path, monkeypatch) -> dict[str, str]:
    """The folder's xlwings.conf as xlwings' own reader sees it (keys lower case)."""
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(path))
    return xlwings.utils.read_user_config()


def test_linux_writes_the_workbook_and_its_module_and_refuses_to_overwrite(tmp_path, fast, capsys):
    folder = tmp_path / "xl"
    assert cli(["excel-setup", str(folder), "--no-progress"]) == 0
    out = capsys.readouterr().out
    wb = folder / "xladdin_weekly.xlsm"
    assert sorted(p.name for p in folder.iterdir()) == ["xladdin_weekly.py", "xladdin_weekly.xlsm"]  # no Python to name
    assert pc.SHIM_LINE in (folder / "xladdin_weekly.py").read_text()
    assert conf_sheet(wb) == {"UDF Modules": ";".join(udf_modules()), "ADD_WORKBOOK_TO_PYTHONPATH": "True"}
    assert "No desktop Excel on Linux" in out and f'-m xladdin refresh "{wb}"' in out
    before = wb.read_bytes()
    assert cli(["excel-setup", str(folder), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "exists (its edits would be lost)" in err and "--force" in err and "was not changed" in err
    assert wb.read_bytes() == before
    assert cli(["excel-setup", str(folder), "--no-progress", "--force"]) == 0


def test_data_sets_data_dir_on_the_parameters_sheet(tmp_path, tiny_short_dir, capsys, monkeypatch):
    """``--data DIR`` (relative here): the workbook is filled from DIR and keeps its absolute path for the button."""
    monkeypatch.chdir(tiny_short_dir.parent)
    folder = tmp_path / "xl"
    assert cli(["excel-setup", str(folder), "--data", tiny_short_dir.name, "--no-progress"]) == 0
    assert f"data: {tiny_short_dir}" in capsys.readouterr().out
    wb = load_workbook(folder / "xladdin_weekly.xlsm", keep_vba=True)
    params = read_params_sheet(wb)
    assert params.data_dir == str(tiny_short_dir) and Path(params.data_dir).is_absolute()
    assert cli(["excel-setup", str(tmp_path / "bad"), "--data", str(tmp_path / "nowhere"), "--no-progress"]) == 1
    assert "nowhere" in capsys.readouterr().err and not (tmp_path / "bad" / "xladdin_weekly.xlsm").exists()


def test_embed_data_carries_the_tables_and_leaves_data_dir_blank(tmp_path, tiny_short_dir, capsys):
    """``--data DIR --embed-data``: the tables travel in hidden sheets of the workbook; data_dir stays blank, so the
    Refresh (desktop or Lite) reads them."""
    folder = tmp_path / "xl"
    assert cli(["excel-setup", str(folder), "--data", str(tiny_short_dir), "--embed-data", "--no-progress"]) == 0
    assert "carried in the workbook's hidden sheets" in capsys.readouterr().out
    wb = load_workbook(folder / "xladdin_weekly.xlsm", keep_vba=True)
    assert read_params_sheet(wb).data_dir == ""
    hidden = [ws.title for ws in wb.worksheets if ws.sheet_state == "hidden"]
    assert "etf_daily" in hidden and "index_weights" in hidden


def test_windows_names_pythonw_on_the_sheet_and_in_the_folder_file(tmp_path, fast, capsys, monkeypatch):
    dll = WIN_PY.replace("python.exe", f"xlwings64-{V}.dll")
    as_platform(monkeypatch, tmp_path, "Windows", WIN_PY, files=[WIN_PYW, dll])
    folder = tmp_path / "xl"
    folder.mkdir()
    (folder / "xlwings.conf").write_text('"SHOW CONSOLE","True"\n"INTERPRETER_WIN","C:\\old\\pythonw.exe"\n')
    assert cli(["excel-setup", str(folder), "--no-progress"]) == 0
    out = capsys.readouterr().out
    wb = folder / "xladdin_weekly.xlsm"
    assert conf_sheet(wb)["Interpreter_Win"] == WIN_PYW
    assert conf_file(folder / "xlwings.conf", monkeypatch) == {
        "show console": "True", "interpreter_win": WIN_PYW, "udf modules": ";".join(udf_modules())}
    for step in ("启用内容 Enable Content", "Trusted Location", f'Unblock-File -Path "{wb}"', "刷新 Refresh",
                 "Trust access to the VBA project object model", "ImportPythonUDFs", "=XA_VERSION()",
                 f'{WIN_PY} -m xladdin doctor "{wb}"'):
        assert step in out, step
    as_platform(monkeypatch, tmp_path, "Windows", WIN_PY, files=[WIN_PYW, dll])
    assert cli(["doctor", str(wb)]) == 0  # nothing left for doctor to fix on this (stubbed) Windows machine
    assert "[FIX]" not in capsys.readouterr().out


def test_windows_conda_names_conda_path_and_env(tmp_path, fast, capsys, monkeypatch):
    env = {"CONDA_PREFIX": "C:\\Users\\me\\miniconda3\\envs\\xl", "CONDA_EXE": "C:\\Users\\me\\miniconda3\\Scripts\\conda.exe"}
    as_platform(monkeypatch, tmp_path, "Windows", env["CONDA_PREFIX"] + "\\python.exe", environ=env)
    assert cli(["excel-setup", str(tmp_path), "--no-progress"]) == 0
    sheet = conf_sheet(tmp_path / "xladdin_weekly.xlsm")
    assert (sheet["Conda Path"], sheet["Conda Env"]) == ("C:\\Users\\me\\miniconda3", "xl")
    assert "Interpreter_Win" not in sheet
    assert conf_file(tmp_path / "xlwings.conf", monkeypatch)["conda env"] == "xl"


def test_macos_installs_the_applescript_with_xlwings_own_command(tmp_path, fast, capsys, monkeypatch):
    py = "/Users/me/xl/bin/python3"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # xlwings' runpython install writes under ~
    as_platform(monkeypatch, tmp_path, "Darwin", py, files=[py])
    assert cli(["excel-setup", str(tmp_path / "xl"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    script = tmp_path / "home" / "Library" / "Application Scripts" / "com.microsoft.Excel" / f"xlwings-{V}.applescript"
    assert script.is_file() and f"Installed xlwings-{V}.applescript" in out
    assert conf_sheet(tmp_path / "xl" / "xladdin_weekly.xlsm")["Interpreter_Mac"] == py
    assert "macOS does not support UDFs" in out and "xlwings Lite" in out
    assert cli(["doctor", str(tmp_path / "xl" / "xladdin_weekly.xlsm")]) == 0
    assert "[FIX]" not in capsys.readouterr().out


@pytest.mark.slow
def test_run_sh_builds_the_workbook_on_its_data(tmp_path, tiny_short_dir):
    """``scripts/run.sh --data DIR``: the report and the workbook both from DIR, data_dir kept (run from a copy of
    scripts/ whose setup.sh does nothing, with this checkout's .venv)."""
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "scripts").mkdir()
    shutil.copy(root / "scripts" / "run.sh", tmp_path / "scripts" / "run.sh")
    (tmp_path / "scripts" / "setup.sh").write_text("exit 0\n")
    (tmp_path / ".venv").symlink_to(root / ".venv")
    r = subprocess.run(["bash", str(tmp_path / "scripts" / "run.sh"), "--data", str(tiny_short_dir), "--no-progress"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    assert list(out.glob("xladdin_weekly_*.xlsx")) and (out / "xladdin_weekly.py").is_file()
    params = read_params_sheet(load_workbook(out / "xladdin_weekly.xlsm", keep_vba=True))
    assert params.data_dir == str(tiny_short_dir)
    r = subprocess.run(["bash", str(tmp_path / "scripts" / "run.sh"), f"--data={tiny_short_dir}", "--no-progress"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr  # --data=DIR too, and a second run replaces the workbook
