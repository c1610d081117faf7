"""``xladdin fetch --source akshare`` and ``xladdin update`` end to end, through the command line.

akshare's own functions run with HTTP answered at the transport layer (bodies synthesized from the real
values of ../shared/data/real, see ``tests/_akshare_bodies.py``); the sources and their help come from
the one registry.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pytest
from _akshare_bodies import SW_CITIC, TREND, etf_routes, fund_info_routes, index_closes, index_routes
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


# ------------------------------------------------------------------------- Shenwan volume and amount -> M14
SW_CODES = sorted(SW_CITIC)


def naive_heat_pct(amounts: list[list[float]], i: int, window: int = 20, history: int = 750,
                   min_history: int = 250) -> float | None:
    """M14's heat percentile of industry ``i`` on the last row, by plain loops: the day's share of the
    amounts, its 20-day mean, the share of the trailing ``history`` means at or below the last one."""
    shares = [[x / sum(day) for x in day] for day in amounts]
    level = [None if t < window - 1 else sum(shares[s][i] for s in range(t - window + 1, t + 1)) / window
             for t in range(len(shares))]
    last = len(level) - 1
    hist = [h for h in level[max(0, last - history + 1):] if h is not None]
    if len(hist) < min_history:
        return None
    return sum(1 for h in hist if h <= level[last]) / len(hist)


def test_fetched_shenwan_volume_and_amount_give_heat_and_divergence(tmp_path, real_shenwan, capsys):
    """``xladdin fetch --source akshare`` of six Shenwan industries over two years (bodies: real closes, the
    CITIC counterparts' real volumes, invented amounts), then ``xladdin crowding`` on the folder: heat and
    divergence are computed (not blank), heat of the amount shares, each value against plain loops over the
    bodies' own 亿 numbers (M14 is unit-free)."""
    out = tmp_path / "data"
    with serve() as http:
        http.add(*TREND, real_shenwan.answer, params={"period": "DAY"})
        rc = main(["fetch", "--source", "akshare", "--out", str(out), "--tables", "industry_daily",
                   "--industries", *SW_CODES, "--start", "2021-01-04", "--end", "2022-12-30"])
    assert rc == 0, capsys.readouterr()
    assert http.count(*TREND) == len(SW_CODES)
    capsys.readouterr()
    assert main(["crowding", "--data", str(out), "--json"]) == 0
    rows = {r["industry"]: r for r in json.loads(capsys.readouterr().out)}
    assert main(["crowding", "--data", str(out), "--csv", str(tmp_path / "c.csv")]) == 0
    text = capsys.readouterr().out
    assert "share of the traded amount" in text and "no volume" not in text
    table = pd.read_csv(tmp_path / "c.csv", encoding="utf-8-sig").set_index("industry")

    body = {c: [r for r in real_shenwan.rows[c] if "2021-01-04" <= r["bargaindate"] <= "2022-12-30"] for c in SW_CODES}
    dates = [r["bargaindate"] for r in body[SW_CODES[0]]]
    assert all([r["bargaindate"] for r in body[c]] == dates for c in SW_CODES) and len(dates) > 250 + 19
    amounts = [[body[c][t]["bargainsum"] for c in SW_CODES] for t in range(len(dates))]
    for i, code in enumerate(SW_CODES):
        r = rows[code]
        assert r["heat_pct"] == pytest.approx(naive_heat_pct(amounts, i), rel=1e-12)
        assert not any(x.startswith(("heat:", "divergence:")) for x in r["reasons"])
        vol = [row["bargainamount"] for row in body[code]]
        change = (sum(vol[-20:]) / 20) / (sum(vol[-40:-20]) / 20) - 1
        ret = body[code][-1]["closeindex"] / body[code][-21]["closeindex"] - 1
        assert table.at[code, "volume_change"] == pytest.approx(change, rel=1e-12)
        assert table.at[code, "ret"] == pytest.approx(ret, rel=1e-12)
        kind = ("volume_up_price_down" if ret <= -0.03 and change >= 0.2 else
                "price_up_volume_down" if ret >= 0.03 and change <= -0.2 else None)
        assert r["divergence"] == kind



def test_update_keeps_volume_and_amount_and_refills_an_older_store(tmp_path, real_shenwan, capsys):
    """A store's industry_daily carries volume and amount; one kept by an xladdin that did not map them (simulated:
    the columns blanked) gets them back for the days an ``--overlap`` re-reads, each reported as a revision."""
    store = tmp_path / "store"
    codes = SW_CODES[:2]
    with serve() as http:
        http.add(*TREND, real_shenwan.answer, params={"period": "DAY"})
        assert main(["update", str(store), "--source", "akshare", "--tables", "industry_daily", "--industries", *codes,
                     "--start", "2022-11-01", "--end", "2022-11-30", "--no-progress"]) == 0
    first = pd.read_parquet(store / "industry_daily.parquet")
    assert first["volume"].notna().all() and first["amount"].notna().all() and len(first) == 2 * 22
    first.assign(volume=float("nan"), amount=float("nan")).to_parquet(store / "industry_daily.parquet")
    capsys.readouterr()
    with serve() as http:
        http.add(*TREND, real_shenwan.answer, params={"period": "DAY"})
        assert main(["update", str(store), "--end", "2022-12-30", "--overlap", "22", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert f"revised by the source ({2 * 22 * 2}; the new values are kept)" in text   # 2 columns x 22 days x 2
    after = load_market(store).tables["industry_daily"]
    assert after["date"].min() == pd.Timestamp("2022-11-01") and after[["volume", "amount"]].notna().all().all()
    got = after.set_index(["date", "industry"])["volume"]
    for code in codes:
        row = next(r for r in real_shenwan.rows[code] if r["bargaindate"] == "2022-11-01")
        assert got[(pd.Timestamp("2022-11-01"), code)] == float(Decimal(str(row["bargainamount"])) * 10 ** 8)
