"""Desk conventions of the weekly workbook and report (issue #26): red = inflow / up and green = outflow / down
for every flow and return, heat scales apart and explained, percent / integer / 亿元 formats, print titles,
text that is never cut, a note for every blank column, a report that says it is a snapshot.

The expectations are written here from the conventions themselves (colours, format codes, the headers the
analyst reads), not read back from the code that produced them.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

GREEN, WHITE, RED = "63BE7B", "FFFFFF", "F8696B"
ORANGE = "F79646"


@pytest.fixture(scope="module")
def report(tmp_path_factory, workbook_inputs):
    from xladdin.workbook.report import build_report
    out = tmp_path_factory.mktemp("desk") / "report.xlsx"
    mp = pytest.MonkeyPatch()
    try:
        workbook_inputs.patch_compute(mp, workbook_inputs.weekly())
        build_report(out, None)
    finally:
        mp.undo()
    return load_workbook(out), workbook_inputs.weekly()


def _header_col(ws, header_row, text):
    for cell in ws[header_row]:
        if cell.value == text:
            return cell.column
    raise KeyError(text)


def _scale(ws, col_letter):
    """(colours, threshold types, values) of the colour scale on column ``col_letter``."""
    for cf in ws.conditional_formatting:
        if any(str(r).startswith(col_letter) and str(r)[len(col_letter)].isdigit() for r in cf.sqref.ranges):
            rule = cf.rules[0]
            cs = rule.colorScale
            return ([c.rgb[-6:] for c in cs.color], [v.type for v in cs.cfvo],
                    [None if v.val is None else float(v.val) for v in cs.cfvo])
    raise KeyError(col_letter)


@pytest.mark.parametrize("sheet, header, table", [
    ("行业资金流", "资金流入流出(亿元)", ("industry_flow", "net_flow")),
    ("行业资金流", "行业收益(%)", ("industry_flow", "industry_return")),
    ("资金流看板", "ETF净申购(亿元)", ("dashboard_index", "etf_flow")),
    ("资金流看板", "融资净买入(亿元)", ("dashboard_index", "margin_net_buy")),
    ("相关性监控", "ETF净流入(亿元)", ("correlation", "flow")),
    ("策略持仓", "超额收益(%)", ("strategy_holdings", "excess_return")),
])
def test_flows_and_returns_are_green_below_zero_and_red_above(report, sheet, header, table):
    wb, res = report
    ws = wb[sheet]
    col = _header_col(ws, 6, header)
    from openpyxl.utils import get_column_letter
    colors, types, values = _scale(ws, get_column_letter(col))
    m = float(np.nanmax(np.abs(res.tables[table[0]][table[1]].to_numpy(dtype=float))))
    assert colors == [GREEN, WHITE, RED] and types == ["num", "num", "num"]
    assert values == pytest.approx([-m, 0.0, m], rel=1e-12)
    # and no data bar anywhere (its negative bars would take Excel's red)
    assert not [r for ws_ in wb.worksheets for cf in ws_.conditional_formatting for r in cf.rules if r.type == "dataBar"]


def test_heat_scales_are_orange_and_explained(report):
    wb, _ = report
    ws = wb["月度分组"]
    colors, types, _ = _scale(ws, "D")
    assert colors[0] == WHITE and colors[-1] == ORANGE and types == ["min", "percentile", "max"]
    assert "颜色越深数值越高" in ws["B4"].value and "不表示涨跌" in ws["B4"].value
    flows = wb["行业资金流"]["B4"].value
    assert "红 = 净流入/上涨" in flows and "绿 = 净流出/下跌" in flows


def test_the_flow_chart_draws_inflows_red_and_outflows_green(tmp_path, workbook_inputs, monkeypatch):
    """openpyxl keeps no chart on loading: the chart's XML is read back."""
    import zipfile
    from xml.etree import ElementTree as ET

    from xladdin.workbook.report import build_report
    ns = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
          "a": "http://schemas.openxmlformats.org/drawingml/2006/main"}
    workbook_inputs.patch_compute(monkeypatch, workbook_inputs.weekly())
    build_report(tmp_path / "r.xlsx", None)
    with zipfile.ZipFile(tmp_path / "r.xlsx") as z:
        charts = [ET.fromstring(z.read(n)) for n in z.namelist() if n.startswith("xl/charts/chart")]
    bar = next(c for c in charts if c.find(".//c:barChart/c:barDir[@val='bar']", ns) is not None)
    series = bar.findall(".//c:barChart/c:ser", ns)
    fills = [s.find("c:spPr/a:solidFill/a:srgbClr", ns).get("val") for s in series]
    assert fills == ["C00000", "00A651"]  # inflow red, outflow green
    assert bar.find(".//c:barChart/c:overlap", ns).get("val") == "100"  # one bar per industry
    assert bar.find(".//c:plotVisOnly", ns).get("val") == "0"  # its helper columns are hidden


