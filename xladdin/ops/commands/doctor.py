"""``xladdin doctor [WORKBOOK]``: what Excel needs on this machine to run the Refresh button and the XA_ functions.

Prints the Python and xlwings versions, whether the workbook's VBA project is the installed
xlwings' (the VBA names ``xlwings64-<version>.dll``: both must match), the ``xlwings.conf`` line that
points Excel at this Python, whether the ``xladdin_udfs`` modules import, and, on Windows, whether Excel
trusts access to the VBA project object model (needed by *Import Functions*). Exit code 1 when
something must be fixed.
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import re
import sys
import zipfile
from pathlib import Path

from xladdin import __version__

CHECK, FIX = "ok ", "FIX"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "doctor", help="check Python, xlwings and a workbook for Excel use; print the interpreter line to paste",
        description="Run it with the Python that Excel should use. Checks the xlwings version against the "
                    "workbook's VBA, prints the xlwings.conf line for this machine, imports the xladdin_udfs modules "
                    "and (Windows) checks the trust setting that Import Functions needs.")
    p.add_argument("workbook", nargs="?", metavar="WORKBOOK", help="an .xlsm built by `xladdin template` (optional)")
    p.set_defaults(func=run)


def interpreter_lines(executable: str | None = None, environ: dict | None = None,
                      system: str | None = None) -> list[tuple[str, str]]:
    """The ``xlwings.conf`` key/value rows that point Excel at this Python (conda first when active)."""
    exe = Path(executable or sys.executable)
    env = os.environ if environ is None else environ
    system = system or platform.system()
    prefix, name = env.get("CONDA_PREFIX"), env.get("CONDA_DEFAULT_ENV")
    if system == "Windows":
        if prefix and name:
            conda_exe = env.get("CONDA_EXE")
            base = Path(conda_exe).parent.parent if conda_exe else Path(prefix)
            return [("Conda Path", str(base)), ("Conda Env", name)]
        pythonw = exe.with_name("pythonw.exe")
        return [("Interpreter_Win", str(pythonw if pythonw.exists() or exe.name.lower() == "python.exe" else exe))]
    if system == "Darwin":
        return [("Interpreter_Mac", str(exe))]
    return []  # no desktop Excel on this system


def workbook_vba(path: Path) -> tuple[bool, str]:
    """(matches the installed xlwings, what was found) for the workbook's VBA project."""
    from xladdin.workbook.template import (  # lazy: `doctor --help` starts without pandas
        vba_project_bytes,
        xlwings_version,
    )
    with zipfile.ZipFile(path) as z:
        if "xl/vbaProject.bin" not in z.namelist():
            return False, "no VBA project (not a macro workbook): the Refresh button needs `xladdin template`"
        vba = z.read("xl/vbaProject.bin")
    installed = xlwings_version()
    if vba == vba_project_bytes():
        return True, f"VBA is xlwings {installed}'s standalone project (xlwings64-{installed}.dll)"
    found = _vba_dll_version(path)
    if found == installed:
        return True, f"VBA names xlwings64-{found}.dll (= installed xlwings {installed})"
    if found:
        return False, (f"VBA names xlwings64-{found}.dll but xlwings {installed} is installed: rebuild the workbook "
                       f"with `xladdin template`, or pip install xlwings=={found}")
    return False, (f"VBA differs from xlwings {installed}'s standalone project (version unreadable without oletools): "
                   "rebuild the workbook with `xladdin template`")


def _vba_dll_version(path: Path) -> str | None:
    """The version in the VBA's ``xlwings64-<version>.dll`` declaration, read with oletools when installed."""
    try:
        from oletools.olevba import VBA_Parser  # lazy: only with a workbook to check (CLI start-up)
    except ImportError:
        return None
    vp = VBA_Parser(str(path))
    try:
        for _, _, _, code in vp.extract_all_macros():
            m = re.search(r"xlwings(?:64|32)-([0-9][0-9A-Za-z.\-]*)\.dll", code)
            if m:
                return m.group(1)
    finally:
        vp.close()
    return None


