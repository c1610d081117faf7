"""``xladdin backtest northbound``: northbound ETF rotation (Dongxing, spec M11; tables M12).

The ``backtest`` group lives in :mod:`xladdin.ops.commands.backtest`, which calls :func:`register`
with its subparsers.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

from xladdin.data.schema import NORTHBOUND_DAILY_UNTIL
from xladdin.methods.backtest import DEFAULT_ETF_COST
from xladdin.methods.grouping import DEFAULT_GROUPS
from xladdin.methods.northbound import (
    DEFAULT_ETF_ONE_PER_INDEX,
    DEFAULT_ETF_TOP_N,
    northbound_rotation,
    ranking_table,
)

from . import _common

#: the report's own figures (Dongxing 2022-06, 22 Fullgoal ETFs, 2017 .. 2022-05, Wind data)
REPORT_FIGURES = {
    "ic_mean": 0.0796, "ic_ir": 0.25, "long_short_annual_return": 0.1052, "long_short_sharpe": 0.65,
    "strategy_annual_return": 0.1169, "benchmark_annual_return": 0.0424, "strategy_sharpe": 0.48,
    "benchmark_sharpe": 0.20, "strategy_max_drawdown": -0.3122, "benchmark_max_drawdown": -0.3510,
    "excess_return": 0.0766, "information_ratio": 0.75, "monthly_turnover": 0.5921,
}
TABLES = ["etf_info", "etf_daily", "index_weights", "northbound_holdings"]
#: an ETF code as ``--etf-universe`` takes it: digits and letters, a dot, the exchange (510300.SH)
CODE = re.compile(r"^[0-9A-Za-z]+\.[A-Za-z]+$")


def read_universe(path: str | Path) -> list[str]:
    """ETF codes from a text file: one per line (a CSV's first column also works); blank lines,
    ``#`` comments and a header line ``etf`` / ``code`` are skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"universe file {path} not found (one ETF code per line, e.g. 510300.SH)")
    codes = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        code = text.split(",")[0].strip().strip('"')
        if code.lower() in ("etf", "code", "etf_code"):
            continue
        codes.append(code)
    if not codes:
        raise ValueError(f"universe file {path} lists no ETF code (one per line, e.g. 510300.SH)")
    return codes


def universe_codes(text: str) -> list[str]:
    """``--etf-universe``: the codes of a file (:func:`read_universe`) when ``text`` names one, else the
    comma-separated codes of the parameter ``etf_universe`` (``510300.SH,510500.SH``)."""
    if Path(text).is_file():
        return read_universe(text)
    codes = [c.strip() for c in text.replace("，", ",").split(",") if c.strip()]
    if not codes or not all(CODE.match(c) for c in codes):
        raise FileNotFoundError(f"--etf-universe {text}: no such file, nor ETF codes separated by commas "
                                "(e.g. 510300.SH,510500.SH)")
    return codes


def register(backtest_subparsers: argparse._SubParsersAction) -> None:
    """Add ``northbound`` to the ``backtest`` group."""
    p = backtest_subparsers.add_parser(
        "northbound", help="northbound ETF rotation (Dongxing, M11)",
        description="Per ETF at each month end: northbound preference and its monthly change through the tracked "
                    "index's constituents, and past-month momentum; composite of the three ranks; monthly rank IC; "
                    "long-short of top vs bottom group; top-N equal-weight strategy rebalanced at month start with a "
                    "cost on traded value, against the equal-weight universe. Northbound holdings after "
                    f"{NORTHBOUND_DAILY_UNTIL:%Y-%m-%d} are quarterly: the last snapshot is carried forward and "
                    "those months are flagged.")
    _common.add_data_args(p)
    _common.add_option(p, "--etf-universe", "--universe", metavar="FILE|CODES",
                       help="ETF codes: a file with one code per line, or codes separated by commas as in the "
                            "parameter etf_universe, e.g. 510300.SH,510500.SH (default: every stock ETF in etf_info "
                            "whose tracked index has weights)")
    _common.add_option(p, "--etf-top-n", "--top", type=int, default=DEFAULT_ETF_TOP_N, metavar="N",
                       help=f"ETFs held (default {DEFAULT_ETF_TOP_N})")
    _common.add_timing_args(p, DEFAULT_ETF_COST, "the report's", "--etf-cost", "--cost")
    p.add_argument("--etf-one-per-index", action=argparse.BooleanOptionalAction,
                   default=DEFAULT_ETF_ONE_PER_INDEX,
                   help="at most one pick per tracked index, the next-ranked ETF on another index takes the place "
                        "(default); --no-etf-one-per-index allows two picks tracking the same index")
    _common.add_deprecated_alias(p, "--allow-same-index", "--no-etf-one-per-index", "etf_one_per_index", nargs=0,
                                 const=False)
    p.add_argument("--groups", type=int, default=DEFAULT_GROUPS, metavar="N",
                   help=f"groups for the long-short spread (default {DEFAULT_GROUPS})")
    p.add_argument("--price", choices=["nav", "close"], default="nav",
                   help="per-unit series for momentum and returns (default nav; no mixing)")
    p.add_argument("--stale-change", choices=["nan", "zero"], default="nan",
                   help="change factor in months without newer northbound holdings: dropped (nan, default) or 0")
    p.add_argument("--rank-date", metavar="DATE", help="month end of the ranking table (default: the latest)")
    _common.add_output_options(p, "write every table as DIR/northbound_<table>.csv", "the summary")
    p.set_defaults(func=run)


def _pct(df: pd.DataFrame | pd.Series, cols=None):
    out = df.copy()
    if isinstance(out, pd.Series):
        return out * 100
    for c in cols or out.columns:
        out[c] = out[c] * 100
    return out


def summary_json(res, args: argparse.Namespace, source: str) -> dict:
    """The ``--json`` object: the summary (lag, cost, turnover, gross/net, periods without ranking, …),
    the IC summary, per-year rows (net and gross, part years labelled) and the report's figures."""
    s = res.summary
    return {"strategy": "northbound ETF rotation (M11)", "source": source, "universe_size": len(res.universe),
            **{k: v for k, v in s.items()},
            "ic": dict(res.ic_summary),
            "settings": {"etf_top_n": args.etf_top_n, "groups": args.groups, "price": args.price,
                         "stale_change": args.stale_change, "etf_one_per_index": args.etf_one_per_index},
            "years": _common.year_rows(res.performance, res.performance_gross),
            "long_short_years": _common.year_rows(res.long_short_performance) if len(res.long_short_performance) else [],
            "report": REPORT_FIGURES, "effective_end": res.effective_end.as_dict() if res.effective_end else None,
            "notes": res.notes}


def run(args: argparse.Namespace) -> int:
    _common.check_timing(args, "--etf-cost")
    market = _common.load_data(argparse.Namespace(data=args.data), tables=TABLES if args.data else None)
    universe = universe_codes(args.etf_universe) if args.etf_universe else None
    res = northbound_rotation(market, etf_universe=universe, etf_top_n=args.etf_top_n, etf_cost=args.etf_cost,
                              groups=args.groups, price=args.price, stale_change=args.stale_change,
                              start=_common.parse_date(args.start), end=_common.parse_date(args.end),
                              lag=args.lag, etf_one_per_index=args.etf_one_per_index)
    s = res.summary
    if args.json:
        _common.print_json(summary_json(res, args, str(market.source)), sample=market.sample)
        _write_csv(args, res, res.ranking)
        return 0
    _common.say_sample(market.sample)
    print(f"Northbound ETF rotation (M11): {len(res.universe)} ETFs, signals {s['first_signal']:%Y-%m-%d} .. "
          f"{s['last_signal']:%Y-%m-%d}, top {args.etf_top_n} ({'at most one per tracked index' if args.etf_one_per_index else 'several per index allowed'}), "
          f"lag {args.lag} trading day(s), cost {args.etf_cost:.2%} one-way on traded value, {args.groups} groups, "
          f"source {market.source}" + _limit_text(res.effective_end))
    ranking = res.ranking
    tracked = market.etf_info["tracked_index"]
    if args.rank_date:
        ranking = ranking_table(res.factors, res.composite, market.etf_info["name"],
                                date=_common.parse_date(args.rank_date), etf_top_n=args.etf_top_n,
                                one_per=tracked if args.etf_one_per_index else None)
    rk = ranking[["code", "name", "preference", "change", "momentum", "composite", "rank", "pick"]].copy()
    rk["pick"] = rk["pick"].map({True: "*", False: ""})
    st = res.staleness
    last = res.composite.dropna(how="all").index[-1] if not args.rank_date else _common.parse_date(args.rank_date)
    stale_txt = " (stale northbound holdings of " + f"{st.loc[last, 'holdings_date']:%Y-%m-%d})" \
        if last in st.index and st.loc[last, "stale"] else ""
    _common.print_table(rk, f"Ranking at {last:%Y-%m-%d}{stale_txt}: marks ↑↑ top / ↑ middle / O bottom tercile",
                        floatfmt="{:.3f}")
    ratios = {"ic_ir", "long_short_sharpe", "strategy_sharpe", "benchmark_sharpe", "information_ratio"}

    def fmt(key, v):
        return "" if pd.isna(v) else (f"{v:.2f}" if key in ratios else f"{v:.2%}")
    rep = pd.DataFrame({"this run": [fmt(k, s.get(k)) for k in REPORT_FIGURES],
                        "report (Dongxing, 22 ETFs, 2017..2022-05)": [fmt(k, v) for k, v in REPORT_FIGURES.items()]},
                       index=list(REPORT_FIGURES))
    _common.print_table(rep, "Summary (returns, drawdowns, turnover in %; IR and Sharpe as ratios)")
    ics = res.ic_summary
    print(f"\nIC: mean {ics['ic_mean']:.2%}, std {ics['ic_std']:.2%}, IR {ics['ic_ir']:.2f}, "
          f"positive {ics['positive_share']:.0%} of {ics['months']:.0f} months, last {ics['last_ic']:.2%}")
    perf = res.performance.drop(columns=["days", "part_year"])
    perf.insert(1, "annual_return_gross", res.performance_gross["annual_return"])
    perf.insert(perf.columns.get_loc("excess_return") + 1, "excess_return_gross", res.performance_gross["excess_return"])
    _common.print_table(_pct(perf, [c for c in perf.columns if c not in ("sharpe", "information_ratio", "odds")]),
                        "Strategy per year (M12, net of costs, gross beside; %, except sharpe, information_ratio, "
                        "odds; part years show the period return and the annualised return)", floatfmt="{:,.2f}")
    if len(res.long_short_performance):
        lp = res.long_short_performance[["annual_return", "volatility", "sharpe", "max_drawdown"]]
        _common.print_table(_pct(lp, ["annual_return", "volatility", "max_drawdown"]),
                            f"Long-short group {args.groups} − group 1 per year (monthly, %)", floatfmt="{:,.2f}")
    print(f"\nTurnover (two-sided): {s['monthly_turnover']:.2%} per month after the first build, "
          f"{s['turnover_annual']:.0%} a year; costs {s['cost_annual']:.2%} a year. Gross {s['annual_return_gross']:.2%} "
          f"(excess {s['excess_gross']:.2%}, IR {s['information_ratio_gross']:.2f}) -> net {s['annual_return_net']:.2%} "
          f"(excess {s['excess_net']:.2%}, IR {s['information_ratio_net']:.2f}). The long-short spread is gross.")
    print("Months without a ranking (of " + str(s["periods"]) + "): "
          + ", ".join(f"{k} {v}" for k, v in s["periods_without_ranking"].items())
          + f"; months holding two ETFs of one index: {s['same_index_months']}")
    n_stale = int(s["stale_months"])
    print(f"Stale northbound months in the sample: {n_stale}")
    for n in res.notes:
        print(f"note: {n}")
    _write_csv(args, res, ranking)
    return 0


def _write_csv(args: argparse.Namespace, res, ranking: pd.DataFrame) -> None:
    s = res.summary
    perf = res.performance
    if args.csv:
        out = Path(args.csv)
        monthly = pd.DataFrame({"ic": res.ic}).join(res.group_returns.add_prefix("group_"))
        monthly = monthly.join(res.staleness[["holdings_date", "stale", "change_valid"]])
        nav = pd.DataFrame({"strategy": res.nav, "strategy_gross": res.nav_gross, "benchmark": res.benchmark_nav})
        composite = res.composite.stack().rename("composite").reset_index()
        factors = pd.concat({k: v.stack() for k, v in res.factors.items()}, axis=1).reset_index()
        summary = s.copy()
        summary["periods_without_ranking"] = "; ".join(f"{k} {v}" for k, v in s["periods_without_ranking"].items())
        written = _common.write_csvs(args, {
            out / "northbound_ranking.csv": (ranking, False),
            out / "northbound_summary.csv": (summary.to_frame("value"), True),
            out / "northbound_performance.csv": (perf, True),
            out / "northbound_performance_gross.csv": (res.performance_gross, True),
            out / "northbound_trades.csv": (res.backtest.trades, True),
            out / "northbound_long_short_performance.csv": (res.long_short_performance, True),
            out / "northbound_monthly.csv": (monthly, True),
            out / "northbound_nav.csv": (nav, True),
            out / "northbound_weights.csv": (res.weights, True),
            out / "northbound_turnover.csv": (res.turnover.to_frame(), True),
            out / "northbound_factors.csv": (factors.merge(composite, on=["date", "etf"], how="left"), False),
        })
        if not args.json:
            print(f"wrote {len(written)} CSV files to {out}")


def _limit_text(eff) -> str:
    """``"; ends where its inputs do: <table> end <date>"`` when an input stops the run early, else ``""``."""
    return f"; ends where its inputs do: {eff.limit.text()}" if eff is not None and eff.limit is not None else ""
