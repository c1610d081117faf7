"""The weekly job skips columns no weekly table reads: the tables must not change without them."""
import pandas as pd
import pytest

from xladdin.data.market import Market
from xladdin.ops.jobs import UNUSED_COLUMNS
from xladdin.workbook.weekly import compute_weekly


@pytest.mark.slow
def test_weekly_tables_identical_without_the_unused_columns(sample_market, workbook_inputs):
    full = workbook_inputs.weekly()  # compute_weekly(sample_market) with the default parameters, cached per session
    slim = Market({name: (df.drop(columns=list(UNUSED_COLUMNS.get(name, ()))) if df is not None else df)
                   for name, df in sample_market.tables.items()}, source=sample_market.source)
    cut = compute_weekly(slim)
    assert set(full.tables) == set(cut.tables)
    for key, table in full.tables.items():
        other = cut.tables[key]
        if isinstance(table, pd.DataFrame):
            pd.testing.assert_frame_equal(table, other)
        else:
            assert table == other


def test_skipped_columns_are_not_read(tmp_path, sample_market):
    from xladdin.data import read_table_files, write_market
    write_market(Market({"stock_daily": sample_market.table("stock_daily").head(200)}), tmp_path, fmt="parquet")
    raw = read_table_files(tmp_path, "stock_daily", skip=UNUSED_COLUMNS["stock_daily"])
    assert "float_mcap" not in raw.frame.columns and raw.skipped == ("float_mcap",)
