"""``xladdin fetch --source akshare`` and ``xladdin update`` end to end, through the command line.

akshare's own functions run with HTTP answered at the transport layer (bodies synthesized from the real
values of ../shared/data/real, see ``tests/_akshare_bodies.py``); the sources and their help come from
the one registry.
"""
from __future__ import annotations

import pandas as pd
from _akshare_bodies import etf_routes, fund_info_routes, index_closes, index_routes
from _transport import serve

from xladdin.data.clients import SOURCES
from xladdin.data.loaders import load_market
from xladdin.data.store import read_manifest
from xladdin.ops.cli import build_parser, main

CODES = ["510300.SH", "510310.SH", "159919.SZ"]


def routes(http, real, real_data_dir, szse_header="基金规模(份)"):
    etf_routes(http, real, szse_header=szse_header)
    index_routes(http, index_closes(real_data_dir))


def test_source_choices_and_help_come_from_the_registry():
    parser = build_parser("fetch")
    fetch = parser._subparsers._group_actions[0].choices["fetch"]
    source = next(a for a in fetch._actions if a.dest == "source")
    assert list(source.choices) == list(SOURCES) == ["akshare", "tushare", "wind"]
    assert all(s.summary in source.help for s in SOURCES.values())
    update = build_parser("update")._subparsers._group_actions[0].choices["update"]
    assert list(next(a for a in update._actions if a.dest == "source").choices) == list(SOURCES)


def test_fetch_akshare_writes_validated_tables(tmp_path, real_data_dir, real_etfs, capsys):
    real = real_etfs
    out = tmp_path / "data"
    with serve() as http:
        routes(http, real, real_data_dir)
        rc = main(["fetch", "--source", "akshare", "--out", str(out), "--tables", "etf_daily", "index_daily",
                   "--etfs", *CODES, "--indices", "000300.SH", "--start", "2024-09-16", "--end", "2024-09-27",
                   "--timeout", "7", "--format", "parquet"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "wrote 2 table(s)" in text and "split/consolidation inferred on 2024-09-20" in text
    assert {s.timeout for s in http.log} == {7.0}
    market = load_market(out)
    assert sorted(market.tables["etf_daily"]["etf"].unique()) == sorted(CODES)


def test_update_creates_then_updates_then_reports_a_failure(tmp_path, real_data_dir, real_etfs, capsys):
    real = real_etfs
    store = tmp_path / "store"
    with serve() as http:
        routes(http, real, real_data_dir)
        rc = main(["update", str(store), "--source", "akshare", "--tables", "etf_daily", "index_daily",
                   "--etfs", *CODES, "--indices", "000300.SH", "--start", "2024-09-02", "--end", "2024-09-13",
                   "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "etf_daily" in out and "30 new row(s)" in out
    with serve() as http:
        routes(http, real, real_data_dir)
        rc = main(["update", str(store), "--end", "2024-09-30", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and read_manifest(store)["tables"]["etf_daily"]["last"] == "2024-09-30"
    assert "read 2024-09-09..2024-09-30" in out
    with serve() as http:
        routes(http, real, real_data_dir, szse_header="基金规模(万份)")
        rc = main(["update", str(store), "--end", "2024-10-08", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "xladdin update: error: update of" in err and "stopped at table etf_daily" in err
    assert "header lacks 基金规模(份)" in err and "the store is unchanged" in err


def test_update_of_a_missing_store_without_source_says_what_to_give(tmp_path, capsys):
    assert main(["update", str(tmp_path / "nothing")]) == 1
    assert "is not a store yet: give --source, --tables and --start" in capsys.readouterr().err


def test_etf_file_overrides_are_kept_for_later_updates(tmp_path, real_data_dir, real_etfs, capsys):
    """--etf-file's overrides apply, and are kept in the manifest for later updates (their clients get them)."""
    real = real_etfs
    etf_file = tmp_path / "etfs.csv"
    etf_file.write_text("etf,tracked_index\n510300.SH,\n159919.SZ,000300.SH\n", encoding="utf-8")
    store = tmp_path / "store"

    def info_routes(http):  # overview pages naming no index xladdin knows
        fund_info_routes(http, CODES, {"159919": "2012-05-28"}, {c[:6]: "某指数" for c in CODES})

    with serve() as http:
        routes(http, real, real_data_dir)
        info_routes(http)
        assert main(["update", str(store), "--source", "akshare", "--tables", "etf_info", "--etf-file", str(etf_file),
                     "--no-progress"]) == 0
    m = read_manifest(store)
    assert m["settings"]["etf_overrides"] == [{"etf": "510300.SH", "tracked_index": None},
                                              {"etf": "159919.SZ", "tracked_index": "000300.SH"}]
    assert load_market(store).tables["etf_info"].set_index("etf").loc["159919.SZ", "tracked_index"] == "000300.SH"
    from xladdin.data.store import stored_overrides
    got = stored_overrides(m)
    assert got["etf"].tolist() == ["510300.SH", "159919.SZ"] and got["tracked_index"].iloc[1] == "000300.SH"
    assert pd.isna(got["tracked_index"].iloc[0])
    capsys.readouterr()


def test_without_akshare_installed_the_source_says_what_to_install(tmp_path, monkeypatch, capsys):
    import sys
    monkeypatch.setitem(sys.modules, "akshare", None)   # `import akshare` raises ImportError
    rc = main(["fetch", "--source", "akshare", "--out", str(tmp_path), "--tables", "etf_daily", "--etfs", "510300.SH",
               "--start", "2024-09-02", "--end", "2024-09-06"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "akshare package is not installed" in err
    assert 'python -m pip install "<path or URL of the xladdin wheel>[akshare]"' in err  # never an index `xladdin`
