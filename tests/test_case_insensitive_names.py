"""Outputs named like an input but for case, on a real case-insensitive file system.

Each test mounts a case-insensitive, case-preserving file system of its own (``tests/_cifs.py``: a FUSE
passthrough that looks names up as Windows' NTFS and macOS' APFS do; the fixture checks that it does, and
unmounts it with ``fusermount -u``), puts real files there, and runs a real command whose output differs from
one of its inputs (or from another output) only by the case of its letters. On this file system the two
names are one file, so the command must refuse before writing anything: the message names both, the inputs are
byte-identical afterwards and no file appears. Where FUSE cannot be mounted (no ``/dev/fuse``, no permission,
no libfuse), the tests are skipped saying why; ``scripts/ensure_fuse.sh`` installs libfuse and fusermount.

Most cases name an existing file (the two names are one inode: :func:`os.path.samefile`). Where neither file
exists yet (``weekly --timings-json`` spelled like the report it is about to write), xladdin goes by the rule
of :func:`xladdin.fileguard.same_file`: the same path without case, on a folder whose file system ignores
case -- told at the root of the disk too, where the folder's own name is on the case-sensitive disk above.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xladdin.fileguard import same_file
from xladdin.ops.cli import main

ROOT = Path(__file__).resolve().parents[1]
CIFS = ROOT / "tests" / "_cifs.py"
#: the as-of date of the tiny sample cut (tests/conftest.py: tiny_short_dir ends on it) and its report's name
ASOF = "2026-09-30"
REPORT = f"xladdin_weekly_{ASOF}.xlsx"


def fuse_missing() -> str | None:
    """Why no FUSE file system can be mounted here, or None."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse: this system (or container) offers no FUSE device"
    if not (shutil.which("fusermount3") or shutil.which("fusermount")):
        return "no fusermount: install libfuse's tools (bash scripts/ensure_fuse.sh installs the Debian package fuse3)"
    try:
        import mfusepy  # noqa: F401  (it loads libfuse at import)
    except (ImportError, OSError) as exc:
        return f"mfusepy cannot be used ({exc}): pip install the test extra, and libfuse (bash scripts/ensure_fuse.sh)"
    return None


