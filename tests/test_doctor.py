"""`xladdin doctor`: versions, the workbook's VBA against the installed xlwings, the interpreter line, the xladdin_udfs
imports."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from xladdin.ops.cli import main as cli
from xladdin.ops.commands import doctor
from xladdin.workbook.template import udf_modules

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbooks" / "xladdin_weekly.xlsm"


def test_doctor_on_the_committed_workbook(capsys):
    import xlwings
    rc = cli(["doctor", str(COMMITTED)])
    out = capsys.readouterr().out
    assert f"xlwings {xlwings.__version__}" in out
    assert f"[ok ] VBA is xlwings {xlwings.__version__}'s standalone project (xlwings64-{xlwings.__version__}.dll)" in out
    for mod in udf_modules():
        assert f"[ok ] {mod} imports" in out
    assert "names no Python" in out and "Trust access to the VBA project object model" in out
    assert rc == 1  # the committed workbook leaves the interpreter to the user


def test_doctor_reads_the_vba_version_and_flags_a_mismatch(tmp_path, monkeypatch, capsys):
    import xladdin.workbook.template as T
    assert doctor._vba_dll_version(COMMITTED) == T.xlwings_version()  # read from the VBA source (oletools)
    monkeypatch.setattr(T, "xlwings_version", lambda: "0.99.0")
    monkeypatch.setattr(T, "vba_project_bytes", lambda: b"another project")
    ok, text = doctor.workbook_vba(COMMITTED)
    assert not ok and "xlwings64-0.37.8.dll but xlwings 0.99.0 is installed" in text
    plain = tmp_path / "plain.xlsx"
    with zipfile.ZipFile(COMMITTED) as src, zipfile.ZipFile(plain, "w") as dst:
        for item in src.namelist():
            if item != "xl/vbaProject.bin":
                dst.writestr(item, src.read(item))
    assert doctor.workbook_vba(plain) == (False, "no VBA project (not a macro workbook): the Refresh button needs "
                                                 "`xladdin template`")


def test_interpreter_lines_per_install(tmp_path):
    exe = tmp_path / "Python312" / "python.exe"
    exe.parent.mkdir()
    exe.write_text("")
    (exe.parent / "pythonw.exe").write_text("")
    assert doctor.interpreter_lines(str(exe), {}, "Windows") == [("Interpreter_Win", str(exe.parent / "pythonw.exe"))]
    conda = {"CONDA_PREFIX": "C:/Users/me/anaconda3/envs/research", "CONDA_DEFAULT_ENV": "research",
             "CONDA_EXE": "C:/Users/me/anaconda3/Scripts/conda.exe"}
    assert doctor.interpreter_lines(str(exe), conda, "Windows") == [
        ("Conda Path", str(Path("C:/Users/me/anaconda3"))), ("Conda Env", "research")]
    assert doctor.interpreter_lines("/usr/local/bin/python3", {}, "Darwin") == [("Interpreter_Mac",
                                                                                 "/usr/local/bin/python3")]
    assert doctor.interpreter_lines("/usr/bin/python3", {}, "Linux") == []


def test_doctor_flags_a_missing_pythonpath_and_reads_the_conf(tmp_path, capsys):
    from openpyxl import load_workbook
    wb = tmp_path / "w.xlsm"
    shutil.copy(COMMITTED, wb)
    book = load_workbook(wb, keep_vba=True)
    ws = book["xlwings.conf"]
    ws.insert_rows(1, 2)
    ws["A1"], ws["B1"] = "Interpreter_Win", "C:\\Python312\\pythonw.exe"
    ws["A2"], ws["B2"] = "PYTHONPATH", str(tmp_path / "nowhere")
    book.save(wb)
    assert doctor.workbook_conf(wb)["Interpreter_Win"] == "C:\\Python312\\pythonw.exe"
    assert cli(["doctor", str(wb)]) == 1
    out = capsys.readouterr().out
    assert "workbook has Interpreter_Win = C:\\Python312\\pythonw.exe" in out
    assert f"[FIX] PYTHONPATH entry {tmp_path / 'nowhere'} does not exist here" in out
    assert cli(["doctor", str(tmp_path / "missing.xlsm")]) == 1
    assert "not found" in capsys.readouterr().err
