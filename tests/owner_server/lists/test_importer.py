"""Importing into a campaign on both databases: duplicates, all or nothing, re-import, dry run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from owner_server.core.db import session_scope
from owner_server.demo.sample import generate_contacts, write_polish_excel_csv, write_sample
from owner_server.lists import importer
from owner_server.lists.importer import DuplicateRow, ImportReport
from owner_server.lists.importing.normalise import NormalisedRow, RejectedRow
from owner_server.lists.importing.pipeline import open_file
from owner_server.models import Contact, ContactState, ImportBatch

from ..helpers import CONTACTS, seed


def _import(inst, path: Path, *, workers: int = 0, dry_run: bool = False, on_progress=None) -> ImportReport:
    return importer.import_file(
        inst.engine,
        keys=inst.keys,
        campaign_name="Camp",
        opened=open_file(path),
        actor="test",
        dry_run=dry_run,
        workers=workers,
        on_progress=on_progress,
    )


def _counts(inst) -> dict[ContactState, int]:
    with Session(inst.engine) as s:
        rows = s.exec(select(Contact.state, func.count()).group_by(col(Contact.state))).all()
    return dict(rows)


def _csv_with_repeats(path: Path, count: int, repeats: dict[int, int]) -> Path:
    """A sample list where record ``dup`` carries record ``first``'s phone (1-based numbers)."""
    rows = list(generate_contacts(count))
    for dup, first in repeats.items():
        rows[dup - 1]["Telefon"] = rows[first - 1]["Telefon"]
    write_polish_excel_csv(rows, path)
    return path


def test_import_then_reimport_adds_nothing(any_installation, tmp_path):
    seed(any_installation, agents=())
    path = tmp_path / "list.csv"
    write_sample(path, 300)
    first = _import(any_installation, path)
    assert (first.imported, first.duplicates, first.rejected) == (300, [], [])
    assert _counts(any_installation) == {ContactState.NEW: 300 + len(CONTACTS)}

    again = _import(any_installation, path)
    assert again.imported == 0
    assert again.duplicates == [DuplicateRow(n, None) for n in range(1, 301)]
    assert _counts(any_installation) == {ContactState.NEW: 300 + len(CONTACTS)}
    with Session(any_installation.engine) as s:
        batches = s.exec(select(ImportBatch).order_by(col(ImportBatch.id))).all()
    assert [(b.status, b.imported, b.duplicates) for b in batches] == [("published", 300, 0), ("published", 0, 300)]


def test_duplicates_within_file_name_the_first_record(any_installation, tmp_path):
    seed(any_installation, agents=())
    # record 2 repeats 1 in the same chunk; 2600 repeats 10 across chunks; 2700 repeats 2600's original
    path = _csv_with_repeats(tmp_path / "dups.csv", 3000, {2: 1, 2600: 10, 2700: 1})
    report = _import(any_installation, path)
    assert report.duplicates == [DuplicateRow(2, 1), DuplicateRow(2600, 10), DuplicateRow(2700, 1)]
    assert report.imported == 2997
    assert _counts(any_installation) == {ContactState.NEW: 2997 + len(CONTACTS)}


def test_an_existing_contact_is_a_duplicate_without_a_record(any_installation, tmp_path):
    seed(any_installation, agents=())
    path = tmp_path / "list.csv"
    rows = list(generate_contacts(3))
    rows[1]["Telefon"] = CONTACTS[0]["phone"]
    write_polish_excel_csv(rows, path)
    report = _import(any_installation, path)
    assert report.duplicates == [DuplicateRow(2, None)]
    assert report.imported == 2


def _failing(rows: Iterator[NormalisedRow | RejectedRow], after: int) -> Iterator[NormalisedRow | RejectedRow]:
    for n, row in enumerate(rows, start=1):
        if n > after:
            raise RuntimeError("disk fell off")
        yield row


def test_failure_half_way_leaves_the_campaign_as_it_was(any_installation, tmp_path):
    seed(any_installation, agents=())
    path = tmp_path / "list.csv"
    write_sample(path, 5000)
    opened = open_file(path)
    with pytest.raises(RuntimeError, match="disk fell off"):
        importer.import_rows(
            any_installation.engine,
            keys=any_installation.keys,
            campaign_name="Camp",
            rows=_failing(opened.rows(), 3000),
            source_sha256=opened.sha256,
            actor="test",
        )
    assert _counts(any_installation) == {ContactState.NEW: len(CONTACTS)}
    with Session(any_installation.engine) as s:
        assert s.exec(select(ImportBatch.status)).all() == ["failed"]
    # and the same file then imports whole
    assert _import(any_installation, path).imported == 5000


def test_failure_in_the_parallel_path_leaves_nothing_staged(installation, tmp_path):
    seed(installation, agents=())
    path = tmp_path / "list.csv"
    write_sample(path, importer.PARALLEL_MIN_RECORDS + 3 * importer.STAGE_BATCH)

    def interrupt(done: int) -> None:
        if done >= 2 * importer.STAGE_BATCH:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _import(installation, path, workers=2, on_progress=interrupt)
    assert _counts(installation) == {ContactState.NEW: len(CONTACTS)}


