"""What one running server holds: its engine, key service and settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from sqlmodel import Session

from owner_server.api.login_gate import LoginGate
from owner_server.api.sqlite_agent import sqlite_agent_transaction
from owner_server.audit.watermark import load_watermark_key
from owner_server.core.db import is_sqlite
from owner_server.core.deferred import deferred_commit, request_transaction
from owner_server.core.settings import Settings
from owner_server.identity.bearer import AgentPrincipal, authenticate_locked
from owner_server.telephony.runtime import Telephony
from owner_server.telephony.settings import TelephonySettings
from owner_server.vault.keys import KeyService

__all__ = ["ServerState"]


@dataclass(frozen=True, slots=True)
class ServerState:
    """Dependencies of every request, built once by ``create_app``."""

    settings: Settings
    engine: Engine
    keys: KeyService
    telephony: Telephony = None  # type: ignore[assignment]  # set in __post_init__ when not given
    #: Signs each issued record's watermark code; the data dir's (made on first use) when not given.
    watermark_key: Ed25519PrivateKey = None  # type: ignore[assignment]
    #: Bounds the password checks of logins (``[sessions]`` ``login_checks``/``login_queue``); made when not given.
    login_gate: LoginGate = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.login_gate is None:
            sessions = self.settings.sessions
            gate = LoginGate(slots=sessions.login_checks, queue=sessions.login_queue)
            object.__setattr__(self, "login_gate", gate)
        if self.watermark_key is None:
            object.__setattr__(self, "watermark_key", load_watermark_key(self.settings.data_dir))
        if self.telephony is None:
            object.__setattr__(self, "telephony", Telephony(TelephonySettings(), self.engine))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One request's transaction: committed before the response is sent.

        A :class:`DeferredError` commits (its audit entry must survive) and
        then raises the error it carries; any other error rolls back.
        """
        with request_transaction(self.engine) as session:
            yield session

    @contextmanager
    def agent_transaction(self, *, token: str, address: str) -> Iterator[tuple[Session, AgentPrincipal]]:
        """One agent request's write transaction, with the agent the bearer token authenticates.

        On SQLite the token is checked first by one narrow statement in its own read
        transaction (:func:`~owner_server.identity.bearer.refuse_unusable`; no write
        lock, no ``BEGIN``: a refused token never waits for or takes the write lock).
        Then, on the same session and pooled
        connection (:mod:`owner_server.api.sqlite_agent`: a
        :class:`~owner_server.core.pinned.PinnedSession`), holding the process's writer turn,
        :func:`~owner_server.identity.bearer.confirm` begins the write
        transaction (``BEGIN IMMEDIATE``) and authenticates the token in full
        under the write lock, so whatever changed in between (token
        revoked or expired, agent suspended or moved, device revoked, campaign
        or outsourcer changed) is what the caller's work sees; everything the
        caller does (limits, rules, issuance) is in that one write transaction,
        ended by one commit. On PostgreSQL it is one transaction:
        :func:`~owner_server.identity.bearer.authenticate_locked` locks the
        agent's row (``FOR NO KEY UPDATE``, as every writing request of the
        agent does) and reads the token's statement again under the lock, so a
        change committed while the request waited for it is what the work sees.
        Commits like :meth:`transaction`.

        Args:
            token: The request's bearer token.
            address: The client's address (checked against the outsourcer's networks).

        Yields:
            The transaction and the authenticated agent.

        Raises:
            AuthError: Unknown, revoked or expired token, or revoked device.
            ForbiddenError: Suspended account, or an address outside the site's networks.
        """
        if is_sqlite(self.engine):  # one pooled connection, no ORM transaction unless a cold path uses it
            with sqlite_agent_transaction(self.engine, token=token, address=address) as pair:
                yield pair
            return
        with Session(self.engine, expire_on_commit=False) as session, deferred_commit(session):
            yield session, authenticate_locked(session, token=token, address=address)
