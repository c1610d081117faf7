"""The SMTP password never reaches an output: every mail failure mode, every character class.

Each case runs ``xladdin send`` (and the weekly job's send step) against a real aiosmtpd server on
127.0.0.1 configured for one failure mode, with a password made of one character class (ASCII letters
and digits, Latin-1 letters, CJK ideographs, symbols) or of all of them. Everything the run produces --
stdout, stderr, the ``xladdin`` log records of ``-v``, the text of the exception (with its whole chain,
as a traceback would print it) and the ``.eml`` (raw and decoded) -- is searched for the password, its
pieces, the escapes a Python error would print (``'\\xe4'``, ``\\u9f8d``), its UTF-8 bytes and its base64
forms (alone and in the AUTH PLAIN message). A non-ASCII password works where the server offers AUTH
PLAIN (RFC 4616: UTF-8) and is refused by name elsewhere; a reply lost after DATA is reported as a mail
possibly sent twice.
"""
from __future__ import annotations

import base64
import datetime as dt
import email
import ipaddress
import logging
import ssl
import subprocess
import sys
import time
import traceback
from email import policy
from pathlib import Path

import openpyxl
import pytest

aiosmtpd = pytest.importorskip("aiosmtpd")
from _net import free_port  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

from xladdin.ops.cli import main  # noqa: E402
from xladdin.ops.mail import MailError, send_report  # noqa: E402
from xladdin.workbook.summary import WeeklySummary, write_summary_sheet  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # aiosmtpd's Session.login_data

USER = "bot"
#: one password per character class, and one with all of them; none of their characters (nor five ASCII
#: characters in a row) occurs in xladdin's own messages, so any occurrence in an output is a leak
PASSWORDS = {
    "ascii": "Qz7Kx9Wv",
    "latin1": "ÇäßøÑé",
    "cjk": "龍鳳麟龜",
    "symbols": "^|~#^|",
    "mixed": "Qz7Kx-Çäßø-龍鳳-^|~#",
}


def fragments(password: str) -> set[str]:
    """What a leak of ``password`` would look like in an output."""
    out = {password}
    ascii_runs = [password[i:i + 5] for i in range(len(password) - 4)]
    out |= {w for w in ascii_runs if w.isascii()}
    out |= {w for w in (password[i:i + 3] for i in range(len(password) - 2)) if not w.isalnum() or not w.isascii()}
    for c in password:
        if not c.isascii():
            out |= {c, ascii(c)[1:-1], f"\\u{ord(c):04x}", f"U+{ord(c):04X}", repr(c.encode())[2:-1]}
    raw = password.encode()
    out |= {base64.b64encode(raw).decode(), base64.b64encode(b"\0" + USER.encode() + b"\0" + raw).decode()}
    if password.isascii():
        out.add(repr(password))
    return out


def leaks(text: str, password: str) -> list[str]:
    return sorted(f for f in fragments(password) if f in text)


def eml_texts(path: Path) -> str:
    """The .eml as stored and decoded: headers, plain and HTML bodies (attachment bytes left out)."""
    raw = path.read_bytes()
    msg = email.message_from_bytes(raw, policy=policy.default)
    parts = [raw.decode("ascii", "replace")] + [f"{k}: {v}" for k, v in msg.items()]
    for kind in ("plain", "html"):
        body = msg.get_body((kind,))
        if body is not None:
            parts.append(body.get_content())
    return "\n".join(parts)


# ---------------------------------------------------------------- servers

@pytest.fixture(autouse=True)
def isolated_env(isolated_mail_env):
    """No user config, no password from the developer's environment (tests/conftest.py)."""