def workbook_conf(path: Path) -> dict[str, str]:
    """Key/value rows of the workbook's ``xlwings.conf`` sheet (column A:B from A1 to the first blank)."""
    from xladdin.data.sources import open_workbook  # lazy: only with a workbook to check (CLI start-up)
    wb = open_workbook(path, read_only=True, keep_vba=True)
    try:
        if "xlwings.conf" not in wb.sheetnames:
            return {}
        out = {}
        for key, value, *_ in wb["xlwings.conf"].iter_rows(min_col=1, max_col=2, values_only=True):
            if key in (None, ""):
                break
            out[str(key)] = "" if value is None else str(value)
        return out
    finally:
        wb.close()


def vbom_trusted() -> bool | None:
    """Windows: Excel's "Trust access to the VBA project object model" (AccessVBOM); None elsewhere/unknown."""
    if platform.system() != "Windows":
        return None
    import winreg  # Windows only
    for version in ("16.0", "15.0"):
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, rf"Software\Microsoft\Office\{version}\Excel\Security") as k:
                return winreg.QueryValueEx(k, "AccessVBOM")[0] == 1
        except OSError:
            continue
    return False


def run(args: argparse.Namespace) -> int:
    import xlwings  # lazy: `xladdin --help` imports every command module

    from xladdin.workbook.template import udf_modules  # lazy: `doctor --help` starts without pandas
    problems = 0

    def line(ok: bool, text: str) -> None:
        nonlocal problems
        problems += not ok
        print(f"[{CHECK if ok else FIX}] {text}")

    print(f"Python {platform.python_version()} at {sys.executable}; xladdin {__version__}; "
          f"xlwings {xlwings.__version__} ({platform.system()})")
    for mod in udf_modules():
        try:
            importlib.import_module(mod)
            line(True, f"{mod} imports")
        except Exception as exc:  # any import failure is the user's to fix: show it
            line(False, f"{mod} does not import: {type(exc).__name__}: {exc}")
    rows = interpreter_lines()
    if rows:
        print("xlwings.conf rows for this machine (sheet xlwings.conf, column A key, column B value):")
        for k, v in rows:
            print(f"    {k}\t{v}")
    else:
        print(f"no desktop Excel on {platform.system()}: run `xladdin doctor` on the Windows or macOS machine, "
              "with the Python Excel should use, for the xlwings.conf rows to paste")
    if args.workbook:
        path = Path(args.workbook)
        if not path.is_file():
            raise FileNotFoundError(f"workbook {path} not found")
        ok, text = workbook_vba(path)
        line(ok, text)
        conf = workbook_conf(path)
        keys = {k.upper() for k in conf}
        if {"INTERPRETER_WIN", "INTERPRETER_MAC", "CONDA PATH"} & keys:
            for k in ("Interpreter_Win", "Interpreter_Mac", "Conda Path", "Conda Env"):
                if k.upper() in keys:
                    print(f"    workbook has {k} = {next(v for c, v in conf.items() if c.upper() == k.upper())}")
        else:
            line(False, "the workbook's xlwings.conf names no Python: add the row(s) above, or Excel runs `python` "
                        "from PATH (on Windows often the Microsoft Store alias, not your Python)")
        pp = next((v for k, v in conf.items() if k.upper() == "PYTHONPATH"), "")
        for entry in [e for e in pp.split(";") if e]:
            line(Path(entry).is_dir(), f"PYTHONPATH entry {entry} {'exists' if Path(entry).is_dir() else 'does not exist here'}")
    trusted = vbom_trusted()
    if trusted is None:
        print("[ - ] Windows Excel only: Import Functions needs File > Options > Trust Center > Trust Center Settings > "
              "Macro Settings > \"Trust access to the VBA project object model\". macOS Excel runs RunPython "
              "(the Refresh button) but not classic UDFs: use xlwings Lite for the XA_ functions there.")
    else:
        line(trusted, "Trust access to the VBA project object model is " + ("on" if trusted else
             "off: turn it on (File > Options > Trust Center > Trust Center Settings > Macro Settings) for Import "
             "Functions"))
    return 1 if problems else 0
