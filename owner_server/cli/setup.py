"""``init`` and ``serve``."""

from __future__ import annotations

import logging
import signal
import socket
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI

from owner_server.api.app import create_app
from owner_server.audit.delivery import DeliveryWorker
from owner_server.cli.common import DataDirOpt, DbUrlOpt, JsonOpt, fail, installation, out, print_json
from owner_server.cli.serve_workers import run_workers, sqlite_refusal, start_update_refresher
from owner_server.console.app import create_console_app
from owner_server.core.datadir import DEPLOYMENT_FILE, Installation, init_data_dir
from owner_server.core.db import session_scope
from owner_server.core.settings import load_settings, resolve_data_dir
from owner_server.identity.login import purge_expired_nonces
from owner_server.lists.retention import run_retention
from owner_server.models._common import utcnow
from owner_server.telephony.runtime import Telephony
from shared.errors import CustosError

__all__ = ["init", "serve"]

log = logging.getLogger("custos.server")
CHECKPOINT_EVERY_S = 60.0


def init(
    data_dir: DataDirOpt = None,
    organisation: Annotated[str, typer.Option(help="The data owner's name.")] = "Custos owner",
    host: Annotated[
        list[str] | None, typer.Option("--host", help="Host name or IP for the TLS certificate (repeat).")
    ] = None,
    public_url: Annotated[str, typer.Option(help="URL agents connect to.")] = "https://127.0.0.1:8443",
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a data dir: settings, database, keys, CA and server certificate, deployment config."""
    target = resolve_data_dir(data_dir)
    try:
        settings = init_data_dir(
            target,
            organisation=organisation,
            host_names=host or ["localhost", "127.0.0.1"],
            public_url=public_url,
            database_url=database_url or "",
        )
    except CustosError as exc:
        raise fail(exc.message) from None
    report = {
        "data_dir": str(target),
        "deployment_config": str(target / DEPLOYMENT_FILE),
        "host_names": settings.host_names,
    }
    if json_out:
        print_json(report)
        return
    out.print(f"Initialised [bold]{target}[/]")
    out.print(f"Deployment config for IT: {target / DEPLOYMENT_FILE}")


def _housekeeping(inst: Installation, stop: threading.Event) -> None:
    """Every minute: erase campaigns past retention, drop expired login challenges, sign an audit checkpoint."""
    while not stop.wait(CHECKPOINT_EVERY_S):
        try:
            run_retention(inst.engine, inst.keys, utcnow())
            with session_scope(inst.engine) as session:
                purge_expired_nonces(session)
            inst.checkpoint()
        except Exception as exc:  # noqa: BLE001 - keep serving; the next round retries
            log.error("housekeeping failed: %s", type(exc).__name__)


def _start_alert_delivery(inst: Installation) -> DeliveryWorker:
    """Start delivering alerts to the configured channels; say once when there are none."""
    worker = DeliveryWorker(inst.engine, inst.settings.alerts, organisation=inst.settings.organisation)
    names = inst.settings.alerts.configured
    if names:
        out.print(f"alerts: delivering to {', '.join(names)} every {inst.settings.alerts.poll_seconds:g} s")
    else:
        out.print("alerts: no channel configured in \\[alerts] of settings.toml; alerts are stored and listed only")
    worker.start()
    return worker


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """After uvicorn's graceful shutdown it re-raises SIGTERM: leave through ``finally`` (stop workers, checkpoint)."""
    raise SystemExit(0)


WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        envvar="WEB_CONCURRENCY",
        min=1,
        max=64,
        help=(
            "Agent API processes (PostgreSQL only; on SQLite, which has one writer, above 1 is refused). "
            "They share the port; the console, checkpoints, housekeeping and alert delivery run once, "
            "in the parent process."
        ),
    ),
]


