"""TOML configuration for the mail side: SMTP settings, recipient lists, ``send`` defaults.

Where the file is looked up (first match wins):

1. ``--config FILE`` (must exist),
2. ``$XLADDIN_CONFIG`` (must exist when set),
3. ``$XDG_CONFIG_HOME/xladdin/config.toml``, i.e. ``~/.config/xladdin/config.toml`` by default
   (optional: when it is missing the configuration is empty and everything comes from flags).

Example::

    [smtp]
    host = "smtp.example.com"
    port = 587                      # default: 465 for ssl, 587 for starttls, 25 for none
    security = "starttls"           # "starttls" | "ssl" | "none"
    user = "quant-bot@example.com"  # omit for a relay without AUTH
    sender = "量化研究 <quant-bot@example.com>"
    cafile = "/etc/ssl/internal-ca.pem"   # only for a self-signed / internal CA server
    password_env = "XLADDIN_SMTP_PASSWORD"
    keyring_service = "xladdin-smtp"      # optional, needs `pip install keyring`
    timeout = 30

    [recipients]
    weekly = ["pm@example.com", "张三 <zhangsan@example.com>"]
    desk = ["desk@example.com", "@weekly"]   # a list may include another list

    [send]
    to = ["@weekly"]
    cc = []
    subject = "xladdin 周报 {asof}"
    retries = 3
    backoff = 2.0

The password is never read from the file (a ``password`` key is an error): it comes from the
environment variable named by ``password_env`` or from the system keyring (:func:`get_password`).
Command-line flags override the file (:func:`resolve_smtp_settings`).
"""
from __future__ import annotations

import math
import os
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import getaddresses
from pathlib import Path
from typing import Any

#: environment variable that points at the configuration file
CONFIG_ENV = "XLADDIN_CONFIG"
#: default environment variable holding the SMTP password
DEFAULT_PASSWORD_ENV = "XLADDIN_SMTP_PASSWORD"
#: accepted values of ``[smtp] security``
SECURITY_MODES = ("starttls", "ssl", "none")
#: port used when neither the file nor a flag gives one
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
#: default subject per report language; ``{asof}`` is replaced by the summary date (or the report's file name)
DEFAULT_SUBJECTS = {"zh": "xladdin 周报 {asof}", "en": "xladdin weekly report {asof}"}
#: default subject of a report without a summary (its language unknown: Chinese, the reports' default)
DEFAULT_SUBJECT = DEFAULT_SUBJECTS["zh"]
#: seconds allowed for each whole exchange with the SMTP server
DEFAULT_TIMEOUT = 30.0
#: retries after a transient failure, and the first wait before one (doubled each time), seconds
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 2.0

_SMTP_KEYS = {"host", "port", "security", "user", "sender", "cafile", "password_env", "keyring_service", "timeout"}
_SEND_KEYS = {"to", "cc", "subject", "retries", "backoff"}
_SECTIONS = {"smtp", "recipients", "send"}


class ConfigError(ValueError):
    """The configuration (file, flags or environment) is incomplete or invalid; the message says what to fix."""


@dataclass(frozen=True)
class SmtpSettings:
    """Everything needed to open an SMTP session (the password excepted).

    Attributes
    ----------
    host, port : server address; ``port`` None means the default for ``security`` (:attr:`effective_port`).
    security : "starttls" (plain connect, then STARTTLS; verified), "ssl" (implicit TLS, verified) or "none".
    user : login name for SMTP AUTH; None = no AUTH.
    sender : envelope and ``From`` address (may carry a display name).
    cafile : PEM file of CA certificates used *instead of* the system store (self-signed / internal CA).
    password_env : name of the environment variable holding the password.
    keyring_service : service name in the system keyring (looked up with ``user``); None = no keyring.
    timeout : seconds allowed for each whole exchange with the server: connect, TLS handshake and the
        complete greeting; then each command and its complete reply (see :class:`xladdin.ops.mail._DeadlineSMTP`).
    """

    host: str | None = None
    port: int | None = None
    security: str = "starttls"
    user: str | None = None
    sender: str | None = None
    cafile: str | None = None
    password_env: str = DEFAULT_PASSWORD_ENV
    keyring_service: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ConfigError(f"smtp security `{self.security}` is not one of {', '.join(SECURITY_MODES)}")
        if self.port is not None and (isinstance(self.port, bool) or not isinstance(self.port, int)
                                      or not 0 < self.port < 65536):
            raise ConfigError(f"smtp port `{self.port}` must be an integer between 1 and 65535")
        if not (isinstance(self.timeout, (int, float)) and not isinstance(self.timeout, bool) and self.timeout > 0
                and math.isfinite(self.timeout)):
            raise ConfigError(f"smtp timeout `{self.timeout}` must be a positive (finite) number of seconds")
        if not self.password_env:
            raise ConfigError("smtp password_env must name an environment variable")

    @property
    def effective_port(self) -> int:
        """``port``, or 465 / 587 / 25 for ssl / starttls / none."""
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]

    def describe(self) -> str:
        """One line for messages, without any secret: ``host:port (security[, AUTH as user])``."""
        auth = f", AUTH as {self.user}" if self.user else ""
        return f"{self.host}:{self.effective_port} ({self.security}{auth})"


