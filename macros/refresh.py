"""The Refresh macro: ``main()`` for RunPython (``xw.Book.caller()``), through the shared layout.

Excel: the workbook's Refresh button runs xlwings' ``SampleCall`` ->
``RunPython "import <workbook stem>; <workbook stem>.main()"``; the ``<stem>.py`` shim written by
``xladdin template`` imports :func:`main` from here. This module reads the parameters sheet,
reads the data (the folder ``data_dir`` names; blank: the tables the workbook carries in hidden sheets, else the
sample), computes every table and checks every sheet against the layout (nothing is written until both are
done, so a failure leaves the sheets as they were), then writes them with
:class:`xladdin.workbook.xlwings_writer.XlwingsWriter` into the tables ``xladdin template`` created -- the same
reader (:func:`xladdin.workbook.template.read_params_sheet`), market opener (:func:`xladdin.data.open_market`)
and rendering (:func:`xladdin.workbook.template.render_result`) as ``xladdin refresh``; only the writer differs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import xlwings as xw

from xladdin.data.loaders import data_dir_from, open_market
from xladdin.data.store import update_before_run
from xladdin.workbook import weekly
from xladdin.workbook.embedded import read_tables
from xladdin.workbook.layout import Layout, load_layout
from xladdin.workbook.params import Params
from xladdin.workbook.template import read_params_sheet, render_result
from xladdin.workbook.xlwings_writer import XlwingsWriter


def load_market_for(params: Params, lite: bool = False, book: Any = None):
    """The market named by ``data_dir`` (relative: to the folder of ``book``, as ``xladdin refresh`` reads it);
    blank: the tables ``book`` carries in hidden sheets (``xladdin template --embed-data``), else the embedded
    sample. xlwings Lite reads no local folder."""
    if params.data_dir and lite:
        raise ValueError("xlwings Lite cannot read local folders: leave data_dir blank to use the tables the workbook "
                         "carries (built with `xladdin template --embed-data`) or the sample data, or use the desktop "
                         "Refresh button / `xladdin refresh` for a folder")
    folder = workbook_folder(book) if book is not None else None
    data_dir = data_dir_from(params.data_dir, folder if folder is not None else Path.cwd())
    if data_dir and params.update_data == "yes":  # one click: update the store, then build the tables
        update_before_run(data_dir)
    if not data_dir and book is not None:
        market = read_tables(book)
        if market is not None:
            return market
    return open_market(data_dir=data_dir)


def workbook_folder(book: Any) -> Path | None:
    """The folder of an open workbook (the folder of its ``fullname``), or None when it has none on disk (a new,
    unsaved workbook, one opened from a web address, xlwings Lite: the working directory is used then)."""
    path = Path(str(book.fullname))
    return path.parent if path.is_absolute() else None


def refresh_book(book: Any, market: Any = None, layout: Layout | None = None, lite: bool = False) -> Any:
    """Refresh ``book`` (an ``xlwings.Book``) in place; returns the :class:`~xladdin.workbook.weekly.WeeklyResult`.

    Order: read the parameters, compute every table, check that every sheet still matches the
    layout (:meth:`~xladdin.workbook.xlwings_writer.XlwingsWriter.prepare`), then write. A failure in any step before
    the writes leaves the workbook untouched, and the error says what to fix.

    Screen updating is switched off for the writes and back on afterwards; it is only set, never
    read (xlwings' remote engine, i.e. Lite, cannot read it). The sheet that was active (the one
    with the button) is active again at the end: freezing panes on Windows/macOS activates sheets.
    """
    layout = layout or load_layout()
    params = read_params_sheet(book, layout)
    if market is None:
        market = load_market_for(params, lite, book)
    result = weekly.compute_weekly(market, params)  # everything computed before the first write
    writer = XlwingsWriter(book, header_fill=layout.m("header_fill", "1F4E78"),
                           header_font_color=layout.m("header_font_color", "FFFFFF"))
    active = book.sheets.active
    app = book.app
    app.screen_updating = False
    try:
        render_result(book, result, params, layout, writer=writer)
        active.activate()
    finally:
        app.screen_updating = True
    return result


def main() -> None:
    """Entry point of the Refresh button (RunPython)."""
    refresh_book(xw.Book.caller())


if __name__ == "__main__":  # pragma: no cover - debug from an IDE with the workbook open
    import xlwings as xw
    xw.Book("xladdin_weekly.xlsm").set_mock_caller()
    main()
