"""The local data store and ``xladdin update``: incremental, revisions reported, atomic, resumable.

Every update runs the akshare source (akshare's own functions, the exchanges' disclosures) with HTTP
answered at the transport layer (``tests/_transport.py``) from bodies synthesized out of the real
values in ``../shared/data/real`` (``tests/_akshare_bodies.py``). Requests are counted there.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import akshare
import pandas as pd
import pytest
from _akshare_bodies import (
    CNI,
    CSI_PERF,
    FIVE_ETFS,
    KLINE,
    LSJZ,
    SSE,
    SZSE,
    csi_perf,
    etf_routes,
    fund_info_routes,
    index_routes,
    szse_scale,
)
from _transport import serve

from xladdin.data.calendar import trading_days
from xladdin.data.clients.akshare import AkshareClient
from xladdin.data.loaders import load_market
from xladdin.data.store import UpdateFailed, read_manifest, update_store, work_dir

TESTS = Path(__file__).resolve().parent
CODES = FIVE_ETFS
SETTINGS = {"etfs": CODES, "indices": ["000300.SH", "399006.SZ"], "start": "2024-09-02"}
TABLES = ["etf_info", "etf_daily", "index_daily"]


def routes(http, real_etfs, real_index_closes, **sse_kw):
    """Answers for every request an update of TABLES makes (bodies: see tests/_akshare_bodies.py); route 0 is SSE's,
    1 SZSE's, 4 the CSI 300 closes."""
    etf_routes(http, real_etfs, **sse_kw)
    index_routes(http, real_index_closes)
    fund_info_routes(http, CODES, {"159919": "2012-05-28", "159915": "2011-12-09"}, {"159915": "创业板指数"})


def client() -> AkshareClient:
    return AkshareClient(akshare, sleep=lambda s: None, now="2026-12-01")


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative name -> sha256): the store's bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def update(store, real_etfs, real_index_closes, end, **kw):
    with serve() as http:
        routes(http, real_etfs, real_index_closes, **kw.pop("sse", {}))
        report = update_store(store, client(), tables=kw.pop("tables", TABLES), settings=kw.pop("settings", SETTINGS),
                              end=end, **kw)
    return report, http


# ============================================================================ incremental updates
def test_first_update_then_new_days_then_none(tmp_path, real_etfs, real_index_closes, real_data_dir):
    store = tmp_path / "store"
    first, http1 = update(store, real_etfs, real_index_closes, "2024-09-13")
    assert sorted(p.name for p in store.iterdir()) == ["etf_daily.parquet", "etf_info.parquet", "index_daily.parquet",
                                                      "manifest.json"]
    m = read_manifest(store)
    assert m["source"] == "akshare" and m["settings"]["etfs"] == CODES
    e = m["tables"]["etf_daily"]
    assert (e["first"], e["last"], e["rows"]) == ("2024-09-02", "2024-09-13", 5 * 10)
    assert e["library"] == f"akshare {akshare.__version__}"
    assert {"sse_etf_scale", "szse_etf_scale", "fund_etf_hist_em", "fund_etf_fund_info_em"} <= set(e["functions"])
    market = load_market(store)   # a store is read as any folder of tables (validated)
    assert market.etfs_tracking("399006.SZ") == ["159915.SZ"]

    # new days: only from the overlap (5 trading days before 09-13) on
    second, http2 = update(store, real_etfs, real_index_closes, "2024-09-30", settings=None, tables=None)
    overlap_start = trading_days("2024-09-01", "2024-09-13")[-5]
    assert overlap_start == pd.Timestamp("2024-09-09")
    sse_days = [pd.Timestamp(s.params["STAT_DATE"]) for s in http2.log if (s.host, s.path) == SSE]
    assert sse_days == list(trading_days(overlap_start, "2024-09-30"))
    assert {s.params["beg"] for s in http2.log if (s.host, s.path) == KLINE} == {"20240909"}
    assert http2.count("fundf10.eastmoney.com") == 0 and http2.count("fund.eastmoney.com") == 0  # no new ETF
    daily = {t.table: t for t in second.tables}["etf_daily"]
    assert daily.new_rows == 5 * len(trading_days("2024-09-14", "2024-09-30")) and daily.revised == []
    got = load_market(store).tables["etf_daily"].set_index(["date", "etf"]).sort_index()
    canon = pd.read_csv(real_data_dir / "etf_daily.csv", parse_dates=["date"])
    canon = canon[(canon.date >= "2024-09-02") & (canon.date <= "2024-09-30")].set_index(["date", "etf"]).sort_index()
    assert got.index.equals(canon.index) and (got["shares"] - canon["shares"]).abs().max() == 0
    assert got.loc[(pd.Timestamp("2024-09-20"), "510310.SH"), "split_ratio"] == pytest.approx(0.49977589, rel=0.005)

    # no new day: no request beyond the overlap
    third, http3 = update(store, real_etfs, real_index_closes, "2024-09-30", settings=None, tables=None)
    last5 = trading_days("2024-09-01", "2024-09-30")[-5:]
    assert [pd.Timestamp(s.params["STAT_DATE"]) for s in http3.log if (s.host, s.path) == SSE] == list(last5)
    assert {s.params["beg"] for s in http3.log if (s.host, s.path) == KLINE} == {f"{last5[0]:%Y%m%d}"}
    assert {s.params["startDate"] for s in http3.log if (s.host, s.path) == LSJZ} == {f"{last5[0]:%Y-%m-%d}"}
    assert {s.params["startDate"] for s in http3.log if (s.host, s.path) == CSI_PERF} == {f"{last5[0]:%Y%m%d}"}
    assert http3.count(*SZSE) == 1 and all((s.host, s.path) in {SSE, SZSE, KLINE, LSJZ, CSI_PERF, CNI}
                                           for s in http3.log)
    assert all(t.new_rows == 0 for t in third.tables)


