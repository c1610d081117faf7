"""Excel functions of M14 (udfs/crowding.py): XA_CROWDING and XA_HEAT on Excel-shaped inputs, equal to the
core (itself checked against a naive derivation in tests/test_crowding.py), and their #XA! messages."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import xladdin_udfs.crowding as U
from xladdin.methods import crowding

N = 320


def block(values: np.ndarray, codes: list[str], dates: pd.DatetimeIndex | None = None) -> list[list]:
    """A range as xlwings passes it: a title row, optional dates in the first column, blanks as None."""
    head = (["date"] if dates is not None else []) + codes
    rows = [head]
    for i, r in enumerate(values):
        cells = [None if np.isnan(v) else float(v) for v in r]
        rows.append(([dates[i].to_pydatetime()] if dates is not None else []) + cells)
    return rows


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(11)
    d = pd.bdate_range("2020-01-02", periods=N)
    inds = ["CI005018.WI", "CI005019.WI", "CI005026.WI"]
    close = 1000 * np.exp(np.cumsum(rng.normal(0, 0.015, (N, 3)), axis=0))
    volume = rng.uniform(50, 150, (N, 3)) * 1e6
    volume[-20:, 0] *= 1.6                     # volume up 60 % in the last 20 days ...
    close[-20:, 0] = close[-21, 0] * np.linspace(0.997, 0.94, 20)  # ... as the price falls 6 %: 放量下跌
    stocks = [f"{600000 + i}.SH" for i in range(33)]
    sc = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, (N, 33)), axis=0))
    sc[5, 3] = np.nan
    si = [["stock", "industry"]] + [[s, inds[i % 3]] for i, s in enumerate(stocks)]
    return d, inds, close, volume, stocks, sc, si


def test_crowding_table_equals_the_core(inputs):
    d, inds, close, volume, stocks, sc, si = inputs
    out = U.XA_CROWDING(block(close, inds, d), block(volume, inds, d), block(sc, stocks), si, None, 0.9, 0.1, 200)
    assert out[0] == U.CROWDING_COLUMNS and [r[0] for r in out[1:]] == inds
    rows = pd.RangeIndex(1, N + 1, name="row")
    imap = pd.Series([r[1] for r in si[1:]], index=[r[0] for r in si[1:]])
    panels = crowding.crowding_panels(pd.DataFrame(close, rows, inds), pd.DataFrame(volume, rows, inds),
                                      pd.DataFrame(volume, rows, inds), pd.DataFrame(sc, rows, stocks), imap,
                                      crowding_history=200, min_history=200, crowding_heat_flag=0.9, crowding_dispersion_flag=0.1)
    ref = crowding.crowding_table(panels, N)
    for got, (_, want) in zip(out[1:], ref.iterrows(), strict=True):
        assert got[1] == pytest.approx(want["heat_pct"], rel=1e-15)
        assert got[2] == want["divergence"]
        assert got[3] == pytest.approx(want["dispersion_pct"], rel=1e-15)
        assert got[4] == want["crowded"]
        assert got[5] == "; ".join(crowding.reason_text(r) for r in want["reasons"])
    assert out[1][2] == "volume_up_price_down" and out[1][4] == 1.0
    assert "price-volume divergence: 20-day return -6.0% on volume +58% (volume up, price down: downside risk)" in out[1][5]


def test_amount_sets_the_heat_share_and_blank_inputs_leave_blank_flags(inputs):
    d, inds, close, volume, *_ = inputs
    amount = volume * close
    out = U.XA_CROWDING(block(close, inds), block(volume, inds), None, None, block(amount, inds))
    rows = pd.RangeIndex(1, N + 1, name="row")
    want = crowding.turnover_heat(pd.DataFrame(amount, rows, inds), history=750, min_history=250).iloc[-1]
    assert [r[1] for r in out[1:]] == pytest.approx(list(want), rel=1e-15)
    bare = U.XA_CROWDING(block(close, inds), "")
    assert [r[1:5] for r in bare[1:]] == [[None, None, None, None]] * 3  # blank, never 0
    assert bare[1][5] == "heat: no volume data; divergence: no volume data; dispersion: no constituent prices"


@pytest.mark.parametrize("call, message", [
    (lambda c, v: U.XA_CROWDING(c, v[:-1]), "industry_close and volume differ in size (320 x 3 vs 319 x 3)"),
    (lambda c, v: U.XA_CROWDING(c, v, [[1.0, 2.0]] * 5), "stock_close needs stock_industry"),
    (lambda c, v: U.XA_CROWDING(c, v, heat_flag=1.5), "heat_flag must be <= 1"),
    (lambda c, v: U.XA_CROWDING(c, v, history=0), "history must be >= 20"),
    (lambda c, v: U.XA_CROWDING([["A", "A"], [1.0, 2.0]]), "industry_close has repeated column titles"),
    (lambda c, v: U.XA_CROWDING(c, [[r[0], -1.0] + r[2:] if i == 3 else r for i, r in enumerate(v)]),
     "`trading` must be >= 0"),
])
def test_bad_input_gives_one_xa_line(inputs, call, message):
    d, inds, close, volume, *_ = inputs
    out = call(block(close, inds), block(volume, inds))
    assert len(out) == 1 and len(out[0]) == 1 and out[0][0].startswith("#XA! ") and message in out[0][0], out


def test_heat_of_a_block_and_of_one_column_with_its_total(inputs):
    d, inds, close, volume, *_ = inputs
    out = U.XA_HEAT(block(volume, inds, d), None, 10, 120, 60)
    assert out[0] == ["", *inds] and [r[0] for r in out[1:]] == list(d.to_pydatetime())
    rows = pd.RangeIndex(1, N + 1)
    want = crowding.turnover_heat(pd.DataFrame(volume, rows, inds), 10, 120, 60).to_numpy()
    got = np.array([[np.nan if v is None else v for v in r[1:]] for r in out[1:]], dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-15, equal_nan=True)
    one = U.XA_HEAT([[v] for v in volume[:, 1]], [[v] for v in volume.sum(axis=1)], 10, 120, 60)
    np.testing.assert_allclose([np.nan if r[0] is None else r[0] for r in one], want[:, 1], rtol=1e-12, equal_nan=True)
    assert U.XA_HEAT(volume.tolist(), header=True)[0] == ["heat1", "heat2", "heat3"]


def test_heat_messages(inputs):
    _, _, _, volume, *_ = inputs
    col = [[v] for v in volume[:, 0]]
    assert "one column of trading needs total" in U.XA_HEAT(col)[0][0]
    assert U.XA_HEAT(col, col[:-1])[0][0] == "#XA! total must be one column of 320 rows (as trading), got 319 x 1"
    small = [[v[0] * 0.5] for v in col]
    assert U.XA_HEAT(col, small)[0][0] == "#XA! total row 1 is less than the sum of trading on that row; give the " \
                                          "market's total"
    assert U.XA_HEAT(col, col, 10, 100, 101)[0][0] == "#XA! min_history must be <= 100 (got 101)"


def test_dates_in_the_first_column_are_labels_not_numbers(inputs):
    d, inds, close, volume, *_ = inputs
    with_dates = U.XA_CROWDING(block(close, inds, d), block(volume, inds, d))
    without = U.XA_CROWDING(block(close, inds), block(volume, inds))
    assert with_dates == without
    assert isinstance(block(close, inds, d)[1][0], dt.datetime)
