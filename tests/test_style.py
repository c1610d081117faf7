"""M5 style regimes: hand cases, a toy market, the CLI and the report's table on real data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data.market import Market, MissingTableError
from xladdin.methods.filters import hp_filter_one_sided
from xladdin.methods.style import (
    DEFAULT_LAMBDA,
    STYLE_FIELDS,
    factor_momentum,
    regime_for_next_week,
    report_agreement,
    report_style_table,
    style_signal,
    weekly_style_table,
)
from xladdin.ops.cli import main


def test_factor_momentum_by_hand():
    s = pd.Series([1.0, 2.0, 4.0, 3.0, 3.0], index=pd.date_range("2025-01-03", periods=5, freq="W-FRI"))
    out = factor_momentum(s)
    assert out.iloc[:2].isna().all()
    # 4 - (2 + 1)/2 = 2.5 ; 3 - (4 + 2)/2 = 0 ; 3 - (3 + 4)/2 = -0.5
    np.testing.assert_allclose(out.iloc[2:].to_numpy(), [2.5, 0.0, -0.5])
    assert out.index.equals(s.index)


def _daily(dates, values, name):
    return pd.Series(values, index=pd.DatetimeIndex(dates), name=name, dtype=float)


def test_style_signal_weeks_ratio_and_realised_by_hand():
    # two weeks; the second has a holiday Friday (last trading day Thursday), small has a gap
    days = ["2025-09-01", "2025-09-02", "2025-09-05", "2025-09-08", "2025-09-11",
            "2025-09-15", "2025-09-19", "2025-09-22", "2025-09-26"]
    large = _daily(days, [10, 11, 12, 12, 13, 13, 12, 12, 14], "L")
    small = _daily(days[:4] + days[5:], [20, 21, 24, 25, 25, 26, 26, 27], "S")  # no close on 09-11
    sig = style_signal(large, small, lamb=10.0)
    expected_dates = pd.to_datetime(["2025-09-05", "2025-09-08", "2025-09-19", "2025-09-26"])
    assert sig.index.equals(pd.DatetimeIndex(expected_dates, name="date"))
    assert list(sig.columns) == list(STYLE_FIELDS)
    np.testing.assert_allclose(sig["ratio"].to_numpy(), [12 / 24, 12 / 25, 12 / 26, 14 / 27])
    # realised: ratio up? (-, down, down, up)
    assert sig["realised"].isna().iloc[0]
    assert sig["realised"].iloc[1:].tolist() == [0, 0, 1]
    np.testing.assert_allclose(sig["filtered"].to_numpy(), hp_filter_one_sided(sig["ratio"].to_numpy(), 10.0))
    mom = sig["momentum"]
    assert mom.iloc[:2].isna().all() and sig["regime"].iloc[:2].isna().all()
    assert sig["regime"].iloc[2:].tolist() == [int(v > 0) for v in mom.iloc[2:]]
    assert str(sig["regime"].dtype) == "Int8" and str(sig["realised"].dtype) == "Int8"


def _random_closes(n_days=900, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-01-01", periods=n_days)
    a = 4000 * np.exp(np.cumsum(rng.normal(0.0002, 0.012, n_days)))
    b = 6000 * np.exp(np.cumsum(rng.normal(0.0001, 0.016, n_days)))
    return pd.Series(a, index=dates), pd.Series(b, index=dates)


def test_style_signal_is_causal_and_start_end_only_cut_rows():
    large, small = _random_closes()
    full = style_signal(large, small, 100.0)
    cut = style_signal(large.loc[:"2021-06-30"], small.loc[:"2021-06-30"], 100.0)
    common = cut.index[:-1]  # the last week of the cut data may be partial
    pd.testing.assert_frame_equal(full.loc[common], cut.loc[common])
    window = style_signal(large, small, 100.0, start="2020-03-01", end="2020-06-30")
    pd.testing.assert_frame_equal(window, full.loc["2020-03-01":"2020-06-30"])


def test_style_signal_invariant_to_rescaling_closes():
    large, small = _random_closes(seed=3)
    a = style_signal(large, small, 300.0)
    b = style_signal(large * 7.5, small * 0.2, 300.0)
    pd.testing.assert_series_equal(a["regime"], b["regime"])
    pd.testing.assert_series_equal(a["realised"], b["realised"])


def test_style_signal_errors():
    large, small = _random_closes(n_days=30)
    with pytest.raises(ValueError, match="non-positive close"):
        style_signal(large, small.where(small.index != small.index[5], -1.0))
    with pytest.raises(ValueError, match="no date in common"):
        style_signal(large.iloc[:10], small.iloc[20:])
    with pytest.raises(ValueError, match="DatetimeIndex"):
        style_signal(large.reset_index(drop=True), small)


def _toy_market(codes):
    large, small = _random_closes(seed=1)
    g, v = _random_closes(seed=2)
    series = dict(zip(["000300.SH", "000852.SH", "399370.SZ", "399371.SZ"], [large, small, g, v]))
    rows = [pd.DataFrame({"date": s.index, "index": code, "close": s.to_numpy()})
            for code, s in series.items() if code in codes]
    return Market({"index_daily": pd.concat(rows, ignore_index=True)}, source="toy"), series


def test_weekly_style_table_both_pairs_rederived():
    """Each pair's columns re-derived with pandas (week ends, ratio, realised) and statsmodels (prefix HP)."""
    market, series = _toy_market(["000300.SH", "000852.SH", "399370.SZ", "399371.SZ"])
    table = weekly_style_table(market, 50.0)
    assert list(table.columns) == [f"{p}_{f}" for p in ("size", "growth") for f in STYLE_FIELDS]
    for pair, (a, b) in {"size": ("000300.SH", "000852.SH"), "growth": ("399370.SZ", "399371.SZ")}.items():
        px = pd.concat([series[a], series[b]], axis=1).dropna()
        week_end = px.groupby(px.index.to_period("W-SUN")).tail(1)
        ratio = (week_end.iloc[:, 0] / week_end.iloc[:, 1]).iloc[:120]
        t = table[f"{pair}_ratio"].dropna().iloc[:120]
        assert t.index.equals(pd.DatetimeIndex(ratio.index, name="date"))
        np.testing.assert_allclose(t.to_numpy(), ratio.to_numpy(), rtol=1e-13)
        trend = _prefix_hp_last(ratio.to_numpy(), 50.0)
        np.testing.assert_allclose(table[f"{pair}_filtered"].iloc[3:120].to_numpy(), trend[3:], rtol=1e-9)
        mom = trend[2:] - (trend[1:-1] + trend[:-2]) / 2
        assert table[f"{pair}_regime"].iloc[4:120].tolist() == (mom[2:] > 0).astype(int).tolist()
        up = (ratio.to_numpy()[1:] > ratio.to_numpy()[:-1]).astype(int)
        assert table[f"{pair}_realised"].iloc[1:120].tolist() == up.tolist()


