"""Hostile inputs, round 3 (second half): one real command per case, on real files in a temporary folder.

Each case is a construction of its own (not a copy of issue #23's cases) of one rule:

* **no silent change to the report** -- what the totals leave out is named on the cover and in the mail with
  what it weighs (a NAV missing on days of the as-of week, a stock ETF without a tracked index, an index
  without weights); everything else that would change the figures without a word is refused naming the file,
  row or cell: a table in two files, a column twice, a value outside its physical range (even when the sums
  are right), dates before 1990 or past what pandas holds, a split ratio without the share jump, a workbook
  sheet that is hidden, merged or holds a formula without a saved value;
* **parameters** -- read by the data layer's date rules, one range per setting on the sheet, ``--set``,
  ``--params``, the flags; a relative ``data_dir`` from the workbook's (or parameters file's) folder;
* **never overwrite the user's work** -- ``xladdin refresh`` keeps the user's cells, formulas and comments, and
  refuses (writing nothing) when the user's content is where a table must grow.

Every case asserts the exit code, the message and that the input files are byte-identical afterwards.
The first half (outputs over inputs, atomic writes, locks, bounded work, mail): tests/test_hostile_corpus.py.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment

from xladdin.ops.cli import main

#: the as-of date of the cases (the real data's industry closes end on it) and the report's name
ASOF = "2025-12-31"
REPORT = f"xladdin_weekly_{ASOF}.xlsx"
#: a week whose industry flows the real data computes (its index weights are current until 2024-12-08), its
#: last three trading days and the report's name
FLOW_ASOF = "2024-11-29"
LAST3 = ("2024-11-27", "2024-11-28", "2024-11-29")
FLOW_REPORT = f"xladdin_weekly_{FLOW_ASOF}.xlsx"


# ---------------------------------------------------------------- helpers

def digest(*paths: Path) -> dict[str, str]:
    """SHA-256 of every file under ``paths`` (files or folders)."""
    out = {}
    for p in paths:
        for f in [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file()):
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def run(capsys, *argv) -> tuple[int, str, str]:
    """``xladdin ARGV`` in this process: (exit code, stdout, stderr); argparse's exit is an exit code too."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def clean(text: str) -> None:
    for bad in ("Traceback", "Exception ignored", "OverflowError", "OutOfBoundsDatetime"):
        assert bad not in text, text


@pytest.fixture
def data(real_csv_copy) -> Path:
    """A copy of the real canonical tables (CSV) that a case edits. (tests/conftest.py)"""
    return real_csv_copy


def edit_csv(folder: Path, table: str, change) -> pd.DataFrame:
    """Read ``table``.csv as text, let ``change`` edit the frame, write it back; returns the frame."""
    df = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    df = change(df) if change is not None else df
    df.to_csv(folder / f"{table}.csv", index=False)
    return df


def validate(capsys, folder: Path) -> tuple[int, str]:
    before = digest(folder)
    rc, out, err = run(capsys, "validate", folder)
    assert digest(folder) == before
    clean(out + err)
    return rc, out + err


# ================================================================ no silent change to the report

