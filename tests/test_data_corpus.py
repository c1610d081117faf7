"""Corpus of corrupted data files: one corruption per rule, on every table it applies to.

Each case copies the table files it needs from a small clean market (``tiny_dir`` in conftest),
corrupts one of them, runs ``xladdin validate`` in-process and checks the exit code (1 for an error,
0 for warnings alone) and that the message names the file, and the row and column where there is
one. Commands that consume a corrupted table, and the weekly job's as-of date, are checked at the end.
"""
from __future__ import annotations

import codecs
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xladdin.data import load_market
from xladdin.data.checks import CODE_COLUMNS
from xladdin.data.schema import TABLES
from xladdin.ops.cli import main

DAILY = ("etf_daily", "index_daily", "industry_daily", "fund_nav", "margin_daily", "stock_daily")
DATED = [t for t, s in TABLES.items() if s.date_cols]
NUMERIC = [t for t, s in TABLES.items() if s.numeric]
CODED = [t for t, s in TABLES.items() if any(c in CODE_COLUMNS for c in s.columns)]
#: the tables each rule is tried on in the fast subset (-m "not slow"); the whole suite tries every table
FAST_TABLES = ("etf_daily", "etf_info", "stock_industry")
ROW = 3                 # the corrupted row (position in the frame) ...
LINE = ROW + 2          # ... is this line of the file (header = line 1)


# ----------------------------------------------------------------------------- helpers
def tables(cases) -> list:
    """Parameters over tables (a name, or a tuple whose first item is one): a table outside
    :data:`FAST_TABLES` is marked ``slow``."""
    out = []
    for c in cases:
        table = c[0] if isinstance(c, tuple) else c
        out.append(c if table in FAST_TABLES else pytest.param(*(c if isinstance(c, tuple) else (c,)),
                                                               marks=pytest.mark.slow))
    return out


def cli(argv: list[str], capsys) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    got = capsys.readouterr()
    return rc, got.out + got.err


def case(tiny_dir: Path, tmp_path: Path, *tables: str) -> Path:
    """A folder with copies of ``tables``' clean CSV files."""
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    for t in tables:
        shutil.copy(tiny_dir / f"{t}.csv", folder / f"{t}.csv")
    return folder


