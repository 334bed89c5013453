"""Live figures (who works now, records in the last hour, one agent's hours) and the scoped agent and alert queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from owner_server.audit.alerts import count_open_alerts, find_alert, get_alert_view, list_alerts, raise_alert
from owner_server.audit.live import agent_hourly_issued, live_figures, working_user_ids
from owner_server.audit.reports import Period, campaign_progress
from owner_server.console.activity_charts import histogram_bins, top_agents_chart
from owner_server.core.db import session_scope
from owner_server.identity import admin, agents
from owner_server.models import (
    AccessToken,
    AuditEntry,
    Contact,
    ContactState,
    Device,
    EnrolmentCode,
    ImportBatch,
    Lease,
    User,
)
from shared.containment import RuleAction, RuleName
from shared.errors import NotFoundError
from tests.owner_server.helpers import seed

NOW = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)


@pytest.fixture
def team(installation) -> dict[str, int]:
    """BPO: holder (open lease), online (live token), idle (expired token, old lease), gone (suspended); Other: far."""
    seed(installation, agents=("holder", "online", "idle", "gone"))
    with session_scope(installation.engine) as session:
        admin.add_outsourcer(session, name="Other", actor="test")
        admin.add_agent(session, login="far", outsourcer="Other", campaign="Camp", password=None, actor="test")
        ids = {u.login: u.id for u in session.exec(select(User)).all()}
        contacts = [c.id for c in session.exec(select(Contact)).all()]
        for login in ids:
            session.add(Device(id=f"dev-{login}", user_id=ids[login], public_key=b"k", name="pc"))
        session.flush()

        def lease(login: str, issued: datetime, *, open_: bool = False) -> None:
            closed = None if open_ else issued + timedelta(minutes=1)
            session.add(
                Lease(
                    user_id=ids[login],
                    contact_id=contacts[0],
                    campaign_id=1,
                    issued_at=issued,
                    expires_at=issued + timedelta(minutes=30),
                    closed_at=closed,
                )
            )

        def token(login: str, expires: datetime, *, revoked: bool = False) -> None:
            session.add(
                AccessToken(
                    token_hash=f"{login}{expires.isoformat()}",
                    user_id=ids[login],
                    device_id=f"dev-{login}",
                    expires_at=expires,
                    revoked=revoked,
                )
            )

        lease("holder", NOW - timedelta(minutes=5), open_=True)
        lease("holder", NOW - timedelta(minutes=20))
        lease("holder", NOW - timedelta(minutes=61))  # outside the last hour
        lease("idle", NOW - timedelta(hours=3))
        lease("far", NOW - timedelta(minutes=10))
        lease("far", NOW - timedelta(minutes=50), open_=True)  # expired by now: not holding
        token("online", NOW + timedelta(minutes=10))
        token("idle", NOW - timedelta(minutes=1))
        token("gone", NOW + timedelta(minutes=10), revoked=True)
        token("far", NOW + timedelta(minutes=5))
        session.exec(select(User).where(User.login == "gone")).one().suspended = True
    return {k: v for k, v in ids.items() if v is not None}


def test_working_now_is_an_open_lease_or_a_live_token(installation, team) -> None:
    with Session(installation.engine) as session:
        working, holding = working_user_ids(session, now=NOW)
        assert working == {team["holder"], team["online"], team["far"]} and holding == {team["holder"]}
        bpo = session.exec(select(User.outsourcer_id).where(User.login == "holder")).one()
        working, _ = working_user_ids(session, now=NOW, outsourcer_id=bpo)
        assert team["far"] not in working


def test_live_figures_per_organisation_and_the_last_hour(installation, team) -> None:
    with Session(installation.engine) as session:
        figures = live_figures(session, now=NOW)
        rows = {(o.outsourcer, o.agents, o.working, o.holding, o.suspended) for o in figures.organisations}
        assert rows == {("BPO", 4, 2, 1, 1), ("Other", 1, 1, 0, 0)}
        assert figures.issued == {"holder": 2, "far": 2}
        assert figures.idle == 1  # online: working, nothing issued
        bpo = session.exec(select(User.outsourcer_id).where(User.login == "holder")).one()
        mine = live_figures(session, now=NOW, outsourcer_id=bpo)
        assert [o.outsourcer for o in mine.organisations] == ["BPO"] and mine.issued == {"holder": 2}


def test_one_agents_hours_list_every_hour(installation, team) -> None:
    with Session(installation.engine) as session:
        end = NOW.replace(minute=0) + timedelta(hours=1)
        hours = agent_hourly_issued(session, user_id=team["holder"], period=Period(end - timedelta(hours=24), end))
    assert len(hours) == 24 and hours[-1] == (NOW.replace(minute=0), 2) and hours[-2][1] == 1
    assert sum(n for _, n in hours) == 3


def test_agent_filters_and_scope(installation, team) -> None:
    with Session(installation.engine) as session:
        logins = lambda **kw: [a.login for a in agents.list_agents(session, now=NOW, **kw)]  # noqa: E731
        assert logins(status=agents.AgentStatus.WORKING) == ["far", "holder", "online"]
        assert logins(status=agents.AgentStatus.SUSPENDED) == ["gone"]
        assert logins(login_contains="OL") == ["holder"]
        assert logins(login_contains="%") == []
        bpo = session.exec(select(User.outsourcer_id).where(User.login == "holder")).one()
        assert "far" not in logins(outsourcer_id=bpo)
        with pytest.raises(NotFoundError):
            agents.get_agent(session, login="far", outsourcer_id=bpo)
        with pytest.raises(NotFoundError):
            agents.suspend(session, login="far", reason="x", actor="supervisor:s", outsourcer_id=bpo)
        detail = agents.agent_detail(session, login="holder", now=NOW)
        assert detail.agent.holding and [d.name for d in detail.devices] == ["pc"]


def test_a_new_enrolment_code_voids_the_older_ones_and_is_audited(installation, team) -> None:
    with session_scope(installation.engine) as session:
        code = agents.give_enrolment_code(session, login="online", actor="admin:anna")
    with Session(installation.engine) as session:
        codes = session.exec(select(EnrolmentCode).where(EnrolmentCode.user_id == team["online"])).all()
        live = [c for c in codes if c.expires_at > datetime.now(UTC)]
        assert len(codes) == 2 and len(live) == 1 and code not in live[0].code_hash
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "enrolment_code_issued")).one()
        assert entry.actor == "admin:anna" and '"codes_voided":1' in entry.details


def test_alerts_scoped_to_an_organisation(installation, team) -> None:
    with session_scope(installation.engine) as session:
        users = {u.login: u for u in session.exec(select(User)).all()}
        mine = raise_alert(session, rule=RuleName.VELOCITY, action=RuleAction.ALERT, user=users["holder"], figures={})
        theirs = raise_alert(session, rule=RuleName.VELOCITY, action=RuleAction.ALERT, user=users["far"], figures={})
        assert mine is not None and theirs is not None
        bpo, refs = users["holder"].outsourcer_id, (mine.ref, theirs.ref)
    with Session(installation.engine) as session:
        assert [a.ref for a in list_alerts(session, open_only=True, outsourcer_id=bpo)] == [refs[0]]
        assert count_open_alerts(session) == 2 and count_open_alerts(session, outsourcer_id=bpo) == 1
        assert get_alert_view(session, ref=refs[0], outsourcer_id=bpo).agent == "holder"
        with pytest.raises(NotFoundError):
            find_alert(session, ref=refs[1], outsourcer_id=bpo)


def test_campaign_progress_leaves_canaries_and_staged_contacts_out(installation, team) -> None:
    with session_scope(installation.engine) as session:
        first, second, third = session.exec(select(Contact)).all()
        running = ImportBatch(campaign_id=second.campaign_id, file_sha256="x")  # an import not yet published
        session.add(running)
        session.flush()
        first.is_canary, second.batch_id, third.state = True, running.id, ContactState.CALLBACK
        second.state = ContactState.NEW
    with Session(installation.engine) as session:
        [progress] = campaign_progress(session)
    assert progress.states == {"callback": 1} and progress.total == 1


def test_histogram_bins_and_the_top_agents() -> None:
    bins = dict(histogram_bins([0, 0, 1, 5, 6, 60, 61, 400]))
    assert bins["0"] == 2 and bins["1-5"] == 2 and bins["6-10"] == 1 and bins["56-60"] == 1 and bins["61+"] == 2
    chart = top_agents_chart({f"a{n:02d}": n for n in range(30)}, label="x", top=3)
    assert chart["data"]["labels"] == ["a29", "a28", "a27"] and chart["options"]["indexAxis"] == "y"
