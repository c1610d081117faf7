"""``xladdin weekly`` / :func:`xladdin.ops.jobs.run_weekly`: end to end, all-or-nothing output, mail.

One real run on the embedded sample (module fixture) checks the whole chain; the other tests reuse
that run's :class:`~xladdin.workbook.weekly.WeeklyResult` through a stand-in ``compute_weekly`` (rendering,
saving, sending, staging and rollback stay real) on a one-year cut of the sample written as CSV, so
the file stays fast. Mail goes to a real aiosmtpd server on 127.0.0.1.
"""
from __future__ import annotations

import dataclasses
import email
import hashlib
import os
from email import policy
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from _net import free_port  # noqa: E402

from xladdin.ops import jobs
from xladdin.ops.cli import main
from xladdin.workbook import weekly

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # aiosmtpd's Session.login_data

REPORT = "xladdin_weekly_2026-10-30.xlsx"


# ---------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def isolated_env(isolated_mail_env):
    """No user config, no password from the developer's environment (tests/conftest.py)."""


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """``xladdin weekly --out DIR --timings`` on the embedded sample, once; captures the WeeklyResult."""
    out = tmp_path_factory.mktemp("real") / "out"
    captured = {}
    original = weekly.compute_weekly

    def spy(*a, **kw):
        captured["result"] = original(*a, **kw)
        return captured["result"]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(weekly, "compute_weekly", spy)
        import contextlib
        import io
        buf, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
            rc = main(["weekly", "--out", str(out), "--timings", "--no-progress",
                       "--timings-json", str(out.parent / "timings.json")])
    return {"rc": rc, "out": out, "json": out.parent / "timings.json", "stdout": buf.getvalue(), "stderr": err.getvalue(), "result": captured["result"]}


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    """The sample's 2026 data as canonical CSV files (loads and validates in about a second)."""
    from xladdin.data import write_market
    from xladdin.data.sample import sample_market
    d = tmp_path_factory.mktemp("data")
    write_market(sample_market().subset("2026-01-01", None), d, "csv")
    return d


@pytest.fixture
def fake_compute(real_run, monkeypatch):
    """compute_weekly returning the real run's result (and reporting each table group as done)."""
    calls = []

    def fake(market, params=None, asof=None, progress=None):
        calls.append(asof)
        for step in weekly.STEPS:
            if progress:
                progress(step.name)
        return dataclasses.replace(real_run["result"], step_seconds={})  # nothing computed here

    monkeypatch.setattr(weekly, "compute_weekly", fake)
    return calls


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file and folder (hidden ones included) under ``folder``."""
    out = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


@pytest.fixture
def previous_out(tmp_path, real_run):
    """An --out folder holding last run's report (same date) and an unrelated file."""
    out = tmp_path / "out"
    out.mkdir()
    (out / REPORT).write_bytes((real_run["out"] / REPORT).read_bytes())
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    return out


class Handler:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller
    handler = Handler()
    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    yield handler, port
    ctl.stop()


# ---------------------------------------------------------------- end to end
@pytest.mark.slow
def test_end_to_end_on_the_sample(real_run):
    assert real_run["rc"] == 0, real_run["stderr"]
    out = real_run["out"]
    assert sorted(p.name for p in out.iterdir()) == [REPORT]  # no staging folder, no temp file
    assert f"wrote {out / REPORT} (as of 2026-10-30)" in real_run["stdout"]
    wb = openpyxl.load_workbook(out / REPORT)
    assert wb.sheetnames[0] == "封面" and "_summary" in wb.sheetnames
    assert wb["_summary"].sheet_state == "hidden"
    assert all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    # every table of the week was computed, and the report's summary is the one computed
    res = real_run["result"]
    assert res.notes == {} and all(v is not None for v in res.tables.values())
    from xladdin.workbook.summary import summary_from_report
    assert summary_from_report(out / REPORT).asof == res.summary.asof
    # --timings: one line per step, the slowest one named, its seconds the largest
    text = real_run["stdout"]
    lines = {ln.split()[0]: float(ln.split()[1]) for ln in text.splitlines()
             if ln.split() and ln.split()[0] in ("load", "validate", "compute", "write", "commit")}
    assert set(lines) == {"load", "validate", "compute", "write", "commit"}
    slow = max(lines, key=lines.get)
    assert f"slowest step: {slow} (" in text and "peak memory" in text
    import json
    info = json.loads(real_run["json"].read_text(encoding="utf-8"))
    assert info["asof"] == "2026-10-30" and info["slowest"]["step"] == slow
    assert list(info["steps"]) == ["load", "validate", "compute", "write", "commit"]
    assert all(abs(info["steps"][k] - v) < 0.006 for k, v in lines.items())  # printed with 2 decimals
    assert info["units"]["load"] == {"embedded sample": pytest.approx(info["steps"]["load"], abs=0.05)}
    assert info["peak_rss_mb"] > 50 and info["rows"]["etf_daily"] > 1000


