"""Excel functions for holdings: quintile groups (M7), penetrating ETF holdings to industries (M6)
and the divergence from active funds (M9).

Each function converts the Excel values (:mod:`xladdin_udfs._convert`), calls one core function and
converts back.
"""
from __future__ import annotations

import pandas as pd
import xlwings as xw

from xladdin.methods import divergence, grouping, holdings

from ._convert import (
    XAInputError,
    frame_rows,
    is_blank,
    matrix_cells,
    opt_bool,
    opt_choice,
    opt_int,
    to_block,
    to_records,
)
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
@xw.arg("groups", doc=f"Optional. Number of groups (default {grouping.DEFAULT_GROUPS} = quintiles); group 1 = lowest "
        "values.")
@xw.arg("by", doc='Optional. "row": each row is a cross-section; "column": each column is. Default: '
        '"column" for a single column, "row" otherwise.')
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_QUINTILE(values, groups=None, by=None, header=False):
    """Quantile groups (M7): values sorted ascending into near-equal groups, group 5 highest; blank values get no group; ties ordered by code. Same layout as the input."""
    b = to_block(values, "values", flat_as="column")
    k = opt_int(groups, "groups", grouping.DEFAULT_GROUPS, lo=grouping.GROUPS_RANGE[0], hi=grouping.GROUPS_RANGE[1])
    n_r, n_c = b.values.shape
    default_by = "column" if n_c == 1 else "row"
    direction = opt_choice(by, "by", default_by, ("row", "column"))
    if direction == "row":
        g = grouping.group_matrix(b.values, _codes(b.columns, n_c), k)
    else:  # each column is one cross-section
        g = grouping.group_matrix(b.values.T, _codes(b.row_labels, n_r), k).T
    if b.title_row:
        head = list(b.columns or [])
    elif opt_bool(header, "header"):
        head = ["group"] if n_c == 1 else [f"group{j + 1}" for j in range(n_c)]
    else:
        head = None
    return matrix_cells(g, whole=True, labels=b.row_labels, header=head)


#: date stamped on the single snapshot an Excel call penetrates (the core works on dated frames)
@xw.func(category=CATEGORY)
@xw.arg("etf_sizes", doc="Two columns: ETF code (or its tracked index code) and size (units x NAV, "
        "e.g. yuan). One row per stock ETF.", err_to_str=True)
@xw.arg("weights", doc="Three columns: the same code as in etf_sizes, stock code, weight (fractions "
        "summing to at most 1 per code): the tracked index's latest constituent weights.", err_to_str=True)
@xw.arg("stock_industry", doc="Two columns: stock code, industry code (optional third column: industry "
        "name). Stocks missing here are reported as (no industry).", err_to_str=True)
@excel_safe
def XA_PENETRATE(etf_sizes, weights, stock_industry):
    """Penetrate ETF holdings to industries (M6): size x constituent weight, summed per industry; holding level = share of all industry holdings. Table with a header."""
    sizes = to_records(etf_sizes, "etf_sizes", ["code", "size"], numeric=[1])
    w = to_records(weights, "weights", ["code", "stock", "weight"], numeric=[2])
    si = to_records(stock_industry, "stock_industry", ["stock", "industry"], optional=["name"])
    out, lost = holdings.penetrate_snapshot(_keyed(sizes, "code", "size"), w, _keyed(si, "stock", "industry"))
    if "name" in si.columns:
        names = si.drop_duplicates("industry").set_index("industry")["name"]
        out.insert(0, "name", names.reindex(out.index).to_numpy(dtype=object))
    rows = frame_rows(out)
    if lost > 0:
        rows.append(["(no industry)"] + ([None] if "name" in si.columns else []) + [lost, None])
    return rows


def _keyed(table: pd.DataFrame, key: str, value: str) -> pd.Series:
    """``table.set_index(key)[value]`` without copying the table (codes kept as Python strings)."""
    values = table[value].to_numpy()
    return pd.Series(values, index=pd.Index(table[key].to_numpy(), dtype=object, name=key), name=value,
                     dtype=object if values.dtype == object else None, copy=False)


@xw.func(category=CATEGORY)
@xw.arg("etf_share", doc="Stock-ETF holding level per industry: a column (one date, industries down) or a "
        "block (one row per date, one column per industry). Codes in a first row/column are kept.",
        ndim=2, err_to_str=True)
@xw.arg("active_share", doc="Active-fund industry shares, same layout and size as etf_share.", ndim=2,
        err_to_str=True)
@xw.arg("standardise", doc="Optional. TRUE (default): z-score across industries; FALSE: the raw difference.")
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_DIVERGENCE(etf_share, active_share, standardise=True, header=False):
    """Divergence from active funds (M9): ETF share - active share, standardised across industries (mean 0, std 1) per date; positive = overweighted by ETFs. Same layout as the input."""
    e = to_block(etf_share, "etf_share", flat_as="column")
    a = to_block(active_share, "active_share", flat_as="column")
    if e.values.shape != a.values.shape:
        (r1, c1), (r2, c2) = e.values.shape, a.values.shape
        raise XAInputError(f"etf_share and active_share differ in size ({r1} x {c1} vs {r2} x {c2})")
    z = opt_bool(standardise, "standardise", True)
    n_r, n_c = e.values.shape
    # the core's rows are dates: one date (a column, industries down) is transposed; Excel positions
    # as labels, so that the core's messages name the cell
    excel_rows, excel_cols = pd.RangeIndex(1, n_r + 1, name="row"), pd.RangeIndex(1, n_c + 1, name="column")
    if n_c == 1:
        ev, av, rows, cols = e.values.T, a.values.T, excel_cols, excel_rows
    else:
        ev, av, rows, cols = e.values, a.values, excel_rows, excel_cols
    out = divergence.divergence(pd.DataFrame(ev, rows, cols), pd.DataFrame(av, rows, cols),
                                standardise=z).to_numpy(dtype=float)
    if n_c == 1:
        out = out.T
    if e.title_row:
        head = list(e.columns or [])
    elif opt_bool(header, "header"):
        head = ["divergence"] if n_c == 1 else [f"divergence{j + 1}" for j in range(n_c)]
    else:
        head = None
    return matrix_cells(out, labels=e.row_labels, header=head)
