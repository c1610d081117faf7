"""Options and helpers shared by the CLI commands.

Flag names: a flag that sets a parameter of the weekly workbook's parameters sheet is named after
that parameter, ``_`` written ``-`` (``--top-n`` sets what ``top_n`` sets); the one exception is
``--data`` (the sheet's ``data_dir``), which also takes a workbook. An old spelling is kept for one
release by :func:`add_option` / :func:`add_deprecated_alias`: it still works, prints a note on
stderr and is hidden from ``--help``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xladdin.data.market import Market
from xladdin.data.sources import data_files
from xladdin.fileguard import atomic_write_with, check_outputs

#: the first line of a command's human output when its data is the embedded sample (``Market.sample``); its
#: ``--json`` says the same in the field ``sample`` (true / false)
SAMPLE_NOTE = ("SAMPLE DATA (示例数据): the figures below come from the embedded synthetic sample market, not market "
               "data; do not use them for decisions or send them on")

#: what the notes of the old flag spellings promise
DEPRECATION_NOTE = "{prog}: note: {old} is deprecated and will be removed in the next release; use {new}"


class DeprecatedAlias(argparse.Action):
    """An old spelling of an option: sets the new option's value, prints a note on stderr, hidden from --help."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str, nargs: Any = None, const: Any = None,
                 **kwargs: Any) -> None:
        kwargs.pop("default", None)
        kwargs.pop("help", None)
        super().__init__(option_strings, dest, nargs=nargs, const=const, default=argparse.SUPPRESS,
                         help=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(DEPRECATION_NOTE.format(prog=parser.prog, old=option_string, new=self.new), file=sys.stderr)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def add_deprecated_alias(parser: argparse.ArgumentParser, old: str, new: str, dest: str, **kwargs: Any) -> None:
    """Accept ``old`` for one release as a spelling of ``new`` (same ``dest``; ``nargs=0, const=...`` for a
    switch; ``type``, ``nargs``, ``choices``, ``metavar`` as the new option's)."""
    parser.add_argument(old, dest=dest, action=DeprecatedAlias, new=new, **kwargs)


def setting_type(flag: str, base: Any) -> Any:
    """The ``type`` of a flag named after a numeric setting (``--hp-lambda`` is ``hp_lambda``): the value read as
    the parameters sheet and ``--set`` read it, in the same range (``params.coerce_value``); ``base`` for any
    other flag. The settings are looked up when a value is converted, not at start-up."""
    key = flag.lstrip("-").replace("-", "_")

    def convert(text: str) -> Any:
        from xladdin.workbook.params import SPEC_BY_KEY, ParamError, coerce_value  # lazy: CLI start-up (pandas)
        spec = SPEC_BY_KEY.get(key)
        if spec is None or spec.kind not in ("int", "float"):
            return base(text)
        try:
            return coerce_value(spec, text, flag)
        except ParamError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(base, "__name__", "value")  # argparse's "invalid int value" for a ValueError
    return convert


def add_option(parser: argparse.ArgumentParser, flag: str, *old: str, **kwargs: Any) -> argparse.Action:
    """``parser.add_argument(flag, **kwargs)``, and each spelling in ``old`` as a deprecated alias of it. A flag
    named after a numeric setting takes the setting's range (:func:`setting_type`)."""
    if kwargs.get("type") in (int, float):
        kwargs["type"] = setting_type(flag, kwargs["type"])
    action = parser.add_argument(flag, **kwargs)
    same = {k: kwargs[k] for k in ("type", "nargs", "choices", "metavar") if k in kwargs}
    for spelling in old:
        add_deprecated_alias(parser, spelling, flag, action.dest, **same)
    return action


def add_group(subparsers: argparse._SubParsersAction, name: str, dest: str, **kwargs: Any) -> argparse._SubParsersAction:
    """A command that groups sub-commands (``backtest``, ``study``); without one it prints its help, exit 2.
    Returns the group's subparsers; ``kwargs`` go to ``add_parser`` (help, description)."""
    parser = subparsers.add_parser(name, **kwargs)
    sub = parser.add_subparsers(dest=dest, metavar=dest.upper())
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    return sub


def add_data_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, default: str = "the embedded sample "
                    "market") -> None:
    """``--data DIR``: the folder (or workbook) of canonical tables; ``default`` says what is used without it."""
    parser.add_argument("--data", metavar="DIR", help=f"folder (or .xlsx) of canonical tables; default: {default}")


