"""Campaigns in the console: the policy form, its validation, the audit, the agent preview and the TOML."""

from __future__ import annotations

import json
import re
import tomllib
from html.parser import HTMLParser
from importlib import resources

import pytest
from sqlmodel import Session, select

from owner_server.console.campaign_form import FormInput, form_from_policy, form_from_request
from owner_server.console.campaign_policy import policy_from_form
from owner_server.core.db import session_scope
from owner_server.identity.admin import create_campaign
from owner_server.identity.policy_text import parse_policy_toml, policy_toml
from owner_server.models import AuditEntry, Campaign, Role
from owner_server.work.preview import sample_values
from shared.policy import CampaignPolicy, FieldMode, apply_policy
from tests.owner_server.helpers import POLICY, seed
from tests.owner_server.test_agent_api import API, logged_in

DEMO = parse_policy_toml(resources.files("owner_server.demo").joinpath("policy.toml").read_text(encoding="utf-8"))


class _Form(HTMLParser):
    """The values a browser would post for the form with id ``policy-form`` (as it is rendered)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.pairs = form_id, False, []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs) -> None:  # noqa: ANN001
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value", "on")))
            else:
                self.pairs.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select is not None and "selected" in a:
            self.pairs.append((self._select, a["value"]))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data) -> None:  # noqa: ANN001
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag) -> None:  # noqa: ANN001
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.pairs.append((self._textarea, self._text))
            self._textarea = None
        elif tag == "form":
            self.inside = False


def form_of(html: str, form_id: str = "policy-form") -> list[tuple[str, str]]:
    parser = _Form(form_id)
    parser.feed(html)
    return [(k, v) for k, v in parser.pairs if k != "csrf_token"]


def _post(client, url: str, pairs: list[tuple[str, str]], **kwargs: object):  # noqa: ANN202
    """POST the pairs as a browser does (repeated names for checkboxes), with the CSRF token."""
    data: dict[str, list[str]] = {}
    for key, value in [*pairs, ("csrf_token", client.csrf)]:
        data.setdefault(key, []).append(value)
    return client.post(url, data=data, follow_redirects=False, **kwargs)


def _set(pairs: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    assert any(k == name for k, _ in pairs), name
    return [(k, value if k == name else v) for k, v in pairs]


def _row_of(pairs: list[tuple[str, str]], field: str) -> int:
    return next(int(k[1:-5]) for k, v in pairs if re.fullmatch(r"f\d+_name", k) and v == field)


def _stored(installation, name: str) -> CampaignPolicy:
    with Session(installation.engine) as session:
        camp = session.exec(select(Campaign).where(Campaign.name == name)).one()
        return CampaignPolicy.model_validate_json(camp.policy_json)


def _audits(installation, action: str) -> list[AuditEntry]:
    with Session(installation.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def _no_inline(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and not re.search(r"\son[a-z]+=", html)


@pytest.fixture
def demo_campaign(installation) -> str:
    with session_scope(installation.engine) as session:
        create_campaign(session, name="Demo", policy=DEMO, keys=installation.keys, actor="admin:test")
    return "Demo"


def test_the_demo_policy_round_trips_through_the_page_and_the_toml(installation, console_as, demo_campaign) -> None:
    admin = console_as(Role.ADMIN)
    page = admin.get("/campaigns/Demo")
    assert page.status_code == 200
    _no_inline(page.text)
    saved = _post(admin, "/campaigns/Demo", form_of(page.text))
    assert saved.status_code == 303 and saved.headers["location"] == "/campaigns/Demo?saved=unchanged"
    assert _stored(installation, "Demo") == DEMO
    assert list(_stored(installation, "Demo").fields) == list(DEMO.fields)
    assert not _audits(installation, "campaign_policy_changed")
    toml = admin.get("/campaigns/Demo/policy.toml")
    assert toml.status_code == 200 and "attachment" in toml.headers["content-disposition"]
    again = CampaignPolicy.model_validate(tomllib.loads(toml.text))
    assert again == DEMO and list(again.fields) == list(DEMO.fields)


@pytest.mark.parametrize("policy", [DEMO, POLICY], ids=["demo", "tests"])
def test_an_unchanged_form_gives_the_identical_policy(policy) -> None:
    f = form_from_policy(policy)
    pairs = [("script", f.script), ("timezone", f.timezone), ("holidays", f.holidays)]
    for i, r in enumerate(f.fields):
        pairs += [(f"f{i}_name", r.name), (f"f{i}_mode", r.mode), (f"f{i}_mask", r.mask), (f"f{i}_label", r.label)]
    for i, d in enumerate(f.dispositions):
        pairs += [(f"d{i}_{k}", getattr(d, k)) for k in ("code", "label", "shortcut", "kind", "retry")]
    for i, w in enumerate(f.windows):
        pairs += [(f"w{i}_start", w.start), (f"w{i}_end", w.end)] + [(f"w{i}_days", d) for d in w.days]
    pairs += list(f.values.items()) + [(k, "on") for k, on in f.checks.items() if on]
    pairs += [(f"rules.{k}.action", v) for k, v in f.actions.items()] + [("rules.hours.days", d) for d in f.hours_days]
    assert policy_from_form(form_from_request(FormInput(pairs)), base=policy) == policy
    assert parse_policy_toml(policy_toml(policy)) == policy


def test_edit_a_field_mode_and_a_limit_is_saved_and_audited(installation, console_as, demo_campaign) -> None:
    admin = console_as(Role.ADMIN, login="anna")
    pairs = form_of(admin.get("/campaigns/Demo").text)
    pairs = _set(pairs, f"f{_row_of(pairs, 'city')}_mode", "hidden")
    pairs = _set(pairs, "limits.per_hour", "40")
    saved = _post(admin, "/campaigns/Demo", pairs)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=saved")
    stored = _stored(installation, "Demo")
    assert stored.rule_for("city").mode is FieldMode.HIDDEN and stored.limits.per_hour == 40
    assert stored.model_copy(update={"fields": DEMO.fields, "limits": DEMO.limits}) == DEMO  # nothing else moved
    (entry,) = _audits(installation, "campaign_policy_changed")
    assert entry.actor == "admin:anna"
    details = json.loads(entry.details)
    assert details["sections"] == "fields,limits.per_hour" and details["fields"] == "city"
    assert "Miasto" not in entry.details
    assert "Saved" in admin.get(saved.headers["location"]).text


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("w0_end", "25:00", "strategy.windows.0.end"),
        ("limits.per_hour", "lots", "limits.per_hour"),
        ("limits.per_hour", "900", "limits.per_hour cannot exceed limits.per_day"),
        ("calls.caller_id", "0221234567", "calls.caller_id"),
        ("timezone", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_a_bad_value_says_so_keeps_what_was_typed_and_changes_nothing(
    installation, console_as, demo_campaign, field, value, says
) -> None:
    admin = console_as(Role.ADMIN)
    pairs = _set(form_of(admin.get("/campaigns/Demo").text), field, value)
    answer = _post(admin, "/campaigns/Demo", pairs)
    assert answer.status_code == 400
    assert "Nothing was saved" in answer.text and says in answer.text
    assert dict(form_of(answer.text))[field] == value  # kept as typed
    _no_inline(answer.text)
    assert _stored(installation, "Demo") == DEMO
    assert not _audits(installation, "campaign_policy_changed")


def test_an_unknown_outcome_code_in_the_strategy_is_refused(installation, console_as, demo_campaign) -> None:
    admin = console_as(Role.ADMIN)
    text = policy_toml(DEMO).replace('final = [\n    "sale",', 'final = [\n    "sold_twice",\n    "sale",')
    assert "sold_twice" in text
    answer = admin.post_form("/campaigns/Demo/policy.toml", {"policy_toml": text})
    assert answer.status_code == 400
    assert "strategy.final names codes that are not dispositions of the campaign: sold_twice" in answer.text
    assert "sold_twice" in answer.text.split('id="policy_toml"')[1]  # the pasted text is kept
    assert _stored(installation, "Demo") == DEMO
    # two outcomes marked as the callback is refused on the form too
    pairs = form_of(admin.get("/campaigns/Demo").text)
    pairs = _set(pairs, "d0_kind", "callback")
    answer = _post(admin, "/campaigns/Demo", pairs)
    assert answer.status_code == 400 and "only one outcome can schedule a callback" in answer.text
    assert _stored(installation, "Demo") == DEMO


def test_pasted_toml_replaces_the_policy(installation, console_as, demo_campaign) -> None:
    admin = console_as(Role.ADMIN)
    text = policy_toml(DEMO).replace("per_day = 480", "per_day = 300")
    answer = admin.post_form("/campaigns/Demo/policy.toml", {"policy_toml": text})
    assert answer.status_code == 303
    assert _stored(installation, "Demo").limits.per_day == 300
    (entry,) = _audits(installation, "campaign_policy_changed")
    assert json.loads(entry.details)["sections"] == "limits.per_day"


def test_create_a_campaign_from_the_form(installation, console_as) -> None:
    admin = console_as(Role.ADMIN, login="anna")
    page = admin.get("/campaigns/new")
    assert page.status_code == 200
    _no_inline(page.text)
    pairs = form_of(page.text)
    pairs = _set(pairs, "name", "Jesień 2026")
    pairs = _set(_set(pairs, "f0_name", "first_name"), "f0_mode", "visible")
    pairs = _set(_set(pairs, "f1_name", "pesel"), "f1_mode", "verify_only")
    answer = _post(admin, "/campaigns/new", pairs)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/campaigns/Jesie%C5%84%202026?saved=created"
    stored = _stored(installation, "Jesień 2026")
    assert stored.rule_for("first_name").mode is FieldMode.VISIBLE
    assert stored.rule_for("pesel").mode is FieldMode.VERIFY_ONLY
    assert stored.strategy.windows == CampaignPolicy(dispositions=DEMO.dispositions).strategy.windows
    assert [e.actor for e in _audits(installation, "campaign_created")] == ["admin:anna"]
    listed = admin.get("/campaigns")
    assert "Jesień 2026" in listed.text
    # the same name again: a clear sentence, nothing made
    again = _post(admin, "/campaigns/new", pairs)
    assert again.status_code == 409 and "already exists" in again.text
    assert len(_audits(installation, "campaign_created")) == 1


def test_the_preview_shows_what_an_agent_gets(installation, console_as, demo_campaign) -> None:
    admin = console_as(Role.ADMIN)
    pairs = form_of(admin.get("/campaigns/Demo").text)
    pairs = _set(pairs, f"f{_row_of(pairs, 'city')}_mode", "after_answer")
    pairs = _set(pairs, f"f{_row_of(pairs, 'email')}_mode", "verify_only")
    pairs = _set(pairs, "f7_name", "pesel")  # a new row, left hidden
    pairs = _set(pairs, "f8_name", "phone2")
    pairs = _set(pairs, "f8_mode", "visible")  # a phone stays hidden whatever the form says
    answer = _post(admin, "/campaigns/Demo/preview", pairs, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    html = answer.text
    _no_inline(html)
    policy = policy_from_form(form_from_request(FormInput(pairs)), base=DEMO)
    values = sample_values(list(policy.fields), sample=0)
    shown = {f.name: f.value for f in apply_policy(policy, values)}
    assert shown["first_name"] in html  # visible in clear
    assert shown["last_name"] != values["last_name"] and shown["last_name"] in html  # masked as apply_policy does
    assert values["last_name"] not in html
    assert shown["customer_id"] in html and values["customer_id"] not in html
    assert values["city"] in html and "shown only while the call is answered" in html
    assert "agent checks what the customer says" in html and values["email"] not in html
    for hidden in ("address", "postal_code", "pesel"):
        assert values[hidden] not in html
    digits = re.sub(r"\D", "", values["phone"])
    for phone in (values["phone"], values["phone2"], digits[-6:]):
        assert phone not in html
    assert _stored(installation, "Demo") == DEMO  # a preview saves nothing


def test_a_bad_value_in_the_preview_says_so(installation, console_as, demo_campaign) -> None:
    admin = console_as(Role.ADMIN)
    pairs = _set(form_of(admin.get("/campaigns/Demo").text), "w0_start", "7 o'clock")
    answer = _post(admin, "/campaigns/Demo/preview", pairs)
    assert answer.status_code == 200 and "The preview cannot be built" in answer.text


def test_an_agent_taking_a_record_after_the_change_sees_the_new_modes(installation, client, console_as) -> None:
    setup = seed(installation, agents=("agent1", "agent2"))
    headers = logged_in(client, setup, "agent1")
    before = client.post(f"{API}/next", headers=headers, json={}).json()["record"]
    assert {f["name"] for f in before["fields"]} == {"first_name", "last_name", "city"}
    admin = console_as(Role.ADMIN)
    pairs = form_of(admin.get("/campaigns/Camp").text)
    pairs = _set(pairs, f"f{_row_of(pairs, 'city')}_mode", "hidden")
    pairs = _set(pairs, f"f{_row_of(pairs, 'pesel')}_mode", "verify_only")
    assert _post(admin, "/campaigns/Camp", pairs).status_code == 303
    # the open record, fetched again, follows the new policy; and it can be closed with its outcome
    again = client.post(f"{API}/next", headers=headers, json={}).json()["record"]
    assert again["lease_id"] == before["lease_id"]
    assert {f["name"] for f in again["fields"]} == {"first_name", "last_name"}
    done = client.post(f"{API}/dispositions", headers=headers, json={"lease_id": again["lease_id"], "code": "sale"})
    assert done.status_code == 200, done.text
    other = client.post(f"{API}/next", headers=logged_in(client, setup, "agent2"), json={}).json()["record"]
    assert {f["name"] for f in other["fields"]} == {"first_name", "last_name"}
    assert [v["name"] for v in other["verify_fields"]] == ["pesel"]


def test_an_auditor_reads_but_cannot_save(installation, console_as, demo_campaign) -> None:
    auditor = console_as(Role.AUDITOR)
    listed = auditor.get("/campaigns")
    assert listed.status_code == 200 and "Demo" in listed.text and "/campaigns/new" not in listed.text
    page = auditor.get("/campaigns/Demo")
    assert page.status_code == 200 and '<fieldset class="plain" disabled>' in page.text
    assert "Save the policy" not in page.text
    assert auditor.get("/campaigns/Demo/policy.toml").status_code == 200
    preview = auditor.post("/campaigns/Demo/preview", data={"sample": "2"}, headers={"X-CSRF-Token": auditor.csrf})
    assert preview.status_code == 200 and "Never sent to the agent" in preview.text
    pairs = _set(form_of(page.text), "limits.per_hour", "10")
    assert _post(auditor, "/campaigns/Demo", pairs).status_code == 403
    assert auditor.post_form("/campaigns/Demo/policy.toml", {"policy_toml": policy_toml(DEMO)}).status_code == 403
    assert auditor.get("/campaigns/new").status_code == 403
    assert _stored(installation, "Demo") == DEMO
    supervisor = console_as(Role.SUPERVISOR)
    assert supervisor.get("/campaigns/Demo").status_code == 403


def test_an_unknown_campaign_is_not_found(console_as) -> None:
    admin = console_as(Role.ADMIN)
    assert admin.get("/campaigns/Nope").status_code == 404
    assert admin.post_form("/campaigns/Nope", {"limits.per_hour": "1"}).status_code == 404


def test_every_campaigns_route_refuses_the_roles_that_lack_it(
    installation, console_as, anonymous, demo_campaign
) -> None:
    from fastapi.routing import APIRoute

    from owner_server.console.auth import Requirement
    from owner_server.console.permissions import ROLE_PERMISSIONS
    from owner_server.console.routes import campaigns

    clients = {role: console_as(role) for role in (Role.AUDITOR, Role.SUPERVISOR)}
    checked = 0
    for route in campaigns.router.routes:
        assert isinstance(route, APIRoute)
        needs = [d.call for d in route.dependant.dependencies if isinstance(d.call, Requirement)]
        assert len(needs) == 1, route.path
        path = route.path.replace("{name}", "Demo")
        for role, client in clients.items():
            if needs[0].permission in ROLE_PERMISSIONS[role]:
                continue
            for method in route.methods:
                answer = client.request(method, path, data={"csrf_token": client.csrf}, follow_redirects=False)
                assert answer.status_code == 403, (role, method, path)
                checked += 1
        if "GET" in route.methods:
            assert anonymous.get(path, follow_redirects=False).status_code == 303
    assert checked >= 10
    assert _stored(installation, "Demo") == DEMO


def test_the_pages_in_polish(console_as, demo_campaign) -> None:
    admin = console_as(Role.ADMIN)
    admin.cookies.set("custos-lang", "pl")
    page = admin.get("/campaigns/Demo")
    assert "Pola: co widzi konsultant" in page.text and "Zapisz politykę" in page.text
    assert "Nigdy nie trafia do konsultanta" in page.text
    assert "Kontakty według stanu" in admin.get("/campaigns").text
