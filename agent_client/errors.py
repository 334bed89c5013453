"""The closed tree of errors the agent client raises on purpose.

Every error carries a ``code`` string: a :class:`shared.errors.ErrorCode` for
errors the server reported, or one of the client codes below. The user sees
a translated message chosen by code (:mod:`agent_client.messages`), never a
raw body or a traceback.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shared.errors import ErrorCode

if TYPE_CHECKING:  # pydantic's wire models are not imported before the first window
    from shared.protocol import QuotaView

__all__ = [
    "ApiError",
    "ClientError",
    "CredentialStoreUnavailable",
    "DeploymentConfigError",
    "NetworkError",
    "ProtocolError",
]


class ClientError(Exception):
    """Base of every error the client raises on purpose.

    Args:
        message: A sentence for logs and developers; no personal data.
    """

    code: str = "client_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DeploymentConfigError(ClientError):
    """The deployment config file is missing, unreadable or invalid."""

    code = "deployment_config"


class CredentialStoreUnavailable(ClientError):  # noqa: N818 - the name the project uses
    """No secure OS keyring is available, or it refused to work."""

    code = "credential_store"


class NetworkError(ClientError):
    """The server could not be reached (connection, TLS, timeout)."""

    code = "network"


class ProtocolError(ClientError):
    """The server answered something the protocol does not allow (bad or oversized body)."""

    code = "protocol"


class ApiError(ClientError):
    """The server refused the request with an error body.

    Args:
        code: The wire error code.
        message: The server's message (no personal data by contract; never shown).
        status: The HTTP status code.
        retry_at: When to try again, as the body said (``quota_reached``: the
            next record may come; ``account_locked``: the lock ends); UTC-aware.
        quota: The agent's issuance count, as the body said (``quota_reached``).
        retry_after_s: The response's ``Retry-After`` in seconds (``server_busy``), when it had one.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        status: int,
        retry_at: datetime | None = None,
        quota: QuotaView | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_at = retry_at
        self.quota = quota
        self.retry_after_s = retry_after_s
