"""The linter: ``ruff check`` (configured in pyproject.toml: pyflakes, import order, bugbear, pyupgrade to
3.11) is clean on the whole tree, and it is not blind: a file with one finding of each selected family fails."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def ruff_check(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The venv's ruff (the ``test`` extra pins it), without a cache in the tree."""
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def test_ruff_check_is_clean_on_the_tree():
    run = ruff_check(".")
    assert run.returncode == 0, run.stdout + run.stderr


BAD = '''"""One finding of each selected family."""
import sys
import os
from typing import List


def f(x: List[int], seen=[]) -> None:
    print(sys.argv, x, seen)
'''


def test_ruff_check_fails_on_a_violation(tmp_path):
    """Outside the tree, with the tree's configuration: unused import (F401), imports out of order (I001),
    a mutable default (B006) and typing.List (UP006/UP035) are each reported, exit 1."""
    bad = tmp_path / "bad.py"
    bad.write_text(BAD, encoding="utf-8")
    run = ruff_check("--config", str(PYPROJECT), str(bad), cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    for code in ("F401", "I001", "B006", "UP006", "UP035"):
        assert f" {code} " in run.stdout, (code, run.stdout)
    good = tmp_path / "good.py"
    good.write_text('"""Nothing to report."""\nimport sys\n\n\ndef f(x: list[int]) -> None:\n    print(sys.argv, x)\n',
                    encoding="utf-8")
    assert ruff_check("--config", str(PYPROJECT), str(good), cwd=tmp_path).returncode == 0
