"""The vectorised fast paths of the loader's checks (issue 14) catch what the per-group checks catch.

Each fast path only proves a table clean (no repeated key within a date, every index's weights summing
to 1, no empty code); when it cannot, the per-date / per-group check runs and names the rows. These
tests give each rule a table in canonical (date, then code) order, the order the fast paths take, and
compare the messages with those of the same table through the general path (shuffled rows, or no
codes), written out by hand.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data import check_table, key_codes, load_market


def _loc(i, col=None):
    return f"row {i + 2}"


def _weights(sums: dict[str, float], dup: bool = False) -> pd.DataFrame:
    """index_weights on two dates, two indices, three stocks each; index A's weights on the last date
    scaled to sum to ``sums``; with ``dup`` a (date, index, stock) row repeated next to its twin."""
    rows = []
    for d in ("2024-01-31", "2024-02-29"):
        for idx in ("000300.SH", "000905.SH"):
            total = sums.get(idx, 1.0) if d == "2024-02-29" else 1.0
            for stock, w in (("600000.SH", 0.5), ("600001.SH", 0.3), ("600002.SH", 0.2)):
                rows.append((pd.Timestamp(d), idx, stock, w * total))
    df = pd.DataFrame(rows, columns=["date", "index", "stock", "weight"])
    if dup:
        df = pd.concat([df.iloc[:8], df.iloc[[7]], df.iloc[8:]], ignore_index=True)
    return df.astype({"index": "str", "stock": "str"})


def test_repeated_key_of_a_multi_column_entity_is_found_in_canonical_order():
    df = _weights({}, dup=True)
    with_codes = check_table("index_weights", df, _loc, "w.csv", key_codes("index_weights", df))
    assert with_codes == check_table("index_weights", df, _loc, "w.csv")
    assert with_codes == ["w.csv: duplicate key (2024-02-29, 000300.SH, 600001.SH) in row 9, row 10",
                          "w.csv: weights of 000300.SH on 2024-02-29 sum to 1.300000, not 1 (tolerance 0.001)"]
    clean = _weights({})
    assert check_table("index_weights", clean, _loc, "w.csv", key_codes("index_weights", clean)) == []


@pytest.mark.parametrize("total,flagged", [(1.0009, False), (0.9991, False), (1.0011, True), (0.9989, True),
                                           (1.001, False)])
def test_weight_sums_at_the_tolerance(total, flagged):
    df = _weights({"000300.SH": total})
    expected = df.groupby(["index", "date"])["weight"].sum()
    off = expected[(expected - 1).abs() > 1e-3]
    assert len(off) == int(flagged)
    got = check_table("index_weights", df, _loc, "w.csv", key_codes("index_weights", df))
    within_dates = df.sort_values(["date", "index"], ascending=[True, False], kind="stable").reset_index(drop=True)
    assert got == check_table("index_weights", within_dates, _loc, "w.csv")
    assert got == ([f"w.csv: weights of 000300.SH on 2024-02-29 sum to {off.iloc[0]:.6f}, not 1 (tolerance 0.001)"]
                   if flagged else [])


def test_missing_weight_is_reported(tmp_path):
    df = _weights({})
    df.loc[4, "weight"] = np.nan
    df.to_parquet(tmp_path / "index_weights.parquet", index=False)
    with pytest.raises(Exception) as exc:
        load_market(tmp_path)
    text = str(exc.value)
    assert "index_weights.parquet row 6 column `weight`: value is empty" in text
    assert "weights of 000905.SH on 2024-01-31 sum to 0.700000" in text


def test_empty_code_in_a_parquet_file_is_reported(tmp_path):
    df = _weights({})
    df.loc[2, "stock"] = ""
    df.to_parquet(tmp_path / "index_weights.parquet", index=False)
    with pytest.raises(Exception) as exc:
        load_market(tmp_path)
    assert "index_weights.parquet row 4 column `stock`: empty code" in str(exc.value)
