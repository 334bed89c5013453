"""Key-encryption key rotation, status and retirement.

Rotation makes a new KEK version (where the provider can store keys; an
external provider must be given the new version first) and rewraps every
live data key under it in one short transaction. Contacts are not
re-encrypted: their data keys do not change, only their wrapping. A running
server keeps working throughout: it holds unwrapped data keys in memory and
reads any KEK version it needs from the provider.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.models import DataKey
from owner_server.vault.aead import unwrap_key, wrap_key
from owner_server.vault.kek import KekError
from owner_server.vault.keys import KeyService
from shared.errors import ConflictError, NotFoundError

__all__ = ["KeyStatus", "key_status", "retire_kek", "rotate_kek", "verify_keys"]


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """What the key hierarchy looks like.

    Attributes:
        available: KEK versions the provider can give.
        active: The version that wraps new keys.
        wrapped_by: KEK version → live data keys it wraps.
        destroyed: Data keys destroyed (erased campaigns).
    """

    available: list[int]
    active: int
    wrapped_by: dict[int, int]
    destroyed: int


def _owner(row: DataKey) -> str:
    return str(row.campaign_id) if row.campaign_id is not None else "-"


def _live(session: Session) -> list[DataKey]:
    return list(session.exec(select(DataKey).where(col(DataKey.destroyed_at).is_(None))).all())


def verify_keys(session: Session, *, keys: KeyService) -> int:
    """Unwrap every live data key once, so a wrong KEK fails at start, not at first use.

    Returns:
        How many keys were checked.

    Raises:
        KekError: A KEK version is missing.
        DecryptionError: A KEK is wrong (the message says so, without key material).
    """
    rows = _live(session)
    for row in rows:
        unwrap_key(
            keys.provider.get(row.kek_version),
            row.wrapped,
            purpose=row.purpose,
            owner=_owner(row),
            version=row.version,
            kek_version=row.kek_version,
        )
    return len(rows)


def rotate_kek(session: Session, *, keys: KeyService, actor: str, create: bool = True) -> tuple[int, int]:
    """Rewrap every live data key under a new KEK version.

    Args:
        session: Open transaction.
        keys: Key service.
        actor: Who rotates (audited).
        create: Create the next version when the provider can; otherwise use
            the highest version the provider already has.

    Returns:
        ``(new_version, rewrapped_count)``.

    Raises:
        ConflictError: No newer version exists and none can be created.
        KekError: A KEK is missing.
        DecryptionError: A stored key does not unwrap under its recorded KEK.
    """
    provider = keys.provider
    rows = _live(session)
    current = max([r.kek_version for r in rows] + [0])
    target = provider.active_version()
    if target <= current:
        if not create:
            raise ConflictError("no newer key-encryption key version is available")
        try:
            provider.create(current + 1)
        except KekError as exc:
            raise ConflictError(f"cannot rotate: {exc.message}") from None
        target = current + 1
    new_kek = provider.get(target)
    for row in rows:
        dek = unwrap_key(
            provider.get(row.kek_version),
            row.wrapped,
            purpose=row.purpose,
            owner=_owner(row),
            version=row.version,
            kek_version=row.kek_version,
        )
        row.wrapped = wrap_key(
            new_kek, dek, purpose=row.purpose, owner=_owner(row), version=row.version, kek_version=target
        )
        row.kek_version = target
        session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="kek_rotated",
        object_type="kek",
        object_id=str(target),
        details={"rewrapped": len(rows), "from_version": current},
    )
    return target, len(rows)


def key_status(session: Session, *, keys: KeyService) -> KeyStatus:
    """Report KEK versions and what each wraps."""
    counts = session.exec(
        select(DataKey.kek_version, func.count())
        .where(col(DataKey.destroyed_at).is_(None))
        .group_by(col(DataKey.kek_version))
    ).all()
    destroyed = session.exec(
        select(func.count()).select_from(DataKey).where(col(DataKey.destroyed_at).is_not(None))
    ).one()
    available = keys.provider.versions()
    return KeyStatus(
        available=available,
        active=available[-1] if available else 0,
        wrapped_by={int(v): int(n) for v, n in counts},
        destroyed=int(destroyed),
    )


def retire_kek(session: Session, *, keys: KeyService, version: int, actor: str) -> None:
    """Record that a KEK version may be destroyed: refuses while any live key still uses it.

    Destroying the retired version's material (its file, HSM slot) makes old
    database backups unreadable; the file provider deletes the file itself.

    Raises:
        NotFoundError: The provider has no such version.
        ConflictError: Live data keys are still wrapped by that version, or it is the active one.
    """
    if version not in keys.provider.versions():
        raise NotFoundError(f"there is no key-encryption key version {version}")
    in_use = session.exec(
        select(func.count())
        .select_from(DataKey)
        .where(DataKey.kek_version == version, col(DataKey.destroyed_at).is_(None))
    ).one()
    if in_use:
        raise ConflictError(f"key-encryption key version {version} still wraps {in_use} data keys; rotate first")
    if version == keys.provider.active_version():
        raise ConflictError("the active key-encryption key cannot be retired")
    audit.append(session, actor=actor, action="kek_retired", object_type="kek", object_id=str(version))
