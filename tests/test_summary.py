"""Weekly summary: coercion, rendering, and the `_summary` sheet round trip."""
from __future__ import annotations

import datetime as dt
import html.parser
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xladdin.workbook.summary import (
    SUMMARY_FORMAT,
    SUMMARY_SHEET,
    WeeklySummary,
    format_amount,
    render_html,
    render_text,
    summary_from_report,
    summary_from_rows,
    summary_to_rows,
    write_summary_sheet,
)


@pytest.fixture
def summary() -> WeeklySummary:
    return WeeklySummary(
        asof=pd.Timestamp("2026-01-30"),
        headlines=["规模信号（M5）：大盘", "热度 > 90 分位：电子 & 计算机"],
        inflows=pd.Series({"电子": 35.2, "计算机": 12.04, "传媒": np.nan}),
        outflows=pd.DataFrame({"name": ["银行", "食品饮料"], "flow": [-12.7, -3.456]}),
        picks=pd.DataFrame({"code": ["512480.SH", "510300.SH"], "name": ["半导体ETF", "沪深300ETF"]}),
        extra={"样本ETF数": 64, "平均溢价": 0.001234, "数据截至": dt.date(2026, 1, 30)},
    )


def test_coercion(summary):
    assert summary.asof == dt.date(2026, 1, 30)
    assert summary.inflows[:2] == [("电子", 35.2), ("计算机", 12.04)] and math.isnan(summary.inflows[2][1])
    assert summary.outflows == [("银行", -12.7), ("食品饮料", -3.456)]
    assert summary.picks == [("512480.SH", "半导体ETF"), ("510300.SH", "沪深300ETF")]
    s = WeeklySummary("2026-01-30", "one line", [["a", "1.5"]], None, ["510300.SH"])
    assert s.headlines == ["one line"] and s.inflows == [("a", 1.5)] and s.picks == [("510300.SH", "")]
    assert WeeklySummary.from_dict(s.to_dict()) == s


@pytest.mark.parametrize("kwargs, match", [
    ({"asof": "not a date"}, "not a date"),
    ({"asof": "2026-01-30", "inflows": [("a", "lots")]}, "not a number"),
    ({"asof": "2026-01-30", "inflows": ["abc"]}, r"\(name, 亿元\) pair"),
    ({"asof": "2026-01-30", "picks": [("a", "b", "c")]}, "code or a"),
    ({"asof": "2026-01-30", "extra": ["x"]}, "mapping"),
])
def test_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WeeklySummary(**kwargs)
    with pytest.raises(ValueError, match="unknown summary key"):
        WeeklySummary.from_dict({"asof": "2026-01-30", "inflow": []})
    with pytest.raises(ValueError, match="needs `asof`"):
        WeeklySummary.from_dict({})


def test_format_amount():
    assert [format_amount(v) for v in (35.2, -3.456, 0.0, 1234.5, math.nan)] == \
        ["+35.20", "-3.46", "+0.00", "+1,234.50", "—"]


def test_render_text(summary):
    text = render_text(summary, attachment="周报.xlsx")
    lines = text.splitlines()
    assert lines[0] == "xladdin 周报（截至 2026-01-30）"
    # amounts right-aligned by display width (CJK = 2 columns)
    title = "资金净流入前列（亿元，仅净流入 > 0）"
    block = lines[lines.index(title) + 1:lines.index(title) + 5]
    assert block == ["  名称      净额", "  电子    +35.20", "  计算机  +12.04", "  传媒         —"]
    assert "  - 热度 > 90 分位：电子 & 计算机" in lines
    assert "  512480.SH  半导体ETF" in lines
    assert "  数据截至   2026-01-30" in lines and "  平均溢价     0.001234" in lines
    assert "完整报表见附件 周报.xlsx。" in lines
    # empty sections are left out
    bare = render_text(WeeklySummary("2026-01-30"))
    assert "要点" not in bare and "资金" not in bare and "策略" not in bare


