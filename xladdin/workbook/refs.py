"""A1 cell references of the workbook layout (1-based rows and columns), and the one formula-text rule.

Used by the layout's checks (:mod:`~xladdin.workbook.layoutcheck`), the planning
(:mod:`~xladdin.workbook.plan`) and both writers.
"""
from __future__ import annotations

import re
from typing import Any

from openpyxl.utils import column_index_from_string, get_column_letter

#: leading characters that make a spreadsheet evaluate text as a formula: ``= + - @``, plus tab and
#: CR (OWASP's list for spreadsheet injection). Text from data starting with one of them is never
#: written as a formula by any writer (:func:`formula_like`).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_CELL_RE = re.compile(r"^([A-Z]{1,3})([1-9][0-9]*)$")


def col_letter(col: int) -> str:
    """1 -> A, 27 -> AA."""
    if col < 1:
        raise ValueError(f"column index must be >= 1, got {col}")
    return get_column_letter(col)


def col_index(letters: str) -> int:
    """A -> 1, AA -> 27."""
    return column_index_from_string(letters)


def parse_cell(ref: str) -> tuple[int, int]:
    """``"B5"`` -> (row 5, column 2)."""
    m = _CELL_RE.match(str(ref).strip().upper())
    if not m:
        raise ValueError(f"`{ref}` is not a cell reference like B5")
    return int(m.group(2)), col_index(m.group(1))


def formula_like(value: Any) -> bool:
    """True for text a spreadsheet would evaluate as a formula (see :data:`FORMULA_PREFIXES`)."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """``"$B$5:$J$35"`` or ``"B5"`` -> (row1, col1, row2, col2)."""
    parts = str(ref).replace("$", "").split("!")[-1].split(":")
    r1, c1 = parse_cell(parts[0])
    r2, c2 = parse_cell(parts[-1])
    return r1, c1, r2, c2


def is_cell_ref(text: str) -> bool:
    """True for text that reads as one cell reference (``B5``, ``xfd1``): not usable as a table name."""
    return _CELL_RE.match(str(text).upper()) is not None


def cell_ref(row: int, col: int) -> str:
    return f"{col_letter(col)}{row}"


def range_ref(row1: int, col1: int, row2: int, col2: int) -> str:
    return f"{cell_ref(row1, col1)}:{cell_ref(row2, col2)}"

