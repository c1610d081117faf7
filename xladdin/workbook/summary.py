"""The weekly summary carried in the report mail: model, plain-text and HTML rendering, sheet storage.

The report writer stores a :class:`WeeklySummary` in a sheet named ``_summary`` of the report
workbook (two columns, ``key`` / ``value``; :func:`summary_to_rows`, :func:`write_summary_sheet`);
``xladdin send`` reads it back (:func:`summary_from_report`) to write the mail body, so the mail
never shows a number the workbook does not contain.

Row format of the ``_summary`` sheet (one row per item, order kept)::

    key                 value
    format              xladdin-summary/2
    asof                2026-01-30
    sample              TRUE          (only for the embedded sample: the mail's subject and first line say so)
    language            en            (the report's language, the mail's too; no row: zh)
    headline            规模信号切换为大盘（M5）
    flows_known         TRUE          (the week's flows were computed: an empty list means none)
    inflow:电子          35.2          (net flow > 0, 亿元)
    outflow:银行         -12.7         (net flow < 0, 亿元)
    pick:512480.SH      半导体ETF
    extra:样本ETF数       64
    extra:策略年化收益     0.1418        0.00%   (a third column: the number format the mail shows it in)

The headlines, flows and picks are what the methods produce (style signals M5/M6, industry flows
M7, strategy picks M10/M11, the M13 dashboard digests); this module only carries and renders them.
"""
from __future__ import annotations

import datetime as dt
import html
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xladdin.cells import format_number
from xladdin.conventions import DEFAULT_LANGUAGE, LANGUAGES
from xladdin.data.sources import open_workbook

from .messages import say

#: name of the hidden sheet holding the summary in a report workbook
SUMMARY_SHEET = "_summary"
#: value of the ``format`` row; bumped if the row format ever changes (2: the ``sample`` row; 3: ``language``)
SUMMARY_FORMAT = "xladdin-summary/3"
#: formats :func:`summary_from_rows` reads (a report written before the ``sample`` row reads as real data, one
#: written before the ``language`` row as Chinese)
READ_FORMATS = ("xladdin-summary/1", "xladdin-summary/2", SUMMARY_FORMAT)
_FIELDS = ("asof", "headlines", "inflows", "outflows", "picks", "extra", "flows_known", "sample", "formats",
           "language")
#: the mark of a mail built from the embedded sample: the subject starts with it, so does the body (both languages)
SAMPLE_TAG = "[示例数据 SAMPLE]"


def sample_line(language: str = DEFAULT_LANGUAGE) -> str:
    """The body's first line for the embedded sample (plain text and HTML), in the mail's language."""
    return say("mail.sample_line", language, tag=SAMPLE_TAG)


