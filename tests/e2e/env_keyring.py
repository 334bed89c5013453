"""A keyring backend for a client process started by a test: secrets in the JSON file named by ``CUSTOS_TEST_KEYRING``.

Selected with ``PYTHON_KEYRING_BACKEND=tests.e2e.env_keyring.EnvFileKeyring``. The OS keyring
(Secret Service, Windows Credential Manager) cannot run here: a fake at that edge, implementing
keyring's backend interface; the client checks only its safety flags.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend
import keyring.errors


class FileKeyring(keyring.backend.KeyringBackend):
    """Secrets in one JSON file (tests only)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = path

    @property
    def _path(self) -> Path:
        return self._file

    def _load(self) -> dict[str, str]:
        return json.loads(self._path.read_text()) if self._path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise keyring.errors.PasswordDeleteError("no such secret")
        self._path.write_text(json.dumps(data))


class EnvFileKeyring(FileKeyring):
    """The file named by ``CUSTOS_TEST_KEYRING`` (keyring builds backends without arguments)."""

    def __init__(self) -> None:
        super().__init__(Path(os.environ.get("CUSTOS_TEST_KEYRING", "")))

    @property
    def _path(self) -> Path:
        return Path(os.environ["CUSTOS_TEST_KEYRING"])
