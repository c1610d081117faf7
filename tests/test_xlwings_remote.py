"""The Excel refresh on xlwings' real engines: the remote engine (xlwings Lite's) and the Windows /
macOS member sets, from a freshly built template (see ``tests/_xlremote.py``).

Each group of scenarios runs in one subprocess with ``XLWINGS_ON_SERVER=true`` and
``XLWINGS_LICENSE_KEY=noncommercial`` (xlwings reads both at import). The expected positions and
cell values are derived here from the layout file and the computed DataFrames, independently of
the planner that produced the writes.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import math
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _xlremote as X  # noqa: E402

from xladdin.workbook.layout import load_layout  # noqa: E402
from xladdin.workbook.refs import parse_cell  # noqa: E402
from xladdin.workbook.template import udf_modules  # noqa: E402

#: xlwings' engines in subprocesses, on a freshly built template: heavy round trips like LibreOffice's
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


#: Excel object model members the Windows freeze path may use (Microsoft's VBA reference)
WINDOWS_MEMBERS = {
    "ActiveWindow": "https://learn.microsoft.com/office/vba/api/excel.application.activewindow",
    "FreezePanes": "https://learn.microsoft.com/office/vba/api/excel.window.freezepanes",
    "SplitRow": "https://learn.microsoft.com/office/vba/api/excel.window.splitrow",
    "SplitColumn": "https://learn.microsoft.com/office/vba/api/excel.window.splitcolumn",
    "ScrollRow": "https://learn.microsoft.com/office/vba/api/excel.window.scrollrow",
    "ScrollColumn": "https://learn.microsoft.com/office/vba/api/excel.window.scrollcolumn",
}


# ------------------------------------------------------------------------------------------ inputs
def _set_param(payload, key, value):
    sheet = next(s for s in payload["sheets"] if s["name"] in ("参数", "Parameters"))
    for row in sheet["values"]:
        if len(row) > 2 and row[1] == key:
            row[2] = value
            return
    raise KeyError(key)


def _sheet(payload, name):
    return next(s for s in payload["sheets"] if s["name"] == name)


@pytest.fixture(scope="module")
def template(tmp_path_factory, workbook_inputs):
    return workbook_inputs.build_template(tmp_path_factory.mktemp("remote") / "weekly_remote.xlsm")


@pytest.fixture(scope="module")
def inputs(template, workbook_inputs):
    return {"payload": X.payload_from_workbook(template), "base": workbook_inputs.weekly(), "variant": X.variant(workbook_inputs.weekly()),
            "calls": _function_calls()}


def _run(tmp_path_factory, scenarios, functions=(), record=None):
    """Run ``scenarios`` (name -> (payload, how, weekly result)) in one subprocess on the remote engine;
    ``record``: name -> a file where that scenario's refresh leaves the tables of the market it computes on."""
    return X.run_job(tmp_path_factory.mktemp("remote_job"), scenarios, functions, record)


@pytest.fixture(scope="module")
def core(inputs, tmp_path_factory):
    """The fresh template refreshed by the Lite script, by refresh_book, and with each desktop member set."""
    p, base = inputs["payload"], inputs["base"]
    out = _run(tmp_path_factory, {h: (p, h, base) for h in ("lite", "remote", "windows", "mac")})
    out["_inputs"] = inputs
    return out


@pytest.fixture(scope="module")
def resized(inputs, tmp_path_factory):
    """Other table sizes (tables move and resize); the XA_ functions through Lite's function path."""
    p, variant = inputs["payload"], inputs["variant"]
    out = _run(tmp_path_factory, {f"resized_{h}": (p, h, variant) for h in ("lite", "windows", "mac")},
               [c for c, _ in inputs["calls"]])
    out["_inputs"] = inputs
    return out


@pytest.fixture(scope="module")
def edited(inputs, tmp_path_factory):
    """A language switch; the committed workbook. (A moved or deleted table, content in a table's way and the
    user's own work: tests/test_refresh_keeps_user_work.py, through both writers.)"""
    payload, base = inputs["payload"], inputs["base"]
    english = copy.deepcopy(payload)
    _set_param(english, "language", "en")
    committed = X.payload_from_workbook(ROOT / "workbooks" / "xladdin_weekly.xlsm")
    real = copy.deepcopy(base)
    real.sample = real.summary.sample = False  # the same tables as if read from real data: the sample template's banner goes
    out = _run(tmp_path_factory, {"english": (english, "lite", base), "committed": (committed, "lite", base),
                                  "real": (payload, "lite", real), "real_windows": (payload, "windows", real)})
    out["_inputs"] = inputs
    return out


