"""The openpyxl writer: renders a layout into an ``openpyxl.Workbook`` (the CLI's template, refresh, report)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.text import RichText
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, OneCellAnchor
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RichTextProperties
from openpyxl.drawing.xdr import XDRPositiveSize2D
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE, BUILTIN_FORMATS_REVERSE
from openpyxl.utils.units import cm_to_EMU
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableStyleInfo

from xladdin.conventions import LANGUAGES

from .layout import Layout
from .placement import (
    Block,
    PlacementError,
    block_of,
    check_free_cells,
    find_tables,
    left_out_charts,
    sheet_rows,
)
from .plan import NOTES_LINE_HEIGHT, ChartPlan, SheetPlan
from .refs import col_letter, formula_like, parse_cell, parse_range


@dataclass
class _Sheet:
    """A layout sheet found in the workbook before the first write (:meth:`OpenpyxlWriter.prepare`)."""

    ws: Any
    old: dict[str, Block]  # layout table name -> its block in the workbook (empty: a fresh sheet)
    owned: list[Block]  # the tables' blocks, where they are and where they go
    layout_charts: int  # the sheet's first charts that are the layout's (the others are the user's)
    rows: tuple[Block, ...] = ()  # the sheet's own rows above the tables (banner, title, subtitle, notes)
    #: the layout charts a values-only report left out (position -> the cell of the note in its place)
    left_out: dict[int, tuple[int, int]] = field(default_factory=dict)
    user_charts: list[Any] = field(default_factory=list)
    made: dict[int, Any] = field(default_factory=dict)  # layout position -> the chart drawn now


class OpenpyxlWriter:
    """Writer over an ``openpyxl.Workbook`` (new, or loaded with ``keep_vba=True`` for an .xlsm).

    A sheet of the layout that the workbook already has (found by its name in either language) is kept, and
    only what the layout owns on it is rewritten (:mod:`~xladdin.workbook.placement`): the tables' blocks, the
    sheet's own rows above them (sample banner, title, subtitle, notes), the layout's charts and the conditional
    formats inside the tables. The user's cells, formulas,
    comments, merged ranges, charts and conditional formats elsewhere, column widths and row heights survive,
    as in the Excel refresh; the same checks refuse a moved or missing table, or user content in a table's
    way, before anything is written (:meth:`prepare`). The sheet's VBA code name and the Refresh button
    (legacy VML drawing) survive too. Sheets not in the layout (``xlwings.conf``, user sheets) are never
    touched. A sheet the workbook does not have, or that holds none of its layout tables yet (the
    template's skeleton), is written whole.
    """

    def __init__(self, wb: Any, font_name: str | None = None, font_size: float | None = None,
                 header_fill: str = "1F4E78", header_font_color: str = "FFFFFF", sample_banners: Sequence[str] = (),
                 banner_color: str = "C00000"):
        self.wb = wb
        self.sample_banners = tuple(sample_banners)  # a page header holding one of them is the writer's own
        self.banner_color = banner_color
        self.font_name = font_name
        self.font_size = font_size
        self.header_fill = header_fill
        self.header_font_color = header_font_color
        self._found: dict[str, _Sheet] = {}
        self._fresh: set[int] = set()  # id() of the worksheets written whole

    @classmethod
    def for_layout(cls, wb: Any, layout: Layout) -> OpenpyxlWriter:
        """A writer using the layout's fonts and header colours (``[meta]``)."""
        return cls(wb, font_name=layout.m("font_name"), font_size=layout.m("font_size"),
                   header_fill=layout.m("header_fill", "1F4E78"),
                   header_font_color=layout.m("header_font_color", "FFFFFF"),
                   sample_banners=[b for b in (layout.m(f"sample_banner_{lang}") for lang in LANGUAGES) if b],
                   banner_color=layout.m("banner_fill", "C00000"))

    # sheets
    def _existing(self, name: str, aliases: Sequence[str]) -> Any:
        return next((self.wb[n] for n in [name, *aliases] if n in self.wb.sheetnames), None)

    def prepare(self, plans: Sequence[SheetPlan], layout: Layout) -> None:
        """Find each plan's sheet and tables; raise :class:`~xladdin.workbook.placement.PlacementError` (nothing
        written) when a table was moved, deleted or reshaped, a layout chart deleted, or user content is in the
        cells a table moves or grows into -- the Excel refresh's checks."""
        found = {}
        for plan in plans:
            ws = self._existing(plan.name, plan.aliases)
            if ws is None:
                continue
            spec = layout.sheet(plan.key)
            tables = dict(ws.tables.items())  # name -> range
            fresh = not any(t.name in tables for t in plan.tables)
            old = {} if fresh else find_tables(ws.title, tables, plan, spec)
            new = {t.name: block_of(t) for t in plan.tables}
            check_free_cells(ws.title, old, new, lambda b, ws=ws: _values(ws, b))
            left_out = {} if fresh else left_out_charts(spec, plan, old, lambda r, c, ws=ws: _values(
                ws, Block(r, c, r, c))[0][0])
            drawn = 0 if fresh else len(spec.charts) - len(left_out)
            if len(ws._charts) < drawn:
                raise PlacementError(f"sheet `{ws.title}` has {len(ws._charts)} chart(s), the layout draws "
                                     f"{drawn}: a chart was deleted; rebuild the workbook with `xladdin template`")
            found[plan.name] = _Sheet(ws, old, [*old.values(), *new.values()], drawn, sheet_rows(plan), left_out)
        self._found = found

    def sheet(self, name: str, aliases: Sequence[str], index: int) -> Any:
        wb = self.wb
        ws = self._existing(name, aliases)
        if ws is None:
            ws = wb.create_sheet(name)
        elif ws.title != name:
            ws.title = name
        st = self._found.get(name)
        if st is None or not st.old:
            self._fresh.add(id(ws))
        if st is not None:
            self._clear_owned(ws, st)
        current = wb.sheetnames.index(ws.title)
        target = min(index, len(wb.sheetnames) - 1)
        if current != target:
            wb.move_sheet(ws, offset=target - current)
        return ws

    def _clear_owned(self, ws: Any, st: _Sheet) -> None:
        """Remove what the layout owns on ``ws``: the cells of the tables' old blocks (values, formats,
        comments), the layout's tables, its charts (kept aside: :meth:`finish` puts back the user's, after the
        layout's, and a layout chart not drawn this time), the merged ranges that touch a table's block or the
        sheet's own rows (the notes row is merged again at the tables' width now) and the conditional formats that
        touch a table's block. The own rows' values are cleared by the renderer (``clear``)."""
        merged = [*st.owned, *st.rows]
        for rng in [m for m in ws.merged_cells.ranges if any(_touches(b, m.bounds) for b in merged)]:
            ws.unmerge_cells(str(rng))
        for block in st.old.values():
            for key in [k for k in ws._cells if block.contains(*k)]:
                del ws._cells[key]
        for t in st.old:
            del ws.tables[t]
        for cell in st.left_out.values():  # the notes standing for charts left out: written again if still so
            ws._cells.pop(cell, None)
        st.user_charts = list(ws._charts[st.layout_charts:])  # the layout's are all drawn again (or left out)
        ws._charts = []
        kept = ConditionalFormattingList()
        for cf in ws.conditional_formatting:
            if not any(_touches(b, r.bounds) for b in st.owned for r in cf.sqref.ranges):
                for rule in cf.rules:
                    kept.add(str(cf.sqref), rule)
        ws.conditional_formatting = kept

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

    def clear(self, ws: Any, ref: str, formats: bool = True) -> None:
        """Remove the cells of ``ref`` (values and, with ``formats``, their formats); cells never written stay absent."""
        r1, c1, r2, c2 = parse_range(ref)
        for key in [k for k in ws._cells if r1 <= k[0] <= r2 and c1 <= k[1] <= c2]:
            if formats:
                del ws._cells[key]
            else:
                ws._cells[key].value = None

    def wrap(self, ws: Any, ref: str) -> None:
        """Text of ``ref`` wraps (top-aligned) inside its column; the row grows to show it."""
        r1, c1, r2, c2 = parse_range(ref)
        alignment = Alignment(wrap_text=True, vertical="top")
        index = _style_index(self.wb, "_alignments", alignment)
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                _set_style(ws.cell(row=r, column=c), "alignmentId", index, "alignment", alignment)

    def merge(self, ws: Any, ref: str) -> None:
        if ":" in ref:
            ws.merge_cells(ref)

    def row_height(self, ws: Any, row: int, height: float, last: int | None = None) -> None:
        """Rows ``row`` .. ``last`` (default ``row``) ``height`` points high."""
        for r in range(row, (last or row) + 1):
            ws.row_dimensions[r].height = height

    def number_format(self, ws: Any, row1: int, row2: int, col: int, fmt: str) -> None:
        fmt_id = BUILTIN_FORMATS_REVERSE.get(fmt)  # the id openpyxl's ``cell.number_format = fmt`` stores
        if fmt_id is None:
            added = _style_index(self.wb, "_number_formats", fmt)
            fmt_id = None if added is None else added + BUILTIN_FORMATS_MAX_SIZE
        for r in range(row1, row2 + 1):
            _set_style(ws.cell(row=r, column=col), "numFmtId", fmt_id, "number_format", fmt)

    def font(self, ws: Any, ref: str, *, bold: bool = False, size: float | None = None, color: str | None = None,
             fill: str | None = None, italic: bool = False) -> None:
        font = self._font(bold=bold, italic=italic, size=size or self.font_size, color=color)
        font_id = _style_index(self.wb, "_fonts", font)
        pattern = PatternFill("solid", fgColor=fill) if fill else None
        fill_id = _style_index(self.wb, "_fills", pattern) if fill else None
        for row in ws[ref] if ":" in ref else [[ws[ref]]]:
            for cell in row:
                _set_style(cell, "fontId", font_id, "font", font)
                if fill:
                    _set_style(cell, "fillId", fill_id, "fill", pattern)

    def column_width(self, ws: Any, col: int, width: float, hidden: bool = False) -> None:
        """Set on a sheet written whole; a kept sheet keeps its widths and hidden columns (the user's, as in the
        Excel refresh: the template set them)."""
        if id(ws) in self._fresh:
            dim = ws.column_dimensions[col_letter(col)]
            dim.width = width
            dim.hidden = hidden

    def table(self, ws: Any, ref: str, name: str, style: str) -> None:
        tab = Table(displayName=name, ref=ref)
        tab.tableStyleInfo = TableStyleInfo(name=style, showRowStripes=True, showColumnStripes=False,
                                            showFirstColumn=False, showLastColumn=False)
        ws.add_table(tab)

    def color_scale(self, ws: Any, ref: str, colors: tuple[str, str, str],
                    thresholds: tuple[float, float, float] | None = None) -> None:
        """A three-colour scale: at the given numbers (low, middle, high), else min / 50th percentile / max."""
        low, mid, high = colors
        if thresholds is None:
            rule = ColorScaleRule(start_type="min", start_color=low, mid_type="percentile", mid_value=50,
                                  mid_color=mid, end_type="max", end_color=high)
        else:
            rule = ColorScaleRule(start_type="num", start_value=thresholds[0], start_color=low, mid_type="num",
                                  mid_value=thresholds[1], mid_color=mid, end_type="num", end_value=thresholds[2],
                                  end_color=high)
        ws.conditional_formatting.add(ref, rule)

    def chart(self, ws: Any, plan: ChartPlan) -> None:
        """Draw the chart of ``plan``; for one left out (an empty table's in the values-only report) write its note,
        grey and italic, at its cell instead."""
        if plan.left_out:
            row, col = parse_cell(plan.anchor)
            self.write(ws, row, col, [[plan.note]])
            ws.cell(row=row, column=col).font = self._font(italic=True, color="7F7F7F", size=self.font_size)
            return

        def make():
            if plan.type == "line":
                return LineChart()
            c = BarChart()
            c.type = "bar" if plan.type == "bar" else "col"
            c.gapWidth = 60
            return c

        def add_series(chart, cols, colors):
            for col in cols:
                ref = Reference(ws, min_col=col, min_row=plan.header_row, max_row=plan.last_row)
                chart.add_data(ref, titles_from_data=True)
            for s, color in zip(chart.series, colors or [None] * len(chart.series)):
                if plan.type == "line":
                    s.smooth = False
                    s.marker.symbol = "none"
                    s.graphicalProperties.line.width = 19050  # 1.5 pt
                    if color:
                        s.graphicalProperties.line.solidFill = color
                elif color:
                    s.graphicalProperties.solidFill = color
                    s.graphicalProperties.line.solidFill = color

        cats = Reference(ws, min_col=plan.x_col, min_row=plan.first_row, max_row=plan.last_row)
        chart = make()
        add_series(chart, plan.series, plan.colors[:len(plan.series)])
        if plan.overlap is not None and plan.type != "line":
            chart.overlap = plan.overlap
        if plan.plots_hidden:
            chart.visible_cells_only = False  # the helper columns are hidden
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
            n = plan.last_row - plan.first_row + 1
            chart.x_axis.number_format = "yyyy-mm-dd"
            chart.x_axis.tickLblSkip = chart.x_axis.tickMarkSkip = max(1, n // 6)
            chart.x_axis.txPr = _rotated_labels()  # a viewer that places date labels itself does not crowd them
        chart.x_axis.tickLblPos = "low"  # labels below the plot (left of bars) even with negative values
        if plan.type == "bar":  # horizontal bars: the table's first row on top, every category named
            chart.x_axis.scaling.orientation = "maxMin"
            chart.y_axis.crosses = "max"
            chart.x_axis.tickLblSkip = 1
        chart.legend.position = "b"
        if plan.secondary:
            second = make()
            add_series(second, plan.secondary, plan.colors[len(plan.series):])
            second.set_categories(cats)
            second.y_axis.axId = 200
            second.y_axis.crosses = "max"
            second.y_axis.number_format = plan.y2_format
            second.y_axis.majorGridlines = None
            second.y_axis.delete = False
            if plan.y2_title:
                second.y_axis.title = plan.y2_title
            chart += second
        ws.add_chart(chart, chart_anchor(plan))
        st = self._found.get(ws.title)
        if st is not None:
            st.made[plan.layout_index] = chart

    def _page_banner(self, ws: Any, plan: SheetPlan) -> None:
        """The header of every printed page: the sample banner, bold in the banner's red, on a values-only report of the sample
        (and on a sheet whose header already holds it, the sample refreshed again); a banner left by a sample
        run is taken off on real data; a header of the user's is kept."""
        head = ws.oddHeader.center
        ours = head.text in self.sample_banners
        if plan.banner and (plan.page_banner or ours):
            head.text, head.font, head.color = plan.banner, "-,Bold", self.banner_color
        elif ours:
            head.text = head.font = head.color = None

    def finish(self, ws: Any, plan: SheetPlan) -> None:
        st = self._found.get(plan.name)
        if st is not None:  # the layout's charts drawn now in its order (none left over from the last time), then
            # the user's, so that the next refresh tells them apart
            ws._charts = [st.made[i] for i in sorted(st.made)] + st.user_charts
        # header rows: bold (the table style colours them), wrap long Chinese headers
        header = [("fontId", "font", self._font(bold=True, size=self.font_size, color=self.header_font_color), "_fonts"),
                  ("fillId", "fill", PatternFill("solid", fgColor=self.header_fill), "_fills"),
                  ("alignmentId", "alignment", Alignment(wrap_text=True, vertical="center", horizontal="center"),
                   "_alignments")]
        header = [(key, attr, value, _style_index(self.wb, coll, value)) for key, attr, value, coll in header
                  ] if plan.tables else []  # (added to the workbook's styles only when a header uses them)
        header_lines: dict[int, int] = {}
        for t in plan.tables:
            for j in range(t.ncols):
                cell = ws.cell(row=t.row, column=t.col + j)
                for key, attr, value, index in header:
                    _set_style(cell, key, index, attr, value)
            header_lines[t.row] = max(header_lines.get(t.row, 1), t.header_lines)
            self._align_rows(ws, t)
            if t.placeholder:
                ws.cell(row=t.row + 1, column=t.col).font = self._font(italic=True, color="7F7F7F",
                                                                         size=self.font_size)
        for row, lines in header_lines.items():
            ws.row_dimensions[row].height = lines * NOTES_LINE_HEIGHT + 4
        ws.freeze_panes = plan.freeze
        if plan.banner and plan.banner_large:
            ws.row_dimensions[1].height = 24
        ws.row_dimensions[2].height = 22  # the 14 pt title
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
        ws.print_title_rows = "{}:{}".format(*plan.print_rows) if plan.print_rows else None
        self._page_banner(ws, plan)
        ws.sheet_view.showGridLines = False
        if plan.tab_color:
            ws.sheet_properties.tabColor = plan.tab_color

    def _align_rows(self, ws: Any, t: Any) -> None:
        """Data cells of a table with wrapped text top-aligned (a row's cells start on one line); columns
        with an ``align`` aligned so (one alignment per column, set by index: :func:`_set_style`)."""
        if not t.rows:
            return
        tall = any(t.wraps)
        for j in range(t.ncols):
            if not (tall or t.aligns[j]):
                continue
            alignment = Alignment(wrap_text=t.wraps[j] or None, vertical="top" if tall else None,
                                  horizontal=t.aligns[j] or None)
            index = _style_index(self.wb, "_alignments", alignment)
            for r in range(t.row + 1, t.row + len(t.rows) + 1):
                _set_style(ws.cell(row=r, column=t.col + j), "alignmentId", index, "alignment", alignment)


#: how far a chart's frame starts below the top edge of its anchor cell (EMU; 12,700 a point): a frame on that edge,
#: the bottom of the rows printed on every page, is printed as a line on every page (LibreOffice)
CHART_TOP_OFFSET = 4 * 12700


def chart_anchor(plan: ChartPlan) -> OneCellAnchor:
    """The chart's anchor: its cell, the frame :data:`CHART_TOP_OFFSET` below the cell's top edge, its size."""
    row, col = parse_cell(plan.anchor)
    return OneCellAnchor(_from=AnchorMarker(col=col - 1, colOff=0, row=row - 1, rowOff=CHART_TOP_OFFSET),
                         ext=XDRPositiveSize2D(cm_to_EMU(plan.width), cm_to_EMU(plan.height)))


def _values(ws: Any, b: Block) -> list[list[Any]]:
    """The values of block ``b`` of ``ws`` (without creating cells)."""
    cells = ws._cells
    return [[getattr(cells.get((r, c)), "value", None) for c in range(b.left, b.right + 1)]
            for r in range(b.top, b.bottom + 1)]


def _touches(b: Block, bounds: tuple[int, int, int, int]) -> bool:
    """Whether the range of openpyxl ``bounds`` (min_col, min_row, max_col, max_row) overlaps block ``b``."""
    c1, r1, c2, r2 = bounds
    return b.overlaps(Block(r1, c1, r2, c2))


def _rotated_labels() -> RichText:
    """Axis label text turned 45 degrees."""
    return RichText(bodyPr=RichTextProperties(rot=-2700000, vert="horz"),
                    p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties()),
                                 endParaRPr=CharacterProperties())])


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

