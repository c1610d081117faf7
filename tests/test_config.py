"""TOML configuration: lookup order, validation, flag overrides, recipient lists, password lookup."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from xladdin.ops.config import (
    ConfigError,
    SmtpSettings,
    config_path,
    expand_recipients,
    get_password,
    load_config,
    parse_address,
    resolve_smtp_settings,
)

FULL = """
[smtp]
host = "smtp.example.com"
security = "SSL"
user = "bot@example.com"
sender = "量化研究 <bot@example.com>"
cafile = "certs/ca.pem"
password_env = "MY_PW"
keyring_service = "xladdin-smtp"
timeout = 12

[recipients]
weekly = ["pm@example.com", "张三 <zs@example.com>"]
desk = ["@weekly", "desk@example.com", "PM@example.com"]
single = "solo@example.com"

[send]
to = ["@desk"]
cc = []
subject = "周报 {asof}"
retries = 5
backoff = 1
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_full_file(tmp_path):
    cfg = load_config(write(tmp_path, FULL), environ={})
    s = cfg.smtp
    assert (s.host, s.port, s.security, s.effective_port) == ("smtp.example.com", None, "ssl", 465)
    assert s.user == "bot@example.com" and s.password_env == "MY_PW" and s.timeout == 12.0
    assert s.cafile == str(tmp_path / "certs" / "ca.pem")  # relative to the config file
    assert cfg.recipients["single"] == ["solo@example.com"]
    assert cfg.send == {"to": ["@desk"], "cc": [], "subject": "周报 {asof}", "retries": 5, "backoff": 1.0}
    assert cfg.path == tmp_path / "config.toml"
    assert s.describe() == "smtp.example.com:465 (ssl, AUTH as bot@example.com)"


def test_lookup_order(tmp_path):
    explicit = write(tmp_path, '[smtp]\nhost = "explicit"\n', "a.toml")
    by_env = write(tmp_path, '[smtp]\nhost = "env"\n', "b.toml")
    home = tmp_path / "home"
    (home / ".config" / "xladdin").mkdir(parents=True)
    write(home / ".config" / "xladdin", '[smtp]\nhost = "home"\n')
    env = {"HOME": str(home), "XLADDIN_CONFIG": str(by_env)}
    assert load_config(explicit, environ=env).smtp.host == "explicit"
    assert load_config(None, environ=env).smtp.host == "env"
    assert load_config(None, environ={"HOME": str(home)}).smtp.host == "home"
    xdg = tmp_path / "xdg"
    (xdg / "xladdin").mkdir(parents=True)
    write(xdg / "xladdin", '[smtp]\nhost = "xdg"\n')
    assert load_config(None, environ={"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)}).smtp.host == "xdg"
    # nothing anywhere: an empty configuration, not an error
    empty = load_config(None, environ={"HOME": str(tmp_path / "nohome")})
    assert empty.path is None and empty.smtp == SmtpSettings() and empty.recipients == {}
    assert config_path(None, environ={"HOME": str(tmp_path / "nohome")}) is None


def test_named_files_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="given with --config"):
        load_config(tmp_path / "missing.toml", environ={})
    with pytest.raises(ConfigError, match=r"\$XLADDIN_CONFIG"):
        load_config(None, environ={"XLADDIN_CONFIG": str(tmp_path / "missing.toml")})


@pytest.mark.parametrize("text, match", [
    ('[smtp]\npassword = "x"\n', "password is not allowed.*XLADDIN_SMTP_PASSWORD"),
    ('[smtp]\nhots = "x"\n', r"unknown key\(s\) in \[smtp\]: hots"),
    ('[mail]\nhost = "x"\n', r"unknown section\(s\) mail"),
    ('[smtp]\nsecurity = "tls"\n', "security `tls` is not one of starttls, ssl, none"),
    ('[smtp]\nport = 70000\n', "port `70000`"),
    ('[smtp]\nport = "587"\n', "port `587` must be an integer"),
    ('[smtp]\ntimeout = 0\n', "timeout"),
    ('[smtp]\nhost = 5\n', "host must be a string"),
    ('[recipients]\nweekly = [1, 2]\n', r"\[recipients\] weekly must be a list"),
    ('[recipients]\na = ["@b"]\nb = ["@a"]\n', "cycle: @a -> @b -> @a"),
    ('[recipients]\na = ["@nope"]\n', "unknown recipient list `@nope`"),
    ('[recipients]\na = ["not-an-address"]\n', "not an e-mail address"),
    ('[send]\nretries = -1\n', "retries must be an integer >= 0"),
    ('[send]\nfrom = "x@y.z"\n', r"unknown key\(s\) in \[send\]: from"),
    ("[smtp\n", "not valid TOML"),
])
def test_invalid_files(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text), environ={})