def test_weekly_style_table_missing_growth_indices_says_so():
    market, _ = _toy_market(["000300.SH", "000852.SH"])
    with pytest.raises(MissingTableError, match="399370.SZ and 399371.SZ"):
        weekly_style_table(market)
    assert not weekly_style_table(market, pairs=("size",)).empty
    with pytest.raises(ValueError, match="unknown style pair"):
        weekly_style_table(market, pairs=("momentum",))


def test_regime_for_next_week_shifts_one_week():
    large, small = _random_closes(seed=4)
    sig = style_signal(large, small)
    nxt = regime_for_next_week(sig)
    assert nxt.iloc[3] == sig["regime"].iloc[2]
    assert nxt.index.equals(sig.index)


def test_report_table_matches_spec_summary():
    rep = report_style_table()
    assert len(rep) == 22 and rep.index[0] == pd.Timestamp("2025-09-05") and rep.index[-1] == pd.Timestamp("2026-01-30")
    size = rep["size_regime"]
    assert (size.loc[:"2025-11-07"] == 1).all()
    assert size.loc["2025-11-14":].tolist() == [0, 1] + [0] * 10
    growth = rep["growth_regime"]
    assert (growth.loc[:"2025-11-07"] == 1).all() and (growth.loc["2025-11-14":"2025-12-31"] == 0).all()
    assert (growth.loc["2026-01-09":] == 1).all()


# ----------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real_size(real_market):
    return weekly_style_table(real_market, DEFAULT_LAMBDA, pairs=("size",), start="2025-09-05", end="2025-12-31")


def test_real_data_reproduces_report_realised_size_same_week(real_size):
    rep = report_style_table().loc[:"2025-12-31", "size_realised"]
    assert real_size.index.equals(rep.index.rename("date"))  # same 18 week-end dates (incl. 09-30, 12-31)
    assert (real_size["size_realised"] == rep).all()


