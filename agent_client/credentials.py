"""Device identity in the OS keyring, failing closed.

The identity (device id, bound login, Ed25519 private key) is one JSON secret
under service ``custos-agent``. It is never written to disk by this module:
if the active keyring backend would not keep it safe (the fail backend, the
null backend, plaintext files, a chainer with nothing safe in it),
:class:`CredentialStore` raises :class:`CredentialStoreUnavailable`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import keyring
import keyring.backend
import keyring.errors

from agent_client.enrolment_hint import enrolled_login, forget_hint, write_hint
from agent_client.errors import CredentialStoreUnavailable
from shared.b64 import b64decode_strict, b64encode

if TYPE_CHECKING:  # cryptography loads when a key is made or read, not to find out that there is none
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "SERVICE_NAME",
    "CredentialStore",
    "DeviceIdentity",
    "MemoryKeyring",
    "check_backend",
    "new_device_key",
    "public_key_b64",
]

log = logging.getLogger(__name__)

#: Keyring service name of every Custos agent secret.
SERVICE_NAME = "custos-agent"
_FORMAT = 1


def new_device_key() -> Ed25519PrivateKey:
    """Create a fresh Ed25519 device key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415 - lazy

    return Ed25519PrivateKey.generate()


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """Return the raw 32-byte public key of ``key`` as base64."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - lazy (see the imports)

    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64encode(raw)


@dataclass(frozen=True)
class DeviceIdentity:
    """What an enrolled device proves itself with.

    Attributes:
        device_id: The id the server assigned at enrolment.
        login: The agent login the device is bound to.
        private_key: The device's Ed25519 key (never shown in ``repr``).
    """

    device_id: str
    login: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` with the device key (Ed25519, 64 bytes)."""
        return self.private_key.sign(message)

    def to_secret(self) -> str:
        """Serialise to the JSON text stored in the keyring."""
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - lazy (see the imports)

        raw = self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return json.dumps({"v": _FORMAT, "device_id": self.device_id, "login": self.login, "key": b64encode(raw)})

    @classmethod
    def from_secret(cls, text: str) -> DeviceIdentity:
        """Parse the JSON text stored in the keyring.

        Raises:
            CredentialStoreUnavailable: The stored secret is not a Custos identity.
        """
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415 - lazy

        try:
            data = json.loads(text)
            if data["v"] != _FORMAT:
                raise ValueError("unknown format")
            key = Ed25519PrivateKey.from_private_bytes(b64decode_strict(data["key"], expected_len=32))
            return cls(device_id=str(data["device_id"]), login=str(data["login"]), private_key=key)
        except Exception as exc:  # noqa: BLE001 - any malformation means the same to the user
            raise CredentialStoreUnavailable("the stored device identity is damaged; enrol this device again") from exc


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend that keeps secrets in process memory only.

    Chosen explicitly with ``--ephemeral-keyring`` (demo, tests); everything is
    gone at exit. keyring registers every backend subclass and, when no OS
    keyring is viable, picks the highest priority in no fixed order: priority
    -1 keeps it below the fail backend (0), so it is never picked on its own
    and a missing keyring is reported instead of silently forgetting the device.
    """

    priority = -1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        """Return the stored secret or None."""
        return self._secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store a secret in memory."""
        self._secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        """Forget a secret.

        Raises:
            keyring.errors.PasswordDeleteError: Nothing is stored under that name.
        """
        if self._secrets.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("no such secret")


def _priority(backend: keyring.backend.KeyringBackend) -> float:
    try:
        return float(type(backend).priority)
    except Exception:  # noqa: BLE001 - keyring reports unviable backends by raising anything
        return -1.0


def _unsafe_reason(backend: keyring.backend.KeyringBackend) -> str | None:
    if isinstance(backend, MemoryKeyring):
        return None
    cls = type(backend)
    qualified = f"{cls.__module__}.{cls.__qualname__}"
    if cls.__module__.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return f"no OS keyring is available ({qualified})"
    if cls.__module__.startswith("keyrings.alt") or "plaintext" in qualified.lower():
        return f"the keyring backend {qualified} stores secrets in files, which is not allowed"
    if cls.__module__.startswith("keyring.backends.chainer"):
        chained = list(getattr(backend, "backends", []))
        if not chained:
            return "no OS keyring is available (empty chainer)"
        reasons = [reason for reason in map(_unsafe_reason, chained) if reason]
        return reasons[0] if reasons else None
    if _priority(backend) <= 0:
        return f"the keyring backend {qualified} is not a secure store"
    return None


def check_backend(backend: keyring.backend.KeyringBackend) -> None:
    """Refuse a keyring backend that would not keep secrets safe.

    Raises:
        CredentialStoreUnavailable: The backend is a fail, null, plaintext or
            empty backend, or has priority zero or below.
    """
    reason = _unsafe_reason(backend)
    if reason:
        raise CredentialStoreUnavailable(
            f"{reason}. Install and unlock the system keyring (Windows Credential Manager, "
            "GNOME Keyring or KWallet) and start the client again."
        )


class CredentialStore:
    """Loads and saves the device identity of one server in a keyring.

    Args:
        server_url: The deployment's server URL; names the secret.
        backend: The keyring backend; defaults to ``keyring.get_keyring()``.

    Raises:
        CredentialStoreUnavailable: The backend is not a secure store.
    """

    def __init__(self, server_url: str, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()
        check_backend(self._backend)
        self._server_url = server_url
        self._username = f"device@{server_url}"
        # the first-window hint follows only a store that outlives the process
        self._hinted = not isinstance(self._backend, MemoryKeyring)

    def load(self) -> DeviceIdentity | None:
        """Return the stored identity, or None if this device is not enrolled.

        Raises:
            CredentialStoreUnavailable: The keyring failed or the secret is damaged.
        """
        try:
            text = self._backend.get_password(SERVICE_NAME, self._username)
        except keyring.errors.KeyringError as exc:
            raise CredentialStoreUnavailable(f"the keyring refused to read: {type(exc).__name__}") from exc
        identity = None if text is None else DeviceIdentity.from_secret(text)
        if self._hinted:
            if identity is None:
                forget_hint(self._server_url)
            elif enrolled_login(self._server_url) != identity.login:
                write_hint(self._server_url, identity.login)  # enrolled before hints, or a stale hint
        return identity

    def save(self, identity: DeviceIdentity) -> None:
        """Store the identity, replacing any earlier one.

        Raises:
            CredentialStoreUnavailable: The keyring failed.
        """
        try:
            self._backend.set_password(SERVICE_NAME, self._username, identity.to_secret())
        except keyring.errors.KeyringError as exc:
            raise CredentialStoreUnavailable(f"the keyring refused to store: {type(exc).__name__}") from exc
        log.info("device identity stored in keyring backend %s", type(self._backend).__name__)
        if self._hinted:
            write_hint(self._server_url, identity.login)

    def forget(self) -> None:
        """Delete the stored identity if there is one."""
        if self._hinted:
            forget_hint(self._server_url)
        try:
            self._backend.delete_password(SERVICE_NAME, self._username)
        except keyring.errors.PasswordDeleteError:
            return
        except keyring.errors.KeyringError as exc:
            raise CredentialStoreUnavailable(f"the keyring refused to delete: {type(exc).__name__}") from exc
