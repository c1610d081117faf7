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
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from xladdin.cells import to_cell_value
from xladdin.conventions import LANGUAGES

from .layout import ChartLayout, SheetLayout, TableLayout
from .layoutcheck import EXTRA
from .messages import note_text, say
from .refs import cell_ref, parse_cell, range_ref

#: text shown in a table that has no rows
EMPTY_TEXT = {"zh": "(无数据)", "en": "(no data)"}
#: text shown in a table that was not computed (its module or input data is missing)
MISSING_TEXT = {"zh": "(未计算)", "en": "(not computed)"}
#: a chart whose table has no rows: in the values-only report the chart is left out and this note stands at its
#: cell; in a workbook that is refreshed the chart stays (the refresh updates it in place) and its title says so
CHART_LEFT_OUT = {"zh": "(图表未绘制:{why})", "en": "(chart not drawn: {why})"}
CHART_EMPTY_TITLE = {"zh": "{title}(无数据:{why})", "en": "{title} (no data: {why})"}
CHART_WHY = {"missing": {"zh": "表格未计算", "en": "the table was not computed"},
             "empty": {"zh": "表格无数据", "en": "the table has no rows"}}
#: the sheet's notes row (why columns are blank, what the colours mean), under the subtitle
NOTES_ROW = 4
#: points per line of text (10 pt type): the notes row and rows of wrapped text are as high as their lines
NOTES_LINE_HEIGHT = 14.0


