"""The console's main flows in Debian's Chromium against a real ``custos-server serve``.

TOTP enrolment and login through the real pages; import with the mapping
preview; a lookup of the phone an agent has just been given shows that agent;
suspending an agent in the console makes the real agent's next request fail;
a supervisor sees its own agents and is refused lookup, export, import and
another outsourcer's agent.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from owner_server.demo.sample import expected_phones, generate_contacts
from owner_server.models import Role
from tests.e2e.conftest import AGENT_PASSWORD, CONTACTS, POLICY, cli, prepare_installation
from tests.e2e.scraper import Scraper

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ADMIN_PASSWORD = "console-admin-password-1"
ONE_MORE = "ola.t"
IMPORT_CAMPAIGN = "Zima"


@pytest.fixture(scope="module")
def enrolment_codes() -> dict[str, str]:
    """Each agent's enrolment code, filled in by the module's setup."""
    return {}


@pytest.fixture(scope="module")
def console_setup(enrolment_codes):  # noqa: ANN201
    """Two agents of BPO One with the generated list, one agent of BPO Two, and an owner admin."""

    def setup(root: Path, port: int) -> Path:
        data_dir, added = prepare_installation(root, port, agents=("anna.k", "jan.n"))
        enrolment_codes.update({login: answer["enrolment_code"] for login, answer in added.items()})
        cli(data_dir, "outsourcer", "add", "BPO Two")
        cli(data_dir, "campaign", "create", IMPORT_CAMPAIGN, "--policy", str(POLICY))  # no agent works it
        args = ("agent", "add", ONE_MORE, "--outsourcer", "BPO Two", "--campaign", "Jesień", "--password-stdin")
        cli(data_dir, *args, "--json", stdin=AGENT_PASSWORD + "\n")
        cli(data_dir, "admin", "create", "olga.admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
        return data_dir

    return setup


def _totp(secret_base32: str, at: float) -> str:
    import base64

    padded = secret_base32.replace(" ", "").upper()
    padded += "=" * (-len(padded) % 8)
    totp = TOTP(base64.b32decode(padded), 6, SHA1(), 30, enforce_key_length=False)  # noqa: S303 - RFC 6238 default
    return totp.generate(int(at)).decode()


def test_totp_enrolment_then_login_with_the_next_code(console_server, page, watch) -> None:
    page.goto(console_server.origin + "/audit")
    assert page.url.startswith(console_server.origin + "/login")
    page.fill("#login", "olga.admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#totp-secret")
    assert page.locator(".qr svg, img.qr, .qr img").count() >= 1  # the QR code is on the page
    secret = page.inner_text("#totp-secret")
    enrolled_at = time.time()
    page.fill("#code", _totp(secret, enrolled_at))
    page.click("button[type=submit]")
    codes = page.locator("#recovery-codes li")
    assert codes.count() == 10
    page.click("text=I have saved them")
    page.wait_for_load_state()
    assert page.url.startswith(console_server.origin + "/audit")
    assert page.locator("header .user").inner_text().startswith("olga.admin")

    page.click("header form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/login.*"))
    assert page.goto(console_server.origin + "/audit").url.startswith(console_server.origin + "/login")
    page.fill("#login", "olga.admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#factor-title")
    page.fill("#code", _totp(secret, enrolled_at))  # the code already used: refused (RFC 6238, 5.2)
    page.click("button[type=submit]")
    page.wait_for_selector("#factor-title")
    assert page.url.endswith("/login/second-factor")
    page.fill("#code", _totp(secret, enrolled_at + 30))  # the next time step (within the ±1 window)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert not page.url.startswith(console_server.origin + "/login")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["__Host-custos-console"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Strict"
    watch.assert_clean()


def _polish_list(path: Path, rows: int) -> None:
    lines = ["Imię;Nazwisko;Miasto;Nr klienta;Telefon kontaktowy"]
    lines += [f"Zofia;Wąsik-{i};Łódź;{900000 + i};+48 600 100 {i:03d}" for i in range(rows)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1250"))


def test_import_with_mapping_preview_and_progress(console_server, page, log_in, watch, tmp_path) -> None:
    log_in(Role.ADMIN, login="imp.admin")
    source = tmp_path / "lista.csv"
    _polish_list(source, 40)
    page.goto(console_server.origin + "/import")
    page.select_option("#import-campaign", IMPORT_CAMPAIGN)
    page.set_input_files("#import-file", str(source))
    page.click("text=Upload and preview")
    page.wait_for_selector("#preview-title")
    preview = page.content()
    assert "cp1250" in preview.lower() or "windows-1250" in preview.lower()
    assert "Wąsik-1" not in preview and "600 100 001" not in preview and "600100001" not in preview  # masked
    city = page.locator("select[name^=map_]").nth(2)
    city.select_option("ignore")  # change the mapping: Miasto is not imported
    page.click("text=Show with this mapping")
    page.wait_for_selector("#preview-title")
    assert page.locator("select[name^=map_]").nth(2).input_value() == "ignore"
    page.click("text=Import with this mapping")
    page.wait_for_selector("[data-count=imported]", timeout=60_000)
    assert page.inner_text("[data-count=imported]") == "40"
    assert page.locator("#import-progress").get_attribute("value") == "100"
    watch.assert_clean()


def _received_phone(record: dict) -> str:
    """The sample row an agent was given (its visible first name and city, the last 4 of its customer id)."""
    fields = {f["name"]: f["value"] for f in record["fields"]}
    for row, phone in zip(generate_contacts(CONTACTS), expected_phones(CONTACTS), strict=True):
        if (
            row["Imię"] == fields.get("first_name")
            and row["Miasto"] == fields.get("city")
            and fields.get("customer_id", "").endswith(row["Nr klienta"][-4:])
        ):
            return phone
    raise AssertionError("the record is not one of the sample rows")


def test_lookup_of_the_phone_an_agent_just_got_shows_that_agent(
    console_server, enrolment_codes, page, log_in, watch
) -> None:
    agent = Scraper(int(console_server.api_origin.rsplit(":", 1)[1]), console_server.ca)
    try:
        agent.enrol_and_login(enrolment_codes["jan.n"], "jan.n", AGENT_PASSWORD)
        record = agent.post("/next", {}).json()["record"]
    finally:
        agent.close()
    phone = _received_phone(record)
    assert phone[3:] not in json.dumps(record)  # the agent was never sent the number
    log_in(Role.ADMIN, login="look.admin")
    page.goto(console_server.origin + "/lookup")
    page.fill("#lookup-value", phone)
    page.click(".lookup-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".lookup-result").count() == 1, page.inner_text("main")
    result = page.inner_text(".lookup-result")
    assert page.locator(".lookup-result table").count() == 1, result
    assert "jan.n" in result and "BPO One" in result and "bot" in result  # the agent, its outsourcer, its device
    assert "127.0.0.1" in result  # the address it worked from
    assert phone[3:] not in page.content()  # the number is not echoed in full
    watch.assert_clean()


def test_suspending_an_agent_in_the_console_stops_the_real_agent(
    console_server, enrolment_codes, page, log_in, watch
) -> None:
    agent = Scraper(int(console_server.api_origin.rsplit(":", 1)[1]), console_server.ca)
    try:
        agent.enrol_and_login(enrolment_codes["anna.k"], "anna.k", AGENT_PASSWORD)
        assert agent.still_works().status_code == 200
        log_in(Role.ADMIN, login="susp.admin")
        page.on("dialog", lambda dialog: dialog.accept())  # the form's "Suspend this agent now?"
        page.goto(console_server.origin + "/agents/anna.k")
        page.fill("#reason", "left the team")
        page.click("form[action$='/suspend'] button[type=submit]")
        page.wait_for_load_state()
        assert "left the team" in page.inner_text("main")
        refused = agent.still_works()
        assert refused.status_code in (401, 403), refused.text
        assert refused.json()["code"] in ("account_suspended", "unauthorized")
    finally:
        agent.close()
    watch.assert_clean()


def test_a_supervisor_sees_its_agents_and_nothing_else(console_server, page, log_in, watch) -> None:
    log_in(Role.SUPERVISOR, login="sup.one", outsourcer="BPO One")
    page.goto(console_server.origin + "/agents")
    listing = page.inner_text("main")
    assert "jan.n" in listing and ONE_MORE not in listing
    assert [a.inner_text() for a in page.locator("header nav a").all()] == ["Dashboard", "Agents", "Alerts", "Account"]
    for path in ("/lookup", "/import", "/lists", "/reports", "/audit", "/campaigns"):
        assert page.goto(console_server.origin + path).status == 403, path
    assert page.goto(console_server.origin + f"/agents/{ONE_MORE}").status == 404
    watch.assert_clean()  # the refusals below are logged by the browser as failed fetches, by design
    csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
    for action, body in (
        ("/lists/export", "campaign=Jesie%C5%84&confirm=Jesie%C5%84&format=csv"),
        ("/lookup", "kind=phone&value=600100001"),
    ):
        status = page.evaluate(
            """async ([url, body, csrf]) => (await fetch(url, {method: "POST", body: body + "&csrf_token=" + csrf,
                 headers: {"Content-Type": "application/x-www-form-urlencoded"}})).status""",
            [console_server.origin + action, body, csrf],
        )
        assert status == 403, action
