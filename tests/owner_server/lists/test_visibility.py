"""Issue 10: an import's contacts are published by batch, and no reader sees them before.

The import is watched from inside (its progress callback runs between two
staged chunks, while the rows are in the table): the pick, the progress
report, the campaign list, a phone lookup, an export and the canary templates
must all behave as if the rows were not there, and all see them at once when
the batch is published, without a row being updated.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, func, select

from owner_server.audit.reports import campaign_progress
from owner_server.demo.sample import generate_contacts, write_polish_excel_csv
from owner_server.identity.campaigns import list_campaigns
from owner_server.lists import importer
from owner_server.lists.export import export_campaign
from owner_server.lists.importing.pipeline import open_file
from owner_server.lists.matching import match_contacts
from owner_server.models import Contact, ImportBatch, Lease
from tests.owner_server.work.strategy_support import make_agents, strategy_policy

ROWS = 2 * importer.STAGE_BATCH + 10  # three chunks: the callback runs while rows are staged


def _readers(inst, tmp_path: Path, shift, phone: str) -> dict[str, object]:
    """What every reader of contacts sees of campaign ``Camp`` now."""
    with Session(inst.engine) as s:
        [progress] = campaign_progress(s)
        [listed] = list_campaigns(s)
    out = tmp_path / f"export-{len(list(tmp_path.iterdir()))}.csv"
    exported = export_campaign(inst.engine, inst.keys, campaign="Camp", out=out, actor="test", force=True)
    return {
        "issued": shift.next().record is not None,
        "progress": progress.total,
        "listed": listed.contacts,
        "lookup": len(match_contacts(inst.engine, inst.keys, phone=phone).contact_ids),
        "exported": exported.contacts,
    }


def test_an_import_in_progress_is_seen_by_no_reader_and_all_at_once_when_published(any_installation, tmp_path):
    inst = any_installation
    [shift] = make_agents(inst, strategy_policy(), agents=1, contacts=0)
    rows = list(generate_contacts(ROWS))
    path = tmp_path / "list.csv"
    write_polish_excel_csv(rows, path)
    exports = tmp_path / "exports"
    exports.mkdir()
    during: list[dict[str, object]] = []

    def watch(handled: int) -> None:
        if during or handled >= ROWS:
            return
        with Session(inst.engine) as s:
            staged = s.exec(select(func.count()).select_from(Contact)).one()
            assert staged >= importer.STAGE_BATCH  # the rows are there, as new contacts of a batch not published
            assert s.exec(select(ImportBatch.status)).all() == ["staging"]
        during.append({"staged": staged, **_readers(inst, exports, shift, rows[0]["Telefon"])})

    report = importer.import_file(
        inst.engine, keys=inst.keys, campaign_name="Camp", opened=open_file(path), actor="test", on_progress=watch
    )
    [seen] = during
    staged = seen.pop("staged")
    assert seen == {"issued": False, "progress": 0, "listed": {"staged": staged}, "lookup": 0, "exported": 0}
    after = _readers(inst, exports, shift, rows[0]["Telefon"])
    assert after == {
        "issued": True,
        "progress": report.imported,
        "listed": {"new": report.imported},  # read before the pick
        "lookup": 1,
        "exported": report.imported,
    }


def test_new_contacts_are_issued_oldest_published_batch_first_in_random_order(installation, tmp_path):
    inst = installation
    [shift] = make_agents(inst, strategy_policy(), agents=1, contacts=0)
    batches = []
    for seed in (1, 2):
        path = tmp_path / f"list{seed}.csv"
        write_polish_excel_csv(list(generate_contacts(20, seed=seed)), path)
        report = importer.import_file(
            inst.engine, keys=inst.keys, campaign_name="Camp", opened=open_file(path), actor="t"
        )
        batches += [report.batch_id] * report.imported
    issued: list[tuple[int | None, int]] = []
    while (record := shift.next().record) is not None:
        with Session(inst.engine) as s:
            found = s.exec(
                select(Contact.batch_id, Contact.source_record)
                .join(Lease, col(Lease.contact_id) == col(Contact.id))
                .where(Lease.id == record.lease_id)
            ).one()
        issued.append(found)
        shift.dispose(record.lease_id, "sale")
    assert [batch for batch, _ in issued] == batches  # the first list is worked through before the second
    first = [record_no for batch, record_no in issued if batch == batches[0]]
    assert first != sorted(first)  # within a batch by pick_key, never in file order
