"""``xladdin study <name> ...``: research studies reproduced from the broker reports.

This module holds the command group and one study, ``correlation`` (Huatai, spec M1-M3). Other
studies join the group without editing this file: a module ``xladdin/ops/commands/<name>.py`` that
defines ``register_study(sub)`` (``sub`` = the ``study`` group's subparsers; add a parser and
``set_defaults(func=run)``) is discovered and called. Code outside the package can append such a
function to :data:`STUDY_HOOKS` before the parser is built.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from xladdin.conventions import YI
from xladdin.methods.correlation import (
    DEFAULT_CORR_INDEX,
    DEFAULT_CORR_THRESHOLD,
    DEFAULT_CORR_WINDOW,
    DEFAULT_EVENT_MODE,
    DEFAULT_HORIZONS,
    DEFAULT_THRESHOLDS,
    EVENT_MODES,
    correlation_end,
    event_study,
    grid_table,
    index_flow_correlation,
)
from xladdin.methods.flows import MISSING_NAV_POLICIES, SPLIT_DAY_RULES
from xladdin.ops import commands as pkg

from . import _common

#: extra study registrars, each called with the ``study`` subparsers (after the discovered ones)
STUDY_HOOKS: list[Callable[[argparse._SubParsersAction], None]] = []

CSV_COLUMNS = ["threshold", "horizon", "events", "p_down", "mean_return"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``study`` with its sub-commands: correlation, then every discovered ``register_study``."""
    sub = _common.add_group(subparsers, "study", "study", help="research studies (correlation, ...)",
                            description="Reproduce a report's study on your data. `xladdin study NAME --help` for "
                                        "each study's options.")
    register_study(sub)
    for hook in _discovered_hooks() + STUDY_HOOKS:
        hook(sub)


def _discovered_hooks() -> list[Callable]:
    """``register_study`` of every other module in :mod:`xladdin.ops.commands` (alphabetical)."""
    hooks = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name in ("study", "_common") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        fn = getattr(module, "register_study", None)
        if callable(fn):
            hooks.append(fn)
    return hooks


# ---------------------------------------------------------------------------- study correlation
def register_study(sub: argparse._SubParsersAction) -> None:
    """Add ``study correlation`` (M1-M3) to the ``study`` group."""
    p = sub.add_parser(
        "correlation", help="ETF flow / index return correlation as a top signal (Huatai, M1-M3)",
        description="Aggregate the daily net flow of the ETFs tracking --corr-index (M1), correlate it with the index's "
                    "daily return over a rolling window (M2), and tabulate the down probability and mean forward "
                    "return after the correlation exceeds each threshold (M3), beside the all-days base rates.")
    _common.add_option(p, "--corr-index", "--index", default=DEFAULT_CORR_INDEX, metavar="CODE",
                       help=f"tracked index code (default {DEFAULT_CORR_INDEX})")
    _common.add_data_args(p)
    _common.add_option(p, "--corr-window", "--window", type=int, default=DEFAULT_CORR_WINDOW, metavar="DAYS",
                       help=f"rolling window in trading days (default {DEFAULT_CORR_WINDOW})")
    _common.add_option(p, "--event-thresholds", "--thresholds", type=float, nargs="+",
                       default=list(DEFAULT_THRESHOLDS), metavar="T",
                       help=f"correlation thresholds (default {' '.join(f'{t:g}' for t in DEFAULT_THRESHOLDS)})")
    _common.add_option(p, "--event-horizons", "--horizons", type=int, nargs="+", default=list(DEFAULT_HORIZONS),
                       metavar="H", help="forward horizons in trading days (default "
                                         f"{' '.join(map(str, DEFAULT_HORIZONS))})")
    _common.add_option(p, "--event-mode", "--mode", choices=list(EVENT_MODES), default=DEFAULT_EVENT_MODE,
                       help="every qualifying day is an event (every, the default) or first crossings only (first)")
    _common.add_option(p, "--corr-threshold", "--signal", type=float, default=DEFAULT_CORR_THRESHOLD, metavar="T",
                       help=f"threshold of the top signal in the latest readings (default {DEFAULT_CORR_THRESHOLD:g})")
    p.add_argument("--require-all", action="store_true",
                   help="count a day's flow only when every ETF tracking the index has one (default: sum those that do)")
    p.add_argument("--missing-nav", choices=list(MISSING_NAV_POLICIES), default="nan",
                   help="missing NAV: leave that ETF's flow NaN (default), use the last NAV, or stop with an error")
    p.add_argument("--split-day", choices=list(SPLIT_DAY_RULES), default="zero",
                   help="flow on a split day: 0 (default, the report's rule) or split-adjusted")
    _common.add_option(p, "--last", "--latest", type=int, default=10, metavar="N",
                       help="latest readings to print (default 10)")
    _common.add_output_options(p, "write the grid (threshold, horizon, events, p_down, mean_return)",
                               "the settings, the sample, the grid (with the all-days base rates and counts), the "
                               "latest readings (--last) and the signal", "FILE")
    p.set_defaults(func=run_correlation)