@dataclass
class Config:
    """A parsed configuration file.

    Attributes
    ----------
    smtp : SMTP settings from ``[smtp]``.
    recipients : named recipient lists from ``[recipients]`` (name -> list of entries).
    send : defaults of the ``send`` command from ``[send]`` (to, cc, subject, retries, backoff).
    path : the file read, or None when no file was found.
    """

    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    recipients: dict[str, list[str]] = field(default_factory=dict)
    send: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def config_path(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The configuration file to read: ``path``, else ``$XLADDIN_CONFIG``, else the user default.

    Returns
    -------
    Path or None
        None when neither ``path`` nor the environment variable is given and the user default
        (``$XDG_CONFIG_HOME`` or ``~/.config``, then ``xladdin/config.toml``) does not exist.

    Raises
    ------
    ConfigError
        When an explicitly named file (argument or environment variable) does not exist.
    """
    env = os.environ if environ is None else environ
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise ConfigError(f"config file {p} not found (given with --config)")
        return p
    if env.get(CONFIG_ENV):
        p = Path(env[CONFIG_ENV]).expanduser()
        if not p.is_file():
            raise ConfigError(f"config file {p} not found (named by ${CONFIG_ENV}); fix or unset the variable")
        return p
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path(env.get("HOME") or Path.home()) / ".config"
    p = base / "xladdin" / "config.toml"
    return p if p.is_file() else None


def load_config(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the configuration (see the module docstring for the lookup order).

    Parameters
    ----------
    path : explicit file (``--config``); None = look up ``$XLADDIN_CONFIG`` then the user default.
    environ : environment to consult (default ``os.environ``); tests pass a dict.

    Returns
    -------
    Config
        Empty (all defaults) when no file exists at the default location.

    Raises
    ------
    ConfigError
        Unreadable TOML, unknown sections or keys (typos are not ignored), wrong types, or a
        ``password`` key (passwords never live in the file).
    """
    p = config_path(path, environ)
    if p is None:
        return Config()
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {p} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start}); TOML files are UTF-8: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p} is not valid TOML: {exc}") from exc
    return parse_config(data, source=str(p), path=p)


def parse_config(data: Mapping[str, Any], source: str = "config", path: Path | None = None) -> Config:
    """Validate a parsed TOML mapping into a :class:`Config` (see :func:`load_config`)."""
    unknown = set(data) - _SECTIONS
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(_SECTIONS))}")
    smtp_raw = dict(_table(data, "smtp", source))
    if "password" in smtp_raw:
        raise ConfigError(f"{source}: [smtp] password is not allowed in the config file; put the password in the "
                          f"environment variable named by password_env (default {DEFAULT_PASSWORD_ENV}) "
                          "or in the system keyring (keyring_service)")
    _check_keys(smtp_raw, _SMTP_KEYS, "smtp", source)
    for key in ("host", "security", "user", "sender", "cafile", "password_env", "keyring_service"):
        if key in smtp_raw and not isinstance(smtp_raw[key], str):
            raise ConfigError(f"{source}: [smtp] {key} must be a string, got {smtp_raw[key]!r}")
    if "security" in smtp_raw:
        smtp_raw["security"] = smtp_raw["security"].lower()
    if "cafile" in smtp_raw:
        ca = Path(smtp_raw["cafile"]).expanduser()
        if not ca.is_absolute() and path is not None:
            ca = path.parent / ca  # relative to the config file, not to the working directory
        smtp_raw["cafile"] = str(ca)
    if "timeout" in smtp_raw and isinstance(smtp_raw["timeout"], int) and not isinstance(smtp_raw["timeout"], bool):
        smtp_raw["timeout"] = float(smtp_raw["timeout"])
    try:
        smtp = SmtpSettings(**smtp_raw)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None

    recipients: dict[str, list[str]] = {}
    for name, value in _table(data, "recipients", source).items():
        recipients[name] = _str_list(value, f"[recipients] {name}", source)

    send_raw = dict(_table(data, "send", source))
    _check_keys(send_raw, _SEND_KEYS, "send", source)
    send: dict[str, Any] = {}
    for key in ("to", "cc"):
        if key in send_raw:
            send[key] = _str_list(send_raw[key], f"[send] {key}", source)
    if "subject" in send_raw:
        if not isinstance(send_raw["subject"], str):
            raise ConfigError(f"{source}: [send] subject must be a string")
        send["subject"] = check_subject(send_raw["subject"], f"{source}: [send] subject")
    if "retries" in send_raw:
        send["retries"] = check_retries(send_raw["retries"], None, f"{source}: [send] ")[0]
    if "backoff" in send_raw:
        send["backoff"] = check_retries(None, send_raw["backoff"], f"{source}: [send] ")[1]
    cfg = Config(smtp=smtp, recipients=recipients, send=send, path=path)
    for name in recipients:  # unknown @references and cycles are reported when the file is read
        expand_recipients([f"@{name}"], recipients)
    return cfg


