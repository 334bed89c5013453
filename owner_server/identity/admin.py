"""Owner administration: outsourcers, campaigns, users and agents.

Every change is audited in the same transaction. Callers pass ``actor`` (who
is acting, e.g. ``admin:cli``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from owner_server.audit import log as audit
from owner_server.identity.passwords import generate_password, hash_password
from owner_server.models import Campaign, EnrolmentCode, Outsourcer, Role, User
from owner_server.models._common import utcnow
from owner_server.vault.keys import KeyService
from shared.errors import ConflictError, NotFoundError, ValidationError
from shared.limits import LIMITS
from shared.policy import CampaignPolicy

__all__ = [
    "NewAgent",
    "add_agent",
    "add_outsourcer",
    "create_campaign",
    "create_user",
    "get_campaign",
    "hash_code",
    "new_enrolment_code",
]

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def hash_code(code: str) -> str:
    """SHA-256 of a normalised enrolment code (codes carry 60 bits, so no slow hash is needed)."""
    return hashlib.sha256(code.replace("-", "").strip().upper().encode()).hexdigest()


def new_enrolment_code() -> str:
    """A random one-time enrolment code, ``XXXX-XXXX-XXXX`` (60 bits, no look-alike characters)."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def _check_login(login: str) -> None:
    if not (1 <= len(login) <= LIMITS.max_login_chars) or not all(c.isalnum() or c in "._-@" for c in login):
        raise ValidationError("a login is 1-64 letters, digits or . _ - @")


def _unique(session: Session, model: type[User] | type[Outsourcer] | type[Campaign], column: str, value: str) -> None:
    if session.exec(select(model).where(getattr(model, column) == value)).first() is not None:
        raise ConflictError(f"{model.__name__.lower()} '{value}' already exists")


def add_outsourcer(session: Session, *, name: str, actor: str) -> Outsourcer:
    """Register an outsourcer organisation.

    Raises:
        ConflictError: The name is taken.
        ValidationError: The name is empty or too long.
    """
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise ValidationError("an outsourcer name is 1-120 characters")
    _unique(session, Outsourcer, "name", name)
    org = Outsourcer(name=name)
    session.add(org)
    session.flush()
    audit.append(session, actor=actor, action="outsourcer_added", object_type="outsourcer", object_id=str(org.id))
    return org


def create_campaign(session: Session, *, name: str, policy: CampaignPolicy, keys: KeyService, actor: str) -> Campaign:
    """Create a campaign with its policy and a fresh data key.

    Raises:
        ConflictError: The name is taken.
    """
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise ValidationError("a campaign name is 1-120 characters")
    _unique(session, Campaign, "name", name)
    campaign = Campaign(name=name, policy_json=policy.model_dump_json())
    session.add(campaign)
    session.flush()
    assert campaign.id is not None
    key = keys.create_campaign_key(session, campaign_id=campaign.id)
    audit.append(
        session,
        actor=actor,
        action="campaign_created",
        object_type="campaign",
        object_id=str(campaign.id),
        details={"data_key_id": key.data_key_id},
    )
    return campaign


def get_campaign(session: Session, *, name: str) -> Campaign:
    """Find a campaign by name.

    Raises:
        NotFoundError: No such campaign.
    """
    campaign = session.exec(select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        raise NotFoundError(f"campaign '{name}' not found")
    return campaign


def create_user(
    session: Session, *, login: str, role: Role, password: str, actor: str, outsourcer_id: int | None = None
) -> User:
    """Create a console user: an owner admin or auditor, or (with ``outsourcer_id``) a supervisor.

    Raises:
        ConflictError: The login is taken.
        ValidationError: Bad login or too short password.
    """
    _check_login(login)
    if len(password) < 12:
        raise ValidationError("a password has at least 12 characters")
    _unique(session, User, "login", login)
    user = User(login=login, role=role, password_hash=hash_password(password), outsourcer_id=outsourcer_id)
    session.add(user)
    session.flush()
    details: dict[str, audit.Detail] = {"role": role.value}
    if outsourcer_id is not None:
        details["outsourcer_id"] = outsourcer_id
    audit.append(
        session,
        actor=actor,
        action="user_created",
        object_type="user",
        object_id=user.ref,
        details=details,
    )
    return user


@dataclass(frozen=True, slots=True)
class NewAgent:
    """A created agent with its one-time secrets (shown once, never stored clear)."""

    user: User
    password: str
    enrolment_code: str
    password_generated: bool


def add_agent(
    session: Session, *, login: str, outsourcer: str, campaign: str, password: str | None, actor: str
) -> NewAgent:
    """Create an agent bound to an outsourcer and a campaign, with an enrolment code.

    Args:
        session: Open transaction.
        login: The agent's login.
        outsourcer: The outsourcer's name.
        campaign: The campaign's name.
        password: The password, or None to generate one.
        actor: Who acts.

    Returns:
        The agent and its one-time password and enrolment code.

    Raises:
        NotFoundError: Unknown outsourcer or campaign.
        ConflictError: The login is taken.
        ValidationError: Bad login or too short password.
    """
    _check_login(login)
    generated = password is None
    password = password if password is not None else generate_password()
    if len(password) < 12:
        raise ValidationError("a password has at least 12 characters")
    org = session.exec(select(Outsourcer).where(Outsourcer.name == outsourcer)).first()
    if org is None:
        raise NotFoundError(f"outsourcer '{outsourcer}' not found")
    camp = get_campaign(session, name=campaign)
    _unique(session, User, "login", login)
    user = User(
        login=login, role=Role.AGENT, outsourcer_id=org.id, campaign_id=camp.id, password_hash=hash_password(password)
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    code = new_enrolment_code()
    session.add(
        EnrolmentCode(
            user_id=user.id,
            code_hash=hash_code(code),
            expires_at=utcnow() + timedelta(seconds=LIMITS.enrolment_code_ttl_s),
        )
    )
    audit.append(
        session,
        actor=actor,
        action="agent_added",
        object_type="user",
        object_id=user.ref,
        details={"outsourcer_id": org.id, "campaign_id": camp.id},
    )
    return NewAgent(user, password, code, generated)
