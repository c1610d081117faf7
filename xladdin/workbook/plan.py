"""Planning: where each computed table and chart of a layout sheet goes, and what it writes (pure, no Excel).

:func:`plan_sheet` turns a :class:`~xladdin.workbook.layout.SheetLayout` and the computed tables
(key -> DataFrame with the layout's fields as columns, or None when not computed) into a
:class:`SheetPlan`: each table's title row, header row, headers, number formats, cell values
(:func:`xladdin.cells.to_cell_value`) and conditional-format ranges (:class:`TablePlan`), and each
chart's category and series columns (:class:`ChartPlan`). :mod:`~xladdin.workbook.render` applies the
plans through a writer; the xlwings writer also checks an open workbook against them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from xladdin.cells import to_cell_value
from xladdin.conventions import LANGUAGES

from .layout import SheetLayout, TableLayout
from .layoutcheck import EXTRA
from .refs import cell_ref, parse_cell, range_ref

#: text shown in a table that has no rows
EMPTY_TEXT = {"zh": "(无数据)", "en": "(no data)"}
#: text shown in a table that was not computed (its module or input data is missing)
MISSING_TEXT = {"zh": "(未计算)", "en": "(not computed)"}


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
    #: the sample banner of row 1 (None on real data) and whether it is the large one (the first sheet)
    banner: str | None = None
    banner_large: bool = False

    @property
    def width(self) -> int:
        """The last column any table of the sheet uses (at least B)."""
        return max([t.last_col for t in self.tables] + [2])

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
               subtitle: str = "", notes: Mapping[str, str] | None = None, banner: str | None = None,
               banner_large: bool = False) -> SheetPlan:
    """Place every table and chart of sheet ``s``; pure (no Excel). ``banner``: the sample banner of row 1."""
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
                     fit_width=s.fit_width, tab_color=s.tab_color, button_cell=s.button_cell, banner=banner,
                     banner_large=banner_large)

