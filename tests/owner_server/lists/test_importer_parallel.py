"""Large imports: worker processes give the same contacts, and agents keep working meanwhile (SQLite)."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from owner_server.api.app import create_app
from owner_server.core.db import session_scope
from owner_server.demo.sample import expected_phones, generate_contacts, write_sample
from owner_server.identity import admin
from owner_server.lists import importer
from owner_server.lists.importing.pipeline import open_file
from owner_server.models import Campaign, Contact, ContactState

from ..helpers import PASSWORD, POLICY, DeviceKey, relax_containment, seed

API = "/api/v1/agent"
ROWS = 20_000


def _contacts_by_record(inst, campaign: str) -> dict[int, dict[str, str]]:
    with Session(inst.engine) as s:
        camp = s.exec(select(Campaign).where(Campaign.name == campaign)).one()
        rows = s.exec(select(Contact).where(Contact.campaign_id == camp.id)).all()
        cipher = inst.keys.cipher_for(s, data_key_id=rows[0].data_key_id)
        assert {r.state for r in rows} == {ContactState.NEW}
        return {r.source_record: cipher.decrypt_fields(r.ref, r.payload) for r in rows}


def test_worker_processes_import_exactly_what_the_in_process_path_does(installation, tmp_path):
    path = tmp_path / "big.csv"
    write_sample(path, ROWS)
    with session_scope(installation.engine) as s:
        for name in ("Parallel", "InProcess"):
            admin.create_campaign(s, name=name, policy=POLICY, keys=installation.keys, actor="test")
    reports = {
        name: importer.import_file(
            installation.engine,
            keys=installation.keys,
            campaign_name=name,
            opened=open_file(path),
            actor="test",
            workers=workers,
        )
        for name, workers in (("Parallel", 2), ("InProcess", 0))
    }
    assert reports["Parallel"].as_dict() == reports["InProcess"].as_dict()
    assert reports["Parallel"].imported == ROWS

    parallel, in_process = _contacts_by_record(installation, "Parallel"), _contacts_by_record(installation, "InProcess")
    assert parallel == in_process
    assert [parallel[n]["phone"] for n in range(1, ROWS + 1)] == expected_phones(ROWS)
    for n, row in enumerate(generate_contacts(ROWS), start=1):
        if n % 997 == 1:  # a sample of whole rows against the generator
            got = parallel[n]
            assert (got["first_name"], got["last_name"], got["email"], got["city"]) == (
                row["Imię"],
                row["Nazwisko"],
                row["E-mail"],
                row["Miasto"],
            )


def _log_in(client: TestClient, code: str, login: str) -> dict[str, str]:
    device = DeviceKey()
    r = client.post(
        f"{API}/enrol", json={"enrolment_code": code, "device_public_key": device.public_b64, "device_name": "pc"}
    )
    assert r.status_code == 200, r.text
    device_id = r.json()["device_id"]
    nonce = client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    body = {
        "login": login,
        "password": PASSWORD,
        "device_id": device_id,
        "nonce": nonce,
        "signature": device.sign(login, device_id, nonce),
    }
    r = client.post(f"{API}/login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_agents_never_see_an_error_while_a_large_import_runs(installation, tmp_path: Path):
    contacts = [{"first_name": f"Ann {i}", "phone": f"+48600{i:06d}"} for i in range(400)]
    setup = seed(installation, contacts=contacts)
    relax_containment(installation)  # this agent claims at machine speed on purpose: it would trip the rules
    path = tmp_path / "big.csv"
    write_sample(path, 30_000)
    outcome: dict[str, object] = {}

    def run_import() -> None:
        try:
            outcome["report"] = importer.import_file(
                installation.engine,
                keys=installation.keys,
                campaign_name="Camp",
                opened=open_file(path),
                actor="test",
                workers=2,
            )
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    app = create_app(installation.settings, engine=installation.engine, keys=installation.keys)
    with TestClient(app, base_url="https://testserver") as client:
        headers = _log_in(client, setup["agent1"].enrolment_code, "agent1")
        worker = threading.Thread(target=run_import)
        worker.start()
        statuses: list[int] = []
        refs: set[str] = set()
        while worker.is_alive() or not statuses:
            r = client.post(f"{API}/next", headers=headers, json={})
            statuses.append(r.status_code)
            record = r.json().get("record") if r.status_code == 200 else None
            if record is not None:
                refs.add(record["contact_ref"])
                d = client.post(
                    f"{API}/dispositions", headers=headers, json={"lease_id": record["lease_id"], "code": "sale"}
                )
                statuses.append(d.status_code)
        worker.join()
    assert "error" not in outcome, outcome.get("error")
    assert set(statuses) == {200}, statuses
    assert refs and len(statuses) >= 2  # the agent really worked while the import ran
    with Session(installation.engine) as s:
        states = s.exec(select(Contact.state).where(col(Contact.source_record) > 0)).all()
    assert len(states) == 30_000 and set(states) <= {ContactState.NEW, ContactState.LEASED, ContactState.DONE}
