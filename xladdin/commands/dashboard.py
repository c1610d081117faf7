"""``xladdin dashboard``: the weekly fund-flow dashboard (Sinolink / Zhongtai, spec M13)."""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..dashboard import weekly_dashboard
from . import _common

#: tables printed, with their titles
TITLES = {
    "industry": "Industries: this week",
    "industry_change": "Industries: change against the previous week",
    "broad_index": "Broad indices: this week",
    "broad_index_change": "Broad indices: change against the previous week",
    "etf_category": "ETF net subscriptions by category",
    "flags": "Flags (heat > {heat:.0%} / volatility > {vol:.0%} percentile of the trailing {years:g} years)",
    "top_buys": "Largest net buys",
    "top_sells": "Largest net sells",
}
PCT_COLUMNS = ("return", "margin_net_buy_share", "financing_buy_share", "heat_pct", "volatility", "vol_pct",
               "percentile", "threshold")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the top-level ``dashboard`` command."""
    p = subparsers.add_parser(
        "dashboard", help="weekly fund-flow dashboard (Sinolink/Zhongtai, M13)",
        description="Per industry and per broad index for the week containing --asof: ETF net subscriptions by "
                    "category, northbound net buying (daily holdings only, to 2024-08-16), margin financing net "
                    "buying and its share of turnover, financing-buy share, trading heat and volatility as "
                    "percentiles of their trailing history with flags, the largest net buys and sells, and the "
                    "change against the previous week. Amounts in 亿元; shares and percentiles in %.")
    p.add_argument("--data", metavar="DIR", help="folder (or .xlsx) of canonical tables; default: the embedded sample market")
    p.add_argument("--asof", metavar="DATE", help="a date in the dashboard week (default: the latest date every daily "
                                                  "table covers)")
    p.add_argument("--window-years", type=float, default=3.0, help="percentile history in years (default 3)")
    p.add_argument("--min-years", type=float, default=1.0, help="minimum history for a percentile (default 1)")
    p.add_argument("--vol-window", type=int, default=20, help="realised-volatility window, trading days (default 20)")
    p.add_argument("--heat-flag", type=float, default=0.9, help="heat percentile flag (default 0.9)")
    p.add_argument("--vol-flag", type=float, default=0.8, help="volatility percentile flag (default 0.8)")
    p.add_argument("--top", type=int, default=10, help="rows per source in the net buys / sells (default 10)")
    p.add_argument("--indices", nargs="+", metavar="CODE", help="broad indices (default: tracked by broad ETFs)")
    p.add_argument("--csv", metavar="DIR", help="write every table as DIR/dashboard_<table>.csv (amounts in 亿元)")
    p.add_argument("--json", action="store_true",
                   help="print every table as one JSON object instead of the tables (amounts in 亿元; returns, "
                        "shares, volatility and percentiles as fractions)")
    p.set_defaults(func=run)


def _show(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if c in PCT_COLUMNS:
            out[c] = out[c].astype(float) * 100
        elif out[c].dtype == bool:
            out[c] = out[c].map({True: "*", False: ""})
    return out


def run(args: argparse.Namespace) -> int:
    asof = _common.parse_date(args.asof)
    market = _common.load_data(argparse.Namespace(data=args.data))
    tables = weekly_dashboard(market, asof=asof, window_years=args.window_years,
                              min_years=args.min_years, vol_window=args.vol_window, heat_flag=args.heat_flag,
                              vol_flag=args.vol_flag, top_n=args.top, unit=1e8, indices=args.indices)
    summ = tables["summary"]["value"]
    if args.json:
        _common.print_json(_dashboard_json(tables))
        _write_csv(args, tables)
        return 0
    print(f"Weekly fund-flow dashboard (M13): week ending {summ['week_end']} ({summ['trading_days_in_week']} trading "
          f"days; previous week {summ['previous_week_end']}), source {summ['source']}. Amounts in 亿元; return, "
          f"shares, volatility and percentiles in %; percentiles over {summ['percentile_window_weeks']} weeks.")
    for key, title in TITLES.items():
        t = tables[key]
        title = title.format(heat=args.heat_flag, vol=args.vol_flag, years=args.window_years)
        if t.empty:
            print(f"\n{title}\n(none)")
            continue
        _common.print_table(_show(t), title, floatfmt="{:,.2f}")
    for n in tables["notes"]["note"]:
        print(f"note: {n}")
    if _write_csv(args, tables):
        print(f"wrote {len(tables)} CSV files to {args.csv}")
    return 0


#: tables without a meaningful index (the rest are keyed by code, category or item)
UNINDEXED = ("top_buys", "top_sells", "flags", "notes")


def _write_csv(args: argparse.Namespace, tables: dict[str, pd.DataFrame]) -> bool:
    if not args.csv:
        return False
    out = Path(args.csv)
    for key, t in tables.items():
        _common.write_csv(t, out / f"dashboard_{key}.csv", index=key not in UNINDEXED)
    return True


def _dashboard_json(tables: dict[str, pd.DataFrame]) -> dict:
    """The ``--json`` object: ``summary`` (item -> value), ``notes`` (list), every other table as records
    (the index, e.g. ``code``, as the first field)."""
    out = {"summary": tables["summary"]["value"].to_dict(), "notes": list(tables["notes"]["note"])}
    for key, t in tables.items():
        if key in ("summary", "notes"):
            continue
        frame = t if key in UNINDEXED else t.reset_index()
        out[key] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return out
