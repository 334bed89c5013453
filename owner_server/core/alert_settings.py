"""The ``[alerts]`` section of ``settings.toml``: where the running server sends alerts.

Example::

    [alerts]
    poll_seconds = 5          # how often the delivery worker looks for due alerts
    backlog_hours = 24        # alerts older than this are not sent to a channel that never had them

    [alerts.email]            # SMTP with STARTTLS (always; plain text is refused)
    host = "smtp.example.com"
    port = 587
    sender = "custos@example.com"
    recipients = ["security@example.com"]
    username = "custos"       # optional; the password is read from the variable below
    password_env = "CUSTOS_SMTP_PASSWORD"
    ca_file = "/etc/custos/smtp-ca.pem"   # optional: trust this CA instead of the system's

    [alerts.webhook]          # JSON POST signed with HMAC-SHA256
    url = "https://siem.example.com/hooks/custos"
    secret_env = "CUSTOS_WEBHOOK_SECRET"  # or secret = "..." (the file is 0600)

    [alerts.syslog]           # RFC 5424 for a SIEM
    host = "siem.example.com"
    port = 514
    transport = "udp"         # or "tcp" (RFC 6587 octet counting)

No channel configured means alerts are stored and listed only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["AlertSettings", "EmailChannel", "SyslogChannel", "WebhookChannel"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_HOST = re.compile(r"^[A-Za-z0-9._:\-\[\]]{1,253}$")
Port = Annotated[int, Field(ge=1, le=65535)]
Timeout = Annotated[float, Field(gt=0, le=60)]
MIN_SECRET_BYTES = 16
PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "changethis", "password", "xxxxxxxxxxxxxxxx"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError("must be an environment variable name (letters, digits, _)")
    return value


def _host(value: str) -> str:
    if not _HOST.match(value):
        raise ValueError("must be a host name or IP address")
    return value


class EmailChannel(_Frozen):
    """Email over SMTP, always upgraded with STARTTLS (RFC 3207) before anything is sent.

    Attributes:
        host: The SMTP server (submission).
        port: Its port (587 is submission).
        sender: The ``From`` address.
        recipients: Who receives alerts (at least one).
        username: Login name when the server needs one (with ``password_env``).
        password_env: Name of the environment variable holding the password.
        ca_file: A PEM CA bundle to trust instead of the system store.
        timeout_seconds: Connect and per-command timeout.
        subject_prefix: Put before every subject.
    """

    host: str
    port: Port = 587
    sender: str
    recipients: list[str] = Field(min_length=1, max_length=50)
    username: str | None = Field(default=None, min_length=1, max_length=200)
    password_env: str | None = None
    ca_file: Path | None = None
    timeout_seconds: Timeout = 10.0
    subject_prefix: str = Field(default="[Custos]", max_length=40)

    _check_host = field_validator("host")(_host)
    _check_env = field_validator("password_env")(_env_name)

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError("must be an email address")
        return value

    @field_validator("recipients")
    @classmethod
    def _check_recipients(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _ADDRESS.match(v)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an email address")
        return value

    @model_validator(mode="after")
    def _login_pair(self) -> EmailChannel:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together (the password is read from the environment)")
        return self

    def password(self) -> str | None:
        """The SMTP password from the environment, or None when no login is configured.

        Raises:
            ValueError: The named variable is not set or empty.
        """
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env, "")
        if not value:
            raise ValueError(f"environment variable {self.password_env} (alerts.email.password_env) is not set")
        return value


class WebhookChannel(_Frozen):
    """A JSON POST signed with HMAC-SHA256 over the timestamp and the exact body.

    Attributes:
        url: ``https://`` (or ``http://`` on a trusted network) address.
        secret: The shared HMAC key (settings.toml is 0600); or use ``secret_env``.
        secret_env: Name of the environment variable holding the key.
        ca_file: A PEM CA bundle to trust instead of the system store.
        timeout_seconds: Whole-request timeout.
    """

    url: str = Field(max_length=2000)
    secret: str | None = Field(default=None, repr=False)
    secret_env: str | None = None
    ca_file: Path | None = None
    timeout_seconds: Timeout = 10.0

    _check_env = field_validator("secret_env")(_env_name)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/?#]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        if value is not None:
            _strong(value, "alerts.webhook.secret")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookChannel:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError("set exactly one of secret and secret_env")
        return self

    def key(self) -> bytes:
        """The HMAC key.

        Raises:
            ValueError: The named variable is unset, or the secret is weak.
        """
        if self.secret is not None:
            return self.secret.encode()
        assert self.secret_env is not None
        value = os.environ.get(self.secret_env, "")
        _strong(value, f"environment variable {self.secret_env} (alerts.webhook.secret_env)")
        return value.encode()


def _strong(value: str, what: str) -> None:
    if not value:
        raise ValueError(f"{what} is not set")
    if len(value.encode()) < MIN_SECRET_BYTES or value.lower() in PLACEHOLDERS:
        raise ValueError(f"{what} must be a random secret of at least {MIN_SECRET_BYTES} characters")


class SyslogChannel(_Frozen):
    """RFC 5424 messages for a SIEM, over UDP (RFC 5426) or TCP (RFC 6587 octet counting).

    Attributes:
        host: The collector.
        port: Its port.
        transport: ``udp`` or ``tcp``.
        facility: RFC 5424 facility code (default 4, security/authorization).
        hostname: HOSTNAME field; the machine's name when empty.
        app_name: APP-NAME field.
        timeout_seconds: TCP connect and send timeout.
    """

    host: str
    port: Port = 514
    transport: Literal["udp", "tcp"] = "udp"
    facility: int = Field(default=4, ge=0, le=23)
    hostname: str = Field(default="", max_length=255, pattern=r"^[!-~]*$")
    app_name: str = Field(default="custos", min_length=1, max_length=48, pattern=r"^[!-~]+$")
    timeout_seconds: Timeout = 10.0

    _check_host = field_validator("host")(_host)


class AlertSettings(_Frozen):
    """Alert delivery: the channels and how the worker runs.

    Attributes:
        poll_seconds: How often the running server sends due deliveries.
        backlog_hours: How far back a worker looks for alerts a channel has
            not had yet: a channel configured today does not receive years of
            old alerts, and an alert older than this is listed but never sent
            to a channel it was not queued for. Queued deliveries are retried
            whatever their age.
        email: SMTP delivery, or None.
        webhook: Webhook delivery, or None.
        syslog: Syslog delivery, or None.
    """

    poll_seconds: float = Field(default=5.0, ge=0.2, le=60)
    backlog_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None
    syslog: SyslogChannel | None = None

    @property
    def configured(self) -> list[str]:
        """Names of the configured channels (``email``, ``webhook``, ``syslog``)."""
        return [name for name in ("email", "webhook", "syslog") if getattr(self, name) is not None]
