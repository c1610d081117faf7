"""A loaded market: the canonical tables with typed accessors.

Tables a method does not need may be absent; asking for one raises :class:`MissingTableError`
naming the table and the file to provide.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from xladdin.errors import Note

from .schema import TABLES
from .views import cached, pivot


def _latest(values: pd.Series) -> pd.Timestamp | None:
    """``values.max()`` (NaT skipped; NaT when every value is NaT) as a Timestamp, None when empty. A datetime64
    column is read as its integers (NaT is the smallest): no mask of missing values is built."""
    if values.empty:
        return None
    arr = values.to_numpy()
    if arr.dtype.kind == "M":
        return pd.Timestamp(arr.view("i8").max().astype(arr.dtype))
    return pd.Timestamp(values.max())


class MissingTableError(KeyError):
    """A method needs a canonical table the market does not have."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


@dataclass
class Market:
    """Canonical tables (long form, see :mod:`xladdin.data.schema`) keyed by table name.

    ``source`` says where the tables came from (a folder, a file or ``"sample"``), for messages
    and the workbook's data-freshness table. ``read_from`` names the tables that were read only
    from a date on (table -> that date; e.g. the weekly job reads the stock-level tables from the
    dashboard's window), so that what is shown about them can say so.

    ``sample`` is the one owner of "these tables are the embedded synthetic sample": set by
    :func:`xladdin.data.sample.generate_market` and, for a folder the sample was written to
    (:func:`xladdin.data.loaders.write_market` leaves :data:`xladdin.data.loaders.SAMPLE_MARKER` there), by
    the loaders; kept by :meth:`subset`. Everything built from such a market says so (the workbook's
    banner, the mail's subject and first line, every command's output); real data never does.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    source: str = "memory"
    read_from: dict[str, pd.Timestamp] = field(default_factory=dict)
    #: what loading found that is not an error (file, row, column, what was done), in load order
    warnings: list[str] = field(default_factory=list)
    #: table -> dates its warnings flag (exchange holidays): never taken as the as-of date
    flagged: dict[str, pd.DatetimeIndex] = field(default_factory=dict)
    #: table -> optional columns its file does not have (see :meth:`require`)
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: table -> the file (or sheet) it was read from, for messages
    files: dict[str, str] = field(default_factory=dict)
    #: set by :meth:`subset`: the date range the tables were cut to, for messages
    span: tuple | None = None
    #: the embedded synthetic sample (or a copy of it read back from a folder), not market data
    sample: bool = False
    #: sorted factorisations of text columns computed while loading: (table, column) -> (the column's
    #: Arrow array, codes, uniques); see :meth:`keep_codes` / :meth:`codes` (the only ways to use it)
    text_codes: dict = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ generic
    def has(self, name: str) -> bool:
        """True when table ``name`` is present with at least one row (an empty table counts as absent)."""
        return name in self.tables and self.tables[name] is not None and len(self.tables[name]) > 0

    def file_of(self, name: str) -> str:
        """The file table ``name`` came from (``<name>.csv`` when not known)."""
        return self.files.get(name, f"{name}.csv")

    def table(self, name: str) -> pd.DataFrame:
        """The long-form table ``name``; raises :class:`MissingTableError` if absent or empty."""
        if name not in TABLES:
            raise KeyError(f"unknown table `{name}`; known: {', '.join(TABLES)}")
        columns = ", ".join(TABLES[name].columns)
        if name not in self.tables or self.tables[name] is None:
            raise MissingTableError(Note(
                "data.missing", f"table `{name}` is missing from {self.source}: provide {name}.csv (columns: {columns})",
                table=name, source=self.source, columns=columns))
        if len(self.tables[name]) == 0:
            where = (f" between {self.span[0]:%Y-%m-%d} and {self.span[1]:%Y-%m-%d}"
                     if self.span and None not in self.span else " in the chosen dates" if self.span else "")
            raise MissingTableError(Note(
                "data.empty", f"table `{name}` is empty: {self.file_of(name)} in {self.source} has no rows{where}; "
                f"it needs rows with the columns {columns}", table=name, file=self.file_of(name), source=self.source,
                columns=columns))
        return self.tables[name]

    def require(self, name: str, *columns: str, purpose: str) -> pd.DataFrame:
        """Table ``name``, checked to have ``columns`` (optional columns may be absent from a file):
        raises :class:`MissingTableError` naming the column and ``purpose`` (e.g. ``"ETF flows (M1)"``)."""
        df = self.table(name)
        for col in columns:
            if col not in df.columns:
                raise MissingTableError(Note(
                    "data.no_column", f"{name}.{col} is needed for {purpose}; {self.file_of(name)} in {self.source} "
                    f"has no {col} column", table=name, column=col, file=self.file_of(name), source=self.source))
        return df

    def last_date(self, name: str) -> pd.Timestamp | None:
        """Latest date of time-series table ``name`` (its date column), or None (absent, or not a series).
        Once per table inside :func:`xladdin.data.views.shared` (the weekly run dates every step by it)."""
        if not self.has(name):
            return None
        col = TABLES[name].sorted_by  # only time series have a freshness (etf_info.list_date is not one)
        if col is None:
            return None
        return cached(self, ("last_date", name), lambda: _latest(self.tables[name][col]), (name,))

    def first_date(self, name: str) -> pd.Timestamp | None:
        if not self.has(name):
            return None
        col = TABLES[name].sorted_by
        if col is None:
            return None
        values = self.tables[name][col]
        return None if values.empty else pd.Timestamp(values.min())

    def panel(self, name: str, field_: str, codes: list[str] | None = None) -> pd.DataFrame:
        """Wide view of one field: index = date, columns = codes (sorted).

        Equal to ``df.pivot(index=date, columns=code, values=field_).sort_index()`` of the table's rows
        (of ``codes``); built from integer codes (:func:`xladdin.data.views.pivot`), and once per run
        inside :func:`xladdin.data.views.shared`.
        """
        spec = TABLES[name]
        self.require(name, field_, purpose=f"the {field_} panel of {name}")
        return pivot(self, name, field_, index=spec.wide_date, columns=spec.wide_code, codes=codes)

    # ------------------------------------------------------------------ codes kept from loading
    def keep_codes(self, table: str, column: str, factorized: tuple) -> None:
        """Keep the sorted factorisation ``(Arrow array, codes, uniques)`` of ``tables[table][column]``
        (as ``pd.factorize(sort=True)``) for later pivots; kept only while the column holds exactly
        that Arrow array (Arrow arrays are immutable: any edit or re-sort of the table replaces it).
        The codes are made read-only: every pivot reads them."""
        arr = getattr(self.tables[table][column].array, "_pa_array", None)
        if arr is not None and arr is factorized[0] and len(factorized[1]) == len(self.tables[table]):
            factorized[1].flags.writeable = False
            self.text_codes[(table, column)] = factorized

    def codes(self, table: str, column: str) -> tuple | None:
        """``(codes, uniques)`` kept by :meth:`keep_codes` for ``tables[table][column]``; None when none
        were kept or the column no longer holds the array they describe."""
        hit = self.text_codes.get((table, column))
        if hit is None or not self.has(table) or column not in self.tables[table].columns:
            return None
        arr, codes, uniques = hit
        if getattr(self.tables[table][column].array, "_pa_array", None) is not arr:
            return None
        return codes, uniques

    # ------------------------------------------------------------------ typed accessors
    @property
    def etf_info(self) -> pd.DataFrame:
        """ETF master indexed by ``etf``: name, tracked_index, category, list_date."""
        return self.table("etf_info").set_index("etf")

    def etf_panel(self, field_: str, etfs: list[str] | None = None) -> pd.DataFrame:
        """``etf_daily`` field (shares, nav, close, split_ratio) as dates x ETFs."""
        return self.panel("etf_daily", field_, etfs)

    def etfs_tracking(self, index: str) -> list[str]:
        """Codes of the ETFs whose tracked_index is ``index``."""
        info = self.etf_info
        return sorted(info.index[info["tracked_index"] == index])

    def index_close(self, index: str | None = None) -> pd.Series | pd.DataFrame:
        """Index closes: a Series for one index, else dates x indices."""
        if index is None:
            return self.panel("index_daily", "close")
        df = self.table("index_daily")
        s = df.loc[df["index"] == index].set_index("date")["close"].sort_index()
        if s.empty:
            raise MissingTableError(Note("data.no_index", f"index `{index}` has no rows in index_daily ({self.source})",
                                         index=index, source=self.source))
        s.name = index
        return s

    def industry_close(self) -> pd.DataFrame:
        """Industry index closes, dates x industries."""
        return self.panel("industry_daily", "close")

    def index_weights(self, index: str) -> pd.DataFrame:
        """Constituent weights of ``index``: columns date, stock, weight."""
        df = self.table("index_weights")
        out = df.loc[df["index"] == index, ["date", "stock", "weight"]]
        return out.reset_index(drop=True)

    @property
    def stock_industry(self) -> pd.DataFrame:
        """Stock to industry, indexed by ``stock``: industry, industry_name."""
        return self.table("stock_industry").set_index("stock")

    @property
    def industry_names(self) -> pd.Series:
        """Industry code -> name (from stock_industry)."""
        si = self.table("stock_industry")
        return si.drop_duplicates("industry").set_index("industry")["industry_name"].sort_index()

    def subset(self, start=None, end=None) -> Market:
        """A market restricted to dates in [start, end] (every date-keyed table)."""
        start = pd.Timestamp(start) if start is not None else None
        end = pd.Timestamp(end) if end is not None else None
        out = {}
        for name, df in self.tables.items():
            col = TABLES[name].sorted_by
            if col is None or df is None:
                out[name] = df
                continue
            mask = pd.Series(True, index=df.index)
            if start is not None:
                mask &= df[col] >= start
            if end is not None:
                mask &= df[col] <= end
            out[name] = df.loc[mask].reset_index(drop=True)
        return Market(out, source=self.source, read_from=dict(self.read_from), warnings=list(self.warnings),
                      flagged=dict(self.flagged), absent=dict(self.absent), files=dict(self.files), span=(start, end),
                      sample=self.sample)

    def describe(self) -> pd.DataFrame:
        """One row per table present: rows, first and last date."""
        rows = []
        for name in TABLES:
            if self.has(name):
                rows.append({"table": name, "rows": len(self.tables[name]),
                             "first": self.first_date(name), "last": self.last_date(name)})
        return pd.DataFrame(rows, columns=["table", "rows", "first", "last"])


def source_label(path: str | Path) -> str:
    return str(Path(path))
