"""One owner per fact: flag names and defaults against the parameters sheet, the deprecated spellings,
the market opener, the parameters-sheet reader, the value-to-cell rule, the progress total and the
annualisation table."""
from __future__ import annotations

import argparse
import ast
import datetime as dt
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xladdin.ops import cli
from xladdin.workbook.params import SPEC_BY_KEY

ROOT = Path(__file__).resolve().parents[1]


def _subparsers(parser: argparse.ArgumentParser):
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(command path, parser) of every command and sub-command."""
    for name, sub in _subparsers(parser).choices.items():
        path = prefix + (name,)
        if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            yield from _commands(sub, path)
        else:
            yield path, sub


# ------------------------------------------------------------------------- flag names and defaults
def test_a_flag_that_sets_a_sheet_parameter_has_its_name_and_default():
    """Every option stored under a parameter key is spelled ``--key-with-dashes`` and defaults to the
    sheet's default (``--data`` is stored as ``data``, the documented exception)."""
    checked = 0
    for path, parser in _commands(cli.build_parser()):
        for action in parser._actions:
            if action.dest not in SPEC_BY_KEY or action.help == argparse.SUPPRESS:
                continue
            spec = SPEC_BY_KEY[action.dest]
            flag = "--" + action.dest.replace("_", "-")
            assert flag in action.option_strings, (path, action.option_strings, spec.key)
            if action.default is None:  # --asof / --language: given or taken from the parameters
                continue
            default = action.default
            if isinstance(spec.default, tuple):
                default = tuple(default)
            assert default == spec.default, (path, flag, default, spec.default)
            checked += 1
    assert checked >= 17  # rotation 7, northbound 4, correlation 6, style 1, dashboard 3 (minus shared ones)


# ------------------------------------------------------------------------- one name, one default per setting
def _method_functions():
    """(module name, function) of every public function of the methods layer."""
    import importlib
    import pkgutil

    import xladdin.methods as methods
    for info in pkgutil.iter_modules(methods.__path__):
        module = importlib.import_module(f"xladdin.methods.{info.name}")
        for name, fn in vars(module).items():
            if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == module.__name__:
                yield module.__name__, fn


def _is_literal(node: ast.AST) -> bool:
    """A default written as a value (``0.0``, ``True``, ``"zh"``, ``(1, 2)``, ``pd.Timestamp("...")``) rather
    than a name (``DEFAULT_RF``, ``crowding.DEFAULT_HISTORY``, ``int(DEFAULT_X)``); None and "" (not set) are
    no default."""
    if isinstance(node, ast.Constant):
        return node.value not in (None, "")
    if isinstance(node, (ast.Tuple, ast.List)):
        return True
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, ast.Call):
        return any(_is_literal(a) for a in node.args)
    return False


def _default_names(node: ast.AST) -> list[str]:
    """The constant names a default is written with (``int(DEFAULT_X)`` -> DEFAULT_X)."""
    return [n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(node)
            if isinstance(n, (ast.Name, ast.Attribute)) and (n.attr if isinstance(n, ast.Attribute) else n.id).isupper()]


def test_the_params_dataclass_has_the_keys_types_and_defaults_of_specs():
    """``Params`` is typed: one field per row of SPECS, in the sheet's order, its type the row's kind, its
    default the row's default."""
    import dataclasses
    import typing

    from xladdin.workbook.params import SPECS, Params
    kinds = {"int": int, "float": float, "str": str, "choice": str, "date": pd.Timestamp,
             "floats": tuple[float, ...], "ints": tuple[int, ...]}
    fields = dataclasses.fields(Params)
    hints = typing.get_type_hints(Params)
    assert [f.name for f in fields] == [s.key for s in SPECS]
    for f, spec in zip(fields, SPECS):
        want = kinds[spec.kind] | None if spec.default is None else kinds[spec.kind]
        assert hints[f.name] == want, (f.name, hints[f.name], want)
        assert f.default == spec.default and type(f.default) is type(spec.default), f.name
        if spec.default is not None:
            assert isinstance(spec.default, typing.get_origin(want) or want), f.name