def check_retries(retries: Any, backoff: Any, where: str = "") -> tuple[int | None, float | None]:
    """``(retries, backoff)`` checked (None = not given): retries an integer >= 0, backoff a finite number
    of seconds >= 0 (``nan`` and ``inf`` refused); ConfigError says which (``where`` prefixes it)."""
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise ConfigError(f"{where}retries must be an integer >= 0, got {retries!r}")
    if backoff is not None:
        if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or not math.isfinite(backoff) \
                or backoff < 0:
            raise ConfigError(f"{where}backoff must be a finite number of seconds >= 0 (the first wait before a "
                              f"retry), got {backoff!r}")
        backoff = float(backoff)
    return retries, backoff


def check_subject(template: str, source: str = "--subject") -> str:
    """``template`` when it is a valid subject template, else :class:`ConfigError` saying what to change.

    Valid: one line, and no placeholder but ``{asof}`` (the report date) -- no attribute, index,
    conversion or format spec (``{asof.x}``, ``{asof:>99}`` ...), no other name; ``{{`` and ``}}``
    stand for literal braces.
    """
    rule = "the only placeholder is {asof} (the report date); write {{ and }} for literal braces"
    if "\r" in template or "\n" in template:
        raise ConfigError(f"{source} must be one line (it contains a line break)")
    try:
        fields = [(f, conv, spec) for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{source} `{template}`: {exc}; {rule}") from None
    for f, conv, spec in fields:
        if f != "asof" or conv or spec:
            shown = "{" + f + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            raise ConfigError(f"{source} `{template}`: placeholder {shown[:40]} is not allowed; {rule}")
    return template


def render_subject(template: str, asof: str, source: str = "--subject") -> str:
    """The subject: ``template`` (checked by :func:`check_subject`) with ``{asof}`` replaced."""
    return check_subject(template, source).format(asof=asof)


def _table(data: Mapping[str, Any], name: str, source: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: `{name}` must be a table ([{name}])")
    return value


def _check_keys(raw: Mapping[str, Any], allowed: set[str], section: str, source: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) in [{section}]: {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(allowed))}")


def _str_list(value: Any, what: str, source: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: {what} must be a list of address strings, got {value!r}")
    return list(value)


def parse_address(text: str) -> tuple[str, str]:
    """Split ``"Name <a@b.c>"`` or ``"a@b.c"`` into ``(display name, address)``; ConfigError if invalid."""
    pairs = getaddresses([text])
    if len(pairs) != 1:
        raise ConfigError(f"`{text}` is not one e-mail address")
    name, addr = pairs[0]
    local, at, domain = addr.rpartition("@")
    if not at or not local or "." not in domain or domain.startswith(".") or domain.endswith(".") \
            or any(c.isspace() for c in addr):
        raise ConfigError(f"`{text}` is not an e-mail address (expected name@domain.tld)")
    return name, addr


def expand_recipients(items: list[str] | tuple[str, ...] | None, lists: Mapping[str, list[str]]) -> list[str]:
    """Expand ``@name`` references to named lists, split comma-separated entries, check and de-duplicate.

    Parameters
    ----------
    items : entries as given on the command line or in ``[send] to``: addresses (``a@b.c`` or
        ``Name <a@b.c>``), comma-separated groups of them, or ``@name`` for the list ``[recipients] name``.
    lists : the named lists (``Config.recipients``); a list may reference other lists.

    Returns
    -------
    list of str
        Entries in first-seen order, each address once (compared case-insensitively); display
        names are kept.

    Raises
    ------
    ConfigError
        Unknown list name, a cycle between lists, or an entry that is not an address.
    """
    out: list[str] = []
    seen: set[str] = set()

    def walk(entries: list[str] | tuple[str, ...], stack: tuple[str, ...]) -> None:
        for entry in entries:
            for part in _split_entry(entry):
                if part.startswith("@"):
                    name = part[1:]
                    if name not in lists:
                        known = ", ".join(f"@{n}" for n in sorted(lists)) or "none defined"
                        raise ConfigError(f"unknown recipient list `{part}`; define it under [recipients] "
                                          f"in the config file (lists: {known})")
                    if name in stack:
                        raise ConfigError(f"recipient lists refer to each other in a cycle: "
                                          f"{' -> '.join('@' + s for s in stack + (name,))}")
                    walk(lists[name], stack + (name,))
                    continue
                _, addr = parse_address(part)
                if addr.lower() not in seen:
                    seen.add(addr.lower())
                    out.append(part)

    walk(list(items or []), ())
    return out


def _split_entry(entry: str) -> list[str]:
    """Split on commas outside quotes and angle brackets (``"Zhang, San" <z@x.cn>, b@y.cn``)."""
    parts, buf, quote, angle = [], [], False, False
    for ch in entry:
        if ch == '"':
            quote = not quote
        elif ch == "<" and not quote:
            angle = True
        elif ch == ">" and not quote:
            angle = False
        if ch == "," and not quote and not angle:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def resolve_smtp_settings(base: SmtpSettings, **overrides: Any) -> SmtpSettings:
    """``base`` with every override that is not None applied (flags win over the file).

    Parameters
    ----------
    base : settings from the configuration file.
    **overrides : any :class:`SmtpSettings` field (host, port, security, user, sender, cafile, timeout).

    Returns
    -------
    SmtpSettings
        Note that ``port`` is not re-derived when only ``security`` is overridden: a port given in
        the file stays; without one the default for the (new) security mode applies.
    """
    unknown = set(overrides) - set(SmtpSettings.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown SMTP setting(s): {', '.join(sorted(unknown))}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "cafile" in changes:
        changes["cafile"] = str(Path(changes["cafile"]).expanduser())
    return replace(base, **changes)


def get_password(settings: SmtpSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The SMTP password: from ``$<password_env>``, else from the keyring; None when no AUTH is configured.

    Parameters
    ----------
    settings : ``user`` None means no AUTH and no password is looked up.
    environ : environment to consult (default ``os.environ``).

    Returns
    -------
    str or None

    Raises
    ------
    ConfigError
        AUTH is configured and no password is found (the message names the variable and the keyring
        entry to set), or the keyring is configured but the optional ``keyring`` package is missing.

    Notes
    -----
    Order: the environment variable (if set and non-empty) wins over the keyring, so a CI job can
    override a desktop keyring entry. The password is never accepted as a flag or from the config file.
    """
    if not settings.user:
        return None
    env = os.environ if environ is None else environ
    value = env.get(settings.password_env)
    if value:
        return value
    if settings.keyring_service:
        try:
            import keyring  # optional dependency
            from keyring.errors import KeyringError  # optional dependency (the keyring extra)
        except ImportError:
            raise ConfigError(f"the config asks for the system keyring (keyring_service = "
                              f"\"{settings.keyring_service}\") but the `keyring` package is not installed: "
                              f"run `pip install keyring`, or set the password in ${settings.password_env}") from None
        try:
            value = keyring.get_password(settings.keyring_service, settings.user)
        except KeyringError as exc:
            raise ConfigError(f"cannot read the system keyring ({exc}); set the password in "
                              f"${settings.password_env} instead") from None
        if value:
            return value
        raise ConfigError(f"no SMTP password for user `{settings.user}`: ${settings.password_env} is not set and "
                          f"the keyring has no entry for service `{settings.keyring_service}`; store one with "
                          f"`keyring set {settings.keyring_service} {settings.user}`")
    raise ConfigError(f"SMTP user `{settings.user}` is configured but no password was found: set the environment "
                      f"variable {settings.password_env} (or configure [smtp] keyring_service)")