def test_revisions_in_the_overlap_are_reported_and_win(tmp_path, real_etfs, real_index_closes):
    store = tmp_path / "store"
    update(store, real_etfs, real_index_closes, "2024-09-13")
    revised = real_etfs.shares.copy()
    day = (revised.code == "510300") & (revised.date == pd.Timestamp("2024-09-12"))
    revised.loc[day, "shares_100m"] = "880.000000"
    orig, real_etfs.shares = real_etfs.shares, revised
    try:
        report, _ = update(store, real_etfs, real_index_closes, "2024-09-13", settings=None, tables=None)
    finally:
        real_etfs.shares = orig
    was = round(float(orig.loc[day, "shares_100m"].iloc[0]) * 1e8)
    assert report.revisions == [f"etf_daily 2024-09-12 510300.SH shares: {float(was)} -> 88000000000.0"]
    got = load_market(store).tables["etf_daily"].set_index(["date", "etf"])
    assert got.loc[(pd.Timestamp("2024-09-12"), "510300.SH"), "shares"] == 88e9


# ============================================================================ atomicity
def test_a_failed_or_refused_update_leaves_the_store_byte_identical(tmp_path, real_etfs, real_index_closes):
    store = tmp_path / "store"
    update(store, real_etfs, real_index_closes, "2024-09-13")
    before = snapshot(store)
    with serve() as http:
        routes(http, real_etfs, real_index_closes)
        http.routes.insert(0, http.routes.pop(1))  # keep order; then make SZSE's header drift
        http.routes[0].answer = szse_scale(real_etfs, header="基金规模(万份)")
        with pytest.raises(UpdateFailed, match=r"stopped at table etf_daily: SZSE ShowReport\(CATALOGID="
                                               r"'scsj_fund_jjgm', txtStart='2024-09-09'.*header lacks"):
            update_store(store, client(), end="2024-09-30")
    assert snapshot(store) == before
    # refused by validation: an index close that the source sends as 0 fails the adapter's check -> unchanged
    with serve() as http:
        routes(http, real_etfs, real_index_closes)
        bad = real_index_closes["000300.SH"].copy()
        bad[pd.Timestamp("2024-09-30")] = 0.0   # the last day: no later 涨跌幅 divides by it
        http.routes[4].answer = csi_perf(bad, "000300")
        with pytest.raises(UpdateFailed, match=r"stopped at table index_daily: akshare stock_zh_index_hist_csindex"
                                               r"\(symbol='000300'.*is not a number > 0"):
            update_store(store, client(), end="2024-09-30")
    assert snapshot(store) == before
    # the ETF shares fetched before the refusal were kept in the work folder: the next run reuses them
    with serve() as http:
        routes(http, real_etfs, real_index_closes)
        report = update_store(store, client(), end="2024-09-30")
    assert http.count(*SSE) == 0 and {t.table: t.resumed for t in report.tables}["etf_daily"] == 1
    assert not work_dir(store).exists()