def frame(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def save(df: pd.DataFrame, folder: Path, table: str) -> None:
    df.to_csv(folder / f"{table}.csv", index=False)


def set_cell(folder: Path, table: str, col: str, value: str, row: int = ROW) -> None:
    df = frame(folder, table)
    df.loc[row, col] = value
    save(df, folder, table)


def validate(folder: Path, capsys) -> tuple[int, str]:
    return cli(["validate", folder], capsys)


def code_col(table: str) -> str:
    return next(c for c in TABLES[table].columns if c in CODE_COLUMNS)


def at(table: str, col: str, line: int = LINE) -> str:
    return f"{table}.csv row {line} column `{col}`"


# ----------------------------------------------------------------------------- the clean corpus
def test_clean_corpus_validates_without_warning(tiny_dir, capsys):
    rc, out = validate(tiny_dir, capsys)
    assert rc == 0, out
    assert "OK, 12 table(s)" in out and "warning" not in out


# ----------------------------------------------------------------------------- reading: every table
def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    return buf.getvalue()


@pytest.mark.parametrize("table", tables(list(TABLES)))
@pytest.mark.parametrize("rule, expect", [
    ("zero-byte", "{t}.csv: the file is empty (0 bytes)"),
    ("garbage", "{t}.csv: not UTF-8, GBK or UTF-16 text (byte 0x"),
    ("latin-1", "{t}.csv: not UTF-8, GBK or UTF-16 text (byte 0xe9 at offset {n})"),
    ("zip-named-csv", "{t}.csv: this is an Excel workbook or another zip file, not CSV text"),
    ("xls-named-csv", "{t}.csv: this is an Excel 97-2003 .xls file or a password-protected workbook, not CSV"),
    ("csv-named-xlsx", "{t}.xlsx: not an .xlsx workbook (no zip container)"),
    ("csv-named-parquet", "{t}.parquet: not a parquet file"),
    ("ragged-row", "{t}.csv: not a well-formed CSV"),
    ("blank-lines-only", "{t}.csv: no header row"),
])
def test_unreadable_file_is_named(tiny_dir, tmp_path, capsys, table, rule, expect):
    folder = case(tiny_dir, tmp_path, table)
    p = folder / f"{table}.csv"
    clean = p.read_bytes()
    n = 0
    if rule == "zero-byte":
        p.write_bytes(b"")
    elif rule == "garbage":
        p.write_bytes(np.random.default_rng(7).integers(128, 256, 3000, dtype=np.uint8).tobytes())
    elif rule == "latin-1":
        n = len(clean) + len("x,caf")
        p.write_bytes(clean + "x,café\n".encode("latin-1"))
    elif rule == "zip-named-csv":
        p.write_bytes(_zip_bytes())
    elif rule == "xls-named-csv":
        p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    elif rule == "csv-named-xlsx":
        p.rename(p.with_suffix(".xlsx"))
    elif rule == "csv-named-parquet":
        p.rename(p.with_suffix(".parquet"))
    elif rule == "ragged-row":
        lines = clean.decode().splitlines()
        lines[ROW + 1] += ",1,2"
        p.write_text("\n".join(lines) + "\n")
    elif rule == "blank-lines-only":
        p.write_bytes(b"\n\n\n")
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert expect.format(t=table, n=n) in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize("table", tables(list(TABLES)))
def test_header_only_table_is_a_warning(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    p = folder / f"{table}.csv"
    p.write_text(p.read_text().splitlines()[0] + "\n")
    rc, out = validate(folder, capsys)
    assert rc == 0, out
    assert f"{table}.csv: no data rows (a header only)" in out


ENCODINGS = ["utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-be-bom", "utf-16-tabs"]


@pytest.mark.parametrize("table, encoding", tables([(t, e) for t in TABLES for e in ("gbk", "utf-16")]
                          + [(t, e) for t in ("etf_info", "stock_industry") for e in ENCODINGS if e not in ("gbk", "utf-16")]))
def test_encodings_give_the_same_table(tiny_dir, tmp_path, capsys, table, encoding):
    folder = case(tiny_dir, tmp_path, table)
    p = folder / f"{table}.csv"
    text = p.read_text(encoding="utf-8")
    if encoding == "utf-16-be-bom":
        p.write_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    elif encoding == "utf-16-tabs":  # Excel's "Unicode text": UTF-16 LE with BOM, tab-separated
        p.write_text(text.replace(",", "\t"), encoding="utf-16")
    else:
        p.write_text(text, encoding=encoding)
    assert p.read_bytes() != text.encode("utf-8") or encoding in ("gbk", "gb18030")
    got = load_market(folder).tables[table]
    pd.testing.assert_frame_equal(got, load_market(tiny_dir, tables=[table]).tables[table])
    rc, out = validate(folder, capsys)
    assert rc == 0 and "warning" not in out, out


def test_gbk_text_after_the_first_64_kib_is_read(tiny_dir, tmp_path):
    """The encoding is sniffed from the file's start; a GBK name further down is still decoded right."""
    folder = tmp_path / "data"
    folder.mkdir()
    info = pd.read_csv(tiny_dir / "etf_info.csv", dtype=str, keep_default_na=False)
    padding = pd.DataFrame({"etf": [f"{500000 + i}.SH" for i in range(3000)], "name": "ETF" * 10,
                            "tracked_index": "000300.SH", "category": "broad", "list_date": "2012-05-28"})
    full = pd.concat([padding, info], ignore_index=True)
    (folder / "etf_info.csv").write_bytes(full.to_csv(index=False).encode("gbk"))
    assert full.to_csv(index=False).encode("gbk").find(info["name"].iloc[0].encode("gbk")) > 1 << 16
    got = load_market(folder).tables["etf_info"].set_index("etf")
    assert got.loc[info["etf"], "name"].tolist() == info["name"].tolist()


def test_clean_market_in_gbk_gives_the_same_report_as_in_utf8(tiny_dir, tmp_path, capsys):
    gbk = tmp_path / "gbk"
    gbk.mkdir()
    for p in tiny_dir.glob("*.csv"):
        (gbk / p.name).write_bytes(p.read_text(encoding="utf-8").encode("gbk"))
    assert (gbk / "stock_industry.csv").read_bytes() != (tiny_dir / "stock_industry.csv").read_bytes()
    rc_u, out_u = validate(tiny_dir, capsys)
    rc_g, out_g = validate(gbk, capsys)
    assert rc_u == rc_g == 0
    assert out_g.replace(str(gbk), "DIR") == out_u.replace(str(tiny_dir), "DIR")
    a, b = load_market(tiny_dir), load_market(gbk)
    for name in TABLES:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])


