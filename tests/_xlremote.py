"""Run the Excel refresh on xlwings' own engines, without Excel.

* **Remote engine** (``xlwings/pro/_xlremote.py``, the engine xlwings Lite and xlwings Server use):
  a Book is made with ``xw.Book(json=payload)`` from a payload shaped like the one xlwings' Office.js
  client sends (every sheet's values, tables and charts), built here from a workbook file
  (:func:`payload_from_workbook`). The engine queues every write as a JSON action;
  :class:`ExcelModel` applies those actions to the payload the way the client does (values, table
  moves and resizes, chart sources, frozen panes) and refuses what Excel refuses (cutting part of a
  table, a resize that moves a table's header row or covers another table).
* **Windows / macOS member sets**: :func:`desktop_members` parses the installed ``_xlwindows.py`` /
  ``_xlmac.py`` (they cannot be imported on Linux) and :func:`desktop_engine` makes every member those
  backends leave to ``base_classes`` behave as ``base_classes`` does (``NotImplementedError`` for a
  stub) on the remote engine, while ``.api`` returns a :class:`Recorder` for COM / AppleScript calls.

Needs ``XLWINGS_ON_SERVER=true`` and ``XLWINGS_LICENSE_KEY=noncommercial`` in the environment before
xlwings is imported (the remote engine and the Lite decorators are chosen at import). The tests run
:func:`main` in a subprocess with that environment (``python tests/_xlremote.py JOB OUT``).
"""
from __future__ import annotations

import ast
import asyncio
import contextlib
import datetime as dt
import json
import pickle
import posixpath
import re
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NS = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
}
_EMU_PER_PT = 12700
_CELL_RE = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


# ------------------------------------------------------------------------------------------ cells
def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(col: int) -> str:
    s = ""
    while col:
        col, rem = divmod(col - 1, 26)
        s = chr(65 + rem) + s
    return s


def bounds(address: str) -> tuple[int, int, int, int]:
    """``"$B$5:$J$35"`` / ``"Sheet!B5"`` -> (row1, col1, row2, col2)."""
    parts = address.split("!")[-1].split(":")
    cells = []
    for p in parts:
        m = _CELL_RE.match(p.strip().upper())
        if not m:
            raise ValueError(f"not a cell address: {address!r}")
        cells.append((int(m.group(2)), col_index(m.group(1))))
    (r1, c1), (r2, c2) = cells[0], cells[-1]
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def address(r1: int, c1: int, r2: int, c2: int) -> str:
    a = f"{col_letters(c1)}{r1}"
    return a if (r1, c1) == (r2, c2) else f"{a}:{col_letters(c2)}{r2}"


