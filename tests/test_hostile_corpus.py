"""Hostile inputs, round 3: one real command per case, on real files in a temporary folder.

Each case is a construction of its own (not a copy of issue #23's cases) of one rule:

* **never overwrite the user's work** -- an output that names an input (same path, a symlink, a hard
  link) is refused before anything is written; every write is atomic (a file-size limit leaves the
  previous file and ``validate`` sees no cut file); a refresh through a symlink refreshes its target;
  the weekly job takes the lock a refresh takes; a reply lost after DATA is reported as a mail
  possibly sent twice;
* **bounded work** -- every workbook opened goes through the zip-bomb and XML-size checks; the ``XA_``
  functions refuse work over their budget at once;
* **messages, not internals** -- each case gets a sentence that says what to fix.

Every case asserts the exit code, the message, and that the input files are byte-identical afterwards
(SHA-256 before and after). The mail secrets have their own corpus: ``tests/test_mail_secrets.py``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from xladdin.data import SAMPLE_MARKER
from xladdin.fileguard import lock_path, owner_lock
from xladdin.ops.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: the as-of date of the cases' reports (the real data's industry closes end on it) and the report's name
ASOF = "2025-12-31"
REPORT = f"xladdin_weekly_{ASOF}.xlsx"


# ---------------------------------------------------------------- helpers

def digest(*paths: Path) -> dict[str, str]:
    """SHA-256 of every file under ``paths`` (files or folders, symlinks not followed)."""
    out = {}
    for p in paths:
        files = [p] if p.is_file() or p.is_symlink() else sorted(q for q in p.rglob("*") if q.is_file())
        for f in files:
            out[str(f)] = ("link:" + os.readlink(f)) if f.is_symlink() else hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``xladdin ARGV`` in this process: (exit code, stdout, stderr)."""
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def run_process(*argv: str, fsize: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m xladdin ARGV`` in a new process; ``fsize``: RLIMIT_FSIZE (bytes) for it."""
    code = "import sys\nfrom xladdin.ops.cli import main\n"
    if fsize is not None:
        code += f"import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, ({fsize}, {fsize}))\n"
    code += "sys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def clean(stderr: str) -> None:
    """No traceback, no 'Exception ignored', no Python type name of an internal error."""
    for bad in ("Traceback", "Exception ignored", "cannot reshape", "string multiply", "codec can't",
                "OverflowError", "SerialisationError", "float division"):
        assert bad not in stderr, stderr


@pytest.fixture
def data(real_csv_copy) -> Path:
    """A copy of the real canonical tables (CSV) that a case may point commands at. (tests/conftest.py)"""
    return real_csv_copy


@pytest.fixture(scope="module")
def weekly_report(real_data_dir, tmp_path_factory) -> Path:
    """A weekly report of the real data (values only), built once."""
    out = tmp_path_factory.mktemp("report")
    assert main(["weekly", "--out", str(out), "--data", str(real_data_dir), "--asof", ASOF, "--no-progress"]) == 0
    return out / REPORT


@pytest.fixture(scope="module")
def macro_workbook(real_data_dir, tmp_path_factory) -> Path:
    """The weekly macro workbook on the real data, built once (copy it before refreshing)."""
    out = tmp_path_factory.mktemp("tpl") / "weekly_book.xlsm"
    assert main(["template", str(out), "--data", str(real_data_dir), "--asof", ASOF, "--no-progress"]) == 0
    return out


# ================================================================ never overwrite the user's work

def test_send_refuses_an_eml_that_is_a_hard_link_of_the_report(weekly_report, tmp_path, capsys):
    report = tmp_path / "周报.xlsx"
    shutil.copyfile(weekly_report, report)
    alias = tmp_path / "copy-of-report.eml"
    os.link(report, alias)
    before = digest(tmp_path)
    rc, out, err = run(capsys, "send", report, "--to", "pm@example.com", "--from", "bot@example.com", "--dry-run",
                       "--eml", alias)
    assert rc == 1 and f"--eml {alias} is the report REPORT ({report}, the same file)" in err
    assert "nothing was sent" in err and digest(tmp_path) == before
    clean(err)


def test_weekly_refuses_timings_json_on_a_data_file_before_anything(data, tmp_path, capsys):
    out_dir = tmp_path / "out"
    before = digest(data)
    rc, out, err = run(capsys, "weekly", "--out", out_dir, "--data", data, "--no-progress",
                       "--timings-json", data / "index_daily.csv")
    assert rc == 1 and "--timings-json" in err and "is the data file index_daily.csv of --data" in err
    assert not out_dir.exists() and digest(data) == before


def _out_holding_last_report(tmp_path: Path, weekly_report: Path) -> Path:
    """An --out folder holding last week's report of the same date (:data:`REPORT`)."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    shutil.copyfile(weekly_report, out_dir / REPORT)
    return out_dir


def test_weekly_refuses_to_replace_its_own_params_workbook(data, weekly_report, tmp_path, capsys):
    """Last week's report of the same date used as --params in --out: the new report would replace it."""
    out_dir = _out_holding_last_report(tmp_path, weekly_report)
    before = digest(data, out_dir)
    rc, out, err = run(capsys, "weekly", "--out", out_dir, "--data", data, "--asof", ASOF, "--no-progress",
                       "--params", out_dir / REPORT)
    assert rc == 1 and f"--out {out_dir / REPORT} is the --params file" in err and "give --out another path" in err
    assert digest(data, out_dir) == before and sorted(p.name for p in out_dir.iterdir()) == [REPORT]


def test_a_csv_through_a_symlink_onto_a_data_file_is_refused(data, tmp_path, capsys):
    elsewhere = tmp_path / "results"
    elsewhere.mkdir()
    (elsewhere / "style.csv").symlink_to(data / "industry_daily.csv")
    before = digest(data, elsewhere)
    rc, out, err = run(capsys, "style", "--data", data, "--csv", elsewhere / "style.csv")
    assert rc == 1 and "is the data file industry_daily.csv of --data" in err and "the same file" in err
    assert digest(data, elsewhere) == before


def test_report_out_on_the_data_workbook_is_refused(weekly_report, tmp_path, capsys):
    """--data as one workbook, and OUT the same workbook under another spelling of its path."""
    book = tmp_path / "tables.xlsx"
    shutil.copyfile(weekly_report, book)  # any workbook: the check comes before the tables are read
    (tmp_path / "x").mkdir()
    before = digest(book)
    rc, out, err = run(capsys, "report", tmp_path / "x" / ".." / "tables.xlsx", "--data", book, "--no-progress")
    assert rc == 1 and "is the data file tables.xlsx of --data" in err and "the same file" in err
    assert digest(book) == before


def test_fetch_and_update_refuse_an_etf_list_they_would_overwrite(data, tmp_path, capsys):
    """Checked before any client is made: no network, no vendor library needed."""
    etf_list = tmp_path / "store" / "etf_info.parquet"
    etf_list.parent.mkdir()
    etf_list.write_text("510300.SH\n510310.SH\n", encoding="utf-8")
    before = digest(etf_list.parent)
    rc, out, err = run(capsys, "update", etf_list.parent, "--source", "akshare", "--tables", "etf_info",
                       "--etf-file", etf_list, "--start", "2024-01-02")
    assert rc == 1 and "STORE" in err and "is the --etf-file file" in err
    listing = tmp_path / "out" / "etf_daily.csv"
    listing.parent.mkdir()
    listing.write_text("510300.SH\n", encoding="utf-8")
    rc, out, err = run(capsys, "fetch", "--source", "akshare", "--out", listing.parent, "--tables", "etf_daily",
                       "--etf-file", listing)
    assert rc == 1 and f"--out {listing} is the --etf-file file" in err
    assert digest(etf_list.parent) == before and listing.read_text(encoding="utf-8") == "510300.SH\n"


def test_refresh_through_a_symlink_refreshes_the_target_and_keeps_the_link(macro_workbook, data, tmp_path, capsys):
    target = tmp_path / "books" / "weekly_book.xlsm"
    target.parent.mkdir()
    shutil.copyfile(macro_workbook, target)
    link = tmp_path / "desk" / "weekly_book.xlsm"
    link.parent.mkdir()
    link.symlink_to(target)
    before = digest(data)
    old = target.read_bytes()
    rc, out, err = run(capsys, "refresh", link, "--data", data, "--language", "en", "--no-progress")
    assert rc == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() != old and not list(link.parent.glob(".*tmp*"))
    import openpyxl
    wb = openpyxl.load_workbook(target, read_only=True)
    assert "Cover" in wb.sheetnames  # the English refresh landed in the target
    wb.close()
    assert digest(data) == before


def test_weekly_through_a_symlinked_report_replaces_the_target_and_keeps_the_link(data, weekly_report, tmp_path,
                                                                                 capsys):
    """The report's name in --out is a link to the desk's copy in another folder (last week's report there): the
    job writes the new report into the link's target, as every other writer does, and the link stays a link."""
    from xladdin.ops.jobs import read_params_file
    archive = tmp_path / "desk"
    archive.mkdir()
    target = archive / "本周.xlsx"
    shutil.copyfile(weekly_report, target)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / REPORT).symlink_to(target)
    before = digest(data, target)
    rc, out, err = run(capsys, "weekly", "--out", out_dir, "--data", data, "--asof", ASOF, "--no-progress",
                       "--set", "top_n=4")
    assert rc == 0 and f"wrote {out_dir / REPORT}" in out, err
    assert (out_dir / REPORT).is_symlink() and os.readlink(out_dir / REPORT) == str(target)
    assert digest(target) != {k: v for k, v in before.items() if k == str(target)}
    assert read_params_file(target).top_n == 4 and digest(data) == {k: v for k, v in before.items() if k != str(target)}
    assert sorted(p.name for p in out_dir.iterdir()) == [REPORT] and sorted(p.name for p in archive.iterdir()) == [target.name]
    # a refresh of the desk's copy (by its own path) holds the lock beside it: the job waits for it, as for its own
    before = digest(data, target)
    with owner_lock(lock_path(target)):
        rc, out, err = run(capsys, "weekly", "--out", out_dir, "--data", data, "--asof", ASOF, "--no-progress")
    assert rc == 1 and f"{out_dir / REPORT} is being written by process {os.getpid()}" in err, err
    assert digest(data, target) == before and (out_dir / REPORT).is_symlink()


