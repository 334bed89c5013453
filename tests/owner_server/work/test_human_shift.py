"""A human-paced agent works a whole shift under the default limits and rules and is never stopped."""

from sqlmodel import Session, select

from owner_server.models import Alert, AuditEntry
from shared.protocol import DisplayEventKind

from .containment_support import make_shift, policy

SHIFT_S = 8 * 3600
PACE_S = 70


def test_one_record_every_70_seconds_for_a_shift_is_never_limited_or_flagged(any_installation):
    shift = make_shift(any_installation, policy(), contacts=SHIFT_S // PACE_S + 10)
    end = shift.now.timestamp() + SHIFT_S
    quotas = []
    while shift.now.timestamp() + PACE_S <= end:
        result = shift.next()
        assert result.record is not None
        quotas.append(result.quota)
        lease_id = result.record.lease_id
        kinds = [DisplayEventKind.RECORD_DISPLAYED]
        if len(quotas) % 7 == 0:  # now and then the agent looks at another window
            kinds += [DisplayEventKind.FOCUS_LOST, DisplayEventKind.FOCUS_REGAINED]
        shift.events(lease_id, *kinds)
        shift.tick(PACE_S - 12)
        shift.events(lease_id, DisplayEventKind.RECORD_HIDDEN)
        shift.dispose(lease_id, "sale" if len(quotas) % 5 == 0 else "no_answer")
        shift.tick(12)
    assert len(quotas) == SHIFT_S // PACE_S  # 411 records
    assert max(q.issued_hour for q in quotas) <= 52 and quotas[-1].issued_day == len(quotas)
    assert not shift.user().suspended
    with Session(any_installation.engine) as session:
        assert session.exec(select(Alert)).all() == []
        actions = {e.action for e in session.exec(select(AuditEntry))}
    assert "agent_suspended" not in actions and "alert_raised" not in actions
