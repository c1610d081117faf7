"""The weekly workbook's zh/en message table (xladdin.workbook.messages)."""
from __future__ import annotations

import ast
import string
from pathlib import Path

import pandas as pd

from xladdin.workbook.messages import MESSAGES, amount, both, say


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_message_has_both_languages_with_the_same_fields():
    for key, entry in MESSAGES.items():
        assert set(entry) == {"zh", "en"}, key
        assert fields(entry["zh"]) == fields(entry["en"]), key


def test_say_fills_the_fields_in_the_language_and_falls_back_to_chinese():
    d = pd.Timestamp("2026-10-23")
    assert say("picks.detail", "zh", date=d, top=6) == "2026-10-23调仓,前6名等权(M10)"
    assert say("picks.detail", "en", date=d, top=6) == "rebalanced 2026-10-23, top 6 equal weight (M10)"
    assert say("picks.detail", "fr", date=d, top=6) == say("picks.detail", "zh", date=d, top=6)
    assert both("event.horizon", days=5) == {"zh": "5日", "en": "5d"}


def test_amounts_in_the_cover_style():
    assert amount(1234.5678, "zh") == "1,234.57亿元" and amount(1234.5678, "en") == "1,234.57"
    assert amount(float("nan"), "zh") == "—" and amount(None, "zh") == "—"


def test_weekly_py_has_no_inline_language_choice():
    """Every zh/en text of the weekly tables comes from the message table: no Chinese literal outside
    docstrings and no `zh` flag left in weekly.py."""
    source = Path(__file__).resolve().parents[1] / "xladdin" / "workbook" / "weekly.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    chinese = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and id(node) not in docstrings and any("\u4e00" <= ch <= "\u9fff" for ch in node.value)]
    assert chinese == []
    assert "zh" not in {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def test_the_full_period_label_is_the_one_performance_writes():
    from xladdin.methods.stats import FULL_PERIOD
    assert MESSAGES["period.full"]["en"] == FULL_PERIOD


def test_crowding_names_have_one_owner():
    """The names of M14's flags, divergence kinds and heat measures are the crowding module's (the command, the Excel
    function and the sheet say them from there): the message table repeats none of them (M9's "divergence" factor
    is another thing, with its own message)."""
    from xladdin.methods import crowding
    names = {text for table in (crowding.DIVERGENCE_NAMES, crowding.MEASURE_NAMES)
             for entry in table.values() for text in entry.values()}
    names |= {entry["zh"] for entry in crowding.FLAG_NAMES.values()}
    assert {text for entry in MESSAGES.values() for text in entry.values()} & names == set()
