"""Mail: message structure, and delivery against a real SMTP server (aiosmtpd) on 127.0.0.1.

Covers plain SMTP, STARTTLS and SMTPS with a self-signed certificate generated here, AUTH
(LOGIN/PLAIN, TLS required), permanent refusals, transient failures that succeed on retry,
and the ``xladdin send`` command end to end (including ``--dry-run``).
"""
from __future__ import annotations

import datetime as dt
import email
import logging
import shutil
import socket
import ssl
import subprocess
from email import policy
from pathlib import Path

import openpyxl
import pytest

aiosmtpd = pytest.importorskip("aiosmtpd")
from _net import free_port  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

from xladdin.ops.cli import main  # noqa: E402
from xladdin.ops.config import SmtpSettings  # noqa: E402
from xladdin.ops.mail import MailError, build_message, envelope, message_bytes, send_message  # noqa: E402
from xladdin.workbook.summary import WeeklySummary, write_summary_sheet  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # aiosmtpd's Session.login_data

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PASSWORD = "s3cret-Pw!x"
SENDER = "量化研究 <bot@example.com>"

SUMMARY = WeeklySummary(
    asof="2026-01-30",
    headlines=["规模信号（M5）：大盘占优", "成长信号（M6）：成长 <strong>"],
    inflows=[("电子", 35.2), ("计算机", 12.04)],
    outflows=[("银行", -12.7), ("食品饮料", -3.456)],
    picks=[("512480.SH", "半导体ETF"), ("510300.SH", "沪深300ETF")],
    extra={"样本ETF数": 64},
)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(autouse=True)
def isolated_env(isolated_mail_env):
    """No user config, no password from the developer's environment (tests/conftest.py)."""


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[Path, Path]:
    """Self-signed certificate for CN=localhost with SAN DNS:localhost, IP:127.0.0.1."""
    d = tmp_path_factory.mktemp("tls")
    cert_path, key_path = d / "cert.pem", d / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if not shutil.which("openssl"):
            pytest.skip("neither the cryptography package nor openssl is available to make a certificate")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key_path),
                        "-out", str(cert_path), "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        return cert_path, key_path
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                               x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def server_tls(cert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


class Handler:
    """Collects messages; can refuse recipients (5xx or a few 4xx) and fail DATA with 4xx/5xx."""

    def __init__(self, refuse=(), busy=None, data_failures=0, data_reply="451 4.3.0 Temporary local problem, try later"):
        self.refuse = set(refuse)
        self.busy = dict(busy or {})          # address -> number of 450 replies before accepting
        self.data_failures = data_failures     # number of DATA replies `data_reply` before 250
        self.data_reply = data_reply
        self.data_calls = 0
        self.rcpt_calls: list[str] = []
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_calls.append(address)
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if self.busy.get(address, 0) > 0:
            self.busy[address] -= 1
            return "450 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        if self.data_failures > 0:
            self.data_failures -= 1
            return self.data_reply
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self, i: int = 0) -> email.message.EmailMessage:
        return email.message_from_bytes(self.messages[i][2], policy=policy.default)


def authenticator(server, session, envelope, mechanism, auth_data):
    # handled=False: aiosmtpd then answers 535 itself (the default handled=True sends nothing on failure)
    return AuthResult(success=auth_data.login == b"bot" and auth_data.password == PASSWORD.encode(), handled=False)