def test_percent_integer_and_yi_formats(report):
    wb, res = report
    ws = wb["ETF轮动"]
    stat_col = _header_col(ws, 6, "指标")
    expected = {"IC均值": "0.00%", "IC标准差": "0.00%", "IC IR(月度)": "0.00", "IC>0占比": "0.0%", "IC月数": "0",
                "策略年化收益": "0.00%", "策略夏普": "0.00", "策略最大回撤": "0.00%", "单边成本": "0.00%",
                "执行滞后(交易日)": "0", "无排序月数(综合)": "0"}
    seen = {}
    for row in ws.iter_rows(min_row=7, min_col=stat_col, max_col=stat_col + 1):
        if row[0].value in expected:
            seen[row[0].value] = row[1].number_format
    assert seen == expected
    flow = wb["行业资金流"]
    assert flow.cell(7, _header_col(flow, 6, "资金流入流出(亿元)")).number_format == "#,##0.00"
    assert flow.cell(7, _header_col(flow, 6, "行业收益(%)")).number_format == "0.00%"
    perf = wb["策略表现"]
    assert perf.cell(7, _header_col(perf, 6, "月度超额胜率")).number_format == "0.0%"


def test_print_titles_repeat_the_header_row_on_every_sheet_but_the_cover(report):
    wb, _ = report
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        if ws.title == "封面":
            assert not ws.print_title_rows
        else:
            assert ws.print_title_rows == "$6:$6", ws.title
            assert ws.cell(6, 2).value  # that row is the tables' header row


def test_long_text_wraps_and_its_rows_are_tall_enough(report):
    wb, _ = report
    ws = wb["封面"]
    n = len(report[1].tables["cover_headlines"])
    for row in ws.iter_rows(min_row=7, max_row=6 + n, min_col=2, max_col=4):
        for cell in row:
            if isinstance(cell.value, str) and cell.value:
                width = ws.column_dimensions[cell.column_letter].width
                chars = sum(2 if ord(ch) > 0x2E80 else 1 for ch in cell.value)
                lines = math.ceil(chars / width)
                assert cell.alignment.wrap_text, cell.coordinate
                height = ws.row_dimensions[cell.row].height or 13.5
                assert height >= 13.5 * lines * 0.9, (cell.coordinate, cell.value, height)


def test_every_blank_column_has_a_note_with_its_reason(report):
    wb, _ = report
    ws = wb["ETF轮动"]
    note = ws["B4"].value
    change = _header_col(ws, 6, "北向持股变化")
    assert all(ws.cell(r, change).value is None for r in range(7, 20))  # blank on the sample (quarterly data)
    assert "“北向持股变化、变化”留空" in note and "2024-08-16起季度披露" in note
    board = wb["资金流看板"]["B4"].value
    assert "“北向净买入(亿元)”留空" in board and board.count("北向净买入") == 1  # one note for both tables


def test_the_report_says_it_is_a_snapshot_and_the_template_says_refresh(report, tmp_path, workbook_inputs):
    wb, _ = report
    title = wb["参数"]["B2"].value
    assert "快照" in title and "点击刷新" not in title
    template = load_workbook(workbook_inputs.build_template(tmp_path / "t.xlsm"), keep_vba=True)
    assert "点击刷新" in template["参数"]["B2"].value


def test_every_printed_page_of_a_table_starts_with_its_header(report, tmp_path, libreoffice):
    """LibreOffice prints the report: every page starts with the sample banner (the page header), a sheet's first
    page then with the banner of row 1, every further page with the header row of its tables (the print titles),
    never with rows under no header."""
    import tomllib
    from pathlib import Path
    wb, _ = report
    with open(Path(__file__).resolve().parents[1] / "workbooks" / "layout.toml", "rb") as fh:
        layout = tomllib.load(fh)
    banner = layout["meta"]["sample_banner_zh"][:12]
    first_headers = [s["tables"][0]["columns"][0]["zh"] for s in layout["sheets"]]
    wb.save(tmp_path / "report.xlsx")
    pdf = libreoffice.convert(tmp_path / "report.xlsx", "pdf", tmp_path)[0]
    sheet, continued = -1, 0
    for page in range(1, libreoffice.pdf_pages(pdf) + 1):
        import subprocess
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines[0].strip().startswith(banner), (page, lines[:2])  # the page header
        if lines[1].strip().startswith(banner):
            sheet += 1
            continue
        continued += 1
        head = " ".join(lines[1:4]).split()  # a wrapped header cell prints over up to three lines
        assert first_headers[sheet] in head, (page, layout["sheets"][sheet]["key"], lines[:3])
    assert sheet == len(layout["sheets"]) - 1 and continued >= 5  # long sheets did run over several pages


@pytest.mark.parametrize("which", ["sample", "real"])
def test_no_column_is_blank_without_a_note_naming_it(which, report, real_market, tmp_path):
    """Every column of every table whose data cells are all empty is named in row 4 of its sheet, with a reason."""
    if which == "sample":
        wb = report[0]
    else:
        from xladdin.workbook.report import build_report
        build_report(tmp_path / "real.xlsx", real_market)
        wb = load_workbook(tmp_path / "real.xlsx")
    checked = 0
    for ws in wb.worksheets:
        note = ws["B4"].value or ""
        for name in ws.tables:
            r1, c1, r2, c2 = _bounds(ws.tables[name].ref)
            if r2 == r1 + 1 and str(ws.cell(r1 + 1, c1).value or "").startswith("(未计算)"):
                continue  # a table not computed says why in its own row
            for c in range(c1, c2 + 1):
                if ws.column_dimensions[ws.cell(r1, c).column_letter].hidden:
                    continue
                if all(ws.cell(r, c).value in (None, "") for r in range(r1 + 1, r2 + 1)):
                    header = ws.cell(r1, c).value
                    checked += 1
                    runs = re.findall(r"“(\S+) … (\S+)”", note)  # a run of month columns: “2025-08 … 2026-07”
                    named = header in note or any(a <= str(header) <= b for a, b in runs)
                    assert named and "留空" in note, (ws.title, name, header, note)
    assert checked > 0