@pytest.mark.slow
def test_run_weekly_api_timings_and_units(fake_compute, small_dir, tmp_path):
    seen = []
    job = jobs.run_weekly(small_dir, tmp_path / "o", progress=lambda s, u: seen.append((s, u)))
    assert job.report == tmp_path / "o" / REPORT and job.report.is_file()
    assert job.asof == pd.Timestamp("2026-10-30") and fake_compute == [pd.Timestamp("2026-10-30")]
    assert list(job.timings) == ["load", "validate", "compute", "write", "commit"]
    assert all(t >= 0 for t in job.timings.values())
    assert job.total == pytest.approx(sum(job.timings.values()))
    # units: one per table file read/validated, one per table group, one per sheet + save
    assert set(job.units["load"]) == set(job.rows) and set(job.units["validate"]) == set(job.rows)
    assert list(job.units["compute"]) == [s.name for s in weekly.STEPS]
    from xladdin.workbook.layout import load_layout
    assert list(job.units["write"]) == [s.key for s in load_layout().sheets] + ["save"]
    # a step's units add up to at most the step (the rest is overhead between units); the compute units
    # are each table group's own time (two run at once): each at most the step
    for step in ("load", "validate", "write"):
        assert sum(job.units[step].values()) <= job.timings[step] + 1e-6
    assert max(job.units["compute"].values()) <= job.timings["compute"] + 1e-6
    # progress: a start call per step and exactly total_units() unit calls
    assert [s for s, u in seen if u is None] == ["load", "validate", "compute", "write", "commit"]
    assert sum(u is not None for _, u in seen) == jobs.total_units(send=False)
    frame = job.timing_frame()
    assert list(frame["step"]) == list(job.timings) and frame["share"].sum() == pytest.approx(1.0)
    assert job.slowest[0] == frame.loc[frame["seconds"].idxmax(), "step"]
    assert job.peak_rss_mb > 50
    # peak memory after each step: one value per step, never decreasing, the last one the job's peak
    mem = list(job.memory.values())
    assert list(job.memory) == list(job.timings) and mem == sorted(mem) and mem[-1] <= job.peak_rss_mb


def test_split_loader_matches_load_market(small_dir):
    from xladdin.data import load_market
    ref = load_market(small_dir)
    raws = jobs._read_raw(small_dir, lambda name: None)
    got = jobs._type_and_check(raws, str(small_dir), lambda name: None)
    assert set(got.tables) == set(ref.tables) and got.source == ref.source
    for name in ref.tables:
        # equal to load_market but for the columns no weekly table reads, which the job skips
        expected = ref.tables[name].drop(columns=list(jobs.UNUSED_COLUMNS.get(name, ())))
        pd.testing.assert_frame_equal(got.tables[name], expected)
    assert "float_mcap" not in got.tables["stock_daily"] and "financing_repay" not in got.tables["margin_daily"]


@pytest.mark.slow
def test_split_loader_sorts_files_in_another_order(small_dir, tmp_path):
    """Files ordered entity by entity (dates ascending within each) load as load_market loads them."""
    from xladdin.data import load_market
    from xladdin.data.schema import TABLES
    d = tmp_path / "reordered"
    d.mkdir()
    for p in small_dir.glob("*.csv"):
        spec = TABLES[p.stem]
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        ent = [c for c in spec.key if c != spec.sorted_by] + ([spec.sorted_by] if spec.sorted_by else [])
        df.sort_values(ent, ascending=[False] * (len(ent) - 1) + [True], kind="stable").to_csv(d / p.name, index=False)
    ref = load_market(d)
    got = jobs._type_and_check(jobs._read_raw(d, lambda name: None), str(d), lambda name: None)
    for name in ref.tables:
        expected = ref.tables[name].drop(columns=list(jobs.UNUSED_COLUMNS.get(name, ())))
        pd.testing.assert_frame_equal(got.tables[name], expected)
    assert not pd.read_csv(d / "etf_daily.csv")["date"].is_monotonic_increasing  # the files really were reordered


