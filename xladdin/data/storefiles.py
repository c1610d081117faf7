"""A data store's files on disk: the manifest's name, the update's work folder and its atomic commit.

:mod:`xladdin.data.store` stages an update's tables and manifest in the work folder
(``.<STORE>.xladdin-update/commit/``), writes the marker ``COMMITTED`` atomically, then moves the files
into the store (:func:`commit_staged`). A process killed while moving leaves the marker:
:func:`finish_pending` completes the moves. It lives here, below both the store and the loaders, because
:func:`~xladdin.data.loaders.load_market` runs it on every folder it reads.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd

from xladdin.fileguard import fsync_dir, lock_path, no_room, owner_lock

MANIFEST = "manifest.json"


def work_dir(store: Path) -> Path:
    """The update's work folder, beside the store (never inside it)."""
    store = Path(store)
    return store.with_name(f".{store.name}.xladdin-update")


def finish_pending(store: Path) -> bool:
    """Complete a commit a killed update left half done (the marker is there); True if one was finished."""
    work = work_dir(store)
    if not (work / "COMMITTED").is_file():
        return False
    with owner_lock(lock_path(store), wait=30.0):
        if (work / "COMMITTED").is_file():
            apply_staged(Path(store), work)
            return True
    return False


def commit_staged(store: Path, work: Path, tables: dict[str, pd.DataFrame], manifest: dict) -> None:
    """Write ``tables`` (parquet) and ``manifest`` to ``<work>/commit/``, mark them committed, move them in.

    A write that fails before the marker (a full disk, a file-size limit: :class:`~xladdin.fileguard.NoSpace`
    naming the file) removes ``<work>/commit/`` again: the store is untouched and nothing half staged stays."""
    staged = work / "commit"
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    marker = work / "COMMITTED.part"
    try:
        for name, df in tables.items():
            _stage(staged / f"{name}.parquet", partial(df.to_parquet, index=False))
        text = json.dumps(manifest, ensure_ascii=False, indent=1)
        _stage(staged / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))
        for p in staged.iterdir():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(staged)
        names = json.dumps(sorted(p.name for p in staged.iterdir()))
        _stage(marker, lambda p: p.write_text(names, encoding="utf-8"))
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        marker.unlink(missing_ok=True)
        raise
    os.replace(marker, work / "COMMITTED")
    fsync_dir(work)
    apply_staged(store, work)


def _stage(path: Path, write: Callable[[Path], object]) -> None:
    """``write(path)``; a write that found no room raises :class:`~xladdin.fileguard.NoSpace` naming ``path``."""
    try:
        write(path)
    except OSError as exc:
        err = no_room(path, exc)
        if err is None or err is exc:
            raise
        raise err from exc


def apply_staged(store: Path, work: Path) -> None:
    """Move the staged files into the store (the manifest last), then drop the work folder. Idempotent."""
    staged = work / "commit"
    store.mkdir(parents=True, exist_ok=True)
    names = json.loads((work / "COMMITTED").read_text(encoding="utf-8"))
    for name in sorted(names, key=lambda n: n == MANIFEST):
        src = staged / name
        if src.is_file():
            os.replace(src, store / name)
    fsync_dir(store)
    shutil.rmtree(work, ignore_errors=True)
