"""xladdin.data.views: code-based pivots equal pandas' pivot; sharing scope never leaks edits or stale data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data import views as sh
from xladdin.data.market import Market


def _market() -> Market:
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2024-01-01", periods=30)
    rows = [(d, s, float(rng.normal())) for d in days for s in ("600001.SH", "000002.SZ", "300003.SZ")
            if rng.random() > 0.2]
    sd = pd.DataFrame(rows, columns=["date", "stock", "close"])
    sd["amount"] = np.where(rng.random(len(sd)) > 0.1, rng.uniform(1, 2, len(sd)), np.nan)
    sd["float_mcap"] = 1.0
    w = pd.DataFrame([(d, ix, s, 0.5) for d in days[::10] for ix in ("000300.SH", "000905.SH")
                      for s in (("600001.SH", "000002.SZ") if ix == "000300.SH" else ("300003.SZ",))],
                     columns=["date", "index", "stock", "weight"])
    return Market({"stock_daily": sd, "index_weights": w}, source="test")


def _pandas(df, field, codes=None, end=None, where=None, columns="stock"):
    if codes is not None:
        df = df[df[columns].isin(codes)]
    if where is not None:
        df = df.loc[df[where[0]] == where[1]]
    if end is not None:
        df = df.loc[df["date"] <= pd.Timestamp(end)]
    return df.pivot(index="date", columns=columns, values=field).sort_index()


@pytest.mark.parametrize("inside", [False, True])
def test_pivot_equals_pandas(inside):
    m = _market()
    sd, w = m.table("stock_daily"), m.table("index_weights")
    cases = [("close", {}), ("amount", {}), ("close", {"codes": ["300003.SH", "000002.SZ", "X"]}),
             ("amount", {"end": "2024-01-20"})]
    ctx = sh.shared(m) if inside else sh.scope(Market({}))
    with ctx:
        for field, kw in cases:
            for _ in range(2):  # the second call is served from the cache inside the scope
                got = sh.pivot(m, "stock_daily", field, **kw)
                pd.testing.assert_frame_equal(got, _pandas(sd, field, **kw), check_exact=True)
        for ix in ("000300.SH", "000905.SH"):
            got = sh.pivot(m, "index_weights", "weight", columns="stock", where=("index", ix))
            pd.testing.assert_frame_equal(got, _pandas(w, "weight", where=("index", ix)), check_exact=True)


def test_pivot_duplicate_keys_raise_like_pandas():
    m = _market()
    sd = m.table("stock_daily")
    m.tables["stock_daily"] = pd.concat([sd, sd.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="duplicate"):
        sh.pivot(m, "stock_daily", "close")


def test_shared_values_are_copies_and_scoped():
    m = _market()
    calls = []

    def make():
        calls.append(1)
        return pd.DataFrame({"a": [1.0, 2.0]})

    assert sh.cached(m, ("k",), make).equals(sh.cached(m, ("k",), make))
    assert len(calls) == 2  # outside a scope nothing is kept
    with sh.shared(m):
        first = sh.cached(m, ("k",), make, ("stock_daily",))
        first.loc[0, "a"] = 99.0  # editing a handed-out frame leaves the shared value alone
        again = sh.cached(m, ("k",), make, ("stock_daily",))
        assert again.loc[0, "a"] == 1.0 and len(calls) == 3
        m.tables["stock_daily"] = m.tables["stock_daily"].copy()  # a replaced table is recomputed
        sh.cached(m, ("k",), make, ("stock_daily",))
        assert len(calls) == 4
        sh.pivot(m, "stock_daily", "close")
        sh.release(m, "stock_daily")
        assert not any(k[1] == "stock_daily" for k in sh._ACTIVE.get()[1] if k[0] == "pivot")
    assert not sh.active(m)


@pytest.mark.parametrize("inside", [False, True])
def test_pivot_start_and_at_dates_equal_pandas(inside):
    m = _market()  # sorted by date: date selections take row ranges and factorise the codes there only
    sd = m.table("stock_daily")
    days = sorted(sd["date"].unique())
    ctx = sh.shared(m) if inside else sh.scope(Market({}))
    with ctx:
        for kw in ({"start": days[5]}, {"start": days[5], "end": days[20]}, {"start": "2023-01-01"},
                   {"at": [days[3], days[9], pd.Timestamp("2030-01-01")]}, {"at": days[4:7], "codes": ["300003.SZ"]},
                   {"start": days[7], "codes": ["600001.SH", "000002.SZ"]}):
            got = sh.pivot(m, "stock_daily", "amount", **kw)
            sel = sd
            if "start" in kw:
                sel = sel.loc[sel["date"] >= pd.Timestamp(kw["start"])]
            if "at" in kw:
                sel = sel.loc[sel["date"].isin(pd.DatetimeIndex(kw["at"]))]
            want = _pandas(sel, "amount", codes=kw.get("codes"), end=kw.get("end"))
            pd.testing.assert_frame_equal(got, want, check_exact=True)
    # an unsorted table: the same result through the general path
    shuffled = Market({"stock_daily": sd.sample(frac=1.0, random_state=1).reset_index(drop=True)}, source="t")
    with sh.shared(shuffled):
        got = sh.pivot(shuffled, "stock_daily", "close", start=days[5], end=days[20])
    want = _pandas(sd.loc[sd["date"] >= days[5]], "close", end=days[20])
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_sorted_date_factorisation_equals_pandas():
    days = pd.Series(pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-05", "2024-01-05"]))
    codes, uniq = sh._factorize_values(days)
    want_codes, want_uniq = pd.factorize(days, sort=True)
    np.testing.assert_array_equal(codes, want_codes)
    pd.testing.assert_index_equal(pd.Index(uniq), pd.Index(want_uniq))
    assert sh._sorted_dates(days.iloc[::-1]) is None  # not sorted: pandas factorisation
    assert sh._sorted_dates(pd.Series([pd.NaT, pd.Timestamp("2024-01-02")])) is None


@pytest.mark.parametrize("inside", [False, True])
def test_pivots_from_the_loaders_codes_equal_pandas(inside):
    """Codes seeded by the loader (data.key_codes / seed_codes) give the same pivots as pandas, also
    over a date window, and stop being used once the column's data is replaced or edited."""
    from xladdin.data import key_codes, seed_codes
    m = _market()
    for name in ("stock_daily", "index_weights"):
        m.tables[name] = m.tables[name].astype({"stock": "str"} | ({"index": "str"} if name == "index_weights" else {}))
        codes = key_codes(name, m.tables[name])
        assert set(codes) == ({"stock"} if name == "stock_daily" else {"index", "stock"})
        want_codes, want_uniques = pd.factorize(m.tables[name]["stock"], sort=True)
        np.testing.assert_array_equal(codes["stock"][1], want_codes)
        assert list(codes["stock"][2]) == list(want_uniques)
        seed_codes(m, name, codes)
    assert sh._seeded(m, "stock_daily", "stock") is not None
    sd, w = m.table("stock_daily"), m.table("index_weights")
    ctx = sh.shared(m) if inside else sh.scope(Market({}))
    with ctx:
        for kw in ({}, {"start": "2024-01-10", "end": "2024-01-25"}, {"codes": ["000002.SZ"]}):
            got = sh.pivot(m, "stock_daily", "close", **kw)
            sub = sd if "start" not in kw else sd[sd["date"] >= pd.Timestamp(kw["start"])]
            pd.testing.assert_frame_equal(got, _pandas(sub, "close", codes=kw.get("codes"), end=kw.get("end")),
                                          check_exact=True)
        got = sh.pivot(m, "index_weights", "weight", columns="stock", where=("index", "000905.SH"))
        pd.testing.assert_frame_equal(got, _pandas(w, "weight", where=("index", "000905.SH")), check_exact=True)
    # an edit replaces the Arrow array: the seed is ignored and the pivot follows the new data
    m.tables["stock_daily"].loc[0, "stock"] = "688001.SH"
    assert sh._seeded(m, "stock_daily", "stock") is None
    got = sh.pivot(m, "stock_daily", "close")
    pd.testing.assert_frame_equal(got, _pandas(m.table("stock_daily"), "close"), check_exact=True)
    assert "688001.SH" in got.columns


