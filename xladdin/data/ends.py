"""How far the data lets a result run: each input's *current-until* date and a result's effective end.

The spec ("Stale inputs" under "Data the methods consume"): every result runs only to its effective end,
the last date on which every input it needs is current; past it the result is not computed, and its
header names the input that limits it ("index_weights end 2024-10-08"). An input is current

* a **daily** table (etf_daily, index_daily, industry_daily, fund_nav, margin_daily, stock_daily): until
  its last row;
* a **monthly** snapshot (index_weights, fund_issuance): until the next expected snapshot (one month after
  the last one) plus a grace of :data:`MONTHLY_GRACE_MONTHS` month (chosen): ``until = last + (1 + grace)
  months``, counted from month end to month end for a snapshot in the last :data:`PERIOD_END_DAYS` days of
  its month (2024-09-27 -> 2024-11-30) and day to day otherwise (2024-10-08 -> 2024-12-08);
* **quarterly** holdings (active_fund_holdings; northbound_holdings from
  :data:`~xladdin.data.schema.NORTHBOUND_DAILY_UNTIL` on): until the next disclosure deadline, the
  :data:`DISCLOSURE_TRADING_DAYS`-th trading day after the end of the quarter that follows the last
  snapshot's quarter (funds' quarterly reports: 15 working days; Stock Connect holdings: the 5th trading
  day of the next quarter). A snapshot dated in the last :data:`PERIOD_END_DAYS` days of its quarter is
  that quarter's; an earlier date (northbound's last daily row, 2024-08-16) waits for its own quarter's
  disclosure;
* a **static** table (etf_info, stock_industry): always.

:func:`current_until` is the rule for one table; :func:`effective_end` takes the inputs' ends
(:class:`InputEnd`) and a cap (the requested end or as-of date) and says where a result stops and which
input stops it (:class:`EffectiveEnd`); :func:`market_ends` reads the inputs' last dates from a market
(pure: no file, no clock). The methods' orchestration functions, the CLI research commands and the
weekly tables all use these, so one rule dates every result.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from .calendar import trading_days
from .schema import NORTHBOUND_DAILY_UNTIL, TABLES
from .views import dates_with_rows

__all__ = ["RHYTHMS", "MONTHLY_GRACE_MONTHS", "DISCLOSURE_TRADING_DAYS", "InputEnd",
           "EffectiveEnd", "current_until", "rhythm", "effective_end", "market_ends", "market_effective_end",
           "disclosure_deadline", "Needs", "PERIOD_END_DAYS"]

#: how each canonical table is published (northbound_holdings: daily, then quarterly: :func:`rhythm`)
RHYTHMS: dict[str, str] = {
    "etf_info": "static", "stock_industry": "static",
    "etf_daily": "daily", "index_daily": "daily", "industry_daily": "daily", "fund_nav": "daily",
    "margin_daily": "daily", "stock_daily": "daily",
    "index_weights": "monthly", "fund_issuance": "monthly",
    "active_fund_holdings": "quarterly", "northbound_holdings": "daily",
}
#: months a monthly snapshot stays current after the next one was expected (chosen)
MONTHLY_GRACE_MONTHS = 1
#: trading days after a quarter's end by which its holdings are disclosed: fund quarterly reports 15 working
#: days (CSRC rules on fund disclosure), Stock Connect holdings the 5th trading day of the next quarter (SSE/SZSE)
DISCLOSURE_TRADING_DAYS: dict[str, int] = {"active_fund_holdings": 15, "northbound_holdings": 5}
#: a snapshot dated this many days or fewer before its month's (quarter's) end is that month's (quarter's)
#: end-of-period snapshot (the last trading day of a month ends on a weekend or holiday up to a week early)
PERIOD_END_DAYS = 7

#: what a result reads: table -> the codes it needs (None: the whole table)
Needs = Mapping[str, Sequence[str] | None]
#: the code column of each table whose rows a result may need only some of
CODE_COLUMNS = {name: spec.wide_code for name, spec in TABLES.items() if spec.wide_code} | {
    "index_weights": "index", "active_fund_holdings": "fund"}


@dataclass(frozen=True)
class InputEnd:
    """One input of a result: its last date and the last date it is current."""

    table: str
    last: pd.Timestamp
    until: pd.Timestamp
    codes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The table, with the codes a result reads when it reads only some (``index_daily 399370.SZ``)."""
        return f"{self.table} {','.join(self.codes)}" if self.codes else self.table

    def text(self) -> str:
        """``index_weights end 2024-10-08`` (the spec's wording, the header of a limited result)."""
        return f"{self.name} end {self.last:%Y-%m-%d}"


@dataclass(frozen=True)
class EffectiveEnd:
    """Where a result stops: ``end`` (None when no dated input and no cap), the input that stops it
    (``limit``; None when the cap comes first or nothing is dated) and every dated input."""

    end: pd.Timestamp | None
    limit: InputEnd | None
    inputs: tuple[InputEnd, ...] = ()

    def covers(self, date) -> bool:
        """True when every input is current on ``date`` (nothing limits before it)."""
        return self.end is None or pd.Timestamp(date) <= self.end

    def on(self, dates) -> pd.Timestamp | None:
        """The last of ``dates`` (sorted trading days) on or before the end; None when there is none."""
        d = pd.DatetimeIndex(dates)
        if self.end is not None:
            d = d[d <= self.end]
        return pd.Timestamp(d[-1]) if len(d) else None

    def text(self) -> str:
        """``index_weights end 2024-10-08, current to 2024-12-08`` for a limited result, else ``""``."""
        if self.limit is None:
            return ""
        return f"{self.limit.text()}, current to {self.limit.until:%Y-%m-%d}"

    def as_dict(self) -> dict:
        """JSON-ready: the end, the limiting input (its table, codes, last date, current-until) and its text."""
        lim = self.limit
        return {"date": None if self.end is None else self.end.strftime("%Y-%m-%d"),
                "limited_by": None if lim is None else {
                    "table": lim.table, "codes": list(lim.codes), "last": lim.last.strftime("%Y-%m-%d"),
                    "current_until": lim.until.strftime("%Y-%m-%d"), "text": lim.text()}}


