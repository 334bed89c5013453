"""The update repository, read-only and public: ``GET /updates/metadata/{name}`` and ``GET /updates/targets/{name}``.

No login: metadata and installers are public and signed; the client trusts only
what verifies against the root IT provisioned. Names are checked against a strict
pattern (never a path) before the file system is touched.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from owner_server.api.deps import StateDep
from owner_server.updates.layout import UpdatesLayout
from shared.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/updates", tags=["updates"])
_CHANGING = {"timestamp.json", "root.json"}
_IMMUTABLE = "public, max-age=31536000, immutable"


@router.get("/metadata/{name}")
def metadata(name: str, state: StateDep) -> FileResponse:
    """One metadata file; ``timestamp.json`` and ``root.json`` are never cached, versioned files never change."""
    path = UpdatesLayout(state.settings.data_dir).metadata_file(name)
    if path is None:
        raise NotFoundError("no such update metadata")
    cache = "no-store" if name in _CHANGING else _IMMUTABLE
    return FileResponse(path, media_type="application/json", headers={"Cache-Control": cache})


@router.get("/targets/{name}")
def target(name: str, state: StateDep) -> FileResponse:
    """One installer by ``<sha256>.<name>`` (its content never changes under that name)."""
    path = UpdatesLayout(state.settings.data_dir).target_file(name)
    if path is None:
        raise NotFoundError("no such update file")
    return FileResponse(path, media_type="application/octet-stream", headers={"Cache-Control": _IMMUTABLE})
