"""AKShare adapter (free, no token): canonical tables from akshare's functions and the exchanges' own disclosures.

Installed with the wheel's ``akshare`` extra (akshare is imported lazily, only by :meth:`AkshareClient.from_env`).
What each table comes from, its units and what the adapter converts (akshare 1.19.5):

=====================  ==========================================================  ================================
canonical              function (owner): columns read, unit                        conversion
=====================  ==========================================================  ================================
etf_daily.shares       the exchanges' ETF scale disclosures, called directly       SSE 万份 × 1e4; SZSE units; see
                       (:mod:`.exchange`): SSE one trading day per request,        :mod:`xladdin.data.clients.exchange`
                       SZSE ≤ 170 days per request
etf_daily.close        ``fund_etf_hist_em(adjust="")`` (Eastmoney): 日期, 收盘 元    as is
etf_daily.nav          ``fund_etf_fund_info_em`` (Eastmoney lsjz): 净值日期, 单位净值  as is (20 rows per request)
etf_daily.split_ratio  ``fund_etf_hist_em(adjust="hfq")`` 收盘 / raw 收盘            :func:`infer_split_ratio` (adjacent
                       (asked only for an ETF whose shares moved > half the        days; on the shares' day), old-unit
                       split threshold in a day)                                   values there restated
etf_info               ``fund_name_em`` 基金简称, 基金类型; ``fund_overview_em``    :class:`CategoryRules`; index from
                       跟踪标的, 业绩比较基准 (per ETF); SZSE's fund list          the 跟踪标的 / benchmark names, the
                       (1000_lf, called directly) 上市日期; SSE's stays empty        rest via ``--etf-file``
index_daily            ``stock_zh_index_hist_csindex`` (CSI; .SH/.CSI codes):      as is; 涨跌幅 (%) must match the
                       日期, 收盘, 涨跌幅; ``index_hist_cni`` (CNI; .SZ): 日期,       closes (a positional rename guard)
                       收盘价, 涨跌幅 (a fraction)
index_weights          ``index_stock_cons_weight_csindex``: 日期, 成分券代码,         ÷ 100; suffix from 交易所. **The
                       交易所, 权重 (%)                                             latest month-end only**
stock_industry         ``stock_industry_clf_hist_sw``: symbol, start_date,         **Shenwan 2021 level 1** (31
                       industry_code (SW class, 6 digits)                          industries, 801010.SI ...), as of
                                                                                   ``asof``; not CITIC
industry_daily         ``index_hist_sw(period="day")``: 代码, 日期, 收盘,          801010 → 801010.SI; volume,
                       成交量 (亿股), 成交额 (亿元): units inferred, see below     amount × 1e8, rounded
northbound_holdings    ``stock_hsgt_individual_em`` per stock: 持股日期, 持股数量    float_ratio = 持股数量占A股百分比 /
                       (股), 持股市值 (元), 持股数量占A股百分比 (%)                    100 (of A shares, not free float);
                                                                                   daily to 2024-08-16 only
margin_daily           ``stock_margin_detail_sse`` / ``_szse`` per day: 融资余额,    as is; SZSE repay = balance_{t-1}
                       融资买入额, 融资偿还额 (SSE only), 元                           + buy_t - balance_t
stock_daily            ``stock_zh_a_hist`` per stock: 日期, 收盘, 成交额 (元);       as is
                       ``stock_value_em``: 数据日期, 流通市值 (元)
fund_nav               ``fund_etf_fund_info_em`` per fund: 净值日期, 单位净值         as is
active_fund_holdings   ``fund_portfolio_hold_em`` per fund and year: 股票代码,       × 1e4; 季度 label → quarter end
                       持仓市值 (万元), 季度 ("2024年1季度股票投资明细")               (report date, not publication)
fund_issuance          ``fund_new_found_em``: 基金简称, 基金类型, 募集份额 (亿份),      × 1e8, summed per month (the last
                       成立日期                                                     trading day) and category
=====================  ==========================================================  ================================

**Shenwan volume and amount units.** akshare's ``index_hist_sw`` renames the trend endpoint's
``bargainamount`` to 成交量 and ``bargainsum`` to 成交额 and documents no unit for either (its
``data/interfaces.json``: "-"). 亿股 and 亿元 are inferred: (1) akshare's documented example
(``index_hist_sw(symbol="801193")``, 证券Ⅱ) shows 30.215073 and 297.497838 on 2024-02-22; × 1e8 that is
3.02e9 shares, about three quarters of CITIC 非银行金融's real 3.95e9 shares that day
(``../shared``), and 9.85 yuan a share, where 百万 (the unit of ``index_realtime_sw``, another endpoint)
would give 3.0e7 shares; (2) akshare documents 亿股 for the same field ``bargainamount`` of SW's
index_analysis endpoint (``index_analysis_daily_sw``). M14 uses only shares of a day's total and
ratios of one industry's volumes, so its results do not depend on this factor.

Never silently wrong: every column is read by name (a missing one is refused with the header
found), every kept value is checked (finite, > 0 where it must be, dates inside the range asked, one
row per key), and a refusal names the function, its arguments and what was wrong. A day without a
disclosure (a holiday, a day not yet published) gives no rows, not an error. Every request has a
timeout and transient failures are retried a bounded number of times (:mod:`.calls`).

Requests per update grow with the new trading days, not the history: SSE shares one per day, SZSE
one per 170 days, per ETF one raw kline and 1 + ⌈days / 20⌉ NAV pages over the new range (and one
hfq kline when its shares jumped), per index one, margin two per day. ``index_hist_sw`` (31 per
update), ``fund_name_em``, ``fund_new_found_em``, ``stock_value_em`` and ``stock_hsgt_individual_em``
return their whole history whatever the range.

Tested with akshare's own functions and every HTTP request answered at the transport layer from
bodies synthesized from real values (``tests/test_akshare*.py``), not against the live hosts.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xladdin.data.calendar import month_ends, trading_days
from xladdin.data.schema import NORTHBOUND_DAILY_UNTIL

from .base import (
    DEFAULT_CATEGORY_RULES,
    DEFAULT_INDEX_NAMES,
    CategoryRules,
    SourceError,
    build_etf_info,
    check_codes,
    empty,
    finish,
    import_vendor,
    infer_split_ratio,
    install_hint,
    restate_split_rows,
    to_dates,
)
from .calls import DEFAULT_BACKOFF, DEFAULT_RETRIES, DEFAULT_TIMEOUT, Caller, show_call
from .exchange import check_day_counts, parse_number, sse_shares, szse_chunks, szse_list_dates, szse_shares

#: Shenwan 2021 level-1 class (first two digits of a SW class code + "0000") -> (index code, name). The
#: 31 index codes and names are those of ../shared/data/real/sw2021_l1_daily_close_…xlsx (sheet
#: sw_classify); the codes are also akshare 1.19.5's own level-1 list (``akshare/index/cons.py``,
#: ``sw_payload``) less 801020 采掘, which SW 2021 retired; akshare names them only at run time
#: (``sw_index_first_info``, ``index_realtime_sw``). The class digits are SW's 2021 code list (not checked
#: against a live download here).
SW_L1: dict[str, tuple[str, str]] = {
    "11": ("801010.SI", "农林牧渔"), "22": ("801030.SI", "基础化工"), "23": ("801040.SI", "钢铁"),
    "24": ("801050.SI", "有色金属"), "27": ("801080.SI", "电子"), "28": ("801880.SI", "汽车"),
    "33": ("801110.SI", "家用电器"), "34": ("801120.SI", "食品饮料"), "35": ("801130.SI", "纺织服饰"),
    "36": ("801140.SI", "轻工制造"), "37": ("801150.SI", "医药生物"), "41": ("801160.SI", "公用事业"),
    "42": ("801170.SI", "交通运输"), "43": ("801180.SI", "房地产"), "45": ("801200.SI", "商贸零售"),
    "46": ("801210.SI", "社会服务"), "48": ("801780.SI", "银行"), "49": ("801790.SI", "非银金融"),
    "51": ("801230.SI", "综合"), "61": ("801710.SI", "建筑材料"), "62": ("801720.SI", "建筑装饰"),
    "63": ("801730.SI", "电力设备"), "64": ("801890.SI", "机械设备"), "65": ("801740.SI", "国防军工"),
    "71": ("801750.SI", "计算机"), "72": ("801760.SI", "传媒"), "73": ("801770.SI", "通信"),
    "74": ("801950.SI", "煤炭"), "75": ("801960.SI", "石油石化"), "76": ("801970.SI", "环保"),
    "77": ("801980.SI", "美容护理"),
}
SW_L1_CODES = tuple(sorted(code for code, _ in SW_L1.values()))
#: ``index_hist_sw``'s 成交量 is in 亿股 and its 成交额 in 亿元 (inferred, not documented: see the module
#: docstring); × this gives the canonical shares and yuan
SW_HIST_UNIT = 1e8
#: CSI's 交易所 text -> canonical suffix
EXCHANGE_SUFFIX = {"上海证券交易所": "SH", "深圳证券交易所": "SZ", "北京证券交易所": "BJ"}
#: Eastmoney fund types counted in fund_issuance's active_equity (stock_etf: 指数型-股票 ETFs, not 联接)
ACTIVE_EQUITY_TYPES = ("股票型", "混合型-偏股")
#: |closes' daily return - 涨跌幅| above this refuses an index answer (columns renamed by position)
PCT_TOLERANCE = 2e-3
#: SSE margin rows breaking balance_t = balance_{t-1} + buy_t - repay_t beyond this share refuse the day
MARGIN_IDENTITY_SHARE = 0.01
#: the columns the adapter reads from each akshare function, by name (the contract test checks them against
#: the installed akshare's interface registry); fund_overview_em's are read when present (OPTIONAL_READS)
READS: dict[str, tuple[str, ...]] = {
    "fund_etf_hist_em": ("日期", "收盘"),
    "fund_etf_fund_info_em": ("净值日期", "单位净值"),
    "fund_name_em": ("基金代码", "基金简称", "基金类型"),
    "fund_overview_em": (),
    "stock_zh_index_hist_csindex": ("日期", "收盘", "涨跌幅"),
    "index_hist_cni": ("日期", "收盘价", "涨跌幅"),
    "index_stock_cons_weight_csindex": ("日期", "成分券代码", "交易所", "权重"),
    "stock_industry_clf_hist_sw": ("symbol", "start_date", "industry_code"),
    "index_hist_sw": ("代码", "日期", "收盘", "成交量", "成交额"),
    "stock_hsgt_individual_em": ("持股日期", "持股数量", "持股市值", "持股数量占A股百分比"),
    "stock_zh_a_hist": ("日期", "收盘", "成交额"),
    "stock_value_em": ("数据日期", "流通市值"),
    "stock_margin_detail_sse": ("信用交易日期", "标的证券代码", "融资余额", "融资买入额", "融资偿还额"),
    "stock_margin_detail_szse": ("证券代码", "融资余额", "融资买入额"),
    "fund_portfolio_hold_em": ("股票代码", "持仓市值", "季度"),
    "fund_new_found_em": ("基金简称", "基金类型", "募集份额", "成立日期"),
}
OPTIONAL_READS: dict[str, tuple[str, ...]] = {"fund_overview_em": ("跟踪标的", "业绩比较基准")}
ALL = "ALL"

Columns = Sequence[str]


def suffix_for(code: str) -> str:
    """Exchange suffix of a bare 6-digit A-share code by its prefix: 6/9 SH (92 BJ), 0/2/3 SZ, 4/8 BJ."""
    if code.startswith("92") or code[:1] in ("4", "8"):
        return "BJ"
    if code[:1] in ("6", "9", "5"):
        return "SH"
    if code[:1] in ("0", "1", "2", "3"):
        return "SZ"
    raise SourceError(f"code {code!r}: no exchange suffix known for its prefix")


def _ymd(d) -> str:
    return pd.Timestamp(d).strftime("%Y%m%d")


def _empty_json(key_path: Sequence[str]) -> Callable[[Any], bool]:
    """An ``empty_when`` predicate: the JSON answer's value at ``key_path`` is an empty list or 0."""
    def check(response) -> bool:
        value = response.json()
        for k in key_path:
            value = value[k]
        return value in ([], 0, None)
    return check