def test_checks_with_and_without_codes_agree():
    from xladdin.data import check_table, finish_table, key_codes
    m = _market()
    sd = m.table("stock_daily").astype({"stock": "str"})
    dup = pd.concat([sd, sd.iloc[[5]]], ignore_index=True).sort_values(["date", "stock"], kind="stable")
    dup = dup.reset_index(drop=True)
    loc = lambda i, col=None: f"row {i}"  # noqa: E731
    plain = check_table("stock_daily", dup, loc, "f")
    assert any("duplicate key" in x for x in plain)
    assert check_table("stock_daily", dup, loc, "f", key_codes("stock_daily", dup)) == plain
    shuffled = sd.iloc[::-1].reset_index(drop=True)
    a = finish_table("stock_daily", shuffled)
    b = finish_table("stock_daily", shuffled, key_codes("stock_daily", shuffled))
    pd.testing.assert_frame_equal(a, b)
    assert a["date"].is_monotonic_increasing
    within_day = sd.sort_values(["date", "stock"], ascending=[True, False]).reset_index(drop=True)
    c = finish_table("stock_daily", within_day, key_codes("stock_daily", within_day))
    pd.testing.assert_frame_equal(c, finish_table("stock_daily", within_day))
    assert not c.equals(within_day)  # stocks were out of order within a day: sorted


