"""What a refresh owns on a sheet, and the checks both writers make before the first write.

A refresh rewrites only the layout's areas: each table's block (its title row, header row and data rows,
where the workbook has it now and where the plan puts it), the sheet's own rows above the tables
(:func:`sheet_rows`: row 1, the sample banner; rows 2 to 4, the title, subtitle and notes, written by
:func:`~xladdin.workbook.render.render_sheet`) and the layout's charts (the first ones of the sheet, in the
layout's order; a values-only report leaves an empty table's chart out, a note at its cell saying so:
:func:`left_out_charts` finds them). Every other cell, note, comment, formula, chart and conditional format is the user's and
is kept, by the Excel refresh (:class:`~xladdin.workbook.xlwings_writer.XlwingsWriter`) and by
``xladdin refresh`` (:class:`~xladdin.workbook.openpyxl_writer.OpenpyxlWriter`) alike.

Before anything is written, :func:`find_tables` and :func:`check_free_cells` check a sheet that holds the
layout's tables: each table where the layout puts it, with the layout's columns, and no user content in
the cells a table moves or grows into. Otherwise :class:`PlacementError` says what to fix and nothing is
written. Pure: the writers pass what they read from their workbook (table addresses, cell values).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .layout import SheetLayout
from .plan import NOTES_ROW, SheetPlan, TablePlan, chart_cell, is_left_out_note
from .refs import cell_ref, parse_cell, parse_range, range_ref

#: columns right of the widest table that the sheet's own rows are cleared over (a narrower table than last time
#: leaves no banner behind)
BANNER_SLACK = 10


class PlacementError(ValueError):
    """The open workbook does not match the layout (a table moved, edited or deleted, or user content in a
    table's way); nothing was written."""


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


def sheet_rows(plan: SheetPlan) -> tuple[Block, Block]:
    """The sheet's own rows above its tables, each to :data:`BANNER_SLACK` columns right of the widest table:
    row 1 from column A (the sample banner: values and formats, cleared on real data) and rows 2 to
    :data:`~xladdin.workbook.plan.NOTES_ROW` from column B (title, subtitle, notes: values; the notes row
    merged across the tables). Column A of rows 2 to 4, the rows' cells further right and every row from 5 down
    outside the tables' blocks are the user's."""
    right = plan.width + BANNER_SLACK
    return Block(1, 1, 1, right), Block(2, 2, NOTES_ROW, right)


def block_at(table_range: str) -> Block:
    """The block of an Excel table found at ``table_range`` (its header and data rows): one title row above."""
    r1, c1, r2, c2 = parse_range(table_range)
    return Block(r1 - 1, c1, r2, c2)


def find_tables(sheet: str, found: Mapping[str, str], plan: SheetPlan, spec: SheetLayout) -> dict[str, Block]:
    """The block of each of the plan's tables in the workbook (``found``: Excel table name -> its range).

    Raises :class:`PlacementError` when a table is missing, does not start where the layout puts it
    (a below-table: right below the table above, as the last refresh left it) or has other columns.
    """
    old: dict[str, Block] = {}
    by_key: dict[str, Block] = {}
    for t, tspec in zip(plan.tables, spec.tables):
        where = f"Excel table `{t.name}` on sheet `{sheet}`"
        address = found.get(t.name)
        if address is None:
            raise PlacementError(f"{where} is missing (deleted, renamed or converted to a range): undo that, or "
                                 "rebuild the workbook with `xladdin template`")
        block = block_at(address)
        if tspec.anchor is not None:
            want = parse_cell(tspec.anchor)
        else:
            above = by_key[tspec.below]
            want = (above.bottom + tspec.gap + 1, above.left)
        if (block.top + 1, block.left) != want:
            raise PlacementError(f"{where} starts at {cell_ref(block.top + 1, block.left)}, the layout puts it at "
                                 f"{cell_ref(*want)}: it was moved (move it back and refresh again), or the "
                                 "workbook was built with an older layout (build it again with `xladdin "
                                 "template`)")
        ncols, fixed = block.width, len(tspec.columns)
        if ncols < fixed or (tspec.extra is None and ncols != fixed):
            raise PlacementError(f"{where} has {ncols} columns, the layout has {fixed}"
                                 f"{' or more' if tspec.extra is not None else ''}: a column was added or "
                                 "deleted; undo that, or rebuild the workbook with `xladdin template`")
        old[t.name] = by_key[tspec.key] = block
    return old


def left_out_charts(spec: SheetLayout, plan: SheetPlan, old: Mapping[str, Block],
                    value: Callable[[int, int], Any]) -> dict[int, tuple[int, int]]:
    """The layout charts a values-only report left out of the sheet as found (an empty table's), by their position
    in the layout: position -> the cell of the note standing in the chart's place. ``old``: Excel table name -> its
    block as found (:func:`find_tables`); ``value(row, col)``: a cell's value."""
    names = {t.key: t.name for t in plan.tables}
    where = {key: (b.top + 1, b.bottom, b.left, b.right) for key, name in names.items()
             if (b := old.get(name)) is not None}
    out = {}
    for j, c in enumerate(spec.charts):
        if c.anchor is None and (c.right_of or c.below) not in where:
            continue
        cell = parse_cell(chart_cell(c, where))
        if is_left_out_note(value(*cell)):
            out[j] = cell
    return out


def check_free_cells(sheet: str, old: Mapping[str, Block], new: Mapping[str, Block],
                     values: Callable[[Block], list[list[Any]]]) -> None:
    """Cells a table is moved or grows into must be empty unless a layout table holds them now.

    ``values(block)`` gives the cell values of ``block`` as rows (None or "" for an empty cell). A table
    without an old block (a sheet that has none of the layout's tables yet) is checked where it goes.
    """
    for name, target in new.items():
        areas = (target,) if name not in old else (old[name].at(target.top), target)
        for area in areas:
            for i, row in enumerate(values(area)):
                for j, v in enumerate(row):
                    r, c = area.top + i, area.left + j
                    if v not in (None, "") and not any(b.contains(r, c) for b in old.values()):
                        raise PlacementError(
                            f"table `{name}` on sheet `{sheet}` needs {area.ref} but {cell_ref(r, c)} holds "
                            f"{v!r}: move that content elsewhere and refresh again")
