"""Build the weekly report mail and send it over SMTP with retries.

:func:`build_message` makes a ``multipart/mixed`` message: a ``multipart/alternative`` body
(plain text + HTML, rendered from a :class:`~xladdin.workbook.summary.WeeklySummary`) and the workbook
attached with its Office MIME type and an RFC 2231 encoded file name (Chinese names survive).

:func:`send_message` delivers it with :mod:`smtplib` over implicit TLS (``ssl``), STARTTLS or a
plain connection. TLS always verifies the server certificate and host name (``cafile`` replaces
the system CA store for self-signed or internal-CA servers). Transient failures (4xx replies,
connection refused/reset/dropped, timeouts) are retried with exponential backoff; permanent ones
(5xx, authentication failure, certificate problems) raise :class:`MailError` at once with what
failed and what to do. Recipients refused with 4xx are retried alone, so nobody gets the mail twice.
A connection lost after the message went out and before the server confirmed it is retried too, and
the outcome says the mail was *possibly sent twice* to those recipients (:attr:`SendResult.possibly_twice`).

The password is never logged nor put in a message: every error raised while it is in hand (AUTH) is
phrased here (:func:`_authenticate`), never the text of the exception, and a server reply that quotes
it (or its base64) is withheld. A password (or user name) with non-ASCII characters is sent with AUTH
PLAIN in UTF-8 (RFC 4616) when the server offers PLAIN, else refused before anything is sent (smtplib
encodes AUTH as ASCII, and its error would quote a character of the password).
"""
from __future__ import annotations

import base64
import errno
import io
import ipaddress
import logging
import mimetypes
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, localtime, make_msgid
from pathlib import Path
from typing import Any

from xladdin.errors import ReportedError
from xladdin.fileguard import atomic_write_bytes, check_outputs
from xladdin.workbook.summary import (
    WeeklySummary,
    coerce_summary,
    render_html,
    render_missing_html,
    render_missing_text,
    render_text,
    sample_subject,
    summary_from_report,
)

from .config import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_SUBJECT,
    DEFAULT_SUBJECTS,
    Config,
    ConfigError,
    SmtpSettings,
    check_retries,
    expand_recipients,
    get_password,
    load_config,
    parse_address,
    render_subject,
    resolve_smtp_settings,
)

log = logging.getLogger(__name__)

#: MIME types of the workbook formats the report writer produces
OFFICE_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".xls": "application/vnd.ms-excel",
    ".csv": "text/csv",
}
#: longest wait between two attempts, seconds
MAX_BACKOFF = 300.0


class MailError(ReportedError, RuntimeError):
    """Sending failed; ``str(err)`` says what failed and what to do.

    Attributes
    ----------
    kind : "auth", "refused", "transient" (gave up after retries), "connect", "tls", "protocol", "config",
        or "copy" (sent, but the ``.eml`` copy could not be written).
    attempts : attempts made.
    delivered : recipients the server accepted before the failure (they got the mail).
    refused : recipient -> (code, server text) for refused recipients.
    uncertain : recipients the message went out to while the connection was lost before the server
        confirmed it (they may have it).
    """

    def __init__(self, message: str, kind: str, attempts: int = 0, delivered: Sequence[str] = (),
                 refused: Mapping[str, tuple[int, str]] | None = None, uncertain: Sequence[str] = ()):
        super().__init__(message)
        self.kind = kind
        self.attempts = attempts
        self.delivered = list(delivered)
        self.refused = dict(refused or {})
        self.uncertain = list(uncertain)


@dataclass
class SendResult:
    """Outcome of a successful :func:`send_message`: ``attempts`` made, envelope ``sender`` and ``recipients``.

    ``possibly_twice`` lists the recipients who may have the mail twice: an attempt lost its connection
    after the message had gone out and before the server confirmed it, and a later attempt sent it again.
    """

    attempts: int
    sender: str
    recipients: list[str] = field(default_factory=list)
    message_id: str | None = None
    possibly_twice: list[str] = field(default_factory=list)

    def how(self) -> str:
        """``in 1 attempt(s)``, or the warning that some recipients were possibly sent the mail twice."""
        if not self.possibly_twice:
            return f"in {self.attempts} attempt(s)"
        return (f"-- possibly sent twice to {', '.join(self.possibly_twice)}: the connection was lost after the "
                "message had gone out and before the server confirmed it, and the retry sent it again")


