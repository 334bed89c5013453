"""Lookup: every issuance, display, outcome and erasure of a customer's contacts, with who and from where.

Design:
    * Finding the contacts is the lists domain's job
      (:func:`owner_server.lists.matching.match_contacts`: phone by blind index,
      customer id by a streaming decrypting scan, or the contact's ref); this
      module takes their ids and builds each one's timeline from the audit log:
      every entry with ``object_type = "contact"`` and ``object_id`` = its ref
      (``record_issued``, ``record_reissued``, the client's display events,
      ``disposition_recorded``, ``lease_expired``, ``lease_withdrawn``,
      ``call_placed``, ``call_ended``, ``fields_revealed``, ``contact_erased`` ...),
      read through the ``object_id`` index.
    * Each entry is resolved to the agent (the lease's holder when the entry
      names a lease, else the ``agent:<ref>`` actor), the agent's outsourcer,
      and the device and address of the session it happened in: the issuance's
      ``session_id`` detail, a display event's stored ``session_id``, else the
      session the lease was last returned to; the session's
      :class:`~owner_server.models.AccessToken` holds ``device_id`` and
      ``address``. Everything is fetched in a handful of batched queries.
    * ``at`` is when it happened: the client's ``occurred_at`` for display
      events, the audit time for the rest; events are in ``at`` order, then in
      log order. ``recorded_at`` is always the audit time.
    * A contact whose number is on the do-not-call list gets a ``dnc_listed``
      event at the time the number was listed (from the ``suppression`` table:
      a DNC import is audited once per file, not per contact; ``seq`` 0). A DNC
      import that withdraws an open lease is in the log as ``lease_withdrawn``.
    * Canary contacts are matched and traced like any other.
    * The lookup itself is audited (``lookup``: who, by what kind, how many
      matched, the matched refs), never the phone or customer id asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlmodel import Session, col, or_, select

from owner_server.audit import log as audit
from owner_server.models import (
    AccessToken,
    AuditEntry,
    Campaign,
    Contact,
    Device,
    DisplayEventRow,
    Lease,
    Outsourcer,
    Suppression,
    User,
)

__all__ = ["ContactHistory", "LookupKind", "LookupResult", "TimelineEvent", "lookup"]

#: Ids per ``IN (...)`` list (well under SQLite's and PostgreSQL's parameter limits).
_CHUNK = 500
#: Matched refs named in the lookup's audit entry (the count is always exact).
_AUDITED_REFS = 50
#: Audit details copied into an event, and their names there (``seq`` of a display event is the session's).
_EXTRA_DETAILS = {
    "lease_id": "lease_id",
    "code": "code",
    "duration_ms": "duration_ms",
    "detail": "detail",
    "reason": "reason",
    "matched_by": "matched_by",
    "seq": "session_seq",
    "call_id": "call_id",
    "result": "result",
    "ring_s": "ring_s",
    "talk_s": "talk_s",
}
_T = TypeVar("_T")


class LookupKind(StrEnum):
    """What the owner looked up by (recorded in the audit entry; the value itself never is)."""

    PHONE = "phone"
    CUSTOMER_ID = "customer_id"
    CONTACT = "contact"


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One thing that happened to a contact.

    Attributes:
        at: When it happened (UTC): the client's time for display events, else the audit time.
        action: The audit action (``record_issued``, ``record_displayed``, ``disposition_recorded`` ...).
        agent: The agent's login, or None (an admin's or the system's action with no lease).
        outsourcer: The agent's organisation, or None.
        device: The enrolled device id of the agent's session, or None.
        address: The client address of that session as the server saw it at login, or None.
        actor: The audit actor (``agent:<ref>``, ``admin:cli``, ``system:lease`` ...).
        recorded_at: The audit time (UTC).
        seq: The audit entry's sequence number (0 for ``dnc_listed``, which is not an entry).
        details: ``lease_id``, ``code``, ``duration_ms``, ``detail`` (blocked action),
            ``reason``, ``matched_by``, ``session_seq`` (a display event's number in its
            session) and ``device_name``, where the entry has them.
    """

    at: datetime
    action: str
    agent: str | None
    outsourcer: str | None
    device: str | None
    address: str | None
    actor: str
    recorded_at: datetime
    seq: int
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The JSON shape: ``at``, ``action``, ``agent``, ``outsourcer``, ``device``, ``address``, then the rest."""
        return {
            "at": self.at.isoformat(),
            "action": self.action,
            "agent": self.agent,
            "outsourcer": self.outsourcer,
            "device": self.device,
            "address": self.address,
            "actor": self.actor,
            "recorded_at": self.recorded_at.isoformat(),
            "seq": self.seq,
            **self.details,
        }


@dataclass(frozen=True, slots=True)
class ContactHistory:
    """One matched contact and its events in time order."""

    contact_ref: str
    campaign: str
    events: tuple[TimelineEvent, ...]


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Every matched contact with its history (none: nothing matched)."""

    by: LookupKind
    contacts: tuple[ContactHistory, ...]

    def as_json(self) -> dict[str, Any]:
        """``{"contacts": [{"contact_ref", "campaign", "events": [...]}]}``."""
        return {
            "contacts": [
                {"contact_ref": c.contact_ref, "campaign": c.campaign, "events": [e.as_json() for e in c.events]}
                for c in self.contacts
            ]
        }


