"""The console application factory (a FastAPI app of its own, served on its own listener)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from owner_server.console.auth import upload_gate
from owner_server.console.errors import install_console_errors
from owner_server.console.headers import SecurityHeaders
from owner_server.console.jobs import sweep_jobs
from owner_server.console.permissions import Permission
from owner_server.console.routes import ROUTERS
from owner_server.console.state import ConsoleState
from owner_server.console.uploads import MAX_UPLOAD_BYTES
from owner_server.core.body_limit import BodyLimit
from owner_server.core.db import make_engine
from owner_server.core.settings import Settings
from owner_server.vault.kek import make_kek_provider
from owner_server.vault.keys import KeyService
from shared.version import __version__

__all__ = ["MAX_FORM_BYTES", "create_console_app"]

#: How often abandoned uploads are looked for (they are deleted 30 minutes after upload).
SWEEP_EVERY_S = 60.0
#: Largest body of every console request but the two uploads: 1 MiB (a form, a pasted policy).
MAX_FORM_BYTES = 1024 * 1024

log = logging.getLogger("custos.console")


async def _sweep_uploads(state: ConsoleState) -> None:
    """At start and every :data:`SWEEP_EVERY_S`: delete uploads nobody ran (they hold a customer list in the clear)."""
    while True:
        try:
            await run_in_threadpool(sweep_jobs, state)
        except OSError as exc:  # keep serving; the next round retries
            log.error("sweeping console uploads failed: %s", type(exc).__name__)
        await asyncio.sleep(SWEEP_EVERY_S)


def create_console_app(settings: Settings, *, engine: Engine | None = None, keys: KeyService | None = None) -> FastAPI:
    """Build the owner console.

    Args:
        settings: The installation's settings.
        engine: A ready engine (``serve`` shares the agent API's; tests pass theirs).
        keys: A key service; built from the settings' KEK provider when None.

    Returns:
        The console app: pages, ``/static`` (vendored, no CDN) and no API docs.

    Raises:
        KekError: No usable key-encryption key.
    """
    keys = keys or KeyService(make_kek_provider(settings))
    keys.check_kek()
    engine = engine or make_engine(settings.effective_database_url)
    state = ConsoleState(settings=settings, engine=engine, keys=keys)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep_uploads(state))
        yield
        sweeper.cancel()

    app = FastAPI(
        title="Custos console",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.console = state
    install_console_errors(app)
    static = resources.files("owner_server.console").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    uploads = {"/import/upload": MAX_UPLOAD_BYTES, "/lists/dnc": MAX_UPLOAD_BYTES}
    gate = upload_gate(Permission.IMPORT, Permission.DNC)
    too_large = PlainTextResponse("The request is too large.", status_code=413)
    wrapped: Any = BodyLimit
    app.add_middleware(wrapped, limit=MAX_FORM_BYTES, refusal=too_large, larger=uploads, allow_larger=gate)
    app.add_middleware(SecurityHeaders)  # outermost: the 413 gets the headers too
    return app
