"""Check the release artefacts in a folder: the wheel and the sdist that ``scripts/build_release.sh`` builds.

    python scripts/check_dist.py DIST [--forbid TEXT ...]

What is checked (one line per problem, exit 1 if any):
- one wheel and one sdist of this version (``xladdin/__init__.py``);
- the wheel installs only names that start with ``xladdin`` (``xladdin``, ``xladdin_udfs``, ``xladdin_macros`` and
  its ``.dist-info``): no generic top-level ``udfs`` or ``macros``; it holds every module of ``xladdin/``, ``udfs/``
  and ``macros/``, ``xladdin/__main__.py`` and the layout (``xladdin/workbooks/layout.toml``), and no byte-code,
  tests or repository files;
- its metadata: name, version, Requires-Python and the dependencies of ``pyproject.toml``, the ``xladdin``
  console script;
- the sdist holds ``pyproject.toml``, the README and every file the wheel is built from;
- no machine path in any member of either: this checkout's path, the home folder, the interpreter's prefixes
  and the temporary folder (and each ``--forbid`` text).
"""
from __future__ import annotations

import argparse
import email.parser
import re
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = {"xladdin", "xladdin_udfs", "xladdin_macros"}
#: repository folders and the import names they install under (pyproject ``[tool.setuptools.package-dir]``)
FOLDERS = {"xladdin": "xladdin", "udfs": "xladdin_udfs", "macros": "xladdin_macros"}


def version() -> str:
    m = re.search(r'^__version__ = "([^"]+)"', (ROOT / "xladdin" / "__init__.py").read_text(encoding="utf-8"), re.M)
    return m.group(1)


def sources() -> dict[str, str]:
    """Repository file -> its path in the wheel, for every module the wheel must hold (and the layout)."""
    out = {}
    for folder, name in FOLDERS.items():
        for p in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" not in p.parts:
                rel = p.relative_to(ROOT / folder).as_posix()
                out[f"{folder}/{rel}"] = f"{name}/{rel}"
    out["workbooks/layout.toml"] = "xladdin/workbooks/layout.toml"
    return out


def machine_paths(extra: list[str]) -> list[str]:
    """Texts that would tie an artefact to this machine."""
    found = {str(ROOT), str(Path.home()), sys.prefix, sys.base_prefix, sys.exec_prefix, tempfile.gettempdir() + "/",
             *extra}
    return sorted(p for p in found if p and p not in ("/", "/usr", "/usr/local"))


def check_wheel(path: Path, forbid: list[str]) -> list[str]:
    problems = []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        v = version()
        dist_info = f"xladdin-{v}.dist-info"
        tops = {n.split("/")[0] for n in names}
        if tops - TOP_LEVEL - {dist_info}:
            problems.append(f"{path.name}: top-level names other than {sorted(TOP_LEVEL)}: "
                            f"{sorted(tops - TOP_LEVEL - {dist_info})}")
        problems += [f"{path.name}: installs `{t}`, a name that does not start with xladdin" for t in sorted(tops)
                     if not t.startswith("xladdin")]
        missing = sorted(set(sources().values()) - set(names))
        if missing:
            problems.append(f"{path.name}: missing {missing}")
        stray = [n for n in names if n.endswith((".pyc", ".pyo")) or "__pycache__" in n or n.startswith("tests/")
                 or n.split("/")[-1] in ("pyproject.toml", "setup.cfg", ".gitignore")]
        if stray:
            problems.append(f"{path.name}: holds {stray}")
        problems += _metadata(z.read(f"{dist_info}/METADATA").decode("utf-8"), path.name, v)
        entry = z.read(f"{dist_info}/entry_points.txt").decode("utf-8") if f"{dist_info}/entry_points.txt" in names else ""
        if not re.search(r"^\[console_scripts\]\s*\nxladdin = xladdin\.ops\.cli:main\s*$", entry, re.M):
            problems.append(f"{path.name}: no console script `xladdin = xladdin.ops.cli:main` in entry_points.txt")
        problems += _paths({n: z.read(n) for n in names}, path.name, forbid)
    return problems


def _metadata(text: str, where: str, v: str) -> list[str]:
    meta = email.parser.Parser().parsestr(text)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    problems = []
    for key, want in (("Name", "xladdin"), ("Version", v), ("Requires-Python", project["requires-python"])):
        if meta.get(key) != want:
            problems.append(f"{where}: {key} is {meta.get(key)!r}, not {want!r}")
    requires = {r.split(";")[0].replace(" ", "") for r in meta.get_all("Requires-Dist") or []}
    for dep in project["dependencies"]:
        if dep.replace(" ", "") not in requires:
            problems.append(f"{where}: Requires-Dist lacks {dep}")
    return problems


def check_sdist(path: Path, forbid: list[str]) -> list[str]:
    problems = []
    v = version()
    with tarfile.open(path) as t:
        members = {m.name: m for m in t.getmembers() if m.isfile()}
        prefix = f"xladdin-{v}/"
        if any(not n.startswith(prefix) for n in members):
            problems.append(f"{path.name}: members outside {prefix}")
        need = [f"{prefix}{f}" for f in ["pyproject.toml", "README.md", "PKG-INFO", *sources()]]
        missing = sorted(n for n in need if n not in members)
        if missing:
            problems.append(f"{path.name}: missing {missing}")
        if f"{prefix}PKG-INFO" in members:
            problems += _metadata(t.extractfile(members[f"{prefix}PKG-INFO"]).read().decode("utf-8"), path.name, v)
        problems += _paths({n: t.extractfile(m).read() for n, m in members.items()}, path.name, forbid)
    return problems


def _paths(files: dict[str, bytes], where: str, forbid: list[str]) -> list[str]:
    texts = machine_paths(forbid)
    return [f"{where}: {name} contains the machine path {text}" for name, data in files.items() for text in texts
            if text.encode() in data]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dist", type=Path, help="folder with the wheel and the sdist")
    p.add_argument("--forbid", action="append", default=[], help="another text no member may contain")
    args = p.parse_args(argv)
    v = version()
    wheels, sdists = sorted(args.dist.glob(f"xladdin-{v}-*.whl")), sorted(args.dist.glob(f"xladdin-{v}.tar.gz"))
    problems = []
    if len(wheels) != 1 or len(sdists) != 1:
        problems.append(f"{args.dist}: want one wheel and one sdist of xladdin {v}, found "
                        f"{[w.name for w in wheels + sdists]}")
    for w in wheels:
        problems += check_wheel(w, args.forbid)
    for s in sdists:
        problems += check_sdist(s, args.forbid)
    for line in problems:
        print(f"check_dist: {line}", file=sys.stderr)
    if not problems:
        print(f"check_dist: {', '.join(x.name for x in wheels + sdists)}: contents, metadata and paths ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