# ------------------------------------------------------------------------------------------ expectations
# ------------------------------------------------------------------------------------------ tests
def test_payload_carries_every_sheet_table_and_chart(inputs):
    """The payload is the freshly built template as xlwings' Office.js client would send it."""
    layout = load_layout()
    payload = inputs["payload"]
    assert payload["client"] == "Office.js" and payload["version"] == __import__("xlwings").__version__
    by_name = {s["name"]: s for s in payload["sheets"]}
    for s in layout.sheets:
        sheet = by_name[s.zh]
        assert {t["name"] for t in sheet["tables"]} == {t.name for t in s.tables}
        assert [c["chart_type"] for c in sheet["charts"]] == [
            {"line": "Line", "bar": "BarClustered", "column": "ColumnClustered"}[c.type] for c in s.charts]
        assert sheet["values"][1][1] == s.title_zh            # B2: the sheet title
    assert "xlwings.conf" in by_name


@pytest.mark.parametrize("how", ["lite", "remote", "windows", "mac"])
def test_refresh_writes_every_table_in_place(core, how):
    runs = core
    run = runs[how]
    X.check_tables(run, runs["_inputs"]["base"].tables)
    funcs = {a["func"] for a in run["actions"]}
    assert not funcs & {"addTable", "deleteChart", "addChart", "sheetClear", "sheetDelete", "addSheet"}
    assert "setValues" in funcs


@pytest.mark.parametrize("how", ["lite", "windows"])
def test_chart_sources_follow_the_tables(core, template, how):
    runs = core
    layout = load_layout()
    run, base = runs[how], runs["_inputs"]["base"].tables
    built = X.workbook_charts(template)
    exp = X.expected_tables(base)
    for s in layout.sheets:
        for j, c in enumerate(s.charts):
            t = s.table(c.table)
            row, col, rows = exp[(s.zh, t.name)]
            n = len(rows) - 1
            fields = list(t.fields)
            first = col + fields.index(c.series[0])
            last = col + fields.index((c.secondary or c.series)[-1])
            x = col + fields.index(c.x)
            chart = run["state"]["charts"][s.zh][j]
            assert X.bounds(chart["source"].split("!")[1]) == (row, first, row + n, last), (s.key, j)
            assert chart["plot_by"] == "Columns"
            assert X.bounds(chart["x"].split("!")[1]) == (row + 1, x, row + n, x), (s.key, j)
            # the template's chart (created once) plots the same columns, series then secondary
            series = built[s.zh][j]["series"]
            assert [X.bounds(ser["values"].split("!")[1])[1] for ser in series] == list(range(first, last + 1))
            assert [ser["axis"] for ser in series] == ["primary"] * len(c.series) + ["secondary"] * len(c.secondary)
            assert {X.bounds(ser["categories"].split("!")[1]) for ser in series} == {(row + 1, x, row + n, x)}


def test_freeze_panes_on_every_sheet(core):
    runs = core
    layout = load_layout()
    expected = {}
    for s in layout.sheets:
        row, col = parse_cell(s.tables[0].anchor)
        expected[s.zh] = (row + 1, col + s.freeze_cols if s.freeze_cols else 1)
    lite = runs["lite"]["state"]["freeze"]
    assert {k: X.bounds(v)[:2] for k, v in lite.items() if v} == expected
    for how, split_row, split_col in (("windows", "App.ActiveWindow.SplitRow", "App.ActiveWindow.SplitColumn"),
                                      ("mac", "App.active_window.split_row.set", "App.active_window.split_column.set")):
        api = runs[how]["api"]
        rows = [int(e[2].strip("(),")) for e in api if e[1] == split_row]
        cols = [int(e[2].strip("(),")) for e in api if e[1] == split_col]
        assert list(zip(rows, cols)) == [(r - 1, c - 1) for r, c in expected.values()], how
        assert runs[how]["state"]["active"] == runs["_inputs"]["payload"]["book"]["active_sheet_index"]