# ---------------------------------------------------------------- building

def attachment_type(path: str | Path) -> tuple[str, str]:
    """``(maintype, subtype)`` for an attachment: Office types by suffix, else :mod:`mimetypes`, else octet-stream."""
    suffix = Path(path).suffix.lower()
    ctype = OFFICE_TYPES.get(suffix) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    maintype, _, subtype = ctype.partition("/")
    return maintype, subtype


def _addresses(entries: str | Sequence[str] | None) -> list[str]:
    if entries is None:
        return []
    if isinstance(entries, str):
        entries = [entries]
    for e in entries:
        parse_address(e)  # raises ConfigError (a ValueError) naming the bad entry
    return list(entries)


def build_message(report_path: str | Path, summary: WeeklySummary | Mapping[str, Any] | None,
                  to: Sequence[str], cc: Sequence[str] | None = None, sender: str | None = None,
                  subject: str | None = None, *, date: Any = None) -> EmailMessage:
    """The report mail: text + HTML summary, the workbook attached.

    Parameters
    ----------
    report_path : workbook to attach (read here; .xlsx gets
        ``application/vnd.openxmlformats-officedocument.spreadsheetml.sheet``).
    summary : the week's summary; None writes a short body saying the workbook carries no summary
        (no figures are made up).
    to, cc : recipients (``a@b.c`` or ``Name <a@b.c>``); ``to`` must not be empty.
    sender : ``From`` address (required).
    subject : default ``"xladdin 周报 <asof>"`` (``"xladdin weekly report <asof>"`` for an English report; the report
        file name when there is no summary); a summary of the
        embedded sample puts :data:`~xladdin.workbook.summary.SAMPLE_TAG` in front of any subject.
    date : ``Date`` header (datetime); default now, local time.

    Returns
    -------
    email.message.EmailMessage
        ``multipart/mixed`` = [``multipart/alternative`` = [text/plain, text/html], attachment],
        headers From, To, Cc, Subject, Date, Message-ID (non-ASCII headers and the file name are
        encoded by :data:`email.policy.default`: RFC 2047 headers, RFC 2231 ``filename*``).
    """
    path = Path(report_path)
    if not path.is_file():
        raise FileNotFoundError(f"report workbook {path} not found")
    to_list = _addresses(to)
    if not to_list:
        raise ValueError("no recipients: give --to ADDR (or @list) or set [send] to in the config file")
    cc_list = _addresses(cc)
    if not sender:
        raise ValueError("no sender: give --from ADDR or set [smtp] sender in the config file")
    _, sender_addr = parse_address(sender)

    if summary is not None:
        s = coerce_summary(summary)
        text, body_html = render_text(s, attachment=path.name), render_html(s, attachment=path.name)
        default_subject = DEFAULT_SUBJECTS[s.language].format(asof=s.asof.isoformat())
    else:
        text, body_html = render_missing_text(path.name), render_missing_html(path.name)
        default_subject = DEFAULT_SUBJECT.format(asof=path.name)

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to_list)
    if cc_list:
        msg["Cc"] = ", ".join(cc_list)
    msg["Subject"] = sample_subject(subject or default_subject, s if summary is not None else None)
    msg["Date"] = format_datetime(date if date is not None else localtime())
    msg["Message-ID"] = make_msgid(domain=sender_addr.rpartition("@")[2])
    msg["X-Mailer"] = "xladdin"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")  # 7-bit safe for any relay
    msg.add_alternative(body_html, subtype="html", charset="utf-8", cte="base64")
    maintype, subtype = attachment_type(path)
    msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as RFC 5322 bytes with CRLF line ends (what a ``.eml`` file holds)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def write_eml(msg: EmailMessage, path: str | Path) -> Path:
    """Write the message to ``path`` as a ``.eml`` file (opens in Outlook/Thunderbird), atomically; returns the path."""
    return atomic_write_bytes(path, message_bytes(msg))


def envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """Envelope sender and recipients (bare addresses from From, To and Cc, each once)."""
    _, sender = parse_address(str(msg["From"]))
    rcpts: list[str] = []
    for header in ("To", "Cc", "Bcc"):
        for entry in msg.get_all(header, []):
            for addr in getattr(entry, "addresses", ()):
                if addr.addr_spec and addr.addr_spec.lower() not in {r.lower() for r in rcpts}:
                    rcpts.append(addr.addr_spec)
    return sender, rcpts


# ---------------------------------------------------------------- sending

def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """Client context that verifies the certificate and host name; ``cafile`` replaces the system CAs."""
    if settings.cafile and not Path(settings.cafile).is_file():
        raise MailError(f"CA file {settings.cafile} (--cafile / [smtp] cafile) not found", "config")
    try:
        return ssl.create_default_context(cafile=settings.cafile)
    except ssl.SSLError as exc:
        raise MailError(f"CA file {settings.cafile} is not a PEM certificate file ({exc})", "config") from None


class _DeadlineReader(io.RawIOBase):
    """The socket of an :class:`_DeadlineSMTP` as a raw stream; each read waits only until the deadline."""

    def __init__(self, smtp: _DeadlineSMTP):
        super().__init__()
        self._smtp = smtp

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        sock = self._smtp.sock
        if sock is None:
            raise OSError("not connected")
        sock.settimeout(self._smtp.remaining())
        return sock.recv_into(buffer)


class _BoundedTLS:
    """A TLS context whose handshake (STARTTLS) gets only what is left of the exchange's deadline."""

    def __init__(self, context: ssl.SSLContext, smtp: _DeadlineSMTP):
        self._context, self._smtp = context, smtp

    def wrap_socket(self, sock: socket.socket, **kwargs: Any) -> ssl.SSLSocket:
        sock.settimeout(self._smtp.remaining())  # CPython bounds the whole handshake by the socket timeout
        return self._context.wrap_socket(sock, **kwargs)


