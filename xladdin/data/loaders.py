"""Canonical data layer: load, validate and write the spec's tables.

Inputs, per table (see :mod:`xladdin.data.schema` for the columns):

* **long form** — ``<table>.csv``, ``<table>.parquet`` or ``<table>.xlsx`` (first sheet), one row per key,
  with a header row naming the columns;
* **Wind-style wide form** — ``<table>.xlsx`` with one sheet per field (sheet name = field, e.g.
  ``shares``, ``nav``): dates down column A, codes across the first row; or one CSV per field named
  ``<table>.<field>.csv``. Rows whose first cell is not a date (Wind's name/unit rows) are skipped.
* a single workbook ``market.xlsx`` whose sheets are named ``<table>`` (long) or ``<table>.<field>`` (wide).

Every problem found is reported with the file, the row (or cell) and the column, and what is wrong.

A load runs, per table: read (:mod:`~xladdin.data.readers`: the formats in :mod:`~xladdin.data.parquetfile`,
:mod:`~xladdin.data.csvfile`, :mod:`~xladdin.data.wide`, each giving a :class:`~xladdin.data.rawtable.RawTable`;
files opened through :mod:`xladdin.data.sources`), type (:mod:`~xladdin.data.coerce`), check and order
(:mod:`~xladdin.data.typed`: the content rules of :mod:`xladdin.data.checks`, then the key checks of
:mod:`~xladdin.data.keys`), then :func:`type_tables` builds the :class:`Market`. This module holds the entry
points: :func:`load_market`, :func:`open_market` (and :func:`data_source`), :func:`load_sheets` (the tables of an
open workbook), :func:`validate_market`, :func:`write_market`. Errors raise :class:`ValidationFailed`; warnings are kept on ``Market.warnings`` and logged.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pandas as pd

from xladdin.errors import DataError, ValidationFailed
from xladdin.fileguard import atomic_write_all

from . import checks
from .keys import check_table
from .market import Market
from .rawtable import RawTable
from .readers import read_table_files, read_workbook_tables, table_files, tables_from_sheets
from .schema import TABLES
from .storefiles import finish_pending
from .typed import MASTERS, master_codes, seed_codes, type_order, type_table

#: loading warnings go to this logger (shown on stderr when the application configures no logging)
log = logging.getLogger(__name__)
#: warnings logged per load; ``xladdin validate`` lists them all
LOGGED_WARNINGS = 10
#: the file :func:`write_market` leaves in a folder it writes the embedded sample to: a folder holding it
#: loads as the sample (``Market.sample``), so a copy of the sample is marked wherever it goes
SAMPLE_MARKER = "SAMPLE_DATA.txt"
#: the same mark in a workbook that carries the sample's tables (``xladdin template --embed-data``): a hidden sheet
SAMPLE_SHEET = "SAMPLE_DATA"
SAMPLE_MARKER_TEXT = """\
The tables in this folder are xladdin's synthetic sample market (xladdin sample), not market data.
Every workbook, report, mail and command output built from them is marked as sample data.
示例数据:本文件夹中的表是 xladdin 内置的合成样例数据,不是真实行情;由其生成的工作簿、报表、邮件和命令输出都会标注“示例数据”。
Delete this file only after replacing every table with real data.
"""


def load_market(path: str | Path, tables: Iterable[str] | None = None, validate: bool = True,
                log_warnings: bool = True) -> Market:
    """Load canonical tables from a folder (or one workbook) into a :class:`Market`.

    Parameters
    ----------
    path : folder holding ``<table>.csv`` / ``.parquet`` / ``.xlsx`` (long or wide form), or an ``.xlsx``
        workbook with one sheet per table (``<table>``) or per field (``<table>.<field>``).
    tables : names to load (default: every table present). A requested table that is missing raises.
    validate : check every table (see :func:`~xladdin.data.typed.type_table`); errors raise :class:`ValidationFailed`
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
                       read_errors=read_errors, log_warnings=log_warnings, sample=sample_marked(path))


