"""Tushare Pro adapter: canonical tables from a ``tushare.pro_api(token)`` client.

Units and fields, as documented on tushare.pro (接口文档, checked for this adapter):

=====================  ==============================================  ===================================
canonical              tushare interface, field (unit)                 conversion
=====================  ==============================================  ===================================
etf_info               ``fund_basic(market='E')``: name, fund_type,    category by :class:`CategoryRules`;
                       benchmark (业绩比较基准), list_date YYYYMMDD     tracked_index from the benchmark text
etf_daily.shares       ``fund_share.fd_share`` (基金份额, 万份)          × 1e4 → units
etf_daily.nav          ``fund_nav.unit_nav`` (单位净值) by nav_date      as is
etf_daily.close        ``fund_daily.close`` (收盘价, 元)                 as is
etf_daily.split_ratio  ``fund_adj.adj_factor`` (复权因子)               inferred, see :func:`infer_split_ratio`
index_daily            ``index_daily.close`` (收盘点位)                  as is
index_weights          ``index_weight.weight`` (权重, %)                ÷ 100, not renormalised
stock_industry         ``ci_index_member(is_new='Y')`` l1_code/l1_name  ``.CI`` → ``.WI`` (CITIC L1, snapshot)
industry_daily         ``ci_daily.close``                              ``.CI`` ↔ ``.WI``
northbound_holdings    ``hk_hold.vol`` (持股数量, 股), ``ratio`` (%,     shares_held = vol; held_value =
                       of issued shares); ``daily_basic.close``,       vol × close; float_ratio = vol /
                       ``float_share`` (流通股本, 万股)                  (float_share × 1e4)
margin_daily           ``margin_detail.rzye / rzmre / rzche`` (元)      as is
stock_daily            ``daily.close``, ``daily.amount`` (成交额, 千元); amount × 1e3; float_mcap =
                       ``daily_basic.circ_mv`` (流通市值, 万元)          circ_mv × 1e4
fund_nav               ``fund_nav.unit_nav``                            as is
=====================  ==============================================  ===================================

Limits handled here: each interface returns at most N rows per call (fund_share 2000, fund_adj
2000, fund_daily 5000, index_daily 8000, hk_hold 3800, margin_detail / daily / daily_basic 6000,
ci_daily 4000, ci_index_member 5000, fund_basic 15000 — :data:`ROW_LIMITS`). Ranged calls that
come back full are split in half and re-asked until every piece is below the limit; single-day
calls that are still full are paged with ``offset``/``limit``. All-market tables are fetched one
trading day at a time (``trade_cal``), as tushare recommends. The per-minute rate limit
("抱歉，您每分钟最多访问该接口N次") is retried with exponential back-off.

Tushare returns rows newest first; every table here is re-sorted ascending. The token comes from
the ``TUSHARE_TOKEN`` environment variable (:meth:`TushareClient.from_env`), never from a file.

Tested by running tushare's own client (``pro_api`` → ``DataApi.query`` → ``requests.post``) with the
HTTP answered at the transport layer (tests/test_clients.py), not against the live service.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from .base import (
    CITIC_L1,
    DEFAULT_CATEGORY_RULES,
    DEFAULT_INDEX_NAMES,
    CategoryRules,
    SourceError,
    build_etf_info,
    check_codes,
    date_str,
    empty,
    finish,
    import_vendor,
    infer_split_ratio,
    month_windows,
    restate_split_rows,
    to_dates,
    unsupported,
)
from .calls import bounded_requests, last_response

#: documented maximum rows per call (tushare.pro 接口文档 "限量"); fund_nav / trade_cal are undocumented
#: there, so conservative values are used (a too-low value only costs extra calls)
ROW_LIMITS: dict[str, int] = {
    "fund_basic": 15000, "fund_share": 2000, "fund_nav": 1000, "fund_daily": 5000, "fund_adj": 2000,
    "index_daily": 8000, "index_weight": 6000, "ci_index_member": 5000, "ci_daily": 4000,
    "hk_hold": 3800, "margin_detail": 6000, "daily": 6000, "daily_basic": 6000, "trade_cal": 2000,
}
#: substrings of tushare's rate-limit error ("抱歉，您每分钟最多访问该接口200次，权限的具体详情访问：...")
RATE_LIMIT_MARKERS = ("最多访问该接口", "每分钟最多访问", "每分最多访问", "访问频率", "Too Many Requests")
#: tushare codes of indices whose weights tushare files under another code (same index)
INDEX_WEIGHT_ALIASES: dict[str, str] = {"000300.SH": "399300.SZ"}

FloatBasis = Literal["float_share", "free_share"]


class TushareClient:
    """Canonical tables from a tushare Pro client object (``ts.pro_api(token)``).

    Parameters
    ----------
    pro : the object ``tushare.pro_api(token)`` returns (anything with methods named like the
        tushare interfaces, e.g. ``pro.fund_share(ts_code=..., start_date=..., end_date=...)``).
    sleep : called with seconds to wait between rate-limited retries (``time.sleep``).
    max_retries : retries of one call after a rate-limit or connection error.
    backoff : first wait in seconds; doubles at each retry (10, 20, 40, ... s).
    category_rules, index_names : ETF category rules and benchmark-name → index-code map
        (:class:`~xladdin.data.clients.base.CategoryRules`, :data:`DEFAULT_INDEX_NAMES`).
    etf_overrides : optional frame (etf + tracked_index / category / name) whose non-empty values
        replace what tushare gives in ``etf_info``.
    split_threshold : minimum adj-factor jump read as a split (:func:`infer_split_ratio`).
    fill_share_gaps : ``fund_share`` documents ``trade_date`` as 交易(变动)日期. If it skips days
        without a change, True carries the last share count onto the trading days ``fund_daily``
        has (default False: only days with a share row are kept, and the count dropped is noted).
    float_basis : denominator of "float" in ``stock_daily.float_mcap`` and
        ``northbound_holdings.float_ratio``: ``"float_share"`` (流通股本, default) or
        ``"free_share"`` (自由流通股本).
    northbound_ratio : ``"float"`` (vol / float shares, the canonical definition) or ``"issued"``
        (tushare's own ``ratio`` / 100, a share of all issued shares; no daily_basic call).
    industry_suffix : suffix the canonical industry codes carry (``WI``); tushare's are ``.CI``.
    """

    name = "tushare"
    tables = ("etf_info", "etf_daily", "index_daily", "index_weights", "stock_industry", "industry_daily",
              "northbound_holdings", "margin_daily", "stock_daily", "fund_nav")

    def __init__(self, pro, *, sleep: Callable[[float], None] = time.sleep, max_retries: int = 5,
                 backoff: float = 10.0, category_rules: CategoryRules = DEFAULT_CATEGORY_RULES,
                 index_names: Mapping[str, str] = DEFAULT_INDEX_NAMES, etf_overrides: pd.DataFrame | None = None,
                 split_threshold: float = 0.05, fill_share_gaps: bool = False, float_basis: FloatBasis = "float_share",
                 northbound_ratio: Literal["float", "issued"] = "float", industry_suffix: str = "WI",
                 row_limits: Mapping[str, int] | None = None):
        if float_basis not in ("float_share", "free_share"):
            raise ValueError(f"float_basis `{float_basis}` must be float_share or free_share")
        if northbound_ratio not in ("float", "issued"):
            raise ValueError(f"northbound_ratio `{northbound_ratio}` must be float or issued")
        self.pro = pro
        self.sleep = sleep
        self.max_retries = max_retries
        self.backoff = backoff
        self.rules = category_rules
        self.index_names = index_names
        self.etf_overrides = etf_overrides
        self.split_threshold = split_threshold
        self.fill_share_gaps = fill_share_gaps
        self.float_basis = float_basis
        self.northbound_ratio = northbound_ratio
        self.industry_suffix = industry_suffix
        self.row_limits = {**ROW_LIMITS, **(row_limits or {})}
        self.notes: list[str] = []
        self.calls = 0
        self._cache: dict[tuple, pd.DataFrame] = {}

    @classmethod
    def from_env(cls, token: str | None = None, timeout: float | None = None, **kwargs) -> TushareClient:
        """A client on ``tushare.pro_api(token)``; the token defaults to ``$TUSHARE_TOKEN``; ``timeout``: seconds
        per request (tushare's own default, 30, when None).

        Raises a SourceError saying what to install or set when tushare is missing or does not import, or no
        token is given (tushare is an optional dependency: the wheel's ``tushare`` extra).
        """
        ts = import_vendor("tushare", "tushare")
        token = token or os.environ.get("TUSHARE_TOKEN", "").strip()
        if not token:
            raise SourceError("no tushare token: set the environment variable TUSHARE_TOKEN "
                              "(your token from https://tushare.pro/user/token)")
        return cls(ts.pro_api(token) if timeout is None else ts.pro_api(token, timeout=timeout), **kwargs)

    # ------------------------------------------------------------------ calls
    def _call(self, api: str, **params) -> pd.DataFrame:
        """One tushare call with retries on rate-limit / connection errors and HTTP 429 / 5xx answers.

        tushare's client raises ``Exception(msg)`` when the service refuses (``code`` != 0), but answers an HTTP
        error status with an empty table without columns (``DataApi.query``: ``if res: ... else: return
        pd.DataFrame()``); the status is read from the response itself so that it is not taken for "no rows".
        """
        fn = getattr(self.pro, api, None)
        if fn is None:
            raise SourceError(f"tushare client has no interface `{api}` (upgrade tushare?)")
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "fields")
        for attempt in range(self.max_retries + 1):
            try:
                self.calls += 1
                with bounded_requests(None):  # tushare's own timeout; keeps the HTTP answer
                    df = fn(**params)
                    _raise_http_error(df, last_response())
            except Exception as exc:  # tushare raises bare Exception(msg) for every server-side error
                msg = str(exc)
                limited = any(m in msg for m in RATE_LIMIT_MARKERS)
                transient = (limited or getattr(exc, "transient", False)
                             or type(exc).__name__ in ("Timeout", "ReadTimeout", "ConnectTimeout", "ConnectionError"))
                if transient and attempt < self.max_retries:
                    self.sleep(self.backoff * 2 ** attempt)
                    continue
                if transient:
                    raise SourceError(f"tushare {api}({shown}) still {'rate-limited' if limited else 'failing'} "
                                      f"after {self.max_retries} retries: {msg}") from exc
                raise SourceError(f"tushare {api}({shown}) failed: {msg}") from exc
            if df is None:
                raise SourceError(f"tushare {api}({shown}) returned nothing (None)")
            if not isinstance(df, pd.DataFrame):
                raise SourceError(f"tushare {api}({shown}) returned {type(df).__name__}, not a DataFrame")
            return df
        raise AssertionError("unreachable")  # pragma: no cover

    def _paged(self, api: str, **params) -> pd.DataFrame:
        """All rows of one call, paging with ``offset``/``limit`` while pages come back full."""
        limit = self.row_limits[api]
        first = self._call(api, **params)
        if len(first) < limit:
            return first
        pages, offset = [first], limit
        while True:
            page = self._call(api, **params, offset=offset, limit=limit)
            if len(page) and page.equals(pages[-1]):
                raise SourceError(f"tushare {api}: a call returned the row limit ({limit}) and offset paging did "
                                  f"not move on; narrow the request")
            pages.append(page)
            if len(page) < limit:
                return pd.concat(pages, ignore_index=True)
            offset += limit

    def _range(self, api: str, start, end, **params) -> pd.DataFrame:
        """Rows of a date-ranged call on [start, end]; halves the range while an answer is full."""
        start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        limit = self.row_limits[api]
        df = self._call(api, start_date=date_str(start), end_date=date_str(end), **params)
        if len(df) < limit:
            return df
        if start == end:
            return self._paged(api, start_date=date_str(start), end_date=date_str(end), **params)
        mid = start + (end - start) // 2
        mid = mid.normalize()
        parts = [self._range(api, start, mid, **params), self._range(api, mid + pd.Timedelta(days=1), end, **params)]
        return pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]

    def trade_days(self, start, end) -> list[pd.Timestamp]:
        """SSE trading days in [start, end] from ``trade_cal`` (one call per calendar year)."""
        start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        key = ("trade_cal", start, end)
        if key not in self._cache:
            parts = []
            for y in range(start.year, end.year + 1):
                s, e = max(start, pd.Timestamp(y, 1, 1)), min(end, pd.Timestamp(y, 12, 31))
                parts.append(self._call("trade_cal", exchange="SSE", start_date=date_str(s), end_date=date_str(e),
                                        is_open="1"))
            cal = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["cal_date", "is_open"])
            _require(cal, "trade_cal", ("cal_date", "is_open"))
            cal = cal[pd.to_numeric(cal["is_open"], errors="coerce") == 1]
            days = to_dates(cal["cal_date"]).dropna()
            self._cache[key] = pd.DataFrame({"date": sorted(set(days[(days >= start) & (days <= end)]))})
        return list(self._cache[key]["date"])

    def _daily_basic(self, day: pd.Timestamp) -> pd.DataFrame:
        key = ("daily_basic", day)
        if key not in self._cache:
            df = self._paged("daily_basic", trade_date=date_str(day),
                             fields="ts_code,trade_date,close,float_share,free_share,circ_mv")
            _require(df, "daily_basic", ("ts_code", "close", "float_share", "free_share", "circ_mv"))
            self._cache[key] = df
        return self._cache[key]

    def _ci(self, code: str) -> str:
        """Canonical industry code -> tushare's (CI005001.WI -> CI005001.CI)."""
        return code.rsplit(".", 1)[0] + ".CI"

    def _canonical_industry(self, codes: pd.Series) -> pd.Series:
        return codes.astype(str).str.rsplit(".", n=1).str[0] + "." + self.industry_suffix

    # ------------------------------------------------------------------ tables
    def etf_info(self, codes: Sequence[str]) -> pd.DataFrame:
        """``etf_info`` for ``codes`` from ``fund_basic(market='E')`` (one call; missing codes asked one by one).

        tracked_index: tushare has no tracked-index field, so it is read from the benchmark text
        (业绩比较基准, e.g. "沪深300指数收益率") with :func:`index_from_benchmark`, unless
        ``etf_overrides`` gives it. category: :class:`CategoryRules` on name + benchmark + fund_type
        + invest_type. list_date: ``list_date`` (上市时间).
        """
        codes = check_codes(codes, "etf_info")
        basic = self._paged("fund_basic", market="E")
        missing = [c for c in codes if c not in set(basic.get("ts_code", pd.Series(dtype=str)))]
        extra = [self._call("fund_basic", ts_code=c) for c in missing]
        basic = pd.concat([basic] + [e for e in extra if len(e)], ignore_index=True)
        _require(basic, "fund_basic", ("ts_code", "name", "fund_type", "list_date", "benchmark"))
        basic = basic[basic["ts_code"].isin(codes)].drop_duplicates("ts_code", keep="first")
        still = [c for c in codes if c not in set(basic["ts_code"])]
        if still:
            raise SourceError(f"tushare fund_basic has no fund {', '.join(still)}; check the codes (with suffix, "
                              f"e.g. 510300.SH)")
        invest = basic["invest_type"].fillna("") if "invest_type" in basic else ""
        raw = pd.DataFrame({
            "etf": basic["ts_code"].astype(str), "name": basic["name"].astype(str),
            "text": basic["name"].fillna("").astype(str) + " " + basic["benchmark"].fillna("").astype(str),
            "fund_type": basic["fund_type"].fillna("").astype(str) + " " + invest,
            "tracked_index": "", "list_date": basic["list_date"],
        })
        return build_etf_info(raw, self.etf_overrides, self.rules, self.index_names, self.notes, "tushare")

    def etf_daily(self, codes: Sequence[str], start, end) -> pd.DataFrame:
        """``etf_daily`` (shares, nav, close, split_ratio) per ETF from fund_share, fund_nav, fund_daily, fund_adj.

        Rows are the days ``fund_share`` reports (see ``fill_share_gaps``); nav and close join on
        the date and stay empty where tushare has none. shares = fd_share × 1e4. split_ratio is
        inferred from ``fund_adj`` jumps confirmed by the share count on the same or an adjacent day
        (:func:`infer_split_ratio`) and recorded on the shares' day; without fund_adj rows it is 1.0
        and a note says so. On a split row a close or NAV still in old units (510310.SH traded in old
        units on 2024-09-20) is restated to post-split units (:func:`restate_split_rows`, noted).
        """
        codes = check_codes(codes, "etf_daily")
        frames = []
        for code in codes:
            sh = self._range("fund_share", start, end, ts_code=code)
            _require(sh, "fund_share", ("ts_code", "trade_date", "fd_share"))
            sh = sh[sh["ts_code"] == code]
            if sh.empty:
                self.notes.append(f"etf_daily: tushare fund_share has no rows for {code} in the range")
                continue
            shares = self._series(sh, "trade_date", "fd_share", f"fund_share {code}") * 1e4
            nav = self._range("fund_nav", start, end, ts_code=code)
            if len(nav):
                _require(nav, "fund_nav", ("ts_code", "nav_date", "unit_nav"))
                nav = nav[nav["ts_code"] == code]
                nav = _latest_announcement(nav, self.notes, code)
            navs = self._series(nav, "nav_date", "unit_nav", f"fund_nav {code}") if len(nav) else pd.Series(dtype=float)
            px = self._range("fund_daily", start, end, ts_code=code)
            if len(px):
                _require(px, "fund_daily", ("ts_code", "trade_date", "close"))
                px = px[px["ts_code"] == code]
            close = self._series(px, "trade_date", "close", f"fund_daily {code}") if len(px) else pd.Series(dtype=float)
            adj = self._range("fund_adj", start, end, ts_code=code)
            if len(adj):
                _require(adj, "fund_adj", ("ts_code", "trade_date", "adj_factor"))
                adj = adj[adj["ts_code"] == code]
            factor = self._series(adj, "trade_date", "adj_factor", f"fund_adj {code}") if len(adj) else None
            if self.fill_share_gaps and len(close):
                days = shares.index.union(close.index)
                days = days[days >= shares.index.min()]
                shares = shares.reindex(days).ffill()
            else:
                dropped = close.index.difference(shares.index)
                if len(dropped):
                    self.notes.append(f"etf_daily: {code}: {len(dropped)} fund_daily day(s) have no fund_share row "
                                      f"and are left out (see fill_share_gaps)")
            df = pd.DataFrame({"shares": shares})
            df["nav"] = navs.reindex(df.index)
            df["close"] = close.reindex(df.index)
            if factor is not None:
                df["split_ratio"] = infer_split_ratio(df["shares"], factor.reindex(df.index), self.split_threshold)
                for day, r in df.loc[df["split_ratio"] != 1.0, "split_ratio"].items():
                    self.notes.append(f"etf_daily: {code} split/consolidation inferred on {day.date()} "
                                      f"(ratio {r:.6f}, from fund_adj and fund_share)")
                for what in restate_split_rows(df):
                    self.notes.append(f"etf_daily: {code} split row restated to post-split units: {what}")
            else:
                df["split_ratio"] = 1.0
                self.notes.append(f"etf_daily: {code}: no fund_adj rows, split_ratio left at 1 (splits not detected)")
            frames.append(df.rename_axis("date").reset_index().assign(etf=code))
        return finish("etf_daily", pd.concat(frames, ignore_index=True)) if frames else empty("etf_daily")

    def _series(self, df: pd.DataFrame, date_col: str, value_col: str, what: str) -> pd.Series:
        """Value by date (ascending); exact duplicate rows dropped, conflicting duplicates noted (first kept)."""
        d = pd.DataFrame({"date": to_dates(df[date_col]).to_numpy(),
                          "v": pd.to_numeric(df[value_col], errors="coerce").to_numpy()})
        d = d.dropna(subset=["date"]).drop_duplicates()
        dup = d["date"].duplicated(keep="first")
        if dup.any():
            self.notes.append(f"{what}: {int(dup.sum())} date(s) with conflicting rows; the first row tushare "
                              f"returned (newest) kept")
            d = d[~dup]
        return d.set_index("date")["v"].sort_index()

    def index_daily(self, codes: Sequence[str], start, end) -> pd.DataFrame:
        """``index_daily`` closes (收盘点位) per index code from tushare ``index_daily``."""
        codes = check_codes(codes, "index_daily")
        parts = []
        for code in codes:
            df = self._range("index_daily", start, end, ts_code=code)
            if df.empty:
                self.notes.append(f"index_daily: tushare has no rows for {code} in the range")
                continue
            _require(df, "index_daily", ("ts_code", "trade_date", "close"))
            s = self._series(df[df["ts_code"] == code], "trade_date", "close", f"index_daily {code}")
            parts.append(pd.DataFrame({"date": s.index, "index": code, "close": s.to_numpy()}))
        return finish("index_daily", pd.concat(parts, ignore_index=True)) if parts else empty("index_daily")

    def index_weights(self, index: str, start, end) -> pd.DataFrame:
        """Constituent weights of ``index`` from ``index_weight``, one call per calendar month.

        weight = tushare weight (%) / 100. Weights are **not** renormalised: tushare's sums are
        typically 99.9-100.1 %, and validation reports sums off by more than 1e-3. When tushare has
        no rows for a code but files the index under another code (:data:`INDEX_WEIGHT_ALIASES`,
        e.g. CSI 300 as 399300.SZ), the alias is asked and the rows relabelled (noted).
        """
        query = index

        def fetch(code: str) -> pd.DataFrame:
            parts = [self._range("index_weight", s, e, index_code=code) for s, e in month_windows(start, end)]
            parts = [p for p in parts if len(p)]
            return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

        df = fetch(index)
        if df.empty and index in INDEX_WEIGHT_ALIASES:
            query = INDEX_WEIGHT_ALIASES[index]
            df = fetch(query)
            if len(df):
                self.notes.append(f"index_weights: {index} weights read from tushare code {query} (same index)")
        if df.empty:
            self.notes.append(f"index_weights: tushare has no weights for {index} in the range")
            return empty("index_weights")
        _require(df, "index_weight", ("index_code", "con_code", "trade_date", "weight"))
        df = df[df["index_code"] == query].drop_duplicates(["trade_date", "con_code"])
        out = pd.DataFrame({"date": df["trade_date"], "index": index, "stock": df["con_code"],
                            "weight": pd.to_numeric(df["weight"], errors="coerce") / 100.0})
        return finish("index_weights", out)

    def stock_industry(self) -> pd.DataFrame:
        """Stock → CITIC level-1 industry from ``ci_index_member(is_new='Y')`` (current snapshot, not point-in-time).

        industry = l1_code with the canonical suffix (CI005001.CI → CI005001.WI); industry_name =
        l1_name. A stock listed twice keeps its latest ``in_date`` row (noted).
        """
        df = self._paged("ci_index_member", is_new="Y")
        _require(df, "ci_index_member", ("l1_code", "l1_name", "ts_code"))
        if "in_date" in df:
            df = df.assign(_in=to_dates(df["in_date"]).to_numpy()).sort_values("_in", ascending=False, kind="stable")
        dup = df["ts_code"].duplicated(keep="first")
        if dup.any():
            self.notes.append(f"stock_industry: {int(dup.sum())} stock(s) listed twice by ci_index_member; "
                              f"latest in_date kept")
            df = df[~dup]
        out = pd.DataFrame({"stock": df["ts_code"], "industry": self._canonical_industry(df["l1_code"]),
                            "industry_name": df["l1_name"]})
        return finish("stock_industry", out)

    def industry_daily(self, codes: Sequence[str] = CITIC_L1, start=None, end=None) -> pd.DataFrame:
        """Industry index closes from ``ci_daily`` (CITIC); codes in canonical form (CI005001.WI)."""
        codes = check_codes(codes, "industry_daily")
        parts = []
        for code in codes:
            df = self._range("ci_daily", start, end, ts_code=self._ci(code))
            if df.empty:
                self.notes.append(f"industry_daily: tushare ci_daily has no rows for {self._ci(code)}")
                continue
            _require(df, "ci_daily", ("ts_code", "trade_date", "close"))
            s = self._series(df[df["ts_code"] == self._ci(code)], "trade_date", "close", f"ci_daily {code}")
            parts.append(pd.DataFrame({"date": s.index, "industry": code, "close": s.to_numpy()}))
        return finish("industry_daily", pd.concat(parts, ignore_index=True)) if parts else empty("industry_daily")

    def northbound_holdings(self, start, end, stocks: Sequence[str] | None = None) -> pd.DataFrame:
        """Northbound holdings per stock and day from ``hk_hold`` (exchange SH and SZ), one trading day per call.

        shares_held = vol (股); held_value = vol × daily_basic.close (元); float_ratio = vol /
        (float_share × 1e4) (``float_basis``), or tushare ``ratio`` / 100 (share of issued shares)
        with ``northbound_ratio="issued"``. Days without holdings (HKEX stopped daily disclosure
        after 2024-08-16; quarterly since) are skipped. ``stocks``: keep only these (default all).
        """
        keep = set(stocks) if stocks is not None else None
        parts = []
        for day in self.trade_days(start, end):
            hk = [self._paged("hk_hold", trade_date=date_str(day), exchange=x) for x in ("SH", "SZ")]
            hk = [h for h in hk if len(h)]
            if not hk:
                continue
            hk = pd.concat(hk, ignore_index=True)
            _require(hk, "hk_hold", ("ts_code", "trade_date", "vol", "ratio", "exchange"))
            hk = hk[hk["exchange"].isin(["SH", "SZ"])].drop_duplicates("ts_code")
            if keep is not None:
                hk = hk[hk["ts_code"].isin(keep)]
            vol = pd.to_numeric(hk["vol"], errors="coerce").to_numpy(dtype=float)
            out = pd.DataFrame({"date": day, "stock": hk["ts_code"].to_numpy(), "shares_held": vol})
            if self.northbound_ratio == "issued":
                out["float_ratio"] = pd.to_numeric(hk["ratio"], errors="coerce").to_numpy(dtype=float) / 100.0
                out["held_value"] = np.nan
            else:
                basic = self._daily_basic(day).drop_duplicates("ts_code").set_index("ts_code")
                close = pd.to_numeric(out["stock"].map(basic["close"]), errors="coerce")
                denom = pd.to_numeric(out["stock"].map(basic[self.float_basis]), errors="coerce") * 1e4
                out["held_value"] = vol * close.to_numpy(dtype=float)
                out["float_ratio"] = vol / denom.to_numpy(dtype=float)
                miss = int(np.isnan(out["float_ratio"].to_numpy()).sum())
                if miss:
                    self.notes.append(f"northbound_holdings {day.date()}: {miss} stock(s) without daily_basic "
                                      f"{self.float_basis}; float_ratio left empty")
            parts.append(out)
        if not parts:
            self.notes.append("northbound_holdings: tushare hk_hold has no northbound rows in the range")
            return empty("northbound_holdings")
        return finish("northbound_holdings", pd.concat(parts, ignore_index=True))

    def margin_daily(self, start, end) -> pd.DataFrame:
        """Margin financing per security and day from ``margin_detail`` (rzye / rzmre / rzche, yuan), one day per call.

        tushare lists every margin-eligible security, ETFs included; they are kept (filter by code
        if you want stocks only).
        """
        parts = []
        for day in self.trade_days(start, end):
            df = self._paged("margin_detail", trade_date=date_str(day))
            if df.empty:
                continue
            _require(df, "margin_detail", ("ts_code", "trade_date", "rzye", "rzmre", "rzche"))
            parts.append(pd.DataFrame({"date": day, "stock": df["ts_code"].to_numpy(),
                                       "financing_balance": df["rzye"].to_numpy(),
                                       "financing_buy": df["rzmre"].to_numpy(),
                                       "financing_repay": df["rzche"].to_numpy()}))
        return finish("margin_daily", pd.concat(parts, ignore_index=True)) if parts else empty("margin_daily")

    def stock_daily(self, start, end, stocks: Sequence[str] | None = None) -> pd.DataFrame:
        """Stock close, turnover and float market cap from ``daily`` + ``daily_basic``, one trading day per call.

        amount = daily.amount (千元) × 1e3; float_mcap = daily_basic.circ_mv (万元) × 1e4 with
        ``float_basis="float_share"``, or free_share (万股) × 1e4 × close with ``"free_share"``.
        ``daily`` is unadjusted; suspended stocks have no row that day.
        """
        keep = set(stocks) if stocks is not None else None
        parts = []
        for day in self.trade_days(start, end):
            px = self._paged("daily", trade_date=date_str(day))
            if px.empty:
                continue
            _require(px, "daily", ("ts_code", "trade_date", "close", "amount"))
            if keep is not None:
                px = px[px["ts_code"].isin(keep)]
            basic = self._daily_basic(day).drop_duplicates("ts_code").set_index("ts_code")
            close = pd.to_numeric(px["close"], errors="coerce").to_numpy(dtype=float)
            if self.float_basis == "float_share":
                mcap = pd.to_numeric(px["ts_code"].map(basic["circ_mv"]), errors="coerce").to_numpy(dtype=float) * 1e4
            else:
                mcap = (pd.to_numeric(px["ts_code"].map(basic["free_share"]), errors="coerce").to_numpy(dtype=float)
                        * 1e4 * close)
            parts.append(pd.DataFrame({"date": day, "stock": px["ts_code"].to_numpy(), "close": close,
                                       "amount": pd.to_numeric(px["amount"], errors="coerce").to_numpy(dtype=float) * 1e3,
                                       "float_mcap": mcap}))
        return finish("stock_daily", pd.concat(parts, ignore_index=True)) if parts else empty("stock_daily")

    def fund_nav(self, codes: Sequence[str], start, end) -> pd.DataFrame:
        """Unit NAV (``fund_nav.unit_nav`` by nav_date) of funds, e.g. active equity funds (``000001.OF``)."""
        codes = check_codes(codes, "fund_nav")
        parts = []
        for code in codes:
            df = self._range("fund_nav", start, end, ts_code=code)
            if df.empty:
                self.notes.append(f"fund_nav: tushare has no NAV rows for {code}")
                continue
            _require(df, "fund_nav", ("ts_code", "nav_date", "unit_nav"))
            df = _latest_announcement(df[df["ts_code"] == code], self.notes, code)
            s = self._series(df, "nav_date", "unit_nav", f"fund_nav {code}")
            parts.append(pd.DataFrame({"date": s.index, "fund": code, "nav": s.to_numpy()}))
        return finish("fund_nav", pd.concat(parts, ignore_index=True)) if parts else empty("fund_nav")

    def active_fund_holdings(self, *args, **kwargs):
        raise unsupported("active_fund_holdings", "tushare (this adapter)")

    def fund_issuance(self, *args, **kwargs):
        raise unsupported("fund_issuance", "tushare (this adapter)")


# ----------------------------------------------------------------------------- helpers


class _HTTPError(Exception):
    """An HTTP error status tushare's client turned into an empty table; 429 and 5xx are worth retrying."""

    def __init__(self, response):
        self.transient = response.status_code == 429 or response.status_code >= 500
        super().__init__(f"the service answered HTTP {response.status_code} {response.reason or ''}".rstrip()
                         + " (tushare's client returns an empty table for it)")


def _raise_http_error(df, response) -> None:
    """Raise :class:`_HTTPError` when ``df`` is the column-less table tushare's client returns for an HTTP error."""
    if response is not None and not response.ok and isinstance(df, pd.DataFrame) and df.columns.empty:
        raise _HTTPError(response)


def _require(df: pd.DataFrame, api: str, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SourceError(f"tushare {api} answer lacks column(s) {', '.join(missing)} (got {', '.join(map(str, df.columns))})")


def _latest_announcement(nav: pd.DataFrame, notes: list[str], code: str) -> pd.DataFrame:
    """fund_nav rows, one per nav_date: the latest ``ann_date`` wins (restated NAVs)."""
    if "ann_date" not in nav or nav.empty:
        return nav
    nav = nav.assign(_ann=to_dates(nav["ann_date"]).to_numpy()).sort_values("_ann", ascending=False, kind="stable")
    dup = nav["nav_date"].duplicated(keep="first")
    if dup.any():
        notes.append(f"fund_nav {code}: {int(dup.sum())} NAV date(s) announced twice; latest announcement kept")
    return nav[~dup]