def test_desktop_api_calls_are_documented_members(core):
    """The only `.api` use is the freeze; every member it touches exists in Excel's object model."""
    runs = core
    win = runs["windows"]["api"]
    assert win and {e[0] for e in win} == {"set"}
    for _, path, _ in win:
        parts = path.split(".")
        assert parts[0] == "App" and all(p in WINDOWS_MEMBERS for p in parts[1:]), path
    terms = X.mac_dictionary_terms()
    assert {"active_window", "freeze_panes", "split_row", "split_column", "scroll_row", "scroll_column"} <= terms
    mac = runs["mac"]["api"]
    assert mac and {e[0] for e in mac} == {"call"}
    for _, path, _ in mac:
        parts = path.split(".")
        assert parts[0] == "App" and parts[-1] == "set" and all(p in terms for p in parts[1:-1]), path


@pytest.mark.parametrize("how", ["windows", "mac", "resized_windows", "resized_mac"])
def test_no_touched_member_is_missing_on_the_desktop(core, resized, how):
    """Every engine member that xlwings.main called exists in the installed desktop backend.

    ``Sheet.freeze_panes`` is the one xlwings leaves to base_classes there: it was called, raised
    NotImplementedError, and the refresh froze the panes through `.api` instead (test above).
    """
    runs = {**core, **resized}
    run = runs[how]
    platform = how.split("_")[-1]
    members = X.desktop_members(X.BACKENDS[platform])
    missing = [m for m in run["touched"] if m.split(".")[1] not in members.get(m.split(".")[0], set())]
    assert missing == ["Sheet.freeze_panes"], missing
    assert "freeze_panes" in run["replaced"]["Sheet"]
    if how.startswith("resized"):
        assert {"Range.move", "Table.resize"} <= set(run["touched"])


@pytest.mark.parametrize("how", ["resized_lite", "resized_windows", "resized_mac"])
def test_resized_tables_move_and_keep_their_names(resized, how):
    """Sizes change: tables below are cut and pasted whole, resized, never re-created; Excel accepts each step."""
    runs = resized
    run = runs[how]
    X.check_tables(run, runs["_inputs"]["variant"].tables)
    funcs = [a["func"] for a in run["actions"]]
    assert "moveRange" in funcs and "resizeTable" in funcs and "addTable" not in funcs
    for pos in {a["sheet_position"] for a in run["actions"] if a["func"] == "setValues"}:
        on_sheet = [a["func"] for a in run["actions"] if a["sheet_position"] == pos]
        first_write = on_sheet.index("setValues")
        assert not {"moveRange", "resizeTable"} & set(on_sheet[first_write:]), pos  # tables placed, then values
    names = {s: set(t) for s, t in run["state"]["tables"].items()}
    payload = runs["_inputs"]["payload"]
    assert names == {s["name"]: {t["name"] for t in s["tables"]} for s in payload["sheets"]}
    # freed rows below a shrunken table are cleared
    cells = X.cells_of(run, "策略持仓")
    r1, c1, r2, c2 = X.bounds(run["state"]["tables"]["策略持仓"]["tblStrategyHoldings"])
    assert not [k for k in cells if k[0] > r2 and c1 <= k[1] <= c2]


def test_conditional_formats_cover_the_new_rows(core, resized):
    runs = {**core, **resized}
    layout = load_layout()
    for how, tables in (("lite", runs["_inputs"]["base"].tables), ("resized_lite", runs["_inputs"]["variant"].tables)):
        rules = runs[how]["state"]["rules"]
        exp = X.expected_tables(tables)
        for s in layout.sheets:
            for t in s.tables:
                row, col, rows = exp[(s.zh, t.name)]
                for cond in t.conditional:
                    for f in cond.columns:
                        c1 = col + len(t.columns) if f == "*extra" else col + t.fields.index(f)
                        c2 = col + len(rows[0]) - 1 if f == "*extra" else c1
                        values = [v for r in rows[1:] for v in r[c1 - col:c2 - col + 1]
                                  if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))]
                        want = ["ColorScale", X.address(row + 1, c1, row + len(rows) - 1, c2)]
                        # a signed scale (around 0) needs a value other than 0
                        expected = 0 if cond.type == "signed" and not any(values) else 1
                        assert rules[s.zh].count(want) == expected, (how, s.key, t.key, want)


