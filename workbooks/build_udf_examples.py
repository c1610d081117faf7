"""Build ``workbooks/udf_examples.xlsm``: an analyst workbook whose cells call every XA_ function.

Usage::

    python workbooks/build_udf_examples.py [--out workbooks/udf_examples.xlsm] [--pythonpath DIR]

Sample data come from the embedded synthetic market (:func:`xladdin.data.sample.sample_market`), never
from real data. The workbook holds:

* ``Guide`` - what to install, how to import the functions, the list of examples;
* ``Flows`` - 510300.SH daily shares / NAV / split ratio and CSI 300 closes, then
  ``XA_ETF_FLOW`` -> ``XA_FLOW_CORR`` -> ``XA_CORR_SIGNAL`` -> ``XA_EVENT_STUDY`` (M1-M3);
* ``Style`` - weekly CSI 300 / CSI 1000 closes, ``XA_STYLE_SIGNAL``, ``XA_HP1S``, ``XA_HP``,
  ``XA_FACTOR_MOM`` (M4-M5);
* ``HoldingsData`` - stock ETFs (shares, NAV, tracked index, size), index weights, stock industries;
* ``Holdings`` - index sizes (SUMIF over HoldingsData), ``XA_PENETRATE``, active shares,
  ``XA_DIVERGENCE``, ``XA_QUINTILE`` on monthly industry returns, ``XA_PICKS``;
* ``Stats`` - ``XA_PERF`` (with and without dates), ``XA_PCTRANK``, ``XA_IC``, ``XA_VERSION``,
  ``XA_BACKTEST`` (monthly 50/50 weights on two indices' daily returns);
* ``Crowding`` - the last 320 days of industry closes and volumes and the stock closes of the
  industry with the most stocks, ``XA_CROWDING`` and ``XA_HEAT`` (M14);
* ``xlwings.conf`` - ``UDF Modules`` = the xladdin_udfs modules (xlwings reads it; keys in column A).

No two blocks share a cell (every write is checked) and each formula's spill range is left empty
(``tests/test_udf_workbook.py`` evaluates every formula and checks it). Formulas are written as dynamic-array formulas (XlsxWriter ``write_dynamic_array_formula``), so
Excel 365 spills them and never inserts the implicit-intersection ``@``. The VBA project is
xlwings' standalone quickstart project (``RunPython``, ``ImportPythonUDFs``), as in the weekly
tracker (:mod:`xladdin.workbook.template`), so the xlwings add-in is optional.

Every formula cell stores its result (the cached value a file viewer shows): the builder keeps the values it
writes, evaluates each ``XA_`` formula by calling the function (the code Excel calls) on the values of its
argument ranges as xlwings passes them, and writes the result over the spill range; each plain formula
(``=E3/E2-1`` ...) is given the value it computes. So the workbook shows numbers before any recalculation
(a file preview, a program reading the stored values; LibreOffice 7.4 recalculates every array formula on
opening and shows #NAME? there); the Guide says what Excel for Mac, WPS and Excel before Import Functions
show.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import io
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter, range_boundaries

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from xladdin.data.sample import sample_market  # noqa: E402
from xladdin.workbook.template import udf_modules, vba_project_bytes  # noqa: E402

DEFAULT_OUT = ROOT / "workbooks" / "udf_examples.xlsm"
ETF = "510300.SH"
INDEX = "000300.SH"
SMALL = "000852.SH"
START = "2016-01-01"
#: trading days of the crowding example (enough for a percentile: 250 values of a 20-day mean)
CROWDING_DAYS = 320
#: the header of every printed page (the data of every sheet is the embedded sample)
PRINT_HEADER = '&L&"-,Bold"&KC00000示例数据 SAMPLE: xladdin\'s synthetic sample market, not market data'
#: the Guide's notes: how to get the functions running, and what each kind of spreadsheet shows before that
GUIDE_NOTES = [
    "SAMPLE DATA (示例数据): every figure here comes from xladdin's embedded synthetic sample market, not market data.",
    "1. Install the xladdin wheel into the Python Excel runs (pip install <path of the wheel>; it brings xlwings).",
    "2. Open this workbook, Developer > Macros > ImportPythonUDFs (or the xlwings add-in's Import Functions).",
    "3. Excel 365 spills each formula (yellow cell) into the cells below/right. Errors show as #XA! <what to fix>.",
    "The xlwings.conf sheet sets UDF Modules; the functions import from the installed package (step 1).",
    "Stored results: every formula cell holds the result the function gave when this workbook was built (the same "
    "xladdin code, on these sheets' values), so a viewer that shows a file without calculating it (file previews, "
    "programs that read the file's values) shows these numbers. LibreOffice (7.4 tried) recalculates every array "
    "formula when it opens a file, whatever its recalculation setting: it shows #NAME? in the XA_ cells.",
    "Excel for Windows recalculates the workbook when it opens it: until the functions are imported (step 2) every "
    "XA_ cell shows #NAME? (Excel does not know the function yet); after ImportPythonUDFs they compute again.",
    "Excel for Mac: xlwings has no Excel functions on macOS (its docs: \"macOS currently does not support UDFs\"), so "
    "after Excel recalculates the XA_ cells show #NAME?; the functions run in xlwings Lite (docs/excel.md).",
    "WPS: xlwings needs Microsoft Excel (docs/install.md, WPS Office), so WPS has no XA_ functions: wherever it "
    "recalculates these cells they show #NAME? (or WPS's own error); this was not run in WPS.",
]


def col_letter(c: int) -> str:
    """Excel column letters of zero-based column ``c``."""
    return get_column_letter(c + 1)


def ref(r0: int, c0: int, r1: int, c1: int, sheet: str | None = None) -> str:
    """A1 range from zero-based corners."""
    a = f"{col_letter(c0)}{r0 + 1}:{col_letter(c1)}{r1 + 1}"
    return f"{sheet}!{a}" if sheet else a


#: the write methods that put a value in their cell (first argument after the cell), as the sheet's model keeps it
_VALUE_WRITERS = ("write", "write_string", "write_number", "write_datetime", "write_boolean")


def _write_once(ws, values: dict[tuple[int, int], Any]) -> dict[tuple[int, int], str]:
    """Make every public write method of ``ws`` refuse a cell that was already written (no block overwrites another)
    and keep each value written in ``values`` (a plain formula: its ``value``). Returns the cells written."""
    written: dict[tuple[int, int], str] = {}

    def guard(name):
        method = getattr(ws, name)

        def write(row, col, *args, **kwargs):
            if (row, col) in written:
                raise ValueError(f"{ws.get_name()}!{col_letter(col)}{row + 1} written twice ({written[(row, col)]} "
                                 f"then {name}): two blocks overlap")
            written[(row, col)] = name
            if name in _VALUE_WRITERS and args:
                values[(row, col)] = args[0]
            elif name == "write_formula":
                if len(args) < 3 and "value" not in kwargs:
                    raise ValueError(f"{ws.get_name()}!{col_letter(col)}{row + 1}: a formula needs its value (what "
                                     "it computes), stored for viewers that do not recalculate")
                values[(row, col)] = args[2] if len(args) >= 3 else kwargs["value"]
            return method(row, col, *args, **kwargs)
        setattr(ws, name, write)

    for name in ("write", "write_string", "write_number", "write_datetime", "write_formula",
                 "write_dynamic_array_formula", "write_url", "write_boolean", "write_blank"):
        guard(name)
    return written


class Ref(str):
    """A range argument of a formula (``B2:B100``, ``Sheet!A1:C9``)."""


def _udfs() -> dict[str, Any]:
    """Every XA_ function of the installed adapters, by name (the code Excel runs)."""
    from xladdin.workbook.template import udf_modules
    funcs: dict[str, Any] = {}
    for name in udf_modules():
        funcs.update({k: v for k, v in vars(importlib.import_module(name)).items() if k.startswith("XA_")})
    return funcs


def _args(inner: str) -> list[str]:
    """The arguments of a formula's call, split at the commas outside braces."""
    return [a for a in re.split(r",(?![^{]*\})", inner) if a != ""]


