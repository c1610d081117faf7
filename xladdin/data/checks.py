"""Content rules for the canonical tables: what would otherwise silently mislead a method.

Each rule returns messages that name the file, the row (or cell) and the column. Errors stop a
load (:class:`~xladdin.errors.ValidationFailed`); warnings are reported and the data is used.

* **dates** (:func:`parse_dates`): ISO ``YYYY-MM-DD``, ``YYYY/M/D`` and ``YYYYMMDD`` text, date
  cells of a workbook, typed dates of parquet. ``NN/NN/YYYY`` (day and month order unknown) and plain
  numbers (Excel serial numbers saved as text) are errors naming the column; a time of day is
  stripped with a warning.
* **trading days** (:func:`check_dates`): a date before 1990 or after today (beyond the pandas date range:
  1677-2262, never wrapped) is an error, so is a Saturday or
  Sunday in a daily table; a weekday the Shanghai exchange was closed (exchange-calendars' XSHG
  calendar, where it has holidays on record) is a warning, and such a date is never the as-of date.
* **numbers** (:func:`check_numbers`): ``inf`` and magnitudes over :data:`MAX_ABS` are errors, so is a value
  outside its column's physical range (the schema's ``ranges``: amounts and counts >= 0, weights and ratios
  0 to 1, prices in a band, units > 0).
* **text** (:func:`check_text`): control characters are errors; codes are NFKC-normalised (full-width
  digits, no-break spaces), stripped and upper-cased; a security code must look like ``510300.SH``.
* **references** (:func:`check_references`): every ETF of etf_daily must be in etf_info (error);
  index constituents missing from stock_industry are a warning giving the weight they carry.
* **split days** (:func:`check_split_days`): a ``split_ratio`` other than 1 on a day whose share count did
  not move by it is an error (an adjustment factor, a unit error, or a split recorded on the price day
  while the shares moved the day before or after: the spec records a split on the shares' day).
"""
from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .calendar import xshg_sessions
from .clients.base import shares_confirm
from .schema import AHEAD_DAYS, EARLIEST_DATE, TABLES

#: largest magnitude accepted in a numeric column: 1e15 yuan is ten times the whole A-share market's
#: value; anything larger (1e308, ...) is a data error that would overflow sums to inf
MAX_ABS = 1e15
DAY_NS = 86_400 * 10**9
#: tables whose dates are trading days (not northbound_holdings: HKEX dates, quarterly after 2024-08)
TRADING_DAY_TABLES = ("etf_daily", "index_daily", "industry_daily", "fund_nav", "margin_daily", "stock_daily")
#: date columns that may lie ahead of today (an ETF's listing date is announced ahead), up to AHEAD_DAYS
NOT_DATED_EVENTS = {("etf_info", "list_date")}
#: text columns holding security codes (exchange suffix required) and all code-like columns (upper-cased)
SECURITY_CODES = ("etf", "tracked_index", "index", "stock", "fund")
CODE_COLUMNS = SECURITY_CODES + ("industry",)
CODE_RE = re.compile(r"^[0-9A-Z]{1,12}\.[A-Z]{2,4}$")
#: characters refused in any text: C0 controls except tab/LF/CR, DEL, C1 controls, surrogates and the
#: non-characters U+FFFE/U+FFFF (openpyxl refuses most of them when writing a workbook)
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
#: messages of one kind listed before "... N more" (:func:`cap`)
MAX_MESSAGES = 20

_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_AMBIGUOUS = re.compile(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?:[ T].*)?$")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?$")
_MONTH = re.compile(r"^\d{4}[-/]\d{1,2}$")

# kinds of a date cell
OK, NOT_A_DATE, AMBIGUOUS, NUMBER, TIMED, OUT_OF_RANGE, MONTH = 0, 1, 2, 3, 4, 5, 6
#: the dates pandas holds (nanoseconds since 1970 in 64 bits): a date beyond them would wrap (2263 -> 1678)
_NS_MIN, _NS_MAX = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")
Locate = Callable[..., str]


