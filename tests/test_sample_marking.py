"""The embedded sample is marked wherever it travels (issue #26): one fact (``Market.sample``), kept by a
copy of the sample written to a folder, and shown by every output built from it; real data never is."""
from __future__ import annotations

from xladdin.data import SAMPLE_MARKER, load_market, write_market
from xladdin.data.market import Market


# ----------------------------------------------------------------------------- the one fact
def test_the_sample_is_the_sample_and_real_data_is_not(sample_market, real_market):
    assert sample_market.sample is True
    assert sample_market.subset("2026-01-01", "2026-03-31").sample is True
    assert real_market.sample is False
    assert Market({}).sample is False  # a market built in memory is real unless it says otherwise


def test_a_copy_of_the_sample_in_a_folder_loads_as_the_sample(sample_market, tmp_path):
    small = sample_market.subset("2026-06-01", None)
    paths = write_market(small, tmp_path / "s")
    assert (tmp_path / "s" / SAMPLE_MARKER).is_file()
    assert SAMPLE_MARKER not in [p.name for p in paths]  # the tables' paths only
    assert load_market(tmp_path / "s").sample is True
    # the same tables written as real data (sample=False): no marker, loaded as real
    real = Market(dict(small.tables), source="memory")
    write_market(real, tmp_path / "r")
    assert not (tmp_path / "r" / SAMPLE_MARKER).exists()
    assert load_market(tmp_path / "r").sample is False


# ----------------------------------------------------------------------------- the workbooks
def _layout_meta():
    import tomllib
    from pathlib import Path
    with open(Path(__file__).resolve().parents[1] / "workbooks" / "layout.toml", "rb") as fh:
        return tomllib.load(fh)["meta"]


def _row1(path):
    """Sheet name -> (B1's text, B1's fill, whether any other cell of row 1 holds a value) of the layout sheets."""
    from openpyxl import load_workbook
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        if ws.sheet_state != "visible" or ws.title == "xlwings.conf":
            continue
        cell = ws["B1"]
        fill = cell.fill.fgColor.rgb if cell.fill is not None and cell.fill.fill_type == "solid" else None
        others = [c.coordinate for c in ws[1] if c.value is not None and c.coordinate != "B1"]
        out[ws.title] = (cell.value, fill, others)
    return out


def _as_real(result):
    """The weekly result as real data gives it (the carriers of Market.sample: the result and its mail summary)."""
    result.sample = result.summary.sample = False
    return result


def test_a_report_of_the_sample_is_marked_on_every_sheet_and_real_data_on_none(tmp_path, workbook_inputs,
                                                                                 monkeypatch):
    from xladdin.workbook.report import build_report
    meta = _layout_meta()
    for language in ("zh", "en"):
        result = workbook_inputs.weekly(language)
        workbook_inputs.patch_compute(monkeypatch, result)
        from xladdin.workbook.params import default_params
        build_report(tmp_path / f"s_{language}.xlsx", None, default_params().replace(language=language))
        rows = _row1(tmp_path / f"s_{language}.xlsx")
        assert len(rows) == 11
        for sheet, (text, fill, others) in rows.items():
            assert text == meta[f"sample_banner_{language}"], sheet
            assert ("示例数据" if language == "zh" else "SAMPLE DATA") in text
            assert fill is not None and fill.endswith(meta["banner_fill"]), (sheet, fill)
            assert others == [], sheet
        workbook_inputs.patch_compute(monkeypatch, _as_real(workbook_inputs.weekly(language)))
        build_report(tmp_path / f"r_{language}.xlsx", None, default_params().replace(language=language))
        assert all(text is None and fill is None for text, fill, _ in _row1(tmp_path / f"r_{language}.xlsx").values())


def test_a_template_refreshed_on_real_data_loses_the_banner_and_gets_it_back(tmp_path, workbook_inputs, monkeypatch):
    from xladdin.workbook.template import refresh_workbook
    out = workbook_inputs.build_template(tmp_path / "weekly.xlsm")
    assert all(text and fill for text, fill, _ in _row1(out).values())
    workbook_inputs.patch_compute(monkeypatch, _as_real(workbook_inputs.weekly()))
    refresh_workbook(out, market=object())
    assert all(text is None and fill is None for text, fill, _ in _row1(out).values())
    workbook_inputs.patch_compute(monkeypatch, workbook_inputs.weekly())
    refresh_workbook(out, market=object())
    assert all(text and fill for text, fill, _ in _row1(out).values())


