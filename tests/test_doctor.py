"""`xladdin doctor`: versions, the workbook's VBA against the installed xlwings, the interpreter line, the xladdin_udfs
imports, and the platform traps (tests/test_platform_checks.py tests each check; here doctor runs them as on
Linux, Windows and macOS, with ``doctor.machine`` returning that platform's facts)."""
from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import zipfile
from pathlib import Path

from xladdin.ops import platform_checks as pc
from xladdin.ops.cli import main as cli
from xladdin.ops.commands import doctor
from xladdin.workbook.template import udf_modules

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbooks" / "xladdin_weekly.xlsm"


def test_doctor_on_the_committed_workbook(capsys):
    """On Linux (no desktop Excel) the committed workbook, which names no Python, is not broken for this machine."""
    import xlwings
    rc = cli(["doctor", str(COMMITTED)])
    out = capsys.readouterr().out
    assert f"xlwings {xlwings.__version__}" in out
    assert f"[ok ] VBA is xlwings {xlwings.__version__}'s standalone project (xlwings64-{xlwings.__version__}.dll)" in out
    for mod in udf_modules():
        assert f"[ok ] {mod} imports" in out
    assert f"[ok ] Python {platform.python_version()} meets xlwings" in out
    assert "[ok ] xladdin_weekly.py beside the workbook runs xladdin_macros.refresh.main" in out
    assert "[ - ] no desktop Excel on Linux: the workbook names no Python" in out
    assert "Trust access to the VBA project object model" in out
    assert "[FIX]" not in out and "above" not in out
    assert rc == 0


def test_doctor_reads_the_vba_version_and_flags_a_mismatch(tmp_path, monkeypatch, capsys):
    import xladdin.workbook.template as T
    assert doctor._vba_dll_version(COMMITTED) == T.xlwings_version()  # read from the VBA source (oletools)
    monkeypatch.setattr(T, "xlwings_version", lambda: "0.99.0")
    monkeypatch.setattr(T, "vba_project_bytes", lambda: b"another project")
    ok, text = doctor.workbook_vba(COMMITTED)
    assert not ok and "xlwings64-0.37.8.dll but xlwings 0.99.0 is installed" in text
    assert "pip install xlwings" not in text  # another xlwings than the one xladdin pins is no fix
    monkeypatch.setattr(doctor, "_vba_dll_version", lambda path: None)  # oletools missing (a wheel install)
    ok, text = doctor.workbook_vba(COMMITTED)
    assert ok is None and "Import Functions adds a module" in text and "pip install oletools" in text
    plain = tmp_path / "plain.xlsx"
    with zipfile.ZipFile(COMMITTED) as src, zipfile.ZipFile(plain, "w") as dst:
        for item in src.namelist():
            if item != "xl/vbaProject.bin":
                dst.writestr(item, src.read(item))
    assert doctor.workbook_vba(plain) == (False, "no VBA project (not a macro workbook): the Refresh button needs "
                                                 "`xladdin template`")


def _with_conf(src: Path, dst: Path, rows: list[tuple[str, str]]) -> Path:
    """A copy of ``src`` at ``dst`` (and its module) with ``rows`` on top of its xlwings.conf sheet."""
    from openpyxl import load_workbook
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".py"), dst.with_suffix(".py"))
    book = load_workbook(dst, keep_vba=True)
    ws = book["xlwings.conf"]
    ws.insert_rows(1, len(rows))
    for r, (k, v) in enumerate(rows, start=1):
        ws.cell(r, 1, k), ws.cell(r, 2, v)
    book.save(dst)
    return dst


def as_platform(monkeypatch, tmp_path, system: str, files=(), zone: str | None = None, trusted: bool | None = True):
    """Run doctor as on ``system``: its facts with ``files`` existing besides the real ones."""
    import xlwings
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(tmp_path / "no-user-conf" / "xlwings.conf"))
    facts = pc.real_facts(system)
    extra = set(files)
    exe = {"Windows": "C:\\Python312\\python.exe", "Darwin": "/Users/me/xl/bin/python3"}.get(system, facts.executable)
    monkeypatch.setattr(doctor, "machine", lambda: dataclasses.replace(
        facts, system=system, executable=exe, environ={"PATH": ""}, conda_prefix=None,
        exists=lambda p: p in extra or os.path.exists(p), read_zone=lambda p: zone, home=str(tmp_path / "home")))
    monkeypatch.setattr(doctor, "vbom_trusted", lambda s: trusted if s == "Windows" else None)


PYW = "C:\\Python312\\pythonw.exe"


