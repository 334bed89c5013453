"""Single-use recovery codes for a console user who lost the TOTP device.

Ten codes are made when TOTP is enrolled (and again on request); each is
shown once and stored only as an Argon2id hash (``RecoveryCode``). A code is
ten characters from a 32-letter alphabet without look-alikes (50 random
bits), shown as ``XXXXX-XXXXX``; dashes, spaces and case are ignored when
typed.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, col, delete, func, select

from owner_server.identity.passwords import hash_recovery_code, verify_recovery_code
from owner_server.models import RecoveryCode
from owner_server.models._common import utcnow

__all__ = ["COUNT", "looks_like_recovery_code", "new_recovery_codes", "unused_codes", "use_recovery_code"]

COUNT = 10
_LENGTH = 10
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def looks_like_recovery_code(code: str) -> bool:
    """Whether ``code`` has a recovery code's shape (so it is worth checking against the hashes)."""
    text = _normalise(code)
    return len(text) == _LENGTH and all(c in _ALPHABET for c in text)


def new_recovery_codes(session: Session, *, user_id: int) -> list[str]:
    """Replace a user's recovery codes with :data:`COUNT` new ones.

    Returns:
        The codes, ``XXXXX-XXXXX`` (shown once; only their hashes are stored).
    """
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH)) for _ in range(COUNT)]
    for code in codes:
        session.add(RecoveryCode(user_id=user_id, code_hash=hash_recovery_code(code)))
    session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def unused_codes(session: Session, *, user_id: int) -> int:
    """How many of a user's recovery codes are still unused."""
    return int(
        session.exec(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, col(RecoveryCode.used_at).is_(None))
        ).one()
    )


def use_recovery_code(session: Session, *, user_id: int, code: str, now: datetime | None = None) -> int | None:
    """Spend one unused recovery code.

    Returns:
        How many unused codes are left, or None when ``code`` matches none.
    """
    if not looks_like_recovery_code(code):
        return None
    text = _normalise(code)
    rows = session.exec(
        select(RecoveryCode).where(RecoveryCode.user_id == user_id, col(RecoveryCode.used_at).is_(None))
    ).all()
    for row in rows:
        if verify_recovery_code(row.code_hash, text):
            row.used_at = now or utcnow()
            session.add(row)
            session.flush()
            return len(rows) - 1
    return None
