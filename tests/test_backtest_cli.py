"""`xladdin backtest rotation` on the sample and on the real canonical data: the figures it prints and
`--json` are re-derived from its own CSV output and the raw closes with independent code."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from xladdin.ops.cli import main

JSON_KEYS = {"lag_days", "cost", "turnover_annual", "annual_return_gross", "annual_return_net", "excess_gross",
             "excess_net", "information_ratio_net", "periods_without_ranking", "start", "end"}


def _units_nav(holdings: pd.DataFrame, close: pd.DataFrame, cost: float) -> pd.Series:
    """NAV from the holdings table: at each trade date's close buy the weights (cost on traded value)."""
    px = close.ffill()
    trades = {pd.Timestamp(d): g.set_index("industry")["weight"] for d, g in holdings.groupby("trade_date")}
    days = px.index[px.index >= min(trades)]
    base = px.index[px.index.get_loc(days[0]) - 1]
    units, value, out = None, 1.0, {base: 1.0}
    for d in days:
        p = px.loc[d]
        if units is not None:
            value = float((units * p.reindex(units.index)).sum())
        if d in trades:
            tgt = trades[d]
            held = (units * p.reindex(units.index) / value) if units is not None else pd.Series(dtype=float)
            traded = tgt.sub(held, fill_value=0.0).abs().sum()
            value *= 1 - cost * traded
            units = tgt * value / p.reindex(tgt.index)
        out[d] = value
    return pd.Series(out)


