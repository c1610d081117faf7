"""Both refreshes keep the user's work: one table of cases, run through ``xladdin refresh``'s writer (openpyxl)
and through the Excel refresh (the xlwings writer on xlwings' own remote engine, as tests/test_xlwings_remote.py).

Each case edits a freshly built template the way a user would in Excel (saved with openpyxl): values,
formulas, comments, merged cells, a conditional format and a chart of their own beside and below the
layout's tables, a column width; or something in a table's way (content where a table grows, a moved or
deleted table, a deleted chart). The same edited file is refreshed headless (:func:`refresh_workbook`) and,
as the payload xlwings' Office.js client would send for it, by the Refresh button's code. Expected either
way: the user's items exactly as they were and the layout's tables where the layout puts them, or the same
refusal with nothing written. Positions come from the layout file and the computed frames (the
expectations of tests/test_xlwings_remote.py), not from the planner.
"""
from __future__ import annotations

import copy
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule

sys.path.insert(0, str(Path(__file__).parent))
import _xlremote as X  # noqa: E402

from xladdin.workbook.layout import load_layout  # noqa: E402
from xladdin.workbook.placement import BANNER_SLACK  # noqa: E402
from xladdin.workbook.refs import cell_ref, col_letter, range_ref  # noqa: E402
from xladdin.workbook.template import RefreshError, refresh_workbook  # noqa: E402

#: xlwings' engine in a subprocess and a headless refresh per case
pytestmark = pytest.mark.slow

LAYOUT = load_layout()
#: the sheet that gets the user's own chart
CHART_SHEET = "industry_flow"
#: the width the user gives the first table's second column
USER_WIDTH = 33.0


@dataclass
class UserItem:
    """One thing the user put on a sheet (``kind``: value, formula, comment, merge, rule, chart, width)."""

    sheet: str  # the sheet's zh name
    kind: str
    row: int
    col: int
    value: object = None


@dataclass
class Case:
    name: str
    result: str  # "base" or "variant": the weekly tables the refresh writes
    edit: Callable  # (workbook, areas) -> list[UserItem]
    refused: str | None = None  # a text of the refusal, or None: the refresh succeeds
    items: list[UserItem] = field(default_factory=list)


def _areas(results) -> dict[str, tuple[int, int, int]]:
    """zh sheet name -> (first free column right of every table, first row below every table, first table's
    anchor column), over the tables of all ``results`` (the layout's positions for those frames)."""
    out: dict[str, list[int]] = {}
    for tables in results:
        for (sheet, _), (row, col, rows) in X.expected_tables(tables).items():
            right, bottom = col + len(rows[0]) - 1, row + len(rows) - 1
            cur = out.setdefault(sheet, [0, 0, col])
            cur[0], cur[1], cur[2] = max(cur[0], right), max(cur[1], bottom), min(cur[2], col)
    return {s: (right + 2, bottom + 3, left) for s, (right, bottom, left) in out.items()}


def _user_work(wb, areas) -> list[UserItem]:
    """On every layout sheet: a value, a formula, a comment, a merged range and a conditional format right of the
    tables, a value below them, a wider column; on one sheet a chart of the user's own numbers."""
    items = []
    for s in LAYOUT.sheets:
        ws = wb[s.zh]
        col, below, left = areas[s.zh]
        r = 5
        ws.cell(r, col).value = f"user note {s.key}"
        ws.cell(r + 1, col).value = "=1+1"
        ws.cell(r + 2, col).value = "commented"
        ws.cell(r + 2, col).comment = Comment(f"my comment on {s.key}", "analyst")
        ws.cell(r + 3, col).value = "merged"
        ws.merge_cells(range_ref(r + 3, col, r + 3, col + 1))
        for k in range(3):
            ws.cell(r + 4 + k, col).value = float(k + 1)
        ws.conditional_formatting.add(range_ref(r + 4, col, r + 6, col),
                                      CellIsRule(operator="greaterThan", formula=["1"], fill=None))
        ws.cell(below, left).value = f"below {s.key}"
        second = left + 1
        ws.column_dimensions[col_letter(second)].width = USER_WIDTH
        items += [UserItem(s.zh, "value", r, col, f"user note {s.key}"), UserItem(s.zh, "formula", r + 1, col, "=1+1"),
                  UserItem(s.zh, "comment", r + 2, col, f"my comment on {s.key}"),
                  UserItem(s.zh, "merge", r + 3, col, range_ref(r + 3, col, r + 3, col + 1)),
                  UserItem(s.zh, "rule", r + 4, col, range_ref(r + 4, col, r + 6, col)),
                  UserItem(s.zh, "value", below, left, f"below {s.key}"),
                  UserItem(s.zh, "width", 1, second, USER_WIDTH)]
        if s.key == CHART_SHEET:
            chart = BarChart()
            chart.title = "my own chart"
            chart.add_data(Reference(ws, min_col=col, min_row=r + 4, max_row=r + 6))
            ws.add_chart(chart, cell_ref(r + 8, col))
            items.append(UserItem(s.zh, "chart", r + 8, col, (r + 4, col, r + 6, col)))
    return items