@dataclass
class Answer:
    """One akshare call's frame and how messages name the call."""

    df: pd.DataFrame
    call: str
    fn: str = ""

    def refuse(self, what: str) -> SourceError:
        return SourceError(f"akshare {self.call}: {what}")

    def need(self) -> Answer:
        """The answer, once every column of :data:`READS` for its function is there (else a refusal)."""
        missing = [c for c in READS[self.fn] if c not in self.df.columns]
        if missing:
            raise self.refuse(f"no column {', '.join(missing)} (got {', '.join(map(str, self.df.columns)) or 'none'}); "
                              f"akshare's answer changed: nothing kept")
        return self

    def dates(self, column: str, start=None, end=None) -> pd.Series:
        d = to_dates(self.df[column])
        if d.isna().any():
            raise self.refuse(f"{column} {self.df[column][d.isna()].iloc[0]!r} is not a date")
        lo, hi = (pd.Timestamp(start) if start is not None else None), (pd.Timestamp(end) if end is not None else None)
        off = ((d < lo) if lo is not None else False) | ((d > hi) if hi is not None else False)
        if np.any(off):
            raise self.refuse(f"{column} {d[off].iloc[0].date()} is outside the range asked")
        return d.astype("datetime64[ns]")

    def numbers(self, column: str, positive: bool = False, allow_nan: bool = False,
                non_negative: bool = False) -> pd.Series:
        v = pd.to_numeric(self.df[column].map(parse_number), errors="coerce").astype(float)
        bad = ~np.isfinite(v) if not allow_nan else np.isinf(v)
        if positive:
            bad |= v <= 0
        if non_negative:
            bad |= v < 0
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            want = "number > 0" if positive else "number >= 0" if non_negative else "finite number"
            raw = self.df[column].iloc[i]
            raw = raw.item() if isinstance(raw, np.generic) else raw   # -1.0, not np.float64(-1.0)
            raise self.refuse(f"{column} {raw!r} (row {i + 1}) is not a {want} "
                              f"({int(bad.sum())} such row(s))")
        return v


