"""Uploaded files and downloads in a private directory of the data dir, never in a served path.

Design:
    * Files live in ``<data dir>/console-uploads`` (mode 0700), each created
      with ``O_EXCL`` and mode 0600 under a random name; only the suffix of the
      browser's file name is kept (it tells a ``.txt`` DNC list or an ``.xlsx``
      workbook from a CSV), never the name itself (it may name a person).
    * Every request body of the routes built with :class:`LimitedRoute` is
      bounded by :data:`MAX_UPLOAD_BYTES` *before* FastAPI parses it: a
      declared ``Content-Length`` over the limit is refused at once, a streamed
      body as soon as it passes the limit (413, nothing stored). Starlette
      spools a large multipart part to an unnamed temporary file (Linux
      ``O_TMPFILE``) while parsing; the copy here is the only named one.
    * :func:`sweep` deletes files older than :data:`ABANDONED_AFTER` that no
      live job holds (an upload never run, or left by a crashed process).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

from fastapi import Request, UploadFile
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import Message

from shared.errors import ErrorCode, ValidationError

__all__ = [
    "ABANDONED_AFTER",
    "MAX_UPLOAD_BYTES",
    "LimitedRoute",
    "PayloadTooLargeError",
    "new_private_path",
    "private_dir",
    "save_upload",
    "sweep",
]

#: Largest request body of an upload route: 200 MiB (about two million contacts of a typical CSV).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: Seconds after which an upload nobody ran is deleted.
ABANDONED_AFTER = 30 * 60
_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ".xlsx", ".xlsm"})
_CHUNK = 1 << 20


class PayloadTooLargeError(ValidationError):
    """The upload is larger than :data:`MAX_UPLOAD_BYTES`; nothing was stored."""

    def __init__(self) -> None:
        super().__init__(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; split it and import the parts.",
            code=ErrorCode.PAYLOAD_TOO_LARGE,
        )


def private_dir(data_dir: Path) -> Path:
    """The private upload directory of a data dir, created with mode 0700 when missing."""
    folder = data_dir / "console-uploads"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def new_private_path(data_dir: Path, suffix: str) -> Path:
    """A fresh, not yet existing path in the private directory with a random name and ``suffix``."""
    return private_dir(data_dir) / f"{secrets.token_hex(16)}{suffix}"


def _suffix(filename: str | None) -> str:
    suffix = Path(filename or "").suffix.lower()
    return suffix if suffix in _SUFFIXES else ".csv"


async def save_upload(upload: UploadFile, data_dir: Path) -> Path:
    """Copy an uploaded file into the private directory (mode 0600).

    Args:
        upload: The form's file part.
        data_dir: The installation's data dir.

    Returns:
        The stored file's path.

    Raises:
        ValidationError: No file was chosen (an empty part without a name).
        PayloadTooLargeError: The file is over the limit (nothing kept).
    """
    if not upload.filename:
        raise ValidationError("Choose a file to upload.")
    path = new_private_path(data_dir, _suffix(upload.filename))
    written = 0
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            while chunk := await upload.read(_CHUNK):
                written += len(chunk)
                if written > MAX_UPLOAD_BYTES:
                    raise PayloadTooLargeError()
                fh.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def sweep(data_dir: Path, *, keep: Iterable[Path], now: float | None = None) -> int:
    """Delete private files older than :data:`ABANDONED_AFTER` except ``keep``; returns how many."""
    folder = private_dir(data_dir)
    kept = {p.name for p in keep}
    limit = (time.time() if now is None else now) - ABANDONED_AFTER
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.name not in kept and entry.is_file() and entry.stat().st_mtime < limit:
                entry.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


class LimitedRoute(APIRoute):
    """A route whose request body is bounded by :data:`MAX_UPLOAD_BYTES` before it is parsed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:  # noqa: D102
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            limit = MAX_UPLOAD_BYTES
            declared = request.headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                raise PayloadTooLargeError()
            seen = 0
            over = False
            receive = request.receive

            async def limited() -> Message:
                nonlocal seen, over
                message = await receive()
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise PayloadTooLargeError()
                return message

            try:
                return await inner(Request(request.scope, limited))
            except Exception:
                if over:
                    raise PayloadTooLargeError() from None
                raise

        return handler
