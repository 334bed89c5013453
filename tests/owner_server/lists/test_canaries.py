"""Canary contacts on both databases: stored like imported ones, issued like any, unmarked on the wire, not exported."""

from __future__ import annotations

import csv
import json
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from owner_server.api.app import create_app
from owner_server.core.db import session_scope
from owner_server.demo.sample import write_sample
from owner_server.identity import admin
from owner_server.lists import canaries, importer, suppression
from owner_server.lists.export import export_campaign
from owner_server.lists.importing.pipeline import open_file, phone_rows
from owner_server.models import AuditEntry, Campaign, Contact, ContactState
from owner_server.vault.aead import decode_payload
from shared.errors import NotFoundError, ValidationError
from shared.policy import CampaignPolicy

from ..helpers import PASSWORD, Setup, stored_ref
from ..test_agent_api import API, logged_in

REPO = Path(__file__).resolve().parents[3]
CAMPAIGN = "Jesień"
REAL = 6
TRAPS = ["+48 22 555 01 01", "+48 58 555 02 02"]
TRAPS_E164 = ["+48225550101", "+48585550202"]


def _policy() -> CampaignPolicy:
    """The demo campaign's policy (visible, masked and hidden fields), rules that count calls off."""
    data = tomllib.loads((REPO / "owner_server" / "demo" / "policy.toml").read_text(encoding="utf-8"))
    data["fields"]["notes"] = {"mode": "visible", "label": "Uwagi"}
    data["rules"] = {"velocity": {"enabled": False}, "short_handling": {"enabled": False}, "hours": {"enabled": False}}
    return CampaignPolicy.model_validate(data)


