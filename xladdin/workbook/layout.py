"""The weekly workbook layout: load and validate ``workbooks/layout.toml``, plan, and render.

The layout is data (sheets, anchors, Excel table names, columns with Chinese and English headers
and number formats, conditional formats, charts). :func:`render` places a dict of computed tables
through a *writer*; the same code drives every output:

* :class:`OpenpyxlWriter` -- the CLI (``xladdin template``, ``refresh``, ``report``) on any OS;
* :class:`XlwingsWriter` -- the Refresh button in Excel (``macros/refresh.py``) and xlwings Lite.

A writer implements a handful of primitive operations (create/clear a sheet, write a block of
values, number formats, fonts, column widths, an Excel table, a colour scale, a data bar, a chart,
freeze panes, page setup). Everything else -- where each table goes, which header, which format --
is decided here, once.
"""
from __future__ import annotations

import datetime as dt
import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import ColorScaleRule, DataBarRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE, BUILTIN_FORMATS_REVERSE
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableStyleInfo

from xladdin.cells import to_cell_value  # noqa: F401 - the one value-to-cell rule, re-exported
from xladdin.conventions import LANGUAGES

#: default layout file (repository ``workbooks/layout.toml``)
DEFAULT_LAYOUT = Path(__file__).resolve().parents[2] / "workbooks" / "layout.toml"


def _default_layout_path() -> Path:
    """The repository's ``workbooks/layout.toml``; in an installed wheel, the copy shipped as package data."""
    if DEFAULT_LAYOUT.is_file():
        return DEFAULT_LAYOUT
    return Path(str(files("xladdin.workbooks") / "layout.toml"))
CHART_TYPES = ("line", "column", "bar")
COND_TYPES = ("color_scale", "data_bar")
EXTRA = "*extra"
#: leading characters that make a spreadsheet evaluate text as a formula: ``= + - @``, plus tab and
#: CR (OWASP's list for spreadsheet injection). Text from data starting with one of them is never
#: written as a formula by any writer (:func:`formula_like`).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: text shown in a table that has no rows
EMPTY_TEXT = {"zh": "(无数据)", "en": "(no data)"}
#: text shown in a table that was not computed (its module or input data is missing)
MISSING_TEXT = {"zh": "(未计算)", "en": "(not computed)"}
_CELL_RE = re.compile(r"^([A-Z]{1,3})([1-9][0-9]*)$")
_TABLE_NAME_RE = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.]{0,254}$")
_SHEET_BAD = set("[]:*?/\\")


class LayoutError(ValueError):
    """The layout file is inconsistent; the message names the sheet/table/chart and the fix."""


# ----------------------------------------------------------------------------------- cell helpers
def col_letter(col: int) -> str:
    """1 -> A, 27 -> AA."""
    if col < 1:
        raise ValueError(f"column index must be >= 1, got {col}")
    return get_column_letter(col)


def col_index(letters: str) -> int:
    """A -> 1, AA -> 27."""
    return column_index_from_string(letters)


def parse_cell(ref: str) -> tuple[int, int]:
    """``"B5"`` -> (row 5, column 2)."""
    m = _CELL_RE.match(str(ref).strip().upper())
    if not m:
        raise ValueError(f"`{ref}` is not a cell reference like B5")
    return int(m.group(2)), col_index(m.group(1))


