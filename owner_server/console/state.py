"""What the console holds for every request: settings, engine, key service and running jobs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from owner_server.core.deferred import request_transaction
from owner_server.core.settings import Settings
from owner_server.vault.keys import KeyService

__all__ = ["ConsoleState", "console_state"]


@dataclass(slots=True)
class ConsoleState:
    """Dependencies of every console request, built once by ``create_console_app``.

    Attributes:
        settings: The installation's settings.
        engine: The database engine (shared with the agent API in ``serve``).
        keys: The key service.
        jobs: Long-running work started from a page (imports), by job id; see ``console/jobs.py``.
    """

    settings: Settings
    engine: Engine
    keys: KeyService
    jobs: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One request's transaction (see :func:`owner_server.core.deferred.request_transaction`)."""
        with request_transaction(self.engine) as session:
            yield session


def console_state(request: Request) -> ConsoleState:
    """The app's :class:`ConsoleState`."""
    state: ConsoleState = request.app.state.console
    return state
