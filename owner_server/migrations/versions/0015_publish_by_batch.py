"""Publish by batch: an import's contacts become visible when its batch is published

Contacts are inserted as ``NEW`` under their import batch and stay invisible
until the batch's status is ``published`` (owner_server.lists.visibility), so
publishing a list is one row, not an update of each contact. Adds
``contact.pick_batch`` (the order of new contacts: oldest published batch
first, 0 for contacts of no batch), rebuilds ``ix_contact_fresh_pick`` on
``(campaign_id, pick_batch, pick_key)`` and replaces ``ix_contact_batch_id``
with ``(batch_id, state)``. Rows still ``STAGED`` (an import that died before
this upgrade; its batch is not published) become ``NEW``: still invisible, and
the next import into their campaign removes them.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_FRESH = "state = 'NEW' AND next_eligible_at IS NULL"


def _fresh_index(*columns: str) -> None:
    op.drop_index("ix_contact_fresh_pick", "contact")
    op.create_index(
        "ix_contact_fresh_pick", "contact", list(columns), sqlite_where=sa.text(_FRESH), postgresql_where=sa.text(_FRESH)
    )


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch_op:
        batch_op.add_column(sa.Column("pick_batch", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE contact SET pick_batch = batch_id WHERE batch_id IS NOT NULL")
    op.execute("UPDATE contact SET state = 'NEW' WHERE state = 'STAGED'")
    _fresh_index("campaign_id", "pick_batch", "pick_key")
    op.drop_index("ix_contact_batch_id", "contact")
    op.create_index("ix_contact_batch_state", "contact", ["batch_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_contact_batch_state", "contact")
    op.create_index("ix_contact_batch_id", "contact", ["batch_id"])
    _fresh_index("campaign_id", "pick_key")
    op.execute(
        "UPDATE contact SET state = 'STAGED' WHERE state = 'NEW' AND batch_id IN "
        "(SELECT id FROM importbatch WHERE status != 'published')"
    )
    with op.batch_alter_table("contact") as batch_op:
        batch_op.drop_column("pick_batch")