def cap(out: list[str], found: list[str], what: str, total: int | None = None) -> None:
    """At most :data:`MAX_MESSAGES` messages of one kind, then one line counting the rest (``total`` found)."""
    total = len(found) if total is None else total
    out.extend(found[:MAX_MESSAGES])
    if total > MAX_MESSAGES:
        out.append(f"... {total - MAX_MESSAGES} more {what}")


def show(value) -> str:
    """A value for a message: control characters escaped (never echoed raw to a terminal), long text cut."""
    text = str(value)
    text = CONTROL_RE.sub(lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) > 0xff else f"\\x{ord(m.group()):02x}",
                          text)
    return text if len(text) <= 60 else text[:57] + "..."


# ----------------------------------------------------------------------------- dates
def _classify(value) -> tuple[np.datetime64, int]:
    """One distinct cell value of a date column: (the date, kind)."""
    nat = np.datetime64("NaT", "ns")
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, OverflowError):
            return nat, OUT_OF_RANGE
        if ts is pd.NaT:
            return nat, OK
        if not _NS_MIN <= ts <= _NS_MAX:
            return nat, OUT_OF_RANGE
        day = ts.normalize()
        return day.to_datetime64().astype("datetime64[ns]"), TIMED if day != ts else OK
    if isinstance(value, (bool, np.bool_)):
        return nat, NOT_A_DATE
    if isinstance(value, (int, float, np.integer, np.floating)):
        return nat, NUMBER if np.isfinite(value) else NOT_A_DATE
    text = str(value).strip()
    if not text:
        return nat, OK
    m = _ISO.match(text)
    if m is not None:
        y, mo, d, hh, mm, ss, frac = m.groups()
        try:
            day = pd.Timestamp(_dt.date(int(y), int(mo), int(d)))
        except (ValueError, OverflowError):
            return nat, NOT_A_DATE
        if not _NS_MIN <= day <= _NS_MAX:
            return nat, OUT_OF_RANGE
        if hh is not None and not (int(hh) < 24 and int(mm) < 60 and int(ss or 0) < 60):
            return nat, NOT_A_DATE
        timed = any(v is not None and int(v) != 0 for v in (hh, mm, ss, frac))
        return day.to_datetime64().astype("datetime64[ns]"), TIMED if timed else OK
    m = _COMPACT.match(text)
    if m is not None and 1900 <= int(m.group(1)) <= 2200:
        try:
            return pd.Timestamp(_dt.date(*map(int, m.groups()))).to_datetime64().astype("datetime64[ns]"), OK
        except ValueError:
            return nat, NOT_A_DATE
    if _AMBIGUOUS.match(text):
        return nat, AMBIGUOUS
    if _MONTH.match(text):
        return nat, MONTH
    if _NUMBER.match(text):
        return nat, NUMBER
    return nat, NOT_A_DATE


#: what is wrong with a date cell of each kind (the data's columns and the date parameters say the same)
DATE_PROBLEMS = {
    NOT_A_DATE: "is not a date (use YYYY-MM-DD)",
    AMBIGUOUS: "has day and month in an unknown order (DD/MM/YYYY or MM/DD/YYYY?); save the column as YYYY-MM-DD dates",
    NUMBER: "is a number where a date is expected: Excel serial numbers? save the column as dates (YYYY-MM-DD)",
    OUT_OF_RANGE: f"is outside the dates of market data (from {EARLIEST_DATE:%Y-%m-%d} to today): a typo in the year?",
    MONTH: "is a month, not a day: give the day (YYYY-MM-DD), e.g. the month's last trading day",
    TIMED: "has a time of day; only its date is used",
}


def parse_date(value) -> pd.Timestamp:
    """One date by the rules of a date column (:func:`parse_dates`): ``YYYY-MM-DD``, ``YYYY/M/D``, ``YYYYMMDD``
    or a date value; a time of day is dropped. Anything else raises ValueError saying what is wrong
    (:data:`DATE_PROBLEMS`: ``05/06/2026`` has day and month in an unknown order, ``2026-10`` is a month)."""
    day, kind = _classify(value)
    if kind in (OK, TIMED) and not np.isnat(day):
        return pd.Timestamp(day)
    raise ValueError(DATE_PROBLEMS[NOT_A_DATE if kind in (OK, TIMED) else kind])


