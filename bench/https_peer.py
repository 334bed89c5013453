"""The peer of ``bench/https_bench.py``: a bare Starlette app on the same uvicorn and TLS running the raw SQL.

``POST /api/v1/agent/next``: the bearer token looked up in ``peer_token``, then
one statement leases the next new contact of the campaign (``FOR UPDATE SKIP
LOCKED``, ``pick_key`` order) into ``peer_lease``; ``/dispositions`` closes it.
On SQLite (one writer, no data-modifying CTE) two statements each.
No encryption, policy, limits, rules or audit: the floor a claim cannot go under.

Run by the bench as ``python -m bench.https_peer URL PORT CERT KEY``.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from owner_server.core.db import make_engine

__all__ = ["SCHEMA", "make_peer", "schema"]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS peer_token (token text PRIMARY KEY, user_id int NOT NULL)",
    "CREATE TABLE IF NOT EXISTS peer_lease (id serial PRIMARY KEY, contact_id int NOT NULL, user_id int NOT NULL,"
    " issued_at timestamptz NOT NULL DEFAULT now(), closed_at timestamptz)",
)
_SQLITE_SCHEMA = (
    SCHEMA[0],
    "CREATE TABLE IF NOT EXISTS peer_lease (id INTEGER PRIMARY KEY, contact_id int NOT NULL, user_id int NOT NULL,"
    " issued_at text NOT NULL DEFAULT CURRENT_TIMESTAMP, closed_at text)",
)
_NEXT = text(
    """
    WITH picked AS (
      UPDATE contact SET state = 'LEASED' WHERE id = (
        SELECT id FROM contact WHERE state = 'NEW' ORDER BY pick_key LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING id, ref)
    INSERT INTO peer_lease (contact_id, user_id) SELECT id, :user_id FROM picked
    RETURNING id, (SELECT ref FROM picked)
    """
)
_DONE = text(
    """
    WITH closed AS (UPDATE peer_lease SET closed_at = now() WHERE id = :lease AND user_id = :user_id
                    AND closed_at IS NULL RETURNING contact_id)
    UPDATE contact SET state = 'DONE' WHERE id = (SELECT contact_id FROM closed) RETURNING id
    """
)
# SQLite has no data-modifying CTE and no SKIP LOCKED (one writer at a time): two statements each
_SQLITE_PICK = text(
    "UPDATE contact SET state = 'LEASED' WHERE id = (SELECT id FROM contact WHERE state = 'NEW'"
    " ORDER BY pick_key LIMIT 1) RETURNING id, ref"
)
_SQLITE_LEASE = text("INSERT INTO peer_lease (contact_id, user_id) VALUES (:contact, :user_id) RETURNING id")
_SQLITE_CLOSE = text(
    "UPDATE peer_lease SET closed_at = CURRENT_TIMESTAMP WHERE id = :lease AND user_id = :user_id"
    " AND closed_at IS NULL RETURNING contact_id"
)
_SQLITE_DONE = text("UPDATE contact SET state = 'DONE' WHERE id = :contact RETURNING id")


def schema(dialect: str) -> tuple[str, ...]:
    """The peer's two tables for ``dialect`` (``postgresql`` or ``sqlite``)."""
    return _SQLITE_SCHEMA if dialect == "sqlite" else SCHEMA


def _next_row(conn: Any, user_id: int) -> Any:
    if conn.dialect.name != "sqlite":
        return conn.execute(_NEXT, {"user_id": user_id}).first()
    picked = conn.execute(_SQLITE_PICK).first()
    if picked is None:
        return None
    lease = conn.execute(_SQLITE_LEASE, {"contact": picked[0], "user_id": user_id}).scalar_one()
    return (lease, picked[1])


def _done_row(conn: Any, lease: int, user_id: int | None) -> Any:
    if conn.dialect.name != "sqlite":
        return conn.execute(_DONE, {"lease": lease, "user_id": user_id}).first()
    closed = conn.execute(_SQLITE_CLOSE, {"lease": lease, "user_id": user_id}).first()
    return conn.execute(_SQLITE_DONE, {"contact": closed[0]}).first() if closed else None


def make_peer(url: str) -> Starlette:
    """The peer app on the database at ``url``."""
    engine = make_engine(url)

    def user_of(conn: object, request: Request) -> int | None:
        token = request.headers.get("authorization", "").partition(" ")[2]
        found = conn.execute(text("SELECT user_id FROM peer_token WHERE token = :t"), {"t": token}).first()  # type: ignore[attr-defined]
        return int(found[0]) if found else None

    def next_sync(request: Request) -> JSONResponse:
        with engine.begin() as conn:
            user_id = user_of(conn, request)
            if user_id is None:
                return JSONResponse({"code": "not_logged_in"}, status_code=401)
            row = _next_row(conn, user_id)
        record = {"lease_id": str(row[0]), "contact_ref": row[1]} if row else None
        return JSONResponse({"record": record})

    def done_sync(request: Request, body: dict[str, str]) -> JSONResponse:
        with engine.begin() as conn:
            user_id = user_of(conn, request)
            row = _done_row(conn, int(body["lease_id"]), user_id)
        return JSONResponse({"ok": row is not None}, status_code=200 if row else 404)

    async def next_record(request: Request) -> JSONResponse:
        return await run_in_threadpool(next_sync, request)

    async def disposition(request: Request) -> JSONResponse:
        body = await request.json()
        return await run_in_threadpool(done_sync, request, body)

    routes = [
        Route("/api/v1/agent/next", next_record, methods=["POST"]),
        Route("/api/v1/agent/dispositions", disposition, methods=["POST"]),
    ]
    return Starlette(routes=routes)


if __name__ == "__main__":
    db, port, cert, key = sys.argv[1:5]
    uvicorn.run(
        make_peer(db),
        host="127.0.0.1",
        port=int(port),
        ssl_certfile=cert,
        ssl_keyfile=key,
        log_level="warning",
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=3,
    )
