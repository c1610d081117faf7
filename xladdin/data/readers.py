"""Finding and reading a table's file(s): :func:`read_table_files` (a folder: ``<table>.parquet`` /
``.csv`` / ``.xlsx`` long, ``<table>.<field>.csv`` or a workbook of field sheets wide) and
:func:`read_workbook_tables` (one workbook, a sheet per table or per field). The formats' readers are
:mod:`~xladdin.data.parquetfile`, :mod:`~xladdin.data.csvfile`, :func:`read_excel` here and
:mod:`~xladdin.data.wide`; each returns the table as read (:class:`~xladdin.data.rawtable.RawTable`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xladdin.errors import DataError

from .csvfile import read_long_csv, read_text_csv
from .parquetfile import read_parquet
from .rawtable import RawTable, cut_since, long_locator
from .schema import TABLES, TableSpec
from .sources import check_sheets, check_workbook, csv_text, workbook_sheets
from .wide import wide_to_long


def read_long(path: Path, spec: TableSpec | None = None, sheet: str | int = 0, skip: tuple[str, ...] = (),
               since: pd.Timestamp | None = None) -> tuple[pd.DataFrame, int, dict]:
    """A long-form file as read (not typed), the number of rows skipped at its top (``since``) and
    the sorted codes of its text columns when reading gave them (parquet, clean CSV).

    Raises :class:`DataError` naming the file when it cannot be read (see :mod:`xladdin.data.sources`).
    """
    if path.suffix == ".parquet":
        return read_parquet(path, skip, since, spec.sorted_by if spec is not None else None)
    if path.suffix == ".csv":
        try:
            return read_long_csv(path, csv_text(path), spec, skip, since)
        except UnicodeDecodeError:  # UTF-8 at its start, not further down: decide on the whole file
            return read_long_csv(path, csv_text(path, whole=True), spec, skip, since)
    frame = read_excel(path, sheet)
    return cut_since(frame, spec, since)


def read_excel(path: Path, sheet_name: str | int | None = 0, label: str | None = None, used=None,
               hidden_ok: bool = False):
    """``pd.read_excel`` (all cells as objects) of a workbook checked first by
    :func:`xladdin.data.sources.check_workbook`; any read failure is a :class:`DataError` naming the file.

    The sheets whose values are used (``used``: sheet name -> whether it is; default every sheet read) are
    checked by :func:`xladdin.data.sources.check_sheets` (:func:`check_used`)."""
    check_workbook(path, label)
    names = [s.name for s in workbook_sheets(path)]
    read = names if sheet_name is None else names[sheet_name:sheet_name + 1] if isinstance(sheet_name, int) \
        else [sheet_name]
    check_used(path, [n for n in read if used is None or used(n)], label, hidden_ok)
    try:
        return pd.read_excel(path, sheet_name=sheet_name, dtype=object, keep_default_na=False, na_values=[""])
    except DataError:
        raise
    except Exception as exc:  # openpyxl: KeyError for a missing part, ValueError/TypeError for bad XML, ...
        raise DataError(f"{label or path.name}: cannot read the workbook ({type(exc).__name__}: {exc})") from None


def table_files(folder: Path, name: str) -> list[Path]:
    """Every file of ``folder`` that holds table ``name`` in a form xladdin reads: ``<name>.parquet``, ``.csv``,
    ``.xlsx``, ``.xls`` and the wide ``<name>.<field>.csv`` (these count as one)."""
    found = [folder / f"{name}{ext}" for ext in (".parquet", ".csv", ".xlsx", ".xls") if (folder / f"{name}{ext}").is_file()]
    return found + sorted(p for p in folder.glob(f"{name}.*.csv") if p.is_file())


def one_form(folder: Path, name: str) -> None:
    """Refuse a folder holding table ``name`` in two files (a stale ``etf_daily.parquet`` beside the current
    ``etf_daily.csv``, long and wide forms): which one is current is not for xladdin to guess."""
    files = table_files(folder, name)
    forms = {p.name if p.name.count(".") == 1 else f"{name}.<field>.csv" for p in files}
    if len(forms) > 1:
        names = [p.name for p in files]
        raise DataError(f"{folder}: table {name} is in {len(names)} files ({', '.join(names)}); keep the current "
                        "one and move the others out of the folder")


def check_used(path: Path, names: list[str], label: str | None = None, hidden_ok: bool = False) -> None:
    """The sheets ``names`` of workbook ``path``, whose values a table takes, checked by
    :func:`xladdin.data.sources.check_sheets`: no merged cells, no formula without a saved value, and (unless
    ``hidden_ok``: a workbook of a sheet per table, where no sheet is chosen over another) not hidden."""
    check_sheets(path, [s for s in workbook_sheets(path) if s.name in names], label, hidden_ok)


def read_table_files(folder: Path, name: str, skip: tuple[str, ...] = (), since=None) -> RawTable | None:
    """Find and read table ``name`` in ``folder`` (long or wide form); None if absent, a :class:`DataError` when
    it is there in two files (:func:`one_form`).

    ``skip``: value columns not to read at all (a caller that does not use them saves their memory and
    checks); they are absent from the typed table.
    ``since``: a date; the leading rows of a long-form file (parquet, csv, xlsx) dated before it are
    dropped (``RawTable.first_row`` of them; messages still name the file's lines). Wide forms are
    read whole.
    """
    spec = TABLES[name]
    one_form(folder, name)
    skip = tuple(c for c in skip if c in spec.value_columns)
    since = pd.Timestamp(since) if since is not None else None
    for ext in (".parquet", ".csv"):
        p = folder / f"{name}{ext}"
        if p.is_file():
            frame, first, codes = read_long(p, spec, skip=skip, since=since)
            return RawTable(name, frame, p.name, long_locator(p.name, first), strip_text=ext == ".csv", skipped=skip,
                            first_row=first, since=since if first else None, codes=codes,
                            stripped=tuple(codes) if ext == ".csv" else ())
    wide_csv = sorted(folder.glob(f"{name}.*.csv"))
    if wide_csv:
        frames = {p.name[len(name) + 1:-4]: (read_text_csv(p), p.name) for p in wide_csv}
        return wide_to_long(spec, frames)
    p = folder / f"{name}.xlsx"
    if p.is_file():
        sheets = read_excel(p, None, used=lambda sheet: False)  # checked below, once it is known which are used
        if not sheets:
            raise DataError(f"{p.name}: the workbook has no sheet")
        first = next(iter(sheets.values()))
        if set(spec.key) <= {str(c) for c in first.columns}:  # long: the first sheet (a hidden one is refused)
            check_used(p, [next(iter(sheets))])
            return RawTable(name, first, p.name, long_locator(f"{p.name} sheet `{next(iter(sheets))}`"))
        check_used(p, list(sheets))  # wide: a field per sheet
        return wide_to_long(spec, {s: (df, f"{p.name} sheet `{s}`") for s, df in sheets.items()})
    if (folder / f"{name}.xls").is_file():
        raise DataError(f"{name}.xls: Excel 97-2003 workbooks are not read; save it as {name}.xlsx (or CSV UTF-8)")
    return None


def read_workbook_tables(path: Path) -> dict[str, RawTable]:
    """Read every canonical table from one workbook (sheets ``<table>`` or ``<table>.<field>``)."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise DataError(f"{path.name}: --data takes a folder of table files or one .xlsx workbook, not a "
                        f"{path.suffix or 'extension-less'} file")
    # (a sheet per table: no sheet is chosen over another, so a hidden one -- the tables `template --embed-data`
    # puts in a workbook -- is read; merged cells and formulas without a saved value are refused)
    return tables_from_sheets(read_excel(path, None, used=table_sheet, hidden_ok=True), path.name)