@dataclass
class WeeklySummary:
    """What the week's mail says, in the words and units of the report.

    Attributes
    ----------
    asof : last trading day covered (any date-like input; stored as ``datetime.date``).
    headlines : one-line signals, e.g. the M5 size signal, M6 growth signal, M13 heat flags.
    inflows : largest net inflows as ``(name, 亿元)`` pairs, largest first; only flows > 0 (an amount
        ≤ 0 is an error). Accepts a list of pairs, a Series (index = name, values = 亿元) or a
        DataFrame (first column name, second amount, or columns ``name`` and ``flow``).
    outflows : largest net outflows, same forms; only flows < 0, amounts keep their sign.
    flows_known : the week's flows were computed; an empty inflow or outflow list then renders as
        "无" (none) instead of leaving the section out.
    picks : latest strategy picks as ``(code, name)`` pairs (a list of pairs, of codes, or a
        DataFrame with ``code`` and ``name`` columns).
    extra : further labelled facts (label -> text or number), rendered as a small table.
    formats : label of ``extra`` -> the Excel number format its value is shown in (``0.00%`` for a return, ``0``
        for a count), as on the sheets; a number without one is shown with four significant digits.
    sample : the report was built from the embedded sample (``Market.sample``): the mail's subject starts
        with :data:`SAMPLE_TAG` and its body with :func:`sample_line`.
    language : the report's language (``zh`` / ``en``): the mail's headings, labels and default subject.

    Notes
    -----
    A missing amount (NaN/None) is kept and rendered as "—"; it is never replaced by 0.
    """

    asof: dt.date
    headlines: list[str] = field(default_factory=list)
    inflows: list[tuple[str, float]] = field(default_factory=list)
    outflows: list[tuple[str, float]] = field(default_factory=list)
    picks: list[tuple[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    flows_known: bool = False
    formats: dict[str, str] = field(default_factory=dict)
    sample: bool = False
    language: str = DEFAULT_LANGUAGE

    def __post_init__(self) -> None:
        self.asof = _to_date(self.asof)
        if isinstance(self.headlines, str):
            self.headlines = [self.headlines]
        self.headlines = [str(h) for h in self.headlines if h is not None and str(h).strip()]
        self.inflows = _flows(self.inflows, "inflows")
        self.outflows = _flows(self.outflows, "outflows")
        for what, flows, ok, word in (("inflows", self.inflows, lambda v: v > 0, "> 0"),
                                      ("outflows", self.outflows, lambda v: v < 0, "< 0")):
            bad = [(n, v) for n, v in flows if not math.isnan(v) and not ok(v)]
            if bad:
                raise ValueError(f"{what} hold only flows {word}: {bad[0][0]} has {bad[0][1]:+.2f} 亿元")
        self.flows_known = bool(self.flows_known) or bool(self.inflows or self.outflows)
        self.picks = _picks(self.picks)
        if not isinstance(self.extra, Mapping):
            raise ValueError(f"summary extra must be a mapping label -> value, got {type(self.extra).__name__}")
        self.extra = {str(k): v for k, v in self.extra.items()}
        self.formats = {str(k): str(v) for k, v in self.formats.items() if v}
        unknown = [k for k in self.formats if k not in self.extra]
        if unknown:
            raise ValueError(f"summary formats name no extra item: {', '.join(unknown)}")
        for fmt in self.formats.values():
            format_number(0.0, fmt)  # a code the mail cannot show is an error here, not a wrong figure later
        self.sample = bool(self.sample)
        if self.language not in LANGUAGES:
            raise ValueError(f"summary language must be one of {', '.join(LANGUAGES)}, got {self.language!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WeeklySummary:
        """Build from a mapping with keys asof, headlines, inflows, outflows, picks, extra."""
        unknown = set(data) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown summary key(s) {', '.join(sorted(unknown))}; known: {', '.join(_FIELDS)}")
        if "asof" not in data:
            raise ValueError("summary needs `asof` (the last date the report covers)")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (asof as ISO string), the inverse of :meth:`from_dict`."""
        return {"asof": self.asof.isoformat(), "headlines": list(self.headlines),
                "inflows": [list(p) for p in self.inflows], "outflows": [list(p) for p in self.outflows],
                "picks": [list(p) for p in self.picks], "extra": dict(self.extra), "flows_known": self.flows_known,
                "sample": self.sample, "formats": dict(self.formats), "language": self.language}


def coerce_summary(summary: WeeklySummary | Mapping[str, Any]) -> WeeklySummary:
    """A :class:`WeeklySummary` from itself or from a dict (:meth:`WeeklySummary.from_dict`)."""
    if isinstance(summary, WeeklySummary):
        return summary
    if isinstance(summary, Mapping):
        return WeeklySummary.from_dict(summary)
    raise TypeError(f"expected WeeklySummary or dict, got {type(summary).__name__}")


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"summary asof `{value}` is not a date; use YYYY-MM-DD")
    return ts.date()


def _amount(value: Any, what: str) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: amount `{value}` is not a number (亿元)") from None


def _flows(value: Any, what: str) -> list[tuple[str, float]]:
    if value is None:
        return []
    if isinstance(value, pd.Series):
        return [(str(k), _amount(v, what)) for k, v in value.items()]
    if isinstance(value, pd.DataFrame):
        if {"name", "flow"} <= set(value.columns):
            cols = ["name", "flow"]
        elif value.shape[1] >= 2:
            cols = list(value.columns[:2])
        else:
            raise ValueError(f"{what}: a DataFrame needs columns `name` and `flow` (亿元)")
        return [(str(n), _amount(v, what)) for n, v in zip(value[cols[0]], value[cols[1]])]
    out = []
    for item in value:
        if isinstance(item, (str, bytes)) or len(item) != 2:
            raise ValueError(f"{what}: each item must be a (name, 亿元) pair, got {item!r}")
        out.append((str(item[0]), _amount(item[1], what)))
    return out


def _picks(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, pd.DataFrame):
        if "code" not in value.columns:
            raise ValueError("picks: a DataFrame needs a `code` column (and optionally `name`)")
        names = value["name"] if "name" in value.columns else [""] * len(value)
        return [(str(c), "" if pd.isna(n) else str(n)) for c, n in zip(value["code"], names)]
    out = []
    for item in value:
        if isinstance(item, str):
            out.append((item, ""))
        elif len(item) == 2:
            out.append((str(item[0]), "" if item[1] is None else str(item[1])))
        else:
            raise ValueError(f"picks: each item must be a code or a (code, name) pair, got {item!r}")
    return out


# ---------------------------------------------------------------- rendering

def format_amount(value: float) -> str:
    """``+12.34`` / ``-5.00`` (亿元, two decimals, explicit sign); "—" for a missing amount."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+,.2f}"


def _fmt_extra(value: Any, fmt: str | None = None) -> str:
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value, fmt)
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:,.4g}"
    if isinstance(value, (dt.date, pd.Timestamp)):
        return _to_date(value).isoformat()
    return str(value)


def _width(text: str) -> int:
    """Display width in a monospace terminal/mail client: CJK wide characters count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(width - _width(text), 0)
    return fill + text if right else text + fill


def _text_table(rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(_pad(c, w, r) for c, w, r in zip(row, widths, right)).rstrip() for row in rows]


def _flow_sections(s: WeeklySummary) -> list[tuple[str, list, str]]:
    """(title, flows, text when empty) of the inflow and outflow sections: inflows > 0, outflows < 0."""
    lang = s.language
    return [(say("mail.inflows", lang), s.inflows, say("mail.inflows.none", lang)),
            (say("mail.outflows", lang), s.outflows, say("mail.outflows.none", lang))]


def render_text(summary: WeeklySummary | Mapping[str, Any], attachment: str | None = None) -> str:
    """Plain-text mail body: headlines, inflow/outflow tables (亿元), picks, extra; CJK-aligned columns.

    Parameters
    ----------
    summary : the week's summary.
    attachment : file name of the attached workbook, named in the closing line.

    Returns
    -------
    str
        Lines joined by ``\\n``; empty sections are left out.
    """
    s = coerce_summary(summary)
    lang = s.language
    lines = ([sample_line(lang), ""] if s.sample else []) + [say("mail.title", lang, asof=s.asof.isoformat()), ""]
    if s.headlines:
        lines += [say("mail.headlines", lang)] + [f"  - {h}" for h in s.headlines] + [""]
    for title, flows, none in _flow_sections(s):
        if flows:
            rows = [(say("mail.name", lang), say("mail.net", lang))] + [(n, format_amount(v)) for n, v in flows]
            lines += [title] + _text_table(rows, (False, True)) + [""]
        elif s.flows_known:
            lines += [title, f"  {none}", ""]
    if s.picks:
        rows = [(say("mail.code", lang), say("mail.name", lang))] + [(c, n) for c, n in s.picks]
        lines += [say("mail.picks", lang)] + _text_table(rows, (False, False)) + [""]
    if s.extra:
        rows = [(k, _fmt_extra(v, s.formats.get(k))) for k, v in s.extra.items()]
        lines += [say("mail.other", lang)] + _text_table(rows, (False, True)) + [""]
    if attachment:
        lines.append(say("mail.attachment", lang, name=attachment).rstrip())
    lines.append(say("mail.footer", lang))
    return "\n".join(lines) + "\n"


_TABLE = "border-collapse:collapse;margin:4px 0 14px 0;font-size:13px"
_TH = "border-bottom:1px solid #999;padding:3px 10px;text-align:left;background:#f2f2f2"
_TD = "border-bottom:1px solid #e5e5e5;padding:3px 10px"
_TDR = _TD + ";text-align:right;font-family:Consolas,Menlo,monospace"
_H3 = "font-size:14px;margin:12px 0 4px 0"
_SAMPLE_P = "background:#c00000;color:#fff;font-weight:bold;padding:6px 10px;margin:0 0 10px 0"


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool],
                colors: Sequence[Sequence[str | None]] | None = None) -> str:
    head = "".join(f'<th style="{_TH}{";text-align:right" if r else ""}">{html.escape(h)}</th>'
                   for h, r in zip(header, right))
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, (cell, r) in enumerate(zip(row, right)):
            style = _TDR if r else _TD
            color = colors[i][j] if colors else None
            if color:
                style += f";color:{color}"
            cells.append(f'<td style="{style}">{html.escape(cell)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _flow_color(value: float) -> str | None:
    # A-share convention: red = up/inflow, green = down/outflow
    if value is None or math.isnan(value) or value == 0:
        return None
    return "#c00000" if value > 0 else "#007a33"


def render_html(summary: WeeklySummary | Mapping[str, Any], attachment: str | None = None) -> str:
    """HTML mail body (inline styles only, every text escaped), same content as :func:`render_text`.

    Parameters
    ----------
    summary : the week's summary.
    attachment : file name of the attached workbook, named in the closing line.

    Returns
    -------
    str
        A complete ``<html>`` document. Amounts use the A-share colour convention (red = inflow,
        green = outflow).
    """
    s = coerce_summary(summary)
    lang = s.language
    esc = html.escape
    name, code = say("mail.name", lang), say("mail.code", lang)
    parts = ['<!DOCTYPE html><html><head><meta charset="utf-8"></head>',
             '<body style="font-family:\'Microsoft YaHei\',\'PingFang SC\',Arial,sans-serif;color:#222">',
             *([f'<p style="{_SAMPLE_P}">{esc(sample_line(lang))}</p>'] if s.sample else []),
             f'<h2 style="font-size:17px;margin:0 0 8px 0">{esc(say("mail.title", lang, asof=s.asof.isoformat()))}</h2>']
    if s.headlines:
        parts.append(f'<h3 style="{_H3}">{esc(say("mail.headlines", lang))}</h3>'
                     '<ul style="margin:0 0 12px 0;padding-left:20px">'
                     + "".join(f"<li>{esc(h)}</li>" for h in s.headlines) + "</ul>")
    for title, flows, none in _flow_sections(s):
        if flows:
            parts.append(f'<h3 style="{_H3}">{esc(title)}</h3>')
            parts.append(_html_table((name, say("mail.net", lang)), [(n, format_amount(v)) for n, v in flows],
                                     (False, True), [(None, _flow_color(v)) for _, v in flows]))
        elif s.flows_known:
            parts.append(f'<h3 style="{_H3}">{esc(title)}</h3><p style="margin:0 0 12px 0">{esc(none)}</p>')
    if s.picks:
        parts.append(f'<h3 style="{_H3}">{esc(say("mail.picks", lang))}</h3>')
        parts.append(_html_table((code, name), s.picks, (False, False)))
    if s.extra:
        parts.append(f'<h3 style="{_H3}">{esc(say("mail.other", lang))}</h3>')
        parts.append(_html_table((say("mail.item", lang), say("mail.value", lang)),
                                 [(k, _fmt_extra(v, s.formats.get(k))) for k, v in s.extra.items()], (False, True)))
    tail = esc(say("mail.attachment", lang, name=attachment)) if attachment else ""
    parts.append(f'<p style="font-size:12px;color:#666">{tail}{esc(say("mail.footer", lang))}</p></body></html>')
    return "\n".join(parts) + "\n"


def sample_subject(subject: str, summary: WeeklySummary | None) -> str:
    """``subject`` starting with :data:`SAMPLE_TAG` when ``summary`` is of the embedded sample, else unchanged."""
    if summary is None or not summary.sample or subject.startswith(SAMPLE_TAG):
        return subject
    return f"{SAMPLE_TAG} {subject}"


def render_missing_text(report_name: str) -> str:
    """Plain-text body for a workbook without a ``_summary`` sheet (no figures are invented)."""
    return (f"xladdin 周报\n\n附件 {report_name} 中没有摘要页（{SUMMARY_SHEET}），因此本邮件不含摘要数字；"
            f"请打开附件查看本周各表。\n"
            f"(The workbook has no `{SUMMARY_SHEET}` sheet, so this mail carries no summary figures; "
            f"see the attached workbook.)\n\n本邮件由 xladdin 生成。\n")


def render_missing_html(report_name: str) -> str:
    """HTML counterpart of :func:`render_missing_text`."""
    esc = html.escape
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
            '<body style="font-family:\'Microsoft YaHei\',\'PingFang SC\',Arial,sans-serif;color:#222">'
            '<h2 style="font-size:17px;margin:0 0 8px 0">xladdin 周报</h2>'
            f"<p>附件 {esc(report_name)} 中没有摘要页（{SUMMARY_SHEET}），因此本邮件不含摘要数字；请打开附件查看本周各表。</p>"
            f'<p style="color:#666">(The workbook has no <code>{SUMMARY_SHEET}</code> sheet, so this mail carries '
            "no summary figures; see the attached workbook.)</p>"
            '<p style="font-size:12px;color:#666">本邮件由 xladdin 生成。</p></body></html>\n')


# ---------------------------------------------------------------- sheet storage

def summary_to_rows(summary: WeeklySummary | Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Key/value rows for the ``_summary`` sheet, header row first (format in the module docstring).

    Returns
    -------
    list of (key, value)
        ``("key", "value")``, ``("format", SUMMARY_FORMAT)``, ``("asof", "YYYY-MM-DD")``, then one row per
        headline, inflow, outflow, pick and extra item. Amounts stay numbers (None for a missing one)
        so the sheet is readable in Excel.
    """
    s = coerce_summary(summary)
    rows: list[tuple[str, Any]] = [("key", "value"), ("format", SUMMARY_FORMAT), ("asof", s.asof.isoformat())]
    if s.sample:
        rows.append(("sample", True))
    if s.language != DEFAULT_LANGUAGE:
        rows.append(("language", s.language))
    rows += [("headline", h) for h in s.headlines]
    if s.flows_known:
        rows.append(("flows_known", True))
    rows += [(f"inflow:{n}", None if math.isnan(v) else v) for n, v in s.inflows]
    rows += [(f"outflow:{n}", None if math.isnan(v) else v) for n, v in s.outflows]
    rows += [(f"pick:{c}", n) for c, n in s.picks]
    for k, v in s.extra.items():
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif isinstance(v, (dt.date, pd.Timestamp)):
            v = _to_date(v).isoformat()
        rows.append((f"extra:{k}", v, s.formats[k]) if k in s.formats else (f"extra:{k}", v))
    return rows


def summary_from_rows(rows: Iterable[Sequence[Any]]) -> WeeklySummary:
    """Inverse of :func:`summary_to_rows`: rows of (key, value[, ...]) as read from the sheet.

    Blank rows and the ``key``/``value`` header are skipped; the third column of an ``extra`` row is its number
    format; further columns are ignored.

    Raises
    ------
    ValueError
        No ``asof`` row, an unknown key, an unsupported ``format``, or a non-numeric amount.
    """
    data: dict[str, Any] = {"headlines": [], "inflows": [], "outflows": [], "picks": [], "extra": {}, "formats": {}}
    for i, row in enumerate(rows, start=1):
        row = list(row) + [None, None, None]
        key, value = row[0], row[1]
        if key is None or (isinstance(key, str) and not key.strip()):
            continue
        key = str(key).strip()
        if key == "key" and value == "value":
            continue
        prefix, sep, rest = key.partition(":")
        if key == "format":
            if value not in READ_FORMATS:
                raise ValueError(f"summary row {i}: format `{value}` is not supported (expected "
                                 f"{' or '.join(READ_FORMATS)})")
        elif key == "asof":
            data["asof"] = value
        elif key in ("flows_known", "sample"):
            data[key] = value in (True, 1, "TRUE", "True", "true", "1")
        elif key == "language":
            data["language"] = str(value).strip()
        elif key == "headline":
            if value is not None:
                data["headlines"].append(str(value))
        elif sep and prefix in ("inflow", "outflow"):
            data[prefix + "s"].append((rest, _amount(value, f"summary row {i} ({key})")))
        elif sep and prefix == "pick":
            data["picks"].append((rest, "" if value is None else str(value)))
        elif sep and prefix == "extra":
            data["extra"][rest] = value
            if isinstance(row[2], str) and row[2]:
                data["formats"][rest] = row[2]
        else:
            raise ValueError(f"summary row {i}: unknown key `{key}` (expected format, asof, sample, language, headline, "
                             "inflow:NAME, outflow:NAME, pick:CODE or extra:LABEL)")
    if "asof" not in data or data["asof"] is None:
        raise ValueError("summary rows have no `asof` row (the last date the report covers)")
    return WeeklySummary(**data)


def write_summary_sheet(workbook: Any, summary: WeeklySummary | Mapping[str, Any],
                        hidden: bool = True) -> Any:
    """Write the summary into sheet ``_summary`` of an openpyxl workbook (replacing an existing one).

    Parameters
    ----------
    workbook : ``openpyxl.Workbook`` (not saved here; the caller saves it).
    summary : the week's summary.
    hidden : hide the sheet (default) so analysts see only the report sheets.

    Returns
    -------
    openpyxl worksheet
    """
    if SUMMARY_SHEET in workbook.sheetnames:
        del workbook[SUMMARY_SHEET]
    ws = workbook.create_sheet(SUMMARY_SHEET)
    for row in summary_to_rows(summary):
        ws.append(list(row))
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 48
    if hidden:
        ws.sheet_state = "hidden"
    return ws


def summary_from_report(path: str | Path) -> WeeklySummary | None:
    """Read the summary stored in a report workbook's ``_summary`` sheet.

    Parameters
    ----------
    path : .xlsx / .xlsm report written by ``xladdin report``.

    Returns
    -------
    WeeklySummary or None
        None when the workbook has no ``_summary`` sheet.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file, a file openpyxl cannot read, or a malformed ``_summary`` sheet.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"report workbook {path} not found")
    wb = open_workbook(path, label=str(path), read_only=True, data_only=True)  # checked: size, zip bomb, DTDs
    try:
        if SUMMARY_SHEET not in wb.sheetnames:
            return None
        rows = list(wb[SUMMARY_SHEET].iter_rows(min_col=1, max_col=3, values_only=True))
    finally:
        wb.close()
    try:
        return summary_from_rows(rows)
    except ValueError as exc:
        raise ValueError(f"{path}, sheet {SUMMARY_SHEET}: {exc}") from None
