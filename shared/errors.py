"""The closed tree of protocol errors and their wire codes.

Every error a Custos server returns carries one :class:`ErrorCode`; clients map
codes, never message text. Messages never hold personal data.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

__all__ = [
    "AuthError",
    "BusyError",
    "ConflictError",
    "CustosError",
    "ErrorCode",
    "ForbiddenError",
    "LockedError",
    "NotFoundError",
    "QuotaReachedError",
    "RateLimitedError",
    "STATUS_BY_CODE",
    "ValidationError",
]


class ErrorCode(StrEnum):
    """Stable machine-readable error codes carried in every error body."""

    BAD_REQUEST = "bad_request"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNAUTHORIZED = "unauthorized"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - an error code, not a secret
    BAD_SIGNATURE = "bad_signature"
    NONCE_INVALID = "nonce_invalid"
    ENROLMENT_INVALID = "enrolment_invalid"
    DEVICE_REVOKED = "device_revoked"
    FORBIDDEN = "forbidden"
    ACCOUNT_SUSPENDED = "account_suspended"
    ACCOUNT_LOCKED = "account_locked"
    ADDRESS_NOT_ALLOWED = "address_not_allowed"
    NOT_FOUND = "not_found"
    NO_LEASE = "no_lease"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    QUOTA_REACHED = "quota_reached"
    OUTSIDE_CALLING_HOURS = "outside_calling_hours"
    DO_NOT_CALL = "do_not_call"
    MAX_ATTEMPTS = "max_attempts"
    CALL_IN_PROGRESS = "call_in_progress"
    TELEPHONY_UNAVAILABLE = "telephony_unavailable"
    AGENT_PHONE_UNAVAILABLE = "agent_phone_unavailable"
    VERIFY_EXHAUSTED = "verify_exhausted"
    UNSUPPORTED_PROTOCOL = "unsupported_protocol"
    SERVER_BUSY = "server_busy"
    INTERNAL = "internal"


#: The HTTP status each code is answered with (the agent API and the console).
STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.BAD_SIGNATURE: 401,
    ErrorCode.NONCE_INVALID: 401,
    ErrorCode.ENROLMENT_INVALID: 401,
    ErrorCode.DEVICE_REVOKED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.ACCOUNT_SUSPENDED: 403,
    ErrorCode.ACCOUNT_LOCKED: 403,
    ErrorCode.ADDRESS_NOT_ALLOWED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.NO_LEASE: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUOTA_REACHED: 429,
    ErrorCode.OUTSIDE_CALLING_HOURS: 409,
    ErrorCode.DO_NOT_CALL: 409,
    ErrorCode.MAX_ATTEMPTS: 409,
    ErrorCode.CALL_IN_PROGRESS: 409,
    ErrorCode.TELEPHONY_UNAVAILABLE: 503,
    ErrorCode.AGENT_PHONE_UNAVAILABLE: 409,
    ErrorCode.VERIFY_EXHAUSTED: 429,
    ErrorCode.UNSUPPORTED_PROTOCOL: 400,
    ErrorCode.SERVER_BUSY: 503,
    ErrorCode.INTERNAL: 500,
}


class CustosError(Exception):
    """Base of every error Custos raises on purpose.

    Args:
        message: A human-readable sentence without personal data.
        code: The wire code; subclasses fix a default.
    """

    default_code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class ValidationError(CustosError):
    """Input was malformed or out of bounds; nothing was changed."""

    default_code = ErrorCode.BAD_REQUEST


class AuthError(CustosError):
    """Authentication failed (credentials, device proof, token)."""

    default_code = ErrorCode.UNAUTHORIZED


class ForbiddenError(CustosError):
    """The caller is authenticated but may not do this."""

    default_code = ErrorCode.FORBIDDEN


class NotFoundError(CustosError):
    """The object does not exist or is not visible to the caller."""

    default_code = ErrorCode.NOT_FOUND


class ConflictError(CustosError):
    """The request conflicts with the current state (e.g. closed lease)."""

    default_code = ErrorCode.CONFLICT


class RateLimitedError(CustosError):
    """The caller exceeded a quota."""

    default_code = ErrorCode.RATE_LIMITED


class QuotaReachedError(RateLimitedError):
    """The agent reached a records-per-hour or per-day limit; nothing was issued.

    Args:
        message: A sentence without personal data.
        retry_at: When the next record may be issued (UTC, timezone-aware).
        period: ``hour`` or ``day``: the limit that was reached.
        issued_hour: Records issued in the rolling last 60 minutes.
        per_hour: The hourly limit in force.
        issued_day: Records issued today (campaign time zone).
        per_day: The daily limit in force.
    """

    default_code = ErrorCode.QUOTA_REACHED

    def __init__(
        self,
        message: str,
        *,
        retry_at: datetime,
        period: str,
        issued_hour: int,
        per_hour: int,
        issued_day: int,
        per_day: int,
    ) -> None:
        super().__init__(message)
        self.retry_at = retry_at
        self.period = period
        self.issued_hour = issued_hour
        self.per_hour = per_hour
        self.issued_day = issued_day
        self.per_day = per_day


class LockedError(ForbiddenError):
    """The account is locked for a while after repeated failed logins.

    Args:
        message: A sentence without personal data.
        until: When the lock ends (UTC, timezone-aware).
    """

    default_code = ErrorCode.ACCOUNT_LOCKED

    def __init__(self, message: str, *, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class BusyError(CustosError):
    """The server cannot take this request now (its login queue is full); nothing was done.

    Answered ``503`` with a ``Retry-After`` header (RFC 9110, section 10.2.3).

    Args:
        message: A sentence without personal data.
        retry_after_s: Whole seconds after which the request is worth trying again (at least 1).
    """

    default_code = ErrorCode.SERVER_BUSY

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)
