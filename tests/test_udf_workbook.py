"""The example analyst workbook: every XA_ function is called, formulas spill (dynamic arrays),
xlwings.conf points at importable UDF modules, every formula evaluates on the sheet's own values
without #XA! and spills into free cells."""
from __future__ import annotations

import datetime as dt
import importlib
import math
import re
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries

from xladdin.workbook.template import udf_modules

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workbooks"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import build_udf_examples as b
    out = tmp_path_factory.mktemp("wb") / "udf_examples.xlsm"
    formulas = b.build(out)
    return out, formulas


def _udfs() -> dict:
    funcs = {}
    for m in udf_modules():
        mod = importlib.import_module(m)
        funcs.update({k: v for k, v in vars(mod).items() if k.startswith("XA_")})
    return funcs


def test_every_function_is_used_and_formulas_spill(built):
    out, formulas = built
    used = {re.match(r"=(XA_\w+)\(", f).group(1) for _, _, f, _ in formulas}
    assert used == set(_udfs())
    with zipfile.ZipFile(out) as z:
        assert "xl/vbaProject.bin" in z.namelist()
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        assert "xl/metadata.xml" in z.namelist()          # dynamic-array metadata
    assert sheets.count('cm="1"') >= len(formulas)
    assert "_xlfn.SINGLE" not in sheets and "@XA_" not in sheets


def test_xlwings_conf_lists_importable_modules(built):
    out, _ = built
    wb = openpyxl.load_workbook(out, keep_vba=True)
    conf = {r[0]: r[1] for r in wb["xlwings.conf"].iter_rows(values_only=True)}
    mods = conf["UDF Modules"].split(";")
    assert mods == udf_modules() and "xladdin_udfs.crowding" in mods
    for m in mods:
        importlib.import_module(m)


