"""xlwings Lite script: paste into the Lite editor's ``main.py`` (requirements: the xladdin wheel, pandas,
numpy, scipy). Runs the same refresh as the desktop button through :class:`xladdin.layout.XlwingsWriter`.

xlwings Lite runs in Pyodide (in the browser): no local files, so ``data_dir`` must stay blank (the
embedded sample market) -- use ``xladdin refresh`` or the desktop button for your own data.
"""
from __future__ import annotations

import xlwings as xw
from xlwings import script


@script
def refresh(book: xw.Book) -> None:
    """Refresh every sheet of the weekly workbook (button: *Run* in the Lite task pane)."""
    from macros.refresh import refresh_book
    refresh_book(book, lite=True)
