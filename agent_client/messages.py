"""User-facing, translated messages chosen by error code.

Clients map codes, never server message text; no raw body is ever shown.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from shared.errors import ErrorCode

__all__ = ["user_message"]

_CONTEXT = "ErrorMessages"


def _tr(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def user_message(code: str) -> str:
    """Return the translated sentence to show for an error code.

    Args:
        code: An :class:`ErrorCode` value or a client error code
            (:mod:`agent_client.errors`).

    Returns:
        A sentence for the agent; a generic one for unknown codes.
    """
    messages = {
        ErrorCode.UNAUTHORIZED: _tr("Wrong login or password, or your session has ended. Please log in."),
        ErrorCode.TOKEN_EXPIRED: _tr("Your session has expired. Please log in again."),
        ErrorCode.BAD_SIGNATURE: _tr("This computer could not prove its identity. Ask IT to enrol it again."),
        ErrorCode.NONCE_INVALID: _tr("The login took too long. Please try again."),
        ErrorCode.ENROLMENT_INVALID: _tr("The enrolment code is wrong, expired or already used."),
        ErrorCode.DEVICE_REVOKED: _tr("This computer is no longer allowed to connect. Contact your supervisor."),
        ErrorCode.FORBIDDEN: _tr("You are not allowed to do this."),
        ErrorCode.ACCOUNT_SUSPENDED: _tr("Your account is suspended. Contact your supervisor."),
        ErrorCode.NOT_FOUND: _tr("The server does not know this item."),
        ErrorCode.NO_LEASE: _tr("This record is no longer assigned to you."),
        ErrorCode.CONFLICT: _tr("This record has already been closed."),
        ErrorCode.RATE_LIMITED: _tr("You have reached your record limit for now. Please wait."),
        ErrorCode.UNSUPPORTED_PROTOCOL: _tr("This client version is too old. Ask IT to update it."),
        ErrorCode.PAYLOAD_TOO_LARGE: _tr("The request was too large for the server."),
        ErrorCode.BAD_REQUEST: _tr("The server refused the request."),
        ErrorCode.INTERNAL: _tr("The server had a problem. Please try again later."),
        "network": _tr("Cannot reach the server. Check the network connection."),
        "protocol": _tr("The server sent an unexpected answer. Please try again later."),
        "credential_store": _tr("The secure credential store of this computer is not available."),
        "deployment_config": _tr("The deployment configuration is missing or invalid. Contact IT."),
        "reporting": _tr("Displays cannot be reported to the server; records stay hidden until it is reachable."),
    }
    return messages.get(code, _tr("Something went wrong. Please try again."))
