"""Canonical tables a workbook carries in its own sheets: which rows, whether they fit, and their cells.

``xladdin template --embed-data`` writes each table of the market into a hidden sheet named after the table
(the "one workbook with a sheet per table" form every workbook reader takes: :mod:`xladdin.data.readers`), so
that the workbook's Refresh -- desktop or xlwings Lite, which reads no local folder -- finds its data inside
it. This module decides what goes in (:func:`embedded_frames`) and how a table becomes the rows of a sheet
(:func:`sheet_rows`); the workbook layer writes them.

A sheet holds :data:`SHEET_ROWS` rows (Excel's limit, the header included). A table is cut to the rows from
a date on: the later of ``window`` (the option for long histories) and its own ``since`` (the weekly job's
window of the stock-level tables, which the weekly tables never read before). A table that still does not
fit is an error naming it, its rows and the first date from which it would fit; nothing is cut silently.
Numbers go in as numbers (written with 16 significant digits, as every xlsx writer here writes them), dates
as ``YYYY-MM-DD`` text, which every reader types back the way it types a CSV.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from xladdin.errors import DataError

from .market import Market
from .schema import TABLES

__all__ = ["SHEET_ROWS", "embedded_frames", "sheet_rows", "fits_from"]

#: rows of an Excel worksheet (Excel 2007 and later), the header row included
SHEET_ROWS = 1_048_576


def fits_from(dates: pd.Series, room: int) -> pd.Timestamp | None:
    """The earliest date from which the rows dated on or after it number at most ``room`` (None: no date
    does, e.g. one date alone has more rows)."""
    counts = pd.Series(1, index=pd.DatetimeIndex(dates)).groupby(level=0).sum().sort_index()
    from_end = counts[::-1].cumsum()[::-1]
    ok = from_end[from_end <= room]
    return pd.Timestamp(ok.index[0]) if len(ok) else None


def embedded_frames(market: Market, since: Mapping[str, pd.Timestamp] | None = None, window=None,
                    max_rows: int | None = None) -> dict[str, pd.DataFrame]:
    """Each table of ``market`` as it goes into its sheet: the rows from ``max(window, since[table])`` on
    (every date-keyed table; masters whole), columns in the canonical order.

    Raises :class:`~xladdin.errors.DataError` naming every table whose rows and header exceed ``max_rows``
    (default :data:`SHEET_ROWS`), with the date from which it would fit (``--embed-since``).
    """
    max_rows = SHEET_ROWS if max_rows is None else max_rows
    since = dict(since or {})
    window = None if window is None else pd.Timestamp(window)
    out, too_big = {}, []
    for name in TABLES:
        df = market.tables.get(name)
        if df is None or not len(df):
            continue
        col = TABLES[name].sorted_by
        starts = [d for d in (window, since.get(name)) if d is not None]
        if col is not None and starts:
            df = df.loc[df[col] >= max(starts)]
        df = df[[c for c in TABLES[name].columns if c in df.columns]].reset_index(drop=True)
        if len(df) + 1 > max_rows:
            first = fits_from(df[col], max_rows - 1) if col is not None else None
            hint = (f"embed from {first:%Y-%m-%d} on (--embed-since {first:%Y-%m-%d})" if first is not None
                    else "it cannot be embedded: give --data a folder instead")
            too_big.append(f"{name}: {len(df):,} rows" + (f" from {df[col].min():%Y-%m-%d}" if col else "")
                           + f" do not fit a sheet ({max_rows - 1:,} rows below the header); {hint}")
        out[name] = df
    if too_big:
        raise DataError("table(s) too long for a worksheet: " + "; ".join(too_big))
    return out


def _cell(value, is_date: bool):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if is_date:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return str(value)


def sheet_rows(name: str, df: pd.DataFrame) -> Iterator[list]:
    """The rows of table ``name``'s sheet: the header (column names), then one row per table row --
    dates as ``YYYY-MM-DD`` text, numbers as numbers, text as text, None for a missing value."""
    cols = list(df.columns)
    yield cols
    dates = [c in TABLES[name].date_cols for c in cols]
    arrays = [df[c].to_numpy(dtype=object) for c in cols]
    for i in range(len(df)):
        yield [_cell(a[i], d) for a, d in zip(arrays, dates)]