def _page_headers(path):
    """Sheet name -> the text of the header printed at the top of each of its pages, of the layout sheets."""
    from openpyxl import load_workbook
    wb = load_workbook(path)
    return {ws.title: "".join(p.text or "" for p in (ws.oddHeader.left, ws.oddHeader.center, ws.oddHeader.right))
            for ws in wb.worksheets if ws.sheet_state == "visible" and ws.title != "xlwings.conf"}


def test_every_printed_page_of_a_sample_report_says_sample_and_real_data_none(tmp_path, workbook_inputs, monkeypatch):
    """Seen: the pages after a sheet's first (策略表现 p9-p13, 相关性监控 p15-p20 ...) did not say they show the
    sample: a page printed alone passed for market data. The values-only report prints the banner in the header
    of every page; a sample report refreshed on real data loses it (the template carries none: the Excel
    refresh, which cannot take a page header off in xlwings Lite, would leave it on real data)."""
    from xladdin.workbook.params import default_params
    from xladdin.workbook.report import build_report
    from xladdin.workbook.template import refresh_workbook
    meta = _layout_meta()
    for language in ("zh", "en"):
        workbook_inputs.patch_compute(monkeypatch, workbook_inputs.weekly(language))
        out = tmp_path / f"s_{language}.xlsx"
        build_report(out, None, default_params().replace(language=language))
        headers = _page_headers(out)
        assert len(headers) == 11 and set(headers.values()) == {meta[f"sample_banner_{language}"]}, headers
        workbook_inputs.patch_compute(monkeypatch, _as_real(workbook_inputs.weekly(language)))
        refresh_workbook(out, market=object())
        assert set(_page_headers(out).values()) == {""}
        build_report(tmp_path / f"r_{language}.xlsx", None, default_params().replace(language=language))
        assert set(_page_headers(tmp_path / f"r_{language}.xlsx").values()) == {""}
    assert set(_page_headers(workbook_inputs.build_template(tmp_path / "weekly.xlsm")).values()) == {""}


def _pages_with(pdf, text):
    """(pages, pages whose text holds ``text``) of a PDF, the pages of the xlwings.conf sheet left out."""
    import subprocess
    pages = [p for p in subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                       check=True).stdout.split("\f") if p.strip() and "How Excel finds Python" not in p]
    return len(pages), sum(text in p.replace(" ", "") for p in pages)


def test_every_printed_page_of_a_sample_template_says_sample_and_none_once_refreshed_on_real_data(
        tmp_path, workbook_inputs, monkeypatch, libreoffice):
    """Seen: a sample template printed the banner on each sheet's first page only (a page header, which the Excel
    refresh cannot take off again on real data, was left out). The rows printed on every page run from row 1 (the
    banner) to the header row: every page of the sample template says so; refreshed on real data, whose refresh
    empties row 1 (both writers: tests/test_xlwings_remote.py), no page does; back on the sample, every page again.
    No page header is involved (the template has none)."""
    from openpyxl import load_workbook

    from xladdin.workbook.template import refresh_workbook
    banner = _layout_meta()["sample_banner_zh"][:14]
    out = workbook_inputs.build_template(tmp_path / "weekly.xlsm")
    wb = load_workbook(out, keep_vba=True)
    assert {ws.title: ws.print_title_rows for ws in wb.worksheets if ws.print_title_rows} == {
        ws.title: "$1:$6" for ws in wb.worksheets[1:] if ws.sheet_state == "visible" and ws.title != "xlwings.conf"}
    assert set(_page_headers(out).values()) == {""}
    pages, marked = _pages_with(libreoffice.convert(out, "pdf", tmp_path / "sample")[0], banner)
    assert pages > 20 and marked == pages
    workbook_inputs.patch_compute(monkeypatch, _as_real(workbook_inputs.weekly()))
    refresh_workbook(out, market=object())
    pages, marked = _pages_with(libreoffice.convert(out, "pdf", tmp_path / "real")[0], banner)
    assert pages > 20 and marked == 0
    workbook_inputs.patch_compute(monkeypatch, workbook_inputs.weekly())
    refresh_workbook(out, market=object())
    pages, marked = _pages_with(libreoffice.convert(out, "pdf", tmp_path / "again")[0], banner)
    assert marked == pages


