"""The one error a channel raises, with a reason safe to store."""

from __future__ import annotations

import smtplib
import ssl

__all__ = ["DeliveryError", "safe_reason"]

MAX_REASON = 200


class DeliveryError(Exception):
    """A channel could not deliver; the reason holds no personal data and no secret.

    Args:
        reason: A short description (status code, exception class), at most 200 characters.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason[:MAX_REASON])
        self.reason = reason[:MAX_REASON]


def safe_reason(exc: BaseException) -> str:
    """Describe a failure by its kind and code only, never by text a peer sent back.

    Args:
        exc: What the send raised.

    Returns:
        E.g. ``SMTP 550``, ``ConnectionRefusedError (errno 111)``,
        ``SSLCertVerificationError``.
    """
    if isinstance(exc, DeliveryError):
        return exc.reason
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _msg in exc.recipients.values()})
        return "SMTP recipients refused " + ",".join(str(c) for c in codes)
    if isinstance(exc, ssl.SSLError):
        return f"TLS {type(exc).__name__}"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{type(exc).__name__} (errno {exc.errno})"
    return type(exc).__name__