# ----------------------------------------------------------------------------- numbers
NON_FINITE = [("inf", "inf is not a finite number"), ("-inf", "-inf is not a finite"),
              ("1e309", "inf is not a finite number"), ("1e308", "1e+308 is not a finite number of plausible size"),
              ("nan", "`nan` is not a number")]


@pytest.mark.parametrize("table, value, shown", tables([(t, *NON_FINITE[i % len(NON_FINITE)]) for i, t in enumerate(NUMERIC)]
                          + [("etf_daily", *v) for v in NON_FINITE[1:]]))
def test_non_finite_numbers(tiny_dir, tmp_path, capsys, table, value, shown):
    folder = case(tiny_dir, tmp_path, table)
    col = TABLES[table].numeric[0]
    set_cell(folder, table, col, value)
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at(table, col)}: {shown}" in out, out


# ----------------------------------------------------------------------------- dates
def _date_col(table: str) -> str:
    return TABLES[table].date_cols[0]


@pytest.mark.parametrize("table", tables(DATED))
def test_ambiguous_day_month_column_is_refused(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    col = _date_col(table)
    df = frame(folder, table)
    filled = df[col] != ""
    df.loc[filled, col] = pd.to_datetime(df.loc[filled, col]).dt.strftime("%m/%d/%Y")
    save(df, folder, table)
    first = int(np.flatnonzero(filled.to_numpy())[0])
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at(table, col, first + 2)}: `{df.loc[first, col]}` has day and month in an unknown order" in out, out
    assert out.count("unknown order") == 1  # one message for the column, not one per row


@pytest.mark.parametrize("table", tables(DATED))
def test_excel_serial_numbers_as_dates(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    col = _date_col(table)
    df = frame(folder, table)
    filled = df[col] != ""
    serial = (pd.to_datetime(df.loc[filled, col]) - pd.Timestamp("1899-12-30")).dt.days
    df.loc[filled, col] = serial.astype(str)
    save(df, folder, table)
    first = int(np.flatnonzero(filled.to_numpy())[0])
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at(table, col, first + 2)}: `{serial.iloc[0]}` is a number where a date is expected: Excel serial numbers? " \
           "save the column as dates" in out, out
    assert "1970" not in out


NOT_DATES = ["2026-13-01", "yesterday", "2026-02-30", "Jan 5, 2026"]


@pytest.mark.parametrize("table, value", tables([(t, NOT_DATES[i % len(NOT_DATES)]) for i, t in enumerate(DATED)]))
def test_not_a_date(tiny_dir, tmp_path, capsys, table, value):
    folder = case(tiny_dir, tmp_path, table)
    col = _date_col(table)
    set_cell(folder, table, col, value)
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at(table, col)}: `{value}` is not a date (use YYYY-MM-DD)" in out, out


