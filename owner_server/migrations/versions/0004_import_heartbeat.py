"""import batch heartbeat (one running import per campaign)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import owner_server.models._common

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("importbatch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", owner_server.models._common.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("importbatch", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
