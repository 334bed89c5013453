"""The agent client's reports about itself: audited under the login session, a few per session."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.identity.login import AgentPrincipal
from owner_server.models import AuditEntry
from shared.client_report import ClientReport, ClientReportKind, ClientReportResult

__all__ = ["MAX_REPORTS_PER_SESSION", "record_client_report"]

#: Reports audited per login session at most; more are acknowledged but not stored (a client cannot flood the log).
MAX_REPORTS_PER_SESSION = 32


def record_client_report(session: Session, *, agent: AgentPrincipal, report: ClientReport) -> ClientReportResult:
    """Audit one client report (``client_settings`` or ``capture_exclusion_refused``) of the agent's session.

    The entry's action is the report's kind, its object the login session;
    details hold the device, the client's time and the setting or window
    class name (never personal data).

    Args:
        session: The request's transaction.
        agent: The authenticated agent.
        report: What the client reported.

    Returns:
        Whether it was audited (not once the session has
        :data:`MAX_REPORTS_PER_SESSION` reports).
    """
    kinds = [kind.value for kind in ClientReportKind]
    count = session.exec(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.object_id == agent.session_id,
            AuditEntry.actor == agent.actor,
            col(AuditEntry.action).in_(kinds),
        )
    ).one()
    if count >= MAX_REPORTS_PER_SESSION:
        return ClientReportResult(audited=False)
    details: dict[str, audit.Detail] = {
        "device_id": agent.device_id,
        "client_time": report.occurred_at.isoformat(),
    }
    if report.screen_reader_mode is not None:
        details["screen_reader_mode"] = report.screen_reader_mode
    if report.window is not None:
        details["window"] = report.window
    audit.append(
        session,
        actor=agent.actor,
        action=report.kind.value,
        object_type="session",
        object_id=agent.session_id,
        details=details,
    )
    return ClientReportResult(audited=True)