@pytest.mark.parametrize("how", ["lite", "windows"])
def test_flows_and_returns_are_red_up_green_down_in_excel(core, how):
    """The refresh (Excel and Lite) colours a flow or return column green below 0, white at 0, red above, to the
    column's largest absolute value; a level (heat) white to orange from its min to its max."""
    run, base = core[how], core["_inputs"]["base"].tables
    scales = run["state"]["scales"]
    flow = base["industry_flow"]
    exp = X.expected_tables(base)
    row, col, rows = exp[("行业资金流", "tblIndustryFlow")]
    c = col + load_layout().sheet("industry_flow").table("industry_flow").fields.index("net_flow")
    m = float(np.nanmax(np.abs(flow["net_flow"].to_numpy(dtype=float))))
    got = scales["行业资金流"][X.address(row + 1, c, row + len(rows) - 1, c)]
    assert got["colors"] == ["#63be7b", "#ffffff", "#f8696b"]  # green, white, red
    assert got["threshold_types"] == ["Number"] * 3 and got["thresholds"] == pytest.approx([-m, 0.0, m], rel=1e-12)
    heat = [v for k, v in scales["月度分组"].items()]
    assert heat and all(v["colors"][0] == "#ffffff" and v["threshold_types"][0] == "LowestValue" for v in heat)


def test_text_from_data_stays_text(resized):
    """Formula-like, number-like and date-like text reaches Excel with its text mark (the apostrophe)."""
    runs = resized
    run = runs["resized_lite"]
    values = [v for a in run["actions"] if a["func"] == "setValues" for row in a["values"] for v in row]
    texts = [v for v in values if isinstance(v, str) and v and not _is_iso_date(v)]  # "" = empty cell
    assert texts and [v for v in texts if not v.startswith("'")] == []
    for v in X.INJECTED:
        assert "'" + v in texts, v
    headers = [v for v in texts if len(v) == 8 and v[1:5].isdigit() and v[5] == "-"]
    assert headers, "month headers such as 2025-11 are written as text"


def _is_iso_date(v: str) -> bool:
    try:
        dt.date.fromisoformat(v)
        return True
    except ValueError:
        return False


def test_language_switch_renames_sheets_and_headers(edited):
    runs = edited
    from xladdin.workbook.params import default_params, params_to_frame
    run = runs["english"]
    layout = load_layout()
    assert run["state"]["names"][: len(layout.sheets)] == [s.en for s in layout.sheets]
    tables = dict(runs["_inputs"]["base"].tables)
    tables["params"] = params_to_frame(default_params().replace(language="en"))  # written back as read
    X.check_tables(run, tables, language="en")


def _banner_text(language):
    import tomllib
    with open(ROOT / "workbooks" / "layout.toml", "rb") as fh:
        meta = tomllib.load(fh)["meta"]
    return meta[f"sample_banner_{language}"], "#" + meta["banner_fill"]


@pytest.mark.parametrize("how", ["lite", "windows", "mac"])
def test_the_sample_banner_is_written_on_every_sheet(core, how):
    """Refreshed from the sample (Excel and Lite): row 1 of every layout sheet holds the banner, red across its tables."""
    run = core[how]
    text, fill = _banner_text("zh")
    exp = X.expected_tables(core["_inputs"]["base"].tables)
    for s in load_layout().sheets:
        cells = X.cells_of(run, s.zh)
        assert cells.get((1, 2)) == "'" + text, s.key
        assert [k for k in cells if k[0] == 1] == [(1, 2)], s.key
        width = max(col + len(rows[0]) - 1 for (sheet, _), (_, col, rows) in exp.items() if sheet == s.zh)
        fills = {(r, c): v for r, c, v in run["fills"][s.zh] if r == 1}
        assert fills == {(1, c): fill for c in range(2, width + 1)}, s.key


