"""The dependency rule between the package's layers (docs/architecture.md, "The layers").

base (``conventions``, ``errors``, ``fileguard``, ``cells``) ← ``data`` ← ``methods`` ← ``workbook`` ← ``ops``:
a module imports only from its own layer and the layers before it, function-level imports included.
``udfs/`` import base, data and methods only. Each module has one import path: the flat paths of the move
into layers (``OLD_PATHS``) are named nowhere in the tree.
"""
from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["base", "data", "methods", "workbook", "ops"]
BASE = {"xladdin", "xladdin.conventions", "xladdin.errors", "xladdin.fileguard", "xladdin.cells"}
#: ``python -m xladdin``: the command line's entry sits with the command line, in ops
ENTRY = "xladdin.__main__"


def layer_of(module: str) -> str | None:
    """Layer of an ``xladdin`` module name (None for anything outside the package)."""
    parts = module.split(".")
    if parts[0] != "xladdin":
        return None
    if module in BASE or (len(parts) == 2 and parts[1] == "__version__"):
        return "base"
    if module == ENTRY:
        return "ops"
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


def violations(source: str, name: str, is_pkg: bool, allowed: set[str] | None = None) -> list[str]:
    """Imports of module ``name`` that break the rule (``allowed``: the layers it may use, default: its
    own layer and those before it)."""
    if allowed is None:
        own = LAYERS.index(layer_of(name))
        allowed = set(LAYERS[: own + 1])
    found = []
    for line, target in imports(source, name, is_pkg):
        got = layer_of(target)
        if got is not None and got not in allowed:
            found.append(f"{name}:{line} imports {target} ({got})")
    return found


def check(paths, allowed: set[str] | None = None) -> list[str]:
    return [v for p in paths for v in violations(p.read_text(encoding="utf-8"), *module_name(p), allowed)]


