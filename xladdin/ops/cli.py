"""Command-line interface: ``xladdin <command> ...`` (the console script) or ``python -m xladdin <command> ...``
(:mod:`xladdin.__main__`); either way the program calls itself ``xladdin`` in usage and error lines.

Each command lives in :mod:`xladdin.ops.commands.<name>` and exposes ``register(subparsers)``, which
adds its parser and sets ``func`` to the function that runs it (returning an exit code). A command
catches its own errors and prints one message (and what it left unchanged), exit 1; what one lets
through still ends here as a message, never a traceback (``XLADDIN_DEBUG=1`` shows it).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from xladdin import __version__
from xladdin.errors import describe, format_error

#: commands that end the process without tearing the interpreter down when run as the program: the
#: weekly job holds ~1.5 GB of small and large objects, whose one-by-one release at exit took 0.3-0.45 s
FAST_EXIT = frozenset({"weekly"})
#: numpy's switch for transparent huge pages on its large arrays (Linux; read once, when numpy is imported). The
#: command line turns them off unless the user set it: the weekly job's arrays are allocated and freed many
#: times and shared with its forked compute lane, and on the development VM huge pages made it 0.4-0.6 s
#: slower, its system time twice as long (bench/README.md, "Sixth round"); numpy documents the switch for
#: such cases ("Runtime environment variables")
NUMPY_HUGEPAGE_ENV = "NUMPY_MADVISE_HUGEPAGE"
#: command -> the tables of ``--data DIR`` it reads whole, decoded while the program starts, in the order it reads
#: them (:mod:`xladdin.data.early`): the weekly job reads etf_daily first, then the largest files first, and the
#: stock-level tables from its windows' dates on (not decoded early: a test keeps the two apart)
EARLY_READS = {"weekly": ("etf_daily", "northbound_holdings", "index_weights")}
#: commands, in the order ``--help`` lists them (module ``xladdin.ops.commands.<name with _ for ->``)
COMMAND_MODULES = ["sample", "validate", "fetch", "update", "study", "style", "backtest", "dashboard", "crowding",
                   "template", "refresh", "report", "send", "weekly", "doctor", "excel-setup"]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of command ``only`` alone (when it is one): importing one
    command module instead of all of them saves about 0.4 s of start-up."""
    parser = argparse.ArgumentParser(  # prog fixed: ``python -m xladdin`` would otherwise show ``__main__.py``
        prog="xladdin", description="A-share fund-flow research toolkit: data, methods M1-M14, workbooks, report.")
    parser.add_argument("--version", action="version", version=f"xladdin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [only] if only in COMMAND_MODULES else COMMAND_MODULES:
        importlib.import_module(f"xladdin.ops.commands.{name.replace('-', '_')}").register(sub)  # excel-setup
    return parser


def main(argv: list[str] | None = None) -> int:
    program = argv is None  # run as the program (console script, ``python -m``), not called from Python
    argv = sys.argv[1:] if argv is None else list(argv)
    if program:
        small_pages_for_numpy()
        _start_early_reads(argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = int(args.func(args) or 0)
        if program and args.command in FAST_EXIT and sys.getprofile() is None and sys.gettrace() is None:
            _exit_now(rc)  # (not under a profiler or a tracer: they write their results at exit)
        return rc
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, KeyError, FileNotFoundError, OSError) as exc:
        print(f"xladdin {args.command}: error: {format_error(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a command let an unexpected error through: still one message, not a traceback
        if os.environ.get("XLADDIN_DEBUG"):
            raise
        print(f"xladdin {args.command}: error: {describe(exc)} (unexpected; rerun with XLADDIN_DEBUG=1 to see "
              "where it happened)", file=sys.stderr)
        return 1


def small_pages_for_numpy() -> None:
    """Ask numpy (not imported yet) for ordinary pages instead of transparent huge pages on its large arrays
    (:data:`NUMPY_HUGEPAGE_ENV`), unless the user chose; no effect once numpy is imported or off Linux. Only
    for the program: Python code calling :func:`main` keeps its own process's settings."""
    if "numpy" not in sys.modules:
        os.environ.setdefault(NUMPY_HUGEPAGE_ENV, "0")


def _start_early_reads(argv: list[str]) -> None:
    """For a command of :data:`EARLY_READS` given ``--data DIR``: decode DIR's files it reads whole while the
    program imports the rest (:mod:`xladdin.data.early`; the command's load takes them)."""
    names = EARLY_READS.get(argv[0]) if argv else None
    if not names:
        return
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--data")
    pre.add_argument("--update", action="store_true")  # the files are replaced first: decoded for nothing
    try:
        known, _ = pre.parse_known_args(argv[1:])
    except SystemExit:  # a malformed line: the command's own parser says what is wrong
        return
    if known.data and not known.update:
        from xladdin.data import early  # (stdlib only until its thread imports pyarrow)
        early.start(known.data, names)


def _exit_now(rc: int) -> None:
    """End the process with ``rc`` once its output is flushed, skipping the interpreter's teardown (the
    freeing of every object one by one; the system reclaims the memory at once). Only after a command
    has finished: its files are closed and committed, nothing is left for exit handlers to do."""
    import logging  # lazy: only for the weekly job's fast exit (`doctor` starts without logging)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more to say
            pass
    os._exit(rc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
