"""The agent client's reports about itself: audited under the login session, a few per agent and hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.identity.login import AgentPrincipal
from owner_server.models import AuditEntry
from owner_server.models._common import utcnow
from shared.client_report import ClientReport, ClientReportKind, ClientReportResult
from shared.errors import ValidationError

__all__ = ["MAX_CLOCK_SKEW", "MAX_REPORTS_PER_HOUR", "SUPPRESSED_ACTION", "record_client_report"]

#: Reports audited per agent within a rolling hour at most, over all its sessions; more are acknowledged
#: (``audited: false``) but not stored, so neither a client nor repeated logins can flood the log.
MAX_REPORTS_PER_HOUR = 32
#: The audit action written once per agent and hour when reports over the cap are dropped.
SUPPRESSED_ACTION = "client_reports_suppressed"
#: How far the client's ``occurred_at`` may lie from the server's clock (else 400).
MAX_CLOCK_SKEW = timedelta(days=1)
_WINDOW = timedelta(hours=1)


def _count_since(session: Session, *, actor: str, actions: list[str], since: datetime) -> int:
    # ``ts`` is ISO 8601 UTC text of one fixed format, so text order is time order (SQLite and PostgreSQL).
    count = session.exec(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.actor == actor,
            col(AuditEntry.action).in_(actions),
            col(AuditEntry.ts) >= since.isoformat(timespec="microseconds"),
        )
    ).one()
    return int(count)


def record_client_report(
    session: Session, *, agent: AgentPrincipal, report: ClientReport, now: datetime | None = None
) -> ClientReportResult:
    """Audit one client report (``client_settings`` or ``capture_exclusion_refused``) of the agent's session.

    The entry's action is the report's kind, its object the login session;
    details hold the device, the client's time and the settings or window
    class name (never personal data). The cap counts the agent's audited
    reports of the last hour over all its sessions (count then insert in the
    request's transaction, like the integrity reports); over it, one
    :data:`SUPPRESSED_ACTION` entry per hour records that reports were dropped.

    Args:
        session: The request's transaction.
        agent: The authenticated agent.
        report: What the client reported.
        now: The server's time (UTC); the clock when None.

    Returns:
        Whether it was audited (not once the agent has
        :data:`MAX_REPORTS_PER_HOUR` reports within the last hour).

    Raises:
        ValidationError: ``occurred_at`` is more than :data:`MAX_CLOCK_SKEW` away from ``now`` (nothing stored).
    """
    now = now or utcnow()
    if abs(report.occurred_at - now) > MAX_CLOCK_SKEW:
        raise ValidationError("occurred_at is too far from the server's time")
    since = now - _WINDOW
    kinds = [kind.value for kind in ClientReportKind]
    if _count_since(session, actor=agent.actor, actions=kinds, since=since) >= MAX_REPORTS_PER_HOUR:
        if not _count_since(session, actor=agent.actor, actions=[SUPPRESSED_ACTION], since=since):
            audit.append(
                session,
                actor=agent.actor,
                action=SUPPRESSED_ACTION,
                object_type="session",
                object_id=agent.session_id,
                details={"device_id": agent.device_id, "cap_per_hour": MAX_REPORTS_PER_HOUR},
            )
        return ClientReportResult(audited=False)
    details: dict[str, audit.Detail] = {
        "device_id": agent.device_id,
        "client_time": report.occurred_at.isoformat(),
    }
    if report.screen_reader_mode is not None:
        details["screen_reader_mode"] = report.screen_reader_mode
    if report.idle_lock_minutes is not None:
        details["idle_lock_minutes"] = report.idle_lock_minutes
    if report.update_check is not None:
        details["update_check"] = report.update_check
    if report.provisioned is not None:
        details["provisioned"] = report.provisioned
    if report.window is not None:
        details["window"] = report.window.value
    audit.append(
        session,
        actor=agent.actor,
        action=report.kind.value,
        object_type="session",
        object_id=agent.session_id,
        details=details,
    )
    return ClientReportResult(audited=True)
