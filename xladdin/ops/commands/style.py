"""``xladdin style``: weekly size and growth/value style signals (Huafu, spec M4-M5)."""
from __future__ import annotations

import argparse
from pathlib import Path

from xladdin.data.market import MissingTableError
from xladdin.methods.style import (
    DEFAULT_LAMBDA,
    STYLE_PAIRS,
    report_agreement,
    report_style_table,
    style_end,
    weekly_style_table,
)

from . import _common

PAIR_CHOICES = {"size": ("size",), "growth": ("growth",), "both": ("size", "growth")}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "style", help="weekly size / growth-value style signals (one-sided HP + factor momentum, M4-M5)",
        description="Weekly, on each week's last trading day: ratio of CSI 300 / CSI 1000 (size) and "
                    "399370 / 399371 (growth/value) closes, its one-sided HP trend (no future data), the factor "
                    "momentum trend_t - (trend_t-1 + trend_t-2)/2, the regime (1 = large-cap / growth leads) and "
                    "the realised style of that week (1 = large / growth beat small / value). The filter runs "
                    "over all history up to --end; --start only selects the rows shown.")
    _common.add_data_args(p)
    _common.add_option(p, "--hp-lambda", "--lambda", type=float, default=DEFAULT_LAMBDA, metavar="L",
                       help=f"one-sided HP smoothing parameter (default {DEFAULT_LAMBDA:g}: the lambda that "
                            "reproduces the report's weekly size signals on real data)")
    p.add_argument("--pair", choices=list(PAIR_CHOICES), default="both",
                   help="size (CSI 300 / CSI 1000), growth (399370 / 399371) or both (default)")
    p.add_argument("--last", type=int, default=26, metavar="N",
                   help="without --start, print only the last N weeks (default 26; the CSV gets every week)")
    p.add_argument("--vs-report", action="store_true",
                   help="put the report's published signals (seed 003, 2025-09-05..2026-01-30) beside ours")
    p.add_argument("--scan", type=float, nargs="+", metavar="L",
                   help="instead of the table: for each lambda, how many report weeks the regime reproduces")
    _common.add_output_options(p, "write the weekly table (date + every column) as CSV",
                               "the weeks shown (with the report's columns and the agreement counts under "
                               "--vs-report), or the --scan rows", "FILE")
    p.set_defaults(func=run)


def _load(args: argparse.Namespace):
    """Market with all history up to --end (the filter is one-sided; --start only cuts rows)."""
    ns = argparse.Namespace(**{**vars(args), "start": None, "end": None})
    market = _common.load_data(ns, tables=["index_daily"] if getattr(args, "data", None) else None)
    end = _common.parse_date(args.end)
    return market.subset(None, end) if end is not None else market


def run(args: argparse.Namespace) -> int:
    pairs = PAIR_CHOICES[args.pair]
    start = _common.parse_date(args.start)
    market = _load(args)
    if not args.json:
        _common.say_sample(market.sample)
    try:
        if args.scan:
            scans = {pair: report_agreement(market, args.scan, pair=pair, start=start) for pair in pairs}
            if args.json:
                _common.print_json({"source": str(market.source), "scan": {p: t.to_dict("records")
                                                                           for p, t in scans.items()}},
                                   sample=market.sample)
                return 0
            for pair, scan in scans.items():
                _common.print_table(scan.set_index("lamb"), title=f"{pair}: report weeks reproduced per lambda",
                                    floatfmt="{:g}")
            return 0
        table = weekly_style_table(market, hp_lambda=args.hp_lambda, pairs=pairs, start=start)
    except MissingTableError as exc:
        hint = " (use --pair size)" if args.pair == "both" else ""
        raise MissingTableError(f"{exc}{hint}") from exc
    if table.empty:
        raise ValueError("no week in the selected dates; widen --start/--end")
    if args.csv:
        path, = _common.write_csvs(args, {Path(args.csv): (table, True)})
        if not args.json:
            print(f"wrote {len(table)} weeks to {path}")
    shown = table if start is not None else table.tail(args.last)
    view = shown.copy()
    if args.vs_report:
        report = report_style_table()
        for pair in pairs:
            for field in ("regime", "realised"):
                view[f"{pair}_{field}_report"] = report[f"{pair}_{field}"].reindex(view.index)
    ends = {pair: style_end(market, pair, table.index.max()) for pair in pairs}
    if args.json:
        _common.print_json(_style_json(args, market, pairs, table, view)
                           | {"effective_end": {pair: e.as_dict() for pair, e in ends.items()}}, sample=market.sample)
        return 0
    view.index = view.index.strftime("%Y-%m-%d")
    names = ", ".join(f"{p}: {STYLE_PAIRS[p][2]}" for p in pairs)
    _common.print_table(view, title=f"Weekly style signals, lambda = {args.hp_lambda:g} ({names}); source {market.source}",
                        floatfmt="{:.6f}")
    for pair, e in ends.items():
        if e.limit is not None:
            print(f"{pair}: no signal after {e.end:%Y-%m-%d} (ends where its inputs do: {e.limit.text()})")
    if args.vs_report and market.sample:
        print("note: the embedded sample market is synthetic; its agreement with the report's table means nothing")
    for pair in pairs:
        regime = table[f"{pair}_regime"].dropna()
        if not regime.empty:
            label = {"size": ("large-cap", "small-cap"), "growth": ("growth", "value")}[pair]
            print(f"{pair}: latest regime {int(regime.iloc[-1])} ({label[0] if regime.iloc[-1] == 1 else label[1]} "
                  f"leads) on {regime.index[-1]:%Y-%m-%d}")
        if args.vs_report:
            for field, (ok, weeks) in _agreement(table, pair).items():
                print(f"{pair} {field}: {ok} of {weeks} report weeks agree")
    return 0


def _agreement(table, pair: str) -> dict[str, tuple[int, int]]:
    """Per field (regime, realised): (weeks agreeing with the report's table, report weeks in the data)."""
    report = report_style_table()
    common = report.index.intersection(table.index)
    out = {}
    for field in ("regime", "realised"):
        ours, theirs = table.loc[common, f"{pair}_{field}"], report.loc[common, f"{pair}_{field}"]
        out[field] = (int((ours == theirs).sum()), len(common))
    return out


def _style_json(args: argparse.Namespace, market, pairs: tuple[str, ...], table, view) -> dict:
    """The ``--json`` object: settings, each pair's latest regime, the weeks shown (report columns under
    --vs-report, null where the report has no row) and, under --vs-report, the agreement counts."""
    out = {"source": str(market.source), "hp_lambda": args.hp_lambda, "pairs": list(pairs), "latest": {}}
    for pair in pairs:
        regime = table[f"{pair}_regime"].dropna()
        out["latest"][pair] = ({"date": regime.index[-1], "regime": int(regime.iloc[-1])}
                               if not regime.empty else None)
    rows = view.astype(object).where(view.notna(), None).reset_index()
    out["weeks"] = rows.to_dict("records")
    if args.vs_report:
        out["agreement"] = {pair: {field: {"agree": ok, "weeks": weeks}
                                   for field, (ok, weeks) in _agreement(table, pair).items()} for pair in pairs}
    return out
