"""Early reads: parquet files decoded in a background thread while the program is still starting.

A command that will read a folder's files (``xladdin weekly --data DIR``) spends its first 0.4-0.5 s importing
pandas and its own modules, in Python's lock, on one core. Decoding a parquet file runs outside that lock: a
thread started first (:func:`start`) decodes whole files into Arrow tables on the other core meanwhile, and the
reader (:func:`xladdin.data.parquetfile.read_parquet`) takes a file's table (:func:`take`) instead of decoding it
again; what it builds from the table is the same (tested).

Only files read whole are worth it (a read from a date on skips row groups; :func:`take` is then not asked). A
table is used only if its file is still the one decoded (size, modification time and inode unchanged); a file
that cannot be decoded here is read, and its error reported, by the reader as if nothing happened. :func:`finish`
waits for the thread and drops what was not taken (the weekly job forks its second compute lane only where no
other thread runs).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path

#: the name of the thread decoding files early
THREAD_NAME = "xladdin-early-read"

_lock = threading.Lock()
_pending: dict[str, threading.Event] = {}  # path -> set once its decoding ended (done or failed)
_tables: dict[str, tuple[tuple, object]] = {}  # path -> (file identity when decoded, Arrow table)
_thread: threading.Thread | None = None


def _identity(path: Path) -> tuple:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def start(folder: str | Path, names: Iterable[str]) -> None:
    """Decode ``<folder>/<name>.parquet`` for each of ``names`` (those present), in this order, in a background
    thread. Nothing happens when ``folder`` is not a folder or a thread is already running."""
    global _thread
    folder = Path(folder)
    if not folder.is_dir():
        return
    with _lock:
        if _thread is not None:
            return
        work = []
        for name in names:
            path = folder / f"{name}.parquet"
            if path.is_file():
                _pending[str(path)] = event = threading.Event()
                work.append((path, event))
        if work:
            _thread = threading.Thread(target=_decode_all, args=(work,), name=THREAD_NAME, daemon=True)
            _thread.start()


def _decode_all(work: list[tuple[Path, threading.Event]]) -> None:
    import pyarrow.parquet as pq  # lazy: imported in this thread, beside the program's own imports

    for path, event in work:
        try:
            ident = _identity(path)
            schema = pq.read_schema(path, memory_map=True)
            f = pq.ParquetFile(path, memory_map=True, read_dictionary=text_columns(schema))
            table = f.read(use_threads=False)
            with _lock:
                _tables[str(path)] = (ident, table)
        except Exception:  # noqa: BLE001 - the reader reads the file again and reports its error
            pass
        finally:
            event.set()


def text_columns(schema) -> list[str]:
    """The text columns of a parquet file's Arrow schema, which are read dictionary-encoded (as parquet stores
    them): here and by :func:`xladdin.data.parquetfile.read_parquet`, so that an early table is the reader's."""
    import pyarrow as pa  # lazy: this module starts its thread before anything imports pyarrow

    return [n for n in schema.names if pa.types.is_string(schema.field(n).type)
            or pa.types.is_large_string(schema.field(n).type)]


def take(path: Path):
    """The Arrow table decoded early for ``path`` (waiting for it if it is being decoded), or None: not asked
    for, not decodable here, or the file changed since. Given once."""
    with _lock:
        event = _pending.get(str(path))
    if event is None:
        return None
    event.wait()
    with _lock:
        _pending.pop(str(path), None)
        got = _tables.pop(str(path), None)
    if got is None:
        return None
    try:
        same = got[0] == _identity(path)
    except OSError:
        return None
    return got[1] if same else None


def finish(wait: bool = True) -> None:
    """Wait for the thread (it ends with its last file) and drop the tables nobody took. ``wait=False`` (a read
    that failed or was interrupted: the program ends) drops them without waiting; a table the thread is still
    decoding then stays with it, a daemon thread, until the process ends."""
    global _thread
    with _lock:
        thread = _thread
    if thread is not None and wait:
        thread.join()
    with _lock:
        _pending.clear()
        _tables.clear()
        _thread = None
