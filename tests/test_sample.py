"""The embedded sample market (xladdin.data.sample), its trading calendar and the ``xladdin sample`` command."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import nnls

from xladdin.data import load_market, validate_market
from xladdin.data.calendar import holidays, month_ends, quarter_ends, trading_days, week_ends
from xladdin.data.sample import NORTHBOUND_DAILY_UNTIL, generate_market, sample_market as make_sample
from xladdin.data.schema import TABLES


# ----------------------------------------------------------------------------- calendar
def test_calendar_known_holidays_and_counts():
    days = trading_days("2024-01-01", "2024-12-31")
    for closed in ["2024-01-01", "2024-02-09", "2024-02-12", "2024-02-16", "2024-04-04", "2024-05-01",
                   "2024-05-03", "2024-06-10", "2024-09-17", "2024-10-01", "2024-10-07", "2024-01-06"]:
        assert pd.Timestamp(closed) not in days, closed
    for open_ in ["2024-01-02", "2024-02-08", "2024-02-19", "2024-04-03", "2024-10-08", "2024-12-31"]:
        assert pd.Timestamp(open_) in days, open_
    counts = pd.Series(1, index=trading_days("2016-01-01", "2025-12-31")).groupby(lambda d: d.year).sum()
    assert counts.between(238, 247).all(), counts
    assert days.dtype == "datetime64[ns]" and days.is_monotonic_increasing


def test_calendar_is_the_exchange_calendar_of_the_real_data(real_data_dir):
    """Every CSI 300 close date of the real data 2015-2025 (an independent record of the sessions) is a
    trading day, and no other day is: make-up and bridge closures included (e.g. 2025-10-08)."""
    raw = pd.read_csv(real_data_dir / "index_daily.csv", usecols=["date", "index"], parse_dates=["date"])
    real = pd.DatetimeIndex(sorted(raw.loc[raw["index"] == "000300.SH", "date"]))
    real = real[(real >= "2015-01-01") & (real <= "2025-12-31")]
    assert trading_days("2015-01-01", "2025-12-31").equals(pd.DatetimeIndex(real, name="date"))
    assert pd.Timestamp("2025-10-08") not in trading_days("2025-10-01", "2025-10-10")
    beyond = trading_days("2027-01-01", "2027-01-08")  # after the years on record: the holiday rules
    assert list(beyond) == list(pd.bdate_range("2027-01-04", "2027-01-08"))


def test_calendar_period_ends_hand_example():
    d = pd.DatetimeIndex(["2024-01-29", "2024-01-31", "2024-02-01", "2024-02-02", "2024-02-05", "2024-03-29",
                          "2024-04-01"])
    assert list(month_ends(d)) == list(pd.DatetimeIndex(["2024-01-31", "2024-02-05", "2024-03-29", "2024-04-01"]))
    assert list(week_ends(d)) == list(pd.DatetimeIndex(["2024-02-02", "2024-02-05", "2024-03-29", "2024-04-01"]))
    assert list(quarter_ends(d)) == list(pd.DatetimeIndex(["2024-03-29", "2024-04-01"]))
    with pytest.raises(ValueError, match="sorted"):
        month_ends(d[::-1])


def test_calendar_rejects_unknown_years():
    with pytest.raises(ValueError, match="2015-2027"):
        holidays(2031)
    with pytest.raises(ValueError, match="before start"):
        trading_days("2024-02-01", "2024-01-01")


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_tables_different_seed_differs():
    a = generate_market("small", seed=7, start="2016-01-01", end="2017-03-31")
    b = generate_market("small", seed=7, start="2016-01-01", end="2017-03-31")
    c = generate_market("small", seed=8, start="2016-01-01", end="2017-03-31")
    assert set(a.tables) == set(TABLES)
    for name in TABLES:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert not a.tables["stock_daily"]["close"].equals(c.tables["stock_daily"]["close"])
    assert not a.tables["etf_daily"]["shares"].equals(c.tables["etf_daily"]["shares"])


def test_sample_market_is_cached(sample_market):
    assert make_sample() is sample_market
    assert sample_market.source == "sample"


def test_bad_scale_message():
    with pytest.raises(ValueError, match="scale `huge` unknown"):
        generate_market("huge")


# ----------------------------------------------------------------------------- schema and validation
def test_every_table_present_typed_and_valid(sample_market):
    assert validate_market(sample_market) == []
    for name, spec in TABLES.items():
        df = sample_market.table(name)
        assert list(df.columns) == list(spec.columns), name
        assert len(df) > 0, name
        for col in spec.columns:
            if col in spec.date_cols:
                assert df[col].dtype == "datetime64[ns]", (name, col)
            elif col in spec.numeric:
                assert df[col].dtype == np.float64, (name, col)
            else:
                assert pd.api.types.is_string_dtype(df[col]), (name, col)
        assert not df.duplicated(list(spec.key)).any(), name
        if spec.sorted_by:
            entity = [c for c in spec.key if c != spec.sorted_by]
            assert df.groupby(entity)[spec.sorted_by].is_monotonic_increasing.all(), name


def test_weights_normalised_at_month_ends_and_cover_every_tracked_index(sample_market):
    w = sample_market.table("index_weights")
    sums = w.groupby(["index", "date"])["weight"].sum()
    assert np.allclose(sums, 1.0, atol=1e-12)
    assert (w["weight"] > 0).all()
    cal = trading_days("2016-01-01", "2026-10-31")
    assert set(w["date"]) <= set(month_ends(cal))
    tracked = set(sample_market.table("etf_info")["tracked_index"])
    assert tracked <= set(w["index"])
    assert tracked <= set(sample_market.table("index_daily")["index"])
    # constituents are stocks of the universe
    assert set(w["stock"]) <= set(sample_market.table("stock_industry")["stock"])
    # CSI 300 / 500 / 1000 are disjoint at each date
    sets = {i: set(zip(w.loc[w["index"] == i, "date"], w.loc[w["index"] == i, "stock"]))
            for i in ["000300.SH", "000905.SH", "000852.SH"]}
    assert not (sets["000300.SH"] & sets["000905.SH"]) and not (sets["000905.SH"] & sets["000852.SH"])


def test_positivity(sample_market):
    for name, spec in TABLES.items():
        df = sample_market.table(name)
        for col in spec.positive:
            vals = df[col].dropna()
            assert (vals > 0).all(), (name, col)
    nb = sample_market.table("northbound_holdings")
    assert nb["float_ratio"].between(0, 1).all()
    assert (sample_market.table("stock_daily")["amount"] > 0).all()


# ----------------------------------------------------------------------------- small-scale content
def test_small_scale_sizes(sample_market):
    si = sample_market.table("stock_industry")
    assert si["industry"].nunique() == 30 and len(si) >= 300
    assert sample_market.industry_names["CI005021.WI"] == "银行"
    assert sample_market.industry_close().shape[1] == 30
    info = sample_market.etf_info
    assert len(info) >= 60
    assert len(sample_market.etfs_tracking("000300.SH")) >= 3
    assert {"broad", "sector_theme", "strategy_style"} <= set(info["category"])
    assert (info["list_date"] > pd.Timestamp("2016-01-04")).sum() >= 20  # staggered listings
    boards = si["stock"].str[:3]
    assert {"600", "000", "300", "688"} <= set(boards) | {b for b in boards if b.startswith("60")}
    for idx in ["000300.SH", "000905.SH", "000852.SH", "399370.SZ", "399371.SZ"]:
        assert len(sample_market.index_close(idx)) > 2000


def test_industry_volume_and_amount_are_the_sums_of_their_stocks(sample_market):
    """industry_daily's traded amount and volume (M14) = the sums, over the industry's stocks with a row in
    stock_daily that day, of amount and of amount / close rounded to whole shares."""
    sd = sample_market.table("stock_daily").merge(sample_market.table("stock_industry"), on="stock")
    sd["shares"] = (sd["amount"] / sd["close"]).round()
    sums = sd.groupby(["date", "industry"])[["amount", "shares"]].sum().rename(columns={"amount": "stock_amount"})
    ind = sample_market.table("industry_daily").set_index(["date", "industry"])
    assert ind[["volume", "amount"]].notna().all().all()
    joined = ind.join(sums, how="left")
    np.testing.assert_allclose(joined["amount"], joined["stock_amount"].round(), rtol=1e-12)
    np.testing.assert_allclose(joined["volume"], joined["shares"], rtol=1e-12)
    assert (joined["volume"] > 0).all()


def test_split_rows_are_post_split(sample_market):
    ed = sample_market.table("etf_daily")
    splits = ed[ed["split_ratio"] != 1]
    assert len(splits) >= 1
    idx = sample_market.etf_info["tracked_index"]
    for row in splits.itertuples():
        s = ed[ed["etf"] == row.etf].set_index("date")
        prev = s.index[s.index.get_loc(row.date) - 1]
        unit_ret = s.at[row.date, "nav"] * row.split_ratio / s.at[prev, "nav"] - 1
        ic = sample_market.index_close(idx[row.etf])
        assert unit_ret == pytest.approx(ic[row.date] / ic[prev] - 1, abs=0.003)
        share_change = s.at[row.date, "shares"] / (s.at[prev, "shares"] * row.split_ratio) - 1
        assert abs(share_change) < 0.3


def test_missing_navs_present(sample_market):
    ed = sample_market.table("etf_daily")
    missing = ed[ed["nav"].isna()]
    assert 1 <= len(missing) <= 20
    assert missing["shares"].notna().all()


def test_nav_tracks_index_and_close_is_premium(sample_market):
    nav = sample_market.etf_panel("nav", ["510300.SH"])["510300.SH"].dropna()
    ic = sample_market.index_close("000300.SH").reindex(nav.index)
    corr = np.corrcoef(nav.pct_change().dropna(), ic.pct_change().dropna())[0, 1]
    assert corr > 0.99
    ed = sample_market.table("etf_daily").dropna(subset=["nav"])
    prem = ed["close"] / ed["nav"] - 1
    assert prem.abs().median() < 0.002 and prem.abs().max() < 0.1


def test_northbound_daily_then_quarterly(sample_market):
    nb = sample_market.table("northbound_holdings")
    cal = trading_days("2016-01-01", "2026-10-31")
    dates = pd.DatetimeIndex(sorted(nb["date"].unique()))
    before = dates[dates <= NORTHBOUND_DAILY_UNTIL]
    after = dates[dates > NORTHBOUND_DAILY_UNTIL]
    assert list(before) == list(cal[(cal >= before[0]) & (cal <= NORTHBOUND_DAILY_UNTIL)])
    assert len(after) >= 8 and set(after) <= set(quarter_ends(cal))
    sd = sample_market.table("stock_daily").set_index(["date", "stock"])
    j = nb.join(sd, on=["date", "stock"])
    assert np.allclose(j["held_value"], j["shares_held"] * j["close"], rtol=1e-9)
    assert np.allclose(j["float_ratio"], j["shares_held"] / (j["float_mcap"] / j["close"]), rtol=1e-3, atol=1e-7)
    assert nb["stock"].nunique() > 0.5 * sample_market.table("stock_industry").shape[0]


def test_margin_balance_identity(sample_market):
    mg = sample_market.table("margin_daily").sort_values(["stock", "date"])
    prev = mg.groupby("stock")["financing_balance"].shift(1)
    ok = prev.notna()
    lhs = mg["financing_balance"][ok]
    rhs = prev[ok] + mg["financing_buy"][ok] - mg["financing_repay"][ok]
    assert np.array_equal(lhs.to_numpy(), rhs.to_numpy())
    assert (mg["financing_repay"] >= 0).all() and (mg["financing_buy"] > 0).all()
    sd = sample_market.table("stock_daily").set_index(["date", "stock"])
    j = mg.join(sd, on=["date", "stock"])
    share = (j["financing_buy"] / j["amount"]).median()
    assert 0.03 < share < 0.2


def test_active_funds_quarterly_top10_and_navs_explained_by_industries(sample_market):
    h = sample_market.table("active_fund_holdings")
    cal = trading_days("2016-01-01", "2026-10-31")
    assert set(h["report_date"]) <= set(quarter_ends(cal))
    assert (h.groupby(["report_date", "fund"]).size() == 10).all()
    nav = sample_market.panel("fund_nav", "nav")
    assert 40 <= nav.shape[1] <= 100
    # M9's premise: the funds' aggregate return is a non-negative mix of industry returns
    ret = nav.pct_change().mean(axis=1)
    ind = sample_market.industry_close().pct_change()
    window = slice("2020-01-01", "2020-06-30")
    y, X = ret[window].to_numpy(), ind[window].to_numpy()
    coef, resid = nnls(X, y)
    fitted = X @ coef
    r2 = 1 - ((y - fitted) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert r2 > 0.9
    assert 0.7 < coef.sum() < 1.1


def test_issuance_monthly_two_categories(sample_market):
    fi = sample_market.table("fund_issuance")
    assert set(fi["category"]) == {"stock_etf", "active_equity"}
    cal = trading_days("2016-01-01", "2026-10-31")
    assert set(fi["month"]) == set(month_ends(cal))
    assert (fi["new_shares"] > 0).all()
    act = fi[fi["category"] == "active_equity"].set_index("month")["new_shares"]
    assert act["2020-07":"2021-06"].mean() > 3 * act["2023-01":"2024-06"].mean()  # the 2020-21 boom


# ----------------------------------------------------------------------------- behaviour the methods look for
def _csi300_flow_corr(market) -> tuple[pd.Series, pd.Series]:
    from xladdin.methods.flows import index_flow
    flow = index_flow(market, "000300.SH")
    close = market.index_close("000300.SH")
    df = pd.concat([flow.rename("flow"), close.pct_change().rename("ret")], axis=1).dropna()
    return df["flow"].rolling(20).corr(df["ret"]), close


def test_csi300_flow_return_correlation_negative_with_positive_episodes(sample_market):
    corr, close = _csi300_flow_corr(sample_market)
    assert corr.mean() < -0.2
    assert (corr < 0).mean() > 0.7
    assert corr.max() > 0.7
    hot = corr > 0.5
    episodes = (hot & ~hot.shift(1, fill_value=False)).sum()
    assert episodes >= 3
    # M3: after a hot reading the index falls over the next 20 days more often than on an average day
    fwd = (close.shift(-20) / close - 1).reindex(corr.index)
    assert (fwd[hot] < 0).mean() > (fwd < 0).mean() + 0.1


def test_style_ratios_alternate(sample_market):
    ic = sample_market.index_close()
    size = np.log(ic["000300.SH"] / ic["000852.SH"])
    growth = np.log(ic["399370.SZ"] / ic["399371.SZ"])
    # 2017 large caps lead; 2021-02..2024-01 small caps lead; growth leads 2019-2020, value 2021-02..2021-05
    assert size["2017-12-29"] - size["2016-12-30"] > 0.1
    assert size["2023-12-29"] - size["2021-02-19"] < -0.1
    assert growth["2020-12-31"] - growth["2019-01-04"] > 0.1
    assert growth["2021-05-10"] - growth["2021-02-19"] < 0


# ----------------------------------------------------------------------------- full scale (structure only) and CLI
def test_full_scale_etf_universe_structure():
    from xladdin.data import _sample_universe as U
    from xladdin.data._sample_flows import full_etf_defs
    from xladdin.data.sample import SCALES
    rng = np.random.default_rng(0)
    codes = [d.code for d in U.broad_indices(1, 1, 1, 1, 1, 1, 1)] + [c for c, *_ in U.THEME_INDICES] \
        + [c for c, *_ in U.STRATEGY_INDICES]
    defs = full_etf_defs(rng, codes, {c: c for c in codes}, 900, pd.Timestamp("2016-01-04"), pd.Timestamp("2026-10-30"))
    assert len(defs) == 900 and len({d.code for d in defs}) == 900
    assert {d.category for d in defs} == {"broad", "sector_theme", "strategy_style"}
    assert SCALES["full"]["n_stocks"] == 5300


def test_cli_writes_tables_that_reload(tmp_path, sample_market):
    from xladdin.ops.cli import main
    assert main(["sample", str(tmp_path), "--format", "parquet"]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.parquet")) == sorted(TABLES)
    back = load_market(tmp_path, tables=["etf_daily", "index_weights"])
    pd.testing.assert_frame_equal(back.table("etf_daily"), sample_market.table("etf_daily"))
    pd.testing.assert_frame_equal(back.table("index_weights"), sample_market.table("index_weights"))


def test_cli_help_lists_options(capsys):
    from xladdin.ops.cli import main
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    out = capsys.readouterr().out
    for opt in ["--scale", "--seed", "--format", "DIR"]:
        assert opt in out


def test_cli_default_format_follows_the_scale(tmp_path, monkeypatch, sample_cut):
    """csv for the small market (opens in Excel), parquet for the full one (11 M-row tables); an
    explicit --format wins. The command's market is replaced by a 30-stock cut of the sample here: the
    format choice does not depend on the market, and writing the whole sample three times took 30-90 s
    (the full generator another 38 s); ``test_cli_writes_tables_that_reload`` writes the real sample."""
    from xladdin.ops.cli import main
    from xladdin.ops.commands import sample as cmd
    small = sample_cut(start="2026-06-01", n_stocks=30)
    built = []
    monkeypatch.setattr(cmd, "sample_market", lambda: built.append("small") or small)
    monkeypatch.setattr(cmd, "generate_market", lambda scale, seed: built.append(scale) or small)
    assert main(["sample", str(tmp_path / "small")]) == 0
    assert sorted(p.name for p in (tmp_path / "small").iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    assert main(["sample", str(tmp_path / "full"), "--scale", "full"]) == 0
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == sorted(f"{t}.parquet" for t in TABLES)
    assert main(["sample", str(tmp_path / "full_csv"), "--scale", "full", "--format", "csv"]) == 0
    assert sorted(p.name for p in (tmp_path / "full_csv").iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    assert main(["sample", str(tmp_path / "small_pq"), "--format", "parquet"]) == 0
    assert sorted(p.name for p in (tmp_path / "small_pq").iterdir()) == sorted(f"{t}.parquet" for t in TABLES)
    assert built == ["small", "full", "full", "small"]  # each run built the market of its --scale


def test_week_ends_equal_the_calendar_definition_before_1970_and_with_times():
    """Week = days since Monday 1970-01-05, floor-divided by 7; the last date of each week is kept."""
    rng = np.random.default_rng(4)
    stamps = np.datetime64("1900-01-01") + rng.integers(0, 60000, 400) * np.timedelta64(1, "D") \
        + rng.integers(0, 86400, 400) * np.timedelta64(1, "s")
    d = pd.DatetimeIndex(np.sort(stamps))
    monday = pd.Timestamp("1970-01-05")
    week = [(t.normalize() - monday).days // 7 for t in d]                     # a loop, by the definition
    last = [i for i in range(len(d)) if i == len(d) - 1 or week[i + 1] != week[i]]
    assert list(week_ends(d)) == [d[i] for i in last]
