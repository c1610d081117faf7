"""CLI: ``xladdin crowding`` (M14) on the real CITIC data, the embedded sample and a folder without volume."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from xladdin.data import write_market
from xladdin.methods import crowding as M
from xladdin.ops.cli import main


def run_json(capsys, argv: list[str]) -> list[dict]:
    assert main(["crowding", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_on_the_real_data_is_the_spec_table(capsys, real_data_dir, real_market):
    rows = run_json(capsys, ["--data", str(real_data_dir), "--asof", "2021-06-27"])  # a Sunday: that week's Friday
    assert [tuple(r) for r in rows] == [(
        "industry", "name", "heat_pct", "divergence", "dispersion_pct", "crowded", "reasons", "sample")] * 30
    assert not any(r["sample"] for r in rows)  # real data
    res = M.market_crowding(real_market, "2021-06-25")
    assert res.asof == pd.Timestamp("2021-06-25")
    for row, (_, ref) in zip(rows, res.table.iterrows(), strict=True):
        assert row["industry"] == ref["industry"] and row["name"] == ref["name"]
        assert row["heat_pct"] == pytest.approx(ref["heat_pct"], rel=1e-15) and 0 < row["heat_pct"] <= 1
        assert row["dispersion_pct"] is None  # no stock prices in the real data: blank, not 0
        assert row["divergence"] in (None, "volume_up_price_down", "price_up_volume_down")
        assert row["crowded"] is (ref["crowded"] == 1)
        assert "dispersion: no constituent prices" in row["reasons"]
    assert [r["name"] for r in rows if r["crowded"]] == ["基础化工"]


def test_json_after_the_volume_ends_has_blank_flags_with_reasons(capsys, real_data_dir):
    rows = run_json(capsys, ["--data", str(real_data_dir)])
    assert all(r["heat_pct"] is None and r["divergence"] is None and not r["crowded"] for r in rows)
    assert rows[0]["reasons"][:2] == ["heat: no volume data after 2024-12-31",
                                      "divergence: no volume data after 2024-12-31"]


def test_text_csv_and_json_on_the_sample(capsys, tmp_path, sample_market):
    out = tmp_path / "crowding.csv"
    assert main(["crowding", "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    res = M.market_crowding(sample_market)
    n = int((res.table["crowded"] == 1).sum())
    assert f"Industry crowding (M14) on {res.asof:%Y-%m-%d}, source sample: {n} of 30 industries crowded" in text
    assert "share of the traded amount" in text and n > 0
    csv = pd.read_csv(out, encoding="utf-8-sig")
    assert list(csv.columns) == M.TABLE_COLUMNS and len(csv) == 30
    np.testing.assert_allclose(csv["dispersion_pct"], res.table["dispersion_pct"], rtol=1e-12)
    rows = run_json(capsys, [])
    kinds = {r["divergence"] for r in rows}
    assert kinds <= {None, "volume_up_price_down", "price_up_volume_down"}
    assert any(r["dispersion_pct"] is not None for r in rows)
    assert sum(r["crowded"] for r in rows) == n


def test_parameters_change_the_flags(capsys):
    strict = run_json(capsys, ["--crowding-heat-flag", "1", "--crowding-dispersion-flag", "0",
                               "--crowding-price-move", "1", "--crowding-volume-move", "10"])
    assert not any(r["crowded"] for r in strict)
    loose = run_json(capsys, ["--crowding-heat-flag", "0"])
    assert all(r["crowded"] for r in loose if r["heat_pct"] is not None)


def test_folder_without_volume_or_stocks(capsys, tmp_path, make_dashboard_market):
    write_market(make_dashboard_market(), tmp_path)  # industry closes only (and stocks: 2 a industry)
    rows = run_json(capsys, ["--data", str(tmp_path)])
    assert len(rows) == 3 and not any(r["crowded"] for r in rows)
    assert rows[0]["reasons"] == ["heat: no volume data", "divergence: no volume data",
                                  "dispersion: 2 constituents with a 20-day return (needs 10)"]


def test_errors_are_one_message(capsys, real_data_dir):
    assert main(["crowding", "--data", str(real_data_dir), "--measure", "amount"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("xladdin crowding: error: industry_daily has no `amount` values")
    assert main(["crowding", "--asof", "2001-01-05"]) == 1
    assert "no date on or before 2001-01-05" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["crowding", "--help"])
    assert "--crowding-heat-flag" in capsys.readouterr().out


def test_a_date_past_the_industry_closes_is_dated_by_them(capsys, real_data_dir):
    """Asked for 2026-08-21 (etf_daily's end) the table is of 2025-12-31, the last industry close, and the
    header says which input ends it; asked for its own last date, nothing is named."""
    assert main(["crowding", "--data", str(real_data_dir), "--asof", "2026-08-21"]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert head.startswith("Industry crowding (M14) on 2025-12-31") and "industry_daily end 2025-12-31" in head
    assert main(["crowding", "--data", str(real_data_dir)]) == 0
    assert "Ends where its inputs do" not in capsys.readouterr().out.splitlines()[0]
