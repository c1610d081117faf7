"""What Excel on this machine needs, one check per trap, each a function of plain platform facts.

The facts (the platform's name, whether a file exists, the text of a stream, ``PATH``) come in as arguments, so
every check runs on any system with the facts stubbed; :mod:`xladdin.ops.commands.doctor` and
:mod:`xladdin.ops.commands.excel_setup` pass the real ones (:func:`real_facts`). What each check reads is
xlwings 0.37.8's own behaviour, cited per function: its VBA (``xlwings.bas``: ``GetConfig``, ``XLPyLoadDLL``,
``CheckConda``, ``RunPython``'s ``AppleScriptTask``), its command line (``cli.py``: ``runpython install``,
``config create``) and its documentation (``docs/addin.md``: the config hierarchy and file format).

A check returns a :class:`Check`: ``ok``, ``fix`` (Excel's Refresh or functions fail until the user acts; the
text says how) or ``note`` (worth knowing, nothing is broken), or None where it does not apply on this platform.
"""
from __future__ import annotations

import os
import re
import sys
import sysconfig
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

OK, FIX, NOTE = "ok", "fix", "note"
#: the platforms with a desktop Excel (``platform.system()`` names)
WINDOWS, MAC = "Windows", "Darwin"
#: xlwings' configuration file name: a sheet of the workbook, a file beside it, a file of the user
CONF_NAME = "xlwings.conf"
#: the Refresh button's module beside the workbook runs this (``xladdin template`` writes ``<stem>.py``)
SHIM_LINE = "from xladdin_macros.refresh import main"
#: where ``xlwings runpython install`` copies ``xlwings-<version>.applescript`` (xlwings' ``cli.runpython_install``)
APPLESCRIPT_DIR = ("Library", "Application Scripts", "com.microsoft.Excel")
#: Windows' URL security zones (``ZoneId`` of a ``Zone.Identifier`` stream); Office blocks macros from 3 and 4
ZONES = {0: "this computer", 1: "the local intranet", 2: "trusted sites", 3: "the Internet", 4: "restricted sites"}


@dataclass(frozen=True)
class Check:
    status: str  # OK, FIX or NOTE
    text: str


# ------------------------------------------------------------------------------------------ the interpreter
def interpreter_rows(executable: str, environ: Mapping[str, str], system: str,
                     conda_prefix: str | None = None) -> list[tuple[str, str]]:
    """The ``xlwings.conf`` rows that point Excel at this Python: ``Conda Path`` + ``Conda Env`` for a conda
    Python on Windows, else ``Interpreter_Win`` (``pythonw.exe`` beside ``python.exe``: no console window) or
    ``Interpreter_Mac``; none on a system without desktop Excel.

    ``conda_prefix`` is this Python's environment when it is a conda one (a ``conda-meta`` folder in
    ``sys.prefix``), activated or not. xlwings' docs (``addin.md``): on Windows a conda Python needs Conda Path and
    Conda Env ("otherwise errors when using NumPy"), the Interpreter left empty; Conda Path is the installation
    (``CONDA_EXE`` without ``Scripts\\conda.exe``, as xlwings' ``config create`` takes it), Conda Env a name, or
    the full path of an environment outside ``envs`` (``XLPyLoadDLL``).
    """
    exe = PureWindowsPath(executable) if system == WINDOWS else Path(executable)
    if system == WINDOWS:
        prefix = conda_prefix or environ.get("CONDA_PREFIX")
        if prefix:
            prefix_path = PureWindowsPath(prefix)
            conda_exe = environ.get("CONDA_EXE")
            if conda_exe:
                base = PureWindowsPath(conda_exe).parent.parent
            elif prefix_path.parent.name.lower() == "envs":
                base = prefix_path.parent.parent
            else:
                base = prefix_path
            if prefix_path == base:
                env = "base"
            elif prefix_path.parent == base / "envs":
                env = prefix_path.name
            else:
                env = str(prefix_path)
            return [("Conda Path", str(base)), ("Conda Env", env)]
        if exe.name.lower() == "python.exe":
            exe = exe.with_name("pythonw.exe")
        return [("Interpreter_Win", str(exe))]
    if system == MAC:
        return [("Interpreter_Mac", str(exe))]
    return []


