"""What every channel says about an alert: built once from the database, rendered per channel.

A message carries the alert ref, rule, action, the agent's login, outsourcer,
campaign, the figures (counts, thresholds, times) and the time it was raised:
never a customer's name, phone or id (the figures are ids and counts by the
contract of :func:`owner_server.audit.alerts.raise_alert`, and anything else in
them is dropped here).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from owner_server.models import Alert, Campaign, Outsourcer, User

__all__ = ["AlertMessage", "load_message"]

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_FIGURES = 24
MAX_FIGURE_CHARS = 64
Figure = str | int | float | bool | None
SUSPENDED_NOTE = "  (the agent is suspended and signed out)"


def _clean_figures(raw: object) -> dict[str, Figure]:
    """Scalar figures under identifier keys only, short strings, at most 24."""
    if not isinstance(raw, dict):
        return {}
    kept: dict[str, Figure] = {}
    for key, value in sorted(raw.items()):
        if len(kept) >= MAX_FIGURES or not isinstance(key, str) or not _KEY.match(key):
            continue
        if isinstance(value, str):
            kept[key] = value[:MAX_FIGURE_CHARS]
        elif value is None or isinstance(value, bool | int | float):
            kept[key] = value
    return kept


@dataclass(frozen=True)
class AlertMessage:
    """One alert, ready to render for any channel.

    Attributes:
        ref: The alert's opaque id (receivers de-duplicate on it: delivery is
            at least once).
        rule: The rule that tripped.
        action: ``alert`` or ``suspend``.
        agent: The agent's login, or None.
        outsourcer: The outsourcer's name, or None.
        campaign: The campaign's name, or None.
        raised_at: When the alert was raised (UTC).
        organisation: The owner's name from the settings.
        figures: Counts, thresholds and times.
    """

    ref: str
    rule: str
    action: str
    agent: str | None
    outsourcer: str | None
    campaign: str | None
    raised_at: datetime
    organisation: str
    figures: dict[str, Figure] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: ``velocity (suspend): agent anna.k, BPO One, campaign Autumn``."""
        parts = [f"agent {self.agent}" if self.agent else "no agent"]
        if self.outsourcer:
            parts.append(self.outsourcer)
        if self.campaign:
            parts.append(f"campaign {self.campaign}")
        return f"{self.rule} ({self.action}): " + ", ".join(parts)

    def as_json(self) -> dict[str, object]:
        """The webhook body's fields."""
        return {
            "type": "custos.alert",
            "version": 1,
            "ref": self.ref,
            "rule": self.rule,
            "action": self.action,
            "agent": self.agent,
            "outsourcer": self.outsourcer,
            "campaign": self.campaign,
            "figures": self.figures,
            "raised_at": self.raised_at.isoformat(timespec="seconds"),
            "organisation": self.organisation,
        }

    def text(self) -> str:
        """A plain-text body for email."""
        lines = [
            f"Custos raised an alert at {self.raised_at.isoformat(timespec='seconds')}.",
            "",
            f"Alert:      {self.ref}",
            f"Rule:       {self.rule}",
            f"Action:     {self.action}"
            + ("  (the agent is suspended and signed out)" if self.action == "suspend" else ""),
            f"Agent:      {self.agent or '-'}",
            f"Outsourcer: {self.outsourcer or '-'}",
            f"Campaign:   {self.campaign or '-'}",
            "",
            "Figures:",
            *(f"  {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in self.figures.items()),
            "",
            "What to do: custos-server alerts list --open; look at the agent's records with",
            f"custos-server report agents; when handled, custos-server alerts ack {self.ref[:12]} --note TEXT.",
            f"-- {self.organisation}",
        ]
        return "\n".join(lines) + "\n"


def load_message(session: Session, *, alert_id: int, organisation: str) -> AlertMessage:
    """Build the message of one stored alert.

    Args:
        session: A read transaction.
        alert_id: The alert's row id.
        organisation: The owner's name.

    Raises:
        LookupError: No such alert.
    """
    row = session.exec(
        select(Alert, User.login, Outsourcer.name, Campaign.name)
        .outerjoin(User, col(User.id) == col(Alert.user_id))
        .outerjoin(Outsourcer, col(Outsourcer.id) == col(Alert.outsourcer_id))
        .outerjoin(Campaign, col(Campaign.id) == col(Alert.campaign_id))
        .where(Alert.id == alert_id)
    ).first()
    if row is None:
        raise LookupError(f"no alert #{alert_id}")
    alert, login, outsourcer, campaign = row
    try:
        figures = _clean_figures(json.loads(alert.figures or "{}"))
    except ValueError:
        figures = {}
    return AlertMessage(
        ref=alert.ref,
        rule=alert.rule,
        action=alert.action,
        agent=login,
        outsourcer=outsourcer,
        campaign=campaign,
        raised_at=alert.created_at,
        organisation=organisation,
        figures=figures,
    )
