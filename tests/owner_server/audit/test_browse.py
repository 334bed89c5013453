"""Browsing the audit log: keyset pages newest first, exact filters, the head and latest checkpoints."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from owner_server.audit import log as audit
from owner_server.audit.browse import MAX_PAGE, EntryFilter, browse_entries, chain_head, latest_checkpoints
from owner_server.core.db import session_scope


def test_pages_walk_the_whole_log_both_ways(installation) -> None:
    with session_scope(installation.engine) as s:
        for i in range(25):
            audit.append(s, actor="admin:x", action="step", object_type="n", object_id=str(i))
        head = chain_head(s)
        wanted = EntryFilter(action="step")
        seen, before = [], None
        while True:
            page = browse_entries(s, wanted=wanted, before=before, limit=10)
            seen += [e.seq for e in page.entries]
            if page.older is None:
                break
            before = page.older
        assert seen == sorted(seen, reverse=True) and len(seen) == 25 and seen[0] == head.seq
        last = browse_entries(s, wanted=wanted, before=before, limit=10)
        back = browse_entries(s, wanted=wanted, after=last.newer, limit=10)
        assert [e.seq for e in back.entries] == seen[10:20]
        assert browse_entries(s, wanted=wanted, after=head.seq).entries == ()
        assert browse_entries(s, wanted=EntryFilter(object_type="n", object_id="3")).entries[0].object_id == "3"
        assert len(browse_entries(s, limit=10_000).entries) <= MAX_PAGE


def test_head_and_checkpoints(installation) -> None:
    with session_scope(installation.engine) as s:
        key = Ed25519PrivateKey.generate()
        first = audit.sign_checkpoint(s, key=key)
        audit.append(s, actor="admin:x", action="step")
        second = audit.sign_checkpoint(s, key=key)
        assert [c.seq for c in latest_checkpoints(s, limit=5)] == [second.seq, first.seq]
        assert chain_head(s).seq == second.seq and chain_head(s).hash == second.head_hash
