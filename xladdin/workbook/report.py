"""Values-only report workbook (``.xlsx``): the template's sheets, tables and charts, no macros, no formulas.

The report is what gets mailed: :func:`build_report` renders the week through the same layout as
the macro workbook (:mod:`xladdin.workbook.layout`), adds the week's summary in a hidden ``_summary`` sheet
(:func:`xladdin.workbook.summary.write_summary_sheet`, read back by ``xladdin send``), then sanitises every
text cell so none starts with ``=``, ``+``, ``-`` or ``@`` (formula injection from data such as names)
and checks that no cell holds a formula.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from xladdin.data.market import Market
from xladdin.fileguard import atomic_target

from . import weekly
from .layout import Layout, load_layout
from .params import Params, default_params
from .refs import formula_like
from .summary import write_summary_sheet
from .template import render_result


def sanitise_text(value: str) -> str:
    """``value`` with a leading apostrophe when it starts with a formula character, else unchanged."""
    return "'" + value if formula_like(value) else value


def _stored_cells(ws: Any) -> Iterator[Any]:
    """The cells a worksheet holds (those written or styled), not every cell of its used rectangle:
    ``iter_rows`` would create (and then save) an empty cell at each address between them."""
    return iter(ws._cells.values())


def sanitise_workbook(wb: Any) -> int:
    """Make every text cell of an openpyxl workbook formula-safe; return the number of cells changed.

    A cell openpyxl would store as a formula (text starting with ``=``) is turned into text too.
    """
    changed = 0
    for ws in wb.worksheets:
        for cell in _stored_cells(ws):
            v = cell.value
            if formula_like(v):
                cell.value = sanitise_text(v)
                cell.data_type = "s"
                changed += 1
    return changed


def formula_cells(wb: Any) -> list[str]:
    """Addresses (``Sheet!A1``) of cells holding a formula; empty for a values-only workbook."""
    return [f"{ws.title}!{cell.coordinate}" for ws in wb.worksheets for cell in _stored_cells(ws)
            if cell.data_type == "f"]


def build_report(out: str | Path, market: Market, params: Params | None = None, asof=None,
                 layout: Layout | None = None, progress: Callable[[str], None] | None = None):
    """Write the values-only report ``out`` (.xlsx); returns the :class:`~xladdin.workbook.weekly.WeeklyResult`.

    Parameters
    ----------
    out : path ending in ``.xlsx``.
    market : canonical data.
    params : parameters (language, thresholds ...); default: defaults.
    asof : as-of date (default: params.asof, else the weekly tables' effective end: :func:`~xladdin.workbook.weekly.report_asof`).

    Notes
    -----
    Written atomically (temporary file in the same folder, then ``os.replace``).
    """
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise ValueError(f"{out}: the report must end in .xlsx (it has no macros)")
    out.parent.mkdir(parents=True, exist_ok=True)
    layout = layout or load_layout()
    params = params or default_params()
    result = weekly.compute_weekly(market, params, asof, progress=progress)
    wb = Workbook()
    wb.remove(wb.active)
    render_result(wb, result, params, layout, progress, snapshot=True)
    write_summary_sheet(wb, result.summary, hidden=True)
    sanitise_workbook(wb)
    bad = formula_cells(wb)
    if bad:  # pragma: no cover - render writes values only
        raise ValueError(f"report would contain formulas in {', '.join(bad[:5])}")
    wb.active = 0
    with atomic_target(out) as tmp:
        wb.save(tmp)
    return result
