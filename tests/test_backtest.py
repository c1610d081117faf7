"""The one backtest engine (xladdin.methods.backtest): hand-computed cases, a separately written day-by-day
simulation in units of assets, the look-ahead trap, weight checks, and XA_BACKTEST."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from xladdin.methods import backtest as bt, strategy as st

IDX = pd.bdate_range("2024-01-01", periods=6)
# closes -> returns: A 1, 1.1, 1.21, 1.1, 1.0, 1.2 ; B 1, 1, 1, 2, 2, 2.2
CLOSE = pd.DataFrame({"A": [1, 1.1, 1.21, 1.1, 1.0, 1.2], "B": [1, 1, 1, 2, 2, 2.2]}, index=IDX, dtype=float)
RET = CLOSE / CLOSE.shift(1) - 1


def test_hand_computed_lag_one_with_cost():
    """Decide 50/50 on day 0 and 100% A on day 2; trade one day later at the close; 1% one-way."""
    w = pd.DataFrame({"A": [0.5, 1.0], "B": [0.5, 0.0]}, index=IDX[[0, 2]])
    r = bt.backtest_weights(w, RET, cost=0.01, lag=1)
    # base: day 0 (NAV 1, cash); trade 1 on day 1 at A=1.1, B=1: turnover 1, NAV 0.99 after cost
    # day 2: 0.99 * (0.5*1.21/1.1 + 0.5*1) = 0.99 * 1.05
    # day 3 (trade 2 at A=1.1, B=2): pre = 0.99*(0.5*1.1/1.1 + 0.5*2) = 0.99*1.5
    #   drifted A = 0.5/1.5 = 1/3 -> turnover |1-1/3| + |0-2/3| = 4/3, NAV = 0.99*1.5*(1 - 0.01*4/3)
    # day 4: A 1.0/1.1, day 5: A 1.2/1.1
    post = 0.99 * 1.5 * (1 - 0.04 / 3)
    expected = [1.0, 0.99, 0.99 * 1.05, post, post * 1.0 / 1.1, post * 1.2 / 1.1]
    assert r.nav.index.equals(IDX)
    assert r.nav.to_numpy() == pytest.approx(expected, rel=1e-13)
    gross = [1.0, 1.0, 1.05, 1.5, 1.5 / 1.1, 1.5 * 1.2 / 1.1]
    assert r.nav_gross.to_numpy() == pytest.approx(gross, rel=1e-13)
    assert r.trades["trade_date"].tolist() == [IDX[1], IDX[3]]
    assert r.trades["period_end"].tolist() == [IDX[3], IDX[5]]
    assert r.trades["turnover"].to_numpy() == pytest.approx([1.0, 4 / 3])
    assert r.trades["cost"].to_numpy() == pytest.approx([0.01, 0.04 / 3])
    assert r.period_returns.loc[IDX[0], "A"] == pytest.approx(0.0)          # 1.1 -> 1.1
    assert r.period_returns.loc[IDX[0], "B"] == pytest.approx(1.0)          # 1 -> 2
    assert np.isnan(r.period_returns.loc[IDX[2], "B"])
    assert r.turnover_annual() == pytest.approx((1 + 4 / 3) * 252 / 5)
    assert r.turnover_per_rebalance() == pytest.approx(4 / 3)
    assert r.lag == 1 and r.cost_rate == 0.01


def test_lag_zero_trades_at_the_decision_close_and_cash_rows():
    w = pd.DataFrame({"A": [1.0, 0.0, np.nan], "B": [0.0, 0.0, np.nan]}, index=IDX[[1, 2, 3]])
    r = bt.backtest_weights(w, RET, cost=0.0, lag=0)
    # base day 0; trade at day 1 into A; day 2 A: 1.21/1.1; decision day 2 = cash (sold at day 2's close)
    assert r.nav.to_numpy() == pytest.approx([1.0, 1.0, 1.1, 1.1, 1.1, 1.1])
    assert len(r.trades) == 2  # the all-NaN row is no decision
    assert r.trades["turnover"].tolist() == pytest.approx([1.0, 1.0])


def _naive_units(weights: pd.DataFrame, prices: pd.DataFrame, cost: float, lag: int) -> pd.Series:
    """Independent simulation in units: each day in order, trade at the close when due, else hold units."""
    days = list(prices.index)
    due = {}
    for d, row in weights.iterrows():
        if row.notna().any():
            i = days.index(d) + lag
            if i < len(days) - 1:
                due[i] = row.fillna(0.0)
    first = min(due)
    units = {c: 0.0 for c in prices.columns}
    cash = 1.0
    out = {days[first - 1]: 1.0}
    for i in range(first, len(days)):
        px = prices.iloc[i]
        value = cash + sum(units[c] * px[c] for c in units if units[c])
        if i in due:
            target = due[i]
            held = {c: (units[c] * px[c] / value if units[c] else 0.0) for c in units}
            traded = sum(abs(target.get(c, 0.0) - held[c]) for c in units)
            value = value * (1 - cost * traded)
            units = {c: target.get(c, 0.0) * value / px[c] if target.get(c, 0.0) > 0 else 0.0 for c in units}
            cash = value * (1 - float(target.sum()))
        out[days[i]] = cash + sum(units[c] * px[c] for c in units if units[c])
    return pd.Series(out)


@pytest.mark.parametrize("lag, cost", [(0, 0.0), (1, 0.001), (2, 0.003), (1, 0.0)])
def test_engine_equals_a_naive_day_by_day_simulation(lag, cost):
    rng = np.random.default_rng(lag * 10 + int(cost * 1e4))
    days = pd.bdate_range("2021-01-04", periods=160)
    px = pd.DataFrame(np.cumprod(1 + rng.normal(0.0003, 0.015, (160, 5)), axis=0), index=days,
                      columns=list("VWXYZ"))
    px.iloc[:30, 4] = np.nan  # Z lists on day 30
    dec = days[5::9]
    raw = rng.random((len(dec), 5)) * (rng.random((len(dec), 5)) < 0.6)
    raw[:, 4] = np.where(px["Z"].reindex(dec).notna(), raw[:, 4], 0.0)
    raw[3] = 0.0                      # all cash
    w = pd.DataFrame(raw, index=dec, columns=px.columns)
    w = w.div(w.sum(axis=1).replace(0, 1), axis=0)
    w.iloc[6] = np.nan                # no decision
    res = bt.backtest_weights(w, bt.returns_from_prices(px), cost=cost, lag=lag)
    naive = _naive_units(w, px, cost, lag)
    assert res.nav.index.equals(naive.index)
    np.testing.assert_allclose(res.nav.to_numpy(), naive.to_numpy(), rtol=1e-11)
    if cost == 0:
        np.testing.assert_allclose(res.nav_gross.to_numpy(), naive.to_numpy(), rtol=1e-11)


def test_look_ahead_trap():
    """A factor dated t that knows the return earned after t's close: a fortune at lag 0, noise at lag 1."""
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2015-01-05", periods=750)
    r = pd.DataFrame(rng.normal(0, 0.01, (750, 20)), index=days, columns=[f"I{i:02d}" for i in range(20)])
    close = (1 + r).cumprod()
    factor = r.shift(-1).iloc[1:]  # on day t: the return from t's close to t+1's close (from day 1: a base day)
    lag0 = st.quintile_backtest(factor, close, groups=5, cost=0.0, lag=0)["table"]
    lag1 = st.quintile_backtest(factor, close, groups=5, cost=0.0, lag=1)["table"]
    spread0 = lag0.loc["G5", "annual_return"] - lag0.loc["G1", "annual_return"]
    spread1 = lag1.loc["G5", "annual_return"] - lag1.loc["G1", "annual_return"]
    # top fifth of 20 N(0, 1%) draws averages ~+1.4% a day: thousands of percent a year at lag 0
    assert spread0 > 10.0
    # at lag 1 the same decisions earn an independent day: daily G5-G1 std ~0.45%, 3 years -> |annual| < 15%
    assert abs(spread1) < 0.15
    assert abs(lag1.loc["G5", "excess_return"]) < 0.1


