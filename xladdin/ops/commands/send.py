"""``xladdin send REPORT``: mail the weekly report workbook (summary in the body, workbook attached)."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from xladdin.errors import describe, fail
from xladdin.ops.config import (
    DEFAULT_BACKOFF,
    DEFAULT_PORTS,
    DEFAULT_RETRIES,
    DEFAULT_SUBJECT,
    DEFAULT_TIMEOUT,
    check_subject,
)
from xladdin.ops.mail import MailError, send_report

from . import _common

DESCRIPTION = """\
Mail REPORT (an .xlsx written by `xladdin report`). The body (plain text + HTML) summarises the
week from the workbook's `_summary` sheet; a workbook without one is sent with a short body saying
so. Settings come from the TOML config (--config, $XLADDIN_CONFIG, ~/.config/xladdin/config.toml);
flags override it. The password comes from $XLADDIN_SMTP_PASSWORD (or the variable named by
[smtp] password_env) or the system keyring, never from a flag. `--to @weekly` expands the list
[recipients] weekly of the config file.

exit status: 0 sent (or written with --dry-run), 1 failed (message on stderr), 2 usage error"""


def add_mail_options(parser: argparse.ArgumentParser, smtp: argparse._ArgumentGroup | argparse.ArgumentParser) -> None:
    """Recipients, subject, config and SMTP server options shared by ``send`` and ``weekly``."""
    parser.add_argument("--to", nargs="+", action="extend", metavar="ADDR",
                        help="recipients: addresses, 'Name <addr>', comma lists or @list from [recipients]; "
                             "default [send] to")
    parser.add_argument("--cc", nargs="+", action="extend", metavar="ADDR",
                        help="copy recipients (same forms); default [send] cc")
    parser.add_argument("--from", dest="sender", metavar="ADDR", help="sender; default [smtp] sender, else [smtp] user")
    parser.add_argument("--subject",
                        help=f"subject; default [send] subject or '{DEFAULT_SUBJECT}' ({{asof}} = report date)")
    parser.add_argument("--config", metavar="FILE",
                        help="TOML config file (default $XLADDIN_CONFIG or ~/.config/xladdin/config.toml)")
    smtp.add_argument("--smtp-host", metavar="HOST")
    smtp.add_argument("--smtp-port", type=int, metavar="N",
                      help=f"default {DEFAULT_PORTS['ssl']} (--ssl), {DEFAULT_PORTS['starttls']} (--starttls), "
                           f"{DEFAULT_PORTS['none']} (--no-tls)")
    sec = smtp.add_mutually_exclusive_group()
    sec.add_argument("--ssl", dest="security", action="store_const", const="ssl", help="implicit TLS (SMTPS)")
    sec.add_argument("--starttls", dest="security", action="store_const", const="starttls",
                     help="plain connect then STARTTLS (the default)")
    sec.add_argument("--no-tls", dest="security", action="store_const", const="none",
                     help="no encryption (internal relays only; AUTH refused except on localhost)")
    smtp.add_argument("--user", metavar="NAME", help="SMTP AUTH user (password from the environment or keyring)")
    smtp.add_argument("--cafile", metavar="PEM",
                      help="CA certificate(s) to trust instead of the system store (self-signed server)")
    smtp.add_argument("--timeout", type=float, metavar="S",
                      help=f"seconds for each whole exchange with the server, greeting included (default "
                           f"{DEFAULT_TIMEOUT:g})")
    smtp.add_argument("--retries", type=int, metavar="N",
                      help=f"retries after a transient failure (default {DEFAULT_RETRIES})")
    smtp.add_argument("--backoff", type=float, metavar="S",
                      help=f"first wait before a retry, doubled each time (default {DEFAULT_BACKOFF:g} s)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("send", help="mail the weekly report workbook (SMTP, retries, --dry-run)",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", metavar="REPORT", help="report workbook (.xlsx) to attach")
    add_mail_options(p, p.add_argument_group("SMTP server (override [smtp])"))
    p.add_argument("--dry-run", action="store_true", help="do not connect; write the message as .eml instead")
    p.add_argument("--eml", metavar="FILE",
                   help="where the .eml goes (default: REPORT with suffix .eml); without --dry-run, also keep a copy")
    p.add_argument("-v", "--verbose", action="store_true", help="log each attempt on stderr (never the password)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return _run(args)
    except MailError as exc:  # says who got the mail, if anyone
        return fail("send", str(exc))
    except Exception as exc:  # noqa: BLE001 - config, recipients, subject, report file: nothing was sent
        return fail("send", describe(exc), "nothing was sent")


def _run(args: argparse.Namespace) -> int:
    if args.subject is not None:
        check_subject(args.subject)
    job = send_report(args.report, config=args.config, to=args.to, cc=args.cc, sender=args.sender,
                      subject=args.subject, retries=args.retries, backoff=args.backoff, dry_run=args.dry_run,
                      eml=args.eml, host=args.smtp_host, port=args.smtp_port, security=args.security,
                      user=args.user, cafile=args.cafile, timeout=args.timeout)
    if not job.has_summary:
        print(f"note: {Path(args.report).name} has no _summary sheet; the mail says so and carries no summary "
              "figures", file=sys.stderr)
    _common.say_sample(job.sample)
    if args.dry_run:
        where = job.settings.describe() if job.settings.host else "no SMTP host configured"
        print(f"dry run: wrote {job.eml} ({job.eml.stat().st_size:,} bytes); would send '{job.subject}' to "
              f"{', '.join(job.to + job.cc)} via {where}")
        return 0
    r = job.result
    print(f"sent '{job.subject}' to {len(r.recipients)} recipient(s) ({', '.join(r.recipients)}) via "
          f"{job.settings.describe()} {r.how()}" + (f"; copy in {job.eml}" if job.eml else ""))
    return 0
