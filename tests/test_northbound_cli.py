"""CLI: ``xladdin backtest northbound`` (M11) and ``xladdin dashboard`` (M13)."""
from __future__ import annotations

import argparse
import importlib.util

import pandas as pd
import pytest

from xladdin.data import write_market
from xladdin.ops.cli import main
from xladdin.ops.commands import backtest_northbound


@pytest.fixture(scope="module")
def rotation_dir(tmp_path_factory, make_rotation_market):
    d = tmp_path_factory.mktemp("rotation")
    write_market(make_rotation_market(), d)
    return d


@pytest.fixture(scope="module")
def dashboard_dir(tmp_path_factory, make_dashboard_market):
    d = tmp_path_factory.mktemp("dashboard")
    write_market(make_dashboard_market(), d)
    return d


def _northbound_parser() -> argparse.ArgumentParser:
    """A ``backtest`` group holding only our sub-command (the group itself belongs to another module)."""
    parser = argparse.ArgumentParser(prog="xladdin backtest")
    sub = parser.add_subparsers(dest="backtest")
    backtest_northbound.register(sub)
    return parser


def run_northbound(argv: list[str]) -> int:
    args = _northbound_parser().parse_args(["northbound", *argv])
    return args.func(args)


def test_universe_file_reader(tmp_path):
    f = tmp_path / "u.txt"
    f.write_text("etf\n510001.SH  # broad\n\n# comment\n510003.SH,foo\n", encoding="utf-8")
    assert backtest_northbound.read_universe(f) == ["510001.SH", "510003.SH"]
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lists no ETF code"):
        backtest_northbound.read_universe(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError):
        backtest_northbound.read_universe(tmp_path / "missing.txt")


def test_backtest_northbound_with_universe_file(rotation_dir, tmp_path, capsys):
    uni = tmp_path / "universe.txt"
    uni.write_text("510000.SH\n510002.SH\n510003.SH\n510004.SH\n", encoding="utf-8")
    out = tmp_path / "out"
    rc = run_northbound(["--data", str(rotation_dir), "--etf-universe", str(uni), "--etf-top-n", "2", "--groups", "2",
                         "--csv", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "4 ETFs" in text and "Ranking at 2025-03-31" in text and "Stale northbound months" in text
    assert "report (Dongxing" in text and "ic_mean" in text
    ranking = pd.read_csv(out / "northbound_ranking.csv", encoding="utf-8-sig")
    assert sorted(ranking["code"]) == ["510000.SH", "510002.SH", "510003.SH", "510004.SH"]
    assert ranking["pick"].sum() == 2
    monthly = pd.read_csv(out / "northbound_monthly.csv", encoding="utf-8-sig")
    assert {"ic", "group_long_short", "stale"} <= set(monthly.columns)
    assert monthly["stale"].sum() == 5
    perf = pd.read_csv(out / "northbound_performance.csv", encoding="utf-8-sig", index_col=0)
    assert "Full period" in perf.index


def test_backtest_northbound_bad_universe(rotation_dir, tmp_path):
    uni = tmp_path / "bad.txt"
    uni.write_text("510000.SH\n159999.SZ\n", encoding="utf-8")
    with pytest.raises(ValueError, match="159999.SZ"):
        run_northbound(["--data", str(rotation_dir), "--etf-universe", str(uni)])


@pytest.mark.skipif(importlib.util.find_spec("xladdin.ops.commands.backtest") is None,
                    reason="the `backtest` group (xladdin/ops/commands/backtest.py) is another module, not landed yet")
def test_backtest_group_calls_register(rotation_dir, capsys):
    assert main(["backtest", "northbound", "--data", str(rotation_dir), "--rank-date", "2024-11-29"]) == 0
    assert "Ranking at 2024-11-29 (stale northbound holdings of 2024-09-30)" in capsys.readouterr().out


def test_dashboard_command(dashboard_dir, tmp_path, capsys):
    out = tmp_path / "dash"
    rc = main(["dashboard", "--data", str(dashboard_dir), "--asof", "2023-06-16", "--csv", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "week ending 2023-06-16" in text and "Industries: this week" in text and "Largest net sells" in text
    ind = pd.read_csv(out / "dashboard_industry.csv", encoding="utf-8-sig", index_col=0)
    assert list(ind.index) == ["I1", "I2", "I3"] and ind["northbound_net_buy"].notna().all()
    for name in ("industry_change", "broad_index", "broad_index_change", "etf_category", "top_buys", "top_sells",
                 "flags", "summary", "notes"):
        assert (out / f"dashboard_{name}.csv").is_file()


def test_dashboard_command_after_quarterly_holdings(dashboard_dir, capsys):
    assert main(["dashboard", "--data", str(dashboard_dir), "--asof", "2025-03-14", "--heat-years", "2"]) == 0
    text = capsys.readouterr().out
    assert "note: northbound net buying not available for the week of 2025-03-14" in text


def test_dashboard_bad_date(dashboard_dir, capsys):
    assert main(["dashboard", "--data", str(dashboard_dir), "--asof", "notadate"]) == 1
    assert "not a date" in capsys.readouterr().err


def test_backtest_northbound_json_lag_cost_and_same_index(rotation_dir, capsys):
    import json
    assert run_northbound(["--data", str(rotation_dir), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    keys = {"lag_days", "cost", "turnover_annual", "annual_return_gross", "annual_return_net", "excess_gross",
            "excess_net", "information_ratio_net", "periods_without_ranking", "start", "end"}
    assert keys <= set(s) and s["lag_days"] == 1 and s["cost"] == 0.003
    assert s["same_index_months"] == 0 and s["settings"]["etf_one_per_index"] is True
    assert set(s["periods_without_ranking"]) == {"preference", "change", "momentum", "composite"}
    assert s["years"][-1]["period"] == "Full period" and "annual_return_gross" in s["years"][-1]
    # lag 0 without cost: gross = net, and the per-year rows say so
    assert run_northbound(["--data", str(rotation_dir), "--json", "--lag", "0", "--etf-cost", "0",
                           "--no-etf-one-per-index"]) == 0
    b = json.loads(capsys.readouterr().out)
    assert b["lag_days"] == 0 and b["annual_return_gross"] == pytest.approx(b["annual_return_net"])
    assert b["same_index_months"] > 0  # two ETFs track IDX1 and two IDX4 in the test market
    assert run_northbound(["--data", str(rotation_dir), "--lag", "1"]) == 0
    text = capsys.readouterr().out
    assert "lag 1 trading day(s), cost 0.30% one-way on traded value" in text and "at most one per tracked index" in text
    assert "Months without a ranking" in text