def parse_dates(s: pd.Series) -> tuple[pd.Series, np.ndarray | None]:
    """A date column as ``datetime64[ns]`` dates and the kind of each cell.

    Kinds: OK (a date, or blank: NaT), NOT_A_DATE, AMBIGUOUS (``NN/NN/YYYY``), NUMBER (a number:
    an Excel serial?), TIMED (a date with a time of day, stripped here). A typed date column is
    returned as it is, with kinds None (:func:`check_dates` finds a time of day among its distinct
    values), except dates beyond pandas' range (OUT_OF_RANGE, never wrapped); text is classified once per
    distinct value.
    """
    n = len(s)
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dtype, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        if s.dtype == "datetime64[ns]":
            return s, None
        outside = (s.notna() & ((s < _NS_MIN) | (s > _NS_MAX))).to_numpy()  # a coarser unit (parquet's us)
        if not outside.any():
            return s.astype("datetime64[ns]"), None
        kinds = np.where(outside, OUT_OF_RANGE, OK).astype(np.int8)
        return s.where(~outside).astype("datetime64[ns]"), kinds
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        kinds = np.where(s.isna().to_numpy(), OK, NUMBER).astype(np.int8)
        return pd.Series(np.full(n, np.datetime64("NaT", "ns")), index=s.index), kinds
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parsed = [_classify(u) for u in uniques]
    udates = np.array([p[0] for p in parsed] + [np.datetime64("NaT", "ns")], dtype="datetime64[ns]")
    ukinds = np.array([p[1] for p in parsed] + [OK], dtype=np.int8)
    return pd.Series(udates[codes], index=s.index), ukinds[codes]


def date_messages(kinds: np.ndarray | None, s: pd.Series, parsed: pd.Series, col: str, locate: Locate,
                  key: bool) -> tuple[list[str], list[str]]:
    """Errors and warnings for the kinds of :func:`parse_dates` (``s`` as read, ``parsed`` its dates):
    one line per problem kind and column, except values that are not dates at all (one line each,
    capped) and, in a key column, empty cells."""
    errors: list[str] = []
    warnings: list[str] = []
    if kinds is None:  # typed dates: only missing keys to report
        empty = np.flatnonzero(parsed.isna().to_numpy()) if key else []
        cap(errors, [f"{locate(i, col)} column `{col}`: date is empty" for i in empty[:MAX_MESSAGES]],
             f"empty `{col}` values", len(empty))
        return errors, warnings
    bad = np.flatnonzero(kinds == NOT_A_DATE)
    cap(errors, [f"{locate(i, col)} column `{col}`: `{show(s.iloc[i])}` {DATE_PROBLEMS[NOT_A_DATE]}"
                  for i in bad[:MAX_MESSAGES]], f"bad dates in `{col}`", bad.size)
    if key:
        empty = np.flatnonzero(parsed.isna().to_numpy() & (kinds == OK))
        cap(errors, [f"{locate(i, col)} column `{col}`: date is empty" for i in empty[:MAX_MESSAGES]],
             f"empty `{col}` values", empty.size)
    for kind, out in ((AMBIGUOUS, errors), (NUMBER, errors), (OUT_OF_RANGE, errors), (MONTH, errors),
                      (TIMED, warnings)):
        text = DATE_PROBLEMS[kind]
        rows = np.flatnonzero(kinds == kind)
        if rows.size:
            more = f" ({rows.size:,} rows like it)" if rows.size > 1 else ""
            out.append(f"{locate(rows[0], col)} column `{col}`: `{show(s.iloc[rows[0]])}` {text}{more}")
    return errors, warnings


