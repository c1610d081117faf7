"""Cross-sectional ranking with ties (spec "Timing, costs and ties"; used by M7, M8, M9, M10, M11).

A factor computed by subtracting nearly equal numbers (the weekly change of a holding share when no
ETF share moved) carries rounding noise around 1e-16. Ranking such values lets the noise decide.
Here values of one cross-section (a row: one date, codes across) that lie within a tolerance of
each other are **ties**:

    tol_row = max(rtol × max_i |x_i|, atol)

and, after sorting, every value within ``tol_row`` of the previous one joins its tie (a chain of
values each within ``tol_row`` of the next is one tie). A cross-section with at least two values
that are all tied has **no spread**: it gives no ranking (NaN ranks, no groups, no picks) rather
than an order set by noise. ``atol`` (default 1e-12) is the floor for cross-sections whose values
are all noise: the noise of quantities of order 1 (shares, weights, returns) is ~1e-16, so a factor
whose whole spread is below 1e-12 carries no information in those units (pass ``atol=0`` for a
factor measured in tiny units).

Functions:

* :func:`tie_values` — values with ties made exactly equal, and the rows with no spread;
* :func:`percentile_ranks` — cross-sectional percentile ranks (average ties);
* :func:`composite_scores` — weighted mean of several factors' percentile ranks (M10, M11);
* :func:`top_n_weights` — equal weights on the top N of each row (ties by code), optionally at
  most one per group (M11: one ETF per tracked index);
* :func:`no_ranking` — which rows of a factor give no ranking;
* :func:`composite_picks` — one cross-section's composite score, picks and their table order (M10,
  the Excel function ``XA_PICKS``).

Each works on numpy arrays underneath (:func:`rank_matrix`, :func:`composite_matrix`,
:func:`top_n_matrix`, :func:`text_order`: rows = cross-sections, columns = codes), which the Excel
functions call directly; the DataFrame functions align labels once and wrap them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["RTOL", "ATOL", "tie_values", "no_ranking", "percentile_ranks", "composite_scores", "top_n_weights",
           "rank_matrix", "composite_matrix", "top_n_matrix", "text_order", "composite_picks"]

#: relative tie tolerance (of the cross-section's largest absolute value)
RTOL = 1e-9
#: absolute tie tolerance: cross-sections whose whole spread is below it have no ranking
ATOL = 1e-12


def _tie_sorted(x: np.ndarray, rtol: float, atol: float):
    """Each row of a 2-D float array sorted (NaN last), cut into ties.

    Returns ``(order, s, first, new, n_valid, no_spread)``: the sorting positions, the sorted values,
    the sorted position of the first (smallest) member of each value's tie, whether a sorted
    position starts a tie, the values per row and the rows without spread.
    """
    if rtol < 0 or atol < 0:
        raise ValueError(f"tie tolerances must be >= 0 (rtol={rtol}, atol={atol})")
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError("expected a 2-D array (rows = cross-sections)")
    n_r, n_c = x.shape  # n_c >= 1
    rows = np.arange(n_r)[:, None]
    order = np.argsort(x, axis=1)  # NaN last; equal values in any order (nothing below depends on it)
    s = x[rows, order]
    n_valid = n_c - np.isnan(s).sum(axis=1)
    last = np.maximum(n_valid - 1, 0)
    with np.errstate(invalid="ignore"):  # max |x| of the row: |its smallest| or |its largest| value
        scale = np.where(n_valid > 0, np.maximum(np.abs(s[:, 0]), np.abs(s[rows[:, 0], last])), 0.0)
    tol = np.maximum(rtol * scale, atol)
    new = np.ones((n_r, n_c), dtype=bool)
    np.logical_not(s[:, 1:] - s[:, :-1] <= tol[:, None], out=new[:, 1:])  # NaN gap: a new tie
    first = np.maximum.accumulate(np.where(new, np.arange(n_c)[None, :], 0), axis=1)
    n_clusters = new.sum(axis=1) - (n_c - n_valid)  # ties among the valid values (each NaN starts its own)
    no_spread = (n_valid >= 2) & (n_clusters == 1)
    return order, s, first, new, n_valid, no_spread


def _tie_matrix(x: np.ndarray, rtol: float, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """Tied copy of a 2-D float array (NaN kept) and the boolean rows without spread."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 2 and x.shape[1] == 0:
        if rtol < 0 or atol < 0:
            raise ValueError(f"tie tolerances must be >= 0 (rtol={rtol}, atol={atol})")
        return x.copy(), np.zeros(x.shape[0], dtype=bool)
    order, s, first, _, _, no_spread = _tie_sorted(x, rtol, atol)
    rows = np.arange(x.shape[0])[:, None]
    out = np.empty_like(x)
    out[rows, order] = s[rows, first]  # each tie: its smallest value (NaN stays NaN)
    return out, no_spread


