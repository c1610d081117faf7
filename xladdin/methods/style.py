"""Factor momentum and style regimes (spec M5, Huafu).

Weekly, on each week's last trading day: the ratio of a large-cap (growth) index close to a
small-cap (value) index close, its one-sided HP trend (M4, :func:`xladdin.methods.filters.hp_filter_one_sided`),
the factor momentum of the trend and the regime it implies, beside the realised style of the week.

* Size: CSI 300 (``000300.SH``) / CSI 1000 (``000852.SH``).
* Growth/value: 国证成长 (``399370.SZ``) / 国证价值 (``399371.SZ``).

Timing (read from the report's own table, seed 003): the signal on week-end date t uses closes up
to and including t; the realised style on row t is the return over the week *ending* at t (previous
week-end close to this one). The strategies (:mod:`xladdin.methods.strategy`, M8 and M10) take the regime
known at their decision close and trade it ``lag`` sessions later; :func:`regime_for_next_week` only
moves a regime to the week during which it is held, for tables.

Lambda: :data:`DEFAULT_LAMBDA` = 100 comes from evidence, not from a frequency rule: on the real
CSI 300 / CSI 1000 closes it lies inside the interval of lambdas that reproduce all of the report's
weekly size signals of 2025-09-05 .. 2025-12-31 (:func:`report_agreement`, ``xladdin style --scan``).
The measured bounds, the weeks that decide them and the other lambdas' agreement are in
``docs/results.md`` (section M4-M5, written by ``scripts/results.py`` and checked against a fresh run
by ``tests/test_results_doc.py``). The growth/value pair cannot be checked against the report: the
real 399370/399371 closes end on 2024-12-12, before the report's weeks.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from xladdin.data.calendar import week_ends
from xladdin.data.ends import EffectiveEnd, market_effective_end
from xladdin.data.market import Market, MissingTableError
from xladdin.errors import Note, note_of

from .filters import hp_filter_one_sided

__all__ = ["DEFAULT_LAMBDA", "STYLE_PAIRS", "STYLE_FIELDS", "factor_momentum", "style_signal",
           "weekly_style_table", "regime_for_next_week", "report_style_table", "report_agreement", "style_end"]

#: a date: Timestamp, datetime or "YYYY-MM-DD" (None = open end)
DateLike = pd.Timestamp | str | None

#: default smoothing parameter of the weekly style signals (evidence: see the module docstring)
DEFAULT_LAMBDA: float = 100.0

#: style pairs: name -> (large/growth index, small/value index, description)
STYLE_PAIRS: dict[str, tuple[str, str, str]] = {
    "size": ("000300.SH", "000852.SH", "CSI 300 / CSI 1000 (1 = large-cap leads)"),
    "growth": ("399370.SZ", "399371.SZ", "国证成长 / 国证价值 (1 = growth leads)"),
}

#: columns of :func:`style_signal`, in order
STYLE_FIELDS: tuple[str, ...] = ("ratio", "filtered", "momentum", "regime", "realised")


def factor_momentum(filtered: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """Factor momentum of a filtered series (spec M5).

    Parameters
    ----------
    filtered : Series or 1-D array-like
        The filtered factor (e.g. the one-sided HP trend of a ratio), index = date, in time order.

    Returns
    -------
    Series (for a Series: same index and name) or array
        ``signal_t = yhat_t - (yhat_{t-1} + yhat_{t-2}) / 2``; NaN for the first two points.

    Notes
    -----
    Above 0 the factor is rising (regime 1), below 0 falling (regime 0).
    """
    if not isinstance(filtered, pd.Series):
        return _momentum(np.asarray(filtered, dtype=float))
    return pd.Series(_momentum(filtered.to_numpy(dtype=float)), index=filtered.index, name=filtered.name,
                     copy=False)


def _momentum(y: np.ndarray) -> np.ndarray:
    """``y_t - (y_{t-1} + y_{t-2}) / 2`` (NaN for the first two), halves summed so no sum can overflow."""
    out = np.full(y.size, np.nan)
    out[2:] = y[2:] - (y[1:-1] * 0.5 + y[:-2] * 0.5)
    return out


def _weekly_pair(large: pd.Series, small: pd.Series) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Closes of both series on each week's last common trading day: (dates, large, small)."""
    for s, what in ((large, "large"), (small, "small")):
        if not isinstance(s, pd.Series):
            raise ValueError(f"style_signal: `{what}` must be a pandas Series of closes indexed by date")
        if not isinstance(s.index, pd.DatetimeIndex):
            raise ValueError(f"style_signal: `{what}` must be indexed by date (DatetimeIndex)")
    if large.index.equals(small.index) and large.index.is_monotonic_increasing:
        a = large.to_numpy(dtype=float, na_value=np.nan)
        b = small.to_numpy(dtype=float, na_value=np.nan)
        keep = ~(np.isnan(a) | np.isnan(b))
        dates, a, b = large.index[keep], a[keep], b[keep]
    else:
        both = pd.concat({"large": large.astype(float), "small": small.astype(float)}, axis=1, join="inner")
        both = both.dropna().sort_index()
        dates, a, b = both.index, both["large"].to_numpy(), both["small"].to_numpy()
    if dates.has_duplicates:
        raise ValueError("style_signal: duplicated dates in the close series; keep one close per date")
    bad = (a <= 0) | (b <= 0)
    if bad.any():
        raise ValueError(f"style_signal: non-positive close on {dates[np.argmax(bad)].date()}; closes must be > 0")
    if dates.empty:
        raise ValueError("style_signal: the two close series have no date in common")
    at = dates.get_indexer(week_ends(dates))
    return dates[at], a[at], b[at]


