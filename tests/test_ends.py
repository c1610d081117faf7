"""Effective ends (spec "Stale inputs"): each input's current-until date and where a result stops, on
constructed tables against dates derived by hand (calendar months counted on the fingers, the exchange's
October 2024 and July 2024 trading days listed from its published holidays)."""
from __future__ import annotations

import pandas as pd
import pytest

from xladdin.data.ends import InputEnd, current_until, effective_end, market_effective_end, market_ends
from xladdin.data.market import Market

T = pd.Timestamp


def test_daily_tables_are_current_to_their_last_row():
    for table in ("etf_daily", "index_daily", "industry_daily", "fund_nav", "margin_daily", "stock_daily"):
        assert current_until(table, "2025-12-31") == T("2025-12-31")
    assert current_until("stock_industry", "2025-12-31") is None  # static: always current
    assert current_until("etf_info", None) is None


@pytest.mark.parametrize("last, until", [
    ("2024-10-08", "2024-12-08"),  # next snapshot expected 2024-11-08, plus a month's grace
    ("2024-10-31", "2024-12-31"),  # a month-end snapshot: next expected at November's end, plus a month
    ("2024-12-31", "2025-02-28"),
    ("2026-10-30", "2026-12-31"),  # October's last trading day (the 31st is a Saturday) is its month end
    ("2022-06-30", "2022-08-31"),
    ("2024-10-24", "2024-12-31"),  # 7 days before the month's end: a month-end snapshot
    ("2024-10-23", "2024-12-23"),  # 8 days before: counted day to day
])
def test_monthly_snapshots_are_current_a_month_past_the_next_one(last, until):
    assert current_until("index_weights", last) == T(until)
    assert current_until("fund_issuance", last) == T(until)


# trading days of the Shanghai exchange after 2024-09-30 (closed 1-7 October for National Day) and in July 2024
OCTOBER_2024 = ["2024-10-08", "2024-10-09", "2024-10-10", "2024-10-11", "2024-10-14", "2024-10-15", "2024-10-16",
                "2024-10-17", "2024-10-18", "2024-10-21", "2024-10-22", "2024-10-23", "2024-10-24", "2024-10-25",
                "2024-10-28"]
JULY_2024 = ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-04", "2024-07-05", "2024-07-08", "2024-07-09",
             "2024-07-10", "2024-07-11", "2024-07-12", "2024-07-15", "2024-07-16", "2024-07-17", "2024-07-18",
             "2024-07-19"]


def test_quarterly_holdings_are_current_to_the_next_disclosure_deadline():
    # fund top holdings of Q2 2024: the next report is Q3's, due 15 working days after 2024-09-30
    assert current_until("active_fund_holdings", "2024-06-30") == T(OCTOBER_2024[14])
    assert current_until("active_fund_holdings", "2024-06-28") == T(OCTOBER_2024[14])  # the quarter's last Friday
    # a date inside a quarter waits for that quarter's own report
    assert current_until("active_fund_holdings", "2024-05-15") == T(JULY_2024[14])
    # Stock Connect: daily until 2024-08-16 (its last daily row is current until Q3's holdings, published on the
    # 5th trading day of Q4), quarterly after
    assert current_until("northbound_holdings", "2024-08-15") == T("2024-08-15")
    assert current_until("northbound_holdings", "2024-08-16") == T(OCTOBER_2024[4])
    assert current_until("northbound_holdings", "2024-09-30") == T("2025-01-08")  # 2 Jan 2025 … 8 Jan: 5th day


def _ends(**lasts) -> list[InputEnd]:
    return [InputEnd(t, T(last), current_until(t, last)) for t, last in lasts.items()]


def test_effective_end_is_the_earliest_currency_and_names_that_input():
    ins = _ends(etf_daily="2026-08-21", industry_daily="2025-12-31", index_weights="2024-10-08")
    eff = effective_end(ins)
    assert eff.end == T("2024-12-08") and eff.limit.table == "index_weights"
    assert eff.limit.text() == "index_weights end 2024-10-08"
    assert eff.text() == "index_weights end 2024-10-08, current to 2024-12-08"
    # the last trading day on or before it (2024-12-08 is a Sunday)
    assert eff.on(pd.bdate_range("2024-11-25", "2024-12-31")) == T("2024-12-06")
    assert not eff.covers("2024-12-09") and eff.covers("2024-12-08")
    assert eff.as_dict()["limited_by"]["current_until"] == "2024-12-08"


def test_a_cap_before_every_input_limits_nothing_and_data_ending_together_names_nothing():
    ins = _ends(etf_daily="2026-08-21", index_weights="2024-10-08")
    eff = effective_end(ins, cap="2020-06-30")
    assert eff.end == T("2020-06-30") and eff.limit is None and eff.text() == ""
    together = effective_end(_ends(etf_daily="2025-12-31", industry_daily="2025-12-31", index_weights="2025-12-31"))
    assert together.end == T("2025-12-31") and together.limit is None
    # asked to run past every input: the data's end is named
    past = effective_end(_ends(etf_daily="2025-12-31", industry_daily="2025-12-31"), cap="2026-08-21")
    assert past.end == T("2025-12-31") and past.limit.table == "etf_daily"
    assert effective_end([], cap="2025-01-02").end == T("2025-01-02")


def _market() -> Market:
    days = pd.bdate_range("2024-09-02", "2024-12-31")
    etf = pd.DataFrame({"date": days.repeat(2), "etf": ["510300.SH", "159915.SZ"] * len(days), "shares": 1e9,
                        "nav": 1.0, "close": 1.0, "split_ratio": 1.0})
    idx = pd.concat([pd.DataFrame({"date": days, "index": "000300.SH", "close": 1.0}),
                     pd.DataFrame({"date": days[days <= "2024-11-15"], "index": "000852.SH", "close": 1.0})])
    weights = pd.DataFrame({"date": [T("2024-09-30")] * 2, "index": "000300.SH", "stock": ["600000.SH", "600519.SH"],
                            "weight": [0.5, 0.5]})
    info = pd.DataFrame({"etf": ["510300.SH", "159915.SZ"], "name": ["a", "b"], "tracked_index": ["000300.SH", "x"],
                         "category": "broad", "list_date": pd.NaT})
    return Market({"etf_daily": etf, "index_daily": idx.sort_values(["date", "index"]).reset_index(drop=True),
                   "index_weights": weights, "etf_info": info})


def test_market_ends_read_the_tables_and_the_codes_a_result_needs():
    m = _market()
    ends = {e.table: e for e in market_ends(m, {"etf_daily": None, "etf_info": None, "index_weights": None,
                                                "index_daily": ["000300.SH", "000852.SH"], "stock_daily": None})}
    assert set(ends) == {"etf_daily", "index_weights", "index_daily"}  # static and absent tables left out
    assert ends["etf_daily"].last == T("2024-12-31")
    assert ends["index_weights"].until == T("2024-11-30")  # September's end plus two months
    assert ends["index_daily"].codes == ("000852.SH",) and ends["index_daily"].last == T("2024-11-15")
    assert ends["index_daily"].text() == "index_daily 000852.SH end 2024-11-15"
    eff = market_effective_end(m, {"etf_daily": None, "index_daily": ["000300.SH", "000852.SH"],
                                   "index_weights": None})
    assert eff.end == T("2024-11-15") and eff.limit.codes == ("000852.SH",)
    assert market_effective_end(m, {"etf_daily": None, "index_daily": ["000300.SH"]}).limit is None
