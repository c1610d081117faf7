"""Excel functions for the composite rotation strategy (spec M10): the latest picks.

Each function converts the Excel values (:mod:`udfs._convert`) and calls the core functions of
:mod:`xladdin.strategy` (composite score, then top-N selection) and converts back.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xlwings as xw

from xladdin import strategy

from ._convert import XAInputError, opt_int, opt_numbers, series_cells, to_block
from ._errors import excel_safe

CATEGORY = "xladdin"


@xw.func(category=CATEGORY)
@xw.arg("factor_block", doc="One row per industry (codes in the first column), one column per factor "
        "(names in the first row); higher = more attractive. Blank = factor unknown.", err_to_str=True)
@xw.arg("top", doc="Optional. Number of industries to pick (default 6).")
@xw.arg("weights", doc="Optional. One weight per factor column, same order (default equal weights).")
@excel_safe
def XA_PICKS(factor_block, top=None, weights=None):
    """Composite picks (M10): each factor as a cross-sectional percentile rank, weighted mean, top N. Table sorted by score: code, score, rank, pick (1/0), then each factor's rank."""
    b = to_block(factor_block, "factor_block", flat_as="column")
    n_rows, n_f = b.values.shape
    codes = ([str(x) for x in b.row_labels] if b.row_labels is not None
             else [f"{i + 1}" for i in range(n_rows)])
    if len(set(codes)) != len(codes):
        twice = pd.Index(codes, dtype=object).duplicated(keep=False)
        dup = codes[int(np.argmax(twice))]
        raise XAInputError(f"factor_block lists industry {dup} twice; keep one row each")
    names = b.columns if b.columns and len(set(b.columns)) == n_f and all(b.columns) else [
        f"factor{j + 1}" for j in range(n_f)]
    k = opt_int(top, "top", 6, lo=1)
    w = opt_numbers(weights, "weights", None, lo=0.0)
    if w is not None:
        if len(w) != n_f:
            raise XAInputError(f"weights has {len(w)} values for {n_f} factor columns; give one per factor")
        if sum(w) <= 0:
            raise XAInputError("weights must not all be 0")
    columns = pd.Index(codes, dtype=object)  # plain Python strings: the core iterates and sorts them
    factors = {nm: pd.DataFrame(b.values[None, :, j], index=[0], columns=columns) for j, nm in enumerate(names)}
    score = strategy.composite_scores(factors, None if w is None else dict(zip(names, w)))
    picks = strategy.top_n_weights(score, k)
    at = score.columns.get_indexer(columns)  # the core's columns (sorted codes) in the input's order
    score_v = score.to_numpy(dtype=float)[0][at]
    at_pick = at if picks.columns.equals(score.columns) else picks.columns.get_indexer(columns)
    pick_v = (picks.to_numpy(dtype=float)[0][at_pick] > 0).astype(np.int64)
    # picks first, then by score (highest first, blank last), ties by code as in the core's selection
    code_order = np.empty(n_rows, dtype=np.int64)
    code_order[np.argsort(np.array(codes, dtype=object), kind="stable")] = np.arange(n_rows)
    order = np.lexsort((code_order, np.where(np.isnan(score_v), np.inf, -score_v), -pick_v))
    scored = ~np.isnan(score_v[order])
    table = [("code", np.array(codes, dtype=object)[order]), ("score", score_v[order]),
             ("rank", pd.arrays.IntegerArray(np.arange(1, n_rows + 1), ~scored)), ("pick", pick_v[order])]
    table += [(f"{nm} rank", strategy.percentile_ranks(f).to_numpy(dtype=float)[0][order]) for nm, f in factors.items()]
    return series_cells(table, header=True)
