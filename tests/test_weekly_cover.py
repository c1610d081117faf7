"""The cover's headline figure and freshness table on the real data and on a hand-built market.

The headline (the as-of week's net flow of the stock ETFs, M1, 亿元) needs only etf_info and etf_daily: it is
shown even when the industry flows are not computed (the real data's index_weights end 2024-10-08, stale at the
as-of date 2025-12-31; spec, "Stale inputs"). Expected figures are derived here from the CSV rows by a loop over
consecutive rows ((shares_t − shares_{t−1}) × nav_t; 0 on a split day; a day without a NAV left out), not by the
code under test.
"""
from __future__ import annotations

import csv
import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from xladdin.data.market import Market
from xladdin.workbook.params import default_params
from xladdin.workbook.weekly import compute_weekly

STOCK_CATEGORIES = {"broad", "sector_theme", "strategy_style"}  # spec, etf_info.category: the stock ETFs


def stock_etf_week_flow_from_csv(folder, start: str, end: str) -> tuple[float, int]:
    """(Σ M1 flow of the stock ETFs with a tracked index over the days start..end, 亿元; how many ETFs), read
    with the csv module: each ETF's rows in date order, each day against the row before it."""
    with open(folder / "etf_info.csv", encoding="utf-8") as f:
        stock = {r["etf"] for r in csv.DictReader(f)
                 if r["category"] in STOCK_CATEGORIES and r["tracked_index"].strip()}
    rows = defaultdict(list)
    with open(folder / "etf_daily.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["etf"] in stock:
                rows[r["etf"]].append(r)
    total = 0.0
    for etf_rows in rows.values():
        etf_rows.sort(key=lambda r: r["date"])
        for before, day in zip(etf_rows, etf_rows[1:]):
            if not start <= day["date"] <= end or float(day["split_ratio"] or 1) != 1 or not day["nav"]:
                continue
            total += (float(day["shares"]) - float(before["shares"])) * float(day["nav"])
    return total / 1e8, len(rows)


def signal(value: float, language: str) -> str:
    if language == "zh":
        return f"{'净流入' if value >= 0 else '净流出'}{abs(value):,.2f}亿元"
    return f"{'net inflow' if value >= 0 else 'net outflow'} {abs(value):,.2f} (100m yuan)"


@pytest.fixture(scope="module")
def real_default(real_market):
    """The real data's report with no as-of given: dated by its tables, 2025-12-31."""
    return {lang: compute_weekly(real_market, default_params().replace(language=lang)) for lang in ("zh", "en")}


# ------------------------------------------------------------------------------------------ the headline figure
@pytest.mark.slow
def test_real_cover_and_mail_show_the_stock_etf_flow_of_the_asof_week(real_default, real_data_dir):
    expected, n = stock_etf_week_flow_from_csv(real_data_dir, "2025-12-29", "2025-12-31")
    assert n == 5 and expected == pytest.approx(-41.21, abs=0.005)  # the five ETFs' net redemptions that week
    zh, en = real_default["zh"], real_default["en"]
    assert zh.asof == pd.Timestamp("2025-12-31") and zh.tables["industry_flow"] is None  # weights stale
    row = zh.tables["cover_headlines"].set_index("item").loc["股票ETF资金"]
    assert row["signal"] == signal(expected, "zh")
    assert row["detail"] == "12-29至12-31,5只股票ETF合计(M1:份额变动×当日净值)"
    assert f"股票ETF资金:{signal(expected, 'zh')}" in zh.summary.headlines
    row = en.tables["cover_headlines"].set_index("item").loc["Stock-ETF flow"]
    assert row["signal"] == signal(expected, "en")
    assert row["detail"] == "2025-12-29 to 2025-12-31, 5 stock ETFs (M1: share change × that day's NAV)"
    assert f"Stock-ETF flow:{signal(expected, 'en')}" in en.summary.headlines


@pytest.fixture(scope="module")
def hand_market() -> Market:
    """etf_info and etf_daily only (no index, weights or industries), 2025-12-15 .. 12-31; the as-of week
    12-29 .. 12-31 (rows before 12-29 repeat the 12-26 row: no flow):

    ======  ==============  ===============================  ==============================================
    ETF     category        rows 12-26, 29, 30, 31           week's M1 flow, 亿元
    ======  ==============  ===============================  ==============================================
    A.SH    broad           100 / 101 / 103 / 102 亿份;       +1×4.0 +2×4.1 −1×4.2 = 8.0
                            NAV 4.0 / 4.0 / 4.1 / 4.2
    B.SZ    sector_theme    50 / 52 / 104 (split 2) / 100;    +2×2.0, split day 0, −4×1.1 = −0.4
                            NAV 2.0 / 2.0 / 1.0 / 1.1
    C.SH    strategy_style  10 / 12 / 12 / 13; NAV 1.5,       +2×1.5 = 3.0 (12-31 without NAV: left out)
                            blank on 12-31
    D.SH    other           30 / 50 / 50 / 50                 not a stock ETF
    E.SH    broad, no index 7 / 12 / 12 / 12                  left out (no tracked index), named on the cover
    ======  ==============  ===============================  ==============================================
    Headline: 8.0 − 0.4 + 3.0 = 10.6 亿元 over 3 stock ETFs.
    """
    days = pd.bdate_range("2025-12-15", "2025-12-31")
    week = [pd.Timestamp(d) for d in ("2025-12-29", "2025-12-30", "2025-12-31")]
    info = pd.DataFrame({"etf": ["A.SH", "B.SZ", "C.SH", "D.SH", "E.SH"], "name": list("ABCDE"),
                         "tracked_index": ["000300.SH", "399006.SZ", "000905.SH", "H11001.CSI", None],
                         "category": ["broad", "sector_theme", "strategy_style", "other", "broad"],
                         "list_date": pd.Timestamp("2020-01-02")})
    series = {"A.SH": [(100, 4.0, 1), (101, 4.0, 1), (103, 4.1, 1), (102, 4.2, 1)],
              "B.SZ": [(50, 2.0, 1), (52, 2.0, 1), (104, 1.0, 2), (100, 1.1, 1)],
              "C.SH": [(10, 1.5, 1), (12, 1.5, 1), (12, 1.5, 1), (13, np.nan, 1)],
              "D.SH": [(30, 1.0, 1), (50, 1.0, 1), (50, 1.0, 1), (50, 1.0, 1)],
              "E.SH": [(7, 1.0, 1), (12, 1.0, 1), (12, 1.0, 1), (12, 1.0, 1)]}
    rows = []
    for etf, values in series.items():
        for d in days:
            shares, nav, ratio = values[week.index(d) + 1] if d in week else values[0]
            rows.append((d, etf, shares * 1e8, nav, nav, float(ratio)))
    daily = pd.DataFrame(rows, columns=["date", "etf", "shares", "nav", "close", "split_ratio"])
    return Market({"etf_info": info, "etf_daily": daily}, source="hand-built")


def test_hand_built_headline_needs_only_the_etf_tables(hand_market):
    res = compute_weekly(hand_market, default_params())
    heads = res.tables["cover_headlines"].set_index("item")
    assert res.asof == pd.Timestamp("2025-12-31") and res.tables["industry_flow"] is None
    assert heads.loc["股票ETF资金", "signal"] == "净流入10.60亿元"
    assert heads.loc["股票ETF资金", "detail"] == "12-29至12-31,3只股票ETF合计(M1:份额变动×当日净值)"
    # what the total leaves out is named beside it (C.SH's day without a NAV, E.SH without an index)
    assert heads.loc["净值缺失未计入", "signal"] == "1只ETF本周净值缺失1天,未计入: C.SH(约1.50亿元)"
    assert heads.loc["无跟踪指数未计入", "signal"] == "1只股票ETF无跟踪指数,未计入: E.SH(本周资金流5.00亿元)"
    assert "股票ETF资金:净流入10.60亿元" in res.summary.headlines
    en = compute_weekly(hand_market, default_params().replace(language="en"))
    assert en.tables["cover_headlines"].set_index("item").loc["Stock-ETF flow", "signal"] == \
        "net inflow 10.60 (100m yuan)"


def test_hand_built_headline_by_the_csv_loop_too(hand_market, tmp_path):
    """The same market written as CSV files: the loop of this module gives the hand figure."""
    for name in ("etf_info", "etf_daily"):
        t = hand_market.tables[name].copy()
        for c in t.columns:
            if pd.api.types.is_datetime64_any_dtype(t[c]):
                t[c] = t[c].dt.strftime("%Y-%m-%d")
        t.to_csv(tmp_path / f"{name}.csv", index=False)
    value, n = stock_etf_week_flow_from_csv(tmp_path, "2025-12-29", "2025-12-31")
    assert math.isclose(value, 10.6, abs_tol=1e-9) and n == 3


# ------------------------------------------------------------------------------------------ freshness
@pytest.mark.slow
def test_freshness_of_a_table_running_past_the_asof_date(real_default):
    """etf_daily runs to 2026-08-21, past the report's as-of date 2025-12-31: 0 days behind (never negative),
    its last date shown as it is, and the status says the rows past the as-of date are not used."""
    for lang, status in (("zh", "最新(数据晚于截至日,只用到截至日)"),
                         ("en", "current (data runs past the as-of date; used up to it)")):
        fresh = real_default[lang].tables["cover_freshness"].set_index("table")
        assert fresh.loc["etf_daily", "lag_days"] == 0
        assert fresh.loc["etf_daily", "last"] == pd.Timestamp("2026-08-21")
        assert fresh.loc["etf_daily", "status"] == status
        assert (fresh["lag_days"].dropna() >= 0).all()
        # a table ending on the as-of date is current, nothing more said
        assert fresh.loc["industry_daily", "lag_days"] == 0
        assert fresh.loc["industry_daily", "status"] == ("最新" if lang == "zh" else "current")


@pytest.mark.slow
def test_freshness_mid_data_keeps_each_tables_rhythm(sample_market):
    """On a mid-data as-of date every dated table runs past it: each is 0 days behind and keeps what it says of its
    rhythm (a monthly table is "月度,最新"), the rows past the as-of date said unused."""
    res = compute_weekly(sample_market, default_params(), asof="2021-06-16")
    fresh = res.tables["cover_freshness"].set_index("table")
    assert res.asof == pd.Timestamp("2021-06-16")
    dated = fresh[fresh["last"].notna()]
    assert (dated["last"] > res.asof).all() and (dated["lag_days"] == 0).all()
    assert fresh.loc["index_weights", "status"] == "月度,最新(数据晚于截至日,只用到截至日)"
    assert fresh.loc["etf_daily", "status"] == "最新(数据晚于截至日,只用到截至日)"


# ------------------------------------------------------------------------------------------ the cover's looks
INFLOW_RED, OUTFLOW_GREEN = "C00000", "00A651"  # the desk's colours (red = inflow / up, green = outflow / down)
COVER_WIDTHS = (24, 44, 84)  # item, signal, detail (workbooks/layout.toml)


def _cover_rows(path):
    """(row, item, signal cell, detail, height in points) of the cover's headline table."""
    from openpyxl import load_workbook
    ws = load_workbook(path).worksheets[0]
    out = []
    for r in range(7, ws.max_row + 1):
        if ws.cell(r, 2).value is None:
            break
        out.append((r, ws.cell(r, 2).value, ws.cell(r, 3), ws.cell(r, 4).value, ws.row_dimensions[r].height or 14.0))
    return out


@pytest.fixture(scope="module")
def real_reports(real_default, tmp_path_factory, workbook_inputs):
    """The values-only reports of the real data, in Chinese and English."""
    from xladdin.workbook.report import build_report
    folder = tmp_path_factory.mktemp("cover")
    mp = pytest.MonkeyPatch()
    try:
        for lang, res in real_default.items():
            workbook_inputs.patch_compute(mp, res)
            build_report(folder / f"real_{lang}.xlsx", None, default_params().replace(language=lang))
    finally:
        mp.undo()
    return {lang: folder / f"real_{lang}.xlsx" for lang in real_default}


@pytest.mark.slow
def test_the_cover_colours_the_net_flow_red_in_green_out(real_reports, real_data_dir, tmp_path, workbook_inputs,
                                                         monkeypatch):
    """Seen: "净流出41.21亿元" in black while every other amount of the report is red / green by its sign. The cover's
    net flow of the week (its sign from the CSV rows) is green for an outflow, red for an inflow (the sample's
    week); the other signals keep the plain text colour."""
    from xladdin.workbook.report import build_report
    value, _ = stock_etf_week_flow_from_csv(real_data_dir, "2025-12-29", "2025-12-31")
    assert value < 0
    workbook_inputs.patch_compute(monkeypatch, workbook_inputs.weekly())
    build_report(tmp_path / "sample.xlsx", None)
    for path, flows in ((real_reports["zh"], {"股票ETF资金": OUTFLOW_GREEN}),
                        (tmp_path / "sample.xlsx", {"股票ETF资金": INFLOW_RED, "股票ETF资金(穿透行业)": INFLOW_RED})):
        rows = _cover_rows(path)
        colours = {item: (cell.font.color.rgb[-6:] if cell.font.color is not None else None) for _, item, cell, _, _ in rows}
        assert {k: colours[k] for k in flows} == flows, colours
        assert {c for item, c in colours.items() if item not in flows} <= {None, "000000"}, colours
        signals = {item: cell.value for _, item, cell, _, _ in rows}
        assert all(signals[k].startswith("净流出" if c == OUTFLOW_GREEN else "净流入") for k, c in flows.items())


def _lines_by_width(text, width):
    """Lines a text needs at the least: its width (a wide character 2) over the column's."""
    if not isinstance(text, str) or not text:
        return 1
    return math.ceil(sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text) / width)


@pytest.mark.slow
@pytest.mark.parametrize("language", ["zh", "en"])
def test_cover_rows_are_no_taller_than_their_text(real_reports, language):
    """Seen: rows of tables "未计算" two lines taller than their text. Each headline row is as high as its widest
    cell needs (14 pt a line): never fewer lines than its characters fill, and no more (English words wrapping at
    spaces may take one line more)."""
    slack = 0 if language == "zh" else 1
    for r, item, signal, detail, height in _cover_rows(real_reports[language]):
        need = max(_lines_by_width(v, w) for v, w in zip((item, signal.value, detail), COVER_WIDTHS))
        assert need * 14 <= height <= (need + slack) * 14, (r, item, height, need)