def test_weights_are_checked():
    with pytest.raises(ValueError, match="sum to 0.500000"):
        bt.backtest_weights(pd.DataFrame({"A": [0.5]}, index=IDX[:1]), RET)
    with pytest.raises(ValueError, match="negative"):
        bt.backtest_weights(pd.DataFrame({"A": [1.5], "B": [-0.5]}, index=IDX[:1]), RET)
    with pytest.raises(ValueError, match="not a trading date"):
        bt.backtest_weights(pd.DataFrame({"A": [1.0]}, index=pd.to_datetime(["2024-01-06"])), RET)
    with pytest.raises(ValueError, match="C, which have no returns"):
        bt.backtest_weights(pd.DataFrame({"C": [1.0]}, index=IDX[:1]), RET)
    gap = RET.copy()
    gap.loc[IDX[3], "B"] = np.nan
    with pytest.raises(ValueError, match="B is held from 2024-01-02 but has no return on 2024-01-04"):
        bt.backtest_weights(pd.DataFrame({"B": [1.0]}, index=IDX[:1]), gap)
    with pytest.raises(ValueError, match="first date of the returns"):
        bt.backtest_weights(pd.DataFrame({"A": [1.0]}, index=IDX[:1]), RET, lag=0)
    with pytest.raises(ValueError, match="lag"):
        bt.backtest_weights(pd.DataFrame({"A": [1.0]}, index=IDX[:1]), RET, lag=-1)
    with pytest.raises(ValueError, match="cost"):
        bt.backtest_weights(pd.DataFrame({"A": [1.0]}, index=IDX[:1]), RET, cost=-0.01)
    with pytest.raises(ValueError, match="below −100%"):
        bt.backtest_weights(pd.DataFrame({"A": [1.0]}, index=IDX[:1]), RET.fillna(0) - 2)
    # a decision whose trade falls on the last date holds nothing: reported, not traded
    r = bt.backtest_weights(pd.DataFrame({"A": [1.0, 1.0]}, index=IDX[[0, 4]]), RET)
    assert list(r.unexecuted) == [IDX[4]] and len(r.trades) == 1


