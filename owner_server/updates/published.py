"""Reading what the update repository publishes, the way a client does: timestamp → snapshot → targets.

Never "the highest ``N.targets.json`` on disk": a file a failed release left
behind is not published until a timestamp names the snapshot that names it.
Source: TUF specification 1.0, "Detailed client workflow" (consistent snapshots).
"""

from __future__ import annotations

from typing import TypeVar

from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp

from owner_server.updates.layout import UpdatesLayout
from shared.errors import ValidationError

__all__ = ["read_metadata", "read_published"]

T = TypeVar("T", Root, Timestamp, Snapshot, Targets)


def read_metadata(layout: UpdatesLayout, name: str, kind: type[T]) -> Metadata[T]:
    """One metadata file of ``kind``.

    Raises:
        ValidationError: The file holds another role's metadata.
        OSError, tuf.api.exceptions.RepositoryError: It is missing or not valid metadata.
    """
    md = Metadata[T].from_file(str(layout.metadata / name))
    if not isinstance(md.signed, kind):
        raise ValidationError(f"{name} is not {kind.type} metadata")
    return md


def read_published(layout: UpdatesLayout, role: str, kind: type[T]) -> Metadata[T]:
    """The published metadata of ``role`` (root, timestamp, snapshot or targets).

    Raises:
        ValidationError: No repository, or the published snapshot names no targets.
    """
    if not layout.exists():
        raise ValidationError("no update repository here; run `custos-server release init` first")
    if role in ("root", "timestamp"):
        return read_metadata(layout, f"{role}.json", kind)
    snapshot_name = f"{read_metadata(layout, 'timestamp.json', Timestamp).signed.snapshot_meta.version}.snapshot.json"
    if role == "snapshot":
        return read_metadata(layout, snapshot_name, kind)
    meta = read_metadata(layout, snapshot_name, Snapshot).signed.meta.get("targets.json")
    if meta is None:
        raise ValidationError("the published snapshot names no targets metadata")
    return read_metadata(layout, f"{meta.version}.targets.json", kind)
