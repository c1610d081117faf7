"""Parameters of the weekly workbook: defaults, validation, and the rows of the parameters sheet.

The parameters sheet (``参数`` / ``Parameters``) holds one row per parameter: key, value,
description. ``xladdin refresh`` and the Excel Refresh button read it back with
:func:`params_from_rows`, so an analyst changes a threshold in the sheet and refreshes.
Pure: no file or Excel access here.

One name per setting, from the sheet to the method: the sheet's key (:data:`SPECS`, the one table of
the keys: kind, bounds, descriptions, sheet order) is the attribute of :class:`Params` (a typed
dataclass checked against :data:`SPECS`), the command line's flag (``top_n`` -> ``--top-n``) and the
keyword of the method it feeds (``strategy.flow_rotation(top_n=params.top_n)``). Each default is one
``DEFAULT_*`` constant: the method module's when a method takes the setting, else this module's (the
workbook's own display settings). tests/test_one_owner.py checks all of it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from xladdin.conventions import DEFAULT_LANGUAGE, LANGUAGES
from xladdin.data.checks import parse_date
from xladdin.methods import crowding
from xladdin.methods.backtest import COST_RANGE, DEFAULT_COST, DEFAULT_ETF_COST, DEFAULT_LAG, LAG_RANGE
from xladdin.methods.correlation import (
    CORR_THRESHOLD_RANGE,
    CORR_WINDOW_RANGE,
    DEFAULT_CORR_INDEX,
    DEFAULT_CORR_THRESHOLD,
    DEFAULT_CORR_WINDOW,
    DEFAULT_EVENT_MODE,
    DEFAULT_HORIZONS,
    DEFAULT_THRESHOLDS,
    EVENT_MODES,
    HORIZON_RANGE,
)
from xladdin.methods.dashboard import DEFAULT_HEAT_FLAG, DEFAULT_HEAT_YEARS, DEFAULT_VOL_FLAG
from xladdin.methods.divergence import DEFAULT_TRAILING_WINDOW
from xladdin.methods.filters import MAX_LAMBDA, MIN_LAMBDA
from xladdin.methods.grouping import DEFAULT_GROUPS, GROUPS_RANGE
from xladdin.methods.northbound import DEFAULT_ETF_ONE_PER_INDEX, DEFAULT_ETF_TOP_N
from xladdin.methods.stats import DEFAULT_RF, RF_RANGE
from xladdin.methods.strategy import DEFAULT_BACKTEST_START, DEFAULT_REBALANCE_WEEKS, DEFAULT_TOP_N, TOP_N_RANGE
from xladdin.methods.style import DEFAULT_LAMBDA

__all__ = ["LANGUAGES", "EVENT_MODES", "ParamError", "ParamSpec", "SPECS", "SPEC_BY_KEY", "Params", "default_params",
           "coerce_value", "params_from_mapping", "params_from_rows", "params_to_frame", "DEFAULT_CORR_DAYS",
           "DEFAULT_STYLE_WEEKS", "DEFAULT_QUINTILE_MONTHS", "DEFAULT_HOLDING_PERIODS", "DEFAULT_STALE_DAYS",
           "DEFAULT_UPDATE_DATA", "ASOF_DEFAULT"]


#: the workbook's own display settings (no method takes them): trading days of the correlation table, weeks
#: of the style-signal table, months of the quintile tables, rebalance periods of the holdings table, days
#: behind the as-of date before a table is flagged stale, and whether a refresh first updates the data store
DEFAULT_CORR_DAYS = 250
DEFAULT_STYLE_WEEKS = 26
DEFAULT_QUINTILE_MONTHS = 12
DEFAULT_HOLDING_PERIODS = 10
DEFAULT_STALE_DAYS = 7
DEFAULT_UPDATE_DATA = "no"
#: what a blank ``asof`` means (:func:`xladdin.workbook.weekly.report_asof`), in the words of the parameters sheet,
#: the commands' ``--asof`` help and the docs
ASOF_DEFAULT = {"zh": "周报各表的有效截止日:各表输入数据均有效的最后一日中最晚者,不晚于 etf_daily 最后一日",
                "en": "the weekly tables' effective end: the latest date to which a table's inputs are all current, "
                      "at most etf_daily's last date"}


class ParamError(ValueError):
    """A parameter value is invalid; the message names the key, the value and what is allowed."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: type, default, bounds and the description shown on the sheet."""

    key: str
    kind: str  # "int", "float", "str", "date", "floats", "ints", "choice"
    default: Any
    zh: str
    en: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    blank_ok: bool = False
    #: a rate, share or percentile: shown in percent on the sheet with at least this many decimals (the cell's
    #: value stays the fraction: 0.0015 shows 0.15%); None: shown as it is
    percent: int | None = None