class Sheets:
    """The workbook's cells, with its plain formulas evaluated on demand and the XA_ results spilled.

    Plain formulas are the few shapes the builder writes (``=E3/E2-1``, ``=B3*C3``, ``=B3/C3``,
    ``SUMIF``, ``IFERROR(INDEX(.., MATCH(.., .., 0)), "")``), evaluated here from their text; an
    ``XA_`` formula is evaluated by calling the function on the values of its argument ranges,
    as xlwings passes them, once every cell those ranges read is known. The values the file stores over
    an ``XA_`` formula's spill range (its cached result) are set apart in ``cached`` and never read as
    inputs: they are what the evaluation is compared with.
    """

    def __init__(self, wb):
        self.wb = wb
        self.cells = {}      # (sheet, row, col) -> constant or formula text
        self.values = {}     # (sheet, row, col) -> evaluated value of a formula cell
        self.spilled = {}    # (sheet, row, col) -> the formula cell whose result covers it
        self.cached = {}     # (sheet, row, col) -> the value the file stores in an XA_ formula's spill range
        self.ranges = {}     # (sheet, row, col) of an XA_ formula -> (rows, columns) of its stored range
        self.formulas = set()  # (sheet, row, col) of every formula cell (text starting with = is not one)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    v = cell.value
                    if cell.data_type == "f":
                        self.formulas.add((ws.title, cell.row, cell.column))
                    if v.__class__.__name__ == "ArrayFormula":
                        c0, r0, c1, r1 = range_boundaries(v.ref)
                        self.ranges[(ws.title, r0, c0)] = (r1 - r0 + 1, c1 - c0 + 1)
                        v = v.text
                    if v is not None:
                        self.cells[(ws.title, cell.row, cell.column)] = v
        for (sheet, r0, c0), (nr, nc) in self.ranges.items():
            for r in range(r0, r0 + nr):
                for c in range(c0, c0 + nc):
                    if (r, c) != (r0, c0):
                        self.cached[(sheet, r, c)] = self.cells.pop((sheet, r, c), None)

    class Pending(Exception):
        """A cell depends on an XA_ formula not evaluated yet."""

    def value(self, sheet, r, c):
        key = (sheet, r, c)
        if key in self.values:
            return self.values[key]
        if key in self.spilled:
            raise self.Pending(key)
        v = self.cells.get(key)
        if isinstance(v, str) and v.startswith("="):
            if v.startswith("=XA_"):
                raise self.Pending(key)
            self.values[key] = self._plain(sheet, v)
            return self.values[key]
        return v

    def range(self, sheet, text):
        """An argument as xlwings passes it: scalar, flat list (one row/column) or list of rows."""
        sh, _, rng = text.replace("$", "").rpartition("!")
        sh = sh or sheet
        c0, r0, c1, r1 = range_boundaries(rng)
        rows = [[self.value(sh, r, c) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        if len(rows) == 1:
            return rows[0]
        if len(rows[0]) == 1:
            return [r[0] for r in rows]
        return rows

    def _plain(self, sheet, text):
        cell = r"((?:\w+!)?\$?[A-Z]+\$?\d+)"
        rng = r"((?:\w+!)?\$?[A-Z]+\$?\d+:\$?[A-Z]+\$?\d+)"
        if m := re.fullmatch(rf"={cell}/{cell}-1", text):
            return self.range(sheet, m[1]) / self.range(sheet, m[2]) - 1
        if m := re.fullmatch(rf"={cell}([*/]){cell}", text):
            a, b = self.range(sheet, m[1]), self.range(sheet, m[3])
            return a * b if m[2] == "*" else a / b
        if m := re.fullmatch(rf"=SUMIF\({rng},{cell},{rng}\)", text):
            keys, crit, vals = self.range(sheet, m[1]), self.range(sheet, m[2]), self.range(sheet, m[3])
            return sum(v for k, v in zip(keys, vals) if k == crit and isinstance(v, (int, float)))
        if m := re.fullmatch(rf'=IFERROR\(INDEX\({rng},MATCH\({cell},{rng},0\)\),""\)', text):
            out, key, keys = self.range(sheet, m[1]), self.range(sheet, m[2]), self.range(sheet, m[3])
            return out[keys.index(key)] if key in keys else ""
        raise AssertionError(f"{sheet}: formula shape not known to the test: {text}")

    def spill(self, sheet, r, c, result):
        """Place ``result`` (list of rows) at (r, c); every other cell it covers must be free (no content but the
        result the file caches there)."""
        assert self.ranges[(sheet, r, c)] == (len(result), max(len(row) for row in result)), (sheet, r, c)
        for i, row in enumerate(result):
            for j, v in enumerate(row):
                key = (sheet, r + i, c + j)
                if (i, j) != (0, 0):
                    assert key not in self.cells, f"{sheet}!{get_column_letter(c)}{r}: spill covers " \
                                                  f"{get_column_letter(c + j)}{r + i} ({self.cells[key]!r})"
                    assert key not in self.spilled, f"{sheet}!{get_column_letter(c)}{r}: spill meets another spill"
                self.spilled[key] = (sheet, r, c)
                self.values[key] = v


def _args(inner):
    return [x for x in re.split(r",(?![^{]*\})", inner) if x != ""]


def test_every_formula_evaluates_on_the_sheet_and_spills_into_free_cells(built):
    """Each XA_ formula, evaluated on its own sheet's values (its inputs' formulas first), gives no #XA!
    text and its output rectangle covers no other content."""
    out, formulas = built
    sheets = Sheets(openpyxl.load_workbook(out))
    funcs = _udfs()
    todo = list(formulas)
    while todo:
        progress = False
        for item in list(todo):
            sheet, cell, text, _ = item
            name, inner = re.match(r"=(XA_\w+)\((.*)\)$", text).groups()
            try:
                args = []
                for a in _args(inner):
                    if re.fullmatch(r"(\w+!)?\$?[A-Z]+\$?\d+(:\$?[A-Z]+\$?\d+)?", a):
                        args.append(sheets.range(sheet, a))
                    elif a.startswith("{"):
                        args.append([float(x) for x in a.strip("{}").split(",")])
                    elif a.startswith('"'):
                        args.append(a.strip('"'))
                    elif a in ("TRUE", "FALSE"):
                        args.append(a == "TRUE")
                    else:
                        args.append(float(a))
            except Sheets.Pending:
                continue
            res = funcs[name](*args)
            assert isinstance(res, list) and all(isinstance(r, list) for r in res), (text, res)
            texts = [v for r in res for v in r if isinstance(v, str) and v.startswith("#XA!")]
            assert not texts, (sheet, cell, text, texts[0])
            c0, r0, _, _ = range_boundaries(cell)
            sheets.spill(sheet, r0, c0, res)
            todo.remove(item)
            progress = True
        assert progress, f"formulas waiting on each other: {[t for _, _, t, _ in todo]}"
    levels = [sheets.value("Holdings", r, 5) for r in range(1, 400) if ("Holdings", r, 5) in sheets.values]
    assert any(isinstance(v, float) for v in levels)  # XA_PICKS saw real holding levels from XA_PENETRATE
    _check_cached(out, sheets)


def _same(stored, computed) -> bool:
    """A value the file caches and the one computed here, as Excel would show them."""
    if computed is None or computed == "" or (isinstance(computed, float) and math.isnan(computed)):
        return stored in (None, "")
    if isinstance(computed, bool):
        return stored in (computed, int(computed))
    if isinstance(computed, dt.datetime):
        return stored == computed or (isinstance(stored, (int, float)) and stored == _serial(computed))
    if isinstance(computed, (int, float)):
        return isinstance(stored, (int, float)) and math.isclose(stored, computed, rel_tol=1e-12, abs_tol=1e-15)
    return stored == computed


def _serial(d: dt.datetime) -> float:
    return (d - dt.datetime(1899, 12, 30)).total_seconds() / 86400


def _check_cached(path, sheets):
    """Every formula cell stores the value computed here: a plain formula its result, an XA_ formula the first
    value of its result and the rest over its spill range; none is the 0 a recalculation would replace."""
    stored = openpyxl.load_workbook(path, data_only=True)
    checked = 0
    for sheet, r, c in sorted(sheets.formulas):
        v, want = stored[sheet].cell(r, c).value, sheets.value(sheet, r, c)
        assert _same(v, want), (sheet, r, c, sheets.cells[(sheet, r, c)], v, want)
        checked += 1
    for key, v in sheets.cached.items():
        assert _same(v, sheets.values[key]), (key, v, sheets.values[key])
    assert checked >= 3000 and len(sheets.cached) > 10000


def test_builder_refuses_overlapping_blocks(tmp_path):
    import build_udf_examples as b
    book = b.Book(tmp_path / "x.xlsm")
    ws = book.sheet("S")
    ws.write(0, 0, "a")
    with pytest.raises(ValueError, match="S!A1 written twice"):
        ws.write_string(0, 0, "b")
    book.wb.close()


def test_committed_example_workbook_is_the_builders(built):
    """workbooks/udf_examples.xlsm holds the same formulas as a fresh build (rebuild it after a change)."""
    out, formulas = built
    committed = openpyxl.load_workbook(ROOT / "workbooks" / "udf_examples.xlsm")
    for sheet, cell, text, _ in formulas:
        v = committed[sheet][cell].value
        assert getattr(v, "text", v) == text, (sheet, cell)


def test_the_guide_says_what_each_spreadsheet_shows_and_every_page_says_sample(built):
    out, _ = built
    wb = openpyxl.load_workbook(out, keep_vba=True)
    guide = " ".join(str(c.value) for row in wb["Guide"].iter_rows(max_row=15) for c in row if c.value)
    assert "SAMPLE DATA" in guide and "synthetic sample" in guide
    for needle in ("Stored results", "Excel for Windows", "ImportPythonUDFs", "#NAME?", "Excel for Mac",
                   "macOS currently does not support UDFs", "WPS", "docs/install.md", "not run in WPS"):
        assert needle in guide, needle
    for ws in wb.worksheets:
        assert "示例数据 SAMPLE" in (ws.oddHeader.left.text or ""), ws.title
