"""Signs at login and enrolment: several live sessions, a new device, an address outside the site.

``several_sessions`` and ``new_device`` are rules of the agent's campaign
policy (``[rules.several_sessions]``, ``[rules.new_device]``: ``enabled`` and
``action``); ``suspend`` suspends the agent in the same transaction (and
alerts), ``alert`` only alerts. An address outside the outsourcer's networks
is always refused and alerted once per ``LIMITS.login_alert_quiet_s``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.audit.alerts import raise_alert
from owner_server.models import AccessToken, Campaign, User
from owner_server.work.suspension import revoke_tokens, suspend_agent
from shared.containment import RuleAction, RuleName, RulesPolicy, SessionRule
from shared.limits import LIMITS
from shared.policy import CampaignPolicy

__all__ = ["alert_outside_network", "apply_session_rule", "end_other_sessions"]


def _rules(session: Session, user: User) -> RulesPolicy:
    campaign = session.get(Campaign, user.campaign_id) if user.campaign_id is not None else None
    return CampaignPolicy.model_validate_json(campaign.policy_json).rules if campaign else RulesPolicy()


def apply_session_rule(
    session: Session, *, user: User, rule: RuleName, figures: Mapping[str, audit.Detail], now: datetime
) -> bool:
    """Act on a tripped ``several_sessions`` or ``new_device`` rule as the campaign policy says.

    Args:
        session: The login's (or enrolment's) transaction.
        user: The agent.
        rule: ``RuleName.SEVERAL_SESSIONS`` or ``RuleName.NEW_DEVICE``.
        figures: Counts behind it (no personal data).
        now: The time of the request (UTC).

    Returns:
        True when the agent was suspended (the caller refuses the request).
    """
    rules = _rules(session, user)
    config: SessionRule = rules.several_sessions if rule is RuleName.SEVERAL_SESSIONS else rules.new_device
    if not config.enabled:
        return False
    quiet = None if config.action is RuleAction.SUSPEND else timedelta(seconds=LIMITS.login_alert_quiet_s)
    raise_alert(
        session,
        rule=rule,
        action=config.action,
        user=user,
        figures=figures,
        campaign_id=user.campaign_id,
        now=now,
        quiet_for=quiet,  # an agent logging in again and again raises one alert an hour, not a flood
    )
    if config.action is RuleAction.SUSPEND:
        suspend_agent(session, user=user, reason=rule.value, actor="system:rules", figures=figures, now=now)
        return True
    return False


def end_other_sessions(session: Session, *, user: User, now: datetime) -> int:
    """Revoke every token of the agent before a new login.

    Returns:
        How many of them were still live (unrevoked and unexpired): more than
        zero is the ``several_sessions`` sign.
    """
    assert user.id is not None
    live = session.exec(
        select(func.count())
        .select_from(AccessToken)
        .where(AccessToken.user_id == user.id, col(AccessToken.revoked).is_(False), col(AccessToken.expires_at) > now)
    ).one()
    revoke_tokens(session, user_id=user.id)
    return int(live)


def alert_outside_network(session: Session, *, user: User, address: str, where: str, now: datetime) -> None:
    """Alert (once per quiet period per agent) that the agent's client came from outside its site's networks.

    Args:
        session: The refused request's transaction (it commits: see ``DeferredError``).
        user: The agent.
        address: The client's address.
        where: ``login`` or ``request`` (a token presented from outside).
        now: The time of the request (UTC).
    """
    raise_alert(
        session,
        rule=RuleName.OUTSIDE_NETWORK,
        action=RuleAction.ALERT,
        user=user,
        figures={"address": address, "where": where},
        campaign_id=user.campaign_id,
        actor="system:login",
        quiet_for=timedelta(seconds=LIMITS.login_alert_quiet_s),
        now=now,
    )