@pytest.mark.parametrize("how", ["lite", "windows", "mac"])
def test_notes_row_and_wrapped_text_in_excel(core, how):
    """Row 4 holds the sheet's notes (the colour legend, why a column is blank); long text wraps and its rows grow."""
    run = core[how]
    cells = X.cells_of(run, "行业资金流")
    assert str(cells.get((4, 2))).startswith("'注:") and "红 = 净流入/上涨" in cells[(4, 2)]
    assert "“北向持股变化、变化”留空" in X.cells_of(run, "ETF轮动")[(4, 2)]
    exp = X.expected_tables(core["_inputs"]["base"].tables)
    row, col, rows = exp[("封面", "tblHeadlines")]
    wraps = {tuple(x) for x in run["wraps"]["封面"]}
    assert {(r, c) for r in range(row + 1, row + len(rows)) for c in range(col, col + 3)} <= wraps
    heights = run["heights"]["封面"]
    assert all(str(r) in heights and heights[str(r)] >= 14 for r in range(row + 1, row + len(rows)))


@pytest.mark.parametrize("how", ["real", "real_windows"])
def test_real_data_clears_the_banner_the_sample_left(edited, how):
    """The sample template refreshed on real data: row 1 is empty again (value and fill) on every sheet."""
    run = edited[how]
    assert run["error"] is None, run["error"]
    X.check_tables(run, edited["_inputs"]["base"].tables)
    payload = edited["_inputs"]["payload"]
    for s in load_layout().sheets:
        assert _sheet(payload, s.zh)["values"][0][1], s.key  # the template had the banner
        assert [k for k in X.cells_of(run, s.zh) if k[0] == 1] == [], s.key
        assert [k for k in run["fills"][s.zh] if k[0] == 1] == [], s.key


# ------------------------------------------------------------------------------------------ Lite functions
def _function_calls():
    """(Office.js call data, direct Python result) for a few XA_ functions."""
    from xladdin_udfs.flows import XA_FLOW_CORR
    from xladdin_udfs.stats import XA_VERSION
    from xladdin_udfs.style import XA_HP1S
    rng = np.random.default_rng(3)
    flows = [[float(v)] for v in rng.normal(size=40)]
    rets = [[float(v)] for v in rng.normal(size=40)]
    vals = [[float(v)] for v in np.cumsum(rng.normal(size=30)) + 50]
    return [
        ({"func": "XA_VERSION", "args": []}, XA_VERSION()),
        ({"func": "XA_FLOW_CORR", "args": [flows, rets, [[10]], [[False]]]},
         XA_FLOW_CORR([r[0] for r in flows], [r[0] for r in rets], 10.0, False)),
        ({"func": "XA_HP1S", "args": [vals, [[100]], [[True]]]}, XA_HP1S([r[0] for r in vals], 100.0, True)),
    ]


def test_lite_main_exposes_every_xa_function_through_the_lite_path(resized):
    runs = resized
    import importlib
    names, results = runs["functions"]
    funcs = set()
    for m in udf_modules():  # every udfs module: lite_main must import each of their functions
        funcs |= {k for k in vars(importlib.import_module(m)) if k.startswith("XA_")}
    assert set(names) == funcs
    for (call, direct), got in zip(runs["_inputs"]["calls"], results):
        direct = [[None if (isinstance(v, float) and math.isnan(v)) else v for v in row] for row in direct]
        assert len(got) == len(direct), call["func"]
        for g, d in zip(got, direct):
            for a, b in zip(g, d):
                assert (a in ("", None) and b in ("", None)) or a == b or (
                    isinstance(a, float) and math.isclose(a, b, rel_tol=1e-12)), (call["func"], a, b)


def test_the_committed_workbook_refreshes_in_lite(edited):
    """workbooks/xladdin_weekly.xlsm as shipped: the Lite script fills it (built from the same sample)."""
    X.check_tables(edited["committed"], edited["_inputs"]["base"].tables)


def test_xlwings_version_pin_is_the_one_run_here():
    import re as _re

    import xlwings
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pin = _re.search(r'"xlwings==([0-9.]+)"', text)
    assert pin and pin.group(1) == xlwings.__version__


