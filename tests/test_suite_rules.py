"""Rules of the test suite itself: shared helpers live in conftest.py (no test module imports another
test module or conftest), the ``slow`` marker is registered and documented with the fast subset, and
scripts/test.sh runs the suite on both cores."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module name) of every import statement of a Python file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def test_no_test_module_imports_another_or_conftest():
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 40
    bad = [f"{p.relative_to(ROOT)}:{line} imports {name}" for p in files for line, name in _imported_modules(p)
           if name.startswith("test_") or name == "conftest"]
    assert bad == [], "shared test helpers belong in tests/conftest.py (as fixtures):\n" + "\n".join(bad)


def test_the_import_rule_finds_both_spellings(tmp_path):
    """The checker above sees ``import test_x``, ``from test_x import y`` and ``from conftest import z``."""
    src = tmp_path / "test_probe.py"
    src.write_text("import os\nimport test_a\nfrom test_b.c import d\nfrom conftest import e\nfrom . import f\n",
                   encoding="utf-8")
    assert _imported_modules(src) == [(1, "os"), (2, "test_a"), (3, "test_b"), (4, "conftest")]


def test_slow_marker_is_registered_strict_and_documented(pytestconfig):
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert any(m.split(":")[0].strip() == "slow" for m in ini["markers"])
    assert "--strict-markers" in ini["addopts"].split()  # a misspelt marker is an error, not a silent no-op
    assert any(m.split(":")[0].strip() == "slow" for m in pytestconfig.getini("markers"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert '-m "not slow"' in readme, "the README's Tests section documents the fast subset"


def test_the_suite_runs_on_both_cores():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(dep.startswith("pytest-xdist") for dep in extras["test"])
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert "pytest -n " in script  # the worker count: XLADDIN_TEST_WORKERS, default 2
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().endswith("exec bash scripts/test.sh")
