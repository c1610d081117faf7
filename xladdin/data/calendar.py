"""A-share trading calendar (SSE / SZSE) and week / month / quarter ends.

Trading days come from exchange-calendars' XSHG calendar (the Shanghai exchange's published
closures, make-up days included) for the years it has on record; beyond them, weekdays minus the
statutory holidays tabulated below (New Year's Day, the Spring Festival week, Qingming, Labour Day,
the Dragon Boat and Mid-Autumn festivals, the National Day week; 2015-2027), which approximate the
closures but not the State Council's make-up arrangements. It is the calendar of the embedded
sample market (:mod:`xladdin.data.sample`) and of the data checks (:mod:`xladdin.data.checks`); real data
carries its own trading days.
"""
from __future__ import annotations

import datetime as _dt
import functools
import os
import warnings as _warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xladdin.fileguard import atomic_write_with

#: Gregorian date of the lunar new year (春节, first day of the first lunar month)
LUNAR_NEW_YEAR = {
    2015: "2015-02-19", 2016: "2016-02-08", 2017: "2017-01-28", 2018: "2018-02-16", 2019: "2019-02-05",
    2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22", 2024: "2024-02-10",
    2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06",
}
#: Dragon Boat festival (端午, 5th day of the 5th lunar month)
DRAGON_BOAT = {
    2015: "2015-06-20", 2016: "2016-06-09", 2017: "2017-05-30", 2018: "2018-06-18", 2019: "2019-06-07",
    2020: "2020-06-25", 2021: "2021-06-14", 2022: "2022-06-03", 2023: "2023-06-22", 2024: "2024-06-10",
    2025: "2025-05-31", 2026: "2026-06-19", 2027: "2027-06-09",
}
#: Mid-Autumn festival (中秋, 15th day of the 8th lunar month)
MID_AUTUMN = {
    2015: "2015-09-27", 2016: "2016-09-15", 2017: "2017-10-04", 2018: "2018-09-24", 2019: "2019-09-13",
    2020: "2020-10-01", 2021: "2021-09-21", 2022: "2022-09-10", 2023: "2023-09-29", 2024: "2024-09-17",
    2025: "2025-10-06", 2026: "2026-09-25", 2027: "2027-09-15",
}
#: Qingming (清明, solar term)
QINGMING = {
    2015: "2015-04-05", 2016: "2016-04-04", 2017: "2017-04-04", 2018: "2018-04-05", 2019: "2019-04-05",
    2020: "2020-04-04", 2021: "2021-04-04", 2022: "2022-04-05", 2023: "2023-04-05", 2024: "2024-04-04",
    2025: "2025-04-04", 2026: "2026-04-05", 2027: "2027-04-05",
}
SUPPORTED_YEARS = (min(LUNAR_NEW_YEAR), max(LUNAR_NEW_YEAR))


def _single_day(day: _dt.date) -> list[_dt.date]:
    """A one-day holiday: closed that weekday; on a Saturday the Friday before, on a Sunday the Monday after."""
    wd = day.weekday()
    if wd == 5:
        return [day - _dt.timedelta(days=1)]
    if wd == 6:
        return [day + _dt.timedelta(days=1)]
    return [day]


def _span(first: _dt.date, last: _dt.date) -> list[_dt.date]:
    return [first + _dt.timedelta(days=i) for i in range((last - first).days + 1)]


def holidays(year: int) -> list[pd.Timestamp]:
    """Exchange holidays (weekdays only) of one year.

    Parameters
    ----------
    year : calendar year in 2015-2027.

    Returns
    -------
    Sorted list of the weekdays the exchanges are closed.

    Notes
    -----
    New Year: 1 January (shifted off a weekend). Spring Festival: new-year's eve to the 6th day
    (eve + 7 days). Qingming, Dragon Boat, Mid-Autumn: the day (shifted off a weekend).
    Labour Day: 1-3 May to 2019, 1-5 May from 2020. National Day: 1-7 October.
    """
    if not SUPPORTED_YEARS[0] <= year <= SUPPORTED_YEARS[1]:
        raise ValueError(f"trading calendar covers {SUPPORTED_YEARS[0]}-{SUPPORTED_YEARS[1]}; year {year} has no "
                         "holiday table (use the dates of your own data instead)")
    d = _dt.date
    days: list[_dt.date] = []
    days += _single_day(d(year, 1, 1))
    lny = _dt.date.fromisoformat(LUNAR_NEW_YEAR[year])
    days += _span(lny - _dt.timedelta(days=1), lny + _dt.timedelta(days=6))
    days += _single_day(_dt.date.fromisoformat(QINGMING[year]))
    days += _span(d(year, 5, 1), d(year, 5, 3 if year < 2020 else 5))
    days += _single_day(_dt.date.fromisoformat(DRAGON_BOAT[year]))
    mid_autumn = _dt.date.fromisoformat(MID_AUTUMN[year])
    days += _single_day(mid_autumn)
    days += _span(d(year, 10, 1), d(year, 10, 7))
    out = sorted({pd.Timestamp(x) for x in days if x.weekday() < 5})
    return out


