"""The real agent client (controller, service, outbox, record window) as its own process, for kill -9 tests.

    python -m tests.e2e.client_process CONFIG PROFILE_DIR KEYRING_FILE [--enrol-code C] [--press] [--hold PATH]

Logs in as ``anna.k`` (password on stdin), prints ``RECORD <lease id>`` for every record on screen and
``PENDING <outcomes> <events>`` whenever the outbox changes. ``--press`` presses F2 on the first record;
``--hold PATH`` makes every request to that API path wait forever before it leaves the machine (so the
process can be killed with the outcome stored and never sent). Secrets go to a JSON file standing in for
the OS keyring, which cannot run here (a fake at the edge; the client checks nothing but its safety flags).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

import httpx

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from agent_client.api import AgentApi  # noqa: E402
from agent_client.app import AppController, Connection, StartOptions  # noqa: E402
from agent_client.config import DeploymentConfig, build_ssl_context, load_deployment_config  # noqa: E402
from agent_client.credentials import CredentialStore  # noqa: E402
from agent_client.outbox import Outbox, OutboxKey, outbox_path  # noqa: E402
from agent_client.service import AgentService  # noqa: E402
from tests.agent_client.agent_fakes import say_no_call  # noqa: E402
from tests.e2e.env_keyring import FileKeyring  # noqa: E402 - secrets that survive the process, as the OS keyring's


class HoldingTransport(httpx.HTTPTransport):
    """Sends every request but those to one path, which wait forever before leaving."""

    def __init__(self, hold: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._hold = hold

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self._hold:
            print("HELD", flush=True)
            threading.Event().wait()
        return super().handle_request(request)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("profile", type=Path)
    parser.add_argument("keyring_file", type=Path)
    parser.add_argument("--enrol-code")
    parser.add_argument("--press", action="store_true")
    parser.add_argument("--hold")
    args = parser.parse_args()
    password = sys.stdin.readline().strip()
    app = QApplication(sys.argv[:1])
    backend = FileKeyring(args.keyring_file)
    config, raw = load_deployment_config(args.config)

    def connect(deployment: DeploymentConfig) -> Connection:
        context = build_ssl_context(deployment.ca_certificate)
        transport = HoldingTransport(args.hold, verify=context) if args.hold else None
        api = AgentApi(deployment.api_base_url, ssl_context=context, transport=transport)
        key = OutboxKey(deployment.server_url, backend).load_or_create()
        outbox = Outbox(outbox_path(args.profile, deployment.server_url), key=key)
        service = AgentService(api, outbox=outbox, retry_delays_ms=(200,), device_name="e2e-kill")
        service.pending_changed.connect(lambda o, e: print(f"PENDING {o} {e}", flush=True))
        return Connection(config=deployment, store=CredentialStore(deployment.server_url, backend), service=service)

    controller = AppController(app.clipboard(), connect, config_dir=args.profile)
    seen: list[str] = []

    def watch() -> None:
        window = controller.record_window
        lease = window.current_lease_id if window is not None else None
        if lease and (not seen or seen[-1] != lease):
            seen.append(lease)
            print(f"RECORD {lease}", flush=True)
            if args.press and len(seen) == 1:
                say_no_call(window)
                QTest.keyClick(window, Qt.Key.Key_F2)

    timer = QTimer(app)
    timer.timeout.connect(watch)
    timer.start(100)
    options = StartOptions(enrol_code=args.enrol_code, login="anna.k", password=password)
    QTimer.singleShot(0, lambda: controller.start(config, raw, options))
    app.aboutToQuit.connect(controller.shutdown)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
