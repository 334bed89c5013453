"""Where the update repository lives in a data dir, the names it serves, and atomic writes.

Layout::

    updates/metadata/N.root.json      every root version (clients walk them)
    updates/metadata/root.json        the newest root (IT provisions it as tuf-root.json)
    updates/metadata/N.targets.json   consistent snapshots: one file per version
    updates/metadata/N.snapshot.json
    updates/metadata/timestamp.json   the one unversioned, frequently re-signed file
    updates/targets/<sha256>.<name>   installers, named by hash (consistent snapshots)
    updates/keys/<role>-kek<V>.pem    online keys, encrypted with KEK version V, 0600
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

__all__ = [
    "METADATA_NAME_RE",
    "TARGET_FILE_RE",
    "TARGET_NAME_RE",
    "UpdatesLayout",
    "atomic_write",
    "valid_metadata_name",
    "valid_target_file",
]

#: What ``GET /updates/metadata/{name}`` serves: ``timestamp.json``, ``root.json`` and ``N.<role>.json``.
METADATA_NAME_RE = re.compile(r"^(?:[1-9][0-9]{0,9}\.(?:root|targets|snapshot)|root|timestamp)\.json$")
#: A target's name (its path in targets metadata): a plain file name, no directory, no leading dot.
TARGET_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
#: What ``GET /updates/targets/{name}`` serves: ``<sha256 hex>.<target name>``.
TARGET_FILE_RE = re.compile(r"^[0-9a-f]{64}\.[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def valid_metadata_name(name: str) -> bool:
    """Whether ``name`` is a metadata file name the repository may serve (never a path)."""
    return METADATA_NAME_RE.fullmatch(name) is not None


def valid_target_name(name: str) -> bool:
    """Whether ``name`` may be a target's name (a plain file name without ``..``)."""
    return TARGET_NAME_RE.fullmatch(name) is not None and ".." not in name


def valid_target_file(name: str) -> bool:
    """Whether ``name`` is a stored target file name (hash prefix and a valid target name)."""
    return TARGET_FILE_RE.fullmatch(name) is not None and ".." not in name


__all__ += ["valid_target_name"]


class UpdatesLayout:
    """The paths of one data dir's update repository.

    Args:
        data_dir: The installation's data dir.
    """

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "updates"
        self.metadata = self.root / "metadata"
        self.targets = self.root / "targets"
        self.keys = self.root / "keys"
        self.lock = self.root / ".lock"

    def exists(self) -> bool:
        """Whether ``release init`` has made this repository (a signed root is there)."""
        return (self.metadata / "root.json").is_file()

    def create_dirs(self) -> None:
        """Make the directories (keys 0700; metadata and targets are public)."""
        self.root.mkdir(mode=0o755, exist_ok=True)
        self.metadata.mkdir(mode=0o755, exist_ok=True)
        self.targets.mkdir(mode=0o755, exist_ok=True)
        self.keys.mkdir(mode=0o700, exist_ok=True)

    def metadata_file(self, name: str) -> Path | None:
        """The metadata file for a served name, or None when the name is not valid or the file is absent."""
        if not valid_metadata_name(name):
            return None
        path = self.metadata / name
        return path if path.is_file() else None

    def target_file(self, name: str) -> Path | None:
        """The stored target for a served name, or None when the name is not valid or the file is absent."""
        if not valid_target_file(name):
            return None
        path = self.targets / name
        return path if path.is_file() else None

    def latest_version(self, role: str) -> int:
        """The highest ``N`` of ``N.<role>.json`` (0 when there is none)."""
        suffix = f".{role}.json"
        versions = [
            int(p.name[: -len(suffix)]) for p in self.metadata.glob(f"*{suffix}") if p.name[: -len(suffix)].isdigit()
        ]
        return max(versions, default=0)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace`` (readers see old or new, never half).

    Raises:
        OSError: The directory cannot be written.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