def test_doctor_flags_a_missing_pythonpath_and_reads_the_conf(tmp_path, capsys, monkeypatch):
    import xlwings
    wb = _with_conf(COMMITTED, tmp_path / "w.xlsm", [("Interpreter_Win", PYW), ("PYTHONPATH", str(tmp_path / "nowhere"))])
    assert doctor.workbook_conf(wb)["Interpreter_Win"] == PYW
    assert cli(["doctor", str(wb)]) == 0  # Linux: an Excel-only finding is a note
    out = capsys.readouterr().out
    assert f"[ - ] for Excel on Windows or macOS (none on Linux): PYTHONPATH entry {tmp_path / 'nowhere'} does not " \
           "exist here" in out
    assert f"no desktop Excel on Linux: the workbook names Interpreter_Win = {PYW} (its xlwings.conf sheet)" in out
    as_platform(monkeypatch, tmp_path, "Windows", files=[PYW, f"C:\\Python312\\xlwings64-{xlwings.__version__}.dll"])
    assert cli(["doctor", str(wb)]) == 1
    out = capsys.readouterr().out
    assert f"[ok ] the workbook runs {PYW} (its xlwings.conf sheet)" in out
    assert f"[FIX] PYTHONPATH entry {tmp_path / 'nowhere'} does not exist here" in out
    assert cli(["doctor", str(tmp_path / "missing.xlsm")]) == 1
    assert "not found" in capsys.readouterr().err


def test_doctor_as_windows_finds_the_mark_of_the_web(tmp_path, capsys, monkeypatch):
    import xlwings
    dll = f"C:\\Python312\\xlwings64-{xlwings.__version__}.dll"
    wb = _with_conf(COMMITTED, tmp_path / "xladdin_weekly.xlsm", [("Interpreter_Win", PYW)])
    as_platform(monkeypatch, tmp_path, "Windows", files=[PYW, dll], zone="[ZoneTransfer]\r\nZoneId=3\r\n")
    assert cli(["doctor", str(wb)]) == 1
    out = capsys.readouterr().out
    assert "[FIX] xladdin_weekly.xlsm carries the Mark of the Web (Zone.Identifier, ZoneId=3: the Internet)" in out
    assert f'Unblock-File -Path "{wb}"' in out
    assert "[ok ] Trust access to the VBA project object model is on" in out
    as_platform(monkeypatch, tmp_path, "Windows", files=[PYW, dll], zone=None)
    assert cli(["doctor", str(wb)]) == 0, capsys.readouterr().out  # unblocked: nothing left to fix
    assert "[FIX]" not in capsys.readouterr().out
    as_platform(monkeypatch, tmp_path, "Windows", files=[PYW, dll], zone=None, trusted=False)
    assert cli(["doctor", str(wb)]) == 1
    assert "[FIX] Trust access to the VBA project object model is off" in capsys.readouterr().out


def test_doctor_as_windows_on_a_workbook_that_names_no_python_gives_the_rows_in_the_message(tmp_path, capsys,
                                                                                            monkeypatch):
    as_platform(monkeypatch, tmp_path, "Windows")
    assert cli(["doctor", str(COMMITTED)]) == 1
    out = capsys.readouterr().out
    [fix] = [line for line in out.splitlines() if "names no Python" in line]
    assert fix.startswith("[FIX]") and f"Interpreter_Win = {PYW}, or run" in fix and "above" not in out


def test_doctor_as_mac_wants_the_applescript(tmp_path, capsys, monkeypatch):
    import xlwings
    py = "/Users/me/xl/bin/python3"
    wb = _with_conf(COMMITTED, tmp_path / "xladdin_weekly.xlsm", [("Interpreter_Mac", py)])
    as_platform(monkeypatch, tmp_path, "Darwin", files=[py])
    assert cli(["doctor", str(wb)]) == 1
    out = capsys.readouterr().out
    assert f"[FIX] {tmp_path}/home/Library/Application Scripts/com.microsoft.Excel/xlwings-{xlwings.__version__}" \
           ".applescript is missing" in out
    assert "Mark of the Web" not in out
    as_platform(monkeypatch, tmp_path, "Darwin", files=[py, f"{tmp_path}/home/Library/Application Scripts/"
                                                            f"com.microsoft.Excel/xlwings-{xlwings.__version__}.applescript"])
    assert cli(["doctor", str(wb)]) == 0, capsys.readouterr().out


def test_doctor_on_a_copy_named_like_a_download(tmp_path, capsys, monkeypatch):
    """``xladdin_weekly (1).xlsm``: no module of that name can exist; doctor says to rename and what to write."""
    copy = tmp_path / "xladdin_weekly (1).xlsm"
    shutil.copy(COMMITTED, copy)
    shutil.copy(COMMITTED.with_suffix(".py"), tmp_path / "xladdin_weekly.py")
    as_platform(monkeypatch, tmp_path, "Windows")
    assert cli(["doctor", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "[FIX] the Refresh button runs `import xladdin_weekly (1)`" in out
    assert "rename the workbook to xladdin_weekly_1.xlsm" in out


def test_doctor_on_the_workbook_run_sh_builds(tmp_path, capsys):
    """What ``scripts/run.sh`` builds (``excel-setup`` into out/) has nothing to fix on this machine."""
    assert cli(["excel-setup", str(tmp_path / "out"), "--force", "--no-progress"]) == 0
    capsys.readouterr()
    assert cli(["doctor", str(tmp_path / "out" / "xladdin_weekly.xlsm")]) == 0
    assert "[FIX]" not in capsys.readouterr().out
