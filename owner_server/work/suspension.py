"""Suspending and reinstating an agent.

Suspension takes effect in the transaction that decides it: the agent's open
lease is closed (its contact goes back to the pool, the record is never shown
again), every token of the agent is revoked, and the change is audited with
the reason and, for a rule, its figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select, update

from owner_server.audit import log as audit
from owner_server.core.txn_memo import AGENT_CONFIRMED, recall
from owner_server.models import AccessToken, Lease, User
from owner_server.models._common import utcnow
from owner_server.work import claim_sql
from owner_server.work.leases import release_lease
from shared.errors import ConflictError, ErrorCode, ForbiddenError

__all__ = ["lock_agent", "revoke_tokens", "reinstate_agent", "suspend_agent", "withdraw_lease"]

_REASON_CHARS = 200


def lock_agent(session: Session, *, user_id: int) -> None:
    """Serialise one agent's writing requests and re-read the agent under that lock.

    On PostgreSQL the agent's row is locked ``FOR NO KEY UPDATE`` until the
    transaction ends, so two requests of one agent on two server processes
    (or two threads) take turns: both cannot count below a limit before either
    commits. ``NO KEY``: the foreign-key checks of the agent's inserts
    (``FOR KEY SHARE``) are not blocked by it, which ``FOR UPDATE`` did, and an
    outcome waiting there while holding its lease deadlocked with a ``/next``
    waiting for that lease (PostgreSQL docs, "Row-Level Locks", table 13.3).
    SQLite writers are serial already. On both, the flag is read again: a
    request that authenticated before another one suspended the agent sees the
    suspension here and is refused, instead of tripping the rule, alerting and
    suspending a second time. A transaction that
    :func:`~owner_server.identity.bearer.confirm` (SQLite: under the write
    lock) or :func:`~owner_server.identity.bearer.authenticate_locked`
    (PostgreSQL: under this row lock, taken there) checked has read it
    already: nothing is locked or read again.

    Args:
        session: The request's transaction (its first write-side statement).
        user_id: The authenticated agent's id.

    Raises:
        ForbiddenError: ``account_suspended``: the agent was suspended since it authenticated.
    """
    if recall(session, AGENT_CONFIRMED) == user_id:
        return  # this transaction has read the flag already, holding the write lock (or the row lock) since
    sqlite = session.get_bind().dialect.name == "sqlite"
    stmt = claim_sql.SUSPENDED if sqlite else claim_sql.SUSPENDED_LOCKED
    if claim_sql.run(session, stmt, {"b_user_id": user_id}).scalar_one():
        raise ForbiddenError("account suspended", code=ErrorCode.ACCOUNT_SUSPENDED)


def withdraw_lease(session: Session, *, user_id: int, now: datetime, actor: str, reason: str) -> str | None:
    """Close the agent's open lease, if any, and return its contact to the pool (audited ``lease_withdrawn``).

    Args:
        session: The deciding transaction.
        user_id: The agent.
        now: When (UTC).
        actor: Who withdraws it.
        reason: Why, e.g. ``suspended`` or ``dnc`` (no personal data).

    Returns:
        The closed lease's id, or None when there was none.
    """
    lease = session.exec(select(Lease).where(Lease.user_id == user_id, col(Lease.closed_at).is_(None))).first()
    if lease is None:
        return None
    release_lease(session, lease=lease, now=now, actor=actor, action="lease_withdrawn", details={"reason": reason})
    return lease.id


def revoke_tokens(session: Session, *, user_id: int, keep_session: str | None = None) -> int:
    """Revoke every live token of a user (but ``keep_session``'s).

    Returns:
        How many tokens were revoked.
    """
    stmt = update(AccessToken).where(col(AccessToken.user_id) == user_id, col(AccessToken.revoked).is_(False))
    if keep_session is not None:
        stmt = stmt.where(col(AccessToken.session_id) != keep_session)
    result = session.execute(stmt.values(revoked=True).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def suspend_agent(
    session: Session,
    *,
    user: User,
    reason: str,
    actor: str,
    figures: Mapping[str, audit.Detail] | None = None,
    now: datetime | None = None,
) -> None:
    """Suspend an agent now: lease closed, tokens revoked, audited ``agent_suspended``.

    Args:
        session: The deciding transaction.
        user: The agent.
        reason: Why (a rule name or the admin's words; no personal data), cut to 200 characters.
        actor: Who suspends (``system:rules``, ``admin:cli`` ...).
        figures: The rule's figures, copied into the audit entry.
        now: The time of the deciding request (UTC); the clock when None.
    """
    now = now or utcnow()
    assert user.id is not None
    lease_id = withdraw_lease(session, user_id=user.id, now=now, actor=actor, reason="suspended")
    revoked = revoke_tokens(session, user_id=user.id)
    user.suspended = True
    user.suspended_at = now
    user.suspended_reason = reason[:_REASON_CHARS]
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="agent_suspended",
        object_type="user",
        object_id=user.ref,
        details={
            "reason": user.suspended_reason,
            "lease_closed": lease_id,
            "tokens_revoked": revoked,
            **(figures or {}),
        },
    )


def reinstate_agent(session: Session, *, user: User, actor: str) -> None:
    """Lift an agent's suspension (audited ``agent_reinstated``); the agent logs in again.

    Raises:
        ConflictError: The agent is not suspended.
    """
    if not user.suspended:
        raise ConflictError(f"agent '{user.login}' is not suspended")
    user.suspended = False
    user.suspended_at = None
    user.suspended_reason = None
    session.add(user)
    session.flush()
    audit.append(session, actor=actor, action="agent_reinstated", object_type="user", object_id=user.ref)
