"""Golden outputs of :func:`xladdin.workbook.weekly.compute_weekly` on the embedded sample.

Pinned before the weekly run was restructured (one context of shared intermediates, named steps,
one message table): every table, subtitle, note, the mail summary and the facts of three runs (the
data's last date in Chinese and in English, and a mid-data Wednesday) are stored in
``tests/golden/`` and compared cell by cell (floats to 1e-9 relative: summation order moves the last bits between machines; everything else exactly:
texts, dates, column names and dtypes). A change that moves a number users see fails here.

Regenerate only for an intended change of results: ``XLADDIN_UPDATE_GOLDEN=1 pytest tests/test_weekly_golden.py``
(and say why in the commit).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
RTOL = 1e-9

#: name -> (as-of date or None for the data's last date, language, partial market)
CASES = {
    "weekly_last_zh": (None, "zh", False),
    "weekly_last_en": (None, "en", False),
    "weekly_mid_zh": ("2021-06-16", "zh", False),
    "weekly_partial_zh": ("2024-03-13", "zh", True),
    "weekly_partial_en": ("2024-03-13", "en", True),
}


def partial_market(market):
    """The sample without northbound holdings, fund data, the growth/value indices and the CSI 500
    weights: the cover's "not computed" rows, strategy notes, missing style pair and ETFs that cannot
    be penetrated, in both languages."""
    from xladdin.data.market import Market
    t = dict(market.tables)
    for name in ("northbound_holdings", "active_fund_holdings", "fund_nav", "fund_issuance"):
        t.pop(name)
    ix = t["index_daily"]
    t["index_daily"] = ix[~ix["index"].isin(["399370.SZ", "399371.SZ"])].reset_index(drop=True)
    w = t["index_weights"]
    t["index_weights"] = w[w["index"] != "000905.SH"].reset_index(drop=True)
    return Market(t, source="sample (partial)")


def _cell(v):
    """A JSON-able form of one value that keeps its kind (float, date, text, ...)."""
    if v is None or v is pd.NaT:
        return {"na": repr(v)}
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return {"int": int(v)}
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return {"float": "nan" if math.isnan(f) else f}
    if isinstance(v, pd.Timestamp):
        return {"ts": v.isoformat()}
    if isinstance(v, (np.datetime64,)):
        return {"ts": pd.Timestamp(v).isoformat()}
    if isinstance(v, str):
        return v
    if v is pd.NA:
        return {"na": "NA"}
    if hasattr(v, "isoformat"):
        return {"date": v.isoformat()}
    if isinstance(v, (list, tuple)):
        return [_cell(x) for x in v]
    if isinstance(v, dict):
        return {"dict": {str(k): _cell(x) for k, x in v.items()}}
    raise TypeError(f"golden: no canonical form for {type(v).__name__}: {v!r}")


def _frame(df: pd.DataFrame | None):
    if df is None:
        return None
    idx = None if isinstance(df.index, pd.RangeIndex) else [_cell(i) for i in df.index]
    return {"columns": [_cell(c) for c in df.columns], "dtypes": [str(t) for t in df.dtypes],
            "index": idx, "rows": [[_cell(v) for v in row] for row in df.itertuples(index=False, name=None)]}


def canonical(result) -> dict:
    """Everything users see of a :class:`~xladdin.workbook.weekly.WeeklyResult`, as plain JSON-able values."""
    return {
        "asof": _cell(result.asof),
        "tables": {k: _frame(v) for k, v in sorted(result.tables.items())},
        "subtitles": {k: dict(v) for k, v in sorted(result.subtitles.items())},
        "notes": dict(sorted(result.notes.items())),
        "summary": _cell(result.summary.to_dict()),
        "facts": {k: _cell(v) for k, v in sorted(result.facts.items())},
    }


def compare(got, want, path: str = "") -> list[str]:
    """Differences between two canonical values (floats to :data:`RTOL` relative)."""
    if isinstance(want, dict) and set(want) == {"float"} and isinstance(got, dict) and set(got) == {"float"}:
        a, b = got["float"], want["float"]
        if a == "nan" or b == "nan":
            return [] if a == b else [f"{path}: {a} != {b}"]
        if a == b or abs(a - b) <= RTOL * max(abs(a), abs(b)):
            return []
        return [f"{path}: {a!r} != {b!r} (rel {abs(a - b) / max(abs(a), abs(b)):.2e})"]
    if isinstance(want, dict) and isinstance(got, dict):
        if set(want) != set(got):
            return [f"{path}: keys {sorted(got)} != {sorted(want)}"]
        out = []
        for k in want:
            out += compare(got[k], want[k], f"{path}/{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: length {len(got)} != {len(want)}"]
        out = []
        for i, (g, w) in enumerate(zip(got, want)):
            out += compare(g, w, f"{path}[{i}]")
        return out
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


def weekly_case(market, name: str):
    from xladdin.workbook.params import default_params
    from xladdin.workbook.weekly import compute_weekly
    asof, language, partial = CASES[name]
    params = default_params().replace(language=language)
    if partial:
        market = partial_market(market)
    return compute_weekly(market, params, asof=asof)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_weekly_outputs_match_the_golden_files(sample_market, name):
    got = json.loads(json.dumps(canonical(weekly_case(sample_market, name)), ensure_ascii=False))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("XLADDIN_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    want = json.loads(path.read_text(encoding="utf-8"))
    diffs = compare(got, want)
    assert not diffs, f"{len(diffs)} difference(s) from {path.name}:\n" + "\n".join(diffs[:30])


def test_the_golden_comparison_sees_a_change_in_the_9th_digit():
    """The comparison is not blind: 1e-8 relative differs, 1e-10 does not; texts compare exactly."""
    a = {"float": 1.2345678901234}
    assert compare({"float": a["float"] * (1 + 1e-8)}, a)
    assert not compare({"float": a["float"] * (1 + 1e-10)}, a)
    assert compare({"float": "nan"}, a) and compare("净流入", "净流出")
    assert compare([{"float": 1.0}], [{"float": 1.0}, {"float": 2.0}])