def _bounds(ref):
    from openpyxl.utils.cell import range_boundaries
    c1, r1, c2, r2 = range_boundaries(ref)
    return r1, c1, r2, c2


def _table_columns(wb):
    """(sheet, header row, last row, column) of every column of every table of ``wb``."""
    for ws in wb.worksheets:
        for name in ws.tables:
            r1, c1, r2, c2 = _bounds(ws.tables[name].ref)
            for c in range(c1, c2 + 1):
                yield ws, r1, r2, c


def test_one_default_backtest_start_for_the_command_and_the_workbook(capsys):
    """`backtest rotation` without --start and the workbook's backtest_start both begin at 2019-10-08 (the
    report's first decision date, seed 001), so the "same default strategy" holds the same industries."""
    import json

    from xladdin.ops.cli import build_parser, main
    from xladdin.workbook.params import default_params
    args = build_parser("backtest").parse_args(["backtest", "rotation"])
    assert args.start == "2019-10-08" == f"{default_params().backtest_start:%Y-%m-%d}"
    assert main(["backtest", "rotation", "--json"]) == 0  # the sample begins in 2016: the default cuts it
    first = json.loads(capsys.readouterr().out)["years"][0]
    assert first["period"].startswith("2019 (from 10-")


# ----------------------------------------------------------------------------- one language per report
ENGLISH_PHRASE = re.compile(r"[A-Za-z]{2,}(?: [A-Za-z()]{2,}){2,}")  # three English words in a row


def _partial_report(tmp_path, language):
    """A report of the sample without northbound, fund and growth/value data: not-computed tables, strategy
    notes, blank columns (the cover and the sheets' notes say why)."""
    from xladdin.data.market import Market
    from xladdin.data.sample import sample_market
    from xladdin.workbook.params import default_params
    from xladdin.workbook.report import build_report
    t = dict(sample_market().subset("2022-01-01", "2024-03-13").tables)
    for name in ("northbound_holdings", "active_fund_holdings", "fund_nav", "fund_issuance"):
        t.pop(name)
    ix = t["index_daily"]
    t["index_daily"] = ix[~ix["index"].isin(["399370.SZ", "399371.SZ"])].reset_index(drop=True)
    out = tmp_path / f"partial_{language}.xlsx"
    build_report(out, Market(t, source="memory"), default_params().replace(language=language, backtest_start="2022-06-01"))
    return load_workbook(out)


def test_the_chinese_report_says_its_notes_in_chinese(tmp_path):
    wb = _partial_report(tmp_path, "zh")
    cover = wb["封面"]
    details = [r[3] for r in cover.iter_rows(min_row=7, max_row=40, values_only=True)
               if r[1] and str(r[1]).startswith(("未计算", "策略说明"))]
    assert len(details) >= 4  # not-computed tables and strategy notes
    texts = details + [ws["B4"].value for ws in wb.worksheets if ws["B4"].value]
    for ws in wb.worksheets:  # a table not computed says why in its own first row
        for name in ws.tables:
            first = ws[ws.tables[name].ref.split(":")[0]].offset(1, 0).value
            if isinstance(first, str) and first.startswith("(未计算)"):
                texts.append(first)
    english = [(t, ENGLISH_PHRASE.findall(t)) for t in texts if ENGLISH_PHRASE.search(t)]
    assert english == []
    assert any("缺少数据表 northbound_holdings" in t for t in texts)
    assert any("不计算持仓分歧度(M9)" in t for t in texts)


def test_the_english_report_says_everything_of_its_own_in_english(tmp_path):
    wb = _partial_report(tmp_path, "en")
    cjk = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
    own = []
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        own += [ws.title] + [ws.cell(r, 2).value for r in (1, 2, 3, 4)]
        for name in ws.tables:
            ref = ws.tables[name].ref
            own += [c.value for c in ws[ref][0]]  # headers
            own.append(ws[ref.split(":")[0]].offset(-1, 0).value)  # the table's title
    cover = wb["Cover"]
    own += [r[1] for r in cover.iter_rows(min_row=7, max_row=40, values_only=True)]  # items
    own += [r[3] for r in cover.iter_rows(min_row=7, max_row=40, values_only=True)
            if r[1] and str(r[1]).startswith(("Not computed", "Strategy note"))]
    chinese = [t for t in own if isinstance(t, str) and cjk.search(t)]
    assert chinese == []


def test_every_note_a_table_can_show_has_its_chinese():
    """Each Note(key, ...) raised or left anywhere in xladdin has a Chinese text using only the note's fields."""
    import ast
    import string
    from pathlib import Path

    from xladdin.workbook.messages import NOTE_TEXTS
    root = Path(__file__).resolve().parents[1] / "xladdin"
    calls = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Note" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                calls[node.args[0].value] = {k.arg for k in node.keywords}
    assert len(calls) >= 12
    for key, given in calls.items():
        assert key in NOTE_TEXTS, key
        used = {f for _, f, _, _ in string.Formatter().parse(NOTE_TEXTS[key]) if f}
        assert used <= given | ({"pair_name"} if "pair" in given else set()), (key, used - given)