class _DeadlineSMTP(smtplib.SMTP):
    """:class:`smtplib.SMTP` whose ``timeout`` bounds each whole exchange, not only each socket read.

    An exchange is connect + TLS handshake (implicit TLS) + the complete greeting, or one command sent
    + its complete reply (multi-line replies included; STARTTLS includes the handshake). smtplib alone
    applies the timeout to each read, so a server that drips ``220-`` lines, one a second, keeps it
    waiting forever. Past the deadline a read raises :class:`TimeoutError`, which smtplib reports as
    ``SMTPServerDisconnected`` caused by it (:func:`_classify` makes it a timeout).
    ``tls_context`` given = implicit TLS (``--ssl``).

    ``payload_sent`` / ``payload_answered`` tell whether the message itself (the bytes after DATA) went
    out, and whether the server's reply to it came back: sent and not answered = possibly delivered.
    """

    def __init__(self, host: str, port: int, timeout: float, tls_context: ssl.SSLContext | None = None):
        self._tls_context = tls_context
        self._deadline = time.monotonic() + timeout
        self.payload_sent = self.payload_answered = False
        super().__init__(host, port, timeout=timeout)

    def remaining(self) -> float:
        """Seconds left in the current exchange; :class:`TimeoutError` when none are."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete reply within {self.timeout:g} s")
        return left

    def _begin(self) -> None:
        self._deadline = time.monotonic() + self.timeout

    def connect(self, host: str = "localhost", port: int = 0, source_address: Any = None):
        self._begin()
        return super().connect(host, port, source_address)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), self.remaining(), self.source_address)
        if self._tls_context is not None:
            try:
                sock.settimeout(self.remaining())
                sock = self._tls_context.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        return sock

    def send(self, s: Any) -> None:
        self._begin()
        if self.sock is not None:
            self.sock.settimeout(self.timeout)
        super().send(s)
        if isinstance(s, (bytes, bytearray)):  # smtplib sends commands as str, only the message as bytes
            self.payload_sent, self.payload_answered = True, False

    def getreply(self):
        if self.file is None and self.sock is not None:
            self.file = io.BufferedReader(_DeadlineReader(self))
        reply = super().getreply()
        self.payload_answered = self.payload_sent
        return reply

    @property
    def possibly_delivered(self) -> bool:
        """The message went out but the server's answer to it never came (the connection was lost)."""
        return self.payload_sent and not self.payload_answered

    def auth_plain_utf8(self, user: str, password: str) -> None:
        """AUTH PLAIN with the RFC 4616 message ``\\0user\\0password`` in UTF-8 (smtplib encodes it as ASCII,
        which fails on any other character). Raises SMTPAuthenticationError unless the server says 235/503."""
        blob = base64.b64encode(b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8")).decode("ascii")
        code, resp = self.docmd("AUTH", "PLAIN " + blob)
        if code == 334:  # the server asks for the response after all (it ignored the initial response)
            code, resp = self.docmd(blob)
        if code not in (235, 503):
            raise smtplib.SMTPAuthenticationError(code, resp)

    def starttls(self, *args: Any, context: ssl.SSLContext | None = None, **kwargs: Any):
        context = context if context is not None else ssl.create_default_context()
        return super().starttls(*args, context=_BoundedTLS(context, self), **kwargs)


def _open(settings: SmtpSettings, password: str | None, context: ssl.SSLContext | None) -> smtplib.SMTP:
    host, port = settings.host, settings.effective_port
    smtp: smtplib.SMTP = _DeadlineSMTP(host, port, settings.timeout,
                                       tls_context=context if settings.security == "ssl" else None)
    try:
        smtp.ehlo()
        if settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise MailError(f"{host}:{port} does not offer STARTTLS; use --ssl (implicit TLS, usually port 465) "
                                "if the server supports it, or --no-tls only for a trusted internal relay", "tls")
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.user:
            if password is None:
                raise MailError(f"SMTP user `{settings.user}` is configured but no password was given: set "
                                f"${settings.password_env}", "config")
            if settings.security == "none" and not _is_loopback(host):
                raise MailError(f"refusing to send the SMTP password to {host} over an unencrypted connection; "
                                "use --starttls or --ssl", "config")
            if not smtp.has_extn("auth"):
                raise MailError(f"{host}:{port} does not offer AUTH on this connection"
                                + ("; it may require TLS first: use --starttls or --ssl"
                                   if settings.security == "none" else "; drop --user if it is an open relay"),
                                "protocol")
            _authenticate(smtp, settings, password)
        return smtp
    except BaseException:
        smtp.close()
        raise


#: AUTH mechanisms smtplib speaks (its order of preference)
SMTPLIB_MECHANISMS = ("CRAM-MD5", "PLAIN", "LOGIN")


def _authenticate(smtp: _DeadlineSMTP, settings: SmtpSettings, password: str) -> None:
    """AUTH as ``settings.user``. Every error raised with the password in hand is re-raised here as a new
    exception whose text xladdin wrote (never the original's, which may quote the password): the
    server's reply, withheld when it quotes the credentials (:func:`_withhold`), or a MailError."""
    where = f"{settings.host}:{settings.effective_port}"
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    user = settings.user or ""
    no_mechanism = MailError(f"{where} offers no AUTH mechanism xladdin can use (it offers "
                             f"{', '.join(offered) or 'none'}; xladdin speaks {', '.join(SMTPLIB_MECHANISMS)}); ask "
                             "the mail admin for AUTH PLAIN or LOGIN over TLS", "auth")
    if not set(offered) & set(SMTPLIB_MECHANISMS):
        raise no_mechanism
    try:
        if user.isascii() and password.isascii():
            smtp.login(user, password)
        elif "PLAIN" in offered:
            smtp.auth_plain_utf8(user, password)
        else:
            which = "password" if not password.isascii() else "user name"
            raise MailError(f"the SMTP {which} has non-ASCII characters; the server's AUTH needs ASCII ({where} "
                            f"offers {', '.join(offered) or 'no mechanism'}, and only AUTH PLAIN carries UTF-8): use "
                            f"an ASCII {which}, e.g. an app password / 授权码", "auth")
    except MailError:
        raise
    except smtplib.SMTPResponseException as exc:  # the server's answer to AUTH (SMTPAuthenticationError ...)
        raise type(exc)(exc.smtp_code, _withhold(exc.smtp_error, user, password)) from None
    except smtplib.SMTPServerDisconnected:  # a lost connection: its text is the socket's, no credential in it
        raise
    except smtplib.SMTPException:  # no common mechanism (smtplib's own check), a challenge loop
        raise no_mechanism from None
    except OSError:  # the socket's own errors (timeout, reset): they carry no credential
        raise
    except Exception:  # noqa: BLE001 - e.g. an encoding error quoting a character of the password
        raise MailError(f"authentication on {where} failed inside the SMTP client (the details are not shown: they "
                        "could contain the password); check the user name and password", "auth") from None


def _withhold(text: Any, user: str, password: str) -> str:
    """The server's reply text, or a note that it is withheld when it quotes the password: as is, any five
    characters of it in a row, or base64 of it or of the PLAIN message (a server that echoes the AUTH line)."""
    text = _decode(text)
    pw = password.encode("utf-8")
    forms = {password, base64.b64encode(pw).decode(), base64.b64encode(b"\0" + user.encode() + b"\0" + pw).decode()}
    forms |= {password[i:i + 5] for i in range(max(len(password) - 4, 0))}
    if any(f and f in text for f in forms):
        return "(the server's text is not shown: it quotes the credentials)"
    return text


def _decode(text: Any) -> str:
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return str(text)


def _reply(code: int, text: Any) -> str:
    return f"{code} {_decode(text)}".strip()


def _classify(exc: BaseException, settings: SmtpSettings) -> tuple[bool, str, str]:
    """``(transient, kind, message)`` for an exception raised while sending."""
    where = f"{settings.host}:{settings.effective_port}"
    if isinstance(exc, MailError):
        return False, exc.kind, str(exc)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        if 400 <= exc.smtp_code < 500:
            return True, "transient", f"authentication temporarily unavailable ({_reply(exc.smtp_code, exc.smtp_error)})"
        keyring = f" or keyring service `{settings.keyring_service}`" if settings.keyring_service else ""
        return False, "auth", (f"SMTP authentication as `{settings.user}` on {where} failed "
                               f"({_reply(exc.smtp_code, exc.smtp_error)}). Check the password in "
                               f"${settings.password_env}{keyring} and the user name (--user / [smtp] user); many "
                               "providers (Exchange Online, QQ/163 mail, Gmail) need an app password / 授权码 "
                               "instead of the login password, and SMTP AUTH may have to be enabled for the account")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return False, "protocol", f"{where}: {exc}; check --ssl / --starttls / --no-tls and --user"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        text = f"the server refused the sender {exc.sender} ({_reply(exc.smtp_code, exc.smtp_error)})"
        if 400 <= exc.smtp_code < 500:
            return True, "transient", text
        if exc.smtp_code == 530 and b"STARTTLS" in (exc.smtp_error or b"").upper():
            hint = "; the server requires STARTTLS first: use --starttls"
        elif exc.smtp_code == 530:
            hint = "; the server requires authentication: set --user / [smtp] user"
        else:
            hint = "; use a sender address the account may send as (--from / [smtp] sender)"
        return False, "refused", text + hint
    if isinstance(exc, smtplib.SMTPResponseException):  # SMTPDataError, SMTPConnectError, SMTPHeloError, ...
        text = f"{where} answered {_reply(exc.smtp_code, exc.smtp_error)}"
        if 400 <= exc.smtp_code < 500:
            return True, "transient", text
        return False, "refused", text + " (permanent failure: the server will not accept this message as is)"
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, (TimeoutError, socket.timeout)):
        exc = exc.__context__  # smtplib turns a read timeout into "Connection unexpectedly closed"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True, "transient", f"{where} closed the connection unexpectedly ({exc or 'no reason given'})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False, "tls", (f"the TLS certificate of {where} could not be verified ({exc.verify_message}); if the "
                              "server uses a self-signed or internal-CA certificate, pass its CA file with --cafile "
                              "(or [smtp] cafile); check --smtp-host matches the certificate's name")
    if isinstance(exc, ssl.SSLError):
        hint = ("; the port may not speak implicit TLS: try --starttls (usually port 587)"
                if settings.security == "ssl" else "")
        return False, "tls", f"TLS handshake with {where} failed ({exc.reason or exc}){hint}"
    if isinstance(exc, socket.gaierror):
        if exc.errno == socket.EAI_AGAIN:
            return True, "transient", f"temporary failure resolving {settings.host} ({exc})"
        return False, "connect", f"cannot resolve host {settings.host} ({exc}); check --smtp-host / [smtp] host"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return True, "transient", (f"{where} did not answer within {settings.timeout:g} s (--timeout bounds each "
                                   "whole exchange with the server, greeting included); check the host, port and "
                                   "--ssl/--starttls (a STARTTLS client on an implicit-TLS port waits forever)")
    if isinstance(exc, ConnectionRefusedError):
        return True, "transient", f"cannot connect to {where} (connection refused); check --smtp-host/--smtp-port"
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return True, "transient", f"the connection to {where} was reset ({exc})"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ETIMEDOUT):
        return True, "transient", f"cannot reach {where} ({exc.strerror or exc})"
    if isinstance(exc, OSError):
        return False, "connect", f"cannot talk to {where} ({exc})"
    raise exc


