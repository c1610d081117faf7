"""Reading a long-form table from a CSV file (:func:`read_long_csv`): typed by pyarrow when the file is
clean, else as text so that the typing names each offending cell; wide sheets' CSVs as text
(:func:`read_text_csv`). The file's text (encoding, delimiter) comes from :func:`xladdin.data.sources.csv_text`."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from xladdin.errors import DataError

from .arrowcols import arrow_to_pandas
from .rawtable import cut_since, leading_rows_before
from .schema import TableSpec
from .sources import CsvText, csv_text


def read_long_csv(path: Path, text: CsvText, spec: TableSpec | None, skip: tuple[str, ...],
                   since) -> tuple[pd.DataFrame, int, dict]:
    typed = _read_csv_arrow(text, spec, skip, since) if spec is not None else None
    if typed is not None:
        return typed
    frame = _read_csv(path, text, spec)
    frame = frame.drop(columns=[c for c in skip if c in frame.columns])
    return cut_since(frame, spec, since)


def _read_csv_arrow(text: CsvText, spec: TableSpec, skip: tuple[str, ...] = (),
                    since: pd.Timestamp | None = None) -> tuple[pd.DataFrame, int, dict] | None:
    """Typed read of a clean long CSV with pyarrow (both cores): ISO dates, numbers, text read
    dictionary-encoded and stripped (giving its sorted codes, see :func:`~xladdin.data.keys.key_codes`); leading rows
    dated before ``since`` dropped. None when the file is not that clean (a bad number or date,
    another date format): the caller then reads it as text and :func:`~xladdin.data.coerce.coerce_table` names each
    offending cell. ``text``: the file's UTF-8 source (:func:`xladdin.data.sources.csv_text`).
    """
    import pyarrow.csv as pcsv  # lazy: only for CSV files (CLI start-up)
    header = next(csv.reader([text.header_line()], delimiter=text.delimiter), None)
    if not header or len(set(header)) != len(header):
        return None
    header = [h.strip() for h in header]
    texts = [c for c in header if c in spec.columns and c not in spec.numeric and c not in spec.date_cols]
    types = {c: pa.timestamp("s") for c in spec.date_cols if c in header}  # ("ns" would wrap 2263 to 1678)
    types.update({c: pa.float64() for c in spec.numeric if c in header})
    types.update({c: pa.dictionary(pa.int32(), pa.string()) for c in texts})
    keep = [c for c in header if c not in skip]
    source = io.BytesIO(text.source) if isinstance(text.source, bytes) else text.source
    try:
        table = pcsv.read_csv(source, read_options=pcsv.ReadOptions(column_names=header, skip_rows=1),
                              parse_options=pcsv.ParseOptions(delimiter=text.delimiter),
                              convert_options=pcsv.ConvertOptions(column_types=types, include_columns=keep,
                                                                  null_values=[""], strings_can_be_null=True,
                                                                  quoted_strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, UnicodeDecodeError, ValueError):
        return None
    if any(pa.types.is_floating(table.schema.field(c).type) and _has_non_finite(table.column(c))
           for c in spec.numeric if c in table.column_names):
        return None  # `inf`/`nan` spelled out: the text read names the cell
    for c in spec.date_cols:
        if c in table.column_names:
            if not _within_ns(table.column(c)):
                return None  # a date pandas cannot hold: the text read names the cell
            table = table.set_column(table.column_names.index(c), c, table.column(c).cast(pa.timestamp("ns")))
    first = 0
    if since is not None and spec.sorted_by in table.column_names:
        first = leading_rows_before(table.column(spec.sorted_by).to_numpy(), since)
        table = table.slice(first)
    cols, codes = {}, {}
    for name in table.column_names:
        cols[name], fz = arrow_to_pandas(table.column(name), strip=True)
        if fz is not None:
            codes[name] = fz
    del table
    pa.default_memory_pool().release_unused()
    return pd.DataFrame(cols, copy=False), first, codes


def _within_ns(column) -> bool:
    """True when every date of a timestamp column fits pandas' nanosecond range (1677-09-22 to 2262-04-11)."""
    lo_hi = pc.min_max(column).as_py() if len(column) else {"min": None}
    if lo_hi["min"] is None:
        return True
    return pd.Timestamp.min < pd.Timestamp(lo_hi["min"]) and pd.Timestamp(lo_hi["max"]) < pd.Timestamp.max


def _has_non_finite(column) -> bool:
    """True when a float Arrow column holds NaN or +-inf (pyarrow parses `nan`, `inf` as floats)."""
    return bool(pc.any(pc.invert(pc.is_finite(column))).as_py() or False)


def _read_csv(path: Path, text: CsvText, spec: TableSpec | None) -> pd.DataFrame:
    """Read a long CSV as text (every cell a string, blank = missing), so that
    :func:`~xladdin.data.coerce.coerce_table` can name each cell that is not a number or a date. Parse errors
    name the file."""
    source = io.BytesIO(text.source) if isinstance(text.source, bytes) else text.source
    try:
        return pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                           sep=text.delimiter)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name}: no header row (the file holds only blank lines); expected the columns "
                        f"{', '.join(spec.columns) if spec else ''}") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path.name}: not a well-formed CSV ({str(exc).strip()})") from None


def read_text_csv(path: Path) -> pd.DataFrame:
    """A CSV as all-text cells (wide sheets), in any encoding :func:`xladdin.data.sources.csv_text` reads."""
    try:
        return _read_csv(path, csv_text(path), None)
    except UnicodeDecodeError:
        return _read_csv(path, csv_text(path, whole=True), None)