def _cached(v: Any) -> Any:
    """A result as XlsxWriter stores it as a formula's cached value: a date as its Excel serial number, a bool as
    1 / 0, an empty result as empty text."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, dt.datetime):
        from xlsxwriter.utility import datetime_to_excel_datetime
        return datetime_to_excel_datetime(v, False, True)
    if isinstance(v, bool):
        return int(v)
    return v


class Book:
    """XlsxWriter workbook with the formulas recorded (for the guide and the tests)."""

    def __init__(self, path: Path):
        import xlsxwriter
        self.wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
        self.wb.set_vba_name("ThisWorkbook")
        self.n = 0
        self.values: dict[str, dict[tuple[int, int], Any]] = {}  # sheet -> (row, col) -> value (0-based)
        self.written: dict[str, dict[tuple[int, int], str]] = {}
        self.udfs = _udfs()
        self.fmt = {
            "head": self.wb.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF"}),
            "date": self.wb.add_format({"num_format": "yyyy-mm-dd"}),
            "num": self.wb.add_format({"num_format": "#,##0.0000"}),
            "title": self.wb.add_format({"bold": True, "font_size": 14, "font_color": "#1F4E78"}),
            "formula": self.wb.add_format({"bg_color": "#FFF2CC"}),
            "wrap": self.wb.add_format({"text_wrap": True, "valign": "top"}),
            "formula_date": self.wb.add_format({"bg_color": "#FFF2CC", "num_format": "yyyy-mm-dd"}),
        }
        self.formulas: list[tuple[str, str, str, str]] = []  # (sheet, cell, formula, what)
        self._formats: dict[tuple[str, bool], Any] = {}

    def number(self, fmt: str | None, formula: bool = False) -> Any:
        """The cell format showing numbers as ``fmt`` (an Excel code: ``#,##0`` for shares and yuan, ``0.00%`` for
        returns), on a formula's yellow when ``formula``; None without a code (General) outside formulas."""
        if fmt is None and not formula:
            return None
        key = (fmt or "General", formula)
        if key not in self._formats:
            props = {"num_format": fmt} if fmt else {}
            if formula:
                props["bg_color"] = "#FFF2CC"
            self._formats[key] = self.wb.add_format(props)
        return self._formats[key]

    def sheet(self, name: str):
        self.n += 1
        ws = self.wb.add_worksheet(name)
        ws.set_vba_name(f"Sheet{self.n}")
        self.values[name] = {}
        self.written[name] = _write_once(ws, self.values[name])
        ws.set_header(PRINT_HEADER)  # every printed page says the figures are the sample's
        return ws

    def value(self, sheet: str, r: int, c: int) -> Any:
        """The value of a cell written so far (a spilled result too); None for an empty cell."""
        return self.values[sheet].get((r, c))

    def argument(self, sheet: str, text: str) -> Any:
        """A formula's argument as xlwings passes it to the function: a range as a scalar (one cell), a flat list
        (one row or column) or a list of rows, empty cells None; a literal as its value."""
        if re.fullmatch(r"(\w+!)?\$?[A-Z]+\$?\d+(:\$?[A-Z]+\$?\d+)?", text):
            sh, _, rng = text.replace("$", "").rpartition("!")
            c0, r0, c1, r1 = range_boundaries(rng)
            rows = [[self.value(sh or sheet, r - 1, c - 1) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
            if len(rows) == 1:
                return rows[0][0] if len(rows[0]) == 1 else rows[0]
            return [row[0] for row in rows] if len(rows[0]) == 1 else rows
        if text.startswith("{"):
            return [float(x) for x in text.strip("{}").split(",")]
        if text.startswith('"'):
            return text.strip('"')
        if text in ("TRUE", "FALSE"):
            return text == "TRUE"
        return float(text)

    def evaluate(self, sheet: str, text: str) -> list[list[Any]]:
        """Call the formula's XA_ function on its arguments' values: the result Excel would spill."""
        name, inner = re.fullmatch(r"=(XA_\w+)\((.*)\)", text).groups()
        result = self.udfs[name](*[self.argument(sheet, a) for a in _args(inner)])
        if not (isinstance(result, list) and all(isinstance(row, list) for row in result)):
            raise ValueError(f"{sheet}: {text} did not return rows ({result!r})")
        errors = [v for row in result for v in row if isinstance(v, str) and v.startswith("#XA!")]
        if errors:
            raise ValueError(f"{sheet}: {text} returned {errors[0]}")
        return result

    def table(self, ws, r: int, c: int, frame: pd.DataFrame, index: bool = True,
              formats: dict[str, str] | None = None) -> tuple[int, int, int, int]:
        """Write ``frame`` with a header row at (r, c); returns the data block's corners (no header). ``formats``:
        column name -> number format of its values (desk conventions: shares and yuan ``#,##0``, returns and
        weights in percent); other numbers General."""
        formats = formats or {}
        df = frame.reset_index() if index else frame
        for j, name in enumerate(df.columns):
            ws.write(r, c + j, str(name), self.fmt["head"])
        for j, name in enumerate(df.columns):
            s = df[name]
            if pd.api.types.is_datetime64_any_dtype(s):
                for i, v in enumerate(s):
                    if pd.notna(v):
                        ws.write_datetime(r + 1 + i, c + j, pd.Timestamp(v).to_pydatetime(), self.fmt["date"])
                ws.set_column(c + j, c + j, 11)
            elif pd.api.types.is_numeric_dtype(s):
                fmt = self.number(formats.get(str(name)))
                for i, v in enumerate(s.to_numpy(dtype=float)):
                    if np.isfinite(v):
                        ws.write_number(r + 1 + i, c + j, float(v), fmt)
            else:
                for i, v in enumerate(s):
                    if v is not None and not (isinstance(v, float) and np.isnan(v)):
                        ws.write_string(r + 1 + i, c + j, str(v))
        return r + 1, c, r + len(df), c + len(df.columns) - 1

    def formula(self, ws, r: int, c: int, text: str, what: str, title: str | None = None,
                num_format: str | None = None) -> None:
        """Write an XA_ formula at (r, c) with its result cached over the range it spills into (kept empty);
        ``num_format``: how the spilled numbers show (a one-column result such as a flow in yuan)."""
        if title:
            ws.write(r - 1, c, title, self.fmt["head"])
        sheet = ws.get_name()
        result = self.evaluate(sheet, text)
        nrows, ncols = len(result), max(len(row) for row in result)
        taken = [(r + i, c + j) for i in range(nrows) for j in range(ncols)
                 if (i, j) != (0, 0) and (r + i, c + j) in self.written[sheet]]
        if taken:
            raise ValueError(f"{sheet}!{col_letter(c)}{r + 1}: {text} spills over "
                             f"{col_letter(taken[0][1])}{taken[0][0] + 1}, which holds something")
        first = result[0][0] if result[0] else None
        is_date = isinstance(first, dt.datetime)
        cell = self.fmt["formula_date"] if is_date else self.number(num_format, formula=True)
        ws.write_dynamic_array_formula(r, c, r + nrows - 1, c + ncols - 1, text, cell, _cached(first))
        self.values[sheet][(r, c)] = first
        for i, row in enumerate(result):
            for j in range(ncols):
                if (i, j) != (0, 0):
                    self._spilled(ws, r + i, c + j, row[j] if j < len(row) else None, self.number(num_format))
        self.formulas.append((sheet, f"{col_letter(c)}{r + 1}", text, what))

    def _spilled(self, ws, r: int, c: int, v: Any, fmt: Any = None) -> None:
        """A cell of a formula's spill range: its value as Excel stores it (XlsxWriter's own writers, past the
        write-once guard: the formula owns the range)."""
        import xlsxwriter.worksheet as xw_sheet
        sheet = ws.get_name()
        self.written[sheet][(r, c)] = "spill"
        self.values[sheet][(r, c)] = v
        cls = xw_sheet.Worksheet
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            ws.table[r].pop(c, None)  # XlsxWriter padded the range with 0: an empty result cell stays empty
        elif isinstance(v, bool):
            cls.write_boolean(ws, r, c, v)
        elif isinstance(v, dt.datetime):
            cls.write_datetime(ws, r, c, v, self.fmt["date"])
        elif isinstance(v, (int, float)):
            cls.write_number(ws, r, c, v, fmt)
        else:
            cls.write_string(ws, r, c, str(v))

    def plain(self, ws, r: int, c: int, text: str, value: Any, num_format: str | None = None) -> None:
        """A plain formula with the value it computes: a finite number, or text (``""`` for IFERROR's empty)."""
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{ws.get_name()}!{col_letter(c)}{r + 1}: {text} computes {value} (an error in Excel)")
        ws.write_formula(r, c, text, self.number(num_format), value)

    def close(self, vba: bytes) -> None:
        self.wb.add_vba_project(io.BytesIO(vba), is_stream=True)
        self.wb.close()


def build(out: Path = DEFAULT_OUT, pythonpath: str | None = None) -> list[tuple[str, str, str, str]]:
    """Write the example workbook; returns the formulas as (sheet, cell, formula, description)."""
    m = sample_market()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    book = Book(out)
    guide = book.sheet("Guide")

    # ------------------------------------------------------------------ Flows (M1-M3)
    ws = book.sheet("Flows")
    daily = m.table("etf_daily")
    e = daily[daily["etf"] == ETF].set_index("date")[["shares", "nav", "split_ratio"]]
    close = m.index_close(INDEX).rename("close")
    df = e.join(close, how="inner").loc[START:]
    df.index.name = "date"
    r0, _, r1, _ = book.table(ws, 0, 0, df, formats={"shares": "#,##0", "nav": "0.0000", "close": "#,##0.00"})
    ws.write(0, 5, "return", book.fmt["head"])                   # A date, B shares, C nav, D split, E close
    for i in range(r0 + 1, r1 + 1):                              # F: daily index return, an Excel formula
        book.plain(ws, i, 5, f"=E{i + 1}/E{i}-1", book.value("Flows", i, 4) / book.value("Flows", i - 1, 4) - 1,
                   "0.00%")
    B, C, D, E_, F = (f"{x}{r0 + 1}:{x}{r1 + 1}" for x in "BCDEF")
    book.formula(ws, r0, 6, f"=XA_ETF_FLOW({B},{C},{D})", "daily net flow of 510300.SH (yuan)", "flow", "#,##0")
    book.formula(ws, r0, 7, f"=XA_FLOW_CORR(G{r0 + 1}:G{r1 + 1},{F},20)", "20-day flow/return correlation", "corr",
                 "0.00")
    book.formula(ws, r0, 8, f"=XA_CORR_SIGNAL(H{r0 + 1}:H{r1 + 1},0.5)", "top signal: corr > 0.5", "signal")
    book.formula(ws, r0, 9, f"=XA_PCTRANK(G{r0 + 1}:G{r1 + 1},252)", "flow as a percentile of its past year",
                 "flow pct", "0.0%")
    ws.set_column(1, 1, 15)                                      # shares in the billions, with separators
    ws.set_column(2, 5, 11)                                      # nav, split_ratio, close, return
    ws.set_column(6, 6, 15)                                      # the flow in yuan
    ws.repeat_rows(0)
    book.formula(ws, 1, 11, f"=XA_EVENT_STUDY(H{r0 + 1}:H{r1 + 1},{E_})", "event-study grid, long form")
    book.formula(ws, 40, 11, f'=XA_EVENT_STUDY(H{r0 + 1}:H{r1 + 1},{E_},{{0.3,0.4,0.5,0.6}},{{5,10,20,30}},"every","p_down")',
                 "down probability grid (thresholds down, horizons across)")
    ws.write(0, 11, "XA_EVENT_STUDY (long form)", book.fmt["title"])
    ws.write(39, 11, "XA_EVENT_STUDY layout p_down", book.fmt["title"])
    ws.freeze_panes(1, 1)

    # ------------------------------------------------------------------ Style (M4-M5)
    ws = book.sheet("Style")
    from xladdin.data.calendar import week_ends
    both = pd.concat({"csi300": m.index_close(INDEX), "csi1000": m.index_close(SMALL)}, axis=1).dropna().loc[START:]
    weekly = both.loc[week_ends(both.index)]
    weekly.index.name = "week"
    r0, _, r1, _ = book.table(ws, 0, 0, weekly)                  # A week, B csi300, C csi1000
    ws.repeat_rows(0)
    ws.write(0, 3, "ratio", book.fmt["head"])
    for i in range(r0, r1 + 1):
        book.plain(ws, i, 3, f"=B{i + 1}/C{i + 1}", book.value("Style", i, 1) / book.value("Style", i, 2))
    B, C, D = (f"{x}{r0 + 1}:{x}{r1 + 1}" for x in "BCD")
    book.formula(ws, 0, 4, f"=XA_STYLE_SIGNAL({B},{C},100,TRUE)",
                 "weekly size style: ratio, filtered, momentum, realised, regime (1 = large caps lead)")
    book.formula(ws, r0, 10, f"=XA_HP1S({D},100)", "one-sided HP trend of the ratio", "hp1s")
    book.formula(ws, r0, 11, f"=XA_HP({D},100)", "two-sided HP trend (uses future data)", "hp")
    book.formula(ws, r0, 12, f"=XA_FACTOR_MOM(K{r0 + 1}:K{r1 + 1})", "factor momentum of the one-sided trend",
                 "momentum")
    ws.freeze_panes(1, 1)

    # ------------------------------------------------------------------ Holdings (M6, M7, M9, M10)
    # Long inputs (ETFs, index weights, stock industries) on their own sheet; the analysis on Holdings,
    # every block placed below or beside the previous ones with its spill size taken into account.
    data = book.sheet("HoldingsData")
    last = daily["date"].max()
    info = m.etf_info
    stock = info[info["category"].isin(["broad", "sector_theme", "strategy_style"])]
    snap = daily[(daily["date"] == last) & daily["etf"].isin(stock.index)].set_index("etf")[["shares", "nav"]]
    etfs = snap.join(stock[["tracked_index"]]).sort_index()
    etfs.index.name = "etf"
    data.write(0, 0, f"Stock ETFs on {last:%Y-%m-%d}", book.fmt["title"])
    r0, _, r1, _ = book.table(data, 1, 0, etfs, formats={"shares": "#,##0", "nav": "0.0000"})
    data.write(1, 4, "size", book.fmt["head"])                   # A etf, B shares, C nav, D tracked_index
    for i in range(r0, r1 + 1):
        book.plain(data, i, 4, f"=B{i + 1}*C{i + 1}", book.value("HoldingsData", i, 1) * book.value("HoldingsData", i, 2),
                   "#,##0")
    data.set_column(1, 1, 15)
    data.set_column(4, 4, 17)
    w = m.table("index_weights")
    wl = w[w["date"] == w["date"].max()]
    indices = sorted(set(etfs["tracked_index"]) & set(wl["index"]))
    weights = wl[wl["index"].isin(indices)][["index", "stock", "weight"]].sort_values(["index", "stock"])
    data.write(0, 6, f"Index weights on {w['date'].max():%Y-%m-%d}", book.fmt["title"])
    wr0, wc0, wr1, wc1 = book.table(data, 1, 6, weights, index=False, formats={"weight": "0.00%"})  # G, H, I
    si = m.table("stock_industry")[["stock", "industry", "industry_name"]].sort_values("stock")
    data.write(0, 10, "Stock industries", book.fmt["title"])
    sr0, sc0, sr1, sc1 = book.table(data, 1, 10, si, index=False)       # K stock, L industry, M name
    data.freeze_panes(2, 0)
    data.repeat_rows(1)

    ws = book.sheet("Holdings")
    ws.write(0, 0, "Size per tracked index", book.fmt["title"])
    ws.write(1, 0, "index", book.fmt["head"])
    ws.write(1, 1, "size", book.fmt["head"])
    for i, code in enumerate(indices):                           # A index, B size (SUMIF over HoldingsData)
        ws.write_string(2 + i, 0, code)
        size = sum(book.value("HoldingsData", j, 4) for j in range(r0, r1 + 1)
                   if book.value("HoldingsData", j, 3) == code)
        book.plain(ws, 2 + i, 1, f"=SUMIF(HoldingsData!$D${r0 + 1}:$D${r1 + 1},A{3 + i},"
                                 f"HoldingsData!$E${r0 + 1}:$E${r1 + 1})", float(size), "#,##0")
    sizes_ref = ref(1, 0, 2 + len(indices) - 1, 1)
    industries = sorted(set(si["industry"]))
    n_ind = len(industries)
    ws.write(0, 3, "XA_PENETRATE: industry holdings and holding level", book.fmt["title"])
    book.formula(ws, 1, 3, f"=XA_PENETRATE({sizes_ref},{ref(wr0 - 1, wc0, wr1, wc1, 'HoldingsData')},"
                           f"{ref(sr0 - 1, sc0, sr1, sc1, 'HoldingsData')})",
                 "industry holdings and holding level (M6)")   # spills D:G, header + industries + (no industry)
    pen_first, pen_last = 2, 1 + n_ind                          # 0-based rows of the industry rows
    # active shares from the last disclosed active-fund holdings (data preparation for the example)
    from xladdin.methods.divergence import active_disclosed_shares
    act = active_disclosed_shares(m.table("active_fund_holdings"), m.stock_industry["industry"])
    act_last = act.iloc[-1].reindex(industries).fillna(0.0)
    ws.write(0, 8, f"Active-fund shares ({act.index[-1]:%Y-%m-%d})", book.fmt["title"])
    ar0, _, ar1, _ = book.table(ws, 1, 8, act_last.rename("active_share").rename_axis("industry").to_frame())
    # I industry, J active_share; XA_PENETRATE lists the same industries sorted by code: G = level
    book.formula(ws, ar0, 11, f"=XA_DIVERGENCE(G{pen_first + 1}:G{pen_last + 1},J{ar0 + 1}:J{ar1 + 1})",
                 "divergence: ETF level - active share, standardised (M9)", "divergence")
    # monthly industry returns block (dates x industries) for XA_QUINTILE / XA_IC / XA_PICKS
    ind = m.industry_close().loc[START:]
    monthly = ind.groupby(ind.index.to_period("M")).tail(1)
    rets = monthly.pct_change().iloc[1:]
    rets.index.name = "month"
    top = max(2 + len(indices), pen_last + 2, ar1 + 1) + 3     # below the penetration spill and the inputs
    ws.write(top, 0, "Monthly industry returns", book.fmt["title"])
    qr0, qc0, qr1, qc1 = book.table(ws, top + 1, 0, rets, formats=dict.fromkeys(rets.columns, "0.00%"))
    ws.set_column(1, qc1, 12)                                    # the returns' industry codes
    ws.set_column(1, 1, 16)                                      # and above them the sizes in yuan
    ws.repeat_rows(top + 1)  # the long block (months x industries) and the quintiles beside it
    block = ref(qr0 - 1, qc0, qr1, qc1)
    gap = qc1 + 2
    ws.write(top, gap, "XA_QUINTILE of each month's returns (group 5 = best)", book.fmt["title"])
    book.formula(ws, top + 1, gap, f"=XA_QUINTILE({block},5)", "quintile of each month's industry returns (M7)")
    factors = pd.DataFrame({"ret_1m": rets.iloc[-1], "ret_3m": (1 + rets.iloc[-3:]).prod() - 1,
                            "ret_12m": (1 + rets.iloc[-12:]).prod() - 1, "level": np.nan})
    factors.index.name = "industry"
    fr = qr1 + 4
    ws.write(fr - 1, 0, "Factor block for XA_PICKS (level = XA_PENETRATE holding level)", book.fmt["title"])
    f0, fc0, f1, fc1 = book.table(ws, fr, 0, factors, formats={"ret_1m": "0.00%", "ret_3m": "0.00%",
                                                               "ret_12m": "0.00%"})
    spilled = {book.value("Holdings", r, 3): book.value("Holdings", r, 6) for r in range(pen_first, pen_last + 1)}
    for i in range(len(factors.index)):               # holding level looked up from the spilled table
        level = spilled.get(book.value("Holdings", f0 + i, 0), "")
        book.plain(ws, f0 + i, 4, f'=IFERROR(INDEX($G${pen_first + 1}:$G${pen_last + 1},'
                                  f'MATCH(A{f0 + i + 1},$D${pen_first + 1}:$D${pen_last + 1},0)),"")',
                   "" if level is None else level)
    book.formula(ws, fr, 6, f"=XA_PICKS({ref(fr, fc0, f1, fc1)},6)", "top 6 industries by composite rank (M10)")

    # ------------------------------------------------------------------ Stats (M11-M13)
    ws = book.sheet("Stats")
    nav = pd.concat({"csi300": m.index_close(INDEX), "csi500": m.index_close("000905.SH")}, axis=1).dropna().loc[START:]
    nav.index.name = "date"
    r0, _, r1, _ = book.table(ws, 0, 0, nav)                     # A date, B csi300, C csi500
    ws.repeat_rows(0)
    book.formula(ws, 1, 4, f"=XA_PERF(A{r0}:B{r1 + 1},C{r0 + 1}:C{r1 + 1},0.02)",
                 "per-year performance of CSI 300 vs CSI 500, rf 2% (M12)")
    ws.write(0, 4, "XA_PERF with dates (per calendar year)", book.fmt["title"])
    ws.write(18, 4, "XA_PERF without dates (full period)", book.fmt["title"])
    book.formula(ws, 19, 4, f"=XA_PERF(B{r0 + 1}:B{r1 + 1})", "full-period statistics from a NAV column")
    ws.write(23, 4, "XA_IC: 1-month momentum vs next month's return", book.fmt["title"])
    past = ref(qr0, qc0 + 1, qr1 - 1, qc1, "Holdings")
    fwd = ref(qr0 + 1, qc0 + 1, qr1, qc1, "Holdings")
    book.formula(ws, 24, 4, f"=XA_IC({past},{fwd})", "monthly rank IC of momentum, then IC summary (M11)")
    # the blocks to the right start after XA_PERF's spill (its width: one column per M12 statistic)
    from xladdin_udfs.stats import XA_PERF
    right = 4 + len(XA_PERF([[d.to_pydatetime(), v] for d, v in nav["csi300"].items()],
                            nav["csi500"].tolist(), 0.02)[0]) + 1
    ws.write(0, right, "version", book.fmt["head"])
    book.formula(ws, 1, right, "=XA_VERSION()", "version of the Python package serving the functions")
    # XA_BACKTEST: daily returns of the two indices and 50/50 target weights decided at month ends
    rets = nav.pct_change().iloc[1:]
    rets.index.name = "date"
    ws.write(0, right + 2, "Daily returns", book.fmt["title"])
    br0, bc0, br1, bc1 = book.table(ws, 1, right + 2, rets)      # date, csi300, csi500
    month_end = rets.groupby(rets.index.to_period("M")).tail(1).index
    w = pd.DataFrame({"csi300": 0.5, "csi500": 0.5}, index=month_end)
    w.index.name = "date"
    ws.write(0, right + 6, "Target weights (month ends)", book.fmt["title"])
    wr0, wc0, wr1, wc1 = book.table(ws, 1, right + 6, w)         # date, csi300, csi500
    ws.write(0, right + 10, "XA_BACKTEST: 50/50 rebalanced monthly, traded next day, 0.1% one-way", book.fmt["title"])
    book.formula(ws, 1, right + 10, f"=XA_BACKTEST({ref(wr0 - 1, wc0, wr1, wc1)},{ref(br0 - 1, bc0, br1, bc1)},0.001,1)",
                 "NAV net and gross, turnover and cost of monthly 50/50 weights (the M7-M11 engine)")

    # ------------------------------------------------------------------ Crowding (M14)
    ws = book.sheet("Crowding")
    ind = m.table("industry_daily")
    closes, volumes = (ind.pivot(index="date", columns="industry", values=f).tail(CROWDING_DAYS)
                       for f in ("close", "volume"))
    ws.write(0, 0, "Industry closes", book.fmt["title"])
    cr0, cc0, cr1, cc1 = book.table(ws, 1, 0, closes)            # date, then one column per industry
    ws.repeat_rows(1)
    vcol = cc1 + 2
    ws.write(0, vcol, "Industry volumes (shares)", book.fmt["title"])
    vr0, vc0, vr1, vc1 = book.table(ws, 1, vcol, volumes)
    si_all = m.table("stock_industry")
    busiest = si_all["industry"].value_counts().sort_index().sort_values(ascending=False, kind="stable").index[:1]
    members = si_all[si_all["industry"].isin(busiest)].sort_values("stock")
    sd = m.table("stock_daily")
    stocks = (sd[sd["stock"].isin(members["stock"])].pivot(index="date", columns="stock", values="close")
              .reindex(closes.index))
    scol = vc1 + 2
    ws.write(0, scol, f"Stock closes of {busiest[0]}", book.fmt["title"])
    sr0_, sc0_, sr1_, sc1_ = book.table(ws, 1, scol, stocks, index=False)
    mcol = sc1_ + 2
    ws.write(0, mcol, "Stock industries", book.fmt["title"])
    mr0, mc0, mr1, mc1 = book.table(ws, 1, mcol, members[["stock", "industry"]], index=False)
    right = mc1 + 2
    ws.write(0, right, "XA_CROWDING: crowding of each industry on the last row (M14)", book.fmt["title"])
    book.formula(ws, 1, right, f"=XA_CROWDING({ref(cr0 - 1, cc0, cr1, cc1)},{ref(vr0 - 1, vc0, vr1, vc1)},"
                               f"{ref(sr0_ - 1, sc0_, sr1_, sc1_)},{ref(mr0 - 1, mc0, mr1, mc1)})",
                 "heat and dispersion percentiles, price-volume divergence, crowded and reasons per industry (M14)")
    heat_row = 1 + len(closes.columns) + 4                        # below XA_CROWDING's spill (header + industries)
    ws.write(heat_row - 1, right, "XA_HEAT: turnover heat percentile of every industry", book.fmt["title"])
    book.formula(ws, heat_row, right, f"=XA_HEAT({ref(vr0 - 1, vc0, vr1, vc1)})",
                 "each industry's share of the volume, 20-day mean, percentile of its history (M14)")
    ws.freeze_panes(2, 1)

    # ------------------------------------------------------------------ Guide and xlwings.conf
    guide.set_column(0, 0, 16)
    guide.set_column(1, 1, 12)
    guide.set_column(2, 2, 90)
    guide.set_column(3, 3, 60)
    guide.write(0, 0, "xladdin Excel functions: worked examples", book.fmt["title"])
    for i, t in enumerate(GUIDE_NOTES):  # across the four columns, wrapped: nothing cut on screen or paper
        guide.merge_range(2 + i, 0, 2 + i, 3, t, book.fmt["wrap"])
        guide.set_row(2 + i, 15 * math.ceil(len(t) / 160))
    guide.set_landscape()
    guide.fit_to_pages(1, 0)
    guide.repeat_rows(3 + len(GUIDE_NOTES))
    top = 3 + len(GUIDE_NOTES)
    guide.write(top, 0, "sheet", book.fmt["head"])
    guide.write(top, 1, "cell", book.fmt["head"])
    guide.write(top, 2, "formula", book.fmt["head"])
    guide.write(top, 3, "what it shows", book.fmt["head"])
    for i, (s, cell, text, what) in enumerate(book.formulas):
        guide.write_url(top + 1 + i, 0, f"internal:'{s}'!{cell}", string=s)
        guide.write(top + 1 + i, 1, cell)
        guide.write_string(top + 1 + i, 2, text if len(text) < 250 else text[:247] + "...")
        guide.write(top + 1 + i, 3, what)
    conf = book.sheet("xlwings.conf")
    conf_rows = [("UDF Modules", ";".join(udf_modules()))]
    if pythonpath:
        conf_rows.insert(0, ("PYTHONPATH", pythonpath))
    conf_rows.append(("ADD_WORKBOOK_TO_PYTHONPATH", "True"))
    for i, (k, v) in enumerate(conf_rows):
        conf.write_string(i, 0, k)
        conf.write_string(i, 1, v)
    conf.set_column(0, 0, 28)
    conf.set_column(1, 1, 70)
    book.close(vba_project_bytes())
    return book.formulas


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .xlsm (default: %(default)s)")
    p.add_argument("--pythonpath", default=None, help="PYTHONPATH entry for xlwings.conf (default: none; "
                   "install the xladdin wheel, or pip install -e . in a checkout)")
    args = p.parse_args(argv)
    formulas = build(args.out, args.pythonpath)
    print(f"wrote {args.out} with {len(formulas)} example formulas")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
