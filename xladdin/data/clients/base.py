"""The data-client protocol, shared shaping helpers and :func:`fetch_market`.

A data client wraps a vendor API object (a tushare ``pro_api`` or a WindPy ``w``) and returns
the canonical long-form tables of :mod:`xladdin.data.schema`: dates ``datetime64[ns]``, codes ``str``
with their exchange suffix (``510300.SH``), amounts in yuan, shares in units. A table the source
cannot provide raises :class:`NotImplementedError` naming the table and the source.

The adapters never write files: :func:`fetch_market` returns a :class:`~xladdin.data.market.Market`
that the caller validates (:func:`xladdin.data.validate_market`) and writes
(:func:`xladdin.data.write_market`).
"""
from __future__ import annotations

import importlib
import importlib.metadata
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from xladdin.data.market import Market
from xladdin.data.schema import ETF_CATEGORIES, TABLES


class SourceError(ValueError):
    """The vendor API failed or answered something unusable; the message names the call."""


def extra_requirements(extra: str) -> list[str]:
    """The requirements of xladdin's optional ``extra`` as the installed metadata states them (pyproject.toml's
    ``[project.optional-dependencies]``, their one owner); empty when xladdin runs from a checkout uninstalled."""
    try:
        requires = importlib.metadata.requires("xladdin") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    return [r.split(";", 1)[0].strip() for r in requires if ";" in r and marker.search(r.split(";", 1)[1])]


def install_hint(extra: str) -> str:
    """How to install what xladdin's ``extra`` needs into the running Python: the xladdin wheel with the extra
    (there is no xladdin on any package index), or its requirements one by one."""
    reqs = " ".join(f'"{r}"' for r in extra_requirements(extra))
    return (f'install it into this Python ({sys.executable}): `python -m pip install "<path or URL of the xladdin '
            f'wheel>[{extra}]"`' + (f" (or `python -m pip install {reqs}`)" if reqs else ""))


