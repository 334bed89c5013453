"""Every size, count and time limit of the protocol, in one frozen object."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds both sides enforce.

    Attributes:
        max_body_bytes: Largest request body the server reads, in bytes.
        max_event_batch: Most display events in one upload batch.
        max_field_chars: Longest value a contact field may hold, in characters.
        max_login_chars: Longest login name, in characters.
        max_password_chars: Longest password accepted, in characters.
        nonce_ttl_s: Lifetime of a login challenge nonce, in seconds.
        token_ttl_s: Lifetime of an agent bearer token, in seconds.
        lease_ttl_s: How long an agent may hold one record, in seconds.
        clock_skew_s: Tolerated difference between client and server clocks, in seconds.
        enrolment_code_ttl_s: Lifetime of a one-time enrolment code, in seconds.
        max_response_bytes: Largest response body the client reads, in bytes.
        max_events_per_lease: Most display events the server stores for one lease
            (a real display yields a handful; more is a flood).
        max_events_per_agent_hour: Most display events the server stores for one
            agent in a rolling hour (60 records of a handful each, with room to spare).
        login_failures_max: Failed logins of one account (wrong password or device
            proof) within ``login_failure_window_s`` that lock it.
        login_failure_window_s: The window those failures are counted in, in seconds.
        login_lock_s: How long a locked account stays locked, in seconds.
        login_alert_quiet_s: After a login-time alert (outside network), how long the
            same agent's retries raise no new one, in seconds.
        max_networks: Most site networks (CIDR ranges) one outsourcer may have.
        max_notes_chars: Longest note an agent may write with an outcome, in characters.
        max_verify_chars: Longest value an agent may type to verify a field, in characters.
        verify_tries: Most verification tries per field per lease.
    """

    max_body_bytes: int = 64 * 1024
    max_event_batch: int = 200
    max_field_chars: int = 2000
    max_login_chars: int = 64
    max_password_chars: int = 256
    nonce_ttl_s: int = 60
    token_ttl_s: int = 15 * 60
    lease_ttl_s: int = 30 * 60
    clock_skew_s: int = 300
    enrolment_code_ttl_s: int = 7 * 24 * 3600
    max_response_bytes: int = 256 * 1024
    max_events_per_lease: int = 100
    max_events_per_agent_hour: int = 1000
    login_failures_max: int = 5
    login_failure_window_s: int = 15 * 60
    login_lock_s: int = 15 * 60
    login_alert_quiet_s: int = 60 * 60
    max_networks: int = 64
    max_notes_chars: int = 500
    max_verify_chars: int = 64
    verify_tries: int = 3


#: The limits in force.
LIMITS = Limits()
