# Frozen copy of the module now at xladdin/methods/grouping.py,
# as of commit 55a094b (before issue 14's rewrite of the issue-13 cores): the reference tests/test_cores_pinned.py
# compares the package against. Not used by the package.
"""Quantile groups of a cross-section (spec M7; ties per "Timing, costs and ties").

Industries (or any codes) are sorted ascending and cut into ``groups`` groups of near-equal
size; group ``groups`` holds the highest values. Missing values get no group. Values within the
tie tolerance of :mod:`xladdin.methods.ranking` (``max(rtol × max|x|, atol)``, default 1e-9 relative,
1e-12 absolute) are ties, ordered by code (the column / index label, compared as text); a
cross-section whose values are all tied (no spread, e.g. rounding noise around 0) gets no groups.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .ranking import ATOL, RTOL, _tie_matrix

__all__ = ["assign_groups", "group_table", "group_members"]


def _group_matrix(values: np.ndarray, groups: int) -> np.ndarray:
    """Group numbers (float, NaN for missing) of a 2-D array, cross-section = each row.

    Columns must already be in code order; ``np.argsort(kind="stable")`` then orders ties by code.
    """
    order = np.argsort(values, axis=1, kind="stable")  # NaN sort last
    rank = np.empty_like(order)
    rows = np.arange(values.shape[0])[:, None]
    rank[rows, order] = np.arange(1, values.shape[1] + 1)[None, :]
    valid = ~np.isnan(values)
    n = valid.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.ceil(rank * groups / np.where(n == 0, 1, n))
    return np.where(valid, g, np.nan)


def assign_groups(values: pd.Series | pd.DataFrame, groups: int = 5, rtol: float = RTOL,
                  atol: float = ATOL) -> pd.Series | pd.DataFrame:
    """Assign each value to one of ``groups`` ascending quantile groups (M7).

    Parameters
    ----------
    values : Series (index = code) for one cross-section, or DataFrame (index = date,
        columns = code) grouped across each row (one cross-section per date).
    groups : number of groups (≥ 1); 5 = quintiles.
    rtol, atol : tie tolerance (:func:`xladdin.methods.ranking.tie_values`).

    Returns
    -------
    Same shape and labels as ``values``, dtype nullable ``Int64``: 1 … ``groups``
    (``groups`` = highest values), ``<NA>`` where the value is missing and on every code of a
    cross-section with no spread (at least two values, all tied).

    Notes
    -----
    With the n non-missing values of a cross-section ranked 1 … n (ascending by value, tied
    values broken by the code's text order), the group of rank k is ``ceil(k · groups / n)``.
    Group sizes differ by at most one (30 values → 6 per group; 31 → 6, 6, 6, 6, 7: the extra
    members go to the upper groups), the highest value is always in group ``groups`` and the
    lowest in group 1 when n ≥ groups. With fewer values than groups, some groups are empty and
    the values are spread over 1 … groups (3 values, 5 groups → 2, 4, 5).
    """
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"`groups` must be a positive integer, got {groups!r}")
    if isinstance(values, pd.Series):
        if _is_numeric(values.dtype) and not values.index.has_duplicates:
            # one cross-section: the DataFrame path below on a single row, without building it
            g = _groups_numeric(values.to_numpy(dtype=float, na_value=np.nan)[None, :], values.index, groups,
                                rtol, atol)[0]
            return pd.Series(pd.array(g, dtype="Int64"), index=values.index, name=values.name)
        frame = values.to_frame().T
        out = assign_groups(frame, groups, rtol, atol)
        res = out.iloc[0]
        res.name = values.name
        return res.reindex(values.index).astype("Int64")
    if not isinstance(values, pd.DataFrame):
        raise ValueError(f"`values` must be a Series or DataFrame, got {type(values).__name__}")
    if values.columns.has_duplicates:
        raise ValueError("`values` has duplicated codes (columns); keep one column per code")
    out = pd.DataFrame(_groups_numeric(_numeric(values), values.columns, groups, rtol, atol), index=values.index,
                       columns=values.columns)
    return out.astype("Int64")


def _is_numeric(dtype) -> bool:
    return pd.api.types.is_float_dtype(dtype) or (pd.api.types.is_integer_dtype(dtype)
                                                  and not pd.api.types.is_bool_dtype(dtype))


def _numeric(values: pd.DataFrame) -> np.ndarray:
    """Float matrix of ``values`` (non-numbers become NaN, as ``pd.to_numeric(errors="coerce")``)."""
    if all(_is_numeric(d) for d in values.dtypes):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _groups_numeric(num: np.ndarray, codes: pd.Index, groups: int, rtol: float = RTOL,
                    atol: float = ATOL) -> np.ndarray:
    """Float group numbers (NaN = none) of each row of ``num``; columns = ``codes``, ties by code text.

    Values within the tie tolerance are made equal first; rows with no spread (all tied, or fewer than two
    values) get no group.
    """
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"`groups` must be a positive integer, got {groups!r}")
    labels = [str(c) for c in codes]
    perm = np.argsort(np.array(labels, dtype=object), kind="stable")
    num, flat = _tie_matrix(num[:, perm], rtol, atol)
    g = _group_matrix(num, int(groups))
    g[flat | (np.count_nonzero(~np.isnan(num), axis=1) < 2)] = np.nan  # nothing to sort: no group (#23)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    return g[:, inv]


def group_table(values: pd.DataFrame, groups: int = 5, names: pd.Series | None = None,
                date_format: str = "%Y-%m") -> pd.DataFrame:
    """Report layout of monthly (or weekly) groups: industries down, dates across (M7, table 2).

    Parameters
    ----------
    values : DataFrame, index = date, columns = industry; e.g. monthly holding level or its change.
    groups : number of groups.
    names : optional Series industry code -> name, added as the first column ``name``.
    date_format : strftime format of the column labels.

    Returns
    -------
    DataFrame, index = industry code, columns = [``name``,] one column per date, values
    ``Int64`` groups (``<NA>`` for missing).
    """
    g = assign_groups(values, groups).T
    g.columns = [pd.Timestamp(c).strftime(date_format) for c in g.columns]
    g.index.name = "industry"
    if names is not None:
        g.insert(0, "name", names.reindex(g.index).astype(object))
    return g


def group_members(groups_frame: pd.DataFrame, group: int) -> pd.DataFrame:
    """Boolean mask (same shape) of the codes in ``group`` on each date."""
    return groups_frame.eq(group).fillna(False).astype(bool)
