"""Why the agent client refused to start, and the signed report it sends (``/api/v1/agent/integrity-reports``).

The client refuses to run while it is being debugged or injected into
(``agent_client.integrity``); when the device is enrolled it tells the
server why, signed with the device key (Ed25519, RFC 8032) over a fresh
single-use nonce, so a report cannot be forged for another device or
replayed.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from shared.integrity_reasons import IntegrityReason
from shared.protocol import B64, Ident, WireModel

__all__ = ["IntegrityReason", "IntegrityReport", "integrity_challenge"]


#: A release version, not free text (it is audited): ``1.2.3``, optionally a short ``-rc.1`` / ``+build.7`` suffix.
ClientVersion = Annotated[
    str, StringConstraints(max_length=32, pattern=r"^[0-9]{1,6}(\.[0-9]{1,6}){0,3}([-+][a-z0-9.]{1,16})?$")
]


def integrity_challenge(*, device_id: str, nonce: str, reason: IntegrityReason, client_version: str) -> bytes:
    """Build the exact bytes a device signs to report a refused start.

    Domain-separated from the login and refresh challenges
    (:mod:`shared.auth`), so none of the three signatures can stand in for
    another.

    Args:
        device_id: The device id issued at enrolment.
        nonce: A single-use server nonce (``/nonce``).
        reason: Why the client refused to start.
        client_version: The client's version (``shared.version.__version__``).

    Returns:
        The message bytes (UTF-8).
    """
    return f"custos-integrity-v1\n{device_id}\n{nonce}\n{reason.value}\n{client_version}".encode()


class IntegrityReport(WireModel):
    """A refused start, proved by the device's signature over :func:`integrity_challenge`."""

    device_id: Ident
    nonce: Ident
    reason: IntegrityReason
    client_version: ClientVersion
    signature: B64 = Field(description="Ed25519 signature, 64 bytes, base64")