def send_message(msg: EmailMessage, settings: SmtpSettings, password: str | None, retries: int = DEFAULT_RETRIES,
                 backoff: float = DEFAULT_BACKOFF, *, sleep: Callable[[float], None] = time.sleep,
                 context: ssl.SSLContext | None = None) -> SendResult:
    """Deliver ``msg`` to its From/To/Cc envelope, retrying transient failures.

    Parameters
    ----------
    msg : from :func:`build_message`.
    settings : server, port, security, user, timeout (:class:`~xladdin.ops.config.SmtpSettings`).
    password : for SMTP AUTH when ``settings.user`` is set (see :func:`xladdin.ops.config.get_password`).
    retries : further attempts after the first one (total at most ``retries + 1``).
    backoff : wait before retry k (k = 1, 2, ...) is ``backoff * 2**(k-1)`` seconds, capped at 300.
    sleep : the waiting function (tests pass a recorder).
    context : TLS context; default :func:`tls_context` (verified; ``settings.cafile`` if given).

    Returns
    -------
    SendResult

    Raises
    ------
    MailError
        Permanent failure, or still failing after the retries; the message names the server reply
        and the fix. ``delivered`` lists recipients who did get the mail (partial delivery).

    Notes
    -----
    Transient = 4xx replies (including per-recipient 4xx, which are retried for those recipients
    only), refused/reset/dropped connections, timeouts, temporary DNS failures. Permanent = 5xx,
    authentication failure, TLS/certificate errors, unresolvable host.
    """
    if not settings.host:
        raise MailError("no SMTP host: set [smtp] host in the config file or pass --smtp-host", "config")
    check_retries(retries, backoff)
    sender, pending = envelope(msg)
    if not pending:
        raise MailError("the message has no recipients (To/Cc)", "config")
    if context is None and settings.security in ("ssl", "starttls"):
        context = tls_context(settings)
    delivered: list[str] = []
    uncertain: list[str] = []  # the message went out to them but the server's answer was lost
    permanent: dict[str, tuple[int, str]] = {}
    transient_refused: dict[str, tuple[int, str]] = {}
    attempt = 0
    while True:
        attempt += 1
        log.info("sending %s to %d recipient(s) via %s, attempt %d/%d",
                 msg.get("Message-ID", "message"), len(pending), settings.describe(), attempt, retries + 1)
        try:
            refused = _deliver(msg, sender, pending, settings, password, context)
        except Exception as exc:  # noqa: BLE001 - classified below, unknown ones re-raised
            if getattr(exc, "possibly_delivered", False):
                uncertain += [a for a in pending if a not in uncertain]
            transient, kind, text = _classify(exc, settings)
            if not transient:
                raise MailError(_with_delivered(text, delivered, uncertain), kind, attempt, delivered, permanent,
                                uncertain) from None
            if attempt > retries:
                raise MailError(_with_delivered(f"gave up after {attempt} attempt(s); last error: {text}. "
                                                "Try again later or raise --retries", delivered, uncertain),
                                "transient" if kind == "transient" else kind, attempt, delivered, permanent,
                                uncertain) from None
            wait = min(backoff * 2 ** (attempt - 1), MAX_BACKOFF)
            log.warning("transient failure (%s); retrying in %.1f s", text, wait)
            sleep(wait)
            continue
        delivered += [a for a in pending if a not in refused]
        transient_refused = {}
        for addr, (code, text) in refused.items():
            (transient_refused if 400 <= code < 500 else permanent)[addr] = (code, _decode(text))
        pending = list(transient_refused)
        if not pending or attempt > retries:
            break
        wait = min(backoff * 2 ** (attempt - 1), MAX_BACKOFF)
        busy = "; ".join(f"{a}: {_reply(c, t)}" for a, (c, t) in transient_refused.items())
        log.warning("recipient(s) temporarily refused (%s); retrying them in %.1f s", busy, wait)
        sleep(wait)
    if permanent or transient_refused:
        parts = []
        if permanent:
            parts.append("the server refused recipient(s) " + "; ".join(
                f"{a} ({_reply(c, t)})" for a, (c, t) in permanent.items())
                + ". Fix the address(es) in --to/--cc or [recipients]")
        if transient_refused:
            parts.append(f"still temporarily refused after {attempt} attempt(s): " + "; ".join(
                f"{a} ({_reply(c, t)})" for a, (c, t) in transient_refused.items()) + ". Try them again later")
        kind = "refused" if permanent else "transient"
        raise MailError(_with_delivered(". ".join(parts), delivered, uncertain), kind, attempt, delivered,
                        {**permanent, **transient_refused}, uncertain)
    twice = [a for a in uncertain if a in delivered]
    result = SendResult(attempts=attempt, sender=sender, recipients=delivered, message_id=msg.get("Message-ID"),
                        possibly_twice=twice)
    log.info("sent to %d recipient(s) %s", len(delivered), result.how())
    return result