def _chunks(items: Iterable[_T]) -> Iterator[list[_T]]:
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class _Who:
    login: str
    outsourcer: str | None


@dataclass(slots=True)
class _Context:
    """Everything the entries refer to, fetched in a few batched, column-only queries."""

    #: lease id -> (holder's user id, session it was last returned to)
    leases: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    #: (user id, client event id) -> (session id, when it happened)
    displays: dict[tuple[int, str], tuple[str, datetime]] = field(default_factory=dict)
    #: session id -> (device id, address, device name)
    sessions: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    users_by_id: dict[int, _Who] = field(default_factory=dict)
    users_by_ref: dict[str, _Who] = field(default_factory=dict)


def _load_people(session: Session, ctx: _Context, user_ids: set[int], refs: set[str]) -> None:
    ids, wanted = sorted(user_ids), sorted(refs)
    for start in range(0, max(len(ids), len(wanted)), _CHUNK):
        by_id, by_ref = ids[start : start + _CHUNK], wanted[start : start + _CHUNK]
        stmt = (
            select(User.id, User.ref, User.login, Outsourcer.name)
            .outerjoin(Outsourcer, col(Outsourcer.id) == col(User.outsourcer_id))
            .where(or_(col(User.id).in_(by_id), col(User.ref).in_(by_ref)))
        )
        for uid, ref, login, org in session.exec(stmt).all():
            who = _Who(login, org)
            ctx.users_by_ref[ref] = who
            if uid is not None:
                ctx.users_by_id[uid] = who


def _load_context(session: Session, contact_ids: Sequence[int], parsed: Sequence[dict[str, Any]]) -> _Context:
    ctx = _Context()
    for ids in _chunks(contact_ids):
        stmt_l = select(Lease.id, Lease.user_id, Lease.last_session_id).where(col(Lease.contact_id).in_(ids))
        ctx.leases.update({lid: (uid, last) for lid, uid, last in session.exec(stmt_l).all()})
    for lease_ids in _chunks(ctx.leases):
        stmt_d = select(
            DisplayEventRow.user_id, DisplayEventRow.event_id, DisplayEventRow.session_id, DisplayEventRow.occurred_at
        ).where(col(DisplayEventRow.lease_id).in_(lease_ids))
        ctx.displays.update({(uid, eid): (sid, when) for uid, eid, sid, when in session.exec(stmt_d).all()})
    wanted = {str(d["session_id"]) for d in parsed if d.get("session_id")}
    wanted |= {sid for sid, _ in ctx.displays.values()}
    wanted |= {last for _, last in ctx.leases.values() if last}
    for chunk in _chunks(sorted(wanted)):
        stmt_s = (
            select(AccessToken.session_id, AccessToken.device_id, AccessToken.address, Device.name)
            .outerjoin(Device, col(Device.id) == col(AccessToken.device_id))
            .where(col(AccessToken.session_id).in_(chunk))
        )
        for sid, device_id, address, name in session.exec(stmt_s).all():
            ctx.sessions.setdefault(sid, (device_id, address, name))
    refs = {str(d["_agent_ref"]) for d in parsed if d.get("_agent_ref")}
    _load_people(session, ctx, {uid for uid, _ in ctx.leases.values()}, refs)
    return ctx


def _parse(entry: AuditEntry) -> dict[str, Any]:
    try:
        details = json.loads(entry.details)
    except ValueError:
        details = {}
    if not isinstance(details, dict):
        details = {}
    if entry.actor.startswith("agent:"):
        details["_agent_ref"] = entry.actor.removeprefix("agent:")
    return details