def test_the_week_s_left_out_flows_are_on_the_cover_and_in_the_mail(data, tmp_path, capsys, isolated_mail_env):
    """510310.SH's NAV blank on the as-of week's last three days; 159915.SZ's tracked index blank. The report's
    cover and the mail say which ETFs, how many days, and what they weigh (derived here from the file's rows)."""
    def blank_navs(df):
        df.loc[(df["etf"] == "510310.SH") & df["date"].isin(LAST3), "nav"] = ""
        return df
    daily = edit_csv(data, "etf_daily", blank_navs)
    edit_csv(data, "etf_info", lambda df: df.assign(tracked_index=np.where(df["etf"] == "159915.SZ", "",
                                                                          df["tracked_index"])))
    rows = daily[daily["etf"] == "510310.SH"].reset_index(drop=True)
    first = int(rows.index[rows["date"] == LAST3[0]][0])
    last_nav = float(rows.at[first - 1, "nav"])
    shares = rows["shares"].astype(float)
    left = sum((shares[first + k] - shares[first + k - 1]) * last_nav for k in range(3)) / 1e8
    out_dir = tmp_path / "out"
    before = digest(data)
    rc, out, err = run(capsys, "weekly", "--out", out_dir, "--data", data, "--asof", FLOW_ASOF, "--no-progress")
    assert rc == 0, err
    assert digest(data) == before
    cover = load_workbook(out_dir / FLOW_REPORT, read_only=True)["封面"]
    texts = [str(v) for row in cover.iter_rows(values_only=True) for v in row if v is not None]
    cover_text = "\n".join(texts)
    nav_line = f"1只ETF本周净值缺失3天,未计入: 510310.SH(约{left:,.2f}亿元)"
    assert nav_line in texts, cover_text
    index_line = next(t for t in texts if t.startswith("1只股票ETF无跟踪指数,未计入: 159915.SZ(本周资金流"))
    eml = tmp_path / "mail.eml"
    rc, out, err = run(capsys, "send", out_dir / FLOW_REPORT, "--to", "pm@example.com", "--from", "bot@example.com",
                       "--dry-run", "--eml", eml)
    assert rc == 0, err
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert nav_line in body and index_line in body, body  # the mail says what is left out and what it weighs


def test_an_unknown_tracked_index_is_named_with_its_flow(data, tmp_path, capsys):
    """A tracked index no table knows (a typo of the CSI 300's code): its ETF is named on the cover as not
    penetrated, with its week's flow, not silently dropped from the industry total."""
    edit_csv(data, "etf_info", lambda df: df.assign(tracked_index=np.where(df["etf"] == "510330.SH", "000030.SH",
                                                                          df["tracked_index"])))
    rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--data", data, "--asof", FLOW_ASOF,
                       "--no-progress")
    assert rc == 0, err
    cover = load_workbook(tmp_path / "out" / FLOW_REPORT, read_only=True)["封面"]
    rows = [r for r in cover.iter_rows(values_only=True) if any(v == "未穿透的股票ETF" for v in r)]
    assert rows and any("510330.SH" in str(v) for v in rows[0]) and any("000030.SH" in str(v) for v in rows[0]), rows


def test_a_stale_parquet_beside_the_current_csv_is_refused_naming_both(data, capsys):
    old = pd.read_csv(data / "index_daily.csv")
    old[old["date"] < "2020-01-01"].to_parquet(data / "index_daily.parquet", index=False)
    rc, out = validate(capsys, data)
    assert rc == 1 and "table index_daily is in 2 files (index_daily.parquet, index_daily.csv)" in out, out
    before = digest(data)
    rc, out, err = run(capsys, "sample", data, "--format", "parquet")  # nor does a writer leave one
    assert rc == 1 and "would leave table" in err and digest(data) == before


def test_a_column_twice_is_refused(data, capsys):
    text = (data / "index_weights.csv").read_text(encoding="utf-8").splitlines()
    (data / "index_weights.csv").write_text("\n".join([text[0] + ",weight"] + [r + ",0" for r in text[1:]]) + "\n",
                                             encoding="utf-8")
    rc, out = validate(capsys, data)
    assert rc == 1 and "index_weights.csv: two columns named `weight`" in out, out


def test_a_negative_weight_with_the_right_sums_is_refused(data, capsys):
    """Two constituents of one index on one date: -0.02 and +0.02 moved between them, the sum stays 1."""
    def shift(df):
        w = df["weight"].astype(float)
        w.iloc[0] = -0.02
        w.iloc[1] += df["weight"].astype(float).iloc[0] + 0.02
        return df.assign(weight=w.map(repr))
    df = edit_csv(data, "index_weights", shift)
    assert (df["date"].iloc[0], df["index"].iloc[0]) == (df["date"].iloc[1], df["index"].iloc[1])
    rc, out = validate(capsys, data)
    assert rc == 1 and "index_weights.csv row 2 column `weight`: -0.02 is negative; `weight` is a fraction (0 to 1)" \
        in out, out
    assert "sum to" not in out