@pytest.mark.parametrize("table", tables(DATED))
def test_time_of_day_is_stripped_with_a_warning(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    col = _date_col(table)
    df = frame(folder, table)
    row = int(np.flatnonzero((df[col] != "").to_numpy())[ROW])
    day = df.loc[row, col]
    set_cell(folder, table, col, f"{day} 15:00:00", row)
    rc, out = validate(folder, capsys)
    assert rc == 0, out
    assert f"{at(table, col, row + 2)}: `{day} 15:00:00` has a time of day; only its date is used" in out, out
    pd.testing.assert_frame_equal(load_market(folder).tables[table], load_market(tiny_dir, tables=[table]).tables[table])


@pytest.mark.parametrize("table", tables([t for t in DATED if t != "etf_info"]))
def test_date_after_today(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    col = _date_col(table)
    set_cell(folder, table, col, "2099-01-01")
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at(table, col)}: 2099-01-01 is after today ({pd.Timestamp.today():%Y-%m-%d})" in out, out


def test_listing_date_may_be_ahead_up_to_a_year(tiny_dir, tmp_path, capsys):
    """An announced listing date may lie up to AHEAD_DAYS (366) days ahead; 2099 is a typo."""
    folder = case(tiny_dir, tmp_path, "etf_info")
    soon = pd.Timestamp.today().normalize() + pd.Timedelta(days=300)
    set_cell(folder, "etf_info", "list_date", f"{soon:%Y-%m-%d}")
    assert validate(folder, capsys)[0] == 0
    set_cell(folder, "etf_info", "list_date", "2099-01-01")
    rc, out = validate(folder, capsys)
    assert rc == 1 and f"2099-01-01 is more than 366 days after today ({pd.Timestamp.today():%Y-%m-%d})" in out, out


@pytest.mark.parametrize("table", tables(DAILY))
def test_weekend_dates_in_daily_tables(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    set_cell(folder, table, "date", "2026-01-10")
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at(table, 'date')}: 2026-01-10 is a Saturday, not a trading day" in out, out


def _add_holiday_row(folder: Path, table: str, day: str, first: bool = True) -> None:
    """A copy of the first (or of each entity's last) row, dated ``day``, kept in date order."""
    df = frame(folder, table)
    if first:
        extra = df.iloc[[0]].assign(date=day)
        df = pd.concat([extra, df], ignore_index=True)
    else:
        entity = [c for c in TABLES[table].key if c != "date"]
        extra = df.drop_duplicates(entity, keep="last").assign(date=day)
        df = pd.concat([df, extra], ignore_index=True)
    save(df, folder, table)


@pytest.mark.parametrize("table", tables(DAILY))
def test_exchange_holiday_is_a_warning(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    _add_holiday_row(folder, table, "2026-01-01")  # New Year's Day, a Thursday
    rc, out = validate(folder, capsys)
    assert rc == 0, out
    assert f"{at(table, 'date', 2)}: 1 date(s) on which the Shanghai exchange was closed (2026-01-01)" in out, out


def test_real_data_has_no_holiday_or_weekend(real_data_dir, capsys):
    """exchange-calendars' XSHG calendar agrees with every date of the real data (2010-2026)."""
    rc, out = validate(real_data_dir, capsys)
    assert rc == 0, out
    assert "exchange was closed" not in out and "not a trading day" not in out


# ----------------------------------------------------------------------------- codes and text
@pytest.mark.parametrize("table, how", tables([(t, ("lower", "full-width", "nbsp")[i % 3]) for i, t in enumerate(CODED)]
                          + [("etf_daily", "full-width"), ("etf_daily", "nbsp")]))
def test_codes_are_normalised_with_a_warning(tiny_dir, tmp_path, capsys, table, how):
    folder = case(tiny_dir, tmp_path, table)
    col = code_col(table)
    code = frame(folder, table).loc[ROW, col]
    bent = {"lower": code.lower(),
            "full-width": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in code),
            "nbsp": f"\u00a0{code}\u3000"}[how]
    set_cell(folder, table, col, bent)
    rc, out = validate(folder, capsys)
    assert rc == 0, out
    if how != "nbsp":  # spaces around a value are stripped by every reader, as ever: no warning
        assert f"{at(table, col)}: 1 code(s) normalised" in out, out
    pd.testing.assert_frame_equal(load_market(folder).tables[table], load_market(tiny_dir, tables=[table]).tables[table])


@pytest.mark.parametrize("table", tables(CODED))
def test_code_with_a_space_inside_is_refused(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    col = code_col(table)
    code = frame(folder, table).loc[ROW, col]
    set_cell(folder, table, col, code[:-3] + " " + code[-3:])
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at(table, col)}: `{code[:-3]} {code[-3:]}`" in out, out


@pytest.mark.parametrize("table", tables([t for t in CODED if code_col(t) != "industry"]))
def test_code_without_exchange_suffix_is_refused(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    col = code_col(table)
    code = frame(folder, table).loc[ROW, col]
    set_cell(folder, table, col, code.split(".")[0])
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at(table, col)}: `{code.split('.')[0]}` is not a code like 510300.SH" in out, out


CONTROL = ["\x07", "\x1b", "\x0b", "\x00", "\uffff"]


@pytest.mark.parametrize("table, char", tables([(t, CONTROL[i % len(CONTROL)]) for i, t in enumerate(TABLES)]
                          + [("etf_info", c) for c in CONTROL[1:]]))
def test_control_characters_in_text(tiny_dir, tmp_path, capsys, table, char):
    folder = case(tiny_dir, tmp_path, table)
    spec = TABLES[table]
    col = next(c for c in ("name", "industry_name", "category") if c in spec.columns) \
        if table in ("etf_info", "stock_industry", "fund_issuance") else code_col(table)
    value = frame(folder, table).loc[ROW, col]
    set_cell(folder, table, col, value[:1] + char + value[1:])
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at(table, col)}: " in out and f"contains control character U+{ord(char):04X}" in out, out
    assert char not in out  # shown escaped, never echoed raw to the terminal


