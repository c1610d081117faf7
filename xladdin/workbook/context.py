"""The intermediates one weekly run shares between its tables, each computed once (orchestration, no method).

:func:`xladdin.workbook.weekly.compute_weekly` builds one :class:`WeeklyContext` at the start of the run and
passes it to every step. The intermediates several tables read live here, and only here:

* ``etf_flows``: the M1 daily flow of every ETF (:func:`xladdin.methods.flows.market_etf_flows`,
  ``missing_nav="nan"``); read by the dashboard, the industry flow table and the correlation table;
* ``penetration``: the M6 industry weight snapshots of every index
  (:func:`xladdin.methods.holdings.penetration_weights`); dashboard, industry flow table, strategy;
* ``style``: the M5 table of each style pair (:func:`xladdin.methods.strategy.style_pair_tables`); style
  table, strategy (M8 regimes);
* ``calendar``: the trading days up to the as-of date (:func:`xladdin.methods.dashboard.trading_calendar`);
  dashboard;
* ``week``: this week's and last week's first and last trading day (:func:`week_bounds`); industry
  flow table, cover, subtitles.

Each is computed the first time a step asks for it and kept for the rest of the run. A step that
cannot get one (a missing input table) gets the error computing it raised -- the same error again
in every later step that asks, without computing it again -- and the run notes that step's tables
as not computed, as before.

Steps hand their own results to later steps and to the cover through :attr:`WeeklyContext.results`, a
:class:`StepResults`: one typed field per result. Each step of :data:`xladdin.workbook.weekly.STEPS`
declares the fields it writes and reads (``Step.writes``, ``Step.reads``; the cover's are
:data:`xladdin.workbook.weekly.COVER_READS`), and tests/test_weekly_steps.py checks the declarations
against the code of the steps.

Wide views of the canonical tables (the pivots of ETF shares and NAVs, stock panels) are not
intermediates of a method: :mod:`xladdin.data.views` builds each once inside the run's
:func:`xladdin.data.views.shared` scope.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from xladdin.data.market import Market
from xladdin.data.views import OnceMap
from xladdin.methods import dashboard, flows, holdings, strategy
from xladdin.methods.crowding import CrowdingResult
from xladdin.methods.strategy import RotationResult

from .params import Params

__all__ = ["WeeklyContext", "StepResults", "WeekBounds", "week_bounds"]


@dataclass(frozen=True)
class WeekBounds:
    """First and last trading day of the week (Mon-Sun) containing the as-of date, and of the week before
    (None when there is no earlier week)."""

    start: pd.Timestamp
    end: pd.Timestamp
    prev_start: pd.Timestamp | None
    prev_end: pd.Timestamp | None


def week_bounds(dates: pd.DatetimeIndex, asof: pd.Timestamp) -> WeekBounds:
    """:class:`WeekBounds` of ``asof`` among the trading ``dates`` (those on or before ``asof``)."""
    d = dates[dates <= asof]
    week = d.to_period("W-SUN")
    this = week[-1]
    cur = d[week == this]
    prev_weeks = week[week < this]
    if len(prev_weeks):
        prev = d[week == prev_weeks[-1]]
        return WeekBounds(cur[0], cur[-1], prev[0], prev[-1])
    return WeekBounds(cur[0], cur[-1], None, None)


@dataclass
class StepResults:
    """What the weekly steps leave for later steps and the cover: one field per result, set by the one step
    that writes it (None, or empty, until then; still so when that step did not run)."""

    # strategy (M6-M10): the rotation, the weekly and monthly holding levels, the M9 divergence factor
    rotation: RotationResult | None = None
    level_w: pd.DataFrame | None = None
    level_m: pd.DataFrame | None = None
    divergence: pd.DataFrame | None = None
    strategy_notes: list[str] = field(default_factory=list)
    # stock_flow (M1, etf_info and etf_daily only): the as-of week of the ETF rows (first, last trading day), the
    # stock ETFs' flows of that week per tracked index, the stock ETFs whose flows the totals leave out (index =
    # ETF; reason "nav" or "index", days, amount)
    etf_week: tuple[pd.Timestamp, pd.Timestamp] | None = None
    index_flows: pd.DataFrame | None = None
    flows_left_out: pd.DataFrame | None = None
    # industry_flow: the week shown (first, last trading day), the industry table
    week: tuple[pd.Timestamp, pd.Timestamp] | None = None
    industry_flow: pd.DataFrame | None = None
    # style (M4-M5): every pair's weekly table, the pairs without data, each pair's last date
    style_table: pd.DataFrame | None = None
    style_missing: list[str] = field(default_factory=list)
    style_ends: dict[str, pd.Timestamp] = field(default_factory=dict)
    # holdings: the last rebalance's picks and its date
    latest_picks: pd.DataFrame | None = None
    latest_rebalance: pd.Timestamp | None = None
    # performance (M12): the full-period row
    performance_full: pd.Series | None = None
    # correlation (M2): the last row shown
    corr_last: pd.Series | None = None
    # etf_rotation (M11): the picks (etf, name) and their signal date
    etf_picks: pd.DataFrame | None = None
    etf_signal_date: pd.Timestamp | None = None
    # crowding (M14)
    crowding: CrowdingResult | None = None


@dataclass
class WeeklyContext:
    """One weekly run: its market (already cut at ``asof``), parameters, as-of date, the shared
    intermediates (properties, each computed at most once) and what each step left for the next."""

    market: Market
    params: Params
    asof: pd.Timestamp
    #: step results read by later steps and the cover (rotation, levels, picks, ...)
    results: StepResults = field(default_factory=StepResults)
    #: step name -> where its input tables are current (:class:`xladdin.data.ends.EffectiveEnd`, capped at the
    #: as-of date; None: an input table is missing), set before the steps run
    ends: dict[str, Any] = field(default_factory=dict)
    #: table key -> why that table of the as-of date is not computed: its inputs end before the as-of date
    #: (steps that still compute their other tables leave it here; :func:`xladdin.workbook.weekly._run_steps`)
    stale: dict[str, str] = field(default_factory=dict)
    #: intermediate name -> (True, value) or (False, the error computing it raised); steps running in
    #: two threads at once (:func:`xladdin.workbook.weekly.compute_weekly`) get each from one computation
    _built: OnceMap = field(default_factory=OnceMap, repr=False)

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        def attempt() -> tuple[bool, Any]:
            try:
                return True, build()
            except Exception as exc:  # kept: a later step asking gets the same error, nothing recomputed
                return False, exc
        ok, value = self._built.get(name, attempt)
        if not ok:
            raise value
        return value

    @property
    def built(self) -> list[str]:
        """Names of the intermediates computed so far (or that failed), in the order they were built."""
        return list(self._built)

    # ------------------------------------------------------------------ intermediates
    @property
    def etf_flows(self) -> pd.DataFrame:
        """M1: daily net flow of every ETF, yuan (dates x ETFs), NaN where the NAV is missing."""
        return self._once("etf_flows", lambda: flows.market_etf_flows(self.market, missing_nav="nan"))

    @property
    def penetration(self):
        """M6: the industry weight snapshots of every index (:class:`xladdin.methods.holdings.SnapshotWeights`)."""
        return self._once("penetration", lambda: holdings.penetration_weights(self.market))

    @property
    def style(self) -> dict[str, Any]:
        """M5: pair -> its weekly style table (lambda ``params.hp_lambda``), or the error computing it raised."""
        return self._once("style", lambda: strategy.style_pair_tables(self.market, hp_lambda=self.params.hp_lambda))

    @property
    def calendar(self) -> pd.DatetimeIndex:
        """Trading days up to the as-of date (every date of the daily tables)."""
        return self._once("calendar", lambda: dashboard.trading_calendar(self.market, self.asof))

    @property
    def week(self) -> WeekBounds:
        """This week's and last week's trading days (of industry_daily, the industry flow table's calendar)."""
        return self._once("week", lambda: week_bounds(self.market.industry_close().index, self.asof))
