"""What one running server holds: its engine, key service and settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from owner_server.core.deferred import request_transaction
from owner_server.core.settings import Settings
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

    def __post_init__(self) -> None:
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
