"""A campaign's contact strategy: when a contact may be called, how often, and what comes back.

The owner writes it in the campaign policy (``[strategy]``, ``[[strategy.windows]]``);
every value has a default that is lawful for a Polish consumer campaign. The
server applies it in the transaction that issues a record and again in the
one that dials it (:mod:`owner_server.work.strategy`); nothing here does IO.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from shared.containment import Weekday, within_hours

__all__ = ["ALL_DAYS", "END_OF_DAY", "CallPolicy", "CallbackFor", "CallingWindow", "ContactStrategy"]

Code = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
_WORKDAYS = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
#: Every day of the week (an always-open window: ``days = ALL_DAYS, start = 00:00, end = "24:00"``).
ALL_DAYS = tuple(Weekday)
#: A window's ``end`` written ``"24:00"``: the end of the day (the last instant is inside the window).
END_OF_DAY = time.max


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CallbackFor(StrEnum):
    """Who a scheduled callback is owed to."""

    ME = "me"
    """The agent who scheduled it gets it first when due (then the pool after a grace period)."""
    ANYONE = "anyone"
    """Any agent of the campaign when due."""


class CallingWindow(_Frozen):
    """Local hours on some weekdays during which customers may be called.

    ``start``/``end`` are wall-clock times in the campaign's time zone; a
    window does not span midnight (write two windows for that). ``end`` may be
    written ``"24:00"``: the end of the day (with ``start = "00:00"`` and all
    seven days, a window that never closes).
    """

    days: tuple[Weekday, ...] = _WORKDAYS
    start: time = time(9, 0)
    end: time = time(20, 0)

    @field_validator("end", mode="before")
    @classmethod
    def _end_of_day(cls, value: object) -> object:
        return END_OF_DAY if value in ("24:00", "24:00:00") else value

    @field_serializer("end")
    def _dump_end(self, value: time) -> str:
        return "24:00" if value == END_OF_DAY else value.isoformat()

    @model_validator(mode="after")
    def _ordered(self) -> CallingWindow:
        if not self.start < self.end:
            raise ValueError("a calling window's start must be before its end (write two windows across midnight)")
        if not self.days:
            raise ValueError("a calling window must name at least one day")
        return self

    def allows(self, local: datetime) -> bool:
        """Tell whether a local time falls inside this window."""
        if local.isoweekday() not in {d.iso for d in self.days}:
            return False
        if self.end == END_OF_DAY:
            return local.time().replace(tzinfo=None) >= self.start
        return within_hours(local, self.start, self.end)


class ContactStrategy(_Frozen):
    """When and how often a campaign's contacts are called.

    Attributes:
        windows: Calling windows (local time of the campaign's ``timezone``); a
            contact is issued and dialled only inside one. Default: Mon–Fri
            09:00–20:00 and Sat 10:00–16:00.
        holidays: Local dates on which nobody is called.
        max_attempts: Most outcomes a contact may get before it is final
            whatever the outcome (each outcome counts as one attempt).
        retry_minutes: Disposition code → minutes before the contact may be
            issued again (e.g. ``no_answer = 120``, ``busy = 15``).
        final: Disposition codes that close the contact for good.
        default_retry_minutes: Delay for a non-final code ``retry_minutes`` does not name.
        callback_code: The disposition code that schedules a callback (its
            time and owner come with the outcome).
        callback_grace_minutes: How long past its time a callback for "me"
            waits for its agent before any agent of the campaign may get it.
        max_callback_days: Furthest ahead a callback may be scheduled.
    """

    windows: tuple[CallingWindow, ...] = (
        CallingWindow(),
        CallingWindow(days=(Weekday.SAT,), start=time(10, 0), end=time(16, 0)),
    )
    holidays: tuple[date, ...] = ()
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    retry_minutes: dict[Code, Annotated[int, Field(ge=0, le=60 * 24 * 60)]] = Field(
        default_factory=lambda: {"no_answer": 120, "busy": 15}
    )
    final: tuple[Code, ...] = ("sale", "not_interested", "wrong_number", "do_not_call")
    default_retry_minutes: Annotated[int, Field(ge=0, le=60 * 24 * 60)] = 240
    callback_code: Code = "callback"
    callback_grace_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 15
    max_callback_days: Annotated[int, Field(ge=1, le=365)] = 30

    @model_validator(mode="after")
    def _some_window(self) -> ContactStrategy:
        if not self.windows:
            raise ValueError("strategy.windows must hold at least one calling window")
        return self

    def allows(self, local: datetime) -> bool:
        """Tell whether a local time is inside a calling window and not a holiday."""
        return local.date() not in self.holidays and any(w.allows(local) for w in self.windows)

    def is_final(self, code: str, attempts: int) -> bool:
        """Tell whether an outcome closes the contact for good.

        Args:
            code: The disposition code just recorded.
            attempts: The contact's attempts including this one.
        """
        return code in self.final or attempts >= self.max_attempts

    def retry_delay_minutes(self, code: str) -> int:
        """Minutes before a contact with this non-final outcome may be issued again."""
        return self.retry_minutes.get(code, self.default_retry_minutes)


class CallPolicy(_Frozen):
    """How the owner's telephony calls this campaign's contacts.

    Attributes:
        caller_id: The number customers see (the owner's trunk number, E.164);
            empty leaves the trunk's default.
        display_name: What the agent's phone shows for the customer leg instead
            of the number; the campaign's name when empty.
        ring_timeout_s: How long the customer's phone rings before ``no_answer``.
    """

    caller_id: Annotated[str, Field(pattern=r"^(\+[1-9][0-9]{6,14})?$")] = ""
    display_name: Annotated[str, Field(max_length=40)] = ""
    ring_timeout_s: Annotated[int, Field(ge=5, le=120)] = 30
