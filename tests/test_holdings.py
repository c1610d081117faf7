"""M6 penetration of stock-ETF holdings: a hand-built market, then the real CSI 300 data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data.market import Market
from xladdin.methods import holdings as h


def _toy_market() -> Market:
    dates = pd.bdate_range("2024-01-22", "2024-04-05")
    etfs = {  # etf: (category, index, shares, nav)
        "E1.SH": ("broad", "IDX_A", 100.0, 2.0),
        "E2.SH": ("sector_theme", "IDX_A", 50.0, 1.0),
        "E3.SZ": ("strategy_style", "IDX_B", 200.0, 1.5),
        "E4.SH": ("other", "IDX_A", 1000.0, 1.0),
        "E5.SZ": ("broad", "IDX_C", 10.0, 1.0),
    }
    info = pd.DataFrame([{"etf": e, "name": e, "tracked_index": v[1], "category": v[0], "list_date": pd.NaT}
                         for e, v in etfs.items()])
    rows = []
    for e, (_, _, sh, nav) in etfs.items():
        s = pd.Series(sh, index=dates)
        if e == "E2.SH":
            s[s.index >= "2024-03-04"] = 60.0
        if e == "E1.SH":
            s[s.index >= "2024-04-01"] = 105.0
        rows.append(pd.DataFrame({"date": dates, "etf": e, "shares": s.to_numpy(), "nav": nav, "close": nav,
                                  "split_ratio": 1.0}))
    daily = pd.concat(rows, ignore_index=True)
    w = pd.DataFrame([
        ("2024-01-31", "IDX_A", "s1", 0.5), ("2024-01-31", "IDX_A", "s2", 0.3), ("2024-01-31", "IDX_A", "s4", 0.2),
        ("2024-03-29", "IDX_A", "s1", 0.2), ("2024-03-29", "IDX_A", "s2", 0.8),
        ("2024-01-31", "IDX_B", "s2", 0.4), ("2024-01-31", "IDX_B", "s3", 0.6),
    ], columns=["date", "index", "stock", "weight"])
    w["date"] = pd.to_datetime(w["date"])
    si = pd.DataFrame({"stock": ["s1", "s2", "s3", "s5"], "industry": ["I1", "I2", "I3", "I4"],
                       "industry_name": ["一", "二", "三", "四"]})
    close = pd.DataFrame({"date": np.repeat(dates, 4), "industry": np.tile(["I1", "I2", "I3", "I4"], len(dates)),
                          "close": np.tile([1.0, 2.0, 3.0, 4.0], len(dates))})
    close.loc[(close["date"] >= "2024-03-04") & (close["industry"] == "I1"), "close"] = 1.1
    return Market({"etf_info": info, "etf_daily": daily, "index_weights": w, "stock_industry": si,
                   "industry_daily": close}, source="toy")


def test_stock_holdings_hand():
    m = _toy_market()
    s = h.etf_stock_holdings(m, "W")
    assert s.loc["2024-01-26"].isna().all()  # before the first weight snapshot
    feb2 = s.loc["2024-02-02"]
    assert feb2["s1"] == pytest.approx(250 * 0.5)
    assert feb2["s2"] == pytest.approx(250 * 0.3 + 300 * 0.4)
    assert feb2["s3"] == pytest.approx(300 * 0.6)
    assert feb2["s4"] == pytest.approx(250 * 0.2)
    # February has no snapshot: January's weights carried forward; E2 created 10 units on 03-04
    assert s.loc["2024-03-08", "s1"] == pytest.approx(260 * 0.5)
    # the 03-29 snapshot applies on its own date
    assert s.loc["2024-03-29", "s1"] == pytest.approx(260 * 0.2)
    assert s.loc["2024-03-29", "s2"] == pytest.approx(260 * 0.8 + 300 * 0.4)
    assert s.loc["2024-03-29", "s4"] == 0.0


def test_industry_holdings_level_and_universe():
    m = _toy_market()
    ind = h.industry_holdings(m, "W")
    assert list(ind.columns) == ["I1", "I2", "I3", "I4"]
    row = ind.loc["2024-02-02"]
    assert row.tolist() == pytest.approx([125.0, 195.0, 180.0, 0.0])  # s4 (no industry) not allocated
    lvl = h.holding_level(ind)
    assert lvl.loc["2024-02-02"].tolist() == pytest.approx([125 / 500, 195 / 500, 180 / 500, 0.0])
    assert lvl.dropna(how="all").sum(axis=1).to_numpy() == pytest.approx(1.0)
    # the market form computes the same level from the market: checked against the hand values, not itself
    assert h.holding_level(m, "W").loc["2024-02-02"].tolist() == pytest.approx([125 / 500, 195 / 500, 180 / 500, 0.0])
    monthly = h.industry_holdings(m, "M")
    assert list(monthly.index.strftime("%Y-%m-%d")) == ["2024-01-31", "2024-02-29", "2024-03-29", "2024-04-05"]
    assert monthly.loc["2024-04-05", "I1"] == pytest.approx((210 + 60) * 0.2)
    chg = h.holding_change(h.holding_level(monthly))
    assert chg.loc["2024-02-29"].abs().max() == pytest.approx(0.0)


def test_industry_flows_hand():
    m = _toy_market()
    f = h.industry_flows(m, "W")
    wk = f.loc["2024-03-08"]
    assert wk.tolist() == pytest.approx([10 * 0.5, 10 * 0.3, 0.0, 0.0])
    assert f.loc["2024-04-05"].tolist() == pytest.approx([10 * 0.2, 10 * 0.8, 0.0, 0.0])
    assert f.loc["2024-02-16"].abs().sum() == 0.0
    daily = h.industry_flows(m, "D")
    assert daily.loc["2024-03-04", "I1"] == pytest.approx(5.0)
    monthly = h.industry_flows(m, "M")
    assert monthly.loc["2024-03-29"].sum() == pytest.approx(8.0)
    t = h.flow_table(m, "2024-03-04", "2024-03-08")
    assert t.index[0] == "I1" and t.loc["I1", "net_flow_yi"] == pytest.approx(5.0 / 1e8)
    assert t.loc["I1", "industry_return"] == pytest.approx(0.1) and t.loc["I1", "name"] == "一"


def test_coverage_diagnostics():
    m = _toy_market()
    c = h.penetration_coverage(m, "W")
    row = c.loc["2024-02-02"]
    assert row["etf_size"] == pytest.approx(200 + 50 + 300 + 10)  # E4 ("other") excluded
    assert row["penetrated_size"] == pytest.approx(550)
    assert row["industry_coverage"] == pytest.approx((250 * 0.8 + 300) / 550)
    assert row["etfs_without_weights"] == "E5.SZ"
    assert row["weight_age_days"] == 2
    assert c.loc["2024-01-26", "penetrated_size"] == 0
    assert "E1.SH" in c.loc["2024-01-26", "etfs_without_weights"]
    # a max age drops stale snapshots: IDX_B's January weights are 57 days old on 03-29
    s = h.etf_stock_holdings(m, "W", max_age_days=30)
    assert s.loc["2024-03-29", "s3"] == 0.0 and s.loc["2024-03-29", "s1"] == pytest.approx(52.0)


def test_penetrate_errors_and_categories():
    m = _toy_market()
    with pytest.raises(ValueError, match="weight"):
        h.penetrate(pd.DataFrame({"IDX_A": [1.0]}, index=pd.to_datetime(["2024-02-01"])),
                    pd.DataFrame({"date": [], "index": [], "stock": []}))
    with pytest.raises(ValueError, match="no ETF"):
        h.stock_etfs(m, categories=("nothing",))
    with pytest.raises(ValueError, match="freq"):
        h.holding_dates(pd.bdate_range("2024-01-01", periods=3), "Q")


# ----------------------------------------------------------------------------- real data
def test_real_csi300_penetration(real_market):
    m = real_market
    ind = h.industry_holdings(m, "W", end="2025-12-31")
    lvl = h.holding_level(ind)
    valid = lvl.dropna(how="all")
    assert len(valid) > 500
    assert valid.sum(axis=1).to_numpy() == pytest.approx(1.0)
    # direct check on one week: 4 CSI 300 ETFs x the 2021-06-30 snapshot
    day = pd.Timestamp("2021-07-02")
    daily = m.table("etf_daily")
    d = daily[(daily["date"] == day) & daily["etf"].isin(m.etfs_tracking("000300.SH"))]
    size = float((d["shares"] * d["nav"]).sum())
    w = m.index_weights("000300.SH")
    snap = w[w["date"] == w.loc[w["date"] <= day, "date"].max()].copy()
    snap["industry"] = snap["stock"].map(m.stock_industry["industry"])
    expected = snap.groupby("industry")["weight"].sum() * size
    got = ind.loc[day, expected.index]
    assert got.to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-9)
    cov = h.penetration_coverage(m, "W", end="2025-12-31")
    assert cov.loc[day, "industry_coverage"] == pytest.approx(0.99, abs=0.01)
    assert cov.loc[day, "etfs_without_weights"] == "159915.SZ"  # ChiNext: no weights in the data
    # weekly industry flows add up to the CSI 300 ETF flow times the classified weight
    f = h.industry_flows(m, "W", start="2021-05-24", end="2021-05-28")
    from xladdin.methods.flows import index_flow
    direct = index_flow(m, "000300.SH").loc["2021-05-24":"2021-05-28"]
    may = w[w["date"] == w.loc[w["date"] <= pd.Timestamp("2021-05-24"), "date"].max()].copy()
    assert may["date"].max() >= pd.Timestamp("2021-05-01")  # no snapshot change inside the week
    classified = may.loc[may["stock"].map(m.stock_industry["industry"]).notna(), "weight"].sum()
    assert f.sum(axis=1).iloc[0] == pytest.approx(direct.sum() * classified, rel=1e-9)


def test_penetrate_snapshot_by_hand():
    from xladdin.methods.holdings import penetrate_snapshot
    sizes = pd.Series({"A": 100.0, "B": 50.0})
    w = pd.DataFrame({"code": ["A", "A", "B", "B"], "stock": ["s1", "s2", "s2", "s3"], "weight": [0.6, 0.4, 0.5, 0.5]})
    si = pd.Series({"s1": "I1", "s2": "I2"})  # s3 has no industry
    table, lost = penetrate_snapshot(sizes, w, si)
    assert table.loc["I1", "amount"] == pytest.approx(60.0)
    assert table.loc["I2", "amount"] == pytest.approx(40.0 + 25.0)
    assert table["level"].sum() == pytest.approx(1.0)
    assert table.loc["I1", "level"] == pytest.approx(60.0 / 125.0)
    assert lost == pytest.approx(25.0)
    with pytest.raises(ValueError, match="sum to 1.5"):
        penetrate_snapshot(sizes, w.assign(weight=[0.9, 0.6, 0.5, 0.5]), si)
    with pytest.raises(ValueError, match="code C has no rows"):
        penetrate_snapshot(pd.Series({"C": 1.0}), w, si)


def _penetrate_by_joins(amounts, weights, code="stock", max_age_days=None):
    """The M6 penetration written the direct way (stack, as-of join, join, grouped sum): the reference
    the matrix implementation of :func:`holdings.penetrate` must reproduce."""
    long = amounts.rename_axis(index="date", columns="index").stack().rename("amount").reset_index()
    long = long[long["amount"].notna()]
    codes = sorted(weights[code].unique())
    out_index = pd.DatetimeIndex(amounts.index, name="date")
    if long.empty or weights.empty:
        return pd.DataFrame(np.nan, index=out_index, columns=pd.Index(codes, name=code))
    snaps = weights[["index", "date"]].drop_duplicates().rename(columns={"date": "snapshot"}).sort_values("snapshot")
    long["date"] = long["date"].astype("datetime64[ns]")
    snaps["snapshot"] = snaps["snapshot"].astype("datetime64[ns]")
    matched = pd.merge_asof(long.sort_values("date"), snaps, left_on="date", right_on="snapshot", by="index",
                            direction="backward")
    if max_age_days is not None:
        matched = matched[(matched["date"] - matched["snapshot"]).dt.days <= max_age_days]
    matched = matched.dropna(subset=["snapshot"])
    w = weights[["date", "index", code, "weight"]].rename(columns={"date": "snapshot"})
    joined = matched.merge(w, on=["index", "snapshot"], how="inner")
    joined["value"] = joined["amount"] * joined["weight"]
    wide = joined.pivot_table(index="date", columns=code, values="value", aggfunc="sum")
    wide = wide.reindex(index=out_index, columns=codes)
    done = wide.index.isin(pd.DatetimeIndex(matched["date"].unique()))
    wide.loc[done] = wide.loc[done].fillna(0.0)
    wide.columns.name = code
    return wide.astype(float)


@pytest.mark.parametrize("seed", range(6))
def test_penetrate_equals_the_join_formulation(seed):
    """Random markets: irregular snapshots per index, constituents entering and leaving, a stock
    listed twice in one snapshot, NaN amounts, an index without weights, dates before the first
    snapshot, with and without a maximum snapshot age."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2020-01-01", periods=120)
    indices = [f"IX{i}" for i in range(4)]
    stocks = [f"{i:06d}.SZ" for i in range(30)]
    rows = []
    for ix in indices[:3]:
        snaps = sorted(rng.choice(days[10:], size=rng.integers(1, 6), replace=False))
        for d in snaps:
            members = rng.choice(stocks, size=rng.integers(3, 12), replace=False)
            w = rng.random(len(members))
            for s, x in zip(members, w / w.sum()):
                rows.append((d, ix, s, x))
    rows.append((rows[0][0], rows[0][1], rows[0][2], 0.01))  # the same stock twice in one snapshot
    weights = pd.DataFrame(rows, columns=["date", "index", "stock", "weight"])
    amounts = pd.DataFrame(rng.normal(size=(len(days), len(indices))) * 1e8, index=days, columns=indices)
    amounts[amounts.abs() < 2e7] = np.nan
    for max_age in (None, 25):
        got = h.penetrate(amounts, weights, "stock", max_age)
        want = _penetrate_by_joins(amounts, weights, "stock", max_age)
        pd.testing.assert_frame_equal(got, want, rtol=1e-12, atol=1e-3)
        assert got.isna().all(axis=1).sum() == want.isna().all(axis=1).sum() > 0
    iw = h.industry_weights(weights, pd.Series({s: f"IND{int(s[:6]) % 5}" for s in stocks[:25]}))[0]
    pd.testing.assert_frame_equal(h.penetrate(amounts, iw, "industry"), _penetrate_by_joins(amounts, iw, "industry"),
                                  rtol=1e-12, atol=1e-3)


def test_industry_weight_rows_equal_the_pandas_grouping(sample_market):
    """The integer-key sum (dense bincount, with or without the market's shared codes) equals the
    plain pandas grouping of the docstring, row for row and bit for bit."""
    from xladdin.data.views import shared, table_codes
    weights = sample_market.table("index_weights")
    si = sample_market.stock_industry["industry"].iloc[:-40]  # some stocks without an industry
    w = weights[["date", "index", "stock", "weight"]].copy()
    w["industry"] = w["stock"].map(si)
    want = w.dropna(subset=["industry"]).groupby(["date", "index", "industry"], sort=True)["weight"].sum().reset_index()
    got = h._industry_weight_rows(weights, si)
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
    with shared(sample_market):
        got2 = h._industry_weight_rows(weights, si, lambda c: table_codes(sample_market, "index_weights", c))
    pd.testing.assert_frame_equal(got2, want, check_exact=True, check_dtype=False)
