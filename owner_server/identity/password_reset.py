"""Replacing a user's password: checked, hashed (argon2id), and any lock-out lifted."""

from __future__ import annotations

from sqlmodel import Session, col, delete

from owner_server.identity.passwords import generate_password, hash_password
from owner_server.models import LoginFailure, User
from shared.errors import ValidationError
from shared.limits import LIMITS

__all__ = ["replace_password"]


def replace_password(session: Session, *, user: User, password: str | None) -> tuple[str, bool]:
    """Give ``user`` a new password and lift its lock-out (failed logins forgotten).

    The caller ends the user's sessions and audits the change (agents and
    console users end different sessions).

    Args:
        session: Open transaction.
        user: The user.
        password: The new password, or None to generate one.

    Returns:
        The password (to show once when generated) and whether it was generated.

    Raises:
        ValidationError: A given password shorter than 12 or longer than the limit (nothing changed).
    """
    generated = password is None
    password = generate_password() if password is None else password
    if not 12 <= len(password) <= LIMITS.max_password_chars:
        raise ValidationError(f"a password has 12-{LIMITS.max_password_chars} characters")
    assert user.id is not None
    user.password_hash = hash_password(password)
    user.locked_until = None
    session.add(user)
    session.execute(delete(LoginFailure).where(col(LoginFailure.user_id) == user.id))
    return password, generated
