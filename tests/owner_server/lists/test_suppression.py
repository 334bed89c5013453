"""DNC suppression on both databases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from owner_server.identity.login import AgentPrincipal
from owner_server.lists import suppression
from owner_server.lists.importing.pipeline import open_file
from owner_server.work.distribution import next_record

from ..cases_support import contacts, import_case, make_campaign
from ..helpers import CONTACTS, seed


def _dnc(inst, path: Path):
    opened = open_file(path)
    return suppression.import_dnc(
        inst.engine, keys=inst.keys, rows=opened.rows(), source_sha256=opened.sha256, actor="test"
    )


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("telefon\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _agent(inst, login="agent1"):
    from sqlmodel import select

    from owner_server.models import User

    with Session(inst.engine) as s:
        user = s.exec(select(User).where(User.login == login)).one()
    return AgentPrincipal(user=user, session_id="s", device_id="d")


def test_dnc_number_is_never_issued(any_installation, tmp_path):
    seed(any_installation)
    # the first contact's number, written another way
    report = _dnc(any_installation, _write(tmp_path / "dnc.csv", ["500 000 001", "brak"]))
    assert report.added == 1 and report.contacts_suppressed == 1
    assert [r.record_no for r in report.rejected] == [2]
    agent = _agent(any_installation)
    issued = []
    with Session(any_installation.engine) as s:
        for _ in range(len(CONTACTS)):
            rec = next_record(s, agent=agent, keys=any_installation.keys).record
            if rec is None:
                break
            issued.append(rec.contact_ref)
            s.exec(text("UPDATE lease SET closed_at = CURRENT_TIMESTAMP"))
            s.commit()
    assert len(issued) == len(CONTACTS) - 1


def test_dnc_before_contact_import_suppresses_at_issue_time(any_installation, tmp_path, cases_dir):
    _dnc(any_installation, _write(tmp_path / "dnc.csv", ["+48500000001"]))
    camp = make_campaign(any_installation)
    report = import_case(any_installation, cases_dir / "case01_cp1250_semicolon.csv", camp)
    assert report.suppressed == 1 and report.as_dict()["suppressed_by_dnc"] == 1
    seed(any_installation, contacts=[], campaign="Other")  # creates agent1 on another campaign
    with Session(any_installation.engine) as s:
        clause = suppression.is_suppressed_clause()
        from sqlmodel import select

        from owner_server.models import Contact

        blocked = s.exec(select(Contact).where(clause)).all()
    assert len(blocked) == 1
    states = [c["_state"] for c in contacts(any_installation)]
    assert states == ["suppressed", "new", "new", "new"]  # stored, marked at publish, never issued


def test_dnc_is_idempotent_and_stores_only_indexes(any_installation, tmp_path):
    path = _write(tmp_path / "dnc.csv", ["+48 600 000 002", "0048600000002"])
    first = _dnc(any_installation, path)
    second = _dnc(any_installation, path)
    assert (first.added, second.added, second.already_listed) == (1, 0, 1)
    with any_installation.engine.connect() as conn:
        rows = [bytes(r[0]) for r in conn.execute(text("SELECT phone_bidx FROM suppression"))]
    assert len(rows) == 1 and b"600000002" not in rows[0] and len(rows[0]) == 32
