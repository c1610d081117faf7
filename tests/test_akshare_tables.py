"""The akshare source's other tables through akshare's own parsers, HTTP answered at the transport layer.

Bodies are SYNTHESIZED in the shapes akshare 1.19.5 parses (no recording exists). Real values from
``../shared/data/real`` where they exist: the CSI 300 weights of 2024-10-08 (canonical), Shenwan
level-1 closes (``sw2021_l1_daily_close_…xlsx``), 159919's Eastmoney NAV. Invented where ../shared
has nothing (each body below says so): fund names and types, overview pages, SW classes, per-stock
margin, northbound holdings, stock quotes, fund holdings, new funds.
"""
from __future__ import annotations

from decimal import Decimal

import akshare
import numpy as np
import pandas as pd
import pytest
from _akshare_bodies import KLINE, LSJZ, TREND, lsjz, xlsx
from _transport import Seen, serve

from xladdin.data.clients import SourceError, fetch_market
from xladdin.data.clients.akshare import SW_HIST_UNIT, SW_L1_CODES, AkshareClient
from xladdin.data.loaders import validate_market

NOW = "2026-12-01"
FUNDCODE_JS = ("fund.eastmoney.com", "/js/fundcode_search.js")
SZSE_LIST = ("fund.szse.cn", "/api/report/ShowReport")
CLOSEWEIGHT = ("oss-ch.csindex.com.cn",
               "/static/html/csindex/public/uploads/file/autofile/closeweight/000300closeweight.xls")
SW_CLASS = ("www.swsresearch.com", "/swindex/pdf/SwClass2021/StockClassifyUse_stock.xls")
SW_TREND = ("www.swsresearch.com", "/institute-sw/api/index_publish/trend/")
SSE_MARGIN = ("query.sse.com.cn", "/marketdata/tradedata/queryMargin.do")
SZSE = ("www.szse.cn", "/api/report/ShowReport")
DATACENTER = ("datacenter-web.eastmoney.com", "/api/data/v1/get")
ARCHIVES = ("fundf10.eastmoney.com", "/FundArchivesDatas.aspx")
NEW_FUNDS = ("fund.eastmoney.com", "/data/FundNewIssue.aspx")


def client(**kw) -> AkshareClient:
    kw.setdefault("now", NOW)
    return AkshareClient(akshare, sleep=lambda s: None, **kw)


# ============================================================================ etf_info
def overview_page(tracked: str, benchmark: str, name: str) -> str:
    """fundf10 jbgk page, invented: the one table akshare reads (pairs of th/td per row)."""
    return ("<html><body><table class='info w790'>"
            f"<tr><th>基金全称</th><td>{name}基金</td><th>基金简称</th><td>{name}</td></tr>"
            "<tr><th>基金代码</th><td>000000</td><th>基金类型</th><td>指数型-股票</td></tr>"
            f"<tr><th>业绩比较基准</th><td>{benchmark}</td><th>跟踪标的</th><td>{tracked}</td></tr>"
            "</table></body></html>")


