"""The dashboard: figures of agents who really took records, the live part, and a supervisor's narrower view."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlmodel import select

from owner_server.core.db import session_scope
from owner_server.models import ConsoleSession, Role
from tests.owner_server.console.agent_work import add_other_agent, agent_login, assert_clean, take
from tests.owner_server.helpers import relax_containment, seed


def _figure(html: str, name: str) -> int:
    found = re.search(rf'id="figure-{name}">(\d+)<', html)
    assert found, name
    return int(found.group(1))


def _charts(html: str) -> list[dict]:
    import html as html_lib

    return [json.loads(html_lib.unescape(raw)) for raw in re.findall(r"data-chart='([^']*)'", html)]


def test_dashboard_shows_who_works_and_what_they_took(installation, client, console_as) -> None:
    setup = seed(installation, agents=("anna", "bogdan"))
    relax_containment(installation)
    anna = agent_login(client, "anna", setup["anna"].enrolment_code)
    take(client, anna)
    take(client, anna, close=False)  # holding a record now
    page = console_as(Role.ADMIN).get("/")
    assert page.status_code == 200
    html = page.text
    assert _figure(html, "issued") == 2 and _figure(html, "working") == 1 and _figure(html, "holding") == 1
    top = _charts(html)[0]
    assert top["data"]["labels"] == ["anna"] and top["data"]["datasets"][0]["data"] == [2]
    assert "/static/vendor/chart-4.6.1.umd.min.js" in html and "data-poll" in html
    assert 'hx-get="/dashboard/progress"' in html  # campaign progress, for owner staff, loaded apart
    assert_clean(html)
    progress = console_as(Role.AUDITOR).get("/dashboard/progress", headers={"HX-Request": "true"}).text
    assert "Camp" in progress and '<progress max="3" value="1">' in progress and "<html" not in progress
    assert_clean(progress)


def test_live_part_updates_and_a_poll_does_not_keep_the_session_alive(installation, client, console_as) -> None:
    setup = seed(installation, agents=("anna",))
    relax_containment(installation)
    anna = agent_login(client, "anna", setup["anna"].enrolment_code)
    take(client, anna)
    admin = console_as(Role.AUDITOR)
    first = admin.get("/dashboard/live", headers={"HX-Request": "true", "X-Custos-Poll": "1"})
    assert first.status_code == 200 and "<html" not in first.text
    assert _figure(first.text, "issued") == 1
    take(client, anna)
    with session_scope(installation.engine) as session:
        row = session.exec(select(ConsoleSession)).one()
        row.last_seen_at = row.last_seen_at - timedelta(minutes=5)
        session.add(row)
        earlier = row.last_seen_at
    second = admin.get("/dashboard/live", headers={"HX-Request": "true", "X-Custos-Poll": "1"})
    assert _figure(second.text, "issued") == 2
    assert_clean(second.text)
    with session_scope(installation.engine) as session:
        assert session.exec(select(ConsoleSession)).one().last_seen_at == earlier
    admin.get("/")  # a page the user opens does count
    with session_scope(installation.engine) as session:
        assert session.exec(select(ConsoleSession)).one().last_seen_at > earlier


def test_a_supervisor_sees_only_its_organisation_and_no_campaign(installation, client, console_as) -> None:
    setup = seed(installation, agents=("anna",))
    relax_containment(installation)
    code = add_other_agent(installation)
    take(client, agent_login(client, "anna", setup["anna"].enrolment_code))
    other = agent_login(client, "other1", code)
    for _ in range(2):  # three contacts in all
        take(client, other)
    supervisor = console_as(Role.SUPERVISOR, outsourcer="BPO")
    assert supervisor.get("/dashboard/progress").status_code == 403
    html = supervisor.get("/").text
    assert _figure(html, "issued") == 1
    assert "anna" in html and "other1" not in html and "Other" not in html
    assert "Camp" not in html and "<progress" not in html and "/dashboard/progress" not in html
    assert_clean(html)
    owner = console_as(Role.ADMIN).get("/").text
    assert _figure(owner, "issued") == 3 and "other1" in owner and "Other" in owner
