"""The rules of a valid workbook layout: :class:`LayoutError` and :func:`validate_layout`.

:func:`validate_layout` runs one small check per part of the file, in the file's order -- each
sheet (:func:`check_sheet`), each of its tables (:func:`check_table`: its name, its place, its
columns, its conditional formats) and each of its charts (:func:`check_chart`) -- and raises at the
first problem, with a message naming the sheet, table or chart and the fix. The allowed values
(chart and conditional-format types, the ``*extra`` column marker) are owned here;
:mod:`~xladdin.workbook.layout` reads the file into its model and calls the checks.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from xladdin.conventions import LANGUAGES
from xladdin.data.schema import TABLES

from .refs import is_cell_ref, parse_cell

if TYPE_CHECKING:  # annotations only: layout.py imports this module
    from .layout import ChartLayout, Layout, SheetLayout, TableLayout

CHART_TYPES = ("line", "column", "bar")
#: ``signed``: flows and returns, green (< 0) / white (0) / red (> 0) around zero; ``heat``: levels, white to orange
COND_TYPES = ("signed", "heat")
#: rows above every table: 1 the sample banner, 2 the title, 3 the subtitle, 4 the notes; 5 the first table title
FIRST_TABLE_ROW = 6
#: in a conditional format's ``columns``: every data-driven column (``extra_columns``) of the table
EXTRA = "*extra"
_TABLE_NAME_RE = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.]{0,254}$")
_SHEET_BAD = set("[]:*?/\\")


class LayoutError(ValueError):
    """The layout file is inconsistent; the message names the sheet/table/chart and the fix."""


def validate_layout(layout: Layout) -> None:
    """Check names, anchors and references; raise :class:`LayoutError` naming the fix."""
    src = layout.source
    seen_sheets: set[str] = set()
    seen_names: set[str] = set()  # sheet names (either language), lower case
    seen_tables: set[str] = set()  # table keys
    table_names: set[str] = set()  # Excel table names, lower case
    for s in layout.sheets:
        check_sheet(s, src, seen_sheets, seen_names)
        placed: list[str] = []  # keys of the sheet's tables checked so far
        for t in s.tables:
            check_table(t, f"{src}: sheet `{s.key}` table `{t.key}`", placed, seen_tables, table_names)
            placed.append(t.key)
        for j, c in enumerate(s.charts):
            check_chart(c, s, f"{src}: sheet `{s.key}` chart {j + 1}", placed)
        if s.print_titles:
            check_print_titles(s, src)


def check_sheet(s: SheetLayout, src: str, seen_sheets: set[str], seen_names: set[str]) -> None:
    """A sheet key used once, sheet names Excel accepts (used once, either language), a button cell."""
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
        checked_cell(s.button_cell, f"{src}: sheet `{s.key}` button_cell")


def check_table(t: TableLayout, where: str, placed: list[str], seen_tables: set[str],
                table_names: set[str]) -> None:
    """One table: :func:`check_table_name`, :func:`check_table_place`, :func:`check_columns`,
    :func:`check_conditional` and its ``extra_columns`` header."""
    check_table_name(t, where, seen_tables, table_names)
    check_table_place(t, where, placed)
    check_columns(t, where)
    check_conditional(t, where)
    if t.extra is not None and not (t.extra.header == "text" or t.extra.header.startswith("date:")):
        raise LayoutError(f"{where}: extra_columns.header must be `text` or `date:<format>`")


def check_table_name(t: TableLayout, where: str, seen_tables: set[str], table_names: set[str]) -> None:
    """A table key used once in the layout; an Excel table name that is valid and used once."""
    if t.key in seen_tables:
        raise LayoutError(f"{where}: table key used twice")
    seen_tables.add(t.key)
    if not _TABLE_NAME_RE.match(t.name) or is_cell_ref(t.name) or t.name.upper() in ("R", "C"):
        raise LayoutError(f"{where}: `{t.name}` is not a valid Excel table name (letters, digits, _ and ., "
                          "starting with a letter; not a cell reference)")
    if t.name.lower() in table_names:
        raise LayoutError(f"{where}: Excel table name `{t.name}` is used twice")
    table_names.add(t.name.lower())


def check_table_place(t: TableLayout, where: str, placed: list[str]) -> None:
    """Exactly one of ``anchor`` (a header row from :data:`FIRST_TABLE_ROW`: rows 1-4 are the sample banner, the
    sheet's title, subtitle and notes, the table's title goes above its header) or ``below`` (an earlier table
    of the sheet); a gap of 2+."""
    if (t.anchor is None) == (t.below is None):
        raise LayoutError(f"{where}: give exactly one of `anchor` (a cell) or `below` (a table key)")
    if t.anchor is not None:
        row, _ = checked_cell(t.anchor, where)
        if row < FIRST_TABLE_ROW:
            raise LayoutError(f"{where}: anchor {t.anchor} leaves no row for the table title below the sample "
                              f"banner, the title, subtitle and notes (rows 1-4); use row >= {FIRST_TABLE_ROW}")
    elif t.below not in placed:
        raise LayoutError(f"{where}: below = `{t.below}` must name an earlier table on the same sheet")
    if t.gap < 2:
        raise LayoutError(f"{where}: gap must be >= 2 (one blank row and the title row)")


def check_columns(t: TableLayout, where: str) -> None:
    """At least one column; fields and each language's headers unique and non-empty; ``inputs`` are canonical
    tables; a ``blank`` text in both languages or in none."""
    if not t.columns:
        raise LayoutError(f"{where}: needs at least one column")
    specs = [(c.field, c.inputs, c.blank_zh, c.blank_en) for c in t.columns]
    if t.extra is not None:
        specs.append(("extra_columns", t.extra.inputs, t.extra.blank_zh, t.extra.blank_en))
    for name, inputs, zh, en in specs:
        unknown = [i for i in inputs if i not in TABLES]
        if unknown:
            raise LayoutError(f"{where} column `{name}`: inputs {', '.join(unknown)} are not canonical tables "
                              f"({', '.join(TABLES)})")
        if bool(zh) != bool(en):
            raise LayoutError(f"{where} column `{name}`: give blank_zh and blank_en together")
    for c in t.columns:
        if c.align not in ("", "left", "center", "right"):
            raise LayoutError(f"{where} column `{c.field}`: align `{c.align}` must be left, center or right")
        if c.row_sign is not None and (c.row_sign in t.fields or not isinstance(c.row_sign, str)):
            raise LayoutError(f"{where} column `{c.field}`: row_sign must name a helper field of the computed "
                              f"frame, not a column of the table (got {c.row_sign!r})")
    fields = t.fields
    if len(set(fields)) != len(fields):
        raise LayoutError(f"{where}: duplicated column field")
    for lang in LANGUAGES:
        heads = [c.header(lang) for c in t.columns]
        if len(set(heads)) != len(heads) or not all(heads):
            raise LayoutError(f"{where}: {lang} headers must be unique and non-empty")


def check_conditional(t: TableLayout, where: str) -> None:
    """Each conditional format: a known type over columns of the table (``*extra`` needs extra_columns)."""
    for c in t.conditional:
        if c.type not in COND_TYPES:
            raise LayoutError(f"{where}: conditional type `{c.type}` must be one of {', '.join(COND_TYPES)}")
        for f in c.columns:
            if f == EXTRA and t.extra is None:
                raise LayoutError(f"{where}: `{EXTRA}` needs extra_columns")
            if f != EXTRA and f not in t.fields:
                raise LayoutError(f"{where}: conditional column `{f}` is not a column of the table")


def check_chart(c: ChartLayout, s: SheetLayout, where: str, placed: list[str]) -> None:
    """One chart: a known type over a table of its sheet (:func:`check_chart_series`), placed at a cell or
    right of a table of the sheet."""
    if c.type not in CHART_TYPES:
        raise LayoutError(f"{where}: type `{c.type}` must be one of {', '.join(CHART_TYPES)}")
    if c.table not in placed:
        raise LayoutError(f"{where}: table `{c.table}` is not on this sheet")
    check_chart_series(c, s.table(c.table).fields, where)
    places = [p for p in (c.anchor, c.right_of, c.below) if p is not None]
    if len(places) != 1:
        raise LayoutError(f"{where}: give exactly one of `anchor`, `right_of` or `below`")
    if c.anchor is not None:
        checked_cell(c.anchor, where)
    elif (c.right_of or c.below) not in placed:
        raise LayoutError(f"{where}: `{c.right_of or c.below}` is not a table on this sheet")
    if c.colors and len(c.colors) != len(c.series) + len(c.secondary):
        raise LayoutError(f"{where}: give one colour per series ({len(c.series) + len(c.secondary)}), got "
                          f"{len(c.colors)}")


def check_chart_series(c: ChartLayout, fields: list[str], where: str) -> None:
    """x and every series are columns of the table; series then secondary series are adjacent, in order."""
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


def check_print_titles(s: SheetLayout, src: str) -> None:
    """The first table's header row is printed on every page: a table placed below the first one (under that
    header) must have its columns, or a page would show one table's rows under another's header; a chart must start
    below that row (a chart anchored in rows printed on every page is printed on every page)."""
    first = s.tables[0] if s.tables else None
    if first is not None and first.anchor is not None:
        header = parse_cell(first.anchor)[0]
        for j, c in enumerate(s.charts):
            ref = s.table(c.right_of) if c.right_of is not None else None
            if c.anchor is not None:
                top = parse_cell(c.anchor)[0]
            elif ref is not None and ref.anchor is not None:
                top = parse_cell(ref.anchor)[0] + c.row_offset
            else:
                continue  # below a table, or beside one placed below another: under the header row
            if top <= header:
                raise LayoutError(f"{src}: sheet `{s.key}` chart {j + 1} starts in row {top}, in the rows print_titles "
                                  f"repeats on every page (down to the header row {header}): anchor it below row "
                                  f"{header} (right_of: row_offset >= {header - top + c.row_offset + 1})")
    below_first = {first.key} if first is not None else set()
    for t in s.tables[1:]:
        if t.below in below_first:
            below_first.add(t.key)
            if t.fields != first.fields:
                raise LayoutError(f"{src}: sheet `{s.key}` table `{t.key}` lies under the header row of `{first.key}`, "
                                  "which print_titles repeats on every page, with other columns: give it an anchor "
                                  "beside that table, or set print_titles = false")


def checked_cell(ref: str, where: str) -> tuple[int, int]:
    """:func:`~xladdin.workbook.refs.parse_cell`, a bad reference raised as a :class:`LayoutError` at ``where``."""
    try:
        return parse_cell(ref)
    except ValueError as exc:
        raise LayoutError(f"{where}: {exc}") from None
