"""What the agent decided about a record, as the record window hands it on; no IO, no Qt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.protocol import NoCallReason
from shared.strategy import CallbackFor

__all__ = ["OutcomeDraft"]


@dataclass(frozen=True, slots=True)
class OutcomeDraft:
    """An outcome pressed by the agent, before it is numbered, stored and sent.

    Attributes:
        lease_id: The lease of the record on screen.
        code: The disposition code.
        notes: The agent's note (may hold personal data: stored encrypted, never logged).
        callback_at: When to call back (aware), with the campaign's callback code only.
        callback_for: Who the callback is owed to.
        call_id: The call this outcome follows, if one was placed.
        no_call_reason: Why there was no call, when none was placed.
    """

    lease_id: str
    code: str
    notes: str = ""
    callback_at: datetime | None = None
    callback_for: CallbackFor | None = None
    call_id: str | None = None
    no_call_reason: NoCallReason | None = None
