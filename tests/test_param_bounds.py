"""Every numeric setting has one range, wherever it is given: the parameters sheet, ``--set`` and ``--params``
(all read through ``params.coerce_value``) and the ``XA_`` function argument that takes the same setting.

The ranges a method needs live in the methods layer (``correlation.CORR_WINDOW_RANGE``, ``filters.MAX_LAMBDA``,
...) and both ``SPECS`` and the ``udfs`` import them (the ``udfs`` may not import the workbook layer). Checked
here by behaviour: for each pair, the bounds of ``SPECS`` are accepted by both, and a value just outside
either bound (and ``±inf``) is refused by both, the function's answer naming its argument; ``nan`` is refused by
the sheet's reader (a Python NaN is a blank cell to an ``XA_`` function: its default).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from xladdin.workbook.params import SPEC_BY_KEY, SPECS, ParamError, coerce_value, params_from_mapping
from xladdin_udfs import (
    crowding as UC,
    flows as UF,
    holdings as UH,
    stats as US,
    strategy as UT,
    style as UY,
)

RNG = np.random.default_rng(5)
N = 60
FLOWS, RETS = RNG.normal(size=N).tolist(), RNG.normal(0, 0.01, size=N).tolist()
CORR = np.clip(RNG.normal(0.3, 0.3, size=N), -1, 1).tolist()
CLOSES = (3000 * np.exp(np.cumsum(RNG.normal(0, 0.01, size=N)))).tolist()
VALUES = (np.cumsum(RNG.normal(size=N)) + 50).tolist()
BLOCK = [["code", "f1", "f2"]] + [[f"CI0050{i:02d}.WI", float(a), float(b)] for i, (a, b) in
                                  enumerate(RNG.normal(size=(12, 2)))]
WEIGHTS = [[0.5, 0.5]] * N
RETURNS = RNG.normal(0, 0.01, size=(N, 2)).tolist()
INDS = ["CI005018.WI", "CI005019.WI", "CI005026.WI"]
CLOSE_BLOCK = [INDS] + (1000 * np.exp(np.cumsum(RNG.normal(0, 0.015, (N, 3)), axis=0))).tolist()
TRADE_BLOCK = [INDS] + RNG.uniform(50, 150, (N, 3)).tolist()

#: SPECS key -> (the XA_ call given the value, the argument's name in the function's messages)
PAIRS = {
    "corr_window": [(lambda v: UF.XA_FLOW_CORR(FLOWS, RETS, v), "window")],
    "corr_threshold": [(lambda v: UF.XA_CORR_SIGNAL(CORR, v), "threshold")],
    "event_thresholds": [(lambda v: UF.XA_EVENT_STUDY(CORR, CLOSES, v), "thresholds value 1")],
    "event_horizons": [(lambda v: UF.XA_EVENT_STUDY(CORR, CLOSES, None, v), "horizons value 1")],
    "hp_lambda": [(lambda v: UY.XA_HP1S(VALUES, v), "lamb"), (lambda v: UY.XA_HP(VALUES, v), "lamb"),
                  (lambda v: UY.XA_STYLE_SIGNAL(CLOSES, VALUES, v), "lamb")],
    "groups": [(lambda v: UH.XA_QUINTILE(VALUES[:12], v), "groups")],
    "top_n": [(lambda v: UT.XA_PICKS(BLOCK, v), "top")],
    "cost": [(lambda v: UT.XA_BACKTEST(WEIGHTS, RETURNS, v), "cost")],
    "etf_cost": [(lambda v: UT.XA_BACKTEST(WEIGHTS, RETURNS, v), "cost")],
    "lag": [(lambda v: UT.XA_BACKTEST(WEIGHTS, RETURNS, None, v), "lag")],
    "rf": [(lambda v: US.XA_PERF(CLOSES, None, v), "rf")],
    "crowding_heat_flag": [(lambda v: UC.XA_CROWDING(CLOSE_BLOCK, TRADE_BLOCK, heat_flag=v), "heat_flag")],
    "crowding_dispersion_flag": [(lambda v: UC.XA_CROWDING(CLOSE_BLOCK, TRADE_BLOCK, dispersion_flag=v),
                                  "dispersion_flag")],
    "crowding_history": [(lambda v: UC.XA_CROWDING(CLOSE_BLOCK, TRADE_BLOCK, history=v), "history"),
                         (lambda v: UC.XA_HEAT(TRADE_BLOCK, None, None, v), "history")],
}


def _refusal(out, arg: str) -> str | None:
    """The function's message when it refuses ``arg`` (a one-cell ``#XA! <arg> ...`` answer), else None."""
    first = out[0][0] if out and out[0] else None
    return first if isinstance(first, str) and first.startswith(f"#XA! {arg} ") else None