def test_etf_info_types_index_names_and_list_dates():
    funds = [["510300", "HS300ETF", "沪深300ETF华泰柏瑞", "指数型-股票", "HUSHEN"],
             ["159919", "HS300ETF", "沪深300ETF嘉实", "指数型-股票", "HUSHEN"],
             ["511030", "GSZ", "公司债ETF", "指数型-固收", "GONGSIZHAI"],
             ["512480", "BDT", "半导体ETF", "指数型-股票", "BANDAOTI"]]
    pages = {"510300": ("沪深300指数", "沪深300指数收益率", "沪深300ETF华泰柏瑞"),
             "159919": ("沪深300指数", "沪深300指数收益率", "沪深300ETF嘉实"),
             "511030": ("上证公司债指数", "上证公司债指数收益率", "公司债ETF"),
             "512480": ("中证全指半导体产品与设备指数", "中证全指半导体产品与设备指数收益率", "半导体ETF")}
    c = client()
    with serve() as http:
        http.add(*FUNDCODE_JS, "var r = " + pd.Series([funds]).to_json(force_ascii=False)[5:-1] + ";")
        http.add(*SZSE_LIST, xlsx(["基金代码", "基金简称", "基金类别", "投资类别", "上市日期", "当前规模(份)", "基金管理人",
                                   "基金发起人", "基金托管人", "净值"],
                                  [["159919", "300ETF", "ETF", "股票基金", "2012-05-28", "37,668,816,600", "嘉实",
                                    "嘉实", "中国银行", "3.9"]]),
                 params={"CATALOGID": "1000_lf"})
        for code, (tracked, bench, name) in pages.items():
            http.add("fundf10.eastmoney.com", f"/jbgk_{code}.html", overview_page(tracked, bench, name))
        info = c.etf_info(["510300.SH", "159919.SZ", "511030.SH", "512480.SH"]).set_index("etf")
    assert http.count() == 2 + 4
    assert info.loc["510300.SH", "tracked_index"] == "000300.SH" and info.loc["510300.SH", "category"] == "broad"
    assert info.loc["159919.SZ", "list_date"] == pd.Timestamp("2012-05-28")
    assert pd.isna(info.loc["510300.SH", "list_date"])
    assert info.loc["511030.SH", "category"] == "other"          # Eastmoney's 指数型-固收
    assert info.loc["512480.SH", "category"] == "sector_theme" and info.loc["512480.SH", "tracked_index"] == ""
    assert any("no tracked index for" in n and "512480.SH" in n for n in c.notes)
    with serve() as http:
        http.add(*FUNDCODE_JS, "var r = " + pd.Series([funds]).to_json(force_ascii=False)[5:-1] + ";")
        with pytest.raises(SourceError, match="fund_name_em.*lists no fund 999999.SH"):
            c.etf_info(["999999.SH"])


# ============================================================================ weights, Shenwan
def test_index_weights_latest_month_end_from_real_csi300(real_data_dir):
    w = pd.read_csv(real_data_dir / "index_weights.csv", parse_dates=["date"])
    w = w[w.date == w.date.max()]
    exch = {"SH": "上海证券交易所", "SZ": "深圳证券交易所"}
    rows = [[f"{d:%Y%m%d}", "000300", "沪深300", "CSI 300", s[:6], "名称", "NAME", exch[s[-2:]], "EX", round(x * 100, 6)]
            for d, s, x in zip(w.date, w.stock, w.weight, strict=True)]
    body = xlsx(["日期Date", "指数代码 Index Code", "指数名称 Index Name", "指数英文名称", "成份券代码", "成份券名称",
                 "成份券英文名称", "交易所", "交易所英文名称", "权重(%)weight"], rows)
    c = client()
    with serve() as http:
        http.add(*CLOSEWEIGHT, body)
        out = c.index_weights("000300.SH", "2024-10-01", "2024-10-31")
    assert len(out) == 300 and (out["date"] == w.date.max()).all()
    got = out.set_index("stock")["weight"]
    assert np.allclose(got[w.stock].to_numpy(), w.weight.to_numpy(), rtol=0, atol=1e-12)
    assert any("latest month-end only" in n for n in c.notes)
    with serve() as http:
        http.add(*CLOSEWEIGHT, body)
        assert c.index_weights("000300.SH", "2024-01-01", "2024-06-30").empty


def test_stock_industry_shenwan_as_of_and_industry_daily_real_closes(real_data_dir):
    """SW classes invented (600519 食品饮料; 000001 moved from 非银 to 银行 in 2022); closes real."""
    body = xlsx(["股票代码", "计入日期", "行业代码", "更新日期"],
                [["600519", "2014-01-01", "340501", "2021-07-30"], ["000001", "2014-01-01", "490101", "2021-07-30"],
                 ["000001", "2022-06-01", "480101", "2022-06-01"], ["300750", "2018-06-11", "630701", "2021-07-30"]])
    sw = pd.read_excel(real_data_dir.parent / "sw2021_l1_daily_close_2014-2023_plus_csi300.xlsx", sheet_name="sw_price",
                       parse_dates=["trade_date"])

    def trend(seen: Seen):
        code = seen.params["swindexcode"] + ".SI"
        sub = sw[sw.code == code].sort_values("trade_date")
        return {"code": 200, "message": "", "data": [
            {"swindexcode": code[:6], "bargaindate": f"{d:%Y-%m-%d}", "openindex": c, "maxindex": c, "minindex": c,
             "closeindex": c, "hike": 0, "markup": 0, "bargainamount": 1.0, "bargainsum": 1.0}
            for d, c in zip(sub.trade_date, sub.close, strict=True)]}

    c = client(asof="2021-12-31")
    with serve() as http:
        http.add(*SW_CLASS, body)
        http.add(*SW_TREND, trend, params={"period": "DAY"})
        market = fetch_market(c, ["stock_industry", "industry_daily"], start="2022-11-01", end="2022-11-30")
    ind = market.tables["stock_industry"].set_index("stock")
    assert ind.loc["000001.SZ", "industry"] == "801790.SI" and ind.loc["000001.SZ", "industry_name"] == "非银金融"
    assert ind.loc["600519.SH", "industry"] == "801120.SI" and ind.loc["300750.SZ", "industry"] == "801730.SI"
    daily = market.tables["industry_daily"]
    assert sorted(daily["industry"].unique()) == ["801120.SI", "801730.SI", "801790.SI"]
    nov = (sw.trade_date >= "2022-11-01") & (sw.trade_date <= "2022-11-30")
    real = sw[nov].set_index(["trade_date", "code"])["close"]
    got = daily.set_index(["date", "industry"])["close"]
    assert np.allclose(got.to_numpy(), real.loc[got.index].to_numpy(), rtol=0, atol=0)
    assert http.count(*SW_TREND) == 3 and validate_market(market) == []
    assert len(SW_L1_CODES) == 31
    with pytest.raises(SourceError, match="no CITIC"):
        c.industry_daily(["CI005001.WI"], "2022-11-01", "2022-11-30")


