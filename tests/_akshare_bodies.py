"""Response bodies for the akshare source's tests, SYNTHESIZED (not recorded) in the shapes akshare 1.19.5 parses.

No host could be reached when these tests were written, so no body here is a recording. Each body is
built at test time in the exact shape the installed akshare's parser (or, for the ETF shares, the
exchange client in ``xladdin/data/clients/exchange.py``, which asks the same endpoints) reads, and
filled with the real values of ``../shared/data/real`` where they exist:

* SSE ETF scale JSON (``result[]`` with NUM, SEC_CODE, SEC_NAME, ETF_TYPE, STAT_DATE, TOT_VOL in 万份):
  the real SSE shares of 510300, 510310, 510330 (``etf_daily_shares_…_sse_szse.csv``); ETF_TYPE and
  SEC_NAME are placeholders;
* SZSE ETF scale xlsx (日期, 基金代码, 基金简称, 基金规模(份) as "37,668,816,600" text): the real SZSE
  shares of 159919 and 159915;
* Eastmoney klines (``data.klines`` of "日期,开盘,收盘,最高,最低,成交量,成交额,振幅,涨跌幅,涨跌额,换手率"):
  the real traded closes of 510300/510310 (finshare file) and, for hfq, close × finshare's hfq factor
  (510310's moves on 2024-09-23, as the real one does); for 510330, 159919 and 159915, which have no
  own close in ../shared, the canonical ``close`` (reconstructed there, see its README) — synthesized;
  the other kline fields are filler;
* Eastmoney lsjz NAV pages (``TotalCount``, ``Data.LSJZList[]`` of FSRQ, DWJZ, ...): the canonical
  ``nav`` (the close stand-in of the canonical build; 510310's 2024-09-20 row is post-split, 3.1994);
  159919's real daily NAV (Eastmoney file) for its own test;
* CSI index-perf JSON (16 keys in akshare's positional order), CNI daily JSON: canonical index closes;
* Shenwan's index_publish/trend JSON (``data[]`` of swindexcode, bargaindate, openindex, maxindex,
  minindex, closeindex, hike, markup, bargainamount, bargainsum; :class:`RealShenwan`): the real Shenwan
  level-1 closes (``derived/sw2021_l1_daily_close_long_2014-2023.csv``); ../shared has no Shenwan volume,
  so bargainamount (亿股, 6 decimals) is the real traded volume of the industry's CITIC level-1
  counterpart (``citic_l1_daily_ohlcv_2015-2024_wind.csv``, :data:`SW_CITIC`) — synthesized; bargainsum
  (亿元) is that volume × an invented mean share price moving with the index (:data:`SW_PRICE`).

Where ../shared has nothing (per-stock margin, northbound, fund holdings, new funds, SW classes), the
small bodies in the tests say they are invented. The routes several test modules answer with (the ETF
endpoints, the two index endpoints, the invented fund lists and overview pages) are set up by
:func:`etf_routes`, :func:`index_routes` and :func:`fund_info_routes`.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import openpyxl
import pandas as pd
from _transport import Seen

SSE = ("query.sse.com.cn", "/commonQuery.do")
SZSE = ("www.szse.cn", "/api/report/ShowReport")
KLINE = ("push2his.eastmoney.com", "/api/qt/stock/kline/get")
LSJZ = ("api.fund.eastmoney.com", "/f10/lsjz")
CSI_PERF = ("www.csindex.com.cn", "/csindex-home/perf/index-perf")
CNI = ("hq.cnindex.com.cn", "/market/market/getIndexDailyDataWithDataFormat")
#: the five ETFs of ../shared/data/real
FIVE_ETFS = ["510300.SH", "510310.SH", "510330.SH", "159919.SZ", "159915.SZ"]


class RealETFs:
    """The real series of ../shared for the five ETFs, by code (6 digits) and date."""

    def __init__(self, real_dir: Path):
        raw = real_dir.parent
        sh = pd.read_csv(raw / "etf_daily_shares_510300_510310_510330_159919_159915_2012-2026_sse_szse.csv",
                         dtype={"code": str, "shares_100m": str}, parse_dates=["date"])
        self.shares = sh[sh.quality == "official"]   # shares_100m kept as the file's text (6 decimals of 亿份)
        px = pd.read_csv(raw / "etf_daily_price_unadj_6etf_2005-2026_finshare.csv", dtype={"code": str},
                         parse_dates=["trade_date"])
        self.finshare = px.set_index(["code", "trade_date"])
        self.canon = pd.read_csv(real_dir / "etf_daily.csv", parse_dates=["date"])
        self.canon["code"] = self.canon["etf"].str[:6]
        self.canon = self.canon.set_index(["code", "date"])
        nav = pd.read_csv(raw / "etf_159919_nav_2015-2021_eastmoney.csv", parse_dates=["净值日期"])
        self.nav_159919 = nav.set_index("净值日期")

    def close(self, code: str, day) -> float:
        if (code, day) in self.finshare.index:
            return float(self.finshare.at[(code, day), "close"])
        return float(self.canon.at[(code, day), "close"])

    def hfq_factor(self, code: str, day) -> float:
        if (code, day) in self.finshare.index:
            return float(self.finshare.at[(code, day), "hfq_factor"])
        return 1.0


def sse_scale(real: RealETFs, codes=("510300", "510310", "510330"), thousands: bool = False, drop: tuple = ()):
    """Answer for SSE commonQuery.do (ETF scale) of the STAT_DATE asked: {"result": [...]} ([] on no row)."""
    def answer(seen: Seen):
        day = pd.Timestamp(seen.params["STAT_DATE"])
        rows = real.shares[(real.shares.date == day) & real.shares.code.isin(codes) & ~real.shares.code.isin(drop)]
        out = []
        for i, r in enumerate(rows.itertuples(), 1):
            wan = _wan(r.shares_100m)
            out.append({"NUM": str(i), "SEC_CODE": r.code, "SEC_NAME": f"ETF{r.code}", "ETF_TYPE": "单市场ETF",
                        "STAT_DATE": f"{day:%Y-%m-%d}", "TOT_VOL": f"{float(wan):,.2f}" if thousands else wan})
        return {"result": out, "pageHelp": {"total": len(out), "pageSize": 10000, "pageNo": 1}}
    return answer


def _wan(shares_100m: str) -> str:
    """亿份 text with 6 decimals -> 万份 text with 2 decimals, exactly (1 亿 = 1e4 万)."""
    whole, _, frac = shares_100m.partition(".")
    frac = (frac + "000000")[:6]
    digits = (whole + frac[:4]).lstrip("0") or "0"
    return f"{digits}.{frac[4:6]}"


def xlsx(header: list[str], rows: list[list]) -> bytes:
    """An xlsx workbook of one sheet (what SZSE's ShowReport?SHOWTYPE=xlsx serves)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def szse_scale(real: RealETFs, codes=("159919", "159915"), header: str = "基金规模(份)", numeric: bool = False):
    """Answer for SZSE ShowReport scsj_fund_jjgm over txtStart..txtEnd: an xlsx, shares in units as "1,234" text.

    Like SZSE (per the akshare docstring), a range over six months answers an empty table with its header."""
    def answer(seen: Seen):
        a, b = pd.Timestamp(seen.params["txtStart"]), pd.Timestamp(seen.params["txtEnd"])
        rows = []
        if b < a + pd.DateOffset(months=6):
            sel = real.shares[(real.shares.date >= a) & (real.shares.date <= b) & real.shares.code.isin(codes)]
            for r in sel.sort_values(["date", "code"]).itertuples():
                units = int(_wan(r.shares_100m).replace(".", "")) * 100  # 万份 (2 decimals) x 1e4 = units
                rows.append([f"{r.date:%Y-%m-%d}", r.code, f"ETF{r.code}", units if numeric else f"{units:,}"])
        return xlsx(["日期", "基金代码", "基金简称", header], rows)
    return answer


def kline(real: RealETFs):
    """Answer for Eastmoney's kline/get: fqt=0 raw closes, fqt=2 (hfq) close x hfq factor; beg..end."""
    def answer(seen: Seen):
        code = seen.params["secid"].split(".", 1)[1]
        beg, end = pd.Timestamp(seen.params["beg"]), pd.Timestamp(seen.params["end"])
        days = [d for (c, d) in real.canon.index if c == code and beg <= d <= end]
        lines = []
        for d in sorted(days):
            close = real.close(code, d)
            if not math.isfinite(close):
                continue
            if seen.params["fqt"] == "2":
                close = round(close * real.hfq_factor(code, d), 4)
            lines.append(f"{d:%Y-%m-%d},{close},{close},{close},{close},1000,{close * 1e5:.1f},0.00,0.00,0.000,0.10")
        return {"rc": 0, "rt": 17, "data": {"code": code, "market": 1 if code[0] in "56" else 0, "name": code,
                                            "decimal": 3, "dktotal": len(lines), "klines": lines}}
    return answer


def lsjz(real: RealETFs, source: str = "canonical"):
    """Answer for Eastmoney's f10/lsjz NAV pages (20 rows a page, newest first) between startDate and endDate."""
    def answer(seen: Seen):
        code = seen.params["fundCode"]
        beg, end = pd.Timestamp(seen.params["startDate"]), pd.Timestamp(seen.params["endDate"])
        if source == "eastmoney":
            nav = real.nav_159919["单位净值"]
            nav = nav[(nav.index >= beg) & (nav.index <= end)]
        else:
            sub = real.canon.loc[code]["nav"]
            nav = sub[(sub.index >= beg) & (sub.index <= end)].dropna()
        nav = nav.sort_index(ascending=False)
        page = int(seen.params["pageIndex"])
        part = nav.iloc[(page - 1) * 20: page * 20]
        rows = [{"FSRQ": f"{d:%Y-%m-%d}", "DWJZ": f"{v:.4f}", "LJJZ": f"{v:.4f}", "JZZZL": "0.10", "SGZT": "场内买入",
                 "SHZT": "场内卖出", "FHSP": "", "FHFCZ": "", "FHFCBZ": "", "DTYPE": None, "NAVTYPE": "1",
                 "ACTUALSYI": "", "SDATE": None} for d, v in part.items()]
        return {"Data": {"LSJZList": rows, "FundType": "001", "SYType": None, "isNewType": False, "Feature": "010"},
                "ErrCode": 0, "ErrMsg": None, "TotalCount": int(len(nav)), "Expansion": None, "PageSize": 20,
                "PageIndex": page}
    return answer


def csi_perf(index_closes: pd.Series, code: str, swap: bool = False):
    """Answer for CSI's index-perf: data[] with 16 keys in the order akshare names them by position.

    ``swap``: the keys ``open`` and ``close`` arrive in each other's places (a key-order change), so
    akshare's positional names put the opens under 收盘. Opens are the previous close + 0.1 %."""
    pct_all = (index_closes / index_closes.shift(1) - 1) * 100
    opens = index_closes.shift(1).bfill() * 1.001

    def answer(seen: Seen):
        a, b = pd.Timestamp(seen.params["startDate"]), pd.Timestamp(seen.params["endDate"])
        keep = (index_closes.index >= a) & (index_closes.index <= b)
        rows = []
        for d, c in index_closes[keep].items():
            o = float(opens[d])
            row = {"tradeDate": f"{d:%Y%m%d}", "indexCode": code, "indexNameCnAll": "沪深300指数",
                   "indexNameCn": "沪深300", "indexNameEnAll": "CSI 300 Index", "indexNameEn": "CSI 300"}
            row.update({"close": c, "high": c * 1.01, "low": c * 0.99, "open": o} if swap else
                       {"open": o, "high": c * 1.01, "low": c * 0.99, "close": c})
            row.update({"change": 0.0, "changePct": round(float(pct_all[d]), 4), "tradingVol": 1.0,
                        "tradingValue": 1.0, "consNumber": 300, "peg": 12.0})
            rows.append(row)
        return {"code": "200", "msg": "Success", "data": rows, "success": True}
    return answer


def cni_daily(index_closes: pd.Series):
    """Answer for CNI's getIndexDailyDataWithDataFormat: data.data[] rows of 11 values in akshare's order."""
    pct_all = (index_closes / index_closes.shift(1) - 1) * 100

    def answer(seen: Seen):
        a, b = pd.Timestamp(seen.params["startDate"]), pd.Timestamp(seen.params["endDate"])
        s = index_closes[(index_closes.index >= a) & (index_closes.index <= b)]
        rows = [[f"{d:%Y-%m-%d}", "399006", c * 1.01, c * 0.995, c * 0.99, c, 0.0, f"{pct_all[d]:.4f}%", 1.0, 1.0, 0]
                for d, c in s.items()]
        return {"code": 200, "message": "success", "data": {"total": len(rows), "data": rows[::-1]}}
    return answer


TREND = ("www.swsresearch.com", "/institute-sw/api/index_publish/trend/")
#: Shenwan level-1 index -> its CITIC level-1 counterpart, whose real volume stands in for the Shenwan one
SW_CITIC = {"801780.SI": "CI005021.WI", "801790.SI": "CI005022.WI", "801120.SI": "CI005019.WI",
            "801150.SI": "CI005018.WI", "801080.SI": "CI005025.WI", "801750.SI": "CI005027.WI"}
#: invented mean share price (yuan) of each on its first day; it moves with the index after
SW_PRICE = {"801780.SI": 6.0, "801790.SI": 14.0, "801120.SI": 45.0, "801150.SI": 22.0, "801080.SI": 18.0,
            "801750.SI": 12.0}


class RealShenwan:
    """Shenwan trend rows for the industries of :data:`SW_CITIC`: real closes, synthesized volume and amount."""

    def __init__(self, real_dir: Path):
        raw = real_dir.parent
        sw = pd.read_csv(raw / "derived" / "sw2021_l1_daily_close_long_2014-2023.csv", parse_dates=["trade_date"])
        citic = pd.read_csv(raw / "citic_l1_daily_ohlcv_2015-2024_wind.csv", parse_dates=["date"])
        volume = citic.set_index(["code", "date"])["volume_shares"]
        self.rows: dict[str, list[dict]] = {}
        for code, ci in SW_CITIC.items():
            sub = sw[sw.code == code].sort_values("trade_date")
            vol = volume.loc[ci].reindex(sub.trade_date)
            sub = sub[vol.notna().to_numpy()]
            first = float(sub.close.iloc[0])
            self.rows[code] = [
                {"swindexcode": code[:6], "bargaindate": f"{d:%Y-%m-%d}", "openindex": c, "maxindex": c,
                 "minindex": c, "closeindex": c, "hike": 0, "markup": 0,
                 "bargainamount": round(float(volume[(ci, d)]) / 1e8, 6),
                 "bargainsum": round(float(volume[(ci, d)]) / 1e8 * SW_PRICE[code] * c / first, 6)}
                for d, c in zip(sub.trade_date, sub.close, strict=True)]

    def answer(self, seen: Seen) -> dict:
        """The whole history of the index asked (the endpoint has no date range)."""
        return {"code": 200, "message": "", "data": self.rows[seen.params["swindexcode"] + ".SI"]}


def index_closes(real_dir: Path) -> dict[str, pd.Series]:
    """The CSI 300 and ChiNext closes of the canonical ``index_daily.csv``, by code (index = date)."""
    ix = pd.read_csv(real_dir / "index_daily.csv", parse_dates=["date"])
    return {c: ix[ix["index"] == c].set_index("date")["close"] for c in ("000300.SH", "399006.SZ")}


# ------------------------------------------------------------------------------------------ routes
def etf_routes(http, real: RealETFs, *, szse_header: str = "基金规模(份)", **sse_kw) -> None:
    """Answers for the ETF requests, in this order: SSE and SZSE scale (with the query each sends), Eastmoney klines
    and NAV pages; ``szse_header`` and ``sse_kw`` shape the SZSE and SSE bodies (:func:`szse_scale`,
    :func:`sse_scale`)."""
    http.add(*SSE, sse_scale(real, **sse_kw), params={"sqlId": "COMMON_SSE_ZQPZ_ETFZL_XXPL_ETFGM_SEARCH_L"})
    http.add(*SZSE, szse_scale(real, header=szse_header), params={"CATALOGID": "scsj_fund_jjgm", "jjlb": "ETF"})
    http.add(*KLINE, kline(real))
    http.add(*LSJZ, lsjz(real))


def index_routes(http, closes: dict[str, pd.Series]) -> None:
    """Answers for the CSI 300 (CSI index-perf) and ChiNext (CNI) closes, in this order (``closes``:
    :func:`index_closes`)."""
    http.add(*CSI_PERF, csi_perf(closes["000300.SH"], "000300"))
    http.add(*CNI, cni_daily(closes["399006.SZ"]))


def fund_info_routes(http, codes: list[str], listed: dict[str, str], tracked: dict[str, str] | None = None) -> None:
    """Answers for etf_info's requests, INVENTED (../shared has no such pages): Eastmoney's fund list (``codes``,
    stock index funds), SZSE's fund list with the listing dates ``listed`` (6-digit code -> date), and each fund's
    overview page naming its tracked index (``tracked``: 6-digit code -> index name; 沪深300指数 otherwise)."""
    funds = [[c[:6], "X", f"ETF{c[:6]}", "指数型-股票", "X"] for c in codes]
    http.add("fund.eastmoney.com", "/js/fundcode_search.js", "var r = " + json.dumps(funds, ensure_ascii=False) + ";")
    http.add("fund.szse.cn", "/api/report/ShowReport", xlsx(["基金代码", "上市日期"], [[c, d] for c, d in listed.items()]))
    for c in codes:
        name = (tracked or {}).get(c[:6], "沪深300指数")
        http.add("fundf10.eastmoney.com", f"/jbgk_{c[:6]}.html",
                 f"<table><tr><th>业绩比较基准</th><td>{name}收益率</td><th>跟踪标的</th><td>{name}</td></tr></table>")
