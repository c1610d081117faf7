"""``xladdin weekly --out DIR``: the one-shot weekly job (load, validate, compute, write, optionally send)."""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from xladdin.errors import describe, fail
from xladdin.fileguard import atomic_write_text
from xladdin.ops.config import check_subject

from . import _common
from ._common import guard_outputs, input_files
from ._workbook import add_param_args, params_from_args
from .send import add_mail_options

DESCRIPTION = """\
Run the whole week in one go: load the canonical tables (--data; default: the embedded sample),
validate them, compute every table of the tracking workbook, write the values-only report
DIR/xladdin_weekly_<asof>.xlsx and, with --send, mail it (summary in the body, report attached;
a copy of the message is kept as DIR/xladdin_weekly_<asof>.eml). --dry-run builds that .eml but
connects to nothing.

All or nothing: the files are built in a hidden staging folder inside DIR (beside it when DIR
does not exist yet) and moved into DIR only when every step has succeeded, each by one atomic
rename over its final name, the report last. On any failure DIR is left exactly as it was (a
report of the same date from an earlier run is kept byte for byte), the staging folder is
removed, and the step that failed is printed. Killed at any instant, the job leaves every file
in DIR complete (the earlier one or the new one); the next run removes the staging folder the
killed run left and says so. The mail goes out before the files are moved, so a failed send
leaves no report either.

Parameters: defaults, then --params FILE (.toml with keys or a [params] table; the parameters
sheet of an .xlsx/.xlsm written by xladdin; or a key,value .csv), then --set KEY=VALUE,
--language and --asof. Mail settings as for `xladdin send` (config file, $XLADDIN_SMTP_PASSWORD).

One job at a time per DIR: a second job writing the same DIR (or a refresh of the same report) is
refused while the first runs, naming it. No file the job writes may be one it reads (--data,
--params, --config, --cafile) or another output (--timings-json): refused before anything is
written. A report name in DIR that is a symbolic link is followed: the file it points to is replaced
and the link stays (a target on another file system is refused).

exit status: 0 done, 1 a step failed (DIR unchanged), 2 usage error, 130 interrupted (DIR unchanged)"""

_PROGRESS_STEPS = ("load", "validate", "compute", "write", "send")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("weekly", help="one-shot weekly job: data -> validated -> report .xlsx -> mail",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", metavar="DIR", required=True,
                   help="folder receiving xladdin_weekly_<asof>.xlsx (created if needed)")
    add_param_args(p, params_file=True)
    p.add_argument("--update", action="store_true",
                   help="first bring the data store (--data, else data_dir) up to date, as `xladdin update STORE` "
                        "does (same as the parameter update_data=yes); a failed update writes nothing")
    p.add_argument("--timings", action="store_true", help="print the wall time of every step and the slowest units")
    p.add_argument("--timings-json", metavar="FILE",
                   help="also write the timings (steps, units, rows, peak memory) as JSON to FILE (for bench/)")
    m = p.add_argument_group("mail (as `xladdin send`; only with --send or --dry-run)")
    m.add_argument("--send", action="store_true", help="mail the report once it is written")
    m.add_argument("--dry-run", action="store_true",
                   help="build the mail and write DIR/xladdin_weekly_<asof>.eml; connect to nothing")
    add_mail_options(m, m)
    m.add_argument("--no-eml", action="store_true", help="with --send: do not keep a copy of the message as .eml")
    m.add_argument("-v", "--verbose", action="store_true", help="log each SMTP attempt on stderr (never the password)")
    p.set_defaults(func=run, _parser=p)


@contextlib.contextmanager
def _progress(args: argparse.Namespace, send: bool) -> Iterator:
    if args.no_progress:
        yield None
        return
    from xladdin.ops.jobs import total_units  # lazy: `xladdin --help` imports every command module
    with _common.progress_bar(total=total_units(send), desc="weekly", unit="step", leave=False,
                              bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}{postfix}") as bar:
        def step(name: str, unit: str | None) -> None:
            if name not in _PROGRESS_STEPS:
                return
            if unit is None:
                bar.set_description_str(f"weekly: {name}")
                return
            bar.set_postfix_str(unit, refresh=False)
            bar.update(1)
        yield step