def test_the_weekly_result_says_where_its_tables_come_from(sample_market, real_market):
    from xladdin.workbook.weekly import compute_weekly
    assert compute_weekly(sample_market.subset("2025-06-01", None)).sample is True
    assert compute_weekly(real_market).sample is False


# ----------------------------------------------------------------------------- the mail
def _mail(report, tmp_path, subject=None):
    import email
    from email import policy

    from xladdin.ops.cli import main
    eml = tmp_path / f"{report.stem}.eml"
    args = ["send", str(report), "--to", "pm@example.com", "--from", "bot@example.com", "--dry-run", "--eml", str(eml)]
    assert main(args + (["--subject", subject] if subject else [])) == 0
    m = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    return m["Subject"], m.get_body(("plain",)).get_content(), m.get_body(("html",)).get_content()


def test_a_mail_of_the_sample_says_so_in_its_subject_and_first_line_and_real_never(tmp_path, workbook_inputs,
                                                                                    monkeypatch, isolated_mail_env):
    from xladdin.workbook.report import build_report
    workbook_inputs.patch_compute(monkeypatch, workbook_inputs.weekly())
    build_report(tmp_path / "sample.xlsx", None)
    workbook_inputs.patch_compute(monkeypatch, _as_real(workbook_inputs.weekly()))
    build_report(tmp_path / "real.xlsx", None)
    tag = "[示例数据 SAMPLE]"
    subject, text, html = _mail(tmp_path / "sample.xlsx", tmp_path)
    assert subject == f"{tag} xladdin 周报 2026-10-30"
    first = text.splitlines()[0]
    assert first.startswith(tag) and "合成样例数据" in first and "not market data" in first
    assert html.index(tag) < html.index("<h2")  # the first thing the HTML body shows
    subject, *_ = _mail(tmp_path / "sample.xlsx", tmp_path, subject="周报 {asof}")  # a configured subject too
    assert subject == f"{tag} 周报 2026-10-30"
    subject, text, html = _mail(tmp_path / "real.xlsx", tmp_path)
    assert subject == "xladdin 周报 2026-10-30"
    assert "示例数据" not in text + html and "SAMPLE" not in text + html


def test_a_summary_written_before_the_sample_row_still_reads():
    from xladdin.workbook.summary import summary_from_rows
    s = summary_from_rows([("key", "value"), ("format", "xladdin-summary/1"), ("asof", "2026-01-30")])
    assert s.sample is False and s.asof.isoformat() == "2026-01-30"
    s = summary_from_rows([("format", "xladdin-summary/2"), ("asof", "2026-01-30"), ("sample", True)])
    assert s.sample is True


# ----------------------------------------------------------------------------- every command's output
import json  # noqa: E402

import pytest  # noqa: E402

#: every command that reads market data: (argv after the data folder is known, has --json)
COMMANDS = {
    "validate": (lambda d, o: ["validate", str(d)], False),
    "study": (lambda d, o: ["study", "correlation", "--data", str(d)], True),
    "style": (lambda d, o: ["style", "--data", str(d), "--pair", "size"], True),
    "rotation": (lambda d, o: ["backtest", "rotation", "--data", str(d)], True),
    "northbound": (lambda d, o: ["backtest", "northbound", "--data", str(d)], True),
    "dashboard": (lambda d, o: ["dashboard", "--data", str(d)], True),
    "crowding": (lambda d, o: ["crowding", "--data", str(d)], True),
    "template": (lambda d, o: ["template", str(o / "wb.xlsm"), "--data", str(d), "--no-progress"], False),
    "report": (lambda d, o: ["report", str(o / "r.xlsx"), "--data", str(d), "--no-progress"], False),
    "weekly": (lambda d, o: ["weekly", "--out", str(o / "w"), "--data", str(d), "--no-progress"], False),
}


