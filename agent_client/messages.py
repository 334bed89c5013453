"""User-facing, translated messages chosen by error code.

Clients map codes, never server message text; no raw body is ever shown.
Times the server sends (``retry_at``) are shown in the computer's local time
zone, rounded up to the minute so that the time shown is never earlier than
the one the server means.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from agent_client.errors import ApiError, ClientError
from shared.errors import ErrorCode

if TYPE_CHECKING:  # the wire models (pydantic) load with the first call or record, not before the first window
    from shared.calls import CallView
    from shared.protocol import IdleReason, NoCallReason, QuotaView

__all__ = [
    "call_state_text",
    "error_message",
    "idle_message",
    "limit_message",
    "local_time_text",
    "no_call_reason_texts",
    "pending_message",
    "quota_texts",
    "user_message",
]

# Called by this name with a literal context so that pyside6-lupdate finds the
# strings (it does not follow a wrapper function); see scripts/i18n.sh.
translate = QCoreApplication.translate


def user_message(code: str) -> str:
    """Return the translated sentence to show for an error code.

    Args:
        code: An :class:`ErrorCode` value or a client error code
            (:mod:`agent_client.errors`).

    Returns:
        A sentence for the agent; a generic one for unknown codes.
    """
    messages = {
        ErrorCode.UNAUTHORIZED: translate(
            "ErrorMessages", "Wrong login or password, or your session has ended. Please log in."
        ),
        ErrorCode.TOKEN_EXPIRED: translate("ErrorMessages", "Your session has expired. Please log in again."),
        ErrorCode.BAD_SIGNATURE: translate(
            "ErrorMessages", "This computer could not prove its identity. Ask IT to enrol it again."
        ),
        ErrorCode.NONCE_INVALID: translate("ErrorMessages", "The login took too long. Please try again."),
        ErrorCode.ENROLMENT_INVALID: translate(
            "ErrorMessages", "The enrolment code is wrong, expired or already used."
        ),
        ErrorCode.DEVICE_REVOKED: translate(
            "ErrorMessages", "This computer is no longer allowed to connect. Contact your supervisor."
        ),
        ErrorCode.FORBIDDEN: translate("ErrorMessages", "You are not allowed to do this."),
        ErrorCode.ACCOUNT_SUSPENDED: translate(
            "ErrorMessages", "Your account has been suspended. Contact your supervisor."
        ),
        ErrorCode.ACCOUNT_LOCKED: translate("ErrorMessages", "Too many failed logins. Try again later."),
        ErrorCode.ADDRESS_NOT_ALLOWED: translate(
            "ErrorMessages", "Logging in from this network is not allowed. Contact your supervisor."
        ),
        ErrorCode.NOT_FOUND: translate("ErrorMessages", "The server does not know this item."),
        ErrorCode.NO_LEASE: translate("ErrorMessages", "This record was withdrawn."),
        ErrorCode.CONFLICT: translate("ErrorMessages", "This record has already been closed."),
        ErrorCode.RATE_LIMITED: translate("ErrorMessages", "You have reached your record limit for now. Please wait."),
        ErrorCode.QUOTA_REACHED: translate("ErrorMessages", "You have reached your record limit for now. Please wait."),
        ErrorCode.UNSUPPORTED_PROTOCOL: translate(
            "ErrorMessages", "This client version is too old. Ask IT to update it."
        ),
        ErrorCode.OUTSIDE_CALLING_HOURS: translate(
            "ErrorMessages", "Customers may not be called now: outside the campaign's calling hours."
        ),
        ErrorCode.DO_NOT_CALL: translate(
            "ErrorMessages", "This customer is on the do-not-call list now. Choose an outcome without calling."
        ),
        ErrorCode.MAX_ATTEMPTS: translate(
            "ErrorMessages", "This customer has been called as often as the campaign allows."
        ),
        ErrorCode.CALL_IN_PROGRESS: translate("ErrorMessages", "A call is already in progress."),
        ErrorCode.TELEPHONY_UNAVAILABLE: translate(
            "ErrorMessages", "The telephone system is not available. Try again, or choose why you could not call."
        ),
        ErrorCode.AGENT_PHONE_UNAVAILABLE: translate(
            "ErrorMessages", "Your phone is not connected to the telephone system. Check it or ask your supervisor."
        ),
        ErrorCode.VERIFY_EXHAUSTED: translate("ErrorMessages", "No tries left for this field."),
        ErrorCode.PAYLOAD_TOO_LARGE: translate("ErrorMessages", "The request was too large for the server."),
        ErrorCode.BAD_REQUEST: translate("ErrorMessages", "The server refused the request."),
        ErrorCode.SERVER_BUSY: translate(
            "ErrorMessages", "The server is busy with many logins. Please try again in a few minutes."
        ),
        ErrorCode.INTERNAL: translate("ErrorMessages", "The server had a problem. Please try again later."),
        "network": translate("ErrorMessages", "Cannot reach the server. Check the network connection."),
        "protocol": translate("ErrorMessages", "The server sent an unexpected answer. Please try again later."),
        "credential_store": translate(
            "ErrorMessages", "The secure credential store of this computer is not available."
        ),
        "deployment_config": translate(
            "ErrorMessages", "The deployment configuration is missing or invalid. Contact IT."
        ),
        "reporting": translate(
            "ErrorMessages", "Displays cannot be reported to the server; records stay hidden until it is reachable."
        ),
    }
    return messages.get(code, translate("ErrorMessages", "Something went wrong. Please try again."))


def _utc_now() -> datetime:
    return datetime.now(UTC)


def local_time_text(at: datetime, *, now: datetime | None = None) -> str:
    """Format a server time for the agent: local ``HH:MM``, with the date when it is not today.

    Args:
        at: A timezone-aware time (the wire's ``retry_at``).
        now: The current time (timezone-aware); the system clock if None.

    Returns:
        ``"14:32"``, or ``"2026-12-02 08:00"`` when ``at`` falls on another
        local day than ``now``. Seconds are rounded up to the next minute.
    """
    local = at.astimezone()
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    today = (now or _utc_now()).astimezone().date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%Y-%m-%d %H:%M")


def limit_message(quota: QuotaView | None, retry_at: datetime | None, *, now: datetime | None = None) -> str:
    """The sentence shown when ``/next`` answered ``quota_reached``.

    The daily limit is named when the day's count has reached it, the hourly
    one otherwise.

    Args:
        quota: The count the error body carried, if any.
        retry_at: When the next record may come, if the body said.
        now: The current time (timezone-aware); the system clock if None.
    """
    if retry_at is None:
        return user_message(ErrorCode.QUOTA_REACHED)
    time = local_time_text(retry_at, now=now)
    if quota is None:
        return translate("ErrorMessages", "Record limit reached; next at {time}.").format(time=time)
    if quota.issued_day >= quota.per_day:
        text = translate("ErrorMessages", "Limit of {limit} records a day reached; next at {time}.")
        return text.format(limit=quota.per_day, time=time)
    text = translate("ErrorMessages", "Limit of {limit} records an hour reached; next at {time}.")
    return text.format(limit=quota.per_hour, time=time)


def quota_texts(quota: QuotaView) -> tuple[str, str]:
    """The agent's counts as shown in the record window.

    Returns:
        ``("23 of 60 this hour", "130 of 480 today")``, translated.
    """
    hour = translate("RecordCounts", "{issued} of {limit} this hour")
    day = translate("RecordCounts", "{issued} of {limit} today")
    return (
        hour.format(issued=quota.issued_hour, limit=quota.per_hour),
        day.format(issued=quota.issued_day, limit=quota.per_day),
    )


def error_message(exc: ClientError, *, now: datetime | None = None) -> str:
    """The sentence for a failed call, with the times its error body carried.

    Args:
        exc: The error a call raised.
        now: The current time (timezone-aware); the system clock if None.

    Returns:
        :func:`user_message` of the code, or for ``account_locked`` the end of
        the lock and for ``quota_reached`` :func:`limit_message`.
    """
    if isinstance(exc, ApiError):
        if exc.code == ErrorCode.QUOTA_REACHED:
            return limit_message(exc.quota, exc.retry_at, now=now)
        if exc.code == ErrorCode.ACCOUNT_LOCKED and exc.retry_at is not None:
            text = translate("ErrorMessages", "Too many failed logins. Try again at {time}.")
            return text.format(time=local_time_text(exc.retry_at, now=now))
    return user_message(str(exc.code))


def call_state_text(call: CallView) -> str:
    """What the call panel says about a call: its state, or how it ended.

    Returns:
        A translated phrase such as "Your phone is ringing…" or "Ended: busy".
    """
    from shared.calls import CallResult, CallState  # noqa: PLC0415 - lazy: see the imports

    if call.state is not CallState.ENDED or call.result is None:
        states = {
            CallState.DIALING: translate("CallTexts", "Dialling…"),
            CallState.AGENT_RINGING: translate("CallTexts", "Your phone is ringing: pick it up…"),
            CallState.CUSTOMER_RINGING: translate("CallTexts", "Calling the customer…"),
            CallState.ANSWERED: translate("CallTexts", "Connected"),
            CallState.ENDED: translate("CallTexts", "Call ended"),
        }
        return states[call.state]
    results = {
        CallResult.COMPLETED: translate("CallTexts", "Call ended"),
        CallResult.BUSY: translate("CallTexts", "Ended: the line was busy"),
        CallResult.NO_ANSWER: translate("CallTexts", "Ended: no answer"),
        CallResult.FAILED: translate("CallTexts", "Ended: the call could not be placed"),
        CallResult.AGENT_NO_ANSWER: translate("CallTexts", "Ended: your phone was not picked up"),
        CallResult.AGENT_UNAVAILABLE: translate("CallTexts", "Ended: your phone is not reachable"),
        CallResult.CANCELLED: translate("CallTexts", "Ended: hung up before the customer answered"),
    }
    return results[call.result]


def no_call_reason_texts() -> dict[NoCallReason, str]:
    """The choices of "Could not call", translated, in display order."""
    from shared.protocol import NoCallReason  # noqa: PLC0415 - lazy: see the imports

    return {
        NoCallReason.TELEPHONY_UNAVAILABLE: translate("CallTexts", "The telephone system is down"),
        NoCallReason.AGENT_PHONE_PROBLEM: translate("CallTexts", "My phone does not work"),
        NoCallReason.RECORD_PROBLEM: translate("CallTexts", "Something is wrong with this record"),
        NoCallReason.OTHER: translate("CallTexts", "Another reason"),
    }


def idle_message(reason: IdleReason | None) -> str:
    """What the record window says when ``/next`` issued nothing."""
    from shared.protocol import IdleReason  # noqa: PLC0415 - lazy: see the imports

    if reason is IdleReason.OUTSIDE_CALLING_HOURS:
        return translate("ErrorMessages", "Outside the campaign's calling hours: no customer may be called now.")
    if reason is IdleReason.NO_CONTACTS:
        return translate("ErrorMessages", "No customer to call right now. Asking again shortly…")
    return ""


def pending_message(outcomes: int, events: int) -> str:
    """What waits for the server, as the record window says it while no new record comes.

    Returns:
        E.g. ``"Waiting for the server: outcomes 1, display events 3."``, translated.
    """
    if outcomes and events:
        text = translate("Pending", "Waiting for the server: outcomes {outcomes}, display events {events}.")
        return text.format(outcomes=outcomes, events=events)
    if outcomes:
        return translate("Pending", "Waiting for the server: outcomes {outcomes}.").format(outcomes=outcomes)
    return translate("Pending", "Waiting for the server: display events {events}.").format(events=events)
