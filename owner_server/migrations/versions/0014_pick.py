"""Pick plan: the pick's tiers read only their partial indexes

Drops ``ix_contact_campaign_state_pick``: with it SQLite (and a PostgreSQL
generic plan) chose ``(campaign_id, state, pick_key)`` over the partial
``ix_contact_fresh_pick``/``ix_contact_retry_pick`` and walked every pending
retry. Adds ``ix_lease_contact_user`` so the pick's "this agent had it" test
is one index probe, not a walk of the agent's leases. The retry tier is
ordered by due time on ``(campaign_id, next_eligible_at, pick_key)``, the
callback tiers on ``(campaign_id, callback_at, pick_key)`` of callbacks only.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


_RETRY = "state = 'NEW' AND next_eligible_at IS NOT NULL"


def _retry_index(*columns: str) -> None:
    op.drop_index("ix_contact_retry_pick", "contact")
    op.create_index(
        "ix_contact_retry_pick",
        "contact",
        list(columns),
        sqlite_where=sa.text(_RETRY),
        postgresql_where=sa.text(_RETRY),
    )


def _callback_index(*columns: str, where: str) -> None:
    op.drop_index("ix_contact_callback_pick", "contact")
    op.create_index(
        "ix_contact_callback_pick",
        "contact",
        list(columns),
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    op.drop_index("ix_contact_campaign_state_pick", "contact")
    _retry_index("campaign_id", "next_eligible_at", "pick_key")  # due retries in due order: no walk of pending ones
    op.create_index("ix_lease_contact_user", "lease", ["contact_id", "user_id"])
    # an outcome clears callback_at, so it is set only on scheduled callbacks (and the leased one being worked);
    # not state = 'CALLBACK': PostgreSQL refuses an enum value added in the same transaction (0007's)
    _callback_index("campaign_id", "callback_at", "pick_key", where="callback_at IS NOT NULL")


def downgrade() -> None:
    op.drop_index("ix_lease_contact_user", "lease")
    op.create_index("ix_contact_campaign_state_pick", "contact", ["campaign_id", "state", "pick_key"])
    _retry_index("campaign_id", "pick_key")
    _callback_index("campaign_id", "callback_user_id", "pick_key", where="callback_at IS NOT NULL")