def style_signal(large: pd.Series, small: pd.Series, lamb: float = DEFAULT_LAMBDA, *,
                 start: DateLike = None, end: DateLike = None) -> pd.DataFrame:
    """Weekly style signal of a pair of indices (spec M4 + M5).

    Parameters
    ----------
    large, small : Series
        Daily closes of the large-cap (growth) and small-cap (value) index, index = date.
        Only dates where both have a close are used (inner join; missing closes dropped).
    hp_lambda : float, default :data:`DEFAULT_LAMBDA`
        Smoothing parameter of the one-sided HP filter on the weekly ratio.
    start, end : date-like, optional
        Rows of the output to keep. The filter always runs over the whole history given (it is
        one-sided, so ``end`` does not change earlier rows; ``start`` only hides rows).

    Returns
    -------
    DataFrame
        index = week-end date (each week's last common trading day, Monday-Sunday weeks);
        columns:

        - ``ratio``: ``large_t / small_t``;
        - ``filtered``: one-sided HP trend of ``ratio`` (M4), using weeks up to t only;
        - ``momentum``: ``filtered_t - (filtered_{t-1} + filtered_{t-2}) / 2`` (M5);
        - ``regime``: 1 if momentum > 0 (large/growth leads), 0 otherwise; missing for the
          first two weeks (nullable ``Int8``);
        - ``realised``: 1 if large's return over the week ending t beat small's
          (``ratio_t > ratio_{t-1}``), else 0; missing for the first week (``Int8``).

    Raises
    ------
    ValueError
        Non-positive or duplicated closes, no common date, or a ratio beyond the float range
        (closes in wildly different units, e.g. 1e200 against 1e-200).

    Notes
    -----
    The signal on row t uses closes up to t (no future data); compare it with the *next*
    row's ``realised`` to judge it as a forecast. The report's table puts the signal and the
    realised style of the same week side by side (see the module docstring).
    """
    dates, a, b = _weekly_pair(large, small)
    ratio = a / b
    off = ~np.isfinite(ratio) | (ratio == 0)
    if off.any():
        k = int(np.argmax(off))
        raise ValueError(f"style_signal: large / small close in week {k + 1} ({dates[k].date()}) is beyond the float "
                         "range (about 1e-308 .. 1e308); give both closes in comparable units")
    filtered = hp_filter_one_sided(ratio, lamb)
    momentum = _momentum(filtered)
    regime = pd.arrays.IntegerArray((momentum > 0).astype(np.int8), np.isnan(momentum))
    realised = pd.arrays.IntegerArray(np.r_[0, ratio[1:] > ratio[:-1]].astype(np.int8),
                                      np.arange(ratio.size) == 0)
    out = pd.DataFrame({"ratio": ratio, "filtered": filtered, "momentum": momentum,
                        "regime": regime, "realised": realised}, index=pd.DatetimeIndex(dates, name="date"))
    if start is not None or end is not None:
        out = out.loc[pd.Timestamp(start) if start is not None else None:
                      pd.Timestamp(end) if end is not None else None]
    return out


