"""``serve --workers N``: the agent API in N processes sharing one listening socket.

The parent process (the one ``custos-server serve`` started) does the work that
must happen once: it opens the installation (migrations, KEK and data-key
checks), signs the audit checkpoints, runs housekeeping, delivers alerts,
re-signs the update metadata, and serves the owner console on its own port.
It binds the agent API's socket and hands it to ``N`` worker processes that
uvicorn's supervisor (:class:`uvicorn.supervisors.Multiprocess`) starts with
the ``spawn`` method; the kernel spreads the connections among them. Each
worker builds its own app with :func:`worker_app`: its own engine (pool),
key service (unwrapped-key cache) and telephony; it runs no migration and no
background job. SIGTERM or SIGINT to the parent stops every worker gracefully
(in-flight requests finish, 3 s at most) and then the parent's own jobs;
SIGHUP replaces the workers one at a time; a worker that dies is restarted.

Every limit, rule and lease is decided in the database in the issuing
transaction (row locks on PostgreSQL), never in a process's memory, so N
processes, or N servers behind a load balancer, hold them as one does.
SQLite has one writer at a time: ``serve`` refuses ``--workers`` above 1 there.

Source: uvicorn deployment docs, https://www.uvicorn.org/deployment/#built-in (``--workers``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from owner_server.api.app import create_app
from owner_server.core.settings import DATA_DIR_ENV, Settings, load_settings
from owner_server.updates.keys import OnlineKeys
from owner_server.updates.layout import UpdatesLayout
from owner_server.updates.refresher import REFRESH_EVERY_S, refresh_once
from owner_server.updates.repository import UpdateRepository
from owner_server.vault.keys import KeyService

__all__ = ["DATABASE_URL_ENV", "WORKER_APP", "run_workers", "sqlite_refusal", "start_update_refresher", "worker_app"]

log = logging.getLogger("custos.server")

#: The import string uvicorn's workers load (a factory: each worker calls it once).
WORKER_APP = "owner_server.cli.serve_workers:worker_app"
#: Where a worker reads the ``--database-url`` override (the same variable the option reads).
DATABASE_URL_ENV = "CUSTOS_DATABASE_URL"


def sqlite_refusal(workers: int) -> str:
    """The one line ``serve`` exits with when ``--workers`` is above 1 on SQLite."""
    return (
        f"--workers {workers} needs PostgreSQL: SQLite lets one process write at a time, so more processes "
        "would only queue on its lock; serve with --workers 1 (the default), or set database_url"
    )


def worker_app() -> FastAPI:
    """Build one worker's agent API (called by uvicorn in each worker process).

    The data dir and the database URL come from ``CUSTOS_DATA_DIR`` and
    ``CUSTOS_DATABASE_URL``, which :func:`run_workers` sets before it starts
    the workers. The parent already migrated the database and checked the keys;
    the worker checks that its KEK is readable and opens its own engine.

    Returns:
        The app, with the update refresher left to the parent.

    Raises:
        ValidationError: The data dir is not initialised (the worker then exits and the parent stops).
        KekError: The KEK cannot be read.
    """
    settings = load_settings(Path(os.environ[DATA_DIR_ENV]), database_url=os.environ.get(DATABASE_URL_ENV) or None)
    return create_app(settings, refresh_updates=False)


def run_workers(
    settings: Settings, sock: socket.socket, *, workers: int, database_url: str | None, options: dict[str, object]
) -> bool:
    """Serve the agent API on ``sock`` in ``workers`` processes until SIGTERM/SIGINT; returns when all stopped.

    Args:
        settings: The installation's settings (its data dir is handed to the workers).
        sock: The bound agent API socket (each worker listens on it).
        workers: How many processes (2 or more).
        database_url: The ``--database-url`` override, or None.
        options: The uvicorn options both listeners share (TLS files, headers, timeouts).

    Returns:
        True when every worker started; False when one failed at start (the supervisor then stopped all).
    """
    os.environ[DATA_DIR_ENV] = str(settings.data_dir)
    if database_url:
        os.environ[DATABASE_URL_ENV] = database_url
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(WORKER_APP, factory=True, host=host, port=port, workers=workers, **options)  # type: ignore[arg-type]
    supervisor = Multiprocess(config, sockets=[sock])
    supervisor.run()
    return all(process.exitcode != STARTUP_FAILURE for process in supervisor.processes)


def _refresh_loop(repo: UpdateRepository, stop: threading.Event) -> None:
    refresh_once(repo)
    while not stop.wait(REFRESH_EVERY_S):
        refresh_once(repo)


def start_update_refresher(settings: Settings, keys: KeyService, stop: threading.Event) -> None:
    """Keep the update metadata fresh from the parent (once, not once per worker), until ``stop`` is set."""
    repo = UpdateRepository(settings.data_dir, OnlineKeys(UpdatesLayout(settings.data_dir), keys.provider))
    threading.Thread(target=_refresh_loop, args=(repo, stop), daemon=True, name="update-refresher").start()