def import_vendor(name: str, extra: str) -> ModuleType:
    """The vendor library ``name`` of xladdin's optional ``extra``; a SourceError saying what to install when it
    is missing, or when it is there but one of its own imports fails (a dependency it does not declare)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == name:
            raise SourceError(f"the {name} package is not installed: {install_hint(extra)}") from exc
        raise SourceError(f"the {name} package is installed but does not import ({type(exc).__name__}: {exc}): "
                          f"{install_hint(extra)}") from exc


@runtime_checkable
class DataClient(Protocol):
    """What a data client offers. ``tables`` lists the canonical tables it can fetch.

    Every method returns one canonical long-form table (columns and dtypes of
    :data:`xladdin.data.schema.TABLES`, sorted by date then code); ``start``/``end`` are inclusive and
    accept anything :class:`pandas.Timestamp` parses. Methods for tables outside ``tables`` raise
    :class:`NotImplementedError`.
    """

    name: str
    tables: tuple[str, ...]
    notes: list[str]

    def etf_info(self, codes: Sequence[str]) -> pd.DataFrame: ...
    def etf_daily(self, codes: Sequence[str], start, end) -> pd.DataFrame: ...
    def index_daily(self, codes: Sequence[str], start, end) -> pd.DataFrame: ...
    def index_weights(self, index: str, start, end) -> pd.DataFrame: ...
    def stock_industry(self) -> pd.DataFrame: ...
    def industry_daily(self, codes: Sequence[str], start, end) -> pd.DataFrame: ...
    def northbound_holdings(self, start, end) -> pd.DataFrame: ...
    def margin_daily(self, start, end) -> pd.DataFrame: ...
    def stock_daily(self, start, end) -> pd.DataFrame: ...
    def fund_nav(self, codes: Sequence[str], start, end) -> pd.DataFrame: ...
    def active_fund_holdings(self, funds: Sequence[str], start, end) -> pd.DataFrame: ...
    def fund_issuance(self, start, end) -> pd.DataFrame: ...


def check_codes(codes: Sequence[str], table: str) -> list[str]:
    """Codes as given, stripped and de-duplicated; each must carry an exchange suffix (510300.SH)."""
    codes = [str(c).strip() for c in (codes or []) if str(c).strip()]
    if not codes:
        raise ValueError(f"{table}: no codes given")
    bad = [c for c in codes if "." not in c]
    if bad:
        raise ValueError(f"{table}: code(s) {', '.join(bad)} lack an exchange suffix (write 510300.SH, 000300.SH)")
    return list(dict.fromkeys(codes))


def unsupported(table: str, source: str, hint: str = "") -> NotImplementedError:
    """The error for a table a source cannot provide (raise the returned exception)."""
    msg = f"table `{table}` cannot be fetched from {source}"
    msg += f": {hint}" if hint else f"; provide {table}.csv yourself (columns: {', '.join(TABLES[table].columns)})"
    return NotImplementedError(msg)


#: CITIC level-1 industry index codes as used in the canonical tables (Wind's ``.WI`` suffix)
CITIC_L1 = tuple(f"CI0050{i:02d}.WI" for i in range(1, 31))


# ----------------------------------------------------------------------------- shaping
def to_dates(values) -> pd.Series:
    """Vendor dates (``'20240102'`` strings, ``datetime`` objects, ISO strings) as ``datetime64[ns]``."""
    s = pd.Series(values)
    if s.empty:
        return pd.Series(pd.to_datetime(s), dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.astype("datetime64[ns]")
    text = s.astype("string").str.strip()
    compact = text.str.fullmatch(r"\d{8}").fillna(False)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if compact.any():
        out[compact] = pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce")
    rest = ~compact & text.notna()
    if rest.any():
        out[rest] = pd.to_datetime(s[rest], errors="coerce", format="mixed")
    return out.astype("datetime64[ns]")


def finish(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order and dtypes for table ``name``, sorted by date then the other key columns.

    Dates become ``datetime64[ns]``, numeric columns ``float64``, other columns ``str``. Rows are
    neither dropped nor de-duplicated here: validation reports duplicates.
    """
    spec = TABLES[name]
    out = pd.DataFrame(index=df.index)
    for col in spec.columns:
        if col not in df.columns:
            if col in spec.optional:
                out[col] = np.nan if col in spec.numeric else (pd.NaT if col in spec.date_cols else "")
                continue
            raise SourceError(f"internal: column `{col}` missing while building {name}")
        s = df[col]
        if col in spec.date_cols:
            out[col] = to_dates(s).to_numpy()
        elif col in spec.numeric:
            out[col] = pd.to_numeric(s, errors="coerce").astype(float)
        else:
            out[col] = s.astype("string").fillna("").astype(str)
    for col in spec.date_cols:
        out[col] = out[col].astype("datetime64[ns]")
    order = ([spec.sorted_by] + [c for c in spec.key if c != spec.sorted_by]) if spec.sorted_by else list(spec.key)
    return out.sort_values(order, kind="stable").reset_index(drop=True)


def empty(name: str) -> pd.DataFrame:
    """An empty canonical table ``name`` with the right dtypes."""
    return finish(name, pd.DataFrame({c: [] for c in TABLES[name].columns}))


def date_str(d, fmt: str = "%Y%m%d") -> str:
    """A date in the vendor's format (tushare ``YYYYMMDD``, Wind ``YYYY-MM-DD``)."""
    return pd.Timestamp(d).strftime(fmt)