def tie_values(values: pd.DataFrame | pd.Series, rtol: float = RTOL, atol: float = ATOL
               ) -> tuple[pd.DataFrame | pd.Series, pd.Series | bool]:
    """Values with ties made exactly equal, and whether each cross-section has no spread.

    Parameters
    ----------
    values : DataFrame (index = date, columns = code; each row a cross-section) or Series (one
        cross-section, index = code).
    rtol, atol : tie tolerance ``max(rtol × max|x|, atol)`` of each cross-section.

    Returns
    -------
    (tied, no_spread)
        ``tied``: same shape, each value replaced by the smallest value of its tie (sorted values
        within the tolerance of the previous one form one tie); NaN kept. ``no_spread``: Series of
        bool per row (a bool for a Series input), True where at least two values exist and all
        are tied.
    """
    if isinstance(values, pd.Series):
        tied, flat = _tie_matrix(values.to_numpy(dtype=float, na_value=np.nan)[None, :], rtol, atol)
        return pd.Series(tied[0], index=values.index, name=values.name), bool(flat[0])
    if not isinstance(values, pd.DataFrame):
        raise ValueError(f"`values` must be a Series or DataFrame, got {type(values).__name__}")
    tied, flat = _tie_matrix(_float_matrix(values), rtol, atol)
    return (pd.DataFrame(tied, index=values.index, columns=values.columns),
            pd.Series(flat, index=values.index, name="no_spread"))


def _float_matrix(values: pd.DataFrame) -> np.ndarray:
    """Float matrix of a frame; columns that are not numbers (text, bool) go through
    ``pd.to_numeric(errors="coerce")`` (text that is no number: NaN)."""
    if values.shape[1] == 0 or _all_numeric(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _all_numeric(values: pd.DataFrame) -> bool:
    dtypes = {d for d in values.dtypes.to_numpy()} if values.shape[1] > 64 else values.dtypes
    return all(pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d) for d in dtypes)


def no_ranking(values: pd.DataFrame, rtol: float = RTOL, atol: float = ATOL) -> pd.Series:
    """Rows of ``values`` that give no ranking: no value at all, or at least two values all tied."""
    _, flat = tie_values(values, rtol, atol)
    return flat | values.notna().sum(axis=1).eq(0)


