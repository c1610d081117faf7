"""Splits recorded on adjacent days (spec, "Data the methods consume"), on the real 510310.SH case.

The exchanges date 510310.SH's 2-for-1 consolidation (announced ratio 0.49977589) on 2024-09-20:
the SSE share count halves that day, while the traded close doubles only on 09-23 and so does
every price-based adjustment factor. A same-day rule finds no split and M1 reads a -1,904 亿元
outflow. Here:

* :func:`infer_split_ratio` on the real series in ``../shared/data/real`` (SSE shares, finshare's
  closes and hfq factor, read at test time);
* tushare's own client code (``tushare.pro_api``) with its HTTP answered at the transport layer
  (``tests/_transport.py``) from those real values, the factor jump on 09-23 as the real factor
  has it; the flows of M1 are then computed from the fetched table;
* hand-made small cases of the adjacency rule and of the post-split restatement;
* the Eastmoney fund type of bond ETFs (指数型-固收) under the default category rules.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tushare as ts
from _transport import TushareService, serve

from xladdin.data.clients import DEFAULT_CATEGORY_RULES, TushareClient, infer_split_ratio
from xladdin.data.clients.base import restate_split_rows
from xladdin.methods.flows import etf_flows

RATIO = 0.49977589          # announced (E Fund notice, canonical README)
SPLIT_DAY = pd.Timestamp("2024-09-20")
PRICE_DAY = pd.Timestamp("2024-09-23")
WINDOW = ("2024-09-02", "2024-10-15")
TEN_BILLION_YUAN = 50e8     # 50 亿元


@pytest.fixture(scope="module")
def real_510310(real_data_dir: Path) -> pd.DataFrame:
    """510310's real SSE shares (units), finshare close and hfq factor over WINDOW, by date."""
    raw = real_data_dir.parent
    sh = pd.read_csv(raw / "etf_daily_shares_510300_510310_510330_159919_159915_2012-2026_sse_szse.csv",
                     dtype={"code": str}, parse_dates=["date"])
    sh = sh[(sh.code == "510310") & (sh.quality == "official")].set_index("date")["shares_100m"]
    px = pd.read_csv(raw / "etf_daily_price_unadj_6etf_2005-2026_finshare.csv", dtype={"code": str},
                     parse_dates=["trade_date"])
    px = px[px.code == "510310"].set_index("trade_date")
    df = pd.DataFrame({"shares_100m": sh}).join(px[["close", "hfq_factor"]], how="inner")
    df = df.loc[WINDOW[0]:WINDOW[1]]
    assert df.loc[SPLIT_DAY, "close"] == 1.599 and df.loc[PRICE_DAY, "close"] == 3.213  # the real series
    return df


# ============================================================================ the rule, on real series
def test_real_510310_split_found_on_the_shares_day(real_510310):
    shares = real_510310["shares_100m"] * 1e8
    factor = real_510310["hfq_factor"]
    assert factor.diff().abs().idxmax() == PRICE_DAY  # the factor moves a trading day after the shares
    r = infer_split_ratio(shares, factor)
    assert list(r[r != 1.0].index) == [SPLIT_DAY]
    assert r[SPLIT_DAY] == pytest.approx(RATIO, rel=0.005)
    # the same-day rule of before (max_lag=0) misses it: the bug this fixes
    assert (infer_split_ratio(shares, factor, max_lag=0) == 1.0).all()


def test_adjacent_rule_small_cases():
    idx = pd.bdate_range("2024-01-01", periods=6)
    flat = pd.Series([100.0, 101, 102, 103, 104, 105], idx)

    def factors(jump_at: int, r: float = 0.5) -> pd.Series:
        return pd.Series([1.0] * jump_at + [r] * (6 - jump_at), idx)

    def shares(jump_at: int, s: float = 0.52) -> pd.Series:
        out = flat.copy()
        out.iloc[jump_at:] *= s
        return out

    # factor a day after the shares, the same day, a day before: all recorded on the shares' day
    for f_at, s_at in ((3, 2), (2, 2), (2, 3)):
        r = infer_split_ratio(shares(s_at), factors(f_at))
        assert r[r != 1.0].to_dict() == {idx[s_at]: 0.5}, (f_at, s_at)
    # two trading days apart: no split (a flow and a factor move)
    assert (infer_split_ratio(shares(1), factors(3)) == 1.0).all()
    assert (infer_split_ratio(shares(1), factors(3), max_lag=2) != 1.0).sum() == 1
    # a share move the wrong way, or less than half-way (ln 0.9 vs ln 0.5): no split
    assert (infer_split_ratio(shares(2, 1.9), factors(3)) == 1.0).all()
    assert (infer_split_ratio(shares(2, 0.9), factors(3)) == 1.0).all()
    # shares jump on both neighbours of the factor jump: the same day wins, then the earlier one
    both = flat.copy()
    both.iloc[2:] *= 0.5
    both.iloc[3:] *= 0.5
    r = infer_split_ratio(both, factors(3))
    assert r[r != 1.0].to_dict() == {idx[3]: 0.5}
    r = infer_split_ratio(both, factors(4, 0.5))
    assert r[r != 1.0].to_dict() == {idx[3]: 0.5}