def test_loader_codes_not_kept_for_a_table_it_sorted(tmp_path):
    """A file not in canonical order is sorted by the loader: the codes computed before the sort
    describe other rows and must not be kept (pivots factorise the sorted column instead)."""
    from xladdin.data import load_market, write_market
    m = _market()
    w = m.table("index_weights").sort_values(["date", "index", "stock"], ascending=[True, False, False])
    write_market(Market({"index_weights": w.reset_index(drop=True)}), tmp_path, fmt="parquet")
    loaded = load_market(tmp_path, validate=False)  # (the toy weights of 000905.SH sum to 0.5)
    assert sh._seeded(loaded, "index_weights", "stock") is None
    got = sh.pivot(loaded, "index_weights", "weight", columns="stock", where=("index", "000300.SH"))
    pd.testing.assert_frame_equal(got, _pandas(loaded.table("index_weights"), "weight", where=("index", "000300.SH")),
                                  check_exact=True)
    in_order = tmp_path / "ordered"
    write_market(Market({"index_weights": loaded.table("index_weights")}), in_order, fmt="parquet")
    assert sh._seeded(load_market(in_order, validate=False), "index_weights", "stock") is not None


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_last_date_skips_missing_dates_in_every_unit(unit):
    """Market.last_date: the latest date of the table's date column, missing dates skipped (NaT when all are
    missing), in the column's unit; read once per table inside a shared scope, again for a replaced table."""
    days = ["2024-03-01", None, "2024-03-05", "2024-02-29", None]
    sd = pd.DataFrame({"date": pd.to_datetime(days).astype(f"datetime64[{unit}]"), "stock": "600001.SH",
                       "close": 1.0})
    m = Market({"stock_daily": sd}, source="test")
    latest = max(dt.date() for dt in pd.to_datetime([d for d in days if d is not None]))
    got = m.last_date("stock_daily")
    assert got.date() == latest and got.unit == unit
    m.tables["stock_daily"] = sd.assign(date=pd.NaT)
    assert m.last_date("stock_daily") is pd.NaT
    m.tables["stock_daily"] = sd
    with sh.shared(m):
        assert m.last_date("stock_daily").date() == latest
        sd.loc[0, "date"] = pd.Timestamp("2024-12-31")  # an in-place edit inside the scope (not allowed) is not seen:
        assert m.last_date("stock_daily").date() == latest  # the date was read once
        m.tables["stock_daily"] = sd.copy()  # a replaced table is
        assert m.last_date("stock_daily") == pd.Timestamp("2024-12-31")
    assert m.last_date("stock_daily") == pd.Timestamp("2024-12-31")
    assert Market({"stock_daily": sd.iloc[:0]}).last_date("stock_daily") is None
