"""Real local receivers for alert channels: SMTP with STARTTLS, a signed-webhook HTTP server, syslog.

Each is a context manager that listens on a loopback port (a free one, or the
one given, so a test can bring a "down" receiver back on the same port) and
collects what it received::

    ca = make_ca(tmp_path)
    with smtp_receiver(ca) as smtp, webhook_receiver(SECRET) as hook:
        ...  # point [alerts.email] at smtp.host/smtp.port with ca_file=ca.ca_file, [alerts.webhook] at hook.url
        wait_for(lambda: smtp.messages and hook.received, timeout=60)
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import re
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from owner_server.core import tls

__all__ = [
    "SmtpReceiver",
    "SyslogMessage",
    "SyslogReceiver",
    "ReceiverCA",
    "WebhookReceiver",
    "free_port",
    "parse_rfc5424",
    "smtp_receiver",
    "syslog_tcp_receiver",
    "syslog_udp_receiver",
    "make_ca",
    "wait_for",
    "webhook_receiver",
    "write_alert_settings",
]

HOST = "127.0.0.1"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A loopback port free right now."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.1) -> bool:
    """Poll until ``predicate()`` is truthy; False when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@dataclass
class ReceiverCA:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost, as PEM files."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the certificate."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx


def make_ca(directory: Path) -> ReceiverCA:
    """Write a CA and a loopback server certificate under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = tls.create_ca("Receivers Test CA")
    key, cert = tls.issue_server_certificate(ca_key, ca_cert, ["localhost", HOST])
    made = ReceiverCA(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    for path in (made.ca_file, made.cert_file, made.key_file):
        path.unlink(missing_ok=True)
    tls.write_certificate(made.ca_file, ca_cert)
    tls.write_certificate(made.cert_file, cert)
    tls.write_private_key(made.key_file, key)
    return made


# --- SMTP -------------------------------------------------------------------------------------------


@dataclass
class SmtpReceiver:
    """An aiosmtpd server that requires STARTTLS (and AUTH when a login is given).

    Attributes:
        host: Its address.
        port: Its port.
        messages: Each message received, parsed.
        tls_sessions: For each message, whether it arrived over TLS.
        logins: The logins that authenticated.
    """

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    tls_sessions: list[bool] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


class _SmtpHandler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.receiver.tls_sessions.append(session.ssl is not None)
        self.receiver.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


@contextmanager
def smtp_receiver(
    ca: ReceiverCA, *, port: int | None = None, login: tuple[str, str] | None = None
) -> Iterator[SmtpReceiver]:
    """An SMTP server on loopback offering STARTTLS with ``ca``'s certificate and refusing mail without it.

    Args:
        ca: Certificate material.
        port: Listen here (default: a free port).
        login: ``(user, password)`` to require AUTH with; no AUTH when None.
    """
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    receiver = SmtpReceiver(HOST, port or free_port())

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            login is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == login
        )
        if ok:
            receiver.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    extra: dict[str, Any] = {}
    if login is not None:
        extra = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": True}
    controller = Controller(
        _SmtpHandler(receiver),
        hostname=HOST,
        port=receiver.port,
        tls_context=ca.server_context(),
        require_starttls=True,
        server_hostname="localhost",
        **extra,
    )
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()


# --- webhook ----------------------------------------------------------------------------------------


@dataclass
class WebhookReceiver:
    """An HTTP server that checks the Custos HMAC signature of every POST.

    Attributes:
        host: Its address.
        port: Its port.
        secret: The shared key.
        status: What it answers to a good request (set 500 to play "down").
        received: Bodies of correctly signed requests, parsed.
        headers: Their headers.
        rejected: How many requests had a missing or wrong signature.
        fail_refs: Alert refs it answers 500 to (a message the receiver cannot take).
    """

    host: str
    port: int
    secret: bytes
    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    rejected: int = 0
    fail_refs: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://{self.host}:{self.port}/hooks/custos"


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            stamp = self.headers.get("X-Custos-Timestamp", "")
            given = self.headers.get("X-Custos-Signature", "")
            want = "sha256=" + hmac.new(receiver.secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
            with receiver.lock:
                if not (fresh and hmac.compare_digest(given, want)):
                    receiver.rejected += 1
                    status = 401
                else:
                    status = receiver.status
                    if json.loads(body).get("ref") in receiver.fail_refs:
                        status = 500
                    if status < 300:
                        receiver.received.append(json.loads(body))
                        receiver.headers.append(dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            return

    return Handler


@contextmanager
def webhook_receiver(secret: bytes, *, port: int | None = None) -> Iterator[WebhookReceiver]:
    """A threaded HTTP server on loopback that records correctly signed alert POSTs."""
    receiver = WebhookReceiver(HOST, port or free_port(), secret)
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((HOST, receiver.port), _handler_for(receiver))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- syslog -----------------------------------------------------------------------------------------

_HEADER = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<version>[1-9]\d{0,2}) (?P<timestamp>\S+) (?P<hostname>\S+) (?P<app>\S+) "
    r"(?P<procid>\S+) (?P<msgid>\S+) "
)
_SD_ELEMENT = re.compile(r'\[(?P<id>[^ \]="]+)(?P<params>(?: [^ \]="]+="(?:[^"\\\]]|\\.)*")*)\]')
_SD_PARAM = re.compile(r' (?P<name>[^ \]="]+)="(?P<value>(?:[^"\\\]]|\\.)*)"')


@dataclass(frozen=True)
class SyslogMessage:
    """One parsed RFC 5424 message.

    Attributes:
        facility: PRI // 8.
        severity: PRI % 8.
        version: Always 1.
        timestamp: TIMESTAMP field as sent.
        hostname: HOSTNAME.
        app_name: APP-NAME.
        procid: PROCID.
        msgid: MSGID.
        structured: SD-ID -> {param: value} (unescaped).
        msg: MSG without the BOM.
        had_bom: Whether MSG began with the UTF-8 BOM.
    """

    facility: int
    severity: int
    version: int
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    structured: dict[str, dict[str, str]]
    msg: str
    had_bom: bool


def parse_rfc5424(data: bytes) -> SyslogMessage:
    """Parse one RFC 5424 message strictly (raises ValueError when it is not one)."""
    text = data.decode("utf-8")
    head = _HEADER.match(text)
    if head is None:
        raise ValueError(f"not an RFC 5424 header: {text[:80]!r}")
    rest = text[head.end() :]
    structured: dict[str, dict[str, str]] = {}
    if rest.startswith("-"):
        rest = rest[1:]
    else:
        while rest.startswith("["):
            element = _SD_ELEMENT.match(rest)
            if element is None:
                raise ValueError(f"bad structured data: {rest[:80]!r}")
            params = {m["name"]: re.sub(r"\\(.)", r"\1", m["value"]) for m in _SD_PARAM.finditer(element["params"])}
            structured[element["id"]] = params
            rest = rest[element.end() :]
    if rest and not rest.startswith(" "):
        raise ValueError("no space before MSG")
    msg = rest[1:]
    pri = int(head["pri"])
    return SyslogMessage(
        facility=pri // 8,
        severity=pri % 8,
        version=int(head["version"]),
        timestamp=head["timestamp"],
        hostname=head["hostname"],
        app_name=head["app"],
        procid=head["procid"],
        msgid=head["msgid"],
        structured=structured,
        msg=msg.removeprefix("\ufeff"),
        had_bom=msg.startswith("\ufeff"),
    )


@dataclass
class SyslogReceiver:
    """A syslog collector on loopback.

    Attributes:
        host: Its address.
        port: Its port.
        transport: ``udp`` or ``tcp``.
        messages: Each message received, parsed.
        raw: Each message's bytes (the frame's content for TCP).
    """

    host: str
    port: int
    transport: str
    messages: list[SyslogMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    def add(self, data: bytes) -> None:
        """Record one message."""
        self.raw.append(data)
        self.messages.append(parse_rfc5424(data))


@contextmanager
def syslog_udp_receiver(*, port: int | None = None) -> Iterator[SyslogReceiver]:
    """A UDP syslog listener (RFC 5426: one message per datagram)."""
    receiver = SyslogReceiver(HOST, port or free_port(socket.SOCK_DGRAM), "udp")

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            receiver.add(self.request[0])

    server = socketserver.ThreadingUDPServer((HOST, receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _read_frames(sock: socket.socket) -> Iterator[bytes]:
    """RFC 6587 octet-counting frames (``LEN SP MSG``) from a stream until it closes."""
    buffer = b""
    while True:
        while b" " in buffer:
            length, _, rest = buffer.partition(b" ")
            if not length.isdigit() or length.startswith(b"0"):
                raise ValueError(f"bad frame length {length[:10]!r}")
            size = int(length)
            if len(rest) < size:
                break
            yield rest[:size]
            buffer = rest[size:]
        chunk = sock.recv(65536)
        if not chunk:
            if buffer:
                raise ValueError("stream ended inside a frame")
            return
        buffer += chunk


@contextmanager
def syslog_tcp_receiver(*, port: int | None = None) -> Iterator[SyslogReceiver]:
    """A TCP syslog listener that reads RFC 6587 octet-counted frames."""
    receiver = SyslogReceiver(HOST, port or free_port(), "tcp")

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            for frame in _read_frames(self.request):
                receiver.add(frame)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer((HOST, receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- settings ---------------------------------------------------------------------------------------


def write_alert_settings(
    data_dir: Path,
    *,
    ca: ReceiverCA | None = None,
    smtp: SmtpReceiver | None = None,
    smtp_login: tuple[str, str] | None = None,
    webhook: WebhookReceiver | None = None,
    syslog: SyslogReceiver | None = None,
    poll_seconds: float = 1.0,
) -> dict[str, str]:
    """Point a data dir's ``[alerts]`` at these receivers (replacing the section ``init`` wrote).

    Args:
        data_dir: An initialised data dir (its server must be (re)started to read it).
        ca: The CA the SMTP receiver's certificate comes from (needed with ``smtp``).
        smtp: Email goes here over STARTTLS.
        smtp_login: ``(user, password)`` when the SMTP receiver requires AUTH.
        webhook: The webhook receiver (its secret goes into the file).
        syslog: The syslog collector (its transport is used).
        poll_seconds: The worker's round interval.

    Returns:
        Environment variables the server process needs (the SMTP password).
    """
    import tomllib

    import tomli_w

    path = data_dir / "settings.toml"
    settings = tomllib.loads(path.read_text(encoding="utf-8"))
    alerts: dict[str, Any] = {"poll_seconds": poll_seconds, "backlog_hours": 24.0}
    env: dict[str, str] = {}
    if smtp is not None:
        assert ca is not None, "the SMTP receiver's CA is needed"
        email_cfg: dict[str, Any] = {
            "host": smtp.host,
            "port": smtp.port,
            "sender": "custos@owner.example",
            "recipients": ["security@owner.example"],
            "ca_file": str(ca.ca_file),
            "timeout_seconds": 5.0,
        }
        if smtp_login is not None:
            email_cfg |= {"username": smtp_login[0], "password_env": "CUSTOS_TEST_SMTP_PASSWORD"}
            env["CUSTOS_TEST_SMTP_PASSWORD"] = smtp_login[1]
        alerts["email"] = email_cfg
    if webhook is not None:
        alerts["webhook"] = {"url": webhook.url, "secret": webhook.secret.decode(), "timeout_seconds": 5.0}
    if syslog is not None:
        alerts["syslog"] = {"host": syslog.host, "port": syslog.port, "transport": syslog.transport}
    settings["alerts"] = alerts
    path.write_text(tomli_w.dumps(settings), encoding="utf-8")
    return env