def conf_lookup(key: str, layers: list[tuple[str, Mapping[str, str]]]) -> tuple[str, str] | None:
    """(value, where) of ``key`` as xlwings' VBA ``GetConfig`` finds it: the first layer (the workbook's sheet,
    then the file beside it, then the user's file) that has the key, keys compared case-insensitively; an
    empty value counts (it stops the search, as in the VBA)."""
    for where, conf in layers:
        for k, v in conf.items():
            if k.upper() == key.upper():
                return (v or "").strip(), where
    return None


def interpreter_checks(system: str, layers: list[tuple[str, Mapping[str, str]]], this_python: list[tuple[str, str]],
                       exists: Callable[[str], bool], xlwings_version: str) -> list[Check]:
    """Which Python Excel will run for this workbook, and whether it is there.

    ``layers``: the workbook's ``xlwings.conf`` sheet, the ``xlwings.conf`` file beside it, the user's
    ``xlwings.conf`` (in that order, xlwings' config hierarchy). Windows: Conda Path + Conda Env when both are
    set and the interpreter is blank or ``python``/``pythonw`` (``XLPyLoadDLL``), else ``Interpreter_Win``;
    macOS: ``Interpreter_Mac``; the legacy ``Interpreter`` key after either. The Windows Python must have
    ``xlwings64-<version>.dll`` beside it or one folder up (a venv), where ``XLPyLoadDLL`` loads it from.
    On a system without desktop Excel nothing here can be wrong for this machine: notes only.
    """
    rows = "; ".join(f"{k} = {v}" for k, v in this_python)
    add = (f"add to its xlwings.conf sheet (column A key, column B value) {rows}, or run `python -m xladdin "
           "excel-setup` with this Python" if rows else "run `python -m xladdin excel-setup` with the Python Excel "
           "should use")
    if system not in (WINDOWS, MAC):
        named = [f"{k} = {v[0]} ({v[1]})" for k in ("Interpreter_Win", "Interpreter_Mac", "Conda Path", "Conda Env")
                 if (v := conf_lookup(k, layers)) and v[0]]
        return [Check(NOTE, f"no desktop Excel on {system}: the workbook names "
                            + (", ".join(named) if named else "no Python")
                            + "; on the Windows or macOS machine run `python -m xladdin doctor WORKBOOK` (or "
                              "`excel-setup`) with the Python Excel should use")]
    key = "Interpreter_Win" if system == WINDOWS else "Interpreter_Mac"
    found = conf_lookup(key, layers)
    if not found or not found[0]:  # blank: the VBA falls back to the legacy key
        found = conf_lookup("Interpreter", layers) or found
    value, where = found if found else ("", "")
    if system == WINDOWS and value.lower() in ("", "python", "pythonw"):
        conda_path, conda_env = conf_lookup("Conda Path", layers), conf_lookup("Conda Env", layers)
        if conda_path and conda_env and conda_path[0] and conda_env[0]:
            return [_conda_check(conda_path, conda_env, value or "pythonw", exists, xlwings_version)]
    if value.lower() in ("", "python", "pythonw", "python3"):
        shown = f"`{value}` ({where})" if value else "no Python"
        return [Check(FIX, f"the workbook names {shown}: Excel runs `python` from PATH (on Windows often the "
                           f"Microsoft Store alias, not your Python); {add}")]
    checks = [_interpreter_exists(system, value, where, exists, xlwings_version)]
    if this_python and (key, value) not in this_python and checks[0].status == OK:
        checks.append(Check(NOTE, f"Excel will run {value}, not this Python ({rows}): the module checks above are "
                                  "of this one; run doctor with that Python to check it"))
    return checks


def _interpreter_exists(system: str, value: str, where: str, exists: Callable[[str], bool],
                        xlwings_version: str) -> Check:
    path = os.path.expandvars(value)
    if not exists(path):
        return Check(FIX, f"the workbook names {value} ({where}), which does not exist on this machine: correct it "
                          "there, or run `python -m xladdin excel-setup` with the Python Excel should use")
    if system == WINDOWS:
        exe = PureWindowsPath(path)
        dll = f"xlwings64-{xlwings_version}.dll"
        if not any(exists(str(folder / dll)) for folder in (exe.parent, exe.parent.parent)):
            return Check(FIX, f"the workbook names {value} ({where}), but {dll} is neither in {exe.parent} nor in "
                              f"{exe.parent.parent}: xlwings {xlwings_version} is not installed into that Python "
                              "(install the xladdin wheel into it, or name the Python it is in)")
    return Check(OK, f"the workbook runs {value} ({where})")


