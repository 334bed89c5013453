"""Containment settings of a campaign: issuance limits and anomaly rules.

The owner writes them in the campaign policy (``[limits]`` and ``[rules.*]``);
every value has a safe default, so a policy that says nothing is still
contained. The server checks them in the transaction that issues a record
(DESIGN.md, containment); nothing here does IO.
"""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_PER_DAY",
    "DEFAULT_PER_HOUR",
    "BlockedActionsRule",
    "FocusLossRule",
    "HoursRule",
    "IssueLimits",
    "RuleAction",
    "RuleName",
    "RulesPolicy",
    "SessionRule",
    "ShortHandlingRule",
    "VelocityRule",
    "Weekday",
    "check_timezone",
    "within_hours",
]

#: Records an agent may be issued per rolling hour when the owner sets nothing.
DEFAULT_PER_HOUR = 60
#: Records an agent may be issued per calendar day (campaign time zone) when the owner sets nothing.
DEFAULT_PER_DAY = 480

Count = Annotated[int, Field(ge=1, le=100_000)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IssueLimits(_Frozen):
    """Records per agent, counted from issuances (leases), not outcomes.

    Attributes:
        per_hour: Most records issued to one agent in any rolling 60 minutes.
        per_day: Most records issued to one agent in one calendar day of the
            campaign's time zone (``CampaignPolicy.timezone``).
    """

    per_hour: Count = DEFAULT_PER_HOUR
    per_day: Count = DEFAULT_PER_DAY

    @model_validator(mode="after")
    def _hour_within_day(self) -> IssueLimits:
        if self.per_hour > self.per_day:
            raise ValueError("limits.per_hour cannot exceed limits.per_day")
        return self


class RuleAction(StrEnum):
    """What a tripped rule does. ``suspend`` also raises an alert."""

    ALERT = "alert"
    SUSPEND = "suspend"


class RuleName(StrEnum):
    """The anomaly rules, as named in alerts, audit entries and reports."""

    VELOCITY = "velocity"
    SHORT_HANDLING = "short_handling"
    OUTSIDE_HOURS = "outside_hours"
    BLOCKED_ACTIONS = "blocked_actions"
    FOCUS_LOSS = "focus_loss"
    SEVERAL_SESSIONS = "several_sessions"
    NEW_DEVICE = "new_device"
    OUTSIDE_NETWORK = "outside_network"
    LOGIN_LOCKOUT = "login_lockout"
    CLIENT_INTEGRITY = "client_integrity"


class Weekday(StrEnum):
    """Days of the week as written in a policy (ISO order)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def iso(self) -> int:
        """ISO 8601 weekday number, Monday = 1."""
        return _WEEKDAY_ISO[self]


_WEEKDAY_ISO = {day: number for number, day in enumerate(Weekday, start=1)}


class VelocityRule(_Frozen):
    """More than ``max_records`` issued within ``window_minutes`` (default 30 in 10 min: suspend)."""

    enabled: bool = True
    max_records: Count = 30
    window_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 10
    action: RuleAction = RuleAction.SUSPEND


class ShortHandlingRule(_Frozen):
    """Median issuance-to-outcome time of the last ``records`` outcomes under ``min_median_s`` seconds.

    The low median (the lower middle value for an even count): it trips when
    half the outcomes or more were that short.
    """

    enabled: bool = True
    records: Annotated[int, Field(ge=3, le=1000)] = 10
    min_median_s: Annotated[float, Field(gt=0, le=3600)] = 15.0
    action: RuleAction = RuleAction.SUSPEND


class HoursRule(_Frozen):
    """The campaign's working hours; an issuance outside them trips the rule (alert by default).

    ``start``/``end`` are local times in the campaign's time zone
    (``CampaignPolicy.timezone``); ``end`` before ``start`` spans midnight.
    """

    enabled: bool = True
    start: time = time(8, 0)
    end: time = time(21, 0)
    days: tuple[Weekday, ...] = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI, Weekday.SAT)
    action: RuleAction = RuleAction.ALERT

    @model_validator(mode="after")
    def _not_empty(self) -> HoursRule:
        if self.start == self.end:
            raise ValueError("hours.start and hours.end must differ")
        if not self.days:
            raise ValueError("hours.days must name at least one day")
        return self

    def allows(self, local: datetime) -> bool:
        """Tell whether a local time is inside the hours (``end`` before ``start`` spans midnight)."""
        return within_hours(local, self.start, self.end) and local.isoweekday() in {d.iso for d in self.days}


def within_hours(local: datetime, start: time, end: time) -> bool:
    """Tell whether the wall-clock time of ``local`` is in [start, end), spanning midnight when end < start."""
    now = local.time().replace(tzinfo=None)
    return start <= now < end if start < end else (now >= start or now < end)


def check_timezone(name: str) -> str:
    """Return an IANA time-zone name unchanged if it is known.

    Raises:
        ValueError: Unknown zone.
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


class BlockedActionsRule(_Frozen):
    """More than ``max_per_hour`` blocked copy/print/capture attempts by one agent in an hour (alert)."""

    enabled: bool = True
    max_per_hour: Annotated[int, Field(ge=0, le=10_000)] = 5
    action: RuleAction = RuleAction.ALERT


class FocusLossRule(_Frozen):
    """Focus lost during more than ``max_share`` of the agent's last ``displays`` displayed records (alert)."""

    enabled: bool = True
    displays: Annotated[int, Field(ge=3, le=1000)] = 10
    max_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    action: RuleAction = RuleAction.ALERT


class SessionRule(_Frozen):
    """A sign at login: several live sessions, or a new device (alert by default)."""

    enabled: bool = True
    action: RuleAction = RuleAction.ALERT


class RulesPolicy(_Frozen):
    """The anomaly rules of a campaign, each with thresholds and an action."""

    velocity: VelocityRule = VelocityRule()
    short_handling: ShortHandlingRule = ShortHandlingRule()
    hours: HoursRule = HoursRule()
    blocked_actions: BlockedActionsRule = BlockedActionsRule()
    focus_loss: FocusLossRule = FocusLossRule()
    several_sessions: SessionRule = SessionRule()
    new_device: SessionRule = SessionRule()
