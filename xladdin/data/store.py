"""A local data store that ``xladdin update`` keeps current: canonical tables as parquet plus a manifest.

Layout: ``STORE/<table>.parquet`` (the canonical tables, so :func:`xladdin.data.loaders.load_market`,
``--data``, ``refresh`` and the Parameters sheet's ``data_dir`` read a store as any folder of tables)
and ``STORE/manifest.json``::

    {"format": "xladdin-store", "version": 1, "source": "akshare",
     "settings": {"etfs": [...] or "ALL", "indices": [...], "industries": [...], "funds": [...], "stocks": [...],
                  "start": "2024-01-02", "overlap": 5},
     "tables": {"etf_daily": {"source": "akshare", "library": "akshare 1.19.5", "functions": [...],
                              "fetched_at": "...", "first": "...", "last": "...", "rows": 1234}, ...}}

:func:`update_store` fetches, per table, only what is missing since the table's last date, re-reading
the last :data:`OVERLAP` trading days (a revised value is reported, and wins); it validates the union
of old and new rows of every table, then commits atomically:

1. every fetched piece is saved first in the work folder ``.<STORE>.xladdin-update`` beside the store
   (a long backfill fetches a dated table in calendar-year pieces; a later run with the same plan
   reuses the pieces already saved: the backfill resumes where it stopped);
2. the new tables and manifest are written to ``<work>/commit/``, then the marker ``<work>/COMMITTED``
   is created atomically;
3. the files are moved into the store (``os.replace``), the manifest last, and the work folder removed.

Until step 2 ends, the store's files are untouched: a failed, refused or killed update leaves the store
byte-identical. A process killed during step 3 leaves the marker: the next :func:`update_store` or
:func:`~xladdin.data.storefiles.finish_pending` (which :func:`~xladdin.data.loaders.load_market` runs on a
store) completes the moves. A lock (``.<STORE>.xladdin-lock``) keeps two updates apart.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xladdin.errors import DataError
from xladdin.fileguard import NoSpace, atomic_write_with, lock_path, owner_lock, real_path

from .calendar import trading_days
from .clients import make_client
from .clients.base import FETCH_ORDER, SourceError, fetch_market
from .loaders import validate_market
from .market import Market
from .schema import TABLES
from .storefiles import MANIFEST, apply_staged, commit_staged, work_dir

FORMAT = "xladdin-store"
VERSION = 1
#: trading days re-read before a table's last date at each update (revisions are reported)
OVERLAP = 5
#: a dated table's backfill is fetched in pieces of this many calendar years (resumable)
PIECE_YEARS = 1
#: relative difference below which a re-read value is not a revision
REVISION_RTOL = 1e-9
#: tables without a date column: fetched for codes not yet in the store (etf_info) or whole (stock_industry)
UNDATED = ("etf_info", "stock_industry")


def is_store(path: Path) -> bool:
    """Whether ``path`` is a store folder (has an xladdin-store manifest)."""
    m = Path(path) / MANIFEST
    if not m.is_file():
        return False
    try:
        return json.loads(m.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError):
        return False


def read_manifest(store: Path) -> dict:
    """The store's manifest (an empty one for a new store)."""
    m = Path(store) / MANIFEST
    if not m.is_file():
        return {"format": FORMAT, "version": VERSION, "source": None, "settings": {}, "tables": {}}
    data = json.loads(m.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise DataError(f"{m}: not an xladdin store manifest (format {data.get('format')!r})")
    if data.get("version", 0) > VERSION:
        raise DataError(f"{m}: store format version {data['version']} is newer than this xladdin reads ({VERSION})")
    return data


# ----------------------------------------------------------------------------- the report
@dataclass
class TableUpdate:
    """What one table's update did."""

    table: str
    fetched_from: pd.Timestamp | None = None
    fetched_to: pd.Timestamp | None = None
    new_rows: int = 0
    revised: list[str] = field(default_factory=list)
    rows: int = 0
    requests: int = 0
    resumed: int = 0
    skipped: str = ""

    def line(self) -> str:
        if self.skipped:
            return f"{self.table:<22} {self.skipped}"
        span = (f"{self.fetched_from:%Y-%m-%d}..{self.fetched_to:%Y-%m-%d}" if self.fetched_from is not None
                else "whole table")
        rev = f", {len(self.revised)} revised" if self.revised else ""
        res = f", {self.resumed} piece(s) resumed" if self.resumed else ""
        return (f"{self.table:<22} read {span}: {self.new_rows:,} new row(s){rev}; {self.rows:,} in all; "
                f"{self.requests} request(s){res}")


@dataclass
class UpdateReport:
    store: Path
    source: str
    tables: list[TableUpdate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def revisions(self) -> list[str]:
        return [r for t in self.tables for r in t.revised]


class UpdateFailed(SourceError):
    """An update stopped: the store was left unchanged; the message names the table (and the call)."""


# ----------------------------------------------------------------------------- update
def update_store(store: str | Path, client, *, tables: Sequence[str] | None = None, settings: dict | None = None,
                 end=None, overlap: int = OVERLAP, progress: Callable[[str], Any] | None = None,
                 notice: Callable[[str], None] | None = None) -> UpdateReport:
    """Bring ``store`` up to ``end`` (default today) from ``client``; see the module docstring.

    Parameters
    ----------
    store : the store folder (created by the first update).
    client : a data client (:func:`xladdin.data.clients.make_client`); its ``name`` must match the store's
        source once the store exists.
    tables : tables to update (default: every table the store has; required for a new store).
    settings : codes and start for a new store (etfs, indices, industries, funds, stocks, start); given
        values replace the stored ones, the rest are kept.
    overlap : trading days re-read before each table's last date.
    progress : ``progress(table)`` returns a bar for the table (an object with ``update(n)`` and ``close()``,
        e.g. tqdm) or None.

    Raises
    ------
    UpdateFailed
        A fetch failed or was refused, or the union does not validate; the store is unchanged.
    """
    store = Path(store)
    end = pd.Timestamp(end).normalize() if end is not None else pd.Timestamp.now().normalize()
    store.parent.mkdir(parents=True, exist_ok=True)  # the lock and the work folder are beside the store
    with _stopped_by_no_room(store), owner_lock(lock_path(store), wait=0.0, notice=notice):
        work = work_dir(store)
        if (work / "COMMITTED").is_file():
            apply_staged(store, work)
        manifest = read_manifest(store)
        if manifest["source"] not in (None, client.name):
            raise UpdateFailed(f"{store} holds {manifest['source']} data; update it with --source "
                               f"{manifest['source']} (or start another store for {client.name})")
        given = {k: v for k, v in (settings or {}).items() if v not in (None, [], ())}
        conf = {**manifest.get("settings", {}), **given}
        conf["overlap"] = int(overlap)
        wanted = list(tables) if tables else list(manifest["tables"])
        if not wanted:
            raise UpdateFailed(f"{store} is new: say which tables it keeps (--tables)")
        unknown = [t for t in wanted if t not in TABLES]
        if unknown:
            raise UpdateFailed(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
        if "start" not in conf and any(t not in manifest["tables"] and TABLES[t].sorted_by for t in wanted):
            raise UpdateFailed(f"{store}: a first date is needed for a new table (--start)")
        report = UpdateReport(store, client.name)
        old = {t: _read_table(store, t) for t in manifest["tables"]}
        new_tables, entries = {}, {}
        for t in [t for t in FETCH_ORDER if t in wanted]:
            bar = progress(t) if progress is not None else None
            try:
                frame, upd = _update_table(t, client, old, new_tables, conf, end, work, bar)
            except (SourceError, NotImplementedError, ValueError, KeyError) as exc:
                raise UpdateFailed(f"update of {store} stopped at table {t}: {exc}; the store is unchanged"
                                   + (" (the tables fetched so far are kept for the next run)" if work.exists()
                                      else "")) from exc
            finally:
                if bar is not None:
                    bar.close()
            new_tables[t] = frame
            entries[t] = _entry(t, frame, client, manifest["tables"].get(t), upd)
            report.tables.append(upd)
        union = {**old, **new_tables}
        issues = validate_market(Market({t: df for t, df in union.items() if df is not None}))
        if issues:
            head = "; ".join(issues[:5]) + (f"; ... {len(issues) - 5} more" if len(issues) > 5 else "")
            raise UpdateFailed(f"update of {store} refused: the updated tables do not validate ({head}); the store "
                               f"is unchanged")
        report.notes = list(getattr(client, "notes", []))
        manifest.update({"source": client.name, "settings": conf,
                         "tables": {**manifest["tables"], **entries}})
        commit_staged(store, work, new_tables, manifest)
    return report


@contextlib.contextmanager
def _stopped_by_no_room(store: Path) -> Iterator[None]:
    """A write of the update's work folder that found no room (a fetched piece, the staged commit) as
    :class:`UpdateFailed`: the file, the store unchanged (nothing was committed), what to do."""
    try:
        yield
    except NoSpace as exc:
        work = work_dir(store)
        kept = any((work / "fetched").glob("*.parquet"))
        where = exc.path
        with contextlib.suppress(ValueError):  # named as the store was (its work folder is beside it)
            where = work / exc.path.relative_to(real_path(work))
        raise UpdateFailed(f"update of {store} stopped: cannot write {where}: no room ({exc.why}); the store is "
                           "unchanged" + (" (the tables fetched so far are kept for the next run)" if kept else "")
                           + "; free space (or raise the limit) and run again") from exc


def _read_table(store: Path, name: str) -> pd.DataFrame | None:
    p = store / f"{name}.parquet"
    if not p.is_file():
        return None
    df = pd.read_parquet(p)
    for c in TABLES[name].date_cols:
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    return df


def _date_col(name: str) -> str | None:
    return TABLES[name].sorted_by


def _overlap_start(name: str, last: pd.Timestamp, overlap: int) -> pd.Timestamp:
    """Where a table's next read begins: ``overlap`` trading days before its last date (a quarter back for
    quarterly holdings, the month's start for monthly issuance)."""
    col = _date_col(name)
    if col == "report_date":
        return (last - pd.DateOffset(months=3)).normalize()
    if col == "month":
        return last.replace(day=1)
    days = trading_days(last - pd.Timedelta(days=overlap * 3 + 15), last)
    return days[-overlap] if len(days) >= overlap else days[0]


def _plan_key(name: str, conf: dict, lo, hi, client) -> str:
    """A piece's identity: table, source, codes and range (a resumed piece must match it exactly)."""
    codes = {k: conf.get(k) for k in ("etfs", "indices", "industries", "funds", "stocks")}
    text = json.dumps([name, client.name, codes, str(lo), str(hi)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _pieces(lo: pd.Timestamp, hi: pd.Timestamp) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """[lo, hi] in calendar-year pieces (one piece when it spans at most a year)."""
    if (hi - lo).days <= 366 * PIECE_YEARS:
        return [(lo, hi)]
    out, a = [], lo
    while a <= hi:
        b = min(pd.Timestamp(a.year + PIECE_YEARS - 1, 12, 31), hi)
        out.append((a, b))
        a = b + pd.Timedelta(days=1)
    return out


def _update_table(name: str, client, old: dict, done: dict, conf: dict, end: pd.Timestamp, work: Path,
                  bar) -> tuple[pd.DataFrame, TableUpdate]:
    upd = TableUpdate(name)
    before = old.get(name)
    col = _date_col(name)
    codes = _codes_for(name, conf, old, done)
    if col is None:
        return _update_undated(name, client, before, codes, conf, end, work, bar, upd)
    if before is not None and len(before):
        last = before[col].max()
        lo = _overlap_start(name, last, conf["overlap"])
    else:
        last, lo = None, pd.Timestamp(conf["start"]).normalize()
    if lo > end:
        upd.skipped, upd.rows = "nothing to read (the store is ahead of the end date)", len(before)
        return before, upd
    upd.fetched_from, upd.fetched_to = lo, end
    parts = []
    pieces = _pieces(lo, end)
    for i, (a, b) in enumerate(pieces):
        # every piece after the first is read from `overlap` trading days earlier, for the split rule's context
        a_read = _overlap_start(name, a - pd.Timedelta(days=1), conf["overlap"]) if i else a
        piece, resumed, n = _fetch_piece(name, client, codes, a_read, b, conf, work, bar)
        upd.resumed += resumed
        upd.requests += n
        parts.append((a_read, a, piece))
    fetched = _join_pieces(name, parts)
    merged, added, revised = _merge(name, before, fetched, lo)
    upd.new_rows, upd.revised, upd.rows = added, revised, len(merged)
    return merged, upd


def _update_undated(name, client, before, codes, conf, end, work, bar, upd):
    if name == "etf_info" and before is not None:
        have = set(before["etf"])
        universe = codes if codes != "ALL" else _universe(client, end)
        missing = [c for c in universe if c not in have]
        if not missing:
            upd.skipped, upd.rows = "no new ETF", len(before)
            return before, upd
        codes = missing
    piece, resumed, n = _fetch_piece(name, client, codes, None, end, conf, work, bar)
    upd.resumed, upd.requests = resumed, n
    if name == "etf_info" and before is not None:
        merged = pd.concat([before, piece], ignore_index=True).drop_duplicates("etf", keep="last")
        merged = merged.sort_values("etf", kind="stable").reset_index(drop=True)
        upd.new_rows = len(piece)
    else:
        merged = piece
        upd.new_rows = len(piece) if before is None else len(set(piece.iloc[:, 0]) - set(before.iloc[:, 0]))
        if before is not None:
            upd.revised = _revised_rows(name, before, piece)
    upd.rows = len(merged)
    return merged, upd


def _universe(client, end) -> list[str]:
    if not hasattr(client, "etf_universe"):
        raise ValueError(f"etfs ALL needs a source that lists the ETF universe; {client.name} does not")
    return client.etf_universe(end)


def _codes_for(name: str, conf: dict, old: dict, done: dict):
    """The codes a table is fetched for, from the settings (industries default to the store's stock_industry)."""
    if name in ("etf_info", "etf_daily"):
        return conf.get("etfs") or []
    if name in ("index_daily", "index_weights"):
        return conf.get("indices") or []
    if name == "industry_daily":
        if conf.get("industries"):
            return conf["industries"]
        ind = done.get("stock_industry", old.get("stock_industry"))
        return sorted(ind["industry"].unique()) if ind is not None else []
    if name in ("fund_nav", "active_fund_holdings"):
        return conf.get("funds") or []
    if name in ("stock_daily", "northbound_holdings"):
        if conf.get("stocks"):
            return conf["stocks"]
        ind = done.get("stock_industry", old.get("stock_industry"))
        return sorted(ind["stock"].unique()) if ind is not None else []
    return []


def _fetch_piece(name, client, codes, lo, hi, conf, work: Path, bar) -> tuple[pd.DataFrame, int, int]:
    """One piece of a table, from the work folder when an earlier run saved it with the same plan."""
    key = _plan_key(name, conf, lo, hi, client)
    saved = work / "fetched" / f"{name}.{key}.parquet"
    if saved.is_file():
        df = pd.read_parquet(saved)
        for c in TABLES[name].date_cols:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
        if bar is not None:
            bar.update(0)
        return df, 1, 0
    kwargs = {"etfs": [], "indices": [], "industries": [], "funds": [], "stocks": []}
    key_arg = {"etf_info": "etfs", "etf_daily": "etfs", "index_daily": "indices", "index_weights": "indices",
               "industry_daily": "industries", "fund_nav": "funds", "active_fund_holdings": "funds",
               "stock_daily": "stocks", "northbound_holdings": "stocks"}.get(name)
    if key_arg:
        kwargs[key_arg] = codes
    count = _RequestCount(client, bar)
    with count:
        market = fetch_market(client, [name], start=lo, end=hi, **kwargs)
    df = market.tables[name]
    atomic_write_with(saved, partial(df.to_parquet, index=False))
    return df, 0, count.n


class _RequestCount:
    """Counts a client's vendor calls while fetching one piece (and moves the table's progress bar)."""

    def __init__(self, client, bar):
        self.client, self.bar, self.n = client, bar, 0
        self.caller = getattr(client, "caller", None)

    def __enter__(self):
        if self.caller is not None:
            self.start = len(self.caller.calls)
            self.caller.on_call = self._tick
        self.counted = getattr(self.client, "calls", None)  # tushare's client counts its calls
        return self

    def _tick(self, _call: str) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def __exit__(self, *exc):
        if self.caller is not None:
            self.n = len(self.caller.calls) - self.start
            self.caller.on_call = None
        else:
            calls = getattr(self.client, "calls", None)
            self.n = calls - self.counted if isinstance(calls, int) and isinstance(self.counted, int) else 1
            if self.bar is not None:
                self.bar.update(self.n)
        return False


def _join_pieces(name: str, parts: list) -> pd.DataFrame:
    """Pieces in order; a later piece's rows win from the day before its nominal start (it had the context)."""
    col = _date_col(name)
    out = None
    for _a_read, a, piece in parts:
        if out is None:
            out = piece
            continue
        cut = trading_days(a - pd.Timedelta(days=15), a - pd.Timedelta(days=1))
        boundary = cut[-1] if len(cut) else a
        out = pd.concat([out[out[col] < boundary], piece[piece[col] >= boundary]], ignore_index=True)
    return out


def _key(name: str) -> list[str]:
    return list(TABLES[name].key)


def _merge(name: str, before: pd.DataFrame | None, fetched: pd.DataFrame, lo: pd.Timestamp):
    """Old rows, with the fetched rows winning from the day after the first day read (which lacked its own
    previous day in the fetch); returns (merged, new row count, revisions)."""
    col = _date_col(name)
    if before is None or before.empty:
        return fetched.reset_index(drop=True), len(fetched), []
    first = fetched[col].min() if len(fetched) else lo
    keys = _key(name)
    old_idx = before.set_index(keys)
    win = fetched
    if name == "etf_daily":  # the first day read had no previous day in the fetch: the stored row stays
        context = (fetched[col] == first) & fetched.set_index(keys).index.isin(old_idx.index)
        win = fetched[~context.to_numpy()]
    new_idx = win.set_index(keys)
    common = old_idx.index.intersection(new_idx.index)
    revised = _revisions(name, old_idx.loc[common], new_idx.loc[common])
    kept = before[~before.set_index(keys).index.isin(new_idx.index)]
    merged = pd.concat([kept, win], ignore_index=True)
    order = [col] + [k for k in keys if k != col]
    merged = merged.sort_values(order, kind="stable").reset_index(drop=True)
    return merged, len(new_idx.index.difference(old_idx.index)), revised


def _revisions(name: str, old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    out = []
    for c in TABLES[name].value_columns:
        if c not in old.columns or c not in new.columns:
            continue
        a, b = old[c], new[c].reindex(old.index)
        if c in TABLES[name].numeric:
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            same = (np.isnan(x) & np.isnan(y)) | np.isclose(x, y, rtol=REVISION_RTOL, atol=0)
        else:
            same = (a.astype(str) == b.astype(str)).to_numpy()
        for idx in old.index[~same]:
            key = " ".join(str(pd.Timestamp(k).date()) if isinstance(k, pd.Timestamp) else str(k)
                           for k in (idx if isinstance(idx, tuple) else (idx,)))
            out.append(f"{name} {key} {c}: {a[idx]} -> {b[idx]}")
    return out


def _revised_rows(name: str, before: pd.DataFrame, after: pd.DataFrame) -> list[str]:
    keys = _key(name)
    o, n = before.set_index(keys), after.set_index(keys)
    common = o.index.intersection(n.index)
    return _revisions(name, o.loc[common], n.loc[common])


def _entry(name: str, frame: pd.DataFrame, client, previous: dict | None, upd: TableUpdate) -> dict:
    if upd.skipped and previous:
        return previous
    col = _date_col(name) or (TABLES[name].date_cols[0] if TABLES[name].date_cols else None)
    dates = frame[col].dropna() if col and col in frame and len(frame) else pd.Series(dtype="datetime64[ns]")
    functions = sorted(set((previous or {}).get("functions", [])) | set(getattr(client, "functions", [])))
    return {"source": client.name, "library": _library(client), "functions": functions,
            "fetched_at": dt.datetime.now().isoformat(timespec="seconds"),
            "first": None if dates.empty else f"{dates.min():%Y-%m-%d}",
            "last": None if dates.empty else f"{dates.max():%Y-%m-%d}", "rows": int(len(frame))}


def _library(client) -> str:
    version = getattr(client, "version", None)
    if version is None:
        try:
            version = metadata.version(client.name)
        except metadata.PackageNotFoundError:
            version = "unknown"
    return f"{client.name} {version}"


def stored_overrides(manifest: dict) -> pd.DataFrame | None:
    """The ETF overrides (``--etf-file``) the store was created with, or None."""
    records = manifest.get("settings", {}).get("etf_overrides")
    return pd.DataFrame.from_records(records) if records else None


# ----------------------------------------------------------------------------- before a run
def update_before_run(path: str | Path, source: str | None = None, *, timeout: float | None = None,
                      progress: Callable[[str], Any] | None = None,
                      notice: Callable[[str], None] | None = None) -> UpdateReport:
    """Update the store ``path`` with its own settings before a refresh or the weekly job builds tables.

    ``source``: the store's source unless given. Raises :class:`UpdateFailed` (the store unchanged) when
    ``path`` is not a store or the update fails; the message names the table and the call."""
    path = Path(path)
    if not is_store(path):
        raise UpdateFailed(f"{path} is not a data store (no {MANIFEST}); create one with `xladdin update {path} "
                           f"--source akshare --tables ... --start ...`, or turn the update off")
    manifest = read_manifest(path)
    name = source or manifest["source"]
    try:
        client = make_client(name, timeout=timeout, etf_overrides=stored_overrides(manifest))
    except (SourceError, ValueError) as exc:
        raise UpdateFailed(f"update of {path}: {exc}") from exc
    return update_store(path, client, progress=progress, notice=notice)
