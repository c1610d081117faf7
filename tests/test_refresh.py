"""Headless refresh: parameters read from the sheet, VBA byte-identical, atomic on failure.

The Excel macro path (xladdin_macros.refresh.refresh_book) runs on xlwings' engines in tests/test_xlwings_remote.py."""
from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import xladdin.workbook.weekly as W
from xladdin.ops.cli import main as cli
from xladdin.workbook.template import RefreshError, refresh_workbook


@pytest.fixture(scope="module")
def template(tmp_path_factory, workbook_inputs):
    return workbook_inputs.build_template(tmp_path_factory.mktemp("rf") / "weekly_rf.xlsm")


@pytest.fixture
def wbfile(template, tmp_path):
    p = tmp_path / template.name
    p.write_bytes(template.read_bytes())
    return p


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _part(p: Path, name: str) -> bytes:
    with zipfile.ZipFile(p) as z:
        return z.read(name)


def _set_params(path: Path, **values):
    wb = load_workbook(path, keep_vba=True)
    ws = wb["参数"] if "参数" in wb.sheetnames else wb["Parameters"]
    for row in ws.iter_rows(min_row=6, min_col=2, max_col=3):
        if row[0].value in values:
            row[1].value = values[row[0].value]
    wb.save(path)


@pytest.mark.slow
def test_refresh_reads_the_parameters_sheet_and_keeps_vba(wbfile, monkeypatch, workbook_inputs):
    vba, vml = _part(wbfile, "xl/vbaProject.bin"), _part(wbfile, "xl/drawings/vmlDrawing1.vml")
    _set_params(wbfile, corr_threshold=0.65, top_n=4, language="en")
    calls = []
    workbook_inputs.patch_compute(monkeypatch, result=workbook_inputs.weekly(), calls=calls)
    refresh_workbook(wbfile, market=object())
    p = calls[0]
    assert p.corr_threshold == 0.65 and p.top_n == 4 and p.language == "en"
    assert _part(wbfile, "xl/vbaProject.bin") == vba
    assert _part(wbfile, "xl/drawings/vmlDrawing1.vml") == vml
    wb = load_workbook(wbfile, keep_vba=True)
    assert wb.sheetnames[:2] == ["Cover", "Industry flows"] and wb.sheetnames[-1] == "xlwings.conf"
    assert wb["Industry flows"]["D6"].value == "Net flow (100m yuan)"
    assert wb["Cover"].legacy_drawing is not None
    # parameters written back unchanged (the refresh does not reset them)
    params = {r[0]: r[1] for r in wb["Parameters"].iter_rows(min_row=6, min_col=2, max_col=3, values_only=True) if r[0]}
    assert params["top_n"] == 4
    assert not [f for f in wbfile.parent.iterdir() if ".tmp." in f.name]
    # the --asof override is passed on
    refresh_workbook(wbfile, market=object(), asof="2026-06-30")
    assert calls[-1].asof == pd.Timestamp("2026-06-30")


def test_failing_table_leaves_the_workbook_byte_identical(wbfile, monkeypatch):
    before = _digest(wbfile)

    def boom(ctx):
        raise ZeroDivisionError("injected failure")

    monkeypatch.setattr(W, "STEPS", [dataclasses.replace(s, run=boom) for s in W.STEPS if s.name == "correlation"])
    from xladdin.data.sample import sample_market
    with pytest.raises(RefreshError) as err:
        refresh_workbook(wbfile, market=sample_market())
    msg = str(err.value)
    assert "computing table correlation" in msg and "injected failure" in msg and "not changed" in msg
    assert _digest(wbfile) == before
    assert not [f for f in wbfile.parent.iterdir() if ".tmp." in f.name]


def test_failure_while_writing_leaves_the_workbook_intact(wbfile, monkeypatch, workbook_inputs):
    before = _digest(wbfile)
    workbook_inputs.patch_compute(monkeypatch)
    from xladdin.workbook.openpyxl_writer import OpenpyxlWriter

    def bad_chart(self, ws, plan):
        raise RuntimeError("chart writer broke")

    monkeypatch.setattr(OpenpyxlWriter, "chart", bad_chart)
    with pytest.raises(RefreshError, match="writing sheets.*chart writer broke"):
        refresh_workbook(wbfile, market=object())
    assert _digest(wbfile) == before


def test_bad_parameter_names_the_key(wbfile, monkeypatch, workbook_inputs):
    _set_params(wbfile, corr_window="abc")
    before = _digest(wbfile)
    workbook_inputs.patch_compute(monkeypatch)
    with pytest.raises(RefreshError, match="reading parameters.*corr_window.*integer"):
        refresh_workbook(wbfile, market=object())
    assert _digest(wbfile) == before


def test_cli_refresh_errors_are_one_line(tmp_path, capsys):
    assert cli(["refresh", str(tmp_path / "missing.xlsm"), "--no-progress"]) == 1
    assert "not found" in capsys.readouterr().err


def test_cli_refresh_success(wbfile, monkeypatch, capsys, workbook_inputs):
    workbook_inputs.patch_compute(monkeypatch)
    vba = _part(wbfile, "xl/vbaProject.bin")
    assert cli(["refresh", str(wbfile), "--no-progress"]) == 0
    assert "refreshed" in capsys.readouterr().out
    assert _part(wbfile, "xl/vbaProject.bin") == vba


def test_lite_refuses_a_data_folder():
    """xlwings Lite has no local files: a data_dir is refused with what to do instead."""
    import xladdin_macros.refresh as R
    from xladdin.workbook.params import default_params
    with pytest.raises(ValueError, match="xlwings Lite cannot read local folders"):
        R.load_market_for(default_params().replace(data_dir="C:/data"), lite=True)
