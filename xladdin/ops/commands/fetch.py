"""``xladdin fetch``: download canonical tables from tushare Pro or Wind into a folder.

Example::

    export TUSHARE_TOKEN=...        # never put the token in a file or on the command line
    xladdin fetch --source tushare --out data/ --tables etf_info etf_daily index_daily \\
        --etfs 510300.SH 510310.SH 510330.SH 159919.SZ --indices 000300.SH --start 2016-01-01 --end 2021-06-30

The tables are validated (same checks as ``xladdin validate``) before they are written; problems
are printed and, unless ``--allow-issues``, nothing is written and the exit code is 1.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from xladdin.data.schema import ETF_CATEGORIES, TABLES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fetch`` command."""
    p = subparsers.add_parser(
        "fetch", help="download canonical tables from tushare Pro or Wind",
        description="Fetch canonical tables from a real data source, convert units (shares to units, amounts to "
                    "yuan, weights to fractions), validate them and write <table>.csv (or parquet) to --out. "
                    "tushare reads its token from the TUSHARE_TOKEN environment variable; Wind needs a logged-in "
                    "terminal with WindPy.")
    p.add_argument("--source", required=True, choices=["tushare", "wind"], help="data source")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the tables to (created if needed)")
    p.add_argument("--tables", nargs="+", required=True, metavar="TABLE",
                   help=f"tables to fetch: {', '.join(t for t in TABLES)}")
    etfs = p.add_mutually_exclusive_group()
    etfs.add_argument("--etfs", nargs="+", metavar="CODE", default=[], help="ETF codes with suffix (510300.SH ...)")
    etfs.add_argument("--etf-file", metavar="FILE",
                      help="ETF list: one code per line, or a CSV with an `etf` column and optional "
                           "tracked_index / category / name columns that override the source")
    p.add_argument("--indices", nargs="+", metavar="CODE", default=[],
                   help="index codes for index_daily / index_weights (000300.SH ...)")
    p.add_argument("--industries", nargs="+", metavar="CODE", default=[],
                   help="industry index codes for industry_daily (default: CITIC level 1, CI005001.WI ...)")
    p.add_argument("--funds", nargs="+", metavar="CODE", default=[], help="fund codes for fund_nav")
    p.add_argument("--start", metavar="DATE", help="first date (YYYY-MM-DD)")
    p.add_argument("--end", metavar="DATE", help="last date (YYYY-MM-DD)")
    p.add_argument("--format", dest="fmt", choices=["csv", "parquet"], default="csv", help="file format (csv)")
    p.add_argument("--allow-issues", action="store_true",
                   help="write the tables even when validation finds problems (they are printed)")
    p.set_defaults(func=run)


def read_etf_file(path: str | Path) -> tuple[list[str], pd.DataFrame | None]:
    """ETF codes (and optional overrides) from a list file.

    A file whose first line contains ``etf`` as a comma-separated header is read as CSV (columns
    etf and any of tracked_index, category, name); otherwise each non-empty line not starting
    with ``#`` is one code.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ETF file {path} does not exist")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = [h.strip().lower() for h in lines[0].split(",")] if lines else []
    if "etf" in header:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        df.columns = [c.strip().lower() for c in df.columns]
        df = df.apply(lambda s: s.str.strip())
        df = df[df["etf"] != ""]
        if "category" in df:
            bad = sorted(set(df["category"]) - set(ETF_CATEGORIES) - {""})
            if bad:
                raise ValueError(f"{path}: category {', '.join(bad)} is not one of {', '.join(ETF_CATEGORIES)}")
        keep = [c for c in ("etf", "tracked_index", "category", "name") if c in df.columns]
        overrides = df[keep].replace("", pd.NA) if len(keep) > 1 else None
        return df["etf"].tolist(), overrides
    codes = [ln.split(",")[0].strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not codes:
        raise ValueError(f"{path}: no ETF codes found")
    return codes, None


def make_client(source: str, overrides: pd.DataFrame | None = None):
    """The client for ``--source`` (clear errors when the package or the token is missing)."""
    from xladdin.data.clients import TushareClient, WindClient  # lazy: `xladdin --help` imports every command module
    if source == "tushare":
        return TushareClient.from_env(etf_overrides=overrides)
    if source == "wind":
        return WindClient.from_env(etf_overrides=overrides)
    raise ValueError(f"unknown source `{source}`; use tushare or wind")


def run(args: argparse.Namespace) -> int:
    from xladdin.data.clients import fetch_market  # lazy: `xladdin --help` imports every command module
    from xladdin.data.loaders import validate_market, write_market  # lazy: `fetch --help` starts without the loaders

    unknown = [t for t in args.tables if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    etfs, overrides = (read_etf_file(args.etf_file) if args.etf_file else (list(args.etfs), None))
    client = make_client(args.source, overrides)
    try:
        market = fetch_market(client, args.tables, etfs=etfs, indices=args.indices, start=args.start, end=args.end,
                              industries=args.industries, funds=args.funds)
    except NotImplementedError as exc:
        print(f"xladdin fetch: {exc}")
        return 1
    for note in client.notes:
        print(f"note: {note}")
    issues = validate_market(market)
    if issues:
        print(f"validation: {len(issues)} problem(s)")
        for msg in issues:
            print(f"  - {msg}")
        if not args.allow_issues:
            print("nothing written (use --allow-issues to write anyway)")
            return 1
    written = write_market(market, args.out, fmt=args.fmt)
    summary = market.describe()
    print(f"{market.source}: wrote {len(written)} table(s) to {args.out}")
    for row in summary.itertuples(index=False):
        span = (f"{row.first:%Y-%m-%d} .. {row.last:%Y-%m-%d}"
                if row.first is not None and not pd.isna(row.first) else "")
        print(f"  {row.table:<22}{row.rows:>10,} rows  {span}")
    return 0