def _deliver(msg: EmailMessage, sender: str, pending: list[str], settings: SmtpSettings, password: str | None,
             context: ssl.SSLContext | None) -> dict[str, tuple[int, Any]]:
    """One attempt: connect, AUTH, send to ``pending``; returns the recipients the server refused.

    An exception raised here carries ``possibly_delivered``: True when the message had gone out and the
    server's answer to it never came (the server may have accepted it). The connection is closed with QUIT
    whatever happens; a failing QUIT changes nothing (the mail's fate is known by then), so it is ignored.
    """
    smtp = None
    try:
        smtp = _open(settings, password, context)
        return smtp.send_message(msg, from_addr=sender, to_addrs=pending)
    except smtplib.SMTPRecipientsRefused as exc:  # every pending recipient refused; nothing sent
        return exc.recipients
    except Exception as exc:
        exc.possibly_delivered = smtp is not None and smtp.possibly_delivered
        raise
    finally:
        if smtp is not None:
            _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:  # noqa: BLE001 - QUIT after the mail's outcome is known: nothing to report
        pass
    finally:
        smtp.close()


def _with_delivered(text: str, delivered: Sequence[str], uncertain: Sequence[str] = ()) -> str:
    maybe = [a for a in uncertain if a not in delivered]
    if maybe:
        text += (f". Possibly delivered to: {', '.join(maybe)} (the connection was lost after the message had gone "
                 "out, before the server confirmed it): check with them before resending")
    if delivered:
        return f"{text}. Delivered to: {', '.join(delivered)} (do not resend to them)"
    return f"{text}. Nothing was delivered" if not maybe else f"{text}. Nothing else was delivered"


