"""One click from new data to new tables: the weekly job and the refresh update the store first.

The store is built and updated with the akshare source, HTTP answered at the transport layer from
bodies synthesized from ../shared/data/real (``tests/_akshare_bodies.py``); the weekly job then runs on
it. A failed update leaves the report folder / the workbook byte-identical and names the table and call.
"""
from __future__ import annotations

import hashlib

import akshare
import pandas as pd
import pytest
from _akshare_bodies import (
    FIVE_ETFS,
    SSE,
    etf_routes,
    fund_info_routes,
    index_routes,
)
from _transport import serve

from xladdin.data.clients import akshare as ak_client
from xladdin.data.store import read_manifest, update_store
from xladdin.ops.jobs import JobError, run_weekly
from xladdin.workbook.params import default_params

CODES = FIVE_ETFS


def routes(http, real, real_index_closes, szse_header="基金规模(份)"):
    etf_routes(http, real, szse_header=szse_header)
    index_routes(http, real_index_closes)
    fund_info_routes(http, CODES, {"159919": "2012-05-28"}, {"159915": "创业板指数"})


@pytest.fixture()
def store(tmp_path, real_etfs, real_index_closes, monkeypatch):
    """A store of etf_info, etf_daily and index_daily to 2024-09-13; later updates end on 2024-09-30."""
    real = real_etfs
    path = tmp_path / "store"
    with serve() as http:
        routes(http, real, real_index_closes)
        update_store(path, ak_client.AkshareClient(akshare, now="2026-12-01"), tables=["etf_info", "etf_daily",
                                                                                           "index_daily"],
                     settings={"etfs": CODES, "indices": ["000300.SH", "399006.SZ"], "start": "2024-06-03"},
                     end="2024-09-13")
    # the one-click update builds its client from the registry and updates to "today": fix both for the test
    monkeypatch.setattr(pd.Timestamp, "now", classmethod(lambda cls, tz=None: pd.Timestamp("2024-09-30 18:00")))
    return path, real


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_weekly_update_then_build_on_the_updated_store(store, real_index_closes, tmp_path):
    path, real = store
    notes: list[str] = []
    with serve() as http:
        routes(http, real, real_index_closes)
        job = run_weekly(path, tmp_path / "out", update=True, notice=notes.append)
    assert read_manifest(path)["tables"]["etf_daily"]["last"] == "2024-09-30"
    assert job.asof == pd.Timestamp("2024-09-30") and job.report.is_file()
    assert any(n.startswith("update: etf_daily") for n in notes)
    assert http.count(*SSE) == 5 + len(pd.bdate_range("2024-09-16", "2024-09-30")) - 2   # overlap + new (Mid-Autumn)


def test_the_parameter_turns_the_update_on_and_a_failure_leaves_the_reports_unchanged(store, real_index_closes,
                                                                                     tmp_path):
    path, real = store
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.xlsx").write_bytes(b"last week's report")
    before, store_before = snapshot(out), snapshot(path)
    params = default_params().replace(update_data="yes")
    with serve() as http:
        # SZSE's header drifts: the update is refused
        routes(http, real, real_index_closes, szse_header="基金规模(万份)")
        with pytest.raises(JobError) as err:
            run_weekly(path, out, params=params)
    assert err.value.step == "update data"
    assert "stopped at table etf_daily: SZSE ShowReport(CATALOGID='scsj_fund_jjgm'" in str(err.value)
    assert snapshot(out) == before and snapshot(path) == store_before


def test_refresh_updates_first_and_a_failure_leaves_the_workbook_unchanged(store, real_index_closes, tmp_path,
                                                                           workbook_inputs):
    from openpyxl import load_workbook

    from xladdin.workbook.layout import load_layout
    from xladdin.workbook.template import RefreshError, read_params_sheet, refresh_workbook
    path, real = store
    book = workbook_inputs.build_template(tmp_path / "weekly.xlsm")
    wb = load_workbook(book, keep_vba=True)
    layout = load_layout()
    _set_param(wb, "update_data", "yes")
    _set_param(wb, "data_dir", str(path))
    wb.save(book)
    assert read_params_sheet(load_workbook(book), layout).update_data == "yes"
    before = book.read_bytes()
    with serve() as http:
        routes(http, real, real_index_closes, szse_header="基金规模(万份)")
        with pytest.raises(RefreshError, match=r"updating data.*stopped at table etf_daily: SZSE ShowReport"):
            refresh_workbook(book)
    assert book.read_bytes() == before
    # with the source answering, the click updates the store and the tables are built from it
    with serve() as http:
        routes(http, real, real_index_closes)
        refresh_workbook(book, wait=0)
    assert read_manifest(path)["tables"]["etf_daily"]["last"] == "2024-09-30"
    assert book.read_bytes() != before


def _set_param(wb, key: str, value: str) -> None:
    """Write ``value`` beside ``key`` on the parameters sheet (the cell right of the key)."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value == key:
                    ws.cell(row=cell.row, column=cell.column + 1, value=value)
                    return
    raise AssertionError(f"no parameter row {key}")


def test_the_refresh_button_updates_the_store_before_it_computes(store, real_index_closes):
    """The Excel button's market opener (macros/refresh.py) with update_data=yes: update, then load."""
    from xladdin.data.store import UpdateFailed
    from xladdin_macros.refresh import load_market_for
    path, real = store
    params = default_params().replace(update_data="yes", data_dir=str(path))
    with serve() as http:
        routes(http, real, real_index_closes, szse_header="基金规模(万份)")
        with pytest.raises(UpdateFailed, match="stopped at table etf_daily"):
            load_market_for(params)
    with serve() as http:
        routes(http, real, real_index_closes)
        market = load_market_for(params)
    assert market.last_date("etf_daily") == pd.Timestamp("2024-09-30")
