"""Each intermediate of a weekly run is computed once, explicitly (xladdin.workbook.context.WeeklyContext).

The core functions that build the shared intermediates are wrapped with a counter (every module's
reference to them, so no import path escapes the count) and one run of compute_weekly on the sample
is made. Before the run had one context, the M1 ETF flows were computed 6 times per run, the style
tables twice and the correlation step copied the whole market.
"""
from __future__ import annotations

import sys
from collections import Counter

import pandas as pd
import pytest

from xladdin.data.market import Market, MissingTableError
from xladdin.workbook.context import WeeklyContext
from xladdin.workbook.params import default_params


def count_calls(monkeypatch, counter: Counter, owner, name: str, label: str | None = None) -> None:
    """Wrap ``owner.name`` with a counter, replacing every reference to it in the loaded xladdin modules."""
    original = getattr(owner, name)
    label = label or name

    def counted(*args, **kwargs):
        counter[label] += 1
        return original(*args, **kwargs)

    if isinstance(owner, type):  # a method
        monkeypatch.setattr(owner, name, counted)
        return
    for mod_name, mod in list(sys.modules.items()):
        if mod_name.startswith("xladdin") and mod is not None:
            for attr, value in list(vars(mod).items()):
                if value is original:
                    monkeypatch.setattr(mod, attr, counted)


@pytest.fixture
def counted(monkeypatch):
    import xladdin.workbook.weekly  # noqa: F401  (every module the run uses is loaded before wrapping)
    from xladdin.methods import dashboard, divergence, flows, holdings, northbound, strategy, style
    from xladdin.workbook import context
    calls: Counter = Counter()
    for owner, name in ((flows, "etf_flows"), (flows, "market_etf_flows"), (holdings, "penetration_weights"),
                        (holdings, "_industry_weight_rows"), (holdings, "snapshot_weights"), (style, "style_signal"),
                        (style, "weekly_style_table"), (dashboard, "trading_calendar"), (context, "week_bounds"),
                        (holdings, "etf_sizes"), (divergence, "market_divergence"), (northbound, "adjusted_nav"),
                        (strategy, "style_pair_tables")):
        count_calls(monkeypatch, calls, owner, name)
    count_calls(monkeypatch, calls, Market, "subset", "Market.subset")
    return calls


def run(market, asof=None):
    from xladdin.workbook.weekly import compute_weekly
    return compute_weekly(market, default_params(), asof=asof)


def test_each_intermediate_is_computed_once_per_run(sample_market, counted):
    result = run(sample_market)
    assert all(result.tables[k] is not None for k in ("dashboard_index", "industry_flow", "correlation", "etf_ranking"))
    assert counted == Counter({
        "etf_flows": 1, "market_etf_flows": 1,  # M1: once for the dashboard, industry flows and correlation
        "penetration_weights": 1, "_industry_weight_rows": 1, "snapshot_weights": 1,  # M6 weights
        "style_pair_tables": 1, "weekly_style_table": 2, "style_signal": 2,  # M5: each pair once
        "trading_calendar": 1,
        "week_bounds": 2,  # the as-of week of industry_daily (ctx.week) and of the ETF rows (the stock_flow step)
        "etf_sizes": 2,  # M6 holdings: weekly and monthly sizes, once each
        "market_divergence": 1,  # M9
        "adjusted_nav": 1,  # M11 prices: factors and backtest from one computation
    })  # and no Market.subset: the run's data ends at the as-of date, nothing is copied


def test_a_mid_data_run_cuts_the_market_once_and_computes_each_intermediate_once(sample_market, counted):
    run(sample_market, "2021-06-16")
    assert counted["Market.subset"] == 1  # the cut at the as-of date; no step copies the market again
    for name in ("etf_flows", "penetration_weights", "style_pair_tables", "trading_calendar"):
        assert counted[name] == 1, name
    assert counted["week_bounds"] == 2  # two calendars: industry_daily's and the ETF rows'


def test_an_intermediate_that_cannot_be_computed_is_tried_once_and_noted(sample_market, counted):
    """Without index_weights the M6 weights fail: tried once, and every table that needs them says why."""
    tables = {k: v for k, v in sample_market.tables.items() if k != "index_weights"}
    result = run(Market(tables, source="sample without index_weights"))
    assert counted["penetration_weights"] == 1 and counted["etf_flows"] == 1
    assert result.tables["industry_flow"] is None and "index_weights" in result.notes["industry_flow"]
    assert result.tables["latest_picks"] is None
    assert result.tables["dashboard_industry"] is not None  # the dashboard notes the missing weights itself


def test_the_context_hands_out_one_object_and_repeats_a_failure_without_recomputing(sample_market):
    calls = []
    ctx = WeeklyContext(sample_market, default_params(), pd.Timestamp("2026-10-30"))
    assert ctx.etf_flows is ctx.etf_flows and ctx.built == ["etf_flows"]

    def broken():
        calls.append(1)
        raise MissingTableError("table `index_weights` is missing")
    for _ in range(3):
        with pytest.raises(MissingTableError, match="index_weights"):
            ctx._once("penetration", broken)
    assert calls == [1] and ctx.built == ["etf_flows", "penetration"]
