"""User-facing, translated messages chosen by error code.

Clients map codes, never server message text; no raw body is ever shown.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from shared.errors import ErrorCode

__all__ = ["user_message"]

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
        ErrorCode.ACCOUNT_SUSPENDED: translate("ErrorMessages", "Your account is suspended. Contact your supervisor."),
        ErrorCode.NOT_FOUND: translate("ErrorMessages", "The server does not know this item."),
        ErrorCode.NO_LEASE: translate("ErrorMessages", "This record is no longer assigned to you."),
        ErrorCode.CONFLICT: translate("ErrorMessages", "This record has already been closed."),
        ErrorCode.RATE_LIMITED: translate("ErrorMessages", "You have reached your record limit for now. Please wait."),
        ErrorCode.UNSUPPORTED_PROTOCOL: translate(
            "ErrorMessages", "This client version is too old. Ask IT to update it."
        ),
        ErrorCode.PAYLOAD_TOO_LARGE: translate("ErrorMessages", "The request was too large for the server."),
        ErrorCode.BAD_REQUEST: translate("ErrorMessages", "The server refused the request."),
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
