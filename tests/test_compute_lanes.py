"""The weekly compute step in two lanes (``xladdin.workbook.weekly.COMPUTE_THREADS``), the second a thread or a
forked process (``COMPUTE_LANE``, :mod:`xladdin.workbook.lanes`): the same tables as one lane, each shared
intermediate computed once when two threads ask for it at the same moment, failures reported as by the
sequential run, progress in the calling thread in the order of STEPS."""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time

import numpy as np
import pandas as pd
import pytest

from xladdin.data import views
from xladdin.data.market import MissingTableError
from xladdin.workbook import lanes, weekly as W
from xladdin.workbook.context import WeeklyContext
from xladdin.workbook.params import default_params


@pytest.fixture(scope="module")
def small_market(sample_cut):
    return sample_cut(start="2025-06-02", end="2026-09-30", n_stocks=40)


def tables_equal(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        if a[key] is None or b[key] is None:
            assert a[key] is None and b[key] is None, key
        else:
            pd.testing.assert_frame_equal(a[key], b[key], check_exact=True, obj=key)


def test_the_second_threads_steps_are_last_and_independent_of_the_strategy():
    """What the reporting order and the failure rule rely on: the side steps come last in STEPS and read
    no step's results (none needs the strategy step's rotation)."""
    names = [s.name for s in W.STEPS]
    assert names[-len(W.SIDE_STEPS):] == list(W.SIDE_STEPS)
    assert all(not s.reads and not s.needs for s in W.STEPS if s.name in W.SIDE_STEPS)


LANES = ("thread", "process")


@pytest.mark.parametrize("lane", LANES)
def test_two_lanes_give_the_tables_of_one(small_market, lane):
    one = W.compute_weekly(small_market, threads=1)
    two = W.compute_weekly(small_market, threads=2, lane=lane)
    tables_equal(one.tables, two.tables)  # the cover's tables too: its crowding line reads the side lane's result
    assert one.notes == two.notes and one.summary == two.summary and one.subtitles == two.subtitles
    assert one.inputs == two.inputs and one.facts == two.facts
    assert list(two.step_seconds) == [s.name for s in W.STEPS] == list(one.step_seconds)
    assert all(t > 0 for t in two.step_seconds.values())


def spy_steps(monkeypatch, log_file) -> None:
    """Each step appends "name pid thread" to ``log_file`` (a file: a forked child's lines reach the test)."""
    steps = []
    for step in W.STEPS:
        def spy(ctx, fn=step.run, name=step.name):
            with open(log_file, "a", encoding="utf-8") as f:
                f.write(f"{name} {os.getpid()} {threading.current_thread().name}\n")
            return fn(ctx)
        steps.append(dataclasses.replace(step, run=spy))
    monkeypatch.setattr(W, "STEPS", steps)


def where_steps_ran(log_file) -> dict[str, tuple[int, str]]:
    lines = [ln.split(" ", 2) for ln in log_file.read_text(encoding="utf-8").splitlines()]
    return {name: (int(pid), thread) for name, pid, thread in lines}


@pytest.mark.parametrize("lane", LANES)
def test_the_side_steps_run_in_the_second_lane_and_progress_stays_in_the_callers(small_market, monkeypatch, tmp_path,
                                                                                  lane):
    spy_steps(monkeypatch, tmp_path / "steps.log")
    seen = []
    W.compute_weekly(small_market, lane=lane, progress=lambda s: seen.append((s, threading.current_thread().name)))
    main = threading.current_thread().name
    ran = where_steps_ran(tmp_path / "steps.log")
    assert set(ran) == {s.name for s in W.STEPS} and "dashboard" in W.SIDE_STEPS
    side = {ran[s] for s in W.SIDE_STEPS}
    if lane == "thread":
        assert side == {(os.getpid(), "xladdin-compute")}
    else:  # one child process, not this one
        assert len(side) == 1 and next(iter(side))[0] != os.getpid()
    assert {ran[s.name] for s in W.STEPS if s.name not in W.SIDE_STEPS} == {(os.getpid(), main)}
    assert seen == [(s.name, main) for s in W.STEPS]  # every step computed, reported here, in order


def test_a_process_lane_inherits_the_shared_intermediates(small_market, monkeypatch, tmp_path):
    """The intermediates both lanes read are built once, before the fork, in this process: the child reads
    them (its copy of the context) instead of building them again."""
    import xladdin.methods.flows as flows
    import xladdin.methods.holdings as holdings
    log_file = tmp_path / "built.log"

    def counted(fn, name):
        def build(*args, **kw):
            with open(log_file, "a", encoding="utf-8") as f:
                f.write(f"{name} {os.getpid()}\n")
            return fn(*args, **kw)
        return build
    monkeypatch.setattr(flows, "market_etf_flows", counted(flows.market_etf_flows, "etf_flows"))
    monkeypatch.setattr(holdings, "penetration_weights", counted(holdings.penetration_weights, "penetration"))
    one = W.compute_weekly(small_market, threads=1)
    log_file.unlink()
    two = W.compute_weekly(small_market, threads=2, lane="process")
    tables_equal(one.tables, two.tables)
    built = log_file.read_text(encoding="utf-8").split()
    assert built == ["etf_flows", str(os.getpid()), "penetration", str(os.getpid())]
    assert set(W.SHARED_INTERMEDIATES) >= {"etf_flows", "penetration"}


def test_auto_lane_is_a_process_on_linux_when_no_other_thread_runs(monkeypatch):
    monkeypatch.setattr(lanes.sys, "platform", "linux")
    monkeypatch.setattr(lanes.threading, "active_count", lambda: 1)
    assert lanes.lane_kind("auto") == "process" and lanes.lane_kind("thread") == "thread"
    monkeypatch.setattr(lanes.threading, "active_count", lambda: 2)  # a fork would copy only this thread
    assert lanes.lane_kind("auto") == "thread" and lanes.lane_kind("process") == "process"
    for platform in ("win32", "darwin"):
        monkeypatch.setattr(lanes.sys, "platform", platform)
        monkeypatch.setattr(lanes.threading, "active_count", lambda: 1)
        assert lanes.lane_kind("auto") == "thread"
    with pytest.raises(ValueError, match="one of auto, process, thread"):
        lanes.lane_kind("fibre")


def test_a_child_that_dies_has_its_steps_computed_here(small_market, monkeypatch, caplog):
    """A child killed before sending its tables (out of memory, a signal): the side steps run again in this
    process, with a warning; the tables are those of one lane."""
    parent = os.getpid()
    dashboard = next(s.run for s in W.STEPS if s.name == "dashboard")

    def dies_in_the_child(ctx):
        if os.getpid() != parent:
            os._exit(3)
        return dashboard(ctx)
    one = W.compute_weekly(small_market, threads=1)
    monkeypatch.setattr(W, "STEPS", with_step("dashboard", dies_in_the_child))
    with caplog.at_level(logging.WARNING, logger="xladdin.workbook"):
        two = W.compute_weekly(small_market, threads=2, lane="process")
    tables_equal(one.tables, two.tables)
    assert "the second compute process ended without its tables (exit status 3); computing dashboard, crowding " \
           "here" in caplog.text


def test_an_interrupted_run_leaves_no_child_process(small_market, monkeypatch):
    def interrupted(ctx):
        raise KeyboardInterrupt
    monkeypatch.setattr(W, "STEPS", with_step("strategy", interrupted))
    forked = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid
    monkeypatch.setattr(lanes.os, "fork", fork)
    with pytest.raises(KeyboardInterrupt):
        W.compute_weekly(small_market, threads=2, lane="process")
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):  # the child was stopped and reaped: nothing is left to wait for
        os.waitpid(forked[0], os.WNOHANG)