def _unique_sorted(i8: np.ndarray) -> tuple[np.ndarray, bool]:
    """Distinct values of an int64 array (NaT dropped), and whether the array is sorted: O(n) when it
    is, else a sort."""
    nat = np.iinfo(np.int64).min
    ordered = bool(len(i8) and np.all(i8[1:] >= i8[:-1]))
    if ordered:
        u = i8[np.r_[True, i8[1:] != i8[:-1]]]
    else:
        u = np.unique(i8)
    return u[u != nat], ordered


def _first_rows(i8: np.ndarray, days: np.ndarray, ordered: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """For each value of ``days``: its first row in ``i8`` and its number of rows (by binary search when
    ``i8`` is ``ordered``)."""
    if ordered:
        first, end = np.searchsorted(i8, days, "left"), np.searchsorted(i8, days, "right")
        return first, end - first
    rows = np.flatnonzero(np.isin(i8, days))
    vals = i8[rows]
    uniq, first, counts = np.unique(vals, return_index=True, return_counts=True)
    pos = np.searchsorted(uniq, days)
    return rows[first[pos]], counts[pos]


_WEEKDAY = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def exchange_closed(days: pd.DatetimeIndex) -> np.ndarray:
    """Weekdays among ``days`` on which the Shanghai exchange was closed (exchange-calendars' XSHG
    calendar; days outside the span it has on record are never flagged)."""
    if len(days) == 0:
        return np.zeros(0, bool)
    sessions = xshg_sessions()
    inside = np.asarray((days >= sessions[0]) & (days <= sessions[-1]) & (days.day_of_week < 5))
    return inside & ~np.asarray(days.isin(sessions))


def check_dates(name: str, df: pd.DataFrame, locate: Locate, today: pd.Timestamp | None = None,
                holidays: bool = True) -> tuple[pd.DataFrame, list[str], list[str], pd.DatetimeIndex]:
    """Checks on the typed date columns, made on their distinct dates (one pass over each column):

    * a time of day (typed dates: parquet, workbook cells, pyarrow's CSV read): stripped, one warning;
    * a date before :data:`~xladdin.data.schema.EARLIEST_DATE` (1990) or after ``today`` (default: the
      machine's date; an announced date, :data:`NOT_DATED_EVENTS`, up to :data:`~xladdin.data.schema.AHEAD_DAYS`
      after it): an error;
    * in a daily table (:data:`TRADING_DAY_TABLES`): a Saturday or Sunday is an error; a weekday the
      Shanghai exchange was closed gets one warning for the table, and is returned as flagged.

    Returns (the table, errors, warnings, the flagged dates). ``holidays=False`` skips the holiday look-up.
    """
    spec = TABLES[name]
    today = (today or pd.Timestamp.today()).normalize()
    errors: list[str] = []
    warnings: list[str] = []
    flagged = pd.DatetimeIndex([], dtype="datetime64[ns]")
    for col in spec.date_cols:
        if col not in df.columns:
            continue
        i8 = np.asarray(df[col].to_numpy(), dtype="datetime64[ns]").view("i8")
        days, ordered = _unique_sorted(i8)
        timed = days[days % DAY_NS != 0]
        if timed.size:
            rows, _ = _first_rows(i8, timed[:1], ordered)
            n = int(np.isin(i8, timed).sum())
            warnings.append(f"{locate(rows[0], col)} column `{col}`: `{pd.Timestamp(timed[0])}` has a time of day; "
                            f"only its date is used" + (f" ({n:,} rows like it)" if n > 1 else ""))
            df = df.assign(**{col: df[col].dt.normalize()})
            i8 = np.asarray(df[col].to_numpy(), dtype="datetime64[ns]").view("i8")
            days, ordered = _unique_sorted(i8)
        if not days.size:
            continue
        early = days[days < EARLIEST_DATE.value]
        if early.size:  # one line: the earliest date and how many rows lie before 1990
            rows, _ = _first_rows(i8, early[:1], ordered)
            n = int(((i8 < EARLIEST_DATE.value) & (i8 != np.iinfo(np.int64).min)).sum())
            errors.append(f"{locate(rows[0], col)} column `{col}`: {pd.Timestamp(early[0]):%Y-%m-%d} is before "
                          f"{EARLIEST_DATE:%Y-%m-%d}, before any market data: a typo in the year?"
                          + (f" ({n:,} rows before {EARLIEST_DATE:%Y-%m-%d})" if n > 1 else ""))
        ahead = (name, col) in NOT_DATED_EVENTS
        limit = today + pd.Timedelta(days=AHEAD_DAYS) if ahead else today
        late = days[days > limit.value]
        if late.size:
            rows, counts = _first_rows(i8, late[:MAX_MESSAGES], ordered)
            what = f"more than {AHEAD_DAYS} days after today" if ahead else "after today"
            cap(errors, [f"{locate(r, col)} column `{col}`: {pd.Timestamp(d):%Y-%m-%d} is {what} "
                          f"({today:%Y-%m-%d})" + (f" ({c:,} rows)" if c > 1 else "")
                          for d, r, c in zip(late, rows, counts)], f"dates {what} in `{col}`", late.size)
        if ahead:
            continue
        if name not in TRADING_DAY_TABLES or col != spec.sorted_by:
            continue
        idx = pd.DatetimeIndex(days.view("datetime64[ns]"))
        weekend = days[np.asarray(idx.day_of_week >= 5)]
        if weekend.size:
            rows, counts = _first_rows(i8, weekend[:MAX_MESSAGES], ordered)
            cap(errors, [f"{locate(r, col)} column `{col}`: {pd.Timestamp(d):%Y-%m-%d} is a "
                          f"{_WEEKDAY[pd.Timestamp(d).day_of_week]}, not a trading day" + (f" ({c:,} rows)" if c > 1 else "")
                          for d, r, c in zip(weekend, rows, counts)], f"weekend dates in `{col}`", weekend.size)
        closed = days[exchange_closed(idx)] if holidays else days[:0]
        if closed.size:
            rows, _ = _first_rows(i8, closed[:1], ordered)
            listed = ", ".join(f"{pd.Timestamp(d):%Y-%m-%d}" for d in closed[:5]) + (", ..." if closed.size > 5 else "")
            warnings.append(f"{locate(rows[0], col)} column `{col}`: {closed.size} date(s) on which the Shanghai "
                            f"exchange was closed ({listed}); their rows are used, but none is taken as the as-of date")
            flagged = pd.DatetimeIndex(closed.view("datetime64[ns]"))
    return df, errors, warnings, flagged


# ----------------------------------------------------------------------------- numbers
def check_numbers(name: str, df: pd.DataFrame, locate: Locate) -> list[str]:
    """inf, -inf and magnitudes over :data:`MAX_ABS` in the numeric columns, and values outside the column's
    physical :class:`~xladdin.data.schema.Range` (the schema's ``ranges``: a negative amount, a weight above 1,
    a close of 1e-300, ...), each named by row; one vectorised pass per column, whatever the other rows say
    (a negative weight is refused even when its index's weights sum to 1)."""
    errors: list[str] = []
    spec = TABLES[name]
    for col in spec.numeric:
        if col not in df.columns:
            continue
        v = df[col].to_numpy(dtype=float, na_value=np.nan)
        rng = spec.ranges.get(col)
        lo, hi = (rng.lo, min(rng.hi, MAX_ABS)) if rng is not None else (-MAX_ABS, MAX_ABS)
        if not v.size or np.isnan(v).all() or (np.fmax.reduce(v) <= hi and (
                np.fmin.reduce(v) > lo if rng is not None and rng.lo_open else np.fmin.reduce(v) >= lo)):
            continue  # two reductions (NaN ignored) clear the usual column without a mask
        bad = np.flatnonzero((v > MAX_ABS) | (v < -MAX_ABS))
        cap(errors, [f"{locate(i, col)} column `{col}`: {v[i]:g} is not a finite number of plausible size "
                      f"(|x| <= {MAX_ABS:g})" for i in bad[:MAX_MESSAGES]], f"out-of-range values in `{col}`", bad.size)
        if rng is None:
            continue
        out = np.flatnonzero(~rng.holds(v) & ~np.isnan(v) & (np.abs(v) <= MAX_ABS))
        cap(errors, [f"{locate(i, col)} column `{col}`: {v[i]:g} {_outside(rng, v[i])}; `{col}` is {rng.what}"
                      for i in out[:MAX_MESSAGES]], f"values of `{col}` out of its range", out.size)
    return errors


def _outside(rng, x: float) -> str:
    """How ``x`` misses ``rng``: "must be > 0", "is negative", "is below 0.0001", "is above 1"."""
    if x > rng.hi:
        return f"is above {rng.hi:g}"
    if rng.lo == 0 and not rng.lo_open:
        return "is negative"
    return "must be > 0" if x <= 0 else f"is below {rng.lo:g}"


def check_split_days(name: str, df: pd.DataFrame, locate: Locate) -> list[str]:
    """etf_daily rows with ``split_ratio`` != 1 whose shares did not move by the ratio that day: errors.

    A split ratio is new units per old unit on the day the units split or consolidate; M1 compares the
    shares in post-split units and sets that day's flow to 0. A ratio on a day whose share count did not
    move by it (within the tolerance of :func:`~xladdin.data.clients.base.shares_confirm`: the split's way,
    at least half-way in log terms) is no split: an adjustment factor (1.05 on every row zeroes every flow),
    a unit error (1e6 erases that day's flow) or a split recorded on the price day while the shares moved the
    day before or after (the message names that day). Each row is named.

    Only the rows of the ETFs that have a split row are looked at (a split row's neighbours are its own
    ETF's rows): a few thousand of etf_daily's million rows, in the same order as the whole table's.
    """
    if name != "etf_daily" or not {"split_ratio", "shares", "etf", "date"} <= set(df.columns):
        return []
    r = df["split_ratio"].to_numpy(dtype=float, na_value=np.nan)
    split = np.isfinite(r) & (r > 0) & (r != 1.0)
    if not split.any():
        return []
    codes = df["etf"]
    split_codes = codes[split]
    mine = np.array(codes.isin(split_codes.dropna().unique()), dtype=bool)
    if split_codes.isna().any():  # rows without a code are one group, as pd.factorize's -1
        mine |= np.asarray(codes.isna(), dtype=bool)
    rows = np.flatnonzero(mine)  # table positions of the looked-at rows, ascending
    etf = pd.factorize(codes.iloc[rows])[0]  # codes in order of first appearance, as on the whole column
    sub = np.lexsort((np.asarray(df["date"].iloc[rows].to_numpy(), dtype="datetime64[ns]").view("i8"), etf))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(df["shares"].iloc[rows].to_numpy(dtype=float, na_value=np.nan)[sub])
        log_r = np.log(np.where(split[rows], r[rows], 1.0))[sub]
    order, etf = rows[sub], etf[sub]  # table positions by ETF, then date; their ETFs
    same = np.r_[False, etf[1:] == etf[:-1]]  # the row before is the same ETF's
    step = np.where(same, np.r_[np.nan, np.diff(log_s)], np.nan)
    bad = np.flatnonzero(split[order] & ~shares_confirm(step, log_r))  # positions in ``order``
    errors = []
    for k in bad[:MAX_MESSAGES]:
        row, code = order[k], df["etf"].iloc[order[k]]
        day = pd.Timestamp(df["date"].iloc[row]).date()
        moved = "had no row the day before" if not same[k] or not np.isfinite(step[k]) else \
            f"moved by {np.exp(step[k]):.4g}x"
        near = [j for j in (k - 1, k + 1) if 0 <= j < len(order) and (same[k] if j < k else same[j])
                and shares_confirm(step[j], log_r[k])]
        if near:
            other = pd.Timestamp(df["date"].iloc[order[near[0]]]).date()
            fix = (f"they moved by it on {other}: record the split on the shares' day (with post-split nav and "
                   "close there)")
        else:
            fix = ("a split_ratio is new units per old unit on a split or consolidation day (1 on every other "
                   "day), not a price adjustment factor; put 1 here if there was no split")
        errors.append(f"{locate(row, 'split_ratio')}: split_ratio {r[row]:g} of {code} on {day}, but its shares "
                      f"{moved}: {fix} (M1 would set that day's flow to 0)")
    if bad.size > MAX_MESSAGES:
        errors.append(f"... {bad.size - MAX_MESSAGES} more split ratios without a matching share change")
    return errors


# ----------------------------------------------------------------------------- text and codes
def normalise_code(text: str) -> str:
    """A code as stored: NFKC (full-width digits and letters, no-break spaces), stripped, upper case."""
    return unicodedata.normalize("NFKC", text).strip().upper()


#: screens run by pyarrow on a column's distinct values: a value they accept is canonical already
#: (printable ASCII, upper case, no space; a security code in ``510300.SH`` form) and skips the checks
_SCREEN_SECURITY = r"^[0-9A-Z]{1,12}\.[A-Z]{2,4}$"
_SCREEN_CODE = r"^[!-`{-~]*$"
_CONTROL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\x{fffe}\x{ffff}]"


