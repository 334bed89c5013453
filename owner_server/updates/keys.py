"""Signing keys of the update repository: root keys offline, the other roles' keys online.

Root keys are written to a directory the admin names (removable media) and never
into the data dir; they sign only ``root`` and are needed again only to rotate keys.
The targets, snapshot and timestamp keys live in ``updates/keys/`` (0600),
PKCS#8 PEM encrypted under a password derived with HKDF-SHA256 (RFC 5869) from
the installation's key-encryption key, so a copy of the data dir without the KEK
(an environment variable or an HSM command) cannot sign a release. A key wrapped
by an older KEK version is rewrapped under the active one when loaded.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from securesystemslib.signer import CryptoSigner, SSlibKey

from owner_server.updates.layout import UpdatesLayout, atomic_write
from owner_server.vault.kek import KekProvider
from shared.errors import ConflictError, ValidationError

__all__ = ["ONLINE_ROLES", "OnlineKeys", "ROOT_PASSPHRASE_ENV", "generate_root_keys", "load_root_signers"]

#: Roles whose keys the server holds (the running server re-signs timestamp and snapshot).
ONLINE_ROLES = ("targets", "snapshot", "timestamp")
#: Optional passphrase protecting the offline root key files (from the environment, never argv).
ROOT_PASSPHRASE_ENV = "CUSTOS_ROOT_KEY_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret
_ONLINE_RE = re.compile(r"^(targets|snapshot|timestamp)-kek(\d+)\.pem$")
_HKDF_INFO = b"custos/updates/online-signing-key/v1"


def _signer(private: Ed25519PrivateKey) -> CryptoSigner:
    return CryptoSigner(private, SSlibKey.from_crypto(private.public_key()))


def _pem(private: Ed25519PrivateKey, password: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _load(pem: bytes, password: bytes | None, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"signing key {where} cannot be read (wrong passphrase or key-encryption key?)") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValidationError(f"signing key {where} is not Ed25519")
    return key


def _root_passphrase() -> bytes | None:
    value = os.environ.get(ROOT_PASSPHRASE_ENV, "")
    return value.encode() if value else None


def check_root_key_dir(root_key_dir: Path, data_dir: Path) -> None:
    """Refuse a root key directory that is missing or inside the data dir (root keys stay offline).

    Raises:
        ValidationError: Not a directory, or inside ``data_dir``.
    """
    if not root_key_dir.is_dir():
        raise ValidationError(f"root key directory {root_key_dir} does not exist")
    inside = root_key_dir.resolve()
    if inside == data_dir.resolve() or data_dir.resolve() in inside.parents:
        raise ValidationError("root keys must stay offline: choose a directory outside the data dir")


__all__ += ["check_root_key_dir"]


def generate_root_keys(root_key_dir: Path, count: int) -> list[CryptoSigner]:
    """Make ``count`` Ed25519 root keys as ``root-<keyid prefix>.pem`` (0600) in ``root_key_dir``.

    The files are encrypted with ``$CUSTOS_ROOT_KEY_PASSPHRASE`` when it is set.

    Returns:
        Their signers, in file order.

    Raises:
        ConflictError: The directory already holds root keys.
    """
    if any(root_key_dir.glob("root-*.pem")):
        raise ConflictError(f"{root_key_dir} already holds root keys; use an empty directory")
    signers = []
    for _ in range(count):
        private = Ed25519PrivateKey.generate()
        signer = _signer(private)
        path = root_key_dir / f"root-{signer.public_key.keyid[:16]}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_pem(private, _root_passphrase()))
            fh.flush()
            os.fsync(fh.fileno())
        signers.append(signer)
    return signers


def load_root_signers(root_key_dir: Path, keyids: list[str]) -> list[CryptoSigner]:
    """Load the root keys in ``root_key_dir`` that root trusts (``keyids``); other files are ignored.

    Raises:
        ValidationError: A key file cannot be read (passphrase from ``$CUSTOS_ROOT_KEY_PASSPHRASE``).
    """
    signers = []
    for path in sorted(root_key_dir.glob("root-*.pem")):
        signer = _signer(_load(path.read_bytes(), _root_passphrase(), path.name))
        if signer.public_key.keyid in keyids:
            signers.append(signer)
    return signers


class OnlineKeys:
    """The online roles' keys in ``updates/keys/``, encrypted under the installation's KEK.

    Args:
        layout: The repository's paths.
        kek: The installation's KEK provider (its active version wraps new keys).
    """

    def __init__(self, layout: UpdatesLayout, kek: KekProvider) -> None:
        self._layout = layout
        self._kek = kek

    def _password(self, version: int) -> bytes:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(self._kek.get(version))
        return base64.b64encode(derived)

    def _files(self, role: str) -> list[tuple[int, Path]]:
        found = []
        for path in self._layout.keys.glob(f"{role}-kek*.pem"):
            match = _ONLINE_RE.fullmatch(path.name)
            if match and match.group(1) == role:
                found.append((int(match.group(2)), path))
        return sorted(found)

    def _store(self, role: str, private: Ed25519PrivateKey) -> None:
        version = self._kek.active_version()
        atomic_write(self._layout.keys / f"{role}-kek{version}.pem", _pem(private, self._password(version)), 0o600)
        for old, path in self._files(role):
            if old != version:
                path.unlink()

    def generate(self, role: str) -> CryptoSigner:
        """Make and store a new key for ``role``, replacing any old one; returns its signer."""
        private = Ed25519PrivateKey.generate()
        self._store(role, private)
        return _signer(private)

    def load(self, role: str) -> CryptoSigner:
        """The signer of ``role`` (rewrapped under the active KEK version if an older one wraps it).

        Raises:
            ValidationError: No key, or it cannot be decrypted with the KEK.
            KekError: The KEK version that wraps it is not available.
        """
        files = self._files(role)
        if not files:
            raise ValidationError(f"the {role} signing key is missing; run `release init` first")
        version, path = files[-1]
        private = _load(path.read_bytes(), self._password(version), path.name)
        if version != self._kek.active_version():
            self._store(role, private)
        return _signer(private)

    def rewrap(self) -> None:
        """Rewrap every online key under the active KEK version (after ``keys rotate``)."""
        for role in ONLINE_ROLES:
            if self._files(role):
                self.load(role)