#: every parameter, in sheet order
SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("language", "choice", DEFAULT_LANGUAGE, "表头语言:zh 中文 / en 英文", "Header language: zh Chinese / en English",
              choices=LANGUAGES),
    ParamSpec("asof", "date", None, f"截至日期(留空 = {ASOF_DEFAULT['zh']})", f"As-of date (blank = {ASOF_DEFAULT['en']})",
              blank_ok=True),
    ParamSpec("data_dir", "str", "", "数据文件夹(规范表 CSV/xlsx;留空 = 内置样例数据)",
              "Folder of canonical tables (CSV/xlsx; blank = embedded sample market)", blank_ok=True),
    ParamSpec("update_data", "choice", DEFAULT_UPDATE_DATA, "刷新前先更新 data_dir 的数据仓库(yes 是 / no 否;须为 xladdin update 建立的仓库)",
              "Update the data store in data_dir before refreshing (yes / no; a store made by xladdin update)",
              choices=("no", "yes")),
    ParamSpec("corr_index", "str", DEFAULT_CORR_INDEX, "相关性监控的指数代码(M2)", "Index watched by the correlation monitor (M2)"),
    ParamSpec("corr_window", "int", DEFAULT_CORR_WINDOW, "滚动相关窗口(交易日,M2)", "Rolling correlation window (trading days, M2)",
              minimum=CORR_WINDOW_RANGE[0], maximum=CORR_WINDOW_RANGE[1]),
    ParamSpec("corr_threshold", "float", DEFAULT_CORR_THRESHOLD, "相关性信号阈值(M2)", "Correlation signal threshold (M2)",
              minimum=CORR_THRESHOLD_RANGE[0], maximum=CORR_THRESHOLD_RANGE[1]),
    ParamSpec("corr_days", "int", DEFAULT_CORR_DAYS, "相关性表显示的交易日数", "Trading days shown in the correlation table",
              minimum=20, maximum=5000),
    ParamSpec("event_thresholds", "floats", DEFAULT_THRESHOLDS, "事件研究阈值(逗号分隔,M3)",
              "Event-study thresholds (comma separated, M3)", minimum=CORR_THRESHOLD_RANGE[0],
              maximum=CORR_THRESHOLD_RANGE[1]),
    ParamSpec("event_horizons", "ints", DEFAULT_HORIZONS, "事件研究持有期(交易日,逗号分隔,M3)",
              "Event-study horizons (trading days, comma separated, M3)", minimum=HORIZON_RANGE[0],
              maximum=HORIZON_RANGE[1]),
    ParamSpec("event_mode", "choice", DEFAULT_EVENT_MODE, "事件计数:every 每个满足日 / first 首次穿越", "Event days: every qualifying day / first crossing",
              choices=EVENT_MODES),
    ParamSpec("hp_lambda", "float", DEFAULT_LAMBDA, "单边HP滤波 lambda(周频比值,M4)", "One-sided HP filter lambda (weekly ratio, M4)",
              minimum=MIN_LAMBDA, maximum=MAX_LAMBDA),
    ParamSpec("style_weeks", "int", DEFAULT_STYLE_WEEKS, "风格信号表显示的周数", "Weeks shown in the style-signal table", minimum=4, maximum=1000),
    ParamSpec("quintile_months", "int", DEFAULT_QUINTILE_MONTHS, "分组表显示的月数(M7)", "Months shown in the quintile tables (M7)",
              minimum=1, maximum=120),
    ParamSpec("groups", "int", DEFAULT_GROUPS, "分组数(M7)", "Number of groups (M7)", minimum=GROUPS_RANGE[0],
              maximum=GROUPS_RANGE[1]),
    ParamSpec("top_n", "int", DEFAULT_TOP_N, "策略持有行业数(M10)", "Industries held by the strategy (M10)",
              minimum=TOP_N_RANGE[0], maximum=TOP_N_RANGE[1]),
    ParamSpec("rebalance_weeks", "int", DEFAULT_REBALANCE_WEEKS, "调仓周期(周,M10)", "Rebalance every N weeks (M10)", minimum=1, maximum=52),
    ParamSpec("cost", "float", DEFAULT_COST, f"单边交易成本(占成交额,买卖各收,M7-M10;默认{DEFAULT_COST:.1%}:报告未给出行业组合成本)",
              f"One-way trading cost (share of traded value, on buys and sells, M7-M10; default {DEFAULT_COST:.1%}: "
              "the report states none for industry baskets)", minimum=COST_RANGE[0], maximum=COST_RANGE[1], percent=2),
    ParamSpec("lag", "int", DEFAULT_LAG, f"执行滞后(交易日):t日数据在t+lag日收盘成交(默认{DEFAULT_LAG};0 = 同日收盘成交,有前视)",
              f"Execution lag (trading days): data of day t trades at the close of t+lag (default {DEFAULT_LAG}; 0 = "
              "the same close, look-ahead)", minimum=LAG_RANGE[0], maximum=LAG_RANGE[1]),
    ParamSpec("trailing_window", "int", DEFAULT_TRAILING_WINDOW, "模拟持仓回归的滚动窗口(交易日,M9)", "Trailing window of the simulated-holdings regression (trading days, M9)",
              minimum=20, maximum=500),
    ParamSpec("backtest_start", "date", DEFAULT_BACKTEST_START, "策略回测起始日(M10)", "Backtest start (M10)"),
    ParamSpec("rf", "float", DEFAULT_RF, "无风险利率(年化,M12)", "Risk-free rate (annual, M12)", minimum=RF_RANGE[0],
              maximum=RF_RANGE[1], percent=2),
    ParamSpec("holding_periods", "int", DEFAULT_HOLDING_PERIODS, "策略持仓表显示的调仓期数", "Rebalance periods shown in the holdings table",
              minimum=1, maximum=500),
    ParamSpec("etf_top_n", "int", DEFAULT_ETF_TOP_N, "ETF轮动入选数量(M11)", "ETFs picked by the rotation (M11)", minimum=1, maximum=50),
    ParamSpec("etf_universe", "str", "", "ETF轮动池(代码逗号分隔;留空 = 全部股票ETF)",
              "ETF rotation universe (comma separated codes; blank = all stock ETFs)", blank_ok=True),
    ParamSpec("etf_cost", "float", DEFAULT_ETF_COST, f"ETF轮动单边成本(占成交额,买卖各收,M11;默认{DEFAULT_ETF_COST:.1%},同报告)",
              f"ETF rotation one-way cost (share of traded value, on buys and sells, M11; default "
              f"{DEFAULT_ETF_COST:.1%}, the report's)", minimum=COST_RANGE[0], maximum=COST_RANGE[1], percent=2),
    ParamSpec("etf_one_per_index", "int", int(DEFAULT_ETF_ONE_PER_INDEX), "ETF轮动同一跟踪指数最多入选1只(1 是 / 0 否,M11)",
              "ETF rotation: at most one pick per tracked index (1 yes / 0 no, M11)", minimum=0, maximum=1),
    ParamSpec("heat_years", "float", DEFAULT_HEAT_YEARS, "交易热度/波动分位的回看年数(M13)", "Trailing years for heat / volatility percentiles (M13)",
              minimum=0.25, maximum=20),
    ParamSpec("heat_flag", "float", DEFAULT_HEAT_FLAG, "交易热度提示分位(M13)", "Heat percentile flag (M13)", minimum=0.0, maximum=1.0,
              percent=0),
    ParamSpec("vol_flag", "float", DEFAULT_VOL_FLAG, "波动率提示分位(M13)", "Volatility percentile flag (M13)", minimum=0.0,
              maximum=1.0, percent=0),
    ParamSpec("crowding_heat_flag", "float", crowding.DEFAULT_HEAT_FLAG, "换手热度分位不低于此值为拥挤(M14)",
              "Turnover heat percentile at or above which an industry is crowded (M14)",
              minimum=crowding.FLAG_RANGE[0], maximum=crowding.FLAG_RANGE[1], percent=0),
    ParamSpec("crowding_dispersion_flag", "float", crowding.DEFAULT_DISPERSION_FLAG,
              "成分股分化度分位不高于此值为拥挤(M14)",
              "Constituent dispersion percentile at or below which an industry is crowded (M14)",
              minimum=crowding.FLAG_RANGE[0], maximum=crowding.FLAG_RANGE[1], percent=0),
    ParamSpec("crowding_price_move", "float", crowding.DEFAULT_PRICE_MOVE, "量价背离:20日涨跌幅绝对值不低于此值(M14)",
              "Price-volume divergence: 20-day |return| at least this (M14)", minimum=0.0, maximum=1.0,
              percent=0),
    ParamSpec("crowding_volume_move", "float", crowding.DEFAULT_VOLUME_MOVE,
              "量价背离:20日均量变化绝对值不低于此值(M14)",
              "Price-volume divergence: |change| of the 20-day mean volume at least this (M14)", minimum=0.0,
              maximum=10.0, percent=0),
    ParamSpec("crowding_history", "int", crowding.DEFAULT_HISTORY, "拥挤度分位的历史交易日数(M14)",
              "Trading days of the crowding percentiles' history (M14)",
              minimum=crowding.HISTORY_RANGE[0], maximum=crowding.HISTORY_RANGE[1]),
    ParamSpec("crowding_weeks", "int", crowding.DEFAULT_WEEKS, "拥挤行业数周度序列显示的周数(M14)",
              "Weeks shown in the weekly count of crowded industries (M14)", minimum=1, maximum=520),
    ParamSpec("stale_days", "int", DEFAULT_STALE_DAYS, "数据滞后超过多少天标记为“滞后”", "Days behind the as-of date before a table is flagged stale",
              minimum=0, maximum=400),
)
SPEC_BY_KEY: dict[str, ParamSpec] = {s.key: s for s in SPECS}


