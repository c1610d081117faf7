"""``xladdin doctor [WORKBOOK]``: what Excel needs on this machine to run the Refresh button and the XA_ functions.

Run with the Python Excel should use. Prints the Python and xlwings versions and checks, each a function of
:mod:`xladdin.ops.platform_checks` (tested with the platform's facts stubbed): this Python against xlwings'
Requires-Python; whether typing ``xladdin`` runs this install (else ``python -m xladdin``); that the
``xladdin_udfs`` modules import; the ``xlwings.conf`` rows that point Excel at this Python; on macOS the
AppleScript file the Refresh button calls. With a workbook: its VBA against the installed xlwings
(``xlwings64-<version>.dll``), the ``<stem>.py`` module beside it, on Windows its Mark of the Web, which Python
Excel will run for it (its ``xlwings.conf`` sheet, the ``xlwings.conf`` file beside it, the user's, in xlwings'
order) and whether that Python is there, ``PYTHONPATH`` entries; on Windows whether Excel trusts access to the
VBA project object model (needed by *Import Functions*). Exit code 1 when something must be fixed on this
machine; on a system without desktop Excel the Excel-only findings are notes.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import locale
import platform
import re
import sys
import zipfile
from pathlib import Path

from xladdin import __version__
from xladdin.ops import platform_checks as pc

MARKS = {pc.OK: "ok ", pc.FIX: "FIX", pc.NOTE: " - "}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "doctor", help="check Python, xlwings and a workbook for Excel use; print the interpreter line to paste",
        description="Run it with the Python that Excel should use. Checks this Python against xlwings, the "
                    "xladdin command on PATH, the xladdin_udfs imports, the xlwings.conf rows for this machine and "
                    "(macOS) the AppleScript file RunPython needs; with a workbook, its VBA against the installed "
                    "xlwings, the module beside it, (Windows) its Mark of the Web, the Python Excel will run for it; "
                    "(Windows) the trust setting that Import Functions needs.")
    p.add_argument("workbook", nargs="?", metavar="WORKBOOK", help="an .xlsm built by `xladdin template` or "
                                                                   "`xladdin excel-setup` (optional)")
    p.set_defaults(func=run)


def machine() -> pc.Facts:
    """This machine's facts (tests replace this function to run doctor as on another platform)."""
    return pc.real_facts(platform.system())


def workbook_vba(path: Path) -> tuple[bool | None, str]:
    """(matches the installed xlwings, what was found) for the workbook's VBA project; None for "cannot tell":
    the project differs from xlwings' standalone one (*Import Functions* adds a module to it) and the version in
    its source cannot be read without oletools."""
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
                       f"with `python -m xladdin template` (or `excel-setup --force`) so that it carries xlwings "
                       f"{installed}'s VBA (xladdin {__version__} runs with xlwings {installed} only)")
    return None, (f"VBA differs from xlwings {installed}'s standalone project (Import Functions adds a module; that is "
                  "expected); the xlwings version it names cannot be read without oletools (pip install oletools, then "
                  "run doctor again)")


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


def conf_layers(path: Path, sheet: dict[str, str], user_file: str) -> list[tuple[str, dict[str, str]]]:
    """xlwings' config hierarchy for the workbook ``path``: its sheet, the ``xlwings.conf`` file beside it, the
    user's file (``user_file``: xlwings' ``USER_CONFIG_FILE``)."""
    layers = [("its xlwings.conf sheet", sheet)]
    for where, file in ((f"{pc.CONF_NAME} beside it", path.parent / pc.CONF_NAME),
                        (f"the user's {user_file}", Path(user_file))):
        if file.is_file():  # written by the VBA (the ANSI code page) or by excel-setup (the same)
            layers.append((where, pc.read_conf_file(file.read_text(encoding=locale.getpreferredencoding(False),
                                                                     errors="replace"))))
    return layers


