"""Data clients: tushare through its own client code, Wind against a stand-in for WindPy.

tushare: every test runs ``ts.pro_api(token)`` — its ``DataApi.query`` posts JSON with ``requests.post`` — and
the HTTP is answered at the transport layer by :class:`_transport.TushareService` (tushare Pro's
``/dataapi/<api>``: filters, newest first, row limits, refusals with ``code`` != 0 and ``msg``). Nothing
reaches the network; a request the service cannot answer fails the test. The frames behind it are
synthesized in tushare's column names, units and 'YYYYMMDD' dates (each builder says so), except the real
tushare CSI 300 index_weight file from ../shared, served as it is and compared with the canonical table built
from it (the real 510310.SH split case is tests/test_split_adjacent.py; the real fund_adj factors here feed
infer_split_ratio directly). What tushare's client posted (api_name, params, fields) is checked on the
decoded bodies.

Wind: WindPy ships with the Wind terminal only (no package index has it), so :class:`FakeW` stands in for it.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import pytest
import requests
import tushare as ts
from _transport import (
    TUSHARE_PERMISSION_MSG,
    TUSHARE_RATE_MSG,
    TUSHARE_TOKEN,
    TUSHARE_URL,
    TushareService,
    serve,
    tushare_refusal,
)

from xladdin.data import load_market, validate_market
from xladdin.data.clients import (
    CategoryRules,
    DataClient,
    SourceError,
    TushareClient,
    WindClient,
    fetch_market,
    index_from_benchmark,
    infer_split_ratio,
)
from xladdin.data.clients.calls import bounded_requests
from xladdin.data.market import Market
from xladdin.ops.commands import fetch as fetch_cmd


# ============================================================================ tushare's service
@pytest.fixture
def http():
    """HTTP answered at the transport layer for one test (tests/_transport.py); an unanswered request fails it."""
    with serve() as transport:
        yield transport


def client_for(service: TushareService, **kw) -> tuple[TushareClient, list[float]]:
    """tushare's own client (``ts.pro_api``) on ``service``, told the row limits the service enforces; waits kept."""
    waits: list[float] = []
    return TushareClient(ts.pro_api(service.token), sleep=waits.append, row_limits=service.limits, **kw), waits


def ymd(days) -> list[str]:
    return [d.strftime("%Y%m%d") for d in days]


DAYS = pd.bdate_range("2024-01-02", "2024-06-28")
SPLIT_DAY = DAYS[60]
DIV_DAY = DAYS[30]

def etf_frames() -> dict[str, pd.DataFrame]:
    """Synthesized tushare rows (fund_share, fund_nav, fund_daily, fund_adj, trade_cal, fund_basic) of two ETFs:
    510310.SH consolidates 0.49977589 on SPLIT_DAY (+creations), 510300.SH pays a dividend on DIV_DAY."""
    rng = np.random.default_rng(7)
    n = len(DAYS)
    rows_share, rows_nav, rows_px, rows_adj = [], [], [], []
    for code, base_units in (("510300.SH", 2.0e10), ("510310.SH", 1.2e11)):
        units = base_units * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        nav = 4.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        factor = np.ones(n)
        if code == "510310.SH":
            k = DAYS.get_loc(SPLIT_DAY)
            units[k:] = units[k:] * 0.51161 / (units[k] / units[k - 1])  # shares ratio 0.51161 that day
            nav[k:] = nav[k:] / 0.49977589
            factor[k:] = 0.49977589
        else:
            k = DAYS.get_loc(DIV_DAY)
            factor[k:] = 1.021  # a 2.1 % cash dividend: not a split
        fd_share = np.round(units / 1e4, 4)  # 万份
        rows_share.append(pd.DataFrame({"ts_code": code, "trade_date": ymd(DAYS), "fd_share": fd_share}))
        rows_nav.append(pd.DataFrame({"ts_code": code, "ann_date": ymd(DAYS + pd.Timedelta(days=1)),
                                      "nav_date": ymd(DAYS), "unit_nav": np.round(nav, 4),
                                      "accum_nav": np.round(nav, 4), "adj_nav": np.round(nav * factor, 4)}))
        rows_px.append(pd.DataFrame({"ts_code": code, "trade_date": ymd(DAYS), "close": np.round(nav * 1.001, 3),
                                     "vol": 1e5, "amount": 4e5}))
        rows_adj.append(pd.DataFrame({"ts_code": code, "trade_date": ymd(DAYS), "adj_factor": factor}))
    nav = pd.concat(rows_nav, ignore_index=True)
    # a restated NAV: the same nav_date announced again later with another value
    restated = nav[(nav["ts_code"] == "510300.SH") & (nav["nav_date"] == ymd([DAYS[10]])[0])].copy()
    restated["ann_date"] = "20240301"
    restated["unit_nav"] = 9.9999
    nav = pd.concat([nav, restated], ignore_index=True)
    cal_days = pd.date_range("2023-12-25", "2024-07-05")
    cal = pd.DataFrame({"exchange": "SSE", "cal_date": ymd(cal_days),
                        "is_open": np.where(cal_days.isin(DAYS), 1, 0)})
    basic = pd.DataFrame({
        "ts_code": ["510300.SH", "510310.SH", "510880.SH", "518880.SH", "512880.SH", "513100.SH"],
        "name": ["沪深300ETF", "沪深300ETF易方达", "红利ETF", "黄金ETF", "证券ETF", "纳指ETF"],
        "management": "x", "custodian": "y",
        "fund_type": ["股票型", "股票型", "股票型", "商品型", "股票型", "股票型"],
        "found_date": "20120504", "list_date": ["20120528", "20130325", "20070118", "20130729", "20160808", "20130515"],
        "benchmark": ["沪深300指数收益率", "沪深300指数收益率", "上证红利指数收益率", "上海黄金交易所Au99.99现货实盘合约收盘价",
                      "中证全指证券公司指数收益率", "经人民币汇率调整的纳斯达克100指数收益率"],
        "status": "L", "invest_type": "被动指数型", "type": "契约型开放式", "market": "E"})
    return {"fund_share": pd.concat(rows_share, ignore_index=True), "fund_nav": nav,
            "fund_daily": pd.concat(rows_px, ignore_index=True), "fund_adj": pd.concat(rows_adj, ignore_index=True),
            "trade_cal": cal, "fund_basic": basic}



