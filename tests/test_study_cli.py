"""`xladdin study correlation`: output, --csv grid, options, errors, and the study-group hooks."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from xladdin.ops import cli
from xladdin.ops.commands import study


def run(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _write_toy(folder, n=90, seed=0):
    """A 2-ETF market tracking IDX whose flow follows the return in its last 25 days."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2022-01-03", periods=n)
    close = 1000 * np.cumprod(1 + rng.normal(0, 0.01, n))
    ret = np.r_[0.0, close[1:] / close[:-1] - 1]
    rows = []
    for k, etf in enumerate(["E1.SH", "E2.SZ"]):
        d_sh = rng.normal(0, 1e6, n)
        d_sh[-25:] = 5e8 * ret[-25:] + rng.normal(0, 1e5, 25)
        shares = 1e8 + np.cumsum(d_sh)
        for d, s, c in zip(dates, shares, close):
            rows.append({"date": d.strftime("%Y-%m-%d"), "etf": etf, "shares": round(s), "nav": c / 1000 * (1 + k),
                         "close": c / 1000 * (1 + k), "split_ratio": 1.0})
    pd.DataFrame(rows).to_csv(folder / "etf_daily.csv", index=False)
    pd.DataFrame({"etf": ["E1.SH", "E2.SZ"], "name": ["e1", "e2"], "tracked_index": ["IDX.SH", "IDX.SH"],
                  "category": ["broad", "broad"], "list_date": ["2021-01-04", "2021-01-04"]}
                 ).to_csv(folder / "etf_info.csv", index=False)
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "index": "IDX.SH", "close": close}
                 ).to_csv(folder / "index_daily.csv", index=False)
    return folder


def test_toy_market_grid_and_csv(tmp_path, capsys):
    data = _write_toy(tmp_path)
    csv = tmp_path / "out" / "grid.csv"
    code, out, err = run(["study", "correlation", "--corr-index", "IDX.SH", "--data", str(data), "--event-thresholds",
                          "0.5", "0.9", "--event-horizons", "5", "10", "--corr-window", "10", "--csv", str(csv)], capsys)
    assert code == 0, err
    assert "Down probability" in out and "Latest readings" in out and "Signal ON" in out
    grid = pd.read_csv(csv, encoding="utf-8-sig")
    assert list(grid.columns) == ["threshold", "horizon", "events", "p_down", "mean_return"]
    assert grid[["threshold", "horizon"]].values.tolist() == [[0.5, 5], [0.5, 10], [0.9, 5], [0.9, 10]]
    assert (grid["events"] > 0).all()


def test_first_mode_has_fewer_events(tmp_path, capsys):
    data = _write_toy(tmp_path)
    counts = {}
    for mode in ("every", "first"):
        csv = tmp_path / f"{mode}.csv"
        code, _, err = run(["study", "correlation", "--corr-index", "IDX.SH", "--data", str(data), "--corr-window",
                            "10", "--event-mode", mode, "--event-thresholds", "0.5", "--event-horizons", "5", "--csv",
                            str(csv)], capsys)
        assert code == 0, err
        counts[mode] = int(pd.read_csv(csv, encoding="utf-8-sig")["events"].iloc[0])
    assert 0 < counts["first"] < counts["every"]


def test_unknown_index_and_bad_dates_fail_cleanly(tmp_path, capsys):
    data = _write_toy(tmp_path)
    code, _, err = run(["study", "correlation", "--corr-index", "000905.SH", "--data", str(data)], capsys)
    assert code == 1 and "tracks `000905.SH`" in err
    code, _, err = run(["study", "correlation", "--corr-index", "IDX.SH", "--data", str(data), "--start", "2030-01-01",
                        "--end", "2020-01-01"], capsys)
    assert code == 1 and "after end" in err


def test_real_data_reproduction(real_data_dir, csi300_flow_corr, tmp_path, capsys):
    csv = tmp_path / "grid.csv"
    code, out, err = run(["study", "correlation", "--corr-index", "000300.SH", "--data", str(real_data_dir),
                          "--start", "2016-01-01", "--end", "2021-06-21", "--csv", str(csv)], capsys)
    assert code == 0, err
    assert "2021-06-21" in out and "Signal ON: corr +0.754" in out
    grid = pd.read_csv(csv, encoding="utf-8-sig").set_index(["threshold", "horizon"])
    assert len(grid) == 30
    ev = grid["events"].unstack()
    assert (ev.diff().iloc[1:] <= 0).all().all()  # higher thresholds keep fewer events
    # the report's cell (θ 0.5, h 20) re-derived from the CSV with pandas: M1 flows of the CSI 300 ETFs
    # (0 on a split day), 20-day rolling Pearson with the index return, events corr > 0.5 from 2016
    corr, close = csi300_flow_corr("2021-06-21")
    corr = corr.loc["2016-01-01":]
    c = close.loc[corr.index.min():]
    fwd = (c.shift(-20) / c - 1).reindex(corr[corr > 0.5].index).dropna()
    cell = grid.loc[(0.5, 20)]
    assert cell["events"] == len(fwd) == 106
    assert cell["p_down"] == pytest.approx((fwd < 0).mean(), abs=1e-12)
    assert cell["mean_return"] == pytest.approx(fwd.mean(), abs=1e-12)


def test_study_group_hooks():
    calls = []

    def hook(sub):
        p = sub.add_parser("dummy", help="test study")
        p.set_defaults(func=lambda args: 7)
        calls.append(sub)

    study.STUDY_HOOKS.append(hook)
    try:
        parser = cli.build_parser()
        args = parser.parse_args(["study", "dummy"])
        assert args.func(args) == 7 and len(calls) == 1
        args = parser.parse_args(["study", "correlation", "--event-mode", "first"])
        assert args.func is study.run_correlation and args.event_mode == "first" and args.corr_window == 20
    finally:
        study.STUDY_HOOKS.remove(hook)


def test_study_without_subcommand_prints_help(capsys):
    code, out, _ = run(["study"], capsys)
    assert code == 2 and "correlation" in out


def test_real_data_correlation_ends_where_the_index_closes_do(real_data_dir, capsys):
    """etf_daily runs to 2026-08-21, the CSI 300 closes to 2025-12-31: the study stops there and says why."""
    code, out, err = run(["study", "correlation", "--data", str(real_data_dir), "--json"], capsys)
    assert code == 0
    s = json.loads(out)
    assert s["last_date"] == "2025-12-31" and s["signal"]["date"] == "2025-12-31"
    assert s["effective_end"]["limited_by"]["text"] == "index_daily 000300.SH end 2025-12-31"
    code, out, err = run(["study", "correlation", "--data", str(real_data_dir)], capsys)
    assert "ends where its inputs do: index_daily 000300.SH end 2025-12-31" in out.splitlines()[0]
    code, out, err = run(["study", "correlation", "--data", str(real_data_dir), "--start", "2026-01-05"], capsys)
    assert code == 1 and "index_daily 000300.SH end 2025-12-31" in err
