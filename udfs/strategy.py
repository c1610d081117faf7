"""Excel functions for the composite rotation strategy (spec M10): the latest picks.

Each function converts the Excel values (:mod:`udfs._convert`) and calls the core functions of
:mod:`xladdin.strategy` (composite score, then top-N selection) and converts back.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xlwings as xw

from xladdin import strategy

from ._convert import XAInputError, frame_rows, opt_int, opt_numbers, to_block
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
        dup = next(c for c in codes if codes.count(c) > 1)
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
    factors = {nm: pd.DataFrame([b.values[:, j]], index=[0], columns=codes) for j, nm in enumerate(names)}
    score = strategy.composite_scores(factors, None if w is None else dict(zip(names, w)))
    picks = strategy.top_n_weights(score, k)
    ranks = {nm: strategy.percentile_ranks(f).iloc[0] for nm, f in factors.items()}
    table = pd.DataFrame({"code": codes, "score": score.iloc[0].reindex(codes).to_numpy(),
                          "pick": (picks.iloc[0].reindex(codes) > 0).astype(int).to_numpy()})
    for nm, r in ranks.items():
        table[f"{nm} rank"] = r.reindex(codes).to_numpy()
    # picks first, then by score (highest first), ties by code as in the core's selection
    table = table.sort_values(["pick", "score", "code"], ascending=[False, False, True], na_position="last",
                              kind="stable")
    ranks_ = [i + 1 if ok else None for i, ok in enumerate(table["score"].notna())]
    table.insert(2, "rank", pd.array(ranks_, dtype="Int64"))
    return frame_rows(table.set_index("code"))
