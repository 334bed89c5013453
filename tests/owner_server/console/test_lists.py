"""The lists page: DNC upload, export download, erasure, retention; and the guard of every intake route."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from fastapi.routing import APIRoute
from sqlmodel import select

from owner_server.console import uploads
from owner_server.console.auth import Requirement
from owner_server.console.routes import imports, lists
from owner_server.core.db import session_scope
from owner_server.models import AuditEntry, Campaign, Contact, ContactState, Role
from tests.support.leaks import assert_no_phone

from ..helpers import CONTACTS, seed

PEOPLE = [dict(c, customer_id=f"C-{i}") for i, c in enumerate(CONTACTS, 1)]


@pytest.fixture
def admin(installation, console_as):
    seed(installation, agents=(), contacts=PEOPLE)
    return console_as(Role.ADMIN, login="anna")


def _states(installation) -> dict[str, ContactState]:
    with session_scope(installation.engine) as session:
        contacts = session.exec(select(Contact)).all()
        cipher = installation.keys.campaign_key(session, campaign_id=contacts[0].campaign_id).cipher
        return {cipher.decrypt_fields(c.ref, c.payload)["phone"]: c.state for c in contacts}


def _audit(installation, action: str) -> list[AuditEntry]:
    with session_scope(installation.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def _count(html: str, name: str) -> int:
    match = re.search(rf'data-count="{name}">(\d+)<', html)
    assert match, name
    return int(match.group(1))


def test_the_page_shows_each_form_and_each_campaigns_retention(admin) -> None:
    page = admin.get("/lists")
    assert page.status_code == 200
    for action in ("/lists/dnc", "/lists/export", "/lists/erase", "/lists/retention"):
        assert f'action="{action}"' in page.text
    assert "Retype the campaign&#39;s name" in page.text and "most dangerous" in page.text
    assert '<option value="data_subject_request">' in page.text
    assert " style=" not in page.text and "<script>" not in page.text and " onclick" not in page.text


def test_a_dnc_upload_suppresses_the_contact_and_reports_invalid_numbers(installation, admin, tmp_path) -> None:
    numbers = tmp_path / "dnc.txt"
    numbers.write_text("500 000 001\nnot a number\n+48 999\n", encoding="utf-8")
    with numbers.open("rb") as fh:
        answer = admin.post(
            "/lists/dnc",
            data={"region": "PL", "csrf_token": admin.csrf},
            files={"file": ("dnc.txt", fh, "text/plain")},
        )
    assert answer.status_code == 200
    assert (_count(answer.text, "added"), _count(answer.text, "contacts_suppressed")) == (1, 1)
    assert _count(answer.text, "rejected") == 2
    assert "500 000 001" not in answer.text and "500000001" not in answer.text
    states = _states(installation)
    assert states["+48500000001"] is ContactState.SUPPRESSED
    assert states["+48600000002"] is ContactState.NEW
    (entry,) = _audit(installation, "dnc_imported")
    assert entry.actor == "admin:anna"
    assert list(uploads.private_dir(installation.settings.data_dir).iterdir()) == []


def test_a_bad_dnc_file_is_one_sentence(installation, admin, tmp_path) -> None:
    bad = tmp_path / "dnc.txt"
    bad.write_bytes("500 000 001\n".encode("utf-16"))
    with bad.open("rb") as fh:
        answer = admin.post(
            "/lists/dnc", data={"csrf_token": admin.csrf}, files={"file": ("dnc.txt", fh, "text/plain")}
        )
    assert answer.status_code == 400 and "UTF-8" in answer.text
    assert _audit(installation, "dnc_imported") == []


def test_export_needs_the_name_retyped_then_downloads_a_csv_and_is_audited(installation, admin) -> None:
    refused = admin.post_form("/lists/export", {"campaign": "Camp", "confirm": "camp", "file_format": "csv"})
    assert refused.status_code == 400 and "nothing was exported" in refused.text
    assert _audit(installation, "campaign_exported") == []
    answer = admin.post_form("/lists/export", {"campaign": "Camp", "confirm": "Camp", "file_format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert re.match(r'attachment; filename="Camp-\d{4}-\d\d-\d\d\.csv"', answer.headers["content-disposition"])
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "contact_ref" and len(rows) == 1 + len(PEOPLE)
    assert {r[rows[0].index("last_name")] for r in rows[1:]} == {c["last_name"] for c in PEOPLE}
    (entry,) = _audit(installation, "campaign_exported")
    assert entry.actor == "admin:anna" and json.loads(entry.details)["contacts"] == 3
    assert list(uploads.private_dir(installation.settings.data_dir).iterdir()) == []  # deleted once sent


def test_an_xlsx_export_downloads_a_workbook(admin) -> None:
    answer = admin.post_form("/lists/export", {"campaign": "Camp", "confirm": "Camp", "file_format": "xlsx"})
    assert answer.status_code == 200 and answer.content[:4] == b"PK\x03\x04"


def test_erasure_by_phone_erases_and_is_audited_without_the_number(installation, admin) -> None:
    answer = admin.post_form("/lists/erase", {"by": "phone", "value": "600 000 002", "reason": "objection"})
    assert answer.status_code == 200
    assert "Erased 1 contact(s); closed 0 open lease(s)." in answer.text
    assert "600 000 002" not in answer.text and "600000002" not in answer.text
    with session_scope(installation.engine) as session:
        states = [c.state for c in session.exec(select(Contact))]
    assert states.count(ContactState.ERASED) == 1
    (entry,) = _audit(installation, "contact_erased")
    assert entry.actor == "admin:anna"
    assert_no_phone(entry.details, "600 000 002")
    assert json.loads(entry.details)["reason"] == "objection"


def test_erasure_by_customer_id_in_one_campaign(installation, admin) -> None:
    answer = admin.post_form("/lists/erase", {"by": "customer_id", "value": "C-1", "campaign": "Camp"})
    assert "Erased 1 contact(s)" in answer.text
    again = admin.post_form("/lists/erase", {"by": "customer_id", "value": "C-1"})
    assert "nothing was erased" in again.text
    assert "C-1" not in (answer.text + again.text)


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"by": "phone", "value": "12"}, 400, None),
        ({"by": "phone", "value": "+48500000001", "campaign": "Nope"}, 404, "not found"),
        ({"by": "phone", "value": "+48500000001", "reason": "because"}, 400, "reason from the list"),
        ({"by": "email", "value": "x"}, 400, "by phone or by customer id"),
    ],
)
def test_bad_erasure_input_changes_nothing(installation, admin, form, status, message) -> None:
    answer = admin.post_form("/lists/erase", form)
    assert answer.status_code == status
    if message:
        assert message in answer.text
    assert _audit(installation, "contact_erased") == []


def test_retention_is_set_and_shown(installation, admin) -> None:
    answer = admin.post_form("/lists/retention", {"campaign": "Camp", "ends_at": "2031-01-31", "days": "90"})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/lists")
    with session_scope(installation.engine) as session:
        camp = session.exec(select(Campaign).where(Campaign.name == "Camp")).one()
        assert camp.ends_at == datetime(2031, 2, 1, tzinfo=UTC) and camp.retention_days == 90
    (entry,) = _audit(installation, "campaign_retention_set")
    assert entry.actor == "admin:anna"
    page = admin.get("/lists").text
    assert re.search(r"<td>Camp</td><td>2031-0[12]-\d\d \d\d:\d\d</td><td class=\"num\">90</td>", page)
    bad = admin.post_form("/lists/retention", {"campaign": "Camp", "ends_at": "31.01.2031", "days": "90"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


def _intake_routes() -> list[APIRoute]:
    return [r for r in (*imports.router.routes, *lists.router.routes) if isinstance(r, APIRoute)]


def _requirements(route: APIRoute) -> list[Requirement]:
    found: list[Requirement] = []

    def walk(dependant) -> None:  # noqa: ANN001
        for dep in dependant.dependencies:
            if isinstance(dep.call, Requirement):
                found.append(dep.call)
            walk(dep)

    walk(route.dependant)
    return found


def test_every_intake_route_has_one_requirement_and_refuses_auditors_and_supervisors(console_as, anonymous) -> None:
    routes = _intake_routes()
    assert len(routes) == 12  # 11 and the erasure note (issue 10)
    clients = [console_as(Role.AUDITOR), console_as(Role.SUPERVISOR)]
    for route in routes:
        assert len(_requirements(route)) == 1, route.path
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods:
            for client in clients:
                answer = client.request(method, path, data={"csrf_token": client.csrf}, follow_redirects=False)
                assert answer.status_code == 403, (method, path)
            if method == "GET":
                answer = anonymous.get(path, follow_redirects=False)
                assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def test_a_post_without_the_csrf_token_is_refused(installation, admin) -> None:
    answer = admin.post("/lists/erase", data={"by": "phone", "value": "+48500000001"}, follow_redirects=False)
    assert answer.status_code == 403
    assert _audit(installation, "contact_erased") == []


NOTE = "Pan Jan dzwonił 3 maja: prosi o usunięcie wszystkich danych"


def test_erasure_with_a_note_stores_it_encrypted_and_shows_it_to_an_admin(installation, admin) -> None:
    """Issue 10: the console's erase form takes a note; the audit entry holds its id and hash only."""
    answer = admin.post_form("/lists/erase", {"by": "customer_id", "value": "C-1", "reason": "objection", "note": NOTE})
    assert answer.status_code == 200 and "Erased 1 contact(s)" in answer.text and NOTE not in answer.text
    match = re.search(r'href="/lists/notes/([0-9a-f]{32})"', answer.text)
    assert match
    (entry,) = _audit(installation, "contact_erased")
    details = json.loads(entry.details)
    assert details["note_id"] == match.group(1) and len(details["note_sha256"]) == 64 and "Jan" not in entry.details
    page = admin.get(f"/lists/notes/{match.group(1)}")
    assert page.status_code == 200 and NOTE in page.text and 'data-intact="true"' in page.text
    (read,) = _audit(installation, "erasure_note_read")
    assert read.actor == "admin:anna" and read.object_id == match.group(1)
    admin.cookies.set("custos-lang", "pl")
    assert "Notatka zgadza się ze skrótem" in admin.get(f"/lists/notes/{match.group(1)}").text
    assert "Notatka (opcjonalnie)" in admin.get("/lists").text


def test_a_blank_note_is_no_note_and_a_long_one_changes_nothing(installation, admin) -> None:
    answer = admin.post_form("/lists/erase", {"by": "customer_id", "value": "C-1", "note": "  "})
    assert "Erased 1 contact(s)" in answer.text and "/lists/notes/" not in answer.text
    long = admin.post_form("/lists/erase", {"by": "customer_id", "value": "C-2", "note": "x" * 2001})
    assert long.status_code == 400 and "at most 2000" in long.text and "xxxx" not in long.text
    assert len(_audit(installation, "contact_erased")) == 1
    assert admin.get("/lists/notes/" + "0" * 32).status_code == 404