# ------------------------------------------------------------------------------------------ carried data
@pytest.fixture(scope="module")
def carried(tmp_path_factory, tiny_short_dir, workbook_inputs):
    """A template built with --embed-data from a small folder, refreshed by the Lite script and on the Windows
    member set with data_dir blank; each run records the tables of the market it computed on."""
    import dataclasses

    from xladdin.data import load_market
    from xladdin.workbook.template import build_template
    src = load_market(tiny_short_dir)
    d = tmp_path_factory.mktemp("carried")
    mp = pytest.MonkeyPatch()
    workbook_inputs.patch_compute(mp)  # the tables are the sample's: what is tested is the data read
    try:
        book = build_template(d / "carried.xlsm", src, embed=True)
        sample_book = build_template(d / "carried_sample.xlsm", dataclasses.replace(src, sample=True), embed=True)
    finally:
        mp.undo()
    payload = X.payload_from_workbook(book)
    base = workbook_inputs.weekly()
    record = {h: d / f"{h}.pkl" for h in ("lite", "windows", "sample_lite", "sample_windows")}
    lite_folder = copy.deepcopy(payload)
    _set_param(lite_folder, "data_dir", str(tiny_short_dir))
    sample_payload = X.payload_from_workbook(sample_book)
    out = _run(tmp_path_factory, {"lite": (payload, "lite", base), "windows": (payload, "windows", base),
                                  "lite_folder": (lite_folder, "lite", base),
                                  "sample_lite": (sample_payload, "lite", base),
                                  "sample_windows": (sample_payload, "windows", base)}, record=record)
    out["_src"], out["_payload"], out["_sample_payload"] = src, payload, sample_payload
    out["_seen"] = {h: pickle.loads(p.read_bytes()) for h, p in record.items() if p.is_file()}
    return out


def test_hidden_data_sheets_travel_in_the_payload(carried):
    """Every sheet is in the payload the remote engine builds its Book from, hidden ones with visibility "Hidden"
    and all their values (a script without include/exclude loads every sheet's content)."""
    sheets = {s["name"]: s for s in carried["_payload"]["sheets"]}
    src = carried["_src"]
    for name, df in src.tables.items():
        assert sheets[name]["visibility"] == "Hidden"
        assert len(sheets[name]["values"]) == len(df) + 1 and sheets[name]["values"][0] == list(df.columns)
    assert sheets["封面"]["visibility"] == "Visible"
    size = len(json.dumps(carried["_payload"]).encode())
    print(f"payload of the carried workbook: {size / 1e6:.1f} MB for "
          f"{sum(len(df) * df.shape[1] for df in src.tables.values()):,} data cells")


@pytest.mark.parametrize("how", ["lite", "windows"])
def test_refresh_reads_the_tables_the_workbook_carries(carried, how):
    """data_dir blank: the Lite script (and the desktop button's code) compute on the hidden sheets' tables, read
    through the loader: the same tables as the folder they came from, numbers at the 16 digits an xlsx keeps."""
    assert carried[how]["error"] is None, carried[how]["error"]
    seen = carried["_seen"][how]
    assert seen["source"] == "carried.xlsm (embedded tables)"
    src = carried["_src"]
    assert set(seen["tables"]) == set(src.tables)
    for name, df in src.tables.items():
        got = seen["tables"][name]
        assert list(got.columns) == list(df.columns) and len(got) == len(df), name
        for col in df.columns:
            want = df[col].map(lambda v: v if pd.isna(v) else float(f"{v:.16g}")) if df[col].dtype == float else df[col]
            pd.testing.assert_series_equal(got[col].reset_index(drop=True), want.reset_index(drop=True),
                                           check_exact=True, obj=f"{name}.{col}")


@pytest.mark.parametrize("how", ["lite", "windows"])
def test_carried_sample_tables_stay_the_sample(carried, how):
    """A workbook carrying the embedded sample's tables marks them (a hidden SAMPLE_DATA sheet): the market the
    Refresh reads from them is the sample (its sheets get the banner); carried real tables are not."""
    sheets = {s["name"]: s for s in carried["_sample_payload"]["sheets"]}
    assert sheets["SAMPLE_DATA"]["visibility"] == "Hidden" and "SAMPLE_DATA" not in {
        s["name"] for s in carried["_payload"]["sheets"]}
    assert carried["_seen"][f"sample_{how}"]["sample"] is True
    assert carried["_seen"][how]["sample"] is False


def test_lite_refuses_a_folder_and_points_at_the_carried_tables(carried):
    err = carried["lite_folder"]["error"]
    assert err is not None and "xlwings Lite cannot read local folders" in err and "--embed-data" in err