def _event(entry: AuditEntry, details: dict[str, Any], ctx: _Context, last_session: dict[str, str]) -> TimelineEvent:
    """One entry resolved; ``last_session`` holds each lease's latest session seen so far (log order)."""
    recorded = datetime.fromisoformat(entry.ts)
    lease_id = str(details.get("lease_id") or "")
    lease = ctx.leases.get(lease_id)
    user_id = lease[0] if lease else None
    user = ctx.users_by_id.get(user_id) if user_id is not None else ctx.users_by_ref.get(details.get("_agent_ref", ""))
    display = ctx.displays.get((user_id, str(details.get("event_id")))) if user_id is not None else None
    session_id = details.get("session_id") or (display[0] if display else None)
    if lease is not None:
        if session_id:
            last_session[lease_id] = str(session_id)
        else:  # an outcome or expiry: the session that last held the lease
            session_id = last_session.get(lease_id) or lease[1]
    device, address, device_name = ctx.sessions.get(str(session_id), (None, None, None))
    extras = {name: details[k] for k, name in _EXTRA_DETAILS.items() if details.get(k) is not None}
    if device_name is not None:
        extras["device_name"] = device_name
    return TimelineEvent(
        at=display[1] if display else recorded,
        action=entry.action,
        agent=user.login if user else None,
        outsourcer=user.outsourcer if user else None,
        device=device,
        address=address or None,
        actor=entry.actor,
        recorded_at=recorded,
        seq=entry.seq,
        details=extras,
    )


def _contacts(session: Session, contact_ids: Sequence[int]) -> list[tuple[int, str, str, datetime | None]]:
    """(id, ref, campaign name, when its number was put on the DNC list) of each contact, in id order."""
    found: list[tuple[int, str, str, datetime | None]] = []
    for ids in _chunks(contact_ids):
        stmt = (
            select(Contact.id, Contact.ref, Campaign.name, Suppression.created_at)
            .join(Campaign, col(Campaign.id) == col(Contact.campaign_id))
            .outerjoin(Suppression, col(Suppression.phone_bidx) == col(Contact.phone_bidx))
            .where(col(Contact.id).in_(ids))
        )
        found.extend((cid, ref, name, listed) for cid, ref, name, listed in session.exec(stmt).all() if cid is not None)
    return sorted(found, key=lambda c: c[0])


def _dnc_event(listed: datetime) -> TimelineEvent:
    """The ``dnc_listed`` fact (from the ``suppression`` table, not an audit entry)."""
    return TimelineEvent(listed, "dnc_listed", None, None, None, None, "system:dnc", listed, 0)


def _histories(session: Session, contact_ids: Sequence[int]) -> tuple[ContactHistory, ...]:
    contacts = _contacts(session, contact_ids)
    entries: list[AuditEntry] = []
    for refs in _chunks(ref for _, ref, _, _ in contacts):
        stmt = select(AuditEntry).where(col(AuditEntry.object_id).in_(refs), AuditEntry.object_type == "contact")
        entries.extend(session.exec(stmt).all())
    entries.sort(key=lambda e: e.seq)
    parsed = [_parse(e) for e in entries]
    ctx = _load_context(session, [cid for cid, _, _, _ in contacts], parsed)
    by_ref: dict[str, list[TimelineEvent]] = {ref: [] for _, ref, _, _ in contacts}
    last_session: dict[str, str] = {}
    for entry, details in zip(entries, parsed, strict=True):
        by_ref[entry.object_id].append(_event(entry, details, ctx, last_session))
    for _, ref, _, listed in contacts:
        if listed is not None:
            by_ref[ref].append(_dnc_event(listed))
    return tuple(
        ContactHistory(ref, campaign, tuple(sorted(by_ref[ref], key=lambda e: (e.at, e.seq))))
        for _, ref, campaign, _ in contacts
    )


def lookup(
    session: Session,
    *,
    contact_ids: Sequence[int],
    by: LookupKind,
    actor: str,
    campaign_id: int | None = None,
) -> LookupResult:
    """Every matched contact's history, audited as a ``lookup`` in the caller's transaction.

    Args:
        session: A transaction (the audit entry is written in it).
        contact_ids: The matched contacts (from
            :func:`owner_server.lists.matching.match_contacts`); may be empty.
        by: What was looked up by (recorded; the value looked up never is).
        actor: Who looks up, e.g. ``admin:cli``.
        campaign_id: The campaign the lookup was limited to, if any (recorded).

    Returns:
        The contacts in id order, each with its events in time order.
    """
    histories = _histories(session, sorted(set(contact_ids)))
    refs = [h.contact_ref for h in histories]
    audit.append(
        session,
        actor=actor,
        action="lookup",
        object_type="lookup",
        object_id=by.value,
        details={
            "by": by.value,
            "matched": len(refs),
            "campaign_id": campaign_id,
            "contacts": ",".join(refs[:_AUDITED_REFS]),
        },
    )
    return LookupResult(by, histories)
