"""KEK providers: file, environment variable, external command."""

from __future__ import annotations

import base64
import os
import stat
import sys
from pathlib import Path

import pytest

from owner_server.vault.kek import CommandKekProvider, EnvKekProvider, FileKekProvider, KekError

KEY1, KEY2 = os.urandom(32), os.urandom(32)


def test_file_provider_creates_0600_and_never_overwrites(tmp_path):
    provider = FileKekProvider(tmp_path / "keys")
    assert provider.versions() == []
    with pytest.raises(KekError):
        provider.active_version()
    provider.create(1)
    provider.create(2)
    assert provider.versions() == [1, 2] and provider.active_version() == 2
    assert stat.S_IMODE((tmp_path / "keys" / "kek-1.key").stat().st_mode) == 0o600
    assert len(provider.get(1)) == 32
    with pytest.raises(FileExistsError):
        provider.create(1)


def test_file_provider_rejects_malformed_key(tmp_path):
    (tmp_path / "kek-1.key").write_text("not base64!")
    with pytest.raises(KekError, match="not base64"):
        FileKekProvider(tmp_path).get(1)
    (tmp_path / "kek-1.key").write_text(base64.b64encode(b"short").decode())
    with pytest.raises(KekError, match="32 bytes"):
        FileKekProvider(tmp_path).get(1)


def test_env_provider(monkeypatch):
    monkeypatch.setenv("CUSTOS_KEK_1", base64.b64encode(KEY1).decode())
    monkeypatch.setenv("CUSTOS_KEK_3", base64.b64encode(KEY2).decode())
    provider = EnvKekProvider()
    assert provider.versions() == [1, 3] and provider.get(3) == KEY2
    with pytest.raises(KekError, match="CUSTOS_KEK_2 is not set"):
        provider.get(2)
    with pytest.raises(KekError, match="cannot create"):
        provider.create(4)


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "kms.py"
    path.write_text(body)
    return [sys.executable, str(path)]


def test_command_provider_talks_to_an_external_program(tmp_path):
    keys = {1: base64.b64encode(KEY1).decode(), 2: base64.b64encode(KEY2).decode()}
    command = _script(
        tmp_path,
        f"import sys\nkeys = {keys!r}\n"
        "if sys.argv[1] == 'versions':\n    print('\\n'.join(map(str, keys)))\n"
        "else:\n    print(keys[int(sys.argv[2])])\n",
    )
    provider = CommandKekProvider(command)
    assert provider.versions() == [1, 2] and provider.get(1) == KEY1 and provider.get(2) == KEY2


def test_command_provider_failure_is_a_clear_error(tmp_path):
    provider = CommandKekProvider(_script(tmp_path, "import sys\nsys.exit(3)\n"))
    with pytest.raises(KekError, match="command failed"):
        provider.get(1)
    with pytest.raises(KekError):
        CommandKekProvider([])
