"""Shared pieces of the workbook commands (template, report, refresh, weekly): parameter options, progress bar."""
from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from xladdin.workbook.params import ASOF_DEFAULT, LANGUAGES, Params, default_params

from . import _common


def add_asof_option(parser: argparse.ArgumentParser, default: str = ASOF_DEFAULT["en"]) -> None:
    parser.add_argument("--asof", metavar="DATE", help=f"as-of date YYYY-MM-DD (default: {default})")


def add_language_option(parser: argparse.ArgumentParser, what: str = "header language (default zh)") -> None:
    parser.add_argument("--language", choices=LANGUAGES, help=what)


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_param_args(parser: argparse.ArgumentParser, params_file: bool = False) -> None:
    """``--data``, ``--asof``, (``--params FILE``), ``--set KEY=VALUE``, ``--language``, ``--no-progress``."""
    _common.add_data_option(parser, "the parameter data_dir (--set data_dir=DIR"
                                    + (" or --params" if params_file else "") + "), else the embedded sample market")
    add_asof_option(parser)
    if params_file:
        parser.add_argument("--params", metavar="FILE", help="parameters file: .toml, an xladdin workbook's parameters "
                                                             "sheet (.xlsx/.xlsm), or key,value .csv")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help="set a parameter of the parameters sheet, e.g. --set corr_threshold=0.6 (repeatable"
                             + ("; applied after --params)" if params_file else ")"))
    add_language_option(parser)
    add_progress_option(parser)


def add_embed_args(parser: argparse.ArgumentParser) -> None:
    """``--embed-data`` and ``--embed-since DATE`` (template, excel-setup): the workbook carries its data."""
    parser.add_argument("--embed-data", action="store_true",
                        help="carry the tables of --data (default: the embedded sample) in hidden sheets of the "
                             "workbook; its Refresh reads them while data_dir is blank (xlwings Lite reads no local "
                             "folder: this is how it gets your data). A table longer than a sheet (1,048,576 rows) "
                             "is refused with the date it would fit from")
    parser.add_argument("--embed-since", metavar="DATE",
                        help="with --embed-data: only the rows from DATE on (long histories; results that need "
                             "earlier data, such as the backtest, then start later)")


def check_embed_args(args: argparse.Namespace, params: Params) -> None:
    """``--embed-since`` only with ``--embed-data``, a date; no ``data_dir`` beside ``--embed-data`` (the Refresh
    would read that folder, not the tables the workbook carries)."""
    if args.embed_since and not args.embed_data:
        raise ValueError("--embed-since goes with --embed-data")
    _common.parse_date(args.embed_since)
    if args.embed_data and params.data_dir:
        raise ValueError(f"--embed-data: data_dir is set ({params.data_dir}) and the Refresh would read that folder "
                         "instead of the tables the workbook carries; leave data_dir blank to embed")


def parse_set(items: list[str]) -> dict[str, str]:
    """``--set KEY=VALUE`` options as a dict (the values are checked by :mod:`xladdin.workbook.params`)."""
    values = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set `{item}`: use KEY=VALUE, e.g. --set top_n=5")
        k, v = item.split("=", 1)
        values[k.strip()] = v
    return values


def params_from_args(args: argparse.Namespace) -> Params:
    """Defaults, then ``--params FILE`` (``weekly``), then ``--set``, ``--language``, ``--asof``."""
    params = default_params()
    if getattr(args, "params", None):
        from xladdin.ops.jobs import read_params_file  # lazy: `xladdin --help` imports every command module
        params = read_params_file(args.params)
    values = parse_set(args.set)
    if args.language:
        values["language"] = args.language
    if args.asof:
        values["asof"] = args.asof
    return params.replace(**values) if values else params


def progress_total(layout: Any = None) -> int:
    """Steps of a workbook build, report or refresh: one per table group computed
    (:data:`xladdin.workbook.weekly.STEPS`) and one per sheet of the layout rendered."""
    from xladdin.workbook.layout import load_layout  # lazy: `xladdin --help` imports every command module
    from xladdin.workbook.weekly import STEPS  # lazy: `xladdin --help` imports every command module
    return len(STEPS) + len((layout or load_layout()).sheets)


@contextlib.contextmanager
def progress_bar(args: argparse.Namespace, desc: str) -> Iterator:
    """A progress bar on stderr (:func:`~xladdin.ops.commands._common.progress_bar`: on a terminal only); yields a
    callable taking the finished step's name."""
    if getattr(args, "no_progress", False):
        yield None
        return
    with _common.progress_bar(total=progress_total(), desc=desc, unit="step", leave=False) as bar:
        def step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)
        yield step