def month_windows(start, end) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Calendar months covering [start, end], clipped to it: [(first, last), ...]."""
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if end < start:
        raise ValueError(f"end {end.date()} is before start {start.date()}")
    firsts = pd.date_range(start.replace(day=1), end, freq="MS")
    return [(max(f, start), min(f + pd.offsets.MonthEnd(0), end)) for f in firsts]


# ----------------------------------------------------------------------------- split inference
#: trading days a split's share jump and its price-basis jump may lie apart (spec, "Splits recorded on
#: adjacent days": the exchanges date 510310.SH's consolidation on 2024-09-20, the price doubles on 09-23)
SPLIT_MAX_LAG = 1


def infer_split_ratio(shares: pd.Series, adj_factor: pd.Series, threshold: float = 0.05,
                      max_lag: int = SPLIT_MAX_LAG) -> pd.Series:
    """Split / consolidation ratio per day from jumps of an adjustment factor, confirmed by the shares.

    Parameters
    ----------
    shares : units outstanding of one ETF, indexed by date (sorted ascending).
    adj_factor : the vendor's cumulative (back-)adjustment factor of the same ETF, same index
        (tushare ``fund_adj.adj_factor``; Wind ``NAV_adj / nav``; hfq / raw close). Missing values
        are allowed.
    threshold : minimum relative jump of the factor that can be a split (default 5 %).
    max_lag : rows the share jump may lie before or after the factor jump (default 1: adjacent days).

    Returns
    -------
    Series of split ratios (new units per old unit) on the same index; 1.0 on ordinary days. The
    ratio sits on the row of the **share** jump (the spec records a split on the shares' day).

    Notes
    -----
    Neither tushare nor Wind publish an explicit daily split ratio, so it is inferred. With
    ``r_t = f_t / f_{t-1}`` (factor ratio over consecutive rows with a factor) and
    ``s_d = shares_d / shares_{d-1}``, a factor jump on row t is a split recorded on row d when

    * ``|ln r_t| > ln(1 + threshold)`` — cash dividends move a back-adjustment factor by
      ``pre_close / (pre_close - dividend)``, about 1-3 % for equity ETFs, below the threshold; and
    * d is t, else t - 1, else t + 1 (up to ``max_lag`` rows away; the nearest, earlier first), the
      first such row where ``ln s_d`` has the sign of ``ln r_t`` and ``|ln s_d - ln r_t| < |ln r_t| / 2``
      — the share count moved at least half-way towards the split (creations or redemptions on the
      split day move it further: 510310.SH on 2024-09-20 had r = 0.49978 and s = 0.51161), and no
      other factor jump already claimed row d.

    The exchanges date a consolidation one trading day before the traded price changes basis
    (510310.SH: shares halve on 2024-09-20, the close doubles on 09-23), so a same-day rule alone
    would miss it and read the halving as an outflow. A factor jump without a matching share jump
    (a large dividend, a vendor error) is not a split; a share jump without a factor jump is a flow.
    The ratio is the factor's, which the exchanges' ex-right reference price defines.
    """
    if not shares.index.equals(adj_factor.index):
        raise ValueError("shares and adj_factor must share one date index")
    f = pd.to_numeric(adj_factor, errors="coerce").astype(float).to_numpy()
    s = pd.to_numeric(shares, errors="coerce").astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log(f / pd.Series(f).ffill().shift(1).to_numpy())
        log_s = np.log(s / pd.Series(s).ffill().shift(1).to_numpy())
    out = np.ones(len(s))
    taken = np.zeros(len(s), dtype=bool)
    offsets = [0] + [k for lag in range(1, max_lag + 1) for k in (-lag, lag)]
    for t in np.flatnonzero(np.abs(log_r) > np.log1p(threshold)):
        for d in (t + k for k in offsets):
            if 0 <= d < len(s) and not taken[d] and shares_confirm(log_s[d], log_r[t]):
                out[d], taken[d] = np.exp(log_r[t]), True
                break
    return pd.Series(out, index=shares.index, name="split_ratio")


def shares_confirm(log_s, log_r):
    """The share count moved the split's way, at least half-way (see :func:`infer_split_ratio`): the rule
    that tells a split from a flow, here and in the data checks (:func:`xladdin.data.checks.check_split_days`).
    Scalars give a bool, arrays an array of them (elementwise)."""
    log_s, log_r = np.asarray(log_s, dtype=float), np.asarray(log_r, dtype=float)
    with np.errstate(invalid="ignore"):
        ok = (np.isfinite(log_s) & np.isfinite(log_r) & (np.sign(log_s) == np.sign(log_r))
              & (np.abs(log_s - log_r) < np.abs(log_r) / 2))
    return bool(ok) if ok.ndim == 0 else ok


def restate_split_rows(df: pd.DataFrame, columns: Sequence[str] = ("nav", "close")) -> list[str]:
    """Put per-unit values of split rows on the post-split basis, in place; returns what was restated.

    ``df``: one ETF's rows indexed by date (ascending) with ``split_ratio`` and the ``columns``. On a
    split row d with ratio r, a value v_d still in old units is restated to v_d / r (the canonical
    convention: shares, nav and close of a split row are post-split). Which basis v_d is on is read
    from the row before (v_p, the last earlier value): it is old when ``|ln(v_d / v_p)| <
    |ln(v_d r / v_p)|``, i.e. v_d is nearer the previous value than that value moved by the split.
    510310.SH traded in old units on its 2024-09-20 consolidation day (close 1.599 → 3.1994).
    """
    done = []
    for col in columns:
        if col not in df.columns:
            continue
        values = pd.to_numeric(df[col], errors="coerce").astype(float)
        for day in df.index[df["split_ratio"].to_numpy() != 1.0]:
            r, v = float(df.at[day, "split_ratio"]), values.get(day, np.nan)
            before = values[values.index < day].dropna()
            if not np.isfinite(v) or before.empty or v <= 0 or before.iloc[-1] <= 0:
                continue
            prev = before.iloc[-1]
            if abs(np.log(v / prev)) < abs(np.log(v * r / prev)):
                values[day] = v / r
                done.append(f"{col} {pd.Timestamp(day).date()} {v:g} -> {v / r:g}")
        df[col] = values
    return done


# ----------------------------------------------------------------------------- ETF categories
@dataclass(frozen=True)
class CategoryRules:
    """Keyword rules that put an ETF in one of :data:`xladdin.data.schema.ETF_CATEGORIES`.

    The text searched is the fund's name, its benchmark (业绩比较基准) and its fund type, joined.
    Rules apply in this order, first match wins:

    1. ``other`` — the fund is not an A-share equity ETF: its fund type contains one of
       ``other_fund_types`` (债券, 固收, 货币, 商品, QDII, 海外 ...: tushare's 债券型 and Eastmoney's
       指数型-固收 / 指数型-海外股票 both) or the text contains one of ``other_words`` (黄金, 国债,
       公司债, 恒生, 纳斯达克, 标普 ...);
    2. ``strategy_style`` — the text contains one of ``style_words`` (红利, 低波, 价值, 成长 ...);
    3. ``broad`` — the tracked index code is in ``broad_indices``; when the tracked index is
       unknown, the text names a broad index (``broad_words``: 沪深300, 中证500, 创业板指 ...)
       followed by 指数 / ETF / 收益率 or a non-Chinese character (so 中证全指证券公司 is not broad);
    4. ``sector_theme`` — every other equity ETF (industry and theme indices).

    Pass your own instance (or ``overrides`` per ETF to the adapters) when the defaults do not
    fit a universe; every default is a plain tuple and can be replaced with ``dataclasses.replace``.
    """

    other_fund_types: tuple[str, ...] = ("债券", "固收", "货币", "商品", "QDII", "海外", "REITs", "另类")
    other_words: tuple[str, ...] = ("黄金", "白银", "有色期货", "豆粕", "能源化工", "国债", "政金债", "信用债",
                                    "公司债", "科创债", "利率债", "金融债", "地方债", "债券",
                                    "可转债", "城投", "短融", "货币", "恒生", "港股", "香港", "纳斯达克",
                                    "纳指", "标普", "道琼斯", "日经", "德国", "法国", "欧洲", "美国", "亚太",
                                    "中概", "沙特", "巴西", "东南亚", "REIT")
    style_words: tuple[str, ...] = ("红利", "低波", "价值", "成长", "质量", "基本面", "动量", "等权",
                                    "自由现金流", "高股息", "股息", "龙头", "ESG", "中小盘", "大盘", "小盘")
    broad_words: tuple[str, ...] = ("上证50", "上证180", "上证380", "沪深300", "中证500", "中证800", "中证1000",
                                    "中证2000", "中证A500", "中证A50", "中证A100", "中证100", "创业板指",
                                    "创业板50", "创业板综", "科创50", "科创100", "科创200", "科创创业50",
                                    "深证100", "深证成指", "深证300", "国证2000", "MSCI中国A股", "中证全指",
                                    "上证指数", "北证50", "双创50")
    broad_indices: tuple[str, ...] = ("000016.SH", "000010.SH", "000009.SH", "000300.SH", "000905.SH",
                                      "000906.SH", "000852.SH", "932000.CSI", "000510.SH", "000510.CSI",
                                      "930050.CSI", "000903.SH", "399006.SZ", "399673.SZ", "000688.SH",
                                      "000698.SH", "399330.SZ", "399001.SZ", "399303.SZ", "399300.SZ",
                                      "000985.CSI", "000001.SH", "899050.BJ")

    def categorize(self, text: str, fund_type: str = "", tracked_index: str = "") -> str:
        """Category of one ETF from its name + benchmark text, fund type and tracked index (rules above)."""
        text = f"{text or ''} {fund_type or ''}"
        if any(w in (fund_type or "") for w in self.other_fund_types) or any(w in text for w in self.other_words):
            return "other"
        if any(w in text for w in self.style_words):
            return "strategy_style"
        if tracked_index:
            return "broad" if tracked_index in self.broad_indices else "sector_theme"
        # a broad name must end the index name: 沪深300指数 / 沪深300ETF, not 中证全指证券公司
        if any(re.search(re.escape(w) + r"(?:指数|ETF|收益率|[^\u4e00-\u9fff]|$)", text) for w in self.broad_words):
            return "broad"
        return "sector_theme"


DEFAULT_CATEGORY_RULES = CategoryRules()

#: index names found in benchmarks (业绩比较基准) -> canonical index code; longest name matches first
DEFAULT_INDEX_NAMES: dict[str, str] = {
    "上证50": "000016.SH", "上证180": "000010.SH", "上证380": "000009.SH", "沪深300": "000300.SH",
    "中证500": "000905.SH", "中证800": "000906.SH", "中证1000": "000852.SH", "中证A500": "000510.SH",
    "中证A50": "930050.CSI", "创业板指": "399006.SZ", "创业板指数": "399006.SZ", "创业板50": "399673.SZ",
    "科创50": "000688.SH", "科创板50": "000688.SH", "科创100": "000698.SH", "深证100": "399330.SZ",
    "深证成份": "399001.SZ", "国证2000": "399303.SZ", "中证红利": "000922.CSI", "上证红利": "000015.SH",
    "国证成长": "399370.SZ", "国证价值": "399371.SZ", "中证全指证券公司": "399975.SZ",
    "中证银行": "399986.SZ", "中证军工": "399967.SZ", "中证医疗": "399989.SZ",
}


def index_from_benchmark(benchmark: str, names: Mapping[str, str] = DEFAULT_INDEX_NAMES) -> str:
    """Canonical code of the index a benchmark text names (longest known name wins), or ``""``."""
    if not benchmark:
        return ""
    text = re.sub(r"\s+", "", str(benchmark))
    for name in sorted(names, key=len, reverse=True):
        if name in text:
            return names[name]
    return ""


def build_etf_info(raw: pd.DataFrame, overrides: pd.DataFrame | None, rules: CategoryRules,
                   names: Mapping[str, str], notes: list[str], source: str) -> pd.DataFrame:
    """Canonical ``etf_info`` from vendor fields plus user overrides.

    ``raw`` columns: etf, name, text (name + benchmark), fund_type, tracked_index (vendor's, may
    be empty), list_date. ``overrides`` (optional) columns: etf and any of tracked_index, category,
    name — non-empty values win. tracked_index falls back to :func:`index_from_benchmark` on the
    text; ETFs left without one are listed in ``notes``.
    """
    df = raw.copy()
    df["tracked_index"] = df["tracked_index"].fillna("").astype(str).str.strip()
    guess = df["text"].map(lambda t: index_from_benchmark(t, names))
    from_text = (df["tracked_index"] == "") & (guess != "")
    df.loc[from_text, "tracked_index"] = guess[from_text]
    df["category"] = [rules.categorize(t, ft, ti) for t, ft, ti in
                      zip(df["text"].fillna(""), df["fund_type"].fillna(""), df["tracked_index"])]
    if overrides is not None and len(overrides):
        ov = overrides.set_index("etf")
        for col in ("tracked_index", "category", "name"):
            if col in ov.columns:
                given = {k: str(v).strip() for k, v in ov[col].items() if pd.notna(v) and str(v).strip()}
                vals = df["etf"].map(lambda e, g=given: g.get(e, ""))
                df[col] = np.where(vals != "", vals, df[col])
    bad = sorted(set(df["category"]) - set(ETF_CATEGORIES))
    if bad:
        raise ValueError(f"category override(s) {', '.join(bad)} not one of {', '.join(ETF_CATEGORIES)}")
    if from_text.any():
        notes.append(f"etf_info: tracked_index read from the benchmark text for {int(from_text.sum())} ETF(s) "
                     f"({', '.join(df.loc[from_text, 'etf'])})")
    missing = df.loc[df["tracked_index"] == "", "etf"].tolist()
    if missing:
        notes.append(f"etf_info: no tracked index for {', '.join(missing)} ({source} gives none and the benchmark "
                     f"names no known index); add a tracked_index column to --etf-file")
    return finish("etf_info", df)


# ----------------------------------------------------------------------------- orchestration
#: tables fetch_market knows, in fetch order (stock_industry before industry_daily)
FETCH_ORDER = ("etf_info", "etf_daily", "index_daily", "index_weights", "stock_industry", "industry_daily",
               "northbound_holdings", "margin_daily", "stock_daily", "fund_nav", "active_fund_holdings",
               "fund_issuance")


def fetch_market(client: DataClient, tables: Iterable[str], *, etfs: Sequence[str] | str = (),
                 indices: Sequence[str] = (), start=None, end=None, industries: Sequence[str] = (),
                 funds: Sequence[str] = (), stocks: Sequence[str] = (),
                 progress: Callable[[str], None] | None = None) -> Market:
    """Fetch canonical tables from a data client into a :class:`~xladdin.data.market.Market`.

    Parameters
    ----------
    client : a :class:`DataClient` (e.g. :class:`~xladdin.data.clients.tushare.TushareClient`).
    tables : canonical table names to fetch (fetched in :data:`FETCH_ORDER`).
    etfs : ETF codes for ``etf_info`` / ``etf_daily`` (``"ALL"``: every listed ETF, for a client with
        ``etf_universe``). indices : index codes for ``index_daily`` and ``index_weights``. industries :
        industry index codes for ``industry_daily`` (default: the industries of ``stock_industry`` when
        fetched, else CITIC level 1 :data:`CITIC_L1`). funds : fund codes for ``fund_nav`` and
        ``active_fund_holdings``. stocks : stock codes for ``stock_daily`` / ``northbound_holdings`` (a
        filter for the all-market clients; required by those that fetch one stock per request,
        ``needs_stock_list``, which default to the stocks of ``stock_industry`` when it is fetched).
    start, end : inclusive date range (required for the date-keyed tables).
    progress : called with each table's name before it is fetched.

    Returns
    -------
    Market with one canonical table per name, ``source`` = ``"<client name> <start>..<end>"``.
    Validation is the caller's (:func:`xladdin.data.validate_market`).
    """
    tables = list(dict.fromkeys(tables))
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    for t in tables:
        if t not in FETCH_ORDER:
            raise unsupported(t, client.name)
        if t not in getattr(client, "tables", FETCH_ORDER):
            getattr(client, t)()  # the client's own refusal, with its hint (NotImplementedError)
            raise unsupported(t, client.name)
    dated = [t for t in tables if TABLES[t].sorted_by is not None]
    if dated and (start is None or end is None):
        raise ValueError(f"--start and --end are required for {', '.join(dated)}")
    if start is not None and end is not None and pd.Timestamp(end) < pd.Timestamp(start):
        raise ValueError(f"end {pd.Timestamp(end).date()} is before start {pd.Timestamp(start).date()}")
    need = {"etf_info": ("etfs", etfs), "etf_daily": ("etfs", etfs), "index_daily": ("indices", indices),
            "index_weights": ("indices", indices), "fund_nav": ("funds", funds),
            "active_fund_holdings": ("funds", funds)}
    for t in tables:
        if t in need and not need[t][1]:
            raise ValueError(f"table `{t}` needs {need[t][0]} codes (--{need[t][0]})")
    if isinstance(etfs, str) and etfs == "ALL" and set(tables) & {"etf_info", "etf_daily"}:
        if not hasattr(client, "etf_universe"):
            raise ValueError(f"--etfs ALL needs a source that lists the ETF universe; {client.name} does not")
        etfs = client.etf_universe(end if end is not None else pd.Timestamp.now().normalize())
    out: dict[str, pd.DataFrame] = {}
    for t in [t for t in FETCH_ORDER if t in tables]:
        if progress is not None:
            progress(t)
        out[t] = _fetch_one(client, t, out, etfs=list(etfs), indices=list(indices), start=start, end=end,
                            industries=list(industries), funds=list(funds), stocks=list(stocks))
    span = f" {pd.Timestamp(start).date()}..{pd.Timestamp(end).date()}" if start is not None and end is not None else ""
    return Market(out, source=f"{client.name}{span}")


def _fetch_one(client: DataClient, t: str, done: dict[str, pd.DataFrame], *, etfs, indices, start, end, industries,
               funds, stocks) -> pd.DataFrame:
    """One table of :func:`fetch_market` (``done``: the tables fetched before it in this run)."""
    if not stocks and "stock_industry" in done and getattr(client, "needs_stock_list", False):
        stocks = sorted(done["stock_industry"]["stock"].unique())
    per_stock = {"stocks": stocks} if stocks else {}
    if t == "etf_info":
        return client.etf_info(etfs)
    if t == "etf_daily":
        return client.etf_daily(etfs, start, end)
    if t == "index_daily":
        return client.index_daily(indices, start, end)
    if t == "index_weights":
        parts = [client.index_weights(ix, start, end) for ix in indices]
        return finish(t, pd.concat(parts, ignore_index=True)) if parts else empty(t)
    if t == "stock_industry":
        return client.stock_industry()
    if t == "industry_daily":
        codes = industries or (sorted(done["stock_industry"]["industry"].unique())
                               if "stock_industry" in done else list(CITIC_L1))
        return client.industry_daily(codes, start, end)
    if t == "northbound_holdings":
        return client.northbound_holdings(start, end, **per_stock)
    if t == "margin_daily":
        return client.margin_daily(start, end)
    if t == "stock_daily":
        return client.stock_daily(start, end, **per_stock)
    if t == "fund_nav":
        return client.fund_nav(funds, start, end)
    if t == "active_fund_holdings":
        return client.active_fund_holdings(funds, start, end)
    if t == "fund_issuance":
        return client.fund_issuance(start, end)
    raise AssertionError(f"no fetch rule for {t}")  # pragma: no cover - FETCH_ORDER and this list agree
