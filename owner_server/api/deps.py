"""Request dependencies: server state, the agent's bearer token and the client's address."""

from __future__ import annotations

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
    """The client's IP address as the server sees it ("" when the transport gives none).

    Behind a reverse proxy this is the proxy's address unless the server is
    told to trust its forwarding headers (uvicorn ``forwarded_allow_ips``).
    """
    return request.client.host if request.client is not None else ""


StateDep = Annotated[ServerState, Depends(get_state)]
BearerToken = Annotated[str, Depends(bearer_token)]
ClientAddress = Annotated[str, Depends(client_address)]
