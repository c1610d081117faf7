"""A table as read from its file(s), before typing (:class:`RawTable`), and the row bookkeeping of readers.

Every reader (:mod:`~xladdin.data.readers`) returns a :class:`RawTable`: the frame as read, the file's
name, a ``locate`` function that names the file's row (or a wide sheet's cell) of a frame position for
messages, and what the reader already knows (columns skipped, rows skipped ``since`` a date, sorted codes
of text columns, warnings).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .schema import TableSpec


@dataclass
class RawTable:
    """A table as read, before typing: ``locate(positions)`` names rows/cells for messages."""

    name: str
    frame: pd.DataFrame
    file: str
    locate: Callable[..., str]
    #: strip spaces around codes and names (hand-made csv/xlsx); parquet is taken as typed
    strip_text: bool = True
    #: value columns deliberately not read (the caller does not use them): neither typed nor checked
    skipped: tuple[str, ...] = ()
    #: rows at the top of the file not read (``since``: a caller that needs only recent rows); the
    #: frame holds the file's rows from ``first_row`` on and ``locate`` still names the file's lines
    first_row: int = 0
    since: pd.Timestamp | None = None
    #: sorted codes of text columns obtained while reading: column -> (Arrow array, codes, uniques)
    codes: dict = field(default_factory=dict)
    #: text columns the reader has stripped of surrounding spaces already
    stripped: tuple[str, ...] = ()
    #: warnings found while reading (e.g. a time of day stripped from a wide sheet's dates)
    warnings: list[str] = field(default_factory=list)


def long_locator(file: str, offset: int = 0) -> Callable[..., str]:
    # +1 for the header, +1 for 1-based lines, + the rows not read above the frame
    return lambda pos, col=None: f"{file} row {pos + offset + 2}"


def first_row_from(dates, since: pd.Timestamp) -> int | None:
    """Position of the first row dated ``since`` or later, or whose date is missing or not a parsed
    date: the rows before it are the ones a reader that needs the rows from ``since`` on may skip.
    None when every row is a date before ``since``."""
    values = np.asarray(dates)
    if values.dtype.kind != "M":
        return 0 if len(values) else None
    i8 = values.astype("datetime64[ns]", copy=False).view("i8")
    stop = (i8 >= np.datetime64(pd.Timestamp(since), "ns").view("i8")) | (i8 == np.iinfo(np.int64).min)
    at = int(np.argmax(stop)) if len(stop) else 0
    return at if len(stop) and stop[at] else None


def leading_rows_before(dates, since: pd.Timestamp) -> int:
    """Number of leading rows dated before ``since`` (see :func:`first_row_from`); 0 when no row
    reaches ``since``: then nothing is skipped."""
    return first_row_from(dates, since) or 0


def cut_since(frame: pd.DataFrame, spec: TableSpec | None, since) -> tuple[pd.DataFrame, int, dict]:
    date_col = spec.sorted_by if spec is not None else None
    if since is not None and date_col in frame.columns:
        first = leading_rows_before(frame[date_col], since)
        if first:
            return frame.iloc[first:].reset_index(drop=True), first, {}
    return frame, 0, {}


def excel_col(n: int) -> str:
    """Excel column letters of zero-based column ``n``."""
    from openpyxl.utils import get_column_letter  # lazy: openpyxl only for workbook sources (CLI start-up)
    return get_column_letter(n + 1)