def test_summary_gross_and_net_against_direct_formulas():
    w = pd.DataFrame({"A": [0.5, 1.0], "B": [0.5, 0.0]}, index=IDX[[0, 2]])
    r = bt.backtest_weights(w, RET, cost=0.01, lag=1)
    bench = pd.Series([1.0, 1.0, 1.02, 1.03, 1.01, 1.05], index=IDX)
    s = bt.backtest_summary(r, bench)
    n = 5
    assert s["annual_return_net"] == pytest.approx((r.nav.iloc[-1] / r.nav.iloc[0]) ** (252 / n) - 1)
    assert s["annual_return_gross"] == pytest.approx((1.5 * 1.2 / 1.1) ** (252 / n) - 1)
    rel = (r.nav.iloc[-1] / 1.05)
    assert s["excess_net"] == pytest.approx(rel ** (252 / n) - 1)
    assert s["lag_days"] == 1 and s["cost"] == 0.01 and s["start"] == "2024-01-01" and s["end"] == "2024-01-08"
    assert s["turnover_annual"] == pytest.approx((1 + 4 / 3) * 252 / n)


# ------------------------------------------------------------------------------- XA_BACKTEST
def test_xa_backtest_hand_case_and_layout():
    import xladdin_udfs.strategy as U
    days = [d.to_pydatetime() for d in IDX]
    returns = [["date", "A", "B"]] + [[d, None if np.isnan(a) else a, None if np.isnan(b) else b]
                                      for d, a, b in zip(days, RET["A"], RET["B"])]
    weights = [["date", "A", "B"], [days[0], 0.5, 0.5], [days[2], 1.0, None]]
    out = U.XA_BACKTEST(weights, returns, 0.01, 1)
    assert out[0] == ["date", "nav", "nav_gross", "turnover", "cost"]
    assert [r[0] for r in out[1:]] == days
    post = 0.99 * 1.5 * (1 - 0.04 / 3)
    assert [r[1] for r in out[1:]] == pytest.approx([1.0, 0.99, 0.99 * 1.05, post, post / 1.1, post * 1.2 / 1.1])
    assert [r[3] for r in out[1:]] == [None, 1.0, None, pytest.approx(4 / 3), None, None]
    assert out[2][4] == pytest.approx(0.01)
    # same call without dates: one weights row per returns row, blank row = no rebalance
    plain_r = [[a if a == a else None, b if b == b else None] for a, b in zip(RET["A"], RET["B"])]
    plain_w = [[0.5, 0.5], [None, None], [1.0, 0.0], [None, None], [None, None], [None, None]]
    out2 = U.XA_BACKTEST(plain_w, plain_r, 0.01, 1)
    assert out2[0][0] == "row" and [r[1] for r in out2[1:]] == pytest.approx([r[1] for r in out[1:]])
    # defaults: cost 0.1%, lag 1
    out3 = U.XA_BACKTEST(weights, returns)
    assert out3[2][4] == pytest.approx(0.001)