class _Collect(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_render_html_escapes_and_colours(summary):
    body = render_html(summary, attachment="<evil>.xlsx")
    p = _Collect()
    p.feed(body)
    assert p.tags.count("table") == 4 and "script" not in p.tags and "evil" not in p.tags
    text = "".join(p.text)
    assert "热度 > 90 分位：电子 & 计算机" in text and "<evil>.xlsx" in text
    assert "&gt; 90" in body and "&amp; 计算机" in body and "&lt;evil&gt;" in body
    assert 'color:#c00000">+35.20<' in body and 'color:#007a33">-12.70<' in body  # red in, green out
    assert "—" in body and "<style" not in body  # inline styles only


def test_rows_round_trip(summary):
    rows = summary_to_rows(summary)
    assert rows[:3] == [("key", "value"), ("format", SUMMARY_FORMAT), ("asof", "2026-01-30")]
    assert ("inflow:传媒", None) in rows and ("outflow:银行", -12.7) in rows and ("pick:512480.SH", "半导体ETF") in rows
    assert ("extra:数据截至", "2026-01-30") in rows
    back = summary_from_rows(rows)
    assert back.asof == summary.asof and back.headlines == summary.headlines and back.picks == summary.picks
    assert back.outflows == summary.outflows and back.inflows[:2] == summary.inflows[:2]
    assert math.isnan(back.inflows[2][1])


def test_from_rows_errors_and_tolerance():
    assert summary_from_rows([(None, None), ("asof", dt.datetime(2026, 1, 30)), ("", "x"),
                              ("headline", "h", "third column ignored")]).headlines == ["h"]
    with pytest.raises(ValueError, match="no `asof`"):
        summary_from_rows([("headline", "x")])
    with pytest.raises(ValueError, match="row 2: unknown key `inflows:电子`"):
        summary_from_rows([("asof", "2026-01-30"), ("inflows:电子", 1)])
    with pytest.raises(ValueError, match="format `xladdin-summary/9`"):
        summary_from_rows([("format", "xladdin-summary/9"), ("asof", "2026-01-30")])
    with pytest.raises(ValueError, match=r"inflow:电子.*not a number"):
        summary_from_rows([("asof", "2026-01-30"), ("inflow:电子", "n/a")])


def test_sheet_round_trip(tmp_path, summary):
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    write_summary_sheet(wb, WeeklySummary("2020-01-01"))
    ws = write_summary_sheet(wb, summary)  # replaces the first one
    assert wb.sheetnames == ["封面", SUMMARY_SHEET] and ws.sheet_state == "hidden"
    path = tmp_path / "r.xlsx"
    wb.save(path)
    back = summary_from_report(path)
    assert back.asof == dt.date(2026, 1, 30) and back.outflows == summary.outflows
    assert back.extra["样本ETF数"] == 64 and back.extra["平均溢价"] == pytest.approx(0.001234)


def test_report_without_or_with_bad_sheet(tmp_path):
    wb = openpyxl.Workbook()
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    assert summary_from_report(path) is None
    ws = wb.create_sheet(SUMMARY_SHEET)
    ws.append(["key", "value"])
    ws.append(["headline", "no date"])
    wb.save(path)
    with pytest.raises(ValueError, match="plain.xlsx, sheet _summary: summary rows have no `asof`"):
        summary_from_report(path)
    with pytest.raises(FileNotFoundError):
        summary_from_report(tmp_path / "missing.xlsx")
    (tmp_path / "junk.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.xlsx: not an .xlsx workbook"):
        summary_from_report(tmp_path / "junk.xlsx")


def test_signs_inflows_positive_outflows_negative_and_none_when_empty():
    """Inflow lists hold only flows > 0, outflow lists only flows < 0; an empty side says so."""
    with pytest.raises(ValueError, match=r"inflows hold only flows > 0: 银行 has -0.02"):
        WeeklySummary("2026-01-30", inflows=[("电子", 1.0), ("银行", -0.02)])
    with pytest.raises(ValueError, match=r"outflows hold only flows < 0: 电子 has \+0.00"):
        WeeklySummary("2026-01-30", outflows=[("电子", 0.0)])
    s = WeeklySummary("2026-01-30", outflows=[("银行", -4.02)], flows_known=True)
    text = render_text(s).splitlines()
    i = text.index("资金净流入前列（亿元，仅净流入 > 0）")
    assert text[i + 1] == "  无（本周没有净流入的行业）"
    assert "  银行  -4.02" in text
    assert "无（本周没有净流入的行业）" in render_html(s)
    back = summary_from_rows(summary_to_rows(s))
    assert back.flows_known and back.inflows == [] and back.outflows == [("银行", -4.02)]
    # no flow data at all: no flow section
    assert "资金净流入" not in render_text(WeeklySummary("2026-01-30"))
