from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import owner_server.models  # noqa: F401


def test_migrations_match_models(installation):
    with installation.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_0015_publishes_by_batch_and_keeps_a_dead_imports_rows_hidden(tmp_path):
    """Issue 10: rows left STAGED by an import that died become NEW under their unpublished batch (still hidden)."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from owner_server.core.migrate import alembic_config

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config()

    def migrate(fn, revision: str) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, revision)

    migrate(command.upgrade, "0014")
    with engine.begin() as conn:
        conn.execute(text("PRAGMA foreign_keys=OFF"))
        for batch, status in ((1, "published"), (2, "staging")):
            conn.execute(
                text(
                    "INSERT INTO importbatch (id, campaign_id, file_sha256, status, imported, rejected, duplicates,"
                    " created_at) VALUES (:id, 1, 'x', :status, 0, 0, 0, '2026-12-01 00:00:00')"
                ),
                {"id": batch, "status": status},
            )
        for n, (batch, state) in enumerate(((1, "NEW"), (2, "STAGED"), (None, "NEW"))):
            conn.execute(
                text(
                    "INSERT INTO contact (ref, campaign_id, batch_id, data_key_id, payload, phone_bidx, state,"
                    " attempts, source_record, pick_key, is_canary) VALUES (:ref, 1, :batch, 1, x'00', x'00', :state,"
                    " 0, :n, :n, 0)"
                ),
                {"ref": f"{n:032x}", "batch": batch, "state": state, "n": n},
            )
    migrate(command.upgrade, "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT batch_id, state, pick_batch FROM contact ORDER BY id")).all()
        indexes = {r[1] for r in conn.execute(text("PRAGMA index_list(contact)"))}
    assert [tuple(r) for r in rows] == [(1, "NEW", 1), (2, "NEW", 2), (None, "NEW", 0)]
    assert {"ix_contact_batch_state", "ix_contact_fresh_pick"} <= indexes and "ix_contact_batch_id" not in indexes
    migrate(command.downgrade, "0014")
    with engine.connect() as conn:
        states = conn.execute(text("SELECT state FROM contact ORDER BY id")).scalars().all()
    assert states == ["NEW", "STAGED", "NEW"]
