"""The openpyxl writer sets each cell's font and number format by style index (issue 14: openpyxl hashed the
Font for every cell): the cells must read back exactly as if each had been styled through openpyxl's public
``cell.font = ...`` / ``cell.number_format = ...``, and the saved workbook must hold the same styles."""
from __future__ import annotations

import datetime as dt

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from xladdin.workbook.layout import load_layout
from xladdin.workbook.openpyxl_writer import OpenpyxlWriter

ROWS = [["a", 1.5, dt.datetime(2024, 1, 2), "=x", None, "-3", 7]] * 4
FORMATS = [(3, "0.00"), (4, "yyyy-mm-dd"), (7, "0.0%"), (8, '#,##0.0"亿"'), (3, "General")]


def _through_writer() -> Workbook:
    wb = Workbook()
    w = OpenpyxlWriter.for_layout(wb, load_layout())
    w.write(wb.active, 2, 2, ROWS)
    w.font(wb.active, "B2", bold=True, size=14, color="1F4E78")
    for col, fmt in FORMATS:
        w.number_format(wb.active, 3, 5, col, fmt)
    return wb


def _through_public_api() -> Workbook:
    lay = load_layout()
    base = Font(name=lay.m("font_name"), size=lay.m("font_size"))
    wb = Workbook()
    ws = wb.active
    for i, values in enumerate(ROWS):
        for j, v in enumerate(values):
            cell = ws.cell(row=2 + i, column=2 + j)
            cell.value = v
            if isinstance(v, str) and v.startswith(("=", "-")):
                cell.data_type = "s"
                cell.quotePrefix = True
            cell.font = base
            if isinstance(v, dt.datetime) and cell.number_format == "General":
                cell.number_format = "yyyy-mm-dd"
    ws["B2"].font = Font(name=lay.m("font_name"), bold=True, size=14, color="1F4E78")
    for col, fmt in FORMATS:
        for r in range(3, 6):
            ws.cell(row=r, column=col).number_format = fmt
    return wb


def _cells(wb: Workbook) -> list[tuple]:
    return [(c.coordinate, c.value, c.data_type, c.quotePrefix, c.number_format, c.font.name, c.font.sz, c.font.b,
             c.font.color.rgb if c.font.color is not None else None)
            for row in wb.active.iter_rows() for c in row]


def test_writer_styles_equal_the_public_api(tmp_path):
    got, want = _through_writer(), _through_public_api()
    assert _cells(got) == _cells(want)
    got.save(tmp_path / "got.xlsx")
    want.save(tmp_path / "want.xlsx")
    assert _cells(load_workbook(tmp_path / "got.xlsx")) == _cells(load_workbook(tmp_path / "want.xlsx"))


def test_writer_falls_back_to_the_public_api(monkeypatch):
    """An openpyxl without the style tables the writer indexes: every cell still gets its font and format."""
    import xladdin.workbook.openpyxl_writer as writer
    monkeypatch.setattr(writer, "_style_index", lambda wb, collection, value: None)
    assert _cells(_through_writer()) == _cells(_through_public_api())


def _table(wraps: list[bool], aligns: list[str]):
    from xladdin.workbook.plan import TablePlan
    n = len(wraps)
    return TablePlan(key="t", name="tblT", style="TableStyleLight9", title="", title_row=1, row=3, col=2,
                     headers=[f"h{j}" for j in range(n)], fields=[f"f{j}" for j in range(n)], formats=["General"] * n,
                     widths=[10.0] * n, rows=[["x"] * n for _ in range(5)], conditional=[], wraps=wraps, aligns=aligns)


def _alignments(wb: Workbook) -> list[tuple]:
    return [(c.coordinate, c.alignment.wrap_text, c.alignment.vertical, c.alignment.horizontal)
            for row in wb.active.iter_rows() for c in row]


def test_table_alignment_by_index_equals_the_public_api(tmp_path):
    """The data cells' alignment (wrapped columns top-aligned, aligned columns) set once per column by index:
    the same cells as ``cell.alignment = Alignment(...)`` on each, before and after saving."""
    from openpyxl.styles import Alignment
    for wraps, aligns in (([False, True, False], ["", "", "center"]), ([False, False], ["", "right"]),
                          ([False, False], ["", ""])):
        t = _table(wraps, aligns)
        got = Workbook()
        got.active.cell(row=1, column=1).value = "x"  # a cell outside the table keeps its default
        OpenpyxlWriter.for_layout(got, load_layout())._align_rows(got.active, t)
        want = Workbook()
        want.active.cell(row=1, column=1).value = "x"
        tall = any(wraps)
        for j in range(len(wraps)):
            if tall or aligns[j]:
                for r in range(4, 9):
                    want.active.cell(row=r, column=2 + j).alignment = Alignment(
                        wrap_text=wraps[j] or None, vertical="top" if tall else None, horizontal=aligns[j] or None)
        assert _alignments(got) == _alignments(want)
        assert sum(a[1:] != (None, None, None) for a in _alignments(got)) == 5 * sum(
            bool(any(wraps) or a) for a in aligns)
        got.save(tmp_path / "got.xlsx")
        want.save(tmp_path / "want.xlsx")
        assert _alignments(load_workbook(tmp_path / "got.xlsx")) == _alignments(load_workbook(tmp_path / "want.xlsx"))


def test_wrap_by_index_equals_the_public_api(tmp_path):
    from openpyxl.styles import Alignment
    got = Workbook()
    got.active["C4"] = "kept value"
    OpenpyxlWriter.for_layout(got, load_layout()).wrap(got.active, "B3:D5")
    want = Workbook()
    want.active["C4"] = "kept value"
    for r in range(3, 6):
        for c in range(2, 5):
            want.active.cell(row=r, column=c).alignment = Alignment(wrap_text=True, vertical="top")
    assert _alignments(got) == _alignments(want)
    assert got.active["C4"].value == "kept value" and got.active["D5"].alignment.wrap_text
    got.save(tmp_path / "got.xlsx")
    want.save(tmp_path / "want.xlsx")
    assert _alignments(load_workbook(tmp_path / "got.xlsx")) == _alignments(load_workbook(tmp_path / "want.xlsx"))
