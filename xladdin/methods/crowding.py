"""Industry crowding (spec M14, Huatai seed 002): turnover heat, price–volume divergence and constituent
dispersion per industry and trading day, the crowded flags with their reasons, the count of crowded
industries and its weekly series.

The seed ("酒类换手率处于历史高位 … 医药量价背离 … 通信、证券成分股分化过小 … 总计四个行业出现拥挤") gives no
formula; the spec's choices, each a parameter (``DEFAULT_*`` below):

* **Turnover heat** (换手热度). The industry's share of the market's trading on day t,
  ``s_it = x_it / Σ_j x_jt`` (x = traded amount where industry_daily has an ``amount`` column,
  else traded volume; Σ over the industries with a value that day), averaged over the last
  ``window`` = 20 trading days: ``h_it = mean(s_i,t−19 … s_it)`` (all 20 present). Its percentile
  within its own trailing ``history`` = 750 rows (at least ``min_history`` = 250 values), the
  spec's definition (:func:`xladdin.methods.stats.trailing_percentile`, as M13):
  ``p_it = #{s ∈ W : h_is ≤ h_it} / #W``. On when ``p ≥ heat_flag`` (0.95). A turnover rate would
  need float shares, which industry_daily does not carry: not computed.
* **Price–volume divergence** (量价背离). ``r_it = close_it / close_i,t−20 − 1`` and
  ``v_it = mean(vol_i,t−19 … vol_it) / mean(vol_i,t−39 … vol_i,t−20) − 1`` (volume; amount where
  the table has no volume). ``volume_up_price_down`` (放量下跌, downside risk) when
  ``r ≤ −price_move`` (3 %) and ``v ≥ volume_move`` (20 %); ``price_up_volume_down`` (缩量上涨, a weak
  rally) when ``r ≥ price_move`` and ``v ≤ −volume_move``; none otherwise. Coded −1 / +1 / 0.
* **Constituent dispersion** (成分股分化). The cross-sectional standard deviation (ddof 1) of the
  20-day returns ``close_st / close_s,t−20 − 1`` of the industry's stocks (stock_daily closes,
  stock_industry map; rows of the stock calendar), when at least ``min_stocks`` = 10 stocks have
  one; a deviation within ``TIE_TOLERANCE`` of the largest |return| of the cross-section is rounding
  noise and counts as 0 (the spec's tie rule). Its percentile within its own trailing history
  (as heat). On when ``p ≤ dispersion_flag`` (0.05: too little differentiated, 成分股分化过小).

An industry is crowded when any flag is on; a flag whose input is missing is blank (NaN), never 0,
and its reason says why ("heat: no volume data"). Thresholds are compared with a tolerance of
:data:`THRESHOLD_TOLERANCE` (a 20 % rise computed as 120 / 100 − 1 = 0.19999999999999996 is at it).

No look-ahead: every value on day t uses closes, volumes and amounts up to t (published after t's
close); nothing here trades. Texts of the reasons, in English and Chinese, are owned here
(:data:`REASON_TEXT`, :func:`reason_text`) for the command, the Excel function and the sheet.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from xladdin.data.calendar import week_ends
from xladdin.data.ends import EffectiveEnd, market_effective_end
from xladdin.data.market import Market
from xladdin.data.views import pivot, scope

from .stats import trailing_percentile

__all__ = [
    "DEFAULT_WINDOW", "DEFAULT_HISTORY", "DEFAULT_MIN_HISTORY", "DEFAULT_HEAT_FLAG", "DEFAULT_PRICE_MOVE",
    "DEFAULT_VOLUME_MOVE", "DEFAULT_DISPERSION_FLAG", "FLAG_RANGE", "HISTORY_RANGE", "DEFAULT_MIN_STOCKS", "DEFAULT_WEEKS", "TIE_TOLERANCE",
    "THRESHOLD_TOLERANCE", "MEASURES", "DIVERGENCE_KINDS", "FLAGS", "REASON_TEXT", "ON_REASONS", "FLAG_NAMES", "DIVERGENCE_NAMES",
    "MEASURE_NAMES", "Reason",
    "CrowdingPanels", "CrowdingResult", "trading_share", "heat_level", "turnover_heat", "price_return",
    "volume_change", "divergence_codes", "constituent_dispersion", "crowding_panels", "weekly_counts",
    "crowding_table", "reasons_at", "reason_text", "market_crowding", "stock_rows_since",
]

#: trading days of the heat average, the divergence returns and volumes, the dispersion returns
DEFAULT_WINDOW = 20
#: rows of each percentile's trailing history, and the fewest values a percentile needs
DEFAULT_HISTORY = 750
DEFAULT_MIN_HISTORY = 250
#: heat on at or above this percentile; dispersion on at or below this one
DEFAULT_HEAT_FLAG = 0.95
DEFAULT_DISPERSION_FLAG = 0.05
#: divergence: |return| and |volume change| over the window at least these
DEFAULT_PRICE_MOVE = 0.03
DEFAULT_VOLUME_MOVE = 0.20
#: fewest stocks with a return for a dispersion
DEFAULT_MIN_STOCKS = 10
#: weeks of the weekly count series the workbook shows
DEFAULT_WEEKS = 26
#: what a setting may take (the sheet, ``--set``, ``XA_CROWDING``/``XA_HEAT``): a percentile flag lies in
#: [0, 1]; a percentile's history is at least 20 and at most 5,000 trading days (20 years)
FLAG_RANGE = (0.0, 1.0)
HISTORY_RANGE = (20, 5000)
#: a cross-section deviation at most this fraction of its largest |return| is 0 (rounding noise)
TIE_TOLERANCE = 1e-9
#: a value this close to a threshold is at it
THRESHOLD_TOLERANCE = 1e-12
#: what the heat share is taken of: "auto" = amount when industry_daily has one, else volume
MEASURES = ("auto", "amount", "volume")
#: divergence code -> kind
DIVERGENCE_KINDS = {-1: "volume_up_price_down", 1: "price_up_volume_down"}
#: the three flags, in table order
FLAGS = ("heat", "divergence", "dispersion")

#: texts of the reasons by code and language (``str.format`` fields; ``flag`` is a :data:`FLAG_NAMES` text)
REASON_TEXT: dict[str, dict[str, str]] = {
    "heat": {"en": "turnover heat at the {pct:.1%} percentile of its history (crowded at >= {flag:.0%})",
             "zh": "换手热度处于历史{pct:.1%}分位(≥{flag:.0%}为拥挤交易)"},
    "volume_up_price_down": {
        "en": "price-volume divergence: {window}-day return {ret:+.1%} on volume {change:+.0%} (volume up, price down: downside risk)",
        "zh": "量价背离:近{window}日涨跌{ret:+.1%},成交量{change:+.0%}(放量下跌,价格下行风险)"},
    "price_up_volume_down": {
        "en": "price-volume divergence: {window}-day return {ret:+.1%} on volume {change:+.0%} (price up, volume down: weak rally)",
        "zh": "量价背离:近{window}日涨跌{ret:+.1%},成交量{change:+.0%}(缩量上涨,上涨乏力)"},
    "dispersion": {"en": "constituent dispersion at the {pct:.1%} percentile of its history (crowded at <= {flag:.0%}: "
                         "too little differentiated)",
                   "zh": "成分股分化度处于历史{pct:.1%}分位(≤{flag:.0%}:成分股分化过小,成交过于集中)"},
    "no_volume": {"en": "{name}: no volume data", "zh": "{name}:无成交量数据"},
    "volume_ended": {"en": "{name}: no volume data after {last}", "zh": "{name}:成交量数据截至{last}"},
    "no_stock_prices": {"en": "{name}: no constituent prices", "zh": "{name}:无成分股价格"},
    "stocks_ended": {"en": "{name}: no constituent prices after {last}", "zh": "{name}:成分股价格截至{last}"},
    "few_stocks": {"en": "{name}: {n} constituents with a {window}-day return (needs {need})",
                   "zh": "{name}:仅{n}只成分股有{window}日收益(需{need}只)"},
    "short_history": {"en": "{name}: {n} days of history (needs {need})", "zh": "{name}:历史仅{n}日(需{need}日)"},
}
#: the reasons that say a flag is on (the others say why a flag is blank)
ON_REASONS = ("heat", "volume_up_price_down", "price_up_volume_down", "dispersion")
#: names of the flags in the reasons (and on the weekly workbook's cover)
FLAG_NAMES: dict[str, dict[str, str]] = {
    "heat": {"en": "heat", "zh": "换手热度"},
    "divergence": {"en": "divergence", "zh": "量价背离"},
    "dispersion": {"en": "dispersion", "zh": "成分股分化"},
}
#: names of the divergence kinds (:data:`DIVERGENCE_KINDS`) in the tables: the weekly sheet's column
DIVERGENCE_NAMES: dict[str, dict[str, str]] = {
    "volume_up_price_down": {"en": "volume up, price down", "zh": "放量下跌"},
    "price_up_volume_down": {"en": "price up, volume down", "zh": "缩量上涨"},
}
#: names of the heat measure (:attr:`CrowdingResult.measure`; None: industry_daily has no volume or amount): the
#: command's headline and the weekly sheet's subtitle
MEASURE_NAMES: dict[str | None, dict[str, str]] = {
    "amount": {"en": "traded amount", "zh": "成交额"},
    "volume": {"en": "traded volume", "zh": "成交量"},
    None: {"en": "traded volume (no data)", "zh": "成交量(无数据)"},
}


class Reason(NamedTuple):
    """Why an industry is crowded, or why one of its flags is blank: a :data:`REASON_TEXT` code, the flag
    it concerns and the values its text shows."""

    code: str
    flag: str
    values: dict


def reason_text(reason: Reason, language: str = "en") -> str:
    """The text of ``reason`` in ``language`` ("en" or "zh")."""
    entry = REASON_TEXT[reason.code]
    return entry.get(language, entry["en"]).format(name=FLAG_NAMES[reason.flag].get(language, reason.flag),
                                                   **reason.values)


# ----------------------------------------------------------------------------------------- checks
def _frame(x: pd.DataFrame, name: str) -> pd.DataFrame:
    if not isinstance(x, pd.DataFrame):
        raise ValueError(f"`{name}` must be a DataFrame (dates x industries), got {type(x).__name__}")
    if not x.index.is_monotonic_increasing:
        raise ValueError(f"`{name}` must be sorted by date (oldest first)")
    return x.astype(float)


def _check_window(window: int, history: int, min_history: int, history_name: str = "history") -> None:
    if not isinstance(window, (int, np.integer)) or window < 2:
        raise ValueError(f"`window` must be an integer >= 2 trading days, got {window!r}")
    if not isinstance(history, (int, np.integer)) or history < 1:
        raise ValueError(f"`{history_name}` must be a positive integer number of rows, got {history!r}")
    if not isinstance(min_history, (int, np.integer)) or not 1 <= min_history <= history:
        raise ValueError(f"`min_history` must be an integer in 1..{history_name} ({history}), got {min_history!r}")


def _no_negative(x: pd.DataFrame, name: str) -> None:
    v = x.to_numpy(dtype=float)
    bad = np.argwhere(v < 0)
    if bad.size:
        r, c = bad[0]
        raise ValueError(f"`{name}` must be >= 0 (traded amount or volume): {v[r, c]:g} for {x.columns[c]} on "
                         f"{pd.Timestamp(x.index[r]).date() if isinstance(x.index, pd.DatetimeIndex) else x.index[r]}")


# ----------------------------------------------------------------------------------------- heat
def trading_share(trading: pd.DataFrame) -> pd.DataFrame:
    """Each industry's share of the day's trading (M14): ``s_it = x_it / Σ_j x_jt``.

    Parameters
    ----------
    trading : DataFrame
        index = trading date, columns = industry: traded amount (or volume), >= 0; NaN = no value.

    Returns
    -------
    Same shape: the share; NaN where ``x_it`` is missing or the day's total (over the industries with a
    value) is not > 0.
    """
    x = _frame(trading, "trading")
    _no_negative(x, "trading")
    total = x.sum(axis=1, min_count=1)
    return x.div(total.where(total > 0), axis=0)


def heat_level(trading: pd.DataFrame, window: int = DEFAULT_WINDOW) -> pd.DataFrame:
    """Turnover heat level (M14): the 20-day mean of :func:`trading_share`, ``h_it = mean(s_i,t−w+1 … s_it)``,
    NaN unless all ``window`` shares are present."""
    return trading_share(trading).rolling(int(window), min_periods=int(window)).mean()


def turnover_heat(trading: pd.DataFrame, window: int = DEFAULT_WINDOW, history: int = DEFAULT_HISTORY,
                  min_history: int = DEFAULT_MIN_HISTORY) -> pd.DataFrame:
    """Turnover heat percentile (M14): :func:`heat_level` within its own trailing ``history`` rows (at
    least ``min_history`` values), ``p_it = #{s ∈ W_t : h_is ≤ h_it} / #W_t``, in (0, 1]."""
    _check_window(window, history, min_history)
    return trailing_percentile(heat_level(trading, window), int(history), int(min_history))


