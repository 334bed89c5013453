"""KEK rotation, status, retirement and wrong-key start-up, on both databases."""

from __future__ import annotations

import base64
import os

import pytest
from sqlmodel import Session

from owner_server.audit import log as audit
from owner_server.core.datadir import open_installation
from owner_server.core.db import session_scope
from owner_server.vault import rotation as key_rotation
from owner_server.vault.aead import DecryptionError
from owner_server.vault.keys import KeyService
from shared.errors import ConflictError

from ..cases_support import contacts
from ..helpers import seed


def test_rotate_rewraps_without_reencrypting(any_installation):
    seed(any_installation)
    before = contacts(any_installation)
    with any_installation.engine.connect() as conn:
        payloads = conn.exec_driver_sql("SELECT payload FROM contact ORDER BY id").fetchall()
    with session_scope(any_installation.engine) as s:
        version, count = key_rotation.rotate_kek(s, keys=any_installation.keys, actor="test")
    assert version == 2 and count == 2  # the campaign key and the blind-index key
    with any_installation.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT payload FROM contact ORDER BY id").fetchall() == payloads
    # a fresh process (no cached keys) reads everything through KEK 2
    fresh = KeyService(any_installation.keys.provider)
    any_installation.keys = fresh
    assert contacts(any_installation) == before
    with Session(any_installation.engine) as s:
        st = key_rotation.key_status(s, keys=fresh)
        assert st.active == 2 and st.wrapped_by == {2: 2}
        assert audit.verify_chain(s, public_key=None).ok


def test_retire_refuses_used_and_active_versions(any_installation):
    seed(any_installation)
    with session_scope(any_installation.engine) as s, pytest.raises(ConflictError):
        key_rotation.retire_kek(s, keys=any_installation.keys, version=1, actor="test")
    with session_scope(any_installation.engine) as s:
        key_rotation.rotate_kek(s, keys=any_installation.keys, actor="test")
    with session_scope(any_installation.engine) as s:
        key_rotation.retire_kek(s, keys=any_installation.keys, version=1, actor="test")
    with session_scope(any_installation.engine) as s, pytest.raises(ConflictError):
        key_rotation.retire_kek(s, keys=any_installation.keys, version=2, actor="test")


def test_wrong_kek_fails_clearly_at_start(installation):
    kek_file = installation.settings.keys_dir / "kek-1.key"
    kek_file.write_text(base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(DecryptionError, match="wrong key-encryption key"):
        open_installation(installation.settings.data_dir)


def test_missing_kek_fails_clearly_at_start(installation):
    from owner_server.vault.kek import KekError

    (installation.settings.keys_dir / "kek-1.key").unlink()
    with pytest.raises(KekError, match="no key-encryption key"):
        open_installation(installation.settings.data_dir)


def test_retire_refuses_an_unknown_version(installation):
    from shared.errors import NotFoundError

    with session_scope(installation.engine) as s, pytest.raises(NotFoundError, match="no key-encryption key version 9"):
        key_rotation.retire_kek(s, keys=installation.keys, version=9, actor="test")
