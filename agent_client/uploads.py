"""Uploads what the outbox holds, oldest first, one request at a time; the GUI thread drives it.

Outcomes go one by one (marked sent, durably, before each try), display
events in batches up to the next outcome. What an answer means for the items
is :func:`agent_client.reporter.verdict`'s call; acknowledged or refused-for-good
items are deleted, the rest retried with back-off or kept for the next login.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from agent_client.api import AgentApi
from agent_client.errors import ClientError
from agent_client.jobs import JobRunner
from agent_client.messages import error_message, user_message
from agent_client.outbox import Outbox, PendingOutcome
from agent_client.reporter import Backoff, Verdict, verdict
from shared.limits import LIMITS
from shared.protocol import DisplayEvent, DispositionResponse, EventBatchResult

__all__ = ["Uploader"]

log = logging.getLogger(__name__)


class Uploader(QObject):
    """Sends the outbox's items and deletes them once acknowledged.

    Args:
        api: The API client.
        outbox: The outbox.
        jobs: Where calls run.
        retry_delays_ms: Back-off between failed uploads.
        parent: Qt parent.

    Signals:
        disposition_recorded(DispositionResponse), record_withdrawn(str, str),
        events_delivered(int), reporting_failed(str, str), pending_changed(int, int),
        failed(str, str): As :class:`agent_client.service.AgentService` documents them.
    """

    disposition_recorded = Signal(object)
    record_withdrawn = Signal(str, str)
    events_delivered = Signal(int)
    reporting_failed = Signal(str, str)
    pending_changed = Signal(int, int)
    failed = Signal(str, str)

    def __init__(
        self, api: AgentApi, outbox: Outbox, jobs: JobRunner, *, retry_delays_ms: Sequence[int], parent: QObject | None
    ) -> None:
        super().__init__(parent)
        self._api = api
        self._outbox = outbox
        self._jobs = jobs
        self._backoff = Backoff(retry_delays_ms)
        self._uploading = False
        self._retry_timer = QTimer(self)
        self._retry_timer.setSingleShot(True)
        self._retry_timer.timeout.connect(self.flush)

    def stop(self) -> None:
        """No retry until asked again (logout, shutdown)."""
        self._retry_timer.stop()

    def reset(self) -> None:
        """A new session: retry at once, from the shortest delay."""
        self._backoff.succeeded()

    @Slot()
    def flush(self) -> None:
        """Upload the oldest waiting outcome or batch of events, if nothing is out already."""
        if not self._api.logged_in or self._uploading:
            return
        item = self._outbox.next_upload(batch=LIMITS.max_event_batch)
        if item is None:
            return
        self._retry_timer.stop()
        self._uploading = True
        if isinstance(item, PendingOutcome):
            request = item.request
            self._outbox.mark_sent(str(request.outcome_id))
            self._jobs.submit(
                lambda: self._api.dispose(request),
                lambda response: self._on_outcome_sent(item, response),
                lambda exc: self._on_outcome_failed(item, exc),
            )
        else:
            events = item
            self._jobs.submit(
                lambda: self._api.send_events(events),
                lambda result: self._on_events_sent(events, result),
                lambda exc: self._on_events_failed(events, exc),
            )

    def _emit_pending(self) -> None:
        self.pending_changed.emit(*self._outbox.counts())

    def _uploaded(self) -> None:
        self._uploading = False
        self._backoff.succeeded()
        self._emit_pending()
        self.flush()

    def _on_outcome_sent(self, item: PendingOutcome, response: DispositionResponse) -> None:
        self._outbox.delete([str(item.request.outcome_id)])
        log.info("outcome acknowledged")
        self.disposition_recorded.emit(response)
        self._uploaded()

    def _on_outcome_failed(self, item: PendingOutcome, exc: ClientError) -> None:
        judged = verdict(exc)
        if judged is Verdict.GONE and item.sent_before:
            # an earlier attempt may have been stored (its answer lost) or the lease was withdrawn meanwhile
            log.warning("outcome sent before answered no_lease: delivered earlier or withdrawn; dropped")
            self._outbox.delete([str(item.request.outcome_id)])
        elif judged is Verdict.GONE:
            log.info("the outcome's lease is gone (withdrawn or expired)")
            self._outbox.delete([str(item.request.outcome_id)])
            self.record_withdrawn.emit(item.request.lease_id, error_message(exc))
        elif judged is Verdict.REFUSED:
            log.warning("outcome refused for good (%s); dropped", exc.code)
            self._outbox.delete([str(item.request.outcome_id)])
            self.failed.emit(str(exc.code), error_message(exc))
        else:
            self._upload_failed(exc, judged)
            return
        self._uploaded()

    def _on_events_sent(self, events: tuple[DisplayEvent, ...], result: EventBatchResult) -> None:
        self._outbox.delete([e.event_id for e in events])
        log.info("display events acknowledged: %d (%d new)", len(events), result.accepted)
        self.events_delivered.emit(len(events))
        self._uploaded()

    def _on_events_failed(self, events: tuple[DisplayEvent, ...], exc: ClientError) -> None:
        judged = verdict(exc)
        if judged in (Verdict.REFUSED, Verdict.GONE):
            log.warning("display events refused for good (%s); dropped %d", exc.code, len(events))
            self._outbox.delete([e.event_id for e in events])
            self._uploaded()
            return
        self._upload_failed(exc, judged)

    def _upload_failed(self, exc: ClientError, judged: Verdict) -> None:
        self._uploading = False
        self._emit_pending()
        if judged is Verdict.RETRY:
            delay = self._backoff.failed()
            log.warning("upload failed (%s); retry in %d ms", exc.code, delay)
            self._retry_timer.start(delay)
        else:
            log.warning("upload failed (%s); kept for the next login", exc.code)
        self.reporting_failed.emit(str(exc.code), user_message("reporting"))
