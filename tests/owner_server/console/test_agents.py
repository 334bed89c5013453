"""Agent pages: list and filters, an agent's activity, suspension that stops the real agent, a supervisor's scope."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from sqlmodel import select

from owner_server.core.db import session_scope
from owner_server.identity.passwords import verify_password
from owner_server.models import AuditEntry, Role, User
from tests.owner_server.console.agent_work import API, add_other_agent, agent_login, assert_clean, take
from tests.owner_server.helpers import relax_containment, seed


@pytest.fixture
def working(installation, client):  # noqa: ANN201
    """Agents anna (2 records, holding one) and bogdan of BPO, other1 of Other; returns anna's bearer header."""
    setup = seed(installation, agents=("anna", "bogdan"))
    relax_containment(installation)
    add_other_agent(installation)
    anna = agent_login(client, "anna", setup["anna"].enrolment_code)
    take(client, anna)
    take(client, anna, close=False)
    return anna


def _audit(installation, action: str) -> list[AuditEntry]:
    with session_scope(installation.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_list_filters_and_an_agents_activity(installation, working, console_as) -> None:
    admin = console_as(Role.ADMIN)
    listing = admin.get("/agents").text
    assert all(login in listing for login in ("anna", "bogdan", "other1"))
    assert "Holding a record" in listing
    assert_clean(listing)
    only = admin.get("/agents", params={"status": "working"}).text
    assert "anna" in only and "bogdan" not in only
    assert "other1" not in admin.get("/agents", params={"outsourcer": "BPO"}).text
    assert "bogdan" not in admin.get("/agents", params={"q": "ANN"}).text
    page = admin.get("/agents/anna")
    assert page.status_code == 200
    chart = json.loads(unescape(re.search(r"data-chart='([^']*)'", page.text).group(1)))
    assert sum(chart["data"]["datasets"][0]["data"]) == 2 and len(chart["data"]["labels"]) == 24
    assert "2 records in this period." in page.text and "pc" in page.text  # the device
    assert_clean(page.text)
    day = admin.get("/agents/anna", params={"day": "2026-01-31"})
    assert day.status_code == 200 and "on 2026-01-31" in day.text
    assert admin.get("/agents/anna", params={"day": "yesterday"}).status_code == 400
    bad = admin.get("/agents", params={"status": "asleep"})
    assert bad.status_code == 400 and "working, suspended or locked" in bad.text


def test_suspending_in_the_console_stops_the_real_agent(installation, client, working, console_as) -> None:
    admin = console_as(Role.ADMIN)
    empty = admin.post_form("/agents/anna/suspend", {"reason": "  "})
    assert empty.status_code == 400 and "a reason is 1-200 characters" in empty.text
    assert client.post(f"{API}/next", headers=working, json={}).status_code == 200  # nothing changed
    done = admin.post_form("/agents/anna/suspend", {"reason": "pulling records"})
    assert done.status_code == 303 and done.headers["location"] == "/agents/anna?done=suspended"
    refused = client.post(f"{API}/next", headers=working, json={})
    assert refused.status_code in (401, 403), refused.text
    entry = _audit(installation, "agent_suspended")[-1]
    assert entry.actor == f"admin:{admin.login}"
    page = admin.get(done.headers["location"]).text
    assert "pulling records" in page and "Reinstate" in page
    assert admin.post_form("/agents/anna/reinstate").status_code == 303
    with session_scope(installation.engine) as session:
        assert not session.exec(select(User).where(User.login == "anna")).one().suspended


def test_a_supervisor_sees_and_suspends_only_its_own_agents(installation, client, working, console_as) -> None:
    sup = console_as(Role.SUPERVISOR, outsourcer="BPO")
    listing = sup.get("/agents", params={"outsourcer": "Other"}).text  # the filter is not theirs to widen
    assert "anna" in listing and "bogdan" in listing and "other1" not in listing
    assert "Camp" not in listing
    assert sup.get("/agents/other1").status_code == 404
    assert sup.post_form("/agents/other1/suspend", {"reason": "x"}).status_code == 404
    for action in ("reinstate", "revoke-device", "reset-password", "enrolment-code"):
        assert sup.post_form(f"/agents/anna/{action}").status_code == 403, action
    page = sup.get("/agents/anna").text
    assert "Suspend" in page and "Reset password" not in page and "Camp" not in page
    assert_clean(page)
    assert sup.post_form("/agents/anna/suspend", {"reason": "team lead"}).status_code == 303
    assert client.post(f"{API}/next", headers=working, json={}).status_code in (401, 403)
    assert _audit(installation, "agent_suspended")[-1].actor == f"supervisor:{sup.login}"


def test_reset_password_and_enrolment_code_are_shown_once(installation, client, working, console_as) -> None:
    admin = console_as(Role.ADMIN)
    answer = admin.post_form("/agents/bogdan/reset-password")
    assert answer.status_code == 200
    password = re.search(r'id="secret">([^<]+)<', answer.text).group(1)
    with session_scope(installation.engine) as session:
        stored = session.exec(select(User).where(User.login == "bogdan")).one().password_hash
    assert verify_password(stored, unescape(password)) and password not in stored
    assert _audit(installation, "password_reset")[-1].actor == f"admin:{admin.login}"
    code = re.search(r'id="secret">([^<]+)<', admin.post_form("/agents/other1/enrolment-code").text).group(1)
    assert _audit(installation, "enrolment_code_issued")
    device = client.post(
        f"{API}/enrol",
        json={"enrolment_code": unescape(code), "device_public_key": "A" * 43 + "=", "device_name": "pc2"},
    )
    assert device.status_code == 200, device.text
    revoked = admin.post_form("/agents/anna/revoke-device")
    assert revoked.status_code == 200 and 'id="secret"' in revoked.text
    assert client.post(f"{API}/next", headers=working, json={}).status_code == 401
