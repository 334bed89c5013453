"""import batch owner process (a killed import's lock is seen at once)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("importbatch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_process", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("importbatch", schema=None) as batch_op:
        batch_op.drop_column("owner_process")
