"""``xladdin fetch``: download canonical tables from a data source (AKShare, tushare Pro, Wind) into a folder.

Example::

    xladdin fetch --source akshare --out data/ --tables etf_info etf_daily index_daily \\
        --etfs 510300.SH 510310.SH 510330.SH 159919.SZ --indices 000300.SH --start 2024-01-01 --end 2024-06-30

The sources, their ``--source`` names and help come from the one registry,
:data:`xladdin.data.clients.SOURCES`. The tables are validated (same checks as ``xladdin validate``)
before they are written; problems are printed and, unless ``--allow-issues``, nothing is written and
the exit code is 1. The tables are written together: a write that fails (a full disk, a file-size limit)
leaves every file in ``--out`` as it was.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from xladdin.data.clients import SOURCES, fetch_market, make_client as build_client
from xladdin.data.schema import ETF_CATEGORIES, TABLES
from xladdin.errors import fail
from xladdin.fileguard import NoSpace

from ._common import guard_outputs


def source_help() -> str:
    """One line per registered source: name, what it is, what it needs."""
    return "; ".join(f"{s.name}: {s.summary} (needs {s.needs})" for s in SOURCES.values())


def add_source_arguments(p: argparse.ArgumentParser, required: bool = True) -> None:
    """--source (choices from the registry) and --timeout: shared by ``fetch`` and ``update``."""
    p.add_argument("--source", required=required, choices=list(SOURCES), help=f"data source: {source_help()}")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="seconds any one request may wait for the host before it is retried and, after the last "
                        "retry, refused (akshare default 30; tushare's own 30; Wind has no setting)")


def add_code_arguments(p: argparse.ArgumentParser) -> None:
    """The code lists of the tables: --etfs/--etf-file, --indices, --industries, --funds, --stocks."""
    etfs = p.add_mutually_exclusive_group()
    etfs.add_argument("--etfs", nargs="+", metavar="CODE", default=[],
                      help="ETF codes with suffix (510300.SH ...), or ALL for every ETF the exchanges list (akshare)")
    etfs.add_argument("--etf-file", metavar="FILE",
                      help="ETF list: one code per line, or a CSV with an `etf` column and optional "
                           "tracked_index / category / name columns that override the source")
    p.add_argument("--indices", nargs="+", metavar="CODE", default=[],
                   help="index codes for index_daily / index_weights (000300.SH ...)")
    p.add_argument("--industries", nargs="+", metavar="CODE", default=[],
                   help="industry index codes for industry_daily (default: those of stock_industry when fetched, "
                        "else CITIC level 1, CI005001.WI ...; akshare: Shenwan level 1, 801010.SI ...)")
    p.add_argument("--funds", nargs="+", metavar="CODE", default=[],
                   help="fund codes for fund_nav / active_fund_holdings (000001.OF ...)")
    p.add_argument("--stocks", nargs="+", metavar="CODE", default=[],
                   help="stock codes for stock_daily / northbound_holdings (akshare fetches one stock per request; "
                        "default: the stocks of stock_industry when fetched)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fetch`` command."""
    p = subparsers.add_parser(
        "fetch", help="download canonical tables from a data source (akshare, tushare, wind)",
        description="Fetch canonical tables from a real data source, convert units (shares to units, amounts to "
                    "yuan, weights to fractions), validate them and write <table>.csv (or parquet) to --out. "
                    f"Sources: {source_help()}.")
    add_source_arguments(p)
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the tables to (created if needed)")
    p.add_argument("--tables", nargs="+", required=True, metavar="TABLE",
                   help=f"tables to fetch: {', '.join(t for t in TABLES)}")
    add_code_arguments(p)
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


def make_client(source: str, overrides: pd.DataFrame | None = None, timeout: float | None = None):
    """The client for ``--source`` from the registry (clear errors when the package or the token is missing)."""
    return build_client(source, etf_overrides=overrides, timeout=timeout)


def etf_codes(args: argparse.Namespace) -> tuple[list[str] | str, pd.DataFrame | None]:
    """The ETF codes (``"ALL"`` for the whole universe) and the overrides of ``--etfs`` / ``--etf-file``."""
    if getattr(args, "etf_file", None):
        return read_etf_file(args.etf_file)
    codes = list(args.etfs or [])
    if [c.upper() for c in codes] == ["ALL"]:
        return "ALL", None
    return codes, None


def run(args: argparse.Namespace) -> int:
    from xladdin.data.loaders import validate_market, write_market  # lazy: `fetch --help` starts without the loaders

    unknown = [t for t in args.tables if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    guard_outputs(args, [("--out", Path(args.out) / f"{t}.{args.fmt}") for t in args.tables])
    etfs, overrides = etf_codes(args)
    client = make_client(args.source, overrides, timeout=args.timeout)
    try:
        market = fetch_market(client, args.tables, etfs=etfs, indices=args.indices, start=args.start, end=args.end,
                              industries=args.industries, funds=args.funds, stocks=args.stocks)
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
    try:
        written = write_market(market, args.out, fmt=args.fmt)
    except NoSpace as exc:  # the tables are written together: none of them was replaced
        return fail("fetch", str(exc), f"no table was written to {args.out}")
    summary = market.describe()
    print(f"{market.source}: wrote {len(written)} table(s) to {args.out}")
    for row in summary.itertuples(index=False):
        span = (f"{row.first:%Y-%m-%d} .. {row.last:%Y-%m-%d}"
                if row.first is not None and not pd.isna(row.first) else "")
        print(f"  {row.table:<22}{row.rows:>10,} rows  {span}")
    return 0
