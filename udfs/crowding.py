"""Excel functions for industry crowding (spec M14): the crowding table of the last row, and the turnover
heat percentile of a block or one column.

Each function converts the Excel values (:mod:`xladdin_udfs._convert`), calls the core
(:mod:`xladdin.methods.crowding`) and converts back. Rows are positions (trading days, oldest first):
every block of one call has the same rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xlwings as xw

from xladdin.methods import crowding

from ._convert import XAInputError, frame_cells, matrix_cells, opt_bool, opt_float, opt_int, to_block, to_records
from ._errors import excel_safe

CATEGORY = "xladdin"
HEADER_DOC = "Optional. TRUE adds a header row above the results (default FALSE)."
#: columns of XA_CROWDING's table
CROWDING_COLUMNS = ["industry", "heat_pct", "divergence", "dispersion_pct", "crowded", "reasons"]


def _given(x) -> bool:
    """An optional range argument that was given (not omitted, not one blank cell)."""
    return x is not None and not (isinstance(x, str) and not x.strip())


def _codes(block, name: str) -> list[str]:
    """The block's column titles as codes (``column 1``, ... where it has none)."""
    n = block.values.shape[1]
    titles = block.columns if block.columns is not None and len(block.columns) == n else [""] * n
    codes = [t if t else f"column {j + 1}" for j, t in enumerate(titles)]
    if len(set(codes)) != n:
        raise XAInputError(f"{name} has repeated column titles; give each column its own code")
    return codes


def _rows(n: int) -> pd.Index:
    """Row labels of the core's frames: data rows 1..n (the core's messages and reasons name them)."""
    return pd.RangeIndex(1, n + 1, name="row")


def _same_rows(a, b, na: str, nb: str) -> None:
    if a.values.shape[0] != b.values.shape[0]:
        raise XAInputError(f"{na} and {nb} differ in rows ({a.values.shape[0]} vs {b.values.shape[0]}); "
                           "give the same trading days")


@xw.func(category=CATEGORY)
@xw.arg("industry_close", doc="Industry index closes, oldest first: one column per industry (codes in a first row), "
        "one row per trading day (dates in a first column are allowed). The table is of the last row.",
        err_to_str=True)
@xw.arg("volume", doc="Optional. Traded volume, same rows and columns as industry_close: heat (its share of the row's "
        "total) and price-volume divergence. Blank: both blank.", err_to_str=True)
@xw.arg("stock_close", doc="Optional. Stock closes on the same rows, one column per stock (codes in a first row): "
        "constituent dispersion.", err_to_str=True)
@xw.arg("stock_industry", doc="Optional. Two columns: stock code, industry code (the codes of industry_close). "
        "Needed with stock_close.", err_to_str=True)
@xw.arg("amount", doc="Optional. Traded amount, same layout as industry_close: heat is then the share of the amount "
        "(divergence keeps the volume).", err_to_str=True)
@xw.arg("heat_flag", doc=f"Optional. Heat percentile at or above which an industry is crowded (default "
        f"{crowding.DEFAULT_HEAT_FLAG:g}).")
@xw.arg("dispersion_flag", doc=f"Optional. Dispersion percentile at or below which an industry is crowded "
        f"(default {crowding.DEFAULT_DISPERSION_FLAG:g}).")
@xw.arg("history", doc=f"Optional. Rows of each percentile's trailing history (default {crowding.DEFAULT_HISTORY}; "
        f"at least {crowding.DEFAULT_MIN_HISTORY} values, or history if fewer).")
