"""Excel values -> numbers: the exact message for every kind of bad cell and where it sits, pinned
literally (written before the bulk converters replaced the per-cell ones, so the change is proven
not to alter them), and the bulk converters equal to the per-cell reference on random ranges."""
from __future__ import annotations

import datetime as dt
import decimal
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from xladdin_udfs import _convert as C

sys.path.insert(0, str(Path(__file__).parent))
import _convert_ref as R  # noqa: E402

D = dt.datetime(2024, 1, 31)

# (converter, args, kwargs, the exact message)
PINNED = [
    # one bad cell of each kind, in a flat range
    ("to_vector", ([1.0, "1.5"], "shares"), {},
     "shares cell 2 is a number stored as text ('1.5'); convert it to a number"),
    ("to_vector", ([1.0, " 1,234.5 "], "shares"), {},
     "shares cell 2 is a number stored as text (' 1,234.5 '); convert it to a number"),
    ("to_vector", ([1.0, "abc"], "shares"), {}, "shares cell 2 is text ('abc'); expected a number"),
    ("to_vector", ([1.0, "a very long text that is cut after some characters"], "shares"), {},
     "shares cell 2 is text ('a very long text that...'); expected a number"),
    ("to_vector", ([1.0, True], "shares"), {}, "shares cell 2 is TRUE/FALSE; expected a number"),
    ("to_vector", ([1.0, np.False_], "shares"), {}, "shares cell 2 is TRUE/FALSE; expected a number"),
    ("to_vector", ([1.0, D], "shares"), {}, "shares cell 2 is a date; expected a number (select the value column)"),
    ("to_vector", ([1.0, dt.date(2024, 1, 31)], "shares"), {},
     "shares cell 2 is a date; expected a number (select the value column)"),
    ("to_vector", ([1.0, pd.Timestamp("2024-01-31")], "shares"), {},
     "shares cell 2 is a date; expected a number (select the value column)"),
    ("to_vector", ([1.0, np.datetime64("2024-01-31")], "shares"), {},
     "shares cell 2 is a date; expected a number (select the value column)"),
    ("to_vector", ([1.0, "#XA! shares and nav differ in length (3 vs 2)"], "shares"), {},
     "shares cell 2 holds an XA error (#XA! shares and nav differ in length (3 vs 2)): fix that formula first"),
    ("to_vector", ([1.0, decimal.Decimal("1.5")], "shares"), {}, "shares cell 2 is not a number (Decimal)"),
    ("to_vector", ([1.0, 1j], "shares"), {}, "shares cell 2 is not a number (complex)"),
    ("to_vector", ([1.0, dt.time(10, 0)], "shares"), {}, "shares cell 2 is not a number (time)"),
    # shapes
    ("to_vector", ([], "shares"), {}, "shares is empty; select a range with values"),
    ("to_vector", ([[1.0, 2.0], [3.0]], "shares"), {}, "shares rows differ in length (row 1 has 2, row 2 has 1)"),
    ("to_vector", ([[1.0, 2.0], [3.0, 4.0]], "shares"), {},
     "shares must be one row or one column; got 2 rows x 2 columns"),
    ("to_vector", ([[[1.0]]], "shares"), {}, "shares is nested too deeply; pass a cell range (rows x columns)"),
    ("to_vector", ([1.0, [2.0]], "shares"), {}, "shares mixes single values and rows; pass one cell range"),
    ("to_vector", ([[1.0], [(2.0,)]], "shares"), {}, "shares is nested too deeply; pass a cell range (rows x columns)"),
    ("to_vector", ({"a": 1}, "shares"), {}, "shares must be a cell range or a value"),
    ("to_vector", ([[]], "shares"), {}, "shares has an empty row; select a range with values"),
    # positions under a title, in a column, a row and (dates, values)
    ("to_vector", (["nav", 1.0, None, "x"], "nav"), {}, "nav cell 4 is text ('x'); expected a number"),
    ("to_vector", ([["nav"], [1.0], [None], ["x"]], "nav"), {}, "nav cell 4 is text ('x'); expected a number"),
    ("to_vector", ([["nav", 1.0, "#N/A", "x"]], "nav"), {}, "nav cell 4 is text ('x'); expected a number"),
    ("to_vector", ([[1.0], ["#N/A"], [True]], "nav"), {}, "nav cell 3 is TRUE/FALSE; expected a number"),
    ("to_vector", ([[D, 1.0], [D, "x"]], "nav"), {"dates": True},
     "nav row 2, column 2 is text ('x'); expected a number"),
    ("to_vector", ([["date", "nav"], [D, 1.0], [D, "x"]], "nav"), {"dates": True},
     "nav row 3, column 2 is text ('x'); expected a number"),
    ("to_vector", ([["date", "nav"], [D, 1.0], [None, 2.0]], "nav"), {"dates": True},
     "nav (date column) cell 3 is blank or an error; every row needs a date"),
    ("to_vector", ([["date", "nav"], [D, 1.0], ["soon", 2.0]], "nav"), {"dates": True},
     "nav (date column) cell 3 is text ('soon'), not a date"),
    ("to_vector", ([["date", "nav"], [D, 1.0], [True, 2.0]], "nav"), {"dates": True},
     "nav (date column) cell 3 is TRUE/FALSE; expected a date"),
    ("to_vector", ([[D, 1.0, 2.0], [D, 1.0, 2.0]], "nav"), {"dates": True},
     "nav must be one row or one column (or two columns: dates, values); got 2 rows x 3 columns"),
    ("to_vector", ([1.0, 2.0], "nav"), {"min_len": 3}, "nav needs at least 3 values (got 2)"),
    # blocks: titles and row labels shift the named row and column
    ("to_block", ([["date", "A", "B"], [D, 1.0, 2.0], [D, 3.0, "x"]], "x"), {},
     "x row 3, column 3 is text ('x'); expected a number"),
    ("to_block", ([["A", "B"], [1.0, 2.0], [3.0, True]], "x"), {},
     "x row 3, column 2 is TRUE/FALSE; expected a number"),
    ("to_block", ([[1.0, 2.0], [3.0, D]], "x"), {},
     "x row 2, column 2 is a date; expected a number (select the value column)"),
    ("to_block", ([["a", 1.0, 2.0], ["b", 3.0, "#XA! bad"]], "x"), {},
     "x row 2, column 3 holds an XA error (#XA! bad): fix that formula first"),
    ("to_block", ([[1.0, 2.0], [3.0, "2.5"]], "x"), {},
     "x row 2, column 2 is a number stored as text ('2.5'); convert it to a number"),
    ("to_block", ([1.0, "y"], "x"), {"flat_as": "column"}, "x row 2, column 1 is text ('y'); expected a number"),
    ("to_block", ([1.0, "y"], "x"), {}, "x row 1, column 2 is text ('y'); expected a number"),
    ("to_block", ([["A", "B"]], "x"), {}, "x row 1, column 2 is text ('B'); expected a number"),
    ("to_block", ([["A", "B"], ["c", "d"]], "x"), {}, "x row 2, column 2 is text ('d'); expected a number"),
    ("to_block", ([["date", "A"], [D, 1.0], [D, "zz"]], "x"), {"row_labels": False},
     "x row 2, column 1 is a date; expected a number (select the value column)"),
    ("to_block", ([[1.0, "x"], ["y", 2.0]], "x"), {}, "x row 1, column 2 is text ('x'); expected a number"),
    # dates
    ("to_dates", ([D, None], "dates"), {}, "dates cell 2 is blank or an error; every row needs a date"),
    ("to_dates", ([D, "#N/A"], "dates"), {}, "dates cell 2 is blank or an error; every row needs a date"),
    ("to_dates", ([D, "soon"], "dates"), {}, "dates cell 2 is text ('soon'), not a date"),
    ("to_dates", ([D, True], "dates"), {}, "dates cell 2 is TRUE/FALSE; expected a date"),
    ("to_dates", ([D, 0.0], "dates"), {}, "dates cell 2 is not a date (float)"),
    ("to_dates", ([D, 3e6], "dates"), {}, "dates cell 2 is not a date (float)"),
    ("to_dates", ([D, "#XA! up"], "dates"), {}, "dates cell 2 holds an XA error (#XA! up): fix that formula first"),
    ("to_dates", ([D, pd.NaT], "dates"), {}, "dates cell 2 is blank; every row needs a date"),
    ("to_dates", ([[D, D], [D, D]], "dates"), {}, "dates must be one row or one column of dates; got 2 x 2"),
    # records: codes and numbers by position
    ("to_records", ([["A", 1.0], ["B", "x"]], "etf_sizes", ["code", "size"], [1]), {},
     "etf_sizes row 2, column 2 is text ('x'); expected a number"),
    ("to_records", ([["code", "size"], ["A", 1.0], ["B", "x"]], "etf_sizes", ["code", "size"], [1]), {},
     "etf_sizes row 3, column 2 is text ('x'); expected a number"),
    ("to_records", ([["A", 1.0], [None, 2.0]], "etf_sizes", ["code", "size"], [1]), {},
     "etf_sizes row 2, column 1 is blank or an error; every row needs a code"),
    ("to_records", ([["A", 1.0], [True, 2.0]], "etf_sizes", ["code", "size"], [1]), {},
     "etf_sizes row 2, column 1 is TRUE/FALSE; expected a code or name"),
    ("to_records", ([["A", 1.0], [D, 2.0]], "etf_sizes", ["code", "size"], [1]), {},
     "etf_sizes row 2, column 1 is a date; expected a code or name (select the value column)"),
    ("to_records", ([["A", 1.0], [math.inf, 2.0]], "etf_sizes", ["code", "size"], [1]), {},
     "etf_sizes row 2, column 1 is not a code"),
    ("to_records", ([["A", 1.0], ["#XA! up", 2.0]], "etf_sizes", ["code", "size"], [1]), {},
     "etf_sizes row 2, column 1 is blank or an error; every row needs a code"),
    ("to_records", ([["A"], ["B"]], "etf_sizes", ["code", "size"], [1]), {},
     "etf_sizes needs 2 columns (code, size); got 1"),
    ("to_records", (["A", "B"], "etf_sizes", ["code", "size", "x"], [1]), {},
     "etf_sizes needs 3 columns (code, size, x); got one column"),
    ("to_records", ([[None, None], [None, None]], "etf_sizes", ["code", "size"], [1]), {}, "etf_sizes is blank"),
    ("to_labels", ([["A", "B"], ["C", "D"]], "codes"), {}, "codes must be one row or one column of codes; got 2 x 2"),
    ("to_labels", (["A", None], "codes"), {}, "codes cell 2 is blank or an error; every row needs a code"),
    # scalar parameters
    ("opt_int", (2.5, "w", 20), {}, "w must be a whole number (got 2.5)"),
    ("opt_int", ("x", "w", 20), {}, "w is text ('x'); expected a number"),
    ("opt_int", ("1.5", "w", 20), {}, "w is a number stored as text ('1.5'); convert it to a number"),
    ("opt_int", (True, "w", 20), {}, "w is TRUE/FALSE; expected a number"),
    ("opt_int", (D, "w", 20), {}, "w is a date; expected a number (select the value column)"),
    ("opt_int", ("#N/A", "w", 20), {}, "w is an error (#N/A); enter a number or leave it out"),
    ("opt_int", ("#XA! up", "w", 20), {}, "w is an error (#XA! up); enter a number or leave it out"),
    ("opt_int", ([1, 2], "w", 20), {}, "w must be a single cell, not a range of 2"),
    ("opt_float", (math.inf, "w", 1.0), {}, "w must be a finite number"),
    ("opt_float", (-1.0, "w", 1.0), {"lo": 0.0, "lo_open": True}, "w must be > 0 (got -1)"),
    ("opt_bool", ("maybe", "h"), {}, "h must be TRUE or FALSE (got maybe)"),
    ("opt_bool", (2.0, "h"), {}, "h must be TRUE or FALSE (got 2.0)"),
    ("opt_choice", ("x", "mode", "every", ("every", "first")), {}, "mode must be one of every, first (got x)"),
    ("opt_choice", (3.0, "mode", "every", ("every", "first")), {}, "mode must be one of every, first (got 3.0)"),
    ("opt_numbers", ([[0.3], ["x"]], "thresholds", None), {}, "thresholds value 2 is text ('x'); expected a number"),
    ("opt_numbers", ([[2.5]], "horizons", None), {"whole": True}, "horizons value 1 must be a whole number (got 2.5)"),
    ("opt_numbers", ([[0.3], [5.0]], "thresholds", None), {"hi": 1.0}, "thresholds value 2 must be <= 1 (got 5)"),
]


