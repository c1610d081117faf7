"""``xladdin fetch`` and ``xladdin update`` under a file-size limit (RLIMIT_FSIZE), each in a process of its own.

akshare's own code runs with its HTTP answered at the transport layer inside that process
(``tests/_akshare_child.py``: the bodies of ``tests/_akshare_bodies.py``, from the real values of
../shared/data/real). The limit is set low enough that writing the fetched tables, or the store's files, stops
part-way: the command says so in one message (which file, what to do), with no traceback, and leaves the folder
or the store exactly as it was -- the same files, byte for byte, and no temporary or staging file beside them
(an update keeps only the pieces it fetched, which its next run reuses). The same command under a limit big
enough then succeeds: the limit, not the data, was what stopped the first run.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _akshare_bodies import etf_routes, index_closes, index_routes
from _transport import serve

from xladdin.data.store import read_manifest
from xladdin.data.storefiles import work_dir
from xladdin.ops.cli import main

ROOT = Path(__file__).resolve().parents[1]
CHILD = ROOT / "tests" / "_akshare_child.py"
#: a limit no file of these runs comes near (1 MiB)
ROOMY = 1 << 20
FETCH = ["fetch", "--source", "akshare", "--tables", "etf_daily", "index_daily", "--etfs", "510300.SH",
         "--indices", "000300.SH", "399006.SZ", "--start", "2024-01-02"]
UPDATE_CODES = ["--etfs", "510300.SH", "510310.SH", "159919.SZ", "--indices", "000300.SH"]


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (hidden ones included), by path relative to it."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_limited(fsize: int, *argv) -> subprocess.CompletedProcess:
    """``xladdin ARGV`` in a new process whose files may not grow past ``fsize`` bytes (``_akshare_child.py``)."""
    return subprocess.run([sys.executable, str(CHILD), str(fsize), *map(str, argv)], capture_output=True,
                          text=True, encoding="utf-8", cwd=ROOT, timeout=600,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def one_clear_message(command: str, stderr: str) -> str:
    """The one error line of ``stderr`` (akshare's own progress bars aside), with no traceback."""
    for bad in ("Traceback", "Exception ignored", "Errno", "SerialisationError"):
        assert bad not in stderr, stderr
    errors = [ln for ln in stderr.replace("\r", "\n").splitlines() if ln.startswith(f"xladdin {command}: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def canonical_rows(real_data_dir: Path, table: str, key: str, codes: list[str], start: str, end: str) -> int:
    """Rows of ``table`` in ../shared's canonical CSV for ``codes`` from ``start`` to ``end`` (what the bodies hold)."""
    df = pd.read_csv(real_data_dir / f"{table}.csv", parse_dates=["date"])
    keep = df[key].isin(codes) & (df["date"] >= start) & (df["date"] <= end)
    if table == "etf_daily":
        keep &= df["close"].notna()
    return int(keep.sum())


# ================================================================ fetch

@pytest.mark.slow
def test_fetch_under_a_file_size_limit_writes_no_table_or_all(tmp_path, real_data_dir, real_etfs, capsys):
    """A folder of last half-year's tables, then the whole year fetched under a limit of 14,000 bytes a file:
    the year's etf_daily.csv (one ETF) fits under it, index_daily.csv (two indices) does not. Nothing in the
    folder changes -- not even the table that would have fitted, so etf_daily and index_daily never cover
    different periods -- and the message names the file and says what to do. With room, the same command
    writes both tables."""
    out = tmp_path / "data"
    with serve() as http:
        etf_routes(http, real_etfs)
        index_routes(http, index_closes(real_data_dir))
        assert main([*FETCH, "--out", str(out), "--end", "2024-06-28"]) == 0
    capsys.readouterr()
    before = digest(out)
    assert sorted(before) == ["etf_daily.csv", "index_daily.csv"]

    limited = run_limited(14_000, *FETCH, "--out", out, "--end", "2024-12-31")
    assert limited.returncode == 1, limited.stdout + limited.stderr
    msg = one_clear_message("fetch", limited.stderr)
    assert "cannot write index_daily.csv: no room (a file-size limit was reached)" in msg, msg
    assert "free space (or raise the limit) and run again" in msg
    assert f"xladdin fetch: no table was written to {out}" in limited.stderr
    assert digest(out) == before  # the same files, byte for byte: no table replaced, no temporary file left

    roomy = run_limited(ROOMY, *FETCH, "--out", out, "--end", "2024-12-31")
    assert roomy.returncode == 0 and "wrote 2 table(s)" in roomy.stdout, roomy.stdout + roomy.stderr
    assert sorted(digest(out)) == ["etf_daily.csv", "index_daily.csv"]
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    assert sizes["etf_daily.csv"] < 14_000 < sizes["index_daily.csv"], sizes  # so the limit stopped the 2nd table
    etf = pd.read_csv(out / "etf_daily.csv")
    index = pd.read_csv(out / "index_daily.csv")
    assert len(etf) == canonical_rows(real_data_dir, "etf_daily", "etf", ["510300.SH"], "2024-01-02", "2024-12-31")
    assert len(index) == canonical_rows(real_data_dir, "index_daily", "index", ["000300.SH", "399006.SZ"],
                                        "2024-01-02", "2024-12-31")
    assert etf["date"].max() == index["date"].max() == "2024-12-31"


# ================================================================ update

def _store_of_2023(tmp_path: Path, real_data_dir: Path, real_etfs) -> Path:
    """A store of three ETFs and the CSI 300 over 2023 (made in this process, no limit), in a folder that does not
    exist yet: the first update creates it (the lock and the work folder are beside the store)."""
    store = tmp_path / "stores" / "store"
    assert not store.parent.exists()
    with serve() as http:
        etf_routes(http, real_etfs)
        index_routes(http, index_closes(real_data_dir))
        assert main(["update", str(store), "--source", "akshare", "--tables", "etf_daily", "index_daily",
                     *UPDATE_CODES, "--start", "2023-01-03", "--end", "2023-12-29", "--no-progress"]) == 0
    return store


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["fetched piece", "commit"])
def test_update_under_a_file_size_limit_leaves_the_store_and_resumes(stage, tmp_path, real_data_dir, real_etfs,
                                                                    capsys):
    """A store of 2023 brought to the end of 2024 under a file-size limit. ``fetched piece``: 1,024 bytes, less
    than any piece the update saves in its work folder; ``commit``: one and a half times the store's 2023
    etf_daily.parquet, room for each fetched piece (a year at most) but not for the two years' table the commit
    writes. Either way: one message naming the file, the store and its manifest byte-identical, no lock, no
    staged commit, no temporary file -- only the pieces fetched, kept for the next run. That run, with room,
    reuses them and commits both years."""
    store = _store_of_2023(tmp_path, real_data_dir, real_etfs)
    capsys.readouterr()
    before = digest(store)
    assert sorted(before) == ["etf_daily.parquet", "index_daily.parquet", "manifest.json"]
    work = work_dir(store)
    limit = 1024 if stage == "fetched piece" else (store / "etf_daily.parquet").stat().st_size * 3 // 2

    limited = run_limited(limit, "update", store, "--end", "2024-12-31", "--no-progress")
    assert limited.returncode == 1, limited.stdout + limited.stderr
    msg = one_clear_message("update", limited.stderr)
    written = (work / "fetched") if stage == "fetched piece" else (work / "commit" / "etf_daily.parquet")
    assert f"update of {store} stopped: cannot write {written}" in msg, msg
    assert "no room (a file-size limit was reached)" in msg and "the store is unchanged" in msg
    assert "free space (or raise the limit) and run again" in msg
    assert digest(store) == before  # the tables and the manifest, byte for byte: nothing was committed
    assert sorted(p.name for p in store.parent.iterdir()) == sorted([store.name, work.name])  # no lock left
    pieces = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    assert all(p.startswith("fetched/") and p.endswith(".parquet") and ".tmp." not in p for p in pieces), pieces
    assert bool(pieces) == (stage == "commit"), pieces  # the commit's run had saved every piece before it failed

    roomy = run_limited(ROOMY, "update", store, "--end", "2024-12-31", "--no-progress")
    assert roomy.returncode == 0, roomy.stdout + roomy.stderr
    assert ("piece(s) resumed" in roomy.stdout) == (stage == "commit"), roomy.stdout
    assert not work.exists() and sorted(p.name for p in store.parent.iterdir()) == [store.name]
    manifest = read_manifest(store)
    assert {t: manifest["tables"][t]["last"] for t in ("etf_daily", "index_daily")} == {
        "etf_daily": "2024-12-31", "index_daily": "2024-12-31"}
    etf = pd.read_parquet(store / "etf_daily.parquet")
    assert len(etf) == canonical_rows(real_data_dir, "etf_daily", "etf", ["510300.SH", "510310.SH", "159919.SZ"],
                                      "2023-01-03", "2024-12-31")
    assert (store / "etf_daily.parquet").stat().st_size > limit  # the limit, not the data, stopped the commit
