"""The akshare source through akshare's own functions, every HTTP request answered at the transport layer.

``tests/_transport.py`` replaces ``requests.adapters.HTTPAdapter.send``: an unmatched request fails
the test, nothing reaches the network. The bodies are synthesized in the shapes akshare 1.19.5 reads
(``tests/_akshare_bodies.py`` says what each holds) and filled with the real values of
``../shared/data/real`` read at test time: the SSE/SZSE shares of 510300, 510310, 510330, 159919 and
159915, their closes, 510310's consolidation, CSI 300 and ChiNext closes.
"""
from __future__ import annotations

import socket
import threading

import akshare
import numpy as np
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
    cni_daily,
    csi_perf,
    etf_routes,
    sse_scale,
    szse_scale,
    xlsx,
)
from _transport import serve

from xladdin.data.calendar import trading_days
from xladdin.data.clients import SourceError, fetch_market
from xladdin.data.clients.akshare import AkshareClient
from xladdin.data.clients.exchange import SZSE_MAX_DAYS
from xladdin.data.loaders import validate_market
from xladdin.data.market import Market
from xladdin.methods.flows import etf_flows

CODES = FIVE_ETFS
START, END = "2024-09-02", "2024-09-30"
NOW = "2026-12-01"   # after every date asked: nothing counts as "not yet published"


def client(**kw) -> tuple[AkshareClient, list[float]]:
    waits: list[float] = []
    kw.setdefault("now", NOW)
    return AkshareClient(akshare, sleep=waits.append, **kw), waits


# ============================================================================ etf_daily on the real series
def test_etf_daily_real_values_split_and_request_counts(real_etfs, real_data_dir):
    c, _ = client(timeout=12)
    with serve() as http:
        etf_routes(http, real_etfs)
        out = c.etf_daily(CODES, START, END)
    days = trading_days(START, END)
    assert len(days) == 19  # Mid-Autumn: 09-16/17 closed
    # requests: SSE one per trading day, SZSE one chunk, one raw kline per ETF, NAV 1 + ceil(19/20) pages per ETF,
    # and an hfq kline only for the ETFs whose shares moved by more than half the 5 % split threshold in a day
    canon = pd.read_csv(real_data_dir / "etf_daily.csv", parse_dates=["date"])
    canon = canon[(canon.date >= START) & (canon.date <= END)].set_index(["date", "etf"]).sort_index()
    moves = canon["shares"].unstack().apply(np.log).diff().abs().max()
    jumped = sorted(moves[moves > np.log(1.05) / 2].index)
    assert "510310.SH" in jumped and len(jumped) < len(CODES)
    assert http.count(*SSE) == len(days) and http.count(*SZSE) == 1
    klines = [s for s in http.log if (s.host, s.path) == KLINE]
    secid = {c: f"{1 if c[0] == '5' else 0}.{c[:6]}" for c in CODES}
    assert sorted((s.params["secid"], s.params["fqt"]) for s in klines) == sorted(
        [(secid[c], "0") for c in CODES] + [(secid[c], "2") for c in jumped])
    assert http.count(*LSJZ) == 2 * len(CODES)
    assert all(0 < s.timeout <= 12 for s in http.log)   # every request under the client's timeout
    # shares: exactly the canonical (exchange) figures
    got = out.set_index(["date", "etf"]).sort_index()
    assert got.index.equals(canon.index)
    assert (got["shares"] - canon["shares"]).abs().max() == 0.0
    # the consolidation: found on the shares' day, ratio within 0.5 %, close restated to post-split units
    split = got[got["split_ratio"] != 1.0]
    assert list(split.index) == [(pd.Timestamp("2024-09-20"), "510310.SH")]
    assert split["split_ratio"].iloc[0] == pytest.approx(0.49977589, rel=0.005)
    assert split["close"].iloc[0] == pytest.approx(1.599 / split["split_ratio"].iloc[0], rel=1e-12)
    assert split["close"].iloc[0] == pytest.approx(canon.loc[split.index[0], "close"], rel=5e-4)
    assert got.loc[(pd.Timestamp("2024-09-20"), "510310.SH"), "nav"] == 3.1994  # the NAV body is post-split already
    # no flow above 50 亿元 on 09-20 / 09-23 (M1 on the fetched table)
    wide = {f: out.pivot(index="date", columns="etf", values=f) for f in ("shares", "nav", "split_ratio")}
    for rule in ("zero", "adjusted"):
        flow = etf_flows(wide["shares"], wide["nav"], wide["split_ratio"], split_day=rule)["510310.SH"]
        assert flow[["2024-09-20", "2024-09-23"]].abs().max() < 50e8
    assert validate_market(Market({"etf_daily": out})) == []