@pytest.mark.parametrize("func, args, kwargs, message", PINNED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PINNED)])
def test_bad_cell_messages_are_pinned(func, args, kwargs, message):
    with pytest.raises(ValueError) as exc:
        getattr(C, func)(*args, **kwargs)
    assert str(exc.value) == message


def test_first_offending_cell_is_named_whatever_its_kind():
    """Several bad cells: the first in reading order (row by row) is named, even when a later one is
    of a kind checked 'earlier' (text before a boolean before a date)."""
    rows = [[1.0, 2.0, 3.0], [4.0, D, "abc"], [True, "#XA! x", 9.0]]
    with pytest.raises(ValueError, match=r"^x row 2, column 2 is a date"):
        C.to_block(rows, "x")
    rows[1][1] = 5.0
    with pytest.raises(ValueError, match=r"^x row 2, column 3 is text \('abc'\)"):
        C.to_block(rows, "x")
    col = [[1.0]] * 5000 + [["#N/A"]] * 10 + [[False]] + [["x"]]
    with pytest.raises(ValueError, match=r"^v cell 5011 is TRUE/FALSE"):
        C.to_vector(col, "v")


def test_missing_cells_become_nan_and_numbers_of_every_python_type_are_read():
    cells = [1, 2.5, np.float32(0.5), np.int64(7), None, "", "  ", "#N/A", " #div/0! ", "#N/A WAITING...", math.nan,
             math.inf, -math.inf, 10 ** 30]
    v = C.to_vector(cells, "v").values
    assert v.dtype == float and v.shape == (len(cells),)
    np.testing.assert_array_equal(v[:4], [1.0, 2.5, 0.5, 7.0])
    assert np.isnan(v[4:13]).all() and v[13] == 1e30


