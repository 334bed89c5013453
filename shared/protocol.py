"""Wire models of the agent API (``/api/v1/agent/``).

Every model is frozen and rejects unknown fields, so a client cannot smuggle
extra parameters and a server cannot silently grow a response. Binary values
travel as unpadded-safe standard base64 strings.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from shared.b64 import b64decode_strict, b64encode
from shared.errors import ErrorCode
from shared.limits import LIMITS
from shared.strategy import CallbackFor

__all__ = [
    "BlockedAction",
    "IdleReason",
    "NoCallReason",
    "VerifyFieldView",
    "DisplayEvent",
    "DisplayEventKind",
    "DispositionOption",
    "DispositionRequest",
    "DispositionResponse",
    "ErrorBody",
    "EventBatch",
    "EventBatchResult",
    "FieldView",
    "NextRecordResponse",
    "QuotaView",
    "RecordView",
    "b64decode_strict",
    "b64encode",
]

Login = Annotated[str, StringConstraints(min_length=1, max_length=LIMITS.max_login_chars)]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
B64 = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9+/=]+$")]
#: Largest sequence number or duration an event may carry (the columns are 32-bit integers).
MAX_EVENT_INT = 2**31 - 1


class WireModel(BaseModel):
    """Base of every wire model: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldView(WireModel):
    """One field as the agent may see it: clear when visible, masked otherwise."""

    name: str
    label: str
    value: str
    masked: bool = False


class VerifyFieldView(WireModel):
    """A ``verify_only`` field of the record: its name and label, never its value."""

    name: str
    label: str


class DispositionOption(WireModel):
    """An outcome the agent can choose, with its keyboard shortcut."""

    code: Ident
    label: str
    shortcut: str = ""


class RecordView(WireModel):
    """The one record leased to the agent, filtered by the campaign policy.

    ``contact_ref`` is a pseudonym of the contact (stable, uniform, not the
    stored reference), so the order of import cannot be read from it.
    """

    lease_id: Ident
    contact_ref: Ident
    campaign: str
    script: str
    fields: tuple[FieldView, ...]
    phone_mask: str
    dispositions: tuple[DispositionOption, ...]
    issued_at: datetime
    expires_at: datetime
    verify_fields: tuple[VerifyFieldView, ...] = ()
    after_answer_fields: int = Field(default=0, ge=0)
    """How many more fields the record shows while a call is answered (their values come with the call)."""
    timezone: str = "Europe/Warsaw"
    """The campaign's IANA time zone (the callback picker's)."""
    attempts: int = Field(default=0, ge=0)
    """Outcomes the contact already had before this lease."""
    callback_code: str | None = None
    """The disposition code that schedules a callback (asks for a time), if the campaign offers one."""
    watermark_code: B64 | None = None
    """The server-signed token of agent, lease and issue time (base64) the client draws as a QR.

    None from older servers and in the console's preview.
    """


class QuotaView(WireModel):
    """The agent's issuance count against its limits (records, not outcomes).

    ``issued_hour`` counts the rolling last 60 minutes, ``issued_day`` the
    calendar day in the campaign's time zone.
    """

    issued_hour: int = Field(ge=0)
    per_hour: int = Field(ge=1)
    issued_day: int = Field(ge=0)
    per_day: int = Field(ge=1)


class IdleReason(StrEnum):
    """Why ``/next`` issued no record."""

    NO_CONTACTS = "no_contacts"
    """Nothing is eligible now (all worked, or retries not yet due)."""
    OUTSIDE_CALLING_HOURS = "outside_calling_hours"
    """The campaign's calling windows are closed now (or it is a holiday)."""


class NextRecordResponse(WireModel):
    """The agent's current record, or none with a hint when to ask again and why, and the agent's quota."""

    record: RecordView | None
    retry_after_s: int = 0
    quota: QuotaView | None = None
    idle_reason: IdleReason | None = None


class NoCallReason(StrEnum):
    """Why an outcome is recorded without a call (the agent says so explicitly)."""

    TELEPHONY_UNAVAILABLE = "telephony_unavailable"
    AGENT_PHONE_PROBLEM = "agent_phone_problem"
    RECORD_PROBLEM = "record_problem"
    OTHER = "other"