def _beside_own_rows(wb, areas) -> list[UserItem]:
    """Next to the sheet's own rows: a value in column A of the title rows, one in row 1 right of the banner's
    reach (the widest table plus BANNER_SLACK columns). The refresh is on real data: the banner goes."""
    items = []
    for s in LAYOUT.sheets:
        ws = wb[s.zh]
        far = areas[s.zh][0] + BANNER_SLACK + 1
        ws.cell(3, 1).value = f"left of title {s.key}"
        ws.cell(1, far).value = f"far right {s.key}"
        items += [UserItem(s.zh, "value", 3, 1, f"left of title {s.key}"),
                  UserItem(s.zh, "value", 1, far, f"far right {s.key}")]
    return items


def _in_the_way(wb, areas) -> list[UserItem]:
    """A note in the row right below the event study's mean-return table, which the variant grows into."""
    ws = wb["相关性监控"]
    r1, c1, r2, _ = X.bounds(ws.tables["tblEventMeanReturn"].ref)
    ws.cell(r2 + 1, c1).value = "my note"
    return []


def _move_nav(wb, areas) -> list[UserItem]:
    ws = wb["策略表现"]
    tab = ws.tables["tblNav"]
    r1, c1, r2, c2 = X.bounds(tab.ref)
    ws.move_range(range_ref(r1 - 1, c1, r2, c2), rows=2)
    tab.ref = range_ref(r1 + 2, c1, r2 + 2, c2)
    tab.autoFilter.ref = tab.ref
    return []


def _delete_picks(wb, areas) -> list[UserItem]:
    del wb["策略持仓"].tables["tblLatestPicks"]  # "convert to range": the cells stay
    return []


def _delete_chart(wb, areas) -> list[UserItem]:
    wb["相关性监控"]._charts = []
    return []


