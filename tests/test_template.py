"""The macro workbook: built file opened with openpyxl, oletools and LibreOffice (PDF text and pages)."""
from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xladdin.workbook.layout import load_layout
from xladdin.workbook.template import (
    BUTTON_MACRO,
    CONF_SHEET,
    build_template,
    vba_project_bytes,
    xlwings_standalone_workbook,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbooks" / "xladdin_weekly.xlsm"


@pytest.fixture(scope="module")
def built(tmp_path_factory, workbook_inputs):
    return workbook_inputs.build_template(tmp_path_factory.mktemp("tpl") / "weekly_test.xlsm",
                                     pythonpath="C:\\research\\xladdin")


def _vba(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/vbaProject.bin")


def test_template_sheets_tables_charts_and_conf(built):
    layout = load_layout()
    wb = load_workbook(built, keep_vba=True)
    assert wb.sheetnames == [s.zh for s in layout.sheets] + [CONF_SHEET]
    for s in layout.sheets:
        ws = wb[s.zh]
        for t in s.tables:
            assert t.name in ws.tables, (s.key, t.name)
        assert len(ws._charts) == len(s.charts)
        assert ws.freeze_panes is not None
        assert ws.page_setup.orientation == "landscape"
    assert wb["行业资金流"].tables["tblIndustryFlow"].ref.startswith("B6:L")
    conf = {r[0]: r[1] for r in wb[CONF_SHEET].iter_rows(values_only=True)}
    assert conf["PYTHONPATH"] == "C:\\research\\xladdin"
    assert "xladdin_udfs.flows" in conf["UDF Modules"]
    params = {r[0]: r[1] for r in wb["参数"].iter_rows(min_row=6, min_col=2, max_col=3, values_only=True) if r[0]}
    assert params["corr_threshold"] == 0.5 and params["language"] == "zh"
    shim = built.with_suffix(".py").read_text(encoding="utf-8")
    assert "from xladdin_macros.refresh import main" in shim and "weekly_test" in shim


def test_template_vba_is_xlwings_standalone_and_button_calls_it(built):
    assert _vba(built) == vba_project_bytes()
    with zipfile.ZipFile(built) as z:
        ct = z.read("[Content_Types].xml").decode()
        vml = [n for n in z.namelist() if n.startswith("xl/drawings/vmlDrawing")]
        assert len(vml) == 1
        text = z.read(vml[0]).decode()
    assert "macroEnabled.main" in ct
    assert 'ObjectType="Button"' in text and f"[0]!{BUTTON_MACRO}" in text and "Refresh" in text


@pytest.mark.parametrize("path", ["built", "committed"])
def test_olevba_finds_the_refresh_macro(path, built):
    from oletools.olevba import VBA_Parser
    target = built if path == "built" else COMMITTED
    assert target.is_file(), f"{target} missing: run `xladdin template workbooks/xladdin_weekly.xlsm`"
    vp = VBA_Parser(str(target))
    try:
        assert vp.detect_vba_macros()
        code = {name: src for (_, _, name, src) in vp.extract_all_macros()}
    finally:
        vp.close()
    module1 = code["Module1.bas"]
    assert "Sub SampleCall()" in module1
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in module1
    assert "Public Function RunPython(" in code["xlwings.bas"]


def test_committed_template_matches_the_installed_xlwings():
    assert COMMITTED.is_file()
    assert _vba(COMMITTED) == vba_project_bytes(), "rebuild workbooks/xladdin_weekly.xlsm after an xlwings upgrade"
    assert (COMMITTED.parent / "xladdin_weekly.py").is_file()
    wb = load_workbook(COMMITTED, keep_vba=True, read_only=True)
    assert wb.sheetnames[0] == "封面" and CONF_SHEET in wb.sheetnames
    wb.close()


def test_conf_sheet_has_no_machine_path_by_default_and_says_what_to_fill(built):
    from xladdin.workbook.template import CONF_NOTES, conf_rows
    assert [k for k, _ in conf_rows()] == ["UDF Modules", "ADD_WORKBOOK_TO_PYTHONPATH"]
    wb = load_workbook(COMMITTED, keep_vba=True)
    ws = wb[CONF_SHEET]
    keys = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    assert keys[:2] == ["UDF Modules", "ADD_WORKBOOK_TO_PYTHONPATH"] and not any(keys[2:])
    assert [ws.cell(r, 4).value for r in range(1, len(CONF_NOTES) + 1)] == CONF_NOTES
    assert ws.cell(1, 3).value is None  # column C blank: the notes stay outside the block xlwings reads
    for r in range(1, ws.max_row + 1):
        for c in range(1, 3):
            v = ws.cell(r, c).value
            assert not (isinstance(v, str) and ("/work" in v or "\\Users" in v)), v


@pytest.mark.parametrize("args, rows", [
    (dict(interpreter="C:\\Python312\\pythonw.exe"), [("Interpreter_Win", "C:\\Python312\\pythonw.exe")]),
    (dict(interpreter="/opt/homebrew/bin/python3"), [("Interpreter_Mac", "/opt/homebrew/bin/python3")]),
    (dict(conda_path="C:\\Users\\me\\anaconda3", conda_env="research"),
     [("Conda Path", "C:\\Users\\me\\anaconda3"), ("Conda Env", "research")]),
    (dict(pythonpath="D:\\xladdin"), [("PYTHONPATH", "D:\\xladdin")]),
])
def test_conf_options_fill_the_keys_xlwings_reads(args, rows):
    from xladdin.workbook.template import conf_rows
    assert conf_rows(**args)[:-2] == rows
    assert [k for k, _ in conf_rows(**args)[-2:]] == ["UDF Modules", "ADD_WORKBOOK_TO_PYTHONPATH"]


def test_conf_options_are_checked(tmp_path):
    from xladdin.ops.cli import main as cli
    from xladdin.workbook.template import conf_rows
    with pytest.raises(ValueError, match="full path"):
        conf_rows(interpreter="python")
    with pytest.raises(ValueError, match="go together"):
        conf_rows(conda_path="C:\\anaconda3")
    assert cli(["template", str(tmp_path / "w.xlsm"), "--interpreter", "python", "--no-progress"]) == 1
    assert not (tmp_path / "w.xlsm").exists()


def test_xlwings_conf_keys_match_the_vba(built):
    """The keys written are the ones xlwings' VBA asks GetConfig for (its source ships with xlwings)."""
    import xlwings
    bas = (Path(xlwings.__file__).parent / "xlwings.bas").read_text(encoding="utf-8", errors="replace")
    asked = set(re.findall(r'GetConfig\("([A-Z_ ]+)"', bas))
    for key in ("Interpreter_Win", "Interpreter_Mac", "Conda Path", "Conda Env", "PYTHONPATH", "UDF Modules",
                "ADD_WORKBOOK_TO_PYTHONPATH"):
        assert key.upper() in asked, key


def test_template_name_must_be_a_module_and_xlsm(tmp_path):
    with pytest.raises(ValueError, match="Python module name"):
        build_template(tmp_path / "my weekly.xlsm", market=None)
    with pytest.raises(ValueError, match=".xlsm"):
        build_template(tmp_path / "weekly.xlsx", market=None)


def test_vba_source_is_the_standalone_quickstart():
    src = xlwings_standalone_workbook()
    assert hashlib.sha256(vba_project_bytes()).hexdigest() == hashlib.sha256(
        zipfile.ZipFile(src).read("xl/vbaProject.bin")).hexdigest()


def test_libreoffice_opens_the_template_and_prints_every_sheet(built, tmp_path, libreoffice):
    pdf = libreoffice.convert(built, "pdf", tmp_path)[0]
    text = libreoffice.pdf_text(pdf)
    pages = libreoffice.pdf_pages(pdf)
    layout = load_layout()
    assert pages >= len(layout.sheets)
    for needle in ["ETF资金流周度跟踪", "本周要点", "数据新鲜度", "资金流入流出(亿元)", "近期行业持仓程度分组",
                   "大小盘信号", "最新持仓(下一调仓期)", "信息比率", "滚动相关系数", "北向持股偏好", "融资净买入(亿元)",
                   "corr_threshold", "PYTHONPATH"]:
        assert needle in text, needle
    pngs = libreoffice.pdf_png(pdf, tmp_path / "page", 1, 2)
    assert len(pngs) == 2 and all(p.stat().st_size > 5000 for p in pngs)
