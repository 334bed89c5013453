"""Console entry point ``custos-agent``: arguments, then the Qt application."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from agent_client import refusal
from agent_client.app import AppController, Connection, StartOptions
from agent_client.config import (
    DeploymentConfig,
    build_ssl_context,
    find_deployment_config,
    load_deployment_config,
    user_config_dir,
)
from agent_client.errors import ClientError, CredentialStoreUnavailable
from agent_client.first_window import when_shown
from agent_client.messages import user_message
from agent_client.translations import LANGUAGES, install_translators, system_language
from agent_client.update_service import make_update_service
from shared.limits import LIMITS

if TYPE_CHECKING:
    # What ``connect`` builds (httpx, cryptography, the outbox, pydantic's wire models) loads
    # inside it, after the first window is shown; keyring with the device identity.
    import keyring.backend

    from agent_client.credentials import CredentialStore
    from agent_client.outbox import Outbox

__all__ = ["main", "open_outbox"]

log = logging.getLogger("agent_client")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="custos-agent", description="Custos agent desktop client.")
    parser.add_argument("--config", type=Path, help="deployment config file (TOML) provided by IT")
    parser.add_argument("--enrol-code", help="one-time enrolment code, to enrol this computer")
    parser.add_argument("--login", help="agent login to use (defaults to the one the device is enrolled for)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin and log in")
    parser.add_argument(
        "--ephemeral-keyring", action="store_true", help="keep the device identity in memory only (demo, tests)"
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        help="user-interface language (default: Polish on a Polish system locale, else English)",
    )
    parser.add_argument("--verbose", action="store_true", help="log progress to stderr (never personal data)")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check the Qt platform, keyring, pinned CA and deployment config, print one line each, then exit",
    )
    return parser.parse_args(argv)


def _read_password() -> str:
    line = sys.stdin.readline(LIMITS.max_password_chars + 2).rstrip("\r\n")
    if not line:
        raise SystemExit("custos-agent: --password-stdin given but stdin held no password")
    return line


def _load_config(path: Path | None) -> tuple[DeploymentConfig | None, bytes | None]:
    """The provisioned system config if IT installed one, else ``--config``, else the per-user copy."""
    found = find_deployment_config(path)
    if found is None:
        return None, None
    return load_deployment_config(found)


def _report_fatal(app: QApplication, message: str) -> None:
    print(f"custos-agent: {message}", file=sys.stderr)  # noqa: T201 - the console user needs it
    if app.platformName() not in ("offscreen", "minimal"):
        QMessageBox.critical(None, app.translate("Main", "Custos"), message)


def _quit_on_signals(app: QApplication) -> QTimer:
    """Close the client cleanly on Ctrl+C or SIGTERM (record hidden and reported, no traceback).

    Python only runs signal handlers between bytecodes, so a timer wakes the
    interpreter while Qt's event loop waits.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: app.quit())
    timer = QTimer(app)
    timer.start(250)
    timer.timeout.connect(lambda: None)
    return timer


def open_outbox(server_url: str, backend: keyring.backend.KeyringBackend | None) -> Outbox:
    """The durable outbox of a server in the per-user directory, its key in the keyring.

    Raises:
        CredentialStoreUnavailable: No secure keyring for the key.
    """
    import sqlite3  # noqa: PLC0415 - lazy: built after the first window (see the imports)

    import keyring  # noqa: PLC0415

    from agent_client.outbox import Outbox, OutboxKey, outbox_path  # noqa: PLC0415

    key = OutboxKey(server_url, backend if backend is not None else keyring.get_keyring()).load_or_create()
    try:
        return Outbox(outbox_path(user_config_dir(), server_url), key=key)
    except (OSError, sqlite3.Error) as exc:
        raise CredentialStoreUnavailable(f"the outbox cannot be opened: {type(exc).__name__}") from exc


def _memory_keyring() -> keyring.backend.KeyringBackend:
    from agent_client.credentials import MemoryKeyring  # noqa: PLC0415 - lazy (keyring, cryptography)

    return MemoryKeyring()


def main(argv: list[str] | None = None) -> int:
    """Run the agent client.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` if None.

    Returns:
        The process exit status.
    """
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    memory: list[keyring.backend.KeyringBackend] = []

    def backend() -> keyring.backend.KeyringBackend | None:
        """The keyring of the device identity (None: the OS one), made on first use: keyring is slow to load."""
        if args.ephemeral_keyring and not memory:
            memory.append(_memory_keyring())
        return memory[0] if memory else None

    refused = refusal.guard_start(language=args.lang, load_config=lambda: _load_config(args.config), backend=backend)
    if refused is not None:
        return refused
    if args.self_test:
        from agent_client.selftest import run_self_test  # noqa: PLC0415 - not on the agent's start path

        return run_self_test(args.config, ephemeral_keyring=args.ephemeral_keyring)
    password = _read_password() if args.password_stdin else None
    app = QApplication(sys.argv[:1])
    app.setApplicationName("custos-agent")
    install_translators(app, args.lang or system_language())
    try:
        config, raw = _load_config(args.config)
    except ClientError as exc:
        _report_fatal(app, f"{user_message(exc.code)}\n{exc.message}")
        return 2

    def open_store(deployment: DeploymentConfig) -> CredentialStore:
        from agent_client.credentials import CredentialStore  # noqa: PLC0415 - lazy (see the imports)

        return CredentialStore(deployment.server_url, backend())

    def connect(deployment: DeploymentConfig) -> Connection:
        from agent_client.api import AgentApi, CallApi  # noqa: PLC0415 - lazy: after the first window
        from agent_client.call_service import CallService  # noqa: PLC0415
        from agent_client.service import AgentService  # noqa: PLC0415

        store = open_store(deployment)
        api = AgentApi(deployment.api_base_url, ssl_context=build_ssl_context(deployment.ca_certificate))
        outbox = open_outbox(deployment.server_url, backend())
        return Connection(
            config=deployment,
            store=store,
            service=AgentService(api, outbox=outbox),
            calls=CallService(CallApi(api)),
            updates=make_update_service(deployment),
        )

    controller = AppController(app.clipboard(), connect)
    exit_code = 0

    def on_controller_failed_fatally(message: str) -> None:
        nonlocal exit_code
        exit_code = 1
        _report_fatal(app, message)
        app.exit(1)

    controller.failed_fatally.connect(on_controller_failed_fatally)
    app.aboutToQuit.connect(controller.shutdown)
    _quit_on_signals(app)
    options = StartOptions(config_path=args.config, enrol_code=args.enrol_code, login=args.login, password=password)
    # The first window (login or enrolment) goes on screen before the connection is built.
    if config is None:
        first = None
    else:
        # an ephemeral keyring starts empty: never enrolled; else the hint says for whom, if anyone
        from agent_client.enrolment_hint import enrolled_login  # noqa: PLC0415 - small, but only here

        server = config.server_url
        hint = (lambda: None) if args.ephemeral_keyring else (lambda: enrolled_login(server))
        first = controller.show_first_window(config, options, lambda: open_store(config), hint)
    when_shown(first, lambda: controller.start(config, raw, options))
    status = app.exec()
    return exit_code or status


if __name__ == "__main__":
    sys.exit(main())