# ---------------------------------------------------------------- failures leave --out unchanged
def test_compute_failure_names_the_table_and_leaves_out_unchanged(small_dir, previous_out, monkeypatch, capsys):
    def boom(ctx):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(weekly, "STEPS", [weekly.Step("style", ("style_signals",), boom)])
    before = snapshot(previous_out)
    rc = main(["weekly", "--data", str(small_dir), "--out", str(previous_out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "step `compute` (table `style_signals`) failed" in err and "injected failure" in err
    assert f"{previous_out} was not changed" in err
    assert snapshot(previous_out) == before  # byte-identical report, nothing added


def test_write_failure_names_the_step(fake_compute, small_dir, previous_out, monkeypatch, capsys):
    import xladdin.workbook.report as report

    def broken(wb):
        raise OSError("disk full (injected)")

    monkeypatch.setattr(report, "sanitise_workbook", broken)
    before = snapshot(previous_out)
    rc = main(["weekly", "--data", str(small_dir), "--out", str(previous_out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "step `write`" in err and "disk full (injected)" in err
    assert snapshot(previous_out) == before


def test_bad_data_fails_in_validate_with_file_and_row(small_dir, tmp_path, previous_out, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    for p in small_dir.iterdir():
        (bad / p.name).write_bytes(p.read_bytes())
    df = pd.read_csv(bad / "etf_daily.csv", dtype=str)
    df.loc[2, "nav"] = "abc"
    df.to_csv(bad / "etf_daily.csv", index=False)
    before = snapshot(previous_out)
    rc = main(["weekly", "--data", str(bad), "--out", str(previous_out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "step `validate` failed" in err
    assert "etf_daily.csv row 4 column `nav`: `abc` is not a number" in err
    assert snapshot(previous_out) == before


def test_missing_data_dir_fails_in_load_and_new_out_is_not_created(tmp_path, capsys):
    out = tmp_path / "new" / "deeper"
    rc = main(["weekly", "--data", str(tmp_path / "nowhere"), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "step `load` failed" in err and "does not exist" in err
    assert not (tmp_path / "new").exists()


def test_asof_after_the_data_fails_in_validate(small_dir, tmp_path, capsys):
    rc = main(["weekly", "--data", str(small_dir), "--out", str(tmp_path / "o"), "--asof", "2030-01-02",
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "step `validate` failed" in err and "after the last ETF date 2026-10-30" in err
    assert not (tmp_path / "o").exists()


def test_interrupt_leaves_out_unchanged(small_dir, previous_out, monkeypatch, capsys):
    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(weekly, "compute_weekly", interrupted)
    before = snapshot(previous_out)
    rc = main(["weekly", "--data", str(small_dir), "--out", str(previous_out), "--no-progress"])
    assert rc == 130 and "was not changed" in capsys.readouterr().err
    assert snapshot(previous_out) == before


def test_success_replaces_the_report_and_keeps_other_files(fake_compute, small_dir, previous_out):
    old = (previous_out / REPORT).stat().st_ino
    stale = previous_out / ".xladdin-weekly-999999999-abcd"  # left by a killed run (no such process)
    stale.mkdir()
    (stale / REPORT).write_bytes(b"half written")
    live = previous_out / f".xladdin-weekly-{os.getppid()}-efgh"  # a run still going: not touched
    live.mkdir()
    assert main(["weekly", "--data", str(small_dir), "--out", str(previous_out), "--no-progress"]) == 0
    names = sorted(p.name for p in previous_out.iterdir())
    assert names == sorted([REPORT, "notes.txt", live.name])
    assert (previous_out / REPORT).stat().st_ino != old  # replaced by rename, not rewritten in place
    assert (previous_out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    openpyxl.load_workbook(previous_out / REPORT)  # a complete workbook


# ---------------------------------------------------------------- parameters
@pytest.mark.slow
def test_params_file_toml_csv_and_workbook(real_run, tmp_path):
    from xladdin.workbook.params import ParamError, default_params
    t = tmp_path / "p.toml"
    t.write_text('[params]\ntop_n = 4\nlanguage = "en"\nevent_horizons = [5, 10]\n', encoding="utf-8")
    p = jobs.read_params_file(t)
    assert (p.top_n, p.language, p.event_horizons, p.groups) == (4, "en", (5, 10), 5)
    t.write_text('top_n = 0\n', encoding="utf-8")
    with pytest.raises(ParamError, match="top_n.*>= 1"):
        jobs.read_params_file(t)
    c = tmp_path / "p.csv"
    c.write_text("key,value\ncorr_window,30\n", encoding="utf-8")
    assert jobs.read_params_file(c).corr_window == 30
    # the parameters sheet of the report written by the real run: the defaults
    assert jobs.read_params_file(real_run["out"] / REPORT).as_dict() == default_params().as_dict()
    j = tmp_path / "x.json"
    j.write_text("{}", encoding="utf-8")
    with pytest.raises(ParamError, match=r"\.toml, \.xlsx"):
        jobs.read_params_file(j)
    with pytest.raises(FileNotFoundError):
        jobs.read_params_file(tmp_path / "none.toml")


@pytest.mark.slow
def test_cli_params_then_set_are_passed_to_compute(small_dir, tmp_path, monkeypatch, real_run):
    got = {}

    def fake(market, params=None, asof=None, progress=None):
        got["params"] = params
        return real_run["result"]

    monkeypatch.setattr(weekly, "compute_weekly", fake)
    t = tmp_path / "p.toml"
    t.write_text("top_n = 4\ncost = 0.001\n", encoding="utf-8")
    rc = main(["weekly", "--data", str(small_dir), "--out", str(tmp_path / "o"), "--params", str(t),
               "--set", "top_n=3", "--language", "en", "--no-progress"])
    assert rc == 0
    p = got["params"]
    assert (p.top_n, p.cost, p.language) == (3, 0.001, "en")


def test_bad_params_file_exits_1(tmp_path, capsys):
    t = tmp_path / "p.toml"
    t.write_text("no_such_key = 1\n", encoding="utf-8")
    rc = main(["weekly", "--out", str(tmp_path / "o"), "--params", str(t), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "no_such_key" in err and not (tmp_path / "o").exists()


# ---------------------------------------------------------------- mail
def test_send_to_a_real_smtp_server(fake_compute, small_dir, tmp_path, smtp_server, capsys):
    handler, port = smtp_server
    out = tmp_path / "o"
    rc = main(["weekly", "--data", str(small_dir), "--out", str(out), "--no-progress", "--send",
               "--to", "pm@example.com, 李四 <ls@example.com>", "--from", "bot@example.com",
               "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--no-tls", "--retries", "0"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "sent '[示例数据 SAMPLE] xladdin 周报 2026-10-30' to 2 recipient(s)" in cap.out  # the embedded sample
    assert len(handler.messages) == 1
    sender, rcpts, raw = handler.messages[0]
    assert sender == "bot@example.com" and rcpts == ["pm@example.com", "ls@example.com"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    att = next(msg.iter_attachments())
    assert att.get_filename() == REPORT
    assert att.get_payload(decode=True) == (out / REPORT).read_bytes()  # the very file left in --out
    assert "2026-10-30" in msg.get_body(("plain",)).get_content()
    assert sorted(p.name for p in out.iterdir()) == sorted([REPORT, REPORT.replace(".xlsx", ".eml")])


def test_send_failure_exits_1_and_leaves_nothing(fake_compute, small_dir, previous_out, capsys):
    before = snapshot(previous_out)
    rc = main(["weekly", "--data", str(small_dir), "--out", str(previous_out), "--no-progress", "--send",
               "--to", "pm@example.com", "--from", "bot@example.com", "--smtp-host", "127.0.0.1",
               "--smtp-port", str(free_port()), "--no-tls", "--retries", "0"])
    err = capsys.readouterr().err
    assert rc == 1 and "step `send` failed" in err and "connection refused" in err
    assert snapshot(previous_out) == before


def test_dry_run_writes_the_eml_next_to_the_report(fake_compute, small_dir, tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(["weekly", "--data", str(small_dir), "--out", str(out), "--dry-run", "--to", "pm@example.com",
               "--from", "bot@example.com"])  # progress bar on (stderr)
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    eml = out / REPORT.replace(".xlsx", ".eml")
    assert f"dry run: wrote {eml}" in cap.out
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert [a.addr_spec for a in msg["To"].addresses] == ["pm@example.com"]
    assert next(msg.iter_attachments()).get_payload(decode=True) == (out / REPORT).read_bytes()
    assert sorted(p.name for p in out.iterdir()) == sorted([REPORT, eml.name])


def test_mail_flags_need_send(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["weekly", "--out", str(tmp_path / "o"), "--to", "pm@example.com"])
    assert e.value.code == 2 and "only apply with --send or --dry-run" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["weekly", "--out", str(tmp_path / "o"), "--send", "--dry-run"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["weekly"])
    assert e.value.code == 2 and "--out" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
