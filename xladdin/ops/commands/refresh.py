"""``xladdin refresh WORKBOOK``: headless refresh of the weekly workbook, atomic, VBA kept byte-identical."""
from __future__ import annotations

import argparse
import sys

from xladdin.errors import describe, fail
from xladdin.workbook.params import ASOF_DEFAULT

from . import _common, _workbook


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "refresh", help="refresh the weekly workbook without Excel (atomic)",
        description="Re-compute every table of WORKBOOK (.xlsm or .xlsx) with the parameters in its parameters "
                    "sheet and rewrite it through the layout. Atomic: written to a temporary file and swapped in; "
                    "on failure the workbook is unchanged and the error names the step. VBA, the Refresh button "
                    "and xlwings.conf are kept byte-identical.")
    p.add_argument("workbook", metavar="WORKBOOK")
    _common.add_data_option(p, "the sheet's data_dir; blank there = the embedded sample market")
    _workbook.add_asof_option(p, f"the sheet's asof; blank = {ASOF_DEFAULT['en']}")
    _workbook.add_language_option(p, "override the sheet's language")
    _workbook.add_progress_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Refresh; every failure is one message on stderr (the workbook is unchanged), exit 1."""
    from xladdin.workbook.template import (  # lazy: `xladdin --help` imports every command module
        RefreshError,
        refresh_workbook,
    )
    try:
        with _workbook.progress_bar(args, "refresh") as step:
            done = refresh_workbook(args.workbook, data=args.data, asof=args.asof, language=args.language,
                                    progress=step, notice=_note)
    except RefreshError as exc:  # names the step and says the workbook was not changed
        return fail("refresh", str(exc))
    except Exception as exc:  # noqa: BLE001 - not found, unreadable: before anything was written
        return fail("refresh", describe(exc), f"{args.workbook} was not changed")
    _common.say_sample(done.result.sample)
    print(f"refreshed {done.path}")
    return 0


def _note(text: str) -> None:
    print(f"xladdin refresh: note: {text}", file=sys.stderr)