def text_width(text: str) -> int:
    """Width of ``text`` in column-width units: CJK (wide) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


#: column-width units a cell's inner margins take from a line (about 2 px each side; a unit is 7 px)
CELL_PADDING = 0.6


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def _tokens(text: str) -> list[str]:
    """Where a line may break, as a spreadsheet wraps: around every wide (CJK) character, after the spaces that end
    a word of other characters (each word keeps its trailing spaces)."""
    out, word = [], ""
    for ch in text:
        if _wide(ch):
            out += [word, ch] if word else [ch]
            word = ""
        elif ch == " " and word.strip():
            out.append(word + ch)
            word = ""
        else:
            word += ch
    return out + [word] if word else out


def lines_of(text: Any, width: float, fill: float = 1.0) -> int:
    """Lines ``text`` wraps to in a column ``width`` wide (at least 1): the lines filled word by word as the
    spreadsheet does (:func:`_tokens`; a word wider than a line is broken), each line ``width * fill`` less
    :data:`CELL_PADDING` wide in :func:`text_width` units; ``fill`` < 1 for wider type (bold)."""
    if not isinstance(text, str) or not text:
        return 1
    room = max(width * fill - CELL_PADDING, 1.0)
    lines = 0
    for paragraph in text.split("\n"):
        lines, used = lines + 1, 0.0
        for tok in _tokens(paragraph):
            need = text_width(tok.rstrip())
            if used and used + need > room:  # the word goes to the next line
                lines, used = lines + 1, 0.0
            while need > room:  # a word wider than a line fills lines of its own
                lines, need = lines + 1, need - room
            used += need + (text_width(tok) - text_width(tok.rstrip()))
    return max(1, lines)


@dataclass
class Blank:
    """A column (or a run of data-driven columns) left blank, and why."""

    headers: list[str]
    why: str


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
    #: (type, range ref, thresholds): ``signed`` scales carry (-m, 0, m), m the largest absolute value
    conditional: list[tuple[str, str, tuple[float, float, float] | None]]
    placeholder: str | None = None  # text when empty / not computed
    wraps: list[bool] = field(default_factory=list)
    hidden: list[bool] = field(default_factory=list)
    aligns: list[str] = field(default_factory=list)
    #: (row, column, format) of cells whose format is their row's (a table of mixed figures)
    cell_formats: list[tuple[int, int, str]] = field(default_factory=list)
    #: columns whose cells take their row's direction as text colour (``row_sign``), and (row, column, +1 / -1) of
    #: the cells with one
    sign_columns: list[int] = field(default_factory=list)
    cell_signs: list[tuple[int, int, int]] = field(default_factory=list)
    #: columns left blank (every row empty) and why
    blanks: list[Blank] = field(default_factory=list)

    @property
    def header_lines(self) -> int:
        """Lines the longest header wraps to in its column."""
        return max([lines_of(h, w, 0.75) for h, w in zip(self.headers, self.widths)] + [1])  # bold

    def row_heights(self) -> list[tuple[int, int, float]]:
        """(first row, last row, points) of the data rows, as high as their wrapped text needs; runs of equal
        heights together. Empty for a table without wrapped columns."""
        wrapped = [j for j, w in enumerate(self.wraps) if w]
        if not wrapped or not self.rows:
            return []
        out: list[tuple[int, int, float]] = []
        for i, r in enumerate(self.rows):
            h = NOTES_LINE_HEIGHT * max(lines_of(r[j], self.widths[j]) for j in wrapped)
            row = self.row + 1 + i
            if out and out[-1][2] == h and out[-1][1] == row - 1:
                out[-1] = (out[-1][0], row, h)
            else:
                out.append((row, row, h))
        return out

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
    colors: tuple[str, ...] = ()
    overlap: int | None = None
    #: a plotted column is hidden (a helper column): the chart must plot hidden cells
    plots_hidden: bool = False
    #: its table has no rows: nothing to plot (the title says so, :data:`CHART_EMPTY_TITLE`)
    empty: bool = False
    #: not drawn (an empty chart of the values-only report): ``note`` stands at the anchor cell instead
    left_out: bool = False
    note: str = ""


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
    #: the banner is printed at the top of every page too (the values-only report: a template gets none, as the
    #: Excel refresh could not take a page header off again on real data)
    page_banner: bool = False
    #: row 4: why columns are blank and what the colours mean ("" when there is nothing to say)
    notes: str = ""
    #: the rows printed at the top of every page, first and last (None: none): the first table's header row; in a
    #: workbook that is refreshed (not the values-only report) from row 1 down to it, so that the sample banner of row
    #: 1 is on every page and goes with it when a refresh on real data empties row 1 (no page header, which the
    #: Excel refresh could not take off again)
    print_rows: tuple[int, int] | None = None

    def column_widths(self) -> dict[int, float]:
        """Column -> its width on the sheet (the widest table's there); hidden columns left out."""
        out: dict[int, float] = {}
        for t in self.tables:
            for j, w in enumerate(t.widths):
                if not (t.hidden and t.hidden[j]):
                    out[t.col + j] = max(out.get(t.col + j, 0.0), w)
        return out

    @property
    def notes_height(self) -> float:
        """Height of the notes row: one line per width of the sheet's tables (CJK characters count 2)."""
        if not self.notes:
            return NOTES_LINE_HEIGHT
        return NOTES_LINE_HEIGHT * lines_of(self.notes, sum(self.column_widths().values()))

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
               source_note: str | None = None, inputs: Mapping[str, str] | None = None) -> TablePlan:
    """Headers, formats, values and conditional ranges of one table anchored at (row, col).

    ``df`` has one column per layout field (extra columns after them when the layout allows; the fields a
    column's ``row_format`` names too); None means "not computed" and yields a placeholder row. ``inputs``:
    canonical table -> why it limits what is shown (missing, behind), for the notes on blank columns.
    """
    where = f"table `{t.key}`"
    fields: list[Any] = list(t.fields)
    headers = [c.header(language) for c in t.columns]
    formats = [c.format for c in t.columns]
    widths = [c.width for c in t.columns]
    wraps = [c.wrap for c in t.columns]
    hidden = [c.hidden for c in t.columns]
    aligns = [c.align for c in t.columns]
    placeholder = None
    if df is None:
        rows: list[list[Any]] = []
        placeholder = MISSING_TEXT[language] + (f" {note_text(source_note, language)}" if source_note else "")
    else:
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"{where}: expected a DataFrame, got {type(df).__name__}")
        helpers = {c.row_format for c in t.columns if c.row_format} | {c.row_sign for c in t.columns if c.row_sign}
        needed = list(t.fields) + sorted(helpers)
        missing = [f for f in needed if f not in df.columns]
        if missing:
            raise ValueError(f"{where}: column(s) {', '.join(map(str, missing))} missing from the computed frame "
                             f"(has {', '.join(map(str, df.columns))})")
        extra_cols = [c for c in df.columns if c not in t.fields and c not in helpers] if t.extra is not None else []
        for c in extra_cols:
            fields.append(c)
            headers.append(t.extra.label(c))
            formats.append(t.extra.format)
            widths.append(t.extra.width)
            wraps.append(False)
            hidden.append(False)
            aligns.append("")
        if len(set(headers)) != len(headers):
            raise ValueError(f"{where}: duplicated headers {headers}")
        data = df[fields]
        rows = [[to_cell_value(v) for v in rec] for rec in data.itertuples(index=False, name=None)]
        if not rows:
            placeholder = EMPTY_TEXT[language]
    plan = TablePlan(key=t.key, name=t.name, style=t.style, title=t.title(language), title_row=row - 1, row=row,
                     col=col, headers=headers, fields=fields, formats=formats, widths=widths, rows=rows,
                     conditional=[], placeholder=placeholder, wraps=wraps, hidden=hidden, aligns=aligns)
    if rows:
        plan.conditional = _conditional(t, plan)
        plan.cell_formats = [(row + 1 + i, plan.column_of(c.field), str(fmt))
                             for c in t.columns if c.row_format
                             for i, fmt in enumerate(df[c.row_format]) if isinstance(fmt, str) and fmt]
        plan.blanks = _blanks(t, plan, language, inputs or {})
        plan.sign_columns = [plan.column_of(c.field) for c in t.columns if c.row_sign]
        plan.cell_signs = [(row + 1 + i, plan.column_of(c.field), 1 if v > 0 else -1)
                           for c in t.columns if c.row_sign
                           for i, v in enumerate(df[c.row_sign]) if _number(v) and v != 0]
    return plan


