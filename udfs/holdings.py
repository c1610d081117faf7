"""Excel functions for holdings: quintile groups (M7), penetrating ETF holdings to industries (M6)
and the divergence from active funds (M9).

Each function converts the Excel values (:mod:`udfs._convert`), calls one core function and
converts back.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xlwings as xw

from xladdin import grouping

from ._convert import XAInputError, is_blank, opt_bool, opt_choice, opt_int, to_block
from ._errors import excel_safe

CATEGORY = "xladdin"
HEADER_DOC = "Optional. TRUE adds a header row above the results (default FALSE)."


def _codes(labels, n: int) -> list[str]:
    """Codes used to break ties (text order); positions when the range has no usable codes."""
    if labels is not None and len(labels) == n:
        texts = ["" if is_blank(x) else str(x) for x in labels]
        if all(texts) and len(set(texts)) == n:
            return texts
    return [f"{i:07d}" for i in range(n)]


@xw.func(category=CATEGORY)
@xw.arg("values", doc="A column or row (one cross-section, e.g. 30 industries), or a block with one row per "
        "date and one column per industry (grouped across each row). Codes in a first row/column break ties.",
        ndim=2, err_to_str=True)
@xw.arg("groups", doc="Optional. Number of groups (default 5 = quintiles); group 1 = lowest values.")
@xw.arg("by", doc='Optional. "row": each row is a cross-section; "column": each column is. Default: '
        '"column" for a single column, "row" otherwise.')
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_QUINTILE(values, groups=None, by=None, header=False):
    """Quantile groups (M7): values sorted ascending into near-equal groups, group 5 highest; blank values get no group; ties ordered by code. Same layout as the input."""
    b = to_block(values, "values", flat_as="column")
    k = opt_int(groups, "groups", 5, lo=1, hi=1000)
    n_r, n_c = b.values.shape
    default_by = "column" if n_c == 1 else "row"
    direction = opt_choice(by, "by", default_by, ("row", "column"))
    if direction == "row":
        frame = pd.DataFrame(b.values, columns=_codes(b.columns, n_c))
        g = grouping.assign_groups(frame, k).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    else:
        frame = pd.DataFrame(b.values.T, columns=_codes(b.row_labels, n_r))
        g = grouping.assign_groups(frame, k).astype("Float64").to_numpy(dtype=float, na_value=np.nan).T
    rows = [[None if np.isnan(x) else int(x) for x in r] for r in g]
    if b.row_labels is not None:
        rows = [[lab] + r for lab, r in zip(b.row_labels, rows)]
    if b.title_row:
        head = list(b.columns or [])
        rows.insert(0, ([""] if b.row_labels is not None else []) + head)
    elif opt_bool(header, "header"):
        names = ["group"] if n_c == 1 else [f"group{j + 1}" for j in range(n_c)]
        rows.insert(0, ([""] if b.row_labels is not None else []) + names)
    return rows
