"""The key columns of a typed table: their sorted codes (:func:`key_codes`), the table checks that use
them (:func:`check_table`: categories, duplicate keys, date order, index weight sums)
and the canonical row order (:func:`finish_table`)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from . import checks
from .schema import ETF_CATEGORIES, TABLES, WEIGHT_SUM_TOL, TableSpec
from .views import text_codes


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a column (equal values, equal codes; missing values get their own code)."""
    arrow = getattr(values.array, "_pa_array", None)
    if arrow is not None and values.notna().all():
        return pc.dictionary_encode(arrow).combine_chunks().indices.to_numpy(zero_copy_only=False)
    return pd.factorize(values, use_na_sentinel=False)[0]


def _duplicated_date_sorted(df: pd.DataFrame, date_col: str, dates: np.ndarray, entity: list[str],
                            codes: dict | None = None) -> tuple[np.ndarray, bool]:
    """Rows whose (date, entity) key repeats, for a table sorted by date; and whether that proved the rows in
    canonical order (:func:`finish_table`: no missing date, each date's entities in strictly increasing order
    of their sorted codes).

    Within each date's block of rows the entity codes must be distinct: counted per block with
    bincount (O(n), no sort, no hashing of strings, no array the size of the table beyond the codes).
    """
    n = len(df)
    if not entity:
        return np.r_[dates[1:] == dates[:-1], False] | np.r_[False, dates[1:] == dates[:-1]], False
    def column_codes(c: str) -> np.ndarray:
        known = (codes or {}).get(c)
        return (known[1] if known is not None else _codes(df[c])).astype(np.int64, copy=False)
    code = column_codes(entity[0])
    others = [column_codes(c) for c in entity[1:]]
    if _increasing_within_dates(code, others, dates):
        # each date's entities in strictly increasing order: none repeats; with every entity column's sorted
        # codes (others are numbered in order of appearance) and no missing date (the smallest integer, first
        # if anywhere), that is also the canonical row order
        sorted_codes = all((codes or {}).get(c) is not None for c in entity)
        return np.zeros(n, bool), sorted_codes and int(dates[0]) != np.iinfo(np.int64).min
    for more in others:
        code = code * (int(more.max(initial=0)) + 1) + more
        code = pd.factorize(code)[0]  # dense again: the product space can be large
    size = int(code.max(initial=0)) + 1
    starts = np.r_[0, np.flatnonzero(dates[1:] != dates[:-1]) + 1, n]
    dup = np.zeros(n, bool)
    for s, e in zip(starts[:-1], starts[1:]):
        seg = code[s:e]
        counts = np.bincount(seg, minlength=size)
        if counts.max(initial=0) > 1:
            dup[s:e] = counts[seg] > 1
    return dup, False


def _increasing_within_dates(code: np.ndarray, more: list[np.ndarray], dates: np.ndarray) -> bool:
    """True when, within each date's block of rows, the entity key (``code``, then the ``more`` codes,
    combined as ``c0 * (max1 + 1) + c1 ...``: one number per distinct key) strictly increases from row to
    row: then no key repeats within a date. One vectorised pass; a file in canonical order (as xladdin
    writes it, codes sorted as text) passes. False proves nothing: the caller counts per date."""
    if len(code) < 2 or any(int(c.min(initial=0)) < 0 for c in [code, *more]):
        return False
    key = code
    for m in more:
        width = int(m.max(initial=0)) + 1
        if int(key.max(initial=0)) >= (2 ** 62) // width:  # the combined key would overflow
            return False
        key = key * width + m
    same_date = dates[1:] == dates[:-1]
    return bool(np.all(~same_date | (key[1:] > key[:-1])))


