"""Options and helpers shared by the CLI commands."""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..market import Market


def add_data_args(parser: argparse.ArgumentParser, dates: bool = True) -> None:
    """``--data DIR`` (default: the embedded sample market) and optionally ``--start/--end``."""
    parser.add_argument("--data", metavar="DIR", help="folder (or .xlsx) of canonical tables; default: the embedded sample market")
    if dates:
        parser.add_argument("--start", metavar="DATE", help="first date used (YYYY-MM-DD)")
        parser.add_argument("--end", metavar="DATE", help="last date used (YYYY-MM-DD)")


def load_data(args: argparse.Namespace, tables: list[str] | None = None) -> Market:
    """The market named by ``--data`` (validated), or the embedded sample; cut to --start/--end."""
    if getattr(args, "data", None):
        from ..data import load_market
        market = load_market(args.data, tables=tables)  # warnings are logged (stderr)
    else:
        from ..sample import sample_market
        market = sample_market()
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


def write_csv(df: pd.DataFrame, path: str | Path, index: bool = False) -> Path:
    """Write ``df`` as UTF-8 CSV (with BOM so Excel opens Chinese text correctly)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=index, encoding="utf-8-sig")
    return path


def print_table(df: pd.DataFrame, title: str | None = None, floatfmt: str = "{:,.4f}") -> None:
    """Print a frame for the terminal with a title line."""
    if title:
        print(f"\n{title}")
    with pd.option_context("display.max_rows", 200, "display.max_columns", 50, "display.width", 200,
                           "display.float_format", floatfmt.format):
        print(df.to_string())