def test_staged_rows_of_another_import_are_not_duplicates(any_installation, tmp_path):
    seed(any_installation, agents=())
    path = tmp_path / "list.csv"
    write_sample(path, 50)
    # a crashed import whose cleanup was cut short left its rows under a failed batch: they are
    # no contacts, so they block nothing, and the next import into the campaign removes them
    with session_scope(any_installation.engine) as s:
        failed = ImportBatch(campaign_id=1, file_sha256="x", status="failed")
        s.add(failed)
        s.flush()
        s.execute(Contact.__table__.update().values(batch_id=failed.id))  # type: ignore[attr-defined]
    assert _import(any_installation, path).imported == 50
    assert _counts(any_installation) == {ContactState.NEW: 50}


def test_dry_run_reports_everything_and_writes_nothing(any_installation, tmp_path):
    seed(any_installation, agents=())
    path = tmp_path / "dups.csv"
    rows = list(generate_contacts(2500))
    rows[2400]["Telefon"] = rows[5]["Telefon"]
    rows[7]["Telefon"] = CONTACTS[2]["phone"]
    rows[9]["Telefon"] = "brak"
    write_polish_excel_csv(rows, path)
    report = _import(any_installation, path, dry_run=True)
    assert report.duplicates == [DuplicateRow(8, None), DuplicateRow(2401, 6)]
    assert [(r.record_no, r.reason_code) for r in report.rejected] == [(10, "no_number")]
    assert report.imported == 2497 and report.batch_id is None
    assert _counts(any_installation) == {ContactState.NEW: len(CONTACTS)}
    with Session(any_installation.engine) as s:
        assert s.exec(select(ImportBatch)).all() == []


def test_unknown_campaign_fails_before_writing(installation, tmp_path):
    from shared.errors import NotFoundError

    path = tmp_path / "list.csv"
    write_sample(path, 5)
    with pytest.raises(NotFoundError):
        _import(installation, path)
    with Session(installation.engine) as s:
        assert s.exec(select(ImportBatch)).all() == []


def test_one_import_at_a_time_per_campaign_and_crashed_imports_are_cleaned(any_installation, cases_dir):
    from datetime import timedelta

    from sqlmodel import Session, select

    from owner_server.core.db import session_scope
    from owner_server.lists import importer
    from owner_server.models import Contact, ContactState, ImportBatch
    from owner_server.models._common import utcnow
    from shared.errors import ConflictError

    from ..cases_support import contacts, import_case, make_campaign

    camp = make_campaign(any_installation)
    # an import that is still running (fresh heartbeat) blocks a second one
    with session_scope(any_installation.engine) as s:
        running = ImportBatch(campaign_id=1, file_sha256="x", heartbeat_at=utcnow())
        s.add(running)
    with pytest.raises(ConflictError, match="another import"):
        import_case(any_installation, cases_dir / "case01_cp1250_semicolon.csv", camp)
    # once its heartbeat is stale it is taken for dead: failed, and its staged rows removed
    with session_scope(any_installation.engine) as s:
        batch = s.exec(select(ImportBatch).where(ImportBatch.file_sha256 == "x")).one()
        batch.heartbeat_at = utcnow() - timedelta(seconds=importer.HEARTBEAT_STALE_S + 1)
        s.add(batch)
        s.add(
            Contact(
                ref="deadbeef" * 4,
                campaign_id=1,
                batch_id=batch.id,
                data_key_id=2,
                payload=b"\x01",
                phone_bidx=b"\0" * 32,
                state=ContactState.NEW,
            )
        )
    report = import_case(any_installation, cases_dir / "case01_cp1250_semicolon.csv", camp)
    assert report.imported == 4 and len(contacts(any_installation)) == 4
    with Session(any_installation.engine) as s:
        assert s.exec(select(ImportBatch).where(ImportBatch.file_sha256 == "x")).one().status == "failed"
        assert s.exec(select(Contact).where(Contact.ref == "deadbeef" * 4)).first() is None


def test_third_and_later_phones_are_stored_encrypted_in_their_slots(installation, tmp_path):
    """Issue 10: phone3, phone4 … are phones like phone2: normalised, encrypted, warned about, never extras."""
    from ..cases_support import contacts

    seed(installation, contacts=[])
    path = tmp_path / "phones.csv"
    path.write_text(
        "Imię;Telefon;Tel. dom.;Tel. służbowy;Telefon 4\n"
        "Anna;500 000 101;22 123 45 67;abc;(0-22) 765 43 21\n"
        "Ewa;500 000 102;;600 000 103;\n",
        encoding="utf-8",
    )
    report = _import(installation, path)
    assert report.imported == 2 and not report.rejected
    got = [
        {k: v for k, v in c.items() if k.startswith("phone") or k.startswith("extra")} for c in contacts(installation)
    ]
    assert got == [
        {"phone": "+48500000101", "phone2": "+48221234567", "phone4": "+48227654321"},
        {"phone": "+48500000102", "phone3": "+48600000103"},
    ]
    warnings = [(w.record_no, w.reason_code, w.reason.split(":")[0]) for w in report.warnings]
    assert (1, "letters", "third phone dropped") in warnings
    assert (1, "repaired_trunk_zero", "fourth repaired") in warnings
    assert not any(ch.isdigit() for w in report.warnings for ch in w.reason)
    with session_scope(installation.engine) as session:
        payloads = b"".join(c.payload for c in session.exec(select(Contact)))
    assert b"600000103" not in payloads and b"+48600000103" not in payloads
