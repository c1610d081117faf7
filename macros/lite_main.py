"""xlwings Lite ``main.py`` for the weekly workbook: the Refresh script and the XA_ functions.

Paste this file into the Lite editor's ``main.py`` and list in ``requirements.txt`` the xladdin wheel
(``xladdin-0.1.0-py3-none-any.whl``, built with ``python -m pip wheel --no-deps .`` and uploaded next
to the workbook or served over HTTPS), pandas, numpy and scipy. Then:

* the task pane's *Run* button runs :func:`refresh` -- the same refresh as the desktop button
  (:func:`xladdin_macros.refresh.refresh_book` through :class:`xladdin.workbook.xlwings_writer.XlwingsWriter`);
* every ``XA_`` function of :mod:`xladdin_udfs` is an Excel function of the workbook (Lite registers the
  functions it finds in ``main.py``).

Lite runs Python in the browser (Pyodide): no local files, so ``data_dir`` must stay blank. The refresh then
reads the tables the workbook carries in hidden sheets (``xladdin template W.xlsm --data DIR --embed-data``),
else the embedded sample market; use ``xladdin refresh`` or the desktop button for a folder.
"""
from __future__ import annotations

import xlwings as xw
from xlwings import script

from xladdin_udfs.crowding import XA_CROWDING, XA_HEAT  # noqa: F401
from xladdin_udfs.flows import XA_CORR_SIGNAL, XA_ETF_FLOW, XA_EVENT_STUDY, XA_FLOW_CORR  # noqa: F401
from xladdin_udfs.holdings import XA_DIVERGENCE, XA_PENETRATE, XA_QUINTILE  # noqa: F401
from xladdin_udfs.stats import XA_IC, XA_PCTRANK, XA_PERF, XA_VERSION  # noqa: F401
from xladdin_udfs.strategy import XA_BACKTEST, XA_PICKS  # noqa: F401
from xladdin_udfs.style import XA_FACTOR_MOM, XA_HP, XA_HP1S, XA_STYLE_SIGNAL  # noqa: F401


@script
def refresh(book: xw.Book) -> None:
    """Refresh every sheet of the weekly workbook (button: *Run* in the Lite task pane)."""
    from xladdin_macros.refresh import (
        refresh_book,  # lazy: Lite runs main.py at start-up; the refresh's modules load when the script runs
    )
    refresh_book(book, lite=True)