def _key_checks(df: pd.DataFrame, spec: TableSpec, key: list[str], codes: dict | None = None):
    """Duplicate keys and dates going back within a series.

    Returns ``(dup, back, order, entity, ordered)``: ``dup`` marks every row whose key repeats; ``back`` holds
    positions (in ``order``, the rows sorted by entity then file position) whose date is earlier than
    the previous row of the same series; ``entity`` = the key columns other than the date; ``ordered``: the
    rows were proved to be in canonical order (False proves nothing).
    """
    n = len(df)
    entity = [c for c in key if c != spec.sorted_by]
    empty = np.array([], dtype=np.int64)
    if not spec.sorted_by:
        return df.duplicated(key, keep=False).to_numpy(), empty, np.arange(n), entity, False
    dates = np.asarray(df[spec.sorted_by].to_numpy(), dtype="datetime64[ns]").view("i8")  # no copy
    if n < 2 or bool(np.all(dates[1:] >= dates[:-1])):
        # the file is in date order (as xladdin writes it): no series can go back in time, and a
        # duplicate key is an entity repeated within one date
        dup, ordered = _duplicated_date_sorted(df, spec.sorted_by, dates, entity, codes)
        return dup, empty, np.arange(n), entity, ordered
    codes = {c: pd.factorize(df[c], use_na_sentinel=True)[0] for c in key}  # ints: fast on 10M rows
    # stable order by entity, keeping file order within an entity; then dates must not go back
    order = np.lexsort([np.arange(n)] + [codes[c] for c in reversed(entity)]) if entity else np.arange(n)
    d = dates[order]
    same = np.ones(n, bool)
    for c in entity:
        v = codes[c][order]
        same[1:] &= v[1:] == v[:-1]
    same[0] = False
    back = np.flatnonzero(same[1:] & (d[1:] < d[:-1])) + 1
    if back.size == 0:
        # sorted within each entity: a duplicate key is a repeated date next to its twin
        rep = np.zeros(n, bool)
        rep[1:] = same[1:] & (d[1:] == d[:-1]) & (codes[spec.sorted_by][order][1:] >= 0)
        rep[:-1] |= rep[1:]
        dup = np.zeros(n, bool)
        dup[order[rep]] = True
    else:
        dup = pd.DataFrame(codes).duplicated(keep=False).to_numpy()
    return dup, back, order, entity, False


def check_table(name: str, df: pd.DataFrame, locate: Callable[..., str], file: str,
                codes: dict | None = None) -> list[str]:
    """Content checks on a typed table: ETF categories, duplicate keys, date order, weight sums (the ranges of
    the values: :func:`xladdin.data.checks.check_numbers`).

    ``codes``: :func:`key_codes` of ``df`` when the caller has them (saves factorising again).
    """
    return check_table_order(name, df, locate, file, codes)[0]


def check_table_order(name: str, df: pd.DataFrame, locate: Callable[..., str], file: str,
                      codes: dict | None = None) -> tuple[list[str], bool]:
    """:func:`check_table`, and whether its key checks proved the rows in canonical order (then
    :func:`finish_table` need not check it again; False proves nothing)."""
    spec, issues = TABLES[name], []
    if name == "etf_info" and "category" in df:
        bad = np.flatnonzero(~df["category"].isin(ETF_CATEGORIES).to_numpy())
        checks.cap(issues, [f"{locate(i)} column `category`: `{_fmt(df['category'].iloc[i])}` is not one of "
                      f"{', '.join(ETF_CATEGORIES)}" for i in bad], "bad categories")
    key = list(spec.key)
    dup, back, order, entity, ordered = _key_checks(df, spec, key, codes)
    if dup.any():
        groups: dict = {}
        for i in np.flatnonzero(dup)[: 50 * checks.MAX_MESSAGES]:
            k = tuple(_fmt(df[c].iloc[i]) for c in key)
            groups.setdefault(k, []).append(i)
        checks.cap(issues, [f"{file}: duplicate key ({', '.join(k)}) in {', '.join(locate(i) for i in rows[:3])}"
                      for k, rows in groups.items()], "duplicate keys")
    if back.size:
        dates = df[spec.sorted_by].to_numpy()[order]
        checks.cap(issues, [f"{locate(order[i])}: {spec.sorted_by} {_fmt(dates[i])} comes after {_fmt(dates[i - 1])} "
                      f"({locate(order[i - 1])}) for {', '.join(_fmt(df[c].iloc[order[i]]) for c in entity)}; "
                      f"sort each series by {spec.sorted_by}" for i in back], "unsorted dates")
    if name == "index_weights" and not _weight_sums_within(df, (codes or {}).get("index")):
        sums = df.groupby(["index", "date"])["weight"].sum()
        off = sums[(sums - 1).abs() > WEIGHT_SUM_TOL]
        checks.cap(issues, [f"{file}: weights of {_fmt(idx)} on {_fmt(dt)} sum to {s:.6f}, not 1 (tolerance {WEIGHT_SUM_TOL:g})"
                      for (idx, dt), s in off.items()], "weight sums off")
    return issues, ordered


