"""What every work request needs to know about the agent: campaign, policy, outsourcer, time zone."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlmodel import Session

from owner_server.identity.outsourcers import effective_limits
from owner_server.models import Campaign, Outsourcer, User
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
    """An agent with its campaign, the campaign's policy, its outsourcer and the limits in force."""

    user: User
    campaign: Campaign
    policy: CampaignPolicy
    outsourcer: Outsourcer | None
    zone: ZoneInfo
    limits: EffectiveLimits

    @property
    def user_id(self) -> int:
        """The agent's id (always set for a stored user)."""
        assert self.user.id is not None
        return self.user.id

    @property
    def campaign_id(self) -> int:
        """The campaign's id."""
        assert self.campaign.id is not None
        return self.campaign.id


def load_context(session: Session, *, user: User) -> AgentContext:
    """Load the agent's work context.

    Raises:
        NotFoundError: The agent has no campaign, or it was erased.
    """
    campaign = session.get(Campaign, user.campaign_id) if user.campaign_id is not None else None
    if campaign is None or campaign.id is None or campaign.erased_at is not None:
        raise NotFoundError("no campaign is assigned to this agent")
    policy = parse_policy(campaign.policy_json)
    outsourcer = session.get(Outsourcer, user.outsourcer_id) if user.outsourcer_id is not None else None
    return AgentContext(
        user=user,
        campaign=campaign,
        policy=policy,
        outsourcer=outsourcer,
        zone=ZoneInfo(policy.timezone),
        limits=EffectiveLimits(*effective_limits(policy.limits, outsourcer)),
    )
