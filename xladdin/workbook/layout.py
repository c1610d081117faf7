"""The weekly workbook layout: the model of ``workbooks/layout.toml`` and its loading.

The layout is data (sheets, anchors, Excel table names, columns with Chinese and English headers
and number formats, conditional formats, charts). The modules that use it, in order:

* this module -- the model (:class:`Layout` > :class:`SheetLayout` > :class:`TableLayout` /
  :class:`ChartLayout`) and :func:`load_layout` / :func:`parse_layout`, which read the TOML and run
  the checks of :mod:`~xladdin.workbook.layoutcheck` (:class:`~xladdin.workbook.layoutcheck.LayoutError`);
* :mod:`~xladdin.workbook.plan` -- where each computed table and chart goes on its sheet (pure);
* :mod:`~xladdin.workbook.render` -- :func:`~xladdin.workbook.render.render` applies the plans through a
  *writer*, the same code for every output:

  * :class:`~xladdin.workbook.openpyxl_writer.OpenpyxlWriter` -- the CLI (``xladdin template``,
    ``refresh``, ``report``) on any OS;
  * :class:`~xladdin.workbook.xlwings_writer.XlwingsWriter` -- the Refresh button in Excel
    (``macros/refresh.py``) and xlwings Lite.

A1 references are in :mod:`~xladdin.workbook.refs`. A writer implements a handful of primitive
operations (create/clear a sheet, write a block of values, number formats, fonts, column widths, an
Excel table, a colour scale, wrapping, row heights, a chart, freeze panes, page setup). Everything else -- where
each table goes, which header, which format -- is decided once, in the layout and the plan.
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from .layoutcheck import LayoutError, validate_layout

#: default layout file (repository ``workbooks/layout.toml``)
DEFAULT_LAYOUT = Path(__file__).resolve().parents[2] / "workbooks" / "layout.toml"


def _default_layout_path() -> Path:
    """The repository's ``workbooks/layout.toml``; in an installed wheel, the copy shipped as package data."""
    if DEFAULT_LAYOUT.is_file():
        return DEFAULT_LAYOUT
    return Path(str(files("xladdin.workbooks") / "layout.toml"))


# ----------------------------------------------------------------------------------- layout model
@dataclass(frozen=True)
class ColumnSpec:
    field: str
    zh: str
    en: str
    format: str = "General"
    width: float = 12.0
    #: long text wraps inside the column (the row grows) instead of being cut
    wrap: bool = False
    #: a chart's helper column (e.g. the inflow and outflow bars): hidden, not printed
    hidden: bool = False
    #: a field of the computed frame holding each row's number format (a table of mixed figures)
    row_format: str | None = None
    #: canonical tables the column is computed from: a blank column's note names those missing or behind
    inputs: tuple[str, ...] = ()
    #: why the column is blank when its inputs are there (e.g. "no flag this week")
    blank_zh: str = ""
    blank_en: str = ""
    #: horizontal alignment of the data cells ("left" for a column of mixed numbers and text); "" = Excel's
    align: str = ""
    #: a field of the computed frame holding each row's direction: the cell's text red (> 0, inflow / up) or green
    #: (< 0, outflow / down), the desk's colours (``[meta] inflow_color`` / ``outflow_color``); other rows plain
    row_sign: str | None = None

    def header(self, language: str) -> str:
        return self.zh if language == "zh" else self.en

    def blank(self, language: str) -> str:
        return self.blank_zh if language == "zh" else self.blank_en


@dataclass(frozen=True)
class ExtraColumns:
    """Data-driven columns (months, horizons): everything in the frame after the fixed columns."""

    format: str = "General"
    width: float = 10.0
    header: str = "text"  # "text" or "date:<strftime>"
    inputs: tuple[str, ...] = ()
    blank_zh: str = ""
    blank_en: str = ""

    def blank(self, language: str) -> str:
        return self.blank_zh if language == "zh" else self.blank_en

    def label(self, value: Any) -> str:
        if self.header.startswith("date:"):
            return pd.Timestamp(value).strftime(self.header[5:])
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)