# ----------------------------------------------------------------------------- the mail's figures
def test_format_number_writes_a_figure_as_its_excel_format_shows_it():
    from xladdin.cells import format_number
    assert format_number(0.141834, "0.00%") == "14.18%"
    assert format_number(0.5, "0.0%") == "50.0%"
    assert format_number(128.0, "0") == "128"
    assert format_number(-1234.567, "#,##0.00") == "-1,234.57"
    assert format_number(float("nan"), "0.00%") == "—"
    with pytest.raises(ValueError, match="number format"):
        format_number(1.0, "yyyy-mm-dd")


def test_the_mail_shows_returns_in_percent_as_the_sheet_does(tmp_path, workbook_inputs, monkeypatch,
                                                             isolated_mail_env):
    import email
    from email import policy

    from xladdin.ops.cli import main
    from xladdin.workbook.report import build_report
    res = workbook_inputs.weekly()
    workbook_inputs.patch_compute(monkeypatch, res)
    build_report(tmp_path / "r.xlsx", None)
    assert main(["send", str(tmp_path / "r.xlsx"), "--to", "a@example.com", "--from", "b@example.com", "--dry-run",
                 "--eml", str(tmp_path / "r.eml")]) == 0
    m = email.message_from_bytes((tmp_path / "r.eml").read_bytes(), policy=policy.default)
    text, html = m.get_body(("plain",)).get_content(), m.get_body(("html",)).get_content()
    full = res.tables["performance"].iloc[-1]  # the full-period row of the sheet
    for value in (full["annual_return"], full["excess_return"]):
        shown = f"{value * 100:.2f}%"
        assert shown in text and shown in html, shown
    others = text.split("其他")[1]
    assert not re.search(r"(?<![\d.])-?0\.\d{4}\b", others), others  # no raw decimal such as 0.1418


# ----------------------------------------------------------------------------- acceptance check (v26)
#: names of the sample's broad indices as the dashboard shows them (market data, Chinese in either language)
INDEX_NAMES_ZH = ("沪深300", "中证500", "中证1000", "上证50", "创业板指", "科创50", "中证2000", "中证A500", "中证100", "中证800",
                  "深证100", "创业板50")


@pytest.fixture(scope="module")
def report_en(tmp_path_factory, workbook_inputs):
    """The values-only report of the sample in English."""
    from xladdin.workbook.params import default_params
    from xladdin.workbook.report import build_report
    out = tmp_path_factory.mktemp("desk_en") / "report_en.xlsx"
    mp = pytest.MonkeyPatch()
    try:
        workbook_inputs.patch_compute(mp, workbook_inputs.weekly("en"))
        build_report(out, None, default_params().replace(language="en"))
    finally:
        mp.undo()
    return out


def test_the_english_report_shows_chinese_only_in_the_names_of_the_market(report_en):
    """Every text of every visible sheet of the English report, once the names the data carry (industries, ETFs,
    broad indices) are taken out, has no Chinese left: the crowding reasons too (seen: "(放量下跌, downside risk)")."""
    from xladdin.data.sample import sample_market
    m = sample_market()
    names = set(m.table("stock_industry")["industry_name"]) | set(m.etf_info["name"]) | set(INDEX_NAMES_ZH)
    names = sorted(names, key=len, reverse=True)  # the longest first: a name holding another goes whole
    cjk = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
    left = []
    for ws in load_workbook(report_en).worksheets:
        if ws.sheet_state != "visible":
            continue
        for row in ws.iter_rows():
            for cell in row:
                text = cell.value
                if isinstance(text, str) and cjk.search(text):
                    for name in names:
                        text = text.replace(name, "")
                    if cjk.search(text):
                        left.append((ws.title, cell.coordinate, cell.value))
    assert left == []


