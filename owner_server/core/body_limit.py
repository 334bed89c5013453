"""An ASGI middleware bounding request bodies, declared or streamed, before any route reads them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit"]

#: Decides, for a path in ``larger``, whether this request may send the larger body (e.g. a logged-in admin).
AllowLarger = Callable[[Scope], Awaitable[bool]]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with ``refusal`` (413), whether declared or streamed.

    Args:
        app: The wrapped application.
        limit: Largest body in bytes.
        refusal: The ASGI response sent instead (a 413 in the face's own format).
        larger: Paths that take a larger body (uploads), with their limit.
        allow_larger: Checked before a path in ``larger`` gets its limit; when it says no,
            ``limit`` applies (so nobody can make the server spool a large body without the right).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        refusal: ASGIApp,
        larger: Mapping[str, int] | None = None,
        allow_larger: AllowLarger | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.refusal = refusal
        self.larger = dict(larger or {})
        self.allow_larger = allow_larger

    async def _limit_for(self, scope: Scope) -> int:
        bigger = self.larger.get(str(scope.get("path", "")))
        if bigger is None or scope.get("method") != "POST":
            return self.limit
        if self.allow_larger is not None and not await self.allow_larger(scope):
            return self.limit
        return bigger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = await self._limit_for(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self.refusal(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self.refusal(scope, receive, send)


class _TooLarge(BaseException):  # noqa: N818 - not an Exception, so no body parser turns it into a 400
    pass
