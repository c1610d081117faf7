"""Faults never lose a report, hang a command or end in a traceback (issue 17).

* the weekly job is killed (SIGKILL, in a forked child) at every file operation of its final step;
  after each kill the folder still holds a complete report, and the next run removes the leftovers;
* ``--timeout`` bounds each whole SMTP exchange: real servers on 127.0.0.1 drip the greeting or a reply;
* every failure path of ``refresh``, ``send``, ``report``, ``template`` and ``weekly`` ends in a message
  (exit 1), never a traceback, and says what was left unchanged;
* refresh refuses read-only workbooks and folders, locks the workbook, and cleans up after killed runs.
"""
from __future__ import annotations

import hashlib
import os
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import openpyxl
import pytest

from xladdin import fileguard
from xladdin.ops import jobs
from xladdin.ops.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked child (POSIX)")


@pytest.fixture(autouse=True)
def isolated_env(isolated_mail_env):
    """No user config, no password from the developer's environment (tests/conftest.py)."""


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def run_killed_at(k: int, fn) -> tuple[int, list[str]]:
    """Run ``fn()`` in a forked child that SIGKILLs itself just before file operation ``k`` (0-based, as
    announced to :data:`xladdin.fileguard.FAULT_HOOK`).

    Returns (wait status, the operations the child saw, in order). With ``k`` past the last operation
    the child finishes normally (exit 0).
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 0
        try:
            os.close(r)
            seen = []

            def hook(op, path):
                seen.append(op)
                os.write(w, (op + "\n").encode())
                if len(seen) - 1 == k:
                    os.kill(os.getpid(), signal.SIGKILL)

            fileguard.FAULT_HOOK = hook
            fn()
        except BaseException:  # noqa: BLE001 - reported through the exit code
            import traceback
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return status, b"".join(chunks).decode().splitlines()


def killed(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


# ================================================================ the weekly job, killed at every file operation
REPORT = "xladdin_weekly_2026-10-30.xlsx"
EML = REPORT.replace(".xlsx", ".eml")


@pytest.fixture(scope="module")
def market():
    from xladdin.data.sample import sample_market
    return sample_market().subset("2026-01-01", None)


@pytest.fixture
def fast_weekly(monkeypatch, workbook_inputs):
    """compute_weekly returns the cached result of the sample (rendering, saving and commit stay real)."""
    workbook_inputs.patch_compute(monkeypatch)


def weekly_job(market, out: Path, language: str):
    from xladdin.ops.jobs import SendOptions, run_weekly
    from xladdin.workbook.params import default_params
    send = SendOptions(to=["pm@example.com"], sender="bot@example.com", dry_run=True)
    return run_weekly(market, out, params=default_params().replace(language=language), send=send)


def report_language(path: Path) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return "en" if "Cover" in wb.sheetnames else "zh"
    finally:
        wb.close()


def eml_attachment(path: Path) -> bytes:
    import email
    from email import policy
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    return next(msg.iter_attachments()).get_payload(decode=True)


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


#: file operations of the weekly job over an existing folder with last run's report and .eml: the report
#: and then the .eml saved in the staging folder (each by atomic_target), then the final step, then the
#: report's lock and the folder's released; the hook runs just before each one, so a kill up to the
#: report's own replace in the folder leaves the old report
ATOMIC = ["temp created", "fsync temp", "replace", "fsync folder"]
STAGED = ["staging created", *ATOMIC, *ATOMIC]
FINAL_OPS = [(op, "old") for op in STAGED] + [
    ("keep previous", "old"), ("replace", "old"),  # the .eml
    ("keep previous", "old"), ("replace", "old"),  # the report: the commit point
    ("fsync folder", "new"), ("remove staging", "new"), ("unlock", "new"), ("unlock", "new")]
#: the same when --out does not exist yet: the staging folder is renamed to the new folder (one lock)
NEW_FOLDER_OPS = STAGED + ["rename staging", "fsync folder", "unlock"]


@pytest.fixture(scope="module")
def last_run(market, tmp_path_factory, workbook_inputs):
    """Last run's report and .eml (Chinese headers) for 2026-10-30, and an unrelated file."""
    with pytest.MonkeyPatch.context() as mp:
        workbook_inputs.patch_compute(mp)
        seed = tmp_path_factory.mktemp("seed")
        weekly_job(market, seed, "zh")
    return {REPORT: (seed / REPORT).read_bytes(), EML: (seed / EML).read_bytes(), "notes.txt": b"keep me"}


