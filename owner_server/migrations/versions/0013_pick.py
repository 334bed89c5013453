"""pick plan (branch pick): the pick's tiers read only their partial indexes

Drops ``ix_contact_campaign_state_pick``: with it SQLite (and a PostgreSQL
generic plan) chose ``(campaign_id, state, pick_key)`` over the partial
``ix_contact_fresh_pick``/``ix_contact_retry_pick`` and walked every pending
retry. Adds ``ix_lease_contact_user`` so the pick's "this agent had it" test
is one index probe, not a walk of the agent's leases.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_contact_campaign_state_pick", "contact")
    op.create_index("ix_lease_contact_user", "lease", ["contact_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_lease_contact_user", "lease")
    op.create_index("ix_contact_campaign_state_pick", "contact", ["campaign_id", "state", "pick_key"])