def _weight_sums_within(df: pd.DataFrame, index_codes: tuple | None) -> bool:
    """True when every (index, date)'s weights of ``index_weights`` sum to 1 within the tolerance, proved
    in one vectorised pass for a table in date-then-index order (each group one run of rows, summed by
    ``np.add.reduceat``), with a margin of 1e-9 for the order of the additions. False proves nothing:
    :func:`check_table` then sums per group with pandas and names each group that is off."""
    if index_codes is None or len(df) == 0 or len(index_codes[1]) != len(df):
        return False
    w = df["weight"].to_numpy(dtype=float)
    if np.isnan(w).any():
        return False
    d = np.asarray(df["date"].to_numpy(), dtype="datetime64[ns]").view("i8")
    code = np.asarray(index_codes[1], dtype=np.int64)
    step = np.flatnonzero((d[1:] != d[:-1]) | (code[1:] != code[:-1])) + 1
    starts = np.r_[0, step]
    # runs in strictly increasing (date, index) order: no group is split over two runs
    if not np.all((d[starts[1:]] > d[starts[:-1]]) | ((d[starts[1:]] == d[starts[:-1]])
                                                     & (code[starts[1:]] > code[starts[:-1]]))):
        return False
    sums = np.add.reduceat(w, starts)
    return bool(np.all(np.abs(sums - 1) <= WEIGHT_SUM_TOL - 1e-9))


def key_codes(name: str, df: pd.DataFrame, known: dict | None = None) -> dict[str, tuple]:
    """Sorted factorisations of the text key columns of a typed table (Arrow-backed, no missing
    value): column -> (its Arrow array, int32 codes, uniques), codes and uniques as
    ``pd.factorize(sort=True)``. Computed once per table, they serve the duplicate-key and row-order
    checks and (seeded on the :class:`Market` when the table was not re-sorted) the pivots of
    :mod:`xladdin.data.views`. ``known``: codes the reader produced
    (:attr:`~xladdin.data.rawtable.RawTable.codes`), used for a column that still holds the very Arrow array
    they describe.
    """
    spec, out = TABLES[name], {}
    for c in spec.key:
        if c in df.columns and c not in spec.date_cols and c not in spec.numeric:
            hit = (known or {}).get(c)
            if hit is not None and getattr(df[c].array, "_pa_array", None) is hit[0] and len(hit[1]) == len(df):
                out[c] = hit
                continue
            got = text_codes(df[c])
            if got is not None:
                out[c] = got
    return out


def _fmt(v) -> str:
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(v).date())
    return checks.show(v)


def finish_table(name: str, df: pd.DataFrame, codes: dict | None = None, in_order: bool = False) -> pd.DataFrame:
    """A typed table in canonical row order (date, then the other key columns) and column order.

    Files written by xladdin (and most exports) are in that order already: checked on integer keys in
    O(n), so the copy of a sort is made only when needed. ``codes``: :func:`key_codes` of ``df``; ``in_order``:
    already proved (:func:`check_table_order`), not checked again.
    """
    spec = TABLES[name]
    order = [spec.sorted_by] + [c for c in spec.key if c != spec.sorted_by] if spec.sorted_by else list(spec.key)
    if not in_order and not _in_order(df, order, codes):
        df = df.sort_values(order, kind="stable")
    return df.reset_index(drop=True)[[c for c in spec.columns if c in df.columns]]


def _in_order(df: pd.DataFrame, cols: list[str], codes: dict | None = None) -> bool:
    """Rows sorted by ``cols`` (lexicographic; missing values count as unsorted).

    Compares each row with the next, column by column, without sorting: numbers and dates through
    numpy, text through its sorted codes when ``codes`` has them (same order), else pyarrow's
    vectorised comparisons.
    """
    if len(df) < 2:
        return True
    before = np.zeros(len(df) - 1, bool)  # row i < row i+1 decided by the columns so far
    tied = np.ones(len(df) - 1, bool)     # rows i and i+1 equal in the columns so far
    for c in cols:
        values = df[c]
        known = (codes or {}).get(c)
        if known is not None:  # sorted codes, no missing values
            x = known[1]
            lt, eq = x[:-1] < x[1:], x[:-1] == x[1:]
            before |= tied & lt
            tied &= eq
            continue
        if values.isna().any():
            return False
        arrow = getattr(values.array, "_pa_array", None)
        if arrow is not None:
            arr = arrow.combine_chunks() if hasattr(arrow, "combine_chunks") else arrow
            lo, hi = arr.slice(0, len(arr) - 1), arr.slice(1)
            lt = pc.less(lo, hi).to_numpy(zero_copy_only=False)
            eq = pc.equal(lo, hi).to_numpy(zero_copy_only=False)
        else:
            x = values.to_numpy()
            lt, eq = x[:-1] < x[1:], x[:-1] == x[1:]
        before |= tied & lt
        tied &= eq
    return bool(np.all(before | tied))