def run(args: argparse.Namespace) -> int:
    from xladdin.ops.jobs import (  # lazy: `xladdin --help` imports every command module
        JobError,
        SendOptions,
        run_weekly,
    )
    parser = args._parser
    mail_flags = [f for f, v in (("--to", args.to), ("--cc", args.cc), ("--from", args.sender),
                                 ("--subject", args.subject), ("--smtp-host", args.smtp_host),
                                 ("--smtp-port", args.smtp_port), ("--user", args.user), ("--cafile", args.cafile),
                                 ("--timeout", args.timeout), ("--retries", args.retries),
                                 ("--backoff", args.backoff), ("--ssl/--starttls/--no-tls", args.security),
                                 ("--no-eml", args.no_eml)) if v]
    if mail_flags and not (args.send or args.dry_run):
        parser.error(f"{', '.join(mail_flags)} only apply with --send or --dry-run")
    if args.send and args.dry_run:
        parser.error("--send and --dry-run exclude each other (--dry-run builds the mail without sending)")
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    out = Path(args.out)
    unchanged = f"{out} was not changed" if out.exists() else f"{out} was not created"
    try:
        if args.subject is not None:
            check_subject(args.subject)
    except ValueError as exc:
        return fail("weekly", str(exc), unchanged)
    try:
        params = params_from_args(args)
    except Exception as exc:  # noqa: BLE001 - a bad --params file or --set value: nothing ran yet
        return fail("weekly", f"parameters: {describe(exc)}", unchanged)
    timings = [("--timings-json", Path(args.timings_json))] if args.timings_json else []
    try:
        guard_outputs(args, timings, params.data_dir)
    except ValueError as exc:
        return fail("weekly", str(exc), unchanged)
    send = None
    if args.send or args.dry_run:
        smtp = {k: v for k, v in (("host", args.smtp_host), ("port", args.smtp_port), ("security", args.security),
                                  ("user", args.user), ("cafile", args.cafile), ("timeout", args.timeout))
                if v is not None}
        send = SendOptions(to=args.to, cc=args.cc, config=args.config, sender=args.sender, subject=args.subject,
                           retries=args.retries, backoff=args.backoff, dry_run=args.dry_run,
                           keep_eml=not args.no_eml, smtp=smtp)
    try:
        with _progress(args, send is not None) as step:
            job = run_weekly(args.data, out, params=params, send=send, progress=step, notice=_note,
                             update=True if args.update else None, inputs=input_files(args, params.data_dir),
                             outputs=timings)
    except JobError as exc:
        fail("weekly", str(exc))
        if exc.delivered:
            _note(f"the mail did reach {', '.join(exc.delivered)}")
        print(f"xladdin weekly: {unchanged}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"xladdin weekly: interrupted; {unchanged}", file=sys.stderr)
        return 130
    _common.say_sample(job.weekly.sample)
    print(f"wrote {job.report} (as of {job.asof:%Y-%m-%d}) in {job.total:.1f} s")
    for key, why in job.weekly.notes.items():
        print(f"  not computed: {key}: {why}")
    if job.mail is not None:
        if send.dry_run:
            print(f"dry run: wrote {job.eml}; would send '{job.mail.subject}' to "
                  f"{', '.join(job.mail.to + job.mail.cc)}")
        else:
            r = job.mail.result
            print(f"sent '{job.mail.subject}' to {len(r.recipients)} recipient(s) ({', '.join(r.recipients)}) via "
                  f"{job.mail.settings.describe()} {r.how()}"
                  + (f"; copy in {job.eml}" if job.eml else ""))
    if args.timings:
        print_timings(job)
    if args.timings_json:
        try:
            write_timings_json(job, args.timings_json)
        except OSError as exc:
            return fail("weekly", f"--timings-json {args.timings_json}: {exc.strerror or exc}",
                        f"the report {job.report} was written")
    return 0


def _note(text: str) -> None:
    print(f"xladdin weekly: note: {text}", file=sys.stderr)


def write_timings_json(job, path: str | Path) -> Path:
    """The job's timings as JSON: asof, report, steps, units, rows, peak_rss_mb, slowest step."""
    step, secs = job.slowest
    data = {"asof": f"{job.asof:%Y-%m-%d}", "report": str(job.report), "total": job.total,
            "steps": job.timings, "units": job.units, "rows": job.rows, "peak_rss_mb": job.peak_rss_mb,
            "memory": job.memory,
            "slowest": {"step": step, "seconds": secs}}
    return atomic_write_text(path, json.dumps(data, indent=1))


def print_timings(job) -> None:
    """Per-step wall time, share, the slowest unit of each step; then the slowest step."""
    print("\nstep        seconds   share  peak MiB  slowest unit")
    for r in job.timing_frame().itertuples(index=False):
        unit = f"{r.slowest_unit} ({r.unit_seconds:.2f} s)" if r.slowest_unit else ""
        print(f"{r.step:<10}{r.seconds:>9.2f}{r.share:>8.0%}{r.peak_mb:>10,.0f}  {unit}")
    step, secs = job.slowest
    print(f"{'total':<10}{job.total:>9.2f}   peak memory {job.peak_rss_mb:,.0f} MiB")
    print(f"slowest step: {step} ({secs:.2f} s); slowest units: "
          + ", ".join(f"{s}/{u} {t:.2f} s" for s, u, t in job.slowest_units(3)))