def _outside(key: str) -> list[float]:
    spec = SPEC_BY_KEY[key]
    whole = spec.kind in ("int", "ints")
    lo, hi = spec.minimum, spec.maximum
    below = lo - 1 if whole else (np.nextafter(lo, -np.inf) if lo != 0 else -1e-12)
    above = hi + 1 if whole else np.nextafter(hi, np.inf)
    return [below, above, math.inf, -math.inf]


@pytest.mark.parametrize("key", list(PAIRS))
def test_the_sheet_and_the_excel_function_accept_the_same_range(key):
    spec = SPEC_BY_KEY[key]
    assert spec.minimum is not None and spec.maximum is not None, key
    for v in (spec.minimum, spec.maximum):
        assert coerce_value(spec, v) is not None
        assert params_from_mapping({key: str(v)}).get(key) is not None  # --set / --params give text
        for call, arg in PAIRS[key]:
            assert _refusal(call(v), arg) is None, (key, v, call(v)[:1])
    for v in _outside(key):
        with pytest.raises(ParamError, match=f"parameter `{key}`"):
            coerce_value(spec, v)
        with pytest.raises(ParamError, match=f"parameter `{key}`"):
            params_from_mapping({key: str(v)})
        for call, arg in PAIRS[key]:
            assert _refusal(call(v), arg) is not None, (key, v, call(v)[:1])
    with pytest.raises(ParamError, match=f"parameter `{key}`"):  # (a NaN from Python is a blank cell to XA_)
        coerce_value(spec, math.nan if spec.kind in ("int", "float") else "nan")


def test_every_setting_an_excel_function_takes_is_in_the_table():
    """The XA_ arguments named like a setting (window, threshold, lamb, groups, top, cost, lag, rf, history, the
    crowding flags) are all paired above; every numeric setting has both bounds."""
    assert {"corr_window", "hp_lambda", "groups", "top_n", "cost", "lag", "rf", "crowding_history"} <= set(PAIRS)
    for s in SPECS:
        if s.kind in ("int", "float", "ints", "floats"):
            assert s.minimum is not None and s.maximum is not None and s.minimum <= s.maximum, s.key


def test_the_ranges_are_the_methods_constants():
    """One owner: the sheet's bounds are the methods layer's constants, which the udfs import too."""
    from xladdin.methods import backtest, correlation, crowding, filters, grouping, stats, strategy
    owners = {"corr_window": correlation.CORR_WINDOW_RANGE, "corr_threshold": correlation.CORR_THRESHOLD_RANGE,
              "event_thresholds": correlation.CORR_THRESHOLD_RANGE, "event_horizons": correlation.HORIZON_RANGE,
              "hp_lambda": (filters.MIN_LAMBDA, filters.MAX_LAMBDA), "groups": grouping.GROUPS_RANGE,
              "top_n": strategy.TOP_N_RANGE, "cost": backtest.COST_RANGE, "etf_cost": backtest.COST_RANGE,
              "lag": backtest.LAG_RANGE, "rf": stats.RF_RANGE, "crowding_heat_flag": crowding.FLAG_RANGE,
              "crowding_dispersion_flag": crowding.FLAG_RANGE, "crowding_history": crowding.HISTORY_RANGE}
    assert set(owners) == set(PAIRS)
    for key, (lo, hi) in owners.items():
        assert (SPEC_BY_KEY[key].minimum, SPEC_BY_KEY[key].maximum) == (lo, hi), key
