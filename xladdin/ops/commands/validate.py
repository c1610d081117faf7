"""``xladdin validate DIR``: check a folder of canonical tables."""
from __future__ import annotations

import argparse

from xladdin.data.loaders import load_market
from xladdin.data.schema import TABLES
from xladdin.errors import ValidationFailed

from . import _common


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check canonical tables (exit 0 when there is no error)",
                       description="Load every canonical table in DIR (long or Wind-style wide, csv/xlsx/parquet; "
                                   "CSV in UTF-8, GBK/GB18030 or UTF-16) and check columns, numbers, dates (format, "
                                   "time of day, after today, weekends, exchange holidays), codes, keys, date order, "
                                   "positive shares/NAV, weight sums and codes against etf_info / stock_industry. "
                                   "Errors and warnings are listed apart, each with file, row and column. Exits 0 "
                                   "when there is no error (warnings alone), 1 otherwise.")
    p.add_argument("path", metavar="DIR", help="folder of <table>.csv files, or one .xlsx workbook")
    p.add_argument("--tables", nargs="+", metavar="TABLE", help="only these tables (each must be present)")
    p.set_defaults(func=run)


def _print_warnings(warnings: list[str]) -> None:
    if warnings:
        print(f"{len(warnings)} warning(s):")
        for msg in warnings:
            print(f"  - {msg}")


def run(args: argparse.Namespace) -> int:
    try:
        market = load_market(args.path, tables=args.tables, log_warnings=False)  # listed below
    except ValidationFailed as exc:
        print(f"{args.path}: {len(exc.issues)} problem(s)")
        for msg in exc.issues:
            print(f"  - {msg}")
        _print_warnings(getattr(exc, "warnings", []))
        return 1
    present = [t for t in TABLES if t in market.tables]
    warned = f", {len(market.warnings)} warning(s)" if market.warnings else ""
    _common.say_sample(market.sample)
    print(f"{args.path}: OK, {len(present)} table(s){warned}")
    for name in present:
        df = market.tables[name]
        first, last = market.first_date(name), market.last_date(name)
        span = f"{first:%Y-%m-%d} .. {last:%Y-%m-%d}" if first is not None else ("no rows" if df.empty else "")
        print(f"  {name:<22}{len(df):>10,} rows  {span}")
    _print_warnings(market.warnings)
    return 0
