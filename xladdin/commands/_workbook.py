"""Shared pieces of the workbook commands (template, refresh, report): parameter options, progress bar."""
from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Iterator

from ..params import LANGUAGES, Params, default_params

#: steps reported by compute_weekly (8) plus one per layout sheet (10)
PROGRESS_TOTAL = 18


def add_param_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", help="folder (or .xlsx) of canonical tables; default: the embedded "
                                                      "sample market")
    parser.add_argument("--asof", metavar="DATE", help="as-of date YYYY-MM-DD (default: the data's last ETF date)")
    parser.add_argument("--language", choices=LANGUAGES, help="header language (default zh)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help="set a parameter of the parameters sheet, e.g. --set corr_threshold=0.6 (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_set(items: list[str]) -> dict[str, str]:
    """``--set KEY=VALUE`` options as a dict (the values are checked by :mod:`xladdin.params`)."""
    values = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set `{item}`: use KEY=VALUE, e.g. --set top_n=5")
        k, v = item.split("=", 1)
        values[k.strip()] = v
    return values


def params_from_args(args: argparse.Namespace) -> Params:
    values = parse_set(args.set)
    p = default_params().replace(**values) if values else default_params()
    if args.language:
        p = p.replace(language=args.language)
    if args.asof:
        p = p.replace(asof=args.asof)
    return p


@contextlib.contextmanager
def progress_bar(args: argparse.Namespace, desc: str) -> Iterator:
    """A tqdm bar on stderr; yields a callable taking the finished step's name."""
    if getattr(args, "no_progress", False):
        yield None
        return
    from tqdm import tqdm
    with tqdm(total=PROGRESS_TOTAL, desc=desc, unit="step", file=sys.stderr, leave=False) as bar:
        def step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)
        yield step
