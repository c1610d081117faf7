"""Rendering: apply the plans of a layout's sheets through a *writer* (:class:`Writer`).

:func:`render` plans every sheet first (:func:`~xladdin.workbook.plan.plan_sheet`), lets a writer that
checks the workbook do so (``prepare``), then writes each sheet (:func:`render_sheet`): titles,
headers and values, number formats, column widths, the Excel table, conditional formats, charts.
The writers: :class:`~xladdin.workbook.openpyxl_writer.OpenpyxlWriter` (the CLI, any OS) and
:class:`~xladdin.workbook.xlwings_writer.XlwingsWriter` (the Refresh button, xlwings Lite).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

from xladdin.conventions import DEFAULT_LANGUAGE, LANGUAGES

from .layout import Layout, load_layout
from .placement import sheet_rows
from .plan import NOTES_ROW, ChartPlan, SheetPlan, TablePlan, plan_sheet
from .refs import cell_ref, range_ref


class Writer(Protocol):
    """What :func:`render` needs from a workbook backend (rows/columns are 1-based)."""

    def sheet(self, name: str, aliases: Sequence[str], index: int) -> Any: ...
    def write(self, sh: Any, row: int, col: int, rows: list[list[Any]]) -> None: ...
    def clear(self, sh: Any, ref: str, formats: bool = True) -> None: ...
    def number_format(self, sh: Any, row1: int, row2: int, col: int, fmt: str) -> None: ...
    def font(self, sh: Any, ref: str, *, bold: bool = False, size: float | None = None,
             color: str | None = None, fill: str | None = None, italic: bool = False) -> None: ...
    def wrap(self, sh: Any, ref: str) -> None: ...
    def merge(self, sh: Any, ref: str) -> None: ...
    def row_height(self, sh: Any, row: int, height: float, last: int | None = None) -> None: ...
    def column_width(self, sh: Any, col: int, width: float, hidden: bool = False) -> None: ...
    def table(self, sh: Any, ref: str, name: str, style: str) -> None: ...
    def color_scale(self, sh: Any, ref: str, colors: tuple[str, str, str],
                    thresholds: tuple[float, float, float] | None = None) -> None: ...
    def chart(self, sh: Any, plan: ChartPlan) -> None: ...
    def finish(self, sh: Any, plan: SheetPlan) -> None: ...
    # optional: ``prepare(plans, layout)`` is called with every sheet's plan before the first write


def render_sheet(plan: SheetPlan, writer: Writer, index: int, meta: Mapping[str, Any]) -> Any:
    """Apply one :class:`SheetPlan` through ``writer``; returns the writer's sheet handle."""
    sh = writer.sheet(plan.name, plan.aliases, index)
    title_color = meta.get("title_color", "1F4E78")
    write_banner(plan, writer, sh, meta)
    # title, subtitle, notes: values cleared first (a blank subtitle leaves none of the last refresh's)
    writer.clear(sh, sheet_rows(plan)[1].ref, formats=False)
    if plan.title:
        writer.write(sh, 2, 2, [[plan.title]])
        writer.font(sh, "B2", bold=True, size=14, color=title_color)
    if plan.subtitle:
        writer.write(sh, 3, 2, [[plan.subtitle]])
        writer.font(sh, "B3", italic=True, color="595959")
    write_notes(plan, writer, sh)
    widths: dict[int, float] = {1: 2.0}
    hidden: set[int] = set()
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
            if t.rows and t.wraps[j]:
                writer.wrap(sh, range_ref(t.row + 1, c, t.row + len(t.rows), c))
            widths[c] = max(widths.get(c, 0.0), t.widths[j])
            if t.hidden[j]:
                hidden.add(c)
        for r, c, fmt in t.cell_formats:
            writer.number_format(sh, r, r, c, fmt)
        write_signs(t, writer, sh, meta)
        for r1, r2, height in t.row_heights():
            writer.row_height(sh, r1, height, r2)
        writer.table(sh, t.ref, t.name, t.style)
        for kind, ref, thresholds in t.conditional:
            writer.color_scale(sh, ref, tuple(meta[f"{kind}_{part}"] for part in ("low", "mid", "high")), thresholds)
    for c, w in sorted(widths.items()):
        writer.column_width(sh, c, w, c in hidden)
    for ch in plan.charts:
        writer.chart(sh, ch)
    writer.finish(sh, plan)
    return sh


