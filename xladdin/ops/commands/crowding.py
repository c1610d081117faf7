"""``xladdin crowding``: industry crowding of the latest week (Huatai, spec M14)."""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from xladdin.methods import crowding as M

from . import _common, _workbook

#: keys of each ``--json`` object, in order (the issue's contract; ``sample``: the data is the embedded sample)
JSON_KEYS = ("industry", "name", "heat_pct", "divergence", "dispersion_pct", "crowded", "reasons", "sample")
#: reasons that say why an industry is crowded (the others say why a flag is blank)
ON_CODES = frozenset({"heat", "dispersion", *M.DIVERGENCE_KINDS.values()})


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the top-level ``crowding`` command."""
    p = subparsers.add_parser(
        "crowding", help="industry crowding: turnover heat, price-volume divergence, constituent dispersion (M14)",
        description="Per industry on the as-of date: turnover heat (its share of the market's traded amount, else "
                    "volume, 20-day mean, as a percentile of its own trailing history; crowded at the top), "
                    "price-volume divergence (20-day return against the change of the 20-day mean volume: 放量下跌 "
                    "or 缩量上涨) and constituent dispersion (cross-sectional std of the stocks' 20-day returns as "
                    "a percentile of its history; crowded at the bottom: 成分股分化过小). A flag whose input is "
                    "missing is blank with its reason, never 0.")
    _common.add_data_option(p)
    _workbook.add_asof_option(p, "the last industry_daily date; the table is of the last industry date on or before it")
    p.add_argument("--crowding-heat-flag", type=float, default=M.DEFAULT_HEAT_FLAG, metavar="P",
                   help=f"heat percentile at or above which an industry is crowded (default {M.DEFAULT_HEAT_FLAG:g})")
    p.add_argument("--crowding-dispersion-flag", type=float, default=M.DEFAULT_DISPERSION_FLAG, metavar="P",
                   help="dispersion percentile at or below which an industry is crowded (default "
                        f"{M.DEFAULT_DISPERSION_FLAG:g})")
    p.add_argument("--crowding-price-move", type=float, default=M.DEFAULT_PRICE_MOVE, metavar="R",
                   help=f"divergence: 20-day |return| at least this (default {M.DEFAULT_PRICE_MOVE:g})")
    p.add_argument("--crowding-volume-move", type=float, default=M.DEFAULT_VOLUME_MOVE, metavar="R",
                   help=f"divergence: |change| of the mean volume at least this (default {M.DEFAULT_VOLUME_MOVE:g})")
    p.add_argument("--crowding-history", type=int, default=M.DEFAULT_HISTORY, metavar="DAYS",
                   help=f"trading days of each percentile's history (default {M.DEFAULT_HISTORY}; at least "
                        f"{M.DEFAULT_MIN_HISTORY} values or --crowding-history if fewer)")
    p.add_argument("--measure", choices=M.MEASURES, default="auto",
                   help="heat share of the traded amount or volume (default auto: amount when industry_daily has it)")
    _common.add_output_options(p, "write the table (with the 20-day return, volume change and dispersion) as CSV",
                               "the table as a list of objects (industry, name, heat_pct, divergence, "
                               "dispersion_pct, crowded, reasons)", "FILE")
    p.set_defaults(func=run)


#: the tables M14 reads (the others of a folder are not loaded)
TABLES = ("industry_daily", "stock_industry", "stock_daily")


def _tables(data: str | None) -> list[str] | None:
    """The tables of :data:`TABLES` a folder holds (None: a workbook or the sample: load what is there)."""
    folder = Path(data) if data else None
    if folder is None or not folder.is_dir():
        return None
    present = {f.name.split(".")[0] for f in folder.iterdir() if f.is_file()}
    return [t for t in TABLES if t in present] or None


def run(args: argparse.Namespace) -> int:
    asof = _common.parse_date(args.asof)
    market = _common.load_data(argparse.Namespace(data=args.data), tables=_tables(args.data))
    if args.crowding_history < 1:
        raise ValueError(f"--crowding-history must be >= 1 trading day, got {args.crowding_history}")
    res = M.market_crowding(market, asof, measure=args.measure, crowding_history=args.crowding_history,
                            min_history=min(M.DEFAULT_MIN_HISTORY, args.crowding_history),
                            crowding_heat_flag=args.crowding_heat_flag, crowding_price_move=args.crowding_price_move,
                            crowding_volume_move=args.crowding_volume_move,
                            crowding_dispersion_flag=args.crowding_dispersion_flag)
    if args.csv:
        path, = _common.write_csvs(args, {Path(args.csv): (csv_frame(res.table), False)})
    if args.json:
        _common.print_json(json_rows(res.table), sample=market.sample)
        return 0
    crowded = res.table[res.table["crowded"] == 1]
    measure = M.MEASURE_NAMES[res.measure]["en"]
    _common.say_sample(market.sample)
    print(f"Industry crowding (M14) on {res.asof:%Y-%m-%d}, source {market.source}: {len(crowded)} of "
          f"{len(res.table)} industries crowded. Heat = share of the {measure}, 20-day mean, percentile of "
          f"{args.crowding_history} days; percentiles and returns in %."
          + (f" Ends where its inputs do: {res.effective_end.limit.text()}." if res.effective_end.limit else ""))
    _common.print_table(_shown(res.table), floatfmt="{:,.1f}")
    for _, row in crowded.iterrows():
        on = [M.reason_text(r) for r in row["reasons"] if r.code in ON_CODES]
        print(f"{row['industry']} {row['name']}: " + "; ".join(on))
    for note in res.notes:
        print(f"note: {note}")
    if args.csv:
        print(f"wrote {len(res.table)} rows to {path}")
    return 0


def json_rows(table: pd.DataFrame) -> list[dict]:
    """The ``--json`` list: one object per industry with the keys of :data:`JSON_KEYS` but ``sample`` (percentiles 0-1
    or null, divergence kind or null, crowded true/false, reasons in words)."""
    rows = []
    for r in table.itertuples(index=False):
        rows.append({"industry": r.industry, "name": r.name, "heat_pct": r.heat_pct, "divergence": r.divergence,
                     "dispersion_pct": r.dispersion_pct, "crowded": bool(r.crowded == 1),
                     "reasons": [M.reason_text(x) for x in r.reasons]})
    return rows


def csv_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The table for ``--csv``: reasons joined by "; ", crowded 1 / 0 / blank."""
    out = table.copy()
    out["reasons"] = ["; ".join(M.reason_text(x) for x in rs) for rs in table["reasons"]]
    return out


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    out = table[["industry", "name", "heat_pct", "ret", "volume_change", "divergence", "dispersion_pct",
                 "crowded"]].copy()
    for c in ("heat_pct", "ret", "volume_change", "dispersion_pct"):
        out[c] = out[c] * 100
    out["divergence"] = out["divergence"].fillna("")
    out["crowded"] = out["crowded"].map({1.0: "*", 0.0: ""}).fillna("?")
    return out.set_index("industry")