@dataclass(frozen=True)
class Params:
    """Validated parameter values: one typed attribute per row of the parameters sheet, same key, same
    default (:data:`SPECS` says what each means and allows, in the sheet's order).

    Build with :func:`params_from_mapping` / :func:`params_from_rows` (validated) or :func:`default_params`;
    :meth:`replace` validates too. tests/test_one_owner.py checks that the fields and :data:`SPECS` are the
    same keys, types and defaults.
    """

    language: str = DEFAULT_LANGUAGE
    asof: pd.Timestamp | None = None
    data_dir: str = ""
    update_data: str = DEFAULT_UPDATE_DATA
    corr_index: str = DEFAULT_CORR_INDEX
    corr_window: int = DEFAULT_CORR_WINDOW
    corr_threshold: float = DEFAULT_CORR_THRESHOLD
    corr_days: int = DEFAULT_CORR_DAYS
    event_thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    event_horizons: tuple[int, ...] = DEFAULT_HORIZONS
    event_mode: str = DEFAULT_EVENT_MODE
    hp_lambda: float = DEFAULT_LAMBDA
    style_weeks: int = DEFAULT_STYLE_WEEKS
    quintile_months: int = DEFAULT_QUINTILE_MONTHS
    groups: int = DEFAULT_GROUPS
    top_n: int = DEFAULT_TOP_N
    rebalance_weeks: int = DEFAULT_REBALANCE_WEEKS
    cost: float = DEFAULT_COST
    lag: int = DEFAULT_LAG
    trailing_window: int = DEFAULT_TRAILING_WINDOW
    backtest_start: pd.Timestamp = DEFAULT_BACKTEST_START
    rf: float = DEFAULT_RF
    holding_periods: int = DEFAULT_HOLDING_PERIODS
    etf_top_n: int = DEFAULT_ETF_TOP_N
    etf_universe: str = ""
    etf_cost: float = DEFAULT_ETF_COST
    etf_one_per_index: int = int(DEFAULT_ETF_ONE_PER_INDEX)
    heat_years: float = DEFAULT_HEAT_YEARS
    heat_flag: float = DEFAULT_HEAT_FLAG
    vol_flag: float = DEFAULT_VOL_FLAG
    crowding_heat_flag: float = crowding.DEFAULT_HEAT_FLAG
    crowding_dispersion_flag: float = crowding.DEFAULT_DISPERSION_FLAG
    crowding_price_move: float = crowding.DEFAULT_PRICE_MOVE
    crowding_volume_move: float = crowding.DEFAULT_VOLUME_MOVE
    crowding_history: int = crowding.DEFAULT_HISTORY
    crowding_weeks: int = crowding.DEFAULT_WEEKS
    stale_days: int = DEFAULT_STALE_DAYS

    def get(self, key: str) -> Any:
        """The value of parameter ``key`` (a sheet key)."""
        if key not in SPEC_BY_KEY:
            raise KeyError(f"unknown parameter `{key}`; known: {', '.join(SPEC_BY_KEY)}")
        return getattr(self, key)

    def replace(self, **changes: Any) -> Params:
        """A copy with ``changes`` validated and applied (None leaves a key unchanged)."""
        merged = self.as_dict()
        merged.update({k: v for k, v in changes.items() if v is not None})
        return params_from_mapping(merged)

    def as_dict(self) -> dict[str, Any]:
        """Key -> value, in the sheet's order."""
        return {s.key: getattr(self, s.key) for s in SPECS}


