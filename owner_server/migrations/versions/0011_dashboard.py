"""dashboard: indexes for the live figures (records in the last hour, live tokens, canary counts)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_lease_issued", "lease", ["issued_at", "user_id"])
    op.create_index("ix_accesstoken_expires", "accesstoken", ["expires_at"])
    op.create_index(
        "ix_contact_canary_state",
        "contact",
        ["campaign_id", "state"],
        sqlite_where=sa.text("is_canary = 1"),
        postgresql_where=sa.text("is_canary"),
    )


def downgrade() -> None:
    op.drop_index("ix_contact_canary_state", table_name="contact")
    op.drop_index("ix_accesstoken_expires", table_name="accesstoken")
    op.drop_index("ix_lease_issued", table_name="lease")