def _conda_check(conda_path: tuple[str, str], conda_env: tuple[str, str], pythonw: str,
                 exists: Callable[[str], bool], xlwings_version: str) -> Check:
    base, env = PureWindowsPath(os.path.expandvars(conda_path[0])), conda_env[0]
    named = f"Conda Path = {conda_path[0]} ({conda_path[1]}), Conda Env = {env} ({conda_env[1]})"
    if not exists(str(base / "condabin" / "conda.bat")):
        return Check(FIX, f"the workbook names {named}, but {base / 'condabin' / 'conda.bat'} does not exist (a wrong "
                          "folder, or a conda older than 4.6, which xlwings cannot activate): correct Conda Path")
    folder = base if env == "base" else PureWindowsPath(env) if "\\" in env else base / "envs" / env
    dll = f"xlwings64-{xlwings_version}.dll"
    if not exists(str(folder / dll)):
        return Check(FIX, f"the workbook names {named}, but {folder} has no {dll}: xlwings {xlwings_version} is not "
                          f"installed in that environment (conda activate {env}, then install the xladdin wheel)")
    return Check(OK, f"the workbook runs the conda environment {env} of {base} ({conda_env[1]})")


def read_conf_file(text: str) -> dict[str, str]:
    """An ``xlwings.conf`` file: one ``"KEY","value"`` line per setting (the format xlwings' ribbon and
    ``xlwings config create`` write and ``xlwings.utils.read_user_config`` reads)."""
    out = {}
    for line in text.splitlines():
        values = re.findall(r'"[^"]*"', line)
        if len(values) >= 2:
            out[values[0].strip('"')] = values[1].strip('"')
    return out


def conf_file_text(rows: list[tuple[str, str]]) -> str:
    """The ``xlwings.conf`` file for ``rows`` (keys in capitals, as xlwings' docs ask for the file)."""
    for k, v in rows:
        if '"' in k or '"' in v or "\n" in v:
            raise ValueError(f"xlwings.conf cannot hold {k} = {v!r} (a quote or a line break)")
    return "".join(f'"{k.upper()}","{v}"\n' for k, v in rows)


def excel_only(check: Check | None, system: str) -> Check | None:
    """A finding that matters only to desktop Excel is a note on a system without it (the workbook may be
    headed for a Windows or macOS machine, but nothing is wrong for this one)."""
    if check is None or check.status != FIX or system in (WINDOWS, MAC):
        return check
    return Check(NOTE, f"for Excel on Windows or macOS (none on {system}): {check.text}")


# ------------------------------------------------------------------------------------------ the traps
def python_check(version: tuple[int, ...], requires: str | None, xlwings_version: str) -> Check:
    """This Python against the installed xlwings' ``Requires-Python`` (xlwings 0.37.1 dropped 3.10)."""
    shown = ".".join(map(str, version[:3]))
    if not requires:
        return Check(NOTE, f"Python {shown}; xlwings {xlwings_version} states no Requires-Python")
    if satisfies(version, requires):
        return Check(OK, f"Python {shown} meets xlwings {xlwings_version}'s Requires-Python {requires}")
    return Check(FIX, f"Python {shown} is outside xlwings {xlwings_version}'s Requires-Python {requires}: install "
                      "Python 3.11 or newer and the xladdin wheel into it")


