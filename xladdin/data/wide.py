"""Wind-style wide form: sheets (or CSVs) of one field each, dates down column A and codes across the
first row, melted into one long :class:`~xladdin.data.rawtable.RawTable` (:func:`wide_to_long`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from xladdin.errors import DataError

from . import checks
from .rawtable import RawTable, excel_col
from .schema import TableSpec


def wide_to_long(spec: TableSpec, field_frames: dict[str, tuple[pd.DataFrame, str]]) -> RawTable:
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
                return f"{where} cell {excel_col(int(c[hit]))}{int(r[hit])}"
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
