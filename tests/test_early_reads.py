"""Early reads (:mod:`xladdin.data.early`): parquet files decoded in a thread while the program starts give the
reader what it would have read itself, never a stale or broken table, and leave no thread behind."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from xladdin.data import early
from xladdin.data.loaders import write_market
from xladdin.data.parquetfile import read_parquet
from xladdin.errors import DataError
from xladdin.ops import cli, jobs


@pytest.fixture(scope="module")
def parquet_dir(sample_cut, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("parquet")
    write_market(sample_cut(start="2025-06-02", end="2026-09-30", n_stocks=40), folder, fmt="parquet")
    return folder


@pytest.fixture(autouse=True)
def nothing_left():
    early.finish()
    yield
    early.finish()
    assert not [t for t in threading.enumerate() if t.name == early.THREAD_NAME]


def read(folder: Path, name: str, since=None):
    return read_parquet(folder / f"{name}.parquet", (), since, "date")


def same_read(a, b) -> None:
    (fa, first_a, codes_a), (fb, first_b, codes_b) = a, b
    pd.testing.assert_frame_equal(fa, fb, check_exact=True)
    assert first_a == first_b and list(codes_a) == list(codes_b)
    for col in codes_a:
        assert codes_a[col][0].equals(codes_b[col][0])
        assert (codes_a[col][1] == codes_b[col][1]).all() and list(codes_a[col][2]) == list(codes_b[col][2])


@pytest.mark.parametrize("name", ["etf_daily", "northbound_holdings", "index_weights", "stock_industry"])
def test_a_table_decoded_early_reads_as_the_file_itself(parquet_dir, name, monkeypatch):
    plain = read(parquet_dir, name)
    taken = []
    real_take = early.take
    monkeypatch.setattr(early, "take", lambda path: taken.append(path.name) or real_take(path))
    early.start(parquet_dir, [name])
    same_read(read(parquet_dir, name), plain)
    assert taken == [f"{name}.parquet"] and not early._tables  # taken, not read again


def test_a_read_from_a_date_on_does_not_take_the_early_table(parquet_dir):
    """A read that skips row groups reads them itself; the decoded table is dropped by ``finish``."""
    dates = pd.read_parquet(parquet_dir / "etf_daily.parquet")["date"]
    since = dates.sort_values().iloc[len(dates) // 2]
    plain = read(parquet_dir, "etf_daily", since)
    early.start(parquet_dir, ["etf_daily"])
    same_read(read(parquet_dir, "etf_daily", since), plain)
    early.finish()
    assert not early._tables and not early._pending


def test_a_file_replaced_after_its_early_decoding_is_read_again(parquet_dir, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    src = pd.read_parquet(parquet_dir / "index_daily.parquet")
    src.to_parquet(folder / "index_daily.parquet")
    early.start(folder, ["index_daily"])
    early._thread.join()
    changed = src.assign(close=src["close"] * 2)
    changed.to_parquet(folder / "index_daily.tmp")
    os.replace(folder / "index_daily.tmp", folder / "index_daily.parquet")  # as a data update writes it
    got = read(folder, "index_daily")[0]
    assert (got["close"].to_numpy() == changed["close"].to_numpy()).all()


def test_a_damaged_file_is_reported_by_the_reader_as_without_early_reads(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "etf_daily.parquet").write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    with pytest.raises(DataError) as plain:
        read(folder, "etf_daily")
    early.start(folder, ["etf_daily"])
    with pytest.raises(DataError) as after:
        read(folder, "etf_daily")
    assert str(after.value) == str(plain.value)


@pytest.mark.parametrize("line", [["weekly", "--data", "{d}"], ["weekly", "--data={d}", "--no-progress"],
                                  ["weekly", "--out", "x", "--data", "{d}"]])
def test_the_program_starts_early_reads_for_the_weekly_data_folder(parquet_dir, line, monkeypatch):
    started = []
    monkeypatch.setattr(early, "start", lambda folder, names: started.append((folder, tuple(names))))
    cli._start_early_reads([a.format(d=parquet_dir) for a in line])
    assert started == [(str(parquet_dir), cli.EARLY_READS["weekly"])]


@pytest.mark.parametrize("line", [[], ["validate", "--data", "x"], ["weekly", "--dat", "x"], ["weekly", "--data"],
                                  ["weekly", "--no-progress"], ["weekly", "--data", "x", "--update"]])
def test_no_early_reads_for_other_lines(line, monkeypatch):
    started = []
    monkeypatch.setattr(early, "start", lambda folder, names: started.append(folder))
    cli._start_early_reads(line)
    assert started == []


def test_the_early_tables_are_those_the_weekly_job_reads_whole():
    """A table read from a date on (the dashboard's and crowding's windows) would never be taken: only memory."""
    from xladdin.workbook.params import default_params
    from xladdin.workbook.weekly import stock_rows_since
    windowed = set(stock_rows_since(pd.Timestamp("2026-09-30"), default_params()))
    assert windowed and not windowed & set(cli.EARLY_READS["weekly"])


def test_the_weekly_job_with_early_reads_writes_the_same_report(parquet_dir, tmp_path):
    """The job through the program (``python -m xladdin``), with and without its early reads: the same cells, and
    the early tables were taken (a spy in the job's own process)."""
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(
        "import os\nif os.environ.get('SPY_EARLY'):\n"
        "    import xladdin.data.early as e\n    real = e.take\n"
        "    def take(path):\n        got = real(path)\n"
        "        open(os.environ['SPY_EARLY'], 'a').write(f'{path.name} {got is not None}\\n')\n        return got\n"
        "    e.take = take\n", encoding="utf-8")
    reports = {}
    for mode in ("early", "plain"):
        out, log = tmp_path / mode, tmp_path / f"{mode}.log"
        env = {**os.environ, "PYTHONPATH": str(spy), "SPY_EARLY": str(log)}
        cmd = [sys.executable, "-m", "xladdin", "weekly", "--data", str(parquet_dir), "--out", str(out), "--no-progress"]
        if mode == "plain":  # the same job without the program's early reads: called from Python
            cmd = [sys.executable, "-c", "import sys; from xladdin.ops.cli import main; sys.exit(main(sys.argv[1:]))",
                   *cmd[3:]]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        reports[mode] = next(out.glob("xladdin_weekly_*.xlsx"))
        taken = dict(line.split() for line in log.read_text(encoding="utf-8").splitlines())
        expected = {f"{n}.parquet": "True" for n in cli.EARLY_READS["weekly"]} if mode == "early" else {}
        assert {k: v for k, v in taken.items() if v == "True"} == expected
    import openpyxl
    a, b = (openpyxl.load_workbook(reports[m]) for m in ("early", "plain"))
    assert a.sheetnames == b.sheetnames
    for ws in a.worksheets:
        other = b[ws.title]
        assert [[c.value for c in r] for r in ws.iter_rows()] == [[c.value for c in r] for r in other.iter_rows()], ws.title


def test_an_interrupted_read_does_not_wait_for_the_early_thread(parquet_dir, monkeypatch):
    """Ctrl-C during the load: the job gives the early reads up at once instead of waiting for the file being
    decoded (the program then ends; the daemon thread with it)."""
    release = threading.Event()
    real = early._identity
    monkeypatch.setattr(early, "_identity", lambda path: release.wait(30) and real(path))  # decoding held up
    early.start(parquet_dir, ["etf_daily"])
    monkeypatch.setattr(jobs, "_read_raw", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    clock = jobs._StepClock(None)
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        jobs._load_step(clock, parquet_dir, jobs.default_params(), None)
    assert time.perf_counter() - started < 5 and not early._pending and early._thread is None
    release.set()
    for t in threading.enumerate():
        if t.name == early.THREAD_NAME:
            t.join(30)