@pytest.mark.parametrize("table, text, message", [
    ("margin_daily", "date,stock,financing_balance,financing_buy,financing_repay\n"
                     "2025-12-31,600000.SH,-5000000,100,100\n",
     "margin_daily.csv row 2 column `financing_balance`: -5e+06 is negative; `financing_balance` is an amount in yuan"),
    ("northbound_holdings", "date,stock,shares_held,held_value,float_ratio\n2025-12-31,600000.SH,100,1000,3.5\n",
     "northbound_holdings.csv row 2 column `float_ratio`: 3.5 is above 1; `float_ratio` is a fraction (0 to 1)"),
    ("stock_daily", "date,stock,close,amount,float_mcap\n2025-12-31,600000.SH,1e-280,100,1e9\n",
     "stock_daily.csv row 2 column `close`: 1e-280 is below 0.0001; `close` is a price, NAV or index level"),
    ("stock_daily", "date,stock,close,amount,float_mcap\n2025-12-31,600000.SH,10.5,-1,1e9\n",
     "stock_daily.csv row 2 column `amount`: -1 is negative"),
], ids=["negative-financing", "float-ratio-3.5", "close-1e-280", "negative-turnover"])
def test_a_value_outside_its_physical_range_is_refused(data, capsys, table, text, message):
    (data / f"{table}.csv").write_text(text, encoding="utf-8")
    rc, out = validate(capsys, data)
    assert rc == 1 and message in out, out


def test_dates_before_1990_and_past_pandas_range_are_refused(data, real_data_dir, capsys):
    def early(df):
        df.loc[df.index[:3], "date"] = df.loc[df.index[:3], "date"].str.replace("2010-", "1989-", regex=False)
        return df
    edit_csv(data, "index_daily", early)
    rc, out = validate(capsys, data)
    assert rc == 1 and "index_daily.csv row 2 column `date`:" in out and "is before 1990-01-01" in out, out
    shutil.copyfile(real_data_dir / "index_daily.csv", data / "index_daily.csv")
    edit_csv(data, "industry_daily", lambda df: df.assign(date=df["date"].str.replace("2015-", "2315-", regex=False)))
    rc, out = validate(capsys, data)
    assert rc == 1 and "`2315-01-05` is outside the dates of market data" in out and "1686" not in out, out


def test_an_adjustment_factor_as_split_ratio_is_refused_naming_the_row(data, capsys):
    def factor(df):
        df.loc[df["etf"] == "159919.SZ", "split_ratio"] = "1.05"
        return df
    df = edit_csv(data, "etf_daily", factor)
    line = int(np.flatnonzero((df["etf"] == "159919.SZ").to_numpy())[1]) + 2  # its first row has no row before
    rc, out = validate(capsys, data)
    assert rc == 1 and f"etf_daily.csv row {line}: split_ratio 1.05 of 159919.SZ on" in out, out
    assert "not a price adjustment factor" in out and "more split ratios without a matching share change" in out


def test_a_huge_split_ratio_on_an_ordinary_day_is_refused(data, capsys):
    def huge(df):
        at = df.index[(df["etf"] == "510300.SH") & (df["date"] == "2024-03-13")][0]
        df.loc[at, "split_ratio"] = "1000000"
        return df
    df = edit_csv(data, "etf_daily", huge)
    line = int(df.index[(df["etf"] == "510300.SH") & (df["date"] == "2024-03-13")][0]) + 2
    rc, out = validate(capsys, data)
    assert rc == 1 and f"etf_daily.csv row {line}: split_ratio 1e+06 of 510300.SH on 2024-03-13" in out, out


def _etf_info_book(data: Path, edit) -> None:
    """etf_info.xlsx as Excel would hold it (the CSV's rows on a sheet), edited; the CSV removed."""
    info = pd.read_csv(data / "etf_info.csv", dtype=str)
    wb = Workbook()
    ws = wb.active
    ws.title = "etf_info"
    ws.append(list(info.columns))
    for r in info.itertuples(index=False):
        ws.append(list(r))
    edit(wb, ws)
    wb.save(data / "etf_info.xlsx")
    (data / "etf_info.csv").unlink()