def _suspects(uniques, col: str) -> np.ndarray:
    """Positions of the distinct values of ``col`` that the checks must look at (the others pass the
    pyarrow screens above: one vectorised pass instead of Python over thousands of stock codes)."""
    arr = pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    if col in CODE_COLUMNS:
        ok = pc.match_substring_regex(arr, _SCREEN_SECURITY if col in SECURITY_CODES else _SCREEN_CODE)
    else:
        ok = pc.invert(pc.match_substring_regex(arr, _CONTROL_RE2))
    return np.flatnonzero(~ok.to_numpy(zero_copy_only=False))


def check_text(name: str, df: pd.DataFrame, locate: Locate, codes: dict | None = None,
               normalise: bool = True) -> tuple[pd.DataFrame, list[str], list[str], set[str]]:
    """Control characters (errors) in every text column; codes normalised (a warning says how many
    changed) and security codes checked against ``510300.SH``'s shape (errors).

    Works on each column's distinct values (``codes``: :func:`xladdin.data.key_codes`, when known),
    screened by pyarrow first (:func:`_suspects`). Returns the table (columns rebuilt only where a code
    changed), errors, warnings and the names of the columns that changed (their codes must be computed
    again). ``normalise=False``: codes that normalisation would change are errors instead (an
    in-memory market is not rewritten).
    """
    spec = TABLES[name]
    errors: list[str] = []
    warnings: list[str] = []
    changed: set[str] = set()
    for col in spec.columns:
        if col not in df.columns or col in spec.numeric or col in spec.date_cols:
            continue
        known = (codes or {}).get(col)
        if known is not None:
            inverse, uniques = known[1], known[2]
        else:
            inverse, uniques = pd.factorize(df[col], use_na_sentinel=True)
        suspects = _suspects(uniques, col)
        if not suspects.size:
            continue
        words = {int(k): str(uniques[k]) for k in suspects}

        def first_row(k: int, inverse=inverse) -> int:
            return int(np.argmax(inverse == k))
        ctrl = [k for k, w in words.items() if CONTROL_RE.search(w)]
        cap(errors, [f"{locate(first_row(k), col)} column `{col}`: `{show(words[k])}` contains control character "
                      f"U+{ord(CONTROL_RE.search(words[k]).group()):04X}; remove it" for k in ctrl],
             f"values with control characters in `{col}`")
        if col not in CODE_COLUMNS:
            continue
        norm = {k: normalise_code(w) for k, w in words.items()}
        if col in SECURITY_CODES:
            bad = [k for k, w in norm.items() if not CODE_RE.match(w) and k not in ctrl and w]
            what = "is not a code like 510300.SH (digits or letters, a dot, the exchange suffix; no spaces)"
        else:  # any taxonomy's codes: no space inside
            bad = [k for k, w in norm.items() if re.search(r"\s", w) and k not in ctrl]
            what = "has a space inside the code"
        cap(errors, [f"{locate(first_row(k), col)} column `{col}`: `{show(words[k])}` {what}" for k in bad],
             f"malformed codes in `{col}`")
        diff = [k for k in words if norm[k] != words[k]]
        if diff and not normalise:
            cap(errors, [f"{locate(first_row(k), col)} column `{col}`: `{show(words[k])}` is not in canonical form "
                          f"(`{norm[k]}`)" for k in diff], f"codes not in canonical form in `{col}`")
        elif diff:
            k = diff[0]
            warnings.append(f"{locate(first_row(k), col)} column `{col}`: {len(diff)} code(s) normalised "
                            f"(e.g. `{show(words[k])}` -> `{norm[k]}`: case, spaces, full-width characters)")
            table = np.array([str(u) for u in uniques] + [None], dtype=object)
            for j in diff:
                table[j] = norm[j]
            df = df.assign(**{col: pd.Series(table[inverse], index=df.index, dtype=df[col].dtype)})
            changed.add(col)
    return df, errors, warnings, changed


