"""Record distribution: lease the next contact to an agent, one at a time.

The lease and its audit entry are written in one transaction, so no record
ever reaches an agent unaudited. An agent holds at most one open lease (a
partial unique index enforces it even under races); two agents never get the
same contact (row lock with ``SKIP LOCKED`` on PostgreSQL; SQLite writers are
serialised by ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.identity.login import AgentPrincipal
from owner_server.lists.suppression import is_suppressed_clause
from owner_server.models import Campaign, Contact, ContactState, Lease
from owner_server.models._common import utcnow
from owner_server.vault.keys import KeyService
from shared.errors import NotFoundError
from shared.limits import LIMITS
from shared.policy import PHONE_MASK, CampaignPolicy, apply_policy
from shared.protocol import NextRecordResponse, RecordView

__all__ = ["EMPTY_RETRY_S", "expire_lease", "next_record", "open_lease"]

#: Seconds an agent waits before asking again when nothing is eligible.
EMPTY_RETRY_S = 30


def open_lease(session: Session, *, user_id: int, actor: str = "system:lease") -> Lease | None:
    """The agent's open, unexpired lease, if any.

    An expired lease is closed here (audited ``lease_expired``) and its
    contact goes back to the pool: no agent keeps a record past its lease.
    """
    lease = session.exec(select(Lease).where(Lease.user_id == user_id, col(Lease.closed_at).is_(None))).first()
    if lease is None or lease.expires_at > utcnow():
        return lease
    expire_lease(session, lease=lease, actor=actor)
    return None


def expire_lease(session: Session, *, lease: Lease, actor: str) -> None:
    """Close an expired lease and return its contact to the pool (same transaction)."""
    lease.closed_at = utcnow()
    contact = session.get(Contact, lease.contact_id)
    if contact is not None and contact.state is ContactState.LEASED:
        contact.state = ContactState.NEW
        session.add(contact)
    session.add(lease)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="lease_expired",
        object_type="contact",
        object_id=contact.ref if contact else "",
        details={"lease_id": lease.id},
    )


def _pick_contact(session: Session, *, campaign_id: int, user_id: int) -> Contact | None:
    had_it = exists().where(col(Lease.contact_id) == col(Contact.id), col(Lease.user_id) == user_id)
    stmt = (
        select(Contact)
        .where(Contact.campaign_id == campaign_id, Contact.state == ContactState.NEW, ~is_suppressed_clause(), ~had_it)
        .order_by(col(Contact.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.exec(stmt).first()


def _view(session: Session, *, lease: Lease, contact: Contact, campaign: Campaign, keys: KeyService) -> RecordView:
    policy = CampaignPolicy.model_validate_json(campaign.policy_json)
    cipher = keys.cipher_for(session, data_key_id=contact.data_key_id)
    values = cipher.decrypt_fields(contact.ref, contact.payload)
    return RecordView(
        lease_id=lease.id,
        contact_ref=contact.ref,
        campaign=campaign.name,
        script=policy.script,
        fields=apply_policy(policy, values),
        phone_mask=PHONE_MASK,
        dispositions=policy.disposition_options(),
        issued_at=lease.issued_at,
        expires_at=lease.expires_at,
    )


def next_record(session: Session, *, agent: AgentPrincipal, keys: KeyService) -> NextRecordResponse:
    """Return the agent's current record, leasing the next eligible one if none is open.

    Every record returned, new or repeated, is audited in this transaction.

    Raises:
        NotFoundError: The agent has no campaign.
    """
    user = agent.user
    assert user.id is not None
    campaign = session.get(Campaign, user.campaign_id) if user.campaign_id is not None else None
    if campaign is None or campaign.id is None or campaign.erased_at is not None:
        raise NotFoundError("no campaign is assigned to this agent")
    lease = open_lease(session, user_id=user.id, actor=agent.actor)
    action = "record_reissued"
    if lease is None:
        contact = _pick_contact(session, campaign_id=campaign.id, user_id=user.id)
        if contact is None:
            return NextRecordResponse(record=None, retry_after_s=EMPTY_RETRY_S)
        assert contact.id is not None
        now = utcnow()
        lease = Lease(
            user_id=user.id,
            contact_id=contact.id,
            campaign_id=campaign.id,
            issued_at=now,
            expires_at=now + timedelta(seconds=LIMITS.lease_ttl_s),
        )
        contact.state = ContactState.LEASED
        session.add(contact)
        session.add(lease)
        session.flush()
        action = "record_issued"
    else:
        found = session.get(Contact, lease.contact_id)
        if found is None:
            raise NotFoundError("the leased contact no longer exists")
        contact = found
    view = _view(session, lease=lease, contact=contact, campaign=campaign, keys=keys)
    audit.append(
        session,
        actor=agent.actor,
        action=action,
        object_type="contact",
        object_id=contact.ref,
        details={"lease_id": lease.id, "session_id": agent.session_id, "fields": len(view.fields)},
    )
    return NextRecordResponse(record=view)