# ----------------------------------------------------------------------------- columns and references
@pytest.mark.parametrize("table", tables(list(TABLES)))
def test_required_column_missing(tiny_dir, tmp_path, capsys, table):
    folder = case(tiny_dir, tmp_path, table)
    col = TABLES[table].key[-1]
    save(frame(folder, table).drop(columns=col), folder, table)
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"column `{col}` missing in {table}.csv" in out, out


def test_etf_unknown_to_etf_info_is_an_error(tiny_dir, tmp_path, capsys):
    folder = case(tiny_dir, tmp_path, "etf_info", "etf_daily")
    set_cell(folder, "etf_daily", "etf", "159999.SZ")
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert f"{at('etf_daily', 'etf')}: 159999.SZ is not in etf_info.csv" in out, out


def test_empty_etf_info_is_named(tiny_dir, tmp_path, capsys):
    folder = case(tiny_dir, tmp_path, "etf_info", "etf_daily")
    p = folder / "etf_info.csv"
    p.write_text(p.read_text().splitlines()[0] + "\n")
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert "etf_daily.csv: etf_info.csv has no rows, so none of the ETFs of etf_daily.csv is known" in out
    assert out.count("is not in etf_info") == 0


def test_constituent_unknown_to_stock_industry_is_a_warning_with_its_weight(tiny_dir, tmp_path, capsys):
    folder = case(tiny_dir, tmp_path, "stock_industry", "index_weights")
    weights = frame(folder, "index_weights")
    gone = weights.loc[ROW, "stock"]
    info = frame(folder, "stock_industry")
    save(info[info["stock"] != gone], folder, "stock_industry")
    w = weights.assign(weight=weights["weight"].astype(float), date=pd.to_datetime(weights["date"]))
    share = (w[w["stock"] == gone].groupby(["index", "date"])["weight"].sum()
             / w.groupby(["index", "date"])["weight"].sum()).dropna()
    (idx, day), worst = share.idxmax(), share.max()
    first = int(np.flatnonzero((weights["stock"] == gone).to_numpy())[0])
    rc, out = validate(folder, capsys)
    assert rc == 0, out
    assert (f"index_weights.csv: 1 constituent(s) not in stock_industry.csv: {gone} (index_weights.csv row "
            f"{first + 2}); up to {worst:.2%} of an index's weight ({idx} on {day:%Y-%m-%d}) has no industry") in out, out


# ----------------------------------------------------------------------------- workbooks
def _workbook(path: Path, df: pd.DataFrame, sheet: str, edit=None) -> Path:
    buf = io.BytesIO()
    df.to_excel(buf, index=False, sheet_name=sheet)
    with zipfile.ZipFile(buf) as zi, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            data = zi.read(info.filename)
            zo.writestr(info.filename, edit(info.filename, data) if edit else data)
    return path


def _in_sheet(fn):
    return lambda name, data: fn(data) if name == "xl/worksheets/sheet1.xml" else data


XXE = _in_sheet(lambda d: d.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1)
                .replace(b"<v>", b"<v>&e;", 1))
LAUGHS = _in_sheet(lambda d: d.replace(b"?>", ("?><!DOCTYPE x [<!ENTITY a0 \"lol\">" + "".join(
    f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)) + "]>").encode(), 1))
BOMB = _in_sheet(lambda d: d.replace(b"<sheetData>", b"<sheetData>" + b" " * 30_000_000, 1))