# --------------------------------------------------------------------------- bulk == per-cell reference
CELLS = st.one_of(
    st.none(), st.just(""), st.just(" "),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e6, 1e6), st.integers(-10 ** 20, 10 ** 20),
    st.sampled_from(["#N/A", "#DIV/0!", " #value! ", "#XA! upstream", "1.5", "1,234", "abc", "TRUE", "nav",
                     "2024-01-31", "2024/01/31", "中文", "#SPILL!", "date"]),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 12, 31)),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31)),
    st.sampled_from([np.float64(2.5), np.int32(3), np.bool_(True), pd.Timestamp("2024-02-01"),
                     np.datetime64("2024-02-02"), decimal.Decimal("1"), 45322.0, 0.0, 3e6, pd.NaT]),
)
# mostly-numeric cells, so that ranges often convert and the values are compared too
NUMERIC = st.one_of(st.floats(-1e9, 1e9), st.none(), st.just("#N/A"))


@st.composite
def ranges(draw):
    kind = draw(st.sampled_from(["flat", "column", "block", "dated"]))
    n = draw(st.integers(1, 12))
    cell = st.one_of(NUMERIC, NUMERIC, CELLS)
    if kind == "flat":
        return draw(st.lists(cell, min_size=n, max_size=n))
    width = {"column": 1, "dated": 2}.get(kind) or draw(st.integers(1, 4))
    rows = [draw(st.lists(cell, min_size=width, max_size=width)) for _ in range(n)]
    if kind == "dated":
        for r in rows:
            r[0] = draw(st.one_of(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1)),
                                  CELLS))
    if draw(st.booleans()):  # a title row
        rows.insert(0, draw(st.lists(st.sampled_from(["date", "nav", "A", "", None, "x1"]), min_size=width,
                                     max_size=width)))
    return rows


