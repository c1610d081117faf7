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
from pathlib import Path

import pandas as pd

from xladdin.fileguard import fsync_dir, lock_path, owner_lock

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
    """Write ``tables`` (parquet) and ``manifest`` to ``<work>/commit/``, mark them committed, move them in."""
    staged = work / "commit"
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    for name, df in tables.items():
        df.to_parquet(staged / f"{name}.parquet", index=False)
    (staged / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    for p in staged.iterdir():
        with open(p, "rb") as fh:
            os.fsync(fh.fileno())
    fsync_dir(staged)
    marker = work / "COMMITTED.part"
    marker.write_text(json.dumps(sorted(p.name for p in staged.iterdir())), encoding="utf-8")
    os.replace(marker, work / "COMMITTED")
    fsync_dir(work)
    apply_staged(store, work)


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