@pytest.mark.slow
def test_rotation_sample_text_and_files(tmp_path, capsys):
    rc = main(["backtest", "rotation", "--start", "2019-06-01", "--end", "2020-12-31", "--csv", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "lag 1 trading day(s), cost 0.10% one-way on traded value" in out
    assert "Per-year performance" in out and "Full period" in out and "Short-term flow quintiles" in out
    assert "Turnover (two-sided)" in out and "Rebalances without a ranking" in out
    perf = pd.read_csv(tmp_path / "rotation_performance.csv", index_col=0)
    assert perf.index[0].startswith("2019 (from ") and list(perf.index[1:]) == ["2020", "Full period"]
    assert perf.loc[perf.index[0], "part_year"] == 1 and np.isfinite(perf.loc[perf.index[0], "annualised_return"])
    hold = pd.read_csv(tmp_path / "rotation_holdings.csv", parse_dates=["rebalance_date", "trade_date"])
    assert {"industry", "name", "trade_date", "flow_inflow", "style_advantage", "divergence_favoured",
            "abs_return", "excess_return"} <= set(hold.columns)
    assert (hold["trade_date"] > hold["rebalance_date"]).all()
    nav = pd.read_csv(tmp_path / "rotation_nav.csv", index_col=0)
    assert list(nav.columns) == ["strategy", "strategy_gross", "benchmark", "relative"]
    groups = pd.read_csv(tmp_path / "holding_level_groups_monthly.csv", index_col=0)
    assert groups.drop(columns="name").stack().between(1, 5).all()


@pytest.mark.slow
def test_rotation_json_and_before_after_on_the_sample(tmp_path, capsys, sample_market):
    """Lag 1 with cost against lag 0 without: each re-derived from its own holdings CSV and the raw industry
    closes (trade dates one session after the decision vs on it; the net NAV pays 0.1% of traded value)."""
    raw = sample_market.tables["industry_daily"]
    close = raw.pivot(index="date", columns="industry", values="close").sort_index()
    base = ["backtest", "rotation", "--start", "2019-10-08", "--end", "2021-12-31", "--json"]
    runs = {}
    for name, extra in (("after", []), ("before", ["--lag", "0", "--cost", "0"])):
        out = tmp_path / name
        assert main(base + extra + ["--csv", str(out)]) == 0
        js = json.loads(capsys.readouterr().out)
        hold = pd.read_csv(out / "rotation_holdings.csv", parse_dates=["rebalance_date", "trade_date"])
        nav = pd.read_csv(out / "rotation_nav.csv", index_col=0, parse_dates=True)
        runs[name] = (js, hold, nav)
    after, hold1, nav1 = runs["after"]
    before, hold0, nav0 = runs["before"]
    assert JSON_KEYS <= set(after) and after["lag_days"] == 1 and after["cost"] == 0.001
    assert before["lag_days"] == 0 and before["cost"] == 0
    assert after["years"][0]["period"].startswith("2019 (from ") and after["years"][0]["part_year"] is True
    assert {"annualised_return", "annual_return_gross", "turnover"} <= set(after["years"][0])
    assert set(after["m7_quintiles"]["groups"]) == {"G1", "G2", "G3", "G4", "G5", "EW"}
    sessions = close.index
    nxt = {d: sessions[sessions.get_loc(d) + 1] for d in hold1["rebalance_date"].unique()}
    assert (hold1["trade_date"] == hold1["rebalance_date"].map(nxt)).all()       # a session later
    assert (hold0["trade_date"] == hold0["rebalance_date"]).all()                 # at the decision close
    n1, n0 = len(nav1) - 1, len(nav0) - 1
    ann = lambda x, n: (x.iloc[-1] / x.iloc[0]) ** (252 / n) - 1  # noqa: E731
    for js, hold, nav, n, cost in ((after, hold1, nav1, n1, 0.001), (before, hold0, nav0, n0, 0.0)):
        naive = _units_nav(hold, close.loc[:nav.index[-1]], cost)
        np.testing.assert_allclose(nav["strategy"].to_numpy(), naive.reindex(nav.index).to_numpy(), rtol=1e-9)
        assert js["annual_return_net"] == pytest.approx(ann(nav["strategy"], n))
        assert js["excess_net"] == pytest.approx(ann(nav["strategy"] / nav["benchmark"], n))
    assert before["annual_return_gross"] == before["annual_return_net"]          # no cost: gross = net
    assert after["annual_return_gross"] == pytest.approx(ann(nav1["strategy_gross"], n1))


@pytest.mark.slow
def test_rotation_real_data_against_independent_derivations(real_data_dir, tmp_path, capsys):
    rc = main(["backtest", "rotation", "--data", str(real_data_dir), "--start", "2019-10-08", "--json",
               "--csv", str(tmp_path)])
    assert rc == 0
    s = json.loads(capsys.readouterr().out)
    assert JSON_KEYS <= set(s)
    assert s["factors_used"] == ["short_term_flow", "style_level", "style_change"]  # no active-fund data
    assert any("divergence (M9) left out" in n for n in s["notes"])
    # the CSI 300 weights end 2024-10-08: current to 2024-12-08 (the next snapshot was due 2024-11-08, plus a
    # month's grace), so the run ends on Friday 2024-12-06, not on the industries' last close (2025-12-31)
    assert s["effective_end"]["limited_by"]["text"] == "index_weights end 2024-10-08"
    assert s["effective_end"]["date"] == "2024-12-08"
    assert s["end"] == "2024-12-06" and s["lag_days"] == 1 and s["cost"] == 0.001
    assert s["years"][-2]["period"] == "2024 (to 12-06)"
    # the short-term flow of four CSI 300 ETFs is rounding noise in most weeks: no ranking there
    assert s["periods_without_ranking"]["short_term_flow"] > s["periods"] / 2
    nav = pd.read_csv(tmp_path / "rotation_nav.csv", index_col=0, parse_dates=True)
    hold = pd.read_csv(tmp_path / "rotation_holdings.csv", parse_dates=["rebalance_date", "trade_date", "period_end"])
    trades = pd.read_csv(tmp_path / "rotation_trades.csv", index_col=0, parse_dates=True)
    raw = pd.read_csv(real_data_dir / "industry_daily.csv", parse_dates=["date"])
    close = raw.pivot(index="date", columns="industry", values="close").sort_index()
    naive = _units_nav(hold, close.loc[:nav.index[-1]], 0.001)
    np.testing.assert_allclose(nav["strategy"].to_numpy(), naive.reindex(nav.index).to_numpy(), rtol=1e-9)
    gross = _units_nav(hold, close.loc[:nav.index[-1]], 0.0)
    np.testing.assert_allclose(nav["strategy_gross"].to_numpy(), gross.reindex(nav.index).to_numpy(), rtol=1e-9)
    n = len(nav) - 1
    ann = lambda x: (x.iloc[-1] / x.iloc[0]) ** (252 / n) - 1  # noqa: E731
    assert s["annual_return_net"] == pytest.approx(ann(nav["strategy"]))
    assert s["annual_return_gross"] == pytest.approx(ann(nav["strategy_gross"]))
    assert s["excess_net"] == pytest.approx(ann(nav["strategy"] / nav["benchmark"]))
    assert s["excess_gross"] == pytest.approx(ann(nav["strategy_gross"] / nav["benchmark"]))
    te = np.sqrt(252) * (nav["strategy"].pct_change() - nav["benchmark"].pct_change()).std()
    assert s["information_ratio_net"] == pytest.approx(ann(nav["strategy"] / nav["benchmark"]) / te)
    assert s["turnover_annual"] == pytest.approx(trades["turnover"].sum() * 252 / n)
    # the benchmark: industries with a close, equal weight, decided on every rebalance date, traded a day later
    decisions = sorted(set(hold["rebalance_date"]))
    assert nav.index[0] == decisions[0]


def test_bad_weights_and_lag_messages(capsys):
    assert main(["backtest", "rotation", "--weights", "momentum=1"]) == 1
    assert "unknown factor `momentum`" in capsys.readouterr().err
    assert main(["backtest", "rotation", "--lag", "-1"]) == 1
    assert "--lag must be >= 0" in capsys.readouterr().err


@pytest.mark.slow
def test_rotation_real_data_with_a_factor_that_never_ranks(real_data_dir, capsys):
    """From 2024-11-01 the one CSI 300 snapshot in force (2024-10-08) gives every week the same industry
    shares: the short-term flow never ranks. Rebalance dates, every second week end of the data:
    2024-11-01, 2024-11-15, 2024-11-29 (then the weights stop being current). The run goes on with the
    style factors, exit 0, and says 3 of 3; the M7 quintiles (six weeks, none ranked) are not computed."""
    rc = main(["backtest", "rotation", "--data", str(real_data_dir), "--start", "2024-11-01", "--json"])
    assert rc == 0
    s = json.loads(capsys.readouterr().out)
    assert s["periods"] == 3 and s["periods_without_ranking"]["short_term_flow"] == 3
    assert s["periods_without_ranking"]["composite"] == 0 and s["end"] == "2024-12-06"
    assert s["m7_quintiles"] == {"lag_days": 1, "cost": 0.001, "periods": 6, "periods_without_ranking": 6,
                                 "computed": False}
    assert any("short-term flow gives no ranking on 3 of 3 rebalance dates" in n for n in s["notes"])
    rc = main(["backtest", "rotation", "--data", str(real_data_dir), "--start", "2024-11-01"])
    out = capsys.readouterr().out
    assert rc == 0 and "(M7): not computed, no ranking on 6 of 6 weeks" in out
    assert "2024-11-01 .. 2024-12-06 (ends where its inputs do: index_weights end 2024-10-08)" in out
    assert "Rebalances without a ranking (of 3): short_term_flow 3" in out


@pytest.mark.slow
def test_rotation_past_the_weights_is_not_computed(real_data_dir, capsys):
    assert main(["backtest", "rotation", "--data", str(real_data_dir), "--start", "2025-01-01"]) == 1
    err = capsys.readouterr().err
    assert "nothing to compute from 2025-01-01" in err and "index_weights end 2024-10-08, current to 2024-12-08" in err


@pytest.mark.slow
def test_latest_picks_print_returns_in_percent(tmp_path, capsys):
    """Seen: the latest picks printed their holding-period returns as raw decimals (0.0432) while every other
    return of the command is in percent. Each pick's line shows its returns of the CSV as 4.32%, no raw decimal."""
    rc = main(["backtest", "rotation", "--start", "2019-06-01", "--end", "2020-12-31", "--csv", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    block = out.split("Latest executed picks")[1].split("\n\n")[0]
    hold = pd.read_csv(tmp_path / "rotation_holdings.csv", parse_dates=["rebalance_date"])
    last = hold[hold["rebalance_date"] == hold["rebalance_date"].max()]
    assert len(last) >= 3
    lines = {ln.split()[0]: ln.split() for ln in block.splitlines() if ln.startswith("CI")}
    assert set(lines) == set(last["industry"])
    for r in last.itertuples():
        words = lines[r.industry]
        assert words[-2:] == [f"{r.abs_return * 100:.2f}%", f"{r.excess_return * 100:.2f}%"], words
    assert not re.search(r"(?<![\d.])-?0\.\d{3,}\b", block), block
