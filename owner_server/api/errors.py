"""Map domain errors to HTTP responses with an :class:`ErrorBody`.

Validation errors never echo the input back (it may hold a password or a
personal value); unexpected errors answer ``internal`` with no detail.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from owner_server.vault.kek import KekError
from shared.errors import STATUS_BY_CODE, BusyError, CustosError, ErrorCode, LockedError, QuotaReachedError
from shared.protocol import ErrorBody, QuotaView

__all__ = ["STATUS_BY_CODE", "error_response", "install_error_handlers"]

log = logging.getLogger("custos.api")


def error_response(
    code: ErrorCode, message: str, *, extra: ErrorBody | None = None, retry_after_s: int | None = None
) -> JSONResponse:
    """A JSON error response for a code (``extra``: a full body with ``retry_at``/``quota``).

    ``retry_after_s`` adds a ``Retry-After`` header (whole seconds), as a ``503`` busy answer carries.
    """
    body = (extra or ErrorBody(code=code, message=message)).model_dump(mode="json", exclude_none=True)
    headers = {"WWW-Authenticate": "Bearer"} if STATUS_BY_CODE[code] == 401 else {}
    if retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
    return JSONResponse(body, status_code=STATUS_BY_CODE[code], headers=headers or None)


def _body_of(exc: CustosError) -> ErrorBody | None:
    """The full body of errors that carry more than a code and a message."""
    if isinstance(exc, QuotaReachedError):
        quota = QuotaView(
            issued_hour=exc.issued_hour, per_hour=exc.per_hour, issued_day=exc.issued_day, per_day=exc.per_day
        )
        return ErrorBody(code=exc.code, message=exc.message, retry_at=exc.retry_at, quota=quota)
    if isinstance(exc, LockedError):
        return ErrorBody(code=exc.code, message=exc.message, retry_at=exc.until)
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""

    @app.exception_handler(CustosError)
    async def _custos(_request: Request, exc: CustosError) -> JSONResponse:
        if isinstance(exc, KekError):
            log.error("key-encryption key problem: %s", exc.message)
            return error_response(ErrorCode.INTERNAL, "server key problem")
        retry_after = exc.retry_after_s if isinstance(exc, BusyError) else None
        return error_response(exc.code, exc.message, extra=_body_of(exc), retry_after_s=retry_after)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = sorted({".".join(str(p) for p in err.get("loc", ())[1:]) or "body" for err in exc.errors()})
        return error_response(ErrorCode.BAD_REQUEST, "invalid request: " + ", ".join(where)[:300])

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.BAD_REQUEST, 413: ErrorCode.PAYLOAD_TOO_LARGE}.get(
            exc.status_code, ErrorCode.BAD_REQUEST
        )
        return error_response(code, "not found" if exc.status_code == 404 else "request refused")

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, _exc: IntegrityError) -> JSONResponse:
        # a concurrent request won a unique constraint (same event id, a second lease); nothing was changed
        return error_response(ErrorCode.CONFLICT, "the request conflicted with a concurrent one; retry it")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s while serving a request", type(exc).__name__)
        return error_response(ErrorCode.INTERNAL, "internal error")