def _number(v: Any) -> bool:
    """A finite number (not a bool, NaN or None)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _conditional(t: TableLayout, plan: TablePlan) -> list[tuple[str, str, tuple[float, float, float] | None]]:
    """The table's colour scales: one rule per column (one over all data-driven columns, so groups share a
    scale); a ``signed`` rule spans -m..m around 0 (m: the largest absolute value; none when every value is 0)."""
    out: list[tuple[str, str, tuple[float, float, float] | None]] = []
    first, last = plan.row + 1, plan.row + len(plan.rows)
    for cond in t.conditional:
        for f in cond.columns:
            if f == EXTRA:
                if len(plan.fields) == len(t.fields):
                    continue
                c1, c2 = plan.col + len(t.fields), plan.last_col
            else:
                c1 = c2 = plan.column_of(f)
            thresholds = None
            if cond.type == "signed":
                values = [abs(v) for r in plan.rows for v in r[c1 - plan.col:c2 - plan.col + 1]
                          if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
                m = max(values, default=0.0)
                if m == 0:
                    continue
                thresholds = (-m, 0.0, m)
            out.append((cond.type, range_ref(first, c1, last, c2), thresholds))
    return out


def _blanks(t: TableLayout, plan: TablePlan, language: str, inputs: Mapping[str, str]) -> list[Blank]:
    """Columns whose every row is empty, each with why: its inputs that are missing or behind, else the
    layout's ``blank`` text, else "no value this period"; the data-driven columns as one run."""
    def empty(j: int) -> bool:
        return all(r[j] is None or r[j] == "" for r in plan.rows)

    def why(spec: Any) -> str:
        limited = [inputs[i] for i in spec.inputs if i in inputs]
        if limited:
            return say("sep.items", language).join(limited)
        return spec.blank(language) or say("notes.no_value", language)

    out = [Blank([plan.headers[j]], why(c)) for j, c in enumerate(t.columns) if not c.hidden and empty(j)]
    extra = [j for j in range(len(t.columns), len(plan.fields)) if empty(j)]
    if extra:
        heads = [plan.headers[j] for j in extra]
        out.append(Blank(heads if len(heads) <= 2 else [f"{heads[0]} … {heads[-1]}"], why(t.extra)))
    return out


def sheet_notes(plans: list[TablePlan], kinds: set[str], language: str, meta: Mapping[str, Any]) -> str:
    """Row 4 of a sheet: the blank columns with their reason (columns with one reason together, a column of two
    tables once; named with its table where another table of the sheet shows that column filled), then the
    legend of each kind of colour scale shown."""
    by_why: dict[str, list[str]] = {}
    blank = {id(t): {h for b in t.blanks for h in b.headers} for t in plans}
    for t in plans:
        # a column another table of the sheet shows filled is named with its table ("月度分组 2024-11" is full above)
        shown = {h for o in plans if o is not t and o.rows for h in o.headers if h not in blank[id(o)]}
        for b in t.blanks:
            heads = by_why.setdefault(b.why, [])
            labels = [say("notes.of_table", language, table=t.title, column=h) if h in shown and t.title else h
                      for h in b.headers]
            heads += [h for h in labels if h not in heads]
    items = [say("notes.blank", language, columns=say("sep.list", language).join(heads), why=why)
             for why, heads in by_why.items()]
    items += [meta.get(f"legend_{kind}_{language}", "") for kind in ("signed", "heat") if kind in kinds]
    items = [i for i in items if i]
    return say("notes.prefix", language) + say("notes.sep", language).join(items) if items else ""


def chart_cell(c: ChartLayout, where: Mapping[str, tuple[int, int, int, int]]) -> str:
    """The anchor cell of chart ``c``: its own, or beside / below its table, given each table's (header row, last
    row, first column, last column) in ``where`` (the plan's, or the blocks a refresh finds)."""
    if c.anchor is not None:
        return c.anchor
    if c.right_of is not None:
        row, _, _, last_col = where[c.right_of]
        return cell_ref(row + c.row_offset, last_col + 1 + c.gap)
    _, last_row, col, _ = where[c.below]
    return cell_ref(last_row + 1 + c.gap, col)


def is_left_out_note(value: Any) -> bool:
    """Whether a cell holds the note a values-only report puts where it left an empty chart out (either language)."""
    return isinstance(value, str) and value.startswith(tuple(t.split("{")[0] for t in CHART_LEFT_OUT.values()))