def previous_folder(path: Path, files: dict) -> Path:
    path.mkdir()
    for name, data in files.items():
        (path / name).write_bytes(data)
    return path


@pytest.mark.slow
@needs_fork
def test_weekly_final_step_file_operations(market, fast_weekly, last_run, tmp_path):
    out = previous_folder(tmp_path / "out", last_run)
    status, ops = run_killed_at(10**6, lambda: weekly_job(market, out, "en"))
    assert status == 0 and ops == [op for op, _ in FINAL_OPS]
    assert sorted(p.name for p in out.iterdir()) == sorted([REPORT, EML, "notes.txt"])
    assert report_language(out / REPORT) == "en" and eml_attachment(out / EML) == (out / REPORT).read_bytes()


@pytest.mark.slow
@needs_fork
@pytest.mark.parametrize("k", range(len(FINAL_OPS)), ids=[f"{i}-{op}" for i, (op, _) in enumerate(FINAL_OPS)])
def test_weekly_killed_at_each_file_operation_keeps_a_complete_report(market, fast_weekly, last_run, tmp_path, k):
    """Last week's (same-date) report and its .eml are in place; the job, rerun in English, is killed
    (SIGKILL) just before file operation ``k`` of its final step. The folder still holds a complete
    report -- the old one, or the new one with the .eml that carries it -- and the next run's sweep
    removes what the kill left, and nothing else."""
    out = previous_folder(tmp_path / "out", last_run)
    status, seen = run_killed_at(k, lambda: weekly_job(market, out, "en"))
    assert killed(status) and seen == [op for op, _ in FINAL_OPS[:k + 1]], (status, seen)
    assert visible(out) == sorted([REPORT, EML, "notes.txt"])
    assert (out / "notes.txt").read_bytes() == b"keep me"
    report = out / REPORT
    if FINAL_OPS[k][1] == "old":
        assert report.read_bytes() == last_run[REPORT]
    else:  # the new report, complete, and the .eml beside it is the one that carries it
        assert report_language(report) == "en"
        assert eml_attachment(out / EML) == report.read_bytes()
    staging = [p for p in out.iterdir() if p.name.startswith(jobs.STAGING_PREFIX)]
    assert len(staging) == (0 if FINAL_OPS[k][0] == "unlock" else 1)  # removed just before the locks are
    leftovers = sorted(p for p in out.iterdir() if p.name.startswith("."))  # the staging folder, the locks
    assert jobs.sweep_stale_staging(out, before=time.time()) == leftovers
    assert sorted(p.name for p in out.iterdir()) == sorted([REPORT, EML, "notes.txt"])
    assert report.read_bytes() == last_run[REPORT] if FINAL_OPS[k][1] == "old" else report_language(report) == "en"


