"""`xladdin backtest rotation` on the sample and on the real canonical data."""
from __future__ import annotations

import pandas as pd
import pytest

from xladdin.cli import main


def test_rotation_sample(tmp_path, capsys):
    rc = main(["backtest", "rotation", "--start", "2019-01-01", "--end", "2020-12-31", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Per-year performance" in out and "Full period" in out and "Short-term flow quintiles" in out
    perf = pd.read_csv(tmp_path / "rotation_performance.csv", index_col=0)
    assert list(perf.index) == ["2019", "2020", "Full period"]
    hold = pd.read_csv(tmp_path / "rotation_holdings.csv")
    assert {"industry", "name", "flow_inflow", "style_advantage", "divergence_favoured",
            "abs_return", "excess_return"} <= set(hold.columns)
    nav = pd.read_csv(tmp_path / "rotation_nav.csv", index_col=0)
    assert list(nav.columns) == ["strategy", "benchmark", "relative"]
    groups = pd.read_csv(tmp_path / "holding_level_groups_monthly.csv", index_col=0)
    assert groups.drop(columns="name").stack().between(1, 5).all()


def test_rotation_real_data(real_data_dir, tmp_path, capsys):
    rc = main(["backtest", "rotation", "--data", str(real_data_dir), "--start", "2017-01-01",
               "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "divergence (M9) left out" in out and "regime unavailable" not in out
    assert "factors: short_term_flow, style_level, style_change" in out  # 399370/399371 give the growth regime
    q = pd.read_csv(tmp_path / "quintiles_performance.csv", index_col=0)
    assert list(q.index) == ["G1", "G2", "G3", "G4", "G5", "EW"]
    nav = pd.read_csv(tmp_path / "rotation_nav.csv", index_col=0, parse_dates=True)
    assert nav.index.max() == pd.Timestamp("2025-12-31")


def test_bad_weights_message(capsys):
    rc = main(["backtest", "rotation", "--weights", "momentum=1"])
    assert rc == 1
    assert "unknown factor `momentum`" in capsys.readouterr().err
