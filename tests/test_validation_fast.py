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


def _naive_split_errors(df: pd.DataFrame) -> list[str]:
    """The split-day rule, row by row: each ETF's rows by date (then file order), ETFs in the order they first
    appear (rows without a code first, as one group); a split row (ratio finite, > 0, != 1) is an error unless
    the log share change from the row before lies on the ratio's side within half of |log ratio|."""
    import math

    def confirms(prev: float, cur: float, ratio: float) -> bool:
        if not (prev > 0 and cur > 0):
            return False
        step, lr = math.log(cur / prev), math.log(ratio)
        return (step > 0) == (lr > 0) and step != 0 and abs(step - lr) < abs(lr) / 2

    first: dict = {}
    for i, code in enumerate(df["etf"]):
        first.setdefault(None if pd.isna(code) else code, i)
    groups = sorted(first, key=lambda c: (c is not None, first[c]))
    seq = []
    for code in groups:
        rows = [i for i, c in enumerate(df["etf"]) if (None if pd.isna(c) else c) == code]
        seq += [(code, i) for i in sorted(rows, key=lambda i: (df["date"].iloc[i], i))]
    out, bad = [], 0
    for k, (code, i) in enumerate(seq):
        ratio = df["split_ratio"].iloc[i]
        if not (np.isfinite(ratio) and ratio > 0 and ratio != 1):
            continue
        prev = seq[k - 1][1] if k and seq[k - 1][0] == code else None
        shares = df["shares"]
        if prev is not None and confirms(shares.iloc[prev], shares.iloc[i], ratio):
            continue
        bad += 1
        if bad > 20:
            continue
        if prev is None or not (shares.iloc[prev] > 0 and shares.iloc[i] > 0):
            moved = "had no row the day before"
        else:
            moved = f"moved by {np.exp(np.log(shares.iloc[i]) - np.log(shares.iloc[prev])):.4g}x"
        near = None
        if prev is not None and k >= 2 and seq[k - 2][0] == code and confirms(shares.iloc[seq[k - 2][1]],
                                                                               shares.iloc[prev], ratio):
            near = prev
        elif k + 1 < len(seq) and seq[k + 1][0] == code and confirms(shares.iloc[i], shares.iloc[seq[k + 1][1]], ratio):
            near = seq[k + 1][1]
        fix = (f"they moved by it on {df['date'].iloc[near].date()}: record the split on the shares' day (with "
               "post-split nav and close there)" if near is not None else
               "a split_ratio is new units per old unit on a split or consolidation day (1 on every other day), not "
               "a price adjustment factor; put 1 here if there was no split")
        out.append(f"row {i + 2}: split_ratio {ratio:g} of {df['etf'].iloc[i]} on {df['date'].iloc[i].date()}, but "
                   f"its shares {moved}: {fix} (M1 would set that day's flow to 0)")
    if bad > 20:
        out.append(f"... {bad - 20} more split ratios without a matching share change")
    return out


@pytest.mark.parametrize("seed", range(6))
def test_split_days_of_a_shuffled_table_match_a_row_by_row_check(seed):
    """check_split_days looks only at the rows of the ETFs with a split row: the same messages, in the same order,
    as the rule applied row by row to the whole table (real splits, splits recorded a day off, adjustment
    factors, rows without a code or shares, repeated rows, more than 20 errors)."""
    from xladdin.data.checks import check_split_days
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2024-01-01", periods=12)
    parts = []
    for e in range(int(rng.integers(20, 60))):
        shares = 1e9 * np.cumprod(np.exp(rng.normal(0, 0.01, len(dates))))
        ratio = np.ones(len(dates))
        if rng.random() < 0.3:
            k, r = int(rng.integers(1, len(dates))), float(rng.choice([0.5, 2.0, 1.05, 1e6]))
            shares[k:] *= r if r != 1e6 else 1
            ratio[min(len(dates) - 1, k + int(rng.integers(-1, 2)))] = r
        parts.append(pd.DataFrame({"date": dates, "etf": f"{510000 + e}.SH", "shares": shares, "split_ratio": ratio}))
    df = pd.concat(parts, ignore_index=True)
    df.loc[rng.random(len(df)) < 0.02, "etf"] = None
    df.loc[rng.random(len(df)) < 0.02, "shares"] = np.nan
    df = pd.concat([df, df.sample(5, random_state=seed)]).sample(frac=1, random_state=seed).reset_index(drop=True)
    df["etf"] = df["etf"].astype("str")
    df.loc[df["etf"] == "None", "etf"] = np.nan
    got = check_split_days("etf_daily", df, _loc)
    assert got == _naive_split_errors(df)
    assert got, "the case has split errors"