def test_industry_daily_volume_and_amount_in_shares_and_yuan(real_shenwan):
    """成交量 (亿股) and 成交额 (亿元) become volume in shares and amount in yuan: each checked against the body's
    own text times 10^8 in exact decimal arithmetic."""
    codes = ["801780.SI", "801120.SI"]
    c = client()
    with serve() as http:
        http.add(*TREND, real_shenwan.answer, params={"period": "DAY"})
        market = fetch_market(c, ["industry_daily"], industries=codes, start="2022-06-01", end="2022-06-30")
    out = market.tables["industry_daily"].set_index(["date", "industry"])
    assert len(out) == 2 * 21 and validate_market(market) == []
    for code in codes:
        for row in real_shenwan.rows[code]:   # JSON carries each float as its repr, which Decimal reads exactly
            key = (pd.Timestamp(row["bargaindate"]), code)
            if not "2022-06-01" <= row["bargaindate"] <= "2022-06-30":
                assert key not in out.index
                continue
            assert out.at[key, "volume"] == float(Decimal(str(row["bargainamount"])) * 10 ** 8)
            assert out.at[key, "amount"] == float(Decimal(str(row["bargainsum"])) * 10 ** 8)


def test_the_unit_factor_matches_real_volumes_of_the_same_day(real_data_dir):
    """The evidence for 亿股: akshare's documented example of ``index_hist_sw(symbol="801193")`` (SW 证券Ⅱ) reads
    成交量 30.215073 and 成交额 297.497838 on 2024-02-22. Times SW_HIST_UNIT the brokers traded a large part of
    what all CITIC 非银行金融 stocks traded that day (real volume), at a price a broker's share has; 百万 (the unit
    of index_realtime_sw) would make it under 1 % at 985 yuan a share."""
    ohlcv = pd.read_csv(real_data_dir.parent / "citic_l1_daily_ohlcv_2015-2024_wind.csv", parse_dates=["date"])
    nonbank = ohlcv[(ohlcv.code == "CI005022.WI") & (ohlcv.date == "2024-02-22")]["volume_shares"].item()
    shares, yuan = 30.215073 * SW_HIST_UNIT, 297.497838 * SW_HIST_UNIT
    assert 0.5 < shares / nonbank < 1.0
    assert 5.0 < yuan / shares < 30.0


def test_industry_daily_blank_volume_kept_negative_refused(real_shenwan):
    rows = real_shenwan.rows["801780.SI"]
    day = next(i for i, r in enumerate(rows) if r["bargaindate"] == "2022-06-15")
    saved = dict(rows[day])
    c = client()
    try:
        rows[day]["bargainamount"] = None   # akshare's to_numeric makes it NaN: a blank, noted
        with serve() as http:
            http.add(*TREND, real_shenwan.answer)
            out = c.industry_daily(["801780.SI"], "2022-06-01", "2022-06-30").set_index("date")
        assert np.isnan(out.at[pd.Timestamp("2022-06-15"), "volume"])
        assert out["volume"].notna().sum() == len(out) - 1 and out["amount"].notna().all()
        assert "industry_daily: 801780.SI: 1 day(s) without 成交量 or 成交额 (left blank)" in c.notes
        rows[day]["bargainsum"] = -1.0
        with serve() as http:
            http.add(*TREND, real_shenwan.answer)
            with pytest.raises(SourceError, match=r"index_hist_sw\(symbol='801780', period='day'\): 成交额 -1\.0 "
                                                  r"\(row \d+\) is not a number >= 0"):
                c.industry_daily(["801780.SI"], "2022-06-01", "2022-06-30")
    finally:
        rows[day] = saved