#: in a private mount namespace: a tmpfs at FOLDER, then ``xladdin ARGV``; prints exit code, stderr and FOLDER's files
ON_TMPFS = """
import json, os, subprocess, sys
folder, argv = sys.argv[1], sys.argv[2:]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", folder], check=True)
r = subprocess.run([sys.executable, "-m", "xladdin", *argv], capture_output=True, text=True, encoding="utf-8")
print(json.dumps({"rc": r.returncode, "err": r.stderr, "files": sorted(os.listdir(folder))}))
"""


def test_weekly_refuses_a_symlinked_report_on_another_file_system_before_anything(data, tmp_path):
    """The link's target is on another file system (a tmpfs): the job cannot rename the report there, so it
    refuses before computing, saying what to give instead, and changes nothing."""
    unshare = _unshare()
    if unshare is None:
        pytest.skip("no private mount namespace on this system (unshare)")
    usb = tmp_path / "usb"
    usb.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / REPORT).symlink_to(usb / "weekly.xlsx")
    before = digest(data, out_dir)
    r = subprocess.run([*unshare, sys.executable, "-c", ON_TMPFS, usb, "weekly", "--out", out_dir, "--data", data,
                        "--asof", ASOF, "--no-progress"], capture_output=True, text=True, encoding="utf-8", cwd=ROOT,
                       timeout=600, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["rc"] == 1 and f"--out {out_dir / REPORT} is a link to {usb / 'weekly.xlsx'}, on another file system" \
        in got["err"] and f"give --out {usb}" in got["err"] and f"{out_dir} was not changed" in got["err"], got["err"]
    clean(got["err"])
    assert got["files"] == [] and digest(data, out_dir) == before


def test_refresh_refuses_data_that_is_the_workbook_itself(macro_workbook, tmp_path, capsys):
    book = tmp_path / "weekly_book.xlsm"
    shutil.copyfile(macro_workbook, book)
    before = digest(book)
    rc, out, err = run(capsys, "refresh", book, "--data", book, "--no-progress")
    assert rc == 1 and "is the workbook being refreshed" in err and "the workbook was not changed" in err
    assert digest(book) == before


@pytest.mark.slow
def test_sample_under_a_file_size_limit_keeps_every_previous_table(tiny_dir, tmp_path):
    """`sample` into a folder of earlier tables (a cut of the sample, some over the limit), allowed 200 kB per
    file: the tables are written together, so every file is the earlier one, byte for byte -- those that would
    have fitted too, and no sample marker, as no sample table went in -- no temporary file is left, and
    `validate` accepts the folder (no cut file)."""
    folder = tmp_path / "sample"
    shutil.copytree(tiny_dir, folder)
    before = digest(folder)
    assert any(Path(f).stat().st_size > 200_000 for f in before) and str(folder / SAMPLE_MARKER) not in before
    second = run_process("sample", folder, fsize=200_000)
    assert second.returncode == 1 and "cannot write" in second.stderr and "a file-size limit was reached" in second.stderr
    assert f"xladdin sample: no table was written to {folder}" in second.stderr
    clean(second.stderr)
    assert digest(folder) == before
    check = run_process("validate", folder)
    assert check.returncode == 0 and "OK" in check.stdout, check.stdout + check.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", ["report", "refresh", "weekly"])
def test_a_full_disk_is_one_message_and_the_previous_file(command, data, macro_workbook, weekly_report, tmp_path):
    """RLIMIT_FSIZE (a small disk) while saving a workbook: the clear message, no second traceback from a
    zip archive or a sheet writer left open, and the previous file unchanged."""
    (tmp_path / "w").mkdir()
    if command == "refresh":
        target = tmp_path / "w" / "weekly_book.xlsm"
        shutil.copyfile(macro_workbook, target)
        argv = ["refresh", target, "--data", data, "--no-progress"]
    elif command == "report":
        target = tmp_path / "w" / "r.xlsx"
        shutil.copyfile(weekly_report, target)
        argv = ["report", target, "--data", data, "--asof", ASOF, "--no-progress"]
    else:
        target = tmp_path / "w" / REPORT
        shutil.copyfile(weekly_report, target)
        argv = ["weekly", "--out", target.parent, "--data", data, "--asof", ASOF, "--no-progress"]
    before = digest(data, target)
    r = run_process(*argv, fsize=30_000)
    assert r.returncode == 1 and f"cannot write {target.name}: no room (a file-size limit was reached)" in r.stderr
    clean(r.stderr)
    assert digest(data, target) == before and [p.name for p in target.parent.iterdir()] == [target.name]


#: run in a private mount namespace (``unshare``): a small tmpfs at FOLDER, the target copied in, the disk
#: filled to all but ``free`` bytes, then ``xladdin ARGV``; prints the outcome as JSON (the mount ends with it)
FULL_DISK = """
import hashlib, json, os, shutil, subprocess, sys
folder, src, name, free, argv = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", folder], check=True)
target = os.path.join(folder, name)
shutil.copyfile(src, target)
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
before = sha(target)
fd = os.open(os.path.join(folder, "filler"), os.O_WRONLY | os.O_CREAT)
try:
    while True:
        os.write(fd, bytes(4096))
except OSError:
    pass
os.close(fd)
os.truncate(os.path.join(folder, "filler"), os.path.getsize(os.path.join(folder, "filler")) - free)
argv = [a.replace("@TARGET", target).replace("@FOLDER", folder) for a in argv]
r = subprocess.run([sys.executable, "-m", "xladdin", *argv], capture_output=True, text=True, encoding="utf-8")
print(json.dumps({"rc": r.returncode, "err": r.stderr, "same": sha(target) == before,
                  "files": sorted(os.listdir(folder))}))
"""


def _unshare() -> list[str] | None:
    """How to start a process with a mount namespace of its own here (None: this system does not allow it)."""
    for argv in (["unshare", "--mount"], ["unshare", "--user", "--map-root-user", "--mount"]):
        if shutil.which("unshare") and subprocess.run([*argv, "true"], capture_output=True).returncode == 0:
            return argv
    return None


@pytest.mark.slow
@pytest.mark.parametrize("command", ["template", "refresh", "report", "weekly"])
def test_a_real_full_disk_is_one_message_and_the_previous_file(command, data, macro_workbook, weekly_report,
                                                               tmp_path):
    """A real file system that fills up (a tmpfs, ENOSPC) while the workbook is saved: the clear message and
    nothing else -- no "Exception ignored in ZipFile.__del__" from an archive XlsxWriter (the template's
    skeleton) or openpyxl left open -- and the previous file byte-identical, no temporary file left."""
    unshare = _unshare()
    if unshare is None:
        pytest.skip("no private mount namespace on this system (unshare)")
    folder = tmp_path / "disk"
    folder.mkdir()
    source = {"template": macro_workbook, "refresh": macro_workbook, "report": weekly_report,
              "weekly": weekly_report}[command]
    name = {"template": "weekly_book.xlsm", "refresh": "weekly_book.xlsm", "report": "r.xlsx",
            "weekly": REPORT}[command]
    argv = {"template": ["template", "@TARGET", "--data", data, "--asof", ASOF, "--no-progress"],
            "refresh": ["refresh", "@TARGET", "--data", data, "--no-progress"],
            "report": ["report", "@TARGET", "--data", data, "--asof", ASOF, "--no-progress"],
            "weekly": ["weekly", "--out", "@FOLDER", "--data", data, "--asof", ASOF, "--no-progress"]}[command]
    before = digest(data)
    r = subprocess.run([*unshare, sys.executable, "-c", FULL_DISK, folder, source, name, "12288", *map(str, argv)],
                       capture_output=True, text=True, encoding="utf-8", cwd=ROOT, timeout=600,
                       env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["rc"] == 1 and f"cannot write {name}: no room (the disk is full)" in got["err"], got["err"]
    clean(got["err"])
    assert got["same"] and got["files"] == sorted(["filler", name]) and digest(data) == before


def test_the_weekly_job_waits_for_nobody_and_overwrites_nobody(data, weekly_report, tmp_path, capsys):
    """A live process holds the output folder's lock (another job), then the report's (a refresh of it):
    the job is refused naming it and changes nothing; once free it runs."""
    out_dir = _out_holding_last_report(tmp_path, weekly_report)
    before = digest(data, out_dir)
    argv = ["weekly", "--out", out_dir, "--data", data, "--asof", ASOF, "--no-progress"]
    for lock in (lock_path(out_dir / "xladdin-weekly"), lock_path(out_dir / REPORT)):
        with owner_lock(lock):
            rc, out, err = run(capsys, *argv)
        assert rc == 1 and f"is being written by process {os.getpid()} on {socket.gethostname()}" in err
        assert f"delete the stale lock {lock}" in err and digest(data, out_dir) == before
    rc, out, err = run(capsys, *argv)
    assert rc == 0 and f"wrote {out_dir / REPORT}" in out, err
    assert sorted(p.name for p in out_dir.iterdir()) == [REPORT]  # no lock left behind


@pytest.mark.slow
@pytest.mark.parametrize("folder_exists", [True, False], ids=["out-exists", "out-new"])
def test_two_weekly_jobs_on_one_folder_at_once_one_is_refused_the_other_writes(folder_exists, data, tmp_path):
    """Two real processes: the first job is stopped (SIGSTOP) as soon as it holds its lock; the second, started
    then, is refused naming the first and writes nothing; the first, resumed, writes the report with its own
    parameters. With and without the folder existing (the lock is inside it, or beside the folder to create)."""
    from xladdin.ops.jobs import read_params_file
    out_dir = tmp_path / "out"
    if folder_exists:
        out_dir.mkdir()
    lock = lock_path(out_dir / "xladdin-weekly") if folder_exists else lock_path(out_dir)
    argv = ["weekly", "--out", out_dir, "--data", data, "--asof", ASOF, "--no-progress", "--set"]
    code = "import sys\nfrom xladdin.ops.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    first = subprocess.Popen([sys.executable, "-c", code, *map(str, argv), "top_n=3"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(3000):
            if lock.exists() and lock.stat().st_size:
                break
            assert first.poll() is None, first.communicate()
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGSTOP)
        before = digest(tmp_path)
        second = run_process(*argv, "top_n=7")
        assert second.returncode == 1 and "step `lock` failed" in second.stderr, second.stderr
        assert f"is being written by process {first.pid} on {socket.gethostname()}" in second.stderr
        assert digest(tmp_path) == before
        clean(second.stderr)
    finally:
        os.kill(first.pid, signal.SIGCONT)
        out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert read_params_file(out_dir / REPORT).top_n == 3
    assert sorted(p.name for p in out_dir.iterdir()) == [REPORT] and not lock.exists()


@pytest.mark.parametrize("content", [json.dumps({"pid": 10**30, "host_tag": "x"}).encode(), b"\xff\xfe\x00garbage",
                                     json.dumps({"pid": "me"}).encode()])
def test_a_lock_no_process_can_hold_is_taken_over_with_a_note(content, data, tmp_path, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    lock = lock_path(out_dir / "xladdin-weekly")
    lock.write_bytes(content)
    rc, out, err = run(capsys, "weekly", "--out", out_dir, "--data", data, "--asof", ASOF, "--no-progress")
    assert rc == 0 and "took over the stale lock" in err and "so no live xladdin process holds it" in err, err
    assert not lock.exists()
    clean(err)


def test_a_lock_being_written_names_itself_stale_after_a_while(macro_workbook, data, tmp_path, capsys):
    """An empty lock (a process killed right after creating it) older than a minute is taken over; a
    fresh one refuses with the lock's path to delete."""
    book = tmp_path / "weekly_book.xlsm"
    shutil.copyfile(macro_workbook, book)
    lock = lock_path(book)
    lock.write_bytes(b"")
    os.utime(lock, (0, os.stat(lock).st_mtime - 3))  # past the owner's writing grace, within the minute
    before = digest(book)
    rc, out, err = run(capsys, "refresh", book, "--data", data, "--no-progress")
    assert rc == 1 and "an unknown process" in err and f"delete the stale lock {lock}" in err
    assert digest(book) == before
    old = os.stat(lock).st_mtime - 120
    os.utime(lock, (old, old))
    rc, out, err = run(capsys, "refresh", book, "--data", data, "--no-progress")
    assert rc == 0 and "took over the stale lock" in err and not lock.exists(), err


def test_a_reply_lost_after_data_is_reported_as_possibly_sent_twice(weekly_report, tmp_path, capsys):
    aiosmtpd = pytest.importorskip("aiosmtpd")  # noqa: F841
    from aiosmtpd.controller import Controller

    class LoseFirstReply:
        def __init__(self):
            self.received = 0

        async def handle_DATA(self, server, session, envelope):
            self.received += 1
            if self.received == 1:
                server.transport.close()  # kept the message, the 250 never arrives
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = LoseFirstReply()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        before = digest(weekly_report)
        rc, out, err = run(capsys, "send", weekly_report, "--smtp-host", "127.0.0.1", "--smtp-port", port, "--no-tls",
                           "--to", "pm@example.com", "--from", "bot@example.com", "--backoff", "0")
    finally:
        ctl.stop()
    assert rc == 0 and handler.received == 2, err
    assert "possibly sent twice to pm@example.com" in out and "in 2 attempt(s)" not in out
    assert digest(weekly_report) == before


# ================================================================ bounded work

def _workbook(path: Path, sheet_xml: bytes, level: int = 6) -> Path:
    """A minimal .xlsx/.xlsm zip whose first sheet is ``sheet_xml``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                   'spreadsheetml/2006/main"><sheets><sheet name="参数" sheetId="1" r:id="rId1" xmlns:r="x"/>'
                   '</sheets></workbook>')
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def _many_cells(megabytes: int) -> bytes:
    """A sheet of varied numbers: about ``megabytes`` MiB of XML that compresses only some 5-10 times."""
    rows, size, i = [], 0, 0
    while size < megabytes << 20:
        row = f'<row r="{i + 1}">' + "".join(f'<c r="{c}{i + 1}"><v>{(i * 7919 + k * 104729) % 1000003 / 7:.6f}</v></c>'
                                             for k, c in enumerate("ABCDEFGH")) + "</row>"
        rows.append(row)
        size += len(row)
        i += 1
    return ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            "<sheetData>" + "".join(rows) + "</sheetData></worksheet>").encode()


@pytest.fixture(scope="module")
def heavy_books(tmp_path_factory) -> dict[str, Path]:
    """Workbooks no command should parse: 40 MiB of sheet XML (a plausible ratio), and a zip bomb."""
    d = tmp_path_factory.mktemp("heavy")
    big = _workbook(d / "big.xlsm", _many_cells(40))
    bomb = _workbook(d / "bomb.xlsx", b'<?xml version="1.0"?><worksheet>' + b"<x/>" * (8 << 20) + b"</worksheet>", 9)
    return {"big": big, "bomb": bomb}


@pytest.mark.parametrize("kind", ["big", "bomb"])
def test_every_workbook_opener_refuses_a_heavy_workbook(kind, heavy_books, data, tmp_path, capsys):
    book = tmp_path / ("weekly_book.xlsm" if kind == "big" else "report.xlsx")
    shutil.copyfile(heavy_books[kind], book)
    before = digest(book, data)
    expect = "bytes of XML (limit 33,554,432" if kind == "big" else "a zip bomb?"
    for argv in (["refresh", book, "--data", data, "--no-progress"],
                 ["send", book, "--to", "pm@example.com", "--from", "bot@example.com", "--dry-run", "--eml",
                  tmp_path / "m.eml"],
                 ["weekly", "--out", tmp_path / "out", "--data", data, "--params", book, "--no-progress"],
                 ["doctor", book]):
        rc, out, err = run(capsys, *argv)
        assert expect in out + err and "refused" in out + err, (argv[0], out, err)
        if argv[0] != "doctor":
            assert rc == 1, argv
        clean(err)
    assert digest(book, data) == before and not (tmp_path / "out").exists() and not (tmp_path / "m.eml").exists()


def _renamed_sheet_book(path: Path, sheet_xml: bytes) -> Path:
    """A real workbook (openpyxl's, its one sheet named 参数) whose sheet part is called ``sheet1.bin``: the
    relationships point there, so a reader parses it whatever its name says."""
    from openpyxl import Workbook
    base = path.with_name("base.xlsx")
    wb = Workbook()
    wb.active.title = "参数"
    wb.save(base)
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data, name = zin.read(info.filename), info.filename
            if name == "xl/worksheets/sheet1.xml":
                data, name = sheet_xml, "xl/worksheets/sheet1.bin"
            elif name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                data = data.replace(b"worksheets/sheet1.xml", b"worksheets/sheet1.bin")
            zout.writestr(name, data)
    base.unlink()
    return path


@pytest.mark.parametrize("kind", ["big", "dtd"])
def test_a_sheet_part_not_named_xml_counts_as_xml(kind, data, tmp_path, capsys):
    """The XML limits go by what a part holds, not by its name: 40 MiB of cells in ``sheet1.bin`` (the size
    limit), or a DTD with entities there, are refused by every opener before any parse."""
    if kind == "big":
        sheet, expect = _many_cells(40), "bytes of XML (limit 33,554,432"
    else:
        sheet = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                 b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                 b'<row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>')
        expect = "part xl/worksheets/sheet1.bin declares a DTD or entities"
    book = _renamed_sheet_book(tmp_path / "weekly_book.xlsm", sheet)
    before = digest(book, data)
    for argv in (["refresh", book, "--data", data, "--no-progress"],
                 ["send", book, "--to", "pm@example.com", "--from", "bot@example.com", "--dry-run", "--eml",
                  tmp_path / "m.eml"],
                 ["weekly", "--out", tmp_path / "out", "--data", data, "--params", book, "--no-progress"]):
        rc, out, err = run(capsys, *argv)
        assert rc == 1 and expect in err and "refused" in err, (argv[0], out, err)
        clean(err)
    assert digest(book, data) == before and not (tmp_path / "out").exists() and not (tmp_path / "m.eml").exists()


def test_quintile_groups_need_at_least_two_values_to_sort():
    """A cross-section with nothing to sort gets no group, whether it is one value or several equal ones (the
    spec's "an all-tied cross-section gives no ranking"); two different values are sorted (ranks 1, 2 of 2 ->
    groups ceil(1*5/2) = 3 and 5, counted by hand)."""
    from xladdin_udfs.holdings import XA_QUINTILE
    assert XA_QUINTILE([[1.5]]) == [[None]]
    assert XA_QUINTILE([[1.5], [None], [None]]) == [[None], [None], [None]]
    assert XA_QUINTILE([[1.5], [1.5]]) == [[None], [None]]
    assert XA_QUINTILE([[1.5], [2.5]]) == [[3], [5]]
    # a block, one cross-section per row: a row holding one value, one of equal values, one sorted
    assert XA_QUINTILE([[None, 4.0, None], [2.0, 2.0, 2.0], [1.0, 3.0, 2.0]]) == [
        [None, None, None], [None, None, None], [2, 5, 4]]


def test_event_study_over_its_budget_answers_at_once_without_allocating():
    from xladdin_udfs.flows import XA_EVENT_STUDY
    rows = 1_048_576
    corr = [[0.25]] * rows
    closes = [[3000.0]] * rows
    thresholds = [[i / 2000] for i in range(2000)]
    tracemalloc.start()
    try:
        out = XA_EVENT_STUDY(corr, closes, thresholds)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out == [["#XA! input too large: 1,048,576 rows x (2000 thresholds + 6 horizons) = 2,103,443,456 cells "
                    "(budget 50,000,000); use fewer rows or fewer parameter values"]]
    assert peak < 5 << 20  # no event matrix: a few kB, not the 16 GiB the study would need


def test_event_study_budgets_thresholds_times_horizons():
    """The work of the event study grows with rows x thresholds x horizons (a count per threshold and horizon
    over every row): 100,000 rows with 240 thresholds and 240 horizons stay under the cells budget (48 million
    cells) but ask for 5,760,000,000 operations (45 s before this budget): refused at once. The defaults on a
    full column, 1,048,576 x 5 x 6 = 31,457,280 operations, are under the budget."""
    from xladdin_udfs._errors import OPERATION_BUDGET
    from xladdin_udfs.flows import XA_EVENT_STUDY
    rows = 100_000
    corr, closes = [[0.25]] * rows, [[3000.0]] * rows
    thresholds, horizons = [[i / 250] for i in range(240)], [[h] for h in range(1, 241)]
    tracemalloc.start()
    try:
        out = XA_EVENT_STUDY(corr, closes, thresholds, horizons)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out == [["#XA! input too large: 100,000 rows x 240 thresholds x 240 horizons = 5,760,000,000 operations "
                    "(budget 500,000,000); use fewer rows or fewer parameter values"]]
    assert peak < 20 << 20
    assert 1_048_576 * 5 * 6 <= OPERATION_BUDGET


def test_every_xa_function_refuses_arguments_over_the_input_budget():
    import inspect

    import xladdin_udfs.crowding
    import xladdin_udfs.flows
    import xladdin_udfs.holdings
    import xladdin_udfs.stats
    import xladdin_udfs.strategy
    import xladdin_udfs.style
    row = [1.0] * 20
    block = [row] * 1_000_001  # 20,000,020 cells, one row object shared: a few MB to build
    names = []
    for module in (xladdin_udfs.crowding, xladdin_udfs.flows, xladdin_udfs.holdings, xladdin_udfs.stats,
                   xladdin_udfs.strategy, xladdin_udfs.style):
        for name, func in inspect.getmembers(module, inspect.isfunction):
            params = inspect.signature(func).parameters
            if not name.startswith("XA_") or not params:
                continue
            names.append(name)
            out = func(block, *([None] * (sum(p.default is inspect.Parameter.empty for p in params.values()) - 1)))
            assert out[0][0].startswith("#XA! input too large: 20,000,020 cells in the arguments of " + name), out
    assert len(names) >= 18


def test_a_huge_lambda_is_refused_by_the_sheet_bound(data, tmp_path, capsys):
    params = tmp_path / "p.toml"
    params.write_text("hp_lambda = 1e308\n", encoding="utf-8")
    before = digest(data, params)
    for extra in (["--set", "hp_lambda=1e24"], ["--params", params]):
        rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--data", data, "--no-progress", *extra)
        assert rc == 1 and "parameter `hp_lambda`" in err and "must be <= 1e+10" in err
        clean(err)
    assert digest(data, params) == before and not (tmp_path / "out").exists()


# ================================================================ messages, not internals

def test_weekly_refuses_timings_json_on_its_own_report_before_anything(data, weekly_report, tmp_path, capsys):
    """--timings-json naming the report the job is about to write (last week's run of the same date is there):
    two outputs, one file; refused before anything, the report byte-identical."""
    out_dir = _out_holding_last_report(tmp_path, weekly_report)
    before = digest(data, out_dir)
    rc, out, err = run(capsys, "weekly", "--out", out_dir, "--data", data, "--asof", ASOF, "--no-progress",
                       "--timings-json", out_dir / REPORT)
    assert rc == 1 and f"--timings-json {out_dir / REPORT} and --out {out_dir / REPORT} are the same file" in err, err
    assert f"{out_dir} was not changed" in err and digest(data, out_dir) == before
    clean(err)


def test_etf_data_of_a_single_row_says_what_is_missing(data, tmp_path, capsys):
    """etf_daily cut to its last row: a sentence about the data the backtest needs, no internal error."""
    lines = (data / "etf_daily.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (data / "etf_daily.csv").write_text(lines[0] + lines[-1], encoding="utf-8")
    before = digest(data)
    rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--data", data, "--no-progress")
    assert rc == 1 and "step `compute` (table `strategy`) failed: no rebalance date of the backtest" in err, err
    assert "the factors need ETF shares and index weights over the backtest period" in err
    assert digest(data) == before and not (tmp_path / "out").exists()
    clean(err)


def test_a_backtest_start_after_the_data_says_which_dates(data, tmp_path, capsys):
    before = digest(data)
    rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--data", data, "--no-progress",
                       "--set", "backtest_start=2031-03-03")
    assert rc == 1 and "no weekly rebalance date in the backtest period 2031-03-03 .. " in err
    assert "set the backtest start (backtest_start / --start)" in err
    rc, out, err = run(capsys, "backtest", "rotation", "--data", data, "--start", "2030-06-30")
    assert rc == 1 and "no weekly rebalance date in the backtest period 2030-06-30 .. open" in err
    assert "the industry closes cover 2015-01-05 .. " in err
    clean(err)
    assert digest(data) == before


def test_etf_data_that_ends_before_the_backtest_says_so(data, tmp_path, capsys):
    """The last two ETF rows only (one day): no ETF flow, so no factor ranking on any rebalance date."""
    lines = (data / "etf_daily.csv").read_text(encoding="utf-8").splitlines()
    (data / "etf_daily.csv").write_text("\n".join([lines[0], lines[-2], lines[-1]]) + "\n", encoding="utf-8")
    before = digest(data)
    rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--data", data, "--no-progress")
    assert rc == 1 and "has a factor ranking (factor values: short_term_flow none" in err
    assert "the factors need ETF shares and index weights over the backtest period" in err
    clean(err)
    assert digest(data) == before


def test_date_parameters_that_are_not_dates(data, tmp_path, capsys):
    for value, shown in (("2026-03-02T09:30:00-05:00", "'2026-03-02T09:30:00-05:00'"), ("09:30:00", "'09:30:00'")):
        params = tmp_path / "p.toml"
        params.write_text(f"asof = {value}\n", encoding="utf-8")
        rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--data", data, "--params", params,
                           "--no-progress")
        assert rc == 1 and "parameter `asof`" in err and "not a time, nor a date-time with a UTC offset" in err
        assert shown in err
        clean(err)
    assert not (tmp_path / "out").exists()


def test_parameter_and_config_files_in_other_encodings(data, weekly_report, tmp_path, capsys):
    gbk_csv = tmp_path / "参数.csv"
    gbk_csv.write_bytes("key,value,说明\ntop_n,4,入选行业数\nlanguage,en,语言\n".encode("gbk"))
    rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--data", data, "--asof", ASOF,
                       "--params", gbk_csv, "--no-progress")
    assert rc == 0, err  # read like a GBK data file
    gbk_toml = tmp_path / "参数.toml"
    gbk_toml.write_bytes("# 每周参数\ntop_n = 4\n".encode("gbk"))
    with pytest.raises(UnicodeDecodeError) as bad:  # where a UTF-8 reader stops (每 is valid UTF-8 by chance)
        gbk_toml.read_bytes().decode("utf-8")
    where = f"byte 0x{bad.value.object[bad.value.start]:02x} at offset {bad.value.start}"
    rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out2", "--data", data, "--params", gbk_toml,
                       "--no-progress")
    assert rc == 1 and f"parameters file 参数.toml: not UTF-8 text ({where})" in err
    assert "save it as UTF-8" in err
    config = tmp_path / "mail.toml"
    config.write_bytes('[smtp]\nhost = "127.0.0.1"\nsender = "研究部 <bot@example.com>"\n'.encode("gbk"))
    rc, out, err = run(capsys, "send", weekly_report, "--config", config, "--to", "pm@example.com", "--dry-run",
                       "--eml", tmp_path / "m.eml")
    assert rc == 1 and f"config file {config} is not UTF-8 text" in err and "save it as UTF-8" in err
    clean(err)


def test_a_backoff_that_is_not_a_number_is_refused_before_sending(weekly_report, tmp_path, capsys):
    config = tmp_path / "mail.toml"
    config.write_text('[smtp]\nhost = "127.0.0.1"\nsender = "bot@example.com"\n[send]\nbackoff = nan\n',
                      encoding="utf-8")
    rc, out, err = run(capsys, "send", weekly_report, "--config", config, "--to", "pm@example.com")
    assert rc == 1 and "[send] backoff must be a finite number of seconds >= 0" in err and "got nan" in err
    rc, out, err = run(capsys, "send", weekly_report, "--smtp-host", "127.0.0.1", "--to", "pm@example.com",
                       "--from", "bot@example.com", "--backoff", "inf")
    assert rc == 1 and "backoff must be a finite number of seconds >= 0" in err and "nothing was sent" in err
    clean(err)

