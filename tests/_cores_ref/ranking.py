# Frozen copy of the module now at xladdin/methods/ranking.py,
# as of commit 55a094b (before issue 14's rewrite of the issue-13 cores): the reference tests/test_cores_pinned.py
# compares the package against. Not used by the package.
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
* :func:`no_ranking` — which rows of a factor give no ranking.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["RTOL", "ATOL", "tie_values", "no_ranking", "percentile_ranks", "composite_scores", "top_n_weights"]

#: relative tie tolerance (of the cross-section's largest absolute value)
RTOL = 1e-9
#: absolute tie tolerance: cross-sections whose whole spread is below it have no ranking
ATOL = 1e-12


def _tie_matrix(x: np.ndarray, rtol: float, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """Tied copy of a 2-D float array (NaN kept) and the boolean rows without spread."""
    if rtol < 0 or atol < 0:
        raise ValueError(f"tie tolerances must be >= 0 (rtol={rtol}, atol={atol})")
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError("expected a 2-D array (rows = cross-sections)")
    n_r, n_c = x.shape
    if n_c == 0:
        return x.copy(), np.zeros(n_r, dtype=bool)
    valid = ~np.isnan(x)
    n_valid = valid.sum(axis=1)
    scale = np.max(np.where(valid, np.abs(x), 0.0), axis=1)
    tol = np.maximum(rtol * scale, atol)
    order = np.argsort(x, axis=1, kind="stable")  # NaN last
    s = np.take_along_axis(x, order, axis=1)
    gap = np.diff(s, axis=1)
    new = np.concatenate([np.ones((n_r, 1), dtype=bool), ~(gap <= tol[:, None])], axis=1)  # NaN gap: new tie
    cluster = np.cumsum(new, axis=1) - 1
    # each tie takes the value of its first (smallest) member
    first_pos = np.where(new, np.arange(n_c)[None, :], 0)
    first_pos = np.maximum.accumulate(first_pos, axis=1)
    tied_sorted = np.take_along_axis(s, first_pos, axis=1)
    out = np.empty_like(x)
    np.put_along_axis(out, order, tied_sorted, axis=1)
    out[~valid] = np.nan
    # clusters among the valid values: the last valid position's cluster id
    last_valid = np.clip(n_valid - 1, 0, None)
    n_clusters = np.take_along_axis(cluster, last_valid[:, None], axis=1)[:, 0] + 1
    no_spread = (n_valid >= 2) & (n_clusters == 1)
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
    num = values.apply(pd.to_numeric, errors="coerce") if not all(
        pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d) for d in values.dtypes) else values
    tied, flat = _tie_matrix(num.to_numpy(dtype=float, na_value=np.nan), rtol, atol)
    return (pd.DataFrame(tied, index=values.index, columns=values.columns),
            pd.Series(flat, index=values.index, name="no_spread"))


def no_ranking(values: pd.DataFrame, rtol: float = RTOL, atol: float = ATOL) -> pd.Series:
    """Rows of ``values`` that give no ranking: no value at all, or at least two values all tied."""
    _, flat = tie_values(values, rtol, atol)
    return flat | values.notna().sum(axis=1).eq(0)


def percentile_ranks(factor: pd.DataFrame, rtol: float = RTOL, atol: float = ATOL) -> pd.DataFrame:
    """Cross-sectional percentile ranks per row, ties (within the tolerance) averaged.

    Returns
    -------
    DataFrame, same shape: ``rank / n`` with average ranks of tied values and ``n`` the values of
    the row (pandas ``rank(pct=True)`` on the tied values); NaN where the value is missing and on
    rows with no spread (no ranking from this factor on that date).
    """
    tied, flat = tie_values(factor, rtol, atol)
    r = tied.rank(axis=1, pct=True, method="average")
    return r.mask(flat, np.nan)


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
    date (no value, or no spread) is left out of that date's composite for every code.
    """
    if not factors:
        raise ValueError("no factor given")
    weights = dict(weights) if weights else {k: 1.0 for k in factors}
    unknown = set(weights) - set(factors)
    if unknown:
        raise ValueError(f"weights for unknown factor(s) {sorted(unknown)}; factors: {sorted(factors)}")
    if any((not np.isfinite(float(a))) or float(a) < 0 for a in weights.values()):
        raise ValueError("factor weights must be finite and >= 0")
    idx = pd.DatetimeIndex(sorted(set().union(*[f.index for f in factors.values()]))) if all(
        isinstance(f.index, pd.DatetimeIndex) for f in factors.values()) else pd.Index(
        sorted(set().union(*[f.index for f in factors.values()])))
    cols = sorted(set().union(*[f.columns for f in factors.values()]), key=str)
    num = np.zeros((len(idx), len(cols)))
    den = np.zeros((len(idx), len(cols)))
    bad = np.zeros((len(idx), len(cols)), dtype=bool)
    for name, f in factors.items():
        a = float(weights.get(name, 0.0))
        if a == 0:
            continue
        r = percentile_ranks(f.reindex(index=idx, columns=cols), rtol, atol).to_numpy(dtype=float)
        ranked = ~np.isnan(r)
        active = ranked.any(axis=1, keepdims=True)  # the factor ranks this date
        num += np.where(ranked, r, 0.0) * a
        den += ranked * a
        if require_all:
            bad |= active & ~ranked
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    out[bad] = np.nan
    return pd.DataFrame(out, index=idx, columns=cols).rename_axis(index="date", columns="code")


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
    cols = sorted(scores.columns, key=str)
    tied, flat = tie_values(scores[cols].astype(float), rtol, atol)
    v = tied.to_numpy(dtype=float)
    key = v if ascending else -v
    order = np.argsort(np.where(np.isnan(key), np.inf, key), axis=1, kind="stable")  # ties: code order
    valid_sorted = ~np.isnan(np.take_along_axis(v, order, axis=1))
    if one_per is None:
        rank = np.cumsum(valid_sorted, axis=1)
        pick_sorted = valid_sorted & (rank <= n)
    else:
        grp = pd.Series(one_per)
        labels = [grp.get(c, ("__own__", c)) for c in cols]
        labels = [("__own__", c) if (not isinstance(g, tuple) and pd.isna(g)) else g for g, c in zip(labels, cols)]
        codes_ = pd.factorize(pd.Series([str(g) for g in labels]))[0]
        g_sorted = codes_[order]
        pick_sorted = np.zeros_like(valid_sorted)
        for i in range(len(v)):  # per rebalance date
            ok = valid_sorted[i]
            g = g_sorted[i]
            first = np.zeros(len(g), dtype=bool)
            _, pos = np.unique(np.where(ok, g, -1), return_index=True)
            first[pos] = True
            first &= ok
            pick_sorted[i] = first & (np.cumsum(first) <= n)
    pick = np.zeros_like(pick_sorted)
    np.put_along_axis(pick, order, pick_sorted, axis=1)
    cnt = pick.sum(axis=1, keepdims=True)
    w = np.where(pick, 1.0 / np.where(cnt == 0, 1, cnt), 0.0)
    none = (cnt[:, 0] == 0) | flat.to_numpy()
    w[none] = np.nan
    return pd.DataFrame(w, index=scores.index, columns=cols)[list(scores.columns)]