def plan_sheet(s: SheetLayout, tables: Mapping[str, pd.DataFrame | None], language: str,
               subtitle: str = "", notes: Mapping[str, str] | None = None, banner: str | None = None,
               banner_large: bool = False, inputs: Mapping[str, str] | None = None, snapshot: bool = False,
               meta: Mapping[str, Any] | None = None) -> SheetPlan:
    """Place every table and chart of sheet ``s``; pure (no Excel).

    ``notes``: table key -> why it was not computed; ``banner``: the sample banner of row 1; ``inputs``:
    canonical table -> why it limits the tables (for the notes on blank columns); ``snapshot``: the
    values-only report (its own title where the layout gives one); ``meta``: the layout's ``[meta]`` (the
    colour legends).
    """
    notes = notes or {}
    plans: dict[str, TablePlan] = {}
    for t in s.tables:
        if t.anchor is not None:
            row, col = parse_cell(t.anchor)
        else:
            above = plans[t.below]
            row, col = above.last_row + t.gap + 1, above.col
        plans[t.key] = plan_table(t, tables.get(t.key), row, col, language, notes.get(t.key), inputs)
    # tables must not overlap
    items = list(plans.values())
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if not (a.last_row < b.title_row or b.last_row < a.title_row or a.last_col < b.col or b.last_col < a.col):
                raise ValueError(f"sheet `{s.key}`: table `{a.key}` ({a.ref}) overlaps `{b.key}` ({b.ref}); "
                                 "move an anchor in the layout")
    first = plans[s.tables[0].key] if s.tables else None
    print_rows = None
    if first is not None and s.print_titles:
        print_rows = (first.row, first.row) if snapshot else (1, first.row)
    charts = []
    where = {k: (p.row, p.last_row, p.col, p.last_col) for k, p in plans.items()}
    for position, c in enumerate(s.charts):
        tp = plans[c.table]
        anchor = chart_cell(c, where)
        if print_rows is not None and parse_cell(anchor)[0] <= print_rows[1]:
            # a chart anchored in the rows printed on every page is printed on every page (LibreOffice)
            raise ValueError(f"sheet `{s.key}`: chart {position + 1} at {anchor} is in the rows printed on every page "
                             f"({print_rows[0]}-{print_rows[1]}); anchor it below row {print_rows[1]}")
        # an empty table's chart: left out of the values-only report (a note in its place, which tells a later
        # refresh it is missing); in a refreshed workbook drawn over the placeholder row with a title saying it is
        # empty (the Excel refresh can only update a chart the template drew), so each layout chart is there, in the
        # layout's order, which is how both refreshes tell them from the user's
        empty = not tp.rows
        why = CHART_WHY["missing" if tp.placeholder and tp.placeholder.startswith(MISSING_TEXT[language]) else
                        "empty"][language]
        title = c.text("title", language)
        x_col = tp.column_of(c.x)
        x_is_date = any(isinstance(r[tp.fields.index(c.x)], dt.datetime) for r in tp.rows[:5])
        plotted = [*c.series, *c.secondary]
        charts.append(ChartPlan(
            type=c.type, title=CHART_EMPTY_TITLE[language].format(title=title, why=why) if empty else title,
            anchor=anchor, width=c.width, height=c.height,
            header_row=tp.row, first_row=tp.row + 1, last_row=tp.last_row, x_col=x_col,
            x_is_date=x_is_date, series=[tp.column_of(f) for f in c.series],
            secondary=[tp.column_of(f) for f in c.secondary], y_title=c.text("y_title", language),
            y_format=c.y_format, y2_title=c.text("y2_title", language), y2_format=c.y2_format,
            layout_index=position, colors=c.colors, overlap=c.overlap,
            plots_hidden=any(tp.hidden[tp.fields.index(f)] for f in plotted), empty=empty,
            left_out=empty and snapshot, note=CHART_LEFT_OUT[language].format(why=why) if empty else ""))
    freeze = None
    if first is not None:
        freeze = cell_ref(first.row + 1, (first.col + s.freeze_cols) if s.freeze_cols else 1)
    other = [s.name(lang) for lang in LANGUAGES if lang != language]
    kinds = {kind for t in items for kind, _, _ in t.conditional}
    return SheetPlan(key=s.key, name=s.name(language), aliases=other, title=s.title(language, snapshot),
                     subtitle=subtitle, tables=items, charts=charts, freeze=freeze, landscape=s.landscape,
                     fit_width=s.fit_width, tab_color=s.tab_color, button_cell=s.button_cell, banner=banner,
                     banner_large=banner_large, page_banner=bool(banner) and snapshot,
                     notes=sheet_notes(items, kinds, language, meta or {}),
                     print_rows=print_rows)