# ---------------------------------------------------------------- the whole job

@dataclass
class ReportMail:
    """What :func:`send_report` did: the message, where it went (or the .eml written), and how."""

    message: EmailMessage
    settings: SmtpSettings
    subject: str
    to: list[str]
    cc: list[str]
    has_summary: bool
    result: SendResult | None = None
    eml: Path | None = None
    #: the report was built from the embedded sample (its summary says so): the subject and body are marked
    sample: bool = False


def send_report(report: str | Path, *, config: Config | str | Path | None = None, to: Sequence[str] | None = None,
                cc: Sequence[str] | None = None, sender: str | None = None, subject: str | None = None,
                retries: int | None = None, backoff: float | None = None, dry_run: bool = False,
                eml: str | Path | None = None, environ: Mapping[str, str] | None = None,
                **smtp: Any) -> ReportMail:
    """Mail a report workbook: what ``xladdin send`` does, for scripts and the weekly job.

    Parameters
    ----------
    report : .xlsx/.xlsm workbook; its ``_summary`` sheet (if any) becomes the body.
    config : a :class:`~xladdin.ops.config.Config`, a TOML path, or None (``$XLADDIN_CONFIG``, then
        ``~/.config/xladdin/config.toml``).
    to, cc : entries as on the command line (addresses, comma lists, ``@list``); None = ``[send] to/cc``.
    sender : None = ``[smtp] sender``, else ``[smtp] user`` when it is an address.
    subject : template with ``{asof}``; None = ``[send] subject``, else the report language's
        :data:`~xladdin.ops.config.DEFAULT_SUBJECTS` (``"xladdin 周报 {asof}"``).
    retries, backoff : None = ``[send]`` values, else :data:`~xladdin.ops.config.DEFAULT_RETRIES` and
        :data:`~xladdin.ops.config.DEFAULT_BACKOFF` (see :func:`send_message`).
    dry_run : build and write the ``.eml`` (``eml`` or REPORT with suffix .eml); do not connect.
    eml : where the ``.eml`` goes; without ``dry_run`` a copy of the sent message is kept there. It may not
        name the report, the config file or the CA file (refused before anything is sent or written).
    environ : environment for the password lookup (default ``os.environ``).
    **smtp : overrides of the SMTP settings (host, port, security, user, cafile, timeout), None = keep.

    Returns
    -------
    ReportMail

    Raises
    ------
    ConfigError, MailError, FileNotFoundError, ValueError
    """
    report = Path(report)
    if not report.is_file():
        raise FileNotFoundError(f"report workbook {report} not found")
    if report.suffix.lower() not in (".xlsx", ".xlsm"):
        raise ValueError(f"the report must be an .xlsx/.xlsm workbook, got {report.name}")
    cfg = config if isinstance(config, Config) else load_config(config, environ)
    settings = resolve_smtp_settings(cfg.smtp, sender=sender, **smtp)
    to_list = expand_recipients(to if to else cfg.send.get("to"), cfg.recipients)
    cc_list = expand_recipients(cc if cc else cfg.send.get("cc"), cfg.recipients)
    if not to_list:
        raise ConfigError("no recipients: give --to ADDR... (or --to @list) or set [send] to in the config file")
    from_addr = settings.sender or (settings.user if settings.user and "@" in settings.user else None)
    if not from_addr:
        raise ConfigError("no sender: give --from ADDR or set [smtp] sender in the config file")
    retries = retries if retries is not None else cfg.send.get("retries", DEFAULT_RETRIES)
    backoff = backoff if backoff is not None else cfg.send.get("backoff", DEFAULT_BACKOFF)
    check_retries(retries, backoff)
    eml_path = Path(eml) if eml else (report.with_suffix(".eml") if dry_run else None)
    check_outputs([("--eml", eml_path)], [("the report REPORT", report), ("the --config file", cfg.path),
                                          ("the --cafile file", settings.cafile)])

    summary = summary_from_report(report)
    asof = summary.asof.isoformat() if summary is not None else report.name
    template = subject or cfg.send.get("subject") or (DEFAULT_SUBJECTS[summary.language] if summary is not None
                                                      else DEFAULT_SUBJECT)
    subject_text = sample_subject(render_subject(template, asof, "--subject" if subject else "[send] subject"), summary)
    msg = build_message(report, summary, to=to_list, cc=cc_list, sender=from_addr, subject=subject_text)
    out = ReportMail(msg, settings, subject_text, to_list, cc_list, summary is not None,
                     sample=summary is not None and summary.sample)
    if dry_run:
        out.eml = write_eml(msg, eml_path)
        return out
    password = get_password(settings, environ)
    out.result = send_message(msg, settings, password, retries=retries, backoff=backoff)
    if eml:
        try:
            out.eml = write_eml(msg, eml)
        except OSError as exc:
            r = out.result
            raise MailError(f"the mail was sent to {', '.join(r.recipients)}, but its copy {eml} could not be "
                            f"written ({exc.strerror or exc}); do not send it again", "copy", r.attempts,
                            r.recipients) from exc
    return out