def test_without_threads_every_step_runs_in_the_callers_thread(small_market, monkeypatch):
    """Where threads cannot start (the browser's Python of xlwings Lite) the steps run one after another."""
    def refuse(self):
        raise RuntimeError("can't start new thread")
    monkeypatch.setattr(threading.Thread, "start", refuse)
    names = set()
    steps = [dataclasses.replace(s, run=lambda ctx, fn=s.run: (names.add(threading.current_thread().name), fn(ctx))[1])
             for s in W.STEPS]
    monkeypatch.setattr(W, "STEPS", steps)
    W.compute_weekly(small_market, threads=2, lane="thread")
    assert names == {threading.current_thread().name}


def test_in_the_browsers_python_no_thread_is_tried(small_market, monkeypatch):
    import sys
    monkeypatch.setattr(sys, "platform", "emscripten")
    started = []
    real = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self.name), real(self))[1])
    W.compute_weekly(small_market, threads=2)
    assert "xladdin-compute" not in started


def boom(ctx):
    raise ZeroDivisionError("boom")


def with_step(name: str, fn) -> list:
    return [dataclasses.replace(s, run=fn) if s.name == name else s for s in W.STEPS]


def test_a_failing_dashboard_is_named_as_in_one_lane(small_market, monkeypatch):
    monkeypatch.setattr(W, "STEPS", with_step("dashboard", boom))
    for threads, lane in ((1, None), (2, "thread"), (2, "process")):
        with pytest.raises(W.WeeklyError, match="computing table `dashboard_index`: ZeroDivisionError: boom") as info:
            W.compute_weekly(small_market, threads=threads, lane=lane)
        assert isinstance(info.value.__cause__, ZeroDivisionError) and str(info.value.__cause__) == "boom"
        assert info.value.table == "dashboard_index"


