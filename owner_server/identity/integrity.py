"""Refused client starts (``client_integrity_refused``): verified, audited, alerted, rate-limited.

The agent client refuses to start while it is debugged or injected into and,
when its device is enrolled, reports why before any login
(:class:`shared.integrity.IntegrityReport`). The report is accepted only with
the device's Ed25519 signature (RFC 8032) over a fresh single-use nonce from
``/nonce``; anything else gets the generic authentication failure and leaves
no trace, like a failed device proof at login.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.audit.alerts import raise_alert
from owner_server.core.deferred import DeferredError
from owner_server.models import AuditEntry, Device, LoginNonce, User
from owner_server.models._common import utcnow
from shared.containment import RuleAction, RuleName
from shared.errors import AuthError, RateLimitedError, ValidationError
from shared.integrity import IntegrityReport, integrity_challenge
from shared.protocol import b64decode_strict

__all__ = ["ACTION", "REPORTS_PER_HOUR", "record_integrity_report"]

#: The audit action of an accepted report.
ACTION = "client_integrity_refused"
#: Reports one device may file per rolling hour; more are refused (429) and not audited.
REPORTS_PER_HOUR = 10
_QUIET = timedelta(hours=1)
_FAILED = "integrity report refused: wrong device, nonce or signature"


def _verified_device(session: Session, *, report: IntegrityReport, now: datetime) -> Device:
    device = session.get(Device, report.device_id)
    nonce = session.get(LoginNonce, report.nonce)
    if device is None or device.revoked or nonce is None or nonce.device_id != device.id:
        raise AuthError(_FAILED)
    if nonce.used or nonce.expires_at < now:
        raise AuthError(_FAILED)
    try:
        signature = b64decode_strict(report.signature, expected_len=64)
        Ed25519PublicKey.from_public_bytes(device.public_key).verify(
            signature,
            integrity_challenge(
                device_id=device.id, nonce=report.nonce, reason=report.reason, client_version=report.client_version
            ),
        )
    except (ValidationError, InvalidSignature):
        raise AuthError(_FAILED) from None
    nonce.used = True
    session.add(nonce)
    return device


def _recent_reports(session: Session, *, device_id: str, now: datetime) -> int:
    since = (now - timedelta(hours=1)).isoformat(timespec="microseconds")
    count = session.exec(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == ACTION, AuditEntry.object_id == device_id, col(AuditEntry.ts) >= since)
    ).one()
    return int(count)


def record_integrity_report(
    session: Session, *, report: IntegrityReport, address: str = "", now: datetime | None = None
) -> None:
    """Verify a device's refused-start report, audit it and alert the owner (once an hour per agent).

    A verified report spends its nonce whatever follows, so a captured
    report cannot be replayed. Only a report that verifies is audited; its
    audit entry (``client_integrity_refused``: device, the device's agent
    login, reason, client version, address) and the alert
    (``client_integrity``) are written in the caller's transaction.

    Args:
        session: The request's transaction.
        report: The signed report.
        address: The client's address as the server saw it (audited).
        now: The time of the request (UTC); the clock when None.

    Raises:
        AuthError: Unknown or revoked device, unknown, used, expired or foreign
            nonce, or a bad signature (one message for all; nothing audited).
        DeferredError: ``rate_limited``: the device filed :data:`REPORTS_PER_HOUR` reports
            within the last hour (the nonce is spent, nothing audited).
    """
    now = now or utcnow()
    device = _verified_device(session, report=report, now=now)
    if _recent_reports(session, device_id=device.id, now=utcnow()) >= REPORTS_PER_HOUR:
        raise DeferredError(RateLimitedError("too many integrity reports from this device; try again later"))
    user = session.get(User, device.user_id)
    assert user is not None
    details: dict[str, audit.Detail] = {
        "device_id": device.id,
        "login": user.login,
        "reason": report.reason.value,
        "client_version": report.client_version,
        "address": address[:64],
    }
    audit.append(
        session, actor=f"agent:{user.ref}", action=ACTION, object_type="device", object_id=device.id, details=details
    )
    raise_alert(
        session,
        rule=RuleName.CLIENT_INTEGRITY,
        action=RuleAction.ALERT,
        user=user,
        figures={"reason": report.reason.value, "device_id": device.id},
        campaign_id=user.campaign_id,
        actor="system:integrity",
        quiet_for=_QUIET,
        now=now,
    )
