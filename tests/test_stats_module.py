"""Statistics have one home, :mod:`xladdin.methods.stats` (IC, percentile rank, realised volatility,
performance): the methods that use them import them from there, nothing defines its own copy."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from xladdin.methods import dashboard, northbound, stats

ROOT = Path(__file__).resolve().parents[1]
STATISTICS = ["rank_ic", "ic_summary", "trailing_percentile", "realised_volatility", "performance_table",
              "annual_return", "annual_volatility", "sharpe_ratio", "max_drawdown", "information_ratio"]


@pytest.mark.parametrize("name", STATISTICS)
def test_each_statistic_is_defined_in_the_stats_module_only(name):
    assert getattr(stats, name).__module__ == "xladdin.methods.stats"
    defined = [p.relative_to(ROOT).as_posix() for p in (ROOT / "xladdin").rglob("*.py")
               if any(isinstance(n, ast.FunctionDef) and n.name == name for n in ast.parse(p.read_text("utf-8")).body)]
    assert defined == ["xladdin/methods/stats.py"]


def test_the_methods_use_the_stats_module_s_functions():
    assert northbound.rank_ic is stats.rank_ic and northbound.ic_summary is stats.ic_summary
    assert dashboard.trailing_percentile is stats.trailing_percentile
    assert dashboard.realised_volatility is stats.realised_volatility
    assert northbound.DEFAULT_MIN_OBS == stats.DEFAULT_MIN_OBS and dashboard.DEFAULT_VOL_WINDOW == stats.DEFAULT_VOL_WINDOW
