"""Canonical tables (spec, "Data the methods consume").

Every table is a long-form :class:`pandas.DataFrame` with the columns below. Dates are
``datetime64[ns]`` (trading days), codes are strings with their exchange suffix, amounts are yuan.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: northbound (Stock Connect) holdings are published daily up to this date, quarterly after
NORTHBOUND_DAILY_UNTIL = pd.Timestamp("2024-08-16")


@dataclass(frozen=True)
class TableSpec:
    """Schema of one canonical table.

    ``key`` columns identify a row; ``numeric`` columns must parse as numbers; ``positive``
    columns must be > 0 where present, ``non_negative`` columns >= 0; ``optional`` columns may be
    absent or blank;
    ``date_cols`` are parsed as dates; ``sorted_by`` is the date column whose order is checked
    within each entity (the other key columns).
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    non_negative: tuple[str, ...] = ()
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


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec("etf_info", ("etf",), ("etf", "name", "tracked_index", "category", "list_date"),
                  optional=("list_date",), date_cols=("list_date",),
                  description="ETF master: name, tracked index, category (broad / sector_theme / strategy_style / other)"),
        TableSpec("etf_daily", ("date", "etf"), ("date", "etf", "shares", "nav", "close", "split_ratio"),
                  numeric=("shares", "nav", "close", "split_ratio"), positive=("shares", "nav", "close", "split_ratio"),
                  optional=("nav", "close", "split_ratio"), date_cols=("date",), sorted_by="date",
                  wide_code="etf", wide_date="date", description="ETF daily units outstanding, unit NAV, close, split ratio"),
        TableSpec("index_daily", ("date", "index"), ("date", "index", "close"), numeric=("close",), positive=("close",),
                  date_cols=("date",), sorted_by="date", wide_code="index", wide_date="date",
                  description="Index daily closes"),
        TableSpec("index_weights", ("date", "index", "stock"), ("date", "index", "stock", "weight"),
                  numeric=("weight",), date_cols=("date",), sorted_by="date",
                  description="Index constituent weights at month ends (sum to 1 per index and date)"),
        TableSpec("stock_industry", ("stock",), ("stock", "industry", "industry_name"),
                  description="Stock to industry (CITIC level 1 by default)"),
        TableSpec("industry_daily", ("date", "industry"), ("date", "industry", "close", "volume", "amount"),
                  numeric=("close", "volume", "amount"), positive=("close",), optional=("volume", "amount"),
                  non_negative=("volume", "amount"), date_cols=("date",), sorted_by="date", wide_code="industry",
                  wide_date="date",
                  description="Industry index daily closes; optional traded volume (shares) and amount (yuan), "
                              "for industry crowding (M14)"),
        TableSpec("northbound_holdings", ("date", "stock"), ("date", "stock", "shares_held", "held_value", "float_ratio"),
                  numeric=("shares_held", "held_value", "float_ratio"), optional=("shares_held", "held_value"),
                  date_cols=("date",), sorted_by="date", wide_code="stock", wide_date="date",
                  description=f"Northbound (Stock Connect) holdings per stock; daily to {NORTHBOUND_DAILY_UNTIL:%Y-%m-%d}, "
                              "quarterly after"),
        TableSpec("active_fund_holdings", ("report_date", "fund", "stock"), ("report_date", "fund", "stock", "value"),
                  numeric=("value",), date_cols=("report_date",), sorted_by="report_date",
                  description="Active equity funds' disclosed top holdings (quarterly), yuan"),
        TableSpec("fund_nav", ("date", "fund"), ("date", "fund", "nav"), numeric=("nav",), positive=("nav",),
                  date_cols=("date",), sorted_by="date", wide_code="fund", wide_date="date",
                  description="Active equity fund daily unit NAV"),
        TableSpec("fund_issuance", ("month", "category"), ("month", "category", "new_shares"), numeric=("new_shares",),
                  date_cols=("month",), sorted_by="month", wide_code="category", wide_date="month",
                  description="Monthly new fund shares by category (stock_etf / active_equity)"),
        TableSpec("margin_daily", ("date", "stock"), ("date", "stock", "financing_balance", "financing_buy", "financing_repay"),
                  numeric=("financing_balance", "financing_buy", "financing_repay"), date_cols=("date",), sorted_by="date",
                  wide_code="stock", wide_date="date", description="Margin financing per stock, yuan"),
        TableSpec("stock_daily", ("date", "stock"), ("date", "stock", "close", "amount", "float_mcap"),
                  numeric=("close", "amount", "float_mcap"), positive=("close",), optional=("float_mcap",),
                  date_cols=("date",), sorted_by="date", wide_code="stock", wide_date="date",
                  description="Stock daily close, turnover (yuan) and free-float market cap"),
    ]
}

ETF_CATEGORIES = ("broad", "sector_theme", "strategy_style", "other")
ISSUANCE_CATEGORIES = ("stock_etf", "active_equity")
#: weights of one index on one date must sum to 1 within this tolerance
WEIGHT_SUM_TOL = 1e-3