def test_validation_of_the_union_refuses_and_leaves_the_store_unchanged(tmp_path, real_etfs, real_index_closes):
    """etf_daily for an ETF the store's etf_info lacks: the union fails validation, nothing is committed."""
    store = tmp_path / "store"
    update(store, real_etfs, real_index_closes, "2024-09-13", tables=["etf_info", "etf_daily"],
           settings={**SETTINGS, "etfs": CODES[:2]})
    before = snapshot(store)
    with serve() as http:
        routes(http, real_etfs, real_index_closes)
        with pytest.raises(UpdateFailed, match="refused: the updated tables do not validate.*510330.SH"):
            update_store(store, client(), tables=["etf_daily"], settings={"etfs": CODES}, end="2024-09-20")
    assert snapshot(store) == before


CHILD = """
import sys, time
sys.path[:0] = [{tests!r}]
from pathlib import Path
import akshare, pandas as pd
from _transport import serve
from _akshare_bodies import RealETFs, index_closes
import test_store as T   # noqa: the same routes as the test (a script, not a test module import)
real = RealETFs(Path({real!r}))
closes = index_closes(Path({real!r}))
with serve() as http:
    T.routes(http, real, closes)
    def hang(seen):
        Path({ready!r}).write_text("index_daily")
        time.sleep(600)
    http.routes[4].answer = hang
    from xladdin.data.store import update_store
    update_store({store!r}, T.client(), end="2024-09-30")
"""


def test_an_update_killed_between_tables_leaves_the_store_unchanged_and_resumes(tmp_path, real_etfs, real_index_closes,
                                                                              real_data_dir):
    store = tmp_path / "store"
    update(store, real_etfs, real_index_closes, "2024-09-13")
    before = snapshot(store)
    ready = tmp_path / "ready"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD.format(tests=str(TESTS), real=str(real_data_dir), ready=str(ready),
                                                   store=str(store))), encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script)], cwd=str(TESTS.parent))
    try:
        for _ in range(1200):   # wait (bounded) until the child is inside index_daily, after etf_info and etf_daily
            if ready.exists() or child.poll() is not None:
                break
            time.sleep(0.1)
        assert ready.exists(), f"the child ended early (rc {child.poll()})"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    assert snapshot(store) == before
    with serve() as http:
        routes(http, real_etfs, real_index_closes)
        report = update_store(store, client(), end="2024-09-30")
    resumed = {t.table: t.resumed for t in report.tables}
    assert resumed["etf_daily"] == 1 and http.count(*SSE) == 0 and http.count(*CSI_PERF) == 1
    assert read_manifest(store)["tables"]["index_daily"]["last"] == "2024-09-30"


def test_a_commit_killed_while_moving_files_is_completed_by_the_next_reader(tmp_path, real_etfs, real_index_closes,
                                                                            monkeypatch):
    store = tmp_path / "store"
    update(store, real_etfs, real_index_closes, "2024-09-13")
    moves = []
    real_replace = os.replace

    def replace_once(src, dst):
        if Path(dst).parent == store and moves:
            raise KeyboardInterrupt("killed while moving files into the store")
        moves.append(dst)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_once)
    with pytest.raises(KeyboardInterrupt):
        update(store, real_etfs, real_index_closes, "2024-09-30", settings=None, tables=None)
    monkeypatch.setattr(os, "replace", real_replace)
    assert (work_dir(store) / "COMMITTED").is_file()
    market = load_market(store)   # finishes the commit first
    assert not work_dir(store).exists()
    assert market.last_date("etf_daily") == pd.Timestamp("2024-09-30")
    assert read_manifest(store)["tables"]["etf_daily"]["last"] == "2024-09-30"


def test_the_store_keeps_its_source(tmp_path, real_etfs, real_index_closes):
    store = tmp_path / "store"
    update(store, real_etfs, real_index_closes, "2024-09-13")

    class Other:
        name = "tushare"
    with pytest.raises(UpdateFailed, match="holds akshare data; update it with --source akshare"):
        update_store(store, Other(), end="2024-09-30")