@pytest.fixture
def report(tmp_path) -> Path:
    """A report workbook with a Chinese file name and a hidden `_summary` sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "行业资金流"
    ws.append(["行业", "净流入(亿元)"])
    ws.append(["电子", 35.2])
    write_summary_sheet(wb, SUMMARY)
    path = tmp_path / "周报_2026-01-30.xlsx"
    wb.save(path)
    return path


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def settings(port, **kw) -> SmtpSettings:
    base = dict(host="127.0.0.1", port=port, security="none", timeout=5.0)
    base.update(kw)
    return SmtpSettings(**base)


# ---------------------------------------------------------------- building

def test_build_message_structure(report):
    msg = build_message(report, SUMMARY, to=["张三 <zs@example.com>", "pm@example.com"], cc=["risk@example.com"],
                        sender=SENDER, subject=None)
    raw = message_bytes(msg)
    assert b"\r\n" in raw and max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert all(b < 128 for b in raw), "the message must be 7-bit clean (encoded headers, base64 bodies)"
    m = email.message_from_bytes(raw, policy=policy.default)
    assert m.get_content_type() == "multipart/mixed"
    alt, att = m.get_payload()
    assert alt.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alt.get_payload()] == ["text/plain", "text/html"]
    assert m["Subject"] == "xladdin 周报 2026-01-30"
    assert m["To"].addresses[0].display_name == "张三" and m["Cc"] == "risk@example.com"
    assert m["Message-ID"].endswith("@example.com>") and m["Date"] is not None
    # the attachment: Office MIME type, RFC 2231 file name, bytes unchanged
    assert att.get_content_type() == XLSX
    assert att.get_filename() == "周报_2026-01-30.xlsx"
    assert b"filename*=utf-8''%E5%91%A8%E6%8A%A5_2026-01-30.xlsx" in raw
    assert att.get_payload(decode=True) == report.read_bytes()
    text = m.get_body(("plain",)).get_content()
    body_html = m.get_body(("html",)).get_content()
    for s in ("2026-01-30", "规模信号（M5）：大盘占优", "电子", "+35.20", "+12.04", "银行", "-12.70", "-3.46",
              "512480.SH", "半导体ETF", "样本ETF数", "周报_2026-01-30.xlsx"):
        assert s in text and s in body_html, s
    assert "成长 <strong>" in text and "成长 &lt;strong&gt;" in body_html and "<strong>" not in body_html
    assert envelope(msg) == ("bot@example.com", ["zs@example.com", "pm@example.com", "risk@example.com"])


def test_build_message_without_summary_says_so(report):
    msg = build_message(report, None, to=["pm@example.com"], sender="bot@example.com")
    text = msg.get_body(("plain",)).get_content()
    assert "_summary" in text and "没有摘要页" in text and "+35.20" not in text
    assert msg["Subject"] == f"xladdin 周报 {report.name}"


def test_build_message_xlsm_type_and_errors(tmp_path, report):
    xlsm = tmp_path / "r.xlsm"
    xlsm.write_bytes(report.read_bytes())
    msg = build_message(xlsm, SUMMARY.to_dict(), to="a@example.com", sender="bot@example.com")
    assert next(msg.iter_attachments()).get_content_type() == "application/vnd.ms-excel.sheet.macroenabled.12"  # MIME types are case-insensitive
    with pytest.raises(ValueError, match="not an e-mail address"):
        build_message(report, SUMMARY, to=["report.xlsx"], sender="bot@example.com")
    with pytest.raises(ValueError, match="no recipients"):
        build_message(report, SUMMARY, to=[], sender="bot@example.com")
    with pytest.raises(ValueError, match="no sender"):
        build_message(report, SUMMARY, to=["a@example.com"], sender=None)
    with pytest.raises(FileNotFoundError):
        build_message(tmp_path / "missing.xlsx", SUMMARY, to=["a@example.com"], sender="bot@example.com")


# ---------------------------------------------------------------- sending

def test_send_plain(smtpd, report):
    h = Handler()
    port = smtpd(h)
    msg = build_message(report, SUMMARY, to=["pm@example.com"], cc=["risk@example.com"], sender=SENDER)
    result = send_message(msg, settings(port), None)
    assert result.attempts == 1 and result.recipients == ["pm@example.com", "risk@example.com"]
    mail_from, rcpts, raw = h.messages[0]
    assert mail_from == "bot@example.com" and rcpts == ["pm@example.com", "risk@example.com"]
    got = h.parsed()
    assert next(got.iter_attachments()).get_payload(decode=True) == report.read_bytes()
    assert got["Subject"] == "xladdin 周报 2026-01-30"


def test_send_starttls_verified_with_cafile(smtpd, report, cert, server_tls):
    h = Handler()
    port = smtpd(h, tls_context=server_tls, require_starttls=True)
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    send_message(msg, settings(port, security="starttls", cafile=str(cert[0])), None)
    assert len(h.messages) == 1
    # the same server without STARTTLS refuses (530); the error says to use --starttls
    with pytest.raises(MailError, match="--starttls") as err:
        send_message(msg, settings(port, security="none"), None, retries=2, sleep=Sleeps())
    assert err.value.attempts == 1 and err.value.kind == "refused"


def test_send_starttls_untrusted_certificate_is_not_retried(smtpd, report, server_tls):
    h = Handler()
    port = smtpd(h, tls_context=server_tls, require_starttls=True)
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    sleeps = Sleeps()
    with pytest.raises(MailError, match="--cafile") as err:
        send_message(msg, settings(port, security="starttls"), None, retries=3, sleep=sleeps)
    assert err.value.kind == "tls" and err.value.attempts == 1 and sleeps == [] and h.messages == []


def test_send_smtps(smtpd, report, cert, server_tls):
    h = Handler()
    port = smtpd(h, ssl_context=server_tls)
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    send_message(msg, settings(port, security="ssl", cafile=str(cert[0])), None)
    assert h.parsed()["Subject"] == "xladdin 周报 2026-01-30"


def test_send_auth_over_starttls(smtpd, report, cert, server_tls, caplog):
    h = Handler()
    port = smtpd(h, tls_context=server_tls, require_starttls=True, authenticator=authenticator,
                 auth_require_tls=True, auth_required=True)
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    s = settings(port, security="starttls", cafile=str(cert[0]), user="bot")
    with caplog.at_level(logging.DEBUG, logger="xladdin"):
        send_message(msg, s, PASSWORD)
    assert len(h.messages) == 1
    assert PASSWORD not in caplog.text and "attempt 1/4" in caplog.text


def test_send_auth_failure_is_clear_and_not_retried(smtpd, report, cert, server_tls, caplog):
    h = Handler()
    port = smtpd(h, tls_context=server_tls, require_starttls=True, authenticator=authenticator,
                 auth_require_tls=True, auth_required=True)
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    s = settings(port, security="starttls", cafile=str(cert[0]), user="bot", password_env="MY_SMTP_PW")
    sleeps = Sleeps()
    with caplog.at_level(logging.DEBUG, logger="xladdin"), pytest.raises(MailError) as err:
        send_message(msg, s, "wrong-password", retries=3, sleep=sleeps)
    text = str(err.value)
    assert err.value.kind == "auth" and err.value.attempts == 1 and sleeps == []
    assert "authentication as `bot`" in text and "535" in text and "$MY_SMTP_PW" in text
    assert "wrong-password" not in text and "wrong-password" not in caplog.text
    assert h.messages == []


def test_auth_needs_tls_first(smtpd, report, server_tls):
    """A server that offers AUTH only after STARTTLS: a plain client gets told to use TLS."""
    port = smtpd(Handler(), tls_context=server_tls, authenticator=authenticator, auth_require_tls=True)
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    with pytest.raises(MailError, match="does not offer AUTH.*--starttls") as err:
        send_message(msg, settings(port, user="bot"), PASSWORD)
    assert err.value.kind == "protocol"


def test_plain_auth_refused_off_loopback():
    """The password is never sent unencrypted to a remote host (checked before connecting anywhere)."""
    from xladdin.ops.mail import _is_loopback
    assert _is_loopback("127.0.0.1") and _is_loopback("localhost") and _is_loopback("::1")
    assert not _is_loopback("smtp.example.com") and not _is_loopback("10.0.0.5")


def test_recipient_refused_permanently(smtpd, report):
    h = Handler(refuse={"nobody@example.com"})
    port = smtpd(h)
    msg = build_message(report, SUMMARY, to=["nobody@example.com"], sender=SENDER)
    sleeps = Sleeps()
    with pytest.raises(MailError) as err:
        send_message(msg, settings(port), None, retries=3, sleep=sleeps)
    e = err.value
    assert e.kind == "refused" and e.attempts == 1 and sleeps == [] and e.delivered == []
    assert "nobody@example.com" in str(e) and "550" in str(e) and "Nothing was delivered" in str(e)
    assert e.refused["nobody@example.com"][0] == 550 and h.data_calls == 0


def test_partial_refusal_reports_who_got_it(smtpd, report):
    h = Handler(refuse={"nobody@example.com"})
    port = smtpd(h)
    msg = build_message(report, SUMMARY, to=["pm@example.com", "nobody@example.com"], sender=SENDER)
    with pytest.raises(MailError) as err:
        send_message(msg, settings(port), None, sleep=Sleeps())
    assert err.value.delivered == ["pm@example.com"] and "Delivered to: pm@example.com" in str(err.value)
    assert [m[1] for m in h.messages] == [["pm@example.com"]]


def test_permanent_data_rejection(smtpd, report):
    h = Handler(data_failures=5, data_reply="554 5.7.1 Message rejected as spam")
    port = smtpd(h)
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    with pytest.raises(MailError, match="554 5.7.1 Message rejected as spam") as err:
        send_message(msg, settings(port), None, sleep=Sleeps())
    assert err.value.attempts == 1 and h.data_calls == 1


def test_transient_data_failure_succeeds_on_retry(smtpd, report):
    h = Handler(data_failures=1)
    port = smtpd(h)
    msg = build_message(report, SUMMARY, to=["pm@example.com", "risk@example.com"], sender=SENDER)
    sleeps = Sleeps()
    result = send_message(msg, settings(port), None, retries=3, backoff=0.5, sleep=sleeps)
    assert result.attempts == 2 and h.data_calls == 2 and sleeps == [0.5]
    assert len(h.messages) == 1 and h.messages[0][1] == ["pm@example.com", "risk@example.com"]


def test_transient_failure_gives_up_with_exponential_backoff(smtpd, report):
    h = Handler(data_failures=100)
    port = smtpd(h)
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    sleeps = Sleeps()
    with pytest.raises(MailError, match="gave up after 4 attempt.*451") as err:
        send_message(msg, settings(port), None, retries=3, backoff=1.5, sleep=sleeps)
    assert err.value.kind == "transient" and h.data_calls == 4 and sleeps == [1.5, 3.0, 6.0]


def test_busy_recipient_retried_alone(smtpd, report):
    """A 450 for one recipient: the others get the mail once, the busy one on the retry."""
    h = Handler(busy={"busy@example.com": 1})
    port = smtpd(h)
    msg = build_message(report, SUMMARY, to=["pm@example.com", "busy@example.com"], sender=SENDER)
    result = send_message(msg, settings(port), None, backoff=0, sleep=Sleeps())
    assert result.attempts == 2 and result.recipients == ["pm@example.com", "busy@example.com"]
    assert [m[1] for m in h.messages] == [["pm@example.com"], ["busy@example.com"]]


def test_connection_refused_is_retried_then_explained(report):
    port = free_port()  # nothing listens there
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    sleeps = Sleeps()
    with pytest.raises(MailError, match="connection refused") as err:
        send_message(msg, settings(port), None, retries=2, backoff=2, sleep=sleeps)
    assert err.value.attempts == 3 and sleeps == [2, 4]


def test_timeout_is_transient(report):
    """A server that accepts the connection but never greets: timeout, retried, then explained."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        port = srv.getsockname()[1]
        msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
        sleeps = Sleeps()
        with pytest.raises(MailError, match="did not answer within 0.3 s") as err:
            send_message(msg, settings(port, timeout=0.3), None, retries=1, backoff=0, sleep=sleeps)
    assert err.value.attempts == 2 and sleeps == [0]