def test_thousands_separators_are_read(real_etfs):
    """TOT_VOL "8,867,928.77" (akshare's own parser turns it into NaN) and SZSE shares as numbers, both read."""
    c, _ = client()
    with serve() as http:
        http.add(*SSE, sse_scale(real_etfs, thousands=True))
        http.add(*SZSE, szse_scale(real_etfs, numeric=True))
        out = c.etf_shares(["510300.SH", "159919.SZ"], "2024-09-20", "2024-09-20")
    assert out.set_index("etf")["shares"].to_dict() == {"159919.SZ": 37668816600.0, "510300.SH": 88679287700.0}
    # what akshare's wrapper makes of the same SSE body: NaN shares, silently (why the adapter calls SSE itself)
    with serve() as http:
        http.add(*SSE, sse_scale(real_etfs, thousands=True))
        wrapped = akshare.fund_etf_scale_sse(date="20240920")
    assert wrapped["基金份额"].isna().all()


def test_drifted_header_is_refused(real_etfs):
    c, _ = client()
    with serve() as http:
        http.add(*SZSE, szse_scale(real_etfs, header="基金规模(万份)"))
        with pytest.raises(SourceError, match=r"SZSE ShowReport\(CATALOGID='scsj_fund_jjgm', txtStart='2024-09-02', "
                                              r"txtEnd='2024-09-30'\): header lacks 基金规模\(份\) \(got .*基金规模\(万份\)"):
            c.etf_shares(["159919.SZ"], START, END)
    # akshare's wrapper on the same body: every share <NA>, silently
    with serve() as http:
        http.add(*SZSE, szse_scale(real_etfs, header="基金规模(万份)"))
        wrapped = akshare.fund_scale_daily_szse(start_date="20240902", end_date="20240930", symbol="ETF")
    assert len(wrapped) > 0 and wrapped["基金份额"].isna().all()


def test_a_day_without_disclosure_is_no_rows(real_etfs):
    """SSE answers an empty result for 2024-09-20 (as on a holiday): no rows that day, a note, no error;
    akshare's own wrapper raises KeyError on that body. Real holidays are never asked (Mid-Autumn 09-16/17)."""
    c, _ = client()
    with serve() as http:
        def holiday_on_20th(seen):
            return {"result": []} if seen.params["STAT_DATE"] == "2024-09-20" else sse_scale(real_etfs)(seen)
        http.add(*SSE, holiday_on_20th)
        out = c.etf_shares(["510300.SH"], "2024-09-12", "2024-09-23")
    asked = [s.params["STAT_DATE"] for s in http.log]
    assert asked == ["2024-09-12", "2024-09-13", "2024-09-18", "2024-09-19", "2024-09-20", "2024-09-23"]
    assert list(out["date"].dt.strftime("%m-%d")) == ["09-12", "09-13", "09-18", "09-19", "09-23"]
    assert any("SSE published no ETF scale for 2024-09-20" in n for n in c.notes)
    with serve() as http:
        http.add(*SSE, {"result": []})
        with pytest.raises(KeyError):
            akshare.fund_etf_scale_sse(date="20240920")


def test_over_long_range_is_asked_in_chunks_and_an_empty_range_refused(real_etfs):
    c, _ = client()
    with serve() as http:
        http.add(*SZSE, szse_scale(real_etfs, codes=("159919",)))
        out = c.etf_shares(["159919.SZ"], "2023-01-03", "2024-06-28")
    spans = [(pd.Timestamp(s.params["txtStart"]), pd.Timestamp(s.params["txtEnd"])) for s in http.log]
    assert len(spans) == 4 and all((b - a).days + 1 <= SZSE_MAX_DAYS for a, b in spans)
    assert spans[0][0] == pd.Timestamp("2023-01-03") and spans[-1][1] == pd.Timestamp("2024-06-28")
    # no gap, no overlap
    assert all(b + pd.Timedelta(days=1) == a2 for (_, b), (a2, _) in zip(spans, spans[1:], strict=False))
    assert len(out) == len(trading_days("2023-01-03", "2024-06-28"))
    # SZSE's answer to a range it will not serve: an empty table with its header -> refused, naming the call
    with serve() as http:
        http.add(*SZSE, xlsx(["日期", "基金代码", "基金简称", "基金规模(份)"], []))
        with pytest.raises(SourceError, match=r"txtStart='2024-01-02'.*an empty table for a range holding \d+ "
                                              r"published trading day"):
            c.etf_shares(["159919.SZ"], "2024-01-02", "2024-03-29")