def _display_width(text: str) -> int:
    """Columns of Excel width a text needs: a wide (CJK) character two, any other one."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_no_header_word_and_no_unwrapped_text_is_wider_than_its_column(language, report, report_en):
    """Seen in the English crowding table: "Crowded" broken as "Crowde / d" in a 7-wide column and "volume up,
    price down" cut to "volume up, price". A header wraps between words only: its longest word (hyphens may
    break) and one character of padding fit the column; a text cell that does not wrap fits it."""
    wb = report[0] if language == "zh" else load_workbook(report_en)
    too_wide = []
    for ws, r1, r2, c in _table_columns(wb):
        dim = ws.column_dimensions[ws.cell(r1, c).column_letter]
        if dim.hidden:
            continue
        header = str(ws.cell(r1, c).value)
        word = max(re.split(r"(?<=-)|\s+", header), key=_display_width)
        if not re.search(r"[\u3000-\u9fff]", header) and _display_width(word) + 1 > dim.width:
            too_wide.append((ws.title, header, dim.width))
        for r in range(r1 + 1, r2 + 1):
            cell = ws.cell(r, c)
            if isinstance(cell.value, str) and not cell.alignment.wrap_text and _display_width(cell.value) > dim.width:
                too_wide.append((ws.title, header, cell.value, dim.width))
    assert too_wide == []


@pytest.fixture(scope="module")
def real_week(real_market):
    """The weekly result of the real data (index weights end 2024-10-08, no volume after 2024-12-31, no stock,
    northbound or fund tables)."""
    from xladdin.workbook.params import default_params
    from xladdin.workbook.weekly import compute_weekly
    return compute_weekly(real_market, default_params())


def test_the_mail_says_why_a_table_was_not_computed(real_week, real_market):
    """Seen in the real data's mail: "未计算:行业资金流 · …:—" and four "策略说明:—" lines, the reason (the
    input that limits the table) left on the cover only. Every headline line of the mail says something, and
    the line of the industry flows names index_weights and its last date."""
    from xladdin.workbook.summary import render_text
    last_weights = f"{real_market.table('index_weights')['date'].max():%Y-%m-%d}"
    lines = [line.strip()[2:] for line in render_text(real_week.summary).splitlines() if line.startswith("  - ")]
    assert lines and not [line for line in lines if line.endswith((":—", ":"))], lines
    flow = [line for line in lines if line.startswith("未计算:行业资金流")]
    assert len(flow) == 1 and "index_weights" in flow[0] and last_weights in flow[0], flow
    notes = [line for line in lines if line.startswith("策略说明:")]
    assert len(notes) >= 3 and len(set(notes)) == len(notes), notes  # each says its own thing


def test_crowding_is_not_called_zero_when_no_flag_could_be_computed(real_week, real_market):
    """Seen on the real data's cover and mail: "行业拥挤度 0 个行业拥挤" while the crowding sheet leaves every flag
    blank (no volume in the 20 days to the as-of date, no stock prices). Nothing was assessed: the line says so."""
    from xladdin.workbook.summary import render_text
    asof = pd.Timestamp(real_week.asof)
    ind = real_market.table("industry_daily")
    recent = ind[(ind["date"] <= asof) & (ind["date"] > asof - pd.Timedelta(days=28))]
    assert recent["volume"].isna().all() and "stock_daily" not in real_market.tables  # the premise, from the data
    cover = real_week.tables["cover_headlines"]
    row = cover[cover["item"] == "行业拥挤度"].iloc[0]
    assert "个行业拥挤" not in row["signal"] and "未判断" in row["signal"], row["signal"]
    line = [t for t in render_text(real_week.summary).splitlines() if "行业拥挤度" in t]
    assert line == [f"  - 行业拥挤度:{row['signal']}"]


def test_the_mail_of_an_english_report_is_in_english(report_en, tmp_path, isolated_mail_env):
    """Seen: the mail of an English report had the subject "xladdin 周报 …", the headings 要点 / 资金净流入前列 /
    策略最新持仓 / 其他 and the raw labels "strategy_annual_return", "excess_return". Its subject and body are
    English but for the market's names and the bilingual sample tag."""
    import email
    from email import policy

    from xladdin.data.sample import sample_market
    from xladdin.ops.cli import main
    eml = tmp_path / "en.eml"
    assert main(["send", str(report_en), "--to", "a@example.com", "--from", "b@example.com", "--dry-run",
                 "--eml", str(eml)]) == 0
    m = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert m["Subject"] == "[示例数据 SAMPLE] xladdin weekly report 2026-10-30"
    m_ = sample_market()
    names = sorted(set(m_.table("stock_industry")["industry_name"]) | set(m_.etf_info["name"]) | {"示例数据"},
                   key=len, reverse=True)
    cjk = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
    for part in ("plain", "html"):
        body = m.get_body((part,)).get_content()
        lines = body.splitlines()
        assert "SAMPLE" in lines[0 if part == "plain" else 2] and "not market data" in body
        for name in names:
            body = body.replace(name, "")
        assert not [line for line in body.splitlines() if cjk.search(line)], part
        assert "strategy_annual_return" not in body and "excess_return" not in body


def test_a_note_on_a_blank_column_names_its_table_when_another_table_shows_that_column(real_market, tmp_path):
    """Seen on the real data's 月度分组: "“2024-11”留空" while the first table's 2024-11 column is full and only
    the second table's (近期行业持仓边际变化分组) is blank. Such a note names the table of the blank column."""
    from xladdin.workbook.report import build_report
    build_report(tmp_path / "real.xlsx", real_market)
    wb = load_workbook(tmp_path / "real.xlsx")
    checked = 0
    for ws in wb.worksheets:
        tables = []
        for name in ws.tables:
            r1, c1, r2, c2 = _bounds(ws.tables[name].ref)
            if r2 == r1 + 1 and str(ws.cell(r1 + 1, c1).value or "").startswith("(未计算)"):
                continue  # a table not computed says why in its own row and shows no column
            title = ws.cell(r1 - 1, c1).value
            blank = {ws.cell(r1, c).value for c in range(c1, c2 + 1)
                     if all(ws.cell(r, c).value in (None, "") for r in range(r1 + 1, r2 + 1))}
            full = {ws.cell(r1, c).value for c in range(c1, c2 + 1)} - blank
            tables.append((title, blank, full))
        for title, blank, _ in tables:
            shared = {h for h in blank for other, _, full in tables if other != title and h in full}
            for header in shared:
                checked += 1
                assert f"{title}·{header}" in ws["B4"].value, (ws.title, title, header, ws["B4"].value)
    assert checked >= 1


