"""contact strategy: retries, callbacks, outcomes with notes and ids, sequence gaps, verify tries

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import owner_server.models._common

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = owner_server.models._common.UtcDateTime(timezone=True)


def _s(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL 12+ adds an enum value inside a transaction; it is usable only after the commit,
        # so nothing below names it (the callback index is on callback_at, not the state)
        op.execute("ALTER TYPE contactstate ADD VALUE IF NOT EXISTS 'CALLBACK'")
    with op.batch_alter_table("contact") as b:
        b.add_column(sa.Column("next_eligible_at", _TS, nullable=True))
        b.add_column(sa.Column("callback_at", _TS, nullable=True))
        b.add_column(sa.Column("callback_user_id", sa.Integer(), nullable=True))
        b.create_foreign_key("fk_contact_callback_user", "app_user", ["callback_user_id"], ["id"])
    fresh = sa.text("state = 'NEW' AND next_eligible_at IS NULL")
    retry = sa.text("state = 'NEW' AND next_eligible_at IS NOT NULL")
    callback = sa.text("callback_at IS NOT NULL")
    op.create_index(
        "ix_contact_fresh_pick", "contact", ["campaign_id", "pick_key"], sqlite_where=fresh, postgresql_where=fresh
    )
    op.create_index(
        "ix_contact_retry_pick", "contact", ["campaign_id", "pick_key"], sqlite_where=retry, postgresql_where=retry
    )
    op.create_index(
        "ix_contact_callback_pick",
        "contact",
        ["campaign_id", "callback_user_id", "pick_key"],
        sqlite_where=callback,
        postgresql_where=callback,
    )
    with op.batch_alter_table("disposition") as b:
        b.add_column(sa.Column("notes", sa.LargeBinary(), nullable=True))
        b.add_column(sa.Column("callback_at", _TS, nullable=True))
        b.add_column(sa.Column("callback_for", _s(16), nullable=True))
        b.add_column(sa.Column("outcome_id", _s(64), nullable=True))
        b.add_column(sa.Column("session_seq", sa.Integer(), nullable=True))
        b.add_column(sa.Column("occurred_at", _TS, nullable=True))
        b.add_column(sa.Column("call_id", _s(64), nullable=True))
        b.add_column(sa.Column("no_call_reason", _s(32), nullable=True))
        b.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.create_unique_constraint("ux_disposition_user_outcome", ["user_id", "outcome_id"])
    op.create_table(
        "session_sequence",
        sa.Column("session_id", _s(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("gaps", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "verify_try",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lease_id", _s(32), nullable=False),
        sa.Column("field", _s(64), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["lease_id"], ["lease.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verify_try_lease_field", "verify_try", ["lease_id", "field"])


def downgrade() -> None:
    op.drop_index("ix_verify_try_lease_field", "verify_try")
    op.drop_table("verify_try")
    op.drop_table("session_sequence")
    with op.batch_alter_table("disposition") as b:
        b.drop_constraint("ux_disposition_user_outcome", type_="unique")
        for name in ("late", "no_call_reason", "call_id", "occurred_at", "session_seq", "outcome_id"):
            b.drop_column(name)
        for name in ("callback_for", "callback_at", "notes"):
            b.drop_column(name)
    op.drop_index("ix_contact_callback_pick", "contact")
    op.drop_index("ix_contact_retry_pick", "contact")
    op.drop_index("ix_contact_fresh_pick", "contact")
    op.execute("UPDATE contact SET state = 'NEW' WHERE state = 'CALLBACK'")
    with op.batch_alter_table("contact") as b:
        b.drop_constraint("fk_contact_callback_user", type_="foreignkey")
        b.drop_column("callback_user_id")
        b.drop_column("callback_at")
        b.drop_column("next_eligible_at")
