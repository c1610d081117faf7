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


def add_timing_args(parser: argparse.ArgumentParser, cost: float, cost_note: str) -> None:
    """``--lag`` (execution lag, trading days), ``--cost`` (one-way rate) and ``--json`` of a backtest command."""
    from ..backtest import DEFAULT_LAG
    parser.add_argument("--lag", type=int, default=DEFAULT_LAG, metavar="DAYS",
                        help=f"trading days between a decision and its trade (default {DEFAULT_LAG}: data of day t "
                             "trades at t+1's close; 0 trades at the decision close, i.e. with look-ahead)")
    parser.add_argument("--cost", type=float, default=cost, metavar="RATE",
                        help=f"one-way cost on traded value, charged on buys and sells (default {cost:g}: {cost_note})")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one JSON object instead of the tables")


def check_timing(args: argparse.Namespace) -> None:
    if args.lag < 0:
        raise ValueError(f"--lag must be >= 0 trading days, got {args.lag}")
    if not 0 <= args.cost < 1:
        raise ValueError(f"--cost must be a rate in [0, 1), e.g. 0.001 for 0.1%, got {args.cost}")


def plain(value):
    """JSON-ready copy of ``value``: numpy scalars to Python, NaN/inf to None, dates to ISO text."""
    import math

    import numpy as np
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


def print_json(obj) -> None:
    """Print ``obj`` as one JSON object (UTF-8 text kept, NaN as null)."""
    import json
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
