"""M7 quantile groups: sizes, ties, missing values, frames, cross-check with pandas.qcut."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from xladdin.methods.grouping import assign_groups, group_members, group_table

CODES = [f"CI0050{i:02d}.WI" for i in range(1, 31)]


def test_thirty_industries_six_per_group_ordered():
    vals = pd.Series(np.random.default_rng(0).normal(size=30), index=CODES)
    g = assign_groups(vals)
    assert g.dtype == "Int64"
    assert g.value_counts().sort_index().tolist() == [6] * 5
    order = vals.sort_values().index
    assert g[order].tolist() == sum([[k] * 6 for k in range(1, 6)], [])


def test_matches_qcut_on_distinct_values():
    vals = pd.Series(np.random.default_rng(1).normal(size=30), index=CODES)
    expected = pd.qcut(vals, 5, labels=False) + 1
    assert (assign_groups(vals).astype(int) == expected).all()


def test_ties_by_code_and_missing_get_no_group():
    vals = pd.Series([1.0, 1.0, 1.0, np.nan, 2.0], index=["e", "d", "c", "b", "a"])
    g = assign_groups(vals)
    # ranks: c=1, d=2, e=3, a=4 among n=4 -> ceil(k*5/4)
    assert g.tolist()[:3] == [4, 3, 2]
    assert g["a"] == 5
    assert g.isna()["b"]
    assert list(g.index) == ["e", "d", "c", "b", "a"]


def test_uneven_counts_rule():
    for n, sizes in [(31, [6, 6, 6, 6, 7]), (7, [1, 1, 2, 1, 2]), (29, [5, 6, 6, 6, 6])]:
        vals = pd.Series(np.arange(n, dtype=float), index=[f"c{i:03d}" for i in range(n)])
        g = assign_groups(vals)
        assert g.value_counts().reindex(range(1, 6), fill_value=0).tolist() == sizes
    assert assign_groups(pd.Series([3.0, 1.0, 2.0]), 5).tolist() == [5, 2, 4]
    assert assign_groups(pd.Series([3.0, 1.0, 2.0, 0.5]), 2).tolist() == [2, 1, 2, 1]


def test_frame_rowwise_and_all_nan_row():
    rng = np.random.default_rng(2)
    df = pd.DataFrame(rng.normal(size=(4, 30)), index=pd.date_range("2024-01-31", periods=4, freq="ME"), columns=CODES)
    df.iloc[1, :5] = np.nan
    df.iloc[3, :] = np.nan
    g = assign_groups(df)
    assert g.shape == df.shape and (g.dtypes == "Int64").all()
    for i in range(3):
        pd.testing.assert_series_equal(g.iloc[i], assign_groups(df.iloc[i]), check_names=False)
    assert g.iloc[3].isna().all()
    assert g.iloc[1, :5].isna().all() and g.iloc[1].notna().sum() == 25


def test_column_order_does_not_matter():
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.integers(0, 3, size=(5, 12)).astype(float), columns=[f"k{i:02d}" for i in range(12)])
    shuffled = df[list(reversed(df.columns))]
    pd.testing.assert_frame_equal(assign_groups(df), assign_groups(shuffled)[df.columns])


def test_group_table_layout():
    df = pd.DataFrame([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], index=pd.to_datetime(["2025-01-31", "2025-02-28"]),
                      columns=["A", "B", "C"])
    t = group_table(df, groups=3, names=pd.Series({"A": "甲", "B": "乙", "C": "丙"}))
    assert list(t.columns) == ["name", "2025-01", "2025-02"]
    assert t.loc["A", "2025-01"] == 1 and t.loc["A", "2025-02"] == 3 and t.loc["C", "name"] == "丙"
    assert group_members(assign_groups(df, 3), 3).loc[pd.Timestamp("2025-01-31")].tolist() == [False, False, True]


def test_bad_groups():
    with pytest.raises(ValueError, match="positive integer"):
        assign_groups(pd.Series([1.0]), 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=1, max_size=40), st.integers(1, 7))
def test_properties(values, groups):
    vals = pd.Series([np.nan if v is None else float(v) for v in values], index=[f"s{i:02d}" for i in range(len(values))])
    g = assign_groups(vals, groups)
    valid = vals.notna()
    assert g[~valid].isna().all()
    if valid.sum() == 1 or valid.sum() >= 2 and vals[valid].nunique() == 1:
        assert g.isna().all()  # nothing to sort (one value, or no spread): no groups (spec "Timing, costs and ties")
        return
    gv = g[valid].astype(int)
    if valid.sum() == 0:
        return
    assert gv.min() >= 1 and gv.max() == groups
    # monotone: a higher value never gets a lower group
    v = vals[valid]
    order = sorted(v.index, key=lambda c: (v[c], c))
    assert list(gv[order]) == sorted(gv[order])
    if valid.sum() >= groups:
        counts = gv.value_counts().reindex(range(1, groups + 1), fill_value=0)
        assert counts.max() - counts.min() <= 1