def satisfies(version: tuple[int, ...], requires: str) -> bool:
    """``version`` meets a Requires-Python made of ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=`` clauses with
    numeric versions (``>=3.11``, ``>=3.9,<3.14``); anything else raises ValueError."""
    ops = {">=": tuple.__ge__, ">": tuple.__gt__, "<=": tuple.__le__, "<": tuple.__lt__, "==": tuple.__eq__,
           "!=": tuple.__ne__}
    for clause in requires.split(","):
        m = re.fullmatch(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*", clause)
        if not m:
            raise ValueError(f"Requires-Python {requires!r}: cannot read {clause.strip()!r}")
        bound = tuple(int(x) for x in m.group(2).split("."))
        if not ops[m.group(1)](tuple(version[:len(bound)]), bound):
            return False
    return True


def command_check(executable: str, scripts_dirs: list[str], path_env: str, system: str,
                  exists: Callable[[str], bool]) -> Check:
    """Whether typing ``xladdin`` runs this install: its console script lies in one of ``scripts_dirs`` (the
    install's scheme and the user scheme) and that folder comes first on ``PATH``. python.org's Windows installer
    leaves ``Scripts`` off PATH unless "Add python.exe to PATH" is ticked; ``python -m xladdin`` works always."""
    windows = system == WINDOWS
    name = "xladdin.exe" if windows else "xladdin"
    join = (lambda d: str(PureWindowsPath(d) / name)) if windows else (lambda d: str(Path(d) / name))
    here = next((d for d in scripts_dirs if exists(join(d))), None)
    run = f'"{executable}" -m xladdin' if " " in executable else f"{executable} -m xladdin"
    if here is None:
        return Check(NOTE, f"no `xladdin` command was installed beside this Python: run commands as `{run} ...`")

    def norm(d: str) -> str:
        d = d.strip().strip('"').rstrip("\\/")
        return d.lower().replace("/", "\\") if windows else d

    folders = [d for d in path_env.split(";" if windows else ":") if d.strip()]
    first = next((d for d in folders if exists(join(d.strip().strip('"')))), None)
    if first is not None and norm(first) == norm(here):
        return Check(OK, f"`xladdin` runs this install ({here} is on PATH)")
    if first is not None:
        return Check(NOTE, f"`xladdin` on PATH is another install ({first}): run this one as `{run} ...`")
    why = " (python.org's installer leaves it off unless asked)" if windows else ""
    return Check(NOTE, f"the folder of the `xladdin` command ({here}) is not on PATH{why}: run commands as `{run} ...` "
                       "(the same program), or add the folder to PATH")


def applescript_check(system: str, home: str, xlwings_version: str, exists: Callable[[str], bool]) -> Check | None:
    """macOS: the Refresh button's VBA (``RunPython``) calls ``AppleScriptTask("xlwings-<version>.applescript",
    ...)``, which Excel finds only in ``~/Library/Application Scripts/com.microsoft.Excel``, where
    ``xlwings runpython install`` copies it (xlwings' ``cli.runpython_install``; its docs: needed once with the
    standalone VBA module). None elsewhere."""
    if system != MAC:
        return None
    path = Path(home, *APPLESCRIPT_DIR, f"xlwings-{xlwings_version}.applescript")
    if exists(str(path)):
        return Check(OK, f"{path.name} is installed (the Refresh button's AppleScriptTask finds it)")
    return Check(FIX, f"{path} is missing: the Refresh button fails on macOS until you run `xlwings runpython install` "
                      "once (or `python -m xladdin excel-setup`, which runs it), with this Python's xlwings")


def zone_check(workbook: str, system: str, read_zone: Callable[[str], str | None]) -> Check | None:
    """Windows: the Mark of the Web, the ``Zone.Identifier`` alternate data stream a browser or mail client
    writes on a downloaded file. Office blocks the macros of a file from the Internet zone (3, or restricted: 4),
    so the Refresh button does nothing until the file is unblocked. None elsewhere."""
    if system != WINDOWS:
        return None
    text = read_zone(workbook)
    name = PureWindowsPath(workbook).name
    if text is None:
        return Check(OK, f"{name} carries no Mark of the Web (its macros are not blocked as a download)")
    m = re.search(r"^\s*ZoneId\s*=\s*(\d+)", text, flags=re.M)
    zone = int(m.group(1)) if m else None
    if zone is not None and zone < 3:
        return Check(OK, f"{name} carries a Mark of the Web from {ZONES.get(zone, f'zone {zone}')} (not blocked)")
    source = re.search(r"^\s*HostUrl\s*=\s*(\S+)", text, flags=re.M)
    where = ZONES.get(zone, "an unknown zone") + (f", {source.group(1)}" if source else "")
    return Check(FIX, f"{name} carries the Mark of the Web (Zone.Identifier, ZoneId={zone if zone is not None else '?'}: "
                      f"{where}): Excel blocks its macros and the Refresh button does nothing. Close it in Excel, "
                      f"then right-click it > Properties > General > tick Unblock > OK, or in PowerShell "
                      f"`Unblock-File -Path \"{workbook}\"`; or keep it in a Trusted Location (File > Options > "
                      "Trust Center > Trust Center Settings > Trusted Locations)")


def module_check(workbook: str, exists: Callable[[str], bool], read_text: Callable[[str], str],
                 name_problem: Callable[[str, str], str | None]) -> Check:
    """The module beside the workbook: the Refresh button runs ``RunPython "import <stem>; <stem>.main()"``
    (xlwings' quickstart ``SampleCall``, the stem being the workbook's file name), so ``<stem>.py`` must exist,
    ``<stem>`` must be a name that module can have (``name_problem(stem, folder)``: why not, or None; the
    template's :func:`~xladdin.workbook.template.module_name_problem`), and the module must run xladdin's refresh."""
    path = Path(workbook)
    stem, folder = path.stem, path.parent
    problem = name_problem(stem, str(folder))
    if problem is not None:
        base = re.sub(r"\W+", "_", stem).strip("_") or "workbook"
        base = base if base[0].isalpha() or base[0] == "_" else f"w_{base}"
        fixed = next(n for n in [base, *(f"{base}_{i}" for i in range(1, 100))] if name_problem(n, str(folder)) is None)
        copy = " (a copy such as `xladdin_weekly (1).xlsm` gets such a name)" if not stem.isidentifier() else ""
        return Check(FIX, f"the Refresh button runs `import {stem}`, and {problem}{copy}: rename the workbook to "
                          f"{fixed}{path.suffix} and put {fixed}.py beside it, a file with the one line `{SHIM_LINE}`")
    module = folder / f"{stem}.py"
    if not exists(str(module)):
        return Check(FIX, f"{module.name} is missing beside the workbook ({folder}): the Refresh button runs "
                          f"`import {stem}`. Write {module.name} there with the one line `{SHIM_LINE}` (or copy the "
                          "module `xladdin template` wrote beside the workbook this one was copied from)")
    if "xladdin_macros.refresh" not in read_text(str(module)):
        return Check(FIX, f"{module.name} beside the workbook does not run xladdin's refresh (written by an older "
                          f"xladdin, or another program's): make its content the one line `{SHIM_LINE}`")
    return Check(OK, f"{module.name} beside the workbook runs xladdin_macros.refresh.main (the Refresh button's "
                     f"`import {stem}`)")


# ------------------------------------------------------------------------------------------ the real facts
@dataclass(frozen=True)
class Facts:
    """This machine's facts for the checks (tests build their own)."""
    system: str
    executable: str
    environ: Mapping[str, str]
    home: str
    conda_prefix: str | None
    scripts_dirs: list[str]
    exists: Callable[[str], bool]
    read_zone: Callable[[str], str | None]
    read_text: Callable[[str], str]


def real_facts(system: str) -> Facts:
    """The running Python's facts (``system`` is ``platform.system()``)."""
    prefix = Path(sys.prefix)
    schemes = [sysconfig.get_path("scripts"), sysconfig.get_path("scripts", sysconfig.get_preferred_scheme("user"))]
    return Facts(system=system, executable=sys.executable, environ=dict(os.environ), home=str(Path.home()),
                 conda_prefix=str(prefix) if (prefix / "conda-meta").is_dir() else None,
                 scripts_dirs=list(dict.fromkeys(d for d in schemes if d)), exists=os.path.exists,
                 read_zone=read_zone_identifier, read_text=lambda p: Path(p).read_text(encoding="utf-8", errors="replace"))


def read_zone_identifier(path: str) -> str | None:
    """The text of ``path``'s ``Zone.Identifier`` alternate data stream (NTFS names it ``<file>:Zone.Identifier``),
    None when there is none."""
    try:
        with open(f"{path}:Zone.Identifier", encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None
