"""The console's menu: each page with the permission it needs, so nobody is shown a page they would be refused."""

from __future__ import annotations

from dataclasses import dataclass

from owner_server.console.permissions import Permission, allowed
from owner_server.identity.console_sessions import ConsolePrincipal

__all__ = ["NAV", "NavItem", "nav_items"]


@dataclass(frozen=True, slots=True)
class NavItem:
    """A menu entry: the English label (translated in the template), its path and permission."""

    label: str
    path: str
    permission: Permission


NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", "/", Permission.DASHBOARD),
    NavItem("Lookup", "/lookup", Permission.LOOKUP),
    NavItem("Agents", "/agents", Permission.AGENTS_VIEW),
    NavItem("Alerts", "/alerts", Permission.ALERTS_VIEW),
    NavItem("Campaigns", "/campaigns", Permission.CAMPAIGNS_VIEW),
    NavItem("Import", "/import", Permission.IMPORT),
    NavItem("Lists", "/lists", Permission.DNC),
    NavItem("Audit", "/audit", Permission.AUDIT_VIEW),
    NavItem("Reports", "/reports", Permission.REPORTS),
    NavItem("Account", "/account", Permission.ACCOUNT),
)


def nav_items(principal: ConsolePrincipal | None) -> list[NavItem]:
    """The entries ``principal`` may open (none before login)."""
    if principal is None:
        return []
    return [item for item in NAV if allowed(principal.role, item.permission)]
