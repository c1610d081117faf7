"""Canonical data layer: long and wide loaders, every validation error, the real data, the CLI."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xladdin.data import load_market, validate_market, write_market
from xladdin.data.market import Market, MissingTableError
from xladdin.errors import DataError, ValidationFailed
from xladdin.ops.cli import main

ETF_DAILY = """date,etf,shares,nav,close,split_ratio
2024-01-02,510300.SH,100,3.5,3.51,1
2024-01-02,159919.SZ,50,3.6,3.6,1
2024-01-03,510300.SH,110,3.6,3.6,1
2024-01-03,159919.SZ,55,3.7,3.7,1
"""
ETF_INFO = """etf,name,tracked_index,category,list_date
510300.SH,华泰柏瑞沪深300ETF,000300.SH,broad,2012-05-28
159919.SZ,嘉实沪深300ETF,000300.SH,broad,2012-05-28
"""
WEIGHTS = """date,index,stock,weight
2023-12-29,000300.SH,600519.SH,0.6
2023-12-29,000300.SH,000001.SZ,0.4
"""


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        load_market(folder)
    return info.value.issues


# --------------------------------------------------------------------------- long form
def test_long_csv_loads_typed_and_sorted(tmp_path):
    m = load_market(write(tmp_path, etf_daily=ETF_DAILY, etf_info=ETF_INFO, index_weights=WEIGHTS))
    df = m.table("etf_daily")
    assert list(df.columns) == ["date", "etf", "shares", "nav", "close", "split_ratio"]
    assert pd.api.types.is_datetime64_any_dtype(df["date"])
    assert df["shares"].dtype == float
    assert m.etf_panel("shares").loc["2024-01-03", "510300.SH"] == 110
    assert m.etfs_tracking("000300.SH") == ["159919.SZ", "510300.SH"]
    assert not m.has("index_daily")
    with pytest.raises(MissingTableError, match="index_daily.csv"):
        m.index_close("000300.SH")


def test_optional_split_ratio_defaults_to_one(tmp_path):
    text = "date,etf,shares,nav,close\n2024-01-02,510300.SH,100,3.5,3.5\n"
    m = load_market(write(tmp_path, etf_daily=text))
    assert m.table("etf_daily")["split_ratio"].tolist() == [1.0]


def test_blank_nav_stays_missing_not_zero(tmp_path):
    text = "date,etf,shares,nav,close,split_ratio\n2024-01-02,510300.SH,100,,,1\n"
    m = load_market(write(tmp_path, etf_daily=text))
    assert np.isnan(m.table("etf_daily")["nav"].iloc[0])


# --------------------------------------------------------------------------- validation errors
def test_missing_column_names_file_and_column(tmp_path):
    text = "date,etf,shares,close\n2024-01-02,510300.SH,100,3.5\n"
    msgs = problems(write(tmp_path, etf_daily=text.replace("shares", "units")))
    assert any("column `shares` missing in etf_daily.csv" in m for m in msgs)


def test_non_numeric_value_names_row_and_column(tmp_path):
    msgs = problems(write(tmp_path, etf_daily=ETF_DAILY.replace("110,3.6", "11O,3.6")))
    assert msgs == ["etf_daily.csv row 4 column `shares`: `11O` is not a number"]


def test_bad_date(tmp_path):
    msgs = problems(write(tmp_path, etf_daily=ETF_DAILY.replace("2024-01-03,510300", "2024-13-45,510300")))
    assert any("etf_daily.csv row 4 column `date`: `2024-13-45` is not a date" in m for m in msgs)


def test_duplicate_key(tmp_path):
    msgs = problems(write(tmp_path, etf_daily=ETF_DAILY + "2024-01-03,510300.SH,120,3.6,3.6,1\n"))
    assert len(msgs) == 1
    assert "duplicate key (2024-01-03, 510300.SH)" in msgs[0]
    assert "etf_daily.csv row 4" in msgs[0] and "row 6" in msgs[0]


@pytest.mark.parametrize("col,bad", [("shares", "0"), ("shares", "-5"), ("nav", "-3.6")])
def test_non_positive_shares_or_nav(tmp_path, col, bad):
    text = ETF_DAILY.replace("2024-01-03,510300.SH,110,3.6", "2024-01-03,510300.SH," +
                             (f"{bad},3.6" if col == "shares" else f"110,{bad}"))
    msgs = problems(write(tmp_path, etf_daily=text))
    assert any(f"etf_daily.csv row 4 column `{col}`" in m and "must be > 0" in m for m in msgs)


def test_unsorted_dates(tmp_path):
    lines = ETF_DAILY.strip().split("\n")
    text = "\n".join([lines[0], lines[3], lines[2], lines[1], lines[4]]) + "\n"
    msgs = problems(write(tmp_path, etf_daily=text))
    assert any("2024-01-02 comes after 2024-01-03" in m and "510300.SH" in m and "sort" in m for m in msgs)


def test_weights_must_sum_to_one(tmp_path):
    msgs = problems(write(tmp_path, index_weights=WEIGHTS.replace("0.4", "0.3")))
    assert msgs == ["index_weights.csv: weights of 000300.SH on 2023-12-29 sum to 0.900000, not 1 (tolerance 0.001)"]
    # within 1e-3 is accepted (the real CSI 300 weights sum to 0.9993-1.0006)
    load_market(write(tmp_path / "ok", index_weights=WEIGHTS.replace("0.4", "0.4008")))


def test_unknown_category(tmp_path):
    msgs = problems(write(tmp_path, etf_info=ETF_INFO.replace("broad,2012-05-28\n159", "bond,2012-05-28\n159")))
    assert any("`bond` is not one of broad" in m for m in msgs)


def test_several_problems_all_reported(tmp_path):
    text = ETF_DAILY.replace("100,3.5", "x,3.5").replace("55,3.7", "55,-1")
    msgs = problems(write(tmp_path, etf_daily=text))
    assert len(msgs) == 2


def test_requested_table_missing_and_empty_folder(tmp_path):
    write(tmp_path, etf_info=ETF_INFO)
    with pytest.raises(DataError, match="etf_daily not found"):
        load_market(tmp_path, tables=["etf_daily"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no canonical tables"):
        load_market(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        load_market(tmp_path / "nope")


# --------------------------------------------------------------------------- wide form
def wide_frames():
    dates = ["2024-01-02", "2024-01-03"]
    shares = pd.DataFrame({"Date": dates, "510300.SH": [100, 110], "159919.SZ": [50, 55]})
    nav = pd.DataFrame({"Date": dates, "510300.SH": [3.5, 3.6], "159919.SZ": [3.6, 3.7]})
    close = pd.DataFrame({"Date": dates, "510300.SH": [3.51, 3.6], "159919.SZ": [3.6, 3.7]})
    return {"shares": shares, "nav": nav, "close": close}


def test_wide_xlsx_one_sheet_per_field_equals_long(tmp_path):
    with pd.ExcelWriter(tmp_path / "etf_daily.xlsx") as xw:
        for field, df in wide_frames().items():
            df.to_excel(xw, sheet_name=field, index=False)
    wide = load_market(tmp_path).table("etf_daily")
    long = load_market(write(tmp_path / "long", etf_daily=ETF_DAILY)).table("etf_daily")
    pd.testing.assert_frame_equal(wide, long, check_dtype=False)


def test_wide_csv_per_field_with_wind_header_rows(tmp_path):
    for field, df in wide_frames().items():
        # a Wind export: a name row under the codes, which is not a date and must be skipped
        names = pd.DataFrame([["名称", "沪深300ETF", "嘉实300"]], columns=df.columns)
        pd.concat([names, df]).to_csv(tmp_path / f"etf_daily.{field}.csv", index=False)
    df = load_market(tmp_path).table("etf_daily")
    assert len(df) == 4 and df["split_ratio"].eq(1).all()
    assert df.loc[(df.etf == "159919.SZ") & (df.date == "2024-01-03"), "shares"].item() == 55


def test_wide_error_names_sheet_and_cell(tmp_path):
    frames = wide_frames()
    frames["shares"] = frames["shares"].astype(object)
    frames["shares"].loc[1, "159919.SZ"] = "n/a"
    with pd.ExcelWriter(tmp_path / "etf_daily.xlsx") as xw:
        for field, df in frames.items():
            df.to_excel(xw, sheet_name=field, index=False)
    msgs = problems(tmp_path)
    assert msgs == ["etf_daily.xlsx sheet `shares` cell C3 column `shares`: `n/a` is not a number"]


def test_wide_unknown_field_sheet(tmp_path):
    with pd.ExcelWriter(tmp_path / "etf_daily.xlsx") as xw:
        wide_frames()["shares"].to_excel(xw, sheet_name="units", index=False)
    with pytest.raises(DataError, match="`units` is not a column of etf_daily"):
        load_market(tmp_path)


def test_single_workbook_with_long_and_wide_sheets(tmp_path):
    path = tmp_path / "market.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.read_csv(pd.io.common.StringIO(ETF_INFO)).to_excel(xw, sheet_name="etf_info", index=False)
        for field, df in wide_frames().items():
            df.to_excel(xw, sheet_name=f"etf_daily.{field}", index=False)
    m = load_market(path)
    assert set(m.tables) == {"etf_info", "etf_daily"}
    assert m.etf_info.loc["510300.SH", "tracked_index"] == "000300.SH"


# --------------------------------------------------------------------------- write / round trip
@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_write_and_reload_round_trip(tmp_path, fmt):
    m = load_market(write(tmp_path / "src", etf_daily=ETF_DAILY, etf_info=ETF_INFO, index_weights=WEIGHTS))
    write_market(m, tmp_path / fmt, fmt=fmt)
    back = load_market(tmp_path / fmt)
    for name in m.tables:
        pd.testing.assert_frame_equal(back.table(name), m.table(name), check_dtype=False)


def test_validate_market_in_memory():
    df = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-02"]), "index": ["X", "X"],
                       "stock": ["A", "B"], "weight": [0.5, 0.2]})
    msgs = validate_market(Market({"index_weights": df}))
    assert msgs and "sum to 0.700000" in msgs[0]


# --------------------------------------------------------------------------- real data
def test_real_canonical_data_loads_as_is(real_market):
    m = real_market
    assert set(m.tables) == {"etf_info", "etf_daily", "index_daily", "index_weights", "stock_industry", "industry_daily"}
    assert m.etfs_tracking("000300.SH") == ["159919.SZ", "510300.SH", "510310.SH", "510330.SH"]
    assert m.index_close("000300.SH").loc["2021-02-10"] == pytest.approx(5807.7191)
    assert m.industry_close().shape[1] == 30
    ed = m.table("etf_daily")
    assert len(ed) == 13366
    split = ed.loc[ed.split_ratio != 1, ["date", "etf", "split_ratio"]]
    assert set(zip(split.date.dt.strftime("%Y-%m-%d"), split.etf)) == {("2019-01-11", "159919.SZ"), ("2024-09-20", "510310.SH")}
    assert ed["nav"].isna().sum() > 0  # days nothing can price stay empty, not zero
    w = m.index_weights("000300.SH")
    assert w.groupby("date")["weight"].sum().between(0.999, 1.001).all()
    assert m.industry_names.loc["CI005021.WI"] == "银行"


# --------------------------------------------------------------------------- CLI
def test_cli_validate_ok_and_bad(tmp_path, capsys, real_data_dir):
    assert main(["validate", str(real_data_dir)]) == 0
    assert "OK, 6 table(s)" in capsys.readouterr().out
    bad = write(tmp_path, etf_daily=ETF_DAILY.replace("110,3.6", "-110,3.6"))
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "1 problem(s)" in out and "etf_daily.csv row 4 column `shares`: -110 must be > 0" in out


def test_cli_help_on_every_command(capsys):
    from xladdin.ops.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert "validate" in sub.choices
    for name, p in sub.choices.items():
        text = p.format_help()
        assert name in text and len(text) > 80


def test_duplicate_keys_found_in_date_sorted_and_unsorted_tables():
    """Both key-check paths (file in date order: counting; otherwise: sort) find the same duplicates."""
    from xladdin.data import check_table
    rng = np.random.default_rng(3)
    dates = pd.to_datetime(np.repeat(pd.bdate_range("2024-01-01", periods=40), 25))
    stocks = np.tile([f"{i:06d}.SZ" for i in range(25)], 40)
    df = pd.DataFrame({"date": dates, "stock": stocks, "close": 1.0 + rng.random(1000),
                       "amount": 1e6, "float_mcap": 1e9})
    df.loc[517, "stock"] = df.loc[516, "stock"]          # a duplicate inside one date
    sorted_msgs = check_table("stock_daily", df, lambda i, c=None: f"row {i}", "t.csv")
    shuffled = df.sort_values("stock", kind="stable").reset_index(drop=True)
    unsorted_msgs = check_table("stock_daily", shuffled, lambda i, c=None: f"row {i}", "t.csv")
    dup = [m for m in sorted_msgs if "duplicate key" in m]
    assert dup == [f"t.csv: duplicate key ({df.loc[516, 'date'].date()}, {df.loc[516, 'stock']}) in row 516, row 517"]
    assert any("duplicate key" in m for m in unsorted_msgs)


@pytest.mark.parametrize("swap", [None, (1, 2), (0, 3)])
def test_in_order_compares_rows_lexicographically(swap):
    from xladdin.data.keys import _in_order
    df = pd.DataFrame({"date": pd.to_datetime(["2024-01-02"] * 3 + ["2024-01-03"]),
                       "index": ["000300.SH", "000300.SH", "000905.SH", "000300.SH"],
                       "stock": ["600519.SH", "601318.SH", "000001.SZ", "000001.SZ"]})
    df = df.astype({"index": "str", "stock": "str"})
    if swap:
        i, j = swap
        order = list(range(4))
        order[i], order[j] = order[j], order[i]
        df = df.iloc[order].reset_index(drop=True)
    assert _in_order(df, ["date", "index", "stock"]) is (swap is None)
    assert _in_order(df.astype({"index": object, "stock": object}), ["date", "index", "stock"]) is (swap is None)


@pytest.mark.parametrize("seed", range(40))
def test_the_key_checks_prove_canonical_order_only_when_it_holds(seed):
    """``check_table_order`` says "in order" (so ``finish_table`` skips its own check) only for rows sorted by
    (date, index, stock) as Python sorts the tuples (written here, independently); and ``finish_table`` then gives
    the same frame as when it checks the order itself."""
    from xladdin.data.keys import check_table_order, finish_table, key_codes
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 30))
    dates = pd.to_datetime("2024-01-02") + pd.to_timedelta(rng.integers(0, 3, n), unit="D")
    df = pd.DataFrame({"date": dates, "index": rng.choice(["000300.SH", "000905.SH"], n),
                       "stock": rng.choice(["600519.SH", "601318.SH", "000001.SZ", "000002.SZ"], n),
                       "weight": 0.5})
    if seed % 3:  # mostly canonical order, with a duplicate or a swap now and then
        df = df.sort_values(["date", "index", "stock"], kind="stable").drop_duplicates(["date", "index", "stock"])
        if seed % 5 == 0 and len(df) > 2:
            order = list(range(len(df)))
            order[1], order[2] = order[2], order[1]
            df = df.iloc[order]
    if seed % 7 == 0:
        df.loc[df.index[0], "date"] = pd.NaT
    df = df.reset_index(drop=True).astype({"index": "str", "stock": "str"})
    codes = key_codes("index_weights", df)
    _, proved = check_table_order("index_weights", df, lambda i, c=None: f"row {i}", "t.csv", codes)
    rows = [(d.value if not pd.isna(d) else None, i, s) for d, i, s in zip(df["date"], df["index"], df["stock"])]
    sorted_strictly = all(a[0] is not None and b[0] is not None and a < b for a, b in zip(rows, rows[1:]))
    assert proved == (sorted_strictly and len(df) > 1)
    pd.testing.assert_frame_equal(finish_table("index_weights", df, codes, proved), finish_table("index_weights", df, codes))


def test_the_order_proof_needs_the_sorted_codes_of_every_key_column():
    """Without the sorted codes of a key column (numbered in order of appearance instead), increasing codes prove
    nothing about the text order: no proof, and ``finish_table`` sorts."""
    from xladdin.data.keys import check_table_order, finish_table
    df = pd.DataFrame({"date": pd.to_datetime(["2024-01-02"] * 2), "index": ["000905.SH", "000300.SH"],
                       "stock": ["600519.SH", "600519.SH"], "weight": 1.0}).astype({"index": "str", "stock": "str"})
    issues, proved = check_table_order("index_weights", df, lambda i, c=None: f"row {i}", "t.csv", codes={})
    assert not proved and not [m for m in issues if "duplicate" in m]
    assert finish_table("index_weights", df, {}, proved)["index"].tolist() == ["000300.SH", "000905.SH"]


def test_clean_csv_typed_read_strips_codes_and_gives_their_codes(tmp_path):
    """The pyarrow read of a clean CSV: BOM, spaces around codes, empty numbers; its codes equal
    pd.factorize(sort=True) of the stripped column, and a bad number falls back to the text read
    that names the line."""
    from xladdin.data import coerce_table, read_table_files
    path = tmp_path / "index_daily.csv"
    path.write_bytes("\ufeffdate,index,close\n2024-01-02, 000300.SH ,3400.5\n2024-01-02,000905.SH,\n"
                     "2024-01-03,000300.SH,3410\n2024-01-03,000905.SH ,5100\n".encode("utf-8"))
    raw = read_table_files(tmp_path, "index_daily")
    assert set(raw.codes) == {"index"} and raw.stripped == ("index",)
    df, problems = coerce_table(raw)
    assert any("close" in p and "empty" in p for p in problems)  # the empty close is reported
    assert df["index"].tolist() == ["000300.SH", "000905.SH", "000300.SH", "000905.SH"]
    assert str(df["date"].dtype) == "datetime64[ns]"
    arr, codes, uniques = raw.codes["index"]
    want, wu = pd.factorize(df["index"], sort=True)
    np.testing.assert_array_equal(codes, want)
    assert list(uniques) == list(wu)
    path.write_text("date,index,close\n2024-01-02,000300.SH,3400.5\n2024-01-03,000300.SH,abc\n", encoding="utf-8")
    raw = read_table_files(tmp_path, "index_daily")
    assert raw.codes == {}
    _, problems = coerce_table(raw)
    assert any("index_daily.csv row 3" in p and "`abc` is not a number" in p for p in problems)


# --------------------------------------------------------------------------- industry volume and amount (M14)
INDUSTRY = """date,industry,close,volume,amount
2024-01-02,CI005001.WI,2500.5,3028263929,21000000000
2024-01-02,CI005002.WI,3100.0,,
2024-01-03,CI005001.WI,2512.25,2535942866,19500000000.5
2024-01-03,CI005002.WI,3110.0,1200000000,
"""


def _industry_expected() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03"]),
                         "industry": ["CI005001.WI", "CI005002.WI", "CI005001.WI", "CI005002.WI"],
                         "close": [2500.5, 3100.0, 2512.25, 3110.0],
                         "volume": [3028263929.0, np.nan, 2535942866.0, 1200000000.0],
                         "amount": [21000000000.0, np.nan, 19500000000.5, np.nan]})


def _same_industry(df: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(df, _industry_expected(), check_dtype=False)
    assert df["volume"].dtype == float and df["amount"].dtype == float


@pytest.mark.parametrize("how", ["csv", "csv_text", "parquet", "xlsx", "wide_csv", "wide_xlsx", "workbook"])
def test_industry_volume_and_amount_are_read_by_every_reader(tmp_path, how):
    """Blank volume or amount stays missing (never 0) in every form the loader reads."""
    exp = _industry_expected()
    if how == "csv":
        write(tmp_path, industry_daily=INDUSTRY)
    elif how == "csv_text":  # a date format the typed reader leaves to the text reader
        write(tmp_path, industry_daily=INDUSTRY.replace("2024-01-0", "2024/1/"))
    elif how == "parquet":
        exp.to_parquet(tmp_path / "industry_daily.parquet", index=False)
    elif how == "xlsx":
        exp.assign(date=exp["date"].dt.strftime("%Y-%m-%d")).to_excel(tmp_path / "industry_daily.xlsx", index=False)
    else:
        wide = {f: exp.pivot(index="date", columns="industry", values=f).rename_axis(None, axis=1).reset_index()
                for f in ("close", "volume", "amount")}
        if how == "wide_csv":
            for f, df in wide.items():
                df.to_csv(tmp_path / f"industry_daily.{f}.csv", index=False)
        else:
            path = tmp_path / ("industry_daily.xlsx" if how == "wide_xlsx" else "market.xlsx")
            with pd.ExcelWriter(path) as xw:
                for f, df in wide.items():
                    df.to_excel(xw, sheet_name=f if how == "wide_xlsx" else f"industry_daily.{f}", index=False)
    src = tmp_path / "market.xlsx" if how == "workbook" else tmp_path
    m = load_market(src)
    _same_industry(m.table("industry_daily"))
    assert m.panel("industry_daily", "volume").loc["2024-01-03", "CI005002.WI"] == 1.2e9


def test_industry_daily_without_volume_or_amount_loads_as_before(tmp_path):
    text = "date,industry,close\n2024-01-02,CI005001.WI,2500.5\n"
    m = load_market(write(tmp_path, industry_daily=text))
    assert list(m.table("industry_daily").columns) == ["date", "industry", "close"]
    assert m.absent["industry_daily"] == ("volume", "amount") and m.warnings == []


@pytest.mark.parametrize("col, bad, message", [
    ("volume", "-5", "row 3 column `volume`: -5 is negative; `volume` is a count of shares or units (>= 0)"),
    ("amount", "-0.5", "row 3 column `amount`: -0.5 is negative; `amount` is an amount in yuan (>= 0)"),
    ("volume", "inf", "row 3 column `volume`: inf is not a finite number of plausible size"),
    ("amount", "1e300", "row 3 column `amount`: 1e+300 is not a finite number of plausible size"),
])
def test_industry_volume_and_amount_must_be_finite_and_not_negative(tmp_path, col, bad, message):
    lines = INDUSTRY.splitlines()
    header = lines[0].split(",")
    parts = lines[2].split(",")
    parts[header.index(col)] = bad
    lines[2] = ",".join(parts)
    msgs = problems(write(tmp_path, industry_daily="\n".join(lines) + "\n"))
    assert msgs == [f"industry_daily.csv {message}" + ("" if "negative" in message else " (|x| <= 1e+15)")]
    frame = _industry_expected()
    frame.loc[1, col] = -1.0
    what = {"volume": "a count of shares or units (>= 0)", "amount": "an amount in yuan (>= 0)"}[col]
    assert validate_market(Market({"industry_daily": frame})) == [
        f"industry_daily row 2 column `{col}`: -1 is negative; `{col}` is {what}"]


def test_real_industry_volume(real_market):
    df = real_market.table("industry_daily")
    assert "amount" not in df.columns and df["volume"].notna().sum() == 72442
    assert df.loc[df["volume"].notna(), "date"].max() == pd.Timestamp("2024-12-31")
    assert df.loc[(df.date == "2015-01-05") & (df.industry == "CI005001.WI"), "volume"].item() == 3028263929