# ----------------------------------------------------------------------------- the examples workbook
@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workbooks"))
    import build_udf_examples
    out = tmp_path_factory.mktemp("examples") / "udf_examples.xlsm"
    build_udf_examples.build(out)
    return load_workbook(out)


def test_every_long_sheet_of_the_examples_prints_its_header_on_every_page(examples):
    """Seen: udf_examples.xlsm printed 571 pages, the pages after each sheet's first being numbers under no
    header. Every sheet longer than a page repeats a header row (a row of column names) at the top of each."""
    long_sheets = [ws for ws in examples.worksheets if ws.max_row > 50]
    assert {ws.title for ws in long_sheets} >= {"Flows", "Style", "HoldingsData", "Holdings", "Stats", "Crowding"}
    for ws in long_sheets:
        rows = ws.print_title_rows
        assert rows, ws.title
        first, last = (int(x.strip("$")) for x in rows.split(":"))
        assert first == last, (ws.title, rows)
        names = [c.value for c in ws[first] if isinstance(c.value, str)]
        assert len(names) >= 2, (ws.title, first, names)  # column names, not a title


def test_the_examples_show_shares_and_yuan_as_integers_and_returns_in_percent(examples):
    """Seen on the Flows pages: shares as 5.81E+09, returns as -0.025315, the daily flow in General."""
    flows, data = examples["Flows"], examples["HoldingsData"]
    expected = {(flows, 1, "shares"): "#,##0", (flows, 1, "return"): "0.00%", (flows, 1, "flow"): "#,##0",
                (flows, 1, "flow pct"): "0.0%", (data, 2, "shares"): "#,##0", (data, 2, "size"): "#,##0",
                (data, 2, "weight"): "0.00%"}
    for (ws, header_row, name), fmt in expected.items():
        col = _header_col(ws, header_row, name)
        seen = {ws.cell(r, col).number_format for r in range(header_row + 2, header_row + 400)
                if isinstance(ws.cell(r, col).value, (int, float, str))}
        assert seen == {fmt}, (ws.title, name, seen)