@pytest.mark.parametrize("how", ["lite", "windows"])
def test_rates_on_the_parameters_sheet_in_percent_in_excel(core, how):
    """The Refresh (Excel and Lite) writes each rate's value cell of the parameters sheet with a percent format
    (the value itself unchanged), as the template and the report have it (tests/test_desk_conventions.py)."""
    run = core[how]
    cells = X.cells_of(run, "参数")
    formats = {(r, c): v for r, c, v in run["formats"]["参数"]}
    rows = {cells[(r, c)][1:]: r for (r, c) in cells if c == 2 and r > 6}
    want = {"cost": ("0.00%", 0.001), "etf_cost": ("0.00%", 0.003), "rf": ("0.00%", 0.0), "heat_flag": ("0%", 0.9),
            "crowding_dispersion_flag": ("0%", 0.05), "crowding_volume_move": ("0%", 0.2)}
    for key, (fmt, value) in want.items():
        assert formats.get((rows[key], 3)) == fmt and cells[(rows[key], 3)] == value, key
    assert formats.get((rows["hp_lambda"], 3)) is None and cells[(rows["hp_lambda"], 3)] == 100


@pytest.mark.parametrize("how", ["lite", "windows", "mac"])
def test_the_cover_net_flows_are_red_for_an_inflow_in_excel(core, how):
    """The Refresh (Excel and Lite) colours the cover's net flows of the week by their sign (the sample's week: an
    inflow, red) and sets every other signal's text back to plain (a colour the last refresh left goes)."""
    run = core[how]
    cells = X.cells_of(run, "封面")
    colours = {(r, c): v for r, c, v in run["font_colors"]["封面"]}
    exp = X.expected_tables(core["_inputs"]["base"].tables)
    row, col, rows = exp[("封面", "tblHeadlines")]
    signals = {cells[(r, col)][1:]: str(colours.get((r, col + 1))).lower() for r in range(row + 1, row + len(rows))}
    flows = {"股票ETF资金", "股票ETF资金(穿透行业)"}
    assert {k: signals[k] for k in flows} == dict.fromkeys(flows, "#c00000"), signals
    assert {v for k, v in signals.items() if k not in flows} == {"#000000"}, signals


# ------------------------------------------------------------------------------------------ a table without rows
@pytest.fixture(scope="module")
def emptied(inputs, tmp_path_factory):
    """The template (drawn with the sample's data) refreshed on a week whose industry flows were not computed and
    whose correlation table has no rows, by the Lite script and with the Windows and macOS member sets."""
    base = copy.deepcopy(inputs["base"])
    base.tables["industry_flow"] = None
    base.notes["industry_flow"] = "index_weights end 2024-10-08 (current to 2024-12-08): not computed on stale inputs"
    base.tables["correlation"] = base.tables["correlation"].iloc[:0]
    p = inputs["payload"]
    return _run(tmp_path_factory, {h: (p, h, base) for h in ("lite", "windows", "mac")})


@pytest.mark.parametrize("how", ["lite", "windows", "mac"])
def test_a_chart_whose_table_has_no_rows_says_so_and_shows_no_old_data(emptied, core, how):
    """Seen: a refresh that drew a chart last time and has no data now could leave the old picture. The Refresh
    (Excel and Lite) points such a chart at the table's placeholder row (nothing of the last data plotted) and
    titles it with why it is empty; a chart with data gets the layout's own title back (sample run)."""
    layout = load_layout()
    run = emptied[how]
    assert run["error"] is None and "refused" not in run, run.get("error") or run.get("refused")
    titles = {(s.zh, j): c.title_zh for s in layout.sheets for j, c in enumerate(s.charts)}
    empty = {("行业资金流", 0): "表格未计算", ("相关性监控", 0): "表格无数据"}
    for (sheet, j), title in titles.items():
        chart = run["state"]["charts"][sheet][j]
        if (sheet, j) in empty:
            assert chart["title"] == f"{title}(无数据:{empty[(sheet, j)]})", chart
            r1, _, r2, _ = X.bounds(chart["source"].split("!")[1])
            assert r2 == r1 + 1  # the header row and the placeholder row: nothing left of the sample's rows
            cells = X.cells_of(run, sheet)
            assert str(cells[(r2, 2)]).startswith(("'(未计算)", "'(无数据)"))
        else:
            assert chart["title"] == title, (sheet, j, chart)
        assert core["lite"]["state"]["charts"][sheet][j]["title"] == title  # with data: the layout's title
