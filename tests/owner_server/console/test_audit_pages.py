"""The console's audit pages: verify (intact, then tampered), checkpoints and anchors, entries, keys and rotation."""

from __future__ import annotations

import json
import re

from sqlmodel import Session, col, select, update

from owner_server.audit import log as audit
from owner_server.core.db import session_scope
from owner_server.models import AuditEntry, DataKey, Role
from tests.owner_server.helpers import seed


def _seqs(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>\s*<td class="nowrap">', page)]


def test_verify_says_intact_then_names_the_first_tampered_entry(installation, console_as) -> None:
    seed(installation)
    auditor = console_as(Role.AUDITOR)
    checkpoint = installation.checkpoint()
    page = auditor.get("/audit")
    assert page.status_code == 200
    assert f"<dd>{checkpoint.seq}</dd>" in page.text and checkpoint.head_hash in page.text  # head, checkpoint, anchor
    assert page.text.count(checkpoint.head_hash) == 3
    ok = auditor.post_form("/audit/verify")
    assert ok.status_code == 200 and "verify-ok" in ok.text
    assert f"{checkpoint.seq} entries and 1 signed checkpoints checked" in ok.text
    with Session(installation.engine) as s:
        s.execute(update(AuditEntry).where(col(AuditEntry.seq) == 3).values(details='{"edited":true}'))
        s.commit()
    bad = auditor.post_form("/audit/verify", headers={"HX-Request": "true"})
    assert bad.status_code == 200 and "<html" not in bad.text  # the htmx fragment
    assert "Audit log BROKEN at entry 3." in bad.text and "entry 3 was altered (hash mismatch)" in bad.text
    assert 'href="/audit/entries?before=4"' in bad.text


def test_verify_changes_nothing_and_needs_the_csrf_token(installation, console_as) -> None:
    auditor = console_as(Role.AUDITOR)
    with Session(installation.engine) as s:
        before = len(s.exec(select(AuditEntry)).all())
    assert auditor.post("/audit/verify", data={}).status_code == 403
    assert auditor.post_form("/audit/verify").status_code == 200
    with Session(installation.engine) as s:
        assert len(s.exec(select(AuditEntry)).all()) == before


def _fill(installation, n: int) -> None:
    with session_scope(installation.engine) as s:
        for i in range(n):
            actor = "admin:anna" if i % 2 else "admin:bob"
            audit.append(s, actor=actor, action="thing_done", object_type="thing", object_id=str(i), details={"n": i})


def test_entries_newest_first_with_paging_and_filters(installation, console_as) -> None:
    _fill(installation, 45)
    client = console_as(Role.AUDITOR)
    first = client.get("/audit/entries", params={"action": "thing_done", "limit": 20})
    seqs = _seqs(first.text)
    assert len(seqs) == 20 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'href="(/audit/entries\?[^"]*before=\d+[^"]*)"', first.text)
    assert older and "Newer" not in first.text
    second = client.get(older.group(1).replace("&amp;", "&"))
    more = _seqs(second.text)
    assert len(more) == 20 and max(more) < min(seqs)
    newer = re.search(r'href="(/audit/entries\?[^"]*after=\d+[^"]*)"', second.text)
    assert newer
    assert _seqs(client.get(newer.group(1).replace("&amp;", "&")).text) == seqs
    third = client.get("/audit/entries", params={"action": "thing_done", "limit": 20, "before": min(more)})
    assert len(_seqs(third.text)) == 5 and "before=" not in third.text
    anna = client.get("/audit/entries", params={"actor": "admin:anna", "action": "thing_done"})
    assert len(_seqs(anna.text)) == 22 and "admin:bob" not in anna.text
    one = client.get("/audit/entries", params={"object_type": "thing", "object_id": "7"})
    assert len(_seqs(one.text)) == 1
    assert "{&#34;n&#34;:7}" in one.text  # the details JSON as stored (escaped, never interpreted)
    assert "No entries match." in client.get("/audit/entries", params={"action": "nothing"}).text


def test_keys_status_and_rotation(installation, console_as) -> None:
    seed(installation)
    admin = console_as(Role.ADMIN, login="anna")
    page = admin.get("/audit/keys")
    with Session(installation.engine) as s:
        live = len(s.exec(select(DataKey).where(col(DataKey.destroyed_at).is_(None))).all())
    assert "Active version: 1" in page.text and f'<td class="num">{live}</td>' in page.text
    assert 'action="/audit/keys/rotate"' in page.text and "data-confirm" in page.text
    unconfirmed = admin.post_form("/audit/keys/rotate")
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.text
    done = admin.post_form("/audit/keys/rotate", {"confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/audit/keys?rotated=2&rewrapped={live}"
    after = admin.get(done.headers["location"])
    assert "Active version: 2" in after.text and f"rewrapped {live} data keys" in after.text
    with Session(installation.engine) as s:
        rotated = s.exec(select(AuditEntry).where(AuditEntry.action == "kek_rotated")).all()
        assert {k.kek_version for k in s.exec(select(DataKey)).all()} == {2}
    assert [(e.actor, e.object_id, json.loads(e.details)["rewrapped"]) for e in rotated] == [("admin:anna", "2", live)]
    assert installation.verify_audit().ok


def test_an_auditor_sees_keys_but_may_not_rotate(installation, console_as) -> None:
    auditor = console_as(Role.AUDITOR)
    page = auditor.get("/audit/keys")
    assert page.status_code == 200 and 'action="/audit/keys/rotate"' not in page.text
    assert auditor.post_form("/audit/keys/rotate", {"confirm": "yes"}).status_code == 403
    with Session(installation.engine) as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "kek_rotated")).first() is None


def test_a_supervisor_sees_no_audit_page(installation, console_as) -> None:
    supervisor = console_as(Role.SUPERVISOR)
    for path in ("/audit", "/audit/entries", "/audit/keys"):
        assert supervisor.get(path).status_code == 403, path
    assert supervisor.post_form("/audit/verify").status_code == 403


def test_audit_pages_in_polish_have_no_inline_script_or_style(installation, console_as) -> None:
    client = console_as(Role.ADMIN)
    client.cookies.set("custos-lang", "pl")
    for path in ("/audit", "/audit/entries", "/audit/keys", "/reports", "/lookup"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert " style=" not in page.text and "<script>" not in page.text and " onclick=" not in page.text
    assert "Sprawdź dziennik" in client.get("/audit").text and "Klucze" in client.get("/audit/keys").text