def run_correlation(args: argparse.Namespace) -> int:
    start, end = _common.parse_date(args.start), _common.parse_date(args.end)
    # load without cutting: history before --start warms the window up; nothing after --end is used
    market = _common.load_data(argparse.Namespace(data=args.data),
                               tables=["etf_info", "etf_daily", "index_daily"] if args.data else None)
    res = index_flow_correlation(market, corr_index=args.corr_index, corr_window=args.corr_window, start=start,
                                 end=end, corr_threshold=args.corr_threshold, require_all=args.require_all,
                                 missing_nav=args.missing_nav, split_day=args.split_day)
    if res.empty or res["corr"].notna().sum() == 0:
        raise ValueError(f"no correlation could be computed for {args.corr_index} in the chosen dates: "
                         f"need at least {args.corr_window} days with both an ETF flow and an index return")
    corr = res.set_index("date")["corr"]
    close = market.index_close(args.corr_index)
    eff = correlation_end(market, args.corr_index, end)
    lo = corr.index.min()
    hi = eff.end if eff.end is not None else close.index.max()
    close = close.loc[(close.index >= lo) & (close.index <= hi)]
    grid = event_study(corr, close, event_thresholds=args.event_thresholds, event_horizons=args.event_horizons,
                       event_mode=args.event_mode)

    valid = corr.dropna()
    n_etf = len(market.etfs_tracking(args.corr_index))
    latest = res.dropna(subset=["corr"]).tail(max(args.last, 1)).copy()
    signal = _signal_state(valid, args.corr_threshold)
    if args.json:
        _common.print_json(_correlation_json(args, n_etf, valid, grid, corr, close, latest, signal)
                           | {"effective_end": eff.as_dict()}, sample=market.sample)
        if args.csv:
            _common.write_csvs(args, {Path(args.csv): (grid[CSV_COLUMNS], False)})
        return 0
    _common.say_sample(market.sample)
    print(f"ETF flow / index return correlation: {args.corr_index} ({n_etf} tracking ETFs), window {args.corr_window}, "
          f"{valid.index.min():%Y-%m-%d} .. {valid.index.max():%Y-%m-%d} ({len(valid)} days"
          + (f"; ends where its inputs do: {eff.limit.text()}" if eff.limit is not None else "")
          + f"), events: {'every qualifying day' if args.event_mode == 'every' else 'first crossings'}")
    for value, title, fmt in [("p_down", "Down probability after corr > threshold (%)", "{:.2f}"),
                              ("mean_return", "Mean forward return (%)", "{:+.2f}"),
                              ("events", "Events", "{:.0f}")]:
        table = grid_table(grid, value).astype(float)
        if value != "events":
            base = grid.drop_duplicates("horizon").set_index("horizon")[f"base_{value}"]
            table.loc["all days"] = base
            table = table * 100
        else:
            table.loc["all days"] = [_base_count(corr, close, h) for h in table.columns]
        table.index = [f"> {t:g}" if not isinstance(t, str) else t for t in table.index]
        table.columns = [f"{h}d" for h in table.columns]
        _common.print_table(table, title, floatfmt=fmt)

    latest["flow"] = latest["flow"] / YI
    latest["return"] = latest["return"] * 100
    latest["date"] = latest["date"].dt.strftime("%Y-%m-%d")
    latest["signal"] = latest["signal"].astype(int)
    latest = latest.rename(columns={"flow": "flow (1e8 yuan)", "return": "return (%)"}).set_index("date")
    _common.print_table(latest, f"Latest readings (signal: corr > {args.corr_threshold:g})", floatfmt="{:,.4f}")
    if signal["on"]:
        print(f"\nSignal ON: corr {signal['corr']:+.3f} > {args.corr_threshold:g} on {signal['date']:%Y-%m-%d}, "
              f"above since {signal['above_since']:%Y-%m-%d}")
    else:
        print(f"\nSignal off: corr {signal['corr']:+.3f} <= {args.corr_threshold:g} on {signal['date']:%Y-%m-%d}")
    if args.csv:
        path, = _common.write_csvs(args, {Path(args.csv): (grid[CSV_COLUMNS], False)})
        print(f"grid written to {path}")
    return 0


def _signal_state(valid: pd.Series, threshold: float) -> dict:
    """The signal on the last day: on/off, its correlation and, when on, the first day of the current run."""
    above = valid > threshold
    state = {"date": valid.index[-1], "corr": float(valid.iloc[-1]), "on": bool(above.iloc[-1]), "above_since": None}
    if state["on"]:
        since = valid.index[~above].max()
        state["above_since"] = valid.index[valid.index > since].min() if pd.notna(since) else valid.index.min()
    return state


def _correlation_json(args: argparse.Namespace, n_etf: int, valid: pd.Series, grid: pd.DataFrame, corr: pd.Series,
                      close: pd.Series, latest: pd.DataFrame, signal: dict) -> dict:
    """The ``--json`` object of ``study correlation`` (returns and probabilities as fractions, flows in yuan)."""
    horizons = sorted(grid["horizon"].unique())
    base = grid.drop_duplicates("horizon").set_index("horizon")
    return {
        "study": "correlation (M1-M3)", "corr_index": args.corr_index, "tracking_etfs": n_etf,
        "corr_window": args.corr_window, "event_mode": args.event_mode, "require_all": args.require_all,
        "missing_nav": args.missing_nav, "split_day": args.split_day, "corr_threshold": args.corr_threshold,
        "first_date": valid.index.min(), "last_date": valid.index.max(), "days": int(len(valid)),
        "mean_corr": float(valid.mean()),
        "grid": grid[["threshold", "horizon", "events", "p_down", "mean_return"]].to_dict("records"),
        "all_days": [{"horizon": int(h), "days": _base_count(corr, close, int(h)),
                      "p_down": base.loc[h, "base_p_down"], "mean_return": base.loc[h, "base_mean_return"]}
                     for h in horizons],
        "latest": latest[["date", "flow", "return", "corr"]].assign(signal=latest["signal"].astype(int))
                                                              .to_dict("records"),
        "signal": signal,
    }


def _base_count(corr: pd.Series, close: pd.Series, h: int) -> int:
    """Number of sample days (non-NaN corr) with a valid h-day forward return."""
    fwd = (close.shift(-h) / close - 1).reindex(corr.index)
    return int((corr.notna() & fwd.notna()).sum())
