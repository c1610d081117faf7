"""``xladdin report OUT.xlsx``: the values-only weekly report (no macros, no formulas, sanitised text)."""
from __future__ import annotations

import argparse

from xladdin.errors import describe, fail, file_state, unchanged_note

from . import _common, _workbook


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="write the values-only weekly report (.xlsx) for mailing",
        description="Write OUT.xlsx with the same sheets, tables and charts as the template, values only (no VBA, "
                    "no formulas; text from data that starts with = + - @ is prefixed with '), plus a hidden "
                    "_summary sheet that `xladdin send` reads for the mail body.")
    p.add_argument("out", metavar="OUT.xlsx")
    _workbook.add_param_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report; every failure is one message on stderr saying OUT was not changed, exit 1."""
    from xladdin.workbook.report import build_report  # lazy: `xladdin --help` imports every command module
    before = file_state(args.out)
    try:
        params = _workbook.params_from_args(args)
        _common.guard_outputs(args, [("OUT", args.out)], params.data_dir)
        from xladdin.data.loaders import open_market  # lazy: `report --help` starts without the loaders
        market = open_market(args.data, params.data_dir)
        with _workbook.progress_bar(args, "report") as step:
            result = build_report(args.out, market, params, progress=step)
    except Exception as exc:  # noqa: BLE001 - written atomically: OUT is as it was
        return fail("report", describe(exc), unchanged_note(args.out, before))
    _common.say_sample(result.sample)
    print(f"wrote {args.out} (as of {result.asof:%Y-%m-%d})")
    if result.notes:
        for k, why in result.notes.items():
            print(f"  not computed: {k}: {why}")
    return 0
