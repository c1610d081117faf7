"""Wide views of a market's long tables, and the run's cache of them (performance plumbing, no method).

Two things, both invisible in the results:

* :func:`shared` — a context in which the wide views of one :class:`Market`'s tables (pivots, their
  row layouts, the factorisations of date and code columns) are built once and reused by every
  method called inside it. :func:`xladdin.workbook.weekly.compute_weekly` runs its steps in one such context,
  so the pivots of the 10-million-row stock tables and of etf_daily are built once per workbook
  instead of once per table. The results of methods (the M1 ETF flows, the M6 penetration weights,
  the M5 style tables) are not kept here: the run computes each once and passes it on
  (:class:`xladdin.workbook.context.WeeklyContext`). Outside the context nothing is cached (every call
  recomputes), so a caller that edits a market between calls is never served stale data. Cached
  frames are handed out as shallow copies (copy-on-write): editing one never changes the cached value.
* :func:`pivot` — ``df.pivot(index=date, columns=code, values=field).sort_index()`` computed from
  integer codes (one factorisation of the date and code columns, reused for every field) instead
  of a hash-based unstack. The result is identical to the pandas pivot: same sorted index and
  columns (names and dtypes), same float64 values, same memory layout; duplicated keys or
  missing codes fall back to the pandas pivot, which raises its usual error.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .schema import TABLES

if TYPE_CHECKING:  # annotations only: market.py imports this module (Market.panel is a pivot)
    from .market import Market

__all__ = ["shared", "scope", "cached", "pivot", "active", "release", "table_codes", "table_dates", "table_values",
           "dates_with_rows", "text_codes", "seed", "OnceMap"]


class OnceMap:
    """Values built at most once per key, also when several threads ask at once: a thread asking for a
    key another thread is building waits for that value instead of building it again (same result,
    no second copy in memory). Builds of different keys run at the same time; a build may ask for
    other keys (a key's build never asks for itself, directly or not, so waiting cannot go round
    in a circle). A build that raises stores nothing: the next request builds again."""

    def __init__(self) -> None:
        self._values: dict = {}
        self._locks: dict = {}
        self._guard = threading.Lock()

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        """The value of ``key``, from ``build()`` the first time."""
        try:
            return self._values[key]
        except KeyError:
            pass
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = build()
            return self._values[key]

    def __iter__(self):
        """The keys built so far, in the order they were built."""
        return iter(list(self._values))

    def drop(self, keys) -> None:
        """Forget ``keys`` (a later request builds them again)."""
        with self._guard:
            for key in keys:
                self._values.pop(key, None)
                self._locks.pop(key, None)


#: (market, the shared values, objects kept alive so that the ids in the keys stay unique)
_ACTIVE: ContextVar[tuple[Market, OnceMap, list] | None] = ContextVar("xladdin_shared", default=None)


@contextmanager
def shared(market: Market) -> Iterator[None]:
    """Reuse intermediate results computed from ``market`` until the block exits.

    Parameters
    ----------
    market : Market
        The market whose derived frames are shared. Calls on any other market object inside the
        block are not cached. Do not edit ``market.tables`` in place inside the block (replacing
        a table is detected: keys include the table object's identity).
    """
    token = _ACTIVE.set((market, OnceMap(), []))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


@contextmanager
def scope(market: Market) -> Iterator[None]:
    """:func:`shared` for ``market`` unless it is already active (then the outer context is kept)."""
    if active(market):
        yield
    else:
        with shared(market):
            yield


def active(market: Market) -> bool:
    """True inside :func:`shared` for this market."""
    act = _ACTIVE.get()
    return act is not None and act[0] is market


def _fresh(value: Any) -> Any:
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy(deep=False)
    if isinstance(value, tuple):
        return tuple(_fresh(v) for v in value)
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, (tuple, list)):
        for v in value:
            _freeze(v)
    elif isinstance(value, dict):
        for v in value.values():
            _freeze(v)
    return value


def cached(market: Market, key: tuple, fn: Callable[[], Any], tables: tuple[str, ...] = ()) -> Any:
    """``fn()``, computed once per ``key`` inside :func:`shared` for ``market``, else every time.

    ``tables`` names the canonical tables ``fn`` reads: their identities join the key, so a
    replaced table is never served from the cache. Threads sharing the scope (the weekly run's two
    lanes, :func:`xladdin.workbook.weekly.compute_weekly`) build each value once (:class:`OnceMap`).
    """
    act = _ACTIVE.get()
    if act is None or act[0] is not market:
        return fn()
    cache, keep = act[1], act[2]
    objs = tuple(market.tables.get(t) for t in tables)
    full_key = key + tuple(id(o) for o in objs)

    def build() -> Any:
        keep.append(objs)
        return _freeze(fn())
    return _fresh(cache.get(full_key, build))


def release(market: Market, table: str) -> None:
    """Drop the shared entries built from ``table`` (e.g. a 10-million-row table no later step reads).
    The loader's codes kept on the market (:func:`seed`, 4 bytes a row) stay: a later pivot of the
    table (the M11 float ratios of northbound_holdings after the dashboard's shares) uses them."""
    act = _ACTIVE.get()
    if act is None or act[0] is not market:
        return
    cache = act[1]
    cache.drop([k for k in cache if len(k) > 1 and k[0] in ("factorize", "bounds", "groups", "layout", "pivot",
                                                                   "complete") and k[1] == table])


# ----------------------------------------------------------------------------------------- pivots
def _arrow_factorize(values: pd.Series) -> tuple[np.ndarray | None, pd.Index | None]:
    """``pd.factorize(values, sort=True)`` of a pyarrow-backed string column via dictionary encoding.

    (None, None) when the column is not a pyarrow string array or has missing values.
    """
    arr = getattr(values.array, "_pa_array", None)
    if arr is None or arr.null_count:
        return None, None
    try:
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return None, None
        enc = arr.combine_chunks().dictionary_encode() if isinstance(arr, pa.ChunkedArray) else arr.dictionary_encode()
    except Exception:  # pragma: no cover - unusual arrow layouts: the pandas path
        return None, None
    words = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    order = np.argsort(words, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = rank[enc.indices.to_numpy(zero_copy_only=False)]
    return codes, pd.Index(words[order], dtype=values.dtype)


def _sorted_dates(values: pd.Series) -> tuple[np.ndarray, pd.DatetimeIndex] | None:
    """``pd.factorize(values, sort=True)`` of a non-decreasing datetime64 column without NaT, from
    its change points (O(n), no hashing); None when the column is not such a column."""
    if not pd.api.types.is_datetime64_dtype(values.dtype):
        return None
    arr = values.to_numpy()
    if arr.dtype.kind != "M" or not len(arr):
        return None
    i8 = arr.view(np.int64)
    if i8[0] == np.iinfo(np.int64).min:  # NaT (the smallest value, first when sorted)
        return None
    step = i8[1:] != i8[:-1]
    if (i8[1:] < i8[:-1]).any():
        return None
    starts = np.concatenate(([0], np.flatnonzero(step) + 1))
    itype = np.int32 if len(arr) < 2 ** 31 - 1 else np.int64
    codes = np.repeat(np.arange(len(starts), dtype=itype), np.diff(np.append(starts, len(arr))))
    return codes, pd.DatetimeIndex(arr[starts])


def _factorize_values(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(values, sort=True)`` (codes as int32 when they fit, uniques as an Index)."""
    fast = _sorted_dates(values)
    if fast is not None:
        return fast
    codes, uniques = _arrow_factorize(values)
    if codes is None:
        codes, uniques = pd.factorize(values, sort=True)
    if len(uniques) < 2 ** 31 - 1:
        codes = codes.astype(np.int32)
    return codes, pd.Index(uniques)


def text_codes(values: pd.Series) -> tuple[Any, np.ndarray, pd.Index] | None:
    """``pd.factorize(values, sort=True)`` of an Arrow-backed text column without missing values,
    with the Arrow array it describes: (array, int32 codes, uniques); None for any other column.
    Loaders compute it once for their checks and hand it to :func:`seed` so that pivots do not
    factorise the column again."""
    codes, uniques = _arrow_factorize(values)
    if codes is None:
        return None
    codes = codes.astype(np.int32) if len(uniques) < 2 ** 31 - 1 else codes
    return values.array._pa_array, codes, pd.Index(uniques)


def seed(market: Market, table: str, col: str, factorized: tuple[Any, np.ndarray, pd.Index]) -> None:
    """Keep a :func:`text_codes` result on the market when ``market.tables[table][col]`` still holds
    the Arrow array it was computed from (a table sorted since holds a new array: nothing kept).
    It serves while the column keeps that array: Arrow arrays are immutable, any edit replaces it."""
    market.keep_codes(table, col, factorized)


def _seeded(market: Market, table: str, col: str) -> tuple[np.ndarray, pd.Index] | None:
    return market.codes(table, col)


def _factorize(market: Market, table: str, col: str) -> tuple[np.ndarray, pd.Index]:
    df = market.table(table)
    hit = _seeded(market, table, col)
    if hit is not None:
        return hit
    return cached(market, ("factorize", table, col), lambda: _factorize_values(df[col]), (table,))


def _complete(market: Market, table: str, col: str) -> bool:
    """True when ``table[col]`` has no missing value (no negative code); once per shared scope."""
    if _seeded(market, table, col) is not None:  # the loader's codes exist only for complete columns
        return True
    codes = _factorize(market, table, col)[0]
    return cached(market, ("complete", table, col), lambda: not bool((codes < 0).any()), (table,))


def _date_bounds(market: Market, table: str, col: str) -> np.ndarray | None:
    """Row bounds of each date of a table sorted by ``col`` (rows of date i: ``b[i]:b[i+1]``); None if unsorted."""

    def run():
        codes, dates = _factorize(market, table, col)
        if not len(codes) or (codes[1:] < codes[:-1]).any():
            return None
        return np.searchsorted(codes, np.arange(len(dates) + 1, dtype=codes.dtype), side="left")
    return cached(market, ("bounds", table, col), run, (table,))


def _groups(market: Market, table: str, col: str) -> tuple[np.ndarray, np.ndarray, MappingProxyType]:
    """Rows of ``table`` grouped by the value of ``col``: (row order, group bounds, value -> group)."""
    codes, uniques = _factorize(market, table, col)

    def run():
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1), side="left")
        return order, bounds, MappingProxyType({v: i for i, v in enumerate(uniques)})  # read-only: shared as is
    return cached(market, ("groups", table, col), run, (table,))


def _layout(market: Market, table: str, index: str, columns: str, codes, start, end, where, at) -> tuple | None:
    """Row selection, cell positions and labels of a pivot; None when the fast path does not apply.

    Rows are selected by date first (``start``/``end``/``at``); when the table is sorted by date
    and nothing else selects rows, the code column is factorised on the selected rows only.
    """
    df = market.table(table)
    if not (pd.api.types.is_datetime64_dtype(df[index].dtype)):
        return None
    dcodes, dates = _factorize(market, table, index)
    if not _complete(market, table, index):
        return None
    rows = None  # selected row positions (ascending array or a slice); None = every row
    dkeep = None
    if start is not None:
        dkeep = np.asarray(dates >= pd.Timestamp(start), dtype=bool)
    if end is not None:
        k = np.asarray(dates <= pd.Timestamp(end), dtype=bool)
        dkeep = k if dkeep is None else dkeep & k
    if at is not None:
        k = np.asarray(dates.isin(pd.DatetimeIndex(list(at))), dtype=bool)
        dkeep = k if dkeep is None else dkeep & k
    if dkeep is not None and not dkeep.all():
        bounds = _date_bounds(market, table, index)
        if bounds is None:
            rows = np.flatnonzero(dkeep[dcodes])
        else:
            kept = np.flatnonzero(dkeep)
            if len(kept) and kept[-1] - kept[0] + 1 == len(kept):  # one run of dates: one row range
                rows = slice(int(bounds[kept[0]]), int(bounds[kept[-1] + 1]))
            elif len(kept):
                rows = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in kept])
            else:
                rows = np.zeros(0, dtype=np.int64)
    if where is None and rows is not None and _seeded(market, table, columns) is None:
        # code labels of the selected rows only (no factorisation of the whole table)
        sub = df[columns].iloc[rows]
        ccodes, labels = _factorize_values(sub)
        if (ccodes < 0).any():
            return None
        dc, cc = dcodes[rows], ccodes
        if codes is not None:
            sel = np.asarray(labels.isin(list(codes)), dtype=bool)[cc]
            dc, cc = dc[sel], cc[sel]
            rows = (np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows)[sel]
    else:
        ccodes, labels = _factorize(market, table, columns)
        if not _complete(market, table, columns):
            return None
        if isinstance(rows, slice) and (where is not None or codes is not None):
            rows = np.arange(rows.start, rows.stop)  # a row range stays a slice (views, no gather)
        if where is not None:
            wcol, wval = where
            order, gb, group_of = _groups(market, table, wcol)
            w_at = group_of.get(wval, -1)
            wrows = order[gb[w_at]:gb[w_at + 1]] if w_at >= 0 else np.zeros(0, dtype=np.int64)
            rows = wrows if rows is None else wrows[dkeep[dcodes[wrows]]]
        if codes is not None:
            keep = np.asarray(labels.isin(list(codes)), dtype=bool)
            sel = keep[ccodes if rows is None else ccodes[rows]]
            rows = np.flatnonzero(sel) if rows is None else rows[sel]
        dc = dcodes if rows is None else dcodes[rows]
        cc = ccodes if rows is None else ccodes[rows]
    # keep only the dates / codes present among the selected rows (as pivot does)
    dpres = np.zeros(len(dates), dtype=bool)
    dpres[dc] = True
    cpres = np.zeros(len(labels), dtype=bool)
    cpres[cc] = True
    nd, nc = int(dpres.sum()), int(cpres.sum())
    small = nd * nc < 2 ** 31 - 1 and len(dc) < 2 ** 31 - 1
    itype = np.int32 if small else np.int64
    dnew = (np.cumsum(dpres) - 1).astype(itype)  # small lookup tables in the cell type: one pass per row array
    cnew = (np.cumsum(cpres) - 1).astype(itype)
    flat = dnew[dc]
    flat *= itype(nc)
    flat += cnew[cc]
    # duplicated (date, code) keys: let pandas raise its own error. Rows in canonical order (date,
    # then code: xladdin.data.finish_table) give strictly increasing cells, which proves no duplicate.
    if len(flat) > 1 and not bool((flat[1:] > flat[:-1]).all()):
        slot = np.full(nd * nc, -1, dtype=itype)
        order = np.arange(len(flat), dtype=itype)
        slot[flat] = order
        if (slot[flat] != order).any():
            return None
    out_index = pd.DatetimeIndex(dates[dpres], name=index)
    out_columns = labels[cpres].rename(columns)
    return rows, flat, (nd, nc), out_index, out_columns


def dates_with_rows(market: Market, table: str, codes, index: str = "date", columns: str | None = None) -> pd.DatetimeIndex:
    """Sorted distinct dates on which one of ``codes`` has a row in ``table`` (the index of
    ``pivot(market, table, field, codes=codes)``), named ``index``."""
    columns = columns or TABLES[table].wide_code
    ccodes, labels = _factorize(market, table, columns)
    dcodes, dates = _factorize(market, table, index)
    wanted = np.asarray(labels.isin(list(codes)), dtype=bool)
    rows = np.append(wanted, False)[ccodes]  # a missing code (-1) picks the appended False
    if (dcodes < 0).any():
        rows &= dcodes >= 0
    seen = np.zeros(len(dates), dtype=bool)
    seen[dcodes[rows]] = True
    return pd.DatetimeIndex(dates[seen], name=index)


def table_codes(market: Market, table: str, column: str) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(table[column], sort=True)``: (codes, -1 for a missing value; sorted uniques), from
    the shared factorisation (read-only codes)."""
    return _factorize(market, table, column)


def table_values(market: Market, table: str, column: str) -> pd.Index:
    """Sorted distinct values of ``table[column]`` (missing values left out), from the shared factorisation."""
    codes, uniques = _factorize(market, table, column)
    return pd.Index(uniques)


def table_dates(market: Market, table: str, index: str = "date") -> pd.DatetimeIndex:
    """Sorted distinct dates of ``table[index]`` (from the shared factorisation inside :func:`shared`)."""
    return pd.DatetimeIndex(_factorize(market, table, index)[1])


def pivot(market: Market, table: str, field: str, index: str = "date", columns: str | None = None,
          codes=None, end=None, where: tuple[str, Any] | None = None, share: bool = True,
          start=None, at=None) -> pd.DataFrame:
    """Wide view of one field of a long table, equal to the pandas pivot of the selected rows.

    Parameters
    ----------
    market : Market
    table : str
        Canonical table name.
    field : str
        Value column (float64 for the fast path).
    index, columns : str
        Date column (rows) and code column (columns); ``columns`` defaults to the table's
        ``wide_code``.
    codes : list of str, optional
        Keep rows whose code is in ``codes`` (as ``df[df[columns].isin(codes)]``).
    end : date-like, optional
        Keep rows with ``index <= end``.
    where : (column, value), optional
        Keep rows with ``column == value`` (e.g. ``("index", "000300.SH")`` in index_weights).
    start : date-like, optional
        Keep rows with ``index >= start``.
    at : list of date-like, optional
        Keep rows whose ``index`` is one of these dates.
    share : bool
        Inside :func:`shared`, keep the result for later calls (default). False for a large panel
        used once: it is built and released by the caller (its row layout is still shared).

    Returns
    -------
    DataFrame
        index = sorted dates (named ``index``), columns = sorted codes (named ``columns``):
        ``df_sel.pivot(index=index, columns=columns, values=field).sort_index()``.
    """
    columns = columns or TABLES[table].wide_code
    df = market.table(table)
    codes_key = None if codes is None else tuple(sorted(set(codes)))
    end_key = None if end is None else pd.Timestamp(end)
    start_key = None if start is None else pd.Timestamp(start)
    at_key = None if at is None else tuple(sorted(set(pd.DatetimeIndex(list(at)))))
    lay = None
    if df[field].dtype == np.float64:
        if (end_key is not None or start_key is not None) and active(market) \
                and pd.api.types.is_datetime64_dtype(df[index].dtype):
            dates = _factorize(market, table, index)[1]
            if end_key is not None and len(dates) and end_key >= dates[-1]:
                end_key = None  # keeps every row: same layout as without `end`
            if start_key is not None and len(dates) and start_key <= dates[0]:
                start_key = None
        make = lambda: _layout(market, table, index, columns, codes_key, start_key, end_key, where, at_key)  # noqa: E731
        lay = cached(market, ("layout", table, index, columns, codes_key, start_key, end_key, where, at_key), make,
                     (table,))
    if lay is None:  # the pandas pivot (also raises on duplicated keys)
        sel = df
        if codes is not None:
            sel = sel[sel[columns].isin(codes)]
        if where is not None:
            sel = sel.loc[sel[where[0]] == where[1]]
        if start is not None:
            sel = sel.loc[sel[index] >= pd.Timestamp(start)]
        if end is not None:
            sel = sel.loc[sel[index] <= pd.Timestamp(end)]
        if at is not None:
            sel = sel.loc[sel[index].isin(pd.DatetimeIndex(list(at)))]
        out = sel.pivot(index=index, columns=columns, values=field)
        out.columns.name = columns
        out.index.name = index
        return out.sort_index()
    rows, flat, (nd, nc), out_index, out_columns = lay

    def build():
        vals = df[field].to_numpy(dtype=np.float64)
        if rows is not None:
            vals = vals[rows]
        arr = np.full(nd * nc, np.nan)
        arr[flat] = vals
        return pd.DataFrame(arr.reshape(nd, nc), index=out_index, columns=out_columns, copy=False)
    if not share:
        return build()
    return cached(market, ("pivot", table, field, index, columns, codes_key, start_key, end_key, where, at_key),
                  build, (table,))