# ============================================================================ tushare: ETFs
def leaf_ranges(params: list[dict]) -> list[tuple[str, str]]:
    """The (start_date, end_date) ranges asked that contain no other range asked: where halving stopped."""
    asked = sorted({(p["start_date"], p["end_date"]) for p in params})
    return [r for r in asked if not any(o != r and r[0] <= o[0] and o[1] <= r[1] for o in asked)]


def test_etf_daily_units_sorting_paging_and_splits(http):
    data = etf_frames()
    limits = {"fund_share": 50, "fund_nav": 40, "fund_daily": 70, "fund_adj": 50}
    service = TushareService(http, data, limits)
    client, _ = client_for(service)
    out = client.etf_daily(["510310.SH", "510300.SH"], "2024-01-01", "2024-06-30")
    assert list(out.columns) == ["date", "etf", "shares", "nav", "close", "split_ratio"]
    assert out["date"].dtype == "datetime64[ns]" and out["shares"].dtype == float
    assert len(out) == 2 * len(DAYS)  # paging recovered every row although each call returns <= 50
    # what tushare's client posted first: the whole range of the first ETF, no fields
    assert service.bodies()[0] == {"api_name": "fund_share", "token": TUSHARE_TOKEN, "fields": "",
                                   "params": {"start_date": "20240101", "end_date": "20240630", "ts_code": "510310.SH",
                                              "ts_type_name": TUSHARE_URL}}
    # ranges that came back full were halved until each piece is below the limit; the pieces tile the range
    for api, dcol in (("fund_share", "trade_date"), ("fund_nav", "nav_date"), ("fund_daily", "trade_date"),
                      ("fund_adj", "trade_date")):
        for code in ("510310.SH", "510300.SH"):
            asked = [p for p in service.params(api) if p["ts_code"] == code]
            assert set().union(*map(set, asked)) == {"ts_code", "start_date", "end_date"}
            leaves = leaf_ranges(asked)
            assert len(leaves) >= 2 and leaves[0][0] == "20240101" and leaves[-1][1] == "20240630"
            for (_, end), (start, _) in zip(leaves, leaves[1:]):
                assert pd.Timestamp(start) == pd.Timestamp(end) + pd.Timedelta(days=1)
            src = data[api][data[api]["ts_code"] == code][dcol]
            assert all(src.between(s, e).sum() < limits[api] for s, e in leaves)
    # sorted by date then etf, ascending (tushare answered newest first)
    assert out["date"].is_monotonic_increasing
    assert (out.groupby("date")["etf"].apply(list).map(lambda x: x == sorted(x))).all()
    # shares: 万份 -> units
    src = data["fund_share"]
    row = src[(src.ts_code == "510300.SH") & (src.trade_date == "20240315")]["fd_share"].iloc[0]
    got = out[(out.etf == "510300.SH") & (out.date == "2024-03-15")]["shares"].iloc[0]
    assert got == pytest.approx(row * 1e4, rel=1e-12)
    # consolidation found with the factor's ratio; the dividend is not a split
    splits = out[out["split_ratio"] != 1.0]
    assert len(splits) == 1
    assert splits["etf"].iloc[0] == "510310.SH" and splits["date"].iloc[0] == SPLIT_DAY
    assert splits["split_ratio"].iloc[0] == pytest.approx(0.49977589, rel=1e-9)
    assert (out.loc[out.etf == "510300.SH", "split_ratio"] == 1.0).all()
    # restated NAV: the later announcement wins
    nav = out[(out.etf == "510300.SH") & (out.date == DAYS[10])]["nav"].iloc[0]
    assert nav == 9.9999
    assert any("announced twice" in n for n in client.notes)
    assert validate_market(Market({"etf_daily": out})) == []


def test_etf_daily_share_gaps_left_out_or_filled(http):
    data = etf_frames()
    sh = data["fund_share"]
    data["fund_share"] = sh[~sh["trade_date"].isin(ymd(DAYS[20:23]))]  # change-date style gaps
    service = TushareService(http, data)
    client, _ = client_for(service)
    out = client.etf_daily(["510300.SH"], "2024-01-01", "2024-06-30")
    assert len(out) == len(DAYS) - 3
    assert any("no fund_share row" in n for n in client.notes)
    filled, _ = client_for(service, fill_share_gaps=True)
    out2 = filled.etf_daily(["510300.SH"], "2024-01-01", "2024-06-30")
    assert len(out2) == len(DAYS)
    s = out2.set_index("date")["shares"]
    assert s[DAYS[21]] == s[DAYS[19]]
    whole = {"ts_code": "510300.SH", "start_date": "20240101", "end_date": "20240630"}
    assert [b["api_name"] for b in service.bodies()] == ["fund_share", "fund_nav", "fund_daily", "fund_adj"] * 2
    assert all(service.params(api) == [whole, whole] for api in ("fund_share", "fund_nav", "fund_daily", "fund_adj"))


