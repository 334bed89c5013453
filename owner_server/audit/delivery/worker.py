"""The delivery worker the running server starts: one thread per configured channel.

Every ``poll_seconds`` (default 5) each thread queues the recent alerts its
channel has not had, claims the due deliveries, sends them outside any
transaction and records the outcome (see :mod:`.queue` for the guarantees with
several server processes). A failed send is retried with exponential back-off
capped at 5 minutes, for as long as the server runs: nothing is dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from owner_server.audit.delivery import queue
from owner_server.audit.delivery.errors import safe_reason
from owner_server.audit.delivery.mail import EmailSender
from owner_server.audit.delivery.message import AlertMessage, load_message
from owner_server.audit.delivery.syslog import SyslogSender
from owner_server.audit.delivery.webhook import WebhookSender
from owner_server.core.alert_settings import AlertSettings
from owner_server.core.db import session_scope
from owner_server.models._common import utcnow

__all__ = ["Channel", "DeliveryWorker", "RoundResult", "build_channels"]

log = logging.getLogger("custos.alerts")
#: Deliveries claimed per round; a full batch is followed at once by another round.
BATCH = 20
#: Failures in a row after which the rest of a round is given back untried (the channel looks down).
GIVE_UP_AFTER = 3


class Channel(Protocol):
    """A way to tell the owner: ``send`` delivers one alert or raises."""

    name: str

    def send(self, message: AlertMessage) -> None:
        """Deliver one alert; raise on any failure."""


def build_channels(settings: AlertSettings) -> list[Channel]:
    """The senders of the configured channels (an empty list when none is)."""
    channels: list[Channel] = []
    if settings.email is not None:
        channels.append(EmailSender(settings.email))
    if settings.webhook is not None:
        channels.append(WebhookSender(settings.webhook))
    if settings.syslog is not None:
        channels.append(SyslogSender(settings.syslog))
    return channels


class RoundResult:
    """What one round of one channel did.

    Attributes:
        queued: Alerts newly considered for the channel.
        sent: Deliveries that went out.
        failed: Deliveries that failed and were rescheduled.
    """

    def __init__(self) -> None:
        self.queued = 0
        self.sent = 0
        self.failed = 0


class DeliveryWorker:
    """Sends alerts to every configured channel until stopped.

    Args:
        engine: The installation's database.
        settings: The ``[alerts]`` settings.
        organisation: The owner's name, put in every message.
        channels: The senders (default: built from ``settings``).
        clock: The current time (UTC); tests pass a simulated one.
    """

    def __init__(
        self,
        engine: Engine,
        settings: AlertSettings,
        *,
        organisation: str,
        channels: list[Channel] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.organisation = organisation
        self.channels = build_channels(settings) if channels is None else channels
        self.clock = clock
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def lease(self) -> timedelta:
        """How long a claim keeps other workers off: longer than a whole batch of slow sends can take."""
        longest = max((getattr(getattr(c, "config", None), "timeout_seconds", 10.0) for c in self.channels), default=10)
        return timedelta(seconds=max(120.0, 2 * BATCH * float(longest)))

    def run_once(self, channel: Channel) -> RoundResult:
        """One round for one channel: queue, claim, send, settle.

        Returns:
            The counts of this round.
        """
        result = RoundResult()
        now = self.clock()
        backlog = timedelta(hours=self.settings.backlog_hours)
        with session_scope(self.engine) as session:
            result.queued = queue.enqueue(session, channel=channel.name, now=now, backlog=backlog)
            claims = queue.claim_due(session, channel=channel.name, now=now, lease=self.lease, limit=BATCH)
            messages = {
                c.alert_id: load_message(session, alert_id=c.alert_id, organisation=self.organisation) for c in claims
            }
        started, failures_in_a_row = time.monotonic(), 0
        for index, claim in enumerate(claims):
            message = messages[claim.alert_id]
            try:
                channel.send(message)
            except Exception as exc:  # noqa: BLE001 - any failure is retried; the reason is recorded
                self._failed(claim, message, channel.name, safe_reason(exc))
                result.failed += 1
                failures_in_a_row += 1
            else:
                with session_scope(self.engine) as session:
                    queue.mark_sent(session, claim, now=self.clock())
                result.sent += 1
                failures_in_a_row = 0
            rest = claims[index + 1 :]
            overdue = time.monotonic() - started > self.lease.total_seconds() / 2
            if rest and (failures_in_a_row >= GIVE_UP_AFTER or overdue):
                self._release(rest, wait=queue.backoff(claim.attempt) if failures_in_a_row else timedelta(0))
                break
        return result

    def _failed(self, claim: queue.Claim, message: AlertMessage, channel: str, reason: str) -> None:
        with session_scope(self.engine) as session:
            queue.mark_failed(session, claim, now=self.clock(), reason=reason)
        log.warning("alert %s not delivered by %s (attempt %d): %s", message.ref[:12], channel, claim.attempt, reason)

    def _release(self, claims: list[queue.Claim], *, wait: timedelta) -> None:
        """Give claims back untried (the channel looks down, or the round ran long)."""
        until = self.clock() + wait
        with session_scope(self.engine) as session:
            for claim in claims:
                queue.release(session, claim, until=until)

    def _loop(self, channel: Channel) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_once(channel)
                full = done.sent + done.failed >= BATCH
            except Exception as exc:  # noqa: BLE001 - keep serving; the next round retries
                log.error("alert delivery round for %s failed: %s", channel.name, safe_reason(exc))
                full = False
            if not full:
                self._stop.wait(self.settings.poll_seconds)

    def start(self) -> None:
        """Start one daemon thread per channel (nothing when none is configured)."""
        for channel in self.channels:
            thread = threading.Thread(target=self._loop, args=(channel,), daemon=True, name=f"alerts-{channel.name}")
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads, waiting for a send in progress (up to ``timeout`` seconds each)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