def test_swapped_positional_columns_are_refused(real_data_dir):
    """CSI's index-perf keys arrive with open and close in each other's place: akshare names them by position,
    so its 收盘 holds the opens; the closes then disagree with 涨跌幅 and the answer is refused."""
    ix = pd.read_csv(real_data_dir / "index_daily.csv", parse_dates=["date"])
    csi300 = ix[ix["index"] == "000300.SH"].set_index("date")["close"]
    c, _ = client()
    with serve() as http:
        http.add(*CSI_PERF, csi_perf(csi300, "000300"))
        ok = c.index_daily(["000300.SH"], START, END)
    assert np.allclose(ok["close"], csi300[START:END], rtol=0, atol=0)
    with serve() as http:
        http.add(*CSI_PERF, csi_perf(csi300, "000300", swap=True))
        with pytest.raises(SourceError, match=r"stock_zh_index_hist_csindex\(symbol='000300', start_date='20240902', "
                                              r"end_date='20240930'\): on 2024-09-\d\d 收盘 moves .* but 涨跌幅 says"):
            c.index_daily(["000300.SH"], START, END)


def test_cni_index_closes(real_data_dir):
    ix = pd.read_csv(real_data_dir / "index_daily.csv", parse_dates=["date"])
    chinext = ix[ix["index"] == "399006.SZ"].set_index("date")["close"]
    c, _ = client()
    with serve() as http:
        http.add(*CNI, cni_daily(chinext))
        out = c.index_daily(["399006.SZ"], START, END)
    assert out["index"].unique().tolist() == ["399006.SZ"]
    assert np.allclose(out.set_index("date")["close"], chinext[START:END], rtol=1e-12)


# ============================================================================ timeouts
class SilentServer:
    """A loopback server that accepts connections and never answers (a hung host)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.accepted: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _run(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)
            except OSError:
                continue

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def test_a_never_answering_host_ends_in_a_timeout_then_a_refusal_naming_the_call():
    """akshare's stock_zh_index_hist_csindex passes no timeout; the client's (0.3 s) ends each try."""
    server = SilentServer()
    try:
        c, waits = client(timeout=0.3, max_retries=2, backoff=1.5)
        with serve() as http:
            http.forward(*CSI_PERF, server.url)
            with pytest.raises(SourceError) as err:
                c.index_daily(["000300.SH"], START, END)
    finally:
        server.close()
    msg = str(err.value)
    assert "stock_zh_index_hist_csindex(symbol='000300', start_date='20240902', end_date='20240930')" in msg
    assert "no answer after 3 tries" in msg and "ReadTimeout" in msg and "--timeout" in msg
    assert [s.timeout for s in http.log] == [0.3, 0.3, 0.3]   # akshare passed None; the client's limit went down
    assert len(server.accepted) == 3 and waits == [1.5, 3.0]    # real connections; bounded retries, back-off doubling


# ============================================================================ fetch_market + ALL
def test_fetch_market_validates_and_lists_the_universe(real_etfs):
    c, _ = client()
    with serve() as http:
        etf_routes(http, real_etfs)
        market = fetch_market(c, ["etf_daily"], etfs="ALL", start="2024-09-19", end="2024-09-24")
    assert sorted(market.tables["etf_daily"]["etf"].unique()) == sorted(CODES)
    assert validate_market(market) == []


def test_the_universe_is_read_on_the_last_disclosed_trading_day(real_etfs):
    """Asked on a Sunday (2024-09-29) whose Friday SSE has not published: the Thursday's list is used."""
    c, _ = client()
    with serve() as http:
        def friday_missing(seen):
            return {"result": []} if seen.params["STAT_DATE"] == "2024-09-27" else sse_scale(real_etfs)(seen)
        http.add(*SSE, friday_missing)
        http.add(*SZSE, szse_scale(real_etfs))
        codes = c.etf_universe("2024-09-29")
    assert codes == sorted(CODES)
    assert [s.params["STAT_DATE"] for s in http.log if s.host == SSE[0]] == ["2024-09-27", "2024-09-26"]
