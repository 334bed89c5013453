"""The provider interface: originate a call for a lease, hang it up, and report what happens.

A provider rings the agent's own phone first; when the agent answers it dials
the customer through the owner's trunk with the campaign's caller ID and
bridges the two legs. It reports every step as a :class:`CallUpdate` to the
sink it was started with (from its own thread). The customer's number is
never given to a provider as a value: :attr:`CallSpec.number` decrypts it
when the provider places the customer's leg, and nothing keeps it after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from owner_server.models._common import utcnow
from shared.calls import CallResult, CallState
from shared.errors import CustosError, ErrorCode

__all__ = [
    "AgentPhoneUnavailableError",
    "CallSpec",
    "CallUpdate",
    "Provider",
    "Sink",
    "TelephonyUnavailableError",
]


class TelephonyUnavailableError(CustosError):
    """The owner's telephony cannot be reached, refused the server's credentials, or is not configured.

    The message never holds a number, a URL or a credential.
    """

    default_code = ErrorCode.TELEPHONY_UNAVAILABLE


class AgentPhoneUnavailableError(CustosError):
    """The agent's own phone is not set, not registered or refused by the PBX."""

    default_code = ErrorCode.AGENT_PHONE_UNAVAILABLE


@dataclass(frozen=True, slots=True)
class CallSpec:
    """What a provider needs to place one call.

    Attributes:
        call_id: The stored call's id (the provider's channel ids derive from it).
        agent_endpoint: The agent's own phone, e.g. ``PJSIP/1001``.
        display_name: What the agent's phone shows for the call (the campaign's name; never a number).
        caller_id: The number the customer sees (the owner's trunk number), or "" for the trunk's default.
        agent_ring_timeout_s: How long the agent's phone rings.
        customer_ring_timeout_s: How long the customer's phone rings.
        number: Decrypts the customer's E.164 number; called only to place the customer's leg.
    """

    call_id: str
    agent_endpoint: str
    display_name: str
    caller_id: str
    agent_ring_timeout_s: int
    customer_ring_timeout_s: int
    number: Callable[[], str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """One step of a call as a provider saw it.

    Attributes:
        call_id: The call.
        state: The state it reached.
        at: When (UTC).
        result: How it ended (with ``state == ended`` only).
        cause: The Q.850 hang-up cause of the leg that ended it, when known.
        agent_channel: The agent leg's channel id, once known.
        customer_channel: The customer leg's channel id, once known.
    """

    call_id: str
    state: CallState
    at: datetime = field(default_factory=utcnow)
    result: CallResult | None = None
    cause: int | None = None
    agent_channel: str | None = None
    customer_channel: str | None = None


Sink = Callable[[CallUpdate], None]


class Provider(Protocol):
    """A telephony that places calls (Asterisk ARI, the simulated one)."""

    name: str

    def start(self, sink: Sink) -> None:
        """Begin reporting call updates to ``sink`` (idempotent)."""

    def stop(self) -> None:
        """Stop reporting and release connections."""

    def originate(self, spec: CallSpec) -> None:
        """Ring the agent's phone for a call; the rest follows as updates.

        Raises:
            TelephonyUnavailableError: The telephony cannot be reached or refused the credentials.
            AgentPhoneUnavailableError: The PBX refused the agent's endpoint.
        """

    def hangup(self, *, call_id: str) -> None:
        """End both legs of a call (the final update follows).

        Raises:
            TelephonyUnavailableError: The telephony cannot be reached.
        """