def add_output_options(parser: argparse.ArgumentParser, csv: str, json: str, csv_metavar: str = "DIR",
                       *old_csv: str) -> None:
    """``--csv FILE|DIR`` (``csv``: what it writes; ``old_csv``: deprecated spellings) and ``--json`` (``json``:
    what the object holds, printed instead of the tables), the same two flags in every command."""
    add_option(parser, "--csv", *old_csv, metavar=csv_metavar, help=csv)
    parser.add_argument("--json", action="store_true", help=f"print {json} as one JSON object instead of the tables")


def add_data_args(parser: argparse.ArgumentParser, dates: bool = True, start: str | None = None,
                  start_note: str = "") -> None:
    """``--data DIR`` (default: the embedded sample market) and optionally ``--start/--end`` (``start``: the
    default first date, ``start_note`` says whose it is; none: the data's first date)."""
    add_data_option(parser)
    if dates:
        default = f"; default {start}{start_note}" if start else ""
        parser.add_argument("--start", metavar="DATE", default=start, help=f"first date used (YYYY-MM-DD{default})")
        parser.add_argument("--end", metavar="DATE", help="last date used (YYYY-MM-DD)")


def load_data(args: argparse.Namespace, tables: list[str] | None = None) -> Market:
    """The market named by ``--data`` (validated; ``tables``: only these), or the embedded sample
    (:func:`xladdin.data.open_market`); cut to --start/--end."""
    from xladdin.data.loaders import open_market  # lazy: `xladdin --help` imports every command module
    market = open_market(getattr(args, "data", None), tables=tables)  # warnings are logged (stderr)
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    if start or end:
        market = market.subset(start, end)
    return market


def parse_date(text: str | None) -> pd.Timestamp | None:
    if text is None:
        return None
    try:
        return pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"`{text}` is not a date; use YYYY-MM-DD") from exc


#: options naming a file a command reads, and how a message names it
INPUT_OPTIONS = {"params": "the --params file", "config": "the --config file", "cafile": "the --cafile file",
                 "etf_file": "the --etf-file file", "report": "the report REPORT", "workbook": "the workbook WORKBOOK"}


def input_files(args: argparse.Namespace, data_dir: Any = None) -> list[tuple[str, Path]]:
    """(what, path) of every file a command reads: the table files of ``--data`` (else of ``data_dir``, the
    parameter), and the files of :data:`INPUT_OPTIONS` it was given."""
    data = getattr(args, "data", None) or data_dir
    files = [(f"the data file {p.name} of {'--data' if getattr(args, 'data', None) else 'data_dir'}", p)
             for p in data_files(data)]
    for option, what in INPUT_OPTIONS.items():
        value = getattr(args, option, None)
        if isinstance(value, (str, Path)) and value:
            files.append((what, Path(value)))
    return files


def guard_outputs(args: argparse.Namespace, outputs: Iterable[tuple[str, str | Path | None]], data_dir: Any = None,
                  ) -> None:
    """Refuse (before anything is written) an output that names one of the command's inputs or another
    output (:func:`xladdin.fileguard.check_outputs`)."""
    check_outputs([(w, p) for w, p in outputs if p], input_files(args, data_dir))


def write_csvs(args: argparse.Namespace, files: Mapping[Path, tuple[pd.DataFrame, bool]]) -> list[Path]:
    """Write ``path -> (table, index)`` as CSV (:func:`write_csv`) once none of the paths names an input
    of the command or another of them (:func:`guard_outputs`); returns the paths."""
    guard_outputs(args, [("--csv", p) for p in files])
    return [write_csv(df, p, index=index) for p, (df, index) in files.items()]


def write_csv(df: pd.DataFrame, path: str | Path, index: bool = False) -> Path:
    """Write ``df`` as UTF-8 CSV (with BOM so Excel opens Chinese text correctly), atomically: a failed
    write leaves the previous file (:func:`xladdin.fileguard.atomic_write_with`)."""
    return atomic_write_with(path, lambda tmp: df.to_csv(tmp, index=index, encoding="utf-8-sig"))


def print_table(df: pd.DataFrame, title: str | None = None, floatfmt: str = "{:,.4f}") -> None:
    """Print a frame for the terminal with a title line."""
    if title:
        print(f"\n{title}")
    with pd.option_context("display.max_rows", 200, "display.max_columns", 50, "display.width", 200,
                           "display.float_format", floatfmt.format):
        print(df.to_string())