@pytest.mark.parametrize("edit, expect", [
    (XXE, "etf_info.xlsx: refused: part xl/worksheets/sheet1.xml declares a DTD or entities"),
    (LAUGHS, "etf_info.xlsx: refused: part xl/worksheets/sheet1.xml declares a DTD or entities"),
    (BOMB, "etf_info.xlsx: refused: part xl/worksheets/sheet1.xml expands"),
])
def test_hostile_workbooks_are_refused_before_parsing(tiny_dir, tmp_path, capsys, edit, expect):
    folder = tmp_path / "data"
    folder.mkdir()
    _workbook(folder / "etf_info.xlsx", pd.read_csv(tiny_dir / "etf_info.csv"), "etf_info", edit)
    assert (folder / "etf_info.xlsx").stat().st_size < 100_000
    rc, out = validate(folder, capsys)
    assert rc == 1 and expect in out, out
    if edit is BOMB:
        assert "limit 200x" in out


def test_defusedxml_refuses_entities_even_past_the_zip_check(tiny_dir, tmp_path, monkeypatch, capsys):
    """Second line of defence: openpyxl parses through defusedxml (a dependency)."""
    import openpyxl

    from xladdin.data import sources
    assert openpyxl.DEFUSEDXML
    monkeypatch.setattr(sources, "_check_prolog", lambda *a: None)
    folder = tmp_path / "data"
    folder.mkdir()
    _workbook(folder / "etf_info.xlsx", pd.read_csv(tiny_dir / "etf_info.csv"), "etf_info", XXE)
    rc, out = validate(folder, capsys)
    assert rc == 1 and "etf_info.xlsx: cannot read the workbook" in out, out
    assert "root:" not in out


def test_workbook_over_the_size_limit(tiny_dir, tmp_path, monkeypatch, capsys):
    from xladdin.data import sources
    monkeypatch.setattr(sources, "MAX_XLSX_UNCOMPRESSED", 1000)
    folder = tmp_path / "data"
    folder.mkdir()
    _workbook(folder / "etf_info.xlsx", pd.read_csv(tiny_dir / "etf_info.csv"), "etf_info")
    rc, out = validate(folder, capsys)
    assert rc == 1 and "bytes uncompressed (limit 1,000 bytes)" in out, out


def test_old_xls_workbook_and_damaged_zip(tiny_dir, tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "etf_info.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    (folder / "index_daily.xlsx").write_bytes(_zip_bytes()[:-30])
    (folder / "fund_nav.xlsx").write_bytes(_zip_bytes())
    rc, out = validate(folder, capsys)
    assert rc == 1, out
    assert "etf_info.xlsx: this is an Excel 97-2003 .xls file or a password-protected workbook" in out
    assert "index_daily.xlsx: " in out and "fund_nav.xlsx: a zip file but not an .xlsx workbook" in out


def test_wide_sheet_with_ambiguous_or_serial_dates_is_refused(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"Date": ["01/05/2026", "01/06/2026"], "510300.SH": [1, 2]}).to_csv(
        folder / "etf_daily.shares.csv", index=False)
    rc, out = validate(folder, capsys)
    assert rc == 1 and "etf_daily.shares.csv cell A2: `01/05/2026` has day and month in an unknown order" in out, out
    pd.DataFrame({"Date": [46027, 46028], "510300.SH": [1, 2]}).to_excel(folder / "index_daily.xlsx", index=False,
                                                                          sheet_name="close")
    (folder / "etf_daily.shares.csv").unlink()
    rc, out = validate(folder, capsys)
    assert rc == 1 and "index_daily.xlsx sheet `close` cell A2: `46027` is a number where a date is expected" in out


# ----------------------------------------------------------------------------- commands
def test_commands_name_a_needed_column_the_file_lacks(tiny_dir, tmp_path, capsys):
    folder = case(tiny_dir, tmp_path, *TABLES)
    save(frame(folder, "etf_daily").drop(columns="nav"), folder, "etf_daily")
    rc, out = validate(folder, capsys)
    assert rc == 0 and "etf_daily.csv: no `nav` column; ETF flows (M1)" in out, out
    for argv, what in ((["study", "correlation"], "ETF flows (M1)"),
                       (["backtest", "rotation"], "ETF holdings and flows by industry (M6)"),
                       (["weekly", "--out", tmp_path / "out"], "ETF flows (M1), which the weekly workbook")):
        rc, out = cli(argv + ["--data", folder], capsys)
        assert rc == 1, out
        assert f"etf_daily.nav is needed for {what}" in out and "etf_daily.csv" in out and "no nav column" in out, out


