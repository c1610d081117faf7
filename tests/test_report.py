"""Values-only report: same sheets/tables/charts as the template, no VBA, no formulas, sanitised text, _summary."""
from __future__ import annotations

import zipfile

import pytest
from openpyxl import load_workbook

from xladdin.ops.cli import main as cli
from xladdin.workbook.layout import load_layout
from xladdin.workbook.refs import FORMULA_PREFIXES
from xladdin.workbook.report import build_report, formula_cells, sanitise_text, sanitise_workbook
from xladdin.workbook.summary import SUMMARY_SHEET, summary_from_report

EVIL = ["=HYPERLINK(\"http://x\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "=1+1"]


def _evil_result(workbook_inputs):
    res = workbook_inputs.weekly()
    flow = res.tables["industry_flow"].copy()
    for i, name in enumerate(EVIL):
        flow.loc[i, "industry_name"] = name
    res.tables["industry_flow"] = flow
    ranking = res.tables["etf_ranking"].copy()
    ranking.loc[0, "name"] = "=cmd|'/c calc'!A1"
    res.tables["etf_ranking"] = ranking
    res.summary.inflows = [(EVIL[0], 1.0)] + res.summary.inflows
    res.summary.headlines = ["-负面标题"] + res.summary.headlines
    return res


@pytest.fixture(scope="module")
def reports(tmp_path_factory, workbook_inputs):
    d = tmp_path_factory.mktemp("rp")
    mp = pytest.MonkeyPatch()
    try:
        workbook_inputs.patch_compute(mp, result=_evil_result(workbook_inputs))
        zh = d / "weekly_zh.xlsx"
        build_report(zh, market=None)
        workbook_inputs.patch_compute(mp)
        en = d / "weekly_en.xlsx"
        assert cli(["report", str(en), "--language", "en", "--no-progress"]) == 0
    finally:
        mp.undo()
    return zh, en


def test_report_has_the_template_layout_and_no_vba(reports):
    zh, en = reports
    layout = load_layout()
    with zipfile.ZipFile(zh) as z:
        names = z.namelist()
        ct = z.read("[Content_Types].xml").decode()
    assert not any("vbaProject" in n for n in names) and "macroEnabled" not in ct
    assert not any("vmlDrawing" in n for n in names)
    wb = load_workbook(zh)
    assert wb.sheetnames == [s.zh for s in layout.sheets] + [SUMMARY_SHEET]
    assert wb[SUMMARY_SHEET].sheet_state == "hidden"
    for s in layout.sheets:
        ws = wb[s.zh]
        assert {t.name for t in s.tables} == set(ws.tables)
        assert len(ws._charts) == len(s.charts)
    assert load_workbook(en).sheetnames[:2] == ["Cover", "Industry flows"]


def test_report_is_values_only_and_sanitised(reports):
    zh, _ = reports
    wb = load_workbook(zh)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula in {ws.title}!{cell.coordinate}"
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not cell.value.startswith(FORMULA_PREFIXES), f"{ws.title}!{cell.coordinate}: {cell.value}"
    assert "'" + EVIL[0] in texts and "'-2+3" in texts and "'@SUM(A1)" in texts
    with zipfile.ZipFile(zh) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/sheet"):
                assert "<f>" not in z.read(n).decode()


def test_summary_sheet_round_trips_for_the_mail(reports, workbook_inputs):
    zh, _ = reports
    s = summary_from_report(zh)
    res = workbook_inputs.weekly()
    assert s.asof == res.asof.date()
    assert s.headlines[0] == "'-负面标题" and s.headlines[1:] == res.summary.headlines
    assert s.inflows[0] == (EVIL[0], 1.0)  # inside the key "inflow:<name>", so not at the start of a cell
    assert s.picks == res.summary.picks


def test_sanitise_text():
    assert sanitise_text("=1+1") == "'=1+1" and sanitise_text("电子") == "电子" and sanitise_text("a-b") == "a-b"


def test_sanitise_workbook_escapes_every_written_cell_and_creates_none():
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws["B2"], ws["D40"], ws["C9"], ws["E1"] = "=HYPERLINK(1)", "@SUM(A1)", "plain", 3.5
    ws["F7"] = "=1+1"  # openpyxl stores text starting with = as a formula (B2 too)
    assert formula_cells(wb) == ["Sheet!B2", "Sheet!F7"] and ws["F7"].data_type == "f"
    before = set(ws._cells)
    assert sanitise_workbook(wb) == 3
    assert set(ws._cells) == before  # no empty cell created between them (it would be saved as a <row>)
    assert [ws[a].value for a in ("B2", "D40", "C9", "E1", "F7")] == ["'=HYPERLINK(1)", "'@SUM(A1)", "plain", 3.5, "'=1+1"]
    assert formula_cells(wb) == [] and ws.calculate_dimension() == "B1:F40"


def test_libreoffice_renders_the_chinese_report(reports, tmp_path, libreoffice):
    pdf_zh = libreoffice.convert(reports[0], "pdf", tmp_path)[0]
    text_zh = libreoffice.pdf_text(pdf_zh)
    assert libreoffice.pdf_pages(pdf_zh) >= len(load_layout().sheets)
    for needle in ["ETF资金流周度跟踪", "资金流入流出(亿元)", "行业等权", "滚动相关系数", "ETF综合排名", "宽基指数"]:
        assert needle in text_zh, needle
    assert "=HYPERLINK" in text_zh  # shown as text, not evaluated
    png = libreoffice.pdf_png(pdf_zh, tmp_path / "cover", 1, 1)
    assert png and png[0].stat().st_size > 5000


def test_libreoffice_renders_the_english_report(reports, tmp_path, libreoffice):
    """One conversion per test (each about 5 s; both in one took 9-21 s)."""
    pdf_en = libreoffice.convert(reports[1], "pdf", tmp_path)[0]
    text_en = libreoffice.pdf_text(pdf_en)
    for needle in ["Weekly ETF fund-flow tracker", "Net flow", "Rolling correlation", "Broad indices"]:
        assert needle in text_en, needle