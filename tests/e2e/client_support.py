"""The real agent client controller, wired to a live server for end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QApplication

from agent_client.api import AgentApi, CallApi
from agent_client.app import AppController, Connection
from agent_client.call_service import CallService
from agent_client.config import DeploymentConfig, build_ssl_context
from agent_client.credentials import CredentialStore, MemoryKeyring
from agent_client.outbox import Outbox, OutboxKey, outbox_path
from agent_client.service import AgentService

TIMEOUT_MS = 20_000


@contextmanager
def real_controller(
    qapp: QApplication,
    config_dir: Path,
    on_response: Callable[[bytes], None] | None = None,
    *,
    timeout_s: float = 10.0,
) -> Iterator[AppController]:
    """An AppController over real HTTPS with only the deployment's CA trusted (keys in memory, outbox in config_dir)."""
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    backend = MemoryKeyring()

    def connect(config: DeploymentConfig) -> Connection:
        api = AgentApi(
            config.api_base_url,
            ssl_context=build_ssl_context(config.ca_certificate),
            on_response=on_response,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        )
        key = OutboxKey(config.server_url, backend).load_or_create()
        outbox = Outbox(outbox_path(config_dir, config.server_url), key=key)
        service = AgentService(api, pool=pool, outbox=outbox, retry_delays_ms=(200,), device_name="e2e-pc")
        store = CredentialStore(config.server_url, backend)
        return Connection(config=config, store=store, service=service, calls=CallService(CallApi(api), poll_ms=200))

    ctl = AppController(qapp.clipboard(), connect, config_dir=config_dir)
    try:
        yield ctl
    finally:
        ctl.shutdown()
        pool.waitForDone(TIMEOUT_MS)
        if ctl.record_window is not None:
            ctl.record_window.deleteLater()