def test_restate_split_rows_by_basis():
    idx = pd.bdate_range("2024-09-18", periods=4)
    df = pd.DataFrame({"split_ratio": [1.0, 1.0, 0.5, 1.0],
                       "close": [1.58, 1.60, 1.61, 3.25],    # split row traded in old units
                       "nav": [1.58, 1.60, 3.21, 3.25]}, idx)  # split row's NAV already post-split
    done = restate_split_rows(df)
    assert df["close"].tolist() == [1.58, 1.60, pytest.approx(3.22, rel=1e-12), 3.25]
    assert df["nav"].tolist() == [1.58, 1.60, 3.21, 3.25]
    assert done == ["close 2024-09-20 1.61 -> 3.22"]


# ============================================================================ through tushare's own code
def test_510310_through_tushare_client_with_the_factor_a_day_later(real_510310):
    """tushare's fund_share (万份), fund_daily, fund_adj and fund_nav answered from the real values.

    fund_adj is the real finshare hfq factor (it moves on 09-23). fund_nav is synthesized: the real
    unit NAV of 510310 is not in ../shared, so the traded close stands in for it (old units on 09-20,
    as the traded close is)."""
    d = real_510310.reset_index(names="date")
    ymd = d["date"].dt.strftime("%Y%m%d")
    code = "510310.SH"
    frames = {
        "fund_share": pd.DataFrame({"ts_code": code, "trade_date": ymd, "fd_share": d["shares_100m"] * 1e4}),
        "fund_daily": pd.DataFrame({"ts_code": code, "trade_date": ymd, "close": d["close"]}),
        "fund_adj": pd.DataFrame({"ts_code": code, "trade_date": ymd, "adj_factor": d["hfq_factor"]}),
        "fund_nav": pd.DataFrame({"ts_code": code, "ann_date": ymd, "nav_date": ymd, "unit_nav": d["close"]}),
    }
    with serve() as http:
        service = TushareService(http, frames)
        client = TushareClient(ts.pro_api(service.token), sleep=lambda s: None)
        out = client.etf_daily([code], *WINDOW)
    assert http.count() == 4 and all(s.timeout == 30 for s in http.log)  # tushare's own default timeout
    asked = {"ts_code": code, "start_date": "20240902", "end_date": "20241015"}
    assert [(b["api_name"], b["fields"]) for b in service.bodies()] == [
        ("fund_share", ""), ("fund_nav", ""), ("fund_daily", ""), ("fund_adj", "")]
    assert all(service.params(api) == [asked] for api in frames)
    out = out.set_index("date")
    # shares in units, exactly the SSE figures (万份 x 1e4)
    assert np.allclose(out["shares"], real_510310["shares_100m"] * 1e8, rtol=1e-12)
    splits = out.loc[out["split_ratio"] != 1.0, "split_ratio"]
    assert list(splits.index) == [SPLIT_DAY]
    assert splits[SPLIT_DAY] == pytest.approx(RATIO, rel=0.005)
    # the split row is post-split: close and nav 1.599 / ratio (canonical 3.1994)
    assert out.loc[SPLIT_DAY, "close"] == pytest.approx(1.599 / splits[SPLIT_DAY], rel=1e-12)
    assert out.loc[SPLIT_DAY, "close"] == pytest.approx(3.1994, rel=5e-4)
    assert out.loc[SPLIT_DAY, "nav"] == out.loc[SPLIT_DAY, "close"]
    assert out.loc[PRICE_DAY, "close"] == 3.213
    assert any("restated" in n for n in client.notes)

    # M1 on the fetched table: no flow above 50 亿元 on 09-20 or 09-23 under either split-day rule
    wide = {c: out[[c]].rename(columns={c: code}) for c in ("shares", "nav", "split_ratio")}
    for rule in ("zero", "adjusted"):
        flow = etf_flows(wide["shares"], wide["nav"], wide["split_ratio"], split_day=rule)[code]
        assert abs(flow[SPLIT_DAY]) < TEN_BILLION_YUAN and abs(flow[PRICE_DAY]) < TEN_BILLION_YUAN, rule
    # independently: the adjusted flow of 09-20 is the same-day creation, (623.47 - 1218.64 x r) 亿份 x nav
    prev = real_510310["shares_100m"].shift(1)[SPLIT_DAY] * 1e8
    by_hand = (real_510310.loc[SPLIT_DAY, "shares_100m"] * 1e8 - prev * splits[SPLIT_DAY]) * (1.599 / splits[SPLIT_DAY])
    assert flow[SPLIT_DAY] == pytest.approx(by_hand, rel=1e-9)
    assert 40e8 < by_hand < 50e8
    # and the bug it replaces: without the split, 09-20 reads about -1,904 亿元
    before = real_510310["shares_100m"].shift(1)[SPLIT_DAY]
    no_split = (real_510310.loc[SPLIT_DAY, "shares_100m"] - before) * 1e8 * 3.1994
    assert no_split == pytest.approx(-1.904e11, rel=1e-3)


