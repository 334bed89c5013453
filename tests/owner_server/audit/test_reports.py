"""Per-agent and hourly reports over real histories (made through the agent API), on both databases.

The story's timestamps are moved onto a fixed day so every figure is exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select, update

from owner_server.audit.alerts import raise_alert
from owner_server.audit.reports import Period, agent_report, campaign_progress, hourly_report, parse_period
from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.models import Alert, DisplayEventRow, Disposition, Lease, User
from owner_server.work.suspension import suspend_agent
from shared.containment import RuleAction, RuleName
from shared.errors import NotFoundError, ValidationError

from .histories import build

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return DAY.replace(hour=hh, minute=mm, second=ss)


def _place(inst, h) -> None:
    """A1 issued 10:00:00 → sale 10:00:30; B2 issued 10:05 (expired); C2 11:10; B1 11:20:00 → no_answer 11:21:30."""
    issued = {"A1": at(10, 0), "B2": at(10, 5), "C2": at(11, 10), "B1": at(11, 20)}
    done = {"A1": at(10, 0, 30), "B1": at(11, 21, 30)}
    with Session(inst.engine) as s:
        for key, when in issued.items():
            s.execute(update(Lease).where(col(Lease.id) == h.leases[key]).values(issued_at=when))
        for key, when in done.items():
            s.execute(update(Disposition).where(col(Disposition.lease_id) == h.leases[key]).values(created_at=when))
        s.execute(
            update(DisplayEventRow)
            .where(col(DisplayEventRow.lease_id) == h.leases["A1"])
            .values(occurred_at=at(10, 0, 5))
        )
        agent2 = s.exec(select(User).where(User.login == "agent2")).one()
        alert = raise_alert(s, rule=RuleName.VELOCITY, action=RuleAction.SUSPEND, user=agent2, figures={"n": 31})
        alert.created_at = at(11, 15)
        s.add(alert)
        suspend_agent(s, user=agent2, reason="velocity", actor="system:rules", now=at(11, 15))
        s.commit()


@pytest.fixture
def history(any_installation):
    h = build(any_installation)
    _place(any_installation, h)
    with session_scope(any_installation.engine) as s:  # an idle agent of another outsourcer
        admin.add_outsourcer(s, name="Other BPO", actor="test")
        admin.add_agent(s, login="idle", outsourcer="Other BPO", campaign="Camp", password="x" * 16, actor="test")
    return h


WHOLE_DAY = Period(DAY, DAY + timedelta(days=1))


def _by_login(rows):
    return {r.login: r.as_json() for r in rows}


def test_agent_report_figures_are_exact(any_installation, history):
    with Session(any_installation.engine) as s:
        rows = _by_login(agent_report(s, period=WHOLE_DAY))
    assert rows == {
        "agent1": {
            "login": "agent1",
            "outsourcer": "BPO",
            "issued": 2,
            "displayed": 1,
            "outcomes": {"no_answer": 1, "sale": 1},
            "median_handling_s": 60.0,  # median of 30 s and 90 s
            "blocked": 1,
            "alerts": 0,
            "suspended": False,
        },
        "agent2": {
            "login": "agent2",
            "outsourcer": "BPO",
            "issued": 2,
            "displayed": 0,
            "outcomes": {},
            "median_handling_s": None,
            "blocked": 0,
            "alerts": 1,
            "suspended": True,
        },
        "idle": {
            "login": "idle",
            "outsourcer": "Other BPO",
            "issued": 0,
            "displayed": 0,
            "outcomes": {},
            "median_handling_s": None,
            "blocked": 0,
            "alerts": 0,
            "suspended": False,
        },
    }


def test_period_and_outsourcer_restrict_the_report(any_installation, history):
    with Session(any_installation.engine) as s:
        morning = _by_login(agent_report(s, period=Period(at(10, 0), at(11, 0)), outsourcer="BPO"))
        other_day = _by_login(agent_report(s, period=Period(DAY + timedelta(days=1), DAY + timedelta(days=2))))
        with pytest.raises(NotFoundError):
            agent_report(s, period=WHOLE_DAY, outsourcer="Nobody")
    assert set(morning) == {"agent1", "agent2"}
    assert (morning["agent1"]["issued"], morning["agent1"]["outcomes"]) == (1, {"sale": 1})
    assert morning["agent1"]["median_handling_s"] == 30.0
    assert (morning["agent2"]["issued"], morning["agent2"]["alerts"]) == (1, 0)
    assert all(r["issued"] == r["displayed"] == r["alerts"] == 0 for r in other_day.values())


def test_hourly_report_splits_by_utc_hour(any_installation, history):
    with Session(any_installation.engine) as s:
        rows = [r.as_json() for r in hourly_report(s, period=WHOLE_DAY)]
    slim = [
        (r["hour"], r["login"], r["issued"], r["displayed"], r["outcomes"], r["blocked"], r["alerts"]) for r in rows
    ]
    assert slim == [
        (at(10, 0).isoformat(), "agent1", 1, 1, {"sale": 1}, 1, 0),
        (at(10, 0).isoformat(), "agent2", 1, 0, {}, 0, 0),
        (at(11, 0).isoformat(), "agent1", 1, 0, {"no_answer": 1}, 0, 0),
        (at(11, 0).isoformat(), "agent2", 1, 0, {}, 0, 1),
    ]
    assert rows[0]["median_handling_s"] == 30.0 and rows[2]["median_handling_s"] == 90.0


def test_campaign_progress_leaves_canaries_out(any_installation, history):
    with Session(any_installation.engine) as s:
        [progress] = campaign_progress(s)
        with pytest.raises(NotFoundError):
            campaign_progress(s, campaign="Nope")
    # A sold (done), B no answer (new again: a retry after its delay); C (the canary,
    # its lease withdrawn at suspension) is not counted
    assert (progress.campaign, progress.total, progress.states) == ("Camp", 2, {"done": 1, "new": 1})


def test_the_report_reads_no_audit_entry_per_row(any_installation, history):
    """The figures come from the work tables: the audit log can be emptied without changing them."""
    with Session(any_installation.engine) as s:
        before = _by_login(agent_report(s, period=WHOLE_DAY))
        alerts = s.exec(select(Alert)).all()
        assert len(alerts) == 1
    from owner_server.models import AuditEntry

    with Session(any_installation.engine) as s:
        s.execute(AuditEntry.__table__.delete())  # type: ignore[attr-defined]
        s.commit()
        assert _by_login(agent_report(s, period=WHOLE_DAY)) == before


WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until", "tz", "expected"),
    [
        (None, None, UTC, (DAY, DAY + timedelta(days=1))),
        (None, None, WARSAW, (DAY - timedelta(hours=1), DAY + timedelta(hours=23))),
        ("2026-03-01", "2026-03-01", UTC, (DAY - timedelta(days=1), DAY)),
        ("2026-03-02T10:00", "2026-03-02T11:30", UTC, (at(10, 0), at(11, 30))),
        ("2026-03-02T10:00", None, WARSAW, (at(9, 0), DAY + timedelta(hours=23))),
        ("2026-03-02T10:00+02:00", "2026-03-03", UTC, (at(8, 0), DAY + timedelta(days=2))),
    ],
)
def test_parse_period(since, until, tz, expected):
    period = parse_period(since=since, until=until, tz=tz, now=NOW)
    assert (period.since, period.until) == expected
    assert period.since.tzinfo is UTC and period.until.tzinfo is UTC


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("yesterday", None),
        ("2026-13-01", None),
        (None, "soon"),
        ("2026-03-03", "2026-03-02"),
        ("2026-03-02", "2026-03-01"),
    ],
)
def test_parse_period_refuses_bad_input(since, until):
    with pytest.raises(ValidationError):
        parse_period(since=since, until=until, tz=UTC, now=NOW)
