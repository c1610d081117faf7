"""``xladdin update STORE``: keep a local data store current (parquet tables + manifest), atomically.

First run (creates the store)::

    xladdin update data/store --source akshare --tables etf_info etf_daily index_daily \\
        --etfs 510300.SH 510310.SH 510330.SH 159919.SZ --indices 000300.SH --start 2024-01-02

Every later run reads the source, codes and tables from the store's manifest: ``xladdin update data/store``.
Only the days since each table's last date are fetched (plus a small overlap whose revisions are
reported); the union is validated; a failed, refused or interrupted update leaves the store unchanged
(:mod:`xladdin.data.store`). ``refresh``, ``weekly``, ``--data`` and the Parameters sheet's
``data_dir`` read the store as a folder of tables.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xladdin.data.clients import make_client
from xladdin.data.schema import TABLES
from xladdin.data.storefiles import MANIFEST
from xladdin.errors import fail

from . import _common
from ._common import guard_outputs
from .fetch import add_code_arguments, add_source_arguments, etf_codes, source_help


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``update`` command."""
    p = subparsers.add_parser(
        "update", help="bring a local data store up to date (fetches only the new days)",
        description="Fetch what is missing since each table's last date into STORE (a folder of <table>.parquet "
                    "plus manifest.json), re-read a small overlap and report revisions, validate the union and "
                    "commit atomically: a failed or interrupted update leaves the store byte-identical and a long "
                    f"backfill resumes where it stopped. Sources: {source_help()}.")
    p.add_argument("store", metavar="STORE", help="the store folder (created by the first update)")
    add_source_arguments(p, required=False)
    p.add_argument("--tables", nargs="+", metavar="TABLE",
                   help="tables the store keeps (required the first time; default: the store's tables)")
    add_code_arguments(p)
    p.add_argument("--start", metavar="DATE", help="first date of a new table (YYYY-MM-DD)")
    p.add_argument("--end", metavar="DATE", help="last date to fetch (default today)")
    p.add_argument("--overlap", type=int, default=None, metavar="DAYS",
                   help="trading days re-read before each table's last date (default 5)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> tuple[dict, object]:
    """The store settings the command line gives (only those given), and the ETF overrides."""
    etfs, overrides = etf_codes(args)
    settings = {"etfs": etfs, "indices": args.indices, "industries": args.industries, "funds": args.funds,
                "stocks": args.stocks, "start": args.start}
    if overrides is not None:  # kept in the manifest: ETFs new to the store get them too at later updates
        settings["etf_overrides"] = overrides.astype(object).where(overrides.notna(), None).to_dict("records")
    return {k: v for k, v in settings.items() if v}, overrides


def run(args: argparse.Namespace) -> int:
    from xladdin.data.store import (  # lazy: `xladdin --help` imports every command module (the store, the loaders)
        OVERLAP,
        UpdateFailed,
        is_store,
        read_manifest,
        stored_overrides,
        update_store,
    )

    store = Path(args.store)
    guard_outputs(args, [("STORE", store / name) for name in [*(f"{t}.parquet" for t in TABLES), MANIFEST]])
    settings, overrides = settings_from_args(args)
    source = args.source
    if source is None:
        if not is_store(args.store):
            return fail("update", f"{args.store} is not a store yet: give --source, --tables and --start to "
                                  "create it")
        source = read_manifest(args.store)["source"]
    if overrides is None and is_store(args.store):
        overrides = stored_overrides(read_manifest(args.store))
    client = make_client(source, etf_overrides=overrides, timeout=args.timeout)
    try:
        report = update_store(args.store, client, tables=args.tables, settings=settings, end=args.end,
                              overlap=args.overlap if args.overlap is not None else OVERLAP,
                              progress=None if args.no_progress else _bar, notice=_note)
    except UpdateFailed as exc:
        return fail("update", str(exc))
    print(f"updated {report.store} from {report.source}")
    for t in report.tables:
        print(f"  {t.line()}")
    revisions = report.revisions
    if revisions:
        print(f"revised by the source ({len(revisions)}; the new values are kept):")
        for r in revisions[:20]:
            print(f"  {r}")
        if len(revisions) > 20:
            print(f"  ... {len(revisions) - 20} more")
    for note in report.notes:
        print(f"note: {note}")
    return 0


def _bar(table: str):
    return _common.progress_bar(desc=f"{table:<20}", unit=" req", leave=True)


def _note(text: str) -> None:
    print(f"xladdin update: note: {text}", file=sys.stderr)