def test_the_params_check_sees_a_wrong_field():
    """Not blind: a Params with a field renamed, retyped or defaulted otherwise differs from SPECS."""
    import dataclasses

    from xladdin.workbook.params import SPECS
    made = dataclasses.make_dataclass("P", [(s.key, int if s.key == "top_n" else object, s.default) for s in SPECS])
    assert [f.name for f in dataclasses.fields(made)] == [s.key for s in SPECS]
    assert dataclasses.fields(made)[[s.key for s in SPECS].index("top_n")].type is int
    other = dataclasses.make_dataclass("Q", [("top", int, 6)])
    assert [f.name for f in dataclasses.fields(other)] != [s.key for s in SPECS]


def test_every_parameter_default_is_one_default_constant():
    """Each row of SPECS and each field of Params writes its default as a ``DEFAULT_*`` constant (the method
    module's, else the params module's), never as a second literal; None / "" only where blank is allowed."""
    from xladdin.workbook import params as P
    tree = ast.parse(Path(P.__file__).read_text(encoding="utf-8"))
    found, rows = [], 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ParamSpec":
            key, default = node.args[0].value, node.args[2]
            rows += 1
            names = _default_names(default)
            blank = isinstance(default, ast.Constant) and default.value in (None, "") and P.SPEC_BY_KEY[key].blank_ok
            if _is_literal(default) or not (blank or (names and all(n.startswith("DEFAULT_") for n in names))):
                found.append(f"SPECS {key}: {ast.unparse(default)}")
        if isinstance(node, ast.ClassDef) and node.name == "Params":
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and item.value is not None:
                    key, default = item.target.id, item.value
                    blank = isinstance(default, ast.Constant) and default.value in (None, "")
                    spec_default = P.SPEC_BY_KEY[key].default
                    if _is_literal(default) or not (blank and spec_default in (None, "") or
                                                    any(n.startswith("DEFAULT_") for n in _default_names(default))):
                        found.append(f"Params.{key}: {ast.unparse(default)}")
    assert rows == len(P.SPECS)
    assert found == [], found


#: method keywords named as a sheet parameter whose default is deliberately another, with the reason
OTHER_DEFAULTS = {
    ("xladdin.methods.backtest.backtest_weights", "cost"): "the engine is gross unless its caller gives a cost",
    ("xladdin.methods.stats.period_label", "language"): "a method's own texts are English unless asked",
    ("xladdin.methods.crowding.reason_text", "language"): "a method's own texts are English unless asked",
}


def test_a_method_keyword_named_after_a_parameter_defaults_to_its_constant():
    """Every keyword of a method named as a sheet parameter (``top_n``, ``rf``, ``etf_one_per_index``) defaults
    to the sheet's default (or None: the default applies inside), written as the ``DEFAULT_*`` constant
    (:data:`OTHER_DEFAULTS` lists the deliberate exceptions)."""
    found, checked = [], 0
    for module, fn in _method_functions():
        sig = inspect.signature(fn)
        tree = ast.parse(inspect.getsource(fn).lstrip() if fn.__code__.co_firstlineno else "")
        args = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)).args
        positional = args.posonlyargs + args.args
        nodes = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
        nodes.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        for name, param in sig.parameters.items():
            if name not in SPEC_BY_KEY or param.default is inspect.Parameter.empty or param.default is None \
                    or (f"{module}.{fn.__name__}", name) in OTHER_DEFAULTS:
                continue
            checked += 1
            want = SPEC_BY_KEY[name].default
            default = tuple(param.default) if isinstance(want, tuple) else param.default
            if default != want or _is_literal(nodes[name]):
                found.append(f"{module}.{fn.__name__}({name}={ast.unparse(nodes[name])}): sheet default {want!r}")
    assert found == [], found
    assert checked >= 25


