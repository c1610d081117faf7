"""The weekly steps declare what they yield and hand on (xladdin.workbook.weekly.STEPS): each layout table
and each result (xladdin.workbook.context.StepResults) has one producing step, each result a step or the
cover reads was written by an earlier step, and the declarations equal what the steps' code reads and
writes (``ctx.results.<name>``, found in the step's function and the module functions it calls)."""
from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

from xladdin.workbook import weekly as W
from xladdin.workbook.context import StepResults, WeeklyContext
from xladdin.workbook.layout import load_layout

#: tables the run builds around the steps (:func:`xladdin.workbook.weekly._result`)
COVER_TABLES = {"cover_headlines", "cover_freshness", "params"}


#: the shared intermediates of a run (properties of WeeklyContext, each computed once)
INTERMEDIATES = [name for name, v in vars(WeeklyContext).items() if isinstance(v, property) and name != "built"]


def step_accesses(tree: ast.Module, start: str) -> tuple[set[str], set[str], set[str]]:
    """(read, written, intermediates): the names of ``<anything>.results.<name>`` read and written, and of the
    context's intermediates used (``ctx.<name>``), in module function ``start`` and every module function it
    calls, transitively (``tree``: the module's code)."""
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    read, written, used, seen, todo = set(), set(), set(), set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "results":
                (written if isinstance(node.ctx, ast.Store) else read).add(node.attr)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ctx" \
                    and node.attr in INTERMEDIATES:
                used.add(node.attr)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                todo.append(node.func.id)
    return read, written, used


def result_accesses(tree: ast.Module, start: str) -> tuple[set[str], set[str]]:
    """(read, written) of :func:`step_accesses`."""
    return step_accesses(tree, start)[:2]


@pytest.fixture(scope="module")
def small_market(sample_cut):
    return sample_cut(start="2025-06-02", end="2026-09-30", n_stocks=40)


@pytest.fixture(scope="module")
def tree() -> ast.Module:
    return ast.parse(inspect.getsource(W))


def test_each_step_reads_and_writes_what_it_declares(tree):
    for step in W.STEPS:
        read, written = result_accesses(tree, step.run.__name__)
        assert written == set(step.writes), step.name
        assert read == set(step.reads), step.name
        assert set(step.needs) <= set(step.reads), step.name


def test_the_cover_reads_what_it_declares(tree):
    read, written = result_accesses(tree, "_result")
    assert written == set()
    assert read == set(W.COVER_READS)


def test_each_result_has_one_writer_and_a_reader():
    fields = [f.name for f in dataclasses.fields(StepResults)]
    writers = [r for s in W.STEPS for r in s.writes]
    assert sorted(writers) == sorted(fields)  # each field written by exactly one step
    readers = {r for s in W.STEPS for r in s.reads} | set(W.COVER_READS)
    assert readers == set(fields), "a result no step and not the cover reads: " + str(set(fields) - readers)


def test_a_step_reads_only_results_of_the_steps_before_it_in_its_own_lane():
    written: set[str] = set()
    for step in W.STEPS:
        if step.name in W.SIDE_STEPS:
            assert not step.reads, step.name  # the second thread runs beside the others: it reads none
        assert set(step.reads) <= written, (step.name, set(step.reads) - written)
        written |= set(step.writes)


def test_each_layout_table_has_one_producing_step():
    produced = [t for s in W.STEPS for t in s.tables]
    assert len(produced) == len(set(produced))
    assert set(produced) | COVER_TABLES == set(load_layout().table_keys)
    assert not set(produced) & COVER_TABLES


def test_which_step_produces_what():
    """The list a reader (and docs/architecture.md) gets from the declarations."""
    by_table = {t: s.name for s in W.STEPS for t in s.tables}
    by_result = {r: s.name for s in W.STEPS for r in s.writes}
    assert by_table["industry_flow"] == "industry_flow" and by_table["nav"] == "performance"
    assert by_result["rotation"] == "strategy" and by_result["week"] == "industry_flow"
    assert [s.name for s in W.STEPS if "rotation" in s.needs] == ["holdings", "performance"]


def test_the_access_check_sees_reads_and_writes_through_helpers():
    """Not blind: a write and a read in a helper the step calls are found; a local ``res`` is not."""
    src = ("def step(ctx):\n    ctx.results.alpha = 1\n    helper(ctx)\n    res = ctx.params\n    res.beta\n"
           "def helper(ctx):\n    x = ctx.results.gamma.loc[1]\n    ctx.results.delta = x\n")
    assert result_accesses(ast.parse(src), "step") == ({"gamma"}, {"alpha", "delta"})


def test_a_step_whose_needed_result_is_missing_takes_its_writers_reason(small_market, monkeypatch):
    """The strategy step meets a missing table: the steps that need its results are noted with its reason,
    the others are computed."""
    from xladdin.data.market import MissingTableError

    def missing(ctx):
        raise MissingTableError("index_weights is missing (test)")
    steps = [dataclasses.replace(s, run=missing) if s.name == "strategy" else s for s in W.STEPS]
    monkeypatch.setattr(W, "STEPS", steps)
    res = W.compute_weekly(small_market, threads=1)
    needing = [t for s in W.STEPS if s.needs for t in s.tables]
    assert needing == ["industry_flow", "quintile_level", "quintile_change", "latest_picks", "strategy_holdings",
                       "performance", "nav"]
    for t in needing:
        assert res.tables[t] is None and res.notes[t] == "index_weights is missing (test)"
    assert res.tables["style_signals"] is not None and res.tables["correlation"] is not None


# ------------------------------------------------------------------------------------------ docs/architecture.md
ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
BEGIN, END = "<!-- steps:begin (checked by tests/test_weekly_steps.py) -->", "<!-- steps:end -->"


def _names(items) -> str:
    return ", ".join(f"`{i}`" for i in items) or "–"


def steps_table(tree: ast.Module) -> list[str]:
    """The step table of docs/architecture.md, from STEPS (and the intermediates each step's code uses)."""
    lines = ["| step | lane | tables | intermediates | needs | reads | writes |", "|---|---|---|---|---|---|---|"]
    for step in W.STEPS:
        used = sorted(step_accesses(tree, step.run.__name__)[2], key=INTERMEDIATES.index)
        lane = "second" if step.name in W.SIDE_STEPS else "main"
        lines.append(f"| `{step.name}` ({step.what}) | {lane} | {_names(step.tables)} | {_names(used)} | "
                     f"{_names(step.needs)} | {_names(step.reads)} | {_names(step.writes)} |")
    lines.append(f"| cover, summary, subtitles | main | {_names(sorted(COVER_TABLES))} | "
                 f"{_names(sorted(step_accesses(tree, '_result')[2], key=INTERMEDIATES.index))} | – | "
                 f"{_names(W.COVER_READS)} | – |")
    return lines


def test_the_architecture_page_shows_the_steps_as_declared(tree):
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    shown = text.split(BEGIN)[1].split(END)[0].strip().splitlines()
    want = steps_table(tree)
    assert shown == want, "docs/architecture.md's step table differs from STEPS; it should read:\n" + "\n".join(want)
