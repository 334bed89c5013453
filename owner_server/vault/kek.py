"""Key-encryption key providers: a file (default), an environment variable, a command.

A KEK never enters the database. Versions are positive integers; the highest
available version wraps new keys.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import subprocess
from abc import ABC, abstractmethod
from pathlib import Path

from owner_server.core.settings import Settings
from shared.errors import CustosError

__all__ = ["CommandKekProvider", "EnvKekProvider", "FileKekProvider", "KekError", "KekProvider", "make_kek_provider"]

KEK_BYTES = 32
_FILE_RE = re.compile(r"^kek-(\d+)\.key$")


class KekError(CustosError):
    """A key-encryption key is missing, unreadable or malformed."""


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KekError(f"key-encryption key from {where} is not base64") from exc
    if len(raw) != KEK_BYTES:
        raise KekError(f"key-encryption key from {where} must be {KEK_BYTES} bytes")
    return raw


class KekProvider(ABC):
    """Source of key-encryption keys by version."""

    @abstractmethod
    def get(self, version: int) -> bytes:
        """Return KEK ``version`` (32 bytes).

        Raises:
            KekError: The version is not available.
        """

    @abstractmethod
    def versions(self) -> list[int]:
        """Available versions, ascending."""

    def active_version(self) -> int:
        """The version that wraps new keys (the highest).

        Raises:
            KekError: No version is available.
        """
        versions = self.versions()
        if not versions:
            raise KekError("no key-encryption key is available")
        return versions[-1]

    def create(self, version: int) -> None:
        """Create a new version (only where the provider can store keys).

        Raises:
            KekError: This provider cannot create keys.
        """
        raise KekError("this key-encryption key provider cannot create keys; provision the new version externally")


class FileKekProvider(KekProvider):
    """KEKs in ``<keys dir>/kek-<version>.key`` (base64, mode 0600)."""

    def __init__(self, keys_dir: Path) -> None:
        self._dir = keys_dir

    def versions(self) -> list[int]:  # noqa: D102
        if not self._dir.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self._dir.iterdir() if (m := _FILE_RE.match(p.name)))

    def get(self, version: int) -> bytes:  # noqa: D102
        path = self._dir / f"kek-{version}.key"
        try:
            text = path.read_text(encoding="ascii")
        except OSError as exc:
            raise KekError(f"key-encryption key version {version} is missing ({path.name})") from exc
        return _decode(text, path.name)

    def create(self, version: int) -> None:
        """Write a new random KEK file with mode 0600 (never overwrites)."""
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._dir / f"kek-{version}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(base64.b64encode(os.urandom(KEK_BYTES)).decode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())


class EnvKekProvider(KekProvider):
    """KEKs in environment variables ``CUSTOS_KEK_<version>`` (base64)."""

    PREFIX = "CUSTOS_KEK_"

    def versions(self) -> list[int]:  # noqa: D102
        return sorted(
            int(k[len(self.PREFIX) :])
            for k in os.environ
            if k.startswith(self.PREFIX) and k[len(self.PREFIX) :].isdigit()
        )

    def get(self, version: int) -> bytes:  # noqa: D102
        value = os.environ.get(f"{self.PREFIX}{version}")
        if value is None:
            raise KekError(f"key-encryption key version {version} is missing ({self.PREFIX}{version} is not set)")
        return _decode(value, f"{self.PREFIX}{version}")


class CommandKekProvider(KekProvider):
    """KEKs printed by an external program (an HSM or KMS client).

    The program is run as ``<command...> versions`` (prints versions, one a
    line) and ``<command...> get <version>`` (prints the base64 key).
    """

    def __init__(self, command: list[str]) -> None:
        if not command:
            raise KekError("kek.command is empty")
        self._command = command

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(  # noqa: S603 - the owner's configured program, no shell
                [*self._command, *args], capture_output=True, text=True, timeout=30, check=True
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise KekError(f"key-encryption key command failed ({type(exc).__name__})") from exc
        return done.stdout

    def versions(self) -> list[int]:  # noqa: D102
        return sorted(int(line) for line in self._run("versions").split() if line.isdigit())

    def get(self, version: int) -> bytes:  # noqa: D102
        return _decode(self._run("get", str(version)), "the key command")


def make_kek_provider(settings: Settings) -> KekProvider:
    """Build the provider the settings name."""
    if settings.kek.provider == "env":
        return EnvKekProvider()
    if settings.kek.provider == "command":
        return CommandKekProvider(settings.kek.command)
    return FileKekProvider(settings.keys_dir)
