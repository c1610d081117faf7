"""The 拥挤度 / Crowding sheet of the weekly workbook (M14): its two tables from the core, the cover line and
the mail's headline in both languages, blanks where an input is missing, the parameters sheet's keys."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data.market import Market
from xladdin.methods import crowding as M
from xladdin.workbook.params import default_params
from xladdin.workbook.weekly import compute_weekly


@pytest.fixture(scope="module")
def zh(workbook_inputs):
    return workbook_inputs.weekly()  # compute_weekly(sample_market) with the default parameters, cached per session


def test_tables_are_the_cores_crowded_first(zh, sample_market):
    res = M.market_crowding(sample_market, zh.asof)
    t, w = zh.tables["crowding"], zh.tables["crowding_weekly"]
    assert list(t.columns) == ["industry", "industry_name", "crowded", "heat_pct", "ret", "volume_change",
                               "divergence", "dispersion_pct", "n_stocks", "reasons"]
    n = int((res.table["crowded"] == 1).sum())
    assert n > 0 and (t["crowded"].iloc[:n] == 1).all() and (t["crowded"].iloc[n:] != 1).all()
    ref = res.table.set_index("industry")
    mine = t.set_index("industry")
    for col in ("heat_pct", "ret", "volume_change", "dispersion_pct", "n_stocks", "crowded"):
        np.testing.assert_allclose(mine[col].astype(float), ref.loc[mine.index, col].astype(float), rtol=0,
                                   equal_nan=True)
    kinds = {"volume_up_price_down": "放量下跌", "price_up_volume_down": "缩量上涨", None: ""}
    assert list(mine["divergence"]) == [kinds[k] for k in ref.loc[mine.index, "divergence"]]
    assert list(mine["reasons"]) == [";".join(M.reason_text(r, "zh") for r in rs)
                                     for rs in ref.loc[mine.index, "reasons"]]
    assert len(w) == default_params().crowding_weeks and w["date"].iloc[-1] == res.asof
    pd.testing.assert_frame_equal(w.set_index("date")[["crowded", "heat", "divergence", "dispersion"]],
                                  res.weekly.tail(len(w))[["crowded", "heat", "divergence", "dispersion"]],
                                  check_names=False)


def test_cover_line_and_mail_headline(zh):
    res_rows = zh.tables["crowding"]
    crowded = res_rows[res_rows["crowded"] == 1]
    head = zh.tables["cover_headlines"].set_index("item").loc["行业拥挤度"]
    assert head["signal"].startswith(f"{len(crowded)} 个行业拥挤: {crowded['industry_name'].iloc[0]}(")
    assert "换手热度≥95%分位" in head["detail"] and "留空" not in head["detail"]  # every flag has its input
    assert f"行业拥挤度:{head['signal']}" in zh.summary.headlines
    assert zh.subtitles["crowding"]["zh"].startswith(f"截至 {zh.asof:%Y-%m-%d};换手热度 = 成交额占全市场比例的20日均值")
    assert zh.subtitles["crowding"]["en"].startswith(f"As of {zh.asof:%Y-%m-%d}; heat = share of the market's traded "
                                                     "amount")


def test_english_sheet_and_cover(sample_market):
    en = compute_weekly(sample_market, default_params().replace(language="en"))
    t = en.tables["crowding"]
    assert set(t["divergence"]) <= {"", "volume up, price down", "price up, volume down"}
    n = int((t["crowded"] == 1).sum())
    head = en.tables["cover_headlines"].set_index("item").loc["Industry crowding"]
    assert head["signal"].startswith(f"{n} industries crowded: ")
    assert any(h.startswith("Industry crowding:") for h in en.summary.headlines)


def test_without_volume_or_stocks_the_flags_are_blank_with_their_reason(make_dashboard_market):
    """Industry closes only (no volume), two stocks an industry: heat, divergence and dispersion blank."""
    res = compute_weekly(make_dashboard_market())
    t = res.tables["crowding"]
    assert t[["crowded", "heat_pct", "dispersion_pct"]].isna().all().all() and (t["divergence"] == "").all()
    assert t["reasons"].iloc[0] == "换手热度:无成交量数据;量价背离:无成交量数据;成分股分化:仅2只成分股有20日收益(需10只)"
    assert res.tables["crowding_weekly"][["crowded", "heat", "divergence", "dispersion"]].isna().all().all()
    head = res.tables["cover_headlines"].set_index("item").loc["行业拥挤度"]
    assert head["signal"] == "未判断(三项拥挤指标都缺少输入数据)"
    # the cover says why: the industries' distinct reasons (from the sheet's reason column), at most three shown
    parts = list(dict.fromkeys(p for text in t["reasons"] for p in text.split(";")))
    shown = ";".join(parts[:3]) + (f"等(另{len(parts) - 3}条)" if len(parts) > 3 else "")
    assert head["detail"].endswith(";换手热度、量价背离、成分股分化留空:" + shown), (head["detail"], parts)
    assert shown.startswith("换手热度:无成交量数据;量价背离:无成交量数据;成分股分化:仅")


def test_the_cover_says_why_the_real_datas_crowding_is_not_assessed(real_market):
    """Real data on 2025-12-31: CITIC volumes end 2024-12-31 and there are no stock prices; the cover's row names
    both, not only "input missing"."""
    res = compute_weekly(real_market)
    head = res.tables["cover_headlines"].set_index("item").loc["行业拥挤度"]
    assert head["signal"] == "未判断(三项拥挤指标都缺少输入数据)"
    assert head["detail"].endswith(";换手热度、量价背离、成分股分化留空:换手热度:成交量数据截至2024-12-31;"
                                   "量价背离:成交量数据截至2024-12-31;成分股分化:无成分股价格")


def test_without_industry_closes_the_sheet_is_not_computed(make_dashboard_market):
    m = make_dashboard_market()
    res = compute_weekly(Market({k: v for k, v in m.tables.items() if k != "industry_daily"}, source="x"))
    assert res.tables["crowding"] is None and "industry_daily" in res.notes["crowding"]


def test_parameters_reach_the_core(sample_market):
    p = default_params().replace(crowding_heat_flag=1.0, crowding_dispersion_flag=0.0, crowding_price_move=1.0,
                                 crowding_weeks=3, crowding_history=300)
    res = compute_weekly(sample_market, p)
    assert not (res.tables["crowding"]["crowded"] == 1).any() and len(res.tables["crowding_weekly"]) == 3
    assert "近300个交易日" in res.subtitles["crowding"]["zh"]