CASES = [
    Case("user work beside and below the tables", "base", _user_work),
    Case("user work while tables move and resize", "variant", _user_work),
    Case("content where a table grows", "variant", _in_the_way, refused="holds 'my note'"),
    Case("beside the title rows; sample template refreshed on real data", "real", _beside_own_rows),
    Case("a moved table", "base", _move_nav, refused="Excel table `tblNav` on sheet `策略表现` starts at S"),
    Case("a deleted table", "base", _delete_picks, refused="Excel table `tblLatestPicks` on sheet `策略持仓` is missing"),
    Case("a deleted chart", "base", _delete_chart, refused="sheet `相关性监控` has 0 chart(s), the layout draws 1"),
]


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, workbook_inputs):
    """Per case: the edited workbook file, its items, its weekly result; the xlwings runs of all cases."""
    folder = tmp_path_factory.mktemp("keep")
    template = workbook_inputs.build_template(folder / "keep_template.xlsm")
    real = copy.deepcopy(workbook_inputs.weekly())
    real.sample = real.summary.sample = False  # the same tables as if read from real data
    results = {"base": workbook_inputs.weekly(), "variant": X.variant(workbook_inputs.weekly()), "real": real}
    areas = _areas([r.tables for r in results.values()])
    cases, scenarios = {}, {}
    for i, case in enumerate(CASES):
        path = folder / f"case{i}" / "keep.xlsm"
        path.parent.mkdir()
        wb = load_workbook(template, keep_vba=True)
        case = copy.copy(case)
        case.items = case.edit(wb, areas)
        wb.save(path)
        payload = X.payload_from_workbook(path)
        for item in case.items:
            if item.kind == "rule":  # the client sends no conditional formats: the model starts with the user's
                next(s for s in payload["sheets"] if s["name"] == item.sheet).setdefault("_rules", []).append(
                    ["CellValue", item.value])
        cases[case.name] = (case, path, results[case.result])
        scenarios[case.name] = (payload, "remote", results[case.result])
    (folder / "job").mkdir()
    return cases, X.run_job(folder / "job", scenarios)


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_headless_refresh(prepared, name, monkeypatch, workbook_inputs, tmp_path):
    """``xladdin refresh``'s writer (openpyxl) on the edited workbook."""
    cases, _ = prepared
    case, path, result = cases[name]
    work = tmp_path / path.name
    work.write_bytes(path.read_bytes())
    workbook_inputs.patch_compute(monkeypatch, result=result)
    if case.refused:
        before = _digest(work)
        with pytest.raises(RefreshError) as err:
            refresh_workbook(work, market=object())
        assert case.refused in str(err.value) and "checking the sheets against the layout" in str(err.value)
        assert "the workbook was not changed" in str(err.value) and _digest(work) == before
        return
    refresh_workbook(work, market=object())
    wb = load_workbook(work, keep_vba=True)
    for (sheet, tname), (row, col, rows) in X.expected_tables(result.tables).items():
        ws = wb[sheet]
        assert ws.tables[tname].ref == range_ref(row, col, row + len(rows) - 1, col + len(rows[0]) - 1), tname
        assert [ws.cell(row, col + j).value for j in range(len(rows[0]))] == [str(h) for h in rows[0]], tname
    layout_charts = {s.zh: len(s.charts) for s in LAYOUT.sheets}
    for item in case.items:
        ws = wb[item.sheet]
        cell = ws.cell(item.row, item.col)
        where = (item.sheet, item.kind, cell.coordinate)
        if item.kind in ("value", "formula"):
            assert cell.value == item.value, where
        elif item.kind == "comment":
            assert cell.comment is not None and cell.comment.text == item.value and cell.value == "commented", where
        elif item.kind == "merge":
            assert item.value in {str(m) for m in ws.merged_cells.ranges} and cell.value == "merged", where
        elif item.kind == "rule":
            assert item.value in {str(cf.sqref) for cf in ws.conditional_formatting}, where
        elif item.kind == "width":
            assert ws.column_dimensions[col_letter(item.col)].width == item.value, where
        elif item.kind == "chart":
            charts = X.workbook_charts(work)[item.sheet]
            assert len(charts) == layout_charts[item.sheet] + 1, where
            mine = charts[-1]  # after the layout's: the next refresh tells them apart the same way
            assert mine["anchor"] == cell_ref(item.row, item.col) and X.bounds(mine["series"][0]["values"]) == item.value, where
    mine = {(i.sheet, i.row, i.col) for i in case.items}
    for s in LAYOUT.sheets:  # row 1: the banner on the sample's tables, empty (values and fill) on real data
        ws = wb[s.zh]
        row1 = {c.column: c for c in ws[1] if (s.zh, 1, c.column) not in mine}
        if case.result == "real":
            assert [c.coordinate for c in row1.values() if c.value is not None or c.fill.fgColor.rgb not in
                    (None, "00000000")] == [], s.key
        else:
            assert row1[2].value and "示例" in str(row1[2].value), s.key  # the banner from column B
    # the layout's own conditional formats are there once, not doubled by the kept ones
    ws = wb["行业资金流"]
    refs = [str(cf.sqref) for cf in ws.conditional_formatting]
    assert len(refs) == len(set(refs))


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_excel_refresh(prepared, name):
    """The Refresh button's code (xlwings writer, remote engine) on the same edited workbook."""
    cases, runs = prepared
    case, path, result = cases[name]
    run = runs[name]
    if case.refused:
        assert run["error"] and run["error"].startswith("PlacementError") and case.refused in run["error"], run["error"]
        assert {a["func"] for a in run["actions"]} <= {"setScreenUpdating"}
        return
    X.check_tables(run, result.tables)
    layout_charts = {s.zh: len(s.charts) for s in LAYOUT.sheets}
    for item in case.items:
        where = (item.sheet, item.kind, cell_ref(item.row, item.col))
        cells = {(r, c): v for r, c, v in run["cells"][item.sheet]}
        if item.kind in ("value", "formula"):
            assert cells.get((item.row, item.col)) == item.value, where
        elif item.kind == "comment":
            assert [item.row, item.col] in run["state"]["notes"][item.sheet] and \
                cells.get((item.row, item.col)) == "commented", where
        elif item.kind == "merge":
            assert cells.get((item.row, item.col)) == "merged", where  # no action of the refresh touches merges
        elif item.kind == "rule":
            assert ["CellValue", item.value] in run["state"]["rules"][item.sheet], where
        elif item.kind == "chart":
            charts = run["state"]["charts"][item.sheet]
            assert len(charts) == layout_charts[item.sheet] + 1, where
            assert charts[-1]["source"] is None and charts[-1]["x"] is None, where  # never re-pointed
    mine = {(i.sheet, i.row, i.col) for i in case.items}
    for s in LAYOUT.sheets:  # row 1: the banner on the sample's tables, empty (values and fill) on real data
        row1 = [(r, c) for r, c, _ in run["cells"][s.zh] if r == 1 and (s.zh, r, c) not in mine]
        if case.result == "real":
            assert row1 == [] and [k for k in run["fills"][s.zh] if k[0] == 1] == [], s.key
        else:
            assert (1, 2) in row1, s.key  # the banner from column B
    assert not {a["func"] for a in run["actions"]} & {"deleteChart", "addChart", "sheetClear", "addTable"}


def test_a_chart_whose_table_is_empty_stays_for_the_next_refresh(prepared, monkeypatch, workbook_inputs, tmp_path):
    """A layout chart stays while its table is empty (over the table's placeholder row; the Excel refresh never
    deletes a chart either), so the next refresh still finds the layout's charts and the user's after them."""
    cases, _ = prepared
    case, path, result = cases["user work beside and below the tables"]
    work = tmp_path / path.name
    work.write_bytes(path.read_bytes())
    empty = copy.deepcopy(result)
    empty.tables["industry_flow"] = empty.tables["industry_flow"].iloc[:0]
    workbook_inputs.patch_compute(monkeypatch, result=empty)
    refresh_workbook(work, market=object())
    charts = X.workbook_charts(work)["行业资金流"]
    assert len(charts) == 2 and X.bounds(charts[1]["series"][0]["values"]) == next(
        i.value for i in case.items if i.kind == "chart")
    workbook_inputs.patch_compute(monkeypatch, result=result)
    refresh_workbook(work, market=object())  # not refused: "a chart was deleted"
    assert len(X.workbook_charts(work)["行业资金流"]) == 2
