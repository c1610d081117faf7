"""Canonical data layer: load, validate and write the spec's tables.

Inputs, per table (see :mod:`xladdin.data.schema` for the columns):

* **long form** — ``<table>.csv``, ``<table>.parquet`` or ``<table>.xlsx`` (first sheet), one row per key,
  with a header row naming the columns;
* **Wind-style wide form** — ``<table>.xlsx`` with one sheet per field (sheet name = field, e.g.
  ``shares``, ``nav``): dates down column A, codes across the first row; or one CSV per field named
  ``<table>.<field>.csv``. Rows whose first cell is not a date (Wind's name/unit rows) are skipped.
* a single workbook ``market.xlsx`` whose sheets are named ``<table>`` (long) or ``<table>.<field>`` (wide).

Every problem found is reported with the file, the row (or cell) and the column, and what is wrong.
Files are opened through :mod:`xladdin.data.sources` (CSV encodings, workbook and parquet containers); the
content rules beyond types, keys and order are in :mod:`xladdin.data.checks`. Errors raise
:class:`ValidationFailed`; warnings are kept on ``Market.warnings`` and logged.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from xladdin.errors import DataError, ValidationFailed
from xladdin.fileguard import atomic_write_with

from . import checks
from .market import Market
from .schema import ETF_CATEGORIES, TABLES, WEIGHT_SUM_TOL, TableSpec
from .sources import CsvText, check_parquet, check_workbook, csv_text
from .storefiles import finish_pending
from .views import seed, text_codes

#: values of optional columns used when a file leaves the column out entirely
OPTIONAL_DEFAULTS = {("etf_daily", "split_ratio"): 1.0}
#: optional columns that methods need: a file without the column gets a warning saying who needs it
NEEDED_BY = {("etf_daily", "nav"): "ETF flows (M1) and everything built on them (study, backtest rotation, "
                                   "dashboard, the weekly workbook)",
             ("etf_daily", "close"): "ETF returns on close prices (backtest northbound --price close)"}
_MAX_ISSUES_PER_CHECK = 20
#: loading warnings go to this logger (shown on stderr when the application configures no logging)
log = logging.getLogger(__name__)
#: warnings logged per load; ``xladdin validate`` lists them all
LOGGED_WARNINGS = 10


# ----------------------------------------------------------------------------- raw tables
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


def _long_locator(file: str, offset: int = 0) -> Callable[..., str]:
    # +1 for the header, +1 for 1-based lines, + the rows not read above the frame
    return lambda pos, col=None: f"{file} row {pos + offset + 2}"


def _first_row_from(dates, since: pd.Timestamp) -> int | None:
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


def _leading_rows_before(dates, since: pd.Timestamp) -> int:
    """Number of leading rows dated before ``since`` (see :func:`_first_row_from`); 0 when no row
    reaches ``since``: then nothing is skipped."""
    return _first_row_from(dates, since) or 0


def _arrow_to_pandas(column, strip: bool = False) -> tuple:
    """An Arrow column as a pandas column (text as pandas' ``str`` dtype); a dictionary-encoded text
    column is decoded (stripped with ``strip``) and also yields its sorted codes: (Arrow array of the
    pandas column, codes, uniques), see :func:`_decode_dictionary`; None otherwise."""
    fz = None
    if pa.types.is_dictionary(column.type):
        column, fz = _decode_dictionary(column, strip)
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    out = column.to_pandas(types_mapper=lambda t: text if pa.types.is_string(t) or pa.types.is_large_string(t) else None)
    return out, (out.array._pa_array, *fz) if fz is not None else None


def _excel_col(n: int) -> str:
    """Excel column letters of zero-based column ``n``."""
    from openpyxl.utils import get_column_letter  # lazy: openpyxl only for workbook sources (CLI start-up)
    return get_column_letter(n + 1)


def _read_long(path: Path, spec: TableSpec | None = None, sheet: str | int = 0, skip: tuple[str, ...] = (),
               since: pd.Timestamp | None = None) -> tuple[pd.DataFrame, int, dict]:
    """A long-form file as read (not typed), the number of rows skipped at its top (``since``) and
    the sorted codes of its text columns when reading gave them (parquet, clean CSV).

    Raises :class:`DataError` naming the file when it cannot be read (see :mod:`xladdin.data.sources`).
    """
    if path.suffix == ".parquet":
        return _read_parquet_checked(path, skip, since, spec.sorted_by if spec is not None else None)
    if path.suffix == ".csv":
        try:
            return _read_long_csv(path, csv_text(path), spec, skip, since)
        except UnicodeDecodeError:  # UTF-8 at its start, not further down: decide on the whole file
            return _read_long_csv(path, csv_text(path, whole=True), spec, skip, since)
    frame = _read_excel(path, sheet)
    return _cut_since(frame, spec, since)


def _cut_since(frame: pd.DataFrame, spec: TableSpec | None, since) -> tuple[pd.DataFrame, int, dict]:
    date_col = spec.sorted_by if spec is not None else None
    if since is not None and date_col in frame.columns:
        first = _leading_rows_before(frame[date_col], since)
        if first:
            return frame.iloc[first:].reset_index(drop=True), first, {}
    return frame, 0, {}


def _read_long_csv(path: Path, text: CsvText, spec: TableSpec | None, skip: tuple[str, ...],
                   since) -> tuple[pd.DataFrame, int, dict]:
    typed = _read_csv_arrow(text, spec, skip, since) if spec is not None else None
    if typed is not None:
        return typed
    frame = _read_csv(path, text, spec)
    frame = frame.drop(columns=[c for c in skip if c in frame.columns])
    return _cut_since(frame, spec, since)


def _read_parquet_checked(path: Path, skip, since, date_col) -> tuple[pd.DataFrame, int, dict]:
    """:func:`_read_parquet`, with a file that is not parquet (or is damaged) named in a :class:`DataError`."""
    check_parquet(path)
    try:
        return _read_parquet(path, skip, since, date_col)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path.name}: cannot read the parquet file ({exc})") from None


def _read_excel(path: Path, sheet_name: str | int | None = 0, label: str | None = None):
    """``pd.read_excel`` (all cells as objects) of a workbook checked first by
    :func:`xladdin.data.sources.check_workbook`; any read failure is a :class:`DataError` naming the file."""
    check_workbook(path, label)
    try:
        return pd.read_excel(path, sheet_name=sheet_name, dtype=object, keep_default_na=False, na_values=[""])
    except DataError:
        raise
    except Exception as exc:  # openpyxl: KeyError for a missing part, ValueError/TypeError for bad XML, ...
        raise DataError(f"{label or path.name}: cannot read the workbook ({type(exc).__name__}: {exc})") from None


def _read_parquet(path: Path, skip: tuple[str, ...] = (), since: pd.Timestamp | None = None,
                  date_col: str | None = None) -> tuple[pd.DataFrame, int, dict]:
    """Read a parquet table one column at a time (single-threaded decode, memory-mapped).

    Same frame as ``pd.read_parquet`` (text as pandas' ``str`` dtype), but the peak memory is the frame
    plus one column instead of about twice the frame: on a 10 M-row table 0.95 GB instead of 1.3 GB.
    Text columns are read dictionary-encoded (as parquet stores them) and decoded here, which yields
    their sorted codes for free (see :func:`key_codes`).

    With ``since``: the leading rows dated before ``since`` are not returned (row groups whose
    statistics show them wholly before it are not even read). Returns the frame, the number of
    rows skipped and the text codes: column -> (Arrow array of the column, int32 codes, uniques).
    """
    import pyarrow.parquet as pq  # lazy: only for parquet files (CLI start-up)

    pool = pa.default_memory_pool()
    schema = pq.read_schema(path, memory_map=True)
    names = [n for n in schema.names if n not in skip and not n.startswith("__index_level_")]
    texts = [n for n in names if pa.types.is_string(schema.field(n).type) or pa.types.is_large_string(schema.field(n).type)]
    f = pq.ParquetFile(path, memory_map=True, read_dictionary=texts)
    first, groups, cut, dates = 0, None, 0, None
    if since is not None and date_col in names and pa.types.is_timestamp(schema.field(date_col).type):
        g0 = _groups_before(f, date_col, since)
        groups = list(range(g0, f.num_row_groups))
        dates = f.read_row_groups(groups, columns=[date_col], use_threads=False).column(0)
        cut = _first_row_from(dates.to_numpy(), since)
        if cut is not None:  # else no row reaches `since`: nothing is skipped
            first = sum(f.metadata.row_group(i).num_rows for i in range(g0)) + cut
        if not first:
            groups, dates, cut = None, None, 0
    cols, codes = {}, {}
    for name in names:
        if name == date_col and dates is not None:
            column, dates = dates.slice(cut), None
        else:
            kw = {"columns": [name], "use_threads": False}
            column = (f.read(**kw) if groups is None else f.read_row_groups(groups, **kw)).column(0).slice(cut)
        cols[name], fz = _arrow_to_pandas(column)
        if fz is not None:
            codes[name] = fz
        del column
        pool.release_unused()  # hand the decode buffers back to the system (the pool keeps them otherwise)
    return pd.DataFrame(cols, copy=False), first, codes


def _groups_before(f, date_col: str, since: pd.Timestamp) -> int:
    """Leading row groups of a parquet file whose statistics show every date before ``since`` (no
    missing date): they need not be read."""
    idx = f.schema.to_arrow_schema().names.index(date_col)
    n = 0
    for i in range(f.num_row_groups):
        st = f.metadata.row_group(i).column(idx).statistics
        try:
            if st is None or not st.has_min_max or st.null_count != 0 or not pd.Timestamp(st.max) < since:
                break
        except (TypeError, ValueError):  # time zones, odd units: read the group
            break
        n = i + 1
    return n


def _decode_dictionary(column, strip: bool = False) -> tuple:
    """A dictionary-encoded text column as plain text, and its sorted codes ``(codes, uniques)``
    (None when the column has missing values): the same as ``pd.factorize(sort=True)``. With
    ``strip`` the values lose surrounding whitespace first (as ``Series.str.strip()``)."""
    column = column.unify_dictionaries()
    value_type = column.type.value_type
    if pa.types.is_string(value_type):  # decode straight to the large strings pandas' `str` dtype holds
        value_type = pa.large_string()  # (else pandas converts all of them once more)
    if column.num_chunks == 0:
        return column.cast(value_type), None
    dictionary = column.chunk(0).dictionary
    if strip:  # strip the (small) dictionary, then decode through it
        dictionary = pc.utf8_trim_whitespace(dictionary).cast(value_type)
        plain = pa.chunked_array([pc.take(dictionary, c.indices) for c in column.chunks], type=value_type)
    else:
        plain = column.cast(value_type)
    if column.null_count:
        return plain, None
    words = np.asarray(dictionary.to_pylist(), dtype=object)
    indices = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in column.chunks])
    used = np.zeros(len(words), dtype=bool)
    used[indices] = True  # uniques are the values present (a dictionary may hold more, or repeats once stripped)
    uniques, rank = np.unique(words[used], return_inverse=True)
    to_code = np.full(len(words), -1, dtype=np.int64)
    to_code[np.flatnonzero(used)] = rank
    codes = to_code[indices]
    codes = codes.astype(np.int32) if len(uniques) < 2 ** 31 - 1 else codes
    return plain, (codes, pd.Index(uniques, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


def _read_csv_arrow(text: CsvText, spec: TableSpec, skip: tuple[str, ...] = (),
                    since: pd.Timestamp | None = None) -> tuple[pd.DataFrame, int, dict] | None:
    """Typed read of a clean long CSV with pyarrow (both cores): ISO dates, numbers, text read
    dictionary-encoded and stripped (giving its sorted codes, see :func:`key_codes`); leading rows
    dated before ``since`` dropped. None when the file is not that clean (a bad number or date,
    another date format): the caller then reads it as text and :func:`coerce_table` names each
    offending cell. ``text``: the file's UTF-8 source (:func:`xladdin.data.sources.csv_text`).
    """
    import pyarrow.csv as pcsv  # lazy: only for CSV files (CLI start-up)
    header = next(csv.reader([text.header_line()], delimiter=text.delimiter), None)
    if not header or len(set(header)) != len(header):
        return None
    header = [h.strip() for h in header]
    texts = [c for c in header if c in spec.columns and c not in spec.numeric and c not in spec.date_cols]
    types = {c: pa.timestamp("ns") for c in spec.date_cols if c in header}
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
    first = 0
    if since is not None and spec.sorted_by in table.column_names:
        first = _leading_rows_before(table.column(spec.sorted_by).to_numpy(), since)
        table = table.slice(first)
    cols, codes = {}, {}
    for name in table.column_names:
        cols[name], fz = _arrow_to_pandas(table.column(name), strip=True)
        if fz is not None:
            codes[name] = fz
    del table
    pa.default_memory_pool().release_unused()
    return pd.DataFrame(cols, copy=False), first, codes


def _has_non_finite(column) -> bool:
    """True when a float Arrow column holds NaN or +-inf (pyarrow parses `nan`, `inf` as floats)."""
    return bool(pc.any(pc.invert(pc.is_finite(column))).as_py() or False)


def _read_csv(path: Path, text: CsvText, spec: TableSpec | None) -> pd.DataFrame:
    """Read a long CSV as text (every cell a string, blank = missing), so that :func:`coerce_table` can
    name each cell that is not a number or a date. Parse errors name the file."""
    source = io.BytesIO(text.source) if isinstance(text.source, bytes) else text.source
    try:
        return pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                           sep=text.delimiter)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name}: no header row (the file holds only blank lines); expected the columns "
                        f"{', '.join(spec.columns) if spec else ''}") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path.name}: not a well-formed CSV ({str(exc).strip()})") from None


def _read_text_csv(path: Path) -> pd.DataFrame:
    """A CSV as all-text cells (wide sheets), in any encoding :func:`xladdin.data.sources.csv_text` reads."""
    try:
        return _read_csv(path, csv_text(path), None)
    except UnicodeDecodeError:
        return _read_csv(path, csv_text(path, whole=True), None)


def _wide_to_long(spec: TableSpec, field_frames: dict[str, tuple[pd.DataFrame, str]]) -> RawTable:
    """Melt Wind-style sheets (dates down, codes across) of one table into long form.

    Rows whose first cell is not a date are skipped (Wind's name and unit rows); a first column of
    ambiguous ``NN/NN/YYYY`` dates or of plain numbers (Excel serials) is refused instead.
    """
    parts, locs, warned = [], [], []
    for field_name, (sheet, where) in field_frames.items():
        if field_name not in spec.value_columns:
            raise DataError(f"{where}: `{field_name}` is not a column of {spec.name} "
                            f"(expected one of {', '.join(spec.value_columns)})")
        first = sheet.iloc[:, 0]
        dates, kinds = checks.parse_dates(first)
        _refuse_wide_dates(first, kinds, where)
        keep = dates.notna().to_numpy()
        timed = np.flatnonzero(kinds == checks.TIMED)
        if timed.size:
            warned.append(f"{where} cell A{timed[0] + 2}: `{checks.show(first.iloc[timed[0]])}` has a time of day; "
                          f"only its date is used" + (f" ({timed.size:,} rows like it)" if timed.size > 1 else ""))
        codes = [str(c).strip() for c in sheet.columns[1:]]
        values = sheet.loc[keep].iloc[:, 1:].to_numpy(dtype=object)
        rows = np.flatnonzero(keep)
        n_dates, n_codes = values.shape
        long = pd.DataFrame({
            spec.wide_date: np.repeat(dates[keep].to_numpy(), n_codes),
            spec.wide_code: np.tile(np.array(codes, dtype=object), n_dates),
            field_name: values.reshape(-1),
        })
        filled = pd.notna(long[field_name]).to_numpy() & (long[field_name].astype(str).str.strip() != "").to_numpy()
        cell_row = np.repeat(rows + 2, n_codes)[filled]
        cell_col = np.tile(np.arange(1, n_codes + 1), n_dates)[filled]
        parts.append(long.loc[filled].set_index([spec.wide_date, spec.wide_code]))
        locs.append((field_name, where, cell_row, cell_col, parts[-1].index))
    wide = pd.concat(parts, axis=1, join="outer").reset_index()
    keys = pd.MultiIndex.from_arrays([wide[spec.wide_date], wide[spec.wide_code]])
    file = ", ".join(sorted({w for _, w, *_ in locs}))
    cells = {f: (w, pd.Series(np.arange(len(idx)), index=idx), r, c) for f, w, r, c, idx in locs}

    def locate(pos: int, col: str | None = None) -> str:
        # the cell of this key in the field's own sheet, else in any sheet that has it
        for f in ([col] if col in cells else []) + list(cells):
            where, lookup, r, c = cells[f]
            hit = lookup.get(keys[pos])
            if hit is not None:
                return f"{where} cell {_excel_col(int(c[hit]))}{int(r[hit])}"
        return f"{file} entry {pos + 1}"

    return RawTable(spec.name, wide, file, locate, warnings=warned)


def _refuse_wide_dates(first: pd.Series, kinds: np.ndarray, where: str) -> None:
    for kind, what in ((checks.AMBIGUOUS, "has day and month in an unknown order (DD/MM/YYYY or MM/DD/YYYY?); "
                                          "save the dates as YYYY-MM-DD"),
                       (checks.NUMBER, "is a number where a date is expected: Excel serial numbers? save the "
                                       "column as dates (YYYY-MM-DD)")):
        rows = np.flatnonzero(kinds == kind)
        if rows.size:
            raise DataError(f"{where} cell A{rows[0] + 2}: `{checks.show(first.iloc[rows[0]])}` {what}"
                            + (f" ({rows.size:,} rows like it)" if rows.size > 1 else ""))


def read_table_files(folder: Path, name: str, skip: tuple[str, ...] = (), since=None) -> RawTable | None:
    """Find and read table ``name`` in ``folder`` (long or wide form); None if absent.

    ``skip``: value columns not to read at all (a caller that does not use them saves their memory and
    checks); they are absent from the typed table.
    ``since``: a date; the leading rows of a long-form file (parquet, csv, xlsx) dated before it are
    dropped (``RawTable.first_row`` of them; messages still name the file's lines). Wide forms are
    read whole.
    """
    spec = TABLES[name]
    skip = tuple(c for c in skip if c in spec.value_columns)
    since = pd.Timestamp(since) if since is not None else None
    for ext in (".parquet", ".csv"):
        p = folder / f"{name}{ext}"
        if p.is_file():
            frame, first, codes = _read_long(p, spec, skip=skip, since=since)
            return RawTable(name, frame, p.name, _long_locator(p.name, first), strip_text=ext == ".csv", skipped=skip,
                            first_row=first, since=since if first else None, codes=codes,
                            stripped=tuple(codes) if ext == ".csv" else ())
    wide_csv = sorted(folder.glob(f"{name}.*.csv"))
    if wide_csv:
        frames = {p.name[len(name) + 1:-4]: (_read_text_csv(p), p.name) for p in wide_csv}
        return _wide_to_long(spec, frames)
    p = folder / f"{name}.xlsx"
    if p.is_file():
        sheets = _read_excel(p, None)
        if not sheets:
            raise DataError(f"{p.name}: the workbook has no sheet")
        first = next(iter(sheets.values()))
        if set(spec.key) <= {str(c) for c in first.columns}:
            return RawTable(name, first, p.name, _long_locator(f"{p.name} sheet `{next(iter(sheets))}`"))
        return _wide_to_long(spec, {s: (df, f"{p.name} sheet `{s}`") for s, df in sheets.items()})
    if (folder / f"{name}.xls").is_file():
        raise DataError(f"{name}.xls: Excel 97-2003 workbooks are not read; save it as {name}.xlsx (or CSV UTF-8)")
    return None


def read_workbook_tables(path: Path) -> dict[str, RawTable]:
    """Read every canonical table from one workbook (sheets ``<table>`` or ``<table>.<field>``)."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise DataError(f"{path.name}: --data takes a folder of table files or one .xlsx workbook, not a "
                        f"{path.suffix or 'extension-less'} file")
    sheets = _read_excel(path, None)
    out: dict[str, RawTable] = {}
    wide: dict[str, dict] = {}
    for sheet_name, df in sheets.items():
        table, _, field_name = sheet_name.partition(".")
        if table not in TABLES:
            continue
        if field_name:
            wide.setdefault(table, {})[field_name] = (df, f"{path.name} sheet `{sheet_name}`")
        else:
            out[table] = RawTable(table, df, path.name, _long_locator(f"{path.name} sheet `{sheet_name}`"))
    for table, frames in wide.items():
        out[table] = _wide_to_long(TABLES[table], frames)
    return out


# ----------------------------------------------------------------------------- typing + validation
def _cap(issues: list[str], found: list[str], what: str) -> None:
    issues.extend(found[:_MAX_ISSUES_PER_CHECK])
    if len(found) > _MAX_ISSUES_PER_CHECK:
        issues.append(f"... {len(found) - _MAX_ISSUES_PER_CHECK} more {what}")


def coerce_table(raw: RawTable) -> tuple[pd.DataFrame, list[str]]:
    """Type a raw table (dates, numbers, codes as str) and list what cannot be typed.

    Optional columns absent from the file stay absent (a method that needs one says so, see
    :meth:`xladdin.data.market.Market.require`), except those with a default (``split_ratio`` = 1).
    Warnings (a time of day stripped) are appended to ``raw.warnings``.
    """
    spec, df, issues = TABLES[raw.name], raw.frame, []
    df = df.rename(columns=lambda c: str(c).strip())
    missing = [c for c in spec.columns if c not in df.columns and c not in spec.optional and c not in raw.skipped]
    if missing:
        return df, [f"column `{c}` missing in {raw.file} (expected columns: {', '.join(spec.columns)})" for c in missing]
    typed: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col in raw.skipped:
            continue
        if col not in df.columns:
            if (spec.name, col) in OPTIONAL_DEFAULTS:
                typed[col] = pd.Series(OPTIONAL_DEFAULTS[(spec.name, col)], index=df.index, dtype=float)
            continue
        s = df[col]
        if col in spec.date_cols:
            parsed, kinds = checks.parse_dates(s)
            errors, warnings = checks.date_messages(kinds, s, parsed, col, raw.locate, col in spec.key)
            issues += errors
            raw.warnings.extend(warnings)
            typed[col] = parsed.astype("datetime64[ns]")
        elif col in spec.numeric:
            if s.dtype == np.float64:  # typed already (parquet, pyarrow CSV): nothing to parse, NaN = empty
                empty = np.flatnonzero(np.isnan(s.to_numpy())) if col not in spec.optional else ()
                _cap(issues, [f"{raw.locate(i, col)} column `{col}`: value is empty" for i in empty],
                     f"empty `{col}` values")
                typed[col] = s.astype(float)
                continue
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                parsed, blank = s.astype(float), s.isna()  # typed already (parquet, pyarrow CSV): nothing to parse
            else:
                parsed = pd.to_numeric(s, errors="coerce").astype(float)
                blank = s.isna() | (s.astype(str).str.strip() == "")
            bad = parsed.isna() & ~blank
            _cap(issues, [f"{raw.locate(i, col)} column `{col}`: `{checks.show(s.iloc[i])}` is not a number"
                          for i in np.flatnonzero(bad.to_numpy())], f"non-numeric values in `{col}`")
            if col not in spec.optional:
                _cap(issues, [f"{raw.locate(i, col)} column `{col}`: value is empty"
                              for i in np.flatnonzero((blank & parsed.isna()).to_numpy())], f"empty `{col}` values")
            typed[col] = parsed
        else:
            text = s if s.dtype == "str" else s.astype("str")
            if raw.strip_text and col not in raw.stripped:
                text = text.str.strip()
            if col in spec.key:
                empty = _empty_texts(text, raw.codes.get(col))
                _cap(issues, [f"{raw.locate(i)} column `{col}`: empty code" for i in empty], f"empty `{col}` values")
            typed[col] = text
    return _assemble(df, typed), issues


def _empty_texts(text: pd.Series, known: tuple | None) -> np.ndarray:
    """Rows of a text column that are missing or empty. ``known``: the reader's sorted codes of the column
    (:attr:`RawTable.codes`: no missing value); while the column holds the very array they describe, the
    empty rows are those whose code is the one of ``""`` among its distinct values (no text compared)."""
    if known is not None and getattr(text.array, "_pa_array", None) is known[0] and len(known[1]) == len(text):
        at = np.flatnonzero(np.asarray(known[2] == "", dtype=bool))
        return np.flatnonzero(known[1] == at[0]) if at.size else np.zeros(0, dtype=np.int64)
    return np.flatnonzero((text.isna() | (text == "")).to_numpy())


def _assemble(df: pd.DataFrame, typed: dict[str, pd.Series]) -> pd.DataFrame:
    """The typed columns as one frame, reusing ``df``'s own columns where typing changed nothing.

    A parquet file is typed already: its columns pass through without a copy (building a new frame
    column by column would copy 10 M-row tables once more).
    """
    out = df[[c for c in typed if c in df.columns]]  # copy-on-write: no data copied
    for col, series in typed.items():
        if col not in df.columns or series is not df[col] and not _same_data(series, df[col]):
            out[col] = series
    return out[list(typed)]


def _same_data(a: pd.Series, b: pd.Series) -> bool:
    """True when ``a`` is ``b``'s data unchanged (same dtype, shares memory)."""
    if a.dtype != b.dtype:
        return False
    try:
        return np.shares_memory(np.asarray(a.array), np.asarray(b.array)) if a.dtype.kind in "fiM" else a.array is b.array
    except (TypeError, ValueError):
        return False


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a column (equal values, equal codes; missing values get their own code)."""
    arrow = getattr(values.array, "_pa_array", None)
    if arrow is not None and values.notna().all():
        return pc.dictionary_encode(arrow).combine_chunks().indices.to_numpy(zero_copy_only=False)
    return pd.factorize(values, use_na_sentinel=False)[0]


def _duplicated_date_sorted(df: pd.DataFrame, date_col: str, dates: np.ndarray, entity: list[str],
                            codes: dict | None = None) -> np.ndarray:
    """Rows whose (date, entity) key repeats, for a table sorted by date.

    Within each date's block of rows the entity codes must be distinct: counted per block with
    bincount (O(n), no sort, no hashing of strings, no array the size of the table beyond the codes).
    """
    n = len(df)
    if not entity:
        return np.r_[dates[1:] == dates[:-1], False] | np.r_[False, dates[1:] == dates[:-1]]
    def column_codes(c: str) -> np.ndarray:
        known = (codes or {}).get(c)
        return (known[1] if known is not None else _codes(df[c])).astype(np.int64, copy=False)
    code = column_codes(entity[0])
    others = [column_codes(c) for c in entity[1:]]
    if _increasing_within_dates(code, others, dates):
        return np.zeros(n, bool)  # each date's entities in strictly increasing order: none repeats
    for more in others:
        code = code * (int(more.max(initial=0)) + 1) + more
        code = pd.factorize(code)[0]  # dense again: the product space can be large
    size = int(code.max(initial=0)) + 1
    starts = np.r_[0, np.flatnonzero(dates[1:] != dates[:-1]) + 1, n]
    dup = np.zeros(n, bool)
    for s, e in zip(starts[:-1], starts[1:]):
        seg = code[s:e]
        counts = np.bincount(seg, minlength=size)
        if counts.max(initial=0) > 1:
            dup[s:e] = counts[seg] > 1
    return dup


def _increasing_within_dates(code: np.ndarray, more: list[np.ndarray], dates: np.ndarray) -> bool:
    """True when, within each date's block of rows, the entity key (``code``, then the ``more`` codes,
    combined as ``c0 * (max1 + 1) + c1 ...``: one number per distinct key) strictly increases from row to
    row: then no key repeats within a date. One vectorised pass; a file in canonical order (as xladdin
    writes it, codes sorted as text) passes. False proves nothing: the caller counts per date."""
    if len(code) < 2 or any(int(c.min(initial=0)) < 0 for c in [code, *more]):
        return False
    key = code
    for m in more:
        width = int(m.max(initial=0)) + 1
        if int(key.max(initial=0)) >= (2 ** 62) // width:  # the combined key would overflow
            return False
        key = key * width + m
    same_date = dates[1:] == dates[:-1]
    return bool(np.all(~same_date | (key[1:] > key[:-1])))


def _key_checks(df: pd.DataFrame, spec: TableSpec, key: list[str], codes: dict | None = None):
    """Duplicate keys and dates going back within a series.

    Returns ``(dup, back, order, entity)``: ``dup`` marks every row whose key repeats; ``back`` holds
    positions (in ``order``, the rows sorted by entity then file position) whose date is earlier than
    the previous row of the same series; ``entity`` = the key columns other than the date.
    """
    n = len(df)
    entity = [c for c in key if c != spec.sorted_by]
    empty = np.array([], dtype=np.int64)
    if not spec.sorted_by:
        return df.duplicated(key, keep=False).to_numpy(), empty, np.arange(n), entity
    dates = np.asarray(df[spec.sorted_by].to_numpy(), dtype="datetime64[ns]").view("i8")  # no copy
    if n < 2 or bool(np.all(dates[1:] >= dates[:-1])):
        # the file is in date order (as xladdin writes it): no series can go back in time, and a
        # duplicate key is an entity repeated within one date
        return _duplicated_date_sorted(df, spec.sorted_by, dates, entity, codes), empty, np.arange(n), entity
    codes = {c: pd.factorize(df[c], use_na_sentinel=True)[0] for c in key}  # ints: fast on 10M rows
    # stable order by entity, keeping file order within an entity; then dates must not go back
    order = np.lexsort([np.arange(n)] + [codes[c] for c in reversed(entity)]) if entity else np.arange(n)
    d = dates[order]
    same = np.ones(n, bool)
    for c in entity:
        v = codes[c][order]
        same[1:] &= v[1:] == v[:-1]
    same[0] = False
    back = np.flatnonzero(same[1:] & (d[1:] < d[:-1])) + 1
    if back.size == 0:
        # sorted within each entity: a duplicate key is a repeated date next to its twin
        rep = np.zeros(n, bool)
        rep[1:] = same[1:] & (d[1:] == d[:-1]) & (codes[spec.sorted_by][order][1:] >= 0)
        rep[:-1] |= rep[1:]
        dup = np.zeros(n, bool)
        dup[order[rep]] = True
    else:
        dup = pd.DataFrame(codes).duplicated(keep=False).to_numpy()
    return dup, back, order, entity


def check_table(name: str, df: pd.DataFrame, locate: Callable[..., str], file: str,
                codes: dict | None = None) -> list[str]:
    """Content checks on a typed table: positive values, duplicate keys, date order, weight sums.

    ``codes``: :func:`key_codes` of ``df`` when the caller has them (saves factorising again).
    """
    spec, issues = TABLES[name], []
    for col in spec.positive:
        if col not in df.columns:  # a column the caller chose not to read
            continue
        vals = df[col].to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isnan(vals) & (vals <= 0))
        _cap(issues, [f"{locate(i, col)} column `{col}`: {vals[i]:g} must be > 0" for i in bad], f"non-positive `{col}`")
    if name == "etf_info" and "category" in df:
        bad = np.flatnonzero(~df["category"].isin(ETF_CATEGORIES).to_numpy())
        _cap(issues, [f"{locate(i)} column `category`: `{_fmt(df['category'].iloc[i])}` is not one of "
                      f"{', '.join(ETF_CATEGORIES)}" for i in bad], "bad categories")
    key = list(spec.key)
    dup, back, order, entity = _key_checks(df, spec, key, codes)
    if dup.any():
        groups: dict = {}
        for i in np.flatnonzero(dup)[: 50 * _MAX_ISSUES_PER_CHECK]:
            k = tuple(_fmt(df[c].iloc[i]) for c in key)
            groups.setdefault(k, []).append(i)
        _cap(issues, [f"{file}: duplicate key ({', '.join(k)}) in {', '.join(locate(i) for i in rows[:3])}"
                      for k, rows in groups.items()], "duplicate keys")
    if back.size:
        dates = df[spec.sorted_by].to_numpy()[order]
        _cap(issues, [f"{locate(order[i])}: {spec.sorted_by} {_fmt(dates[i])} comes after {_fmt(dates[i - 1])} "
                      f"({locate(order[i - 1])}) for {', '.join(_fmt(df[c].iloc[order[i]]) for c in entity)}; "
                      f"sort each series by {spec.sorted_by}" for i in back], "unsorted dates")
    if name == "index_weights" and not _weight_sums_within(df, (codes or {}).get("index")):
        sums = df.groupby(["index", "date"])["weight"].sum()
        off = sums[(sums - 1).abs() > WEIGHT_SUM_TOL]
        _cap(issues, [f"{file}: weights of {_fmt(idx)} on {_fmt(dt)} sum to {s:.6f}, not 1 (tolerance {WEIGHT_SUM_TOL:g})"
                      for (idx, dt), s in off.items()], "weight sums off")
        neg = np.flatnonzero(df["weight"].to_numpy() < 0)
        _cap(issues, [f"{locate(i)} column `weight`: {df['weight'].iloc[i]:g} is negative" for i in neg], "negative weights")
    return issues


def _weight_sums_within(df: pd.DataFrame, index_codes: tuple | None) -> bool:
    """True when every (index, date)'s weights of ``index_weights`` sum to 1 within the tolerance, proved
    in one vectorised pass for a table in date-then-index order (each group one run of rows, summed by
    ``np.add.reduceat``), with a margin of 1e-9 for the order of the additions. False proves nothing:
    :func:`check_table` then sums per group with pandas and names each group that is off."""
    if index_codes is None or len(df) == 0 or len(index_codes[1]) != len(df):
        return False
    w = df["weight"].to_numpy(dtype=float)
    if np.isnan(w).any():
        return False
    d = np.asarray(df["date"].to_numpy(), dtype="datetime64[ns]").view("i8")
    code = np.asarray(index_codes[1], dtype=np.int64)
    step = np.flatnonzero((d[1:] != d[:-1]) | (code[1:] != code[:-1])) + 1
    starts = np.r_[0, step]
    # runs in strictly increasing (date, index) order: no group is split over two runs
    if not np.all((d[starts[1:]] > d[starts[:-1]]) | ((d[starts[1:]] == d[starts[:-1]])
                                                     & (code[starts[1:]] > code[starts[:-1]]))):
        return False
    sums = np.add.reduceat(w, starts)
    return bool(np.all(np.abs(sums - 1) <= WEIGHT_SUM_TOL - 1e-9))


def key_codes(name: str, df: pd.DataFrame, known: dict | None = None) -> dict[str, tuple]:
    """Sorted factorisations of the text key columns of a typed table (Arrow-backed, no missing
    value): column -> (its Arrow array, int32 codes, uniques), codes and uniques as
    ``pd.factorize(sort=True)``. Computed once per table, they serve the duplicate-key and row-order
    checks and (seeded on the :class:`Market` when the table was not re-sorted) the pivots of
    :mod:`xladdin.data.views`. ``known``: codes the reader produced (:attr:`RawTable.codes`), used for a
    column that still holds the very Arrow array they describe.
    """
    spec, out = TABLES[name], {}
    for c in spec.key:
        if c in df.columns and c not in spec.date_cols and c not in spec.numeric:
            hit = (known or {}).get(c)
            if hit is not None and getattr(df[c].array, "_pa_array", None) is hit[0] and len(hit[1]) == len(df):
                out[c] = hit
                continue
            got = text_codes(df[c])
            if got is not None:
                out[c] = got
    return out


@dataclass
class Typed:
    """One table after :func:`type_table`: the typed table in canonical order (None when a required
    column is missing), its errors and warnings, its :func:`key_codes`, the dates its warnings flag
    (never the as-of date) and the optional columns its file does not have."""

    table: pd.DataFrame | None
    problems: list[str]
    codes: dict
    warnings: list[str] = field(default_factory=list)
    flagged: pd.DatetimeIndex | None = None
    absent: tuple[str, ...] = ()


#: master tables are typed first: the others' codes are checked against them
MASTERS = {"etf_info": "etf", "stock_industry": "stock"}


def type_order(names: Iterable[str]) -> list[str]:
    """``names`` with the master tables (:data:`MASTERS`) first, else in schema order."""
    names = list(names)
    return [n for n in MASTERS if n in names] + [n for n in TABLES if n in names and n not in MASTERS]


def master_codes(name: str, typed: Typed, file: str) -> tuple[set, str] | None:
    """The code set of a master table (for :func:`xladdin.data.checks.check_references`), or None."""
    col = MASTERS.get(name)
    if col is None or typed.table is None or col not in typed.table.columns:
        return None
    known = typed.codes.get(col)
    values = known[2] if known is not None else typed.table[col].dropna().unique()
    return {str(v) for v in values}, file


def type_table(name: str, raw: RawTable, validate: bool = True, masters: dict | None = None,
               today: pd.Timestamp | None = None) -> Typed:
    """Type, normalise, check (with ``validate``) and order one raw table.

    Steps: :func:`coerce_table` (types; cells that are not numbers or dates), then the content rules
    of :mod:`xladdin.data.checks` (dates: time of day, after ``today``, weekends, exchange holidays;
    numbers: inf and implausible magnitudes; text: control characters, code normalisation; codes
    against the ``masters`` already typed, see :func:`master_codes`), then :func:`check_table` (keys,
    order, weights) and :func:`finish_table`. Empty tables get a warning.
    """
    df, problems = coerce_table(raw)
    warnings = list(raw.warnings)
    spec = TABLES[name]
    absent = tuple(c for c in spec.optional if c not in df.columns and c not in raw.skipped
                   and (name, c) not in OPTIONAL_DEFAULTS)
    if any("missing in" in p for p in problems):
        return Typed(None, problems, {}, warnings, absent=absent)
    if len(df) == 0:
        warnings.append(f"{raw.file}: no data rows (a header only); a command that needs {name} will say so")
    df, errs, warns, flagged = checks.check_dates(name, df, raw.locate, today)
    problems += errs
    warnings += warns
    problems += checks.check_numbers(name, df, raw.locate)
    warnings += checks.check_split_days(name, df, raw.locate)
    codes = key_codes(name, df, raw.codes)
    df, errs, warns, changed = checks.check_text(name, df, raw.locate, codes)
    problems += errs
    warnings += warns
    if changed:
        codes = key_codes(name, df, {c: v for c, v in codes.items() if c not in changed})
    errs, warns = checks.check_references(name, df, raw.locate, raw.file, masters or {}, codes)
    problems += errs
    warnings += warns
    warnings += [f"{raw.file}: no `{c}` column; {NEEDED_BY[(name, c)]} need it" for c in absent if (name, c) in NEEDED_BY]
    if not validate:
        return Typed(finish_table(name, df, codes), [], codes, warnings, flagged, absent)
    if not problems or not any(df[c].isna().any() for c in spec.key):
        # (with keys that could not be typed, duplicate and order checks would only repeat those errors)
        problems += check_table(name, df, raw.locate, raw.file, codes)
    return Typed(finish_table(name, df, codes), problems, codes, warnings, flagged, absent)


def seed_codes(market: Market, name: str, codes: dict[str, tuple]) -> None:
    """Keep ``codes`` (:func:`key_codes`) on ``market`` for table ``name`` (valid while its columns keep their data)."""
    for col, fz in codes.items():
        seed(market, name, col, fz)


def _fmt(v) -> str:
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(v).date())
    return checks.show(v)


def finish_table(name: str, df: pd.DataFrame, codes: dict | None = None) -> pd.DataFrame:
    """A typed table in canonical row order (date, then the other key columns) and column order.

    Files written by xladdin (and most exports) are in that order already: checked on integer keys in
    O(n), so the copy of a sort is made only when needed. ``codes``: :func:`key_codes` of ``df``.
    """
    spec = TABLES[name]
    order = [spec.sorted_by] + [c for c in spec.key if c != spec.sorted_by] if spec.sorted_by else list(spec.key)
    if not _in_order(df, order, codes):
        df = df.sort_values(order, kind="stable")
    return df.reset_index(drop=True)[[c for c in spec.columns if c in df.columns]]


def _in_order(df: pd.DataFrame, cols: list[str], codes: dict | None = None) -> bool:
    """Rows sorted by ``cols`` (lexicographic; missing values count as unsorted).

    Compares each row with the next, column by column, without sorting: numbers and dates through
    numpy, text through its sorted codes when ``codes`` has them (same order), else pyarrow's
    vectorised comparisons.
    """
    if len(df) < 2:
        return True
    before = np.zeros(len(df) - 1, bool)  # row i < row i+1 decided by the columns so far
    tied = np.ones(len(df) - 1, bool)     # rows i and i+1 equal in the columns so far
    for c in cols:
        values = df[c]
        known = (codes or {}).get(c)
        if known is not None:  # sorted codes, no missing values
            x = known[1]
            lt, eq = x[:-1] < x[1:], x[:-1] == x[1:]
            before |= tied & lt
            tied &= eq
            continue
        if values.isna().any():
            return False
        arrow = getattr(values.array, "_pa_array", None)
        if arrow is not None:
            arr = arrow.combine_chunks() if hasattr(arrow, "combine_chunks") else arrow
            lo, hi = arr.slice(0, len(arr) - 1), arr.slice(1)
            lt = pc.less(lo, hi).to_numpy(zero_copy_only=False)
            eq = pc.equal(lo, hi).to_numpy(zero_copy_only=False)
        else:
            x = values.to_numpy()
            lt, eq = x[:-1] < x[1:], x[:-1] == x[1:]
        before |= tied & lt
        tied &= eq
    return bool(np.all(before | tied))


# ----------------------------------------------------------------------------- public API
def load_market(path: str | Path, tables: Iterable[str] | None = None, validate: bool = True,
                log_warnings: bool = True) -> Market:
    """Load canonical tables from a folder (or one workbook) into a :class:`Market`.

    Parameters
    ----------
    path : folder holding ``<table>.csv`` / ``.parquet`` / ``.xlsx`` (long or wide form), or an ``.xlsx``
        workbook with one sheet per table (``<table>``) or per field (``<table>.<field>``).
    tables : names to load (default: every table present). A requested table that is missing raises.
    validate : check every table (see :func:`type_table`); errors raise :class:`ValidationFailed`
        listing each with file, row and column (its ``warnings`` attribute lists the warnings).
        Warnings alone do not raise: they are on ``Market.warnings`` and, with ``log_warnings``, logged
        (logger ``xladdin.data``: on stderr unless the application configures logging).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data path {path} does not exist")
    wanted = list(tables) if tables is not None else list(TABLES)
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        raise DataError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    raws, read_errors = {}, []
    if path.is_dir():
        finish_pending(path)  # a store whose last update was killed while committing: complete it first
        for t in wanted:
            try:
                raw = read_table_files(path, t)
            except DataError as exc:
                read_errors.append(str(exc))
                raws[t] = None
                continue
            if raw is not None:
                raws[t] = raw
    else:
        raws = {t: r for t, r in read_workbook_tables(path).items() if t in wanted}
    if tables is not None:
        absent = [t for t in wanted if t not in raws]
        if absent:
            raise DataError(f"{path}: table(s) {', '.join(absent)} not found (expected e.g. {absent[0]}.csv)")
    if not raws:
        raise DataError(f"{path}: no canonical tables found (expected files like etf_daily.csv; known tables: "
                        f"{', '.join(TABLES)})")
    return type_tables({t: r for t, r in raws.items() if r is not None}, str(path), validate=validate,
                       read_errors=read_errors, log_warnings=log_warnings)


def data_source(data: Market | str | Path | None = None, data_dir: str | Path | None = None) -> Market | Path | None:
    """Which market a run uses: ``data`` when given (``--data``, a loaded Market), else the parameter
    ``data_dir``; None (both blank) means the embedded sample market."""
    for source in (data, data_dir):
        if isinstance(source, Market):
            return source
        if source is not None and str(source).strip():
            return Path(source)
    return None


def open_market(data: Market | str | Path | None = None, data_dir: str | Path | None = None,
                tables: Iterable[str] | None = None) -> Market:
    """The market of every command, refresh and job: see :func:`data_source` for the choice, then a
    loaded Market as is, a folder or workbook through :func:`load_market` (``tables``: only these), or
    the embedded sample market."""
    source = data_source(data, data_dir)
    if isinstance(source, Market):
        return source
    if source is not None:
        return load_market(source, tables=tables)
    from .sample import sample_market  # lazy: the sample (scipy.signal) only when no data is given
    return sample_market()


def type_tables(raws: dict[str, RawTable], source: str, validate: bool = True, read_errors: list[str] = (),
                progress: Callable[[str], None] | None = None, today: pd.Timestamp | None = None,
                log_warnings: bool = True) -> Market:
    """Type and check raw tables (:func:`type_table`, masters first) into a :class:`Market`.

    ``raws`` is consumed (emptied) table by table, so that a raw table is freed as soon as its typed
    copy exists: peak memory is the typed data plus one raw table. ``progress(name)`` is called once
    per canonical table (present or not). Raises :class:`ValidationFailed` with every error (read
    errors first); warnings go to ``Market.warnings`` (and to the exception's ``warnings``) and, with
    ``log_warnings``, to :data:`log` (the first :data:`LOGGED_WARNINGS`).
    """
    out, issues, seeds, warnings, masters = {}, list(read_errors), {}, [], {}
    flagged, absent, files, read_from = {}, {}, {}, {}
    for name in type_order(TABLES):
        raw = raws.pop(name, None)
        if raw is not None:
            if raw.since is not None:
                read_from[name] = raw.since
            typed = type_table(name, raw, validate, masters, today)
            issues += typed.problems
            warnings += typed.warnings
            files[name] = raw.file
            if typed.table is not None:
                out[name] = typed.table
                seeds[name] = typed.codes
                if typed.flagged is not None and len(typed.flagged):
                    flagged[name] = typed.flagged
                if typed.absent:
                    absent[name] = typed.absent
                known = master_codes(name, typed, raw.file)
                if known is not None:
                    masters[name] = known
            del raw, typed
        if progress is not None:
            progress(name)
    if log_warnings and not issues:
        for msg in warnings[:LOGGED_WARNINGS]:
            log.warning("warning: %s", msg)
        if len(warnings) > LOGGED_WARNINGS:
            log.warning("warning: ... %d more; `xladdin validate %s` lists them all", len(warnings) - LOGGED_WARNINGS,
                        source)
    if issues:
        exc = ValidationFailed(issues)
        exc.warnings = warnings
        raise exc
    market = Market(out, source=source, read_from=read_from, warnings=warnings, flagged=flagged, absent=absent,
                    files=files)
    for name, codes in seeds.items():
        seed_codes(market, name, codes)  # the checks' factorisations serve the pivots too
    return market


def validate_market(market: Market, today: pd.Timestamp | None = None) -> list[str]:
    """Errors in an in-memory market (the checks of loading that need no file), as messages; empty
    when clean. Codes are checked, not normalised; exchange holidays (warnings) are not looked up."""
    issues, masters = [], {}
    for name in type_order(market.tables):
        df = market.tables[name]
        if df is None:
            continue
        spec = TABLES[name]
        missing = [c for c in spec.columns if c not in df.columns]
        if missing:
            issues += [f"column `{c}` missing in {name}" for c in missing]
            continue
        df = df.reset_index(drop=True)

        def locate(i, col=None, n=name):
            return f"{n} row {i + 1}"
        issues += check_table(name, df, locate, name)
        issues += checks.check_dates(name, df, locate, today, holidays=False)[1]
        issues += checks.check_numbers(name, df, locate)
        issues += checks.check_text(name, df, locate, normalise=False)[1]
        issues += checks.check_references(name, df, locate, name, masters)[0]
        col = MASTERS.get(name)
        if col is not None:
            masters[name] = ({str(v) for v in df[col].dropna().unique()}, name)
    return issues


def write_market(market: Market, folder: str | Path, fmt: str = "csv") -> list[Path]:
    """Write every table of ``market`` to ``folder`` as ``<table>.csv`` (or ``.parquet`` / one ``.xlsx`` each), each
    file atomically (a failed write leaves the previous file)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt not in ("csv", "parquet", "xlsx"):
        raise ValueError(f"format `{fmt}` not supported; use csv, parquet or xlsx")
    written = []
    for name, df in market.tables.items():
        if df is None:
            continue
        p = folder / f"{name}.{fmt}"
        out = df.copy()
        for c in TABLES[name].date_cols:
            if c in out and fmt == "csv":
                out[c] = out[c].dt.strftime("%Y-%m-%d")
        writer = {"csv": out.to_csv, "parquet": out.to_parquet}.get(fmt) or partial(out.to_excel, sheet_name=name)
        written.append(atomic_write_with(p, partial(writer, index=False)))  # csv: shortest repr, floats round-trip
    return written
