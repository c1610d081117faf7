"""``xladdin dashboard``: the weekly fund-flow dashboard (Sinolink / Zhongtai, spec M13)."""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from xladdin.conventions import YI
from xladdin.methods.dashboard import (
    DEFAULT_HEAT_FLAG,
    DEFAULT_HEAT_YEARS,
    DEFAULT_MIN_YEARS,
    DEFAULT_TOP_ROWS,
    DEFAULT_VOL_FLAG,
    DEFAULT_VOL_WINDOW,
    weekly_dashboard,
)

from . import _common, _workbook

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
    _common.add_data_option(p)
    _workbook.add_asof_option(p, "the latest date every daily table covers; any date of the week shows that week")
    _common.add_option(p, "--heat-years", "--window-years", type=float, default=DEFAULT_HEAT_YEARS, metavar="YEARS",
                       help=f"trailing years of the heat and volatility percentiles (default {DEFAULT_HEAT_YEARS:g})")
    p.add_argument("--min-years", type=float, default=DEFAULT_MIN_YEARS, metavar="YEARS",
                   help=f"minimum history for a percentile (default {DEFAULT_MIN_YEARS:g})")
    p.add_argument("--vol-window", type=int, default=DEFAULT_VOL_WINDOW, metavar="DAYS",
                   help=f"realised-volatility window, trading days (default {DEFAULT_VOL_WINDOW})")
    p.add_argument("--heat-flag", type=float, default=DEFAULT_HEAT_FLAG, metavar="P",
                   help=f"heat percentile flag (default {DEFAULT_HEAT_FLAG:g})")
    p.add_argument("--vol-flag", type=float, default=DEFAULT_VOL_FLAG, metavar="P",
                   help=f"volatility percentile flag (default {DEFAULT_VOL_FLAG:g})")
    _common.add_option(p, "--top-rows", "--top", type=int, default=DEFAULT_TOP_ROWS, metavar="N",
                       help=f"rows per source in the largest net buys / sells (default {DEFAULT_TOP_ROWS})")
    p.add_argument("--indices", nargs="+", metavar="CODE", help="broad indices (default: tracked by broad ETFs)")
    _common.add_output_options(p, "write every table as DIR/dashboard_<table>.csv (amounts in 亿元)",
                               "every table (amounts in 亿元; returns, shares, volatility and percentiles as fractions)")
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
    tables = weekly_dashboard(market, asof=asof, heat_years=args.heat_years,
                              min_years=args.min_years, vol_window=args.vol_window, heat_flag=args.heat_flag,
                              vol_flag=args.vol_flag, top_rows=args.top_rows, unit=YI, indices=args.indices)
    summ = tables["summary"]["value"]
    if args.json:
        _common.print_json(_dashboard_json(tables), sample=market.sample)
        _write_csv(args, tables)
        return 0
    _common.say_sample(market.sample)
    print(f"Weekly fund-flow dashboard (M13): week ending {summ['week_end']} ({summ['trading_days_in_week']} trading "
          f"days; previous week {summ['previous_week_end']}), source {summ['source']}. Amounts in 亿元; return, "
          f"shares, volatility and percentiles in %; percentiles over {summ['percentile_window_weeks']} weeks."
          + (f" Ends where its inputs do: {summ['effective_end_limit']}." if summ.get("effective_end_limit") else ""))
    for key, title in TITLES.items():
        t = tables[key]
        title = title.format(heat=args.heat_flag, vol=args.vol_flag, years=args.heat_years)
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
    _common.write_csvs(args, {out / f"dashboard_{key}.csv": (t, key not in UNINDEXED) for key, t in tables.items()})
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
