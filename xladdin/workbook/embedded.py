"""The canonical tables a workbook carries in hidden sheets: written by ``xladdin template --embed-data``, read
back by every Refresh when the parameter ``data_dir`` is blank.

Each table goes into a hidden sheet named after it (``etf_daily``, ``index_weights``, ...): the "one workbook
with a sheet per table" form the data layer reads (:func:`xladdin.data.readers.tables_from_sheets`). What goes
in -- the rows, the fit within a sheet -- is :mod:`xladdin.data.embed`'s; here the sheets are written with
openpyxl (:func:`write_tables`) and read from an open workbook (:func:`read_tables`): an openpyxl workbook
(``xladdin refresh``) or an ``xlwings.Book`` (the desktop Refresh button, xlwings Lite, whose browser reads no
local folder). Both give the sheet's cell values to :func:`xladdin.data.readers.frame_from_cells`, then to the
same loader as a workbook file (:func:`xladdin.data.loaders.load_sheets`: typed and checked).
"""
from __future__ import annotations

from typing import Any

import pandas as pd
from openpyxl.cell.cell import Cell

from xladdin.data.embed import sheet_rows
from xladdin.data.loaders import SAMPLE_MARKER_TEXT, SAMPLE_SHEET, load_sheets
from xladdin.data.market import Market
from xladdin.data.readers import frame_from_cells, table_sheet

__all__ = ["write_tables", "table_sheets", "read_tables", "EMBEDDED_LABEL"]

#: how the cover and messages name tables read from the workbook itself
EMBEDDED_LABEL = "{book} (embedded tables)"


def _is_openpyxl(book: Any) -> bool:
    return hasattr(book, "sheetnames")


def table_sheets(book: Any) -> list[str]:
    """Names of the sheets of ``book`` (openpyxl workbook or ``xlwings.Book``) that hold canonical tables."""
    names = list(book.sheetnames) if _is_openpyxl(book) else [s.name for s in book.sheets]
    return [n for n in names if table_sheet(n)]


def write_tables(wb: Any, frames: dict[str, pd.DataFrame], sample: bool = False) -> list[str]:
    """Write each table of ``frames`` (:func:`xladdin.data.embed.embedded_frames`) into a hidden sheet of the
    openpyxl workbook ``wb`` named after it, after the other sheets; a table sheet already there is replaced.
    Text that Excel would read as a formula stays text. ``sample``: the tables are the embedded sample's; a hidden
    sheet :data:`~xladdin.data.loaders.SAMPLE_SHEET` says so (every refresh reading them marks its sheets).
    Returns the sheet names."""
    for name in [*table_sheets(wb), *([SAMPLE_SHEET] if SAMPLE_SHEET in wb.sheetnames else [])]:
        del wb[name]
    if sample:
        mark = wb.create_sheet(SAMPLE_SHEET)
        mark.sheet_state = "hidden"
        mark.sheet_properties.codeName = f"Sheet{len(wb.sheetnames)}"
        for line in SAMPLE_MARKER_TEXT.splitlines():
            mark.append([line])
    first = len(wb.sheetnames) + 1
    for k, (name, df) in enumerate(frames.items()):
        ws = wb.create_sheet(name)
        ws.sheet_state = "hidden"
        ws.sheet_properties.codeName = f"Sheet{first + k}"  # as the skeleton names its sheets for the VBA project
        for row in sheet_rows(name, df):
            ws.append([_text_cell(ws, v) if isinstance(v, str) and v.startswith("=") else v for v in row])
    return list(frames)


def _text_cell(ws: Any, value: str) -> Cell:
    """A cell holding ``value`` as text (openpyxl would store ``=...`` as a formula)."""
    cell = Cell(ws, value=value)
    cell.data_type = "s"
    return cell


def _cells(book: Any, name: str) -> list[list]:
    if _is_openpyxl(book):
        return [list(r) for r in book[name].iter_rows(values_only=True)]
    return book.sheets[name].used_range.options(ndim=2).value


def read_tables(book: Any, label: str | None = None) -> Market | None:
    """The canonical tables the sheets of ``book`` hold, as a checked :class:`~xladdin.data.market.Market`
    (source: ``"<book> (embedded tables)"``); None when no sheet holds one."""
    names = table_sheets(book)
    if not names:
        return None
    title = label or EMBEDDED_LABEL.format(book=getattr(book, "name", None) or "workbook")
    every = list(book.sheetnames) if _is_openpyxl(book) else [s.name for s in book.sheets]
    return load_sheets({n: frame_from_cells(_cells(book, n)) for n in names}, title, sample=SAMPLE_SHEET in every)