@pytest.fixture
def disk(tmp_path) -> Iterator[Path]:
    """The root of a case-insensitive file system mounted for this test (unmounted after it)."""
    why = fuse_missing()
    if why:
        pytest.skip(why)
    backing, mnt = tmp_path / "backing", tmp_path / "disk"
    backing.mkdir()
    mnt.mkdir()
    server = subprocess.Popen([sys.executable, str(CIFS), str(backing), str(mnt)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    fusermount = shutil.which("fusermount3") or shutil.which("fusermount")
    try:
        for _ in range(1200):  # up to a minute on a busy machine
            if os.path.ismount(mnt) or server.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.ismount(mnt):
            server.kill()
            pytest.skip(f"cannot mount a FUSE file system here: {server.communicate()[1].strip() or 'no mount'}")
        probe = mnt / "Probe.txt"
        probe.write_text("x", encoding="utf-8")
        assert os.path.samefile(probe, mnt / "pROBE.TXT") and sorted(os.listdir(backing)) == ["Probe.txt"]
        probe.unlink()
        yield mnt
    finally:
        if os.path.ismount(mnt) and subprocess.run([fusermount, "-u", str(mnt)]).returncode != 0:
            subprocess.run([fusermount, "-u", "-z", str(mnt)], check=True)  # busy: detach now, end when unused
        server.wait(timeout=60)


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by path relative to it."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(capsys, *argv) -> tuple[int, str]:
    """``xladdin ARGV`` in this process: (exit code, stderr)."""
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


def copy_tables(src: Path, dest: Path) -> Path:
    dest.mkdir(exist_ok=True)
    for f in src.glob("*.csv"):
        shutil.copyfile(f, dest / f.name)
    return dest


@pytest.fixture(scope="module")
def built(tiny_short_dir, tmp_path_factory) -> dict[str, Path]:
    """A weekly report and a weekly macro workbook of the tiny sample cut, built once on the ordinary disk."""
    out = tmp_path_factory.mktemp("built")
    assert main(["weekly", "--out", str(out), "--data", str(tiny_short_dir), "--asof", ASOF, "--no-progress"]) == 0
    assert main(["template", str(out / "book.xlsm"), "--data", str(tiny_short_dir), "--asof", ASOF,
                 "--no-progress"]) == 0
    return {"report": out / REPORT, "workbook": out / "book.xlsm"}


# ================================================================ the same file under two spellings

def test_the_rule_sees_this_disk_ignore_case_and_the_ordinary_one_not(disk, tmp_path):
    """The premise of every case below: on this disk two spellings of a name (existing or not, in a folder or at
    the disk's root) are one file; on the ordinary disk beside it they are two."""
    (disk / "Books").mkdir()
    (disk / "Books" / "WB.xlsm").write_bytes(b"x")
    assert same_file(disk / "Books" / "WB.xlsm", disk / "books" / "wb.XLSM")
    assert same_file(disk / "Books" / "New.json", disk / "BOOKS" / "new.JSON")  # neither exists
    assert same_file(disk / "Report.xlsx", disk / "report.XLSX")  # at the root of the disk
    (tmp_path / "Books").mkdir()
    (tmp_path / "Books" / "WB.xlsm").write_bytes(b"x")
    assert not same_file(tmp_path / "Books" / "WB.xlsm", tmp_path / "Books" / "wb.XLSM")
    assert not same_file(tmp_path / "Report.xlsx", tmp_path / "report.XLSX")


def test_refresh_refuses_data_that_is_its_workbook_spelled_otherwise(disk, built, capsys):
    books = disk / "Books"
    books.mkdir()
    shutil.copyfile(built["workbook"], books / "WB.xlsm")
    before = digest(disk)
    rc, err = run(capsys, "refresh", books / "WB.xlsm", "--data", disk / "books" / "wb.XLSM", "--no-progress")
    assert rc == 1 and "is the workbook being refreshed" in err and "the workbook was not changed" in err, err
    assert digest(disk) == before


@pytest.mark.parametrize("command", ["report", "template"])
def test_report_and_template_refuse_out_onto_the_data_workbook_spelled_otherwise(command, disk, built, capsys):
    """--data one workbook, OUT the same workbook spelled with other capitals: refused before the tables are read."""
    suffix = ".xlsx" if command == "report" else ".xlsm"
    data = disk / "Desk" / f"Tables{suffix}"
    data.parent.mkdir()
    shutil.copyfile(built["report"], data)  # any workbook: the check comes before its tables are read
    out = disk / "desk" / f"TABLES{suffix.upper()}"
    before = digest(disk)
    rc, err = run(capsys, command, out, "--data", data, "--no-progress")
    assert rc == 1 and f"OUT {out} is the data file Tables{suffix} of --data ({data}, the same file)" in err, err
    assert digest(disk) == before


def test_send_refuses_an_eml_that_is_the_report_spelled_otherwise(disk, built, capsys, isolated_mail_env):
    report = disk / "Out" / "Weekly.xlsx"
    report.parent.mkdir()
    shutil.copyfile(built["report"], report)
    eml = disk / "out" / "WEEKLY.XLSX"
    before = digest(disk)
    rc, err = run(capsys, "send", report, "--to", "pm@example.com", "--from", "bot@example.com", "--dry-run",
                  "--eml", eml)
    assert rc == 1 and f"--eml {eml} is the report REPORT ({report}, the same file)" in err, err
    assert "nothing was sent" in err and digest(disk) == before


def test_a_csv_onto_a_data_file_spelled_otherwise_is_refused(disk, tiny_short_dir, capsys):
    data = copy_tables(tiny_short_dir, disk / "Data")
    before = digest(disk)
    rc, err = run(capsys, "style", "--data", data, "--csv", disk / "DATA" / "INDUSTRY_DAILY.CSV")
    assert rc == 1 and "is the data file industry_daily.csv of --data" in err and "the same file" in err, err
    assert digest(disk) == before


def test_fetch_and_update_refuse_an_etf_list_they_would_overwrite_spelled_otherwise(disk, capsys):
    """The ETF list is ETF_DAILY.CSV (or ETF_INFO.PARQUET) in the folder the tables go to: on this disk the table's
    name is the list's. Refused before any client is made (no network, no vendor library)."""
    out = disk / "Fetched"
    out.mkdir()
    (out / "ETF_DAILY.CSV").write_text("510300.SH\n", encoding="utf-8")
    store = disk / "Store"
    store.mkdir()
    (store / "ETF_INFO.PARQUET").write_text("510300.SH\n510310.SH\n", encoding="utf-8")
    before = digest(disk)
    rc, err = run(capsys, "fetch", "--source", "akshare", "--out", out, "--tables", "etf_daily", "--etf-file",
                  out / "ETF_DAILY.CSV", "--start", "2024-01-02")
    assert rc == 1 and f"--out {out / 'etf_daily.csv'} is the --etf-file file ({out / 'ETF_DAILY.CSV'}, the same " \
        "file)" in err, err
    rc, err = run(capsys, "update", store, "--source", "akshare", "--tables", "etf_info", "--etf-file",
                  store / "ETF_INFO.PARQUET", "--start", "2024-01-02")
    assert rc == 1 and f"STORE {store / 'etf_info.parquet'} is the --etf-file file" in err, err
    assert digest(disk) == before


# ================================================================ the weekly job in the data folder, at the disk's root

def test_weekly_into_its_data_folder_refuses_last_weeks_report_as_params_spelled_otherwise(disk, built,
                                                                                          tiny_short_dir, capsys):
    """The data folder is the disk's root and --out; last week's report of the same date is there in capitals and
    given as --params: the new report would replace it."""
    copy_tables(tiny_short_dir, disk)
    params = disk / REPORT.upper()
    shutil.copyfile(built["report"], params)
    before = digest(disk)
    rc, err = run(capsys, "weekly", "--out", disk, "--data", disk, "--asof", ASOF, "--no-progress", "--params", params)
    assert rc == 1 and f"--out {disk / REPORT} is the --params file ({params}, the same file)" in err, err
    assert f"{disk} was not changed" in err and digest(disk) == before


@pytest.mark.parametrize("where", ["data folder", "new folder"])
def test_weekly_refuses_timings_json_spelled_like_the_report_it_writes(where, disk, tiny_short_dir, capsys):
    """--timings-json names the report the job is about to write, in capitals; neither file exists yet, so only the
    rule tells they are one: --out the data folder at the disk's root, or a folder to create there. Before the rule
    looked at the disk's own entries, the job wrote the report and then the timings over it (exit 0)."""
    data = copy_tables(tiny_short_dir, disk)
    out = disk if where == "data folder" else disk / "Reports"
    timings = (disk if where == "data folder" else disk / "REPORTS") / REPORT.upper()
    before = digest(disk)
    rc, err = run(capsys, "weekly", "--out", out, "--data", data, "--asof", ASOF, "--no-progress",
                  "--timings-json", timings)
    assert rc == 1 and f"--timings-json {timings} and --out {out / REPORT} are the same file" in err, err
    assert digest(disk) == before and sorted(os.listdir(disk)) == sorted(p.name for p in tiny_short_dir.glob("*.csv"))