def add_timing_args(parser: argparse.ArgumentParser, cost: float, cost_note: str, cost_flag: str = "--cost",
                    *old_cost: str) -> None:
    """``--lag`` (execution lag, trading days) and the one-way cost rate (``cost_flag``, named after its
    parameter: ``--cost`` / ``--etf-cost``, stored under that name; ``old_cost``: deprecated spellings) of a
    backtest command."""
    from xladdin.methods.backtest import (
        DEFAULT_LAG,  # lazy: `style --help` and `validate --help` start without the methods
    )
    parser.add_argument("--lag", type=int, default=DEFAULT_LAG, metavar="DAYS",
                        help=f"trading days between a decision and its trade (default {DEFAULT_LAG}: data of day t "
                             "trades at t+1's close; 0 trades at the decision close, i.e. with look-ahead)")
    add_option(parser, cost_flag, *old_cost, type=float, default=cost, metavar="RATE",
               help=f"one-way cost on traded value, charged on buys and sells (default {cost:g} = "
                    f"{cost:.1%}: {cost_note})".replace("%", "%%"))


def check_timing(args: argparse.Namespace, cost_flag: str = "--cost") -> float:
    """Check ``--lag`` and the cost rate (``cost_flag``); returns the rate."""
    cost = getattr(args, cost_flag[2:].replace("-", "_"))
    if args.lag < 0:
        raise ValueError(f"--lag must be >= 0 trading days, got {args.lag}")
    if not 0 <= cost < 1:
        raise ValueError(f"{cost_flag} must be a rate in [0, 1), e.g. 0.001 for 0.1%, got {cost}")
    return cost


def plain(value):
    """JSON-ready copy of ``value``: numpy scalars to Python, NaN/inf to None, dates to ISO text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (pd.Timestamp,)):
        return None if pd.isna(value) else value.strftime("%Y-%m-%d")
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    return value


def progress_bar(**options: Any):
    """A tqdm progress bar on stderr, drawn only when stderr is a terminal (tqdm's ``disable=None``): a pipe, a log
    file, cron or CI get no bar (no carriage returns in the log); ``options`` as for tqdm (desc, total, unit, ...)."""
    from tqdm import tqdm  # lazy: `xladdin --help` imports every command module
    return tqdm(file=sys.stderr, disable=None, **options)


def say_sample(sample: bool) -> None:
    """Print :data:`SAMPLE_NOTE` when the data is the embedded sample (call it before the rest of the output)."""
    if sample:
        print(SAMPLE_NOTE)


def print_json(obj, *, sample: bool) -> None:
    """Print ``obj`` as one JSON object (UTF-8 text kept, NaN as null) with the field ``sample`` first: true
    when the data is the embedded sample (``Market.sample``); a list gets the field in each of its objects."""
    if isinstance(obj, dict):
        obj = {"sample": bool(sample), **obj}
    elif isinstance(obj, list):
        obj = [{**o, "sample": bool(sample)} if isinstance(o, dict) else o for o in obj]
    print(json.dumps(plain(obj), ensure_ascii=False, indent=1, allow_nan=False))


def year_rows(net: pd.DataFrame, gross: pd.DataFrame | None = None) -> list[dict]:
    """Rows of an M12 table (net, optionally gross) as records: one per period, part years labelled.

    Keys per row: ``period`` (e.g. "2019 (from 10-08)"), ``part_year``, ``days``, every column of the
    net table (``annual_return`` = the period's return; annualised on the full period) and, with
    ``gross``, ``annual_return_gross``, ``annualised_return_gross``, ``excess_return_gross``,
    ``annualised_excess_gross``.
    """
    rows = []
    for label, r in net.iterrows():
        row = {"period": str(label), **{c: r[c] for c in net.columns}}
        row["part_year"] = bool(r.get("part_year", 0.0) == 1.0)
        row["days"] = int(r["days"]) if pd.notna(r.get("days")) else None
        if gross is not None and label in gross.index:
            g = gross.loc[label]
            for c in ("annual_return", "annualised_return", "excess_return", "annualised_excess"):
                if c in gross.columns:
                    row[f"{c}_gross"] = g[c]
        rows.append(row)
    return rows
