"""The weekly workbook's research tables: signs of the cover's and the mail's flow lists, what the totals
include (re-derived from the raw CSV), lag and cost in the headers, gross/net columns, the style sheet
with a missing pair, and the parameters sheet."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data.market import Market
from xladdin.workbook.messages import note_text
from xladdin.workbook.params import default_params, params_from_mapping
from xladdin.workbook.weekly import compute_weekly, signed_flows


@pytest.fixture(scope="module")
def real_week(real_market):
    return compute_weekly(real_market, default_params(), asof="2025-12-31")


@pytest.fixture(scope="module")
def real_current_week(real_market):
    """A week while the CSI 300 weights (last snapshot 2024-10-08) are current: to 2024-12-08."""
    return compute_weekly(real_market, default_params(), asof="2024-11-29")


def _row(head: pd.DataFrame, item: str) -> pd.Series:
    hit = head[head["item"] == item]
    assert len(hit) == 1, (item, head["item"].tolist())
    return hit.iloc[0]


def _etf_week_flow(real_data_dir, etf: str, start: str, end: str) -> float:
    """M1 by hand from etf_daily.csv: Σ (shares_t − shares_{t−1} × split_t) × nav_t over the week, 亿元."""
    d = pd.read_csv(real_data_dir / "etf_daily.csv", parse_dates=["date"])
    e = d[d["etf"] == etf].sort_values("date").set_index("date")
    flow = (e["shares"] - e["shares"].shift(1) * e["split_ratio"]) * e["nav"]
    return float(flow.loc[start:end].sum()) / 1e8


@pytest.mark.slow
def test_real_cover_signs_and_totals(real_current_week, real_data_dir):
    head = real_current_week.tables["cover_headlines"]
    # week 2024-11-25 .. 11-29: every industry's penetrated flow is an outflow (or 0.00)
    inflow = _row(head, "净流入居前行业")
    assert inflow["signal"] == "无" and "没有净流入" in inflow["detail"]
    out = _row(head, "净流出居前行业")
    amounts = [float(x.split()[-1].replace("亿元", "")) for x in out["detail"].split(";")]
    assert len(amounts) == 3 and all(a < 0 for a in amounts) and amounts == sorted(amounts)
    # the ChiNext ETF is not in the industry total, and the cover says so with its flow (M1 by hand)
    chinext = _etf_week_flow(real_data_dir, "159915.SZ", "2024-11-25", "2024-11-29")
    assert chinext == pytest.approx(4.87, abs=0.005)
    left = _row(head, "未穿透的股票ETF")
    assert left["signal"] == f"159915.SZ {chinext:,.2f}亿元" and "399006.SZ" in left["detail"]
    csi300 = sum(_etf_week_flow(real_data_dir, e, "2024-11-25", "2024-11-29")
                 for e in ("510300.SH", "510310.SH", "510330.SH", "159919.SZ"))
    total = _row(head, "股票ETF资金(穿透行业)")
    assert "4只股票ETF" in total["detail"] and f"这些ETF合计{csi300:,.2f}亿元" in total["detail"]
    every = _row(head, "股票ETF资金")  # the headline: every stock ETF with a tracked index, penetrated or not
    assert csi300 + chinext < 0 and every["signal"] == f"净流出{abs(csi300 + chinext):,.2f}亿元"
    assert every["detail"] == "11-25至11-29,5只股票ETF合计(M1:份额变动×当日净值)"
    flow = real_current_week.tables["industry_flow"]
    assert total["signal"] == f"净流出{abs(flow['net_flow'].sum()):,.2f}亿元"
    # the mail carries the same lists: no inflow, outflows < 0 only
    s = real_current_week.summary
    assert s.inflows == [] and s.flows_known and all(v < 0 for _, v in s.outflows)


@pytest.mark.slow
def test_real_report_is_dated_by_its_tables_and_not_computed_on_stale_weights(real_market):
    """Asked for etf_daily's last day (2026-08-21), the report is dated 2025-12-31: the last day its tables'
    inputs reach (the index and industry closes; spec, "Stale inputs"). The CSI 300 weights end 2024-10-08 and
    are current to 2024-12-08 (the next snapshot was due 2024-11-08, plus a month's grace): the week's industry
    flows and the latest picks are not computed, the histories of the rotation end on 2024-12-06 (the last
    trading day before) and say why."""
    res = compute_weekly(real_market, default_params(), asof="2026-08-21")
    assert res.asof == pd.Timestamp("2025-12-31") and res.summary.asof.isoformat() == "2025-12-31"
    why = "输入表 index_weights 截至 2024-10-08(有效至 2024-12-08),不以过期数据计算"
    for key in ("industry_flow", "latest_picks"):  # the note in English (the command line's), Chinese on the cover
        assert res.tables[key] is None and note_text(res.notes[key], "zh") == why
        assert res.notes[key] == "index_weights end 2024-10-08 (current to 2024-12-08): not computed on stale inputs"
    assert (res.tables["cover_headlines"]["detail"] == why).sum() == 2
    assert res.tables["nav"]["date"].iloc[-1] <= pd.Timestamp("2024-12-06")
    assert res.tables["performance"]["period"].iloc[-2] == "2024年(至12-06)"
    limit = ";计算至 2024-12-06(输入表 index_weights 截至 2024-10-08)"
    for key in ("months", "rebalance", "backtest"):
        assert limit in res.subtitles[key]["zh"], key
    assert "computed to 2024-12-06 (index_weights end 2024-10-08)" in res.subtitles["backtest"]["en"]
    assert "无排名调仓期:短期资金流入流出 96/132" in res.subtitles["backtest"]["zh"]
    # tables whose inputs reach the as-of date are computed for it and name nothing
    assert res.tables["correlation"]["date"].iloc[-1] == pd.Timestamp("2025-12-31")
    assert res.tables["dashboard_index"] is not None and "计算至" not in res.subtitles["correlation"]["zh"]
    fresh = res.tables["cover_freshness"].set_index("table")
    assert fresh.loc["index_weights", "status"] == "滞后449天" and fresh.loc["etf_daily", "status"].startswith("最新")
    head = res.tables["cover_headlines"]
    assert (head["item"] == "未计算:行业资金流 · 股票ETF区间资金净流入额(亿元),按本周净流入排序").any()  # by sheet and title


def test_signed_flows_by_hand():
    flow = pd.DataFrame({"industry": list("abcdef"), "industry_name": list("ABCDEF"),
                         "net_flow": [0.004, -0.003, 2.0, -1.0, np.nan, 0.5]})
    inflow, outflow = signed_flows(flow, 3)
    assert inflow["industry"].tolist() == ["c", "f"]          # 0.004 shows as 0.00: neither
    assert outflow["industry"].tolist() == ["d"]


@pytest.mark.slow
def test_real_headers_say_lag_and_cost_and_tables_show_gross(real_week):
    sub = real_week.subtitles
    assert "信号日后1个交易日收盘成交" in sub["rebalance"]["zh"] and "单边成本0.10%" in sub["rebalance"]["zh"]
    assert "traded 1 day(s) after the signal" in sub["backtest"]["en"] and "0.10% one-way" in sub["backtest"]["en"]
    assert "成长价值:输入表 index_daily 399370.SZ 截至2024-12-12" in sub["lambda"]["zh"]
    perf = real_week.tables["performance"]
    assert perf["period"].iloc[0] == "2019年(10-11起)" and perf["part_year"].iloc[0] == 1
    assert {"annual_return_gross", "excess_return_gross", "annualised_return"} <= set(perf.columns)
    assert (perf["annual_return_gross"] >= perf["annual_return"] - 1e-12).all()
    hold = real_week.tables["strategy_holdings"]
    assert (hold["period_start"] > hold["signal_date"]).all()
    nav = real_week.tables["nav"]
    assert (nav["strategy_gross"] >= nav["strategy"] - 1e-12).all()


@pytest.mark.slow
def test_style_sheet_keeps_the_pair_that_has_data(sample_market):
    idx = sample_market.table("index_daily")
    no_growth = Market({**sample_market.tables, "index_daily": idx[~idx["index"].isin(["399370.SZ", "399371.SZ"])]},
                       source="sample without 399370/399371")
    res = compute_weekly(no_growth, default_params(), asof="2024-06-28")
    style = res.tables["style_signals"]
    assert style is not None and style["size_signal"].notna().all() and style["growth_signal"].isna().all()
    assert "缺少 growth" in res.subtitles["lambda"]["zh"]
    assert any("成长价值风格信号不可用" in str(x) for x in res.tables["cover_headlines"]["detail"])  # said in Chinese


@pytest.mark.slow
def test_sample_lists_hold_only_the_right_sign(sample_market):
    res = compute_weekly(sample_market, default_params(), asof="2023-03-17")
    flow = res.tables["industry_flow"]
    ins, outs = res.summary.inflows, res.summary.outflows
    want_in = flow[flow["net_flow"] > 0.005].sort_values("net_flow", ascending=False)["industry_name"].head(5)
    want_out = flow[flow["net_flow"] < -0.005].sort_values("net_flow")["industry_name"].head(5)
    assert [n for n, _ in ins] == want_in.tolist() and [n for n, _ in outs] == want_out.tolist()
    assert all(v > 0 for _, v in ins) and all(v < 0 for _, v in outs)
    etf = res.tables["etf_ic"].set_index("stat")["value"]
    assert etf["执行滞后(交易日)"] == 1 and etf["单边成本"] == pytest.approx(0.003)
    assert etf["策略年化收益(未扣成本)"] > etf["策略年化收益"]
    assert "同一跟踪指数最多1只" in res.subtitles["rotation"]["zh"]


def test_parameters_lag_cost_and_one_per_index():
    p = default_params()
    assert p.lag == 1 and p.cost == pytest.approx(0.001) and p.etf_cost == pytest.approx(0.003)
    assert p.etf_one_per_index == 1
    assert params_from_mapping({"lag": "0", "etf_one_per_index": 0}).lag == 0
    with pytest.raises(ValueError, match="parameter `lag`"):
        params_from_mapping({"lag": -1})
