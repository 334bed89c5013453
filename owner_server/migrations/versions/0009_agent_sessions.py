"""agent sessions and single-use refresh tokens

Revision ID: 0009
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import owner_server.models._common

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = owner_server.models._common.UtcDateTime(timezone=True)


def _s(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "agent_session",
        sa.Column("session_id", _s(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", _s(32), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ends_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("end_reason", _s(32), nullable=True),
        sa.Column("refreshes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index(op.f("ix_agent_session_user_id"), "agent_session", ["user_id"])
    op.create_table(
        "refresh_token",
        sa.Column("token_hash", _s(64), nullable=False),
        sa.Column("session_id", _s(32), nullable=False),
        sa.Column("access_hash", _s(64), nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["agent_session.session_id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_refresh_token_session_id"), "refresh_token", ["session_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_refresh_token_session_id"), table_name="refresh_token")
    op.drop_table("refresh_token")
    op.drop_index(op.f("ix_agent_session_user_id"), table_name="agent_session")
    op.drop_table("agent_session")