def trading_days(start, end) -> pd.DatetimeIndex:
    """A-share trading days in [start, end].

    Parameters
    ----------
    start, end : anything :class:`pandas.Timestamp` accepts; both inclusive. Days within the span of
        :func:`xshg_sessions` are the exchange's sessions; later days (up to 2027) are weekdays minus
        :func:`holidays`.

    Returns
    -------
    DatetimeIndex (datetime64[ns], name ``date``).
    """
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if end < start:
        raise ValueError(f"end {end.date()} is before start {start.date()}")
    sessions = xshg_sessions()
    recorded = pd.Timestamp(sessions[-1].year, 12, 31)  # the last year with holidays on record
    days = sessions[(sessions >= start) & (sessions <= end)]
    if end > recorded:
        rest_start = max(start, recorded + pd.Timedelta(days=1))
        hol = [h for y in range(rest_start.year, end.year + 1) for h in holidays(y)]
        rest = pd.bdate_range(rest_start, end)
        days = days.append(rest[~rest.isin(pd.DatetimeIndex(hol))])
    return pd.DatetimeIndex(days.astype("datetime64[ns]"), name="date")


def _last_per_group(dates, keys: np.ndarray) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(dates)
    if len(idx) == 0:
        return pd.DatetimeIndex([], dtype="datetime64[ns]", name="date")
    if not idx.is_monotonic_increasing:
        raise ValueError("dates must be sorted ascending")
    last = np.r_[keys[1:] != keys[:-1], True]
    return pd.DatetimeIndex(idx[last], name="date")


def week_ends(dates) -> pd.DatetimeIndex:
    """Last date of each calendar week (Monday-Sunday) among ``dates`` (sorted ascending).

    The final week of ``dates`` counts even when it is incomplete (its last available date).
    """
    idx = pd.DatetimeIndex(dates)
    # week number: days since a Monday (1970-01-05 is day 4 of the epoch), integer-divided by 7
    if idx.tz is None:
        days = idx.to_numpy().astype("datetime64[D]").astype(np.int64) - 4
    else:
        days = (idx.normalize() - pd.Timestamp("1970-01-05", tz=idx.tz)).days.to_numpy()
    return _last_per_group(idx, np.floor_divide(days, 7))


def month_ends(dates) -> pd.DatetimeIndex:
    """Last date of each calendar month among ``dates`` (sorted ascending); the final month counts even if incomplete."""
    idx = pd.DatetimeIndex(dates)
    return _last_per_group(idx, (idx.year * 12 + idx.month).to_numpy())


def quarter_ends(dates) -> pd.DatetimeIndex:
    """Last date of each calendar quarter among ``dates`` (sorted ascending)."""
    idx = pd.DatetimeIndex(dates)
    return _last_per_group(idx, (idx.year * 4 + (idx.month - 1) // 3).to_numpy())


#: first trading day of the Shanghai exchange (the XSHG calendar is built from it, a fixed span)
XSHG_START = "1990-12-19"


@functools.lru_cache(maxsize=1)
def xshg_sessions() -> pd.DatetimeIndex:
    """Every trading day of the Shanghai exchange that exchange-calendars has on record, from
    :data:`XSHG_START` to the last year with holidays on record.

    Importing exchange-calendars costs about 0.2 s per process, so the sessions are kept in the user's
    cache folder (``$XDG_CACHE_HOME/xladdin``, else ``~/.cache/xladdin``), one file per installed
    exchange-calendars version (its holidays on record are fixed per version); a cache that cannot be
    read or written is simply rebuilt.
    """
    from importlib.metadata import version  # lazy: not needed by `--help`; only on first use of the sessions
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xladdin"
    cache = base / f"xshg-sessions-{version('exchange-calendars')}-{XSHG_START}.npy"
    try:
        days = np.load(cache, allow_pickle=False)
        return pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[ns]"))
    except (OSError, ValueError):
        pass
    with _warnings.catch_warnings():  # its own pandas deprecation notices are not the user's business
        _warnings.simplefilter("ignore")
        import exchange_calendars as xcals  # lazy: ~0.2 s to import; the cached sessions usually spare it
        sessions = xcals.get_calendar("XSHG", start=XSHG_START).sessions
    if sessions.tz is not None:
        sessions = sessions.tz_localize(None)
    days = np.asarray(sessions.values.astype("datetime64[D]"))
    try:
        atomic_write_with(cache, lambda tmp: np.save(tmp, days, allow_pickle=False))
    except OSError:
        pass
    return pd.DatetimeIndex(days.astype("datetime64[ns]"))
