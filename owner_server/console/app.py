"""The console application factory (a FastAPI app of its own, served on its own listener)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from owner_server.console.errors import install_console_errors
from owner_server.console.headers import SecurityHeaders
from owner_server.console.routes import ROUTERS
from owner_server.console.state import ConsoleState
from owner_server.core.db import make_engine
from owner_server.core.settings import Settings
from owner_server.vault.kek import make_kek_provider
from owner_server.vault.keys import KeyService
from shared.version import __version__

__all__ = ["create_console_app"]


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
    app = FastAPI(title="Custos console", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = ConsoleState(settings=settings, engine=engine, keys=keys)
    install_console_errors(app)
    static = resources.files("owner_server.console").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(SecurityHeaders)
    return app
