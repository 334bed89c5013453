"""A campaign, an agent and a simulated clock for driving the work services through a shift."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from owner_server.core.db import session_scope
from owner_server.core.deferred import DeferredError
from owner_server.identity import admin
from owner_server.identity.bearer import principal_for
from owner_server.models import Contact, ContactState, User
from owner_server.work import distribution, outcomes
from shared.policy import CampaignPolicy
from shared.protocol import DisplayEvent, DisplayEventKind, DispositionRequest, EventBatch
from tests.owner_server.helpers import ALWAYS_OPEN

#: Monday 30 November 2026, 08:00 in Warsaw (CET, UTC+1).
SHIFT_START = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
BASE_POLICY: dict[str, Any] = {
    "script": "Hello",
    "fields": {"first_name": "visible", "city": "visible"},
    "dispositions": [{"code": "sale", "label": "Sale"}, {"code": "no_answer", "label": "No answer"}],
    # the shifts start before 09:00; calling windows are tested with their own policies (test_strategy.py)
    "strategy": {"windows": [ALWAYS_OPEN]},
}


def policy(**overrides: Any) -> CampaignPolicy:
    """The base policy with top-level keys replaced (``limits={...}``, ``rules={...}``)."""
    return CampaignPolicy.model_validate(BASE_POLICY | overrides)


def quiet_rules(**rules: Any) -> dict[str, Any]:
    """Every rule off except those given (so a test sees one rule at a time)."""
    names = ("velocity", "short_handling", "hours", "blocked_actions", "focus_loss", "several_sessions", "new_device")
    return {name: {"enabled": False} for name in names} | rules


@dataclass
class Shift:
    """One agent working a campaign on a simulated clock, through the real services and database."""

    inst: Any
    user_id: int
    now: datetime = SHIFT_START
    session_id: str = "session-1"
    seq: int = 0
    leases: list[str] = field(default_factory=list)

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Run a service as one request's transaction does: commit, also before a deferred error."""
        with Session(self.inst.engine, expire_on_commit=False) as session:
            user = session.get(User, self.user_id)
            agent = principal_for(session, user=user, session_id=self.session_id, device_id="device-1")
            try:
                result = fn(session, agent=agent, now=self.now, **kwargs)
                session.commit()
                return result
            except DeferredError as deferred:
                session.commit()
                raise deferred.error from None

    def next(self) -> Any:
        result = self._call(distribution.next_record, keys=self.inst.keys)
        if result.record is not None and result.record.lease_id not in self.leases:
            self.leases.append(result.record.lease_id)
        return result

    def dispose(self, lease_id: str, code: str = "no_answer") -> Any:
        return self._call(
            outcomes.record_disposition, request=DispositionRequest(lease_id=lease_id, code=code), keys=self.inst.keys
        )

    def events(self, lease_id: str, *kinds: DisplayEventKind, detail: Any = None) -> Any:
        batch = []
        for kind in kinds:
            self.seq += 1
            batch.append(
                DisplayEvent(
                    event_id=uuid.uuid4().hex,
                    kind=kind,
                    lease_id=lease_id,
                    occurred_at=self.now,
                    session_seq=self.seq,
                    detail=detail if kind is DisplayEventKind.ACTION_BLOCKED else None,
                    duration_ms=1000 if kind is DisplayEventKind.RECORD_HIDDEN else None,
                )
            )
        return self._call(outcomes.record_events, batch=EventBatch(events=tuple(batch)))

    def claim(self, handle_s: float = 60.0, code: str = "no_answer") -> str:
        """Take a record, show it, work it for ``handle_s`` seconds and record an outcome; returns the lease id."""
        record = self.next().record
        assert record is not None, "no record issued"
        self.events(record.lease_id, DisplayEventKind.RECORD_DISPLAYED)
        self.tick(handle_s)
        self.events(record.lease_id, DisplayEventKind.RECORD_HIDDEN)
        self.dispose(record.lease_id, code)
        return record.lease_id

    def user(self) -> User:
        with Session(self.inst.engine) as session:
            user = session.get(User, self.user_id)
            assert user is not None
            return user


def make_shift(inst: Any, campaign_policy: CampaignPolicy, *, contacts: int = 40, outsourcer: str = "BPO") -> Shift:
    """A campaign with ``contacts`` synthetic contacts and one agent; returns the agent's shift."""
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name=outsourcer, actor="test")
        camp = admin.create_campaign(session, name="Camp", policy=campaign_policy, keys=inst.keys, actor="test")
        key = inst.keys.campaign_key(session, campaign_id=camp.id)
        indexer = inst.keys.indexer(session)
        for n in range(contacts):
            ref = uuid.uuid4().hex
            values = {"first_name": f"Name{n}", "city": "Łódź", "phone": f"+4850{n:07d}"}
            session.add(
                Contact(
                    ref=ref,
                    campaign_id=camp.id,
                    data_key_id=key.data_key_id,
                    payload=key.cipher.encrypt_fields(ref, values),
                    phone_bidx=indexer.phone(values["phone"]),
                    state=ContactState.NEW,
                    source_record=n + 1,
                )
            )
        admin.add_agent(
            session, login="agent1", outsourcer=outsourcer, campaign="Camp", password="correct horse battery", actor="t"
        )
    with Session(inst.engine) as session:
        user = session.exec(select(User).where(User.login == "agent1")).one()
        assert user.id is not None
        return Shift(inst=inst, user_id=user.id)
