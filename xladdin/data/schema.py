"""Canonical tables (spec, "Data the methods consume").

Every table is a long-form :class:`pandas.DataFrame` with the columns below. Dates are
``datetime64[ns]`` (trading days), codes are strings with their exchange suffix, amounts are yuan.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: northbound (Stock Connect) holdings are published daily up to this date, quarterly after
NORTHBOUND_DAILY_UNTIL = pd.Timestamp("2024-08-16")


#: the earliest date of any canonical table: the Shanghai exchange opened in December 1990, and nothing the
#: methods read goes further back (a date before it is a typo or a unit error, e.g. 1985 for 2015)
EARLIEST_DATE = pd.Timestamp("1990-01-01")
#: how far ahead of today an announced date may lie (``etf_info.list_date``); other dates may not be ahead
AHEAD_DAYS = 366


@dataclass(frozen=True)
class Range:
    """The physical range of a numeric column: ``lo`` <= x <= ``hi`` (``lo_open``: ``lo`` < x), ``what`` the
    quantity in words (for the message). Checked by :func:`xladdin.data.checks.check_numbers`."""

    lo: float
    hi: float
    what: str
    lo_open: bool = False

    def holds(self, x):
        """Elementwise: x within the range (NaN: False)."""
        return ((x > self.lo) if self.lo_open else (x >= self.lo)) & (x <= self.hi)

    def text(self) -> str:
        return f"{'>' if self.lo_open else '>='} {self.lo:g} and <= {self.hi:g}"


#: the ranges shared by several columns: a count or an amount (yuan, shares) is >= 0, a weight or a share of
#: a float is a fraction, a price or a NAV lies in a band no A-share security leaves (the exchanges' tick is
#: 0.001 yuan; an index, post-adjusted price or NAV above ten million is a unit error, as is a close of 1e-300)
AMOUNT = Range(0.0, 1e15, "an amount in yuan (>= 0)")
COUNT = Range(0.0, 1e15, "a count of shares or units (>= 0)")
UNITS = Range(0.0, 1e15, "units outstanding (> 0)", lo_open=True)
FRACTION = Range(0.0, 1.0, "a fraction (0 to 1)")
PRICE = Range(1e-4, 1e7, "a price, NAV or index level (1e-4 to 1e7)")
RATIO = Range(0.0, 1e15, "a ratio (> 0)", lo_open=True)


@dataclass(frozen=True)
class TableSpec:
    """Schema of one canonical table.

    ``key`` columns identify a row; ``numeric`` columns must parse as numbers, each within its
    :class:`Range` of ``ranges`` where it has one (``positive`` lists those that must be > 0); ``optional``
    columns may be absent or blank; ``date_cols`` are parsed as dates (from :data:`EARLIEST_DATE` on);
    ``sorted_by`` is the date column whose order is checked within each entity (the other key columns).
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    ranges: dict[str, Range] = field(default_factory=dict)
    optional: tuple[str, ...] = ()
    date_cols: tuple[str, ...] = ()
    sorted_by: str | None = None
    #: for Wind-style wide sheets: the key column that runs across (codes), the one down (dates)
    wide_code: str | None = None
    wide_date: str | None = None
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def value_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.key)

    @property
    def positive(self) -> tuple[str, ...]:
        """The numeric columns whose values must be > 0."""
        return tuple(c for c, r in self.ranges.items() if r.lo_open and r.lo == 0 or r.lo > 0)


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec("etf_info", ("etf",), ("etf", "name", "tracked_index", "category", "list_date"),
                  optional=("list_date",), date_cols=("list_date",),
                  description="ETF master: name, tracked index, category (broad / sector_theme / strategy_style / other)"),
        TableSpec("etf_daily", ("date", "etf"), ("date", "etf", "shares", "nav", "close", "split_ratio"),
                  numeric=("shares", "nav", "close", "split_ratio"),
                  ranges={"shares": UNITS, "nav": PRICE, "close": PRICE, "split_ratio": RATIO},
                  optional=("nav", "close", "split_ratio"), date_cols=("date",), sorted_by="date",
                  wide_code="etf", wide_date="date", description="ETF daily units outstanding, unit NAV, close, split ratio"),
        TableSpec("index_daily", ("date", "index"), ("date", "index", "close"), numeric=("close",),
                  ranges={"close": PRICE}, date_cols=("date",), sorted_by="date", wide_code="index", wide_date="date",
                  description="Index daily closes"),
        TableSpec("index_weights", ("date", "index", "stock"), ("date", "index", "stock", "weight"),
                  numeric=("weight",), ranges={"weight": FRACTION}, date_cols=("date",), sorted_by="date",
                  description="Index constituent weights at month ends (sum to 1 per index and date)"),
        TableSpec("stock_industry", ("stock",), ("stock", "industry", "industry_name"),
                  description="Stock to industry (CITIC level 1 by default)"),
        TableSpec("industry_daily", ("date", "industry"), ("date", "industry", "close", "volume", "amount"),
                  numeric=("close", "volume", "amount"), ranges={"close": PRICE, "volume": COUNT, "amount": AMOUNT},
                  optional=("volume", "amount"), date_cols=("date",), sorted_by="date", wide_code="industry",
                  wide_date="date",
                  description="Industry index daily closes; optional traded volume (shares) and amount (yuan), "
                              "for industry crowding (M14)"),
        TableSpec("northbound_holdings", ("date", "stock"), ("date", "stock", "shares_held", "held_value", "float_ratio"),
                  numeric=("shares_held", "held_value", "float_ratio"),
                  ranges={"shares_held": COUNT, "held_value": AMOUNT, "float_ratio": FRACTION},
                  optional=("shares_held", "held_value"),
                  date_cols=("date",), sorted_by="date", wide_code="stock", wide_date="date",
                  description=f"Northbound (Stock Connect) holdings per stock; daily to {NORTHBOUND_DAILY_UNTIL:%Y-%m-%d}, "
                              "quarterly after"),
        TableSpec("active_fund_holdings", ("report_date", "fund", "stock"), ("report_date", "fund", "stock", "value"),
                  numeric=("value",), ranges={"value": AMOUNT}, date_cols=("report_date",), sorted_by="report_date",
                  description="Active equity funds' disclosed top holdings (quarterly), yuan"),
        TableSpec("fund_nav", ("date", "fund"), ("date", "fund", "nav"), numeric=("nav",), ranges={"nav": PRICE},
                  date_cols=("date",), sorted_by="date", wide_code="fund", wide_date="date",
                  description="Active equity fund daily unit NAV"),
        TableSpec("fund_issuance", ("month", "category"), ("month", "category", "new_shares"), numeric=("new_shares",),
                  ranges={"new_shares": COUNT}, date_cols=("month",), sorted_by="month", wide_code="category",
                  wide_date="month", description="Monthly new fund shares by category (stock_etf / active_equity)"),
        TableSpec("margin_daily", ("date", "stock"), ("date", "stock", "financing_balance", "financing_buy", "financing_repay"),
                  numeric=("financing_balance", "financing_buy", "financing_repay"),
                  ranges={"financing_balance": AMOUNT, "financing_buy": AMOUNT, "financing_repay": AMOUNT},
                  date_cols=("date",), sorted_by="date",
                  wide_code="stock", wide_date="date", description="Margin financing per stock, yuan"),
        TableSpec("stock_daily", ("date", "stock"), ("date", "stock", "close", "amount", "float_mcap"),
                  numeric=("close", "amount", "float_mcap"), ranges={"close": PRICE, "amount": AMOUNT, "float_mcap": AMOUNT},
                  optional=("float_mcap",),
                  date_cols=("date",), sorted_by="date", wide_code="stock", wide_date="date",
                  description="Stock daily close, turnover (yuan) and free-float market cap"),
    ]
}

ETF_CATEGORIES = ("broad", "sector_theme", "strategy_style", "other")
#: the categories of stock ETFs (the others, bond, gold, money-market and cross-border ETFs, are ``other``):
#: their flows are given to the tracked index, so each needs one (a blank tracked_index is refused)
STOCK_ETF_CATEGORIES = ("broad", "sector_theme", "strategy_style")
ISSUANCE_CATEGORIES = ("stock_etf", "active_equity")
#: weights of one index on one date must sum to 1 within this tolerance
WEIGHT_SUM_TOL = 1e-3