def test_real_data_default_lambda_reproduces_report_size_signal(real_size):
    rep = report_style_table().loc[:"2025-12-31", "size_regime"]
    assert (real_size["size_regime"] == rep).sum() == 18


def test_real_data_lambda_evidence(real_market):
    scan = report_agreement(real_market, [30.0, 100.0, 1600.0, 1e5], pair="size").set_index("lamb")
    assert scan.loc[100.0, "agree"] == 18 and scan.loc[100.0, "weeks"] == 18
    assert scan.loc[1600.0, "agree"] == 10  # the textbook quarterly value does poorly here
    assert scan["agree"].max() == scan.loc[100.0, "agree"]


def _prefix_hp_last(values: np.ndarray, lamb: float) -> np.ndarray:
    """One-sided HP by its definition: statsmodels' two-sided hpfilter re-solved on each prefix."""
    from statsmodels.tsa.filters.hp_filter import hpfilter
    out = np.full(len(values), np.nan)
    for t in range(3, len(values) + 1):
        out[t - 1] = np.asarray(hpfilter(values[:t], lamb)[1])[-1]
    return out


def test_real_data_growth_pair_from_cni_growth_value(real_market, real_data_dir):
    """399370.SZ / 399371.SZ (2015-01-05 .. 2024-12-12): ratio, filter, momentum and regime re-derived
    from the CSV with pandas and statsmodels, independently of xladdin's loader and filter."""
    table = weekly_style_table(real_market, DEFAULT_LAMBDA, pairs=("growth",)).dropna(subset=["growth_ratio"])
    raw = pd.read_csv(real_data_dir / "index_daily.csv", parse_dates=["date"])
    px = raw[raw["index"].isin(["399370.SZ", "399371.SZ"])].pivot(index="date", columns="index", values="close")
    px = px.dropna().sort_index()
    assert px.index[0] == pd.Timestamp("2015-01-05") and px.index[-1] == pd.Timestamp("2024-12-12")
    week_end = px.groupby(px.index.to_period("W-SUN")).tail(1)  # each week's last common trading day
    ratio = week_end["399370.SZ"] / week_end["399371.SZ"]
    assert table.index.equals(pd.DatetimeIndex(ratio.index, name="date"))
    np.testing.assert_allclose(table["growth_ratio"].to_numpy(), ratio.to_numpy(), rtol=1e-12)
    trend = _prefix_hp_last(ratio.to_numpy(), DEFAULT_LAMBDA)
    np.testing.assert_allclose(table["growth_filtered"].to_numpy()[3:], trend[3:], rtol=1e-8)
    mom = trend[2:] - (trend[1:-1] + trend[:-2]) / 2
    regime = (mom[2:] > 0).astype(int)  # rows 4.. (the statsmodels trend starts at row 3)
    assert table["growth_regime"].to_numpy()[4:].tolist() == regime.tolist()
    assert 0 < regime.mean() < 1  # both regimes occur over ten years


def test_cli_style_on_real_data(real_data_dir, tmp_path, capsys):
    out_csv = tmp_path / "style.csv"
    rc = main(["style", "--data", str(real_data_dir), "--pair", "size", "--start", "2025-09-05",
               "--end", "2025-12-31", "--vs-report", "--csv", str(out_csv)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "size regime: 18 of 18 report weeks agree" in text
    assert "2025-11-21" in text
    csv = pd.read_csv(out_csv, encoding="utf-8-sig", parse_dates=["date"])
    assert len(csv) == 18 and list(csv.columns) == ["date"] + [f"size_{f}" for f in STYLE_FIELDS]


def test_cli_style_both_pairs_on_real_data(real_data_dir, capsys):
    """Both pairs are shown; each pair's latest regime is dated by its own data (growth ends 2024-12-12)."""
    rc = main(["style", "--data", str(real_data_dir)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "size: latest regime 0 (small-cap leads) on 2025-12-31" in text
    assert "growth: latest regime" in text and "on 2024-12-12" in text
    # 399370/399371's closes end 2024-12-12 (the first code named on a tie): the growth pair stops there and says so
    assert "growth: no signal after 2024-12-12 (ends where its inputs do: index_daily 399370.SZ end 2024-12-12)" in text
    assert "size: no signal after" not in text


def test_factor_momentum_on_an_array_returns_an_array():
    out = factor_momentum(np.array([1.0, 2.0, 4.0, 3.0, 3.0]))
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [np.nan, np.nan, 2.5, 0.0, -0.5])
