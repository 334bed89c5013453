"""The data-key cache: a key destroyed by another process is never served from this process's memory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlmodel import Session, select

from owner_server.models import Contact
from owner_server.vault.keys import KeyService
from shared.errors import NotFoundError

from ..helpers import seed


def _data_key_id(inst) -> int:
    with Session(inst.engine) as s:
        return s.exec(select(Contact.data_key_id)).first()


def test_a_cached_cipher_is_the_same_object_while_the_key_lives(installation):
    seed(installation)
    data_key_id = _data_key_id(installation)
    with Session(installation.engine) as s:
        first = installation.keys.cipher_for(s, data_key_id=data_key_id)
        assert installation.keys.cipher_for(s, data_key_id=data_key_id) is first


def test_a_key_destroyed_by_another_process_is_refused_from_the_cache(installation):
    """The CLI, in its own process, erases the campaign while this process holds the key's cipher in memory."""
    seed(installation)
    data_key_id = _data_key_id(installation)
    server_keys = KeyService(installation.keys.provider)
    with Session(installation.engine) as s:
        cipher = server_keys.cipher_for(s, data_key_id=data_key_id)  # now cached
        assert server_keys.cipher_for(s, data_key_id=data_key_id) is cipher
    env = {**os.environ, "CUSTOS_DATA_DIR": str(installation.settings.data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "owner_server", "campaign", "erase", "Camp", "--yes"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with Session(installation.engine) as s, pytest.raises(NotFoundError):
        server_keys.cipher_for(s, data_key_id=data_key_id)
    with Session(installation.engine) as s, pytest.raises(NotFoundError):  # and stays refused
        server_keys.cipher_for(s, data_key_id=data_key_id)
