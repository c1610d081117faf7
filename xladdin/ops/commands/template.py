"""``xladdin template OUT.xlsm``: build the weekly tracking macro workbook (Refresh button, xlwings VBA)."""
from __future__ import annotations

import argparse
from pathlib import Path

from xladdin.errors import describe, fail, file_state, unchanged_note

from . import _common, _workbook


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "template", help="build the weekly tracking workbook (.xlsm with a Refresh button)",
        description="Build OUT.xlsm: the weekly tables, cover and parameters sheets laid out by "
                    "workbooks/layout.toml and filled from --data (default: the parameter data_dir, else the "
                    "embedded sample), an xlwings.conf sheet, xlwings' standalone VBA (RunPython, no add-in needed) "
                    "and a Refresh button. Also writes OUT.py beside it: the module the button's macro imports.")
    p.add_argument("out", metavar="OUT.xlsm", help="workbook to write (the name must be a Python module name)")
    _workbook.add_param_args(p)
    p.add_argument("--pythonpath", help="PYTHONPATH for the xlwings.conf sheet (default: none); xladdin itself must "
                                        "be installed into the Python Excel runs")
    p.add_argument("--interpreter", metavar="PATH", help="full path of the Python Excel runs: a Windows path "
                   "(...\\pythonw.exe) fills Interpreter_Win, a macOS path fills Interpreter_Mac "
                   "(`xladdin doctor` prints it for this machine)")
    p.add_argument("--conda-path", metavar="DIR", help="Anaconda/Miniconda folder (Conda Path; Windows), with --conda-env")
    p.add_argument("--conda-env", metavar="NAME", help="conda environment name (Conda Env), with --conda-path")
    _workbook.add_embed_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the workbook; every failure is one message on stderr saying OUT was not changed, exit 1."""
    from xladdin.workbook.template import (  # lazy: `xladdin --help` imports every command module
        build_template,
        conf_rows,
        xlwings_version,
    )
    before = file_state(args.out)
    try:
        conf_rows(args.pythonpath, args.interpreter, args.conda_path, args.conda_env)  # bad options fail before the work
        params = _workbook.params_from_args(args)
        _workbook.check_embed_args(args, params)
        out = Path(args.out)
        _common.guard_outputs(args, [("OUT", out), ("the module beside it", out.with_suffix(".py"))], params.data_dir)
        from xladdin.data.loaders import open_market  # lazy: `template --help` starts without the loaders
        market = open_market(args.data, params.data_dir)
        with _workbook.progress_bar(args, "template") as step:
            out = build_template(args.out, market, params, pythonpath=args.pythonpath, progress=step,
                                 interpreter=args.interpreter, conda_path=args.conda_path, conda_env=args.conda_env,
                                 embed=args.embed_data, embed_since=args.embed_since)
    except Exception as exc:  # noqa: BLE001 - written atomically: OUT is as it was
        return fail("template", describe(exc), unchanged_note(args.out, before))
    _common.say_sample(market.sample)
    print(f"wrote {out} (+ {out.with_suffix('.py').name}); VBA from xlwings {xlwings_version()} standalone quickstart")
    if args.embed_data:
        print(f"it carries the tables of {market.source} in hidden sheets"
              + (f" (rows from {args.embed_since} on)" if args.embed_since else "")
              + ": its Refresh reads them while data_dir is blank, in Excel and in xlwings Lite")
        _say_headless_limit(out)
    if not (args.interpreter or args.conda_path):
        print("its xlwings.conf sheet names no Python: Excel runs `python` from PATH unless you add Interpreter_Win / "
              "Interpreter_Mac or Conda Path + Conda Env there (`python -m xladdin excel-setup FOLDER` builds one that "
              "names the Python it runs with; `xladdin doctor` prints the rows for this machine)")
    return 0


def _say_headless_limit(out: Path) -> None:
    """A note when a workbook carrying its data holds more XML than ``xladdin refresh`` opens (the same limit)."""
    from xladdin.data import sources  # lazy, as the loaders above; read at call time: the limit has one owner
    size, limit = sources.workbook_xml_bytes(out), sources.MAX_WORKBOOK_XML
    if size > limit:
        print(f"note: it holds {size:,} bytes of XML, more than `xladdin refresh` opens ({limit:,}: openpyxl keeps "
              "every cell in memory): the Refresh in Excel and in xlwings Lite reads it, the headless refresh "
              "refuses it; for that one, build it with fewer rows (--embed-since DATE)")