Notes = Annotated[str, StringConstraints(max_length=LIMITS.max_notes_chars)]


class DispositionRequest(WireModel):
    """The outcome of the leased record; closes the lease.

    ``outcome_id`` is made by the client once, when the agent presses the
    outcome, and kept with it until the server acknowledged it: a retry with
    the same id stores nothing new and gets the same answer. ``session_seq``
    numbers it with the session's display events. ``callback_at`` (aware) and
    ``callback_for`` come with the campaign's callback code only; ``notes`` are
    stored encrypted like the contact's fields.
    """

    lease_id: Ident
    code: Ident
    outcome_id: Ident | None = None
    session_seq: int | None = Field(default=None, ge=0, le=MAX_EVENT_INT)
    occurred_at: AwareDatetime | None = None
    notes: Notes | None = None
    callback_at: AwareDatetime | None = None
    callback_for: CallbackFor | None = None
    call_id: Ident | None = None
    no_call_reason: NoCallReason | None = None
    session_id: Ident | None = None
    """The login session ``session_seq`` was numbered in, when not the uploading one (kept across a restart)."""


class DispositionResponse(WireModel):
    """Acknowledges a closed lease."""

    lease_id: Ident
    code: Ident
    closed_at: datetime


class DisplayEventKind(StrEnum):
    """What the client reports about what was on screen."""

    RECORD_DISPLAYED = "record_displayed"
    RECORD_HIDDEN = "record_hidden"
    FOCUS_LOST = "focus_lost"
    FOCUS_REGAINED = "focus_regained"
    ACTION_BLOCKED = "action_blocked"


class BlockedAction(StrEnum):
    """What the record window's copy guard refused (the ``detail`` of ``action_blocked``)."""

    COPY = "copy"
    CUT = "cut"
    PRINT = "print"
    SAVE = "save"
    SELECT_ALL = "select_all"
    CAPTURE = "capture"
    """The Print Screen / SysRq key."""


class DisplayEvent(WireModel):
    """One client-side event; ``event_id`` is made by the client for idempotency.

    ``detail`` names the refused action of an ``action_blocked`` event and is
    required there and refused on every other kind.
    """

    event_id: Ident
    kind: DisplayEventKind
    lease_id: Ident
    occurred_at: AwareDatetime
    session_seq: int = Field(ge=0, le=MAX_EVENT_INT)
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_EVENT_INT)
    detail: BlockedAction | None = None
    session_id: Ident | None = None
    """The login session ``session_seq`` was numbered in, when not the uploading one (kept across a restart)."""

    @model_validator(mode="after")
    def _detail_matches_kind(self) -> DisplayEvent:
        blocked = self.kind is DisplayEventKind.ACTION_BLOCKED
        if blocked and self.detail is None:
            raise ValueError("an action_blocked event needs a detail")
        if not blocked and self.detail is not None:
            raise ValueError("only an action_blocked event carries a detail")
        return self

    @model_serializer(mode="wrap")
    def _omit_absent_detail(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Events of the older kinds go out exactly as before, so a server that
        # predates ``detail`` (and forbids unknown fields) still accepts them.
        data: dict[str, Any] = handler(self)
        if data.get("detail") is None:
            data.pop("detail", None)
        if data.get("session_id") is None:
            data.pop("session_id", None)
        return data


class EventBatch(WireModel):
    """A batch of events; uploading the same batch twice stores each event once."""

    events: tuple[DisplayEvent, ...] = Field(min_length=1, max_length=LIMITS.max_event_batch)


class EventBatchResult(WireModel):
    """How many events were newly stored and how many were already known."""

    accepted: int
    duplicates: int


class ErrorBody(WireModel):
    """Body of every error response; ``message`` never holds personal data.

    ``retry_at`` says when to try again (``quota_reached``: the next record;
    ``account_locked``: the end of the lock); ``quota`` comes with
    ``quota_reached``.
    """

    code: ErrorCode
    message: str
    retry_at: AwareDatetime | None = None
    quota: QuotaView | None = None
