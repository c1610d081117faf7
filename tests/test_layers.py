"""The dependency rule between the package's layers (README "Dependency rule").

base (``conventions``, ``errors``, ``fileguard``, ``cells``) ← ``data`` ← ``methods`` ← ``workbook`` ← ``ops``:
a module imports only from its own layer and the layers before it, function-level imports included.
``udfs/`` import base, data and methods only. The old flat paths stay importable as the same modules.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["base", "data", "methods", "workbook", "ops"]
BASE = {"xladdin", "xladdin.conventions", "xladdin.errors", "xladdin.fileguard", "xladdin.cells"}


def layer_of(module: str) -> str | None:
    """Layer of an ``xladdin`` module name (None for anything outside the package)."""
    parts = module.split(".")
    if parts[0] != "xladdin":
        return None
    if module in BASE or (len(parts) == 2 and parts[1] == "__version__"):
        return "base"
    if len(parts) >= 2 and parts[1] in LAYERS[1:]:
        return parts[1]
    raise AssertionError(f"{module}: not in any layer (add it to a subpackage or to the base list)")


def module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def imports(source: str, name: str, is_pkg: bool) -> list[tuple[int, str]]:
    """Every module the code of module ``name`` imports (absolute; ``from . import x`` gives ``pkg.x``)."""
    pkg = name if is_pkg else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if node.module is None or target in ("xladdin", "xladdin.methods", "xladdin.data", "xladdin.workbook",
                                                  "xladdin.ops"):
                out += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, target))
    return out


def resolve(module: str) -> str:
    """An old flat name used in code (``xladdin.flows``) counts as its new home."""
    from xladdin import MOVED
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "xladdin" and parts[1] in MOVED:
        return ".".join(["xladdin", MOVED[parts[1]], *parts[2:]])
    return module


def violations(source: str, name: str, is_pkg: bool, allowed: set[str] | None = None) -> list[str]:
    """Imports of module ``name`` that break the rule (``allowed``: the layers it may use, default: its
    own layer and those before it)."""
    if allowed is None:
        own = LAYERS.index(layer_of(name))
        allowed = set(LAYERS[: own + 1])
    found = []
    for line, target in imports(source, name, is_pkg):
        got = layer_of(resolve(target))
        if got is not None and got not in allowed:
            found.append(f"{name}:{line} imports {target} ({got})")
    return found


def check(paths, allowed: set[str] | None = None) -> list[str]:
    return [v for p in paths for v in violations(p.read_text(encoding="utf-8"), *module_name(p), allowed)]


def package_files():
    return sorted(p for p in (ROOT / "xladdin").rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_of_the_package_is_in_a_layer():
    flat = sorted(p.name for p in (ROOT / "xladdin").glob("*.py"))
    assert flat == ["__init__.py", "cells.py", "conventions.py", "errors.py", "fileguard.py"]
    for path in package_files():
        assert layer_of(module_name(path)[0])


def test_each_layer_imports_only_itself_and_the_layers_before_it():
    assert check(package_files()) == []


def test_udfs_import_base_data_and_methods_only():
    assert check(sorted((ROOT / "udfs").glob("*.py")), {"base", "data", "methods"}) == []


def test_the_rule_check_sees_a_violation():
    """Not blind: a methods module importing the workbook layer (inside a function too, by an old flat
    name too) is reported; importing data from methods is not."""
    src = ("from ..data.market import Market\n"
           "def f():\n    from ..workbook import weekly\n    from xladdin.jobs import JobError\n")
    found = violations(src, "xladdin.methods.probe", False)
    assert len(found) == 2 and "xladdin.workbook.weekly" in found[0] and "xladdin.jobs" in found[1]
    assert violations("import xladdin.methods.flows\n", "udfs.probe", False, {"base", "data", "methods"}) == []


@pytest.mark.parametrize("old, new", [("flows", "methods.flows"), ("performance", "methods.stats"),
                                      ("weekly", "workbook.weekly"), ("commands.weekly", "ops.commands.weekly"),
                                      ("clients.wind", "data.clients.wind"), ("_shared", "data._shared")])
def test_old_flat_paths_are_the_same_modules(old, new):
    assert importlib.import_module(f"xladdin.{old}") is importlib.import_module(f"xladdin.{new}")


def test_public_imports_users_already_use_keep_working():
    from xladdin import flows, performance  # attribute access on the package, no import before
    from xladdin.data import load_market, open_market
    from xladdin.data.loaders import load_market as loader, open_market as opener
    from xladdin.flows import etf_flows
    from xladdin.methods import flows as new_flows, stats
    from xladdin.performance import performance_table
    assert flows is new_flows and performance is stats and etf_flows is new_flows.etf_flows
    assert load_market is loader and open_market is opener and performance_table is stats.performance_table