def default_params() -> Params:
    """All parameters at their defaults."""
    return Params()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and value != value)


def _bad(spec: ParamSpec, value: Any, what: str, source: str) -> ParamError:
    return ParamError(f"parameter `{spec.key}` ({source}): {what}, got {value!r}")


def _check_bounds(spec: ParamSpec, x: float, raw: Any, source: str) -> None:
    if spec.minimum is not None and x < spec.minimum:
        raise _bad(spec, raw, f"must be >= {spec.minimum:g}", source)
    if spec.maximum is not None and x > spec.maximum:
        raise _bad(spec, raw, f"must be <= {spec.maximum:g}", source)


def _range_text(spec: ParamSpec) -> str:
    if spec.minimum is None or spec.maximum is None:
        return ""
    return f" from {spec.minimum:g} to {spec.maximum:g}"


def _number(spec: ParamSpec, value: Any, integer: bool, source: str) -> float | int:
    if isinstance(value, bool):
        raise _bad(spec, value, "must be a number", source)
    try:
        x = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise _bad(spec, value, "must be " + ("an integer" if integer else "a number"), source) from None
    if x != x:
        raise _bad(spec, value, "must be a number", source)
    if x in (float("inf"), float("-inf")):  # never written back blank, never an OverflowError for an int
        raise _bad(spec, value, "must be a finite number" + _range_text(spec), source)
    if integer:
        if x != int(x):
            raise _bad(spec, value, "must be an integer", source)
        x = int(x)
    _check_bounds(spec, x, value, source)
    return x