def literal_flag_defaults(source: str) -> list[str]:
    """Options of a command module (``add_argument``/``add_option``) that set a sheet parameter (``--top-n``) and
    write their default as a literal instead of the ``DEFAULT_*`` constant."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
                in ("add_argument", "add_option")):
            continue
        flags = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                 and a.value.startswith("--")]
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        if flags and flags[0][2:].replace("-", "_") in SPEC_BY_KEY and default is not None and _is_literal(default):
            found.append(f"{node.lineno}: {flags[0]} default={ast.unparse(default)}")
    return found


def test_a_flag_that_sets_a_parameter_takes_its_default_from_the_constant():
    import pkgutil

    import xladdin.ops.commands as commands
    folder = Path(commands.__path__[0])
    found = {i.name: hits for i in pkgutil.iter_modules(commands.__path__)
             if (hits := literal_flag_defaults((folder / f"{i.name}.py").read_text(encoding="utf-8")))}
    assert found == {}, found
    probe = ('p.add_argument("--etf-one-per-index", default=True)\n'
             'add_option(p, "--top-n", "--top", default=DEFAULT_TOP_N)\n')
    assert literal_flag_defaults(probe) == ["1: --etf-one-per-index default=True"]


def test_the_literal_default_check_sees_one():
    for text in ["0.0", "True", "'zh'", "(1, 2)", "pd.Timestamp('2019-10-08')", "-1", "int(1)"]:
        assert _is_literal(ast.parse(text, mode="eval").body), text
    for text in ["DEFAULT_RF", "crowding.DEFAULT_HISTORY", "int(DEFAULT_ETF_ONE_PER_INDEX)", "None", "''"]:
        assert not _is_literal(ast.parse(text, mode="eval").body), text


def _calls_into_methods(source: str, namespace: dict, holder: str) -> list[tuple[int, str, str, str]]:
    """(line, function, keyword, sheet key) of each argument ``<holder>.<key>`` (``p.top_n``, ``args.top_n``;
    also inside ``bool(...)``/``int(...)``) of a call of a methods-layer function in ``source`` (a module's
    code; ``namespace``: its globals, which resolve the called names), the keyword being the parameter the
    argument binds to. ``holder``: the names of the parameters object, ``|``-separated."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        try:
            fn = eval(ast.unparse(node.func), dict(namespace))  # a name or dotted attribute of the module
        except Exception:
            continue
        if not inspect.isfunction(fn) or not fn.__module__.startswith("xladdin.methods."):
            continue
        params = list(inspect.signature(fn).parameters)
        pairs = [(params[i], a) for i, a in enumerate(node.args)] + [(k.arg, k.value) for k in node.keywords]
        for keyword, value in pairs:
            while isinstance(value, ast.Call) and getattr(value.func, "id", None) in ("bool", "int", "float") \
                    and len(value.args) == 1:
                value = value.args[0]
            if isinstance(value, ast.Attribute) and ast.unparse(value.value) in holder.split("|") \
                    and value.attr in SPEC_BY_KEY:
                out.append((node.lineno, f"{fn.__module__}.{fn.__name__}", keyword, value.attr))
    return out


#: sheet keys that feed a method's generic argument, with the reason: the date range every method and
#: command takes as ``start``/``end`` (``--start``/``--end``)
GENERIC_ARGUMENTS = {("xladdin.methods.strategy.flow_rotation", "start", "backtest_start")}