def _outcome(func, *args, **kwargs):
    try:
        return "ok", func(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - compared between the two implementations
        return "error", f"{type(exc).__name__}: {exc}"


def _same(a, b) -> None:
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)  # NaN == NaN here
    elif isinstance(a, pd.Index):
        assert a.equals(b) and a.dtype == b.dtype, (a, b)
    elif isinstance(a, pd.DataFrame):  # codes may be held as object or str: the same Python strings
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        assert [a[c].dtype.kind == "f" for c in a] == [b[c].dtype.kind == "f" for c in b]
    elif isinstance(a, list):
        assert len(a) == len(b) and all(x is y or x == y or (x != x and y != y) for x, y in zip(a, b)), (a, b)
    else:
        assert a == b, (a, b)


@pytest.mark.slow  # hundreds of generated ranges against the per-cell reference
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=ranges(), dates=st.booleans())
def test_to_vector_equals_the_per_cell_reference(x, dates):
    new, old = _outcome(C.to_vector, x, "v", dates=dates), _outcome(R.to_vector, x, "v", dates=dates)
    assert new[0] == old[0], (new, old)
    if new[0] == "error":
        assert new[1] == old[1]
        return
    for field in ("values", "title", "dates"):
        a, b = getattr(new[1], field), getattr(old[1], field)
        assert (a is None) == (b is None)
        if a is not None:
            _same(a, b)