@pytest.fixture
def campaign(any_installation, tmp_path) -> Path:
    """A campaign with REAL contacts imported from a generated Polish Excel CSV (a notes column added)."""
    inst = any_installation
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name="BPO", actor="test")
        admin.create_campaign(session, name=CAMPAIGN, policy=_policy(), keys=inst.keys, actor="test")
    generated = tmp_path / "generated.csv"
    write_sample(generated, REAL, seed=11)
    with generated.open(encoding="cp1250", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    real = tmp_path / "real.csv"
    with real.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow([*rows[0], "Uwagi"])
        for i, row in enumerate(rows[1:]):
            writer.writerow([*row, "klient premium" if i % 2 else "prosi o ofertę"])
    opened = open_file(real)
    report = importer.import_file(
        inst.engine, keys=inst.keys, campaign_name=CAMPAIGN, opened=opened, actor="test", workers=0
    )
    assert report.imported == REAL
    return real


def _traps(tmp_path: Path, lines: list[str], name: str = "traps.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _add(inst, path: Path, count: int | None = None, campaign: str = CAMPAIGN) -> canaries.CanaryReport:
    return canaries.add_canaries(
        inst.engine, keys=inst.keys, campaign_name=campaign, phones=phone_rows(path), actor="test", count=count
    )


def _contacts(inst) -> list[tuple[Contact, dict[str, str]]]:
    with Session(inst.engine) as s:
        rows = s.exec(select(Contact).order_by(col(Contact.id))).all()
        return [
            (row, inst.keys.cipher_for(s, data_key_id=row.data_key_id).decrypt_fields(row.ref, row.payload))
            for row in rows
        ]


def _audit(inst, action: str) -> list[AuditEntry]:
    with Session(inst.engine) as s:
        return list(s.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_canaries_are_stored_like_imported_contacts(any_installation, campaign, tmp_path):
    inst = any_installation
    report = _add(inst, _traps(tmp_path, TRAPS))
    assert (report.added, report.trap_numbers, len(set(report.refs))) == (2, 2, 2)
    stored = _contacts(inst)
    real = [(c, v) for c, v in stored if not c.is_canary]
    canary = [(c, v) for c, v in stored if c.is_canary]
    assert len(real) == REAL and [c.ref for c, _ in canary] == list(report.refs)
    with Session(inst.engine) as s:
        camp = s.exec(select(Campaign).where(Campaign.name == CAMPAIGN)).one()
        key = inst.keys.campaign_key(s, campaign_id=camp.id)
        indexer = inst.keys.indexer(s)
    real_names = {frozenset(v) for _, v in real}
    assert len(real_names) == 1  # every generated row fills every column
    for (contact, values), trap in zip(canary, TRAPS_E164, strict=True):
        assert contact.state is ContactState.NEW and contact.campaign_id == camp.id
        assert contact.data_key_id == key.data_key_id and contact.batch_id is None
        assert contact.phone_bidx == indexer.phone(trap)
        assert values["phone"] == trap
        assert frozenset(values) in real_names  # the same field names as the real contacts
        assert set(decode_payload(contact.payload)) == set(values)
        assert values["first_name"] and values["last_name"] and "@" in values["email"]
        assert values["notes"] in {"klient premium", "prosi o ofertę"}  # a real category, copied
        assert values["customer_id"].startswith("KL-0001") and len(values["customer_id"]) == len("KL-00010001")
        assert 0 <= contact.pick_key < 2**31
        # issued among the real contacts' list (their batch), not in a tier or order of its own
        assert contact.pick_batch == real[0][0].batch_id == real[0][0].pick_batch != 0
    # a ref is dated like the real ones (its first 48 bits are a millisecond time)
    assert {c.ref[:12] for c, _ in canary} <= {c.ref[:12] for c, _ in real}
    (entry,) = _audit(inst, "canary_added")
    assert json.loads(entry.details) == {"count": 2} and entry.object_id == str(camp.id)
    for trap in TRAPS_E164:
        assert trap[3:] not in entry.details


def test_count_reuses_trap_numbers_round_robin(any_installation, campaign, tmp_path):
    inst = any_installation
    report = _add(inst, _traps(tmp_path, [*TRAPS, TRAPS[0]]), count=5)  # a repeated line counts once
    assert (report.added, report.trap_numbers) == (5, 2)
    phones = Counter(v["phone"] for c, v in _contacts(inst) if c.is_canary)
    assert phones == {TRAPS_E164[0]: 3, TRAPS_E164[1]: 2}
    names = {(v["first_name"], v["last_name"]) for c, v in _contacts(inst) if c.is_canary}
    assert len(names) > 1  # each canary its own person
    (entry,) = _audit(inst, "canary_added")
    assert json.loads(entry.details) == {"count": 5}


def test_a_csv_phone_column_is_read_like_dnc_import(any_installation, campaign, tmp_path):
    path = tmp_path / "traps.csv"
    path.write_text("Nazwa;Telefon\npułapka 1;22 555 01 01\npułapka 2;(58) 555-02-02 wew. 12\n", encoding="utf-8")
    report = _add(any_installation, path)
    assert report.added == 2
    stored = sorted((v["phone"], v.get("phone_ext")) for c, v in _contacts(any_installation) if c.is_canary)
    assert stored == [(TRAPS_E164[0], None), (TRAPS_E164[1], "12")]


def _nothing_written(inst) -> None:
    with Session(inst.engine) as s:
        assert s.exec(select(func.count()).select_from(Contact)).one() == REAL
    assert _audit(inst, "canary_added") == []


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([TRAPS[0], "not a number"], "record 2:"),
        ([TRAPS[0], "1.23457E+11"], "record 2: .*scientific"),
        ([TRAPS[0], "", "+48 12"], "record 3:"),
        (["", " "], "no phone number"),
    ],
)
def test_a_file_with_a_bad_line_is_refused_whole(tmp_path, lines, message):
    with pytest.raises(ValidationError, match=message):
        canaries.trap_numbers(phone_rows(_traps(tmp_path, lines)))


@pytest.mark.parametrize(
    ("lines", "count", "message"),
    [
        ([TRAPS[0], "not a number"], None, "record 2:"),
        ([TRAPS[0]], 0, "between 1 and"),
        ([TRAPS[0]], canaries.MAX_CANARIES + 1, "between 1 and"),
    ],
)
def test_bad_input_writes_nothing(any_installation, campaign, tmp_path, lines, count, message):
    with pytest.raises(ValidationError, match=message):
        _add(any_installation, _traps(tmp_path, lines), count=count)
    _nothing_written(any_installation)


def test_trap_number_on_the_dnc_list_is_refused(any_installation, campaign, tmp_path):
    inst = any_installation
    opened = open_file(_traps(tmp_path, ["telefon", TRAPS[1]], name="dnc.csv"))
    suppression.import_dnc(inst.engine, keys=inst.keys, rows=opened.rows(), source_sha256=opened.sha256, actor="t")
    with pytest.raises(ValidationError, match=r"record 2: the number is on the do-not-call list"):
        _add(inst, _traps(tmp_path, TRAPS))
    _nothing_written(inst)


def test_a_real_contacts_number_is_refused(any_installation, campaign, tmp_path):
    inst = any_installation
    real_phone = next(v["phone"] for c, v in _contacts(inst) if not c.is_canary)
    with pytest.raises(ValidationError, match=r"record 1: the number is a real contact's"):
        _add(inst, _traps(tmp_path, [real_phone, TRAPS[0]]))
    _nothing_written(inst)


def test_unknown_campaign_is_refused(any_installation, campaign, tmp_path):
    with pytest.raises(NotFoundError):
        _add(any_installation, _traps(tmp_path, TRAPS), campaign="Nope")
    _nothing_written(any_installation)


def test_a_campaign_without_contacts_gets_its_policy_fields(any_installation, tmp_path):
    inst = any_installation
    with session_scope(inst.engine) as session:
        admin.create_campaign(session, name="Empty", policy=_policy(), keys=inst.keys, actor="test")
    _add(inst, _traps(tmp_path, TRAPS[:1]), campaign="Empty")
    ((contact, values),) = _contacts(inst)
    assert contact.is_canary
    assert set(values) == {"phone", "first_name", "last_name", "city", "customer_id", "address", "postal_code", "email"}


@pytest.fixture
def agent_api(any_installation) -> Iterator[TestClient]:
    inst = any_installation
    app = create_app(inst.settings, engine=inst.engine, keys=inst.keys)
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def _shape(record: dict) -> tuple:
    """What an agent can tell a record by, bar its values: keys, field names, labels, which are masked, the rest.

    The watermark code is per issuance (agent, lease, time, signature): only its length is a shape.
    """
    fields = tuple((f["name"], f["label"], f["masked"]) for f in record["fields"])
    per_issuance = ("lease_id", "contact_ref", "fields", "issued_at", "expires_at", "watermark_code")
    rest = {k: v for k, v in record.items() if k not in per_issuance}
    mark = len(record.get("watermark_code") or "")
    return tuple(sorted(record)), fields, mark, json.dumps(rest, sort_keys=True)


def test_canaries_are_issued_like_any_contact_and_unmarked_on_the_wire(any_installation, campaign, agent_api, tmp_path):
    inst, api = any_installation, agent_api
    report = _add(inst, _traps(tmp_path, TRAPS))
    logins = [f"agent{i}" for i in range(REAL + report.added)]
    with session_scope(inst.engine) as session:
        setup = {
            login: Setup(
                CAMPAIGN,
                login,
                admin.add_agent(
                    session, login=login, outsourcer="BPO", campaign=CAMPAIGN, password=PASSWORD, actor="test"
                ).enrolment_code,
            )
            for login in logins
        }
    records = {}
    for login in logins:  # one record each: every contact, canaries included, goes out
        r = api.post(f"{API}/next", headers=logged_in(api, setup, login), json={})
        assert r.status_code == 200, r.text
        assert "canary" not in r.text.lower()
        records[stored_ref(inst, r.json()["record"]["lease_id"])] = r.json()["record"]
    assert set(report.refs) <= set(records)
    real_shapes = {_shape(rec) for ref, rec in records.items() if ref not in report.refs}
    canary_shapes = {_shape(rec) for ref, rec in records.items() if ref in report.refs}
    assert len(real_shapes) == 1 and canary_shapes == real_shapes
    masked_ids = {
        ref: next(f["value"] for f in rec["fields"] if f["name"] == "customer_id") for ref, rec in records.items()
    }
    assert len({len(v) for v in masked_ids.values()}) == 1  # a masked id's length says nothing either
    for ref in report.refs:
        assert len(ref) == len(next(iter(records))) and int(ref, 16) >= 0
    issued = {e.object_id for e in _audit(inst, "record_issued")}
    assert set(report.refs) <= issued  # the issuance of each canary names its agent in the audit log


def test_canaries_are_left_out_of_exports(any_installation, campaign, tmp_path):
    inst = any_installation
    report = _add(inst, _traps(tmp_path, TRAPS), count=3)
    out = tmp_path / "export.csv"
    done = export_campaign(inst.engine, inst.keys, campaign=CAMPAIGN, out=out, actor="test")
    text = out.read_text(encoding="utf-8-sig")
    assert done.contacts == REAL
    assert not any(ref in text for ref in report.refs)
    assert not any(trap[3:] in text for trap in TRAPS_E164)
    xlsx = tmp_path / "export.xlsx"
    assert export_campaign(inst.engine, inst.keys, campaign=CAMPAIGN, out=xlsx, actor="test").contacts == REAL