def weekly_style_table(market: Market, hp_lambda: float = DEFAULT_LAMBDA, *,
                       pairs: tuple[str, ...] | list[str] = ("size", "growth"),
                       start: DateLike = None, end: DateLike = None) -> pd.DataFrame:
    """The report's weekly style table for size and growth/value (spec M5).

    Parameters
    ----------
    market : Market
        Needs ``index_daily`` with the indices of the requested pairs (:data:`STYLE_PAIRS`).
    lamb : float, default :data:`DEFAULT_LAMBDA`
        One-sided HP smoothing parameter (the same for every pair).
    pairs : sequence of {"size", "growth"}
        Which pairs to compute.
    start, end : date-like, optional
        Output rows kept; the filter uses the market's whole history of each pair.

    Returns
    -------
    DataFrame
        index = week-end date; columns ``<pair>_<field>`` for each pair and field in
        :data:`STYLE_FIELDS` (e.g. ``size_regime``, ``size_realised``, ``growth_regime``).
        Pairs are joined on dates (outer join: a week present for one pair only has missing
        values for the other).

    Raises
    ------
    MissingTableError
        When an index of a requested pair has no closes (e.g. the real canonical data has no
        399370/399371: request ``pairs=("size",)``).
    """
    unknown = [p for p in pairs if p not in STYLE_PAIRS]
    if unknown or not pairs:
        raise ValueError(f"unknown style pair(s) {unknown or pairs!r}; choose from {', '.join(STYLE_PAIRS)}")
    frames = []
    for pair in pairs:
        large_code, small_code, _ = STYLE_PAIRS[pair]
        closes = []
        for code in (large_code, small_code):
            try:
                closes.append(market.index_close(code))
            except MissingTableError as exc:
                raise MissingTableError(Note(
                    "style.pair_needs_closes", f"style pair `{pair}` needs closes of {large_code} and "
                    f"{small_code} in index_daily: {exc}", pair=pair, large=large_code, small=small_code,
                    cause=note_of(exc))) from exc
        sig = style_signal(closes[0], closes[1], hp_lambda, start=start, end=end)
        frames.append(sig.add_prefix(f"{pair}_"))
    out = pd.concat(frames, axis=1, join="outer", sort=True)
    out.index.name = "date"
    return out


def style_end(market: Market, pair: str, end: DateLike = None) -> EffectiveEnd:
    """Where the signals of style ``pair`` stop: the effective end of its two indices' closes in index_daily
    (:mod:`xladdin.data.ends`; the one ending first limits), capped at ``end``. Each pair of
    :func:`weekly_style_table` runs to its own end (no week after it has a value for that pair)."""
    large, small, _ = STYLE_PAIRS[pair]
    return market_effective_end(market, {"index_daily": [large, small]}, cap=end)


def regime_for_next_week(signal: pd.DataFrame | pd.Series) -> pd.Series | pd.DataFrame:
    """Regimes moved to the week during which they are held (spec M5), for tables.

    The strategies do not use this: they take the regime known at their decision close and trade it
    ``lag`` sessions later (:mod:`xladdin.methods.strategy`).

    Parameters
    ----------
    signal : DataFrame or Series
        Output of :func:`style_signal` (uses column ``regime``) or a regime Series/DataFrame
        indexed by week-end date.

    Returns
    -------
    Series or DataFrame
        ``regime`` shifted by one week: the value on week-end t is the signal known at the
        previous week end, i.e. the regime to hold during the week ending t.
    """
    if isinstance(signal, pd.DataFrame) and "regime" in signal.columns:
        signal = signal["regime"]
    return signal.shift(1)