class Unpicklable(Exception):
    def __init__(self, text):
        super().__init__(text)
        self.hook = lambda: None  # a lambda cannot be pickled


def test_an_unpicklable_error_of_the_child_arrives_as_its_text(small_market, monkeypatch):
    def fails(ctx):
        raise Unpicklable("no pickle")
    monkeypatch.setattr(W, "STEPS", with_step("crowding", fails))
    with pytest.raises(W.WeeklyError, match="computing table `crowding`: Unpicklable: no pickle") as info:
        W.compute_weekly(small_market, threads=2, lane="process")
    assert isinstance(info.value.__cause__, lanes.ChildError) and str(info.value.__cause__) == "Unpicklable: no pickle"


def test_the_first_failing_step_of_steps_is_reported_when_both_threads_fail(small_market, monkeypatch):
    """The strategy step fails in the main thread while the dashboard fails in the other: the run names
    the strategy (the sequential run stops there), whatever finished first."""
    def slow_boom(ctx):
        time.sleep(0.2)
        raise ValueError("late")
    steps = with_step("dashboard", boom)
    steps = [dataclasses.replace(s, run=slow_boom) if s.name == "strategy" else s for s in steps]
    monkeypatch.setattr(W, "STEPS", steps)
    for lane in LANES:
        with pytest.raises(W.WeeklyError, match="computing table `strategy`: ValueError: late"):
            W.compute_weekly(small_market, threads=2, lane=lane)


@pytest.mark.parametrize("lane", LANES)
def test_a_missing_table_in_the_second_lane_is_a_note(small_market, monkeypatch, lane):
    def missing(ctx):
        raise MissingTableError("margin_daily is missing (test)")
    monkeypatch.setattr(W, "STEPS", with_step("dashboard", missing))
    seen = []
    res = W.compute_weekly(small_market, threads=2, lane=lane, progress=seen.append)
    assert res.tables["dashboard_index"] is None and res.tables["dashboard_industry"] is None
    assert res.notes["dashboard_index"] == "margin_daily is missing (test)"
    assert "dashboard" not in seen and seen == [s.name for s in W.STEPS if s.name != "dashboard"]


# ------------------------------------------------------------------ each intermediate once across threads
def test_once_map_builds_a_key_once_when_two_threads_ask_together():
    once = views.OnceMap()
    calls = []
    started = threading.Event()

    def build():
        calls.append(threading.current_thread().name)
        started.set()
        time.sleep(0.2)  # the other thread asks meanwhile
        return np.arange(3)
    got = {}

    def ask(tag):
        got[tag] = once.get("k", build)
    t = threading.Thread(target=ask, args=("other",))
    t.start()
    started.wait(5)
    ask("main")
    t.join()
    assert len(calls) == 1 and got["main"] is got["other"]
    assert list(once) == ["k"]


def test_once_map_keeps_nothing_when_a_build_raises():
    once = views.OnceMap()
    with pytest.raises(ZeroDivisionError):
        once.get("k", lambda: 1 / 0)
    assert list(once) == [] and once.get("k", lambda: 5) == 5
    once.drop(["k"])
    assert once.get("k", lambda: 6) == 6


def test_a_context_intermediate_is_computed_once_by_two_threads(small_market, monkeypatch):
    import xladdin.methods.flows as flows
    calls = []
    real = flows.market_etf_flows

    def slow(market, **kw):
        calls.append(1)
        time.sleep(0.2)
        return real(market, **kw)
    monkeypatch.setattr(flows, "market_etf_flows", slow)
    ctx = WeeklyContext(small_market, default_params(), pd.Timestamp("2026-09-30"))
    got = []
    t = threading.Thread(target=lambda: got.append(ctx.etf_flows))
    t.start()
    got.append(ctx.etf_flows)
    t.join()
    assert calls == [1] and got[0] is got[1] and ctx.built == ["etf_flows"]


def test_a_shared_pivot_is_built_once_by_two_threads(small_market):
    import contextvars
    calls = []

    def make():
        calls.append(1)
        time.sleep(0.2)
        return pd.DataFrame({"a": [1.0]})
    out = []
    with views.shared(small_market):
        t = threading.Thread(target=contextvars.copy_context().run,
                             args=(lambda: out.append(views.cached(small_market, ("k",), make)),))
        t.start()
        out.append(views.cached(small_market, ("k",), make))
        t.join()
    assert calls == [1] and out[0].equals(out[1])
