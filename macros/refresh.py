"""The Refresh macro: ``main()`` for RunPython (``xw.Book.caller()``), through the shared layout.

Excel: the workbook's Refresh button runs xlwings' ``SampleCall`` ->
``RunPython "import <workbook stem>; <workbook stem>.main()"``; the ``<stem>.py`` shim written by
``xladdin template`` imports :func:`main` from here. This module reads the parameters sheet,
computes every table and checks every sheet against the layout (nothing is written until both are
done, so a failure leaves the sheets as they were), then writes them with
:class:`xladdin.layout.XlwingsWriter` into the tables ``xladdin template`` created -- the same
layout code as ``xladdin refresh``, only the writer differs.
"""
from __future__ import annotations

from typing import Any

from xladdin.layout import Layout, XlwingsWriter, load_layout, parse_cell, render
from xladdin.params import Params, params_from_rows

#: rows read below the parameters table's header (the table has ~30 rows)
PARAM_ROWS = 200


def read_params(book: Any, layout: Layout | None = None) -> Params:
    """Parameters from the book's parameters sheet (either language), validated."""
    layout = layout or load_layout()
    spec = layout.sheet("params")
    names = [s.name for s in book.sheets]
    name = next((n for n in (spec.zh, spec.en) if n in names), None)
    if name is None:
        raise ValueError(f"no parameters sheet (`{spec.zh}` or `{spec.en}`); rebuild the workbook with `xladdin template`")
    row, col = parse_cell(spec.table("params").anchor)
    values = book.sheets[name].range((row, col), (row + PARAM_ROWS, col + 1)).value
    return params_from_rows(values or [], source=f"sheet {name}")


def load_market_for(params: Params, lite: bool = False):
    """The market named by ``data_dir`` (blank: the embedded sample)."""
    if params.data_dir:
        if lite:
            raise ValueError("xlwings Lite cannot read local folders: leave data_dir blank (sample data) or use the "
                             "desktop Refresh button / `xladdin refresh`")
        from xladdin.data import load_market
        return load_market(params.data_dir)
    from xladdin.sample import sample_market
    return sample_market()


def refresh_book(book: Any, market: Any = None, layout: Layout | None = None, lite: bool = False) -> Any:
    """Refresh ``book`` (an ``xlwings.Book``) in place; returns the :class:`~xladdin.weekly.WeeklyResult`.

    Order: read the parameters, compute every table, check that every sheet still matches the
    layout (:meth:`~xladdin.layout.XlwingsWriter.prepare`), then write. A failure in any step before
    the writes leaves the workbook untouched, and the error says what to fix.

    Screen updating is switched off for the writes and back on afterwards; it is only set, never
    read (xlwings' remote engine, i.e. Lite, cannot read it). The sheet that was active (the one
    with the button) is active again at the end: freezing panes on Windows/macOS activates sheets.
    """
    from xladdin.params import params_to_frame
    from xladdin.weekly import compute_weekly
    layout = layout or load_layout()
    params = read_params(book, layout)
    if market is None:
        market = load_market_for(params, lite)
    result = compute_weekly(market, params)  # everything computed before the first write
    tables = dict(result.tables)
    tables["params"] = params_to_frame(params)
    writer = XlwingsWriter(book, header_fill=layout.m("header_fill", "1F4E78"),
                           header_font_color=layout.m("header_font_color", "FFFFFF"))
    active = book.sheets.active
    app = book.app
    app.screen_updating = False
    try:
        render(tables, writer, layout, language=params.language, subtitles=result.subtitles_for(params.language),
               notes=result.notes)
        active.activate()
    finally:
        app.screen_updating = True
    return result


def main() -> None:
    """Entry point of the Refresh button (RunPython)."""
    import xlwings as xw
    refresh_book(xw.Book.caller())


if __name__ == "__main__":  # pragma: no cover - debug from an IDE with the workbook open
    import xlwings as xw
    xw.Book("xladdin_weekly.xlsm").set_mock_caller()
    main()
