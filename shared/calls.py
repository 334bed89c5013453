"""Wire models of calls and verification (``/api/v1/agent/calls``, ``/api/v1/agent/verify``).

A call's view never carries a number: the owner's telephony dials, and the
agent sees the call's state and, while the customer is on the line, the
record's ``after_answer`` fields.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.limits import LIMITS
from shared.protocol import FieldView, Ident, WireModel

__all__ = [
    "CallRequest",
    "CallResult",
    "CallState",
    "CallView",
    "VerifyRequest",
    "VerifyResponse",
]


class CallState(StrEnum):
    """Where a call placed by the owner's telephony is.

    ``dialing``: the request went to the PBX; ``agent_ringing``: the agent's
    own phone rings; ``customer_ringing``: the agent answered and the
    customer's leg is out on the trunk; ``answered``: the customer answered
    and both legs are bridged; ``ended``: over, see :class:`CallResult`.
    """

    DIALING = "dialing"
    AGENT_RINGING = "agent_ringing"
    CUSTOMER_RINGING = "customer_ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class CallResult(StrEnum):
    """How a call ended."""

    COMPLETED = "completed"
    """The customer answered; the call was hung up after talking."""
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    """The trunk or PBX could not place the customer's leg."""
    AGENT_NO_ANSWER = "agent_no_answer"
    """The agent's phone rang and nobody took it."""
    AGENT_UNAVAILABLE = "agent_unavailable"
    """The agent's phone is not registered or not reachable."""
    CANCELLED = "cancelled"
    """The agent hung up before the customer answered."""


class CallRequest(WireModel):
    """Dial the leased record; ``request_id`` (client-made) makes a retried request place no second call."""

    lease_id: Ident
    request_id: Ident


class CallView(WireModel):
    """A call's state as the agent may see it: never a number.

    ``fields`` holds the record's ``after_answer`` fields while ``state`` is
    ``answered`` and is empty otherwise. Durations are whole seconds.
    """

    call_id: Ident
    lease_id: Ident
    state: CallState
    result: CallResult | None = None
    created_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ring_s: int = Field(default=0, ge=0)
    talk_s: int = Field(default=0, ge=0)
    fields: tuple[FieldView, ...] = ()


class VerifyRequest(WireModel):
    """What the customer said for a ``verify_only`` field."""

    lease_id: Ident
    field: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    value: Annotated[str, StringConstraints(min_length=1, max_length=LIMITS.max_verify_chars)]


class VerifyResponse(WireModel):
    """Whether the typed value matched the stored one (the value is never sent), and tries left."""

    field: str
    match: bool
    tries_left: int = Field(ge=0)