def test_the_walk_from_sheet_key_to_method_keyword_is_one_name():
    """The weekly run passes each parameter to the method keyword of the same name (``top_n=p.top_n``), and
    each command passes its flag's value so too (``--top-n`` -> ``args.top_n`` -> ``top_n=``): read from the
    code of the weekly steps, the context and every command module."""
    import importlib
    import pkgutil

    import xladdin.ops.commands as commands
    from xladdin.workbook import context, weekly
    walks = [(m, "p|params|self.params|ctx.params") for m in (weekly, context)]
    walks += [(importlib.import_module(f"xladdin.ops.commands.{i.name}"), "args")
              for i in pkgutil.iter_modules(commands.__path__)]
    found, seen = [], set()
    for module, holder in walks:
        for line, fn, keyword, key in _calls_into_methods(inspect.getsource(module), vars(module), holder):
            seen.add(key)
            if keyword != key and (fn, keyword, key) not in GENERIC_ARGUMENTS:
                found.append(f"{module.__name__}:{line} {fn}({keyword}=...{key})")
    assert found == [], found
    fed = {"top_n", "rebalance_weeks", "cost", "groups", "hp_lambda", "trailing_window", "lag", "corr_index",
           "corr_window", "corr_threshold", "event_thresholds", "event_horizons", "event_mode", "etf_top_n",
           "etf_cost", "rf", "etf_one_per_index", "heat_years", "heat_flag", "vol_flag", "crowding_history",
           "crowding_heat_flag", "crowding_price_move", "crowding_volume_move", "crowding_dispersion_flag",
           "crowding_weeks", "backtest_start"}
    assert fed <= seen, fed - seen


def test_the_walk_check_sees_another_name():
    """Not blind: a call passing ``p.rebalance_weeks`` by position to ``top_n``, or to ``every``, is reported
    under those keywords; ``top_n=p.top_n`` under its own."""
    from xladdin.methods import strategy
    src = ("def f(p, m):\n    strategy.flow_rotation(m, None, None, p.rebalance_weeks, top_n=p.top_n)\n"
           "    strategy.rebalance_dates(m.index, every=bool(p.rebalance_weeks))\n")
    calls = {c[1:] for c in _calls_into_methods(src, {"strategy": strategy}, "p")}
    assert calls == {("xladdin.methods.strategy.flow_rotation", "top_n", "rebalance_weeks"),
                     ("xladdin.methods.strategy.flow_rotation", "top_n", "top_n"),
                     ("xladdin.methods.strategy.rebalance_dates", "every", "rebalance_weeks")}


def test_parameter_descriptions_state_one_way_costs():
    """Spec, "Timing, costs and ties": costs are one-way rates on traded value, charged on buys and sells."""
    for key in ("cost", "etf_cost"):
        spec = SPEC_BY_KEY[key]
        assert "one-way" in spec.en.lower() and "buys and sells" in spec.en and "two-sided" not in spec.en
        assert "单边" in spec.zh and "买卖各收" in spec.zh and f"{spec.default:.1%}" in spec.en


# ------------------------------------------------------------------------- deprecated spellings
RENAMED = [
    (["style"], ["--lambda", "50"], ["--hp-lambda", "50"]),
    (["study", "correlation"], ["--index", "000905.SH"], ["--corr-index", "000905.SH"]),
    (["study", "correlation"], ["--window", "30"], ["--corr-window", "30"]),
    (["study", "correlation"], ["--signal", "0.6"], ["--corr-threshold", "0.6"]),
    (["study", "correlation"], ["--thresholds", "0.4", "0.6"], ["--event-thresholds", "0.4", "0.6"]),
    (["study", "correlation"], ["--horizons", "5", "10"], ["--event-horizons", "5", "10"]),
    (["study", "correlation"], ["--mode", "first"], ["--event-mode", "first"]),
    (["study", "correlation"], ["--latest", "3"], ["--last", "3"]),
    (["backtest", "rotation"], ["--top", "4"], ["--top-n", "4"]),
    (["backtest", "rotation"], ["--every", "3"], ["--rebalance-weeks", "3"]),
    (["backtest", "rotation"], ["--window", "40"], ["--trailing-window", "40"]),
    (["backtest", "rotation"], ["--lamb", "200"], ["--hp-lambda", "200"]),
    (["backtest", "rotation"], ["--out", "x"], ["--csv", "x"]),
    (["backtest", "northbound"], ["--top", "2"], ["--etf-top-n", "2"]),
    (["backtest", "northbound"], ["--cost", "0"], ["--etf-cost", "0"]),
    (["backtest", "northbound"], ["--universe", "u.txt"], ["--etf-universe", "u.txt"]),
    (["backtest", "northbound"], ["--allow-same-index"], ["--no-etf-one-per-index"]),
    (["dashboard"], ["--window-years", "2"], ["--heat-years", "2"]),
    (["dashboard"], ["--top", "5"], ["--top-rows", "5"]),
]


