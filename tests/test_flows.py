"""M1: ETF daily net flow, split-safe, explicit missing-NAV policy; aggregation by group."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xladdin.data.market import Market
from xladdin.methods.flows import (
    aggregate_flows,
    etf_flows,
    flow_coverage,
    flows_by_category,
    flows_by_index,
    index_flow,
    market_etf_flows,
)

D = pd.to_datetime(["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-07", "2021-01-08"])


def frame(**cols):
    return pd.DataFrame(cols, index=D[: len(next(iter(cols.values())))], dtype=float)


def test_hand_computed_flows():
    shares = frame(A=[100, 110, 105, 105, 120])
    nav = frame(A=[2.0, 2.5, 3.0, 1.0, 4.0])
    out = etf_flows(shares, nav)["A"]
    assert np.isnan(out.iloc[0])                      # first day of an ETF: no previous shares
    assert out.iloc[1:].tolist() == [25.0, -15.0, 0.0, 60.0]   # (110-100)*2.5, (105-110)*3, 0, 15*4


def test_flow_uses_same_day_nav_not_price_move():
    shares = frame(A=[100, 100, 120])
    out_a = etf_flows(shares, frame(A=[1.0, 5.0, 2.0]))["A"]
    out_b = etf_flows(shares, frame(A=[9.0, 0.1, 2.0]))["A"]
    assert out_a.iloc[2] == out_b.iloc[2] == 40.0


def test_split_day_zero_and_adjusted():
    # 2-for-1 split on day 3; 10 new units created the same day (post-split units)
    shares = frame(A=[100, 100, 210, 220])
    nav = frame(A=[4.0, 4.0, 2.0, 2.0])
    ratio = frame(A=[1, 1, 2, 1])
    zero = etf_flows(shares, nav, ratio)["A"]
    assert zero.iloc[2] == 0.0                        # the spec's rule
    assert zero.iloc[3] == (220 - 210) * 2.0          # compared after the split
    adj = etf_flows(shares, nav, ratio, split_day="adjusted")["A"]
    assert adj.iloc[2] == (210 - 100 * 2) * 2.0       # same-day creation kept
    assert adj.iloc[3] == 20.0
    # without split_ratio the split would look like a huge creation
    naive = etf_flows(shares, nav)["A"]
    assert naive.iloc[2] == 220.0


def test_split_day_zero_even_when_nav_missing():
    shares = frame(A=[100, 200, 200])
    nav = frame(A=[2.0, np.nan, 1.0])
    ratio = frame(A=[1, 2, 1])
    out = etf_flows(shares, nav, ratio, missing_nav="raise")["A"]
    assert out.iloc[1] == 0.0


def test_missing_nav_policies():
    shares = frame(A=[100, 110, 120, 130], B=[50, 50, 60, 70])
    nav = frame(A=[1.0, np.nan, 3.0, 4.0], B=[1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"missing on 1 .*A on 2021-01-05.*missing_nav="):
        etf_flows(shares, nav)
    nan = etf_flows(shares, nav, missing_nav="nan")
    assert np.isnan(nan.loc[D[1], "A"]) and nan.loc[D[2], "A"] == 30.0
    assert nan.loc[D[2], "B"] == 10.0
    prev = etf_flows(shares, nav, missing_nav="previous")
    assert prev.loc[D[1], "A"] == 10 * 1.0            # last known NAV (day 1)
    assert not prev.isna().iloc[1:].to_numpy().any()


def test_missing_nav_previous_is_split_consistent_and_limited():
    shares = frame(A=[100, 100, 200, 210, 220])
    nav = frame(A=[4.0, 4.0, np.nan, np.nan, np.nan])
    ratio = frame(A=[1, 1, 2, 1, 1])
    out = etf_flows(shares, nav, ratio, missing_nav="previous")["A"]
    assert out.iloc[3] == 10 * 2.0                    # 4.0 before a 2:1 split is 2.0 after
    lim = etf_flows(shares, nav, ratio, missing_nav="previous", nav_fill_limit=2)["A"]
    assert lim.iloc[3] == 20.0 and np.isnan(lim.iloc[4])


def test_gap_in_shares_gives_nan_not_multi_day_flow():
    shares = frame(A=[100, np.nan, 130, 140])
    out = etf_flows(shares, frame(A=[1.0] * 4))["A"]
    assert np.isnan(out.iloc[1]) and np.isnan(out.iloc[2]) and out.iloc[3] == 10.0


def test_bad_inputs_raise_with_fix():
    shares = frame(A=[100, 110])
    with pytest.raises(ValueError, match="nav has no column"):
        etf_flows(shares, frame(B=[1.0, 1.0]))
    with pytest.raises(ValueError, match="missing_nav must be"):
        etf_flows(shares, frame(A=[1.0, 1.0]), missing_nav="zero")
    with pytest.raises(ValueError, match="split_day must be"):
        etf_flows(shares, frame(A=[1.0, 1.0]), split_day="skip")
    with pytest.raises(ValueError, match="ascending"):
        etf_flows(shares.iloc[::-1], frame(A=[1.0, 1.0]))


def test_aggregate_skip_vs_require_all():
    flows = pd.DataFrame({"A": [np.nan, 1.0, 2.0, np.nan], "B": [np.nan, np.nan, 3.0, 4.0], "C": [5.0, 6.0, 7.0, 8.0]},
                         index=D[:4])
    groups = pd.Series({"A": "idx1", "B": "idx1", "C": "idx2", "Z": None}, name="tracked_index")
    skip = aggregate_flows(flows, groups)
    assert list(skip.columns) == ["idx1", "idx2"]
    assert np.isnan(skip["idx1"].iloc[0])             # no member has a flow: NaN, not 0
    assert skip["idx1"].tolist()[1:] == [1.0, 5.0, 4.0]
    strict = aggregate_flows(flows, groups, require_all=True)
    assert strict["idx1"].isna().tolist() == [True, True, False, True]
    assert strict["idx1"].iloc[2] == 5.0 and strict["idx2"].tolist() == [5.0, 6.0, 7.0, 8.0]
    cov = flow_coverage(flows, groups)
    assert cov["idx1"].tolist() == [0, 1, 2, 1]
    with pytest.raises(ValueError, match="no flow column"):
        aggregate_flows(flows, pd.Series({"A": "x", "Q": "x"}))


def _toy_market() -> Market:
    rows = []
    data = {"E1": ([100, 110, 120], [1.0, 1.0, 1.0]), "E2": ([10, 20, 20], [2.0, 2.0, np.nan]),
            "E3": ([5, 5, 6], [3.0, 3.0, 3.0])}
    for etf, (sh, nv) in data.items():
        for d, s, n in zip(D[:3], sh, nv):
            rows.append({"date": d, "etf": etf, "shares": s, "nav": n, "close": n, "split_ratio": 1.0})
    info = pd.DataFrame({"etf": ["E1", "E2", "E3"], "name": ["a", "b", "c"],
                         "tracked_index": ["I1", "I1", "I2"], "category": ["broad", "broad", "sector_theme"],
                         "list_date": pd.to_datetime(["2020-01-01"] * 3)})
    return Market({"etf_daily": pd.DataFrame(rows), "etf_info": info}, source="toy")


def test_market_wrappers():
    m = _toy_market()
    by_idx = flows_by_index(m)
    assert by_idx.loc[D[1], "I1"] == 10 + 20 and by_idx.loc[D[2], "I1"] == 10   # E2 NAV missing -> skipped
    assert np.isnan(flows_by_index(m, require_all=True).loc[D[2], "I1"])
    assert by_idx.loc[D[2], "I2"] == 3.0
    by_cat = flows_by_category(m)
    assert by_cat.loc[D[1], "broad"] == 30 and by_cat.loc[D[2], "sector_theme"] == 3.0
    s = index_flow(m, "I1")
    assert s.name == "flow" and s.loc[D[1]] == 30
    with pytest.raises(ValueError, match="missing on 1"):
        market_etf_flows(m, missing_nav="raise")
    with pytest.raises(ValueError, match="no ETF with etf_daily rows tracks `I9`"):
        index_flow(m, "I9")


def test_real_data_split_and_flows(real_market):
    flows = market_etf_flows(real_market, split_day="zero")
    assert flows.loc["2024-09-20", "510310.SH"] == 0.0       # consolidation day
    adj = market_etf_flows(real_market, split_day="adjusted")
    # the README's same-day creation: 623.472440e8 - 1218.643074e8 * 0.49977589 units at NAV 3.1994
    expected = (623.472440e8 - 1218.643074e8 * 0.49977589) * 3.1994
    assert adj.loc["2024-09-20", "510310.SH"] == pytest.approx(expected, rel=1e-5)
    assert flows.loc["2019-01-11", "159919.SZ"] == 0.0
    assert np.isnan(flows.loc["2016-08-03", "159919.SZ"])    # first official SZSE row


def test_missing_nav_flows_names_the_days_left_out_and_values_them_at_the_last_nav():
    """Hand-computed: days whose shares (and the day before's) are known but whose NAV is missing; the estimate
    is the share change at the last known NAV, split-consistent (a NAV before a 2:1 split counts half)."""
    from xladdin.methods.flows import missing_nav_flows
    idx = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"])
    nan = np.nan
    shares = pd.DataFrame({"A": [100, 110, 120, 115], "B": [50, 50, 60, 60], "C": [nan, nan, 10, 12],
                           "D": [100, 100, 200, 200], "E": [100, 100, 200, 210]}, idx, dtype=float)
    nav = pd.DataFrame({"A": [2, 2.2, nan, nan], "B": [1, 1, 1, 1], "C": [nan] * 4, "D": [2, 2, nan, 1],
                        "E": [2, 2, nan, nan]}, idx, dtype=float)
    ratio = pd.DataFrame({"A": [1.0] * 4, "B": [1.0] * 4, "C": [1.0] * 4, "D": [1, 1, 2, 1], "E": [1, 1, 2, 1]}, idx,
                         dtype=float)
    got = missing_nav_flows(shares, nav, ratio, start="2024-01-03", end="2024-01-04")
    # A: (120-110)*2.2 + (115-120)*2.2 = 11; C: 01-04 only (01-03 has no row before), no NAV ever: unknown;
    # D: the split day's flow is 0 whatever its NAV; E: 01-03 is the split day (0), 01-04: (210-200) * 2/2 = 10
    assert list(got.index) == ["A", "C", "E"]
    assert got["days"].tolist() == [2, 1, 1]
    assert got.loc["A", "estimate"] == pytest.approx(11.0) and np.isnan(got.loc["C", "estimate"])
    assert got.loc["E", "estimate"] == pytest.approx(10.0)
    # the window: only 01-02 .. 01-02 -> nothing left out there
    assert missing_nav_flows(shares, nav, ratio, start="2024-01-02", end="2024-01-02").empty
    # the caller's own "nan" flows give the same answer
    same = missing_nav_flows(shares, nav, ratio, "2024-01-03", "2024-01-04",
                             flows=etf_flows(shares, nav, ratio, missing_nav="nan"))
    pd.testing.assert_frame_equal(same, got)