def package_files():
    return sorted(p for p in (ROOT / "xladdin").rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_of_the_package_is_in_a_layer():
    flat = sorted(p.name for p in (ROOT / "xladdin").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "cells.py", "conventions.py", "errors.py", "fileguard.py"]
    for path in package_files():
        assert layer_of(module_name(path)[0])


def test_each_layer_imports_only_itself_and_the_layers_before_it():
    assert check(package_files()) == []


def test_udfs_import_base_data_and_methods_only():
    assert check(sorted((ROOT / "udfs").glob("*.py")), {"base", "data", "methods"}) == []


def _private_holder(target: str) -> str | None:
    """The package holding the first private part (``_x``, not ``__x__``) of an imported ``target`` (a private
    module of a package, or a private name of one of its modules), or None."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            is_module = ROOT.joinpath(*parts[:i]).with_suffix(".py").is_file()
            return ".".join(parts[: i - 1] if is_module else parts[:i])
    return None


def private_imports(source: str, name: str, is_pkg: bool) -> list[str]:
    """Imports of a private module or name (``_shared``, ``_factorize``) from outside the package holding it."""
    pkg = name if is_pkg else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + [node.module or ""]
                              ) if node.level else node.module
            targets = [f"{module.rstrip('.')}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for target in targets:
            holder = _private_holder(target)
            if holder is not None and pkg != holder and not pkg.startswith(holder + "."):
                found.append(f"{name}:{node.lineno} imports {target}")
    return found


def test_private_modules_and_names_stay_in_their_package():
    """``methods/`` (and every other package) imports public names of the others only."""
    assert [v for p in package_files() for v in private_imports(p.read_text(encoding="utf-8"), *module_name(p))] == []


def test_the_private_check_sees_a_private_import():
    src = "from xladdin.data.views import pivot, _factorize\nfrom ..data import _sample_flows\nimport xladdin.data._x\n"
    assert len(private_imports(src, "xladdin.methods.probe", False)) == 3
    src = "from ._sample_flows import x\nfrom . import _sample_universe\nfrom xladdin import __version__\n"
    assert private_imports(src, "xladdin.data.sample", False) == []


def test_the_rule_check_sees_a_violation():
    """Not blind: a methods module importing the workbook layer (inside a function too) is reported;
    importing data from methods is not."""
    src = ("from ..data.market import Market\n"
           "def f():\n    from ..workbook import weekly\n    from xladdin.ops.jobs import JobError\n")
    found = violations(src, "xladdin.methods.probe", False)
    assert len(found) == 2 and "xladdin.workbook.weekly" in found[0] and "xladdin.ops.jobs" in found[1]
    assert violations("import xladdin.methods.flows\n", "xladdin_udfs.probe", False, {"base", "data", "methods"}) == []


def test_the_data_layer_re_exports_its_loading_names():
    """``xladdin.data.<name>`` is the name of the module :data:`xladdin.data.LOADER_NAMES` says holds it (defined
    there, not imported), and every public name of the loaders is among them."""
    import importlib

    import xladdin.data as data
    for name, module in data.LOADER_NAMES.items():
        home = importlib.import_module(f"xladdin.data.{module}")
        assert getattr(data, name) is home.__dict__[name], name
        assert getattr(getattr(home, name), "__module__", home.__name__) == home.__name__, name
    loaders = importlib.import_module("xladdin.data.loaders")
    defined = {n for n, v in vars(loaders).items() if not n.startswith("_") and getattr(v, "__module__", None)
               == loaders.__name__}
    assert defined <= set(data.LOADER_NAMES)


#: the module paths before the move into layers (and a module renamed since) -> the one path of each module now
#: (``xladdin.<old>.x`` is ``xladdin.<new>.x``). Kept here, as data, so that no source, test, script or document
#: names one again; the package itself knows nothing of them.
OLD_PATHS: dict[str, str] = {
    **{m: f"data.{m}" for m in ("schema", "market", "sources", "checks", "calendar", "sample",
                                "_sample_flows", "_sample_market", "_sample_universe", "clients")},
    "_shared": "data.views", "data._shared": "data.views",
    **{m: f"methods.{m}" for m in ("flows", "correlation", "filters", "style", "holdings", "grouping", "ranking",
                                   "backtest", "strategy", "divergence", "northbound", "dashboard")},
    "performance": "methods.stats",
    **{m: f"workbook.{m}" for m in ("params", "context", "weekly", "layout", "messages", "summary",
                                    "template", "report")},
    **{m: f"ops.{m}" for m in ("jobs", "mail", "config", "cli", "commands")},
}


def _old_path_res() -> list[re.Pattern]:
    """``xladdin.<old>`` (code, strings, docstrings, docs), ``xladdin/<old>.py`` or ``xladdin/<old>/`` (file
    paths) and ``from xladdin[.<parent>] import <leaf>`` (also inside parentheses, over several lines)."""
    longest = sorted(OLD_PATHS, key=len, reverse=True)
    dotted = "|".join(re.escape(old) for old in longest)
    paths = "|".join(re.escape(old.replace(".", "/")) for old in longest)
    res = [re.compile(rf"\bxladdin\.({dotted})\b"), re.compile(rf"\bxladdin/({paths})(?:\.py\b|/)")]
    leaves: dict[str, list[str]] = {}
    for old in longest:
        parent, _, leaf = old.rpartition(".")
        leaves.setdefault(parent, []).append(leaf)
    for parent, names in leaves.items():
        package = re.escape(f"xladdin.{parent}" if parent else "xladdin")
        res.append(re.compile(rf"\bfrom\s+{package}\s+import\s+\(?[\w\s,]*?\b({'|'.join(names)})\b(?!\s*\.)"))
    return res


OLD_PATH_RES = _old_path_res()
#: what the check reads: every text file of these folders (and the top-level files) the repository keeps
TREE_DIRS = ["xladdin", "udfs", "macros", "tests", "scripts", "bench", "workbooks", "docs", ".ci"]
TEXT_SUFFIXES = {".py", ".md", ".toml", ".sh", ".txt", ".cfg", ".ini", ".json", ""}


def old_path_mentions(text: str) -> list[str]:
    """Each old flat path ``text`` names, with its line number."""
    return [f"{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
            for rx in OLD_PATH_RES for m in rx.finditer(text)]


def tree_files() -> list[Path]:
    files = [p for p in ROOT.iterdir() if p.is_file() and p.suffix in TEXT_SUFFIXES]
    for d in TREE_DIRS:
        files += [p for p in (ROOT / d).rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES
                  and "__pycache__" not in p.parts and "golden" not in p.parts]
    return sorted(files)


def test_no_file_names_an_old_flat_module_path():
    found = {}
    for path in tree_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        if hits := old_path_mentions(text):
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}, "old flat module paths (use the layered path, see OLD_PATHS):\n" + "\n".join(
        f"{f}:{h}" for f, hits in found.items() for h in hits)


@pytest.mark.parametrize("old", ["flows", "performance", "commands", "_shared", "cli", "data._shared"])
def test_the_old_path_check_sees_each_spelling(old):
    """Not blind: each way of naming an old path is found; the current paths and look-alikes are not."""
    parent, _, leaf = old.rpartition(".")
    package = f"xladdin.{parent}" if parent else "xladdin"
    path = old.replace(".", "/")
    for text in [f"import xladdin.{old}\n", f"see :mod:`xladdin.{old}`", f"``python -m xladdin.{old}``",
                 f"(`xladdin/{path}.py`)", f"xladdin/{path}/x.py", f"from {package} import {leaf}\n",
                 f"from {package} import (\n    errors,\n    {leaf} as x,\n)\n", f"from {package} import errors, {leaf}\n"]:
        assert len(old_path_mentions(text)) == 1, text
    new = OLD_PATHS[old]
    new_parent, _, new_leaf = new.rpartition(".")
    for text in [f"import xladdin.{new}\n", f"from xladdin.{new_parent} import {new_leaf}\n",
                 f"xladdin/{new.replace('.', '/')}.py", "~/.config/xladdin/config.toml", "import xladdin.workbooks\n",
                 "from xladdin import __version__, errors\n"]:
        assert old_path_mentions(text) == [], text


#: the adapters' folders, and the names they import by (pyproject ``[tool.setuptools.package-dir]``)
ADAPTER_PACKAGES = {"udfs": "xladdin_udfs", "macros": "xladdin_macros"}
_BARE_DOTTED = re.compile(r"(?<![\w/.\-])(udfs|macros)\.(?!py\b)[A-Za-z_{]")


def bare_adapter_imports(text: str, is_python: bool) -> list[str]:
    """Where ``text`` imports or names a module of ``udfs``/``macros`` by the folder name instead of
    ``xladdin_udfs``/``xladdin_macros``: an import statement (Python) or a dotted module name (anywhere)."""
    found = [f"{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}" for m in _BARE_DOTTED.finditer(text)]
    if is_python:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                found += [f"{node.lineno}: import {a.name}" for a in node.names
                          if a.name.split(".")[0] in ADAPTER_PACKAGES]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module.split(".")[0] in ADAPTER_PACKAGES:
                found.append(f"{node.lineno}: from {node.module} import ...")
    return found


def test_the_adapters_import_as_xladdin_udfs_and_xladdin_macros():
    """A wheel installs no generic top-level ``udfs``/``macros``: nothing imports or names them so."""
    found = {}
    for path in tree_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        if hits := bare_adapter_imports(text, path.suffix == ".py"):
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}, "\n".join(f"{f}:{h}" for f, hits in found.items() for h in hits)


def test_the_adapter_check_sees_a_bare_import():
    u, m = ADAPTER_PACKAGES  # the folder names, spelled through the table so that this file names none
    for text in [f"import {u}.flows\n", f"from {u} import flows\n", f"from {m}.refresh import main\n",
                 f"import {m}\n", f"x = importlib.import_module(f'{u}.{{m}}')\n"]:
        assert bare_adapter_imports(text, True), text
    assert bare_adapter_imports(f"UDF Modules = {u}.flows;{u}.style", False)
    for text in ["import xladdin_udfs.flows\n", "from xladdin_macros.refresh import main\n",
                 f"from _cores_ref import {u} as ref_{u}\n", f"p = ROOT / '{u}' / 'flows.py'  # {u}/flows.py\n",
                 f"# tests/_cores_ref/{u}.py\n"]:
        assert bare_adapter_imports(text, True) == [], text


def test_the_installed_adapter_packages_are_the_repository_folders():
    import importlib.util
    for folder, name in ADAPTER_PACKAGES.items():
        spec = importlib.util.find_spec(name)
        assert spec is not None and [Path(p) for p in spec.submodule_search_locations] == [ROOT / folder]


# ------------------------------------------------------------------------------------------ import cycles
def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def runtime_imports(source: str, name: str, is_pkg: bool) -> list[str]:
    """:func:`imports` of module ``name`` that can run: at module level or in a function, but not in an
    ``if TYPE_CHECKING:`` block (annotations only; never executed)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if _is_type_checking(node):
            node.body = [ast.Pass()]
    return [target for _, target in imports(ast.unparse(tree), name, is_pkg)]


def import_graph(modules: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """module -> the modules of ``modules`` it imports (``{name: (source, is_pkg)}``); an imported name
    (``from xladdin.data import load_market``) counts as its module (``xladdin.data``)."""
    graph = {}
    for name, (source, is_pkg) in modules.items():
        edges = set()
        for target in runtime_imports(source, name, is_pkg):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (``[a, b, ..., a]``), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def tree_modules() -> dict[str, tuple[str, bool]]:
    """Every module of the package and of the adapters, by its import name."""
    out = {}
    for path in package_files() + sorted((ROOT / "udfs").glob("*.py")) + sorted((ROOT / "macros").glob("*.py")):
        name, is_pkg = module_name(path)
        top, _, rest = name.partition(".")
        name = ".".join(filter(None, [ADAPTER_PACKAGES.get(top, top), rest]))
        out[name] = (path.read_text(encoding="utf-8"), is_pkg)
    return out


def test_no_import_cycle_function_level_imports_included():
    graph = import_graph(tree_modules())
    assert len(graph) > 70 and graph["xladdin.data.market"] >= {"xladdin.data.views"}
    assert import_cycle(graph) is None


def test_the_cycle_check_sees_a_cycle():
    """Not blind: a cycle through an import inside a function (and through an imported name) is found; an
    import only for annotations (``if TYPE_CHECKING:``) is not one."""
    modules = {"xladdin.data": ("def f():\n    from .a import A\n", True),
               "xladdin.data.a": ("from .b import B\n", False),
               "xladdin.data.b": ("import os\ndef g():\n    from xladdin.data import thing\n", False)}
    cycle = import_cycle(import_graph(modules))
    assert cycle[0] == cycle[-1] and sorted(cycle[1:]) == ["xladdin.data", "xladdin.data.a", "xladdin.data.b"]
    modules["xladdin.data.b"] = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from xladdin.data import thing\n",
                                 False)
    assert import_cycle(import_graph(modules)) is None


# ------------------------------------------------------------------------------------------ lazy imports
_NOT_A_REASON = re.compile(r"#\s*(noqa(:\s*[A-Z]+\d+(\s*,\s*[A-Z]+\d+)*)?|type:\s*ignore(\[[\w,-]*\])?)\s*")


def unexplained_lazy_imports(source: str) -> list[str]:
    """Imports inside a function (or a lambda) whose line carries no comment saying why they are not at the
    top of the module (an optional or platform-only dependency, a measured start-up cost, ...); a ``noqa`` or
    ``type: ignore`` comment is no reason."""
    lines = source.splitlines()
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)):
                text = " ".join(lines[child.lineno - 1:child.end_lineno])
                comment = _NOT_A_REASON.sub("", text.partition("#")[1] + text.partition("#")[2])
                if not comment.strip("# "):
                    found.append(f"{child.lineno}: {lines[child.lineno - 1].strip()}")
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(source), False)
    return found


def test_every_import_inside_a_function_says_why():
    found = {name: hits for name, (source, _) in tree_modules().items()
             if (hits := unexplained_lazy_imports(source))}
    assert found == {}, "move these imports to the top of the module, or say on the line why not:\n" + "\n".join(
        f"{m}:{h}" for m, hits in found.items() for h in hits)


def test_the_lazy_import_check_sees_an_unexplained_one():
    src = ("import os\n"
           "def f():\n    import json\n    import csv  # noqa: F401\n    from x import (a,\n        b)\n"
           "    import re  # lazy: a reason\n    import ctypes  # type: ignore[import]  # Windows only\n"
           "g = lambda: __import__('x')\nclass C:\n    def m(self):\n        import io  # noqa: F401 - here because\n")
    assert unexplained_lazy_imports(src) == ["3: import json", "4: import csv  # noqa: F401", "5: from x import (a,"]