@pytest.mark.parametrize("command, old, new", RENAMED, ids=[" ".join(c + o[:1]) for c, o, _ in RENAMED])
def test_old_spelling_works_says_so_and_is_hidden(command, old, new, capsys):
    parser = cli.build_parser()
    via_new = parser.parse_args(command + new)
    assert capsys.readouterr().err == ""
    via_old = parser.parse_args(command + old)
    assert vars(via_old) == vars(via_new)
    assert vars(via_new) != vars(parser.parse_args(command))  # the option changed something
    err = capsys.readouterr().err
    assert f"note: {old[0]} is deprecated and will be removed in the next release; use {new[0]}" in err
    with pytest.raises(SystemExit):
        parser.parse_args(command + ["--help"])
    help_text = capsys.readouterr().out
    assert re.search(re.escape(new[0].replace("--no-", "--")) + r"(?![\w-])", help_text)
    assert not re.search(re.escape(old[0]) + r"(?![\w-])", help_text), help_text


@pytest.mark.slow
def test_old_spelling_on_the_command_line_end_to_end(tiny_short_dir):
    """A real process: the note goes to stderr, the output is the new spelling's to the byte."""
    run = [sys.executable, "-m", "xladdin", "style", "--data", str(tiny_short_dir), "--pair", "size", "--json"]
    old = subprocess.run(run + ["--lambda", "50"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    new = subprocess.run(run + ["--hp-lambda", "50"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert old.returncode == new.returncode == 0, old.stderr
    assert old.stdout == new.stdout and json.loads(old.stdout)["hp_lambda"] == 50
    assert "xladdin style: note: --lambda is deprecated" in old.stderr and "deprecated" not in new.stderr


def test_etf_universe_takes_the_parameters_codes(tmp_path):
    from xladdin.ops.commands.backtest_northbound import universe_codes
    assert universe_codes("510300.SH, 510500.SH，159915.SZ") == ["510300.SH", "510500.SH", "159915.SZ"]
    f = tmp_path / "u.txt"
    f.write_text("510300.SH\n510500.SH\n", encoding="utf-8")
    assert universe_codes(str(f)) == ["510300.SH", "510500.SH"]
    with pytest.raises(FileNotFoundError, match="no such file, nor ETF codes"):
        universe_codes(str(tmp_path / "missing.txt"))


# ------------------------------------------------------------------------- one market opener
def test_open_market_rule(tmp_path, sample_market):
    from xladdin.data import data_source, open_market, write_market
    folder = tmp_path / "m"
    write_market(sample_market.subset(None, "2016-03-31"), folder)
    assert data_source(None, "") is None and data_source("  ", None) is None
    assert data_source(str(folder), "elsewhere") == folder          # --data beats data_dir
    assert data_source(None, str(folder)) == folder                 # else data_dir
    assert data_source(sample_market, str(folder)) is sample_market
    assert open_market(None, "") is sample_market                    # the cached embedded sample
    loaded = open_market(None, str(folder), tables=["etf_info", "etf_daily"])
    assert set(loaded.tables) == {"etf_info", "etf_daily"} and loaded.last_date("etf_daily") == pd.Timestamp("2016-03-31")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_market(tmp_path / "nowhere")


@pytest.mark.parametrize("command", ["report", "template"])
def test_workbook_commands_honour_set_data_dir(command, tmp_path, capsys):
    """`xladdin report/template --set data_dir=DIR` load DIR (they used to load the sample and write DIR on
    the parameters sheet); `--data` still wins."""
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / ("r.xlsx" if command == "report" else "w.xlsm")
    assert cli.main([command, str(out), "--set", f"data_dir={empty}", "--no-progress"]) == 1
    assert f"{empty}: no canonical tables found" in capsys.readouterr().err and not out.exists()
    assert cli.main([command, str(out), "--data", str(tmp_path / "nowhere"), "--set", f"data_dir={empty}",
                     "--no-progress"]) == 1
    assert f"data path {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------------- one parameters-sheet reader
def test_one_params_sheet_reader(tmp_path):
    """The headless refresh, ``weekly --params FILE.xlsx`` and the Refresh button (an xlwings Book: run on
    xlwings' own engines in tests/test_xlwings_remote.py, which sets ``language`` on the sheet) all read
    the sheet with :func:`xladdin.workbook.template.read_params_sheet`."""
    from openpyxl import Workbook

    import xladdin_macros.refresh as R
    from xladdin.workbook.layout import load_layout
    from xladdin.workbook.refs import parse_cell
    from xladdin.workbook.template import read_params_sheet
    assert R.read_params_sheet is read_params_sheet
    layout = load_layout()
    spec = layout.sheet("params")
    row, col = parse_cell(spec.table("params").anchor)
    rows = [("key", "value"), ("top_n", 4), ("corr_window", 30.0), (None, None), ("event_mode", "first")]
    wb = Workbook()
    ws = wb.active
    ws.title = spec.en
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            ws.cell(row + i, col + j, v)
    from_openpyxl = read_params_sheet(wb, layout)
    assert (from_openpyxl.top_n, from_openpyxl.corr_window, from_openpyxl.event_mode) == (4, 30, "first")
    assert ws.max_row == row + len(rows) - 1  # reading created no cells
    ws.title = "Other"
    with pytest.raises(ValueError, match="no parameters sheet"):
        read_params_sheet(wb, layout)


# ------------------------------------------------------------------------- one value-to-cell converter
TZ = dt.timezone(dt.timedelta(hours=8))
CASES = [
    (None, None, None), (float("nan"), None, None), (np.inf, None, None), (pd.NaT, None, None), (pd.NA, None, None),
    (np.float32(1.5), 1.5, 1.5), (np.int64(3), 3, 3), (7, 7, 7), ("text", "text", "text"),
    (np.str_("s"), "s", "s"), (True, 1, True), (np.bool_(False), 0, False),
    (pd.Timestamp("2026-01-30 15:00"), dt.datetime(2026, 1, 30, 15), dt.datetime(2026, 1, 30, 15)),
    (pd.Timestamp("2026-01-30 15:00", tz="Asia/Shanghai"), dt.datetime(2026, 1, 30, 15), dt.datetime(2026, 1, 30, 15)),
    (dt.datetime(2026, 1, 30, 15, tzinfo=TZ), dt.datetime(2026, 1, 30, 15), dt.datetime(2026, 1, 30, 15)),
    (np.datetime64("2026-01-30"), dt.datetime(2026, 1, 30), dt.datetime(2026, 1, 30)),
    (np.datetime64("NaT"), None, None), (dt.date(2026, 1, 30), dt.datetime(2026, 1, 30), dt.datetime(2026, 1, 30)),
    (dt.time(9, 30), dt.time(9, 30), dt.time(9, 30)), (pd.Period("2026-01", "M"), "2026-01", "2026-01"),
    (dt.datetime(9999, 12, 31), dt.datetime(9999, 12, 31), dt.datetime(9999, 12, 31)),
]


@pytest.mark.parametrize("value, table, function", CASES, ids=[repr(c[0]) for c in CASES])
def test_one_cell_rule_per_destination(value, table, function):
    """Workbook tables get 1/0 for booleans (number formats, colour scales, charts read numbers); the Excel
    functions TRUE/FALSE; every other value the same cell in both, through the three entry points."""
    from xladdin.cells import function_cell, to_cell_value
    from xladdin.workbook.plan import to_cell_value as layout_cell  # the rule the layout's planner calls
    from xladdin_udfs._convert import frame_cells
    from xladdin_udfs._errors import clean_output
    for got, want in ((to_cell_value(value), table), (layout_cell(value), table), (function_cell(value), function)):
        assert got == want and type(got) is type(want), (value, got, want)
    assert clean_output([[value, "x"]])[0][0] == function or (value is None and function is None)
    cells = frame_cells(pd.DataFrame({"v": pd.Series([value, "x"], dtype=object)}), index=False).rows()
    assert cells[1][0] == function and type(cells[1][0]) is type(function)


def test_workbook_writes_flags_as_numbers(tmp_path):
    """A boolean column of a workbook table goes through the layout and the openpyxl writer as 1/0 and is
    read back as numbers."""
    from openpyxl import Workbook, load_workbook

    from xladdin.workbook.layout import load_layout
    from xladdin.workbook.openpyxl_writer import OpenpyxlWriter
    from xladdin.workbook.plan import plan_table
    t = load_layout().sheet("style").tables[0]
    df = pd.DataFrame({f: [1.0, 2.0] for f in t.fields})
    df[t.fields[-1]] = np.array([True, False])
    plan = plan_table(t, df, 5, 2, "en")
    assert [r[-1] for r in plan.rows] == [1, 0]
    wb = Workbook()
    writer = OpenpyxlWriter(wb)
    ws = writer.sheet("Style", [], 0)
    writer.write(ws, plan.row, plan.col, [plan.headers] + plan.rows)
    wb.save(tmp_path / "b.xlsx")
    back = load_workbook(tmp_path / "b.xlsx")["Style"]
    last = plan.col + len(plan.fields) - 1
    cells = [back.cell(plan.row + i, last) for i in (1, 2)]
    assert [c.value for c in cells] == [1, 0] and {c.data_type for c in cells} == {"n"}


# ------------------------------------------------------------------------- progress total
@pytest.mark.slow
def test_progress_total_is_what_a_report_reports(tmp_path, sample_market):
    from xladdin.ops.commands._workbook import progress_total
    from xladdin.workbook.layout import load_layout
    from xladdin.workbook.params import default_params
    from xladdin.workbook.report import build_report
    from xladdin.workbook.weekly import STEPS
    steps: list[str] = []
    build_report(tmp_path / "r.xlsx", sample_market, default_params(), progress=steps.append)
    assert len(steps) == progress_total() == len(STEPS) + len(load_layout().sheets)
    assert steps[:len(STEPS)] == [s.name for s in STEPS]


# ------------------------------------------------------------------------- one annualisation table
def test_no_literal_periods_per_year_outside_the_table():
    """252 trading days (and 52 weeks / 12 months as annualisation factors) are written once, in
    xladdin/conventions.py; every other module refers to it."""
    from xladdin.conventions import ANNUALIZATION_FACTORS, DAILY, MONTHLY, WEEKLY
    assert (ANNUALIZATION_FACTORS[DAILY], ANNUALIZATION_FACTORS[WEEKLY], ANNUALIZATION_FACTORS[MONTHLY]) == (252, 52, 12)
    code = re.compile(r"(?<![\w.])252(?![\w.])|periods(?:_per_year)?\s*[:=][^=\n]*\b(?:12|52)\b|\b52\s*\*")
    found = []
    for path in list((ROOT / "xladdin").rglob("*.py")) + list((ROOT / "udfs").glob("*.py")):
        if path.name == "conventions.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = line.split("#", 1)[0]
            if code.search(text) and not text.lstrip().startswith(("*", '"', "'")) and "``" not in text:
                found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not found, "\n".join(found)


def test_yi_has_one_owner():
    import xladdin.methods.holdings as H
    import xladdin.workbook.weekly as W
    from xladdin.conventions import YI
    assert YI == 1e8 and H.YI is YI and W.YI is YI
    import xladdin.methods.dashboard as D
    assert not hasattr(D, "NORTHBOUND_DAILY_END")
