"""The ``[sessions]`` section of ``settings.toml``: how long agent tokens and sessions live.

Example::

    [sessions]
    access_token_ttl_s = 900    # an access token's life; the client refreshes it ahead of time
    max_session_s = 43200       # a login lasts at most this long (12 h), refreshes or not
    login_checks = 0            # password checks run at once per server process (0: one per CPU)
    login_queue = 32            # checks that may wait for one; one more is answered 503 + Retry-After

The defaults are the ones above; a short ``access_token_ttl_s`` (down to 5 s)
is what tests use to run a shift longer than a token.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.limits import LIMITS

__all__ = ["SessionSettings"]


class SessionSettings(BaseModel):
    """Lifetimes of agent sessions.

    Attributes:
        access_token_ttl_s: Lifetime of an access (bearer) token, in seconds.
        max_session_s: Longest a login session lasts, in seconds; no refresh goes beyond it.
        login_checks: Argon2id password checks one server process runs at once (0: one per CPU;
            :mod:`owner_server.api.login_gate`).
        login_queue: Logins that may wait for a check; one more is answered ``503 server_busy``
            with ``Retry-After``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    access_token_ttl_s: int = Field(default=LIMITS.token_ttl_s, ge=5, le=24 * 3600)
    max_session_s: int = Field(default=12 * 3600, ge=60, le=7 * 24 * 3600)
    login_checks: int = Field(default=0, ge=0, le=256)
    login_queue: int = Field(default=32, ge=0, le=100_000)

    @model_validator(mode="after")
    def _token_within_session(self) -> SessionSettings:
        if self.access_token_ttl_s > self.max_session_s:
            raise ValueError("access_token_ttl_s must not exceed max_session_s")
        return self