@pytest.fixture(scope="module")
def data_folders(sample_market, tmp_path_factory):
    """The sample's last years in a folder (as `xladdin sample` leaves it) and the same tables as real data."""
    cut = sample_market.subset("2023-06-01", None)
    base = tmp_path_factory.mktemp("cli_data")
    write_market(cut, base / "sample")
    write_market(Market(dict(cut.tables), source="memory"), base / "real")
    return {"sample": base / "sample", "real": base / "real"}


def _run(capsys, argv):
    from xladdin.ops.cli import main
    rc = main(argv)
    out = capsys.readouterr()
    assert rc == 0, out.err[-2000:]
    return out.out


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_says_sample_first_and_real_data_never(command, data_folders, tmp_path, capsys):
    from xladdin.ops.commands._common import SAMPLE_NOTE
    make, has_json = COMMANDS[command]
    for kind, folder in data_folders.items():
        out_dir = tmp_path / kind
        out_dir.mkdir()
        text = _run(capsys, make(folder, out_dir))
        if kind == "sample":
            assert text.splitlines()[0] == SAMPLE_NOTE, text[:300]
        else:
            assert SAMPLE_NOTE not in text and "示例数据" not in text, text[:300]
        if has_json:
            data = json.loads(_run(capsys, make(folder, out_dir) + ["--json"]))
            objects = data if isinstance(data, list) else [data]
            assert objects and all(o["sample"] is (kind == "sample") for o in objects), command
    if command == "template":  # the headless refresh of that workbook says the same
        for kind, folder in data_folders.items():
            text = _run(capsys, ["refresh", str(tmp_path / kind / "wb.xlsm"), "--data", str(folder), "--no-progress"])
            assert (text.splitlines()[0] == SAMPLE_NOTE) is (kind == "sample")


@pytest.mark.slow
def test_send_and_sample_commands_say_sample(data_folders, tmp_path, capsys, isolated_mail_env):
    from xladdin.ops.commands._common import SAMPLE_NOTE
    text = _run(capsys, ["sample", str(tmp_path / "s")])
    assert text.splitlines()[0] == SAMPLE_NOTE
    for kind, folder in data_folders.items():
        _run(capsys, ["report", str(tmp_path / f"{kind}.xlsx"), "--data", str(folder), "--no-progress"])
        text = _run(capsys, ["send", str(tmp_path / f"{kind}.xlsx"), "--to", "a@example.com", "--from",
                             "b@example.com", "--dry-run"])
        assert (text.splitlines()[0] == SAMPLE_NOTE) is (kind == "sample"), text
        assert ("[示例数据 SAMPLE]" in text) is (kind == "sample")


def test_no_code_decides_sample_from_the_source_text():
    """Market.sample is the one owner: nothing compares a market's source with "sample"."""
    import ast
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    found = []
    for path in [*root.joinpath("xladdin").rglob("*.py"), *root.joinpath("udfs").glob("*.py"),
                 *root.joinpath("macros").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value == "sample"
                                                     for c in [node.left, *node.comparators]):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []


def test_a_workbook_carrying_the_sample_reads_back_as_the_sample(tiny_short_dir, tmp_path, workbook_inputs,
                                                                 monkeypatch):
    """template --embed-data of the sample: a hidden SAMPLE_DATA sheet goes with the tables, and the tables read
    back (the headless refresh, the button, Lite) are the sample; carried real tables are not."""
    import dataclasses

    from openpyxl import load_workbook

    from xladdin.workbook.embedded import read_tables
    from xladdin.workbook.template import build_template
    real = load_market(tiny_short_dir)
    workbook_inputs.patch_compute(monkeypatch)
    for market, name in ((dataclasses.replace(real, sample=True), "s.xlsm"), (real, "r.xlsm")):
        wb = load_workbook(build_template(tmp_path / name, market, embed=True), keep_vba=True)
        assert ("SAMPLE_DATA" in wb.sheetnames) is market.sample
        assert read_tables(wb).sample is market.sample
