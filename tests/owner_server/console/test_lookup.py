"""The console's lookup page over real histories made through the agent API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import Session, col, select

from owner_server.models import AuditEntry, Role
from tests.owner_server.audit.histories import CONTACTS_WITH_IDS, build


@pytest.fixture
def installation(any_installation):  # noqa: ANN201 - every console fixture runs on both databases here
    """The console and agent API fixtures' installation: SQLite, then PostgreSQL."""
    return any_installation


@pytest.fixture
def history(installation):  # noqa: ANN201
    return build(installation)


def _lookups(inst) -> list[AuditEntry]:
    with Session(inst.engine) as s:
        return list(s.exec(select(AuditEntry).where(AuditEntry.action == "lookup").order_by(col(AuditEntry.seq))))


def _cells(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_phone_an_agent_just_got_shows_that_agent_and_where_from(installation, history, console_as) -> None:
    admin = console_as(Role.ADMIN, login="anna")
    a1 = history.agents["agent1"]
    national = history.phones["A"].removeprefix("+48")
    typed = f"{national[:3]} {national[3:6]} {national[6:]}"
    page = admin.post_form("/lookup", {"kind": "phone", "value": typed})
    assert page.status_code == 200, page.text
    text = _cells(page.text)
    assert history.refs["A"] in text and "Camp" in text
    for shown in ("agent1", "BPO", a1.device_id[:8], a1.address, "record_issued", "record_displayed", "sale"):
        assert shown in text, shown
    # the number itself is never on the page (only its last four digits, masked), nor anyone else's data
    digits = re.sub(r"\D", "", page.text)
    assert national not in digits and typed not in page.text and history.phones["A"] not in page.text
    assert national[-4:] in text
    for other in ("B", "C"):
        assert history.refs[other] not in page.text
        assert history.phones[other].removeprefix("+48") not in digits
    for person in CONTACTS_WITH_IDS:
        assert person["first_name"] not in page.text and person["last_name"] not in page.text
    assert "agent2" not in text  # agent2 never touched A
    # audited as the console user, by kind, never with the value
    [entry] = _lookups(installation)
    details = json.loads(entry.details)
    assert entry.actor == "admin:anna" and entry.object_id == "phone"
    assert details["by"] == "phone" and details["matched"] == 1 and details["contacts"] == history.refs["A"]
    assert national not in entry.model_dump_json()


def test_a_record_that_changed_hands_shows_both_agents(history, console_as) -> None:
    auditor = console_as(Role.AUDITOR)
    text = _cells(auditor.post_form("/lookup", {"kind": "phone", "value": history.phones["B"]}).text)
    assert "agent1" in text and "agent2" in text and "lease_expired" in text and "no_answer" in text


def test_customer_id_and_contact_ref_lookups(installation, history, console_as) -> None:
    admin = console_as(Role.ADMIN)
    index = next(i for i, c in enumerate(CONTACTS_WITH_IDS) if c["phone"] == history.phones["A"])
    customer_id = CONTACTS_WITH_IDS[index]["customer_id"]
    by_id = admin.post_form("/lookup", {"kind": "customer_id", "value": customer_id, "campaign": "Camp"})
    assert by_id.status_code == 200 and history.refs["A"] in by_id.text and "agent1" in by_id.text
    assert f">{customer_id}<" not in by_id.text and f'value="{customer_id}"' not in by_id.text
    by_ref = admin.post_form("/lookup", {"kind": "contact", "value": history.refs["C"].upper()})
    assert by_ref.status_code == 200 and history.refs["C"] in by_ref.text and "agent2" in by_ref.text
    assert [json.loads(e.details)["by"] for e in _lookups(installation)] == ["customer_id", "contact"]
    assert all(customer_id not in e.details for e in _lookups(installation))


def test_no_match_is_an_answer_and_is_audited(installation, history, console_as) -> None:
    page = console_as(Role.ADMIN).post_form("/lookup", {"kind": "phone", "value": "+48 501 999 999"})
    assert page.status_code == 200 and "No contact matches." in page.text
    assert json.loads(_lookups(installation)[-1].details)["matched"] == 0


@pytest.mark.parametrize(
    ("form", "status", "sentence"),
    [
        ({"kind": "phone", "value": "12"}, 400, "not a valid phone number"),
        ({"kind": "phone", "value": "  "}, 400, "Type what to look up."),
        ({"kind": "phone", "value": "+48500000001", "campaign": "Nope"}, 404, "Nope"),
        ({"kind": "phone", "value": "500000001", "region": "XX"}, 400, "XX"),
    ],
)
def test_bad_input_is_one_sentence_on_the_form_and_nothing_is_audited(
    installation, console_as, form, status, sentence
) -> None:
    page = console_as(Role.ADMIN).post_form("/lookup", form)
    assert page.status_code == status and sentence in page.text and "Traceback" not in page.text
    assert 'method="post" action="/lookup"' in page.text  # the form is there to try again
    assert _lookups(installation) == []


def test_the_form_posts_the_value_and_a_supervisor_is_refused(installation, console_as) -> None:
    form = console_as(Role.ADMIN).get("/lookup")
    assert form.status_code == 200
    assert 'method="post" action="/lookup"' in form.text and 'name="value"' in form.text
    assert " style=" not in form.text and "<script>" not in form.text and " onclick" not in form.text
    supervisor = console_as(Role.SUPERVISOR)
    assert supervisor.get("/lookup").status_code == 403
    refused = supervisor.post_form("/lookup", {"kind": "phone", "value": "+48500000001"})
    assert refused.status_code == 403 and _lookups(installation) == []


def test_a_lookup_without_the_csrf_token_is_refused(installation, console_as) -> None:
    admin = console_as(Role.ADMIN)
    refused = admin.post("/lookup", data={"kind": "phone", "value": "+48500000001"})
    assert refused.status_code == 403 and _lookups(installation) == []
