"""``export``, ``erase``, ``campaign erase``, ``campaign set-retention`` and ``retention run`` through the CLI."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from owner_server.cli.main import build_app
from tests.support.leaks import assert_no_phone

from ..helpers import CONTACTS, seed


@pytest.fixture
def cli(installation, monkeypatch):
    seed(installation, contacts=[dict(c, customer_id=f"C-{i}") for i, c in enumerate(CONTACTS, 1)])
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(installation.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    app, runner = build_app(), CliRunner()

    def run(*args, stdin=None):
        return runner.invoke(app, list(args), input=stdin)

    return run


def _json(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_export_writes_a_private_file_and_refuses_to_overwrite(cli, tmp_path):
    target = tmp_path / "camp.csv"
    report = _json(cli("export", "--campaign", "Camp", "--out", str(target), "--json"))
    assert (report["contacts"], report["erased"], report["file_format"]) == (3, 0, "csv")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    again = cli("export", "--campaign", "Camp", "--out", str(target))
    assert again.exit_code == 2 and "--force" in again.stderr
    assert cli("export", "--campaign", "Camp", "--out", str(target), "--force").exit_code == 0
    xlsx = _json(cli("export", "--campaign", "Camp", "--out", str(tmp_path / "camp.xlsx"), "--json"))
    assert xlsx["file_format"] == "xlsx"


def test_export_bad_input_is_a_clear_error(cli, tmp_path):
    for args, message in [
        (("--campaign", "Nope", "--out", str(tmp_path / "x.csv")), "not found"),
        (("--campaign", "Camp", "--out", str(tmp_path / "x.pdf")), ".csv or .xlsx"),
    ]:
        result = cli("export", *args)
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "data"]


def test_erase_by_phone_reports_refs_not_numbers(cli):
    result = cli("erase", "--phone", "+48 500 000 001", "--json")
    report = _json(result)
    assert report["erased"] == 1 and len(report["contact_refs"]) == 1 and report["storage_scrubbed"]
    assert_no_phone(result.stdout, "+48 500 000 001")
    assert _json(cli("erase", "--phone", "500000001", "--json"))["erased"] == 0
    human = cli("erase", "--customer-id", "C-2")
    assert human.exit_code == 0 and "Erased 1 contact" in human.stdout and "C-2" not in human.stdout


def test_erase_bad_input_changes_nothing(cli):
    cases = [
        ((), "exactly one"),
        (("--phone", "500000001", "--customer-id", "C-1"), "exactly one"),
        (("--phone", "five hundred"), "letters"),
        (("--phone", "500000001", "--campaign", "Nope"), "not found"),
        (("--customer-id", "C-1", "--reason", "because"), "because"),
    ]
    for args, message in cases:
        result = cli("erase", *args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert _json(cli("erase", "--customer-id", "C-1", "--json"))["erased"] == 1  # nothing was erased before


def test_campaign_erase_asks_then_destroys_and_audit_still_verifies(cli):
    refused = cli("campaign", "erase", "Camp", stdin="n\n")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    report = _json(cli("campaign", "erase", "Camp", "--yes", "--json"))
    assert (report["data_keys_destroyed"], report["contacts_erased"], report["already_erased"]) == (1, 3, False)
    assert _json(cli("campaign", "erase", "Camp", "--yes", "--json"))["already_erased"] is True
    assert cli("audit", "verify").exit_code == 0


def test_retention_set_and_run(cli):
    assert cli("campaign", "set-retention", "Camp", "--ends-at", "2020-01-31", "--days", "30").exit_code == 0
    first = _json(cli("retention", "run", "--json"))
    assert [c["campaign"] for c in first["campaigns_erased"]] == ["Camp"]
    assert _json(cli("retention", "run", "--json")) == {"campaigns_erased": []}
    assert cli("audit", "verify").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Camp", "--ends-at", "31.01.2020", "--days", "1"), "--ends-at"),
        (("Camp", "--ends-at", "2020-01-31T10:00", "--days", "1"), "offset"),
        (("Camp", "--ends-at", "2020-01-31", "--days", "-1"), "between"),
        (("Nope", "--ends-at", "2020-01-31", "--days", "1"), "not found"),
    ],
)
def test_set_retention_bad_input(cli, args, message):
    result = cli("campaign", "set-retention", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert _json(cli("retention", "run", "--json")) == {"campaigns_erased": []}


def test_commands_run_as_a_real_process(installation):
    env_dir = str(installation.settings.data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "owner_server", "retention", "run", "--json", "--data-dir", env_dir],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"campaigns_erased": []}


NOTE = "Pani Łucja Żółkiewicz zadzwoniła 2 maja i prosi o usunięcie danych"


def _entries(installation, action):
    from sqlmodel import select

    from owner_server.core.db import session_scope
    from owner_server.models import AuditEntry

    with session_scope(installation.engine) as session:
        return [(e.object_id, json.loads(e.details)) for e in session.exec(select(AuditEntry)) if e.action == action]


def _stored_bytes(installation) -> bytes:
    """Every byte of the database file and its WAL, as someone who copied them would read them."""
    folder = installation.settings.data_dir
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file() and ".db" in p.name)


def test_erase_takes_a_reason_code_and_a_note_kept_encrypted_and_readable_by_an_admin(cli, installation):
    """Issue 10: a code for the log, free text in a note of its own, encrypted, referenced by id and hash."""
    result = cli("erase", "--customer-id", "C-1", "--reason", "objection", "--note", NOTE, "--json")
    report = _json(result)
    assert report["erased"] == 1 and len(report["note_refs"]) == 1
    note_id = report["note_refs"][0]
    [(ref, details)] = _entries(installation, "contact_erased")
    assert details["reason"] == "objection" and details["note_id"] == note_id and len(details["note_sha256"]) == 64
    assert "Żółkiewicz" not in json.dumps(_entries(installation, "contact_erased"), ensure_ascii=False)
    assert "zadzwoniła".encode() not in _stored_bytes(installation) and b"Pani" not in _stored_bytes(installation)
    shown = _json(cli("erasure", "show", note_id, "--json"))
    assert shown["note"] == NOTE and shown["intact"] is True and shown["contact_refs"] == [ref]
    human = cli("erasure", "show", note_id)
    assert human.exit_code == 0 and NOTE in human.stdout and "matches" in human.stdout
    assert [oid for oid, _ in _entries(installation, "erasure_note_read")] == [note_id, note_id]
    assert cli("audit", "verify").exit_code == 0


def test_a_tampered_note_no_longer_matches_its_audit_entry(cli, installation):
    from sqlmodel import select

    from owner_server.core.db import session_scope
    from owner_server.lists.erasure_notes import _associated
    from owner_server.models import ErasureNote

    note_id = _json(cli("erase", "--phone", "500000001", "--note", NOTE, "--json"))["note_refs"][0]
    with session_scope(installation.engine) as session:  # someone with the keys rewrites the note
        row = session.exec(select(ErasureNote)).one()
        box = installation.keys.secret_box(session)
        row.ciphertext = box.encrypt(b"inna notatka", associated_data=_associated(note_id))
        session.add(row)
    assert _json(cli("erasure", "show", note_id, "--json"))["intact"] is False


def test_a_campaigns_erasure_removes_its_notes(cli):
    note_id = _json(cli("erase", "--customer-id", "C-2", "--note", NOTE, "--json"))["note_refs"][0]
    assert cli("campaign", "erase", "Camp", "--yes").exit_code == 0
    gone = cli("erasure", "show", note_id)
    assert gone.exit_code == 2 and "no erasure note" in gone.stderr and "Traceback" not in gone.stderr
    assert cli("audit", "verify").exit_code == 0


@pytest.mark.parametrize(
    ("note", "message"),
    [("   ", "empty"), ("x" * 2001, "at most 2000"), ("line\x00nul", "control characters")],
)
def test_a_bad_note_is_one_line_and_erases_nothing(cli, installation, note, message):
    result = cli("erase", "--customer-id", "C-1", "--note", note)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "xxxx" not in result.stderr
    assert _entries(installation, "contact_erased") == []


def test_a_note_with_nothing_matched_is_not_kept(cli, installation):
    result = cli("erase", "--phone", "+48 511 111 111", "--note", NOTE)
    assert result.exit_code == 0 and "the note was not kept" in result.stdout
    from sqlmodel import select

    from owner_server.core.db import session_scope
    from owner_server.models import ErasureNote

    with session_scope(installation.engine) as session:
        assert session.exec(select(ErasureNote)).all() == []
