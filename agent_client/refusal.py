"""Refusing to start, or stopping, when the process is debugged or injected into.

:func:`guard_start` runs at the very start of ``custos-agent``: in a frozen
build it installs the audit hook (:mod:`agent_client.audit_hook`), then it
runs the start-up checks (:mod:`agent_client.integrity`). On a refusal the
agent gets one translated sentence, on stderr and (where a safe display is
available) in a message box, the owner gets a signed report when the device
is enrolled, and the process ends with :data:`EXIT_REFUSED`.

Reasons that come from the environment (Qt plugin paths, the platform
plugin, preloaded libraries, Python variables) are shown on stderr only: a
Qt GUI started under them would load exactly what they point at.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from agent_client import audit_hook, integrity
from agent_client.config import DeploymentConfig
from agent_client.errors import ClientError
from agent_client.translations import install_translators, system_language
from shared.integrity_reasons import IntegrityReason

if TYPE_CHECKING:  # the report's imports (keyring, httpx, pydantic) load only when a start is refused
    import keyring.backend

__all__ = ["EXIT_REFUSED", "guard_start", "refusal_text"]

log = logging.getLogger(__name__)

# Exit status of a refused start (2 is bad input, 1 a failure).
EXIT_REFUSED = 3
# Reasons under which no Qt GUI is created (it would load what the environment points at).
_NO_GUI = frozenset(
    {
        IntegrityReason.QT_PLUGIN_OVERRIDE,
        IntegrityReason.NON_DEFAULT_PLATFORM,
        IntegrityReason.PRELOAD_LIBRARY,
        IntegrityReason.PYTHON_ENV_OVERRIDE,
    }
)

translate = QCoreApplication.translate  # by this name, with literal contexts, for pyside6-lupdate

ConfigLoader = Callable[[], tuple[DeploymentConfig | None, bytes | None]]
KeyringGetter = Callable[[], "keyring.backend.KeyringBackend | None"]


def refusal_text(reason: IntegrityReason) -> str:
    """The translated sentence that tells the agent why Custos will not run."""
    texts = {
        IntegrityReason.DEBUGGER_ATTACHED: translate(
            "Integrity",
            "Custos will not start while a debugger or tracing tool is attached to it. "
            "Close that tool and start Custos again.",
        ),
        IntegrityReason.PYTHON_TRACER: translate(
            "Integrity", "Custos will not start while a debugger or profiler runs inside it. Start Custos normally."
        ),
        IntegrityReason.QT_PLUGIN_OVERRIDE: translate(
            "Integrity",
            "Custos will not start: the environment tells it to load display plugins from another folder. "
            "Ask IT to remove that setting.",
        ),
        IntegrityReason.NON_DEFAULT_PLATFORM: translate(
            "Integrity",
            "Custos will not start on this display system (QT_QPA_PLATFORM). Start it from the normal desktop.",
        ),
        IntegrityReason.PRELOAD_LIBRARY: translate(
            "Integrity",
            "Custos will not start: the environment injects a foreign library into it (LD_PRELOAD or similar). "
            "Ask IT to remove that setting.",
        ),
        IntegrityReason.CODE_INJECTION: translate(
            "Integrity", "Custos stopped: code from outside the installed program was loaded into it."
        ),
        IntegrityReason.PYTHON_ENV_OVERRIDE: translate(
            "Integrity",
            "Custos will not start: the environment makes it run foreign Python code (PYTHONPATH or similar). "
            "Ask IT to remove that setting.",
        ),
    }
    return texts[reason]


def _report(reason: IntegrityReason, load_config: ConfigLoader, backend: KeyringGetter) -> None:
    """Send the signed report if this device is enrolled with the deployment; never raises."""
    from agent_client.credentials import CredentialStore  # noqa: PLC0415 - lazy: see the imports
    from agent_client.integrity_report import send_integrity_report  # noqa: PLC0415 - lazy: see the imports

    try:
        config, _ = load_config()
        identity = CredentialStore(config.server_url, backend()).load() if config is not None else None
    except ClientError as exc:
        log.info("integrity report not sent: %s", exc.code)
        return
    if config is None or identity is None:
        log.info("integrity report not sent: this computer is not enrolled")
        return
    send_integrity_report(config, identity, reason)


def _refuse(
    reason: IntegrityReason,
    language: str,
    load_config: ConfigLoader,
    backend: KeyringGetter,
    *,
    dialog: bool = True,
) -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QCoreApplication.instance()
    if app is None:
        app = QCoreApplication(sys.argv[:1]) if reason in _NO_GUI else QApplication(sys.argv[:1])
    install_translators(app, language)
    message = refusal_text(reason)
    print(f"custos-agent: {message} [{reason.value}]", file=sys.stderr, flush=True)  # noqa: T201 - the console user
    _report(reason, load_config, backend)
    if dialog and isinstance(app, QApplication) and app.platformName() not in ("offscreen", "minimal"):
        QMessageBox.critical(None, translate("Main", "Custos"), message)
    return EXIT_REFUSED


def guard_start(
    *,
    language: str | None,
    load_config: ConfigLoader,
    backend: KeyringGetter,
    probe: integrity.Probe | None = None,
) -> int | None:
    """Install the audit hook (frozen build) and run the start-up checks; refuse if one is enforced.

    Args:
        language: The ``--lang`` choice (the system's language when None).
        load_config: Loads the deployment config (to find the server to report to).
        backend: Returns the keyring of the device identity (None: the OS keyring); called
            only when a report is sent, so keyring is not loaded on a normal start.
        probe: What the checks look at (:meth:`integrity.Probe.current` when None; tests inject one).

    Returns:
        None when the client may start, else the exit status (:data:`EXIT_REFUSED`); a
        frozen build does not return from a refusal but ends the process with it.
    """
    probe = probe if probe is not None else integrity.Probe.current()
    lang = language or system_language()
    if probe.frozen:

        def stop(reason: IntegrityReason, event: str) -> None:
            log.info("integrity: %s refused", event)
            _refuse(reason, lang, load_config, backend, dialog=False)  # no event loop while foreign code waits
            os._exit(EXIT_REFUSED)

        audit_hook.install(stop)
    refused = [finding for finding in integrity.assess(probe) if finding.enforced]
    if not refused:
        return None
    log.info("integrity: refusing to start (%s)", ", ".join(f"{f.reason.value}: {f.detail}" for f in refused))
    status = _refuse(refused[0].reason, lang, load_config, backend)
    if probe.frozen:  # no atexit handlers, no interactive prompt (PYTHONINSPECT): nothing more runs
        os._exit(status)
    return status
