"""containment: limits per outsourcer, suspension, lockout, alerts, canaries, random issue order

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import owner_server.models._common

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = owner_server.models._common.UtcDateTime(timezone=True)


def _s(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    with op.batch_alter_table("outsourcer") as b:
        b.add_column(sa.Column("per_hour_limit", sa.Integer(), nullable=True))
        b.add_column(sa.Column("per_day_limit", sa.Integer(), nullable=True))
        b.add_column(sa.Column("networks", sa.String(), nullable=False, server_default="[]"))
        b.add_column(sa.Column("shift_start", _s(5), nullable=True))
        b.add_column(sa.Column("shift_end", _s(5), nullable=True))
    with op.batch_alter_table("app_user") as b:
        b.add_column(sa.Column("suspended_at", _TS, nullable=True))
        b.add_column(sa.Column("suspended_reason", _s(200), nullable=True))
        b.add_column(sa.Column("locked_until", _TS, nullable=True))
    with op.batch_alter_table("accesstoken") as b:
        b.add_column(sa.Column("address", _s(64), nullable=False, server_default=""))
        b.add_column(sa.Column("created_at", _TS, nullable=True))
    with op.batch_alter_table("lease") as b:
        b.add_column(sa.Column("last_session_id", _s(32), nullable=True))
        b.add_column(sa.Column("reissues", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_lease_user_issued", "lease", ["user_id", "issued_at"])
    with op.batch_alter_table("contact") as b:
        b.add_column(sa.Column("pick_key", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("is_canary", sa.Boolean(), nullable=False, server_default=sa.false()))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE contact SET pick_key = floor(random() * 2147483647)::int")
    else:
        op.execute("UPDATE contact SET pick_key = abs(random()) % 2147483647")
    op.create_index("ix_contact_campaign_state_pick", "contact", ["campaign_id", "state", "pick_key"])
    op.create_index("ix_display_event_user_kind_at", "display_event", ["user_id", "kind", "received_at"])
    op.create_index("ix_display_event_user_at", "display_event", ["user_id", "received_at"])
    op.create_index("ix_disposition_user_created", "disposition", ["user_id", "created_at"])
    op.create_table(
        "loginfailure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_loginfailure_user_at", "loginfailure", ["user_id", "at"])
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", _s(32), nullable=False),
        sa.Column("rule", _s(32), nullable=False),
        sa.Column("action", _s(16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("outsourcer_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("figures", sa.String(), nullable=False),
        sa.Column("status", _s(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("acked_at", _TS, nullable=True),
        sa.Column("acked_by", _s(80), nullable=True),
        sa.Column("ack_note", _s(500), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["outsourcer_id"], ["outsourcer.id"]),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref"),
    )
    op.create_index("ix_alert_user_rule_created", "alert", ["user_id", "rule", "created_at"])
    op.create_index("ix_alert_status_created", "alert", ["status", "created_at"])
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", _s(16), nullable=False),
        sa.Column("status", _s(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_error", _s(200), nullable=True),
        sa.Column("sent_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "channel"),
    )
    op.create_index("ix_alert_delivery_due", "alert_delivery", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("alert_delivery")
    op.drop_table("alert")
    op.drop_table("loginfailure")
    op.drop_index("ix_disposition_user_created", "disposition")
    op.drop_index("ix_display_event_user_at", "display_event")
    op.drop_index("ix_display_event_user_kind_at", "display_event")
    op.drop_index("ix_contact_campaign_state_pick", "contact")
    with op.batch_alter_table("contact") as b:
        b.drop_column("is_canary")
        b.drop_column("pick_key")
    op.drop_index("ix_lease_user_issued", "lease")
    with op.batch_alter_table("lease") as b:
        b.drop_column("reissues")
        b.drop_column("last_session_id")
    with op.batch_alter_table("accesstoken") as b:
        b.drop_column("created_at")
        b.drop_column("address")
    with op.batch_alter_table("app_user") as b:
        b.drop_column("locked_until")
        b.drop_column("suspended_reason")
        b.drop_column("suspended_at")
    with op.batch_alter_table("outsourcer") as b:
        b.drop_column("shift_end")
        b.drop_column("shift_start")
        b.drop_column("networks")
        b.drop_column("per_day_limit")
        b.drop_column("per_hour_limit")