def write_banner(plan: SheetPlan, writer: Writer, sh: Any, meta: Mapping[str, Any]) -> None:
    """Row 1: cleared (a refresh on real data removes the banner a sample run left), then the sample banner
    when the plan has one -- bold, white on red across the sheet's tables, larger on the first sheet."""
    writer.clear(sh, sheet_rows(plan)[0].ref)
    if plan.banner:
        writer.write(sh, 1, 2, [[plan.banner]])
        writer.font(sh, range_ref(1, 2, 1, plan.width), bold=True, size=14 if plan.banner_large else 11,
                    color=meta.get("banner_font_color", "FFFFFF"), fill=meta.get("banner_fill", "C00000"))


#: text colour of a cell whose row has no direction (a colour set by the last refresh is taken off)
PLAIN_TEXT = "000000"


def write_signs(t: TablePlan, writer: Writer, sh: Any, meta: Mapping[str, Any]) -> None:
    """The text colour of the ``row_sign`` columns' cells: red for an inflow / rise, green for an outflow / fall
    (``[meta] inflow_color`` / ``outflow_color``), plain for the other rows."""
    if not t.rows:
        return
    for c in t.sign_columns:
        writer.font(sh, range_ref(t.row + 1, c, t.row + len(t.rows), c), color=PLAIN_TEXT)
    for r, c, sign in t.cell_signs:
        writer.font(sh, cell_ref(r, c), color=meta.get("inflow_color" if sign > 0 else "outflow_color"))


def write_notes(plan: SheetPlan, writer: Writer, sh: Any) -> None:
    """Row 4 (cleared with rows 2-3): why columns are blank and what the colours mean, wrapped across the
    sheet's tables, the row as high as the text needs."""
    ref = range_ref(NOTES_ROW, 2, NOTES_ROW, plan.width)
    if plan.notes:
        writer.write(sh, NOTES_ROW, 2, [[plan.notes]])
        writer.font(sh, cell_ref(NOTES_ROW, 2), color="7F6000")
    writer.merge(sh, ref)
    writer.wrap(sh, ref)
    writer.row_height(sh, NOTES_ROW, plan.notes_height)


def sample_banner(layout: Layout, language: str) -> str:
    """The sample banner's text in ``language`` (``[meta] sample_banner_<language>`` of the layout)."""
    text = layout.m(f"sample_banner_{language}")
    if not text:
        raise ValueError(f"{layout.source}: [meta] sample_banner_{language} is missing (the sample banner's text)")
    return text


def render(tables: Mapping[str, pd.DataFrame | None], writer: Writer, layout: Layout | None = None,
           language: str = DEFAULT_LANGUAGE, subtitles: Mapping[str, str] | None = None,
           notes: Mapping[str, str] | None = None, sheets: Sequence[str] | None = None,
           progress: Any = None, sample: bool = False, inputs: Mapping[str, str] | None = None,
           snapshot: bool = False) -> list[SheetPlan]:
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
    sample : bool
        The tables come from the embedded sample (``Market.sample``): every sheet gets the sample banner in
        row 1 (:func:`write_banner`), the first sheet the large one; otherwise row 1 is left empty.
    inputs : mapping, optional
        Canonical table -> why it limits the tables (missing, behind): the notes on blank columns name it.
    snapshot : bool
        The values-only report: sheets with a ``report_title`` in the layout show it (no Refresh there).

    Returns
    -------
    list of SheetPlan
        What was written, for tests and messages.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    layout = layout or load_layout()
    subtitles = subtitles or {}
    banner = sample_banner(layout, language) if sample else None
    indexed = [(index, plan_sheet(s, tables, language, subtitles.get(s.subtitle, ""), notes, banner, index == 0,
                                  inputs, snapshot, layout.meta))
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