@pytest.mark.slow  # hundreds of generated ranges against the per-cell reference
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=ranges(), flat_as=st.sampled_from(["row", "column"]), labels=st.booleans())
def test_to_block_equals_the_per_cell_reference(x, flat_as, labels):
    new = _outcome(C.to_block, x, "b", flat_as=flat_as, row_labels=labels)
    old = _outcome(R.to_block, x, "b", flat_as=flat_as, row_labels=labels)
    assert new[0] == old[0], (new, old)
    if new[0] == "error":
        assert new[1] == old[1]
        return
    _same(new[1].values, old[1].values)
    assert new[1].columns == old[1].columns and new[1].title_row == old[1].title_row
    assert (new[1].row_labels is None) == (old[1].row_labels is None)
    if new[1].row_labels is not None:
        _same(list(new[1].row_labels), list(old[1].row_labels))


@pytest.mark.slow  # hundreds of generated ranges against the per-cell reference
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=st.lists(st.one_of(CELLS, st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)),
                            st.floats(1, 2958465)), min_size=1, max_size=10), offset=st.integers(0, 2))
def test_to_dates_equals_the_per_cell_reference(x, offset):
    new, old = _outcome(C.to_dates, x, "d", offset=offset), _outcome(R.to_dates, x, "d", offset=offset)
    assert new[0] == old[0], (new, old)
    if new[0] == "error":
        assert new[1] == old[1]
    else:
        _same(new[1], old[1])


@pytest.mark.slow  # hundreds of generated ranges against the per-cell reference
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=ranges(), width=st.integers(1, 3), numeric=st.sets(st.integers(0, 2)))
def test_to_records_equals_the_per_cell_reference(x, width, numeric):
    columns = ["code", "stock", "weight"][:width]
    new = _outcome(C.to_records, x, "t", columns, sorted(numeric), ["name"])
    old = _outcome(R.to_records, x, "t", columns, sorted(numeric), ["name"])
    assert new[0] == old[0], (new, old)
    if new[0] == "error":
        assert new[1] == old[1]
    else:
        _same(new[1], old[1])