def rank_matrix(x: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> np.ndarray:
    """Percentile ranks of each row of a float matrix (the numbers of :func:`percentile_ranks`).

    Values within the tie tolerance are tied (:func:`tie_values`); the k-th smallest of ``n`` values
    of a row gets ``k / n``, a tie the mean of its members' ``k`` (average ranks, as pandas'
    ``rank(pct=True)``); NaN for a missing value and on rows with no spread.
    """
    x = np.asarray(x, dtype=float)
    x = x if x.ndim == 2 else x.reshape(len(x), -1)  # (0, k) stays (0, k): reshape(0, -1) is ambiguous
    n_r, n_c = x.shape
    if n_c == 0:
        return _tie_matrix(x, rtol, atol)[0]
    order, s, first, new, n_valid, flat = _tie_sorted(x, rtol, atol)
    pos = np.arange(n_c)[None, :]
    ends = np.concatenate([new[:, 1:], np.ones((n_r, 1), dtype=bool)], axis=1)  # a tie's last position
    last = np.minimum.accumulate(np.where(ends, pos, n_c)[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        pct_sorted = ((first + last) / 2 + 1) / n_valid[:, None]  # average rank (exact half-integers) / n
    pct_sorted[np.isnan(s) | flat[:, None]] = np.nan
    out = np.empty_like(x)
    out[np.arange(n_r)[:, None], order] = pct_sorted
    return out


def percentile_ranks(factor: pd.DataFrame, rtol: float = RTOL, atol: float = ATOL) -> pd.DataFrame:
    """Cross-sectional percentile ranks per row, ties (within the tolerance) averaged.

    Returns
    -------
    DataFrame, same shape: ``rank / n`` with average ranks of tied values and ``n`` the values of
    the row (pandas ``rank(pct=True)`` on the tied values); NaN where the value is missing and on
    rows with no spread (no ranking from this factor on that date).
    """
    if not isinstance(factor, pd.DataFrame):
        raise ValueError(f"`factor` must be a DataFrame, got {type(factor).__name__}")
    return pd.DataFrame(rank_matrix(_float_matrix(factor), rtol, atol), index=factor.index, columns=factor.columns)


def composite_matrix(ranks: Sequence[np.ndarray], weights: Sequence[float], require_all: bool = False) -> np.ndarray:
    """Weighted mean of aligned percentile-rank matrices (the numbers of :func:`composite_scores`).

    ``S = Σ_f a_f · R_f / Σ_{f: ranked} a_f`` per cell, a factor counting where it ranks the cell;
    NaN where no factor does; with ``require_all``, NaN where a factor that ranks the row (any cell)
    does not rank the cell.
    """
    if len(ranks) == 0:
        raise ValueError("no factor given")
    counted = [i for i, a in enumerate(weights) if float(a) != 0]
    if not counted:
        return np.full(np.shape(ranks[0]), np.nan)
    r = np.stack([np.asarray(ranks[i], dtype=float) for i in counted])
    a = np.array([float(weights[i]) for i in counted]).reshape((-1,) + (1,) * (r.ndim - 1))
    ranked = ~np.isnan(r)
    num = (np.where(ranked, r, 0.0) * a).sum(axis=0)  # factor by factor, in order
    den = (ranked * a).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    if require_all:  # a factor that ranks the row (any cell) must rank the cell
        out[(ranked.any(axis=-1, keepdims=True) & ~ranked).any(axis=0)] = np.nan
    return out


def _stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of a 1-D float array without NaN: numpy's faster unstable
    sort, then each run of equal keys put back in position order (only the tied elements are sorted
    again)."""
    order = np.argsort(key)
    s = key[order]
    same = s[1:] == s[:-1]
    if not same.any():
        return order
    in_run = np.zeros(len(key), dtype=bool)
    in_run[1:] |= same
    in_run[:-1] |= same
    run = np.cumsum(np.concatenate([[True], ~same]))  # run number along the sorted keys
    at = np.flatnonzero(in_run)
    order[at] = order[at][np.lexsort((order[at], run[at]))]
    return order


def text_order(codes) -> np.ndarray:
    """Positions that sort ``codes`` as text (``sorted(codes, key=str)``, stable): the tie order."""
    arr = codes.to_numpy(dtype=object) if isinstance(codes, pd.Index) else np.asarray(codes, dtype=object)
    keys = arr.tolist() if pd.api.types.infer_dtype(arr, skipna=False) == "string" else [str(c) for c in arr]
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.intp)


def _label_positions(labels: list[pd.Index], sort_key=None) -> tuple[list, list[np.ndarray]]:
    """Union of several label indexes, sorted (by ``sort_key`` text order when given), and each
    index's positions in it."""
    parts = [np.asarray(ix.to_numpy(dtype=object), dtype=object) for ix in labels]
    codes, uniq = pd.factorize(np.concatenate(parts) if parts else np.array([], dtype=object), use_na_sentinel=False)
    order = text_order(uniq) if sort_key is str else np.argsort(uniq, kind="stable")
    rank = np.empty(len(uniq), dtype=np.intp)
    rank[order] = np.arange(len(uniq))
    out, at = [], 0
    for p in parts:
        out.append(rank[codes[at:at + len(p)]])
        at += len(p)
    return list(uniq[order]), out


def composite_scores(factors: Mapping[str, pd.DataFrame], weights: Mapping[str, float] | None = None,
                     require_all: bool = False, rtol: float = RTOL, atol: float = ATOL) -> pd.DataFrame:
    """Composite score: weighted mean of the factors' cross-sectional percentile ranks (M10, M11).

    Parameters
    ----------
    factors : name -> DataFrame (index = date, columns = code); higher = more attractive.
    weights : name -> weight (default equal).
    require_all : False (M10): an industry's missing factor value is skipped and the weights are
        renormalised over the factors it has. True (M11): a code missing a factor that other codes
        have on that date gets NaN (it is not ranked that date).
    rtol, atol : tie tolerance (:func:`tie_values`).

    Returns
    -------
    DataFrame, index = union of dates, columns = union of codes (sorted as text); NaN where no
    factor ranks the code.

    Notes
    -----
    ``S_{t,i} = Σ_f a_f · pct_rank_t(F_{f,t,i}) / Σ_{f: ranked} a_f``. A factor with no ranking on a
    date (no value, or no spread) is left out of that date's composite for every code. The codes
    and dates are aligned once (positions in the unions), ranks and sums are numpy
    (:func:`rank_matrix`, :func:`composite_matrix`).
    """
    if not factors:
        raise ValueError("no factor given")
    weights = dict(weights) if weights else {k: 1.0 for k in factors}
    unknown = set(weights) - set(factors)
    if unknown:
        raise ValueError(f"weights for unknown factor(s) {sorted(unknown)}; factors: {sorted(factors)}")
    if any((not np.isfinite(float(a))) or float(a) < 0 for a in weights.values()):
        raise ValueError("factor weights must be finite and >= 0")
    for name, f in factors.items():
        for axis, labels in (("dates", f.index), ("codes", f.columns)):
            if labels.has_duplicates:
                raise ValueError(f"factor `{name}` has duplicated {axis} ({labels[labels.duplicated()][0]}); "
                                 "keep one row per date and one column per code")
    frames = list(factors.values())
    idx = _union_dates(frames)
    cols, col_pos = _label_positions([f.columns for f in frames], sort_key=str)
    row_pos = [idx.get_indexer(f.index) for f in frames]
    ranks, a = [], []
    for (name, f), rp, cp in zip(factors.items(), row_pos, col_pos):
        w = float(weights.get(name, 0.0))
        if w == 0:
            continue
        x = np.full((len(idx), len(cols)), np.nan)
        x[np.ix_(rp, cp)] = _float_matrix(f)
        ranks.append(rank_matrix(x, rtol, atol))
        a.append(w)
    out = composite_matrix(ranks, a, require_all) if ranks else np.full((len(idx), len(cols)), np.nan)
    return pd.DataFrame(out, index=idx, columns=cols).rename_axis(index="date", columns="code")


def _union_dates(frames: list[pd.DataFrame]) -> pd.Index:
    """Sorted union of the frames' row labels (a DatetimeIndex when all are dates)."""
    first = frames[0].index
    if all(f.index.equals(first) for f in frames[1:]) and first.is_monotonic_increasing and first.is_unique:
        labels = first.to_numpy()
        return pd.DatetimeIndex(labels) if isinstance(first, pd.DatetimeIndex) else pd.Index(sorted(first))
    union = sorted(set().union(*[f.index for f in frames]))
    return pd.DatetimeIndex(union) if all(isinstance(f.index, pd.DatetimeIndex) for f in frames) else pd.Index(union)


def top_n_matrix(scores: np.ndarray, n: int, order: np.ndarray | None = None, ascending: bool = False,
                 groups: np.ndarray | None = None, rtol: float = RTOL, atol: float = ATOL) -> np.ndarray:
    """Equal weights on the ``n`` best scores of each row (the numbers of :func:`top_n_weights`).

    ``order``: the column positions in tie order (codes as text: :func:`text_order`; default the
    columns' own order). ``groups``: integer group of each column, at most one pick per group (the
    best-ranked of the group). Returns ``1/k`` on the ``k = min(n, available)`` picks, 0 elsewhere,
    an all-NaN row where the row has no score or no spread.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"`n` must be a positive integer, got {n!r}")
    v = np.asarray(scores, dtype=float)
    g = None if groups is None else np.asarray(groups)
    if order is not None:
        v = v[:, order]
        g = None if g is None else g[order]
    w = _top_n_tied(*_tie_matrix(v, rtol, atol), n, ascending, g)
    if order is None:
        return w
    out = np.empty_like(w)
    out[:, order] = w
    return out


def _top_n_tied(v: np.ndarray, flat: np.ndarray, n: int, ascending: bool, groups: np.ndarray | None) -> np.ndarray:
    """:func:`top_n_matrix` on tied scores (:func:`_tie_matrix`) whose columns are in tie order."""
    key = v if ascending else -v
    rank_order = np.argsort(np.where(np.isnan(key), np.inf, key), axis=1, kind="stable")  # ties: column order
    valid_sorted = ~np.isnan(np.take_along_axis(v, rank_order, axis=1))
    if groups is None:
        pick_sorted = valid_sorted & (np.cumsum(valid_sorted, axis=1) <= n)
    else:
        g = np.asarray(groups, dtype=np.int64)[rank_order]
        n_r, n_c = g.shape
        # first (best-ranked) valid code of each group on each row: the first occurrence of (row, group)
        key_rg = np.where(valid_sorted, g + 1, 0) + np.arange(n_r)[:, None] * (int(g.max(initial=0)) + 2)
        first = np.zeros(n_r * n_c, dtype=bool)
        first[np.unique(key_rg.ravel(), return_index=True)[1]] = True
        first = first.reshape(n_r, n_c) & valid_sorted
        pick_sorted = first & (np.cumsum(first, axis=1) <= n)
    pick = np.zeros_like(pick_sorted)
    np.put_along_axis(pick, rank_order, pick_sorted, axis=1)
    cnt = pick.sum(axis=1, keepdims=True)
    w = np.where(pick, 1.0 / np.where(cnt == 0, 1, cnt), 0.0)
    w[(cnt[:, 0] == 0) | flat] = np.nan
    return w


def top_n_weights(scores: pd.DataFrame, n: int = 6, ascending: bool = False,
                  one_per: Mapping | pd.Series | None = None, rtol: float = RTOL, atol: float = ATOL) -> pd.DataFrame:
    """Equal weights on the ``n`` best scores of each row; NaN rows where the row gives no ranking.

    Parameters
    ----------
    scores : DataFrame, index = date, columns = code.
    n : number of picks.
    ascending : True picks the lowest scores.
    one_per : optional code -> group (e.g. ETF -> tracked index): at most one pick per group, the
        next-ranked code of another group takes the place (M11). Codes without a group are their
        own group.
    rtol, atol : tie tolerance (:func:`tie_values`); tied scores are ordered by code (text).

    Returns
    -------
    DataFrame, same index and columns: ``1/k`` on the ``k = min(n, available)`` picks, 0 elsewhere;
    an all-NaN row where the row has no score or no spread (no ranking: the backtest then keeps the
    previous holdings).
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"`n` must be a positive integer, got {n!r}")
    if scores.columns.has_duplicates:
        raise ValueError(f"`scores` has duplicated code {scores.columns[scores.columns.duplicated()][0]!r}; "
                         "keep one column per code")
    order = text_order(scores.columns)
    groups = None
    if one_per is not None:
        grp = pd.Series(one_per)
        labels = [grp.get(c, ("__own__", c)) for c in scores.columns]
        labels = [("__own__", c) if (not isinstance(g, tuple) and pd.isna(g)) else g
                  for g, c in zip(labels, scores.columns)]
        groups = pd.factorize(pd.Series([str(g) for g in labels], dtype=object))[0]
    w = top_n_matrix(scores.astype(float).to_numpy(dtype=float), n, order, ascending, groups, rtol, atol)
    return pd.DataFrame(w, index=scores.index, columns=pd.Index(list(scores.columns)))  # unnamed, as before


def composite_picks(values: np.ndarray, codes: Sequence, n: int = 6, weights: Sequence[float] | None = None,
                    rtol: float = RTOL, atol: float = ATOL) -> dict[str, np.ndarray]:
    """Composite picks of one cross-section (M10): each factor's percentile rank, their weighted
    mean, the top ``n``, and the order of a pick table.

    Parameters
    ----------
    values : array (codes × factors); higher = more attractive, NaN = factor unknown.
    codes : the codes of the rows (ties are ordered by code as text).
    n : number of picks.
    weights : one weight per factor (default equal).

    Returns
    -------
    dict of arrays over the codes: ``score`` (:func:`composite_matrix` of the factors'
    :func:`rank_matrix`; NaN = not ranked), ``pick`` (1 for the top ``n``, ties by code; none when
    the scores have no spread), ``ranks`` (codes × factors) and ``order``: the rows of the table
    sorted picks first, then by score (highest first, scores within the tie tolerance equal, no
    score last), ties by code.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"`n` must be a positive integer, got {n!r}")
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[0] != len(codes):
        raise ValueError(f"`values` must be codes x factors ({len(codes)} rows), got shape {x.shape}")
    w = [1.0] * x.shape[1] if weights is None else [float(a) for a in weights]
    if len(w) != x.shape[1] or any(not np.isfinite(a) or a < 0 for a in w):
        raise ValueError("give one finite weight >= 0 per factor")
    ranks = rank_matrix(x.T, rtol, atol)  # one cross-section per factor
    score = composite_matrix(ranks[:, None, :], w)[0] if len(w) else np.full(len(codes), np.nan)
    by_text = text_order(codes)
    tied, flat = _tie_matrix(score[None, :], rtol, atol)
    key = -tied[0, by_text]
    order = by_text[_stable_argsort(np.where(np.isnan(key), np.inf, key))]  # ties: code order
    pick = np.zeros(len(codes), dtype=np.int64)
    if not flat[0]:
        pick[order[:min(n, int((~np.isnan(score)).sum()))]] = 1  # the best n; picks lead the table order
    return {"score": score, "pick": pick, "order": order, "ranks": ranks.T}