def coerce_value(spec: ParamSpec, value: Any, source: str = "parameters") -> Any:
    """Validate one raw value (as typed in the sheet or on the command line) against ``spec``."""
    if _blank(value):
        if spec.blank_ok:
            return spec.default
        raise _bad(spec, value, "must not be blank", source)
    kind = spec.kind
    if kind == "int":
        return _number(spec, value, True, source)
    if kind == "float":
        return float(_number(spec, value, False, source))
    if kind in ("floats", "ints"):
        items = value if isinstance(value, (list, tuple)) else str(value).replace("，", ",").replace(";", ",").split(",")
        items = [i for i in items if not _blank(i)]
        if not items:
            raise _bad(spec, value, "needs at least one value", source)
        out = tuple(_number(spec, i, kind == "ints", source) for i in items)
        if len(set(out)) != len(out):
            raise _bad(spec, value, "has duplicated values", source)
        return tuple(sorted(out))
    if kind == "choice":
        text = str(value).strip().lower()
        if text not in spec.choices:
            raise _bad(spec, value, f"must be one of {', '.join(spec.choices)}", source)
        return text
    if kind == "date":
        if isinstance(value, dt.time) or getattr(value, "tzinfo", None) is not None:  # TOML times, offset date-times
            raise _bad(spec, value.isoformat(), "must be a date YYYY-MM-DD (not a time, nor a date-time with a UTC "
                       "offset)", source)
        try:  # the data layer's rules: 05/06/2026 (day or month first?) and 2026-10 (a month) are refused
            return parse_date(value.strip() if isinstance(value, str) else value)
        except ValueError as exc:
            raise _bad(spec, value, f"must be a date YYYY-MM-DD; the value {exc}", source) from None
    if kind == "str":
        return str(value).strip()
    raise AssertionError(f"unknown parameter kind {kind}")  # pragma: no cover


