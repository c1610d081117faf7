"""``xladdin backtest <strategy> ...``: strategy backtests with the M12 performance table.

``backtest rotation`` runs the Huafu ETF-flow industry rotation (spec M6-M10): penetration of
stock-ETF holdings to industries, the weekly short-term-flow quintiles, the style-adjusted
holdings (M8), the divergence from active funds (M9) and the composite (M10). Other strategies
join the group through their own module: ``xladdin.ops.commands.backtest_northbound.register(sub)``
is called when that module exists.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from xladdin.methods.backtest import DEFAULT_COST
from xladdin.methods.divergence import DEFAULT_TRAILING_WINDOW
from xladdin.methods.grouping import DEFAULT_GROUPS, group_table
from xladdin.methods.strategy import (
    DEFAULT_BACKTEST_START,
    DEFAULT_REBALANCE_WEEKS,
    DEFAULT_TOP_N,
    FACTOR_NAMES,
    REGIME_MAX_AGE_DAYS,
    flow_rotation,
)
from xladdin.methods.style import DEFAULT_LAMBDA

from . import _common, backtest_northbound

PCT_COLUMNS = ["annual_return", "volatility", "max_drawdown", "excess_return", "tracking_error",
               "relative_max_drawdown", "win_rate", "turnover", "annualised_return", "annualised_excess",
               "annual_return_gross", "excess_return_gross"]
#: M12 columns printed in the terminal (the CSV and --json keep all)
SHOWN = ["annual_return", "annualised_return", "volatility", "sharpe", "max_drawdown", "excess_return",
         "annualised_excess", "tracking_error", "information_ratio", "relative_max_drawdown", "win_rate", "odds",
         "turnover"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` group with ``rotation`` and ``northbound``."""
    sub = _common.add_group(subparsers, "backtest", "strategy", help="strategy backtests (rotation, northbound, ...)",
                            description="Backtest a strategy on the data and print its per-year performance table "
                                        "(M12). `xladdin backtest NAME --help` for each strategy.")
    register_rotation(sub)
    backtest_northbound.register(sub)


def register_rotation(sub: argparse._SubParsersAction) -> None:
    """Add ``backtest rotation`` (Huafu ETF-flow industry rotation, M6-M10)."""
    p = sub.add_parser(
        "rotation", help="ETF-flow industry rotation (Huafu, M6-M10)",
        description="Penetrate stock-ETF holdings to industries (M6), group them (M7), and backtest the "
                    "style-adjusted holdings (M8), the divergence from active funds (M9) and the composite "
                    "rotation (M10: four factors as percentile ranks, top N industries, equal weight, rebalanced "
                    "every N weeks) against industry equal weight. Factors whose data is missing (no active "
                    "funds, no growth/value indices) are left out and listed.")
    _common.add_data_args(p, start=f"{DEFAULT_BACKTEST_START:%Y-%m-%d}",
                          start_note=", the report's first decision and the workbook's backtest_start")
    _common.add_output_options(p, "write holdings, NAVs and tables as CSV into DIR", "the summary", "DIR", "--out")
    _common.add_option(p, "--top-n", "--top", type=int, default=DEFAULT_TOP_N, metavar="N",
                       help=f"industries held (default {DEFAULT_TOP_N})")
    _common.add_option(p, "--rebalance-weeks", "--every", type=int, default=DEFAULT_REBALANCE_WEEKS, metavar="N",
                       help=f"rebalance every N week ends (default {DEFAULT_REBALANCE_WEEKS})")
    _common.add_timing_args(p, DEFAULT_COST, "the spec's default for industry baskets; the report states none")
    p.add_argument("--regime-max-age", type=int, default=REGIME_MAX_AGE_DAYS, metavar="DAYS",
                   help=f"a style regime older than this many calendar days at a decision is not used "
                        f"(default {REGIME_MAX_AGE_DAYS}; a pair whose data ends is not carried forward)")
    p.add_argument("--groups", type=int, default=DEFAULT_GROUPS, metavar="N",
                   help=f"number of groups for M7/M8 (default {DEFAULT_GROUPS})")
    p.add_argument("--weights", metavar="F=W,...",
                   help="factor weights, e.g. short_term_flow=1,style_level=1,style_change=1,divergence=1 (default equal)")
    _common.add_option(p, "--trailing-window", "--window", type=int, default=DEFAULT_TRAILING_WINDOW, metavar="DAYS",
                       help=f"trailing trading days of the M9 simulated holdings (default {DEFAULT_TRAILING_WINDOW})")
    _common.add_option(p, "--hp-lambda", "--lamb", type=float, default=DEFAULT_LAMBDA, metavar="L",
                       help=f"one-sided HP lambda of the style signals (default {DEFAULT_LAMBDA:g})")
    p.set_defaults(func=run)


