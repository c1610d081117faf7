"""The xlwings writer: refreshes, in place, an open workbook that ``xladdin template`` built (the
Refresh button's ``Book.caller()`` on Windows and macOS, xlwings Lite's book)."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .layout import Layout
from .placement import Block, PlacementError, block_of, check_free_cells, find_tables
from .plan import ChartPlan, SheetPlan
from .refs import parse_cell, range_ref


def _hex(color: str | None) -> str | None:
    return None if color is None else ("#" + color.lstrip("#"))


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
            old = find_tables(sh.name, {t.name: t.range.address for t in sh.tables}, plan, spec)
            new = {t.name: block_of(t) for t in plan.tables}
            check_free_cells(sh.name, old, new, lambda b, sh=sh: sh.range(b.ref).options(ndim=2).value)
            n_charts = len(sh.charts)
            if n_charts < len(spec.charts):
                raise PlacementError(f"sheet `{sh.name}` has {n_charts} chart(s), the layout draws {len(spec.charts)}: "
                                     "a chart was deleted; rebuild the workbook with `xladdin template`")
            state[plan.name] = _SheetState(sh, old, new, dict(old))
        self._state = state

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

    def clear(self, sh: Any, ref: str, formats: bool = True) -> None:
        if formats:
            sh.range(ref).clear()
        else:
            sh.range(ref).clear_contents()  # keeps what the template set (the notes row's merge)

    def wrap(self, sh: Any, ref: str) -> None:
        sh.range(ref).wrap_text = True

    def merge(self, sh: Any, ref: str) -> None:
        """No-op: ``xladdin template`` merged the notes row (merging again would ask Excel to confirm)."""

    def row_height(self, sh: Any, row: int, height: float, last: int | None = None) -> None:
        sh.range((row, 1), (last or row, 1)).row_height = height

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

    def column_width(self, sh: Any, col: int, width: float, hidden: bool = False) -> None:
        """No-op: ``xladdin template`` set the widths and hid the helper columns (xlwings' engines do not agree
        on the unit)."""

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

    def color_scale(self, sh: Any, ref: str, colors: tuple[str, str, str],
                    thresholds: tuple[float, float, float] | None = None) -> None:
        """Three colours at the given numbers (a signed scale around 0), else at min / 50th percentile / max."""
        rules = self._rules(sh, ref)
        if thresholds is None:
            rules.add_color_scale([_hex(c) for c in colors])
        else:
            rules.add_color_scale([_hex(c) for c in colors], thresholds=list(thresholds), threshold_type="number")

    def chart(self, sh: Any, plan: ChartPlan) -> None:
        """Point the sheet's chart number ``plan.layout_index`` at the table's new rows, and give it its title.

        Series (and secondary series) are adjacent columns (checked when the layout is read), so the
        source is one range with its header row: Excel keeps each series' formatting and axis. The
        categories are set separately (xlwings' remote engine takes no multi-area range). A table without
        rows leaves its chart over the placeholder row (no data of the last refresh stays plotted) with a title
        that says so (:data:`~xladdin.workbook.plan.CHART_EMPTY_TITLE`); the layout's title comes back with data.
        The chart itself stays: xlwings cannot draw one again with the layout's formatting.
        """
        cols = [*plan.series, *plan.secondary]
        chart = sh.charts[plan.layout_index]
        chart.set_source_data(sh.range((plan.header_row, cols[0]), (plan.last_row, cols[-1])), plot_by="columns")
        chart.set_x_axis_values(sh.range((plan.first_row, plan.x_col), (plan.last_row, plan.x_col)))
        chart.title = plan.title

    def finish(self, sh: Any, plan: SheetPlan) -> None:
        for t in plan.tables:
            self.font(sh, range_ref(t.row, t.col, t.row, t.last_col), bold=True, color=self.header_font_color,
                      fill=self.header_fill)
        if plan.freeze:
            freeze_panes(sh, plan.freeze)