def formula_like(value: Any) -> bool:
    """True for text a spreadsheet would evaluate as a formula (see :data:`FORMULA_PREFIXES`)."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """``"$B$5:$J$35"`` or ``"B5"`` -> (row1, col1, row2, col2)."""
    parts = str(ref).replace("$", "").split("!")[-1].split(":")
    r1, c1 = parse_cell(parts[0])
    r2, c2 = parse_cell(parts[-1])
    return r1, c1, r2, c2


def cell_ref(row: int, col: int) -> str:
    return f"{col_letter(col)}{row}"


def range_ref(row1: int, col1: int, row2: int, col2: int) -> str:
    return f"{cell_ref(row1, col1)}:{cell_ref(row2, col2)}"


# ----------------------------------------------------------------------------------- layout model
@dataclass(frozen=True)
class ColumnSpec:
    field: str
    zh: str
    en: str
    format: str = "General"
    width: float = 12.0

    def header(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


@dataclass(frozen=True)
class ExtraColumns:
    """Data-driven columns (months, horizons): everything in the frame after the fixed columns."""

    format: str = "General"
    width: float = 10.0
    header: str = "text"  # "text" or "date:<strftime>"

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
    gap: int = 1
    row_offset: int = 0
    width: float = 16.0
    height: float = 7.5
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

    def name(self, language: str) -> str:
        return self.zh if language == "zh" else self.en

    def title(self, language: str) -> str:
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


def _req(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise LayoutError(f"{where}: `{key}` is required")
    return d[key]


def _known(d: Mapping[str, Any], allowed: set[str], where: str) -> None:
    bad = sorted(set(d) - allowed)
    if bad:
        raise LayoutError(f"{where}: unknown key(s) {', '.join(bad)}; allowed: {', '.join(sorted(allowed))}")


_COL_KEYS = {"field", "zh", "en", "format", "width"}
_TABLE_KEYS = {"key", "name", "anchor", "below", "gap", "title_zh", "title_en", "style", "columns",
               "extra_columns", "conditional"}
_CHART_KEYS = {f.name for f in ChartLayout.__dataclass_fields__.values()}
_SHEET_KEYS = {"key", "zh", "en", "title_zh", "title_en", "subtitle", "freeze_cols", "landscape", "fit_width",
               "tab_color", "button_cell", "tables", "charts"}


def _parse_table(d: Mapping[str, Any], where: str) -> TableLayout:
    _known(d, _TABLE_KEYS, where)
    key = _req(d, "key", where)
    where = f"{where} table `{key}`"
    cols = []
    for i, c in enumerate(_req(d, "columns", where)):
        _known(c, _COL_KEYS, f"{where} column {i + 1}")
        cols.append(ColumnSpec(field=_req(c, "field", f"{where} column {i + 1}"), zh=_req(c, "zh", where),
                               en=_req(c, "en", where), format=c.get("format", "General"),
                               width=float(c.get("width", 12))))
    extra = None
    if "extra_columns" in d:
        e = d["extra_columns"]
        _known(e, {"format", "width", "header"}, f"{where} extra_columns")
        extra = ExtraColumns(format=e.get("format", "General"), width=float(e.get("width", 10)),
                             header=e.get("header", "text"))
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
            for k in ("series", "secondary"):
                c[k] = tuple(c.get(k, ()))
            charts.append(ChartLayout(**c))
        sheets.append(SheetLayout(
            key=key, zh=_req(s, "zh", where), en=_req(s, "en", where), tables=tables, charts=tuple(charts),
            title_zh=s.get("title_zh", ""), title_en=s.get("title_en", ""), subtitle=s.get("subtitle", "none"),
            freeze_cols=int(s.get("freeze_cols", 0)), landscape=bool(s.get("landscape", True)),
            fit_width=bool(s.get("fit_width", True)), tab_color=s.get("tab_color"), button_cell=s.get("button_cell")))
    layout = Layout(sheets=tuple(sheets), meta=dict(data.get("meta", {})), source=source)
    validate_layout(layout)
    return layout


def validate_layout(layout: Layout) -> None:
    """Check names, anchors and references; raise :class:`LayoutError` naming the fix."""
    src = layout.source
    seen_sheets: set[str] = set()
    seen_tables: set[str] = set()
    seen_names: set[str] = set()
    for s in layout.sheets:
        if s.key in seen_sheets:
            raise LayoutError(f"{src}: sheet key `{s.key}` is used twice")
        seen_sheets.add(s.key)
        for lang in LANGUAGES:
            name = s.name(lang)
            if not name or len(name) > 31 or _SHEET_BAD & set(name):
                raise LayoutError(f"{src}: sheet `{s.key}` name `{name}` must be 1-31 characters without []:*?/\\")
            if name.lower() in seen_names:
                raise LayoutError(f"{src}: sheet name `{name}` is used twice")
            seen_names.add(name.lower())
        if s.button_cell:
            _cell(s.button_cell, f"{src}: sheet `{s.key}` button_cell")
        placed: list[str] = []
        for t in s.tables:
            where = f"{src}: sheet `{s.key}` table `{t.key}`"
            if t.key in seen_tables:
                raise LayoutError(f"{where}: table key used twice")
            seen_tables.add(t.key)
            if not _TABLE_NAME_RE.match(t.name) or _CELL_RE.match(t.name.upper()) or t.name.upper() in ("R", "C"):
                raise LayoutError(f"{where}: `{t.name}` is not a valid Excel table name (letters, digits, _ and ., "
                                  "starting with a letter; not a cell reference)")
            if t.name.lower() in {n.lower() for n in seen_tables_names(layout, upto=t)}:
                raise LayoutError(f"{where}: Excel table name `{t.name}` is used twice")
            if (t.anchor is None) == (t.below is None):
                raise LayoutError(f"{where}: give exactly one of `anchor` (a cell) or `below` (a table key)")
            if t.anchor is not None:
                row, _ = _cell(t.anchor, where)
                if row < 2:
                    raise LayoutError(f"{where}: anchor {t.anchor} leaves no row for the table title; use row >= 2")
            elif t.below not in placed:
                raise LayoutError(f"{where}: below = `{t.below}` must name an earlier table on the same sheet")
            if t.gap < 2:
                raise LayoutError(f"{where}: gap must be >= 2 (one blank row and the title row)")
            if not t.columns:
                raise LayoutError(f"{where}: needs at least one column")
            fields = t.fields
            if len(set(fields)) != len(fields):
                raise LayoutError(f"{where}: duplicated column field")
            for lang in LANGUAGES:
                heads = [c.header(lang) for c in t.columns]
                if len(set(heads)) != len(heads) or not all(heads):
                    raise LayoutError(f"{where}: {lang} headers must be unique and non-empty")
            for c in t.conditional:
                if c.type not in COND_TYPES:
                    raise LayoutError(f"{where}: conditional type `{c.type}` must be one of {', '.join(COND_TYPES)}")
                for f in c.columns:
                    if f == EXTRA and t.extra is None:
                        raise LayoutError(f"{where}: `{EXTRA}` needs extra_columns")
                    if f != EXTRA and f not in fields:
                        raise LayoutError(f"{where}: conditional column `{f}` is not a column of the table")
            if t.extra is not None and not (t.extra.header == "text" or t.extra.header.startswith("date:")):
                raise LayoutError(f"{where}: extra_columns.header must be `text` or `date:<format>`")
            placed.append(t.key)
        for j, c in enumerate(s.charts):
            where = f"{src}: sheet `{s.key}` chart {j + 1}"
            if c.type not in CHART_TYPES:
                raise LayoutError(f"{where}: type `{c.type}` must be one of {', '.join(CHART_TYPES)}")
            if c.table not in placed:
                raise LayoutError(f"{where}: table `{c.table}` is not on this sheet")
            fields = s.table(c.table).fields
            for f in (c.x, *c.series, *c.secondary):
                if f not in fields:
                    raise LayoutError(f"{where}: field `{f}` is not a column of table `{c.table}`")
            if not c.series:
                raise LayoutError(f"{where}: needs at least one series")
            plotted = [fields.index(f) for f in (*c.series, *c.secondary)]
            if plotted != list(range(plotted[0], plotted[0] + len(plotted))):
                raise LayoutError(f"{where}: series then secondary ({', '.join((*c.series, *c.secondary))}) must be "
                                  f"adjacent columns of table `{c.table}` in this order, so that Excel can update the "
                                  "chart's source as one range; reorder the table's columns")
            if (c.anchor is None) == (c.right_of is None):
                raise LayoutError(f"{where}: give exactly one of `anchor` or `right_of`")
            if c.anchor is not None:
                _cell(c.anchor, where)
            elif c.right_of not in placed:
                raise LayoutError(f"{where}: right_of = `{c.right_of}` is not a table on this sheet")


def seen_tables_names(layout: Layout, upto: TableLayout) -> list[str]:
    out = []
    for s in layout.sheets:
        for t in s.tables:
            if t is upto:
                return out
            out.append(t.name)
    return out


def _cell(ref: str, where: str) -> tuple[int, int]:
    try:
        return parse_cell(ref)
    except ValueError as exc:
        raise LayoutError(f"{where}: {exc}") from None


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


# ----------------------------------------------------------------------------------- planning
@dataclass
class TablePlan:
    """Where and what one table writes (1-based rows/columns)."""

    key: str
    name: str
    style: str
    title: str
    title_row: int
    row: int  # header row
    col: int
    headers: list[str]
    fields: list[Any]
    formats: list[str]
    widths: list[float]
    rows: list[list[Any]]
    conditional: list[tuple[str, str]]  # (type, range ref)
    placeholder: str | None = None  # text when empty / not computed

    @property
    def ncols(self) -> int:
        return len(self.headers)

    @property
    def last_row(self) -> int:
        return self.row + max(len(self.rows), 1)

    @property
    def last_col(self) -> int:
        return self.col + self.ncols - 1

    @property
    def ref(self) -> str:
        return range_ref(self.row, self.col, self.last_row, self.last_col)

    def column_of(self, field_: str) -> int:
        return self.col + self.fields.index(field_)


@dataclass
class ChartPlan:
    """A chart: categories and series as (column, first data row, last data row) on the sheet."""

    type: str
    title: str
    anchor: str
    width: float
    height: float
    header_row: int
    first_row: int
    last_row: int
    x_col: int
    x_is_date: bool
    series: list[int]
    secondary: list[int]
    y_title: str = ""
    y_format: str = "General"
    y2_title: str = ""
    y2_format: str = "General"
    layout_index: int = 0  # position of the chart in the sheet's layout (= its order on the sheet)


@dataclass
class SheetPlan:
    key: str
    name: str
    aliases: list[str]
    title: str
    subtitle: str
    tables: list[TablePlan]
    charts: list[ChartPlan]
    freeze: str | None
    landscape: bool
    fit_width: bool
    tab_color: str | None
    button_cell: str | None

    @property
    def used_range(self) -> str:
        last_row = max([t.last_row for t in self.tables] + [3])
        last_col = max([t.last_col for t in self.tables] + [2])
        return range_ref(1, 1, last_row, last_col)


def plan_table(t: TableLayout, df: pd.DataFrame | None, row: int, col: int, language: str,
               source_note: str | None = None) -> TablePlan:
    """Headers, formats, values and conditional ranges of one table anchored at (row, col).

    ``df`` has one column per layout field (extra columns after them when the layout allows);
    None means "not computed" and yields a placeholder row.
    """
    where = f"table `{t.key}`"
    fields: list[Any] = list(t.fields)
    headers = [c.header(language) for c in t.columns]
    formats = [c.format for c in t.columns]
    widths = [c.width for c in t.columns]
    placeholder = None
    if df is None:
        rows: list[list[Any]] = []
        placeholder = MISSING_TEXT[language] + (f" {source_note}" if source_note else "")
    else:
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"{where}: expected a DataFrame, got {type(df).__name__}")
        missing = [f for f in t.fields if f not in df.columns]
        if missing:
            raise ValueError(f"{where}: column(s) {', '.join(map(str, missing))} missing from the computed frame "
                             f"(has {', '.join(map(str, df.columns))})")
        extra_cols = [c for c in df.columns if c not in t.fields] if t.extra is not None else []
        for c in extra_cols:
            fields.append(c)
            headers.append(t.extra.label(c))
            formats.append(t.extra.format)
            widths.append(t.extra.width)
        if len(set(headers)) != len(headers):
            raise ValueError(f"{where}: duplicated headers {headers}")
        data = df[fields]
        rows = [[to_cell_value(v) for v in rec] for rec in data.itertuples(index=False, name=None)]
        if not rows:
            placeholder = EMPTY_TEXT[language]
    plan = TablePlan(key=t.key, name=t.name, style=t.style, title=t.title(language), title_row=row - 1, row=row,
                     col=col, headers=headers, fields=fields, formats=formats, widths=widths, rows=rows,
                     conditional=[], placeholder=placeholder)
    if rows:
        first, last = row + 1, row + len(rows)
        for cond in t.conditional:
            for f in cond.columns:
                if f == EXTRA:  # one rule over all data-driven columns, so groups share one scale
                    if len(fields) > len(t.fields):
                        plan.conditional.append((cond.type, range_ref(first, col + len(t.fields), last,
                                                                      plan.last_col)))
                else:
                    c = plan.column_of(f)
                    plan.conditional.append((cond.type, range_ref(first, c, last, c)))
    return plan


def plan_sheet(s: SheetLayout, tables: Mapping[str, pd.DataFrame | None], language: str,
               subtitle: str = "", notes: Mapping[str, str] | None = None) -> SheetPlan:
    """Place every table and chart of sheet ``s``; pure (no Excel)."""
    notes = notes or {}
    plans: dict[str, TablePlan] = {}
    for t in s.tables:
        if t.anchor is not None:
            row, col = parse_cell(t.anchor)
        else:
            above = plans[t.below]
            row, col = above.last_row + t.gap + 1, above.col
        plans[t.key] = plan_table(t, tables.get(t.key), row, col, language, notes.get(t.key))
    # tables must not overlap
    items = list(plans.values())
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if not (a.last_row < b.title_row or b.last_row < a.title_row or a.last_col < b.col or b.last_col < a.col):
                raise ValueError(f"sheet `{s.key}`: table `{a.key}` ({a.ref}) overlaps `{b.key}` ({b.ref}); "
                                 "move an anchor in the layout")
    charts = []
    for position, c in enumerate(s.charts):
        tp = plans[c.table]
        if c.anchor is not None:
            anchor = c.anchor
        else:
            ref = plans[c.right_of]
            anchor = cell_ref(ref.row + c.row_offset, ref.last_col + 1 + c.gap)
        if not tp.rows:
            continue  # nothing to draw; the table shows its placeholder
        x_col = tp.column_of(c.x)
        x_is_date = any(isinstance(r[tp.fields.index(c.x)], dt.datetime) for r in tp.rows[:5])
        charts.append(ChartPlan(
            type=c.type, title=c.text("title", language), anchor=anchor, width=c.width, height=c.height,
            header_row=tp.row, first_row=tp.row + 1, last_row=tp.row + len(tp.rows), x_col=x_col,
            x_is_date=x_is_date, series=[tp.column_of(f) for f in c.series],
            secondary=[tp.column_of(f) for f in c.secondary], y_title=c.text("y_title", language),
            y_format=c.y_format, y2_title=c.text("y2_title", language), y2_format=c.y2_format,
            layout_index=position))
    first = plans[s.tables[0].key] if s.tables else None
    freeze = None
    if first is not None:
        freeze = cell_ref(first.row + 1, (first.col + s.freeze_cols) if s.freeze_cols else 1)
    other = [s.name(lang) for lang in LANGUAGES if lang != language]
    return SheetPlan(key=s.key, name=s.name(language), aliases=other, title=s.title(language), subtitle=subtitle,
                     tables=list(plans.values()), charts=charts, freeze=freeze, landscape=s.landscape,
                     fit_width=s.fit_width, tab_color=s.tab_color, button_cell=s.button_cell)


# ----------------------------------------------------------------------------------- writers
class Writer(Protocol):
    """What :func:`render` needs from a workbook backend (rows/columns are 1-based)."""

    def sheet(self, name: str, aliases: Sequence[str], index: int) -> Any: ...
    def write(self, sh: Any, row: int, col: int, rows: list[list[Any]]) -> None: ...
    def number_format(self, sh: Any, row1: int, row2: int, col: int, fmt: str) -> None: ...
    def font(self, sh: Any, ref: str, *, bold: bool = False, size: float | None = None,
             color: str | None = None, fill: str | None = None, italic: bool = False) -> None: ...
    def column_width(self, sh: Any, col: int, width: float) -> None: ...
    def table(self, sh: Any, ref: str, name: str, style: str) -> None: ...
    def color_scale(self, sh: Any, ref: str, low: str, mid: str, high: str) -> None: ...
    def data_bar(self, sh: Any, ref: str, color: str) -> None: ...
    def chart(self, sh: Any, plan: ChartPlan) -> None: ...
    def finish(self, sh: Any, plan: SheetPlan) -> None: ...
    # optional: ``prepare(plans, layout)`` is called with every sheet's plan before the first write


def render_sheet(plan: SheetPlan, writer: Writer, index: int, meta: Mapping[str, Any]) -> Any:
    """Apply one :class:`SheetPlan` through ``writer``; returns the writer's sheet handle."""
    sh = writer.sheet(plan.name, plan.aliases, index)
    title_color = meta.get("title_color", "1F4E78")
    if plan.title:
        writer.write(sh, 2, 2, [[plan.title]])
        writer.font(sh, "B2", bold=True, size=14, color=title_color)
    if plan.subtitle:
        writer.write(sh, 3, 2, [[plan.subtitle]])
        writer.font(sh, "B3", italic=True, color="595959")
    widths: dict[int, float] = {1: 2.0}
    for t in plan.tables:
        if t.title:
            writer.write(sh, t.title_row, t.col, [[t.title]])
            writer.font(sh, cell_ref(t.title_row, t.col), bold=True, size=11, color=title_color)
        body = t.rows if t.rows else [[t.placeholder] + [None] * (t.ncols - 1)]
        writer.write(sh, t.row, t.col, [t.headers] + body)
        for j, fmt in enumerate(t.formats):
            c = t.col + j
            if t.rows and fmt and fmt != "General":
                writer.number_format(sh, t.row + 1, t.row + len(t.rows), c, fmt)
            widths[c] = max(widths.get(c, 0.0), t.widths[j])
        writer.table(sh, t.ref, t.name, t.style)
        for kind, ref in t.conditional:
            if kind == "color_scale":
                writer.color_scale(sh, ref, meta.get("scale_low", "63BE7B"), meta.get("scale_mid", "FFFFFF"),
                                   meta.get("scale_high", "F8696B"))
            else:
                writer.data_bar(sh, ref, meta.get("bar_color", "5B9BD5"))
    for c, w in sorted(widths.items()):
        writer.column_width(sh, c, w)
    for ch in plan.charts:
        writer.chart(sh, ch)
    writer.finish(sh, plan)
    return sh


