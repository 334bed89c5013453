"""What every work request needs to know about the agent: campaign, policy, outsourcer, time zone.

Built from the columns the request's authentication read
(:class:`~owner_server.identity.bearer.AgentPrincipal`): no query, no ORM row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from owner_server.identity.bearer import AgentOutsourcer, AgentPrincipal
from owner_server.identity.outsourcers import effective_limits
from owner_server.work.limits import EffectiveLimits
from shared.errors import NotFoundError
from shared.policy import CampaignPolicy

__all__ = ["AgentContext", "load_context", "parse_policy"]


@lru_cache(maxsize=128)
def parse_policy(policy_json: str) -> CampaignPolicy:
    """The campaign policy of a stored JSON text, parsed once per distinct text (policies are frozen)."""
    return CampaignPolicy.model_validate_json(policy_json)


@dataclass(frozen=True, slots=True)
class AgentContext:
    """An agent with its campaign, the campaign's policy, its outsourcer and the limits in force.

    Attributes:
        user_id: The agent's id (a cold path needing its row loads it by this).
        user_ref: The agent's public ref.
        campaign_id: The campaign's id.
        campaign_name: The campaign's name.
        policy: The campaign's policy.
        outsourcer: The agent's outsourcer's terms (None: no outsourcer).
        zone: The policy's time zone.
        limits: The issue limits in force (the policy's, tightened by the outsourcer's).
    """

    user_id: int
    user_ref: str
    campaign_id: int
    campaign_name: str
    policy: CampaignPolicy
    outsourcer: AgentOutsourcer | None
    zone: ZoneInfo
    limits: EffectiveLimits


def load_context(agent: AgentPrincipal) -> AgentContext:
    """The agent's work context, from what its authentication read (no statement).

    Args:
        agent: The authenticated agent.

    Raises:
        NotFoundError: The agent has no campaign, or it was erased.
    """
    campaign = agent.campaign
    if campaign is None or campaign.erased:
        raise NotFoundError("no campaign is assigned to this agent")
    policy = parse_policy(campaign.policy_json)
    outsourcer = agent.outsourcer
    return AgentContext(
        user_id=agent.user_id,
        user_ref=agent.user_ref,
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        policy=policy,
        outsourcer=outsourcer,
        zone=ZoneInfo(policy.timezone),
        limits=EffectiveLimits(*effective_limits(policy.limits, outsourcer)),
    )
