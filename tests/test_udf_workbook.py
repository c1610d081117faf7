"""The example analyst workbook: every XA_ function is called, formulas spill (dynamic arrays),
xlwings.conf points at importable UDF modules, and formulas over data cells evaluate without #XA!."""
from __future__ import annotations

import importlib
import re
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

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
    for m in ("flows", "style", "holdings", "strategy", "stats"):
        mod = importlib.import_module(f"udfs.{m}")
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
    assert set(mods) == {"udfs.flows", "udfs.holdings", "udfs.stats", "udfs.strategy", "udfs.style"}
    for m in mods:
        importlib.import_module(m)


def _read(wb, default_sheet, text):
    """An Excel argument as xlwings passes it: scalar, flat list (one row/column) or list of rows."""
    sheet, _, rng = text.rpartition("!")
    ws = wb[sheet or default_sheet]
    c0, r0, c1, r1 = range_boundaries(rng)
    rows = [[ws.cell(r, c).value for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
    formula_inside = any(isinstance(v, str) and v.startswith("=") or v.__class__.__name__ == "ArrayFormula"
                         for row in rows for v in row)
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0], formula_inside
    if len(rows) == 1:
        return rows[0], formula_inside
    if len(rows[0]) == 1:
        return [r[0] for r in rows], formula_inside
    return rows, formula_inside


def test_formulas_over_data_cells_evaluate_without_errors(built):
    out, formulas = built
    wb = openpyxl.load_workbook(out)
    funcs = _udfs()
    evaluated = 0
    for sheet, _, text, _ in formulas:
        name, inner = re.match(r"=(XA_\w+)\((.*)\)$", text).groups()
        args, depends = [], False
        for a in [x for x in re.split(r",(?![^{]*\})", inner) if x != ""]:
            if re.fullmatch(r"(\w+!)?\$?[A-Z]+\$?\d+(:\$?[A-Z]+\$?\d+)?", a):
                v, f = _read(wb, sheet, a.replace("$", ""))
                depends |= f
                args.append(v)
            elif a.startswith("{"):
                args.append([float(x) for x in a.strip("{}").split(",")])
            elif a.startswith('"'):
                args.append(a.strip('"'))
            elif a in ("TRUE", "FALSE"):
                args.append(a == "TRUE")
            else:
                args.append(float(a))
        if depends:
            continue                      # needs other formulas' results: Excel's job
        res = funcs[name](*args)
        assert not (isinstance(res[0][0], str) and res[0][0].startswith("#XA!")), (text, res[0][0])
        evaluated += 1
    assert evaluated >= 6