def serve(
    data_dir: DataDirOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8443,
    database_url: DbUrlOpt = None,
    console_host: Annotated[
        str, typer.Option(help="Address of the owner console's own listener (keep it on the owner's LAN).")
    ] = "127.0.0.1",
    console_port: Annotated[int, typer.Option(help="TCP port of the owner console; 0 turns the console off.")] = 8444,
    workers: WorkersOpt = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log one line per request (method, path, status).")
    ] = True,
) -> None:
    """Serve the agent API and, on a separate listener, the owner console, over HTTPS only."""
    if workers > 1:
        _refuse_sqlite(data_dir, database_url, workers)
    with installation(data_dir, database_url) as inst:
        inst.checkpoint()
        agent_sock = (
            _bind(host, port, f"the agent API cannot listen on {host}:{port}", "choose --port") if workers > 1 else None
        )
        app = create_app(inst.settings, engine=inst.engine, keys=inst.keys, refresh_updates=workers == 1)
        out.print(f"telephony: {_telephony_line(app.state.custos.telephony)}")
        stop = threading.Event()
        threading.Thread(target=_housekeeping, args=(inst, stop), daemon=True, name="housekeeping").start()
        alerts = _start_alert_delivery(inst)
        options = _uvicorn_options(inst, access_log=access_log)
        console = _start_console(inst, console_host, console_port, options) if console_port else None
        try:
            started = _serve_agents(
                inst,
                app,
                agent_sock,
                options,
                host=host,
                port=port,
                workers=workers,
                database_url=database_url,
                stop=stop,
            )
        finally:
            stop.set()
            alerts.stop()
            if console is not None:
                console.should_exit = True
            inst.checkpoint()
        if not started:
            raise fail("an agent API process failed to start (see the log above); nothing is served", code=1)


def _serve_agents(
    inst: Installation,
    app: FastAPI,
    sock: socket.socket | None,
    options: dict[str, Any],
    *,
    host: str,
    port: int,
    workers: int,
    database_url: str | None,
    stop: threading.Event,
) -> bool:
    """Serve the agent API until SIGTERM/SIGINT: in this process (no ``sock``), or in workers listening on ``sock``.

    Returns:
        False when a worker failed to start (the others were then stopped).
    """
    if sock is None:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        uvicorn.run(app, host=host, port=port, workers=1, **options)
        return True
    start_update_refresher(inst.settings, inst.keys, stop)
    out.print(f"agent API: https://{host}:{port}/ in {workers} processes")
    return run_workers(inst.settings, sock, workers=workers, database_url=database_url, options=options)


def _telephony_line(telephony: Telephony) -> str:
    """What ``serve`` says of the telephony in force, e.g. ``ari (telephony.toml; ...)``."""
    ari = telephony.settings.ari
    if telephony.name == "ari" and ari is not None:
        return f"ari (telephony.toml; each server process registers its own Stasis app {ari.app}-<8 hex>)"
    return f"{telephony.name} (telephony.toml)"


def _refuse_sqlite(data_dir: Path | None, database_url: str | None, workers: int) -> None:
    """Refuse ``--workers`` above 1 on SQLite before anything is opened or migrated (one line, exit 2)."""
    try:
        settings = load_settings(resolve_data_dir(data_dir), database_url=database_url)
    except CustosError as exc:
        raise fail(exc.message, error_code=exc.code.value) from None
    if settings.effective_database_url.startswith("sqlite"):
        raise fail(sqlite_refusal(workers))


def _bind(host: str, port: int, what: str, remedy: str) -> socket.socket:
    """A TCP socket bound to ``host:port`` (uvicorn listens on it); a port in use is one line, exit 2."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        raise fail(f"{what} ({exc.strerror}); {remedy}") from None
    return sock


def _uvicorn_options(inst: Installation, *, access_log: bool) -> dict[str, Any]:
    """What both listeners share: TLS with the installation's certificate, no server header, the TCP peer's address.

    ``access_log`` False drops uvicorn's line per request (``serve --no-access-log``: the demo's
    call polling would bury its banner); the audit log is not affected.
    """
    tls_dir = inst.settings.tls_dir
    return {
        "ssl_certfile": str(tls_dir / "server.pem"),
        "ssl_keyfile": str(tls_dir / "server-key.pem"),
        "log_level": "info",
        "server_header": False,
        "timeout_graceful_shutdown": 3,
        "date_header": False,
        "access_log": access_log,
        "proxy_headers": False,  # never take the client's address from X-Forwarded-For (site networks, audit)
    }


def _start_console(inst: Installation, host: str, port: int, options: dict[str, Any]) -> uvicorn.Server:
    """Serve the owner console on its own listener in a thread (signals stay with the agent API's server).

    The socket is bound here, before anything is served, so a port in use is one clear line and exit 2.
    """
    sock = _bind(host, port, f"the console cannot listen on {host}:{port}", "choose --console-port")
    console_app = create_console_app(inst.settings, engine=inst.engine, keys=inst.keys)
    server = uvicorn.Server(uvicorn.Config(console_app, host=host, port=port, **options))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="console").start()
    out.print(f"console: https://{host}:{port}/ (owner LAN only; agents never reach it)")
    return server
