"""calls: the Call table and the agent's own phone endpoint

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import owner_server.models._common

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = owner_server.models._common.UtcDateTime(timezone=True)


def _s(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    with op.batch_alter_table("app_user") as b:
        b.add_column(sa.Column("phone_endpoint", _s(80), nullable=True))
    op.create_table(
        "call",
        sa.Column("id", _s(32), nullable=False),
        sa.Column("lease_id", _s(32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("request_id", _s(64), nullable=False),
        sa.Column("provider", _s(16), nullable=False),
        sa.Column("agent_channel", _s(80), nullable=True),
        sa.Column("customer_channel", _s(80), nullable=True),
        sa.Column("state", _s(24), nullable=False),
        sa.Column("result", _s(24), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("agent_answered_at", _TS, nullable=True),
        sa.Column("answered_at", _TS, nullable=True),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("ring_s", sa.Integer(), nullable=False),
        sa.Column("talk_s", sa.Integer(), nullable=False),
        sa.Column("cause", sa.Integer(), nullable=True),
        sa.Column("hangup_requested_at", _TS, nullable=True),
        sa.Column("fields_revealed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["lease_id"], ["lease.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "request_id"),
    )
    op.create_index("ix_call_lease_id", "call", ["lease_id"])
    op.create_index("ix_call_contact_id", "call", ["contact_id"])
    op.create_index("ix_call_user_state", "call", ["user_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_call_user_state", "call")
    op.drop_index("ix_call_contact_id", "call")
    op.drop_index("ix_call_lease_id", "call")
    op.drop_table("call")
    with op.batch_alter_table("app_user") as b:
        b.drop_column("phone_endpoint")
