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
    result.sample = False
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


def test_the_weekly_result_says_where_its_tables_come_from(sample_market, real_market):
    from xladdin.workbook.weekly import compute_weekly
    assert compute_weekly(sample_market.subset("2025-06-01", None)).sample is True
    assert compute_weekly(real_market).sample is False
