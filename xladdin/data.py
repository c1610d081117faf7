"""Canonical data layer: load, validate and write the spec's tables.

Inputs, per table (see :mod:`xladdin.schema` for the columns):

* **long form** — ``<table>.csv``, ``<table>.parquet`` or ``<table>.xlsx`` (first sheet), one row per key,
  with a header row naming the columns;
* **Wind-style wide form** — ``<table>.xlsx`` with one sheet per field (sheet name = field, e.g.
  ``shares``, ``nav``): dates down column A, codes across the first row; or one CSV per field named
  ``<table>.<field>.csv``. Rows whose first cell is not a date (Wind's name/unit rows) are skipped.
* a single workbook ``market.xlsx`` whose sheets are named ``<table>`` (long) or ``<table>.<field>`` (wide).

Every problem found is reported with the file, the row (or cell) and the column, and what is wrong.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .errors import DataError, ValidationFailed
from .market import Market
from .schema import TABLES, WEIGHT_SUM_TOL, TableSpec

#: values of optional columns used when a file leaves the column out entirely
OPTIONAL_DEFAULTS = {("etf_daily", "split_ratio"): 1.0}
_MAX_ISSUES_PER_CHECK = 20


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
    import pyarrow as pa
    fz = None
    if pa.types.is_dictionary(column.type):
        column, fz = _decode_dictionary(column, strip)
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    out = column.to_pandas(types_mapper=lambda t: text if pa.types.is_string(t) or pa.types.is_large_string(t) else None)
    return out, (out.array._pa_array, *fz) if fz is not None else None


def _excel_col(n: int) -> str:
    """Excel column letters of zero-based column ``n``."""
    from openpyxl.utils import get_column_letter
    return get_column_letter(n + 1)


def _read_long(path: Path, spec: TableSpec | None = None, sheet: str | int = 0, skip: tuple[str, ...] = (),
               since: pd.Timestamp | None = None) -> tuple[pd.DataFrame, int, dict]:
    """A long-form file as read (not typed), the number of rows skipped at its top (``since``) and
    the sorted codes of its text columns when reading gave them (parquet)."""
    if path.suffix == ".parquet":
        return _read_parquet(path, skip, since, spec.sorted_by if spec is not None else None)
    if path.suffix == ".csv":
        typed = _read_csv_arrow(path, spec, skip, since) if spec is not None else None
        if typed is not None:
            return typed
        frame = _read_csv(path, spec)
        frame = frame.drop(columns=[c for c in skip if c in frame.columns])
    else:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=object, keep_default_na=False, na_values=[""])
    date_col = spec.sorted_by if spec is not None else None
    if since is not None and date_col in frame.columns:
        first = _leading_rows_before(frame[date_col], since)
        if first:
            return frame.iloc[first:].reset_index(drop=True), first, {}
    return frame, 0, {}


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
    import pyarrow as pa
    import pyarrow.parquet as pq

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
    import pyarrow as pa
    import pyarrow.compute as pc
    column = column.unify_dictionaries()
    value_type = column.type.value_type
    if column.num_chunks == 0:
        return column.cast(value_type), None
    dictionary = column.chunk(0).dictionary
    if strip:  # strip the (small) dictionary, then decode through it
        dictionary = pc.utf8_trim_whitespace(dictionary)
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


def _read_csv_arrow(path: Path, spec: TableSpec, skip: tuple[str, ...] = (),
                    since: pd.Timestamp | None = None) -> tuple[pd.DataFrame, int, dict] | None:
    """Typed read of a clean long CSV with pyarrow (both cores): ISO dates, numbers, text read
    dictionary-encoded and stripped (giving its sorted codes, see :func:`key_codes`); leading rows
    dated before ``since`` dropped. None when the file is not that clean (a bad number or date,
    another date format, another encoding): the caller then reads it as text and
    :func:`coerce_table` names each offending cell.
    """
    import csv
    import pyarrow as pa
    import pyarrow.csv as pcsv
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except (UnicodeDecodeError, OSError):
        return None
    if not header or len(set(header)) != len(header):
        return None
    header = [h.strip() for h in header]
    texts = [c for c in header if c in spec.columns and c not in spec.numeric and c not in spec.date_cols]
    types = {c: pa.timestamp("ns") for c in spec.date_cols if c in header}
    types.update({c: pa.float64() for c in spec.numeric if c in header})
    types.update({c: pa.dictionary(pa.int32(), pa.string()) for c in texts})
    keep = [c for c in header if c not in skip]
    try:
        table = pcsv.read_csv(path, read_options=pcsv.ReadOptions(column_names=header, skip_rows=1),
                              convert_options=pcsv.ConvertOptions(column_types=types, include_columns=keep,
                                                                  null_values=[""], strings_can_be_null=True,
                                                                  quoted_strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, UnicodeDecodeError, ValueError):
        return None
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


def _read_csv(path: Path, spec: TableSpec | None) -> pd.DataFrame:
    """Read a long CSV: fast typed read (pyarrow) with codes as text; the all-text read when that fails.

    Either way every row keeps its position, so messages can name the line; a column that is not
    clean numbers comes back as text and :func:`coerce_table` names the offending rows.
    """
    if spec is not None:
        text_cols = [c for c in spec.columns if c not in spec.numeric and c not in spec.date_cols]
        try:
            frame = pd.read_csv(path, engine="pyarrow", encoding="utf-8-sig",
                                dtype={c: "str" for c in text_cols}, keep_default_na=False, na_values=[""])
        except (ValueError, TypeError, KeyError, ImportError):  # pragma: no cover - odd files: slow exact path
            pass
        else:
            for c in spec.date_cols:  # a column of clean ISO dates arrives as datetime.date objects
                if c in frame.columns and frame[c].dtype == object:
                    first = frame[c].first_valid_index()
                    if first is not None and isinstance(frame[c].at[first], _dt.date):
                        frame[c] = frame[c].astype("datetime64[ns]")
            return frame
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")


def _wide_to_long(spec: TableSpec, field_frames: dict[str, tuple[pd.DataFrame, str]]) -> RawTable:
    """Melt Wind-style sheets (dates down, codes across) of one table into long form."""
    parts, locs = [], []
    for field_name, (sheet, where) in field_frames.items():
        if field_name not in spec.value_columns:
            raise DataError(f"{where}: `{field_name}` is not a column of {spec.name} "
                            f"(expected one of {', '.join(spec.value_columns)})")
        first = sheet.iloc[:, 0]
        dates = _parse_dates(first)
        keep = dates.notna().to_numpy()
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

    return RawTable(spec.name, wide, file, locate)


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
        frames = {p.name[len(name) + 1:-4]: (pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""],
                                                      encoding="utf-8-sig"), p.name) for p in wide_csv}
        return _wide_to_long(spec, frames)
    p = folder / f"{name}.xlsx"
    if p.is_file():
        sheets = pd.read_excel(p, sheet_name=None, dtype=object, keep_default_na=False, na_values=[""])
        first = next(iter(sheets.values()))
        if set(spec.key) <= {str(c) for c in first.columns}:
            return RawTable(name, first, p.name, _long_locator(f"{p.name} sheet `{next(iter(sheets))}`"))
        return _wide_to_long(spec, {s: (df, f"{p.name} sheet `{s}`") for s, df in sheets.items()})
    return None


def read_workbook_tables(path: Path) -> dict[str, RawTable]:
    """Read every canonical table from one workbook (sheets ``<table>`` or ``<table>.<field>``)."""
    sheets = pd.read_excel(path, sheet_name=None, dtype=object, keep_default_na=False, na_values=[""])
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
    """Type a raw table (dates, numbers, codes as str) and list what cannot be typed."""
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
            typed[col] = pd.Series(OPTIONAL_DEFAULTS.get((spec.name, col), np.nan), index=df.index, dtype=float)
            continue
        s = df[col]
        if col in spec.date_cols:
            parsed = s if pd.api.types.is_datetime64_any_dtype(s) else _parse_dates(s)
            bad = parsed.isna() & s.notna()
            if col in spec.key:
                bad |= s.isna()
            _cap(issues, [f"{raw.locate(i, col)} column `{col}`: `{s.iloc[i]}` is not a date (use YYYY-MM-DD)"
                          for i in np.flatnonzero(bad.to_numpy())], f"bad dates in `{col}`")
            typed[col] = parsed.astype("datetime64[ns]")
        elif col in spec.numeric:
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                parsed, blank = s.astype(float), s.isna()  # typed already (parquet, pyarrow CSV): nothing to parse
            else:
                parsed = pd.to_numeric(s, errors="coerce").astype(float)
                blank = s.isna() | (s.astype(str).str.strip() == "")
            bad = parsed.isna() & ~blank
            _cap(issues, [f"{raw.locate(i, col)} column `{col}`: `{s.iloc[i]}` is not a number"
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
                empty = (text.isna() | (text == "")).to_numpy()
                _cap(issues, [f"{raw.locate(i)} column `{col}`: empty code" for i in np.flatnonzero(empty)],
                     f"empty `{col}` values")
            typed[col] = text
    return _assemble(df, typed), issues


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


def _parse_dates(s: pd.Series) -> pd.Series:
    """ISO dates fast; anything else (2020/1/2, Excel serial datetimes) through pandas' mixed parser."""
    parsed = pd.to_datetime(s, errors="coerce", format="ISO8601")
    retry = parsed.isna() & s.notna()
    if retry.any():
        parsed = parsed.astype("datetime64[ns]")
        parsed[retry] = pd.to_datetime(s[retry], errors="coerce", format="mixed")
    return parsed


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a column (equal values, equal codes; missing values get their own code)."""
    arrow = getattr(values.array, "_pa_array", None)
    if arrow is not None and values.notna().all():
        import pyarrow.compute as pc
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
    for c in entity[1:]:
        more = column_codes(c)
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
        from .schema import ETF_CATEGORIES
        bad = np.flatnonzero(~df["category"].isin(ETF_CATEGORIES).to_numpy())
        _cap(issues, [f"{locate(i)} column `category`: `{df['category'].iloc[i]}` is not one of "
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
    if name == "index_weights":
        sums = df.groupby(["index", "date"])["weight"].sum()
        off = sums[(sums - 1).abs() > WEIGHT_SUM_TOL]
        _cap(issues, [f"{file}: weights of {idx} on {_fmt(dt)} sum to {s:.6f}, not 1 (tolerance {WEIGHT_SUM_TOL:g})"
                      for (idx, dt), s in off.items()], "weight sums off")
        neg = np.flatnonzero(df["weight"].to_numpy() < 0)
        _cap(issues, [f"{locate(i)} column `weight`: {df['weight'].iloc[i]:g} is negative" for i in neg], "negative weights")
    return issues


def key_codes(name: str, df: pd.DataFrame, known: dict | None = None) -> dict[str, tuple]:
    """Sorted factorisations of the text key columns of a typed table (Arrow-backed, no missing
    value): column -> (its Arrow array, int32 codes, uniques), codes and uniques as
    ``pd.factorize(sort=True)``. Computed once per table, they serve the duplicate-key and row-order
    checks and (seeded on the :class:`Market` when the table was not re-sorted) the pivots of
    :mod:`xladdin._shared`. ``known``: codes the reader produced (:attr:`RawTable.codes`), used for a
    column that still holds the very Arrow array they describe.
    """
    from ._shared import text_codes
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


def type_table(name: str, raw: RawTable, validate: bool = True) -> tuple[pd.DataFrame | None, list[str], dict]:
    """Type, check (with ``validate``) and order one raw table: ``(table, problems, codes)``.

    ``table`` is None when a required column is missing (``problems`` says which); ``codes`` are its
    :func:`key_codes`, to hand to :func:`seed_codes` once the table is in a :class:`Market`.
    """
    df, problems = coerce_table(raw)
    if any("missing in" in p for p in problems):
        return None, problems, {}
    codes = key_codes(name, df, raw.codes)
    if validate:
        problems = problems + check_table(name, df, raw.locate, raw.file, codes)
    return finish_table(name, df, codes), problems, codes


def seed_codes(market: Market, name: str, codes: dict[str, tuple]) -> None:
    """Keep ``codes`` (:func:`key_codes`) on ``market`` for table ``name`` (valid while its columns keep their data)."""
    from ._shared import seed
    for col, fz in codes.items():
        seed(market, name, col, fz)


def _fmt(v) -> str:
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(v).date())
    return str(v)


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
            import pyarrow.compute as pc
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
def load_market(path: str | Path, tables: Iterable[str] | None = None, validate: bool = True) -> Market:
    """Load canonical tables from a folder (or one workbook) into a :class:`Market`.

    Parameters
    ----------
    path : folder holding ``<table>.csv`` / ``.parquet`` / ``.xlsx`` (long or wide form), or an ``.xlsx``
        workbook with one sheet per table (``<table>``) or per field (``<table>.<field>``).
    tables : names to load (default: every table present). A requested table that is missing raises.
    validate : check every table (see :func:`check_table`); problems raise :class:`ValidationFailed`
        listing each with file, row and column.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data path {path} does not exist")
    wanted = list(tables) if tables is not None else list(TABLES)
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        raise DataError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    if path.is_dir():
        raws = {t: r for t in wanted if (r := read_table_files(path, t)) is not None}
    else:
        raws = {t: r for t, r in read_workbook_tables(path).items() if t in wanted}
    if tables is not None:
        absent = [t for t in wanted if t not in raws]
        if absent:
            raise DataError(f"{path}: table(s) {', '.join(absent)} not found (expected e.g. {absent[0]}.csv)")
    if not raws:
        raise DataError(f"{path}: no canonical tables found (expected files like etf_daily.csv; known tables: "
                        f"{', '.join(TABLES)})")
    out, issues, seeds = {}, [], {}
    for name, raw in raws.items():
        table, problems, seeds[name] = type_table(name, raw, validate)
        issues += problems
        if table is not None:
            out[name] = table
    if issues:
        raise ValidationFailed(issues)
    market = Market(out, source=str(path))
    for name, codes in seeds.items():
        seed_codes(market, name, codes)
    return market


def validate_market(market: Market) -> list[str]:
    """Problems in an in-memory market (same checks as loading), as messages; empty when clean."""
    issues = []
    for name, df in market.tables.items():
        if df is None:
            continue
        spec = TABLES[name]
        missing = [c for c in spec.columns if c not in df.columns]
        if missing:
            issues += [f"column `{c}` missing in {name}" for c in missing]
            continue
        issues += check_table(name, df.reset_index(drop=True), lambda i, col=None, n=name: f"{n} row {i + 1}", name)
    return issues


def write_market(market: Market, folder: str | Path, fmt: str = "csv") -> list[Path]:
    """Write every table of ``market`` to ``folder`` as ``<table>.csv`` (or ``.parquet`` / one ``.xlsx`` each)."""
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
        if fmt == "csv":
            out.to_csv(p, index=False)  # shortest repr: round-trips every float exactly
        elif fmt == "parquet":
            out.to_parquet(p, index=False)
        else:
            out.to_excel(p, index=False, sheet_name=name)
        written.append(p)
    return written