def test_no_host_and_missing_cafile(report):
    msg = build_message(report, SUMMARY, to=["pm@example.com"], sender=SENDER)
    with pytest.raises(MailError, match="no SMTP host"):
        send_message(msg, SmtpSettings(), None)
    with pytest.raises(MailError, match="CA file .* not found"):
        send_message(msg, settings(25, security="starttls", cafile="/nonexistent/ca.pem"), None)


# ---------------------------------------------------------------- CLI

def write_config(path: Path, port: int, cafile: Path | None = None, user: str | None = None,
                 security: str = "none") -> Path:
    lines = ["[smtp]", 'host = "127.0.0.1"', f"port = {port}", f'security = "{security}"',
             f'sender = "{SENDER}"']
    if cafile:
        lines.append(f'cafile = "{cafile}"')
    if user:
        lines.append(f'user = "{user}"')
    lines += ["", "[recipients]", 'weekly = ["pm@example.com", "张三 <zs@example.com>"]',
              'all = ["@weekly", "risk@example.com"]', "", "[send]", "backoff = 0"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_send_starttls_auth_with_list(smtpd, report, cert, server_tls, tmp_path, monkeypatch, capsys):
    h = Handler()
    port = smtpd(h, tls_context=server_tls, require_starttls=True, authenticator=authenticator,
                 auth_require_tls=True, auth_required=True)
    cfg = write_config(tmp_path / "c.toml", port, cafile=cert[0], user="bot", security="starttls")
    monkeypatch.setenv("XLADDIN_SMTP_PASSWORD", PASSWORD)
    rc = main(["send", str(report), "--config", str(cfg), "--to", "@all", "--cc", "boss@example.com"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "sent 'xladdin 周报 2026-01-30' to 4 recipient(s)" in out.out and "1 attempt(s)" in out.out
    assert PASSWORD not in out.out + out.err
    assert h.messages[0][1] == ["pm@example.com", "zs@example.com", "risk@example.com", "boss@example.com"]
    got = h.parsed()
    assert "+35.20" in got.get_body(("plain",)).get_content()
    assert next(got.iter_attachments()).get_filename() == report.name


def test_cli_flags_override_config(smtpd, report, tmp_path, monkeypatch, capsys):
    h = Handler()
    port = smtpd(h)
    cfg = write_config(tmp_path / "c.toml", free_port())  # the config points at a dead port
    monkeypatch.setenv("XLADDIN_CONFIG", str(cfg))
    rc = main(["send", str(report), "--to", "a@example.com", "--smtp-port", str(port), "--from", "other@example.com",
               "--subject", "周报 {asof} 请查收"])
    assert rc == 0, capsys.readouterr().err
    assert h.messages[0][0] == "other@example.com" and h.parsed()["Subject"] == "周报 2026-01-30 请查收"


def test_cli_missing_password_names_the_variable(report, tmp_path, capsys):
    cfg = write_config(tmp_path / "c.toml", free_port(), user="bot", security="starttls")
    rc = main(["send", str(report), "--config", str(cfg), "--to", "@weekly"])
    err = capsys.readouterr().err
    assert rc == 1 and "XLADDIN_SMTP_PASSWORD" in err and "bot" in err


def test_cli_refusal_exits_nonzero(smtpd, report, tmp_path, capsys):
    port = smtpd(Handler(refuse={"nobody@example.com"}))
    cfg = write_config(tmp_path / "c.toml", port)
    rc = main(["send", str(report), "--config", str(cfg), "--to", "nobody@example.com"])
    err = capsys.readouterr().err
    assert rc == 1 and "refused recipient(s) nobody@example.com (550" in err


def test_cli_transient_then_ok(smtpd, report, tmp_path, capsys):
    h = Handler(data_failures=2)
    port = smtpd(h)
    cfg = write_config(tmp_path / "c.toml", port)
    rc = main(["send", str(report), "--config", str(cfg), "--to", "@weekly"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "3 attempt(s)" in out.out and h.data_calls == 3 and len(h.messages) == 1


def test_cli_dry_run_writes_eml(report, tmp_path, capsys):
    eml = tmp_path / "out" / "mail.eml"
    rc = main(["send", str(report), "--to", "pm@example.com, 李四 <ls@example.com>", "--cc", "risk@example.com",
               "--from", "bot@example.com", "--dry-run", "--eml", str(eml)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert f"wrote {eml}" in out.out and "no SMTP host configured" in out.out
    m = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert [a.addr_spec for a in m["To"].addresses] == ["pm@example.com", "ls@example.com"]
    assert "+35.20" in m.get_body(("plain",)).get_content() and "<table" in m.get_body(("html",)).get_content()
    att = next(m.iter_attachments())
    assert att.get_content_type() == XLSX and att.get_payload(decode=True) == report.read_bytes()
    # default location: next to the report
    assert main(["send", str(report), "--to", "pm@example.com", "--from", "bot@example.com", "--dry-run"]) == 0
    assert report.with_suffix(".eml").is_file()


def test_cli_report_without_summary(tmp_path, capsys):
    path = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    wb.save(path)
    rc = main(["send", str(path), "--to", "pm@example.com", "--from", "bot@example.com", "--dry-run"])
    out = capsys.readouterr()
    assert rc == 0 and "no _summary sheet" in out.err
    m = email.message_from_bytes(path.with_suffix(".eml").read_bytes(), policy=policy.default)
    assert m["Subject"] == "xladdin 周报 plain.xlsx" and "没有摘要页" in m.get_body(("plain",)).get_content()


def test_cli_usage_errors(report, tmp_path, capsys):
    assert main(["send", str(report), "--from", "bot@example.com", "--dry-run"]) == 1
    assert "no recipients" in capsys.readouterr().err
    assert main(["send", str(report), "--to", "@nolist", "--from", "bot@example.com", "--dry-run"]) == 1
    assert "unknown recipient list `@nolist`" in capsys.readouterr().err
    assert main(["send", str(tmp_path / "missing.xlsx"), "--to", "a@example.com", "--dry-run"]) == 1
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["send", str(report), "--ssl", "--starttls"])
    with pytest.raises(SystemExit):
        main(["send", str(report), "--password", "x"])  # there is no password flag


def test_send_report_api_for_scripts(smtpd, report, cert, server_tls, tmp_path):
    """The function the weekly job calls: Config object, explicit environ, a copy of the sent .eml."""
    from xladdin.ops.config import load_config
    from xladdin.ops.mail import send_report
    h = Handler()
    port = smtpd(h, tls_context=server_tls, require_starttls=True, authenticator=authenticator,
                 auth_require_tls=True, auth_required=True)
    cfg = load_config(write_config(tmp_path / "c.toml", port, cafile=cert[0], user="bot", security="starttls"),
                      environ={})
    job = send_report(report, config=cfg, environ={"XLADDIN_SMTP_PASSWORD": PASSWORD}, to=["@weekly"],
                      eml=tmp_path / "sent.eml")
    assert job.has_summary and job.result.attempts == 1 and job.to == ["pm@example.com", "张三 <zs@example.com>"]
    assert h.messages[0][1] == ["pm@example.com", "zs@example.com"]
    assert email.message_from_bytes(job.eml.read_bytes(), policy=policy.default)["Message-ID"] == \
        h.parsed()["Message-ID"]
    with pytest.raises(ValueError, match="must be an .xlsx/.xlsm"):
        send_report(tmp_path / "c.toml", config=cfg)
