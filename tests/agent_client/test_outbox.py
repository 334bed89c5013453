import base64
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import keyring.backends.fail
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ValidationError

from agent_client.credentials import MemoryKeyring
from agent_client.errors import CredentialStoreUnavailable
from agent_client.outbox import Outbox, OutboxKey, PendingOutcome, outbox_path
from agent_client.outcome import OutcomeDraft
from shared.limits import LIMITS
from shared.protocol import BlockedAction, DisplayEventKind, NoCallReason
from shared.strategy import CallbackFor

SHOWN, HIDDEN = DisplayEventKind.RECORD_DISPLAYED, DisplayEventKind.RECORD_HIDDEN
NOTE = "Pani Zofia Wiśniewska prosi o telefon po 18, numer 601 234 567"
URL = "https://custos.test:8443"


@pytest.fixture
def key():
    return AESGCM.generate_key(bit_length=256)


@pytest.fixture
def path(tmp_path):
    return outbox_path(tmp_path / "profile", URL)


def opened(path, key, session="s1", agent="agent-1"):
    box = Outbox(path, key=key, clock=lambda: datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    box.begin_session(agent_id=agent, session_id=session)
    return box


def drain(box):
    """Everything next_upload hands out, acknowledging as the service does."""
    out = []
    while (item := box.next_upload(batch=LIMITS.max_event_batch)) is not None:
        ids = [item.request.outcome_id] if isinstance(item, PendingOutcome) else [e.event_id for e in item]
        out.append(item)
        box.delete(ids)
    return out


def test_one_sequence_for_events_and_outcomes_and_oldest_first(path, key):
    box = opened(path, key)
    box.add_event(SHOWN, "l1")
    box.add_event(HIDDEN, "l1", duration_ms=900)
    box.add_outcome(OutcomeDraft(lease_id="l1", code="sale"))
    box.add_event(SHOWN, "l2")
    assert box.counts() == (1, 3)
    first, second, third = drain(box)
    assert [(e.kind, e.session_seq) for e in first] == [(SHOWN, 0), (HIDDEN, 1)]
    assert isinstance(second, PendingOutcome) and second.request.session_seq == 2
    assert [(e.lease_id, e.session_seq) for e in third] == [("l2", 3)]
    assert box.counts() == (0, 0)


def test_numbering_restarts_per_session_and_continues_after_reopening(path, key):
    box = opened(path, key)
    assert [box.add_event(SHOWN, "l1").session_seq for _ in range(3)] == [0, 1, 2]
    box.close()
    again = opened(path, key)  # the same session after a reopen
    assert again.add_event(SHOWN, "l1").session_seq == 3
    again.begin_session(agent_id="agent-1", session_id="s2")
    assert again.add_event(SHOWN, "l1").session_seq == 0


def test_items_of_an_earlier_session_name_it_and_keep_their_numbers(path, key):
    box = opened(path, key, session="s1")
    box.add_event(SHOWN, "l1")
    box.add_outcome(OutcomeDraft(lease_id="l1", code="sale"))
    box.close()
    later = opened(path, key, session="s2")
    later.add_event(SHOWN, "l2")
    events, outcome, current = drain(later)
    assert [(e.session_id, e.session_seq) for e in events] == [("s1", 0)]
    assert (outcome.request.session_id, outcome.request.session_seq) == ("s1", 1)
    assert [(e.session_id, e.session_seq) for e in current] == [(None, 0)]


def test_an_outcome_keeps_everything_the_agent_chose(path, key):
    box = opened(path, key)
    when = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    draft = OutcomeDraft(
        lease_id="l1",
        code="callback",
        notes=NOTE,
        callback_at=when,
        callback_for=CallbackFor.ME,
        call_id="call-7",
        no_call_reason=NoCallReason.OTHER,
    )
    made = box.add_outcome(draft)
    box.mark_sent(made.outcome_id)
    box.close()
    (pending,) = drain(opened(path, key))
    assert pending.sent_before
    assert pending.request == made
    assert (pending.request.notes, pending.request.callback_at, pending.request.callback_for) == (NOTE, when, "me")


def test_no_record_value_or_note_text_on_disk(path, key):
    box = opened(path, key)
    box.add_event(SHOWN, "l1")
    box.add_event(DisplayEventKind.ACTION_BLOCKED, "l1", detail=BlockedAction.COPY)
    box.add_outcome(OutcomeDraft(lease_id="l1", code="callback", notes=NOTE))
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert path in files and any(p.name.endswith("-wal") for p in files)  # WAL: the commit is in the log
    raw = b"".join(p.read_bytes() for p in files)
    for secret in ("Zofia", "Wiśniewska", "601", "234 567", "telefon"):
        assert secret.encode() not in raw
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


def test_a_note_only_decrypts_with_its_key_and_its_row(path, key):
    box = opened(path, key)
    box.add_outcome(OutcomeDraft(lease_id="l1", code="sale", notes=NOTE))
    box.close()
    (other_key,) = drain(opened(path, AESGCM.generate_key(bit_length=256)))
    assert other_key.request.notes is None  # the outcome still goes, without a note it cannot read
    box = opened(path, key)
    first = box.add_outcome(OutcomeDraft(lease_id="l1", code="sale", notes="one"))
    second = box.add_outcome(OutcomeDraft(lease_id="l2", code="sale", notes="two"))
    box._db.execute(  # noqa: SLF001 - swap the ciphertexts of two rows, as an attacker with the file could
        "UPDATE item SET notes = (SELECT notes FROM item WHERE item_id = ?) WHERE item_id = ?",
        (second.outcome_id, first.outcome_id),
    )
    assert [o.request.notes for o in drain(box)] == [None, "two"]


def test_a_refused_outcome_is_not_stored(path, key):
    box = opened(path, key)
    with pytest.raises(ValidationError):
        box.add_outcome(OutcomeDraft(lease_id="l1", code="sale", notes="x" * (LIMITS.max_notes_chars + 1)))
    assert box.counts() == (0, 0)


def test_only_the_agent_logged_in_gets_its_items(path, key):
    box = opened(path, key, agent="agent-1")
    box.add_outcome(OutcomeDraft(lease_id="l1", code="sale"))
    box.begin_session(agent_id="agent-2", session_id="s9")
    assert box.counts() == (0, 0)
    assert box.next_upload(batch=10) is None


def test_batches_stop_at_the_limit(path, key):
    box = opened(path, key)
    for _ in range(5):
        box.add_event(SHOWN, "l1")
    assert len(box.next_upload(batch=2)) == 2


def test_the_key_is_made_once_and_kept_in_the_keyring():
    backend = MemoryKeyring()
    first = OutboxKey(URL, backend).load_or_create()
    assert len(first) == 32
    assert OutboxKey(URL, backend).load_or_create() == first
    assert OutboxKey("https://other.test", backend).load_or_create() != first


def test_no_keyring_no_outbox_key():
    with pytest.raises(CredentialStoreUnavailable):
        OutboxKey(URL, keyring.backends.fail.Keyring())


CRASHER = textwrap.dedent(
    """
    import os, sys, base64
    from agent_client.outbox import Outbox
    from agent_client.outcome import OutcomeDraft
    box = Outbox(sys.argv[1], key=base64.b64decode(sys.argv[2]))
    box.begin_session(agent_id="agent-1", session_id="s1")
    made = box.add_outcome(OutcomeDraft(lease_id="l1", code="sale", notes="note"))
    print(made.outcome_id, flush=True)
    sys.stdin.read()  # killed here, with the file open and nothing closed
    """
)


def test_an_outcome_survives_kill_9_right_after_it_was_stored(path, key):
    path.parent.mkdir(parents=True)
    with subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(path), base64.b64encode(key).decode()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        outcome_id = proc.stdout.readline().strip()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    (pending,) = drain(opened(path, key))
    assert (pending.request.outcome_id, pending.request.notes, pending.request.session_seq) == (outcome_id, "note", 0)
    assert pending.request.occurred_at > datetime.now(UTC) - timedelta(minutes=5)
