"""Request dependencies: server state, the agent's bearer token and the client's address."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from owner_server.api.state import ServerState
from shared.errors import AuthError

__all__ = ["BearerToken", "ClientAddress", "StateDep"]


def get_state(request: Request) -> ServerState:
    """The app's :class:`ServerState`."""
    state: ServerState = request.app.state.custos
    return state


def bearer_token(request: Request) -> str:
    """The bearer token of the request.

    Raises:
        AuthError: No or malformed ``Authorization: Bearer`` header.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 128:
        raise AuthError("not logged in")
    return token


def client_address(request: Request) -> str:
    """The client's IP address as the transport gives it, normalised ("" when there is none or it is not an IP).

    Forwarding headers are never read (``serve`` runs uvicorn with
    ``proxy_headers=False``): a client could write any address there, so site
    networks and the audit trail need the TCP peer. An IPv4-mapped IPv6
    address is given as its IPv4 address.
    """
    host = request.client.host if request.client is not None else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return ""
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return str(mapped or ip)


StateDep = Annotated[ServerState, Depends(get_state)]
BearerToken = Annotated[str, Depends(bearer_token)]
ClientAddress = Annotated[str, Depends(client_address)]
