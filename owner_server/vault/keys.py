"""The key hierarchy: KEK (outside the database) → wrapped data keys (inside).

One data key per campaign encrypts its contacts' fields; one installation
blind-index key computes phone indexes; one installation ``secrets`` key
encrypts console users' TOTP seeds (:class:`~owner_server.vault.aead.SecretBox`). Both are stored only wrapped by the
KEK (see :mod:`owner_server.vault.aead`). Unwrapped keys (and a campaign
key's cipher) are cached in this process's memory for its lifetime, but never
served without the key's row read in the caller's transaction first: a key
destroyed by another process (the CLI, another server) is refused at once.
A KEK rotation rewraps the same data keys, so it leaves the cache valid.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from owner_server.core import prebuilt
from owner_server.models import DataKey
from owner_server.vault.aead import FieldCipher, SecretBox, unwrap_key, wrap_key
from owner_server.vault.blind_index import BlindIndexer
from owner_server.vault.kek import KekProvider
from shared.errors import NotFoundError

__all__ = ["CampaignKey", "KeyService"]

PURPOSE_CAMPAIGN = "campaign"
PURPOSE_INDEX = "blind_index"
PURPOSE_SECRETS = "secrets"
#: What a cached cipher is checked against, every time, in the caller's transaction.
_LIVE = select(DataKey.campaign_id, DataKey.destroyed_at, func.length(DataKey.wrapped)).where(
    col(DataKey.id) == bindparam("data_key_id")
)


@dataclass(frozen=True, slots=True)
class CampaignKey:
    """A campaign's usable data key: its row id and a cipher."""

    data_key_id: int
    cipher: FieldCipher


class KeyService:
    """Creates, unwraps and rewraps data keys.

    Args:
        provider: Where key-encryption keys come from.
    """

    def __init__(self, provider: KekProvider) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._deks: dict[int, bytes] = {}
        self._ciphers: dict[int, FieldCipher] = {}

    @property
    def provider(self) -> KekProvider:
        """The KEK provider."""
        return self._provider

    @staticmethod
    def _owner(row: DataKey) -> str:
        return str(row.campaign_id) if row.campaign_id is not None else "-"

    def _unwrap(self, row: DataKey) -> bytes:
        assert row.id is not None
        if row.destroyed_at is not None or not row.wrapped:
            self._forget(row.id)  # destroyed elsewhere (CLI): never serve it from memory
            raise NotFoundError("that data key was destroyed")
        with self._lock:
            cached = self._deks.get(row.id)
        if cached is not None:
            return cached
        dek = unwrap_key(
            self._provider.get(row.kek_version),
            row.wrapped,
            purpose=row.purpose,
            owner=self._owner(row),
            version=row.version,
            kek_version=row.kek_version,
        )
        with self._lock:
            self._deks[row.id] = dek
        return dek

    def _new_key(self, session: Session, *, purpose: str, campaign_id: int | None, version: int = 1) -> DataKey:
        kek_version = self._provider.active_version()
        row = DataKey(purpose=purpose, campaign_id=campaign_id, version=version, kek_version=kek_version, wrapped=b"")
        dek = os.urandom(32)
        row.wrapped = wrap_key(
            self._provider.get(kek_version),
            dek,
            purpose=purpose,
            owner=self._owner(row),
            version=version,
            kek_version=kek_version,
        )
        session.add(row)
        session.flush()
        return row

    def check_kek(self) -> int:
        """Fail early when no KEK is available; returns the active version.

        Raises:
            KekError: No usable key-encryption key.
        """
        version = self._provider.active_version()
        self._provider.get(version)
        return version

    def indexer(self, session: Session) -> BlindIndexer:
        """The installation's blind indexer, creating its key on first use."""
        row = session.exec(select(DataKey).where(DataKey.purpose == PURPOSE_INDEX)).first()
        if row is None:
            row = self._new_key(session, purpose=PURPOSE_INDEX, campaign_id=None)
        return BlindIndexer(self._unwrap(row))

    def secret_box(self, session: Session) -> SecretBox:
        """The installation's box for small secrets (TOTP seeds), creating its data key on first use.

        The key is a ``DataKey`` row like the others, so KEK rotation rewraps it.
        """
        row = session.exec(
            select(DataKey)
            .where(DataKey.purpose == PURPOSE_SECRETS, col(DataKey.destroyed_at).is_(None))
            .order_by(col(DataKey.id))
        ).first()
        if row is None:
            row = self._new_key(session, purpose=PURPOSE_SECRETS, campaign_id=None)
        return SecretBox(self._unwrap(row))

    def create_campaign_key(self, session: Session, *, campaign_id: int) -> CampaignKey:
        """Create the data key of a new campaign."""
        row = self._new_key(session, purpose=PURPOSE_CAMPAIGN, campaign_id=campaign_id)
        assert row.id is not None
        return CampaignKey(row.id, FieldCipher(self._unwrap(row), campaign_id))

    def campaign_key(self, session: Session, *, campaign_id: int) -> CampaignKey:
        """The newest live data key of a campaign.

        Raises:
            NotFoundError: The campaign has no live key (never created or destroyed).
        """
        row = session.exec(
            select(DataKey)
            .where(
                DataKey.purpose == PURPOSE_CAMPAIGN,
                DataKey.campaign_id == campaign_id,
                col(DataKey.destroyed_at).is_(None),
            )
            .order_by(col(DataKey.version).desc())
        ).first()
        if row is None or row.id is None:
            raise NotFoundError("the campaign has no live data key")
        return CampaignKey(row.id, FieldCipher(self._unwrap(row), campaign_id))

    def _forget(self, data_key_id: int) -> None:
        with self._lock:
            self._deks.pop(data_key_id, None)
            self._ciphers.pop(data_key_id, None)

    def cipher_for(self, session: Session, *, data_key_id: int) -> FieldCipher:
        """The cipher of a specific data key row.

        The row's state is read in ``session``'s transaction on every call (one
        narrow statement); the cipher comes from memory only if the key is live.

        Raises:
            NotFoundError: The key does not exist or was destroyed.
        """
        live = prebuilt.run(session, _LIVE, {"data_key_id": data_key_id}).first()
        if live is None or live[0] is None:
            raise NotFoundError("data key not found")
        if live[1] is not None or not live[2]:
            self._forget(data_key_id)
            raise NotFoundError("that data key was destroyed")
        with self._lock:
            cipher = self._ciphers.get(data_key_id)
        if cipher is not None:
            return cipher
        row = session.get(DataKey, data_key_id)
        if row is None or row.campaign_id is None:
            raise NotFoundError("data key not found")
        cipher = FieldCipher(self._unwrap(row), row.campaign_id)
        with self._lock:
            self._ciphers[data_key_id] = cipher
        return cipher

    def forget_cached(self) -> None:
        """Drop every unwrapped key from memory."""
        with self._lock:
            self._deks.clear()
            self._ciphers.clear()
