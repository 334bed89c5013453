"""``custos-agent --self-test``: is this installation able to run at all?

IT (and the packaging tests) run it after installing the client. It checks,
without any network, what a broken build or install would break first, and
prints one line per check::

    PASS config: /etc/custos-agent/custos-agent.toml (server https://custos.example:8443)
    PASS ca: pinned CA 'Custos CA' valid until 2036-01-01, TLS context built
    PASS keyring: keyring.backends.SecretService.Keyring
    PASS translations: custos_pl.qm loads
    PASS qt: platform plugin 'xcb' started
    self-test passed (5 checks)

The exit status is 0 only when every check passed. A Qt platform plugin that
cannot load at all makes Qt abort the process; the checks before it have been
printed by then and the status is non-zero, as it should be.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import keyring
import keyring.backend
from cryptography import x509
from cryptography.x509.oid import NameOID

from agent_client.config import DeploymentConfig, build_ssl_context, find_deployment_config, load_deployment_config
from agent_client.credentials import MemoryKeyring, check_backend
from agent_client.errors import ClientError

__all__ = ["CheckResult", "check_ca", "check_config", "check_keyring", "check_qt", "run_self_test"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: Short name of the check (``config``, ``ca``, ``keyring``, ``qt``, ...).
        ok: Whether it passed.
        detail: One line for IT; never a secret or personal data.
    """

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """The printed line: ``PASS name: detail`` or ``FAIL name: detail``."""
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def check_config(explicit: Path | None) -> tuple[CheckResult, DeploymentConfig | None]:
    """Find and validate the deployment config the client would use.

    Args:
        explicit: The ``--config`` path, or None (the provisioned copy wins anyway).

    Returns:
        The result, and the config when it is valid.
    """
    path = find_deployment_config(explicit)
    if path is None:
        return CheckResult("config", False, "no deployment config (none provisioned, no --config)"), None
    try:
        config, _ = load_deployment_config(path)
    except ClientError as exc:
        return CheckResult("config", False, exc.message), None
    return CheckResult("config", True, f"{path} (server {config.server_url})"), config


def check_ca(config: DeploymentConfig | None, now: datetime | None = None) -> CheckResult:
    """Parse the pinned CA and build the TLS context from it.

    Args:
        config: The valid config, or None when the config check failed.
        now: The time to judge expiry by (UTC); the current time if None.

    Returns:
        A failure when there is no config, the PEM does not parse, the context
        cannot be built, or a pinned certificate is expired or not yet valid.
    """
    if config is None:
        return CheckResult("ca", False, "no valid deployment config to take the pinned CA from")
    try:
        build_ssl_context(config.ca_certificate)
        certificates = x509.load_pem_x509_certificates(config.ca_certificate.encode("ascii"))
    except (ClientError, ValueError) as exc:
        return CheckResult("ca", False, getattr(exc, "message", "the pinned CA is not a valid PEM certificate"))
    moment = now or datetime.now(UTC)
    first = certificates[0]
    names = first.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    label = str(names[0].value) if names else first.subject.rfc4514_string()
    for certificate in certificates:
        if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
            return CheckResult("ca", False, f"pinned CA '{label}' is expired or not yet valid")
    until = min(c.not_valid_after_utc for c in certificates).date().isoformat()
    return CheckResult("ca", True, f"pinned CA '{label}' valid until {until}, TLS context built")


def check_keyring(*, ephemeral: bool, backend: keyring.backend.KeyringBackend | None = None) -> CheckResult:
    """Check that the keyring backend the client would use keeps secrets safe.

    Args:
        ephemeral: ``--ephemeral-keyring`` was given: the identity stays in memory.
        backend: The backend to judge; ``keyring.get_keyring()`` if None.

    Returns:
        A failure for the fail, null, plaintext or empty-chainer backends
        (:func:`agent_client.credentials.check_backend`).
    """
    if ephemeral:
        return CheckResult("keyring", True, "memory (--ephemeral-keyring: nothing is kept after exit)")
    chosen = backend if backend is not None else keyring.get_keyring()
    cls = type(chosen)
    name = f"{cls.__module__}.{cls.__qualname__}"
    inner = [type(b).__module__ + "." + type(b).__qualname__ for b in getattr(chosen, "backends", [])]
    if inner:
        name += f" ({', '.join(inner)})"
    if isinstance(chosen, MemoryKeyring):
        return CheckResult("keyring", False, "no OS keyring is available (only the in-memory keyring)")
    try:
        check_backend(chosen)
    except ClientError as exc:
        return CheckResult("keyring", False, exc.message.split(". ")[0])
    return CheckResult("keyring", True, name)


def check_qt() -> list[CheckResult]:
    """Start the Qt application on the platform in use and load the Polish catalogue.

    Returns:
        The ``translations`` and ``qt`` results. The ``offscreen`` and
        ``minimal`` platforms pass (tests, headless checks) but are named.
    """
    from PySide6.QtWidgets import QApplication  # Qt only here: the other checks run without it

    from agent_client.translations import I18N_DIR, install_translators

    app = QApplication.instance() or QApplication(sys.argv[:1])
    platform = QApplication.platformName()
    loaded = install_translators(app, "pl")
    for translator in loaded:  # only a probe: the application stays in its language
        app.removeTranslator(translator)
        translator.deleteLater()
    translations = (
        CheckResult("translations", True, "custos_pl.qm loads")
        if loaded
        else CheckResult("translations", False, f"custos_pl.qm missing or unreadable in {I18N_DIR}")
    )
    qt = CheckResult("qt", bool(platform), f"platform plugin '{platform}' started")
    return [translations, qt]


def run_self_test(
    config_path: Path | None,
    *,
    ephemeral_keyring: bool,
    out: TextIO | None = None,
    qt_check: Callable[[], list[CheckResult]] = check_qt,
) -> int:
    """Run every check and print one line each, then a summary.

    Args:
        config_path: The ``--config`` path, or None.
        ephemeral_keyring: Whether ``--ephemeral-keyring`` was given.
        out: Where to print; ``sys.stdout`` if None.
        qt_check: The Qt check (replaceable so unit tests can run it in-process once).

    Returns:
        0 when every check passed, else 1.
    """
    stream = out or sys.stdout
    results: list[CheckResult] = []

    def report(result: CheckResult) -> None:
        results.append(result)
        print(result.line(), file=stream, flush=True)  # noqa: T201 - the self-test prints for IT

    config_result, config = check_config(config_path)
    report(config_result)
    report(check_ca(config))
    report(check_keyring(ephemeral=ephemeral_keyring))
    for result in qt_check():
        report(result)
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"self-test FAILED: {', '.join(failed)}", file=stream, flush=True)  # noqa: T201
        return 1
    print(f"self-test passed ({len(results)} checks)", file=stream, flush=True)  # noqa: T201
    return 0
