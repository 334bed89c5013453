"""The orphan check: finishing ARI calls whose events nobody receives (their server process died).

A call's events reach only the process that placed it (its own Stasis
application, :mod:`owner_server.telephony.ari`). When that process dies,
Asterisk keeps the call's channels (a channel stays in Stasis when its
application's WebSocket goes away) but sends their events to no one. Every
process therefore looks, every ``orphan_check_s`` seconds, at the live ARI
calls in the database and at the channels Asterisk has (one ``GET
/channels``), and acts when the same finding holds at two checks at least
``orphan_check_s`` apart (a process that follows the call acts on the event
within milliseconds, so it is never raced):

* neither leg exists: the call is over; it is stored ended (``completed``
  when the customer had answered, ``cancelled`` when the agent had asked to
  hang up, else ``failed``), audited ``call_ended`` once (the row lock);
* the customer's leg exists and the agent's does not: the customer's leg is
  hung up (the follower would have done it), and the call ends at a later check;
* the agent's leg exists, the customer's leg was placed and is gone: the
  agent's leg is hung up.

Nothing here holds or logs a number: channel ids are ``<call id>-agent`` /
``<call id>-customer``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from owner_server.models import Call
from owner_server.models._common import utcnow
from owner_server.telephony.provider import CallUpdate, Sink, TelephonyUnavailableError
from owner_server.telephony.store import LIVE_STATES
from owner_server.telephony.worker import WorkerThread
from shared.calls import CallResult, CallState

__all__ = ["Finding", "OrphanCheck", "finding"]

log = logging.getLogger("custos.telephony")


class Finding(Enum):
    """What one check found about a live call."""

    FINE = "fine"
    OVER = "over"  # neither leg exists
    CUSTOMER_ALONE = "customer_alone"
    AGENT_ALONE = "agent_alone"


class _Legs(Protocol):
    def channel_ids(self) -> set[str]: ...

    def hangup_leg(self, channel_id: str) -> None: ...

    def drop(self, call_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _Seen:
    finding: Finding
    at: float  # time.monotonic() of the first check that found it


def finding(call: Call, channels: set[str]) -> Finding:
    """Classify a live call by which of its legs Asterisk still has.

    Args:
        call: A live ARI call.
        channels: Every channel id Asterisk has now.
    """
    agent = f"{call.id}-agent" in channels
    customer = f"{call.id}-customer" in channels
    if not agent and not customer:
        return Finding.OVER
    if customer and not agent:
        return Finding.CUSTOMER_ALONE
    if agent and not customer and call.customer_channel:
        return Finding.AGENT_ALONE
    return Finding.FINE


def _result(call: Call) -> CallResult:
    if call.answered_at is not None:
        return CallResult.COMPLETED
    if call.hangup_requested_at is not None:
        return CallResult.CANCELLED
    return CallResult.FAILED


class OrphanCheck:
    """Runs the check on a worker thread of one server process.

    Args:
        engine: The server's engine.
        legs: The ARI provider (channel list, hang up one leg, stop following a call).
        sink: Where an orphan's end is stored (:meth:`Telephony.store`).
        interval_s: Seconds between checks; a finding is acted on when it held this long.
    """

    def __init__(self, engine: Engine, legs: _Legs, sink: Sink, *, interval_s: float) -> None:
        self._engine = engine
        self._legs = legs
        self._sink = sink
        self.interval_s = interval_s
        self._seen: dict[str, _Seen] = {}
        self._worker = WorkerThread(self._run, name="telephony-orphans")

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        self._worker.start()

    def stop(self) -> None:
        """End the worker thread."""
        self._worker.stop()

    def _run(self) -> None:
        while not self._worker.stopping.wait(self.interval_s):
            try:
                self.check_once()
            except Exception:  # the thread must outlive one bad check; the log holds no number
                log.exception("the orphan check of ARI calls failed")

    def _live_calls(self) -> list[Call]:
        young = utcnow() - timedelta(seconds=self.interval_s)
        with Session(self._engine, expire_on_commit=False) as session:
            query = select(Call).where(
                Call.provider == "ari", col(Call.state).in_(LIVE_STATES), col(Call.created_at) < young
            )
            return list(session.exec(query).all())

    def check_once(self, now: float | None = None) -> int:
        """One check; returns how many calls it acted on (ended or hung up a leg of)."""
        now = time.monotonic() if now is None else now
        calls = self._live_calls()
        if not calls:
            self._seen.clear()
            return 0
        try:
            channels = self._legs.channel_ids()
        except TelephonyUnavailableError:
            return 0  # nothing known: try again next time
        acted, seen = 0, {}
        for call in calls:
            found = finding(call, channels)
            if found is Finding.FINE:
                continue
            before = self._seen.get(call.id)
            if before is None or before.finding is not found:
                seen[call.id] = _Seen(found, now)
                continue
            seen[call.id] = before
            if now - before.at < self.interval_s * 0.9:
                continue
            acted += 1
            self._act(call, found)
        self._seen = seen
        return acted

    def _act(self, call: Call, found: Finding) -> None:
        if found is Finding.OVER:
            log.warning("call %s: no process followed its end; ended by the orphan check", call.id)
            self._legs.drop(call.id)
            self._sink(CallUpdate(call_id=call.id, state=CallState.ENDED, result=_result(call)))
        elif found is Finding.CUSTOMER_ALONE:
            log.warning("call %s: the customer's leg was left alone; hung up by the orphan check", call.id)
            self._legs.hangup_leg(f"{call.id}-customer")
        else:
            log.warning("call %s: the agent's leg was left alone; hung up by the orphan check", call.id)
            self._legs.hangup_leg(f"{call.id}-agent")