# ----------------------------------------------------------------------------------------- divergence
def price_return(close: pd.DataFrame, window: int = DEFAULT_WINDOW) -> pd.DataFrame:
    """``close_t / close_{t−window} − 1`` (rows; NaN where either close is missing)."""
    c = _frame(close, "close")
    return c / c.shift(int(window)) - 1.0


def volume_change(volume: pd.DataFrame, window: int = DEFAULT_WINDOW) -> pd.DataFrame:
    """Mean daily volume of the last ``window`` rows against the ``window`` rows before, minus 1 (M14):
    ``mean(v_t−w+1 … v_t) / mean(v_t−2w+1 … v_t−w) − 1``; NaN unless both windows are complete and the
    earlier mean is > 0."""
    v = _frame(volume, "volume")
    _no_negative(v, "volume")
    m = v.rolling(int(window), min_periods=int(window)).mean()
    before = m.shift(int(window))
    return m / before.where(before > 0) - 1.0


def divergence_codes(close: pd.DataFrame, volume: pd.DataFrame, window: int = DEFAULT_WINDOW,
                     price_move: float = DEFAULT_PRICE_MOVE, volume_move: float = DEFAULT_VOLUME_MOVE
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Price–volume divergence (M14): (code, return, volume change), each dates x industries.

    code = −1 (``volume_up_price_down``, 放量下跌) where ``r ≤ −price_move`` and ``v ≥ volume_move``;
    +1 (``price_up_volume_down``, 缩量上涨) where ``r ≥ price_move`` and ``v ≤ −volume_move``; 0 otherwise;
    NaN where ``r`` or ``v`` is missing (:func:`price_return`, :func:`volume_change`; ``volume`` is
    aligned on ``close``'s dates and industries).
    """
    if not (0 <= price_move and 0 <= volume_move):
        raise ValueError(f"price_move and volume_move must be >= 0, got {price_move}, {volume_move}")
    r = price_return(close, window)
    v = volume_change(_frame(volume, "volume").reindex(index=r.index, columns=r.columns), window)
    rv, vv = r.to_numpy(), v.to_numpy()
    tol = THRESHOLD_TOLERANCE
    with np.errstate(invalid="ignore"):
        down = (rv <= -price_move + tol) & (vv >= volume_move - tol)
        up = (rv >= price_move - tol) & (vv <= -volume_move + tol)
    code = np.where(down, -1.0, np.where(up, 1.0, 0.0))
    code[np.isnan(rv) | np.isnan(vv)] = np.nan
    return pd.DataFrame(code, index=r.index, columns=r.columns), r, v


# ----------------------------------------------------------------------------------------- dispersion
#: rows of the stock panel handled at once by :func:`constituent_dispersion` (bounds its working memory)
_BLOCK_ROWS = 128


def constituent_dispersion(stock_close: pd.DataFrame, industry_of: pd.Series, window: int = DEFAULT_WINDOW,
                           min_stocks: int = DEFAULT_MIN_STOCKS,
                           industries: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-sectional dispersion of the constituents' returns (M14).

    Parameters
    ----------
    stock_close : DataFrame
        index = trading date (the stock calendar), columns = stock: closes (NaN = no price).
    industry_of : Series
        stock -> industry code; stocks without one are left out.
    window : int
        Return horizon in rows: ``r_st = close_st / close_s,t−window − 1``.
    min_stocks : int
        Fewest stocks with a return for a dispersion.
    industries : list of str, optional
        Columns of the result (default: the industries of ``industry_of``, sorted).

    Returns
    -------
    (dispersion, count) : DataFrames, index = ``stock_close.index``, columns = industries.
        ``σ_kt = sqrt(Σ_s (r_st − r̄_kt)² / (n_kt − 1))`` over the ``n_kt`` stocks of industry k with a
        return (two-pass: the mean first), NaN when ``n_kt < min_stocks``; ``σ ≤ TIE_TOLERANCE ×
        max_s |r_st|`` is 0. ``count`` = ``n_kt``.
    """
    c = _frame(stock_close, "stock_close")
    if not isinstance(min_stocks, (int, np.integer)) or min_stocks < 2:
        raise ValueError(f"`min_stocks` must be an integer >= 2, got {min_stocks!r}")
    ind = industry_of.reindex(c.columns)
    cols = sorted(pd.Index(industry_of.dropna().unique()).astype(str)) if industries is None else list(industries)
    pos = pd.Index(cols).get_indexer(ind.astype(object).where(ind.notna(), None))
    keep = np.flatnonzero(pos >= 0)
    order = keep[np.argsort(pos[keep], kind="stable")]  # stocks grouped by industry
    grp = pos[order]
    values = c.to_numpy(dtype=float)  # dates x stocks (a frame stores its values column by column)
    n_t, k = len(c), len(cols)
    disp = np.full((n_t, k), np.nan)
    count = np.zeros((n_t, k))
    present = np.unique(grp)
    starts = np.searchsorted(grp, present)
    sizes = np.diff(np.append(starts, len(grp)))
    w = int(window)
    for lo in range(w, n_t, _BLOCK_ROWS) if len(present) else ():
        hi = min(lo + _BLOCK_ROWS, n_t)
        # the block's returns, stocks in industry order, stored date by date (a date's stocks side by side): the
        # segment sums below then read contiguous runs, twice as fast, and no reordered copy of the whole panel
        # is made; the sums are the same (numpy adds a segment's values in their order, whatever the layout)
        r = np.empty((hi - lo, len(order)))
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(np.take(values[lo:hi], order, axis=1), np.take(values[lo - w:hi - w], order, axis=1), out=r)
        r -= 1.0
        ok = np.isfinite(r)
        r0 = np.where(ok, r, 0.0)
        cnt = np.add.reduceat(ok.astype(float), starts, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.add.reduceat(r0, starts, axis=1) / cnt
            dev = np.where(ok, r0 - np.repeat(mean, sizes, axis=1), 0.0)
            sd = np.sqrt(np.add.reduceat(dev * dev, starts, axis=1) / (cnt - 1))
        scale = np.maximum.reduceat(np.abs(r0), starts, axis=1)
        sd = np.where(sd <= TIE_TOLERANCE * scale, 0.0, sd)
        sd[cnt < min_stocks] = np.nan
        disp[lo:hi, present] = sd
        count[lo:hi, present] = cnt
    idx = pd.Index(cols, name="industry")
    return (pd.DataFrame(disp, index=c.index, columns=idx), pd.DataFrame(count, index=c.index, columns=idx))


# ----------------------------------------------------------------------------------------- all flags
@dataclass
class CrowdingPanels:
    """Every M14 series, dates (the industry calendar) x industries; NaN = not computable.

    ``heat_level`` (20-day mean share), ``heat_pct``; ``ret`` (20-day return), ``volume_change``,
    ``divergence`` (−1 / 0 / +1); ``dispersion`` (σ of the constituents' returns), ``n_stocks``,
    ``dispersion_pct``; the flags ``heat_on``, ``divergence_on``, ``dispersion_on`` (1 / 0 / NaN) and
    ``crowded`` (1 when any flag is on, 0 when none is on but one is known, NaN when none is known).
    ``close`` / ``trading`` / ``volume``: the inputs of heat and divergence (None when absent), ``measure``: what
    the heat share is of (``"amount"``, ``"volume"`` or None), ``stock_last``: last date of the stock
    panel (None without one), and the parameters.
    """

    heat_level: pd.DataFrame
    heat_pct: pd.DataFrame
    ret: pd.DataFrame
    volume_change: pd.DataFrame
    divergence: pd.DataFrame
    dispersion: pd.DataFrame
    n_stocks: pd.DataFrame
    dispersion_pct: pd.DataFrame
    heat_on: pd.DataFrame
    divergence_on: pd.DataFrame
    dispersion_on: pd.DataFrame
    crowded: pd.DataFrame
    close: pd.DataFrame
    trading: pd.DataFrame | None
    volume: pd.DataFrame | None
    measure: str | None
    stock_last: Any
    stock_history: pd.DataFrame | None
    params: dict = field(default_factory=dict)


def _flag(pct: pd.DataFrame, on: np.ndarray) -> pd.DataFrame:
    out = np.where(on, 1.0, 0.0)
    out[np.isnan(pct.to_numpy())] = np.nan
    return pd.DataFrame(out, index=pct.index, columns=pct.columns)


def crowding_panels(close: pd.DataFrame, trading: pd.DataFrame | None = None, volume: pd.DataFrame | None = None,
                    stock_close: pd.DataFrame | None = None, industry_of: pd.Series | None = None, *,
                    measure: str | None = None, window: int = DEFAULT_WINDOW,
                    crowding_history: int = DEFAULT_HISTORY, min_history: int = DEFAULT_MIN_HISTORY,
                    crowding_heat_flag: float = DEFAULT_HEAT_FLAG, crowding_price_move: float = DEFAULT_PRICE_MOVE,
                    crowding_volume_move: float = DEFAULT_VOLUME_MOVE,
                    crowding_dispersion_flag: float = DEFAULT_DISPERSION_FLAG,
                    min_stocks: int = DEFAULT_MIN_STOCKS) -> CrowdingPanels:
    """Every M14 series of every industry and day (see the module docstring for the formulas).

    Parameters
    ----------
    close : DataFrame
        Industry index closes, index = trading date (ascending), columns = industry: the calendar and
        the industries of every result.
    trading : DataFrame, optional
        What the heat share is of (traded amount, else volume), same layout; None: heat is blank.
    volume : DataFrame, optional
        Traded volume (or amount) for the divergence; None: divergence is blank.
    stock_close, industry_of : optional
        Stock closes (dates x stocks) and the stock -> industry map for the dispersion; None: blank.
    measure : str, optional
        Label of ``trading`` ("amount" / "volume"), kept for the reasons and headers.
    window, min_history, min_stocks
        The ``DEFAULT_*`` parameters of this module.
    crowding_history, crowding_heat_flag, crowding_price_move, crowding_volume_move, crowding_dispersion_flag
        Likewise, named as on the parameters sheet (the history, heat and dispersion percentile flags, the
        price and volume moves of a divergence).
    """
    history, heat_flag, dispersion_flag = crowding_history, crowding_heat_flag, crowding_dispersion_flag
    price_move, volume_move = crowding_price_move, crowding_volume_move
    _check_window(window, history, min_history, "crowding_history")
    for name, p in (("crowding_heat_flag", heat_flag), ("crowding_dispersion_flag", dispersion_flag)):
        if not 0 <= p <= 1:
            raise ValueError(f"`{name}` must be a percentile in [0, 1], got {p}")
    close = _frame(close, "close")
    idx, cols = close.index, close.columns
    empty = pd.DataFrame(np.nan, index=idx, columns=cols)
    if trading is not None:
        trading = _frame(trading, "trading").reindex(index=idx, columns=cols)
        level = heat_level(trading, window)
        heat_pct = trailing_percentile(level, int(history), int(min_history))
    else:
        level, heat_pct = empty, empty
    if volume is not None:
        volume = _frame(volume, "volume").reindex(index=idx, columns=cols)
        div, ret, vchg = divergence_codes(close, volume, window, price_move, volume_move)
    else:
        div, ret, vchg = empty, price_return(close, window), empty
    stock_last, stock_hist = None, None
    if stock_close is not None and industry_of is not None and stock_close.shape[0]:
        d_raw, n_raw = constituent_dispersion(stock_close, industry_of, window, min_stocks, industries=list(cols))
        p_raw = trailing_percentile(d_raw, int(history), int(min_history))
        stock_hist = d_raw.notna().rolling(int(history), min_periods=1).sum()
        stock_last = stock_close.index[-1]
        disp, n_stocks, disp_pct = (f.reindex(idx) for f in (d_raw, n_raw, p_raw))
        stock_hist = stock_hist.reindex(idx)
    else:
        disp, n_stocks, disp_pct = empty, empty, empty
    tol = THRESHOLD_TOLERANCE
    with np.errstate(invalid="ignore"):
        heat_on = _flag(heat_pct, heat_pct.to_numpy() >= heat_flag - tol)
        disp_on = _flag(disp_pct, disp_pct.to_numpy() <= dispersion_flag + tol)
        div_on = _flag(div, div.to_numpy() != 0)
    stack = np.stack([heat_on.to_numpy(), div_on.to_numpy(), disp_on.to_numpy()])
    known = ~np.isnan(stack)
    crowded = np.where(known.any(axis=0), np.nansum(stack, axis=0) > 0, np.nan).astype(float)
    params = dict(window=int(window), history=int(history), min_history=int(min_history), heat_flag=heat_flag,
                  price_move=price_move, volume_move=volume_move, dispersion_flag=dispersion_flag,
                  min_stocks=int(min_stocks))
    return CrowdingPanels(heat_level=level, heat_pct=heat_pct, ret=ret, volume_change=vchg, divergence=div,
                          dispersion=disp, n_stocks=n_stocks, dispersion_pct=disp_pct, heat_on=heat_on,
                          divergence_on=div_on, dispersion_on=disp_on,
                          crowded=pd.DataFrame(crowded, index=idx, columns=cols), close=close, trading=trading,
                          volume=volume,
                          measure=measure if trading is not None else None, stock_last=stock_last,
                          stock_history=stock_hist, params=params)


def weekly_counts(panels: CrowdingPanels, ends: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """The weekly series of the count (M14): on each week's last trading day (``ends``; default the week
    ends of the industry calendar), the number of crowded industries and of industries with each flag
    on, and the number with a known crowded value (``industries``). A count is NaN (not 0) in a week
    where no industry has its flag (or, for ``crowded``, any flag) known."""
    ends = week_ends(panels.crowded.index) if ends is None else pd.DatetimeIndex(ends)
    out = {}
    for key, frame in (("crowded", panels.crowded), ("heat", panels.heat_on), ("divergence", panels.divergence_on),
                       ("dispersion", panels.dispersion_on)):
        v = frame.reindex(ends).to_numpy()
        known = (~np.isnan(v)).sum(axis=1)
        out[key] = np.where(known > 0, (v == 1).sum(axis=1), np.nan)
    out["industries"] = (~np.isnan(panels.crowded.reindex(ends).to_numpy())).sum(axis=1).astype(float)
    return pd.DataFrame(out, index=pd.DatetimeIndex(ends, name="date"))


# ----------------------------------------------------------------------------------------- one day's table
def _last_valid(frame: pd.DataFrame | None, col, upto):
    """Label of the last row up to ``upto`` where ``frame[col]`` has a value (None: none)."""
    if frame is None:
        return None
    s = frame[col].loc[:upto].dropna()
    return s.index[-1] if len(s) else None


def _label(at, index: pd.Index) -> str:
    """A row label for a reason: the date (YYYY-MM-DD), else the index's name and the label (``row 12``)."""
    if isinstance(at, (pd.Timestamp, np.datetime64)):
        return f"{pd.Timestamp(at):%Y-%m-%d}"
    return f"{index.name or 'row'} {at}"


def _window_values(frame: pd.DataFrame, col, upto: pd.Timestamp, rows: int) -> int:
    """Non-missing values of ``frame[col]`` among the last ``rows`` rows up to ``upto``."""
    return int(frame[col].loc[:upto].tail(rows).notna().sum())


def reasons_at(panels: CrowdingPanels, date, industry) -> list[Reason]:
    """Why ``industry`` is crowded on ``date`` (a row label of the panels: a date, or a row number), each
    flag that is on, and why each blank flag is blank: no volume (or none after a date), no constituent
    prices (or none after a date), too few stocks, too little history."""
    p, d = panels.params, _at(date, panels.crowded.index)
    out: list[Reason] = []
    heat_pct = panels.heat_pct.at[d, industry]
    if panels.heat_on.at[d, industry] == 1:
        out.append(Reason("heat", "heat", {"pct": heat_pct, "flag": p["heat_flag"]}))
    elif np.isnan(heat_pct):
        out.append(_missing_volume(panels, industry, d, "heat"))
    code = panels.divergence.at[d, industry]
    if code in (-1.0, 1.0):
        out.append(Reason(DIVERGENCE_KINDS[int(code)], "divergence",
                          {"window": p["window"], "ret": panels.ret.at[d, industry],
                           "change": panels.volume_change.at[d, industry]}))
    elif np.isnan(code):
        out.append(_missing_volume(panels, industry, d, "divergence"))
    if panels.dispersion_on.at[d, industry] == 1:
        out.append(Reason("dispersion", "dispersion", {"pct": panels.dispersion_pct.at[d, industry],
                                                       "flag": p["dispersion_flag"]}))
    elif np.isnan(panels.dispersion_pct.at[d, industry]):
        out.append(_missing_dispersion(panels, industry, d))
    return out


def _missing_volume(panels: CrowdingPanels, col, d: pd.Timestamp, flag: str) -> Reason:
    """Why heat or divergence is blank: no input at all, an input that ended before ``d``, or too
    little history (its own values, or the closes of the divergence's return)."""
    p, w = panels.params, panels.params["window"]
    inputs = panels.trading if flag == "heat" else panels.volume
    last = _last_valid(inputs, col, d)
    if last is None:
        return Reason("no_volume", flag, {})
    if last < d:
        return Reason("volume_ended", flag, {"last": _label(last, inputs.index)})
    need = w if flag == "heat" else 2 * w
    have = _window_values(inputs, col, d, need)
    if have < need:
        return Reason("short_history", flag, {"n": have, "need": need})
    if flag == "heat":
        return Reason("short_history", flag, {"n": _window_values(panels.heat_level, col, d, p["history"]),
                                              "need": p["min_history"]})
    return Reason("short_history", flag, {"n": _window_values(panels.close, col, d, w + 1), "need": w + 1})


def _missing_dispersion(panels: CrowdingPanels, col, d: pd.Timestamp) -> Reason:
    p = panels.params
    if panels.stock_last is None:
        return Reason("no_stock_prices", "dispersion", {})
    if d > panels.stock_last:
        return Reason("stocks_ended", "dispersion", {"last": _label(panels.stock_last, panels.crowded.index)})
    n = panels.n_stocks.at[d, col]
    if np.isnan(panels.dispersion.at[d, col]) and not np.isnan(n) and n < p["min_stocks"]:
        return Reason("few_stocks", "dispersion", {"n": int(n), "window": p["window"], "need": p["min_stocks"]})
    if np.isnan(panels.dispersion.at[d, col]):  # not a stock trading day, or before the first return
        return Reason("no_stock_prices", "dispersion", {})
    hist = panels.stock_history.at[d, col] if panels.stock_history is not None else 0
    return Reason("short_history", "dispersion", {"n": int(0 if np.isnan(hist) else hist), "need": p["min_history"]})


#: columns of :func:`crowding_table`, in order
TABLE_COLUMNS = ["industry", "name", "heat_level", "heat_pct", "ret", "volume_change", "divergence", "dispersion",
                 "n_stocks", "dispersion_pct", "crowded", "reasons"]


def _at(date, index: pd.Index):
    """``date`` as a label of ``index`` (a Timestamp for a date index)."""
    return pd.Timestamp(date) if isinstance(index, pd.DatetimeIndex) else date


def crowding_table(panels: CrowdingPanels, date, names: pd.Series | None = None) -> pd.DataFrame:
    """The M14 table of one day: one row per industry (the calendar's industries, in code order).

    Columns :data:`TABLE_COLUMNS`: industry, name, heat_level (20-day mean share), heat_pct, ret
    (20-day return), volume_change, divergence (``volume_up_price_down`` / ``price_up_volume_down`` /
    None), dispersion, n_stocks, dispersion_pct, crowded (1.0 / 0.0 / NaN when no flag is known) and
    reasons (list of :class:`Reason`; :func:`reason_text` gives their words).
    """
    d = _at(date, panels.crowded.index)
    if d not in panels.crowded.index:
        raise ValueError(f"{_label(d, panels.crowded.index)} is not a date of the industry closes")
    cols = list(panels.crowded.columns)
    code = panels.divergence.loc[d].to_numpy()
    label = names.reindex(cols) if names is not None and len(names) else pd.Series(index=cols, dtype=object)
    row = {
        "industry": [str(c) for c in cols],
        "name": pd.Series([str(v) if isinstance(v, str) else "" for v in label], dtype=object),
        "heat_level": panels.heat_level.loc[d].to_numpy(), "heat_pct": panels.heat_pct.loc[d].to_numpy(),
        "ret": panels.ret.loc[d].to_numpy(), "volume_change": panels.volume_change.loc[d].to_numpy(),
        "divergence": pd.Series([DIVERGENCE_KINDS.get(int(c)) if not math.isnan(c) else None for c in code],
                                dtype=object),
        "dispersion": panels.dispersion.loc[d].to_numpy(), "n_stocks": panels.n_stocks.loc[d].to_numpy(),
        "dispersion_pct": panels.dispersion_pct.loc[d].to_numpy(), "crowded": panels.crowded.loc[d].to_numpy(),
        "reasons": pd.Series([reasons_at(panels, d, c) for c in cols], dtype=object),
    }
    return pd.DataFrame(row, columns=TABLE_COLUMNS)


# ----------------------------------------------------------------------------------------- market level
@dataclass
class CrowdingResult:
    """M14 on a market: the daily ``panels``, the ``table`` of the as-of date, the ``weekly`` count series,
    the ``asof`` date (the last industry date on or before the one asked), the heat ``measure`` and
    ``notes`` (inputs missing for every industry)."""

    panels: CrowdingPanels
    table: pd.DataFrame
    weekly: pd.DataFrame
    asof: pd.Timestamp
    measure: str | None
    notes: list[str]
    #: where industry_daily (the table's input: :data:`CROWDING_NEEDS`) lets it run, capped at the date asked;
    #: each flag whose own input ends earlier is blank with that reason
    effective_end: EffectiveEnd | None = None


#: the table M14 needs: its date is the last of these on or before the one asked (:mod:`xladdin.data.ends`)
CROWDING_NEEDS = {"industry_daily": None}


def _choose_measure(df: pd.DataFrame, measure: str) -> str | None:
    if measure not in MEASURES:
        raise ValueError(f"measure `{measure}` unknown; use one of {', '.join(MEASURES)}")
    has = {c: c in df.columns and bool(df[c].notna().any()) for c in ("amount", "volume")}
    if measure == "auto":
        return "amount" if has["amount"] else ("volume" if has["volume"] else None)
    if not has[measure]:
        raise ValueError(f"industry_daily has no `{measure}` values; use measure auto or "
                         f"{'volume' if measure == 'amount' else 'amount'}")
    return measure


def market_crowding(market: Market, asof=None, *, measure: str = "auto", window: int = DEFAULT_WINDOW,
                    crowding_history: int = DEFAULT_HISTORY, min_history: int = DEFAULT_MIN_HISTORY,
                    crowding_heat_flag: float = DEFAULT_HEAT_FLAG, crowding_price_move: float = DEFAULT_PRICE_MOVE,
                    crowding_volume_move: float = DEFAULT_VOLUME_MOVE,
                    crowding_dispersion_flag: float = DEFAULT_DISPERSION_FLAG,
                    min_stocks: int = DEFAULT_MIN_STOCKS) -> CrowdingResult:
    """M14 on the canonical tables: industry_daily (close; optional amount / volume), stock_daily (close)
    and stock_industry (the map, and the industries' names). Absent inputs leave their flag blank with
    the reason (``notes`` says it once for all industries).

    ``asof``: the table's date is the last industry_daily date on or before it (default: its last date);
    no data after it is used. ``measure``: the heat share of "amount", "volume" or "auto" (amount when
    the table has amount values, else volume). The ``crowding_*`` thresholds are the parameters sheet's
    (:func:`crowding_panels`).
    """
    with scope(market):
        df = market.require("industry_daily", "close", purpose="industry crowding (M14)")
        eff = market_effective_end(market, CROWDING_NEEDS, cap=asof)
        close = market.industry_close().loc[:eff.end]
        if close.empty:
            raise ValueError(f"industry_daily has no date on or before {pd.Timestamp(asof):%Y-%m-%d}")
        end = close.index[-1]
        chosen = _choose_measure(df, measure)
        notes = []
        trading = market.panel("industry_daily", chosen).loc[:end] if chosen else None
        vol_col = "volume" if "volume" in df.columns and df["volume"].notna().any() else chosen
        volume = market.panel("industry_daily", vol_col).loc[:end] if vol_col else None
        if chosen is None:
            notes.append("industry_daily has no volume or amount: turnover heat and price-volume divergence are blank")
        elif chosen == "volume":
            notes.append("turnover heat is each industry's share of the traded volume (industry_daily has no amount)")
        if vol_col is not None and vol_col != "volume":
            notes.append("price-volume divergence uses the traded amount (industry_daily has no volume)")
        stock_close, industry_of = None, None
        if market.has("stock_daily") and market.has("stock_industry"):
            stock_close = pivot(market, "stock_daily", "close", end=end, share=False)
            industry_of = market.stock_industry["industry"]
        else:
            notes.append("constituent dispersion needs stock_daily and stock_industry: blank")
        panels = crowding_panels(close, trading, volume, stock_close, industry_of, measure=chosen, window=window,
                                 crowding_history=crowding_history, min_history=min_history,
                                 crowding_heat_flag=crowding_heat_flag, crowding_price_move=crowding_price_move,
                                 crowding_volume_move=crowding_volume_move,
                                 crowding_dispersion_flag=crowding_dispersion_flag, min_stocks=min_stocks)
        del stock_close
    names = market.industry_names if market.has("stock_industry") else None
    return CrowdingResult(panels=panels, table=crowding_table(panels, end, names), weekly=weekly_counts(panels),
                          asof=pd.Timestamp(end), measure=chosen, notes=notes, effective_end=eff)


#: weeks of slack for weeks without trading (Spring Festival, National Day) per 156 weeks (as M13's window)
_SLACK_WEEKS_PER_156 = 13


def stock_rows_since(asof, crowding_weeks: int = DEFAULT_WEEKS, crowding_history: int = DEFAULT_HISTORY,
                     window: int = DEFAULT_WINDOW) -> pd.Timestamp:
    """Earliest stock_daily date the dispersion of the last ``crowding_weeks`` week ends up to ``asof`` can read.

    The earliest of those week ends lies at most ``5 × (crowding_weeks + 1)`` trading days before ``asof``;
    its percentile reads the ``crowding_history`` dispersions before it, each the return over ``window`` rows:
    ``n = 5 × (crowding_weeks + 1) + crowding_history + window`` trading days, that is ``ceil(n / 5)`` weeks of five days
    plus 13 weeks without trading per 156 (holidays: about 2.5 a year), counted back from ``asof``. A
    market whose stock_daily holds only the rows from this date on gives the same panels on those week
    ends as the full table (tested).
    """
    n = 5 * (int(crowding_weeks) + 1) + int(crowding_history) + int(window)
    span = math.ceil(n / 5)
    slack = math.ceil(_SLACK_WEEKS_PER_156 * span / 156)
    return pd.Timestamp(asof).normalize() - pd.Timedelta(days=7 * (span + slack))
