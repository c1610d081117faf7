"""No silent change to the week's flows: stock ETFs whose flows the totals leave out are named on the cover and
in the mail, with what they weigh (a missing NAV on days of the as-of week; a stock ETF without a tracked index).

The sample market with the NAV of one CSI 300 ETF blanked on the week's last three days, and one sector ETF's
tracked index blanked. The amounts are derived here by a naive loop over the rows (share change x the last
NAV before the gap; the ETF's own M1 flows of the week), not by the code under test.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data.market import Market
from xladdin.workbook.params import default_params
from xladdin.workbook.weekly import compute_weekly

NAV_ETF, INDEX_ETF = "510300.SH", "159611.SZ"


@pytest.fixture(scope="module")
def edited(sample_market):
    t = dict(sample_market.tables)
    d = t["etf_daily"].copy()
    last3 = sorted(d["date"].unique())[-3:]
    d.loc[(d["etf"] == NAV_ETF) & d["date"].isin(last3), "nav"] = np.nan
    info = t["etf_info"].copy()
    info.loc[info["etf"] == INDEX_ETF, "tracked_index"] = None
    t["etf_daily"], t["etf_info"] = d, info
    return Market(t, source="sample, edited"), [pd.Timestamp(x) for x in last3]


def _naive(market, etf, days):
    """(share change x last known NAV) summed over ``days`` for ``etf``; and its M1 flow over the days'
    week when every NAV is known (no split in these rows: checked)."""
    rows = market.tables["etf_daily"]
    rows = rows[rows["etf"] == etf].sort_values("date").reset_index(drop=True)
    assert (rows["split_ratio"].fillna(1.0) == 1.0).all()
    total, last_nav = 0.0, None
    for i in range(1, len(rows)):
        if not np.isnan(rows.at[i - 1, "nav"]):
            last_nav = rows.at[i - 1, "nav"]
        if rows.at[i, "date"] in days:
            total += (rows.at[i, "shares"] - rows.at[i - 1, "shares"]) * (
                rows.at[i, "nav"] if not np.isnan(rows.at[i, "nav"]) else last_nav)
    return total


def test_cover_and_mail_name_the_left_out_flows(edited):
    market, last3 = edited
    res = compute_weekly(market, default_params())
    week = [d for d in sorted(market.tables["etf_daily"]["date"].unique()) if d >= pd.Timestamp("2026-10-26")]
    nav_yi = _naive(market, NAV_ETF, last3) / 1e8
    index_yi = _naive(market, INDEX_ETF, [pd.Timestamp(d) for d in week]) / 1e8
    heads = res.tables["cover_headlines"].set_index("item")
    nav_line = f"1只ETF本周净值缺失3天,未计入: {NAV_ETF}(约{nav_yi:,.2f}亿元)"
    index_line = f"1只股票ETF无跟踪指数,未计入: {INDEX_ETF}(本周资金流{index_yi:,.2f}亿元)"
    assert heads.loc["净值缺失未计入", "signal"] == nav_line
    assert heads.loc["净值缺失未计入", "detail"].startswith("金额为这些天的份额变动按最近已知净值估算")
    assert heads.loc["无跟踪指数未计入", "signal"] == index_line
    # the mail carries the cover's headline rows: what is left out and what it weighs
    assert f"净值缺失未计入:{nav_line}" in res.summary.headlines
    assert f"无跟踪指数未计入:{index_line}" in res.summary.headlines


def test_english_rows_and_no_row_when_nothing_is_left_out(edited, sample_market):
    market, _ = edited
    res = compute_weekly(market, default_params().replace(language="en"))
    signals = res.tables["cover_headlines"].set_index("item")["signal"]
    assert signals["Missing NAVs left out"].startswith(
        f"1 ETF(s) missing their NAV on 3 day(s) this week, left out: {NAV_ETF} (about ")
    assert signals["No tracked index, left out"].startswith(
        f"1 stock ETF(s) without a tracked index, left out: {INDEX_ETF} (their flow this week: ")
    clean = compute_weekly(sample_market, default_params())
    assert not {"净值缺失未计入", "无跟踪指数未计入"} & set(clean.tables["cover_headlines"]["item"])