@pytest.mark.parametrize("edit, message", [
    (lambda wb, ws: ws.__setitem__("C3", '=LEFT("000300.SH",9)'),
     "etf_info.xlsx sheet `etf_info`: cell(s) C3 hold a formula without a saved value"),
    (lambda wb, ws: (ws.__setitem__("C4", None), ws.merge_cells("C3:C4")),
     "etf_info.xlsx sheet `etf_info`: merged cells C3:C4"),
    (lambda wb, ws: (setattr(ws, "sheet_state", "hidden"), wb.copy_worksheet(ws).__setattr__("title", "etf_info 2"),
                     setattr(wb, "active", 1)),
     "etf_info.xlsx: sheet `etf_info` is hidden"),
], ids=["formula-without-value", "merged", "hidden-first-sheet"])
def test_an_etf_info_workbook_that_would_read_blanks_is_refused(data, capsys, edit, message):
    _etf_info_book(data, edit)
    rc, out = validate(capsys, data)
    assert rc == 1 and message in out, out


# ================================================================ parameters

@pytest.mark.parametrize("setting, message", [
    ("asof=05/06/2026", "has day and month in an unknown order"),
    ("asof=2026-10", "is a month, not a day"),
    ("hp_lambda=inf", "must be a finite number from 1e-06 to 1e+10"),
    ("corr_window=-inf", "must be a finite number from 3 to 1000"),
    ("groups=1", "must be >= 2"),
], ids=["asof-dd-mm", "asof-month", "lambda-inf", "window-minus-inf", "one-group"])
def test_weekly_set_is_read_by_the_rules_of_the_data_and_the_ranges(data, tmp_path, capsys, setting, message):
    before = digest(data)
    rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--data", data, "--no-progress", "--set", setting)
    assert rc == 1 and message in err and f"parameter `{setting.split('=')[0]}`" in err, err
    assert digest(data) == before and not (tmp_path / "out").exists()
    clean(err)


def test_a_params_file_and_a_flag_share_the_range(data, tmp_path, capsys):
    params = tmp_path / "params.toml"
    params.write_text("hp_lambda = 1e24\n", encoding="utf-8")
    before = digest(data, params)
    rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--data", data, "--params", params,
                       "--no-progress")
    assert rc == 1 and "parameter `hp_lambda` (parameters file params.toml): must be <= 1e+10" in err, err
    rc, out, err = run(capsys, "style", "--data", data, "--hp-lambda", "1e24")
    assert rc == 2 and "argument --hp-lambda: parameter `hp_lambda` (--hp-lambda): must be <= 1e+10" in err, err
    assert digest(data, params) == before