@pytest.mark.slow
@needs_fork
@pytest.mark.parametrize("k", range(len(NEW_FOLDER_OPS)), ids=NEW_FOLDER_OPS)
def test_weekly_killed_while_creating_a_new_folder(market, fast_weekly, tmp_path, k, capsys):
    """A new --out folder appears only complete (one rename of the staging folder); a kill before that
    leaves only a hidden staging folder beside it, which the next run removes and names."""
    out = tmp_path / "new" / "deeper"
    status, seen = run_killed_at(k, lambda: weekly_job(market, out, "zh"))
    assert killed(status) and seen == NEW_FOLDER_OPS[:k + 1]
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(jobs.STAGING_PREFIX)]
    if k < len(STAGED) + 1:  # killed before the rename: no new folder at all (a stale lock beside it)
        assert visible(tmp_path) == [] and len(left) == 1
    else:
        assert visible(out) == sorted([REPORT, EML]) and left == []
        assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())  # not mkdtemp's 0700
        return
    # the next run (the command) sweeps the staging folder and says so
    assert main(["weekly", "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"removed {left[0]}" in err and "killed run" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"] and visible(out) == [REPORT]


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def test_sweep_restores_a_report_an_older_version_moved_aside(tmp_path):
    """The old final step moved last week's report into its staging folder before moving the new one in;
    killed in between, the folder had no report and the next run deleted it. Now the sweep puts it back."""
    out = tmp_path / "out"
    stale = out / ".xladdin-weekly-999999999-abcdefgh"
    stale.mkdir(parents=True)
    (stale / f"{REPORT}.previous").write_bytes(b"last week")
    lines = []
    assert jobs.sweep_stale_staging(out, notice=lines.append) == [stale]
    assert (out / REPORT).read_bytes() == b"last week" and not stale.exists()
    assert any("restored" in ln for ln in lines) and any("removed" in ln for ln in lines)


def test_sweep_keeps_live_and_foreign_staging(tmp_path):
    out = tmp_path
    mine_live = out / f".xladdin-weekly-{os.getppid()}-h{fileguard.host_tag()}-aaaaaaaa"
    foreign = out / ".xladdin-weekly-999999999-h00000000-bbbbbbbb"  # another host: pid cannot be checked
    dead = out / f".xladdin-weekly-999999999-h{fileguard.host_tag()}-cccccccc"
    reused = out / f".xladdin-weekly-{os.getpid()}-h{fileguard.host_tag()}-dddddddd"  # pid reused (containers)
    for p in (mine_live, foreign, dead, reused):
        p.mkdir()
    assert sorted(jobs.sweep_stale_staging(out)) == sorted([dead, reused])
    assert mine_live.exists() and foreign.exists()
    old = time.time() - fileguard.STALE_AFTER - 60
    os.utime(foreign, (old, old))
    assert jobs.sweep_stale_staging(out) == [foreign]
    # a folder newer than the run start is never touched (another run may have just made it)
    newer = out / ".xladdin-weekly-999999999-h00000000-eeeeeeee"
    newer.mkdir()
    assert jobs.sweep_stale_staging(out, before=time.time() - 60) == []


# ================================================================ SMTP: --timeout bounds each whole exchange
class DripServer:
    """A real TCP server on 127.0.0.1 that drips a reply and records when the client hangs up.

    mode ``greeting``: ``220-`` lines every ``interval`` s (``count`` of them, then it closes);
    ``ehlo``: a normal greeting, then ``250-`` lines to EHLO; ``bytes``: the greeting one byte at a time,
    never ending the line. ``hangups``: lines (or bytes) sent when the client closed, per connection.
    """

    def __init__(self, mode: str, interval: float = 0.05, count: int = 120):
        self.mode, self.interval, self.count = mode, interval, count
        self.hangups: list[int] = []
        self.finished = 0  # connections where the server got to the end of its drip
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _client_gone(self, conn) -> bool:
        r, _, _ = select.select([conn], [], [], 0)
        if not r:
            return False
        try:
            return conn.recv(1024) == b""
        except OSError:
            return True

    def _drip(self, conn):
        with conn:
            if self.mode == "ehlo":
                conn.sendall(b"220 drip.example ESMTP\r\n")
                conn.settimeout(5)
                try:
                    conn.recv(1024)  # EHLO
                except OSError:
                    return
            unit = {"greeting": b"220-still greeting you\r\n", "ehlo": b"250-still answering EHLO\r\n",
                    "bytes": b"2"}[self.mode]
            for i in range(self.count):
                if self._client_gone(conn):
                    self.hangups.append(i)
                    return
                try:
                    conn.sendall(unit)
                except OSError:
                    self.hangups.append(i)
                    return
                time.sleep(self.interval)
            self.finished += 1

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def drip():
    servers = []

    def start(mode, **kw):
        s = DripServer(mode, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def plain_report(tmp_path) -> Path:
    from xladdin.workbook.summary import WeeklySummary, write_summary_sheet
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    write_summary_sheet(wb, WeeklySummary(asof="2026-01-30", headlines=["x"]))
    p = tmp_path / "r.xlsx"
    wb.save(p)
    return p


@pytest.mark.parametrize("mode", ["greeting", "ehlo", "bytes"])
def test_timeout_bounds_a_dripping_server(drip, plain_report, mode):
    """Each line (or byte) arrives well within the timeout, but the reply never completes: the client
    gives up after --timeout (the server sees it hang up half-way through its drip) and says why."""
    from xladdin.ops.config import SmtpSettings
    from xladdin.ops.mail import MailError, build_message, send_message
    srv = drip(mode)
    msg = build_message(plain_report, None, to=["pm@example.com"], sender="bot@example.com")
    t0 = time.monotonic()
    with pytest.raises(MailError) as err:
        send_message(msg, SmtpSettings(host="127.0.0.1", port=srv.port, security="none", timeout=0.5), None,
                     retries=0)
    elapsed = time.monotonic() - t0
    assert "did not answer within 0.5 s" in str(err.value) and err.value.kind == "transient"
    deadline = time.monotonic() + 5
    while not srv.hangups and time.monotonic() < deadline:  # the server notices at its next drip
        time.sleep(0.02)
    assert srv.finished == 0 and len(srv.hangups) == 1 and srv.hangups[0] < srv.count
    print(f"{mode}: gave up after {elapsed:.2f} s; the server had sent {srv.hangups[0]} of {srv.count} units")


def test_send_command_with_timeout_against_an_endless_greeting(drip, plain_report, capsys):
    """The issue's case: `send --timeout S --retries 0` against an endless 220- greeting ends, exit 1."""
    srv = drip("greeting")
    rc = main(["send", str(plain_report), "--to", "pm@example.com", "--from", "bot@example.com",
               "--smtp-host", "127.0.0.1", "--smtp-port", str(srv.port), "--no-tls",
               "--timeout", "0.5", "--retries", "1", "--backoff", "0"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert "gave up after 2 attempt(s)" in err and "did not answer within 0.5 s" in err
    assert srv.finished == 0


# ================================================================ every failure path: a message, never a traceback
@pytest.fixture(scope="module")
def template_file(tmp_path_factory, workbook_inputs):
    """A macro workbook built once (compute stood in by the cached sample result)."""
    from xladdin.workbook.template import build_template
    with pytest.MonkeyPatch.context() as mp:
        workbook_inputs.patch_compute(mp)
        out = tmp_path_factory.mktemp("tpl") / "weekly_ft.xlsm"
        build_template(out, market=None)
    return out


@pytest.fixture
def workbook(template_file, tmp_path):
    p = tmp_path / "wb" / template_file.name
    p.parent.mkdir()
    p.write_bytes(template_file.read_bytes())
    return p


@pytest.fixture(scope="module")
def data_dir(market, tmp_path_factory):
    from xladdin.data import write_market
    d = tmp_path_factory.mktemp("data")
    write_market(market, d, "csv")
    return d


def set_param(path: Path, key: str, value) -> None:
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb["参数"]
    for row in ws.iter_rows(min_row=6, min_col=2, max_col=3):
        if row[0].value == key:
            row[1].value = value
    wb.save(path)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file (hidden ones too) under ``folder`` -> sha256, with its mode."""
    return {str(p.relative_to(folder)): f"{sha(p)} {p.stat().st_mode:o}" for p in sorted(folder.rglob("*"))
            if p.is_file()}


UNCHANGED = ("was not changed", "was not created", "nothing was sent", "Nothing was delivered")


def check_failure(capsys, command: str, argv: list[str], expect: str, watch: Path) -> str:
    """Run ``xladdin <argv>``: exit 1, no traceback, each stderr line a message of the command (plus
    the data problems listed under a validation message), the error says ``expect`` and what was left
    unchanged, and the folder ``watch`` holds exactly what it held before."""
    before = snapshot(watch)
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and all(ln.startswith(f"xladdin {command}: ") or ln.startswith("  ") for ln in lines), err
    assert lines[0].startswith(f"xladdin {command}: error: "), err
    assert expect in err, err
    assert any(u in err for u in UNCHANGED), err
    assert snapshot(watch) == before
    return err


@pytest.mark.slow
def test_refresh_failures_are_messages(workbook, data_dir, tmp_path, capsys, monkeypatch):
    d = workbook.parent
    fail = lambda argv, expect: check_failure(capsys, "refresh", ["refresh", *argv, "--no-progress"], expect, d)  # noqa: E731
    fail([str(d / "missing.xlsm")], "not found")
    fail([str(d)], "not found")  # a folder is not a workbook
    (d / "corrupt.xlsm").write_bytes(b"PK\x03\x04 not really a zip")
    fail([str(d / "corrupt.xlsm")], "step `opening workbook`")
    plain = d / "plain.xlsx"
    openpyxl.Workbook().save(plain)
    fail([str(plain)], "no parameters sheet")
    fail([str(workbook), "--data", str(tmp_path / "nowhere")], "step `loading data`")
    fail([str(workbook), "--asof", "notadate"], "step `reading parameters`")
    fail([str(workbook), "--data", str(data_dir), "--asof", "2030-01-02"], "2030-01-02")
    set_param(workbook, "corr_window", "abc")
    fail([str(workbook)], "corr_window")
    set_param(workbook, "corr_window", 20)
    # read-only workbook (chmod 0444): refused, content and mode kept
    workbook.chmod(0o444)
    err = fail([str(workbook), "--data", str(data_dir)], "step `checking the workbook`")
    assert "read-only (mode 0444)" in err and "was not changed" in err
    workbook.chmod(0o644)
    # read-only folder
    d.chmod(0o555)
    try:
        err = fail([str(workbook), "--data", str(data_dir)], "read-only (mode 0555)")
    finally:
        d.chmod(0o755)
    # another refresh of the same workbook is running (a live process holds the lock)
    from xladdin.fileguard import host_tag, lock_path
    lock = lock_path(workbook)
    lock.write_text(f'{{"pid": {os.getppid()}, "host": "here", "host_tag": "{host_tag()}", '
                    '"started": "2026-10-30T09:00:00"}', encoding="utf-8")
    err = fail([str(workbook), "--data", str(data_dir)], f"being refreshed by process {os.getppid()} on here")
    assert "step `locking`" in err and str(lock) in err
    lock.unlink()


def test_refresh_in_a_subprocess_prints_no_traceback(tmp_path):
    """The real command line, as a user runs it: a corrupt workbook (the issue's first case)."""
    import subprocess
    bad = tmp_path / "bad.xlsm"
    bad.write_bytes(b"junk")
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "xladdin", "refresh", str(bad), "--no-progress"],
                       capture_output=True, text=True, cwd=root, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [f"xladdin refresh: error: refresh failed at step `opening workbook` ({bad}): "
                                     "bad.xlsm: not an .xlsx workbook (no zip container); save it as .xlsx or "
                                     "export CSV; the workbook was not changed"]
    assert bad.read_bytes() == b"junk"


def test_send_failures_are_messages(plain_report, tmp_path, capsys, monkeypatch):
    d = plain_report.parent
    base = ["send", str(plain_report), "--from", "bot@example.com"]
    fail = lambda argv, expect: check_failure(capsys, "send", argv, expect, d)  # noqa: E731
    fail(["send", str(d / "missing.xlsx"), "--to", "a@example.com", "--dry-run"], "not found")
    (d / "data.csv").write_text("a,b\n", encoding="utf-8")
    fail(["send", str(d / "data.csv"), "--to", "a@example.com", "--dry-run"], "must be an .xlsx/.xlsm")
    (d / "corrupt.xlsx").write_bytes(b"junk")
    fail(["send", str(d / "corrupt.xlsx"), "--to", "a@example.com", "--from", "b@example.com", "--dry-run"],
         "corrupt.xlsx")
    fail([*base, "--dry-run"], "no recipients")
    fail([*base, "--to", "@nolist", "--dry-run"], "unknown recipient list `@nolist`")
    fail([*base, "--to", "report.xlsx", "--dry-run"], "not an e-mail address")
    fail(["send", str(plain_report), "--to", "a@example.com", "--dry-run"], "no sender")
    for subject, expect in [("{asof.x}", "placeholder {asof.x} is not allowed"),
                            ("{asof:>999999999999}", "placeholder {asof:>999999999999} is not allowed"),
                            ("{foo} {asof}", "placeholder {foo} is not allowed"),
                            ("{0}", "placeholder {0} is not allowed"),
                            ("周报 {asof", "expected '}' before end of string"),
                            ("x\r\nBcc: evil@example.com", "must be one line")]:
        fail([*base, "--to", "a@example.com", "--subject", subject, "--dry-run"], expect)
    assert not list(d.glob("*.eml"))  # no dry-run message was written by any of them
    fail([*base, "--to", "a@example.com", "--config", str(tmp_path / "none.toml")], "config file")
    bad_cfg = tmp_path / "bad.toml"
    bad_cfg.write_text("[smtp\nhost = 1\n", encoding="utf-8")
    fail([*base, "--to", "a@example.com", "--config", str(bad_cfg)], "not valid TOML")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[smtp]\nhost = "127.0.0.1"\nport = 2525\nuser = "bot"\n[send]\nsubject = "{asof!r}"\n',
                   encoding="utf-8")
    fail([*base, "--to", "a@example.com", "--config", str(cfg)], "[send] subject `{asof!r}`")
    cfg.write_text('[smtp]\nhost = "127.0.0.1"\nport = 2525\nuser = "bot"\n', encoding="utf-8")
    fail([*base, "--to", "a@example.com", "--config", str(cfg)], "XLADDIN_SMTP_PASSWORD")
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()
    fail([*base, "--to", "a@example.com", "--smtp-host", "127.0.0.1", "--smtp-port", str(free), "--no-tls",
          "--retries", "0"], "connection refused")
    fail([*base, "--to", "a@example.com", "--smtp-host", "127.0.0.1", "--timeout", "0"], "timeout")
    fail([*base, "--to", "a@example.com", "--smtp-host", "127.0.0.1", "--retries", "-1"], "retries")
    (d / "eml_dir").mkdir()
    fail([*base, "--to", "a@example.com", "--dry-run", "--eml", str(d / "eml_dir")], "eml_dir")


def test_send_that_went_out_is_never_reported_as_not_sent(plain_report, tmp_path, capsys):
    """Sent, but the .eml copy cannot be written: the message says who got the mail (not "nothing was sent")."""
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    class Sink:
        messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope.rcpt_tos)
            return "250 OK"

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ctl = Controller(Sink(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        (tmp_path / "copy.eml").mkdir()  # the copy's path is a folder: writing it fails after sending
        rc = main(["send", str(plain_report), "--to", "pm@example.com", "--from", "bot@example.com",
                   "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--no-tls", "--eml",
                   str(tmp_path / "copy.eml")])
    finally:
        ctl.stop()
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and Sink.messages == [["pm@example.com"]]
    assert "the mail was sent to pm@example.com" in err and "do not send it again" in err
    assert "nothing was sent" not in err.lower()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["report", "template"])
def test_report_and_template_failures_are_messages(data_dir, tmp_path, capsys, monkeypatch, command, workbook_inputs):
    workbook_inputs.patch_compute(monkeypatch)
    d = tmp_path / "out"
    d.mkdir()
    suffix, wrong = (".xlsx", ".xlsm") if command == "report" else (".xlsm", ".xlsx")
    out = d / f"w{suffix}"

    def fail(argv, expect):
        return check_failure(capsys, command, [command, *argv, "--no-progress"], expect, d)

    fail([str(d / f"w{wrong}")], "must end in")
    fail([str(out), "--set", "top_n=0"], "top_n")
    fail([str(out), "--set", "top_n"], "use KEY=VALUE")
    fail([str(out), "--set", "no_such_key=1"], "no_such_key")
    fail([str(out), "--asof", "notadate"], "notadate")
    fail([str(out), "--data", str(tmp_path / "nowhere")], "nowhere")
    out.write_bytes(b"last week's file")
    out.chmod(0o444)
    fail([str(out), "--data", str(data_dir)], "read-only (mode 0444)")
    out.chmod(0o644)
    d.chmod(0o555)
    try:
        fail([str(out), "--data", str(data_dir)], "read-only (mode 0555)")
    finally:
        d.chmod(0o755)
    (d / f"folder{suffix}").mkdir()
    fail([str(d / f"folder{suffix}"), "--data", str(data_dir)], f"folder{suffix}")
    if command == "template":
        fail([str(d / "1bad.xlsm")], "Python module name")
        return
    bad = tmp_path / "bad"
    bad.mkdir()
    for p in data_dir.iterdir():
        (bad / p.name).write_bytes(p.read_bytes())
    import pandas as pd
    df = pd.read_csv(bad / "etf_daily.csv", dtype=str)
    df.loc[2, "nav"] = "abc"
    df.to_csv(bad / "etf_daily.csv", index=False)
    err = fail([str(out), "--data", str(bad)], "etf_daily.csv row 4 column `nav`")
    assert "problem(s) in the data" in err


@pytest.mark.slow
def test_weekly_failures_are_messages(data_dir, tmp_path, capsys, monkeypatch, workbook_inputs):
    workbook_inputs.patch_compute(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    (out / REPORT).write_bytes(b"last week's report")
    base = ["weekly", "--out", str(out), "--data", str(data_dir), "--no-progress"]
    fail = lambda argv, expect: check_failure(capsys, "weekly", argv, expect, tmp_path)  # noqa: E731
    p = tmp_path / "p.toml"
    p.write_text("no_such_key = 1\n", encoding="utf-8")
    fail([*base, "--params", str(p)], "no_such_key")
    (tmp_path / "p.xlsx").write_bytes(b"junk")
    fail([*base, "--params", str(tmp_path / "p.xlsx")], "not an .xlsx workbook")
    fail([*base, "--params", str(tmp_path / "none.toml")], "not found")
    fail([*base, "--set", "top_n=0"], "top_n")
    fail(["weekly", "--out", str(out), "--data", str(tmp_path / "nowhere"), "--no-progress"], "step `load`")
    fail([*base, "--asof", "2030-01-02"], "step `validate`")
    fail(["weekly", "--out", str(out / REPORT), "--data", str(data_dir), "--no-progress"], "not a folder")
    fail([*base, "--dry-run", "--to", "a@example.com", "--from", "b@example.com", "--subject", "{asof.x}"],
         "placeholder {asof.x} is not allowed")
    fail([*base, "--send", "--to", "a@example.com", "--from", "b@example.com", "--smtp-host", "127.0.0.1",
          "--smtp-port", "1", "--no-tls", "--retries", "0"], "step `send`")
    (out / REPORT).chmod(0o444)
    fail(base, "step `commit`")
    (out / REPORT).chmod(0o644)
    out.chmod(0o555)
    try:
        fail(base, "read-only (mode 0555)")
    finally:
        out.chmod(0o755)
    assert [p.name for p in out.iterdir()] == [REPORT]  # no staging folder left by any of them
    # the report is written, but the timings file cannot be: a message says the report is there
    rc = main([*base, "--timings-json", str(p / "t.json")])  # p is a file: no folder can be made there
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and "--timings-json" in err and f"{out / REPORT} was written" in err


def test_unexpected_errors_still_end_in_a_message(monkeypatch, capsys, tmp_path):
    """A bug that escapes a command (here a TypeError) is one line, unless XLADDIN_DEBUG asks for more."""
    import xladdin.ops.commands.validate as V

    def broken(args):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(V, "run", broken)  # register() binds the module's run when the parser is built
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("xladdin validate: error: TypeError: unsupported operand") and "Traceback" not in err
    assert len(err.splitlines()) == 1
    monkeypatch.setenv("XLADDIN_DEBUG", "1")
    with pytest.raises(TypeError):
        main(["validate", str(tmp_path)])


# ================================================================ refresh: lock, leftovers of killed refreshes
REFRESH_OPS = [("temp created", "old"), ("fsync temp", "old"), ("replace", "old"), ("fsync folder", "new"),
               ("unlock", "new")]


def sheet_language(path: Path) -> str:
    wb = openpyxl.load_workbook(path, read_only=True, keep_vba=True)
    try:
        return "en" if wb.sheetnames[0] == "Cover" else "zh"
    finally:
        wb.close()


def vba(path: Path) -> bytes:
    import zipfile
    with zipfile.ZipFile(path) as z:
        return z.read("xl/vbaProject.bin")


@pytest.mark.slow
@needs_fork
def test_refresh_file_operations(workbook, monkeypatch, workbook_inputs):
    from xladdin.workbook.template import refresh_workbook
    workbook_inputs.patch_compute(monkeypatch)
    status, ops = run_killed_at(10**6, lambda: refresh_workbook(workbook, market=object(), language="en"))
    assert status == 0 and ops == [op for op, _ in REFRESH_OPS]
    assert sheet_language(workbook) == "en" and sorted(p.name for p in workbook.parent.iterdir()) == [workbook.name]


@pytest.mark.slow
@needs_fork
@pytest.mark.parametrize("k", range(len(REFRESH_OPS)), ids=[op for op, _ in REFRESH_OPS])
def test_refresh_killed_at_each_file_operation(workbook, monkeypatch, capsys, k, workbook_inputs):
    """Killed (SIGKILL) just before each file operation of its save, the refresh leaves the workbook
    byte-identical or fully refreshed; the next refresh takes over the stale lock, removes the temporary
    file, says so, and succeeds."""
    from xladdin.fileguard import lock_path
    from xladdin.workbook.template import refresh_workbook
    workbook_inputs.patch_compute(monkeypatch)
    before, code = workbook.read_bytes(), vba(workbook)
    status, seen = run_killed_at(k, lambda: refresh_workbook(workbook, market=object(), language="en"))
    assert killed(status) and seen == [op for op, _ in REFRESH_OPS[:k + 1]]
    if REFRESH_OPS[k][1] == "old":
        assert workbook.read_bytes() == before
    else:
        assert sheet_language(workbook) == "en" and vba(workbook) == code
    left = sorted(p.name for p in workbook.parent.iterdir() if p.name != workbook.name)
    temps = [n for n in left if ".tmp." in n]
    assert lock_path(workbook).name in left and len(temps) == (1 if REFRESH_OPS[k][1] == "old" else 0)
    assert main(["refresh", str(workbook), "--language", "zh", "--no-progress"]) == 0
    cap = capsys.readouterr()
    assert f"refreshed {workbook}" in cap.out
    assert f"took over the stale lock {lock_path(workbook).name} left by process" in cap.err
    for t in temps:
        assert f"removed {t} (temporary file left by a killed refresh)" in cap.err
    assert sorted(p.name for p in workbook.parent.iterdir()) == [workbook.name]
    assert sheet_language(workbook) == "zh" and vba(workbook) == code


@pytest.mark.slow
@needs_fork
def test_second_refresh_fails_clearly_or_waits(workbook, monkeypatch, capsys, tmp_path, workbook_inputs):
    """Two refreshes of one workbook: while the first (another process) holds the lock, the second fails
    with a message naming it and changes nothing; with ``wait`` it runs after the first, and both results
    land in order (none is lost)."""
    import xladdin.workbook.weekly as W
    from xladdin.fileguard import lock_path
    from xladdin.workbook.template import refresh_workbook
    go = tmp_path / "go"
    real_fake = workbook_inputs.patch_compute(monkeypatch)

    def slow(market, params=None, asof=None, progress=None):
        end = time.monotonic() + 15
        while not go.exists() and time.monotonic() < end:
            time.sleep(0.02)
        return real_fake(market, params, asof, progress)

    monkeypatch.setattr(W, "compute_weekly", slow)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            refresh_workbook(workbook, market=object(), language="en")
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    try:
        end = time.monotonic() + 10
        while not lock_path(workbook).exists() and time.monotonic() < end:
            time.sleep(0.02)
        before = workbook.read_bytes()
        monkeypatch.setattr(W, "compute_weekly", real_fake)
        rc = main(["refresh", str(workbook), "--language", "zh", "--no-progress"])
        err = capsys.readouterr().err
        assert rc == 1 and f"being refreshed by process {pid} on " in err and "was not changed" in err
        assert workbook.read_bytes() == before
        go.touch()  # let the first refresh finish; the second waits for it, then runs
        notes = []
        refresh_workbook(workbook, market=object(), language="zh", wait=15, notice=notes.append)
    finally:
        go.touch()
        _, status = os.waitpid(pid, 0)
    assert status == 0 and notes == []
    assert sheet_language(workbook) == "zh" and not lock_path(workbook).exists()


@pytest.mark.slow
def test_stale_lock_of_a_dead_process_is_taken_over(workbook, monkeypatch, workbook_inputs):
    from xladdin.fileguard import host_tag, lock_path
    from xladdin.workbook.template import refresh_workbook
    workbook_inputs.patch_compute(monkeypatch)
    lock = lock_path(workbook)
    lock.write_text(f'{{"pid": 999999999, "host": "here", "host_tag": "{host_tag()}", '
                    '"started": "2026-10-30T09:00:00"}', encoding="utf-8")
    notes = []
    refresh_workbook(workbook, market=object(), notice=notes.append)
    assert notes == [f"took over the stale lock {lock.name} left by process 999999999 on here since "
                     "2026-10-30T09:00:00, which is gone"]
    assert not lock.exists()
    # another host's lock cannot be checked: respected until it is older than STALE_AFTER
    lock.write_text('{"pid": 1, "host": "far", "host_tag": "00000000", "started": "x"}', encoding="utf-8")
    from xladdin.workbook.template import RefreshError
    with pytest.raises(RefreshError, match="being refreshed by process 1 on far"):
        refresh_workbook(workbook, market=object())
    old = time.time() - fileguard.STALE_AFTER - 60
    os.utime(lock, (old, old))
    refresh_workbook(workbook, market=object())
    assert not lock.exists()
    # a lock with this very pid that this process does not hold: an earlier process (pid 1 in every
    # container) was killed holding it
    lock.write_text(f'{{"pid": {os.getpid()}, "host": "here", "host_tag": "{host_tag()}", "started": "x", '
                    '"token": "t"}', encoding="utf-8")
    refresh_workbook(workbook, market=object())
    assert not lock.exists()


def test_template_and_report_refuse_a_read_only_file(tmp_path, monkeypatch):
    """atomic_target, which every workbook writer uses, respects a read-only target."""
    from xladdin.fileguard import atomic_target
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"keep")
    p.chmod(0o444)
    with pytest.raises(PermissionError, match="read-only"):
        with atomic_target(p) as tmp:
            tmp.write_bytes(b"new")
    assert p.read_bytes() == b"keep" and sorted(q.name for q in tmp_path.iterdir()) == ["x.xlsx"]