def test_etf_info_categories_tracked_index_and_overrides(http):
    data = etf_frames()
    overrides = pd.DataFrame({"etf": ["512880.SH"], "tracked_index": ["399975.SZ"], "category": [pd.NA]})
    service = TushareService(http, data)
    client, _ = client_for(service, etf_overrides=overrides)
    codes = ["510300.SH", "510880.SH", "518880.SH", "512880.SH", "513100.SH"]
    info = client.etf_info(codes).set_index("etf")
    assert info.loc["510300.SH", "category"] == "broad" and info.loc["510300.SH", "tracked_index"] == "000300.SH"
    assert info.loc["510880.SH", "category"] == "strategy_style" and info.loc["510880.SH", "tracked_index"] == "000015.SH"
    assert info.loc["518880.SH", "category"] == "other"
    assert info.loc["513100.SH", "category"] == "other"
    assert info.loc["512880.SH", "category"] == "sector_theme"
    assert info.loc["512880.SH", "tracked_index"] == "399975.SZ"
    assert info.loc["510300.SH", "list_date"] == pd.Timestamp("2012-05-28")
    assert any("no tracked index" in n and "518880.SH" in n for n in client.notes)
    assert service.params("fund_basic") == [{"market": "E"}]  # the whole ETF list in one call
    with pytest.raises(SourceError, match="no fund 999999.SH"):
        client.etf_info(["510300.SH", "999999.SH"])
    # the code missing from the list is asked by itself, and tushare answers no row
    assert service.params("fund_basic")[1:] == [{"market": "E"}, {"ts_code": "999999.SH"}]
    with pytest.raises(ValueError, match="exchange suffix"):
        client.etf_info(["510300"])
    assert len(service.bodies()) == 3


def test_category_rules_are_a_parameter():
    rules = CategoryRules(style_words=())
    assert rules.categorize("红利ETF 上证红利指数收益率", "股票型") == "sector_theme"
    assert CategoryRules().categorize("红利ETF 上证红利指数收益率", "股票型") == "strategy_style"
    assert index_from_benchmark("中证1000指数收益率*95%+活期存款利率*5%") == "000852.SH"
    assert index_from_benchmark("中证A500指数收益率") == "000510.SH"  # longest name wins over 中证A50
    assert index_from_benchmark("") == ""


# ============================================================================ tushare: retries and errors
def test_rate_limit_retry_with_backoff_then_give_up(http):
    """tushare's service refuses with code 40203 and its rate-limit message; tushare's client raises it as
    Exception(msg), which is retried after 10, 20, ... s. A dropped connection (requests' ConnectionError
    from the adapter) is retried the same way."""
    service = TushareService(http, etf_frames())
    client, waits = client_for(service)
    rate = tushare_refusal(TUSHARE_RATE_MSG)
    service.refuse("fund_adj", rate, rate)
    service.refuse("fund_daily", requests.ConnectionError("('Connection aborted.', ConnectionResetError(104))"))
    out = client.etf_daily(["510300.SH"], "2024-01-01", "2024-06-30")
    assert len(out) == len(DAYS)
    assert waits == [10.0, 10.0, 20.0]  # fund_daily once, then fund_adj twice
    whole = {"ts_code": "510300.SH", "start_date": "20240101", "end_date": "20240630"}
    assert service.params("fund_daily") == [whole] * 2 and service.params("fund_adj") == [whole] * 3
    service.refuse("index_daily", *[rate] * 10)
    client.max_retries = 3
    with pytest.raises(SourceError, match="still rate-limited after 3 retries"):
        client.index_daily(["000300.SH"], "2024-01-01", "2024-06-30")
    assert service.params("index_daily") == [{"ts_code": "000300.SH", "start_date": "20240101",
                                              "end_date": "20240630"}] * 4
    assert waits[3:] == [10.0, 20.0, 40.0]


def test_permission_error_is_not_retried(http):
    service = TushareService(http, etf_frames())
    client, waits = client_for(service)
    service.refuse("fund_share", tushare_refusal(TUSHARE_PERMISSION_MSG))
    with pytest.raises(SourceError, match=r"tushare fund_share\(.*ts_code='510300.SH'.*没有访问该接口的权限"):
        client.etf_daily(["510300.SH"], "2024-01-01", "2024-06-30")
    assert waits == [] and len(service.bodies()) == 1


def test_missing_columns(http):
    data = etf_frames()
    data["fund_share"] = data["fund_share"].rename(columns={"fd_share": "share"})
    client, _ = client_for(TushareService(http, data))
    with pytest.raises(SourceError, match="lacks column.*fd_share"):
        client.etf_daily(["510300.SH"], "2024-01-01", "2024-06-30")


def test_http_error_statuses_are_not_empty_answers(http):
    """tushare's client answers an HTTP error status with an empty table without columns (``DataApi.query``:
    ``if res: ... else: return pd.DataFrame()``). The adapter reads the status: 429 and 5xx are retried, other
    errors refused at once, none taken for "no rows" (before, a 503 on index_daily read as "no rows")."""
    days = DAYS[:3]
    idx = pd.DataFrame({"ts_code": "000300.SH", "trade_date": ymd(days), "close": [3500.0, 3510.0, 3490.0]})
    service = TushareService(http, {"index_daily": idx})
    service.refuse("index_daily", 503)
    bare = ts.pro_api(service.token).index_daily(ts_code="000300.SH")
    assert bare.empty and bare.columns.empty  # what tushare's own client makes of the 503
    client, waits = client_for(service)
    service.refuse("index_daily", 503, 429)
    assert client.index_daily(["000300.SH"], days[0], days[-1])["close"].tolist() == [3500.0, 3510.0, 3490.0]
    assert waits == [10.0, 20.0] and client.notes == []
    service.refuse("index_daily", 403)
    with pytest.raises(SourceError, match=r"tushare index_daily\(.*ts_code='000300.SH'\) failed: the service "
                                          r"answered HTTP 403"):
        client.index_daily(["000300.SH"], days[0], days[-1])
    assert waits == [10.0, 20.0]
    client.max_retries = 2
    service.refuse("index_daily", 502, 502, 502)
    with pytest.raises(SourceError, match=r"still failing after 2 retries: the service answered HTTP 502"):
        client.index_daily(["000300.SH"], days[0], days[-1])
    assert waits == [10.0, 20.0, 10.0, 20.0]
    assert len(service.bodies("index_daily")) == 1 + 3 + 1 + 3
    # reading the status lifts no cap around it: tushare passes its 30 s, an enclosing 5 s block keeps 5 s
    client.index_daily(["000300.SH"], days[0], days[-1])
    with bounded_requests(5.0):
        client.index_daily(["000300.SH"], days[0], days[-1])
    assert [s.timeout for s in http.log[-2:]] == [30, 5.0]