# ----------------------------------------------------------------------------- a workbook that carries its data
def test_a_workbook_carrying_more_than_the_headless_refresh_opens_says_so(tiny_short_dir, tmp_path, capsys,
                                                                         monkeypatch):
    """Seen: `template --embed-data` on the real data wrote a workbook of 39.7 MB of XML without a word, and
    `xladdin refresh` then refused it (its limit: 32 MiB). The template command says so when it happens, with
    the way out (--embed-since); the limit here is made small so that a tiny market exceeds it."""
    import zipfile

    import xladdin.data.sources as sources
    from xladdin.ops.cli import main
    out = tmp_path / "carried.xlsm"
    args = ["template", str(out), "--data", str(tiny_short_dir), "--embed-data", "--no-progress"]
    assert main(args) == 0
    assert "--embed-since" not in capsys.readouterr().out  # within the limit: nothing to say
    with zipfile.ZipFile(out) as z:
        xml = sum(i.file_size for i in z.infolist() if i.filename.endswith((".xml", ".rels", ".vml")))
    monkeypatch.setattr(sources, "MAX_WORKBOOK_XML", xml // 2)
    out.unlink()
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "xladdin refresh" in said and "--embed-since" in said and f"{xml // 2:,}" in said, said
    assert main(["refresh", str(out), "--no-progress"]) == 1  # what the note warns of
    assert "bytes of XML" in capsys.readouterr().err


def test_every_broad_index_of_the_sample_dashboard_has_its_name(workbook_inputs):
    """Seen on the sample's 资金流看板: 000510.CSI, 000903.SH, 000906.SH, 399330.SZ and 399673.SZ named by their
    codes. Every broad index a stock ETF of the sample tracks is shown under its name (as the exchanges name them)."""
    names = {"000510.CSI": "中证A500", "000903.SH": "中证100", "000906.SH": "中证800", "399330.SZ": "深证100",
             "399673.SZ": "创业板50"}
    board = workbook_inputs.weekly().tables["dashboard_index"]
    shown = dict(zip(board.iloc[:, 0], board.iloc[:, 1]))
    assert {code: shown.get(code) for code in names} == names
    assert not [code for code, name in shown.items() if name == code]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_no_column_of_zeros_and_ones_is_called_a_return(language, report, report_en):
    """Seen: the style sheet's 风格收益(大小盘) / "Realised size style" columns hold 0/1 (which side led the week, the
    report's table calls it 风格收益) under a return's name. A column whose values are all 0 or 1 is a signal or a
    flag: its header names no return (收益 / return); the style table's two say who actually led."""
    wb = report[0] if language == "zh" else load_workbook(report_en)
    named = []
    for ws, r1, r2, c in _table_columns(wb):
        numbers = [v for v in (ws.cell(r, c).value for r in range(r1 + 1, r2 + 1)) if v not in (None, "")]
        if numbers and all(isinstance(v, (int, float)) and v in (0, 1) for v in numbers):
            named.append(str(ws.cell(r1, c).value))
    assert [h for h in named if "收益" in h or "return" in h.lower()] == []
    leaders = {"zh": ["大小盘实际占优", "成长价值实际占优"], "en": ["Size: realised leader", "Growth: realised leader"]}
    assert set(leaders[language]) <= set(named)


#: the parameters that are rates, shares or percentiles, and how a desk reads their defaults (written by hand)
PERCENT_DEFAULTS = {"cost": "0.10%", "etf_cost": "0.30%", "rf": "0.00%", "heat_flag": "90%", "vol_flag": "80%",
                    "crowding_heat_flag": "95%", "crowding_dispersion_flag": "5%", "crowding_price_move": "3%",
                    "crowding_volume_move": "20%"}


def _param_cells(ws):
    """Parameter key -> its value cell on a parameters sheet (table header in row 6, keys in column B)."""
    return {ws.cell(r, 2).value: ws.cell(r, 3) for r in range(7, ws.max_row + 1) if ws.cell(r, 2).value}


@pytest.mark.parametrize("kind", ["report", "template"])
def test_rates_on_the_parameters_sheet_read_in_percent_and_keep_their_value(kind, tmp_path, workbook_inputs,
                                                                           monkeypatch):
    """Seen: 单边交易成本 read 0.0015 on the parameters sheet. A rate, share or percentile shows in percent (its
    value unchanged in the cell: the refresh reads it back), with the decimals the value needs; the other
    parameters keep the cell's General format."""
    from xladdin.cells import format_number
    from xladdin.workbook.params import default_params
    from xladdin.workbook.report import build_report
    from xladdin.workbook.template import build_template
    workbook_inputs.patch_compute(monkeypatch, workbook_inputs.weekly())
    params = default_params().replace(cost=0.0015, etf_cost=0.00125)
    if kind == "report":
        out = tmp_path / "r.xlsx"
        build_report(out, None, params)
    else:
        out = tmp_path / "t.xlsm"
        build_template(out, market=None, params=params)
    ws = load_workbook(out, keep_vba=kind == "template")["参数"]
    cells = _param_cells(ws)
    shown = {k: format_number(c.value, c.number_format) for k, c in cells.items() if k in PERCENT_DEFAULTS}
    assert shown == {**PERCENT_DEFAULTS, "cost": "0.15%", "etf_cost": "0.125%"}
    assert cells["cost"].value == 0.0015 and cells["etf_cost"].value == 0.00125
    others = {k: c.number_format for k, c in cells.items() if k not in PERCENT_DEFAULTS}
    assert set(others.values()) == {"General"}, others  # lambda, windows, thresholds of a correlation ...


def test_a_mail_line_with_nothing_to_say_is_left_out():
    """Seen: "策略说明:—" in the mail, a note whose text was empty shown as the cover's dash. A cover row says its
    signal, a note its reason; a row with neither (blank or the dash alone) gives no mail line."""
    from xladdin.workbook.weekly import mail_lines
    rows = pd.DataFrame([("风格:大小盘", "小盘占优", "截至…", None), ("策略说明", "—", "缺少 fund_nav:不计算M9", None),
                         ("策略说明", "—", "", None), ("策略说明", "—", "—", None), ("策略说明", "—", None, None),
                         ("未计算:行业资金流", "—", "  ", None), ("股票ETF资金", "", "12-29至12-31", None)],
                        columns=["item", "signal", "detail", "direction"])
    assert mail_lines(rows) == ["风格:大小盘:小盘占优", "策略说明:缺少 fund_nav:不计算M9"]


# ----------------------------------------------------------------------------- printed pages (LibreOffice)
def _page_words(pdf, page):
    """(xMin, yMin, xMax, yMax, word) of the words pdftotext finds on ``page`` (points from the top left)."""
    import subprocess
    out = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return [(float(m[0]), float(m[1]), float(m[2]), float(m[3]), m[4]) for m in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out)]


def _darkest(pdf, page, x, y, w, h):
    """The darkest grey (0 black .. 255 white) of the printed area (points, at 72 dpi one pixel a point)."""
    import subprocess
    data = subprocess.run(["pdftoppm", "-gray", "-r", "72", "-f", str(page), "-l", str(page), "-x", str(int(x)),
                           "-y", str(int(y)), "-W", str(int(w)), "-H", str(int(h)), str(pdf)],
                          capture_output=True, check=True).stdout
    header = data.split(b"\n", 3)  # P5, width height, maxval, pixels
    return int(min(header[3])) if header[3] else 255


