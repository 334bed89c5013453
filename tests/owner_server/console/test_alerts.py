"""Alert pages: the list, one alert's rule and figures, acknowledging with a note (audited), a supervisor's scope."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import select

from owner_server.audit.alerts import raise_alert
from owner_server.core.db import session_scope
from owner_server.models import Alert, AuditEntry, Role, User
from shared.containment import RuleAction, RuleName
from tests.owner_server.console.agent_work import add_other_agent, assert_clean
from tests.owner_server.helpers import seed


@pytest.fixture
def alerts(installation) -> dict[str, str]:
    """A velocity alert about anna (BPO) and a blocked-actions one about other1 (Other); login → ref."""
    seed(installation, agents=("anna",))
    add_other_agent(installation)
    refs = {}
    with session_scope(installation.engine) as session:
        for login, rule in (("anna", RuleName.VELOCITY), ("other1", RuleName.BLOCKED_ACTIONS)):
            user = session.exec(select(User).where(User.login == login)).one()
            alert = raise_alert(
                session, rule=rule, action=RuleAction.ALERT, user=user, figures={"count": 61, "threshold": 60}
            )
            assert alert is not None
            refs[login] = alert.ref
    return refs


def test_owner_staff_list_and_read_every_alert(installation, alerts, console_as) -> None:
    auditor = console_as(Role.AUDITOR)
    listing = auditor.get("/alerts").text
    assert "velocity" in listing and "blocked_actions" in listing and alerts["anna"] in listing
    assert_clean(listing)
    page = auditor.get(f"/alerts/{alerts['anna']}")
    assert page.status_code == 200
    assert "velocity" in page.text and "threshold" in page.text and "61" in page.text
    assert "Acknowledge" not in page.text  # an auditor reads only
    assert_clean(page.text)
    assert auditor.post_form(f"/alerts/{alerts['anna']}/ack", {"note": "x"}).status_code == 403
    assert auditor.get("/alerts/" + "0" * 32).status_code == 404
    assert auditor.get("/alerts/not-hex").status_code == 400


def test_acknowledging_stores_the_note_and_audits_it(installation, alerts, console_as) -> None:
    admin = console_as(Role.ADMIN)
    ref = alerts["anna"]
    empty = admin.post_form(f"/alerts/{ref}/ack", {"note": "   "})
    assert empty.status_code == 400
    with session_scope(installation.engine) as session:
        assert session.exec(select(Alert).where(Alert.ref == ref)).one().status == "open"
    done = admin.post_form(f"/alerts/{ref}/ack", {"note": "Called the team lead; agent retrained."})
    assert done.status_code == 303 and done.headers["location"] == f"/alerts/{ref}?done=acked"
    page = admin.get(done.headers["location"]).text
    assert "Called the team lead; agent retrained." in page and f"admin:{admin.login}" in page
    with session_scope(installation.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "alert_acknowledged")).one()
    assert entry.actor == f"admin:{admin.login}" and entry.object_id == ref
    digest = hashlib.sha256(b"Called the team lead; agent retrained.").hexdigest()
    assert digest in entry.details and "retrained" not in entry.details
    assert "velocity" not in admin.get("/alerts").text  # no longer open
    assert "velocity" in admin.get("/alerts", params={"show": "all"}).text
    again = admin.post_form(f"/alerts/{ref}/ack", {"note": "twice"})
    assert again.status_code == 409


def test_a_supervisor_sees_only_alerts_about_its_agents(installation, alerts, console_as) -> None:
    sup = console_as(Role.SUPERVISOR, outsourcer="BPO")
    listing = sup.get("/alerts").text
    assert alerts["anna"] in listing and alerts["other1"] not in listing and "other1" not in listing
    assert sup.get(f"/alerts/{alerts['other1']}").status_code == 404
    page = sup.get(f"/alerts/{alerts['anna']}").text
    assert "velocity" in page and "Deliveries" not in page and "Acknowledge" not in page
    assert sup.post_form(f"/alerts/{alerts['anna']}/ack", {"note": "x"}).status_code == 403
    assert_clean(page)


def test_a_supervisor_does_not_see_who_acknowledged_or_the_owners_note(installation, alerts, console_as) -> None:
    admin = console_as(Role.ADMIN)
    assert admin.post_form(f"/alerts/{alerts['anna']}/ack", {"note": "Escalated to legal."}).status_code == 303
    sup = console_as(Role.SUPERVISOR, outsourcer="BPO")
    page = sup.get(f"/alerts/{alerts['anna']}").text
    assert "Escalated to legal." not in page and admin.login not in page
    assert "Escalated to legal." in admin.get(f"/alerts/{alerts['anna']}").text