#: the report's weekly style table (Huafu, seed 003, "单边HP+因子动量划分大小盘/成长价值风格"):
#: week-end date -> (size signal, size realised, growth signal, growth realised). Published
#: figures, used to check this implementation and to choose :data:`DEFAULT_LAMBDA`.
_REPORT_ROWS = (
    ("2025-09-05", 1, 1, 1, 1), ("2025-09-12", 1, 0, 1, 1), ("2025-09-19", 1, 0, 1, 1),
    ("2025-09-26", 1, 1, 1, 1), ("2025-09-30", 1, 0, 1, 1), ("2025-10-10", 1, 1, 1, 0),
    ("2025-10-17", 1, 1, 1, 0), ("2025-10-24", 1, 0, 1, 1), ("2025-10-31", 1, 0, 1, 1),
    ("2025-11-07", 1, 1, 1, 0), ("2025-11-14", 0, 0, 0, 0), ("2025-11-21", 1, 1, 0, 0),
    ("2025-11-28", 0, 0, 0, 1), ("2025-12-05", 0, 1, 0, 1), ("2025-12-12", 0, 0, 0, 1),
    ("2025-12-19", 0, 1, 0, 0), ("2025-12-26", 0, 0, 0, 1), ("2025-12-31", 0, 0, 0, 0),
    ("2026-01-09", 0, 0, 1, 1), ("2026-01-16", 0, 0, 1, 1), ("2026-01-23", 0, 0, 1, 0),
    ("2026-01-30", 0, 1, 1, 0),
)


def report_style_table() -> pd.DataFrame:
    """The report's own weekly style table (seed 003), 2025-09-05 .. 2026-01-30.

    Returns
    -------
    DataFrame
        index = week-end date; columns ``size_regime``, ``size_realised``, ``growth_regime``,
        ``growth_realised`` (``Int8``, 1/0), named like :func:`weekly_style_table`'s columns.
    """
    df = pd.DataFrame(_REPORT_ROWS, columns=["date", "size_regime", "size_realised",
                                             "growth_regime", "growth_realised"])
    df["date"] = pd.to_datetime(df["date"])
    return df.set_index("date").astype("Int8")


def report_agreement(market: Market, lambdas: Iterable[float], *, pair: str = "size",
                     start: DateLike = None, end: DateLike = None) -> pd.DataFrame:
    """How many weeks of the report's signal each lambda reproduces (the evidence for the default).

    Parameters
    ----------
    market : Market
        Needs the pair's index closes (filter run over the market's whole history).
    lambdas : iterable of float
        Smoothing parameters to try.
    pair : {"size", "growth"}
    start, end : date-like, optional
        Report weeks compared (default: every report week the data covers).

    Returns
    -------
    DataFrame
        One row per lambda: ``lamb``, ``weeks`` (report weeks compared), ``agree`` (weeks whose
        regime equals the report's), ``signals`` (our regimes as a 0/1 string, in date order).
        The realised style is not compared here (it does not depend on lambda).
    """
    report = report_style_table()[f"{pair}_regime"]
    rows = []
    for lamb in lambdas:
        ours = weekly_style_table(market, lamb, pairs=(pair,), start=start, end=end)[f"{pair}_regime"]
        common = report.index.intersection(ours.index)
        if common.empty:
            raise ValueError(f"no report week ({report.index[0].date()} .. {report.index[-1].date()}) "
                             f"in the data's {pair} signal; the data must cover those weeks")
        a, b = ours.loc[common], report.loc[common]
        rows.append({"lamb": float(lamb), "weeks": len(common), "agree": int((a == b).sum()),
                     "signals": "".join("-" if pd.isna(v) else str(int(v)) for v in a)})
    return pd.DataFrame(rows, columns=["lamb", "weeks", "agree", "signals"])
