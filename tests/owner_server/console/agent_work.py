"""Agents that really work through the agent API, for the oversight pages' tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from owner_server.core.db import session_scope
from owner_server.identity import admin
from tests.owner_server.helpers import CONTACTS, PASSWORD, DeviceKey

API = "/api/v1/agent"

#: What no oversight page may ever show: the seeded customers' phone digits and names.
PERSONAL = [c["phone"][3:] for c in CONTACTS] + [c[k] for c in CONTACTS for k in ("first_name", "last_name", "pesel")]
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style", re.IGNORECASE)


def assert_clean(html: str) -> None:
    """No customer data, no inline script, event handler or style in a page."""
    for text in PERSONAL:
        assert text not in html, text
    assert not INLINE.search(html), INLINE.search(html)


def add_other_agent(inst, *, login: str = "other1", outsourcer: str = "Other") -> str:
    """An agent of another organisation (same campaign); returns its enrolment code."""
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name=outsourcer, actor="test")
        made = admin.add_agent(
            session, login=login, outsourcer=outsourcer, campaign="Camp", password=PASSWORD, actor="test"
        )
        return made.enrolment_code


def agent_login(api: TestClient, login: str, code: str) -> dict[str, str]:
    """Enrol a device with ``code`` and log in; returns the bearer header."""
    device = DeviceKey()
    r = api.post(
        f"{API}/enrol", json={"enrolment_code": code, "device_public_key": device.public_b64, "device_name": "pc"}
    )
    assert r.status_code == 200, r.text
    device_id = r.json()["device_id"]
    nonce = api.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    body = {
        "login": login,
        "password": PASSWORD,
        "device_id": device_id,
        "nonce": nonce,
        "signature": device.sign(login, device_id, nonce),
    }
    r = api.post(f"{API}/login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def take(api: TestClient, headers: dict[str, str], *, close: bool = True) -> str:
    """Take the next record (and record an outcome unless ``close`` is False); returns the lease id."""
    r = api.post(f"{API}/next", headers=headers, json={})
    assert r.status_code == 200, r.text
    record = r.json()["record"]
    assert record is not None
    if close:
        done = api.post(f"{API}/dispositions", headers=headers, json={"lease_id": record["lease_id"], "code": "sale"})
        assert done.status_code == 200, done.text
    return str(record["lease_id"])
