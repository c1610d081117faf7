"""Layout file, planning, the openpyxl writer, the one text-neutralisation rule, parameters, weekly wiring.

The xlwings writer is tested on xlwings' own engines in tests/test_xlwings_remote.py."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from xladdin.cells import to_cell_value
from xladdin.workbook.layout import DEFAULT_LAYOUT, load_layout, parse_layout
from xladdin.workbook.layoutcheck import LayoutError
from xladdin.workbook.openpyxl_writer import OpenpyxlWriter
from xladdin.workbook.params import (
    SPECS,
    ParamError,
    default_params,
    params_from_mapping,
    params_from_rows,
    params_to_frame,
)
from xladdin.workbook.placement import Block
from xladdin.workbook.plan import plan_sheet, plan_table
from xladdin.workbook.refs import FORMULA_PREFIXES, col_letter, formula_like, parse_cell, parse_range, range_ref
from xladdin.workbook.render import render
from xladdin.workbook.weekly import STEPS
from xladdin.workbook.xlwings_writer import excel_text

#: the tables the weekly steps produce (their registry: xladdin.workbook.weekly.STEPS)
OUTPUT_TABLES = {t for step in STEPS for t in step.tables}


@pytest.fixture(scope="module")
def layout():
    return load_layout()


# ----------------------------------------------------------------------------------- layout file
def test_layout_has_the_outputs_between_cover_and_parameters(layout):
    keys = [s.key for s in layout.sheets]
    assert keys[0] == "cover" and keys[-1] == "params"
    assert [t.key for t in layout.sheet("cover").tables] == ["cover_headlines", "cover_freshness"]
    assert [t.key for t in layout.sheet("params").tables] == ["params"]
    assert OUTPUT_TABLES == {t.key for s in layout.sheets[1:-1] for t in s.tables}
    names = [t.name for s in layout.sheets for t in s.tables]
    assert len(names) == len(set(names))
    charts = {(s.key, c.table) for s in layout.sheets for c in s.charts}
    assert {("industry_flow", "industry_flow"), ("style", "style_signals"), ("performance", "nav"),
            ("correlation", "correlation"), ("crowding", "crowding_weekly")} <= charts
    assert layout.sheet("industry_flow").table("industry_flow").columns[2].zh == "资金流入流出(亿元)"


def _chart(d, sheet):
    return next(c for s in d["sheets"] if s["key"] == sheet for c in s["charts"])


def _raw():
    import tomllib
    with open(DEFAULT_LAYOUT, "rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["sheets"][1]["tables"][0].update(name="tblHeadlines"), "used twice"),
    (lambda d: d["sheets"][1]["tables"][0].update(anchor="5B"), "not a cell reference"),
    (lambda d: d["sheets"][2]["tables"][1].update(below="nope"), "earlier table"),
    (lambda d: d["sheets"][1]["charts"][0].update(series=["nope"]), "`nope` is not a column"),
    (lambda d: d["sheets"][1]["tables"][0]["conditional"][0].update(columns=["zzz"]), "conditional column `zzz`"),
    (lambda d: d["sheets"][1].update(zh="bad/name"), "1-31 characters"),
    (lambda d: d["sheets"][1]["tables"][0].update(colour="red"), "unknown key"),
    (lambda d: d["sheets"][1]["tables"][0].update(name="A1"), "not a valid Excel table name"),
    (lambda d: d["sheets"][1]["charts"][0].update(row_offset=0), "starts in row 6, in the rows print_titles repeats"),
    (lambda d: _chart(d, "correlation").update(anchor="I6"), "starts in row 6, in the rows print_titles repeats"),
])
def test_layout_validation_names_the_problem(mutate, message):
    d = _raw()
    mutate(d)
    with pytest.raises(LayoutError, match=message):
        parse_layout(d)


def test_cell_helpers():
    assert parse_cell("B5") == (5, 2) and parse_cell("AA10") == (10, 27)
    assert col_letter(27) == "AA" and col_letter(702) == "ZZ" and col_letter(703) == "AAA"
    assert range_ref(5, 2, 35, 10) == "B5:J35"


# ----------------------------------------------------------------------------------- planning
def _flow_frame(n=4):
    return pd.DataFrame({
        "industry": [f"CI00500{i}.WI" for i in range(1, n + 1)], "industry_name": ["煤炭", "钢铁", "电子", "银行"][:n],
        "net_flow": [1.5, -2.0, np.nan, 3.0][:n], "industry_return": [0.01, -0.02, 0.0, 0.03][:n],
        "divergence": np.nan, "holding_share": 0.1, "holding_change": 0.001, "prev_net_flow": [1, 2, 3, 4][:n],
        "next_return": 0.0, "flow_in": [1.5, np.nan, np.nan, 3.0][:n], "flow_out": [np.nan, -2.0, np.nan, np.nan][:n],
        "unused": 1})


def test_plan_table_headers_values_formats_and_conditionals(layout):
    t = layout.sheet("industry_flow").table("industry_flow")
    p = plan_table(t, _flow_frame(), 5, 2, "zh")
    assert p.headers[:3] == ["行业代码", "行业名称", "资金流入流出(亿元)"]
    assert "unused" not in p.fields  # only layout columns
    assert p.rows[2][2] is None and p.rows[0][2] == 1.5  # NaN -> blank cell
    assert p.formats[2] == "#,##0.00" and p.formats[3] == "0.00%"
    assert p.ref == "B5:L9"
    # signed scales around 0, to the largest absolute value of the column (3.0 flow, 3% return, 4 last week)
    assert ("signed", "D6:D9", (-3.0, 0.0, 3.0)) in p.conditional
    assert ("signed", "E6:E9", (-0.03, 0.0, 0.03)) in p.conditional
    assert ("signed", "I6:I9", (-4.0, 0.0, 4.0)) in p.conditional
    assert not [c for c in p.conditional if c[1] == "J6:J9"]  # next_return all 0: no scale
    assert p.hidden == [False] * 9 + [True, True]  # the chart's inflow and outflow columns
    assert [(b.headers, b.why) for b in p.blanks] == [
        (["持仓分歧度因子"], "本期无取值")]  # no input is said to be missing here
    en = plan_table(t, _flow_frame(), 5, 2, "en")
    assert en.headers[2] == "Net flow (100m yuan)"
    with pytest.raises(ValueError, match="divergence"):
        plan_table(t, _flow_frame().drop(columns="divergence"), 5, 2, "zh")
    missing = plan_table(t, None, 5, 2, "zh", "M9 pending")
    assert missing.rows == [] and missing.placeholder.startswith("(未计算)") and missing.ref == "B5:L6"
    limited = plan_table(t, _flow_frame(), 5, 2, "zh", inputs={"fund_nav": "fund_nav 缺失"})
    assert [(b.headers, b.why) for b in limited.blanks] == [(["持仓分歧度因子"], "fund_nav 缺失")]


def test_plan_extra_columns_share_one_colour_scale(layout):
    t = layout.sheet("quintiles").table("quintile_level")
    months = pd.date_range("2025-01-31", periods=3, freq="ME")
    df = pd.DataFrame([[1, 2, 5], [5, 4, 1]], columns=months)
    df.insert(0, "industry_name", ["a", "b"])
    df.insert(0, "industry", ["X", "Y"])
    p = plan_table(t, df, 5, 2, "zh")
    assert p.headers[2:] == ["2025-01", "2025-02", "2025-03"]
    assert p.conditional == [("heat", "D6:F7", None)]


def test_to_cell_value():
    assert to_cell_value(pd.Timestamp("2026-01-30")) == dt.datetime(2026, 1, 30)
    assert to_cell_value(np.int64(3)) == 3 and isinstance(to_cell_value(np.float32(1.5)), float)
    assert to_cell_value(pd.NA) is None and to_cell_value(pd.NaT) is None and to_cell_value(np.inf) is None
    assert to_cell_value(np.bool_(True)) == 1


def test_below_tables_follow_the_table_above_and_overlaps_fail(layout, workbook_inputs):
    s = layout.sheet("quintiles")
    months = pd.date_range("2025-01-31", periods=2, freq="ME")
    df = pd.DataFrame([[1, 2]] * 40, columns=months)
    df.insert(0, "industry_name", "n")
    df.insert(0, "industry", [f"I{i}" for i in range(40)])
    plan = plan_sheet(s, {"quintile_level": df, "quintile_change": df}, "zh")
    a, b = plan.tables
    assert b.title_row == a.last_row + 3 and b.col == a.col
    d = _raw()
    d["sheets"][7]["tables"][1]["anchor"] = "C7"  # etf_ic onto etf_ranking
    bad = parse_layout(d)
    r = workbook_inputs.weekly().tables
    with pytest.raises(ValueError, match="overlaps"):
        plan_sheet(bad.sheet("etf_rotation"), r, "zh")


# ----------------------------------------------------------------------------------- openpyxl writer
@pytest.fixture(scope="module")
def rendered(layout, workbook_inputs):
    res = workbook_inputs.weekly()
    wb = Workbook()
    wb.remove(wb.active)
    plans = render(res.tables, OpenpyxlWriter.for_layout(wb, layout), layout, "zh", res.subtitles_for("zh"),
                     res.notes)
    return wb, plans, res


def test_render_places_tables_at_their_anchors(rendered, layout):
    wb, plans, res = rendered
    assert wb.sheetnames == [s.zh for s in layout.sheets]
    ws = wb["行业资金流"]
    assert ws["B6"].value == "行业代码" and ws["D6"].value == "资金流入流出(亿元)"
    tab = ws.tables["tblIndustryFlow"]
    n = len(res.tables["industry_flow"])
    assert tab.ref == f"B6:L{6 + n}"
    assert ws["B7"].value == res.tables["industry_flow"]["industry"].iloc[0]
    assert ws["D7"].number_format == "#,##0.00" and ws["E7"].number_format == "0.00%"
    assert ws.freeze_panes == "E7"
    assert ws.column_dimensions["K"].hidden and ws.column_dimensions["L"].hidden  # the chart's helper columns
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert len(ws._charts) == 1 and ws._charts[0].x_axis.delete is False and ws._charts[0].y_axis.delete is False
    q = wb["月度分组"]
    rules = [r for cf in q.conditional_formatting for r in cf.rules]
    assert rules and all(r.type == "colorScale" for r in rules)
    assert all(r.colorScale.cfvo[0].type == "min" for r in rules)  # heat: min .. max
    assert "tblQuintileChange" in q.tables
    perf = wb["策略表现"]
    chart = perf._charts[0]
    assert all(s.smooth is False for s in chart.series)
    assert len(chart._charts) == 2  # strategy/benchmark + relative on a secondary axis
    # every layout table exists once, by name
    names = {t for ws in wb.worksheets for t in ws.tables}
    assert names == {t.name for s in layout.sheets for t in s.tables}


def test_rerender_in_english_renames_and_clears(rendered, layout, workbook_inputs):
    import io

    from openpyxl import load_workbook
    wb, _, _ = rendered
    buf = io.BytesIO()
    wb.save(buf)
    wb2 = load_workbook(io.BytesIO(buf.getvalue()))
    ws_before = wb2["行业资金流"]
    res = workbook_inputs.weekly()
    small = dict(res.tables)
    small["industry_flow"] = res.tables["industry_flow"].head(3)
    render(small, OpenpyxlWriter.for_layout(wb2, layout), layout, "en", res.subtitles_for("en"))
    assert wb2.sheetnames == [s.en for s in layout.sheets]
    ws = wb2["Industry flows"]
    assert ws is ws_before  # same sheet object, renamed
    assert ws["D6"].value == "Net flow (100m yuan)"
    assert ws.tables["tblIndustryFlow"].ref == "B6:L9"
    assert ws["B10"].value is None and ws["B30"].value is None  # old rows cleared
    assert len(ws._charts) == 1


# ----------------------------------------------------------------------------------- neutralisation
@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_openpyxl_writer_never_writes_a_formula_from_data(text, layout, tmp_path, workbook_inputs):
    """Formula-like text from data is stored as text, quote-prefixed (so editing the cell keeps it text)."""
    from openpyxl import load_workbook
    res = workbook_inputs.weekly()
    tables = dict(res.tables)
    flow = res.tables["industry_flow"].copy()
    flow["industry_name"] = flow["industry_name"].astype(object)
    flow.loc[0, "industry_name"] = text
    tables["industry_flow"] = flow
    wb = Workbook()
    wb.remove(wb.active)
    render(tables, OpenpyxlWriter.for_layout(wb, layout), layout, "zh", sheets=["industry_flow"])
    wb.save(tmp_path / "n.xlsx")
    ws = load_workbook(tmp_path / "n.xlsx")["行业资金流"]
    cell = ws["C7"]
    # (XML reading turns a CR into LF: the text still starts with a line break, not a formula)
    assert cell.value in (text, text.replace("\r", "\n")) and cell.data_type == "s" and cell.quotePrefix
    assert ws["C8"].quotePrefix is False  # ordinary text is left alone


def test_formula_like_and_excel_text_share_one_rule():
    assert FORMULA_PREFIXES == ("=", "+", "-", "@", "\t", "\r")
    assert [formula_like(v) for v in ("=1", "+1", "-1", "@a", "\ta", "\ra", "a=1", 1, None)] == [
        True] * 6 + [False] * 3
    # the Excel writer marks every text as text (the apostrophe is Excel's input convention)
    assert [excel_text(v) for v in ("=1", "000300", "2025-11", 1.5, None)] == ["'=1", "'000300", "'2025-11", 1.5,
                                                                                  None]


def test_chart_series_must_be_adjacent_columns():
    d = _raw()
    chart = next(c for s in d["sheets"] if s["key"] == "performance" for c in s["charts"])
    chart["series"] = ["strategy", "relative"]  # benchmark sits between them
    chart["secondary"] = []
    with pytest.raises(LayoutError, match="must be adjacent columns of table `nav`"):
        parse_layout(d)


def test_block_arithmetic():
    b = Block(4, 2, 10, 6)
    assert b.table_ref == "B5:F10" and b.at(7) == Block(7, 2, 13, 6) and b.height == 7 and b.width == 5
    assert b.minus(b.sized(4, 3)) == [Block(8, 2, 10, 6), Block(4, 5, 7, 6)]
    assert b.overlaps(Block(10, 6, 12, 8)) and not b.overlaps(Block(11, 2, 12, 6))
    assert parse_range("$B$5:$J$35") == (5, 2, 35, 10) and parse_range("C3") == (3, 3, 3, 3)


# ----------------------------------------------------------------------------------- parameters
def test_params_round_trip_and_errors():
    p = default_params()
    back = params_from_rows(params_to_frame(p).itertuples(index=False, name=None))
    assert back.as_dict() == p.as_dict()
    q = params_from_mapping({"corr_threshold": "0.6", "event_horizons": "20, 5,10", "language": "EN", "asof": ""})
    assert q.corr_threshold == 0.6 and q.event_horizons == (5, 10, 20) and q.language == "en" and q.asof is None
    for values, msg in [({"corr_window": "abc"}, "corr_window.*integer"), ({"top_n": 0}, "top_n.*>= 1"),
                        ({"language": "fr"}, "language.*zh, en"), ({"nope": 1}, "unknown parameter"),
                        ({"event_horizons": "5,5"}, "duplicated"), ({"corr_index": ""}, "must not be blank")]:
        with pytest.raises(ParamError, match=msg):
            params_from_mapping(values)
    with pytest.raises(ParamError, match="twice"):
        params_from_rows([("top_n", 5), ("top_n", 6)])


def test_param_defaults_match_the_method_modules():
    from xladdin.methods import correlation, style
    p = default_params()
    assert p.hp_lambda == style.DEFAULT_LAMBDA
    assert p.event_thresholds == tuple(correlation.DEFAULT_THRESHOLDS)
    assert p.event_horizons == tuple(correlation.DEFAULT_HORIZONS)
    assert len({s.key for s in SPECS}) == len(SPECS)


# ----------------------------------------------------------------------------------- weekly wiring
def test_every_layout_table_is_computed_on_the_sample(layout, workbook_inputs):
    res = workbook_inputs.weekly()
    pending = sorted(k for k in layout.table_keys if res.tables.get(k) is None)
    assert pending == [], f"tables not computed yet: {pending} ({res.notes})"
    assert res.tables["industry_flow"]["divergence"].notna().any(), "M9 divergence not wired (xladdin module pending)"


def test_weekly_tables_have_the_layout_columns(layout, workbook_inputs):
    res = workbook_inputs.weekly()
    for s in layout.sheets:
        for t in s.tables:
            df = res.tables[t.key]
            assert set(t.fields) <= set(df.columns), (t.key, set(t.fields) - set(df.columns))
    flow = res.tables["industry_flow"]
    assert flow["net_flow"].is_monotonic_decreasing  # sorted by this week's flow
    assert res.asof == pd.Timestamp(res.tables["correlation"]["date"].iloc[-1])
    assert len(res.tables["style_signals"]) == default_params().style_weeks
    assert res.summary.asof == res.asof.date()