@dataclass(frozen=True)
class CondSpec:
    type: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class TableLayout:
    key: str
    name: str
    columns: tuple[ColumnSpec, ...]
    anchor: str | None = None
    below: str | None = None
    gap: int = 2
    title_zh: str = ""
    title_en: str = ""
    style: str = "TableStyleMedium2"
    extra: ExtraColumns | None = None
    conditional: tuple[CondSpec, ...] = ()

    def title(self, language: str) -> str:
        return self.title_zh if language == "zh" else self.title_en

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.columns]


@dataclass(frozen=True)
class ChartLayout:
    type: str
    table: str
    x: str
    series: tuple[str, ...]
    secondary: tuple[str, ...] = ()
    anchor: str | None = None
    right_of: str | None = None
    below: str | None = None
    gap: int = 1
    row_offset: int = 0
    width: float = 16.0
    height: float = 7.5
    #: fill / line colour of each series (primary then secondary), hex; empty = the chart style's
    colors: tuple[str, ...] = ()
    #: bar and column charts: how far the bars of one category overlap (100 = drawn on each other)
    overlap: int | None = None
    title_zh: str = ""
    title_en: str = ""
    y_title_zh: str = ""
    y_title_en: str = ""
    y_format: str = "General"
    y2_title_zh: str = ""
    y2_title_en: str = ""
    y2_format: str = "General"

    def text(self, what: str, language: str) -> str:
        return getattr(self, f"{what}_{language}")


@dataclass(frozen=True)
class SheetLayout:
    key: str
    zh: str
    en: str
    tables: tuple[TableLayout, ...]
    charts: tuple[ChartLayout, ...] = ()
    title_zh: str = ""
    title_en: str = ""
    subtitle: str = "none"
    freeze_cols: int = 0
    landscape: bool = True
    fit_width: bool = True
    tab_color: str | None = None
    button_cell: str | None = None
    #: repeat the first table's header row at the top of every printed page
    print_titles: bool = True
    #: row 2 of the values-only report, when it differs from the workbook's (e.g. the parameters sheet)
    report_title_zh: str = ""
    report_title_en: str = ""

    def name(self, language: str) -> str:
        return self.zh if language == "zh" else self.en

    def title(self, language: str, snapshot: bool = False) -> str:
        """Row 2 in ``language``; ``snapshot``: of the values-only report (its ``report_title`` when given)."""
        report = self.report_title_zh if language == "zh" else self.report_title_en
        if snapshot and report:
            return report
        return self.title_zh if language == "zh" else self.title_en

    def table(self, key: str) -> TableLayout:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(f"sheet `{self.key}` has no table `{key}`")