def test_flags_override(tmp_path):
    base = load_config(write(tmp_path, FULL), environ={}).smtp
    s = resolve_smtp_settings(base, host="127.0.0.1", port=2525, security="starttls", user=None, cafile=None)
    assert (s.host, s.effective_port, s.security, s.user) == ("127.0.0.1", 2525, "starttls", "bot@example.com")
    assert s.cafile == base.cafile  # None = not given, the file's value stays
    # only security overridden: no port in the file, so the new mode's default applies
    assert resolve_smtp_settings(base, security="none").effective_port == 25
    assert resolve_smtp_settings(SmtpSettings(port=2525), security="ssl").effective_port == 2525
    with pytest.raises(ConfigError, match="security"):
        resolve_smtp_settings(base, security="bogus")
    with pytest.raises(TypeError, match="password"):
        resolve_smtp_settings(base, password="x")


def test_expand_recipients():
    lists = {"weekly": ["pm@example.com", "张三 <zs@example.com>"], "desk": ["@weekly", "desk@example.com"]}
    got = expand_recipients(["@desk", "risk@example.com, PM@example.com", '"Li, Si" <ls@example.com>'], lists)
    assert got == ["pm@example.com", "张三 <zs@example.com>", "desk@example.com", "risk@example.com",
                   '"Li, Si" <ls@example.com>']
    assert expand_recipients(None, lists) == [] and expand_recipients([], lists) == []
    with pytest.raises(ConfigError, match=r"unknown recipient list `@wekly`.*lists: @desk, @weekly"):
        expand_recipients(["@wekly"], lists)
    with pytest.raises(ConfigError, match="none defined"):
        expand_recipients(["@weekly"], {})
    with pytest.raises(ConfigError, match="`report.xlsx` is not an e-mail address"):
        expand_recipients(["report.xlsx"], lists)


@pytest.mark.parametrize("text, expected", [
    ("a@b.cn", ("", "a@b.cn")),
    ("张三 <zs@example.com>", ("张三", "zs@example.com")),
    ('"Zhang, San" <z@x.com.cn>', ("Zhang, San", "z@x.com.cn")),
])
def test_parse_address_ok(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["a@b", "@b.cn", "ab.cn", "a@.cn", "a@b.", ""])
def test_parse_address_bad(text):
    with pytest.raises(ConfigError):
        parse_address(text)


def test_password_from_env_and_missing():
    assert get_password(SmtpSettings(host="h"), environ={"XLADDIN_SMTP_PASSWORD": "pw"}) is None  # no user, no AUTH
    s = SmtpSettings(host="h", user="bot")
    assert get_password(s, environ={"XLADDIN_SMTP_PASSWORD": "pw"}) == "pw"
    with pytest.raises(ConfigError, match="set the environment variable XLADDIN_SMTP_PASSWORD"):
        get_password(s, environ={"XLADDIN_SMTP_PASSWORD": ""})
    custom = SmtpSettings(host="h", user="bot", password_env="CORP_PW")
    assert get_password(custom, environ={"CORP_PW": "x", "XLADDIN_SMTP_PASSWORD": "y"}) == "x"
    with pytest.raises(ConfigError, match="CORP_PW"):
        get_password(custom, environ={"XLADDIN_SMTP_PASSWORD": "y"})


def test_password_keyring_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    s = SmtpSettings(host="h", user="bot", keyring_service="xladdin-smtp")
    with pytest.raises(ConfigError, match=r"pip install keyring`"):
        get_password(s, environ={})
    assert get_password(s, environ={"XLADDIN_SMTP_PASSWORD": "env-wins"}) == "env-wins"


def test_password_keyring(monkeypatch):
    store = {("xladdin-smtp", "bot"): "from-keyring"}
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, user: store.get((service, user))
    errors = types.ModuleType("keyring.errors")

    class KeyringError(Exception):
        pass

    errors.KeyringError = KeyringError
    fake.errors = errors
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.setitem(sys.modules, "keyring.errors", errors)
    s = SmtpSettings(host="h", user="bot", keyring_service="xladdin-smtp")
    assert get_password(s, environ={}) == "from-keyring"
    with pytest.raises(ConfigError, match="keyring set xladdin-smtp other"):
        get_password(SmtpSettings(host="h", user="other", keyring_service="xladdin-smtp"), environ={})

    def broken(service, user):
        raise KeyringError("no recommended backend")

    fake.get_password = broken
    with pytest.raises(ConfigError, match=r"no recommended backend.*\$XLADDIN_SMTP_PASSWORD"):
        get_password(s, environ={})


def test_documented_example_parses(tmp_path):
    """The example in xladdin.ops.config's docstring (also the README's) is a valid configuration."""
    import textwrap

    import xladdin.ops.config as mod
    doc = mod.__doc__
    example = textwrap.dedent(doc[doc.index("Example::") + len("Example::"):doc.index("The password is never")])
    cfg = load_config(write(tmp_path, example), environ={})
    assert cfg.smtp.security == "starttls" and cfg.smtp.effective_port == 587 and cfg.smtp.keyring_service
    assert expand_recipients(cfg.send["to"], cfg.recipients) == ["pm@example.com", "张三 <zhangsan@example.com>"]
    assert expand_recipients(["@desk"], cfg.recipients)[0] == "desk@example.com"