def test_weekly_commands_stop_on_corrupted_rows(tiny_dir, tmp_path, capsys):
    """The issue's silent cases: inf shares, a 2099 row, a Saturday row. The job stops, naming the cell."""
    for value, col, expect in (("inf", "shares", "column `shares`: inf is not a finite number"),
                               ("2099-01-01", "date", "2099-01-01 is after today"),
                               ("2026-10-03", "date", "2026-10-03 is a Saturday")):
        folder = case(tiny_dir, tmp_path, *TABLES)
        df = frame(folder, "etf_daily")
        df.loc[len(df) - 1, col] = value
        save(df, folder, "etf_daily")
        out_dir = tmp_path / "out"
        rc, out = cli(["weekly", "--data", folder, "--out", out_dir], capsys)
        assert rc == 1, out
        assert f"etf_daily.csv row {len(df) + 1} {expect}" in out or \
            f"etf_daily.csv row {len(df) + 1} column `{col}`: " in out and expect in out, out
        assert not any(out_dir.glob("*.xlsx"))


def test_as_of_date_is_never_a_flagged_row(tiny_dir, tmp_path, capsys):
    """Rows on an exchange holiday after the last trading day load with a warning; the report is as of
    the last trading day, not of the holiday."""
    from xladdin.workbook.weekly import resolve_asof
    folder = case(tiny_dir, tmp_path, *TABLES)
    _add_holiday_row(folder, "etf_daily", "2026-10-01", first=False)  # National Day, after 2026-09-30
    market = load_market(folder)
    assert market.last_date("etf_daily") == pd.Timestamp("2026-10-01")
    assert any("2026-10-01" in w and "exchange was closed" in w for w in market.warnings)
    assert resolve_asof(market) == pd.Timestamp("2026-09-30")
    rc, out = cli(["weekly", "--data", folder, "--out", tmp_path / "out"], capsys)
    assert rc == 0, out
    assert "xladdin_weekly_2026-09-30.xlsx" in out and "2026-10-01.xlsx" not in out
    assert [p.name for p in (tmp_path / "out").glob("*.xlsx")] == ["xladdin_weekly_2026-09-30.xlsx"]


def test_wrong_sheet_and_single_workbook_are_named(tiny_dir, tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    _workbook(folder / "etf_daily.xlsx", pd.DataFrame({"Date": ["2026-01-05"], "510300.SH": [1.0]}), "Sheet1")
    rc, out = validate(folder, capsys)
    assert rc == 1 and "etf_daily.xlsx sheet `Sheet1`: `Sheet1` is not a column of etf_daily" in out, out
    market = _workbook(tmp_path / "market.xlsx", pd.read_csv(tiny_dir / "etf_info.csv"), "etf_info", BOMB)
    rc, out = validate(market, capsys)
    assert rc == 1 and "market.xlsx: refused: part xl/worksheets/sheet1.xml expands" in out, out
    other = _workbook(tmp_path / "other.xlsx", pd.read_csv(tiny_dir / "etf_info.csv"), "Sheet1")
    rc, out = validate(other, capsys)
    assert rc == 1 and f"{other}: no canonical tables found" in out, out


def test_exchange_calendar_sessions_and_their_cache(tmp_path, monkeypatch):
    """Known SSE closures (published schedules) and the per-version cache of the session list."""
    from xladdin.data import calendar, checks
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calendar.xshg_sessions.cache_clear()
    try:
        fresh = calendar.xshg_sessions()
        assert len(list((tmp_path / "xladdin").glob("xshg-sessions-*.npy"))) == 1
        calendar.xshg_sessions.cache_clear()
        assert calendar.xshg_sessions().equals(fresh)
    finally:
        calendar.xshg_sessions.cache_clear()
    days = pd.DatetimeIndex(["2024-02-08", "2024-02-09", "2024-02-16", "2024-02-19", "2024-10-01", "2024-10-07",
                             "2024-10-08", "2025-10-08", "2025-10-09", "2026-01-02", "2026-01-05"])
    assert checks.exchange_closed(days).tolist() == [False, True, True, False, True, True,
                                                     False, True, False, True, False]
