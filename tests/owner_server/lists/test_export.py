"""Campaign export on both databases: CSV and XLSX rules, outcomes, erased rows, audit, safe writes."""

from __future__ import annotations

import codecs
import csv
import io
import json
import stat
from datetime import datetime

import openpyxl
import pytest
from sqlmodel import Session, select

from owner_server.identity.bearer import principal_for
from owner_server.lists.erasure import erase_by_phone, erase_campaign
from owner_server.lists.export import export_campaign
from owner_server.models import AuditEntry, User
from owner_server.work.distribution import next_record
from owner_server.work.outcomes import record_disposition
from shared.errors import ConflictError, NotFoundError, ValidationError
from shared.protocol import DispositionRequest

from ..helpers import seed, stored_ref

PEOPLE = [
    {
        "first_name": '=HYPERLINK("http://evil","x")',
        "last_name": "Żółkiewicz",
        "city": "Łódź",
        "phone": "+48500000001",
        "customer_id": "C-1",
        "extra:vip": "tak",
    },
    {"first_name": "Jan", "last_name": "Kowalski", "city": "-5", "phone": "+48600000002", "customer_id": "C-2"},
    {"first_name": "Ewa", "last_name": "Nowak", "phone": "+48220000004", "customer_id": "C-3", "notes": "@home"},
]
HEADER = [
    "contact_ref",
    "first_name",
    "last_name",
    "phone",
    "city",
    "customer_id",
    "notes",
    "extra:vip",
    "state",
    "attempts",
    "last_disposition",
    "last_disposition_at",
]


@pytest.fixture
def out_dir(tmp_path):
    path = tmp_path / "out"
    path.mkdir()
    return path


def _agent(inst, login="agent1"):
    with Session(inst.engine) as s:
        user = s.exec(select(User).where(User.login == login)).one()
        return principal_for(s, user=user, session_id="s", device_id="d")


def _dispose_first(inst, code="sale") -> str:
    agent = _agent(inst)
    with Session(inst.engine) as s:
        record = next_record(s, agent=agent, keys=inst.keys).record
        assert record is not None
        record_disposition(s, agent=agent, request=DispositionRequest(lease_id=record.lease_id, code=code))
        s.commit()
    return stored_ref(inst, record.lease_id)


