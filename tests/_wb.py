"""Shared, cached inputs of the workbook tests: one weekly computation on the sample market per session."""
from __future__ import annotations

import copy
import functools

from xladdin.params import default_params
from xladdin.weekly import compute_weekly as _real_compute_weekly


@functools.lru_cache(maxsize=None)
def _weekly(language: str):
    from xladdin.sample import sample_market
    return _real_compute_weekly(sample_market(), default_params().replace(language=language))


def weekly(language: str = "zh"):
    """A deep copy of the cached WeeklyResult for ``language`` (tests may modify it)."""
    return copy.deepcopy(_weekly(language))


def patch_compute(monkeypatch, result=None, calls: list | None = None):
    """Make ``xladdin.weekly.compute_weekly`` return ``result`` (default: the cached zh result).

    ``calls`` receives the Params each call was made with.
    """
    import xladdin.weekly as W

    def fake(market, params=None, asof=None, progress=None):
        if calls is not None:
            calls.append(params)
        res = result if result is not None else weekly()  # one cached computation; language only changes labels
        if progress is not None:
            progress("computed")
        return res

    monkeypatch.setattr(W, "compute_weekly", fake)
    return fake


def build_template_cached(out, **kwargs):
    """``xladdin.template.build_template(out, market=None, **kwargs)`` with the cached weekly tables (no
    computation); returns ``out``."""
    import pytest

    from xladdin.template import build_template
    mp = pytest.MonkeyPatch()
    try:
        patch_compute(mp)
        build_template(out, market=None, **kwargs)
    finally:
        mp.undo()
    return out
