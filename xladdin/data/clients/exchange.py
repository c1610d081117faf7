"""ETF shares outstanding straight from the exchanges' own daily disclosures (SSE and SZSE).

The two endpoints AKShare wraps as ``fund_etf_scale_sse`` and ``fund_scale_daily_szse``, called
directly with ``requests`` (the same URLs and parameters as akshare 1.19.5) and read by column
name, because the wrappers fail silently where it matters: a thousands separator in SSE's
``TOT_VOL`` becomes NaN, a renamed SZSE header makes every share ``<NA>``, a range over six months
comes back as an empty table, and a day without a disclosure raises ``KeyError``. Here:

=========  =============================================================  ==========================================
exchange   request (one per ...)                                          answer, unit, checks
=========  =============================================================  ==========================================
SSE        ``query.sse.com.cn/commonQuery.do`` sqlId                       JSON ``result[]``: ``SEC_CODE``,
           ``COMMON_SSE_ZQPZ_ETFZL_XXPL_ETFGM_SEARCH_L``,                  ``SEC_NAME``, ``ETF_TYPE``, ``STAT_DATE``,
           ``STAT_DATE=YYYY-MM-DD`` (trading day)                         ``TOT_VOL`` in 万份 (× 1e4 → units)
SZSE       ``www.szse.cn/api/report/ShowReport`` CATALOGID                 xlsx ``日期, 基金代码, 基金简称,
           ``scsj_fund_jjgm``, ``jjlb=ETF``, ``txtStart/txtEnd``            基金规模(份)`` in units
           (chunk of at most :data:`SZSE_MAX_DAYS` calendar days)
=========  =============================================================  ==========================================

Every kept value is checked: a 6-digit code, the date asked (SSE) or a date inside the range (SZSE),
a finite share count > 0 (thousands separators are read), one row per ETF and day, and no day with
far fewer ETFs than the others (a truncated answer). A missing column is refused naming the header
found. An empty answer is "no disclosure" (a holiday, or a day not yet published): no rows, not an
error, except an empty SZSE answer for a range whose older trading days the exchange must have
published (refused: that is how SZSE answers a range it will not serve).
"""
from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd

from ..sources import check_workbook
from .base import SourceError
from .calls import Caller, show_call

SSE_URL = "https://query.sse.com.cn/commonQuery.do"
SSE_SQL_ID = "COMMON_SSE_ZQPZ_ETFZL_XXPL_ETFGM_SEARCH_L"
SSE_PAGE = 10000
SZSE_URL = "https://www.szse.cn/api/report/ShowReport"
SZSE_CATALOG = "scsj_fund_jjgm"
#: SZSE's fund list (the report behind akshare's fund_etf_scale_szse, which cannot read it under pandas 3)
SZSE_LIST_URL = "https://fund.szse.cn/api/report/ShowReport"
SZSE_LIST_CATALOG = "1000_lf"
#: longest SZSE range asked in one request (SZSE serves at most six months and answers an empty table beyond)
SZSE_MAX_DAYS = 170
#: a day listing fewer ETFs than this share of the median day is refused as truncated
MIN_DAY_SHARE = 0.9
#: trading days this close to "now" may not be disclosed yet: an empty answer there is no disclosure
RECENT_DAYS = 3
_HEADERS = {"Referer": "https://www.sse.com.cn/",
            "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"}
_SZSE_HEADERS = {"Referer": "https://www.szse.cn/market/fund/volume/etf/index.html",
                 "User-Agent": _HEADERS["User-Agent"]}
_CODE = re.compile(r"\d{6}")


