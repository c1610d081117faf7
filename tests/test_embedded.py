"""A workbook that carries its data: the tables in hidden sheets (what goes in, the fit within a sheet), read
back through the same reader as a workbook file, and the headless refresh reading them when data_dir is
blank. (The Lite and desktop Refresh on xlwings' remote engine: tests/test_xlwings_remote.py.)"""
from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from xladdin.data.embed import SHEET_ROWS, embedded_frames, fits_from
from xladdin.data.loaders import load_market, write_market
from xladdin.data.market import Market
from xladdin.ops.cli import main
from xladdin.workbook.embedded import read_tables, table_sheets, write_tables

T = pd.Timestamp


def _g16(x: float) -> float:
    """A number as an xlsx file keeps it: 16 significant digits."""
    return float(f"{x:.16g}")


@pytest.fixture(scope="module")
def small(sample_market) -> Market:
    """Two months of the sample: every canonical table, a few thousand rows."""
    return sample_market.subset("2026-09-01", "2026-10-30")


def test_a_sheet_holds_excels_rows():
    assert SHEET_ROWS == 2 ** 20  # Excel 2007+: 1,048,576 rows per worksheet


def test_too_long_tables_are_named_with_the_date_they_fit_from():
    # 3 rows on 01-02, 2 on 01-03, 2 on 01-04: with a header, 5 rows hold 4 of them: from 01-03 on
    dates = pd.to_datetime(["2024-01-02"] * 3 + ["2024-01-03"] * 2 + ["2024-01-04"] * 2)
    idx = pd.DataFrame({"date": dates, "index": [f"{i:06d}.SH" for i in range(7)], "close": 1.0})
    m = Market({"index_daily": idx, "stock_industry": pd.DataFrame({"stock": ["600000.SH"], "industry": ["I"],
                                                                   "industry_name": ["x"]})})
    assert fits_from(idx["date"], 4) == T("2024-01-03") and fits_from(idx["date"], 2) == T("2024-01-04")
    assert fits_from(idx["date"], 1) is None
    with pytest.raises(ValueError, match=r"index_daily: 7 rows from 2024-01-02 do not fit a sheet \(4 rows below "
                                         r"the header\); embed from 2024-01-03 on \(--embed-since 2024-01-03\)"):
        embedded_frames(m, max_rows=5)
    cut = embedded_frames(m, window="2024-01-03", max_rows=5)
    assert len(cut["index_daily"]) == 4 and len(cut["stock_industry"]) == 1  # masters are never cut
    # per-table starts (the weekly window of the stock tables) and the window: the later one counts
    late = embedded_frames(m, since={"index_daily": T("2024-01-04")}, window="2024-01-03", max_rows=5)
    assert len(late["index_daily"]) == 2


def test_tables_go_into_hidden_sheets_and_come_back_as_loaded(small, tmp_path):
    frames = embedded_frames(small)
    wb = Workbook()
    write_tables(wb, frames)
    wb.save(tmp_path / "book.xlsx")
    back = load_workbook(tmp_path / "book.xlsx")
    assert table_sheets(back) == list(frames)
    assert {back[n].sheet_state for n in frames} == {"hidden"} and back["Sheet"].sheet_state == "visible"
    market = read_tables(back, "book.xlsx (embedded tables)")
    assert market.source == "book.xlsx (embedded tables)"
    # the same tables as a folder of CSV files written from them and loaded (numbers at 16 digits, as in the file)
    write_market(small, tmp_path / "csv")
    ref = load_market(tmp_path / "csv")
    assert set(market.tables) == set(ref.tables) == set(small.tables)
    for name, df in ref.tables.items():
        got = market.tables[name]
        assert list(got.columns) == list(df.columns) and len(got) == len(df), name
        for col in df.columns:
            if df[col].dtype == float:
                want = df[col].map(lambda v: v if pd.isna(v) else _g16(v))
                pd.testing.assert_series_equal(got[col], want, check_exact=True, obj=f"{name}.{col}")
            else:
                pd.testing.assert_series_equal(got[col], df[col], obj=f"{name}.{col}")


def test_the_same_reader_as_a_workbook_file(small, tmp_path):
    """A workbook file given to --data (a sheet per table) and the same sheets read from the open workbook
    give the same market."""
    wb = Workbook()
    write_tables(wb, embedded_frames(small))
    wb.save(tmp_path / "data.xlsx")
    from_file = load_market(tmp_path / "data.xlsx")
    from_book = read_tables(load_workbook(tmp_path / "data.xlsx"))
    for name, df in from_file.tables.items():
        pd.testing.assert_frame_equal(from_book.tables[name], df, obj=name)


@pytest.mark.slow
def test_template_carries_its_data_and_refresh_reads_it(tiny_short_dir, tmp_path, capsys):
    src = load_market(tiny_short_dir)
    out = tmp_path / "carry.xlsm"
    assert main(["template", str(out), "--data", str(tiny_short_dir), "--embed-data", "--no-progress"]) == 0
    assert "carries the tables of" in capsys.readouterr().out
    wb = load_workbook(out, keep_vba=True)
    assert table_sheets(wb) == [n for n in ("etf_info", "etf_daily", "index_daily", "index_weights", "stock_industry",
                                            "industry_daily", "northbound_holdings", "active_fund_holdings", "fund_nav",
                                            "fund_issuance", "margin_daily", "stock_daily")]
    # the stock-level tables from the weekly window only (the weekly tables never read earlier rows): here
    # its months are inside it, so every row is there
    assert wb["stock_daily"].max_row == len(src.tables["stock_daily"]) + 1
    # data_dir is blank: `xladdin refresh` reads the hidden sheets, not the sample
    assert main(["refresh", str(out), "--no-progress"]) == 0
    cover = load_workbook(out, read_only=True).worksheets[0]
    text = " ".join(str(v) for r in cover.iter_rows(max_row=4, values_only=True) for v in r if v)
    assert "carry.xlsm (embedded tables)" in text and f"{src.last_date('etf_daily'):%Y-%m-%d}" in text


def test_embedding_options_are_checked(tmp_path, capsys):
    assert main(["template", str(tmp_path / "a.xlsm"), "--embed-since", "2024-01-01", "--no-progress"]) == 1
    assert "--embed-since goes with --embed-data" in capsys.readouterr().err
    assert main(["template", str(tmp_path / "b.xlsm"), "--embed-data", "--set", f"data_dir={tmp_path}",
                 "--no-progress"]) == 1
    assert "leave data_dir blank to embed" in capsys.readouterr().err


def test_a_table_too_long_stops_the_build_naming_it(tmp_path, capsys, monkeypatch):
    import xladdin.data.embed as E
    monkeypatch.setattr(E, "SHEET_ROWS", 100_000)  # the sample's stock tables are longer than that
    assert main(["template", str(tmp_path / "c.xlsm"), "--embed-data", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "too long for a worksheet" in err and "stock_daily: 439,536 rows from 2023-01-20" in err
    assert "--embed-since" in err and not (tmp_path / "c.xlsm").exists()