def parse_weights(text: str | None) -> dict[str, float] | None:
    """``"a=1,b=0.5"`` -> {"a": 1.0, "b": 0.5}; None for None."""
    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, _, val = part.partition("=")
        name = name.strip()
        if name not in FACTOR_NAMES:
            raise ValueError(f"unknown factor `{name}` in --weights; choose from {', '.join(FACTOR_NAMES)}")
        try:
            out[name] = float(val)
        except ValueError as exc:
            raise ValueError(f"--weights: `{part}` is not NAME=NUMBER") from exc
    return out


def percent(df: pd.DataFrame) -> pd.DataFrame:
    """Format the M12 table for the terminal: percentages for returns/risk, 2 decimals for ratios."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        if c in ("days", "part_year"):
            continue
        if c in PCT_COLUMNS:
            out[c] = df[c].map(lambda v: "" if pd.isna(v) else f"{v:.2%}")
        else:
            out[c] = df[c].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    return out


#: return columns of the holdings table (one holding period's absolute and excess return)
PICK_RETURNS = ("abs_return", "excess_return")


def latest_picks(holdings: pd.DataFrame) -> pd.DataFrame:
    """The last rebalance's rows of the M10 holdings table for the terminal: dates as days, returns in percent
    (two decimals, as the performance table), the weight left out (equal weights)."""
    last = holdings[holdings["rebalance_date"] == holdings["rebalance_date"].max()].drop(columns=["weight"])
    out = last.set_index("industry")
    for c in PICK_RETURNS:
        out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.2%}")
    return out


def _shown(table: pd.DataFrame, gross: pd.DataFrame | None = None) -> pd.DataFrame:
    t = table[[c for c in SHOWN if c in table.columns]].copy()
    if gross is not None:
        t.insert(1, "annual_return_gross", gross["annual_return"].reindex(t.index))
        t.insert(t.columns.get_loc("excess_return") + 1, "excess_return_gross",
                 gross["excess_return"].reindex(t.index))
    return t


def _strategy_json(res) -> dict:
    """Summary, per-year rows (net and gross) and full-period statistics of a RotationResult."""
    full = res.table.loc["Full period"]
    return {**res.summary,
            "relative_max_drawdown_net": full["relative_max_drawdown"], "win_rate_net": full["win_rate"],
            "odds_net": full["odds"], "years": _common.year_rows(res.table, res.table_gross)}


def summary_json(res: dict, args: argparse.Namespace, source: str) -> dict:
    """The ``--json`` object of ``backtest rotation``: M10 at the top level, then M7, M8, M9."""
    rot = res["rotation"]
    out = {"strategy": "rotation (M10)", "source": source, **_strategy_json(rot),
           "settings": {"top_n": args.top_n, "rebalance_weeks": args.rebalance_weeks, "groups": args.groups,
                        "regime_max_age_days": args.regime_max_age, "trailing_window": args.trailing_window,
                        "hp_lambda": args.hp_lambda, "factor_weights": parse_weights(args.weights) or "equal"},
           "factors_used": res["factors_used"], "effective_end": res["effective_end"].as_dict(), "notes": res["notes"]}
    q = res["quintiles"]
    if q is not None:
        out["m7_quintiles"] = {"lag_days": q["lag"], "cost": q["cost"], "periods": q["periods"],
                               "periods_without_ranking": q["periods_without_ranking"], "computed": q["table"] is not None}
        if q["table"] is not None:
            out["m7_quintiles"] |= {"start": q["nav"].index[0], "end": q["nav"].index[-1],
                                    "groups": {g: dict(r) for g, r in q["table"].iterrows()}}
    for key in ("m8", "m9"):
        if res[key] is not None:
            out[key] = _strategy_json(res[key])
    return out


def run(args: argparse.Namespace) -> int:
    _common.check_timing(args)
    weights = parse_weights(args.weights)
    # the whole history is loaded: the style filters and the weekly changes need the weeks before --start
    market = _common.load_data(argparse.Namespace(**{**vars(args), "start": None, "end": None}))
    start = _common.parse_date(args.start)
    end = _common.parse_date(args.end)
    res = flow_rotation(market, start=start, end=end, top_n=args.top_n, rebalance_weeks=args.rebalance_weeks,
                        cost=args.cost, factor_weights=weights, groups=args.groups, hp_lambda=args.hp_lambda,
                        trailing_window=args.trailing_window, lag=args.lag, regime_max_age=args.regime_max_age)
    rot = res["rotation"]
    if args.json:
        _common.print_json(summary_json(res, args, str(market.source)), sample=market.sample)
        _write_out(args, res, market, group_table)
        return 0
    nav = rot.strategy.nav
    s = rot.summary
    _common.say_sample(market.sample)
    eff = res["effective_end"]
    limit = f" (ends where its inputs do: {eff.limit.text()})" if eff.limit is not None else ""
    print(f"ETF-flow industry rotation (M10) on {market.source}: {nav.index[0]:%Y-%m-%d} .. {nav.index[-1]:%Y-%m-%d}"
          f"{limit}, top {args.top_n}, every {args.rebalance_weeks} weeks, lag {args.lag} trading day(s), cost "
          f"{args.cost:.2%} one-way on traded value; factors: {', '.join(res['factors_used'])}")
    for note in res["notes"]:
        print(f"note: {note}")
    _common.print_table(percent(_shown(rot.table, rot.table_gross)),
                        "Per-year performance vs industry equal weight (M12; net of costs, gross beside; part years "
                        "show the period return and the annualised return)")
    print(f"\nTurnover (two-sided): {s['turnover_annual']:.0%} a year, {s['turnover_per_rebalance']:.0%} per rebalance "
          f"after the first; costs {s['cost_annual']:.2%} a year. Gross {s['annual_return_gross']:.2%} (excess "
          f"{s['excess_gross']:.2%}, IR {s['information_ratio_gross']:.2f}) -> net {s['annual_return_net']:.2%} "
          f"(excess {s['excess_net']:.2%}, IR {s['information_ratio_net']:.2f}).")
    nr = ", ".join(f"{k} {v}" for k, v in s["periods_without_ranking"].items())
    print(f"Rebalances without a ranking (of {s['periods']}): {nr}")
    q = res["quintiles"]
    if q["table"] is None:
        print(f"\nShort-term flow quintiles, weekly (M7): not computed, no ranking on {q['periods_without_ranking']} "
              f"of {q['periods']} weeks")
    else:
        _common.print_table(percent(q["table"]),
                            f"Short-term flow quintiles, weekly (M7): full period, lag {q['lag']}, cost {q['cost']:.2%}; "
                            f"{q['periods_without_ranking']} of {q['periods']} weeks without a ranking (holdings kept)")
    for key, label in (("m8", "Style-adjusted holdings (M8)"), ("m9", "Divergence from active funds (M9)")):
        if res[key] is not None:
            r = res[key]
            _common.print_table(percent(_shown(r.table, r.table_gross).loc[["Full period"]]),
                                f"{label}: full period (net, gross beside; rebalances without a ranking: "
                                + ", ".join(f"{k} {v}" for k, v in r.summary["periods_without_ranking"].items())
                                + f" of {r.summary['periods']})")
    if rot.correlation is not None:
        _common.print_table(rot.correlation, "Factor correlation (mean cross-sectional Spearman)", "{:.2f}")
    _common.print_table(latest_picks(rot.holdings), "Latest executed picks (returns over the holding period, in %)")
    _write_out(args, res, market, group_table)
    return 0


def _write_out(args: argparse.Namespace, res: dict, market, group_table) -> None:
    if not args.csv:
        return
    rot = res["rotation"]
    q = res["quintiles"]
    out = Path(args.csv)
    names = market.industry_names
    files = {
        "rotation_performance.csv": (rot.table, True),
        "rotation_performance_gross.csv": (rot.table_gross, True),
        "rotation_holdings.csv": (rot.holdings, False),
        "rotation_nav.csv": (rot.nav, True),
        "rotation_trades.csv": (rot.strategy.trades, True),
        "rotation_scores.csv": (rot.scores, True),
        "holding_level_groups_monthly.csv": (group_table(res["monthly_level"], args.groups, names), True),
        "holding_change_groups_monthly.csv": (group_table(res["monthly_change"], args.groups, names), True),
    }
    if q["table"] is not None:
        files |= {"quintiles_performance.csv": (q["table"], True), "quintiles_nav.csv": (q["nav"], True),
                  "quintiles_nav_gross.csv": (q["nav_gross"], True)}
    if rot.correlation is not None:
        files["factor_correlation.csv"] = (rot.correlation, True)
    for key in ("m8", "m9"):
        if res[key] is not None:
            files[f"{key}_performance.csv"] = (res[key].table, True)
            files[f"{key}_nav.csv"] = (res[key].nav, True)
    _common.write_csvs(args, {out / name: spec for name, spec in files.items()})
    if not args.json:
        print(f"\nwrote {len(files)} files to {out}")