def _csv_rows(path):
    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def _audit(inst, action):
    with Session(inst.engine) as s:
        return s.exec(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_csv_is_bom_semicolon_neutralised_with_outcomes(any_installation, out_dir):
    seed(any_installation, contacts=PEOPLE)
    ref = _dispose_first(any_installation)
    target = out_dir / "camp.csv"
    report = export_campaign(
        any_installation.engine, any_installation.keys, campaign="Camp", out=target, actor="test", batch=2
    )
    assert (report.contacts, report.erased, report.file_format) == (3, 0, "csv")
    rows = _csv_rows(target)
    assert rows[0] == HEADER
    by_ref = {r[0]: dict(zip(HEADER, r, strict=True)) for r in rows[1:]}
    by_phone = {r["phone"]: r for r in by_ref.values()}
    first = by_phone["'+48500000001"]
    assert first["first_name"] == "'" + PEOPLE[0]["first_name"]  # a formula comes out neutralised
    assert first["last_name"] == "Żółkiewicz" and first["extra:vip"] == "tak"
    others = [r for r in by_ref.values() if r is not first]
    assert {r["city"] for r in others} == {"'-5", ""}
    assert {r["notes"] for r in others} == {"'@home", ""}
    disposed = by_ref[ref]  # the one the agent got (issue order is random)
    assert (disposed["state"], disposed["attempts"], disposed["last_disposition"]) == ("done", "1", "sale")
    assert datetime.fromisoformat(disposed["last_disposition_at"]).tzinfo is not None
    assert all(r["state"] == "new" and r["last_disposition"] == "" for k, r in by_ref.items() if k != ref)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(out_dir.iterdir()) == [target]  # no temporary file left behind


def test_export_is_audited_with_counts_only(any_installation, out_dir):
    seed(any_installation, contacts=PEOPLE)
    export_campaign(any_installation.engine, any_installation.keys, campaign="Camp", out=out_dir / "a.csv", actor="t")
    (entry,) = _audit(any_installation, "campaign_exported")
    assert json.loads(entry.details) == {"format": "csv", "contacts": 3, "erased": 0, "columns": len(HEADER)}
    assert "500000001" not in entry.details and "Kowalski" not in entry.details


def test_xlsx_cells_are_text(any_installation, out_dir):
    seed(any_installation, contacts=PEOPLE)
    target = out_dir / "camp.xlsx"
    export_campaign(any_installation.engine, any_installation.keys, campaign="Camp", out=target, actor="test")
    sheet = openpyxl.load_workbook(target)["contacts"]
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == HEADER
    col = {name: i for i, name in enumerate(HEADER)}
    phones = {r[col["phone"]].value: r[col["phone"]] for r in rows[1:]}
    assert set(phones) == {"+48500000001", "+48600000002", "+48220000004"}
    assert all(c.data_type == "s" for c in phones.values())  # text, not a number
    formula = next(r[col["first_name"]] for r in rows[1:] if r[col["customer_id"]].value == "C-1")
    assert formula.value == PEOPLE[0]["first_name"] and formula.data_type == "s" and formula.quotePrefix
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_erased_contacts_export_as_ref_and_state_only(any_installation, out_dir):
    seed(any_installation, contacts=PEOPLE)
    _dispose_first(any_installation)
    erased = erase_by_phone(any_installation.engine, any_installation.keys, phone="500 000 001", actor="t")
    target = out_dir / "after.csv"
    report = export_campaign(any_installation.engine, any_installation.keys, campaign="Camp", out=target, actor="t")
    assert (report.contacts, report.erased) == (3, 1)
    header, *body = _csv_rows(target)
    assert "extra:vip" not in header  # only the erased contact had it
    rows = {r[0]: r for r in body}
    ref = erased.contact_refs[0]
    assert rows[ref] == [ref, *[""] * (len(header) - 5), "erased", "", "", ""]


def test_erased_campaign_exports_refs_only(any_installation, out_dir):
    seed(any_installation, contacts=PEOPLE)
    erase_campaign(any_installation.engine, any_installation.keys, name="Camp", actor="t")
    target = out_dir / "gone.csv"
    report = export_campaign(any_installation.engine, any_installation.keys, campaign="Camp", out=target, actor="t")
    rows = _csv_rows(target)
    assert rows[0] == ["contact_ref", "state", "attempts", "last_disposition", "last_disposition_at"]
    assert report.erased == 3 and all(r[1:] == ["erased", "", "", ""] for r in rows[1:])


def test_existing_file_is_kept_unless_forced(installation, out_dir):
    seed(installation, contacts=PEOPLE)
    target = out_dir / "keep.csv"
    target.write_text("precious")
    target.chmod(0o644)
    with pytest.raises(ConflictError, match="--force"):
        export_campaign(installation.engine, installation.keys, campaign="Camp", out=target, actor="t")
    assert target.read_text() == "precious"
    export_campaign(installation.engine, installation.keys, campaign="Camp", out=target, actor="t", force=True)
    assert len(_csv_rows(target)) == 4 and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(out_dir.iterdir()) == [target]


@pytest.mark.parametrize(
    ("campaign", "name", "error"),
    [
        ("Nope", "x.csv", NotFoundError),
        ("Camp", "x.txt", ValidationError),
        ("Camp", "missing/x.csv", ValidationError),
    ],
)
def test_bad_input_writes_nothing(installation, out_dir, campaign, name, error):
    seed(installation, contacts=PEOPLE)
    before = len(_audit(installation, "campaign_exported"))
    with pytest.raises(error):
        export_campaign(installation.engine, installation.keys, campaign=campaign, out=out_dir / name, actor="t")
    assert list(out_dir.iterdir()) == []
    assert len(_audit(installation, "campaign_exported")) == before


def test_csv_export_imports_back_unchanged(any_installation, tmp_path):
    """A formula-safe CSV export (phones written as '+48…) is a valid import file."""
    from owner_server.lists import importer
    from owner_server.lists.export import export_campaign
    from owner_server.lists.importing.pipeline import open_file

    from ..cases_support import contacts, make_campaign
    from ..helpers import CONTACTS, seed

    seed(any_installation)
    out = tmp_path / "out.csv"
    export_campaign(any_installation.engine, any_installation.keys, campaign="Camp", out=out, actor="test")
    assert "'+48500000001" in out.read_text(encoding="utf-8-sig")
    make_campaign(any_installation, "Copy")
    report = importer.import_file(
        any_installation.engine, keys=any_installation.keys, campaign_name="Copy", opened=open_file(out), actor="test"
    )
    assert report.imported == len(CONTACTS) and not report.rejected
    copied = [c for c in contacts(any_installation) if c["_record"] != "0"]  # imported rows have record numbers
    assert sorted(c["phone"] for c in copied) == sorted(c["phone"] for c in CONTACTS)
    assert sorted(c["first_name"] for c in copied) == sorted(c["first_name"] for c in CONTACTS)


def test_csv_cannot_hide_a_formula_after_a_separator(installation, tmp_path):
    import csv as csv_module

    from owner_server.lists.export import export_campaign

    from ..helpers import seed

    seed(installation, contacts=[{"first_name": "Kowalska,=1+1", "phone": "+48500000001"}])
    out = tmp_path / "out.csv"
    export_campaign(installation.engine, installation.keys, campaign="Camp", out=out, actor="test")
    text = out.read_text(encoding="utf-8-sig")
    assert '"Kowalska,\'=1+1"' in text  # quoted, and the embedded formula start neutralised
    # read the way a comma-delimited spreadsheet would: the formula stays inside a quoted cell
    for row in csv_module.reader(text.splitlines(), delimiter=","):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)
