"""What each console role may do: one permission per route, checked by :func:`owner_server.console.auth.require`.

Roles follow DESIGN.md (actors and roles): the owner **admin** does
everything; the owner **auditor** reads (lookup, reports, audit, alerts,
campaigns) and changes nothing; an outsourcer **supervisor** sees its own
agents' status, counts and alerts and may suspend its own agents, never a
customer field, a list, a lookup or an export.
"""

from __future__ import annotations

from enum import StrEnum

from owner_server.models import Role

__all__ = ["ROLE_PERMISSIONS", "Permission", "allowed"]


class Permission(StrEnum):
    """One thing a console route does."""

    ACCOUNT = "account"  # own session: home, logout everywhere
    DASHBOARD = "dashboard"  # supervisors: own organisation only
    AGENTS_VIEW = "agents_view"  # supervisors: own agents only
    AGENTS_SUSPEND = "agents_suspend"  # supervisors: own agents only
    AGENTS_MANAGE = "agents_manage"  # reinstate, revoke device, reset password, enrolment code
    ALERTS_VIEW = "alerts_view"  # supervisors: alerts about own agents only
    ALERTS_ACK = "alerts_ack"
    LOOKUP = "lookup"
    REPORTS = "reports"
    AUDIT_VIEW = "audit_view"  # verify, checkpoints, anchors, entries, key status
    KEYS_ROTATE = "keys_rotate"
    CAMPAIGNS_VIEW = "campaigns_view"
    CAMPAIGNS_EDIT = "campaigns_edit"
    IMPORT = "import"
    DNC = "dnc"
    EXPORT = "export"
    ERASURE = "erasure"  # erasure by phone / customer id, retention


_READ = {
    Permission.ACCOUNT,
    Permission.DASHBOARD,
    Permission.AGENTS_VIEW,
    Permission.ALERTS_VIEW,
    Permission.LOOKUP,
    Permission.REPORTS,
    Permission.AUDIT_VIEW,
    Permission.CAMPAIGNS_VIEW,
}

#: The permissions of each console role (agents have none).
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.AUDITOR: frozenset(_READ),
    Role.SUPERVISOR: frozenset(
        {
            Permission.ACCOUNT,
            Permission.DASHBOARD,
            Permission.AGENTS_VIEW,
            Permission.AGENTS_SUSPEND,
            Permission.ALERTS_VIEW,
        }
    ),
    Role.AGENT: frozenset(),
}


def allowed(role: Role, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission``."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