# ============================================================================ Eastmoney's bond ETFs
@pytest.mark.parametrize("name, fund_type", [
    ("公司债ETF", "指数型-固收"), ("科创债ETF", "指数型-固收"), ("国债ETF", "指数型-固收"),
    ("纳指ETF", "指数型-海外股票"), ("标普500ETF", "QDII-指数"),
])
def test_eastmoney_non_equity_types_are_other(name, fund_type):
    assert DEFAULT_CATEGORY_RULES.categorize(name, fund_type) == "other"


def test_eastmoney_equity_types_unchanged():
    assert DEFAULT_CATEGORY_RULES.categorize("沪深300ETF 沪深300指数收益率", "指数型-股票") == "broad"
    assert DEFAULT_CATEGORY_RULES.categorize("半导体ETF 中证全指半导体产品与设备指数收益率", "指数型-股票") \
        == "sector_theme"


# ============================================================================ a file with the split on the price day
def test_a_file_recording_the_split_on_the_price_day_is_refused(real_data_dir, tmp_path):
    """The canonical etf_daily with 510310's ratio moved from 09-20 (shares' day) to 09-23 (price day): the
    load stops naming the row and the shares' day (M1 would read the 09-20 halving as an outflow)."""
    from xladdin.data.loaders import load_market
    from xladdin.errors import ValidationFailed
    for name in ("etf_info", "index_daily"):
        (tmp_path / f"{name}.csv").write_bytes((real_data_dir / f"{name}.csv").read_bytes())
    daily = pd.read_csv(real_data_dir / "etf_daily.csv")
    assert not any("split_ratio" in w for w in load_market(real_data_dir, log_warnings=False).warnings)
    is_etf = daily["etf"] == "510310.SH"
    daily.loc[is_etf & (daily["date"] == "2024-09-20"), "split_ratio"] = 1.0
    daily.loc[is_etf & (daily["date"] == "2024-09-23"), "split_ratio"] = RATIO
    daily.to_csv(tmp_path / "etf_daily.csv", index=False)
    line = int(np.flatnonzero((is_etf & (daily["date"] == "2024-09-23")).to_numpy())[0]) + 2
    shares = daily[is_etf].set_index("date")["shares"]
    moved = shares["2024-09-23"] / shares["2024-09-20"]  # 09-20 is the trading day before 09-23
    with pytest.raises(ValidationFailed) as err:
        load_market(tmp_path, log_warnings=False)
    assert err.value.issues == [
        f"etf_daily.csv row {line}: split_ratio 0.499776 of 510310.SH on 2024-09-23, but its shares moved by {moved:.4g}x: "
        "they moved by it on 2024-09-20: record the split on the shares' day (with post-split nav and close there) "
        "(M1 would set that day's flow to 0)"]
