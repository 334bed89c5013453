"""The agent's own phone: the PBX endpoint the owner's telephony rings first for every call."""

from __future__ import annotations

import re

from sqlmodel import Session

from owner_server.audit import log as audit
from owner_server.identity.agents import get_agent
from owner_server.models import User
from shared.errors import ValidationError

__all__ = ["check_endpoint", "set_phone"]

#: ``TECH/resource`` as Asterisk dials it: ``PJSIP/1001``, ``PJSIP/agent7``, ``SIP/1001``, ``PJSIP/1001@site-b``.
_ENDPOINT = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,15}/[A-Za-z0-9][A-Za-z0-9_.+@:\-]{0,63}$")


def check_endpoint(endpoint: str) -> str:
    """Validate an endpoint dial string.

    Raises:
        ValidationError: Not ``TECH/resource`` (e.g. ``PJSIP/1001``), or longer than 80 characters.
    """
    endpoint = endpoint.strip()
    if not _ENDPOINT.match(endpoint):
        raise ValidationError("the endpoint must look like PJSIP/1001 (technology/resource, no spaces)")
    return endpoint


def set_phone(session: Session, *, login: str, endpoint: str | None, actor: str) -> User:
    """Set (or clear, with None) an agent's phone endpoint, audited ``agent_phone_set``.

    The audit entry names the technology only (``PJSIP``), not the resource.

    Raises:
        NotFoundError: No such agent.
        ValidationError: A malformed endpoint.
    """
    checked = check_endpoint(endpoint) if endpoint is not None else None
    user = get_agent(session, login=login)
    user.phone_endpoint = checked
    session.add(user)
    audit.append(
        session,
        actor=actor,
        action="agent_phone_set",
        object_type="user",
        object_id=user.ref,
        details={"technology": checked.split("/", 1)[0] if checked else None, "cleared": checked is None},
    )
    return user