class AkshareClient:
    """Canonical tables from akshare (free, no token) and the exchanges' ETF disclosures; see the module docstring.

    Parameters
    ----------
    ak : the imported ``akshare`` module (:meth:`from_env` imports it).
    timeout, max_retries, backoff, sleep : every request's timeout in seconds and the retries of a call
        after a transient failure (:class:`~xladdin.data.clients.calls.Caller`).
    category_rules, index_names, etf_overrides : as for the other clients (``etf_info``).
    split_threshold : minimum factor jump read as a split (:func:`infer_split_ratio`).
    asof : date of the ``stock_industry`` snapshot (default: today).
    float_mcap : fetch ``stock_daily.float_mcap`` from ``stock_value_em`` (one more request per stock).
    now : the current time (tests fix it); decides which empty SZSE answers are "not yet published".
    """

    name = "akshare"
    needs_stock_list = True  # stock_daily / northbound_holdings: one request per stock
    tables = ("etf_info", "etf_daily", "index_daily", "index_weights", "stock_industry", "industry_daily",
              "northbound_holdings", "margin_daily", "stock_daily", "fund_nav", "active_fund_holdings",
              "fund_issuance")

    def __init__(self, ak, *, timeout: float = DEFAULT_TIMEOUT, max_retries: int = DEFAULT_RETRIES,
                 backoff: float = DEFAULT_BACKOFF, sleep: Callable[[float], None] | None = None,
                 category_rules: CategoryRules = DEFAULT_CATEGORY_RULES,
                 index_names: Mapping[str, str] = DEFAULT_INDEX_NAMES, etf_overrides: pd.DataFrame | None = None,
                 split_threshold: float = 0.05, asof=None, float_mcap: bool = True, now=None):
        self.ak = ak
        kw = {"sleep": sleep} if sleep is not None else {}
        self.caller = Caller("akshare", timeout=timeout, max_retries=max_retries, backoff=backoff, **kw)
        self.rules = category_rules
        self.index_names = index_names
        self.etf_overrides = etf_overrides
        self.split_threshold = split_threshold
        self.asof = pd.Timestamp(asof).normalize() if asof is not None else None
        self.float_mcap = float_mcap
        self.now = pd.Timestamp(now) if now is not None else None
        self.notes: list[str] = []
        self._universe_names: dict[str, str] = {}

    @classmethod
    def from_env(cls, **kwargs) -> AkshareClient:
        """A client on the installed akshare (the wheel's ``akshare`` extra); a clear error when it is missing."""
        return cls(import_vendor("akshare", "akshare"), **kwargs)

    @property
    def version(self) -> str:
        """The library version (written to a store's manifest)."""
        return str(getattr(self.ak, "__version__", "unknown"))

    @property
    def functions(self) -> list[str]:
        """The vendor functions called so far."""
        return sorted(self.caller.functions)

    # ------------------------------------------------------------------ calls
    def _ak(self, fn: str, empty_when: Callable[[Any], bool] | None = None, **kwargs) -> Answer:
        """One akshare function; an empty frame when the host had no rows."""
        call = show_call(fn, (), kwargs)
        func = getattr(self.ak, fn, None)
        if func is None:
            raise SourceError(f"akshare {self.version} has no function {fn}; the version this adapter supports: "
                              f"{install_hint('akshare')}")
        df = self.caller(fn, func, empty_when=empty_when, **kwargs)
        if df is None:
            df = pd.DataFrame()
        if not isinstance(df, pd.DataFrame):
            raise SourceError(f"akshare {call} returned {type(df).__name__}, not a table")
        return Answer(df.reset_index(drop=True), call, fn)

    def _days(self, start, end) -> pd.DatetimeIndex:
        return trading_days(start, end)

    # ------------------------------------------------------------------ ETF shares (exchanges)
    def etf_shares(self, codes: Sequence[str] | str, start, end) -> pd.DataFrame:
        """Shares outstanding (date, etf, shares) from SSE (a request per trading day) and SZSE (per 170 days).

        ``codes``: canonical codes, or :data:`ALL` for every ETF the exchanges list."""
        everything = codes == ALL
        want = None if everything else set(check_codes(codes, "etf_daily"))
        other = [] if everything else [c for c in want if c.rsplit(".", 1)[1] not in ("SH", "SZ")]
        if other:
            raise SourceError(f"etf_daily: {', '.join(sorted(other))}: the exchanges' ETF disclosures cover .SH and "
                              ".SZ codes only")
        days = self._days(start, end)
        parts = []
        if everything or any(c.endswith(".SH") for c in want):
            sse = []
            for day in days:
                df = sse_shares(self.caller, day)
                if df.empty:
                    self.notes.append(f"etf_daily: SSE published no ETF scale for {day.date()} (no disclosure)")
                    continue
                self._universe_names.update(zip(df["etf"], df["name"].astype(str), strict=True))
                sse.append(df.assign(date=day)[["date", "etf", "shares"]])
            if sse:
                sse = pd.concat(sse, ignore_index=True)
                check_day_counts("SSE ETF scale", sse)
                parts.append(sse)
        if everything or any(c.endswith(".SZ") for c in want):
            szse = []
            for a, b in szse_chunks(start, end):
                df = szse_shares(self.caller, a, b, days, now=self.now)
                self._universe_names.update(zip(df["etf"], df["name"].astype(str), strict=True))
                szse.append(df[["date", "etf", "shares"]])
            szse = pd.concat(szse, ignore_index=True) if szse else pd.DataFrame(columns=["date", "etf", "shares"])
            check_day_counts("SZSE ETF scale", szse)
            missing = days[(days <= szse["date"].max()) & ~days.isin(szse["date"])] if len(szse) else days[:0]
            if len(missing):
                self.notes.append(f"etf_daily: SZSE published no ETF scale for {len(missing)} trading day(s) "
                                  f"({', '.join(str(d.date()) for d in missing[:5])}); flows across them stay empty")
            parts.append(szse)
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["date", "etf", "shares"])
        if want is not None:
            out = out[out["etf"].isin(want)]
            unseen = sorted(want - set(out["etf"]))
            if unseen:
                self.notes.append(f"etf_daily: no exchange disclosure lists {', '.join(unseen)} in the range")
        return out.sort_values(["etf", "date"]).reset_index(drop=True)

    def etf_universe(self, day) -> list[str]:
        """Every ETF code the exchanges list on the last trading day up to ``day`` that SSE has disclosed
        (one SSE and one SZSE request a day tried; at most three days back)."""
        days = self._days(pd.Timestamp(day) - pd.Timedelta(days=20), day)
        for d in days[::-1][:3]:
            shares = self.etf_shares(ALL, d, d)
            if shares["etf"].str.endswith(".SH").any():
                return sorted(shares["etf"].unique())
        raise SourceError(f"akshare: no exchange disclosure lists ETFs on the last trading days up to "
                          f"{pd.Timestamp(day).date()}; give the ETF codes (--etfs)")

    # ------------------------------------------------------------------ etf_daily
    def etf_daily(self, codes: Sequence[str] | str, start, end) -> pd.DataFrame:
        """``etf_daily``: exchange shares, Eastmoney close and NAV, split ratio from the hfq/raw closes.

        Rows are the exchange disclosure days. A split found on the share day next to the price
        day is recorded on the share day, with close and NAV there restated to post-split units
        (spec "Splits recorded on adjacent days")."""
        shares = self.etf_shares(codes, start, end)
        frames = []
        for code, rows in shares.groupby("etf", sort=True):
            s = rows.set_index("date")["shares"].astype(float)
            df = pd.DataFrame({"shares": s})
            close = self._kline_close(code, start, end, "")
            df["close"] = close.reindex(df.index)
            df["nav"] = self._navs(code, start, end).reindex(df.index)
            df["split_ratio"] = self._split_ratio(code, df, close, start, end)
            for what in restate_split_rows(df):
                self.notes.append(f"etf_daily: {code} split row restated to post-split units: {what}")
            frames.append(df.rename_axis("date").reset_index().assign(etf=code))
        return finish("etf_daily", pd.concat(frames, ignore_index=True)) if frames else empty("etf_daily")

    def _kline_close(self, code: str, start, end, adjust: str) -> pd.Series:
        a = self._ak("fund_etf_hist_em", symbol=code[:6], period="daily", start_date=_ymd(start), end_date=_ymd(end),
                     adjust=adjust)
        if a.df.empty:
            self.notes.append(f"etf_daily: Eastmoney has no {'hfq ' if adjust else ''}closes for {code} in the range")
            return pd.Series(dtype=float)
        a.need()
        return pd.Series(a.numbers("收盘", positive=True).to_numpy(), index=a.dates("日期", start, end)).sort_index()

    def _navs(self, code: str, start, end) -> pd.Series:
        a = self._ak("fund_etf_fund_info_em", empty_when=_empty_json(["TotalCount"]), fund=code[:6],
                     start_date=_ymd(start), end_date=_ymd(end))
        if a.df.empty:
            self.notes.append(f"NAV: Eastmoney has no unit NAV for {code} in the range")
            return pd.Series(dtype=float)
        a.need()
        nav = a.numbers("单位净值", positive=False, allow_nan=True)
        bad = nav <= 0
        if bad.any():
            raise a.refuse(f"单位净值 {nav[bad].iloc[0]} is not > 0")
        out = pd.Series(nav.to_numpy(), index=a.dates("净值日期", start, end))
        if out.isna().any():
            self.notes.append(f"NAV: {code}: {int(out.isna().sum())} day(s) with a blank 单位净值 left empty")
        out = out.dropna()
        if out.index.duplicated().any():
            raise a.refuse(f"净值日期 {out.index[out.index.duplicated()][0].date()} listed twice")
        return out.sort_index()

    def _split_ratio(self, code: str, df: pd.DataFrame, close: pd.Series, start, end) -> pd.Series:
        """1.0, or the ratio inferred from hfq/raw closes when the shares jumped (hfq asked only then)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            jumps = np.abs(np.log(df["shares"] / df["shares"].shift(1)))
        if not (jumps > np.log1p(self.split_threshold) / 2).any() or close.empty:
            return pd.Series(1.0, index=df.index)
        hfq = self._kline_close(code, start, end, "hfq")
        factor = (hfq / close).reindex(df.index)
        ratio = infer_split_ratio(df["shares"], factor, self.split_threshold)
        for day, r in ratio[ratio != 1.0].items():
            self.notes.append(f"etf_daily: {code} split/consolidation inferred on {day.date()} (ratio {r:.6f}, "
                              f"from Eastmoney's hfq/raw closes and the exchange's shares)")
        return ratio

    # ------------------------------------------------------------------ etf_info
    def etf_info(self, codes: Sequence[str] | str) -> pd.DataFrame:
        """``etf_info`` from fund_name_em (type), fund_overview_em (跟踪标的, 业绩比较基准) and SZSE's list date.

        SZSE's list is read directly (:func:`~.exchange.szse_list_dates`): akshare 1.19.5's
        ``fund_etf_scale_szse`` passes bytes to ``pd.read_excel``, which pandas 3 refuses."""
        codes = self.etf_universe(self.now or pd.Timestamp.now()) if codes == ALL else check_codes(codes, "etf_info")
        names = self._ak("fund_name_em").need().df
        names = names.assign(code=names["基金代码"].astype(str).str.strip()).drop_duplicates("code").set_index("code")
        unknown = [c for c in codes if c[:6] not in names.index]
        if unknown:
            raise SourceError(f"akshare fund_name_em() lists no fund {', '.join(unknown)}; check the codes")
        listed = szse_list_dates(self.caller) if any(c.endswith(".SZ") for c in codes) else {}
        rows = []
        for code in codes:
            ov = self._ak("fund_overview_em", symbol=code[:6])
            info = ov.df.iloc[0] if len(ov.df) else pd.Series(dtype=object)
            tracked = str(info.get("跟踪标的", "") or "").strip()
            bench = str(info.get("业绩比较基准", "") or "").strip()
            if not len(ov.df) or ("跟踪标的" not in ov.df.columns and "业绩比较基准" not in ov.df.columns):
                self.notes.append(f"etf_info: {ov.call} gave neither 跟踪标的 nor 业绩比较基准 for {code}")
            name = str(names.at[code[:6], "基金简称"])
            rows.append({"etf": code, "name": name, "text": f"{tracked} {bench} {name}",
                         "fund_type": str(names.at[code[:6], "基金类型"]), "tracked_index": "",
                         "list_date": listed.get(code, pd.NaT)})
        if any(c.endswith(".SH") for c in codes):
            self.notes.append("etf_info: list_date of SSE ETFs left empty (akshare gives SSE funds' inception date "
                              "only)")
        return build_etf_info(pd.DataFrame(rows), self.etf_overrides, self.rules, self.index_names, self.notes,
                              "akshare")

    # ------------------------------------------------------------------ indices
    def index_daily(self, codes: Sequence[str], start, end) -> pd.DataFrame:
        """Index closes: CSI's index-perf for .SH/.CSI codes, CNI's daily data for .SZ codes."""
        parts = []
        for code in check_codes(codes, "index_daily"):
            sym, sfx = code.rsplit(".", 1)
            if sfx in ("SH", "CSI"):
                a = self._ak("stock_zh_index_hist_csindex", empty_when=_empty_json(["data"]), symbol=sym,
                             start_date=_ymd(start), end_date=_ymd(end))
                close_col, pct_scale = "收盘", 100.0
            elif sfx == "SZ":
                a = self._ak("index_hist_cni", empty_when=_empty_json(["data", "data"]), symbol=sym,
                             start_date=_ymd(start), end_date=_ymd(end))
                close_col, pct_scale = "收盘价", 1.0
            else:
                raise SourceError(f"index_daily: {code}: akshare serves CSI/SSE (.SH, .CSI) and CNI/SZSE (.SZ) indices")
            if a.df.empty:
                self.notes.append(f"index_daily: {a.call} has no rows")
                continue
            a.need()
            s = pd.DataFrame({"date": a.dates("日期", start, end), "close": a.numbers(close_col, positive=True),
                              "pct": a.numbers("涨跌幅", allow_nan=True) / pct_scale}).sort_values("date")
            if s["date"].duplicated().any():
                raise a.refuse(f"日期 {s['date'][s['date'].duplicated()].iloc[0].date()} listed twice")
            gap = (s["close"] / s["close"].shift(1) - 1 - s["pct"]).abs()
            if (gap > PCT_TOLERANCE).any():
                i = gap.idxmax()
                raise a.refuse(f"on {s.at[i, 'date'].date()} {close_col} moves {s['close'].pct_change()[i]:.4%} but "
                               f"涨跌幅 says {s.at[i, 'pct']:.4%}: columns renamed by position in the wrong order?")
            parts.append(s[["date", "close"]].assign(index=code))
        return finish("index_daily", pd.concat(parts, ignore_index=True)) if parts else empty("index_daily")

    def index_weights(self, index: str, start, end) -> pd.DataFrame:
        """CSI's **latest month-end** constituent weights (all akshare has): weight = 权重 / 100.

        Rows dated outside [start, end] are not kept (noted). Methods needing weight history (M6-M11
        penetration) get one date; bring older weights as files."""
        code = check_codes([index], "index_weights")[0]
        a = self._ak("index_stock_cons_weight_csindex", symbol=code.rsplit(".", 1)[0])
        if a.df.empty:
            self.notes.append(f"index_weights: {a.call} has no rows")
            return empty("index_weights")
        a.need()
        dates = a.dates("日期")
        exch = a.df["交易所"].astype(str).str.strip()
        unknown = sorted(set(exch) - set(EXCHANGE_SUFFIX))
        if unknown:
            raise a.refuse(f"交易所 {unknown[0]!r} is not one of {', '.join(EXCHANGE_SUFFIX)}")
        stock = a.df["成分券代码"].astype(str).str.strip().str.zfill(6) + "." + exch.map(EXCHANGE_SUFFIX)
        out = pd.DataFrame({"date": dates, "index": code, "stock": stock, "weight": a.numbers("权重") / 100.0})
        if (out["weight"] < 0).any():
            raise a.refuse("a negative 权重")
        self.notes.append(f"index_weights: {code}: akshare gives the latest month-end only "
                          f"({dates.max().date()}); older weights must come from files")
        keep = (out["date"] >= pd.Timestamp(start)) & (out["date"] <= pd.Timestamp(end))
        if not keep.all():
            self.notes.append(f"index_weights: {code} weights of {dates.max().date()} lie outside the range asked")
        return finish("index_weights", out[keep])

    # ------------------------------------------------------------------ Shenwan industries
    def stock_industry(self) -> pd.DataFrame:
        """Stock → Shenwan 2021 level-1 industry as of ``asof`` (SW's full change history, one request)."""
        a = self._ak("stock_industry_clf_hist_sw").need()
        asof = self.asof or pd.Timestamp.now().normalize()
        df = pd.DataFrame({"stock": a.df["symbol"].astype(str).str.strip().str.zfill(6),
                           "since": pd.to_datetime(a.df["start_date"], errors="coerce"),
                           "cls": a.df["industry_code"].astype(str).str.strip()})
        if df["since"].isna().any():
            raise a.refuse(f"start_date {a.df['start_date'][df['since'].isna()].iloc[0]!r} is not a date")
        df = df[df["since"] <= asof].sort_values(["stock", "since"]).drop_duplicates("stock", keep="last")
        level1 = df["cls"].str[:2]
        unknown = sorted(set(level1) - set(SW_L1))
        if unknown:
            raise a.refuse(f"industry_code class {unknown[0]}0000 is not a Shenwan 2021 level-1 class")
        df["stock"] = [f"{s}.{suffix_for(s)}" for s in df["stock"]]
        out = pd.DataFrame({"stock": df["stock"], "industry": level1.map(lambda c: SW_L1[c][0]),
                            "industry_name": level1.map(lambda c: SW_L1[c][1])})
        self.notes.append(f"stock_industry: Shenwan 2021 level 1 as of {asof.date()} (not CITIC)")
        return finish("stock_industry", out)

    def industry_daily(self, codes: Sequence[str] = SW_L1_CODES, start=None, end=None) -> pd.DataFrame:
        """Shenwan index closes, volumes and amounts (``index_hist_sw``, whole history per index, cut to [start,
        end]); codes 801010.SI. volume = 成交量 (亿股) × 1e8 shares, amount = 成交额 (亿元) × 1e8 yuan
        (:data:`SW_HIST_UNIT`), rounded to whole shares and yuan; a missing one is left blank (noted), a
        negative one refused."""
        parts = []
        for code in check_codes(codes, "industry_daily"):
            sym, sfx = code.rsplit(".", 1)
            if sfx != "SI":
                raise SourceError(f"industry_daily: {code}: akshare has Shenwan indices (801010.SI ...) only, no "
                                  f"CITIC; bring CITIC closes as a file")
            a = self._ak("index_hist_sw", symbol=sym, period="day")
            if a.df.empty:
                self.notes.append(f"industry_daily: {a.call} has no rows")
                continue
            a.need()
            wrong = a.df["代码"].astype(str).str.strip() != sym
            if wrong.any():
                raise a.refuse(f"rows of index {a.df['代码'][wrong].iloc[0]!r}, not {sym}")
            d = a.dates("日期")
            keep = ((d >= pd.Timestamp(start)) & (d <= pd.Timestamp(end))).to_numpy()
            part = pd.DataFrame({"date": d[keep], "industry": code, "close": a.numbers("收盘", positive=True)[keep]})
            for col, name in (("volume", "成交量"), ("amount", "成交额")):
                part[col] = (a.numbers(name, allow_nan=True, non_negative=True)[keep] * SW_HIST_UNIT).round()
            blank = int(part[["volume", "amount"]].isna().any(axis=1).sum())
            if blank:
                self.notes.append(f"industry_daily: {code}: {blank} day(s) without 成交量 or 成交额 (left blank)")
            parts.append(part)
        return finish("industry_daily", pd.concat(parts, ignore_index=True)) if parts else empty("industry_daily")

    # ------------------------------------------------------------------ stocks
    def northbound_holdings(self, start, end, stocks: Sequence[str] = ()) -> pd.DataFrame:
        """Per-stock northbound holdings to 2024-08-16 (``stock_hsgt_individual_em``, whole history per stock).

        float_ratio = 持股数量占A股百分比 / 100: a share of the A shares, not of the free float (akshare
        drops the endpoint's FREE_SHARES_RATIO). No request at all for a range after 2024-08-16."""
        end = min(pd.Timestamp(end), NORTHBOUND_DAILY_UNTIL)
        if pd.Timestamp(start) > end:
            self.notes.append(f"northbound_holdings: nothing after {NORTHBOUND_DAILY_UNTIL.date()} (daily disclosure "
                              f"ended; akshare has no quarterly holdings)")
            return empty("northbound_holdings")
        parts = []
        for code in self._stocks(stocks, "northbound_holdings"):
            a = self._ak("stock_hsgt_individual_em", symbol=code[:6])
            if a.df.empty:
                continue
            a.need()
            d = a.dates("持股日期")
            keep = ((d >= pd.Timestamp(start)) & (d <= end)).to_numpy()
            if not keep.any():
                continue
            sub = Answer(a.df[keep].reset_index(drop=True), a.call, a.fn)
            parts.append(pd.DataFrame({"date": d[keep].to_numpy(), "stock": code,
                                       "shares_held": sub.numbers("持股数量").to_numpy(),
                                       "held_value": sub.numbers("持股市值").to_numpy(),
                                       "float_ratio": sub.numbers("持股数量占A股百分比").to_numpy() / 100.0}))
        self.notes.append("northbound_holdings: float_ratio is the share of A shares (akshare drops the free-float "
                          "ratio)")
        return finish("northbound_holdings", pd.concat(parts, ignore_index=True)) if parts \
            else empty("northbound_holdings")

    def _stocks(self, stocks: Sequence[str], table: str) -> list[str]:
        if not stocks:
            raise SourceError(f"{table}: akshare fetches it one stock per request: give the stocks (--stocks, or "
                              f"fetch stock_industry in the same run)")
        return check_codes(stocks, table)

    def stock_daily(self, start, end, stocks: Sequence[str] = ()) -> pd.DataFrame:
        """Close and turnover (``stock_zh_a_hist``, unadjusted) and 流通市值 (``stock_value_em``) per stock."""
        parts = []
        for code in self._stocks(stocks, "stock_daily"):
            a = self._ak("stock_zh_a_hist", symbol=code[:6], period="daily", start_date=_ymd(start),
                         end_date=_ymd(end), adjust="")
            if a.df.empty:
                self.notes.append(f"stock_daily: {a.call} has no rows (suspended or not listed)")
                continue
            a.need()
            df = pd.DataFrame({"date": a.dates("日期", start, end), "stock": code,
                               "close": a.numbers("收盘", positive=True), "amount": a.numbers("成交额")})
            if self.float_mcap:
                v = self._ak("stock_value_em", symbol=code[:6])
                if len(v.df):
                    v.need()
                    mcap = pd.Series(v.numbers("流通市值", allow_nan=True).to_numpy(), index=v.dates("数据日期"))
                    df["float_mcap"] = df["date"].map(mcap[~mcap.index.duplicated()]).to_numpy()
            parts.append(df)
        return finish("stock_daily", pd.concat(parts, ignore_index=True)) if parts else empty("stock_daily")

    def margin_daily(self, start, end) -> pd.DataFrame:
        """Margin financing per security and day from SSE and SZSE (two requests per trading day).

        The trading day before ``start`` is read too: SZSE gives no repayment, derived here as
        balance_{t-1} + buy_t - balance_t (a security new to the list had a balance of 0), and SSE's
        rows are checked against that identity (akshare renames SSE's columns by position)."""
        days = self._days(pd.Timestamp(start) - pd.Timedelta(days=20), end)
        first = int(np.searchsorted(days, pd.Timestamp(start)))
        days = days[max(first - 1, 0):]
        parts, prev = [], {}
        for day in days:
            today = {}
            for exch, fn, empty_when in (("SH", "stock_margin_detail_sse", _empty_json(["result"])),
                                         ("SZ", "stock_margin_detail_szse", None)):
                a = self._ak(fn, empty_when=empty_when, date=_ymd(day))
                today[exch] = self._margin_rows(a, exch, day) if len(a.df) else None
            if all(v is None for v in today.values()):
                self.notes.append(f"margin_daily: no disclosure for {day.date()}")
                continue
            for exch, rows in today.items():
                if rows is None:
                    continue
                before = prev.get(exch)
                if exch == "SZ" and before is not None:
                    b = rows["stock"].map(before.set_index("stock")["financing_balance"]).fillna(0.0)
                    rows["financing_repay"] = b + rows["financing_buy"] - rows["financing_balance"]
                    neg = rows["financing_repay"] < -1.0
                    if neg.any():
                        raise SourceError(f"akshare stock_margin_detail_szse(date={_ymd(day)!r}): derived repayment "
                                          f"of {rows['stock'][neg].iloc[0]} is {rows['financing_repay'][neg].iloc[0]:,.0f}"
                                          f" < 0 (balance_t-1 + buy_t - balance_t)")
                elif exch == "SH" and before is not None:
                    self._check_identity(rows, before, day)
                if day >= pd.Timestamp(start) and (exch == "SH" or before is not None):
                    parts.append(rows.assign(date=day))
                prev[exch] = rows
        return finish("margin_daily", pd.concat(parts, ignore_index=True)) if parts else empty("margin_daily")

    def _margin_rows(self, a: Answer, exch: str, day: pd.Timestamp) -> pd.DataFrame:
        if exch == "SH":
            a.need()
            a.dates("信用交易日期", day, day)
            return pd.DataFrame({"stock": a.df["标的证券代码"].astype(str).str.strip().str.zfill(6) + ".SH",
                                 "financing_balance": a.numbers("融资余额"), "financing_buy": a.numbers("融资买入额"),
                                 "financing_repay": a.numbers("融资偿还额")})
        a.need()
        return pd.DataFrame({"stock": a.df["证券代码"].astype(str).str.strip().str.zfill(6) + ".SZ",
                             "financing_balance": a.numbers("融资余额"), "financing_buy": a.numbers("融资买入额"),
                             "financing_repay": np.nan})

    def _check_identity(self, rows: pd.DataFrame, before: pd.DataFrame, day: pd.Timestamp) -> None:
        b = rows["stock"].map(before.set_index("stock")["financing_balance"])
        known = b.notna()
        expect = b + rows["financing_buy"] - rows["financing_repay"]
        off = known & ((expect - rows["financing_balance"]).abs() > np.maximum(1.0, 1e-6 * rows["financing_balance"]))
        if known.any() and off.sum() > MARGIN_IDENTITY_SHARE * known.sum():
            i = off.idxmax()
            raise SourceError(f"akshare stock_margin_detail_sse(date={_ymd(day)!r}): {int(off.sum())} of "
                              f"{int(known.sum())} securities break 融资余额_t = 融资余额_t-1 + 融资买入额 - 融资偿还额 "
                              f"(e.g. {rows.at[i, 'stock']}); akshare renames SSE's columns by position, so they "
                              f"may be swapped: nothing kept")

    # ------------------------------------------------------------------ funds
    def fund_nav(self, codes: Sequence[str], start, end) -> pd.DataFrame:
        """Unit NAV per fund (``fund_etf_fund_info_em``: Eastmoney's NAV history, 20 days per request)."""
        parts = []
        for code in check_codes(codes, "fund_nav"):
            nav = self._navs(code, start, end)
            parts.append(pd.DataFrame({"date": nav.index, "fund": code, "nav": nav.to_numpy()}))
        return finish("fund_nav", pd.concat(parts, ignore_index=True)) if parts else empty("fund_nav")

    def active_fund_holdings(self, funds: Sequence[str], start, end) -> pd.DataFrame:
        """Disclosed holdings per fund and quarter (``fund_portfolio_hold_em``, one request per fund and year).

        value = 持仓市值 (万元) × 1e4; report_date = the quarter end the 季度 label names. Hong Kong
        holdings (5-digit codes) are left out (noted)."""
        parts = []
        for code in check_codes(funds, "active_fund_holdings"):
            for year in range(pd.Timestamp(start).year, pd.Timestamp(end).year + 1):
                a = self._ak("fund_portfolio_hold_em", symbol=code.rsplit(".", 1)[0], date=str(year))
                if a.df.empty:
                    continue
                a.need()
                quarter = a.df["季度"].astype(str).map(_quarter_end)
                if quarter.isna().any():
                    raise a.refuse(f"季度 {a.df['季度'][quarter.isna()].iloc[0]!r} names no quarter")
                stock = a.df["股票代码"].astype(str).str.strip()
                a_share = stock.str.fullmatch(r"\d{6}")
                if (~a_share).any():
                    self.notes.append(f"active_fund_holdings: {code} {year}: {int((~a_share).sum())} non-A-share "
                                      f"holding(s) left out")
                value = a.numbers("持仓市值") * 1e4
                suffixed = [f"{s}.{suffix_for(s)}" if ok else "" for s, ok in zip(stock, a_share, strict=True)]
                df = pd.DataFrame({"report_date": quarter, "fund": code, "stock": suffixed,
                                   "value": value})[a_share.to_numpy()]
                keep = (df["report_date"] >= pd.Timestamp(start)) & (df["report_date"] <= pd.Timestamp(end))
                parts.append(df[keep])
        if parts:
            out = pd.concat(parts, ignore_index=True).drop_duplicates(["report_date", "fund", "stock"])
            return finish("active_fund_holdings", out)
        return empty("active_fund_holdings")

    def fund_issuance(self, start, end) -> pd.DataFrame:
        """New fund shares per month and category from ``fund_new_found_em`` (募集份额 亿份 × 1e8).

        stock_etf: 基金类型 指数型-股票 with ETF in the name, not 联接; active_equity: 股票型 or
        混合型-偏股. month = the month's last trading day."""
        a = self._ak("fund_new_found_em").need()
        founded = pd.to_datetime(a.df["成立日期"], errors="coerce")
        kind = a.df["基金类型"].astype(str).str.strip()
        name = a.df["基金简称"].astype(str)
        etf = kind.str.startswith("指数型-股票") & name.str.contains("ETF") & ~name.str.contains("联接")
        active = kind.isin(ACTIVE_EQUITY_TYPES)
        keep = (etf | active) & (founded >= pd.Timestamp(start)) & (founded <= pd.Timestamp(end))
        if founded[etf | active].isna().any():
            raise a.refuse("a 成立日期 that is not a date")
        sub = Answer(a.df[keep.to_numpy()].reset_index(drop=True), a.call, a.fn)
        shares = sub.numbers("募集份额") * 1e8
        day = founded[keep].reset_index(drop=True)
        ends = month_ends(self._days(pd.Timestamp(start).replace(day=1), pd.Timestamp(end) + pd.offsets.MonthEnd(0)))
        month_of = pd.Series(ends, index=ends.to_period("M"))
        df = pd.DataFrame({"month": day.dt.to_period("M").map(month_of).to_numpy(),
                           "category": np.where(etf[keep].to_numpy(), "stock_etf", "active_equity"),
                           "new_shares": shares.to_numpy()})
        out = df.groupby(["month", "category"], as_index=False)["new_shares"].sum()
        return finish("fund_issuance", out)


def _quarter_end(label: str) -> pd.Timestamp:
    """``2024年1季度股票投资明细`` -> 2024-03-31; NaT when the label names no quarter."""
    m = re.search(r"(\d{4})年\s*([1-4])季度", label)
    if not m:
        return pd.NaT
    return pd.Timestamp(int(m.group(1)), 3 * int(m.group(2)), 1) + pd.offsets.MonthEnd(0)

