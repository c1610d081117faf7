"""``xladdin template OUT.xlsm``: build the weekly tracking macro workbook (Refresh button, xlwings VBA)."""
from __future__ import annotations

import argparse

from . import _common, _workbook


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "template", help="build the weekly tracking workbook (.xlsm with a Refresh button)",
        description="Build OUT.xlsm: the eight weekly tables, cover and parameters sheets laid out by "
                    "workbooks/layout.toml and filled from --data (default: the embedded sample), an xlwings.conf "
                    "sheet, xlwings' standalone VBA (RunPython, no add-in needed) and a Refresh button. Also writes "
                    "OUT.py beside it: the module the button's macro imports.")
    p.add_argument("out", metavar="OUT.xlsm", help="workbook to write (the name must be a Python module name)")
    _workbook.add_param_args(p)
    p.add_argument("--pythonpath", help="PYTHONPATH for the xlwings.conf sheet (default: this repository's folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the workbook; every failure is one message on stderr saying OUT was not changed, exit 1."""
    from ..errors import describe, fail, file_state, unchanged_note
    from ..template import build_template, xlwings_version
    before = file_state(args.out)
    try:
        params = _workbook.params_from_args(args)
        market = _common.load_data(argparse.Namespace(data=args.data))
        with _workbook.progress_bar(args, "template") as step:
            out = build_template(args.out, market, params, pythonpath=args.pythonpath, progress=step)
    except Exception as exc:  # noqa: BLE001 - written atomically: OUT is as it was
        return fail("template", describe(exc), unchanged_note(args.out, before))
    print(f"wrote {out} (+ {out.with_suffix('.py').name}); VBA from xlwings {xlwings_version()} standalone quickstart")
    return 0
