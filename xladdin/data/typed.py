"""One table typed and checked (:func:`type_table` -> :class:`Typed`), master tables first
(:data:`MASTERS`, :func:`type_order`) so that the others' codes are checked against them."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from . import checks
from .coerce import OPTIONAL_DEFAULTS, coerce_table
from .keys import check_table_order, finish_table, key_codes
from .market import Market
from .rawtable import RawTable
from .schema import TABLES
from .views import seed

#: optional columns that methods need: a file without the column gets a warning saying who needs it
NEEDED_BY = {("etf_daily", "nav"): "ETF flows (M1) and everything built on them (study, backtest rotation, "
                                   "dashboard, the weekly workbook)",
             ("etf_daily", "close"): "ETF returns on close prices (backtest northbound --price close)"}


@dataclass
class Typed:
    """One table after :func:`type_table`: the typed table in canonical order (None when a required
    column is missing), its errors and warnings, its :func:`~xladdin.data.keys.key_codes`, the dates its warnings flag
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

    Steps: :func:`~xladdin.data.coerce.coerce_table` (types; cells that are not numbers or dates), then
    the content rules of :mod:`xladdin.data.checks` (dates: time of day, after ``today``, weekends,
    exchange holidays; numbers: inf and implausible magnitudes; text: control characters, code
    normalisation; codes against the ``masters`` already typed, see :func:`master_codes`), then
    :func:`~xladdin.data.keys.check_table` (keys, order, weights) and :func:`~xladdin.data.keys.finish_table`.
    Empty tables get a warning.
    """
    df, problems = coerce_table(raw)
    warnings = list(raw.warnings)
    spec = TABLES[name]
    columns = df.columns if df is not None else [str(c).strip() for c in raw.frame.columns]
    absent = tuple(c for c in spec.optional if c not in columns and c not in raw.skipped
                   and (name, c) not in OPTIONAL_DEFAULTS)
    if df is None:  # a required column missing, or one twice: nothing to check further
        return Typed(None, problems, {}, warnings, absent=absent)
    if len(df) == 0:
        warnings.append(f"{raw.file}: no data rows (a header only); a command that needs {name} will say so")
    df, errs, warns, flagged = checks.check_dates(name, df, raw.locate, today)
    problems += errs
    warnings += warns
    problems += checks.check_numbers(name, df, raw.locate)
    problems += checks.check_split_days(name, df, raw.locate)
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
    in_order = False
    if not problems or not any(df[c].isna().any() for c in spec.key):
        # (with keys that could not be typed, duplicate and order checks would only repeat those errors)
        errs, in_order = check_table_order(name, df, raw.locate, raw.file, codes)
        problems += errs
    return Typed(finish_table(name, df, codes, in_order), problems, codes, warnings, flagged, absent)


def seed_codes(market: Market, name: str, codes: dict[str, tuple]) -> None:
    """Keep ``codes`` (:func:`~xladdin.data.keys.key_codes`) on ``market`` for table ``name`` (valid while its
    columns keep their data)."""
    for col, fz in codes.items():
        seed(market, name, col, fz)