def rhythm(table: str, last) -> str:
    """How ``table`` is published at its last date ``last``: daily / monthly / quarterly / static
    (northbound_holdings is daily to :data:`NORTHBOUND_DAILY_UNTIL` and quarterly from then on)."""
    if table not in RHYTHMS:
        raise KeyError(f"unknown table `{table}`; known: {', '.join(RHYTHMS)}")
    if table == "northbound_holdings" and pd.Timestamp(last) >= NORTHBOUND_DAILY_UNTIL:
        return "quarterly"
    return RHYTHMS[table]


def disclosure_deadline(table: str, last) -> pd.Timestamp:
    """The deadline of the disclosure that follows a quarterly snapshot dated ``last``: the
    :data:`DISCLOSURE_TRADING_DAYS`-th trading day after the end of the next quarter to report.

    That quarter is the one after ``last``'s when ``last`` lies in the final :data:`PERIOD_END_DAYS` days of
    its quarter (a quarter-end snapshot), else ``last``'s own quarter. Trading days are the exchange's
    (:func:`xladdin.data.calendar.trading_days`); beyond the years it covers, weekdays.
    """
    last = pd.Timestamp(last).normalize()
    quarter = last.to_period("Q")
    if (quarter.end_time.normalize() - last).days <= PERIOD_END_DAYS:
        quarter = quarter + 1
    q_end = quarter.end_time.normalize()
    k = DISCLOSURE_TRADING_DAYS[table]
    first = q_end + pd.Timedelta(days=1)
    try:
        days = trading_days(first, first + pd.Timedelta(days=2 * k + 30))
    except ValueError:  # a year the exchange calendar and the holiday table do not cover
        days = pd.bdate_range(first, periods=k)
    return pd.Timestamp(days[k - 1])


def current_until(table: str, last) -> pd.Timestamp | None:
    """The last calendar date on which ``table``, whose latest row is dated ``last``, is current (None:
    a static table, always current). The rules are the module's (daily, monthly, quarterly)."""
    if last is None:
        return None
    last = pd.Timestamp(last).normalize()
    kind = rhythm(table, last)
    if kind == "static":
        return None
    if kind == "daily":
        return last
    if kind == "monthly":
        months = 1 + MONTHLY_GRACE_MONTHS
        month = last.to_period("M")
        if (month.end_time.normalize() - last).days <= PERIOD_END_DAYS:  # a month-end snapshot: to a month end
            return (month + months).end_time.normalize()
        return last + pd.DateOffset(months=months)
    return disclosure_deadline(table, last)


def effective_end(inputs: Iterable[InputEnd], cap=None) -> EffectiveEnd:
    """Where a result on ``inputs`` stops, and the input that stops it.

    ``end = min(cap, min_i until_i)``. The input with the earliest ``until`` (ties: the first given) is the
    ``limit`` when its ``until`` comes before ``cap`` or before the last date of another input (data exists
    that the result may not use); a result that stops at ``cap``, or where all its data ends at once, has none.
    """
    inputs = tuple(inputs)
    cap = None if cap is None else pd.Timestamp(cap).normalize()
    if not inputs:
        return EffectiveEnd(cap, None, inputs)
    first = min(inputs, key=lambda i: i.until)
    if cap is not None and cap <= first.until:
        return EffectiveEnd(cap, None, inputs)
    latest = max(i.last for i in inputs)
    reach = latest if cap is None else max(latest, cap)
    return EffectiveEnd(first.until, first if first.until < reach else None, inputs)


def _last_of(market, table: str, codes: Sequence[str] | None) -> tuple[pd.Timestamp | None, tuple[str, ...]]:
    """The last date of ``table`` and no code; with ``codes``, the earliest of their last dates (each must be
    current) and the code it is of (a code without rows is left to the method, which says so)."""
    if not codes:
        return market.last_date(table), ()
    date_col = TABLES[table].sorted_by
    lasts = {c: dates_with_rows(market, table, [c], index=date_col, columns=CODE_COLUMNS[table]) for c in codes}
    lasts = {c: d[-1] for c, d in lasts.items() if len(d)}
    if not lasts:
        return None, ()
    code = min(lasts, key=lambda c: lasts[c])
    return pd.Timestamp(lasts[code]), (code,)


def market_ends(market, needs: Needs) -> list[InputEnd]:
    """The :class:`InputEnd` of each table in ``needs`` that ``market`` holds and that has a date (static
    tables and absent ones are left out: a method needing an absent table says so itself). With codes, the
    input is the code whose rows end first (``index_daily 399370.SZ``)."""
    out = []
    for table, codes in needs.items():
        if not market.has(table) or RHYTHMS.get(table) == "static":
            continue
        last, code = _last_of(market, table, codes)
        if last is None:
            continue
        out.append(InputEnd(table, last, current_until(table, last), code))
    return out


def market_effective_end(market, needs: Needs, cap=None) -> EffectiveEnd:
    """:func:`effective_end` of the inputs ``needs`` names, read from ``market`` (:func:`market_ends`)."""
    return effective_end(market_ends(market, needs), cap)
