"""The weekly job reads stock_daily / margin_daily only from the windows of the dashboard and the crowding
sheet: nothing may change.

``xladdin.workbook.weekly.stock_rows_since`` says from which date the weekly tables can read those two
tables (the dashboard's window; stock_daily further back for the crowding sheet's dispersion); the weekly
job reads them from there (parquet: earlier row groups are not decoded). These tests pin
that every weekly table is identical to the one computed from the full tables, also when a table has
a gap just before the window and for an as-of date in the middle of the data, and that rows read
partially still get messages naming the file's own lines.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data import read_table_files, write_market
from xladdin.data.market import Market
from xladdin.methods.dashboard import STOCK_WINDOW_TABLES, stock_rows_since
from xladdin.workbook.params import default_params
from xladdin.workbook.weekly import compute_weekly, stock_rows_since as weekly_rows_since


def _cut_stock_tables(market: Market, since: dict[str, pd.Timestamp]) -> Market:
    tables = dict(market.tables)
    for name, at in since.items():
        df = tables[name]
        tables[name] = df[df["date"] >= at].reset_index(drop=True)
    return Market(tables, source=market.source, read_from=dict(since))


def _assert_same_tables(full, part):
    assert set(full.tables) == set(part.tables)
    for key, table in full.tables.items():
        if key == "cover_freshness":  # says how many rows were read: differs on purpose
            continue
        if isinstance(table, pd.DataFrame):
            pd.testing.assert_frame_equal(table, part.tables[key], obj=key)
        else:
            assert table == part.tables[key], key
    assert full.notes == part.notes


def _with_gap(market: Market, table: str, start, end) -> Market:
    tables = dict(market.tables)
    df = tables[table]
    tables[table] = df[(df["date"] < start) | (df["date"] > end)].reset_index(drop=True)
    return Market(tables, source=market.source)


@pytest.mark.slow
@pytest.mark.parametrize("asof", [None, "2022-03-16"])
def test_weekly_tables_identical_from_the_window(sample_market, workbook_inputs, asof):
    p = default_params()
    # the last week's tables are the session's cached computation (same market, default parameters)
    full = workbook_inputs.weekly() if asof is None else compute_weekly(sample_market, p, asof=asof)
    since = weekly_rows_since(full.asof, p)
    assert since["margin_daily"] == stock_rows_since(full.asof, p.heat_years)  # the dashboard's window
    assert since["stock_daily"] < since["margin_daily"]  # further back for the crowding sheet's dispersion
    first = sample_market.table("stock_daily")["date"].min()
    assert since["stock_daily"] > first + pd.Timedelta(days=365)  # the cut removes years of rows
    part = compute_weekly(_cut_stock_tables(sample_market, since), p, asof=asof)
    _assert_same_tables(full, part)
    dash = full.tables["dashboard_industry"]
    assert dash["margin_net_buy"].notna().any() and dash["heat_pct"].notna().any()  # the window feeds values
    assert full.tables["crowding_weekly"]["dispersion"].notna().all()


@pytest.mark.slow
def test_identical_with_a_gap_before_the_window(sample_market):
    """margin_daily has no rows for 20 weeks ending inside the window's slack: the week before the
    stock series start has no balance in either case."""
    p = default_params()
    asof = sample_market.last_date("etf_daily")
    since = weekly_rows_since(asof, p)
    at = since["margin_daily"]
    gapped = _with_gap(sample_market, "margin_daily", at - pd.Timedelta(weeks=10), at + pd.Timedelta(weeks=10))
    full = compute_weekly(gapped, p)
    part = compute_weekly(_cut_stock_tables(gapped, since), p)
    _assert_same_tables(full, part)


def test_window_covers_the_percentile_window():
    since = stock_rows_since("2026-10-30", 3.0)
    assert since == pd.Timestamp("2026-10-30") - pd.Timedelta(days=7 * (156 + 3 + 13))
    assert stock_rows_since("2026-10-30", 1.0) > since


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_read_from_a_date(tmp_path, sample_market, sample_cut, fmt):
    """The whole stock_daily for parquet (two row groups); a 50-stock cut over all the years for CSV (the
    reader parses the whole text either way: 1 M rows only cost time)."""
    market = sample_market if fmt == "parquet" else sample_cut(start="2016-01-01", end="2026-12-31", n_stocks=50)
    df = market.table("stock_daily")
    write_market(Market({"stock_daily": df}), tmp_path, fmt=fmt)
    since = pd.Timestamp("2023-01-04")
    raw = read_table_files(tmp_path, "stock_daily", since=since)
    skipped = int((df["date"] < since).sum())
    assert raw.first_row == skipped > 0 and raw.since == since
    assert len(raw.frame) == len(df) - skipped
    got = raw.frame.reset_index(drop=True)
    want = df.iloc[skipped:].reset_index(drop=True)
    np.testing.assert_array_equal(pd.to_datetime(got["date"]).to_numpy("datetime64[ns]"), want["date"].to_numpy())
    np.testing.assert_array_equal(got["stock"].astype(str).to_numpy(), want["stock"].astype(str).to_numpy())
    np.testing.assert_allclose(got["close"].astype(float).to_numpy(), want["close"].to_numpy())
    # messages name the file's own line: header + 1-based + the rows skipped
    assert raw.locate(0) == f"stock_daily.{fmt} row {skipped + 2}"
    # a date before every row: nothing skipped, no window recorded
    whole = read_table_files(tmp_path, "stock_daily", since="2000-01-01")
    assert whole.first_row == 0 and whole.since is None and len(whole.frame) == len(df)


def test_file_not_in_date_order_skips_only_leading_rows(tmp_path, sample_market):
    """A file in (stock, date) order: only the leading rows dated before `since` are skipped (the
    first stock's early history); every row dated `since` or later is kept."""
    df = sample_market.table("stock_daily").head(20000).sort_values(["stock", "date"]).reset_index(drop=True)
    write_market(Market({"stock_daily": df}), tmp_path, fmt="parquet")
    since = df["date"].median()
    raw = read_table_files(tmp_path, "stock_daily", since=since)
    lead = int(np.argmax((df["date"] >= since).to_numpy()))
    assert raw.first_row == lead > 0
    assert len(raw.frame) == len(df) - lead
    assert int((pd.to_datetime(raw.frame["date"]) >= since).sum()) == int((df["date"] >= since).sum())


def test_text_codes_from_parquet_equal_factorize(tmp_path, sample_market):
    df = sample_market.table("index_weights")
    write_market(Market({"index_weights": df}), tmp_path, fmt="parquet")
    raw = read_table_files(tmp_path, "index_weights", since="2020-01-01")
    assert set(raw.codes) == {"index", "stock"}
    for col, (arr, codes, uniques) in raw.codes.items():
        want, wu = pd.factorize(raw.frame[col], sort=True)
        np.testing.assert_array_equal(codes, want)
        assert list(uniques) == list(wu) and uniques.dtype == raw.frame[col].dtype
        assert raw.frame[col].array._pa_array is arr


@pytest.mark.slow
def test_weekly_job_reads_the_window_and_says_so(tmp_path, sample_cut):
    """On a 50-stock cut of the sample over all its years (the tables above compare the whole sample)."""
    from xladdin.ops.jobs import run_weekly
    sample_market = sample_cut(start="2016-01-01", end="2026-12-31", n_stocks=50)
    data = tmp_path / "data"
    write_market(sample_market, data, fmt="parquet")
    res = run_weekly(data, tmp_path / "out")
    since = weekly_rows_since(res.asof, default_params())
    assert set(since) == set(STOCK_WINDOW_TABLES)
    for name, at in since.items():
        assert res.rows[name] == int((sample_market.table(name)["date"] >= at).sum())
    fresh = res.weekly.tables["cover_freshness"].set_index("table")
    assert f"{since['stock_daily']:%Y-%m-%d}" in fresh.loc["stock_daily", "detail"]
    assert f"{since['margin_daily']:%Y-%m-%d}" in fresh.loc["margin_daily", "detail"]
    assert f"{since['stock_daily']:%Y-%m-%d}" not in fresh.loc["etf_daily", "detail"]
    _assert_same_tables(compute_weekly(sample_market, asof=res.asof), res.weekly)


@pytest.mark.slow
def test_bad_row_inside_the_window_names_the_file_line(tmp_path, sample_cut):
    """On a 50-stock cut of the sample over all its years (the whole sample as CSV took 20-40 s): the
    job reads stock_daily.csv from the window's first date, and the bad row's message still counts the
    lines above the window."""
    from xladdin.ops.jobs import JobError, run_weekly
    market = sample_cut(start="2016-01-01", end="2026-12-31", n_stocks=50)
    data = tmp_path / "data"
    write_market(market, data, fmt="csv")
    path = data / "stock_daily.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = len(lines) - 3  # zero-based line index near the end: inside the window
    parts = lines[bad].split(",")
    header = lines[0].split(",")
    parts[header.index("close")] = "-1"
    lines[bad] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    since = weekly_rows_since(market.last_date("etf_daily"), default_params())["stock_daily"]
    assert int((market.table("stock_daily")["date"] < since).sum()) > len(lines) // 2  # most lines lie above the window
    with pytest.raises(JobError) as info:
        run_weekly(data, tmp_path / "out")
    assert f"stock_daily.csv row {bad + 1}" in str(info.value)


@pytest.mark.slow
def test_weekly_job_dated_before_the_etf_data_reads_that_dates_window(tmp_path, sample_cut):
    """etf_daily runs to 2026-10-30, every other table stops at 2026-07-31: the report is dated 2026-09-30, the
    furthest its tables' inputs reach (the ETF rotation: index weights of 2026-07-31 are current two months on).
    The stock tables' window is that of 2026-09-30, not of etf_daily's last day: the job reads them again from
    it, and every table equals the one computed from the full tables; the file is named by that date."""
    from xladdin.ops.jobs import run_weekly
    full = sample_cut(start="2016-01-01", end="2026-12-31", n_stocks=50)
    tables = {n: (df if n == "etf_daily" or "date" not in df.columns else df[df["date"] <= "2026-07-31"]
                  .reset_index(drop=True)) for n, df in full.tables.items()}
    tables["active_fund_holdings"] = full.tables["active_fund_holdings"]
    market = Market(tables, source="cut")
    data = tmp_path / "data"
    write_market(market, data, fmt="parquet")
    res = run_weekly(data, tmp_path / "out")
    assert res.asof == pd.Timestamp("2026-09-30") and res.report.name == "xladdin_weekly_2026-09-30.xlsx"
    since = weekly_rows_since(res.asof, default_params())
    for name, at in since.items():
        assert res.rows[name] == int((market.table(name)["date"] >= at).sum())
    _assert_same_tables(compute_weekly(market, asof="2026-10-30"), res.weekly)
