"""``xladdin excel-setup [FOLDER] [--data DIR]``: everything Excel needs on this machine, in one folder.

Writes into FOLDER (default ``~/xladdin``, a folder OneDrive does not sync: xlwings reads no folder config
there) the tracking workbook ``xladdin_weekly.xlsm`` with the rows that name the running Python on its
``xlwings.conf`` sheet, its module ``xladdin_weekly.py`` (the Refresh button's ``import xladdin_weekly``), and an
``xlwings.conf`` file with the same rows and ``UDF Modules`` (xlwings' folder configuration: other workbooks of
the folder find the same Python). With ``--data DIR`` the workbook is filled from DIR and its Parameters sheet
keeps ``data_dir`` = DIR (absolute), so the Refresh button reads the same data; with ``--embed-data`` the tables travel
in hidden sheets of the workbook instead and ``data_dir`` stays blank. On macOS it installs the
AppleScript file the Refresh button calls (``xlwings runpython install``) when missing. Then it prints the
steps left to do by hand on this platform. Which Python and which rows: :mod:`xladdin.ops.platform_checks`.
"""
from __future__ import annotations

import argparse
import locale
import platform
from pathlib import Path

from xladdin.errors import describe, fail, file_state, unchanged_note
from xladdin.fileguard import atomic_write_text
from xladdin.ops import platform_checks as pc

from . import _common, _workbook

WORKBOOK = "xladdin_weekly.xlsm"
DEFAULT_FOLDER = "~/xladdin"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "excel-setup", help="set up Excel on this machine: the tracking workbook, its module and xlwings.conf in a folder",
        description=f"Run it with the Python Excel should use. Writes {WORKBOOK} (its xlwings.conf sheet naming this "
                    "Python), its module xladdin_weekly.py and an xlwings.conf file into FOLDER, sets data_dir on the "
                    "Parameters sheet with --data, installs the AppleScript file RunPython needs on macOS, and "
                    "prints the steps left to do in Excel on this platform.")
    p.add_argument("folder", nargs="?", default=DEFAULT_FOLDER, metavar="FOLDER",
                   help=f"where to write the workbook (default: {DEFAULT_FOLDER}; created if missing)")
    _workbook.add_param_args(p)
    _workbook.add_embed_args(p)
    p.add_argument("--force", action="store_true", help=f"replace an existing {WORKBOOK} in FOLDER (your edits to it "
                                                        "are lost; the Refresh button updates it in place instead)")
    p.set_defaults(func=run)


def machine() -> pc.Facts:
    """This machine's facts (tests replace this function to set up as on another platform)."""
    return pc.real_facts(platform.system())


def install_applescript() -> None:
    """xlwings' own ``xlwings runpython install`` (copies ``xlwings-<version>.applescript`` for Excel)."""
    import xlwings.cli  # lazy: only on macOS, only when the file is missing
    xlwings.cli.runpython_install(None)


def write_folder_conf(folder: Path, rows: list[tuple[str, str]]) -> Path:
    """``FOLDER/xlwings.conf`` with ``rows`` (keys already there are replaced, others kept). Written in the
    system's ANSI code page, which the VBA's ``Open ... For Input`` reads, as xlwings' ``config create`` does."""
    path = folder / pc.CONF_NAME
    encoding = locale.getpreferredencoding(False)
    kept = {}
    if path.is_file():
        kept = pc.read_conf_file(path.read_text(encoding=encoding, errors="replace"))
    keys = {k.upper() for k, _ in rows}
    merged = [(k, v) for k, v in kept.items() if k.upper() not in keys] + rows
    atomic_write_text(path, pc.conf_file_text(merged), encoding=encoding)
    return path