@pytest.mark.parametrize("kind", ["report", "template"])
def test_a_chart_beside_a_table_is_printed_once(kind, report, tmp_path, libreoffice, workbook_inputs):
    """Seen: the correlation chart (anchored in the header row, I6) printed on each of the sheet's six pages under
    LibreOffice's print titles. Every page after the sheet's first shows nothing right of the table's columns below
    their header: no chart, no sliver of its frame."""
    if kind == "report":
        path = tmp_path / "report.xlsx"
        report[0].save(path)
    else:
        path = workbook_inputs.build_template(tmp_path / "t.xlsm")
    pdf = libreoffice.convert(path, "pdf", tmp_path)[0]
    continued = 0
    for page in range(1, libreoffice.pdf_pages(pdf) + 1):
        words = _page_words(pdf, page)
        text = "".join(w[4] for w in words)
        if "滚动相关系数" not in text or "ETF资金流与指数涨跌" in text and kind == "report":
            continue
        head = [w for w in words if w[4] == "日期"]
        if not head or any(w[4].startswith("信号后") for w in words):  # the first page (the event tables beside)
            continue
        below = min(w[1] for w in words if abs(w[1] - head[0][1]) < 8) - 4  # from the header row's top down
        lines = {}  # the table's rows: date, correlation, close, flow, signal (a chart's words further right)
        for w in words:
            lines.setdefault(round(w[1]), []).append(w)
        right = max(sorted(line, key=lambda w: w[0])[4][2] for line in lines.values()
                    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", min(line)[4]) and len(line) >= 5) + 15
        continued += 1
        assert _darkest(pdf, page, right, below, 841 - right - 20, 595 - below - 20) >= 250, (kind, page, right)
    assert continued >= 4


# ----------------------------------------------------------------------------- a chart of a table without rows
def _charts(path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    import _xlremote
    return _xlremote.workbook_charts(path)


def _without_flows(result):
    """The week with the industry flows not computed (as on the real data, whose index weights are stale)."""
    import copy
    res = copy.deepcopy(result)
    res.tables["industry_flow"] = None
    res.notes["industry_flow"] = "index_weights end 2024-10-08 (current to 2024-12-08): not computed on stale inputs"
    return res


def test_the_report_leaves_out_the_chart_of_a_table_not_computed(tmp_path, workbook_inputs, monkeypatch):
    """Seen: the real data's report drew an empty flow chart beside "(未计算) 输入表 index_weights 截至 …". The report
    leaves it out, a short note at its cell instead; the other charts are drawn. A refresh of that report with the
    flows draws the chart (the note goes, the user's chart stays after the layout's); without them again, the
    refreshed workbook keeps its chart, titled with why it is empty, over the placeholder row."""
    from openpyxl.chart import LineChart, Reference

    from xladdin.workbook.report import build_report
    from xladdin.workbook.template import refresh_workbook
    workbook_inputs.patch_compute(monkeypatch, _without_flows(workbook_inputs.weekly()))
    out = tmp_path / "r.xlsx"
    build_report(out, None)
    charts = _charts(out)
    assert charts["行业资金流"] == [] and [c["anchor"] for c in charts["风格信号"]] == ["L7", "L23"]
    ws = load_workbook(out)["行业资金流"]
    assert ws["N7"].value == "(图表未绘制:表格未计算)" and str(ws["B7"].value).startswith("(未计算)")
    wb = load_workbook(out)  # the user adds a chart of their own beside the note
    mine = LineChart()
    mine.add_data(Reference(wb["行业资金流"], min_col=4, min_row=6, max_row=7), titles_from_data=True)
    wb["行业资金流"].add_chart(mine, "N40")
    wb.save(out)
    workbook_inputs.patch_compute(monkeypatch, workbook_inputs.weekly())
    refresh_workbook(out, market=object())
    flows = _charts(out)["行业资金流"]
    assert [(c["anchor"], c["title"]) for c in flows] == [("N7", "本周股票ETF行业资金流入流出(亿元)"), ("N40", None)]
    assert load_workbook(out)["行业资金流"]["N7"].value is None
    workbook_inputs.patch_compute(monkeypatch, _without_flows(workbook_inputs.weekly()))
    refresh_workbook(out, market=object())
    flows = _charts(out)["行业资金流"]
    assert [(c["anchor"], c["title"]) for c in flows] == [
        ("N7", "本周股票ETF行业资金流入流出(亿元)(无数据:表格未计算)"), ("N40", None)]
    assert all(re.search(r"![$][A-Z]+[$]7(:[$][A-Z]+[$]7)?$", s["values"]) for s in flows[0]["series"])  # placeholder row


def test_a_template_keeps_the_chart_of_a_table_without_rows_and_says_so(tmp_path, workbook_inputs, monkeypatch):
    """A workbook that is refreshed keeps each layout chart (the Excel refresh can update a chart, not draw one with
    the layout's looks): built or refreshed without flows, the flow chart plots the placeholder row only and its
    title says why; refreshed with them, the layout's title and the rows again."""
    from xladdin.workbook.template import build_template, refresh_workbook
    workbook_inputs.patch_compute(monkeypatch, _without_flows(workbook_inputs.weekly()))
    out = tmp_path / "t.xlsm"
    build_template(out, market=None)
    [flow] = _charts(out)["行业资金流"]
    assert flow["title"] == "本周股票ETF行业资金流入流出(亿元)(无数据:表格未计算)"
    assert all(re.search(r"![$][A-Z]+[$]7(:[$][A-Z]+[$]7)?$", s["values"]) for s in flow["series"])
    workbook_inputs.patch_compute(monkeypatch, workbook_inputs.weekly())
    refresh_workbook(out, market=object())
    [flow] = _charts(out)["行业资金流"]
    rows = len(workbook_inputs.weekly().tables["industry_flow"])
    assert flow["title"] == "本周股票ETF行业资金流入流出(亿元)"
    assert all(s["values"].endswith(f"${6 + rows}") for s in flow["series"])