def _extra(name: str) -> list[str]:
    """The requirements of xladdin's optional extra ``name``, as pyproject.toml states them."""
    import tomllib
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["project"]["optional-dependencies"][name]


def _without_module(monkeypatch, name: str) -> None:
    """Forget ``name`` and its submodules for this test, so the next import runs the library's own code again."""
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.delitem(sys.modules, mod)


def test_from_env_errors(monkeypatch):
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "tushare", None)  # `import tushare` raises ModuleNotFoundError
        with pytest.raises(SourceError, match="tushare package is not installed") as err:
            TushareClient.from_env()
    # the wheel with its extra, never an index package `xladdin`
    assert 'python -m pip install "<path or URL of the xladdin wheel>[tushare]"' in str(err.value)
    assert sys.executable in str(err.value)
    monkeypatch.delenv("TUSHARE_TOKEN", raising=False)
    with pytest.raises(SourceError, match="TUSHARE_TOKEN"):
        TushareClient.from_env()


def test_from_env_token_and_timeout_reach_tushare(monkeypatch, http):
    """The token of $TUSHARE_TOKEN (or given) is the one tushare's client posts; ``timeout`` is the one requests
    gets (tushare's own 30 s when None)."""
    days = DAYS[:3]
    idx = pd.DataFrame({"ts_code": "000300.SH", "trade_date": ymd(days), "close": [3500.0, 3510.0, 3490.0]})
    env = TushareService(http, {"index_daily": idx}, token="abc123")
    monkeypatch.setenv("TUSHARE_TOKEN", "abc123")
    client = TushareClient.from_env()
    assert isinstance(client, TushareClient)
    assert client.index_daily(["000300.SH"], days[0], days[-1])["close"].tolist() == [3500.0, 3510.0, 3490.0]
    assert [b["token"] for b in env.bodies()] == ["abc123"] and http.log[-1].timeout == 30
    given = TushareService(http, {"index_daily": idx}, token="given-token")
    TushareClient.from_env(token="given-token", timeout=7.5).index_daily(["000300.SH"], days[0], days[-1])
    assert given.bodies()[-1]["token"] == "given-token" and http.log[-1].timeout == 7.5


# ============================================================================ tushare: indices, industries
def test_index_daily_and_weights_units(http):
    """Synthesized index_daily and index_weight rows; index_daily comes back at most 15 rows a call."""
    days = DAYS[:40]  # 2024-01-02 .. 2024-02-26
    idx = pd.DataFrame({"ts_code": "000300.SH", "trade_date": ymd(days), "close": np.linspace(3500, 3600, 40),
                        "open": 1.0, "vol": 1.0, "amount": 1.0})
    months = [days[0], days[-1]]
    w = pd.DataFrame({"index_code": "000905.SH", "con_code": ["600000.SH", "000001.SZ", "300750.SZ"] * 2,
                      "trade_date": ymd([months[0]] * 3 + [months[1]] * 3),
                      "weight": [50.0, 30.0, 20.02, 40.0, 40.0, 20.0]})
    service = TushareService(http, {"index_daily": idx, "index_weight": w}, {"index_daily": 15})
    client, _ = client_for(service)
    out = client.index_daily(["000300.SH"], days[0], days[-1])
    assert len(out) == 40 and out["close"].is_monotonic_increasing and out["date"].is_monotonic_increasing
    # 40 rows, 15 a call: the range halved (by calendar days) until each piece holds 10 trading days
    halves = [("20240102", "20240226"), ("20240102", "20240129"), ("20240102", "20240115"), ("20240116", "20240129"),
              ("20240130", "20240226"), ("20240130", "20240212"), ("20240213", "20240226")]
    assert service.params("index_daily") == [{"start_date": s, "end_date": e, "ts_code": "000300.SH"}
                                             for s, e in halves]
    wt = client.index_weights("000905.SH", days[0], days[-1])
    assert service.params("index_weight") == [  # one call per calendar month
        {"start_date": "20240102", "end_date": "20240131", "index_code": "000905.SH"},
        {"start_date": "20240201", "end_date": "20240226", "index_code": "000905.SH"}]
    assert list(wt.columns) == ["date", "index", "stock", "weight"]
    first = wt[wt.date == months[0]].set_index("stock")["weight"]
    assert first["300750.SZ"] == pytest.approx(0.2002)  # % -> fraction, not renormalised
    assert validate_market(Market({"index_weights": wt})) == []  # 1.0002: within the 1e-3 tolerance