@excel_safe
def XA_CROWDING(industry_close, volume=None, stock_close=None, stock_industry=None, amount=None, heat_flag=None,
                dispersion_flag=None, history=None):
    """Industry crowding on the last row (M14): heat percentile, price-volume divergence, dispersion percentile, crowded (1/0) and reasons per industry. Blank where an input is missing. Table with a header."""
    c = to_block(industry_close, "industry_close")
    codes = _codes(c, "industry_close")
    rows = _rows(c.values.shape[0])
    frame = lambda b: pd.DataFrame(b.values, rows, codes)  # noqa: E731
    vol = amt = sc = imap = None
    if _given(volume):
        v = to_block(volume, "volume")
        _same_shape(c, v, "industry_close", "volume")
        vol = frame(v)
    if _given(amount):
        a = to_block(amount, "amount")
        _same_shape(c, a, "industry_close", "amount")
        amt = frame(a)
    if _given(stock_close):
        if not _given(stock_industry):
            raise XAInputError("stock_close needs stock_industry (stock code, industry code) to group the stocks")
        s = to_block(stock_close, "stock_close")
        _same_rows(c, s, "industry_close", "stock_close")
        sc = pd.DataFrame(s.values, rows, _codes(s, "stock_close"))
        si = to_records(stock_industry, "stock_industry", ["stock", "industry"])
        imap = pd.Series(si["industry"].to_numpy(dtype=object), index=pd.Index(si["stock"].to_numpy(dtype=object)))
        if imap.index.has_duplicates:
            raise XAInputError(f"stock_industry lists {imap.index[imap.index.duplicated()][0]} twice; keep one row")
    h = opt_int(history, "history", crowding.DEFAULT_HISTORY, lo=crowding.HISTORY_RANGE[0], hi=crowding.HISTORY_RANGE[1])
    trading = amt if amt is not None else vol
    panels = crowding.crowding_panels(
        frame(c), trading, vol, sc, imap, measure="amount" if amt is not None else "volume", crowding_history=h,
        min_history=min(crowding.DEFAULT_MIN_HISTORY, h),
        crowding_heat_flag=opt_float(heat_flag, "heat_flag", crowding.DEFAULT_HEAT_FLAG, lo=crowding.FLAG_RANGE[0],
                                     hi=crowding.FLAG_RANGE[1]),
        crowding_dispersion_flag=opt_float(dispersion_flag, "dispersion_flag", crowding.DEFAULT_DISPERSION_FLAG,
                                           lo=crowding.FLAG_RANGE[0], hi=crowding.FLAG_RANGE[1]))
    table = crowding.crowding_table(panels, rows[-1])
    table["reasons"] = ["; ".join(crowding.reason_text(r) for r in rs) for rs in table["reasons"]]
    return frame_cells(table[CROWDING_COLUMNS], index=False)


def _same_shape(a, b, na: str, nb: str) -> None:
    if a.values.shape != b.values.shape:
        (r1, c1), (r2, c2) = a.values.shape, b.values.shape
        raise XAInputError(f"{na} and {nb} differ in size ({r1} x {c1} vs {r2} x {c2})")


@xw.func(category=CATEGORY)
@xw.arg("trading", doc="Traded amount (or volume), oldest first: a block with one column per industry (each "
        "column's share of the row total), or one column with total.", ndim=2, err_to_str=True)
@xw.arg("total", doc="Optional. The market's total of the same measure on the same rows (one column): the share "
        "is trading / total. Default: the row total of trading's columns.", err_to_str=True)
@xw.arg("window", doc=f"Optional. Trading days of the mean share (default {crowding.DEFAULT_WINDOW}).")
@xw.arg("history", doc=f"Optional. Rows of the percentile's trailing history (default {crowding.DEFAULT_HISTORY}).")
@xw.arg("min_history", doc="Optional. Fewest values the history needs (default "
        f"{crowding.DEFAULT_MIN_HISTORY}, or history if fewer).")
@xw.arg("header", doc=HEADER_DOC)
@excel_safe
def XA_HEAT(trading, total=None, window=None, history=None, min_history=None, header=False):
    """Turnover heat (M14): share of the market's trading, mean over the window, as a percentile of its own trailing history, in (0, 1]; blank until there is enough. Same layout as trading."""
    b = to_block(trading, "trading", flat_as="column")
    n_r, n_c = b.values.shape
    rows = _rows(n_r)
    w = opt_int(window, "window", crowding.DEFAULT_WINDOW, lo=2, hi=1_048_576)
    h = opt_int(history, "history", crowding.DEFAULT_HISTORY, lo=crowding.HISTORY_RANGE[0], hi=crowding.HISTORY_RANGE[1])
    mh = opt_int(min_history, "min_history", min(crowding.DEFAULT_MIN_HISTORY, h), lo=1, hi=h)
    x = pd.DataFrame(b.values, rows, [f"c{j}" for j in range(n_c)])
    if _given(total):
        t = to_block(total, "total", flat_as="column", row_labels=False)
        if t.values.shape != (n_r, 1):
            raise XAInputError(f"total must be one column of {n_r} rows (as trading), got {t.values.shape[0]} x "
                               f"{t.values.shape[1]}")
        x = pd.concat([x, pd.DataFrame({"rest": t.values[:, 0] - x.sum(axis=1, min_count=1).to_numpy()}, rows)],
                      axis=1)
        if (x["rest"] < -1e-9 * np.abs(t.values[:, 0])).any():
            r = int(np.flatnonzero((x["rest"] < -1e-9 * np.abs(t.values[:, 0])).to_numpy())[0]) + 1
            raise XAInputError(f"total row {r} is less than the sum of trading on that row; give the market's total")
        x["rest"] = x["rest"].clip(lower=0)
    elif n_c == 1:
        raise XAInputError("one column of trading needs total (the market's trading on the same rows) to be a "
                           "share; or give a block with every industry")
    pct = crowding.turnover_heat(x, w, h, mh).to_numpy()[:, :n_c]
    if b.title_row:
        head = list(b.columns or [])
    elif opt_bool(header, "header"):
        head = ["heat"] if n_c == 1 else [f"heat{j + 1}" for j in range(n_c)]
    else:
        head = None
    return matrix_cells(pct, labels=b.row_labels, header=head)
