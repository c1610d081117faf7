"""``xladdin validate DIR``: check a folder of canonical tables."""
from __future__ import annotations

import argparse

from ..data import load_market
from ..errors import ValidationFailed


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check canonical tables (exit 0 when clean)",
                       description="Load every canonical table in DIR (long or Wind-style wide, csv/xlsx/parquet) "
                                   "and check columns, numbers, keys, date order, positive shares/NAV and weight sums. "
                                   "Exits 0 on good data, 1 with one message per problem otherwise.")
    p.add_argument("path", metavar="DIR", help="folder of <table>.csv files, or one .xlsx workbook")
    p.add_argument("--tables", nargs="+", metavar="TABLE", help="only these tables (each must be present)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        market = load_market(args.path, tables=args.tables)
    except ValidationFailed as exc:
        print(f"{args.path}: {len(exc.issues)} problem(s)")
        for msg in exc.issues:
            print(f"  - {msg}")
        return 1
    summary = market.describe()
    print(f"{args.path}: OK, {len(summary)} table(s)")
    for row in summary.itertuples(index=False):
        span = f"{row.first:%Y-%m-%d} .. {row.last:%Y-%m-%d}" if row.first is not None and str(row.first) != "NaT" else ""
        print(f"  {row.table:<22}{row.rows:>10,} rows  {span}")
    return 0
