"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from owner_server.api.errors import error_response, install_error_handlers
from owner_server.api.routes import agent, calls, updates, verify
from owner_server.api.state import ServerState
from owner_server.core.body_limit import BodyLimit
from owner_server.core.db import make_engine
from owner_server.core.settings import Settings
from owner_server.telephony.runtime import Telephony
from owner_server.telephony.settings import load_telephony_settings
from owner_server.updates.keys import OnlineKeys
from owner_server.updates.layout import UpdatesLayout
from owner_server.updates.refresher import keep_fresh
from owner_server.updates.repository import UpdateRepository
from owner_server.vault.kek import make_kek_provider
from owner_server.vault.keys import KeyService
from shared.errors import ErrorCode
from shared.limits import LIMITS
from shared.version import __version__

__all__ = ["create_app"]


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    keys: KeyService | None = None,
    telephony: Telephony | None = None,
    refresh_updates: bool = True,
) -> FastAPI:
    """Build the server application.

    Args:
        settings: The installation's settings.
        engine: A ready engine (tests); built from the settings when None.
        keys: A key service (tests); built from the settings' KEK provider when None.
        telephony: The telephony (tests); built from ``telephony.toml`` of the data dir when None
            (stopped with the app).
        refresh_updates: Keep the update metadata fresh from this app (False in ``serve --workers``
            workers: their parent does it once for all).

    Returns:
        The FastAPI app, with the agent API and no interactive docs.

    Raises:
        KekError: No usable key-encryption key (checked at start, not first use).
        ValidationError: ``telephony.toml`` is not valid (one line).
    """
    keys = keys or KeyService(make_kek_provider(settings))
    keys.check_kek()
    engine = engine or make_engine(settings.effective_database_url)
    telephony = telephony or Telephony(load_telephony_settings(settings.data_dir), engine)
    state = ServerState(settings=settings, engine=engine, keys=keys, telephony=telephony)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        refresher = None
        if refresh_updates:
            online = OnlineKeys(UpdatesLayout(settings.data_dir), keys.provider)
            refresher = asyncio.create_task(keep_fresh(UpdateRepository(settings.data_dir, online)))
        telephony.start_background()
        yield
        if refresher is not None:
            refresher.cancel()
        telephony.stop()
        state.login_gate.close()

    app = FastAPI(
        title="Custos owner server",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.custos = state
    install_error_handlers(app)
    app.include_router(agent.router)
    app.include_router(calls.router)
    app.include_router(verify.router)
    app.include_router(updates.router)
    too_large = error_response(ErrorCode.PAYLOAD_TOO_LARGE, "request body too large")
    wrapped: Any = BodyLimit
    app.add_middleware(wrapped, limit=LIMITS.max_body_bytes, refusal=too_large)
    return app