# ----------------------------------------------------------------------------- references
def unknown_codes(values: pd.Series, known: set[str], codes: tuple | None = None) -> tuple[np.ndarray, list[str]]:
    """(first row of each unknown code, the unknown codes) for codes of ``values`` not in ``known``."""
    if codes is not None:
        inverse, uniques = codes[1], codes[2]
    else:
        inverse, uniques = pd.factorize(values, use_na_sentinel=True)
    missing = [k for k, u in enumerate(uniques) if str(u) not in known]
    if not missing:
        return np.array([], dtype=np.int64), []
    rows = np.flatnonzero(np.isin(inverse, missing))
    _, first = np.unique(inverse[rows], return_index=True)
    return rows[first], [str(uniques[k]) for k in missing]


def check_references(name: str, df: pd.DataFrame, locate: Locate, file: str, masters: dict[str, tuple[set, str]],
                     codes: dict | None = None) -> tuple[list[str], list[str]]:
    """etf_daily's ETFs against etf_info (errors); index_weights' stocks against stock_industry (a warning
    with the largest weight share, of one index on one date, that has no industry)."""
    errors: list[str] = []
    warnings: list[str] = []
    if name == "etf_daily" and "etf_info" in masters and "etf" in df.columns and len(df):
        known, master_file = masters["etf_info"]
        if not known:
            errors.append(f"{file}: {master_file} has no rows, so none of the ETFs of {file} is known; "
                          "fill etf_info (etf, name, tracked_index, category)")
            return errors, warnings
        rows, missing = unknown_codes(df["etf"], known, (codes or {}).get("etf"))
        missing_ok = [CODE_RE.match(c) is not None for c in missing]  # malformed codes are reported already
        rows, missing = rows[np.asarray(missing_ok, bool)], [c for c, ok in zip(missing, missing_ok) if ok]
        cap(errors, [f"{locate(r, 'etf')} column `etf`: {show(c)} is not in {master_file}; add the ETF there "
                      "(name, tracked_index, category) or remove its rows" for r, c in zip(rows, missing)],
             "ETFs missing from etf_info")
    if name == "index_weights" and "stock_industry" in masters and "stock" in df.columns and len(df):
        known, master_file = masters["stock_industry"]
        rows, missing = unknown_codes(df["stock"], known, (codes or {}).get("stock"))
        if missing:
            lost = ~df["stock"].isin(known).to_numpy()
            share = (df.loc[lost].groupby(["index", "date"])["weight"].sum()
                     / df.groupby(["index", "date"])["weight"].sum()).dropna()
            (idx, day), worst = share.idxmax(), share.max()
            examples = ", ".join(f"{show(c)} ({locate(r, 'stock')})" for r, c in zip(rows[:3], missing[:3]))
            warnings.append(f"{file}: {len(missing)} constituent(s) not in {master_file}: {examples}"
                            f"{', ...' if len(missing) > 3 else ''}; up to {worst:.2%} of an index's weight "
                            f"({idx} on {day:%Y-%m-%d}) has no industry and is left out of industry results")
    return errors, warnings
