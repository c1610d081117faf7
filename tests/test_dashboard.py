"""M13: weekly fund-flow dashboard (percentiles, northbound / margin aggregation, flags, WoW)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data.calendar import week_ends
from xladdin.data.market import Market
from xladdin.methods.dashboard import (
    northbound_daily_net_buying,
    realised_volatility,
    trailing_percentile,
    weekly_dashboard,
    weekly_metrics,
    weekly_sum,
)
from xladdin.methods.flows import market_etf_flows


# ------------------------------------------------------------------------------------------ builder
@pytest.fixture(scope="module")
def market(make_dashboard_market):
    """conftest.dashboard_market: 3 industries x 2 stocks, 2 broad indices, 3 ETFs (the CLI tests use it too)."""
    return make_dashboard_market()


# ------------------------------------------------------------------------------------------ percentiles
def _hand_percentile(x: list[float], window: int, minp: int) -> list[float]:
    out = []
    for t, v in enumerate(x):
        win = [u for u in x[max(0, t - window + 1):t + 1] if not np.isnan(u)]
        if np.isnan(v) or len(win) < minp:
            out.append(np.nan)
        else:
            out.append(sum(u <= v for u in win) / len(win))
    return out


def test_trailing_percentile_by_hand():
    x = [5.0, 3.0, np.nan, 4.0, 4.0, 9.0, 1.0, 4.0]
    got = trailing_percentile(pd.Series(x), window=4, min_periods=2).tolist()
    # e.g. t=4: window [3, nan, 4, 4] -> 3 values, all <= 4 -> 1; t=7: [4, 9, 1, 4] -> 3/4
    want = [np.nan, 0.5, np.nan, 2 / 3, 1.0, 1.0, 0.25, 0.75]   # t=6: [4, 4, 9, 1] -> 1/4
    np.testing.assert_allclose(got, want, equal_nan=True)
    np.testing.assert_allclose(got, _hand_percentile(x, 4, 2), equal_nan=True)
    # default min_periods = window: a full window is required
    full = trailing_percentile(pd.Series(x), window=4).tolist()
    np.testing.assert_allclose(full, [np.nan] * 6 + [0.25, 0.75], equal_nan=True)


def test_trailing_percentile_frame_random_against_loop():
    rng = np.random.default_rng(7)
    df = pd.DataFrame(rng.integers(0, 6, (60, 3)).astype(float), columns=list("abc"))
    df = df.mask(rng.random((60, 3)) < 0.1)
    got = trailing_percentile(df, window=13, min_periods=5)
    assert got.shape == df.shape and list(got.columns) == list("abc")
    for c in df:
        np.testing.assert_allclose(got[c].to_numpy(), _hand_percentile(df[c].tolist(), 13, 5), equal_nan=True)
    with pytest.raises(ValueError, match="window"):
        trailing_percentile(df, window=0)
    with pytest.raises(ValueError, match="min_periods"):
        trailing_percentile(df, window=3, min_periods=4)


def test_realised_volatility_matches_numpy():
    rng = np.random.default_rng(2)
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 40))))
    vol = realised_volatility(close, window=20)
    r = close.to_numpy()[1:] / close.to_numpy()[:-1] - 1
    assert vol.iloc[-1] == pytest.approx(np.std(r[-20:], ddof=1) * np.sqrt(252))
    assert vol.iloc[:20].isna().all() and vol.iloc[20:].notna().all()


# ------------------------------------------------------------------------------------------ northbound
def test_northbound_net_buying_by_hand():
    days = pd.to_datetime(["2024-08-14", "2024-08-15", "2024-08-16", "2024-08-19", "2024-08-20"])
    close = pd.DataFrame({"A": [10.0, 11.0, 12.0, 13.0, 14.0], "B": [5.0, 5.0, 5.0, 5.0, 5.0]}, index=days)
    held = pd.DataFrame({"A": [100.0, 150.0, 120.0], "B": [10.0, np.nan, 30.0]}, index=days[:3])
    out = northbound_daily_net_buying(held, close)
    assert np.isnan(out.iloc[0]).all()                              # no previous holdings
    assert out.loc["2024-08-15", "A"] == pytest.approx(50 * 11.0)
    assert out.loc["2024-08-15", "B"] == pytest.approx(-10 * 5.0)    # missing row = 0 shares
    assert out.loc["2024-08-16", "B"] == pytest.approx(30 * 5.0)
    assert out.loc["2024-08-19":].isna().all().all()                # holdings no longer daily


def test_weekly_sum_complete_flag():
    days = pd.bdate_range("2024-01-01", "2024-01-12")
    daily = pd.DataFrame({"x": np.arange(10.0)}, index=days)
    daily.iloc[3] = np.nan
    ends = week_ends(days)
    assert weekly_sum(daily, ends)["x"].tolist() == [0 + 1 + 2 + 4, 5 + 6 + 7 + 8 + 9]
    assert np.isnan(weekly_sum(daily, ends, complete=True)["x"].iloc[0])


# ------------------------------------------------------------------------------------------ dashboard
def test_industry_margin_and_turnover_by_hand(market):
    d = weekly_dashboard(market, asof="2023-06-14")
    assert d["summary"].loc["week_end", "value"] == "2023-06-14"       # partial week cut at asof
    assert d["summary"].loc["trading_days_in_week", "value"] == 3
    md = market.table("margin_daily")
    sd = market.table("stock_daily")
    bal = md.pivot(index="date", columns="stock", values="financing_balance")
    want = (bal.loc["2023-06-14"] - bal.loc["2023-06-09"])[["600001.SH", "600002.SH"]].sum()
    row = d["industry"].loc["I1"]
    assert row["margin_net_buy"] == pytest.approx(want)
    wk = (sd.date >= "2023-06-12") & (sd.date <= "2023-06-14") & sd.stock.isin(["600001.SH", "600002.SH"])
    turnover = sd.loc[wk, "amount"].sum()
    assert row["turnover"] == pytest.approx(turnover)
    fb = md.loc[(md.date >= "2023-06-12") & (md.date <= "2023-06-14") & md.stock.isin(["600001.SH", "600002.SH"]),
                "financing_buy"].sum()
    assert row["financing_buy_share"] == pytest.approx(fb / turnover)
    assert row["margin_net_buy_share"] == pytest.approx(want / turnover)
    # broad index: sum over its constituents (000300.SH = first four stocks)
    csi300 = ["600001.SH", "600002.SH", "000003.SZ", "000004.SZ"]
    want_idx = (bal.loc["2023-06-14"] - bal.loc["2023-06-09"])[csi300].sum()
    assert d["broad_index"].loc["000300.SH", "margin_net_buy"] == pytest.approx(want_idx)
    assert d["industry"].loc["I1", "name"] == "银行"


def test_northbound_week_by_hand_and_nan_after_quarterly(market):
    d = weekly_dashboard(market, asof="2023-06-16")
    nb = market.table("northbound_holdings")
    held = nb.pivot(index="date", columns="stock", values="shares_held").fillna(0.0)
    close = market.table("stock_daily").pivot(index="date", columns="stock", values="close")
    days = close.loc["2023-06-12":"2023-06-16"].index
    want = 0.0
    for t in days:
        prev = close.index[close.index.get_loc(t) - 1]
        dh = held.loc[t, ["000003.SZ", "000004.SZ"]] - held.loc[prev, ["000003.SZ", "000004.SZ"]]
        want += (dh * close.loc[t, ["000003.SZ", "000004.SZ"]]).sum()
    assert d["industry"].loc["I2", "northbound_net_buy"] == pytest.approx(want)
    late = weekly_dashboard(market, asof="2025-03-12")
    assert late["industry"]["northbound_net_buy"].isna().all()
    assert late["broad_index"]["northbound_net_buy"].isna().all()
    assert late["notes"]["note"].str.contains("2024-08-16").any()
    last_held = max(d for d in nb["date"] if d <= pd.Timestamp("2025-03-12"))  # a quarter end, not the table's end
    assert last_held != nb["date"].max() and last_held != pd.Timestamp("2024-08-16")
    assert late["notes"]["note"].str.contains(f"last holdings date {last_held:%Y-%m-%d}").any()
    assert not late["top_buys"]["source"].eq("northbound").any()


def test_heat_and_volatility_percentiles_and_flags(market):
    asof = "2024-03-08"
    d = weekly_dashboard(market, asof=asof, heat_years=1.0, min_years=0.5)
    sd = market.table("stock_daily")
    sd = sd[sd.date <= asof]
    amt = sd[sd.stock.isin(["300005.SZ", "300006.SZ"])].groupby("date")["amount"].sum()
    ends = week_ends(amt.index)
    lab = ends[ends.searchsorted(amt.index)]
    avg = amt.groupby(lab).mean()                       # average daily turnover per week
    want = _hand_percentile(avg.tolist(), 52, 26)[-1]
    assert d["industry"].loc["I3", "heat_pct"] == pytest.approx(want)
    ind = market.industry_close()["I3"].loc[:asof]
    vol = realised_volatility(ind, 20)
    wv = vol.groupby(ends[ends.searchsorted(vol.index)]).last()
    assert d["industry"].loc["I3", "volatility"] == pytest.approx(vol.iloc[-1])
    assert d["industry"].loc["I3", "vol_pct"] == pytest.approx(_hand_percentile(wv.tolist(), 52, 26)[-1])
    t = d["industry"]
    assert (t["heat_flag"] == (t["heat_pct"] > 0.9)).all() and (t["vol_flag"] == (t["vol_pct"] > 0.8)).all()
    flagged = set(d["flags"].query("level == 'industry' and flag == 'heat'")["code"])
    assert flagged == set(t.index[t["heat_flag"]])
    low = weekly_dashboard(market, asof=asof, heat_years=1.0, min_years=0.5, heat_flag=0.0, vol_flag=0.0)
    assert low["industry"]["heat_flag"].all() and low["industry"]["vol_flag"].all()


@pytest.mark.parametrize("asof", ["2022-09-30", "2024-09-27"])  # the later one past the stock window (158 weeks):
def test_etf_subscriptions_and_week_over_week(market, asof):       # only its weeks' days are penetrated
    d = weekly_dashboard(market, asof=asof, unit=1e8)
    flows = market_etf_flows(market)
    end = pd.Timestamp(asof)
    wk = flows.loc[end - pd.Timedelta(days=4):end].sum()
    prev = flows.loc[end - pd.Timedelta(days=11):end - pd.Timedelta(days=7)].sum()
    bi = d["broad_index"]
    assert bi.loc["000300.SH", "etf_total"] == pytest.approx((wk["510300.SH"] + wk["512890.SH"]) / 1e8)
    assert bi.loc["000300.SH", "etf_broad"] == pytest.approx(wk["510300.SH"] / 1e8)
    assert bi.loc["000300.SH", "n_etfs"] == 2
    cat = d["etf_category"]
    assert cat.loc["sector_theme", "this_week"] == pytest.approx(wk["512880.SH"] / 1e8)
    assert cat.loc["total", "change"] == pytest.approx((wk.sum() - prev.sum()) / 1e8)
    chg = d["broad_index_change"]
    prev_d = weekly_dashboard(market, asof=end - pd.Timedelta(days=7), unit=1e8)
    assert chg.loc["000300.SH", "etf_total"] == pytest.approx(
        bi.loc["000300.SH", "etf_total"] - prev_d["broad_index"].loc["000300.SH", "etf_total"])
    # industry subscriptions (M6 penetration): the industries of the 000300.SH ETFs add up to them
    ind = d["industry"]
    assert ind["etf_broad"].sum() == pytest.approx(wk["510300.SH"] / 1e8)
    assert ind.loc[["I1", "I2"], "etf_strategy"].sum() == pytest.approx(wk["512890.SH"] / 1e8)
    assert ind.loc["I3", "etf_sector_theme"] == pytest.approx(wk["512880.SH"] / 1e8)
    assert ind["etf_total"].sum() == pytest.approx(wk.sum() / 1e8)
    # top lists are sorted and signed
    tb, ts = d["top_buys"], d["top_sells"]
    for _src, g in tb.groupby("source"):
        assert (g["net_buy"] > 0).all() and g["net_buy"].is_monotonic_decreasing
    for _src, g in ts.groupby("source"):
        assert (g["net_buy"] < 0).all() and g["net_buy"].is_monotonic_increasing


def test_missing_tables_give_nan_and_notes(market):
    slim = Market({k: v for k, v in market.tables.items() if k in ("etf_info", "etf_daily", "index_daily")})
    d = weekly_dashboard(slim, asof="2023-06-16")
    assert d["industry"].empty or d["industry"]["margin_net_buy"].isna().all()
    assert d["broad_index"]["margin_net_buy"].isna().all()
    assert d["broad_index"]["etf_total"].notna().all()
    notes = " ".join(d["notes"]["note"])
    assert "stock_daily missing" in notes and "margin_daily missing" in notes and "M6 penetration" in notes


def test_weekly_metrics_history_shape(market):
    m = weekly_metrics(market, asof="2021-12-31")
    ends = m["week_ends"]
    assert ends[-1] == pd.Timestamp("2021-12-31")
    for key in ("return", "heat_pct", "vol_pct", "margin_net_buy"):
        assert m["industry"][key].index.equals(ends)
        assert list(m["industry"][key].columns) == ["I1", "I2", "I3"]
    assert m["window_weeks"] == 156 and m["min_weeks"] == 52


def test_real_data_dashboard(real_market):
    d = weekly_dashboard(real_market, asof="2021-06-11", unit=1e8)
    bi = d["broad_index"]
    assert set(bi.index) == {"000300.SH", "399006.SZ"}
    flows = market_etf_flows(real_market)
    wk = flows.loc["2021-06-07":"2021-06-11"]
    want = wk[real_market.etfs_tracking("000300.SH")].sum().sum() / 1e8
    assert bi.loc["000300.SH", "etf_total"] == pytest.approx(want)
    assert bi["volatility"].notna().all() and bi["vol_pct"].between(0, 1).all()
    assert bi["northbound_net_buy"].isna().all() and bi["heat_pct"].isna().all()
    notes = " ".join(d["notes"]["note"])
    assert "northbound_holdings missing" in notes and "stock_daily missing" in notes


def test_dashboard_leaves_out_weights_past_their_currency(market):
    """Weights cut after the 2022-06-30 snapshot are current to 2022-08-31 (two months on): the week of
    2022-09-30 gets no industry ETF subscriptions and no index stock columns (blank, noted), the week of
    2022-08-26 still gets them; a week past a daily table's last row is not computed."""
    w = market.tables["index_weights"]
    cut = Market(dict(market.tables) | {"index_weights": w[w["date"] <= "2022-06-30"].reset_index(drop=True)})
    late = weekly_dashboard(cut, asof="2022-09-30", unit=1e8)
    assert late["industry"]["etf_total"].isna().all() and late["broad_index"]["margin_net_buy"].isna().all()
    assert late["broad_index"]["etf_total"].notna().all()  # from etf_info alone
    assert "index_weights end 2022-06-30, current to 2022-08-31: not used for the week of 2022-09-30" \
        in " ".join(late["notes"]["note"])
    early = weekly_dashboard(cut, asof="2022-08-26", unit=1e8)
    flows = market_etf_flows(market)
    assert early["industry"]["etf_total"].sum() == pytest.approx(flows.loc["2022-08-22":"2022-08-26"].sum().sum() / 1e8)
    idx = market.tables["index_daily"]
    short = Market(dict(market.tables) | {"index_daily": idx[idx["date"] <= "2025-06-20"].reset_index(drop=True)})
    assert weekly_dashboard(short)["summary"].loc["week_end", "value"] == "2025-06-20"
    assert weekly_dashboard(short)["summary"].loc["effective_end_limit", "value"] == "index_daily end 2025-06-20"
    with pytest.raises(ValueError, match="2025-06-27 is not computed: index_daily end 2025-06-20"):
        weekly_dashboard(short, asof="2025-06-27")


def test_dashboard_command_on_real_data_names_its_limits(real_data_dir, capsys):
    """etf_daily runs to 2026-08-21, the index and industry closes to 2025-12-31: the week of 2025-12-31; the
    CSI 300 weights (2024-10-08, current to 2024-12-08) are not used for it."""
    from xladdin.ops.cli import main
    assert main(["dashboard", "--data", str(real_data_dir)]) == 0
    out = capsys.readouterr().out
    assert "week ending 2025-12-31" in out and "Ends where its inputs do: index_daily end 2025-12-31." in out
    assert "note: index_weights end 2024-10-08, current to 2024-12-08: not used for the week of 2025-12-31" in out
    assert main(["dashboard", "--data", str(real_data_dir), "--asof", "2026-08-21"]) == 1
    assert "2026-08-21 is not computed: index_daily end 2025-12-31" in capsys.readouterr().err