def sample_marked(path: str | Path) -> bool:
    """True when ``path`` is a folder :func:`write_market` wrote the embedded sample to (it holds
    :data:`SAMPLE_MARKER`): its tables load as the sample (``Market.sample``)."""
    path = Path(path)
    return path.is_dir() and (path / SAMPLE_MARKER).is_file()


def load_sheets(sheets: dict[str, pd.DataFrame], source: str, log_warnings: bool = True,
                sample: bool = False) -> Market | None:
    """The canonical tables among the sheets of an open workbook (``name -> frame``, e.g. the hidden sheets
    ``xladdin template --embed-data`` writes, read with :func:`xladdin.data.readers.frame_from_cells`) as a
    checked :class:`Market`, exactly as :func:`load_market` reads a workbook file; None when no sheet is a
    table. ``source`` names the workbook in messages and on the cover; ``sample``: the workbook carries the
    embedded sample (its :data:`SAMPLE_SHEET`), kept as ``Market.sample``."""
    raws = tables_from_sheets(sheets, source)
    if not raws:
        return None
    return type_tables(raws, source, log_warnings=log_warnings, sample=sample)


def data_source(data: Market | str | Path | None = None, data_dir: str | Path | None = None) -> Market | Path | None:
    """Which market a run uses: ``data`` when given (``--data``, a loaded Market), else the parameter
    ``data_dir``; None (both blank) means the embedded sample market."""
    for source in (data, data_dir):
        if isinstance(source, Market):
            return source
        if source is not None and str(source).strip():
            return Path(source)
    return None


def data_dir_from(data_dir: str | Path | None, base: str | Path) -> str:
    """The parameter ``data_dir`` as a path: a relative one is relative to ``base`` -- the workbook's folder for a
    refresh, the parameters file's for the weekly job -- never to the working directory, so a workbook and its
    data folder move together; ``~`` is the home folder; blank stays blank (the sample)."""
    if data_dir is None or not str(data_dir).strip():
        return ""
    path = Path(str(data_dir).strip()).expanduser()
    return str(path if path.is_absolute() else Path(base) / path)


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
                log_warnings: bool = True, sample: bool = False) -> Market:
    """Type and check raw tables (:func:`~xladdin.data.typed.type_table`, masters first) into a :class:`Market`.

    ``raws`` is consumed (emptied) table by table, so that a raw table is freed as soon as its typed
    copy exists: peak memory is the typed data plus one raw table. ``progress(name)`` is called once
    per canonical table (present or not). Raises :class:`ValidationFailed` with every error (read
    errors first); warnings go to ``Market.warnings`` (and to the exception's ``warnings``) and, with
    ``log_warnings``, to :data:`log` (the first :data:`LOGGED_WARNINGS`). ``sample``: the tables are a copy
    of the embedded sample (:func:`sample_marked`), kept as ``Market.sample``.
    """
    out, issues, seeds, warnings, masters = {}, list(read_errors), {}, [], {}
    flagged, absent, files, read_from = {}, {}, {}, {}

    def typed_of(name: str) -> tuple | None:  # the raw table is dropped here, once typed
        raw = raws.pop(name, None)
        if raw is None:
            return None
        return raw.since, raw.file, type_table(name, raw, validate, masters, today)

    def keep(name: str, got: tuple | None) -> None:
        if got is not None:
            since, file, typed = got
            if since is not None:
                read_from[name] = since
            issues.extend(typed.problems)
            warnings.extend(typed.warnings)
            files[name] = file
            if typed.table is not None:
                out[name] = typed.table
                seeds[name] = typed.codes
                if typed.flagged is not None and len(typed.flagged):
                    flagged[name] = typed.flagged
                if typed.absent:
                    absent[name] = typed.absent
                known = master_codes(name, typed, file)
                if known is not None:
                    masters[name] = known
        if progress is not None:
            progress(name)
    order = type_order(TABLES)
    for name in order[:len(MASTERS)]:  # first: the other tables' codes are checked against theirs
        keep(name, typed_of(name))
    rest = order[len(MASTERS):]
    for name, got in zip(rest, map_in_order(typed_of, rest, TYPE_THREADS, "xladdin-type")):
        keep(name, got)  # in the tables' order, whichever finished first
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
                    files=files, sample=sample)
    for name, codes in seeds.items():
        seed_codes(market, name, codes)  # the checks' factorisations serve the pivots too
    return market