def render(tables: Mapping[str, pd.DataFrame | None], writer: Writer, layout: Layout | None = None,
           language: str = "zh", subtitles: Mapping[str, str] | None = None,
           notes: Mapping[str, str] | None = None, sheets: Sequence[str] | None = None,
           progress: Any = None) -> list[SheetPlan]:
    """Place ``tables`` (key -> DataFrame, columns = layout fields) on the layout's sheets via ``writer``.

    Parameters
    ----------
    tables : mapping
        Computed tables keyed as in the layout (``industry_flow``, ``quintile_level``, ...). A key that
        is absent or None renders the table's headers with a "not computed" row (``notes[key]`` says why).
    writer : Writer
        :class:`OpenpyxlWriter` or :class:`XlwingsWriter` (or any object with the same methods).
    layout : Layout, optional
        Default :func:`load_layout()`.
    language : ``"zh"`` or ``"en"``
        Header and sheet-name language; a sheet found under its other-language name is renamed.
    subtitles : mapping, optional
        Text for row 3 of each sheet, keyed by the sheet's ``subtitle`` name (``asof``, ``week`` ...).
    sheets : sequence of sheet keys, optional
        Render only these sheets (default all).
    progress : callable, optional
        Called with the sheet key after each sheet (e.g. a tqdm ``update``).

    Returns
    -------
    list of SheetPlan
        What was written, for tests and messages.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    layout = layout or load_layout()
    subtitles = subtitles or {}
    indexed = [(index, plan_sheet(s, tables, language, subtitles.get(s.subtitle, ""), notes))
               for index, s in enumerate(layout.sheets) if sheets is None or s.key in sheets]
    plans = [plan for _, plan in indexed]  # every sheet is planned before the first write
    prepare = getattr(writer, "prepare", None)
    if prepare is not None:
        prepare(plans, layout)  # a writer that checks the workbook first raises here, before writing
    for index, plan in indexed:
        try:
            render_sheet(plan, writer, index, layout.meta)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"writing sheet `{plan.name}`: {exc}") from exc
        if progress is not None:
            progress(plan.key)
    return plans


# ----------------------------------------------------------------------------------- openpyxl
_CM_PER_INCH = 2.54


class OpenpyxlWriter:
    """Writer over an ``openpyxl.Workbook`` (new, or loaded with ``keep_vba=True`` for an .xlsm).

    An existing sheet (found by its name in either language) is cleared -- cells, tables, charts and
    conditional formats -- but kept, so its VBA code name and the Refresh button (legacy VML drawing)
    survive. Sheets not in the layout (``xlwings.conf``, user sheets) are never touched.
    """

    def __init__(self, wb: Any, font_name: str | None = None, font_size: float | None = None,
                 header_fill: str = "1F4E78", header_font_color: str = "FFFFFF"):
        self.wb = wb
        self.font_name = font_name
        self.font_size = font_size
        self.header_fill = header_fill
        self.header_font_color = header_font_color

    @classmethod
    def for_layout(cls, wb: Any, layout: Layout) -> OpenpyxlWriter:
        """A writer using the layout's fonts and header colours (``[meta]``)."""
        return cls(wb, font_name=layout.m("font_name"), font_size=layout.m("font_size"),
                   header_fill=layout.m("header_fill", "1F4E78"),
                   header_font_color=layout.m("header_font_color", "FFFFFF"))

    # sheets
    def sheet(self, name: str, aliases: Sequence[str], index: int) -> Any:
        wb = self.wb
        ws = None
        for n in [name, *aliases]:
            if n in wb.sheetnames:
                ws = wb[n]
                break
        if ws is None:
            ws = wb.create_sheet(name)
        else:
            if ws.title != name:
                ws.title = name
            ws._cells.clear()
            for t in list(ws.tables):
                del ws.tables[t]
            ws._charts = []
            ws.conditional_formatting = ConditionalFormattingList()
            ws.merged_cells.ranges = set() if isinstance(ws.merged_cells.ranges, set) else []
            ws.column_dimensions.clear()
            ws.row_dimensions.clear()
        current = wb.sheetnames.index(ws.title)
        target = min(index, len(wb.sheetnames) - 1)
        if current != target:
            wb.move_sheet(ws, offset=target - current)
        return ws

    def _font(self, **kw: Any) -> Any:
        if self.font_name:
            kw.setdefault("name", self.font_name)
        return Font(**kw)

    def write(self, ws: Any, row: int, col: int, rows: list[list[Any]]) -> None:
        base = self._font(size=self.font_size) if (self.font_name or self.font_size) else None
        font_id = _style_index(self.wb, "_fonts", base) if base is not None else None
        for i, values in enumerate(rows):
            for j, v in enumerate(values):
                cell = ws.cell(row=row + i, column=col + j)
                cell.value = v
                if formula_like(v):  # text from data is never a formula: stored as text, quote-prefixed
                    cell.data_type = "s"  # (openpyxl would store "=..." as a formula)
                    cell.quotePrefix = True  # Excel keeps it text when the cell is edited
                if base is not None:  # (by index; ``cell.font = base`` when the index is unknown)
                    _set_style(cell, "fontId", font_id, "font", base)
                if isinstance(v, dt.datetime) and cell.number_format == "General":
                    cell.number_format = "yyyy-mm-dd"

    def number_format(self, ws: Any, row1: int, row2: int, col: int, fmt: str) -> None:
        fmt_id = BUILTIN_FORMATS_REVERSE.get(fmt)  # the id openpyxl's ``cell.number_format = fmt`` stores
        if fmt_id is None:
            added = _style_index(self.wb, "_number_formats", fmt)
            fmt_id = None if added is None else added + BUILTIN_FORMATS_MAX_SIZE
        for r in range(row1, row2 + 1):
            _set_style(ws.cell(row=r, column=col), "numFmtId", fmt_id, "number_format", fmt)

    def font(self, ws: Any, ref: str, *, bold: bool = False, size: float | None = None, color: str | None = None,
             fill: str | None = None, italic: bool = False) -> None:
        for row in ws[ref] if ":" in ref else [[ws[ref]]]:
            for cell in row:
                cell.font = self._font(bold=bold, italic=italic, size=size or self.font_size, color=color)
                if fill:
                    cell.fill = PatternFill("solid", fgColor=fill)

    def column_width(self, ws: Any, col: int, width: float) -> None:
        ws.column_dimensions[col_letter(col)].width = width

    def table(self, ws: Any, ref: str, name: str, style: str) -> None:
        tab = Table(displayName=name, ref=ref)
        tab.tableStyleInfo = TableStyleInfo(name=style, showRowStripes=True, showColumnStripes=False,
                                            showFirstColumn=False, showLastColumn=False)
        ws.add_table(tab)

    def color_scale(self, ws: Any, ref: str, low: str, mid: str, high: str) -> None:
        ws.conditional_formatting.add(ref, ColorScaleRule(start_type="min", start_color=low, mid_type="percentile",
                                                          mid_value=50, mid_color=mid, end_type="max",
                                                          end_color=high))

    def data_bar(self, ws: Any, ref: str, color: str) -> None:
        ws.conditional_formatting.add(ref, DataBarRule(start_type="min", end_type="max", color=color,
                                                       showValue=True))

    def chart(self, ws: Any, plan: ChartPlan) -> None:
        def make():
            if plan.type == "line":
                return LineChart()
            c = BarChart()
            c.type = "bar" if plan.type == "bar" else "col"
            c.gapWidth = 60
            return c

        def add_series(chart, cols):
            for col in cols:
                ref = Reference(ws, min_col=col, min_row=plan.header_row, max_row=plan.last_row)
                chart.add_data(ref, titles_from_data=True)
            for s in chart.series:
                if plan.type == "line":
                    s.smooth = False
                    s.marker.symbol = "none"
                    s.graphicalProperties.line.width = 19050  # 1.5 pt

        cats = Reference(ws, min_col=plan.x_col, min_row=plan.first_row, max_row=plan.last_row)
        chart = make()
        add_series(chart, plan.series)
        chart.set_categories(cats)
        chart.title = plan.title or None
        chart.width, chart.height = plan.width, plan.height
        chart.y_axis.number_format = plan.y_format
        chart.y_axis.majorGridlines = chart.y_axis.majorGridlines  # keep default gridlines
        if plan.y_title:
            chart.y_axis.title = plan.y_title
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        if plan.x_is_date:
            chart.x_axis.number_format = "yyyy-mm-dd"
            n = plan.last_row - plan.first_row + 1
            chart.x_axis.tickLblSkip = max(1, n // 8)
            chart.x_axis.tickMarkSkip = max(1, n // 8)
        chart.x_axis.tickLblPos = "low"  # labels below the plot (left of bars) even with negative values
        chart.legend.position = "b"
        if plan.secondary:
            second = make()
            add_series(second, plan.secondary)
            second.set_categories(cats)
            second.y_axis.axId = 200
            second.y_axis.crosses = "max"
            second.y_axis.number_format = plan.y2_format
            second.y_axis.majorGridlines = None
            second.y_axis.delete = False
            if plan.y2_title:
                second.y_axis.title = plan.y2_title
            chart += second
        ws.add_chart(chart, plan.anchor)

    def finish(self, ws: Any, plan: SheetPlan) -> None:
        # header rows: bold (the table style colours them), wrap long Chinese headers
        fill = PatternFill("solid", fgColor=self.header_fill)
        for t in plan.tables:
            for j in range(t.ncols):
                cell = ws.cell(row=t.row, column=t.col + j)
                cell.font = self._font(bold=True, size=self.font_size, color=self.header_font_color)
                cell.fill = fill
                cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
            ws.row_dimensions[t.row].height = 30
            if t.placeholder:
                ws.cell(row=t.row + 1, column=t.col).font = self._font(italic=True, color="7F7F7F",
                                                                         size=self.font_size)
        ws.freeze_panes = plan.freeze
        ws.page_setup.orientation = "landscape" if plan.landscape else "portrait"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        if plan.fit_width:
            if ws.sheet_properties.pageSetUpPr is None:
                ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
            else:
                ws.sheet_properties.pageSetUpPr.fitToPage = True
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.print_title_rows = None
        ws.sheet_view.showGridLines = False
        if plan.tab_color:
            ws.sheet_properties.tabColor = plan.tab_color


def _style_index(wb: Any, collection: str, value: Any) -> int | None:
    """Index of a style part (a Font, ...) in the workbook's ``collection`` (``_fonts``, ...), added if new;
    None when this openpyxl keeps its styles otherwise. ``cell.font = f`` computes this index by hashing
    ``f`` for every cell (about 30 µs each); a writer computes it once per block of cells instead."""
    coll = getattr(wb, collection, None)
    return coll.add(value) if hasattr(coll, "add") else None


def _set_style(cell: Any, key: str, index: int | None, attribute: str, value: Any) -> None:
    """``setattr(cell, attribute, value)`` given ``value``'s :func:`_style_index`: the same style array
    entry (``cell._style.<key>``) that openpyxl's descriptor sets, without hashing ``value`` again."""
    if index is None or key not in StyleArray.__dict__:
        setattr(cell, attribute, value)
        return
    if cell._style is None:  # a new cell: no style yet (as openpyxl's descriptor does)
        cell._style = StyleArray()
    setattr(cell._style, key, index)


# ----------------------------------------------------------------------------------- xlwings
def _hex(color: str | None) -> str | None:
    return None if color is None else ("#" + color.lstrip("#"))


class PlacementError(ValueError):
    """The open workbook does not match the layout (a table moved, edited or deleted); nothing was written."""


@dataclass(frozen=True)
class Block:
    """A table's area: its title row, header row and data rows (1-based, inclusive)."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    @property
    def ref(self) -> str:
        return range_ref(self.top, self.left, self.bottom, self.right)

    @property
    def table_ref(self) -> str:
        """The Excel table's own range (header and data rows, without the title row)."""
        return range_ref(self.top + 1, self.left, self.bottom, self.right)

    def at(self, top: int) -> Block:
        return Block(top, self.left, top + self.height - 1, self.right)

    def sized(self, height: int, width: int) -> Block:
        return Block(self.top, self.left, self.top + height - 1, self.left + width - 1)

    def overlaps(self, other: Block) -> bool:
        return not (self.bottom < other.top or other.bottom < self.top or self.right < other.left
                    or other.right < self.left)

    def contains(self, row: int, col: int) -> bool:
        return self.top <= row <= self.bottom and self.left <= col <= self.right

    def minus(self, inner: Block) -> list[Block]:
        """The parts of this block outside ``inner`` (same top-left, smaller or equal size)."""
        out = []
        if self.bottom > inner.bottom:
            out.append(Block(inner.bottom + 1, self.left, self.bottom, self.right))
        if self.right > inner.right:
            out.append(Block(self.top, inner.right + 1, min(self.bottom, inner.bottom), self.right))
        return out


def block_of(t: TablePlan) -> Block:
    """Where table ``t`` goes: its title row down to its last data row."""
    return Block(t.title_row, t.col, t.last_row, t.last_col)


@dataclass
class _SheetState:
    sheet: Any
    old: dict[str, Block]  # table name -> block found in the workbook
    new: dict[str, Block]  # table name -> block of the plan
    current: dict[str, Block] = field(default_factory=dict)


def _desktop_platform() -> str:
    """``"mac"`` or ``"windows"``: which desktop Excel xlwings drives here (tests set it)."""
    return "mac" if sys.platform == "darwin" else "windows"


def _freeze_windows(sheet: Any, row: int, col: int) -> None:
    """Freeze panes through COM (Excel's ``Window`` object): xlwings has no ``freeze_panes`` on Windows."""
    sheet.activate()
    window = sheet.book.app.api.ActiveWindow
    window.FreezePanes = False
    window.ScrollRow = 1
    window.ScrollColumn = 1
    window.SplitRow = row - 1
    window.SplitColumn = col - 1
    window.FreezePanes = True


def _freeze_mac(sheet: Any, row: int, col: int) -> None:
    """Freeze panes through AppleScript (Excel's ``window`` class): xlwings has no ``freeze_panes`` on macOS."""
    sheet.activate()
    window = sheet.book.app.api.active_window
    window.freeze_panes.set(False)
    window.scroll_row.set(1)
    window.scroll_column.set(1)
    window.split_row.set(row - 1)
    window.split_column.set(col - 1)
    window.freeze_panes.set(True)


_DESKTOP_FREEZE = {"windows": _freeze_windows, "mac": _freeze_mac}


def freeze_panes(sheet: Any, cell: str) -> None:
    """Freeze the rows above and the columns left of ``cell`` on an xlwings ``Sheet``.

    xlwings implements ``Sheet.freeze_panes`` on its remote engine (xlwings Lite) only; its Windows
    and macOS backends inherit the ``base_classes`` stub, which raises ``NotImplementedError``.
    There the window is set through ``.api`` (COM / AppleScript), which needs the sheet active.
    """
    try:
        sheet.freeze_panes.freeze_at(cell)
    except NotImplementedError:
        row, col = parse_cell(cell)
        _DESKTOP_FREEZE[_desktop_platform()](sheet, row, col)


def excel_text(value: Any) -> Any:
    """A value for ``Range.value`` in Excel: text gets a leading apostrophe, so Excel keeps it text.

    Excel parses what is assigned to ``Range.value`` like typed input: ``=SUM(A1)``, ``+1``, ``-2``,
    ``@x`` would become formulas, ``000300`` a number, ``2025-11`` or ``1-2`` a date. The apostrophe
    is Excel's own "this is text" mark; it is not part of the cell's value. Other values pass unchanged.
    """
    return "'" + value if isinstance(value, str) else value


class XlwingsWriter:
    """Writer over an open ``xlwings.Book`` (the Refresh button's ``Book.caller()``, or xlwings Lite's book).

    The workbook was built by ``xladdin template``: its sheets, Excel tables (ListObjects), charts,
    column widths, page setup and Refresh button exist. The refresh only updates them:

    * :meth:`prepare` checks every sheet before the first write: each layout table must be on its
      sheet, by name, where the layout put it (below-tables right below the table above, as the last
      refresh left them), with the layout's columns; the cells a table grows into must be empty; each
      sheet must still have its charts. Otherwise :class:`PlacementError` names the table and nothing
      is written.
    * a table whose rows or columns change is resized (never deleted: formulas that use its
      structured references keep working) -- shrunk first, then tables below are moved (cut and
      paste of the whole table, which keeps the table and references to it), then grown -- all
      before its values are written;
    * values are written with text marked as text (:func:`excel_text`); number formats and the
      layout's conditional formats are re-applied to the table's new data rows (Excel does not grow
      a rule's range when code resizes a table); each chart's source is set to the table's new rows;
      panes are frozen (:func:`freeze_panes`).

    Only members that xlwings implements on Windows, macOS and its remote engine are used, except
    freezing panes (see :func:`freeze_panes`).
    """

    def __init__(self, book: Any, header_fill: str = "1F4E78", header_font_color: str = "FFFFFF"):
        self.book = book
        self.header_fill = header_fill
        self.header_font_color = header_font_color
        self._state: dict[str, _SheetState] = {}
        self._cleared: set[tuple[str, str]] = set()

    # ---------------------------------------------------------------- checks before the first write
    def prepare(self, plans: Sequence[SheetPlan], layout: Layout) -> None:
        """Find every sheet and table of ``plans`` in the book; raise :class:`PlacementError` if one is off."""
        by_name = {sh.name: sh for sh in self.book.sheets}
        state = {}
        for plan in plans:
            spec = layout.sheet(plan.key)
            sh = next((by_name[n] for n in [plan.name, *plan.aliases] if n in by_name), None)
            if sh is None:
                raise PlacementError(f"sheet `{plan.name}` is missing; rebuild the workbook with `xladdin template`")
            old = self._find_tables(sh, plan, spec)
            new = {t.name: block_of(t) for t in plan.tables}
            self._check_free_cells(sh, old, new)
            n_charts = len(sh.charts)
            if n_charts < len(spec.charts):
                raise PlacementError(f"sheet `{sh.name}` has {n_charts} chart(s), the layout draws {len(spec.charts)}: "
                                     "a chart was deleted; rebuild the workbook with `xladdin template`")
            state[plan.name] = _SheetState(sh, old, new, dict(old))
        self._state = state

    @staticmethod
    def _find_tables(sh: Any, plan: SheetPlan, spec: SheetLayout) -> dict[str, Block]:
        tables = {t.name: t for t in sh.tables}
        old: dict[str, Block] = {}
        by_key: dict[str, Block] = {}
        for t, tspec in zip(plan.tables, spec.tables):
            where = f"Excel table `{t.name}` on sheet `{sh.name}`"
            tab = tables.get(t.name)
            if tab is None:
                raise PlacementError(f"{where} is missing (deleted, renamed or converted to a range): undo that, or "
                                     "rebuild the workbook with `xladdin template`")
            r1, c1, r2, c2 = parse_range(tab.range.address)
            if tspec.anchor is not None:
                want = parse_cell(tspec.anchor)
            else:
                above = by_key[tspec.below]
                want = (above.bottom + tspec.gap + 1, above.left)
            if (r1, c1) != want:
                raise PlacementError(f"{where} starts at {cell_ref(r1, c1)}, the layout puts it at "
                                     f"{cell_ref(*want)}: it was moved; move it back and refresh again")
            ncols, fixed = c2 - c1 + 1, len(tspec.columns)
            if ncols < fixed or (tspec.extra is None and ncols != fixed):
                raise PlacementError(f"{where} has {ncols} columns, the layout has {fixed}"
                                     f"{' or more' if tspec.extra is not None else ''}: a column was added or "
                                     "deleted; undo that, or rebuild the workbook with `xladdin template`")
            block = Block(r1 - 1, c1, r2, c2)
            old[t.name] = by_key[tspec.key] = block
        return old

    @staticmethod
    def _check_free_cells(sh: Any, old: Mapping[str, Block], new: Mapping[str, Block]) -> None:
        """Cells a table is moved or grows into must be empty unless a layout table holds them now."""
        for name, target in new.items():
            moved = old[name].at(target.top)
            for area in (moved, target):
                values = sh.range(area.ref).options(ndim=2).value
                for i, row in enumerate(values):
                    for j, v in enumerate(row):
                        r, c = area.top + i, area.left + j
                        if v not in (None, "") and not any(b.contains(r, c) for b in old.values()):
                            raise PlacementError(
                                f"table `{name}` on sheet `{sh.name}` needs {area.ref} but {cell_ref(r, c)} holds "
                                f"{v!r}: move that content elsewhere and refresh again")

    # ---------------------------------------------------------------- sheet: rename, shrink, move
    def sheet(self, name: str, aliases: Sequence[str], index: int) -> Any:
        if name not in self._state:
            raise PlacementError(f"sheet `{name}` was not checked before writing (call prepare first)")
        st = self._state[name]
        sh = st.sheet
        if sh.name != name:
            sh.name = name
        for tname, old in st.old.items():  # 1. shrink: a table keeps at most its new size in place
            new = st.new[tname]
            kept = old.sized(min(old.height, new.height), min(old.width, new.width))
            if kept != old:
                for freed in old.minus(kept):
                    sh.range(freed.ref).clear()
                sh.tables[tname].resize(sh.range(kept.table_ref))
                st.current[tname] = kept
        pending = [t for t in st.old if st.current[t].top != st.new[t].top]
        while pending:  # 2. move whole tables (cut and paste), never onto another table
            for tname in pending:
                dest = st.current[tname].at(st.new[tname].top)
                if not any(dest.overlaps(b) for other, b in st.current.items() if other != tname):
                    sh.range(st.current[tname].ref).move(sh.range((dest.top, dest.left)))
                    st.current[tname] = dest
                    pending.remove(tname)
                    break
            else:
                raise PlacementError(f"sheet `{name}`: tables {', '.join(pending)} cannot be moved without "
                                     "overlapping; rebuild the workbook with `xladdin template`")
        for tname, target in st.new.items():  # 3. grow, before the values go in (they land inside the table)
            if st.current[tname] != target:
                sh.tables[tname].resize(sh.range(target.table_ref))
                st.current[tname] = target
        return sh

    # ---------------------------------------------------------------- cells
    def write(self, sh: Any, row: int, col: int, rows: list[list[Any]]) -> None:
        sh.range((row, col)).value = [[excel_text(v) for v in r] for r in rows]

    def number_format(self, sh: Any, row1: int, row2: int, col: int, fmt: str) -> None:
        sh.range((row1, col), (row2, col)).number_format = fmt

    def font(self, sh: Any, ref: str, *, bold: bool = False, size: float | None = None, color: str | None = None,
             fill: str | None = None, italic: bool = False) -> None:
        rng = sh.range(ref)
        rng.font.bold = bold
        rng.font.italic = italic
        if size:
            rng.font.size = size
        if color:
            rng.font.color = _hex(color)
        if fill:
            rng.color = _hex(fill)

    def column_width(self, sh: Any, col: int, width: float) -> None:
        """No-op: ``xladdin template`` set the widths (xlwings' engines do not agree on the unit)."""

    # ---------------------------------------------------------------- tables, rules, charts
    def table(self, sh: Any, ref: str, name: str, style: str) -> None:
        """The table was resized in :meth:`sheet` (before the values went in); check it is where ``ref`` says."""
        block = self._state[sh.name].current[name]
        if block.table_ref != ref:
            raise PlacementError(f"Excel table `{name}` is at {block.table_ref}, the plan says {ref}")

    def _rules(self, sh: Any, ref: str) -> Any:
        """The conditional formats of ``ref``, cleared once per refresh (the layout owns these columns)."""
        rules = sh.range(ref).conditional_formats
        if (sh.name, ref) not in self._cleared:
            rules.clear()
            self._cleared.add((sh.name, ref))
        return rules

    def color_scale(self, sh: Any, ref: str, low: str, mid: str, high: str) -> None:
        self._rules(sh, ref).add_color_scale([_hex(low), _hex(mid), _hex(high)])

    def data_bar(self, sh: Any, ref: str, color: str) -> None:
        self._rules(sh, ref).add_data_bar(_hex(color))

    def chart(self, sh: Any, plan: ChartPlan) -> None:
        """Point the sheet's chart number ``plan.layout_index`` at the table's new rows.

        Series (and secondary series) are adjacent columns (checked when the layout is read), so the
        source is one range with its header row: Excel keeps each series' formatting and axis. The
        categories are set separately (xlwings' remote engine takes no multi-area range).
        """
        cols = [*plan.series, *plan.secondary]
        chart = sh.charts[plan.layout_index]
        chart.set_source_data(sh.range((plan.header_row, cols[0]), (plan.last_row, cols[-1])), plot_by="columns")
        chart.set_x_axis_values(sh.range((plan.first_row, plan.x_col), (plan.last_row, plan.x_col)))

    def finish(self, sh: Any, plan: SheetPlan) -> None:
        for t in plan.tables:
            self.font(sh, range_ref(t.row, t.col, t.row, t.last_col), bold=True, color=self.header_font_color,
                      fill=self.header_fill)
        if plan.freeze:
            freeze_panes(sh, plan.freeze)