def test_index_weights_real_csi300_via_alias(real_data_dir, http):
    """The real tushare index_weight file (CSI 300 filed as 399300.SZ) served by tushare's service and read through
    tushare's client equals the canonical table."""
    raw = pd.read_csv(real_data_dir.parent / "csi300_constituent_weights_2006-2024_tushare.csv", dtype={"datetime": str})
    raw = raw.rename(columns={"datetime": "trade_date"})[["index_code", "con_code", "trade_date", "weight"]]
    raw = raw[(raw.trade_date >= "20150101") & (raw.trade_date <= "20161231")]
    service = TushareService(http, {"index_weight": raw})
    client, _ = client_for(service)
    got = client.index_weights("000300.SH", "2015-01-01", "2016-12-31")
    canon = pd.read_csv(real_data_dir / "index_weights.csv", parse_dates=["date"])
    canon = canon[canon.date <= "2016-12-31"]
    m = got.merge(canon, on=["date", "index", "stock"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all() and len(m) == len(canon) > 5000
    assert np.abs(m["weight_x"] - m["weight_y"]).max() < 1e-8
    assert any("399300.SZ" in n for n in client.notes)
    # 24 months asked under 000300.SH (no rows), then the same 24 under tushare's 399300.SZ
    asked = service.params("index_weight")
    months = [(f.strftime("%Y%m%d"), (f + pd.offsets.MonthEnd(0)).strftime("%Y%m%d"))
              for f in pd.date_range("2015-01-01", "2016-12-01", freq="MS")]
    assert asked == [{"start_date": s, "end_date": e, "index_code": code}
                     for code in ("000300.SH", "399300.SZ") for s, e in months]


def test_stock_industry_and_industry_daily_suffixes(http):
    """Synthesized ci_index_member (3 rows a call) and ci_daily rows."""
    member = pd.DataFrame({"l1_code": ["CI005001.CI", "CI005022.CI", "CI005022.CI", "CI005021.CI"],
                           "l1_name": ["石油石化", "银行", "银行", "证券"], "l2_code": "x", "l2_name": "x",
                           "l3_code": "x", "l3_name": "x",
                           "ts_code": ["601857.SH", "000001.SZ", "600000.SH", "600030.SH"],
                           "name": "n", "in_date": ["20100101", "20100101", "20100101", "20100101"],
                           "out_date": None, "is_new": "Y"})
    days = DAYS[:10]
    ci = pd.DataFrame({"ts_code": np.repeat(["CI005001.CI", "CI005022.CI"], 10), "trade_date": ymd(days) * 2,
                       "close": np.r_[np.linspace(2500, 2510, 10), np.linspace(3000, 2990, 10)]})
    service = TushareService(http, {"ci_index_member": member, "ci_daily": ci}, {"ci_index_member": 3})
    client, _ = client_for(service)
    si = client.stock_industry()  # 4 rows with a 3-row limit: offset paging
    assert service.params("ci_index_member") == [{"is_new": "Y"}, {"is_new": "Y", "offset": 3, "limit": 3}]
    assert len(si) == 4 and set(si["industry"]) == {"CI005001.WI", "CI005021.WI", "CI005022.WI"}
    assert si.set_index("stock").loc["600000.SH", "industry_name"] == "银行"
    market = fetch_market(client, ["stock_industry", "industry_daily"], start=days[0], end=days[-1])
    ind = market.table("industry_daily")
    assert set(ind["industry"]) == {"CI005001.WI", "CI005022.WI"}  # codes from stock_industry, canonical suffix
    assert any("CI005021.CI" in n for n in client.notes)  # no ci_daily rows for it: noted
    assert sorted(p["ts_code"] for p in service.params("ci_daily")) == ["CI005001.CI", "CI005021.CI", "CI005022.CI"]
    assert all(p["start_date"] == days[0].strftime("%Y%m%d") and p["end_date"] == days[-1].strftime("%Y%m%d")
               for p in service.params("ci_daily"))
    assert validate_market(market) == []


# ============================================================================ tushare: all-market tables
# ============================================================================ tushare: all-market tables
def market_day_frames():
    """Synthesized trade_cal, daily, daily_basic, hk_hold (with one southbound row) and margin_detail rows: 7 stocks,
    3 days."""
    days = DAYS[:3]
    stocks = ["600000.SH", "600519.SH", "000001.SZ", "000858.SZ", "300750.SZ", "601318.SH", "002594.SZ"]
    cal = pd.DataFrame({"exchange": "SSE", "cal_date": ymd(pd.date_range(days[0], days[-1])),
                        "is_open": [1 if d in days else 0 for d in pd.date_range(days[0], days[-1])]})
    rows_daily, rows_basic, rows_hk, rows_margin = [], [], [], []
    for i, d in enumerate(ymd(days)):
        for j, s in enumerate(stocks):
            close = 10.0 + j + i * 0.1
            rows_daily.append({"ts_code": s, "trade_date": d, "close": close, "vol": 1000.0, "amount": 1234.5 + j})
            rows_basic.append({"ts_code": s, "trade_date": d, "close": close, "float_share": 1000.0 * (j + 1),
                               "free_share": 500.0 * (j + 1), "circ_mv": 1000.0 * (j + 1) * close})
            ex = "SH" if s.endswith(".SH") else "SZ"
            rows_hk.append({"code": "9" + s[:5], "trade_date": d, "ts_code": s, "name": "n",
                            "vol": 100000 * (j + 1), "ratio": 0.5 + j, "exchange": ex})
            rows_margin.append({"trade_date": d, "ts_code": s, "name": "n", "rzye": 1e9 + j, "rqye": 1.0,
                                "rzmre": 1e7 + j, "rqyl": 1.0, "rzche": 2e7 + j, "rqchl": 1.0, "rqmcl": 1.0,
                                "rzrqye": 1.0})
    rows_hk.append({"code": "00700", "trade_date": ymd(days)[0], "ts_code": "00700.HK", "name": "腾讯",
                    "vol": 5, "ratio": 1.0, "exchange": "HK"})  # southbound: excluded
    return days, {"trade_cal": cal, "daily": pd.DataFrame(rows_daily), "daily_basic": pd.DataFrame(rows_basic),
                  "hk_hold": pd.DataFrame(rows_hk), "margin_detail": pd.DataFrame(rows_margin)}




def test_stock_daily_margin_northbound_units_and_day_loop(http):
    days, data = market_day_frames()
    service = TushareService(http, data, {"daily": 4, "margin_detail": 3, "hk_hold": 2})
    client, _ = client_for(service)
    m = fetch_market(client, ["northbound_holdings", "margin_daily", "stock_daily"], start=days[0], end=days[-1])
    sd = m.table("stock_daily")
    assert len(sd) == 21  # 7 stocks x 3 days through offset paging (limit 4)
    r = sd[(sd.stock == "000001.SZ") & (sd.date == days[1])].iloc[0]
    assert r["amount"] == pytest.approx((1234.5 + 2) * 1e3)          # 千元 -> yuan
    assert r["float_mcap"] == pytest.approx(3000.0 * 12.1 * 1e4)     # 万元 -> yuan
    mg = m.table("margin_daily")
    assert len(mg) == 21 and mg["financing_balance"].min() == 1e9    # already yuan
    nb = m.table("northbound_holdings")
    assert len(nb) == 21 and "00700.HK" not in set(nb["stock"])
    x = nb[(nb.stock == "600519.SH") & (nb.date == days[2])].iloc[0]
    assert x["shares_held"] == 200000
    assert x["held_value"] == pytest.approx(200000 * 11.2)
    assert x["float_ratio"] == pytest.approx(200000 / (2000.0 * 1e4))
    # the calendar asked once, for open SSE days
    assert service.params("trade_cal") == [{"exchange": "SSE", "start_date": ymd(days)[0], "end_date": ymd(days)[-1],
                                            "is_open": "1"}]
    # daily_basic asked once per day although two tables need it, for the fields used only
    assert service.params("daily_basic") == [{"trade_date": d} for d in ymd(days)]
    assert {b["fields"] for b in service.bodies("daily_basic")} == {"ts_code,trade_date,close,float_share,free_share,circ_mv"}
    # one day a call; a full page (7 rows, limit 4; limit 3; limit 2) asked again from the next offset
    assert service.params("daily") == [p for d in ymd(days) for p in (
        {"trade_date": d}, {"trade_date": d, "offset": 4, "limit": 4})]
    assert service.params("margin_detail") == [p for d in ymd(days) for p in (
        {"trade_date": d}, {"trade_date": d, "offset": 3, "limit": 3}, {"trade_date": d, "offset": 6, "limit": 3})]
    sh, sz = 3, 4  # of the 7 stocks held each day, 3 on SSE and 4 on SZSE (2 rows a call)
    assert service.params("hk_hold") == [p for d in ymd(days) for x, n in (("SH", sh), ("SZ", sz)) for p in (
        [{"trade_date": d, "exchange": x}] + [{"trade_date": d, "exchange": x, "offset": o, "limit": 2}
                                              for o in range(2, n + 1, 2)])]
    assert validate_market(m) == []
    issued, _ = client_for(service, northbound_ratio="issued")
    nb2 = issued.northbound_holdings(days[0], days[-1])
    assert nb2.set_index(["date", "stock"]).loc[(days[0], "600519.SH"), "float_ratio"] == pytest.approx(0.015)
    free, _ = client_for(service, float_basis="free_share")
    sd2 = free.stock_daily(days[0], days[0])
    assert sd2.set_index("stock").loc["600000.SH", "float_mcap"] == pytest.approx(500.0 * 1e4 * 10.0)


# ============================================================================ split inference (real factors)
def test_split_inference_on_real_tushare_factors(real_data_dir):
    """Real fund_adj factors: 510300 dividends (real shares) and 510880's >5 % dividends are no splits; 513100's 1:5 is."""
    hfq = pd.read_csv(real_data_dir.parent / "etf_daily_price_hfq_510300_159915_510880_513100_2014-2023_tushare.csv",
                      parse_dates=["trade_date"])
    canon = pd.read_csv(real_data_dir / "etf_daily.csv", parse_dates=["date"])
    s300 = canon[canon.etf == "510300.SH"].set_index("date")["shares"]
    f300 = hfq[hfq.ts_code == "510300.SH"].set_index("trade_date")["adj_factor"].sort_index()
    common = s300.index.intersection(f300.index)
    assert (np.abs(np.log(f300[common]).diff()) > 0.005).sum() >= 5  # dividend jumps are there
    assert (infer_split_ratio(s300[common], f300[common]) == 1.0).all()
    f880 = hfq[hfq.ts_code == "510880.SH"].set_index("trade_date")["adj_factor"].sort_index()
    assert (f880 / f880.shift() - 1).max() > 0.05  # dividends above the threshold
    flat = pd.Series(1e9, index=f880.index) * np.exp(np.random.default_rng(1).normal(0, 0.01, len(f880)).cumsum())
    assert (infer_split_ratio(flat, f880) == 1.0).all()
    f100 = hfq[hfq.ts_code == "513100.SH"].set_index("trade_date")["adj_factor"].sort_index()
    jump = (f100 / f100.shift()).idxmax()
    units = pd.Series(1e8, index=f100.index)
    units[units.index >= jump] *= 5.0
    r = infer_split_ratio(units, f100)
    assert list(r[r != 1.0].index) == [jump] and r[jump] == pytest.approx(5.002, rel=1e-6)


# ============================================================================ Wind (a stand-in for WindPy)
class WindData:
    """Shaped like WindPy's answer object (ErrorCode, Codes, Fields, Times, Data)."""

    def __init__(self, error=0, codes=(), fields=(), times=(), data=()):
        self.ErrorCode, self.Codes, self.Fields, self.Times, self.Data = error, list(codes), list(fields), list(times), list(data)


class FakeW:
    """Stands in for WindPy's ``w`` (wsd / wss / wset / tdays answering :class:`WindData`).

    WindPy ships only with the Wind terminal (Windows, a licensed login): no package index has it, so Wind's
    own code cannot run in these tests and there is no HTTP to answer at the transport layer. The answers
    follow WindPy's documented shapes (units, ErrorCode on a bad indicator).
    """

    def __init__(self):
        self.days = [d.to_pydatetime() for d in DAYS[:50]]
        n = len(self.days)
        self.shares = np.full(n, 6.0e9)
        self.shares[30:] = 6.0e9 * 1.1107
        self.nav = np.full(n, 3.4)
        self.nav[30:] = 3.4 / 1.110680861
        self.adj = self.nav * np.where(np.arange(n) >= 30, 1.110680861, 1.0)
        self.calls = []

    def wsd(self, codes, fields, start, end, options=""):
        self.calls.append(("wsd", codes, fields, options))
        codes_l, fields_l = codes.split(","), fields.split(",")
        if codes_l == ["BAD.SH"]:
            return WindData(-40522005, data=[["CWSDService: invalid indicators."]])
        if len(codes_l) == 1 and len(fields_l) > 1:
            cols = {"unit_total": self.shares.tolist(), "nav": self.nav.tolist(), "close": (self.nav * 1.001).tolist(),
                    "nav_adj": self.adj.tolist()}
            return WindData(0, codes_l, [f.upper() for f in fields_l], self.days, [cols[f.lower()] for f in fields_l])
        data = [[3500.0 + i + k for i in range(len(self.days))] for k in range(len(codes_l))]
        data[-1][0] = None  # an empty cell
        return WindData(0, codes_l, ["CLOSE"], self.days, data)

    def wss(self, codes, fields, options=""):
        codes_l, fields_l = codes.split(","), fields.split(",")
        table = {"sec_name": {"159919.SZ": "沪深300ETF嘉实", "CI005001.WI": "石油石化(中信)", "CI005022.WI": "银行(中信)"},
                 "fund_trackindexcode": {"159919.SZ": "000300.SH"}, "fund_benchmark": {"159919.SZ": "沪深300指数收益率"},
                 "fund_investtype": {"159919.SZ": "被动指数型基金"},
                 "fund_setupdate": {"159919.SZ": pd.Timestamp("2012-05-07").to_pydatetime()}}
        return WindData(0, codes_l, [f.upper() for f in fields_l], [self.days[0]],
                        [[table[f].get(c) for c in codes_l] for f in fields_l])

    def wset(self, report, options):
        opts = dict(kv.split("=") for kv in options.split(";"))
        if report == "indexconstituent":
            return WindData(0, [1, 2], ["date", "wind_code", "sec_name", "i_weight"], [],
                            [[opts["date"]] * 2, ["600519.SH", "601318.SH"], ["贵州茅台", "中国平安"], [60.0, 40.0]])
        members = {"CI005001.WI": ["601857.SH", "600028.SH"], "CI005022.WI": ["601398.SH"]}.get(opts["windcode"], [])
        return WindData(0, list(range(len(members))), ["date", "wind_code", "sec_name"], [],
                        [[opts["date"]] * len(members), members, ["x"] * len(members)])

    def tdays(self, start, end, options=""):
        ends = pd.Series(DAYS[:50]).groupby(DAYS[:50].to_period("M")).max()
        return WindData(0, [], [], list(ends), [list(ends)])


def test_wind_adapter_tables_units_and_errors():
    w = FakeW()
    client = WindClient(w, as_of="2024-03-01")
    m = fetch_market(client, ["etf_info", "etf_daily", "index_daily", "index_weights", "stock_industry",
                              "industry_daily"], etfs=["159919.SZ"], indices=["000300.SH", "000905.SH"],
                     industries=["CI005001.WI", "CI005022.WI"], start=DAYS[0], end=DAYS[49])
    info = m.etf_info.loc["159919.SZ"]
    assert info["tracked_index"] == "000300.SH" and info["category"] == "broad"
    ed = m.table("etf_daily")
    assert len(ed) == 50 and ed["shares"].iloc[0] == 6.0e9
    assert ed.loc[ed.split_ratio != 1, "date"].tolist() == [DAYS[30]]
    assert ed.loc[ed.split_ratio != 1, "split_ratio"].iloc[0] == pytest.approx(1.110680861)
    assert ("wsd", "159919.SZ", "unit_total,nav,close,NAV_adj", "unit=1") in w.calls
    ix = m.table("index_daily")
    assert len(ix) == 99  # one empty cell dropped
    wt = m.table("index_weights")
    assert wt.groupby(["index", "date"])["weight"].sum().tolist() == pytest.approx([1.0] * 6)  # i_weight % / 100
    si = m.stock_industry
    assert si.loc["601398.SH", "industry_name"] == "银行" and si.loc["601857.SH", "industry"] == "CI005001.WI"
    assert validate_market(m) == []
    with pytest.raises(SourceError, match=r"ErrorCode -40522005 .*invalid indicators"):
        client.etf_daily(["BAD.SH"], DAYS[0], DAYS[5])
    for t in ("northbound_holdings", "margin_daily", "stock_daily", "fund_nav"):
        with pytest.raises(NotImplementedError, match=f"`{t}` cannot be fetched from Wind"):
            fetch_market(client, [t], funds=["000001.OF"], start=DAYS[0], end=DAYS[5])


def test_wind_shares_scale_for_wan_fen():
    w = FakeW()
    w.shares = w.shares / 1e4  # a terminal answering in 万份
    out = WindClient(w, shares_scale=1e4).etf_daily(["159919.SZ"], DAYS[0], DAYS[49])
    assert out["shares"].iloc[0] == pytest.approx(6.0e9)


# ============================================================================ fetch_market + CLI
def test_fetch_market_argument_errors(http):
    client, _ = client_for(TushareService(http, {}))  # no frames: any request would fail the test
    assert isinstance(client, DataClient) and isinstance(WindClient(FakeW()), DataClient)
    with pytest.raises(ValueError, match="unknown table"):
        fetch_market(client, ["etf_flows"])
    with pytest.raises(ValueError, match="--start and --end are required"):
        fetch_market(client, ["etf_daily"], etfs=["510300.SH"])
    with pytest.raises(ValueError, match="needs etfs codes"):
        fetch_market(client, ["etf_daily"], start="2024-01-01", end="2024-02-01")
    with pytest.raises(NotImplementedError, match="active_fund_holdings"):
        fetch_market(client, ["active_fund_holdings"], start="2024-01-01", end="2024-02-01")
    assert http.log == []


def run_fetch(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    fetch_cmd.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_fetch_command_writes_valid_tables(tmp_path, monkeypatch, capsys, http):
    """``xladdin fetch --source tushare`` end to end: the client from $TUSHARE_TOKEN, tushare's own code, the service
    answering. 510310.SH's benchmark is blanked here, so its tracked index can only come from the ETF file."""
    data = etf_frames()
    basic = data["fund_basic"]
    data["fund_basic"] = basic.assign(benchmark=basic["benchmark"].where(basic["ts_code"] != "510310.SH", ""))
    service = TushareService(http, data)
    monkeypatch.setenv("TUSHARE_TOKEN", service.token)
    etf_file = tmp_path / "etfs.csv"
    etf_file.write_text("etf,tracked_index,category\n510300.SH,,\n510310.SH,000300.SH,broad\n", encoding="utf-8")
    out = tmp_path / "out"
    rc = run_fetch(["fetch", "--source", "tushare", "--out", str(out), "--tables", "etf_info", "etf_daily",
                    "--etf-file", str(etf_file), "--start", "2024-01-01", "--end", "2024-06-30"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "wrote 2 table(s)" in text and "split/consolidation inferred" in text
    market = load_market(out)
    assert set(market.tables) == {"etf_info", "etf_daily"}
    assert market.etfs_tracking("000300.SH") == ["510300.SH", "510310.SH"]  # 510310.SH's from the ETF file
    assert [b["api_name"] for b in service.bodies()] == ["fund_basic"] + [
        "fund_share", "fund_nav", "fund_daily", "fund_adj"] * 2
    assert {s.timeout for s in http.log} == {30}  # no --timeout: tushare's own
    rc = run_fetch(["fetch", "--source", "tushare", "--out", str(tmp_path / "again"), "--tables", "etf_info",
                    "--etfs", "510300.SH", "--timeout", "12"])
    assert rc == 0 and http.log[-1].timeout == 12


def test_fetch_command_missing_token_and_bad_etf_file(tmp_path, monkeypatch, http):
    monkeypatch.delenv("TUSHARE_TOKEN", raising=False)
    with pytest.raises(SourceError, match="TUSHARE_TOKEN"):
        run_fetch(["fetch", "--source", "tushare", "--out", str(tmp_path), "--tables", "etf_info",
                   "--etfs", "510300.SH"])
    monkeypatch.setitem(sys.modules, "WindPy", None)
    with pytest.raises(SourceError, match="WindPy is not installed"):
        run_fetch(["fetch", "--source", "wind", "--out", str(tmp_path), "--tables", "etf_info", "--etfs", "510300.SH"])
    bad = tmp_path / "bad.csv"
    bad.write_text("etf,category\n510300.SH,largecap\n", encoding="utf-8")
    with pytest.raises(ValueError, match="largecap"):
        run_fetch(["fetch", "--source", "tushare", "--out", str(tmp_path), "--tables", "etf_info",
                   "--etf-file", str(bad)])
    plain = tmp_path / "codes.txt"
    plain.write_text("# my ETFs\n510300.SH\n\n159919.SZ\n", encoding="utf-8")
    assert fetch_cmd.read_etf_file(plain) == (["510300.SH", "159919.SZ"], None)
    assert http.log == []


def test_fetch_command_refuses_to_write_invalid_tables(tmp_path, monkeypatch, capsys, http):
    """Synthesized index_weight rows summing to 90 %: the command reports and writes nothing unless told."""
    days = DAYS[:20]
    w = pd.DataFrame({"index_code": "000905.SH", "con_code": ["600000.SH", "000001.SZ"],
                      "trade_date": ymd([days[0]] * 2), "weight": [50.0, 40.0]})  # sums to 0.9
    service = TushareService(http, {"index_weight": w})
    monkeypatch.setenv("TUSHARE_TOKEN", service.token)
    out = tmp_path / "o"
    argv = ["fetch", "--source", "tushare", "--out", str(out), "--tables", "index_weights", "--indices", "000905.SH",
            "--start", str(days[0].date()), "--end", str(days[-1].date())]
    assert run_fetch(argv) == 1
    assert "sum to 0.900000" in capsys.readouterr().out and not out.exists()
    assert run_fetch(argv + ["--allow-issues"]) == 0 and (out / "index_weights.csv").is_file()
    assert service.params("index_weight") == [{"start_date": "20240102", "end_date": "20240129",
                                               "index_code": "000905.SH"}] * 2


def test_a_tushare_that_does_not_import_is_not_called_missing(monkeypatch):
    """tushare 1.4 imports ``six`` without declaring it: tushare's own import fails on a machine without six. The
    message says so (not "not installed") and names what to install: the extra, whose requirements include six."""
    pytest.importorskip("tushare")
    _without_module(monkeypatch, "tushare")
    monkeypatch.setitem(sys.modules, "six", None)  # `import six` raises ModuleNotFoundError inside tushare
    with pytest.raises(SourceError) as err:
        TushareClient.from_env(token="abc")
    text = str(err.value)
    assert "installed but does not import (ModuleNotFoundError: " in text and "six" in text
    assert "not installed" not in text and "[tushare]" in text


def test_the_tushare_extra_brings_what_tushare_imports():
    """The extra names six beside tushare (tushare's trader module imports it undeclared)."""
    names = {r.split(">")[0].split("<")[0].split("=")[0].strip().lower() for r in _extra("tushare")}
    assert {"tushare", "six"} <= names
