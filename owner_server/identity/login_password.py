"""The password half of an agent login, checked before the login's write transaction.

Argon2id costs tens to hundreds of milliseconds of CPU; done inside the login's
transaction it would hold a database connection (and, on PostgreSQL, the
agent's row lock) the whole time. So the route reads the stored hash in a short
read, checks the password outside any transaction (in the login gate's threads,
:mod:`owner_server.api.login_gate`), and hands the outcome to
:func:`owner_server.identity.login.login`, which uses it only if the agent's
hash is still the one checked (a password reset in between: checked again there).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from owner_server.identity.passwords import verify_dummy, verify_password
from owner_server.models import User

__all__ = ["PasswordCheck", "check_password", "read_password_hash"]


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of checking a login's password against one stored hash.

    Attributes:
        encoded: The Argon2id hash (PHC string) checked; None when the login was unknown (a dummy check was spent).
        ok: Whether the password matched it.
    """

    encoded: str | None
    ok: bool

    def holds_for(self, encoded: str) -> bool:
        """Whether this check was made against ``encoded`` (the hash stored now)."""
        return self.encoded is not None and self.encoded == encoded


def read_password_hash(session: Session, login: str) -> str | None:
    """The stored password hash of ``login``, or None for an unknown login (a read; nothing locked)."""
    return session.exec(select(User.password_hash).where(User.login == login)).first()


def check_password(encoded: str | None, password: str) -> PasswordCheck:
    """Check ``password`` against ``encoded``; with no hash, spend a dummy check's work (no timing oracle)."""
    if encoded is None:
        verify_dummy(password)
        return PasswordCheck(None, False)
    return PasswordCheck(encoded, verify_password(encoded, password))