class Handler:
    """Accepts mail; ``lose_data_reply`` times, it closes the connection instead of answering DATA (after
    keeping the message: the client cannot know it was delivered); ``data_reply`` refuses DATA."""

    def __init__(self, lose_data_reply: int = 0, data_reply: str | None = None, refuse: str | None = None):
        self.lose_data_reply = lose_data_reply
        self.data_reply = data_reply
        self.refuse = refuse
        self.messages: list[tuple[str, list[str]]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.lose_data_reply > 0:
            self.lose_data_reply -= 1
            server.transport.close()  # the message is kept, the 250 never reaches the client
        return "250 Message accepted for delivery"


class XOAuthHandler(Handler):
    """Offers only a mechanism smtplib does not speak."""

    async def auth_XOAUTH2(self, server, args):
        return AuthResult(success=False, handled=False)


def checking(password: str, echo: str | None = None, drop: bool = False, stall: float = 0.0):
    """An authenticator accepting ``bot`` / ``password``; ``echo``: the failure reply quoting what it got
    (``{login}``, ``{password}``, ``{b64}``); ``drop``: close the connection instead; ``stall``: block
    the server that many seconds first."""

    def authenticator(server, session, envelope, mechanism, auth_data):
        if stall:
            time.sleep(stall)
        if drop:
            server.transport.close()
            return AuthResult(success=False, handled=True)
        ok = auth_data.login == USER.encode() and auth_data.password == password.encode("utf-8")
        if ok:
            return AuthResult(success=True)
        got = auth_data.password.decode("utf-8", "replace")
        message = echo.format(login=auth_data.login.decode(), password=got,
                              b64=base64.b64encode(auth_data.password).decode()) if echo else None
        return AuthResult(success=False, handled=False, message=message)
    return authenticator


@pytest.fixture
def smtpd(smtpd):
    """tests/conftest.py's servers, AUTH offered without TLS unless a case says otherwise."""
    return lambda handler, **kwargs: smtpd(handler, **{"auth_require_tls": False, **kwargs})


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory) -> ssl.SSLContext:
    """A server context with a self-signed certificate the client does not trust."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    d = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (d / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(d / "c.pem"), str(d / "k.pem"))
    return ctx


@pytest.fixture
def report(tmp_path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "行业资金流"
    wb.active.append(["行业", "净流入(亿元)"])
    write_summary_sheet(wb, WeeklySummary(asof="2026-01-30", headlines=["规模信号（M5）：大盘占优"],
                                          inflows=[("电子", 35.2)], outflows=[("银行", -12.7)]))
    path = tmp_path / "周报_2026-01-30.xlsx"
    wb.save(path)
    return path


def config(tmp_path: Path, port: int, security: str = "none", retries: int = 1) -> Path:
    path = tmp_path / "mail.toml"
    path.write_text("\n".join([
        "[smtp]", 'host = "127.0.0.1"', f"port = {port}", f'security = "{security}"', f'user = "{USER}"',
        'sender = "bot@example.com"', "timeout = 2", "", "[send]", f"retries = {retries}", "backoff = 0"]) + "\n",
        encoding="utf-8")
    return path


# ---------------------------------------------------------------- the failure modes
#: mode -> (what the server does, extra flags, exit code, text the outcome must show, or a callable of the
#: password giving it)
NON_ASCII_REFUSED = "the SMTP password has non-ASCII characters; the server's AUTH needs ASCII"


def _server(mode: str, start, password: str, tls_context) -> tuple[int | None, Handler | None, str]:
    """Start the server of ``mode``; returns (port, handler, security)."""
    h = Handler()
    right = checking(password)
    if mode == "wrong password":
        return start(h, authenticator=checking(password + "x")), h, "none"
    if mode in ("accepted", "copy not writable"):
        return start(h, authenticator=right), h, "none"
    if mode == "LOGIN only":
        return start(h, authenticator=right, auth_exclude_mechanism=["PLAIN"]), h, "none"
    if mode == "no usable mechanism":
        h = XOAuthHandler()
        return start(h, authenticator=right, auth_exclude_mechanism=["PLAIN", "LOGIN"]), h, "none"
    if mode == "reply quotes the password":
        echo = "535 5.7.8 credentials {login}:{password} ({b64}) invalid"
        return start(h, authenticator=checking(password + "x", echo=echo)), h, "none"
    if mode == "temporary failure quoting it":
        echo = "454 4.7.0 Temporary authentication failure for {password}"
        return start(h, authenticator=checking(password + "x", echo=echo)), h, "none"
    if mode == "connection dropped during AUTH":
        return start(h, authenticator=checking(password, drop=True)), h, "none"
    if mode == "no answer to AUTH":
        return start(h, authenticator=checking(password, stall=2.5)), h, "none"
    if mode == "recipient refused":
        h = Handler(refuse="pm@example.com")
        return start(h, authenticator=right), h, "none"
    if mode == "DATA refused":
        h = Handler(data_reply="554 5.7.1 Message rejected")
        return start(h, authenticator=right), h, "none"
    if mode in ("reply to DATA lost, retried", "reply to DATA lost, no retry"):
        h = Handler(lose_data_reply=1)
        return start(h, authenticator=right), h, "none"
    if mode == "untrusted certificate":
        return start(h, authenticator=right, tls_context=tls_context, require_starttls=True), h, "starttls"
    if mode == "connection refused":
        return free_port(), None, "none"
    if mode == "dry run":
        return free_port(), None, "none"
    raise AssertionError(mode)


#: mode -> (exit code, what the output says; a callable gets the password)
MODES = {
    "wrong password": (1, "SMTP authentication as `bot`"),
    "accepted": (0, "in 1 attempt(s)"),
    "LOGIN only": (None, None),  # works for an ASCII password, refused by name otherwise
    "no usable mechanism": (1, "offers no AUTH mechanism xladdin can use"),
    "reply quotes the password": (1, "not shown: it quotes the credentials"),
    "temporary failure quoting it": (1, "gave up after 2 attempt(s)"),
    "connection dropped during AUTH": (1, "closed the connection unexpectedly"),
    "no answer to AUTH": (1, "did not answer within 2 s"),
    "recipient refused": (1, "refused recipient(s) pm@example.com (550"),
    "DATA refused": (1, "554 5.7.1 Message rejected"),
    "reply to DATA lost, retried": (0, "possibly sent twice to pm@example.com"),
    "reply to DATA lost, no retry": (1, "Possibly delivered to: pm@example.com"),
    "untrusted certificate": (1, "could not be verified"),
    "connection refused": (1, "connection refused"),
    "copy not writable": (1, "could not be written"),
    "dry run": (0, "dry run: wrote"),
}


@pytest.mark.parametrize("cls", list(PASSWORDS))
@pytest.mark.parametrize("mode", list(MODES))
def test_no_output_of_any_mail_failure_shows_the_password(mode, cls, smtpd, tls_context, report, tmp_path,
                                                          monkeypatch, capsys, caplog):
    password = PASSWORDS[cls]
    port, handler, security = _server(mode, smtpd, password, tls_context)
    retries = 0 if mode in ("reply to DATA lost, no retry", "no answer to AUTH") else 1
    cfg = config(tmp_path, port, security, retries)
    monkeypatch.setenv("XLADDIN_SMTP_PASSWORD", password)
    eml = tmp_path / "copy.eml"
    argv = ["send", str(report), "--config", str(cfg), "--to", "pm@example.com", "-v", "--eml", str(eml)]
    if mode == "dry run":
        argv.append("--dry-run")
    if mode == "copy not writable":
        argv[-1] = str(cfg / "copy.eml")  # beneath a file: no folder can be made there
    caplog.set_level(logging.DEBUG, logger="xladdin")
    rc = main(argv)
    out = capsys.readouterr()
    logs = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("xladdin"))
    texts = {"stdout": out.out, "stderr": out.err, "log": logs}
    if eml.is_file():
        texts["eml"] = eml_texts(eml)
    # the same run through the API: the exception, with its whole chain as a traceback prints it
    monkeypatch.setattr(time, "sleep", lambda s: None)
    try:
        send_report(report, config=cfg, to=["pm@example.com"], dry_run=mode == "dry run",
                    eml=tmp_path / "api.eml" if mode != "copy not writable" else cfg / "x.eml")
    except (MailError, ValueError) as exc:
        texts["exception"] = "".join(traceback.format_exception(exc)) + repr(exc)
    for where, text in texts.items():
        assert leaks(text, password) == [], (where, text)
        assert "codec" not in text and "Traceback (most recent call last):\n  File" not in (
            text if where != "exception" else ""), (where, text)
    code, says = MODES[mode]
    if mode == "LOGIN only":
        code, says = (0, "in 1 attempt(s)") if password.isascii() else (1, NON_ASCII_REFUSED)
    assert rc == code, out.err
    assert says in out.out + out.err, out.out + out.err
    if mode == "accepted":  # a non-ASCII password works: AUTH PLAIN in UTF-8
        assert handler.messages and handler.messages[0][1] == ["pm@example.com"]


@pytest.mark.parametrize("mode", ["wrong password", "LOGIN only", "reply quotes the password"])
def test_the_weekly_job_send_step_shows_no_password_either(mode, smtpd, tls_context, tmp_path, real_data_dir,
                                                          monkeypatch, capsys, caplog):
    password = PASSWORDS["mixed"]
    port, _, security = _server(mode, smtpd, password, tls_context)
    cfg = config(tmp_path, port, security)
    monkeypatch.setenv("XLADDIN_SMTP_PASSWORD", password)
    caplog.set_level(logging.DEBUG, logger="xladdin")
    out_dir = tmp_path / "out"
    rc = main(["weekly", "--out", str(out_dir), "--data", str(real_data_dir), "--no-progress", "--send",
               "--config", str(cfg), "--to", "pm@example.com", "-v"])
    out = capsys.readouterr()
    logs = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("xladdin"))
    assert rc == 1 and "step `send` failed" in out.err and not out_dir.exists()
    for text in (out.out, out.err, logs):
        assert leaks(text, password) == [], text
    assert (NON_ASCII_REFUSED if mode == "LOGIN only" else "535") in out.err


def test_the_command_line_refuses_a_non_ascii_password_for_login_only(smtpd, tls_context, report, tmp_path):
    """The issue's case as a user runs it: a real process, the password in the environment."""
    password = PASSWORDS["mixed"]
    port, handler, _ = _server("LOGIN only", smtpd, password, tls_context)
    cfg = config(tmp_path, port)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XLADDIN_SMTP_PASSWORD": password,
           "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8"}
    r = subprocess.run([sys.executable, "-m", "xladdin", "send", str(report), "--config", str(cfg), "--to",
                        "pm@example.com", "-v"], capture_output=True, text=True, encoding="utf-8", env=env,
                       timeout=120)
    assert r.returncode == 1 and handler.messages == []
    assert NON_ASCII_REFUSED in r.stderr and "Traceback" not in r.stderr
    assert leaks(r.stdout + r.stderr, password) == []
    # the same password through a server that offers PLAIN: sent
    port, handler, _ = _server("accepted", smtpd, password, tls_context)
    r = subprocess.run([sys.executable, "-m", "xladdin", "send", str(report), "--config",
                        str(config(tmp_path, port)), "--to", "pm@example.com"], capture_output=True, text=True,
                       encoding="utf-8", env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert handler.messages == [("bot@example.com", ["pm@example.com"])]
    assert leaks(r.stdout + r.stderr, password) == []


def test_the_leak_check_sees_each_kind_of_leak():
    """The search finds what a careless message would show."""
    for password in PASSWORDS.values():
        plain = base64.b64encode(b"\0bot\0" + password.encode()).decode()
        for shown in (f"error: {password}", f"password {password[:5]}...", f"AUTH PLAIN {plain}"):
            assert leaks(shown, password), (password, shown)
        for i, c in enumerate(password):  # smtplib's own error: one character and its offset
            if not c.isascii():
                error = str(UnicodeEncodeError("ascii", "\0bot\0" + password, i + 5, i + 6, "ordinal not in range"))
                assert leaks(error, password), error
    assert leaks("535 5.7.8 Authentication credentials invalid", PASSWORDS["mixed"]) == []
