"""Helpers of the outbox end-to-end tests: a relaxed policy, the server DB read directly, a response-dropping proxy."""

from __future__ import annotations

import http.server
import sqlite3
import ssl
import threading
import tomllib
from pathlib import Path

import httpx
import tomli_w

from .conftest import POLICY

ALWAYS_OPEN = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}]


def relaxed_policy(root: Path) -> Path:
    """The demo policy with containment defaults, calling windows always open and no rule on fast outcomes."""
    policy = root / "policy.toml"
    data = tomllib.loads(POLICY.read_text(encoding="utf-8"))
    data.pop("limits", None)
    data["rules"] = {"short_handling": {"enabled": False}, "hours": {"enabled": False}}
    data.setdefault("strategy", {})["windows"] = ALWAYS_OPEN
    policy.write_text(tomli_w.dumps(data), encoding="utf-8")
    return policy


def db_rows(data_dir: Path, query: str, *args: object) -> list[tuple[object, ...]]:
    """Rows of a query on the server's SQLite database."""
    db = sqlite3.connect(data_dir / "custos.db")
    try:
        return list(db.execute(query, args))
    finally:
        db.close()


def stored_outcomes(data_dir: Path, lease_id: str) -> tuple[int, int]:
    """How many dispositions and ``disposition_recorded`` audit entries the server holds for a lease."""
    (stored,) = db_rows(data_dir, "SELECT count(*) FROM disposition WHERE lease_id = ?", lease_id)[0]
    query = "SELECT count(*) FROM auditentry WHERE action = 'disposition_recorded' AND details LIKE ?"
    audited = db_rows(data_dir, query, f"%{lease_id}%")[0][0]
    return int(stored), int(audited)


class DroppingProxy:
    """A TLS proxy in front of the real server that forwards every request and, for the first
    request to a chosen path, lets the server commit it, then closes the connection without an answer
    (a timeout after the commit, as the client sees it).

    Args:
        upstream: The real server's base URL.
        tls_dir: The installation's TLS dir (its server certificate and key serve the proxy; its CA verifies upstream).
        drop_path: The path whose first answer is lost, e.g. ``/api/v1/agent/dispositions``.
    """

    def __init__(self, upstream: str, tls_dir: Path, drop_path: str) -> None:
        self.dropped = 0
        self.forwarded: list[str] = []
        proxy = self
        client = httpx.Client(base_url=upstream, verify=ssl.create_default_context(cafile=str(tls_dir / "ca.pem")))

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                answer = client.post(self.path, content=body, headers=headers)
                proxy.forwarded.append(self.path)
                if self.path == drop_path and not proxy.dropped:
                    proxy.dropped += 1
                    self.close_connection = True
                    self.connection.shutdown(2)  # committed upstream; the client never hears
                    return
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                return

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls_dir / "server.pem", tls_dir / "server-key.pem")
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._client = client
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> DroppingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