# ------------------------------------------------------------------------------------------ payload
def _payload_value(v: Any) -> Any:
    """A cell value as the Office.js client sends it: "" for empty, ISO text with Z for dates."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(v, dt.date):
        return f"{v.isoformat()}T00:00:00.000Z"
    return v


def _rels(z: zipfile.ZipFile, part: str) -> dict[str, str]:
    folder, name = posixpath.split(part)
    rels_part = posixpath.join(folder, "_rels", name + ".rels")
    if rels_part not in z.namelist():
        return {}
    root = ET.fromstring(z.read(rels_part))
    out = {}
    for r in root.findall("rel:Relationship", NS):
        target = r.get("Target")
        out[r.get("Id")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join(folder, target))
    return out


def workbook_charts(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Charts per sheet name read from the file's drawing parts: name, type, anchor cell, size, series refs, title.

    openpyxl drops charts when it loads a workbook, so they are read from the XML here.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    with zipfile.ZipFile(path) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        wb_rels = _rels(z, "xl/workbook.xml")
        for sheet in wb.findall("main:sheets/main:sheet", NS):
            name = sheet.get("name")
            part = wb_rels[sheet.get(f"{{{NS['r']}}}id")]
            charts = out.setdefault(name, [])
            sheet_xml = ET.fromstring(z.read(part))
            drawing = sheet_xml.find("main:drawing", NS)
            if drawing is None:
                continue
            dpart = _rels(z, part)[drawing.get(f"{{{NS['r']}}}id")]
            drels = _rels(z, dpart)
            for anchor in ET.fromstring(z.read(dpart)):
                frame = anchor.find("xdr:graphicFrame", NS)
                if frame is None:
                    continue
                cnv = frame.find("xdr:nvGraphicFramePr/xdr:cNvPr", NS)
                chart_ref = frame.find("a:graphic/a:graphicData/c:chart", NS)
                cpart = drels[chart_ref.get(f"{{{NS['r']}}}id")]
                frm = anchor.find("xdr:from", NS)
                row = int(frm.find("xdr:row", NS).text) + 1
                col = int(frm.find("xdr:col", NS).text) + 1
                ext = anchor.find("xdr:ext", NS)
                cx = int(ext.get("cx")) if ext is not None else 0
                cy = int(ext.get("cy")) if ext is not None else 0
                croot = ET.fromstring(z.read(cpart))
                plot = croot.find("c:chart/c:plotArea", NS)
                groups = [g for g in plot if g.tag.endswith("Chart")]
                first = groups[0]
                kind = first.tag.split("}")[1]
                if kind == "barChart":
                    chart_type = "BarClustered" if first.find("c:barDir", NS).get("val") == "bar" else "ColumnClustered"
                else:
                    chart_type = {"lineChart": "Line"}.get(kind, kind)
                series = []
                for gi, g in enumerate(groups):
                    for ser in g.findall("c:ser", NS):
                        series.append({
                            "name": ser.findtext("c:tx/c:strRef/c:f", default=None, namespaces=NS),
                            "categories": (ser.findtext("c:cat/c:numRef/c:f", default=None, namespaces=NS)
                                           or ser.findtext("c:cat/c:strRef/c:f", default=None, namespaces=NS)),
                            "values": ser.findtext("c:val/c:numRef/c:f", default=None, namespaces=NS),
                            "axis": "primary" if gi == 0 else "secondary"})
                title = croot.find("c:chart/c:title", NS)
                charts.append({"name": cnv.get("name"), "chart_type": chart_type, "anchor": address(row, col, row, col),
                               "width": cx / _EMU_PER_PT, "height": cy / _EMU_PER_PT, "series": series,
                               "title": None if title is None else "".join(t.text or "" for t in title.iter(
                                   f"{{{NS['a']}}}t"))})
    return out


def payload_from_workbook(path: str | Path, client: str = "Office.js") -> dict[str, Any]:
    """The JSON payload xlwings' Office.js client sends for the workbook at ``path``.

    Shape as in xlwings' own tests (``tests/test_json/test_json.py``) and as ``pro/_xlremote.py``
    reads it: ``client``, ``version``, ``book`` (name, active sheet, selection, calculation),
    ``names`` and, per sheet, ``name``, ``visibility``, ``values`` (A1 to the last used cell, ``""``
    for empty, dates as ISO text), ``tables`` (addresses without ``$``), ``charts`` (name, type,
    position), ``pictures``, ``shapes``, ``notes`` (the address of each cell with a note: the file's
    comments), ``pivot_tables``, ``show_gridlines``, ``used_range_address``, ``print_area``.

    The client sends no conditional formats; a sheet's ``_rules`` (``[(type, address), ...]``, set by a
    test) start :class:`ExcelModel`'s rules and are removed before the engine sees the payload.
    """
    import xlwings as xw
    from openpyxl import load_workbook
    wb = load_workbook(path, keep_vba=str(path).endswith(".xlsm"))
    charts = workbook_charts(path)
    sheets = []
    for ws in wb.worksheets:
        max_row, max_col = ws.max_row, ws.max_column
        values = [[_payload_value(ws.cell(r, c).value) for c in range(1, max_col + 1)] for r in range(1, max_row + 1)]
        tables = []
        for t in ws.tables.values():
            r1, c1, r2, c2 = bounds(t.ref)
            tables.append({
                "name": t.displayName, "range_address": t.ref,
                "header_row_range_address": address(r1, c1, r1, c2),
                "data_body_range_address": address(r1 + 1, c1, r2, c2), "total_row_range_address": None,
                "show_headers": True, "show_totals": False,
                "table_style": t.tableStyleInfo.name if t.tableStyleInfo is not None else "",
                "show_autofilter": True, "show_table_style_first_column": False,
                "show_table_style_last_column": False, "show_table_style_row_stripes": True,
                "show_table_style_column_stripes": False})
        sheet_charts = []
        for ch in charts.get(ws.title, []):
            r, c, _, _ = bounds(ch["anchor"])
            sheet_charts.append({"name": ch["name"], "chart_type": ch["chart_type"], "left": (c - 1) * 48.0,
                                 "top": (r - 1) * 15.0, "width": ch["width"], "height": ch["height"]})
        sheets.append({
            "name": ws.title, "visibility": "Visible" if ws.sheet_state == "visible" else "Hidden",
            "values": values, "tables": tables, "charts": sheet_charts, "pictures": [], "shapes": [],
            "notes": [{"address": c.coordinate} for row in ws.iter_rows() for c in row if c.comment is not None],
            "pivot_tables": [], "show_gridlines": bool(ws.sheet_view.showGridLines),
            "used_range_address": address(1, 1, max_row, max_col), "print_area": None})
    active = wb.active.title if wb.active is not None else wb.sheetnames[0]
    return {"client": client, "version": xw.__version__,
            "book": {"name": Path(path).name, "active_sheet_index": wb.sheetnames.index(active),
                     "selection": "A1", "calculation": "Automatic"},
            "names": [], "sheets": sheets}


# ------------------------------------------------------------------------------------------ the client
class ExcelRefused(AssertionError):
    """An action Excel would refuse (the real client would stop with an error there)."""


class ExcelModel:
    """The workbook as the Office.js client leaves it after running the engine's actions.

    Tracks per sheet: cell values, number formats, fills, wrapped cells, row heights, font colours (other font properties are looks only),
    Excel tables (name -> address),
    conditional-format rules, chart sources and titles, the frozen cell; sheet names. Every action the refresh
    may send is modelled; any other action fails the run (so a new kind of write must be modelled
    here before it can pass).
    """

    def __init__(self, payload: dict[str, Any]):
        self.names = [s["name"] for s in payload["sheets"]]
        self.cells: list[dict[tuple[int, int], Any]] = []
        self.tables: list[dict[str, tuple[int, int, int, int]]] = []
        self.charts: list[list[dict[str, Any]]] = []
        self.formats: list[dict[tuple[int, int], str]] = []
        self.fills: list[dict[tuple[int, int], str]] = []
        self.font_colors: list[dict[tuple[int, int], str]] = []
        self.wraps: list[set[tuple[int, int]]] = []
        self.heights: list[dict[int, float]] = []
        self.rules: list[list[tuple[str, str]]] = []
        self.notes: list[set[tuple[int, int]]] = []  # cells with a note (Range.clear removes them)
        self.scales: list[dict[str, dict[str, Any]]] = []  # address -> colours and thresholds of a colour scale
        self.freeze: list[str | None] = []
        self.active = payload["book"]["active_sheet_index"]
        self.log: list[str] = []
        for s in payload["sheets"]:
            grid = {}
            for i, row in enumerate(s["values"]):
                for j, v in enumerate(row):
                    if v != "":
                        grid[(i + 1, j + 1)] = v
            self.cells.append(grid)
            self.tables.append({t["name"]: bounds(t["range_address"]) for t in s["tables"]})
            self.charts.append([{"name": c["name"], "source": None, "x": None, "title": None}
                                for c in s.get("charts", [])])
            self.formats.append({})
            self.fills.append({})
            self.font_colors.append({})
            self.wraps.append(set())
            self.heights.append({})
            self.rules.append([tuple(r) for r in s.get("_rules", [])])
            self.notes.append({bounds(n["address"])[:2] for n in s.get("notes", [])})
            self.scales.append({})
            self.freeze.append(None)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _rect(a: dict[str, Any]) -> tuple[int, int, int, int]:
        r, c = a["start_row"] + 1, a["start_column"] + 1
        return r, c, r + a["row_count"] - 1, c + a["column_count"] - 1

    @staticmethod
    def _overlap(a, b) -> bool:
        return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])

    @staticmethod
    def _inside(inner, outer) -> bool:
        return outer[0] <= inner[0] and inner[2] <= outer[2] and outer[1] <= inner[1] and inner[3] <= outer[3]

    def sheet_index(self, name: str) -> int:
        return self.names.index(name)

    # ------------------------------------------------------------------ actions
    def apply(self, actions: list[dict[str, Any]]) -> None:
        for a in actions:
            handler = getattr(self, "_" + a["func"], None)
            if handler is None:
                raise ExcelRefused(f"action `{a['func']}` is not modelled (args {a['args']})")
            self.log.append(a["func"])
            handler(a, a.get("sheet_position"))

    def _setValues(self, a, s):
        r1, c1, r2, c2 = self._rect(a)
        values = a["values"]
        if len(values) != r2 - r1 + 1 or any(len(row) != c2 - c1 + 1 for row in values):
            raise ExcelRefused(f"setValues shape {len(values)}x{len(values[0])} != range {address(r1, c1, r2, c2)}")
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                if v in ("", None):
                    self.cells[s].pop((r1 + i, c1 + j), None)
                else:
                    self.cells[s][(r1 + i, c1 + j)] = v

    def _clear(self, s, rect, contents=True, formats=True):
        for key in [k for k in self.cells[s] if rect[0] <= k[0] <= rect[2] and rect[1] <= k[1] <= rect[3]]:
            if contents:
                del self.cells[s][key]
        if formats:
            for store in (self.formats[s], self.fills[s], self.font_colors[s]):
                for key in [k for k in store if rect[0] <= k[0] <= rect[2] and rect[1] <= k[1] <= rect[3]]:
                    del store[key]
            self.notes[s] = {k for k in self.notes[s] if not (rect[0] <= k[0] <= rect[2] and rect[1] <= k[1] <= rect[3])}

    def _rangeClear(self, a, s):
        self._clear(s, self._rect(a))

    def _rangeClearContents(self, a, s):
        self._clear(s, self._rect(a), formats=False)

    def _moveRange(self, a, s):
        src = self._rect(a)
        dest_sheet, dest_addr = a["args"]
        if dest_sheet != s:
            raise ExcelRefused("moveRange to another sheet is not used by the refresh")
        dr, dc, _, _ = bounds(dest_addr)
        dest = (dr, dc, dr + src[2] - src[0], dc + src[3] - src[1])
        moved_tables = []
        for name, t in self.tables[s].items():
            if self._overlap(src, t):
                if not self._inside(t, src):
                    raise ExcelRefused(f"moveRange {address(*src)} cuts part of table {name} {address(*t)}")
                moved_tables.append(name)
            elif self._overlap(dest, t):
                raise ExcelRefused(f"moveRange onto table {name} {address(*t)}")
        off_r, off_c = dest[0] - src[0], dest[1] - src[1]
        for store in (self.cells[s], self.formats[s], self.fills[s], self.font_colors[s]):
            picked = {k: v for k, v in store.items() if src[0] <= k[0] <= src[2] and src[1] <= k[1] <= src[3]}
            for k in picked:
                del store[k]
            for k in [k for k in store if dest[0] <= k[0] <= dest[2] and dest[1] <= k[1] <= dest[3]]:
                del store[k]
            for (r, c), v in picked.items():
                store[(r + off_r, c + off_c)] = v
        inside = {k for k in self.notes[s] if src[0] <= k[0] <= src[2] and src[1] <= k[1] <= src[3]}
        self.notes[s] = {k for k in self.notes[s] - inside if not (dest[0] <= k[0] <= dest[2] and dest[1] <= k[1] <= dest[3])}
        self.notes[s] |= {(r + off_r, c + off_c) for r, c in inside}
        for name in moved_tables:
            t = self.tables[s][name]
            self.tables[s][name] = (t[0] + off_r, t[1] + off_c, t[2] + off_r, t[3] + off_c)
        self.rules[s] = [(kind, address(*(lambda b: (b[0] + off_r, b[1] + off_c, b[2] + off_r, b[3] + off_c))(bounds(ref))))
                         if self._inside(bounds(ref), src) else (kind, ref) for kind, ref in self.rules[s]]

    def _resizeTable(self, a, s):
        index, addr = a["args"]
        name = list(self.tables[s])[index]
        old, new = self.tables[s][name], bounds(addr)
        if (old[0], old[1]) != (new[0], new[1]):
            raise ExcelRefused(f"resize of {name} moves its header row ({address(*old)} -> {addr})")
        for other, t in self.tables[s].items():
            if other != name and self._overlap(new, t):
                raise ExcelRefused(f"resize of {name} to {addr} covers table {other}")
        if new[2] < new[0] + 1:
            raise ExcelRefused(f"resize of {name} to {addr} leaves no data row")
        self.tables[s][name] = new

    def _setSheetName(self, a, s):
        self.names[s] = a["args"][0]

    def _setNumberFormat(self, a, s):
        r1, c1, r2, c2 = self._rect(a)
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                self.formats[s][(r, c)] = a["args"][0]

    def _setWrapText(self, a, s):
        r1, c1, r2, c2 = self._rect(a)
        cells = {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
        if a["args"][0] if isinstance(a["args"], list) else a["args"]:
            self.wraps[s] |= cells
        else:
            self.wraps[s] -= cells

    def _setRowHeight(self, a, s):
        r1, _, r2, _ = self._rect(a)
        for r in range(r1, r2 + 1):
            self.heights[s][r] = a["args"][0] if isinstance(a["args"], list) else a["args"]

    def _setFontProperty(self, a, s):
        """Fonts are looks only, but for their colour (the desk's red / green of a direction)."""
        name, value = a["args"][:2]
        if name == "color":
            r1, c1, r2, c2 = self._rect(a)
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    self.font_colors[s][(r, c)] = value

    def _setRangeColor(self, a, s):
        r1, c1, r2, c2 = self._rect(a)
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                self.fills[s][(r, c)] = a["args"][0] if isinstance(a["args"], list) else a["args"]

    def _clearConditionalFormats(self, a, s):
        rect = self._rect(a)
        self.rules[s] = [(k, ref) for k, ref in self.rules[s] if not self._overlap(bounds(ref), rect)]

    def _addConditionalFormat(self, a, s):
        spec, where = a["args"][0], address(*self._rect(a))
        self.rules[s].append((spec["type"], where))
        if spec["type"] == "ColorScale":
            self.scales[s][where] = {k: spec[k] for k in ("colors", "threshold_types", "thresholds")}

    def _setChartSourceData(self, a, s):
        index, sheet_name, addr = a["args"][:3]
        self.charts[s][index]["source"] = f"{sheet_name}!{addr}"
        self.charts[s][index]["plot_by"] = a["args"][3] if len(a["args"]) > 3 else None

    def _setChartTitle(self, a, s):
        index, title = a["args"][:2]
        self.charts[s][index]["title"] = title

    def _setChartXAxisValues(self, a, s):
        index, sheet_name, addr = a["args"]
        self.charts[s][index]["x"] = f"{sheet_name}!{addr}"

    def _freezePaneAtRange(self, a, s):
        self.freeze[s] = a["args"][0]

    def _setScreenUpdating(self, a, s):
        pass

    def _activateSheet(self, a, s):
        self.active = a["args"][0]

    # ------------------------------------------------------------------ reading back
    def text(self, v: Any) -> Any:
        """A written value as Excel stores it: a leading apostrophe marks text and is not part of it."""
        return v[1:] if isinstance(v, str) and v.startswith("'") else v

    def block(self, s: int, rect: tuple[int, int, int, int]) -> list[list[Any]]:
        return [[self.cells[s].get((r, c)) for c in range(rect[1], rect[3] + 1)] for r in range(rect[0], rect[2] + 1)]

    def state(self) -> dict[str, Any]:
        return {
            "names": self.names,
            "tables": {self.names[s]: {n: address(*t) for n, t in tabs.items()} for s, tabs in enumerate(self.tables)},
            "charts": {self.names[s]: ch for s, ch in enumerate(self.charts)},
            "freeze": {self.names[s]: f for s, f in enumerate(self.freeze)},
            "rules": {self.names[s]: r for s, r in enumerate(self.rules)},
            "notes": {self.names[s]: sorted(n) for s, n in enumerate(self.notes)},
            "scales": {self.names[s]: sc for s, sc in enumerate(self.scales)},
            "active": self.active,
        }


# ------------------------------------------------------------------------------------------ expectations
#: text that Excel would turn into formulas, numbers or dates (the variant's industry names)
INJECTED = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd", "000300", "1-2", "2025-11"]


def variant(base):
    """The week with other table sizes: fewer picks, more event thresholds, fewer years, fewer months;
    text that Excel would turn into formulas, numbers or dates in the industry names."""
    import copy

    import pandas as pd
    res = copy.deepcopy(base)
    t = res.tables
    t["latest_picks"] = t["latest_picks"].head(3)                      # shrinks: the table below moves up
    for key in ("event_p_down", "event_mean_return"):                  # grows: the table below moves down
        extra = t[key].tail(2).copy()
        extra["threshold"] = extra["threshold"] + 0.15
        t[key] = pd.concat([t[key], extra], ignore_index=True)
    t["performance"] = t["performance"].iloc[2:]                       # shrinks: nav moves up
    level = t["quintile_level"]
    t["quintile_level"] = level[list(level.columns[:-2])]              # two months fewer: narrower table
    flow = t["industry_flow"].copy()
    flow["industry_name"] = flow["industry_name"].astype(object)
    flow.loc[: len(INJECTED) - 1, "industry_name"] = INJECTED
    t["industry_flow"] = flow
    return res


def expected_tables(tables, language="zh"):
    """(sheet name, table name) -> (header row, first col, rows incl. header) from the layout file and the frames."""
    import pandas as pd

    from xladdin.workbook.layout import load_layout
    from xladdin.workbook.refs import parse_cell
    layout = load_layout()
    out = {}
    for s in layout.sheets:
        placed = {}
        for t in s.tables:
            df = tables[t.key]
            if t.anchor:
                row, col = parse_cell(t.anchor)
            else:
                above_row, above_col, above_rows = placed[t.below]
                row, col = above_row + len(above_rows) - 1 + t.gap + 1, above_col
            fields = list(t.fields) + ([c for c in df.columns if c not in t.fields] if t.extra else [])
            header = [c.zh if language == "zh" else c.en for c in t.columns]
            for c in fields[len(t.columns):]:
                header.append(pd.Timestamp(c).strftime(t.extra.header[5:]) if t.extra.header.startswith("date:")
                              else (str(int(c)) if isinstance(c, float) and c.is_integer() else str(c)))
            rows = [header] + df[fields].values.tolist()
            placed[t.key] = (row, col, rows)
            out[(s.name(language), t.name)] = (row, col, rows)
    return out


def same_value(expected, written) -> bool:
    """A frame value and what the refresh wrote for it, as Excel would store it."""
    import math

    import numpy as np
    import pandas as pd
    if isinstance(expected, str):
        return written == "'" + expected                    # text always marked as text
    if expected is None or (isinstance(expected, float) and math.isnan(expected)) or expected is pd.NaT:
        return written is None
    if isinstance(expected, (pd.Timestamp, dt.datetime, np.datetime64)):
        return written == pd.Timestamp(expected).date().isoformat()
    if isinstance(expected, (bool, np.bool_)):
        return written == int(expected)
    return isinstance(written, (int, float)) and math.isclose(float(written), float(expected), rel_tol=1e-12,
                                                              abs_tol=1e-15)


def cells_of(run, sheet):
    return {(r, c): v for r, c, v in run["cells"][sheet]}


def check_tables(run, tables, language="zh"):
    """Every table sits where the layout puts it for these frames and holds exactly their values."""
    assert run["error"] is None, run["error"]
    assert "refused" not in run, run.get("refused")
    for (sheet, name), (row, col, rows) in expected_tables(tables, language).items():
        r2, c2 = row + len(rows) - 1, col + len(rows[0]) - 1
        assert run["state"]["tables"][sheet][name] == address(row, col, r2, c2), (sheet, name)
        cells = cells_of(run, sheet)
        bad = [(address(row + i, col + j, row + i, col + j), e, cells.get((row + i, col + j)))
               for i, values in enumerate(rows) for j, e in enumerate(values)
               if not same_value(e, cells.get((row + i, col + j)))]
        assert not bad, (sheet, name, bad[:5])


# ------------------------------------------------------------------------------------------ desktop
def _backend_path(name: str) -> Path:
    import xlwings
    return Path(xlwings.__file__).resolve().parent / name


def desktop_members(backend: str) -> dict[str, set[str]]:
    """Members each class of ``_xlwindows.py`` / ``_xlmac.py`` defines itself (parsed, not imported).

    A class's set includes what it inherits from classes of the same file (e.g. ``Collection``);
    members whose body raises ``NotImplementedError`` unconditionally are left out (absent in Excel).
    """
    tree = ast.parse(_backend_path(backend).read_text(encoding="utf-8"))
    own: dict[str, set[str]] = {}
    bases: dict[str, list[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        names = set()
        for b in node.body:
            if isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = [x for x in b.body if not (isinstance(x, ast.Expr) and isinstance(x.value, ast.Constant))]
                stub = (len(body) >= 1 and isinstance(body[0], ast.Raise) and body[0].exc is not None
                        and "NotImplementedError" in ast.unparse(body[0].exc))
                if not stub:
                    names.add(b.name)
                for node_ in ast.walk(b):  # instance attributes: self.parent = ... in __init__
                    targets = node_.targets if isinstance(node_, ast.Assign) else (
                        [node_.target] if isinstance(node_, (ast.AnnAssign, ast.AugAssign)) else [])
                    names.update(t.attr for t in targets if isinstance(t, ast.Attribute)
                                 and isinstance(t.value, ast.Name) and t.value.id == "self")
            elif isinstance(b, ast.Assign):
                names.update(t.id for t in b.targets if isinstance(t, ast.Name))
        own[node.name] = names
        bases[node.name] = [ast.unparse(x) for x in node.bases]

    def resolve(cls: str) -> set[str]:
        out = set(own[cls])
        for b in bases[cls]:
            if b in own:
                out |= resolve(b)
        return out

    return {cls: resolve(cls) for cls in own}


BACKENDS = {"windows": "_xlwindows.py", "mac": "_xlmac.py"}
_SKIP = {"__init__", "__dict__", "__module__", "__doc__", "__weakref__", "__qualname__", "__annotations__",
         "__firstlineno__", "__static_attributes__"}


class Recorder:
    """Stands in for a COM / AppleScript object: records every attribute set and call, by member path."""

    def __init__(self, log: list, path: tuple[str, ...]):
        object.__setattr__(self, "_log", log)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> Recorder:
        return Recorder(self._log, self._path + (name,))

    def __setattr__(self, name: str, value: Any) -> None:
        self._log.append(["set", ".".join(self._path + (name,)), repr(value)])

    def __call__(self, *args: Any, **kwargs: Any) -> Recorder:
        self._log.append(["call", ".".join(self._path), repr(args)])
        return Recorder(self._log, self._path + ("()",))


@contextlib.contextmanager
def desktop_engine(platform: str) -> Iterator[dict[str, Any]]:
    """The remote engine with the member set of xlwings' Windows or macOS backend.

    Every remote class whose ``base_classes`` counterpart has members the desktop backend does not
    define gets ``base_classes``' version of those members (the stub raises ``NotImplementedError``,
    as in Excel; a default like ``Range.expand`` works as on the desktop). ``.api`` of every
    ``xlwings.main`` object returns a :class:`Recorder`. Yields ``{"replaced": {...}, "api": [...]}``.
    """
    import xlwings.base_classes as B
    import xlwings.main as M
    from xlwings.pro import _xlremote as R

    from xladdin.workbook import xlwings_writer as L
    members = desktop_members(BACKENDS[platform])
    saved: list[tuple[type, str, Any]] = []
    replaced: dict[str, list[str]] = {}
    for cls_name, cls in vars(R).items():
        base = getattr(B, cls_name, None)
        if not (isinstance(cls, type) and isinstance(base, type) and issubclass(cls, base)) or cls_name not in members:
            continue
        for name, member in vars(base).items():
            if name in _SKIP or name in members[cls_name]:
                continue
            if getattr(cls, name, None) is member:
                continue  # the remote engine does not define it either
            saved.append((cls, name, cls.__dict__.get(name, _MISSING)))
            setattr(cls, name, _from_main_only(getattr(cls, name), member))
            replaced.setdefault(cls_name, []).append(name)
    log: list = []
    for cls_name, cls in vars(M).items():
        if isinstance(cls, type) and isinstance(cls.__dict__.get("api"), property):
            saved.append((cls, "api", cls.__dict__["api"]))
            cls.api = property(lambda self, _n=cls_name: Recorder(log, (_n,)))
    saved.append((L, "_desktop_platform", L._desktop_platform))
    L._desktop_platform = lambda: platform
    try:
        yield {"replaced": replaced, "api": log}
    finally:
        for owner, name, original in reversed(saved):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


_MISSING = object()


def _called_from_main(depth: int = 2) -> bool:
    return sys._getframe(depth).f_globals.get("__name__") == "xlwings.main"


def _from_main_only(remote: Any, desktop: Any) -> Any:
    """``desktop``'s behaviour when ``xlwings.main`` (the public API) calls the member, ``remote``'s otherwise.

    The remote engine uses some of these members itself (e.g. ``Collection.parent``); only calls
    through the public API would reach the desktop backend's object.
    """
    if isinstance(desktop, property) or isinstance(remote, property):
        def pick(depth: int = 3) -> Any:
            return desktop if _called_from_main(depth) else remote

        def fget(self):
            chosen = pick()
            return chosen.fget(self) if isinstance(chosen, property) else chosen.__get__(self)

        def fset(self, value):
            chosen = pick()
            if not isinstance(chosen, property) or chosen.fset is None:
                raise AttributeError("can't set attribute")
            chosen.fset(self, value)

        return property(fget, fset)

    def method(self, *args, **kwargs):
        chosen = desktop if _called_from_main() else remote
        return chosen(self, *args, **kwargs)

    return method


@contextlib.contextmanager
def touched_members(into: set[str]) -> Iterator[None]:
    """Record ``Class.member`` of every engine object member that ``xlwings.main`` calls (a profiler hook)."""
    engine_file = sys.modules["xlwings.pro._xlremote"].__file__
    base_file = sys.modules["xlwings.base_classes"].__file__

    def hook(frame, event, arg):
        if event != "call" or frame.f_code.co_filename not in (engine_file, base_file):
            return
        caller = frame.f_back
        if caller is not None and caller.f_code.co_name in ("fget", "fset", "method"):
            caller = caller.f_back  # through _from_main_only's wrappers
        if caller is None or caller.f_globals.get("__name__") != "xlwings.main":
            return
        me = frame.f_locals.get("self")
        if me is not None:
            into.add(f"{type(me).__name__}.{frame.f_code.co_name}")

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield
    finally:
        sys.setprofile(previous)


def mac_dictionary_terms() -> set[str]:
    """Terms of Excel's AppleScript dictionary as xlwings ships them (``xlwings/mac_dict.py``)."""
    text = _backend_path("mac_dict.py").read_text(encoding="utf-8")
    return set(re.findall(r'\(\s*"([a-z_0-9]+)"\s*,\s*b"', text))


# ------------------------------------------------------------------------------------------ runs
def run_job(folder: Path, scenarios: dict[str, tuple[dict[str, Any], str, Any]],
            functions: list[dict[str, Any]] | tuple = (), record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``scenarios`` (name -> (payload, how, weekly result)) and the XA_ ``functions`` in one subprocess
    on the remote engine (``XLWINGS_ON_SERVER=true``, ``XLWINGS_LICENSE_KEY=noncommercial``); their records.

    ``folder`` holds the job and its output. Each scenario's refresh gets its weekly result instead of
    computing one (the parent computed it from the same sample with the same code). ``record``: name -> a
    file where that scenario's refresh leaves the tables of the market it computes on.
    """
    import os
    import subprocess
    job = {"scenarios": {k: {"payload": p, "how": h, "result": r, "record": str((record or {}).get(k) or "")}
                         for k, (p, h, r) in scenarios.items()}, "functions": list(functions)}
    (folder / "job.pkl").write_bytes(pickle.dumps(job))
    env = dict(os.environ, XLWINGS_ON_SERVER="true", XLWINGS_LICENSE_KEY="noncommercial")
    proc = subprocess.run([sys.executable, str(Path(__file__)), str(folder / "job.pkl"), str(folder / "out.json")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((folder / "out.json").read_text(encoding="utf-8"))


def _book(payload: dict[str, Any]) -> Any:
    import xlwings as xw
    sent = json.loads(json.dumps(payload))
    for sheet in sent["sheets"]:  # what the client does not send (the model's own start)
        for key in [k for k in sheet if k.startswith("_")]:
            del sheet[key]
    return xw.Book(json=sent)


def run_refresh(payload: dict[str, Any], how: str, read_data: bool = False) -> dict[str, Any]:
    """Run the refresh on a Book made from ``payload``; ``how``: ``lite``, ``remote``, ``windows``, ``mac``.
    The desktop runs get a stand-in market unless ``read_data`` (then the refresh reads the book's data itself).

    Returns the recorded actions, the model's final state, the error (if any) and, for the desktop
    member sets, the members replaced and the ``.api`` calls.
    """
    import xlwings as xw
    out: dict[str, Any] = {"how": how, "error": None}
    book = _book(payload)
    ctx = desktop_engine(how) if how in BACKENDS else contextlib.nullcontext({})
    touched: set[str] = set()
    audit = touched_members(touched) if how in BACKENDS else contextlib.nullcontext()
    with ctx as desktop, audit:
        try:
            if how == "lite":
                from xlwings.server import custom_scripts_call

                import xladdin_macros.lite_main as lite
                asyncio.run(custom_scripts_call(lite, "refresh", typehint_to_value={xw.Book: book}))
            else:
                from xladdin_macros.refresh import refresh_book
                refresh_book(book) if read_data else refresh_book(book, market=object())
        except Exception as exc:  # the test asserts on it
            out["error"] = f"{type(exc).__name__}: {exc}"
    actions = book.json()["actions"]
    out["actions"] = actions
    model = ExcelModel(payload)
    try:
        model.apply(actions)
    except ExcelRefused as exc:
        out["refused"] = str(exc)
    out["state"] = model.state()
    out["cells"] = {model.names[s]: [[r, c, v] for (r, c), v in grid.items()] for s, grid in enumerate(model.cells)}
    out["formats"] = {model.names[s]: [[r, c, v] for (r, c), v in f.items()] for s, f in enumerate(model.formats)}
    out["fills"] = {model.names[s]: [[r, c, v] for (r, c), v in f.items()] for s, f in enumerate(model.fills)}
    out["font_colors"] = {model.names[s]: [[r, c, v] for (r, c), v in f.items()]
                          for s, f in enumerate(model.font_colors)}
    out["wraps"] = {model.names[s]: sorted([r, c] for r, c in w) for s, w in enumerate(model.wraps)}
    out["heights"] = {model.names[s]: {str(r): h for r, h in hs.items()} for s, hs in enumerate(model.heights)}
    out["touched"] = sorted(touched)
    if desktop:
        out["replaced"] = desktop["replaced"]
        out["api"] = desktop["api"]
    return out


def run_functions(calls: list[dict[str, Any]]) -> list[Any]:
    """Call XA_ functions of ``macros/lite_main.py`` through xlwings' custom-function path (as Lite does)."""
    import xlwings as xw
    from xlwings.server import custom_functions_call, custom_functions_meta

    import xladdin_macros.lite_main as lite
    meta = custom_functions_meta(lite)
    results = []
    for call in calls:
        data = {"func_name": call["func"], "args": call["args"], "version": xw.__version__, "client": "Office.js",
                "runtime": "1.4", "culture_info_name": "en-US", "date_format": "yyyy-mm-dd"}
        results.append(asyncio.run(custom_functions_call(data, lite)))
    return [sorted(f["name"] for f in meta["functions"]), results]


def main(argv: list[str]) -> int:
    """``python tests/_xlremote.py JOB.pkl OUT.json``: run the job's scenarios, write their records."""
    job = pickle.loads(Path(argv[0]).read_bytes())
    import xladdin.data.sample
    import xladdin.workbook.weekly as W
    results: dict[str, Any] = {}
    for name, scenario in job["scenarios"].items():
        result = scenario["result"]
        record = scenario.get("record")  # a path: the tables of the market the refresh computes on go there

        def fake(market, params=None, asof=None, progress=None, _r=result, _record=record):
            if _record:
                Path(_record).write_bytes(pickle.dumps({"source": getattr(market, "source", None),
                                                        "tables": getattr(market, "tables", None),
                                                        "sample": getattr(market, "sample", None)}))
            return _r

        W.compute_weekly = fake  # the weekly tables were computed by the parent (same sample, same code)
        xladdin.data.sample.sample_market = lambda: object()  # Lite's default market; unused by the fake
        started = time.perf_counter()
        results[name] = run_refresh(scenario["payload"], scenario["how"], read_data=bool(record))
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
    if job.get("functions"):
        results["functions"] = run_functions(job["functions"])
    Path(argv[1]).write_text(json.dumps(results, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