def vbom_trusted(system: str) -> bool | None:
    """Windows: Excel's "Trust access to the VBA project object model" (AccessVBOM); None elsewhere/unknown."""
    if system != pc.WINDOWS:
        return None
    import winreg  # lazy: Windows only
    for version in ("16.0", "15.0"):
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, rf"Software\Microsoft\Office\{version}\Excel\Security") as k:
                return winreg.QueryValueEx(k, "AccessVBOM")[0] == 1
        except OSError:
            continue
    return False


def run(args: argparse.Namespace) -> int:
    import xlwings  # lazy: `xladdin --help` imports every command module

    from xladdin.workbook.template import (  # lazy: `doctor --help` starts without pandas
        module_name_problem,
        udf_modules,
    )
    facts = machine()
    problems = 0

    def show(check: pc.Check | None) -> None:
        nonlocal problems
        if check is not None:
            problems += check.status == pc.FIX
            print(f"[{MARKS[check.status]}] {check.text}")

    def line(ok: bool, text: str) -> None:
        show(pc.Check(pc.OK if ok else pc.FIX, text))

    version = xlwings.__version__
    print(f"Python {platform.python_version()} at {facts.executable}; xladdin {__version__}; "
          f"xlwings {version} ({facts.system})")
    show(pc.python_check(sys.version_info, importlib.metadata.metadata("xlwings")["Requires-Python"], version))
    show(pc.command_check(facts.executable, facts.scripts_dirs, facts.environ.get("PATH", ""), facts.system,
                          facts.exists))
    for mod in udf_modules():
        try:
            importlib.import_module(mod)
            line(True, f"{mod} imports")
        except Exception as exc:  # any import failure is the user's to fix: show it
            line(False, f"{mod} does not import: {type(exc).__name__}: {exc}")
    rows = pc.interpreter_rows(facts.executable, facts.environ, facts.system, facts.conda_prefix)
    if rows:
        print("xlwings.conf rows for this Python (sheet xlwings.conf, column A key, column B value):")
        for k, v in rows:
            print(f"    {k}\t{v}")
    else:
        print(f"[ - ] no desktop Excel on {facts.system}: run `python -m xladdin doctor` on the Windows or macOS "
              "machine, with the Python Excel should use, for the xlwings.conf rows of that machine")
    show(pc.applescript_check(facts.system, facts.home, version, facts.exists))
    if args.workbook:
        path = Path(args.workbook)
        if not path.is_file():
            raise FileNotFoundError(f"workbook {path} not found")
        ok, text = workbook_vba(path)
        show(pc.excel_only(pc.Check({True: pc.OK, False: pc.FIX, None: pc.NOTE}[ok], text), facts.system))
        show(pc.excel_only(pc.module_check(str(path), facts.exists, facts.read_text, module_name_problem),
                           facts.system))
        show(pc.zone_check(str(path), facts.system, facts.read_zone))
        sheet = workbook_conf(path)
        for check in pc.interpreter_checks(facts.system, conf_layers(path, sheet, xlwings.USER_CONFIG_FILE), rows,
                                           facts.exists, version):
            show(check)
        pp = next((v for k, v in sheet.items() if k.upper() == "PYTHONPATH"), "")
        for entry in [e for e in pp.split(";") if e]:
            found = facts.exists(entry)
            show(pc.excel_only(pc.Check(pc.OK if found else pc.FIX, f"PYTHONPATH entry {entry} "
                                        + ("exists" if found else "does not exist here")), facts.system))
    trusted = vbom_trusted(facts.system)
    if trusted is None:
        print("[ - ] Windows Excel only: Import Functions needs File > Options > Trust Center > Trust Center Settings > "
              "Macro Settings > \"Trust access to the VBA project object model\". macOS Excel runs RunPython "
              "(the Refresh button) but not classic UDFs: use xlwings Lite for the XA_ functions there.")
    else:
        line(trusted, "Trust access to the VBA project object model is " + ("on" if trusted else
             "off: turn it on (File > Options > Trust Center > Trust Center Settings > Macro Settings) for Import "
             "Functions"))
    return 1 if problems else 0
