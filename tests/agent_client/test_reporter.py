from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from agent_client.reporter import EventQueue
from shared.protocol import BlockedAction, DisplayEventKind

SHOWN = DisplayEventKind.RECORD_DISPLAYED
HIDDEN = DisplayEventKind.RECORD_HIDDEN


def make_queue(batch_size=2):
    return EventQueue(batch_size=batch_size, clock=lambda: datetime(2024, 5, 1, tzinfo=UTC))


def test_events_are_numbered_per_session():
    queue = make_queue()
    assert [queue.add(SHOWN, "l1").session_seq for _ in range(3)] == [0, 1, 2]
    queue.new_session()
    assert queue.add(HIDDEN, "l1", duration_ms=5).session_seq == 0


def test_batches_are_bounded_and_one_at_a_time():
    queue = make_queue(batch_size=2)
    for _ in range(3):
        queue.add(SHOWN, "l1")
    first = queue.take_batch()
    assert len(first) == 2
    assert queue.take_batch() == ()
    assert queue.acknowledge() == 2
    assert len(queue.take_batch()) == 1


def test_rejected_batch_is_retried_first_in_order():
    queue = make_queue(batch_size=2)
    events = [queue.add(SHOWN, "l1") for _ in range(3)]
    queue.take_batch()
    queue.reject()
    assert queue.failures == 1
    assert len(queue) == 3
    assert queue.take_batch() == tuple(events[:2])
    queue.acknowledge()
    assert queue.failures == 0


def test_event_ids_are_unique():
    queue = make_queue()
    assert queue.add(SHOWN, "l1").event_id != queue.add(SHOWN, "l1").event_id


def test_new_kinds_share_the_numbering_and_blocked_actions_carry_their_detail():
    queue = make_queue()
    queue.add(SHOWN, "l1")
    lost = queue.add(DisplayEventKind.FOCUS_LOST, "l1")
    blocked = queue.add(DisplayEventKind.ACTION_BLOCKED, "l1", detail=BlockedAction.COPY)
    assert (lost.session_seq, lost.detail) == (1, None)
    assert (blocked.session_seq, blocked.detail) == (2, BlockedAction.COPY)


@pytest.mark.parametrize(("kind", "detail"), [(DisplayEventKind.ACTION_BLOCKED, None), (SHOWN, BlockedAction.COPY)])
def test_detail_must_match_the_kind(kind, detail):
    queue = make_queue()
    with pytest.raises(ValidationError):
        queue.add(kind, "l1", detail=detail)
    assert len(queue) == 0
