"""Whose data a console user may see: a supervisor only its own organisation's, owner staff everyone's."""

from __future__ import annotations

from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.models import Role
from shared.errors import ForbiddenError

__all__ = ["is_owner_staff", "outsourcer_scope"]


def outsourcer_scope(principal: ConsolePrincipal) -> int | None:
    """The organisation id every query of ``principal`` is restricted to (None: no restriction, owner staff).

    Raises:
        ForbiddenError: A supervisor that belongs to no organisation (it may see nothing).
    """
    if principal.role is not Role.SUPERVISOR:
        return None
    if principal.outsourcer_id is None:
        raise ForbiddenError("this supervisor belongs to no organisation")
    return principal.outsourcer_id


def is_owner_staff(principal: ConsolePrincipal) -> bool:
    """Whether ``principal`` is the owner's (admin or auditor): may see campaigns and every organisation."""
    return principal.role in (Role.ADMIN, Role.AUDITOR)