@pytest.mark.parametrize("weights, returns, msg", [
    ([[0.5, 0.4]], [[0.01, 0.02], [0.0, 0.01]], "has 1 rows for 2 returns rows"),
    ([[0.5, 0.4], [None, None]], [[0.01, 0.02], [0.0, 0.01]], "sum to 0.900000"),
    ([[1.0], [None]], [[0.01, 0.02], [0.0, 0.01]], "1 columns for 2 returns columns"),
    ([["x", "C"], [1.0, 0.0]], [["A", "B"], [0.01, 0.02]], "'x' is not a returns column"),
    ([[1.0, 0.0], [None, None]], [[0.01, "abc"], [0.0, 0.01]], "returns row 1, column 2 is text"),
])
def test_xa_backtest_bad_inputs(weights, returns, msg):
    import xladdin_udfs.strategy as U
    out = U.XA_BACKTEST(weights, returns)
    assert len(out) == 1 and out[0][0].startswith("#XA!") and msg in out[0][0], out


def test_xa_backtest_matches_the_core_on_random_data():
    import xladdin_udfs.strategy as U
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2022-01-03", periods=120)
    r = pd.DataFrame(rng.normal(0, 0.01, (120, 4)), index=days, columns=list("PQRS"))
    dec = days[2::10]
    w = pd.DataFrame(rng.dirichlet(np.ones(4), len(dec)), index=dec, columns=r.columns)
    core = bt.backtest_weights(w, r, 0.002, 2)
    xr = [["date", *r.columns]] + [[d.to_pydatetime(), *map(float, row)] for d, row in zip(days, r.to_numpy())]
    xw_ = [["date", *w.columns]] + [[d.to_pydatetime(), *map(float, row)] for d, row in zip(dec, w.to_numpy())]
    out = U.XA_BACKTEST(xw_, xr, 0.002, 2)
    nav = pd.Series([row[1] for row in out[1:]], index=days).dropna()
    pd.testing.assert_series_equal(nav, core.nav, check_names=False, rtol=1e-14)
    assert out[1][0] == dt.datetime(2022, 1, 3)


def test_engine_blocks_of_periods_give_the_same_nav(monkeypatch):
    """Holding periods are computed in padded blocks by length class; tiny blocks (one period each)
    and one long buy-and-hold period give the same NAV as the default layout (bit for bit: the same
    products in the same order)."""
    from xladdin.methods import backtest as B
    rng = np.random.default_rng(9)
    days = pd.bdate_range("2020-01-01", periods=400)
    rets = pd.DataFrame(rng.normal(0, 0.01, (400, 5)), days, list("abcde"))
    when = days[np.sort(rng.choice(np.arange(1, 399), 40, replace=False))]  # periods of 1 to ~40 days
    w = pd.DataFrame(rng.dirichlet(np.ones(5), 40), when, list("abcde"))
    base = B.backtest_weights(w, rets, 0.002, 1)
    monkeypatch.setattr(B, "_BLOCK_CELLS", 1)
    small = B.backtest_weights(w, rets, 0.002, 1)
    pd.testing.assert_series_equal(small.nav, base.nav, check_exact=True)
    pd.testing.assert_frame_equal(small.period_returns, base.period_returns, check_exact=True)
    # one buy-and-hold period: each asset's growth is its cumulative product
    hold = B.backtest_weights(w.iloc[:1], rets, 0.0, 1)
    start = days.get_loc(when[0]) + 1
    growth = np.cumprod(1 + rets.to_numpy()[start + 1:], axis=0)
    np.testing.assert_allclose(hold.nav.to_numpy()[2:], growth @ w.iloc[0].to_numpy(), rtol=1e-13)
