"""Wind (WindPy) adapter: canonical tables from a started WindPy ``w`` object.

WindPy calls return a ``WindData`` object with ``.ErrorCode`` (0 = success), ``.Codes``,
``.Fields`` (upper case), ``.Times`` and ``.Data`` (a list of lists). Its layout depends on the
call (Wind Python API manual, 接口手册):

* ``w.wsd(code, "f1,f2", start, end, opts)`` — one code, several fields: ``Data[i]`` is field i
  over ``Times``; ``w.wsd("c1,c2", "f", ...)`` — several codes, one field: ``Data[j]`` is code j.
  (wsd takes "多品种单指标 或者 单品种多指标", never both.)
* ``w.wss(codes, fields, opts)`` — a cross-section: ``Data[i][j]`` is field i of code j.
* ``w.wset(report, opts)`` — a report: ``Data[i]`` is column ``Fields[i]`` over the rows.
* ``w.tdays(start, end, "Period=M")`` — ``Data[0]`` are the dates.

Fields used (configurable where marked):

==========================  =====================================================  ====================
canonical                   Wind call / field                                      conversion
==========================  =====================================================  ====================
etf_info                    wss ``sec_name, fund_trackindexcode, fund_benchmark,   category by rules;
                            fund_investtype, fund_setupdate``                      list_date = 成立日
etf_daily.shares            wsd ``unit_total`` (基金份额) with ``unit=1`` (份)      × ``shares_scale``
etf_daily.nav / close       wsd ``nav`` (单位净值) / ``close``                       as is
etf_daily.split_ratio       wsd ``NAV_adj`` (复权单位净值) / ``nav``                  inferred jumps
index_daily, industry_daily wsd ``close``                                          as is
index_weights               wset ``indexconstituent`` ``date=..;windcode=..``:    ÷ 100
                            ``wind_code``, ``i_weight`` (%), at month ends (tdays)
stock_industry              wset ``sectorconstituent`` ``windcode=CI0050xx.WI``;    name without "(中信)"
                            names from wss ``sec_name``
==========================  =====================================================  ====================

The share field and its unit option are parameters: Wind also has ``unit_fundshare_total``
(基金份额合计, includes off-exchange shares from periodic reports at quarter ends) and
``unit_floortrading`` (场内流通份额). Check the unit your terminal returns in the Wind code
generator (代码生成器) and set ``shares_scale`` (e.g. 1e4 if it returns 万份).

northbound_holdings, margin_daily, stock_daily, fund_nav, active_fund_holdings and fund_issuance
are not implemented for Wind: export them from the terminal to CSV/xlsx (Wind-style wide sheets
load directly). This adapter is tested against fake WindData objects, not against a live terminal.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

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
    empty,
    finish,
    infer_split_ratio,
    restate_split_rows,
    to_dates,
    unsupported,
)

#: a few WindPy error codes and what they usually mean (the full list is in the WindPy manual)
WIND_ERRORS: dict[int, str] = {
    -103: "not logged in / WindPy not started (call w.start())",
    -40520007: "no data for the request",
    -40521009: "data service timeout",
    -40522005: "unsupported field or option for this security type",
    -40522017: "data quota exceeded",
}


class WindClient:
    """Canonical tables from a started WindPy ``w`` object.

    Parameters
    ----------
    w : ``from WindPy import w; w.start()`` (or any object with ``wsd/wss/wset/tdays`` returning
        WindData-like objects).
    shares_field, shares_options, shares_scale : ETF share field (``unit_total``), its wsd
        options (``"unit=1"``: units) and the factor that turns the returned number into units.
    nav_field, nav_adj_field : unit NAV (``nav``) and adjusted unit NAV (``NAV_adj``) used to
        infer splits (:func:`~xladdin.data.clients.base.infer_split_ratio` on ``NAV_adj / nav``).
    as_of : date of the ``stock_industry`` snapshot (default: today).
    """

    name = "wind"
    tables = ("etf_info", "etf_daily", "index_daily", "index_weights", "stock_industry", "industry_daily")

    def __init__(self, w, *, shares_field: str = "unit_total", shares_options: str = "unit=1",
                 shares_scale: float = 1.0, nav_field: str = "nav", nav_adj_field: str = "NAV_adj",
                 split_threshold: float = 0.05, category_rules: CategoryRules = DEFAULT_CATEGORY_RULES,
                 index_names: Mapping[str, str] = DEFAULT_INDEX_NAMES, etf_overrides: pd.DataFrame | None = None,
                 as_of=None):
        self.w = w
        self.shares_field, self.shares_options, self.shares_scale = shares_field, shares_options, shares_scale
        self.nav_field, self.nav_adj_field = nav_field, nav_adj_field
        self.split_threshold = split_threshold
        self.rules, self.index_names, self.etf_overrides = category_rules, index_names, etf_overrides
        self.as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.today().normalize()
        self.notes: list[str] = []

    @classmethod
    def from_env(cls, **kwargs) -> WindClient:
        """Import WindPy, start it and check the connection (a Wind terminal must be logged in)."""
        try:
            from WindPy import w  # type: ignore[import-not-found]  # optional, Windows only: the Wind terminal's own package
        except ImportError as exc:
            raise SourceError("WindPy is not installed: it ships with the Wind terminal (修复Python接口 in the "
                              "terminal's 量化 menu); it is not on PyPI") from exc
        w.start()
        if not w.isconnected():
            raise SourceError("WindPy could not connect: log in to the Wind terminal first")
        return cls(w, **kwargs)

    # ------------------------------------------------------------------ calls
    def _check(self, data, what: str):
        code = getattr(data, "ErrorCode", None)
        if code is None:
            raise SourceError(f"Wind {what} returned {type(data).__name__}, not a WindData object")
        if code != 0:
            detail = ""
            try:
                detail = str(data.Data[0][0]) if data.Data and data.Data[0] else ""
            except (TypeError, IndexError):
                detail = ""
            meaning = WIND_ERRORS.get(int(code), "see the WindPy manual's error-code table")
            raise SourceError(f"Wind {what} failed with ErrorCode {code} ({meaning}){': ' + detail if detail else ''}")
        return data

    def _wsd_fields(self, code: str, fields: Sequence[str], start, end, options: str = "") -> pd.DataFrame:
        """One code, several fields: index = date, columns = lower-case fields."""
        what = f"wsd({code!r}, {','.join(fields)!r})"
        d = self._check(self.w.wsd(code, ",".join(fields), _wdate(start), _wdate(end), options), what)
        names = [str(f).lower() for f in d.Fields]
        _shape(d, len(names), what)
        return pd.DataFrame({n: list(col) for n, col in zip(names, d.Data)}, index=to_dates(list(d.Times)).to_numpy())

    def _wsd_codes(self, codes: Sequence[str], field: str, start, end, options: str = "") -> pd.DataFrame:
        """Several codes, one field: index = date, columns = codes."""
        what = f"wsd({','.join(codes)!r}, {field!r})"
        d = self._check(self.w.wsd(",".join(codes), field, _wdate(start), _wdate(end), options), what)
        _shape(d, len(d.Codes), what)
        return pd.DataFrame({str(c): list(col) for c, col in zip(d.Codes, d.Data)},
                            index=to_dates(list(d.Times)).to_numpy())

    def _wset(self, report: str, options: str) -> pd.DataFrame:
        what = f"wset({report!r}, {options!r})"
        d = self._check(self.w.wset(report, options), what)
        names = [str(f).lower() for f in d.Fields]
        _shape(d, len(names), what)
        return pd.DataFrame({n: list(col) for n, col in zip(names, d.Data)})

    def _wss(self, codes: Sequence[str], fields: Sequence[str], options: str = "") -> pd.DataFrame:
        what = f"wss({','.join(codes)!r}, {','.join(fields)!r})"
        d = self._check(self.w.wss(",".join(codes), ",".join(fields), options), what)
        names = [str(f).lower() for f in d.Fields]
        _shape(d, len(names), what)
        return pd.DataFrame({n: list(col) for n, col in zip(names, d.Data)}, index=[str(c) for c in d.Codes])

    def month_ends(self, start, end) -> list[pd.Timestamp]:
        """Last trading day of each month in [start, end] (``w.tdays(..., "Period=M")``)."""
        d = self._check(self.w.tdays(_wdate(start), _wdate(end), "Period=M"), "tdays(Period=M)")
        days = to_dates(list(d.Data[0]) if d.Data else []).dropna()
        return sorted(days)

    # ------------------------------------------------------------------ tables
    def etf_info(self, codes: Sequence[str]) -> pd.DataFrame:
        """``etf_info`` from wss (name, tracked index code, benchmark, investment type, setup date)."""
        codes = check_codes(codes, "etf_info")
        df = self._wss(codes, ["sec_name", "fund_trackindexcode", "fund_benchmark", "fund_investtype",
                               "fund_setupdate"])
        blank = df["sec_name"].isna() | (df["sec_name"].astype(str).str.strip().isin(["", "None", "nan"]))
        if blank.any():
            raise SourceError(f"Wind knows no fund {', '.join(df.index[blank])}; check the codes")
        track = df["fund_trackindexcode"].where(df["fund_trackindexcode"].notna(), "").astype(str)
        raw = pd.DataFrame({
            "etf": df.index, "name": df["sec_name"].astype(str).to_numpy(),
            "text": (df["sec_name"].fillna("").astype(str) + " " + df["fund_benchmark"].fillna("").astype(str)).to_numpy(),
            "fund_type": df["fund_investtype"].fillna("").astype(str).to_numpy(),
            "tracked_index": track.replace({"None": "", "nan": ""}).to_numpy(),
            "list_date": df["fund_setupdate"].to_numpy(),
        })
        return build_etf_info(raw, self.etf_overrides, self.rules, self.index_names, self.notes, "Wind")

    def etf_daily(self, codes: Sequence[str], start, end) -> pd.DataFrame:
        """``etf_daily`` per ETF from one wsd call (shares, nav, close, NAV_adj).

        Days without a share count are left out (noted); nav/close stay empty where Wind has none.
        split_ratio is inferred from jumps of NAV_adj / nav confirmed by the shares on the same or an
        adjacent day, recorded on the shares' day; old-unit values there are restated.
        """
        codes = check_codes(codes, "etf_daily")
        fields = [self.shares_field, self.nav_field, "close", self.nav_adj_field]
        frames = []
        for code in codes:
            df = self._wsd_fields(code, fields, start, end, self.shares_options)
            df = df.apply(pd.to_numeric, errors="coerce")
            df.columns = ["shares", "nav", "close", "nav_adj"]
            no_shares = df["shares"].isna()
            if no_shares.all():
                self.notes.append(f"etf_daily: Wind has no {self.shares_field} for {code} in the range")
                continue
            if no_shares.any():
                self.notes.append(f"etf_daily: {code}: {int(no_shares.sum())} day(s) without {self.shares_field} "
                                  f"left out")
            df = df[~no_shares].copy()
            df["shares"] *= self.shares_scale
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = df["nav_adj"] / df["nav"]
            df["split_ratio"] = infer_split_ratio(df["shares"], factor, self.split_threshold)
            for day, r in df.loc[df["split_ratio"] != 1.0, "split_ratio"].items():
                self.notes.append(f"etf_daily: {code} split/consolidation inferred on {day.date()} (ratio {r:.6f})")
            for what in restate_split_rows(df):
                self.notes.append(f"etf_daily: {code} split row restated to post-split units: {what}")
            frames.append(df.drop(columns="nav_adj").rename_axis("date").reset_index().assign(etf=code))
        return finish("etf_daily", pd.concat(frames, ignore_index=True)) if frames else empty("etf_daily")

    def _closes(self, table: str, code_col: str, codes: Sequence[str], start, end) -> pd.DataFrame:
        wide = self._wsd_codes(codes, "close", start, end).apply(pd.to_numeric, errors="coerce")
        long = wide.rename_axis("date").reset_index().melt(id_vars="date", var_name=code_col, value_name="close")
        long = long.dropna(subset=["close"])
        for c in codes:
            if c not in set(long[code_col]):
                self.notes.append(f"{table}: Wind has no close for {c} in the range")
        return finish(table, long)

    def index_daily(self, codes: Sequence[str], start, end) -> pd.DataFrame:
        """Index closes from one wsd call (several codes, field ``close``); empty cells dropped."""
        return self._closes("index_daily", "index", check_codes(codes, "index_daily"), start, end)

    def industry_daily(self, codes: Sequence[str] = CITIC_L1, start=None, end=None) -> pd.DataFrame:
        """Industry index closes (e.g. CITIC CI005001.WI ...) from one wsd call."""
        return self._closes("industry_daily", "industry", check_codes(codes, "industry_daily"), start, end)

    def index_weights(self, index: str, start, end) -> pd.DataFrame:
        """Constituent weights at each month end from ``wset("indexconstituent", ...)``; i_weight (%) / 100, not renormalised."""
        parts = []
        for day in self.month_ends(start, end):
            df = self._wset("indexconstituent", f"date={day:%Y-%m-%d};windcode={index}")
            if df.empty:
                continue
            if "wind_code" not in df or "i_weight" not in df:
                raise SourceError(f"Wind indexconstituent answer lacks wind_code/i_weight (got {', '.join(df.columns)})")
            parts.append(pd.DataFrame({"date": day, "index": index, "stock": df["wind_code"].astype(str),
                                       "weight": pd.to_numeric(df["i_weight"], errors="coerce") / 100.0}))
        if not parts:
            self.notes.append(f"index_weights: Wind has no constituents for {index} in the range")
            return empty("index_weights")
        return finish("index_weights", pd.concat(parts, ignore_index=True))

    def stock_industry(self, industries: Sequence[str] = CITIC_L1) -> pd.DataFrame:
        """Stock → industry snapshot on ``as_of`` from ``wset("sectorconstituent", "date=..;windcode=<industry>")``.

        Not point-in-time. industry_name = the index's ``sec_name`` without Wind's "(中信)" suffix.
        """
        names = self._wss(list(industries), ["sec_name"])["sec_name"].astype(str)
        names = names.str.replace(r"\s*[(（]中信[)）]\s*$", "", regex=True)
        parts = []
        for code in industries:
            df = self._wset("sectorconstituent", f"date={self.as_of:%Y-%m-%d};windcode={code}")
            if df.empty:
                self.notes.append(f"stock_industry: Wind lists no constituents of {code} on {self.as_of.date()}")
                continue
            parts.append(pd.DataFrame({"stock": df["wind_code"].astype(str), "industry": code,
                                       "industry_name": names.get(code, "")}))
        if not parts:
            return empty("stock_industry")
        return finish("stock_industry", pd.concat(parts, ignore_index=True))

    def northbound_holdings(self, *args, **kwargs):
        raise unsupported("northbound_holdings", "Wind (this adapter)",
                          "export it from the terminal (e.g. 陆股通持股) to northbound_holdings.xlsx, or use --source tushare")

    def margin_daily(self, *args, **kwargs):
        raise unsupported("margin_daily", "Wind (this adapter)",
                          "export it from the terminal to margin_daily.xlsx, or use --source tushare")

    def stock_daily(self, *args, **kwargs):
        raise unsupported("stock_daily", "Wind (this adapter)",
                          "export close / amt / mkt_cap_float wide sheets to stock_daily.xlsx, or use --source tushare")

    def fund_nav(self, *args, **kwargs):
        raise unsupported("fund_nav", "Wind (this adapter)", "export nav for your funds to fund_nav.xlsx, or use --source tushare")

    def active_fund_holdings(self, *args, **kwargs):
        raise unsupported("active_fund_holdings", "Wind (this adapter)")

    def fund_issuance(self, *args, **kwargs):
        raise unsupported("fund_issuance", "Wind (this adapter)")


def _wdate(d) -> str:
    return pd.Timestamp(d).strftime("%Y-%m-%d")


def _shape(d, n: int, what: str) -> None:
    if len(d.Data) != n:
        raise SourceError(f"Wind {what}: {len(d.Data)} data column(s) for {n} field(s)/code(s)")