def _spoiled_copy(tiny_dir, tmp_path):
    """The tiny sample's CSVs with an error in four tables and a warning in one (an empty code is an error)."""
    import shutil
    folder = tmp_path / "data"
    shutil.copytree(tiny_dir, folder)
    def edit(name, fn):
        p = folder / f"{name}.csv"
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        fn(df)
        df.to_csv(p, index=False)
    edit("stock_daily", lambda df: df.__setitem__("close", df["close"].where(df.index != 5, "abc")))
    edit("margin_daily", lambda df: df.__setitem__("financing_balance",
                                                    df["financing_balance"].where(df.index != 3, "-5")))
    edit("index_daily", lambda df: df.__setitem__("date", df["date"].where(df.index != 2, "2026-13-01")))
    edit("northbound_holdings", lambda df: df.__setitem__("stock", df["stock"].where(df.index != 4, "")))
    return folder


@pytest.mark.parametrize("spoiled", [False, True])
def test_typing_tables_two_at_a_time_gives_the_market_and_messages_of_one_at_a_time(tiny_dir, tmp_path, monkeypatch,
                                                                                     spoiled):
    """``type_tables`` types the tables after the masters in two threads (``TYPE_THREADS``): the same tables,
    errors and warnings, in the same order, and progress in the tables' order, as typing one at a time; and the
    threads do run (the check cannot pass by typing everything in this thread)."""
    import threading

    from xladdin.data import loaders, typed as typed_mod
    from xladdin.data.readers import read_table_files, table_files
    from xladdin.data.schema import TABLES
    from xladdin.data.typed import type_order
    from xladdin.errors import ValidationFailed
    folder = _spoiled_copy(tiny_dir, tmp_path) if spoiled else tiny_dir
    ran_in = set()
    real = typed_mod.type_table

    def spy(name, *args, **kw):
        ran_in.add(threading.current_thread().name.split("_")[0])
        return real(name, *args, **kw)
    monkeypatch.setattr(loaders, "type_table", spy)

    def load(threads: int):
        monkeypatch.setattr(loaders, "TYPE_THREADS", threads)
        raws = {n: read_table_files(folder, n) for n in TABLES if table_files(folder, n)}
        seen: list[str] = []
        try:
            market = loaders.type_tables(raws, str(folder), progress=seen.append, log_warnings=False)
        except ValidationFailed as exc:
            return None, exc.issues, exc.warnings, seen
        return market, None, market.warnings, seen
    one = load(1)
    assert ran_in == {threading.current_thread().name.split("_")[0]}
    ran_in.clear()
    two = load(2)
    assert "xladdin-type" in ran_in
    assert one[3] == two[3] == type_order(TABLES)
    assert one[1] == two[1] and one[2] == two[2]
    if spoiled:
        assert len(one[1]) >= 4
        for table in ("stock_daily", "margin_daily", "index_daily", "northbound_holdings"):
            assert any(table in m for m in one[1]), table
    else:
        a, b = one[0], two[0]
        assert list(a.tables) == list(b.tables) and a.flagged.keys() == b.flagged.keys()
        for name in a.tables:
            pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True, obj=name)