# ============================================================================ margin
MARGIN_KEYS = ["opDate_", "opDate", "rqchl", "rqmcl", "rqyl", "rqylje", "rqye", "rzche", "rzmre", "rzrqye", "rzye",
               "securityAbbr", "stockCode"]   # invented names, in the order akshare's positional names assume


def sse_margin(balances: dict[str, dict[str, tuple[float, float, float]]], swap: bool = False):
    """queryMargin.do, invented values: {day: {code: (balance, buy, repay)}}; ``swap``: rzmre/rzche change places."""
    def answer(seen: Seen):
        day = seen.params["detailsDate"]
        rows = []
        for code, (bal, buy, repay) in balances.get(day, {}).items():
            vals = dict(zip(MARGIN_KEYS, ["", day, 0, 0, 0, 0, 0, repay, buy, 0, bal, "名称", code], strict=True))
            if swap:
                keys = MARGIN_KEYS[:7] + ["rzmre", "rzche"] + MARGIN_KEYS[9:]
                vals = {k: vals[k] for k in keys}
            rows.append(vals)
        return {"result": rows, "pageHelp": {"total": len(rows)}}
    return answer


def szse_margin(balances: dict[str, dict[str, tuple[float, float]]], numeric: bool = False):
    """ShowReport 1837_xxpl xlsx, invented values as "1,234,567" text: {day YYYY-MM-DD: {code: (balance, buy)}}.

    ``numeric``: plain numbers instead (pandas then reads int columns, and akshare's ``.str`` fails)."""
    def answer(seen: Seen):
        def cell(v: float):
            return v if numeric else f"{v:,.0f}"
        rows = [[code, "名称", cell(buy), cell(bal), cell(12_000), cell(34_000), cell(567_000), cell(bal + 567_000)]
                for code, (bal, buy) in balances.get(seen.params["txtDate"], {}).items()]
        return xlsx(["证券代码", "证券简称", "融资买入额(元)", "融资余额(元)", "融券卖出量(股/份)", "融券余量(股/份)",
                     "融券余额(元)", "融资融券余额(元)"], rows)
    return answer


def test_margin_daily_szse_repay_derived_and_sse_swap_refused():
    m = 1e6   # invented amounts, in yuan
    sse = {"20240919": {"600519": (1000 * m, 0.0, 0.0)},
           "20240920": {"600519": (1100 * m, 300 * m, 200 * m)},
           "20240923": {"600519": (1050 * m, 50 * m, 100 * m)}}
    szse = {"2024-09-19": {"000001": (500 * m, 1 * m)},
            "2024-09-20": {"000001": (600 * m, 150 * m), "300750": (80 * m, 80 * m)},
            "2024-09-23": {"000001": (550 * m, 20 * m), "300750": (100 * m, 30 * m)}}
    c = client()
    with serve() as http:
        http.add(*SSE_MARGIN, sse_margin(sse))
        http.add(*SZSE, szse_margin(szse), params={"CATALOGID": "1837_xxpl"})
        out = c.margin_daily("2024-09-20", "2024-09-23")
    assert http.count() == 6   # the day before start, then two a day
    got = out.set_index(["date", "stock"])
    # SZSE repay = balance_{t-1} + buy_t - balance_t, by hand: 500 + 150 - 600 = 50; new 300750: 0 + 80 - 80 = 0
    assert got.loc[(pd.Timestamp("2024-09-20"), "000001.SZ"), "financing_repay"] == 50 * m
    assert got.loc[(pd.Timestamp("2024-09-20"), "300750.SZ"), "financing_repay"] == 0.0
    assert got.loc[(pd.Timestamp("2024-09-23"), "000001.SZ"), "financing_repay"] == (600 + 20 - 550) * m
    assert got.loc[(pd.Timestamp("2024-09-23"), "600519.SH")].tolist() == [1050 * m, 50 * m, 100 * m]
    assert sorted(out["date"].dt.strftime("%m-%d").unique()) == ["09-20", "09-23"]
    with serve() as http:
        http.add(*SSE_MARGIN, sse_margin(sse, swap=True))
        http.add(*SZSE, szse_margin(szse), params={"CATALOGID": "1837_xxpl"})
        with pytest.raises(SourceError, match=r"stock_margin_detail_sse\(date='20240920'\): 1 of 1 securities break"):
            c.margin_daily("2024-09-20", "2024-09-23")
    # SZSE cells as plain numbers: akshare's parser raises; refused naming the call (not a silent hole)
    with serve() as http:
        http.add(*SSE_MARGIN, sse_margin(sse))
        http.add(*SZSE, szse_margin(szse, numeric=True), params={"CATALOGID": "1837_xxpl"})
        with pytest.raises(SourceError, match=r"stock_margin_detail_szse\(date='20240919'\) failed: AttributeError"):
            c.margin_daily("2024-09-20", "2024-09-23")