def parse_number(value) -> float:
    """A share count as the exchanges print it: ``8867928.77``, ``"37,668,816,600"``, 3.7e10; NaN if not a number."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip().replace(",", "").replace("\u00a0", "")
    try:
        return float(text)
    except ValueError:
        return np.nan


def _code(value) -> str:
    """A 6-digit code from a cell that may have lost its leading zeros (159919 stays, 1234 -> 001234)."""
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and float(value).is_integer()):
        return f"{int(value):06d}"
    return str(value).strip()


def _refuse(call: str, what: str) -> SourceError:
    return SourceError(f"{call}: {what}")


def _checked(call: str, df: pd.DataFrame, source_col: str, unit: float) -> pd.Series:
    """Shares in units from ``source_col``; refuses a value that is not a finite number > 0, naming the row."""
    values = df[source_col].map(parse_number) * unit
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _refuse(call, f"`{source_col}` of {df['etf'].iloc[i]} is {df[source_col].iloc[i]!r}, not a share "
                            f"count > 0 ({int(bad.sum())} such row(s))")
    return values


def sse_shares(caller: Caller, day) -> pd.DataFrame:
    """SSE's ETF scale disclosure of one trading day: columns etf (``510300.SH``), name, etf_type, shares (units).

    Empty (no rows) when SSE published nothing for the day."""
    import requests  # optional dependency (the akshare extra)

    day = pd.Timestamp(day)
    params = {"isPagination": "true", "pageHelp.pageSize": str(SSE_PAGE), "pageHelp.pageNo": "1",
              "pageHelp.beginPage": "1", "pageHelp.cacheSize": "1", "pageHelp.endPage": "1",
              "sqlId": SSE_SQL_ID, "STAT_DATE": f"{day:%Y-%m-%d}"}
    call = show_call("SSE commonQuery.do", (), {"sqlId": SSE_SQL_ID, "STAT_DATE": f"{day:%Y-%m-%d}"})

    def get():
        r = requests.get(SSE_URL, params=params, headers=_HEADERS)
        r.raise_for_status()
        return r.json()

    data = caller("sse_etf_scale", get)
    rows = data.get("result") if isinstance(data, dict) else None
    if rows is None:
        got = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise _refuse(call, f"the answer has no `result` list (got {got})")
    if not rows:
        return pd.DataFrame(columns=["etf", "name", "etf_type", "shares"])
    if len(rows) >= SSE_PAGE:
        raise _refuse(call, f"{len(rows)} rows, the page size: the answer may be cut; nothing kept")
    df = pd.DataFrame(rows)
    missing = [k for k in ("SEC_CODE", "STAT_DATE", "TOT_VOL") if k not in df.columns]
    if missing:
        raise _refuse(call, f"rows lack {', '.join(missing)} (got {', '.join(map(str, df.columns))})")
    codes = df["SEC_CODE"].map(_code)
    bad = ~codes.str.fullmatch(_CODE)
    if bad.any():
        raise _refuse(call, f"SEC_CODE {df['SEC_CODE'][bad].iloc[0]!r} is not a 6-digit code")
    dates = pd.to_datetime(df["STAT_DATE"].astype(str).str.strip(), errors="coerce", format="mixed")
    off = dates != day
    if off.any():
        raise _refuse(call, f"{int(off.sum())} row(s) dated {df['STAT_DATE'][off].iloc[0]!r}, not the day asked")
    out = pd.DataFrame({"etf": codes + ".SH", "name": df.get("SEC_NAME", ""), "etf_type": df.get("ETF_TYPE", "")})
    out["shares"] = _checked(call, df.assign(etf=out["etf"]), "TOT_VOL", 1e4)
    dup = out["etf"].duplicated()
    if dup.any():
        raise _refuse(call, f"{out['etf'][dup].iloc[0]} listed twice")
    return out


def szse_shares(caller: Caller, start, end, trading_days: pd.DatetimeIndex, now=None) -> pd.DataFrame:
    """SZSE's daily ETF scale over [start, end] (at most :data:`SZSE_MAX_DAYS` days): date, etf, name, shares.

    ``trading_days``: the exchange's trading days in the range, to tell an unpublished day from a
    refused range (see the module docstring)."""
    import requests  # optional dependency (the akshare extra)

    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if (end - start).days + 1 > SZSE_MAX_DAYS:
        raise ValueError(f"SZSE range {start.date()}..{end.date()} exceeds {SZSE_MAX_DAYS} days; ask in chunks")
    params = {"SHOWTYPE": "xlsx", "CATALOGID": SZSE_CATALOG, "TABKEY": "tab1", "txtStart": f"{start:%Y-%m-%d}",
              "txtEnd": f"{end:%Y-%m-%d}", "jjlb": "ETF"}
    call = show_call("SZSE ShowReport", (), {"CATALOGID": SZSE_CATALOG, "txtStart": params["txtStart"],
                                             "txtEnd": params["txtEnd"]})

    def get():
        r = requests.get(SZSE_URL, params=params, headers=_SZSE_HEADERS)
        r.raise_for_status()
        return r.content

    content = caller("szse_etf_scale", get)
    try:
        check_workbook(content, "the answer")  # limits of a data workbook: size, zip bomb, DTDs
        df = pd.read_excel(io.BytesIO(content), dtype=object, engine="openpyxl")
    except Exception as exc:  # not an xlsx: an error page, a changed format
        raise _refuse(call, f"the answer is not the expected xlsx ({type(exc).__name__}: {exc}); "
                            f"first bytes {content[:60]!r}") from exc
    df = df.dropna(how="all")
    columns = [str(c).strip() for c in df.columns]
    df.columns = columns
    need = ("日期", "基金代码", "基金规模(份)")
    missing = [c for c in need if c not in columns]
    if missing:
        raise _refuse(call, f"header lacks {', '.join(missing)} (got {', '.join(columns)}); the report changed: "
                            f"nothing kept")
    if df.empty:
        days = trading_days[(trading_days >= start) & (trading_days <= end)]
        recent = pd.Timestamp(now or pd.Timestamp.now()).normalize() - pd.Timedelta(days=RECENT_DAYS)
        old = days[days < recent]
        if len(old):
            raise _refuse(call, f"an empty table for a range holding {len(old)} published trading day(s) "
                                f"({old[0].date()} ...); SZSE answers a range it will not serve this way")
        return pd.DataFrame(columns=["date", "etf", "name", "shares"])
    codes = df["基金代码"].map(_code)
    bad = ~codes.str.fullmatch(_CODE)
    if bad.any():
        raise _refuse(call, f"基金代码 {df['基金代码'][bad].iloc[0]!r} is not a 6-digit code")
    dates = pd.to_datetime(df["日期"].astype(str).str.strip(), errors="coerce", format="mixed")
    off = dates.isna() | (dates < start) | (dates > end)
    if off.any():
        raise _refuse(call, f"日期 {df['日期'][off].iloc[0]!r} is not a date inside the range asked")
    out = pd.DataFrame({"date": dates.to_numpy(), "etf": (codes + ".SZ").to_numpy(),
                        "name": df["基金简称"].to_numpy() if "基金简称" in df else ""})
    out["shares"] = _checked(call, df.assign(etf=out["etf"].to_numpy()).reset_index(drop=True),
                             "基金规模(份)", 1.0).to_numpy()
    dup = out.duplicated(["date", "etf"])
    if dup.any():
        raise _refuse(call, f"{out['etf'][dup].iloc[0]} listed twice on {out['date'][dup].iloc[0].date()}")
    return out


def szse_list_dates(caller: Caller) -> dict[str, pd.Timestamp]:
    """SZSE's fund list (基金代码, 上市日期 by name): listing date per SZSE fund, ``159919.SZ`` -> date.

    akshare's ``fund_etf_scale_szse`` reads the same report but passes bytes to ``pd.read_excel``, which
    pandas 3 refuses (TypeError), so it is read here."""
    import requests  # optional dependency (the akshare extra)

    params = {"SHOWTYPE": "xlsx", "CATALOGID": SZSE_LIST_CATALOG, "TABKEY": "tab1"}
    call = show_call("SZSE fund list ShowReport", (), {"CATALOGID": SZSE_LIST_CATALOG})

    def get():
        r = requests.get(SZSE_LIST_URL, params=params,
                         headers={"Referer": "https://fund.szse.cn/marketdata/fundslist/index.html",
                                  "User-Agent": _HEADERS["User-Agent"]})
        r.raise_for_status()
        return r.content

    content = caller("szse_fund_list", get)
    try:
        check_workbook(content, "the answer")  # limits of a data workbook: size, zip bomb, DTDs
        df = pd.read_excel(io.BytesIO(content), dtype=object, engine="openpyxl")
    except Exception as exc:
        raise _refuse(call, f"the answer is not the expected xlsx ({type(exc).__name__}: {exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("基金代码", "上市日期") if c not in df.columns]
    if missing:
        raise _refuse(call, f"header lacks {', '.join(missing)} (got {', '.join(df.columns)})")
    codes = df["基金代码"].map(_code)
    dates = pd.to_datetime(df["上市日期"].astype(str).str.strip(), errors="coerce", format="mixed")
    return {f"{c}.SZ": d for c, d in zip(codes, dates, strict=True) if _CODE.fullmatch(c) and not pd.isna(d)}


def check_day_counts(call: str, shares: pd.DataFrame) -> None:
    """Refuse a day that lists far fewer ETFs than the median day of ``shares`` (date, etf): a truncated answer."""
    if shares.empty:
        return
    counts = shares.groupby("date")["etf"].size()
    if len(counts) < 3:
        return
    low = counts[counts < MIN_DAY_SHARE * counts.median()]
    if len(low):
        raise SourceError(f"{call}: {low.index[0].date()} lists {int(low.iloc[0])} ETFs against a median of "
                          f"{counts.median():.0f} per day; the answer looks cut: nothing kept")


def szse_chunks(start, end) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """[start, end] cut into consecutive ranges of at most :data:`SZSE_MAX_DAYS` calendar days."""
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    out = []
    while start <= end:
        stop = min(start + pd.Timedelta(days=SZSE_MAX_DAYS - 1), end)
        out.append((start, stop))
        start = stop + pd.Timedelta(days=1)
    return out