def test_a_relative_data_dir_is_read_from_the_params_file_s_folder(data, tmp_path, capsys, monkeypatch):
    """The job run from another folder: data_dir = "data" names the folder beside the parameters file."""
    params = tmp_path / "params.toml"
    params.write_text(f'data_dir = "data"\nasof = {ASOF}\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    before = digest(data, params)
    rc, out, err = run(capsys, "weekly", "--out", tmp_path / "out", "--params", params, "--no-progress")
    assert rc == 0, err
    assert digest(data, params) == before and (tmp_path / "out" / REPORT).is_file()
    assert not list(elsewhere.iterdir())


# ================================================================ the workbook: refresh keeps the user's work

@pytest.fixture(scope="module")
def book(real_data_dir, tmp_path_factory) -> Path:
    """The weekly macro workbook on the real data, built once (cases copy it)."""
    out = tmp_path_factory.mktemp("tpl") / "desk_book.xlsm"
    assert main(["template", str(out), "--data", str(real_data_dir), "--asof", ASOF, "--no-progress"]) == 0
    return out


def _set(ws, key: str, value) -> None:
    for row in ws.iter_rows(min_col=2, max_col=3):
        if row[0].value == key:
            row[1].value = value
            return
    raise AssertionError(key)


def test_refresh_keeps_the_user_s_notes_and_reads_data_dir_from_the_workbook_s_folder(book, data, tmp_path, capsys,
                                                                                       monkeypatch):
    """The user's own cells beside a table and a comment; data_dir = "data" (beside the workbook), the command run
    from another folder; afterwards they are all there and the tables hold the data folder's week."""
    desk = tmp_path / "desk"
    desk.mkdir()
    shutil.copytree(data, desk / "data")
    target = desk / book.name
    shutil.copyfile(book, target)
    wb = load_workbook(target, keep_vba=True)
    ws = wb["行业资金流"]
    ws["P5"] = "我的备注: 周一复核"
    ws["P6"] = "=SUM(D6:D8)"
    ws["P7"].comment = Comment("电子行业需要单独看", "analyst")
    _set(wb["参数"], "data_dir", "data")
    wb.save(target)
    elsewhere = tmp_path / "elsewhere"  # no `data` here: read from here, the refresh would fail
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    before = digest(desk / "data")
    rc, out, err = run(capsys, "refresh", target, "--no-progress")
    assert rc == 0, err
    assert digest(desk / "data") == before
    wb = load_workbook(target, keep_vba=True)
    ws = wb["行业资金流"]
    assert (ws["P5"].value, ws["P6"].value, ws["P7"].comment.text) == ("我的备注: 周一复核", "=SUM(D6:D8)", "电子行业需要单独看")
    params = {r[0]: r[1] for r in wb["参数"].iter_rows(min_col=2, max_col=3, values_only=True) if r[0]}
    assert params["data_dir"] == "data"  # written back as the user wrote it: the folder may move with the workbook


def test_refresh_refuses_when_the_user_s_content_is_where_a_table_grows(book, data, tmp_path, capsys):
    """The industry table two rows shorter than this week's (as a refresh of a week with fewer industries left
    it), and the user's note in the row right below it: this week's table grows into the note. The refusal
    names the cell, and the workbook is byte-identical."""
    target = tmp_path / book.name
    shutil.copyfile(book, target)
    wb = load_workbook(target, keep_vba=True)
    ws = wb["行业资金流"]
    tab = ws.tables["tblIndustryFlow"]
    first, end = tab.ref.split(":")
    last_col = end.rstrip("0123456789")
    last = int(end[len(last_col):])
    tab.ref = f"{first}:{last_col}{last - 2}"
    if tab.autoFilter is not None:
        tab.autoFilter.ref = tab.ref
    for r in (last - 1, last):  # the freed rows are empty ...
        for c in range(ws[first].column, ws[f"{last_col}1"].column + 1):
            ws.cell(r, c).value = None
    ws.cell(last - 1, ws[first].column).value = "我的备注"  # ... but for the user's note
    wb.save(target)
    before = digest(target, data)
    rc, out, err = run(capsys, "refresh", target, "--data", data, "--asof", ASOF, "--no-progress")
    assert rc == 1 and "checking the sheets against the layout" in err and "holds '我的备注'" in err, err
    assert "the workbook was not changed" in err and digest(target, data) == before
    clean(err)



@pytest.mark.parametrize("key, value, message", [
    ("hp_lambda", 1e24, "must be <= 1e+10, got 1e+24"),
    ("hp_lambda", "inf", "must be a finite number from 1e-06 to 1e+10"),
    ("asof", "05/06/2026", "has day and month in an unknown order"),
    ("asof", "2026-10", "is a month, not a day"),
], ids=["lambda-1e24", "lambda-inf-text", "asof-dd-mm", "asof-month"])
def test_a_sheet_parameter_out_of_its_rules_is_one_sentence_and_the_workbook_unchanged(book, data, tmp_path, capsys,
                                                                                   key, value, message):
    """The parameters sheet has the ranges and date rules of --set; the refusal names the parameter and the sheet
    in the user's words (no Python class name), and the workbook is byte-identical."""
    target = tmp_path / book.name
    shutil.copyfile(book, target)
    wb = load_workbook(target, keep_vba=True)
    _set(wb["参数"], key, value)
    wb.save(target)
    before = digest(target, data)
    rc, out, err = run(capsys, "refresh", target, "--data", data, "--no-progress")
    assert rc == 1 and f"step `reading parameters` ({target}): parameter `{key}` (sheet 参数): " in err, err
    assert message in err and "the workbook was not changed" in err and "Error" not in err, err
    assert digest(target, data) == before