# ============================================================================ stocks
def test_northbound_holdings_to_august_2024_only():
    """RPT_MUTUAL_HOLDSTOCKNDATE_STA rows, invented."""
    def answer(seen: Seen):
        days = pd.bdate_range("2024-08-12", "2024-08-16")
        rows = [{"SECURITY_INNER_CODE": "1", "SECUCODE": "600519.SH", "TRADE_DATE": f"{d:%Y-%m-%d} 00:00:00",
                 "SECURITY_CODE": "600519", "SECURITY_NAME": "贵州茅台", "MUTUAL_TYPE": "001", "CHANGE_RATE": 0.1,
                 "CLOSE_PRICE": 1400.0, "HOLD_SHARES": 1e7 + i, "HOLD_MARKET_CAP": (1e7 + i) * 1400.0,
                 "A_SHARES_RATIO": 7.0, "HOLD_SHARES_RATIO": 7.5, "FREE_SHARES_RATIO": 7.6, "TOTAL_SHARES_RATIO": 7.5,
                 "HMC_CHANGE": 0, "ADD_SHARES_REPAIR": 0, "PREDICT_AMC": 0} for i, d in enumerate(days)]
        return {"result": {"pages": 1, "data": rows[::-1], "count": len(rows)}, "success": True}

    c = client()
    with serve() as http:
        http.add(*DATACENTER, answer, params={"reportName": "RPT_MUTUAL_HOLDSTOCKNDATE_STA"})
        out = c.northbound_holdings("2024-08-14", "2024-09-30", stocks=["600519.SH"])
    assert list(out["date"].dt.strftime("%m-%d")) == ["08-14", "08-15", "08-16"]
    assert out["float_ratio"].tolist() == [0.075] * 3 and out["shares_held"].iloc[0] == 1e7 + 2
    with serve() as http:   # nothing after 2024-08-16: no request at all
        assert c.northbound_holdings("2024-09-02", "2024-09-30", stocks=["600519.SH"]).empty
    assert http.count() == 0


def test_stock_daily_close_amount_float_mcap():
    """Klines and RPT_VALUEANALYSIS_DET rows, invented."""
    days = pd.bdate_range("2024-09-23", "2024-09-27")

    def quotes(seen: Seen):
        lines = [f"{d:%Y-%m-%d},10,{10 + i},10,10,1000,{1e6 * (i + 1)},0,0,0,0" for i, d in enumerate(days)]
        return {"rc": 0, "data": {"code": "600000", "klines": lines}}

    def value(seen: Seen):
        cols = ["CLOSE_PRICE", "CHANGE_RATE", "TOTAL_MARKET_CAP", "TOTAL_SHARES", "FREE_SHARES_A", "PE_TTM", "PE_LAR",
                "PB_MRQ", "PEG_CAR", "PCF_OCF_TTM", "PS_TTM"]
        rows = [{"TRADE_DATE": f"{d:%Y-%m-%d} 00:00:00", "NOTLIMITED_MARKETCAP_A": 3e10 + i, **dict.fromkeys(cols, 1.0)}
                for i, d in enumerate(days)]
        return {"result": {"pages": 1, "data": rows[::-1], "count": len(rows)}, "success": True}

    c = client()
    with serve() as http:
        http.add(*KLINE, quotes, params={"secid": "1.600000"})
        http.add(*DATACENTER, value, params={"reportName": "RPT_VALUEANALYSIS_DET"})
        out = c.stock_daily("2024-09-23", "2024-09-27", stocks=["600000.SH"])
    assert out["close"].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert out["amount"].tolist() == [1e6, 2e6, 3e6, 4e6, 5e6]
    assert out["float_mcap"].tolist() == [3e10, 3e10 + 1, 3e10 + 2, 3e10 + 3, 3e10 + 4]
    with pytest.raises(SourceError, match="one stock per request"):
        c.stock_daily("2024-09-23", "2024-09-27")