def run(args: argparse.Namespace) -> int:
    """Build the folder; every failure is one message on stderr saying what was left unchanged, exit 1."""
    from xladdin.data.loaders import open_market  # lazy: `xladdin --help` imports every command module
    from xladdin.workbook.template import build_template, udf_modules  # lazy: as above
    facts = machine()
    folder = Path(args.folder).expanduser().resolve()
    out = folder / WORKBOOK
    before = file_state(out)
    try:
        if out.exists() and not args.force:
            raise ValueError(f"{out} exists (its edits would be lost): refresh it with its button or "
                                  f"`python -m xladdin refresh {out}`, or pass --force to build it anew")
        params = _workbook.params_from_args(args)
        _workbook.check_embed_args(args, params)
        _common.guard_outputs(args, [("the workbook", out), ("its module", out.with_suffix(".py")),
                                     ("the folder's xlwings.conf", folder / pc.CONF_NAME)], params.data_dir)
        if args.data and args.embed_data:  # the data travels in the workbook: data_dir stays blank
            market = open_market(Path(args.data).expanduser().resolve())
        else:
            if args.data:
                data = Path(args.data).expanduser().resolve()
                params = params.replace(data_dir=str(data))  # the Refresh button reads the same data
            market = open_market(params.data_dir or None)
        rows = pc.interpreter_rows(facts.executable, facts.environ, facts.system, facts.conda_prefix)
        conf = dict(rows)
        with _workbook.progress_bar(args, "excel-setup") as step:
            build_template(out, market, params, progress=step,
                           interpreter=conf.get("Interpreter_Win") or conf.get("Interpreter_Mac"),
                           conda_path=conf.get("Conda Path"), conda_env=conf.get("Conda Env"),
                           embed=args.embed_data, embed_since=args.embed_since)
    except Exception as exc:  # noqa: BLE001 - written atomically: the workbook is as it was
        return fail("excel-setup", describe(exc), unchanged_note(str(out), before))
    _common.say_sample(market.sample)
    where = (f"the tables of {market.source}, carried in the workbook's hidden sheets" if args.embed_data
             else params.data_dir or "the embedded sample market")
    print(f"wrote {out} (+ {out.with_suffix('.py').name}); data: {where}")
    if rows:
        try:
            conf_file = write_folder_conf(folder, rows + [("UDF Modules", ";".join(udf_modules()))])
            print(f"wrote {conf_file}: " + "; ".join(f"{k} = {v}" for k, v in rows) + " (also on the workbook's "
                  "xlwings.conf sheet)")
        except (OSError, UnicodeError, ValueError) as exc:  # the sheet has the rows: the file is a convenience
            print(f"the workbook's xlwings.conf sheet names this Python; {folder / pc.CONF_NAME} was not written "
                  f"({describe(exc)})")
    for line in next_steps(facts, out):
        print(line)
    return 0


def next_steps(facts: pc.Facts, out: Path) -> list[str]:
    """What is left to do by hand on this platform (macOS: installs the AppleScript file first when missing)."""
    run = f'"{facts.executable}" -m xladdin' if " " in facts.executable else f"{facts.executable} -m xladdin"
    doctor = f'{run} doctor "{out}"'
    if facts.system == pc.WINDOWS:
        return [
            "Next, in Excel on Windows:",
            f"  1. Open {out}; on the yellow bar SECURITY WARNING click 启用内容 Enable Content (or add {out.parent} "
            "as a Trusted Location: File > Options > Trust Center > Trust Center Settings > Trusted Locations). A "
            "copy that came by download or mail is blocked first: right-click it > Properties > tick Unblock, or "
            f"PowerShell `Unblock-File -Path \"{out}\"`.",
            "  2. Edit 参数 Parameters if you like, then click 刷新 Refresh on the cover sheet.",
            "  3. Excel functions (XA_...): File > Options > Trust Center > Trust Center Settings > Macro Settings > "
            "tick Trust access to the VBA project object model; then Alt+F8 > ImportPythonUDFs > Run, and type "
            "=XA_VERSION() in an empty cell.",
            f"  4. If something fails: {doctor}",
        ]
    if facts.system == pc.MAC:
        check = pc.applescript_check(facts.system, facts.home, _xlwings_version(), facts.exists)
        lines = ["Next, in Excel on macOS:"]
        if check is not None and check.status == pc.FIX:
            try:
                install_applescript()
                lines.append(f"  0. Installed xlwings-{_xlwings_version()}.applescript for the Refresh button "
                             "(xlwings runpython install).")
            except OSError as exc:
                lines.append(f"  0. Run `xlwings runpython install` once (it failed here: {describe(exc)}): the "
                             "Refresh button needs the AppleScript file it installs.")
        return lines + [
            f"  1. Open {out}, click Enable Macros, edit 参数 Parameters if you like, click 刷新 Refresh.",
            "  2. Excel functions (XA_...) do not run in macOS Excel through xlwings (its docs: macOS does not support "
            "UDFs): use xlwings Lite there (docs/excel.md, \"xlwings Lite\").",
            f"  3. If something fails: {doctor}",
        ]
    return [f"No desktop Excel on {facts.system}: the workbook names no Python. On the Windows or macOS machine run "
            "`python -m xladdin excel-setup` with the Python Excel should use; here, refresh it headless with "
            f'`{run} refresh "{out}"`.']


def _xlwings_version() -> str:
    import xlwings  # lazy: ~0.2 s to import
    return xlwings.__version__
