"""Typing a raw table (:func:`coerce_table`): dates, numbers and text per the schema, each cell that is
not a number or a date named; optional columns with a default (:data:`OPTIONAL_DEFAULTS`) filled."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import checks
from .rawtable import RawTable
from .schema import TABLES

#: values of optional columns used when a file leaves the column out entirely
OPTIONAL_DEFAULTS = {("etf_daily", "split_ratio"): 1.0}


def coerce_table(raw: RawTable) -> tuple[pd.DataFrame | None, list[str]]:
    """Type a raw table (dates, numbers, codes as str) and list what cannot be typed (the table is None when
    a required column is missing or a column appears twice).

    A schema column that appears twice (:func:`duplicated_columns`) is an error. Optional columns absent from
    the file stay absent (a method that needs one says so, see
    :meth:`xladdin.data.market.Market.require`), except those with a default (``split_ratio`` = 1).
    Warnings (a time of day stripped) are appended to ``raw.warnings``.
    """
    spec, df, issues = TABLES[raw.name], raw.frame, []
    df = df.rename(columns=lambda c: str(c).strip())
    twice = duplicated_columns(df.columns, spec.columns)
    if twice:
        return None, [f"{raw.file}: two columns named `{c}`; keep one (which one holds the data is not for xladdin "
                      "to guess)" for c in twice]
    missing = [c for c in spec.columns if c not in df.columns and c not in spec.optional and c not in raw.skipped]
    if missing:
        return None, [f"column `{c}` missing in {raw.file} (expected columns: {', '.join(spec.columns)})" for c in missing]
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
                checks.cap(issues, [f"{raw.locate(i, col)} column `{col}`: value is empty" for i in empty],
                     f"empty `{col}` values")
                typed[col] = s.astype(float)
                continue
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                parsed, blank = s.astype(float), s.isna()  # typed already (parquet, pyarrow CSV): nothing to parse
            else:
                parsed = pd.to_numeric(s, errors="coerce").astype(float)
                blank = s.isna() | (s.astype(str).str.strip() == "")
            bad = parsed.isna() & ~blank
            checks.cap(issues, [f"{raw.locate(i, col)} column `{col}`: `{checks.show(s.iloc[i])}` is not a number"
                          for i in np.flatnonzero(bad.to_numpy())], f"non-numeric values in `{col}`")
            if col not in spec.optional:
                checks.cap(issues, [f"{raw.locate(i, col)} column `{col}`: value is empty"
                              for i in np.flatnonzero((blank & parsed.isna()).to_numpy())], f"empty `{col}` values")
            typed[col] = parsed
        else:
            text = s if s.dtype == "str" else s.astype("str")
            if raw.strip_text and col not in raw.stripped:
                text = text.str.strip()
            if col in spec.key:
                empty = _empty_texts(text, raw.codes.get(col))
                checks.cap(issues, [f"{raw.locate(i)} column `{col}`: empty code" for i in empty], f"empty `{col}` values")
            typed[col] = text
    return _assemble(df, typed), issues


def duplicated_columns(names, schema_columns) -> list[str]:
    """Schema columns that appear more than once among ``names``: as such (a parquet file, a header
    stripped of spaces) or as pandas' readers rename a repeat (``shares``, ``shares.1``)."""
    names = [str(n) for n in names]
    out = []
    for c in schema_columns:
        repeats = [n for n in names if n == c or re.fullmatch(re.escape(c) + r"\.\d+", n)]
        if len(repeats) > 1:
            out.append(c)
    return out


def _empty_texts(text: pd.Series, known: tuple | None) -> np.ndarray:
    """Rows of a text column that are missing or empty. ``known``: the reader's sorted codes of the column
    (:attr:`~xladdin.data.rawtable.RawTable.codes`: no missing value); while the column holds the very array
    they describe, the empty rows are those whose code is the one of ``""`` among its distinct values (no
    text compared)."""
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