@dataclass(frozen=True)
class Layout:
    sheets: tuple[SheetLayout, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str = "layout"

    def sheet(self, key: str) -> SheetLayout:
        for s in self.sheets:
            if s.key == key:
                return s
        raise KeyError(f"layout has no sheet `{key}`; sheets: {', '.join(s.key for s in self.sheets)}")

    @property
    def table_keys(self) -> list[str]:
        return [t.key for s in self.sheets for t in s.tables]

    def find_table(self, key: str) -> tuple[SheetLayout, TableLayout]:
        for s in self.sheets:
            for t in s.tables:
                if t.key == key:
                    return s, t
        raise KeyError(f"layout has no table `{key}`")

    def m(self, key: str, default: Any = None) -> Any:
        return self.meta.get(key, default)



# ----------------------------------------------------------------------------------- loading
def _req(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise LayoutError(f"{where}: `{key}` is required")
    return d[key]


def _known(d: Mapping[str, Any], allowed: set[str], where: str) -> None:
    bad = sorted(set(d) - allowed)
    if bad:
        raise LayoutError(f"{where}: unknown key(s) {', '.join(bad)}; allowed: {', '.join(sorted(allowed))}")


_COL_KEYS = {"field", "zh", "en", "format", "width", "wrap", "hidden", "row_format", "inputs", "blank_zh", "blank_en",
             "align", "row_sign"}
_EXTRA_KEYS = {"format", "width", "header", "inputs", "blank_zh", "blank_en"}
_TABLE_KEYS = {"key", "name", "anchor", "below", "gap", "title_zh", "title_en", "style", "columns",
               "extra_columns", "conditional"}
_CHART_KEYS = {f.name for f in ChartLayout.__dataclass_fields__.values()}
_SHEET_KEYS = {"key", "zh", "en", "title_zh", "title_en", "subtitle", "freeze_cols", "landscape", "fit_width",
               "tab_color", "button_cell", "tables", "charts", "print_titles", "report_title_zh", "report_title_en"}


def _parse_table(d: Mapping[str, Any], where: str) -> TableLayout:
    _known(d, _TABLE_KEYS, where)
    key = _req(d, "key", where)
    where = f"{where} table `{key}`"
    cols = []
    for i, c in enumerate(_req(d, "columns", where)):
        _known(c, _COL_KEYS, f"{where} column {i + 1}")
        cols.append(ColumnSpec(field=_req(c, "field", f"{where} column {i + 1}"), zh=_req(c, "zh", where),
                               en=_req(c, "en", where), format=c.get("format", "General"),
                               width=float(c.get("width", 12)), wrap=bool(c.get("wrap", False)),
                               hidden=bool(c.get("hidden", False)), row_format=c.get("row_format"),
                               inputs=tuple(c.get("inputs", ())), blank_zh=c.get("blank_zh", ""),
                               blank_en=c.get("blank_en", ""), align=c.get("align", ""),
                               row_sign=c.get("row_sign")))
    extra = None
    if "extra_columns" in d:
        e = d["extra_columns"]
        _known(e, _EXTRA_KEYS, f"{where} extra_columns")
        extra = ExtraColumns(format=e.get("format", "General"), width=float(e.get("width", 10)),
                             header=e.get("header", "text"), inputs=tuple(e.get("inputs", ())),
                             blank_zh=e.get("blank_zh", ""), blank_en=e.get("blank_en", ""))
    conds = []
    for c in d.get("conditional", []):
        _known(c, {"type", "columns"}, f"{where} conditional")
        conds.append(CondSpec(type=_req(c, "type", f"{where} conditional"),
                              columns=tuple(_req(c, "columns", f"{where} conditional"))))
    return TableLayout(key=key, name=_req(d, "name", where), columns=tuple(cols), anchor=d.get("anchor"),
                       below=d.get("below"), gap=int(d.get("gap", 2)), title_zh=d.get("title_zh", ""),
                       title_en=d.get("title_en", ""), style=d.get("style", "TableStyleMedium2"), extra=extra,
                       conditional=tuple(conds))


def parse_layout(data: Mapping[str, Any], source: str = "layout") -> Layout:
    """Build and validate a :class:`Layout` from the parsed TOML mapping."""
    sheets = []
    for i, s in enumerate(_req(data, "sheets", source)):
        where = f"{source}: sheet {i + 1}"
        _known(s, _SHEET_KEYS, where)
        key = _req(s, "key", where)
        where = f"{source}: sheet `{key}`"
        tables = tuple(_parse_table(t, where) for t in s.get("tables", []))
        charts = []
        for j, c in enumerate(s.get("charts", [])):
            _known(c, _CHART_KEYS, f"{where} chart {j + 1}")
            c = dict(c)
            for k in ("series", "secondary", "colors"):
                c[k] = tuple(c.get(k, ()))
            charts.append(ChartLayout(**c))
        sheets.append(SheetLayout(
            key=key, zh=_req(s, "zh", where), en=_req(s, "en", where), tables=tables, charts=tuple(charts),
            title_zh=s.get("title_zh", ""), title_en=s.get("title_en", ""), subtitle=s.get("subtitle", "none"),
            freeze_cols=int(s.get("freeze_cols", 0)), landscape=bool(s.get("landscape", True)),
            fit_width=bool(s.get("fit_width", True)), tab_color=s.get("tab_color"), button_cell=s.get("button_cell"),
            print_titles=bool(s.get("print_titles", True)), report_title_zh=s.get("report_title_zh", ""),
            report_title_en=s.get("report_title_en", "")))
    layout = Layout(sheets=tuple(sheets), meta=dict(data.get("meta", {})), source=source)
    validate_layout(layout)
    return layout


def load_layout(path: str | Path | None = None) -> Layout:
    """Read and validate the layout TOML (default ``workbooks/layout.toml``)."""
    p = Path(path) if path is not None else _default_layout_path()
    if not p.is_file():
        raise FileNotFoundError(f"layout file {p} not found")
    with open(p, "rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise LayoutError(f"{p}: not valid TOML ({exc})") from None
    return parse_layout(data, source=str(p))