# ============================================================================ funds
def test_fund_nav_real_159919(real_etfs):
    real = real_etfs
    c = client()
    with serve() as http:
        http.add(*LSJZ, lsjz(real, source="eastmoney"))
        out = c.fund_nav(["159919.SZ"], "2020-06-01", "2020-12-31")
    nav = real.nav_159919["单位净值"].sort_index().loc["2020-06-01":"2020-12-31"]
    assert np.allclose(out.set_index("date")["nav"], nav, rtol=0, atol=0)
    assert http.count() == 1 + int(np.ceil(len(nav) / 20))   # 1 + ceil(n / 20) pages


def test_active_fund_holdings_and_fund_issuance():
    """FundArchivesDatas jjcc HTML and FundNewIssue text, invented."""
    def table(quarter: str, rows: list[tuple[str, str, float]]) -> str:
        body = "".join(f"<tr><td>{i}</td><td>{code}</td><td>{name}</td><td>相关</td><td>5.00%</td><td>10.00</td>"
                       f"<td>{value:,.2f}</td></tr>" for i, (code, name, value) in enumerate(rows, 1))
        return (f"<div class='box'><h4 class='t'><label class='left'>某基金&nbsp;&nbsp;{quarter}</label></h4>"
                "<table><thead><tr><th>序号</th><th>股票代码</th><th>股票名称</th><th>相关资讯</th><th>占净值比例</th>"
                f"<th>持股数（万股）</th><th>持仓市值（万元）</th></tr></thead><tbody>{body}</tbody></table></div>")

    content = (table("2024年2季度股票投资明细", [("600519", "贵州茅台", 12345.67), ("00700", "腾讯控股", 500.0)])
               + table("2024年1季度股票投资明细", [("000001", "平安银行", 2000.0)]))
    archives = "var apidata={ content:\"" + content.replace('"', "'") + "\",arryear:[2024],curyear:2024};"
    new = {"datas": [["019001", "某股票ETF", "某公司", "", "指数型-股票", "12.5", "2024-09-10", "0", "x", "开放", "x",
                      "", "", "", "", "", "", "", "0.10%"],
                     ["019002", "某股票ETF联接A", "某公司", "", "指数型-股票", "3.0", "2024-09-12", "0", "x", "开放", "x",
                      "", "", "", "", "", "", "", "0.10%"],
                     ["019003", "某成长混合", "某公司", "", "混合型-偏股", "8.25", "2024-09-20", "0", "x", "开放", "x",
                      "", "", "", "", "", "", "", "0.10%"],
                     ["019004", "某纯债", "某公司", "", "债券型-长债", "50", "2024-09-20", "0", "x", "开放", "x",
                      "", "", "", "", "", "", "", "0.10%"]]}
    c = client()
    with serve() as http:
        http.add(*ARCHIVES, archives, params={"type": "jjcc", "code": "000001", "year": "2024"})
        http.add(*NEW_FUNDS, "var newfunddata=" + pd.io.json.ujson_dumps(new, ensure_ascii=False))
        market = fetch_market(c, ["active_fund_holdings", "fund_issuance"], funds=["000001.OF"],
                              start="2024-01-01", end="2024-09-30")
    h = market.tables["active_fund_holdings"].set_index(["report_date", "stock"])["value"]
    assert h.to_dict() == {(pd.Timestamp("2024-03-31"), "000001.SZ"): 2000.0 * 1e4,
                           (pd.Timestamp("2024-06-30"), "600519.SH"): 12345.67 * 1e4}
    assert any("non-A-share" in n for n in c.notes)
    iss = market.tables["fund_issuance"].set_index("category")
    assert iss.loc["stock_etf", "new_shares"] == 12.5e8 and iss.loc["active_equity", "new_shares"] == 8.25e8
    assert (iss["month"] == pd.Timestamp("2024-09-30")).all()
    assert validate_market(market) == []