def table_sheet(name: str) -> bool:
    """True for a sheet name that holds a canonical table: ``<table>`` (long) or ``<table>.<field>`` (wide)."""
    return name.partition(".")[0] in TABLES


def tables_from_sheets(sheets: dict[str, pd.DataFrame], label: str) -> dict[str, RawTable]:
    """The canonical tables among a workbook's sheets (``name -> frame as read``, header in the frame's
    columns): sheets ``<table>`` long, ``<table>.<field>`` wide; other sheets are not tables and are
    left alone. ``label`` names the workbook in messages. Every workbook source reads through this: a
    file (:func:`read_workbook_tables`) and an open workbook (:func:`frame_from_cells` of its sheets)."""
    out: dict[str, RawTable] = {}
    wide: dict[str, dict] = {}
    for sheet_name, df in sheets.items():
        table, _, field_name = sheet_name.partition(".")
        if table not in TABLES:
            continue
        if field_name:
            wide.setdefault(table, {})[field_name] = (df, f"{label} sheet `{sheet_name}`")
        else:
            out[table] = RawTable(table, df, label, long_locator(f"{label} sheet `{sheet_name}`"))
    for table, frames in wide.items():
        out[table] = wide_to_long(TABLES[table], frames)
    return out


def frame_from_cells(rows: list[list] | None) -> pd.DataFrame:
    """A sheet's cell values (rows of values from A1, as an open workbook gives them: None or "" for an
    empty cell) as :func:`read_excel` reads the sheet of a file: the first row the header, object cells,
    NaN for an empty cell; trailing empty rows and columns dropped."""
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in (rows or [])]
    empty = lambda v: v is None or (isinstance(v, str) and v == "") or (isinstance(v, float) and v != v)  # noqa: E731
    while rows and all(empty(v) for v in rows[-1]):
        rows.pop()
    if not rows:
        return pd.DataFrame()
    header = rows[0]
    width = max((i + 1 for r in rows for i, v in enumerate(r) if not empty(v)), default=0)
    width = max(width, max((i + 1 for i, v in enumerate(header) if not empty(v)), default=0))
    body = [[np.nan if empty(v) else v for v in (r + [None] * width)[:width]] for r in rows[1:]]
    return pd.DataFrame(body, columns=[str(h) for h in (header + [None] * width)[:width]], dtype=object)