def params_from_mapping(values: Mapping[str, Any], source: str = "parameters") -> Params:
    """Validate a key -> raw value mapping; missing keys take their defaults.

    Raises
    ------
    ParamError
        For an unknown key (with the list of known keys) or an invalid value (key, value, rule).
    """
    unknown = [k for k in values if k not in SPEC_BY_KEY]
    if unknown:
        raise ParamError(f"unknown parameter(s) {', '.join(map(repr, unknown))} ({source}); "
                         f"known: {', '.join(SPEC_BY_KEY)}")
    return Params(**{s.key: coerce_value(s, values[s.key], source) for s in SPECS if s.key in values})


def params_from_rows(rows: Iterable[Sequence[Any]], source: str = "parameters sheet") -> Params:
    """Parameters from sheet rows ``(key, value[, description])``; header and blank rows skipped.

    A header row is any row whose key is ``key`` or ``参数``. Duplicate keys are an error.
    """
    seen: dict[str, Any] = {}
    for i, row in enumerate(rows, start=1):
        if not row or _blank(row[0]):
            continue
        key = str(row[0]).strip()
        if key in ("key", "参数", "Key"):
            continue
        if key in seen:
            raise ParamError(f"parameter `{key}` appears twice ({source}, row {i}); keep one row")
        seen[key] = row[1] if len(row) > 1 else None
    return params_from_mapping(seen, source)


def _display(spec: ParamSpec, value: Any) -> Any:
    if value is None:
        return ""
    if spec.kind in ("floats", "ints"):
        return ",".join(f"{v:g}" for v in value)
    if spec.kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    return value


#: most decimals a percent shows (beyond them a value is rounded on the sheet; the cell keeps it whole)
MAX_PERCENT_DECIMALS = 6


def percent_format(value: float, least: int) -> str:
    """The Excel format that shows fraction ``value`` in percent with ``least`` decimals, more when the value needs
    them to show whole (at most :data:`MAX_PERCENT_DECIMALS`): 0.001 -> ``0.00%`` (0.10%), 0.00125 -> ``0.000%``."""
    places = least
    while places < MAX_PERCENT_DECIMALS and abs(round(value * 100, places) - value * 100) > 1e-9:
        places += 1
    return "0" + ("." + "0" * places if places else "") + "%"


def value_format(spec: ParamSpec, value: Any) -> str:
    """The number format of a parameter's value cell: a percent for a rate (:attr:`ParamSpec.percent`), else ""
    (the column's own)."""
    if spec.percent is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return percent_format(float(value), spec.percent)


def params_to_frame(params: Params, language: str | None = None) -> pd.DataFrame:
    """The parameters table for the sheet: columns key, value, description (in ``language``) and format (the
    value cell's number format: rates in percent, :func:`value_format`)."""
    lang = language or params.language
    rows = [{"key": s.key, "value": _display(s, params.get(s.key)), "description": s.zh if lang == "zh" else s.en,
             "format": value_format(s, params.get(s.key))} for s in SPECS]
    return pd.DataFrame(rows, columns=["key", "value", "description", "format"])

