"""Contract: every akshare column the adapter reads is one the installed akshare still returns.

The adapter declares what it reads from each function (``READS``, ``OPTIONAL_READS`` in
``xladdin/data/clients/akshare.py``; ``Answer.need`` reads nothing else). Each column must be listed
in the outputs of that function in akshare's own interface registry (``akshare/data/interfaces.json``,
shipped with the package). Two functions have no documented outputs there (stock_zh_a_hist,
stock_hsgt_individual_em): for them the column must be a string literal the installed function's
source assigns. An akshare upgrade that renames a column then fails here, before any fetch.
This is no substitute for running akshare's parsers (tests/test_akshare*.py do that).
"""
from __future__ import annotations

import ast
import inspect
import json
import re
from importlib import resources

import akshare
import pandas as pd
import pytest
from akshare.index import cons

from xladdin.data.clients.akshare import OPTIONAL_READS, READS, SW_L1, SW_L1_CODES

UNDOCUMENTED = {"stock_zh_a_hist", "stock_hsgt_individual_em"}


@pytest.fixture(scope="module")
def registry() -> dict[str, dict]:
    text = resources.files("akshare").joinpath("data/interfaces.json").read_text(encoding="utf-8")
    return {i["name"]: i for i in json.loads(text)["interfaces"]}


def test_the_pinned_akshare_is_installed():
    major, minor, _ = (int(p) for p in akshare.__version__.split(".")[:3])
    assert (major, minor) == (1, 19), "pyproject pins akshare>=1.19.5,<1.20"


@pytest.mark.parametrize("fn", sorted(set(READS) | set(OPTIONAL_READS)))
def test_every_column_read_is_in_the_registry(fn, registry):
    assert hasattr(akshare, fn), f"akshare {akshare.__version__} has no function {fn}"
    assert fn in registry, f"{fn} is not in akshare's interface registry"
    columns = READS.get(fn, ()) + OPTIONAL_READS.get(fn, ())
    documented = [o["name"] for o in registry[fn].get("outputs", [])]
    if fn in UNDOCUMENTED:
        assert documented == [], f"{fn} now documents its outputs: move it out of UNDOCUMENTED"
        literals = _string_literals(getattr(akshare, fn))
        missing = [c for c in columns if c not in literals]
        assert not missing, f"{fn}: the installed source assigns no column {missing}"
        return
    missing = [c for c in columns if c not in documented]
    assert not missing, f"{fn}: column(s) {missing} not among the registry's outputs {documented}"


def test_the_parameters_passed_are_the_functions_own():
    """Each keyword the adapter passes is a parameter of the installed function."""
    passed = {"fund_etf_hist_em": {"symbol", "period", "start_date", "end_date", "adjust"},
              "fund_etf_fund_info_em": {"fund", "start_date", "end_date"},
              "stock_zh_index_hist_csindex": {"symbol", "start_date", "end_date"},
              "index_hist_cni": {"symbol", "start_date", "end_date"},
              "index_stock_cons_weight_csindex": {"symbol"}, "index_hist_sw": {"symbol", "period"},
              "stock_hsgt_individual_em": {"symbol"},
              "stock_zh_a_hist": {"symbol", "period", "start_date", "end_date", "adjust"},
              "stock_value_em": {"symbol"}, "stock_margin_detail_sse": {"date"}, "stock_margin_detail_szse": {"date"},
              "fund_portfolio_hold_em": {"symbol", "date"}, "fund_overview_em": {"symbol"}}
    for fn, keys in passed.items():
        params = set(inspect.signature(getattr(akshare, fn)).parameters)
        assert keys <= params, f"{fn} takes {sorted(params)}, the adapter passes {sorted(keys)}"


def _string_literals(fn) -> set[str]:
    """String constants of ``fn``'s module source around it (the helper it delegates to included)."""
    tree = ast.parse(inspect.getsource(inspect.getmodule(fn)))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_shenwan_level_1_codes_and_names(real_data_dir):
    """SW_L1's 31 index codes are akshare's own level-1 list (the swsindex query of ``akshare/index/cons.py``) less
    801020 采掘, which SW 2021 retired; its names are those of the real Shenwan 2021 closes in ../shared."""
    listed = {f"{c}.SI" for c in re.findall(r"'(\d{6})'", cons.sw_payload["where"])}
    assert listed - set(SW_L1_CODES) == {"801020.SI"} and set(SW_L1_CODES) < listed and len(SW_L1_CODES) == 31
    real = pd.read_csv(real_data_dir.parent / "derived" / "sw2021_l1_daily_close_long_2014-2023.csv", dtype=str)
    names = dict(real[["code", "sec_name"]].drop_duplicates().itertuples(index=False))
    assert {code: name for code, name in SW_L1.values()} == names