#: tables typed and checked at once by :func:`type_tables`: the checks' whole-column numpy work runs outside
#: Python's lock, so two tables at a time keep both cores busy (the weekly job's checks 0.49 -> 0.34 s on the
#: full-scale sample; the browser's Python of xlwings Lite, which starts no thread, types one at a time)
TYPE_THREADS = 2


def map_in_order(fn: Callable, items: list, workers: int, name: str) -> Iterable:
    """``map(fn, items)`` in ``workers`` threads (named ``name``) where threads can start, else in this one; results
    in the order of ``items``, each as soon as it and those before it are done. On an error (or when the caller
    stops iterating) the items not started yet are not run; no thread is left behind."""
    if workers < 2 or sys.platform == "emscripten" or len(items) < 2:
        yield from map(fn, items)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        yield from pool.map(fn, items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
        issues += checks.check_split_days(name, df, locate)
        issues += checks.check_text(name, df, locate, normalise=False)[1]
        issues += checks.check_references(name, df, locate, name, masters)[0]
        col = MASTERS.get(name)
        if col is not None:
            masters[name] = ({str(v) for v in df[col].dropna().unique()}, name)
    return issues


def write_market(market: Market, folder: str | Path, fmt: str = "csv") -> list[Path]:
    """Write every table of ``market`` to ``folder`` as ``<table>.csv`` (or ``.parquet`` / one ``.xlsx`` each), the
    tables together (:func:`~xladdin.fileguard.atomic_write_all`: a failed write -- a full disk, a file-size limit
    -- leaves every previous file, so the folder never holds tables of two fetches); returns the tables' paths. The
    embedded sample (``market.sample``) also leaves :data:`SAMPLE_MARKER`, so the folder loads as the sample again
    (other data written into it later does not remove it: the folder may still hold sample tables)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt not in ("csv", "parquet", "xlsx"):
        raise ValueError(f"format `{fmt}` not supported; use csv, parquet or xlsx")
    for name, df in market.tables.items():  # before the first write: no table left in two files
        other = [p.name for p in table_files(folder, name) if df is not None and p.name != f"{name}.{fmt}"]
        if other:
            raise DataError(f"{folder} holds {', '.join(other)}: writing {name}.{fmt} beside it would leave table "
                            f"{name} in two files; write to another folder or move {', '.join(other)} out")
    writes = [(folder / f"{name}.{fmt}", partial(_write_table, name, df, fmt))
              for name, df in market.tables.items() if df is not None]
    if market.sample:  # replaced first: a folder a kill left half replaced is still marked
        writes.insert(0, (folder / SAMPLE_MARKER, lambda tmp: tmp.write_text(SAMPLE_MARKER_TEXT, encoding="utf-8")))
    written = atomic_write_all(writes)
    return written[1:] if market.sample else written


def _write_table(name: str, df: pd.DataFrame, fmt: str, path: Path) -> None:
    """Write table ``name`` to ``path`` in ``fmt`` (csv: dates as YYYY-MM-DD, floats in their shortest repr, which
    round-trips)."""
    out = df.copy()
    for c in TABLES[name].date_cols:
        if c in out and fmt == "csv":
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    if fmt == "csv":
        out.to_csv(path, index=False)
    elif fmt == "parquet":
        out.to_parquet(path, index=False)
    else:
        out.to_excel(path, sheet_name=name, index=False)
