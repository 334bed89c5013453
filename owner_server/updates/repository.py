"""The update repository: signed TUF metadata (root, targets, snapshot, timestamp) over the client installers.

Built on python-tuf's Metadata API. Consistent snapshots: every targets and
snapshot version is its own file, targets are stored under their SHA-256, and
``timestamp.json`` is written last, so a client reading during a release sees
the old state or the new one. Expiry follows the TUF spec's advice for an
online repository: root 1 year, targets 3 months, snapshot 1 week, timestamp
1 day. Source: TUF specification 1.0 (theupdateframework.github.io/specification).
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, MetaFile, Role, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer

from owner_server.updates.keys import (
    ONLINE_ROLES,
    OnlineKeys,
    check_root_key_dir,
    generate_root_keys,
    load_root_signers,
)
from owner_server.updates.layout import UpdatesLayout, atomic_write, valid_target_name
from owner_server.updates.published import read_published
from shared.errors import ConflictError, ValidationError
from shared.updates import Platform, parse_version, release_info

__all__ = ["EXPIRY", "REFRESH_MARGIN", "Release", "UpdateRepository"]

#: How long each role's metadata is valid after it is signed.
EXPIRY = {
    "root": timedelta(days=365),
    "targets": timedelta(days=91),
    "snapshot": timedelta(days=7),
    "timestamp": timedelta(days=1),
}
#: The running server re-signs an online role once less than this is left.
REFRESH_MARGIN = {"targets": timedelta(days=14), "snapshot": timedelta(days=2), "timestamp": timedelta(hours=12)}
_SERIALIZER = JSONSerializer(compact=False)
T = TypeVar("T", Root, Timestamp, Snapshot, Targets)


@dataclass(frozen=True, slots=True)
class Release:
    """One installer in the repository.

    Attributes:
        name: The target name (the installer's file name).
        version: Its release version.
        platform: ``linux`` or ``windows``.
        length: Size in bytes.
        sha256: Hex digest.
    """

    name: str
    version: str
    platform: Platform
    length: int
    sha256: str


class UpdateRepository:
    """One data dir's update repository.

    Args:
        data_dir: The installation's data dir.
        keys: The online keys (encrypted with the installation's KEK).
        clock: Current UTC time (tests move it).
    """

    def __init__(self, data_dir: Path, keys: OnlineKeys, *, clock: Callable[[], datetime] | None = None) -> None:
        self.data_dir = data_dir
        self.layout = UpdatesLayout(data_dir)
        self._keys = keys
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- reading -----------------------------------------------------------

    def _current(self, role: str, kind: type[T]) -> Metadata[T]:
        return read_published(self.layout, role, kind)

    #: Warn (in the server log) once root has less than this left; only the offline keys can renew it.
    root_warning = timedelta(days=30)

    def clock(self) -> datetime:
        """The current UTC time this repository signs with."""
        return self._clock()

    def root(self) -> Root:
        """The current root."""
        return self._current("root", Root).signed

    def releases(self) -> list[Release]:
        """Every installer in the current targets metadata, oldest version first."""
        found = []
        for name, target in self._current("targets", Targets).signed.targets.items():
            info = release_info(target.custom)
            if info is not None:
                found.append(Release(name, info[0], info[1], target.length, target.hashes["sha256"]))
        return sorted(found, key=lambda r: (r.platform, parse_version(r.version)))

    def expiries(self) -> dict[str, datetime]:
        """When each role's current metadata expires (UTC)."""
        return {
            "root": self._current("root", Root).signed.expires,
            "targets": self._current("targets", Targets).signed.expires,
            "snapshot": self._current("snapshot", Snapshot).signed.expires,
            "timestamp": self._current("timestamp", Timestamp).signed.expires,
        }

    # -- writing -----------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time (the CLI and the running server's refresher)."""
        self.layout.root.mkdir(mode=0o755, exist_ok=True)
        with self.layout.lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _sign(self, md: Metadata[Any], signers: list[Signer], *, bump: bool = True) -> bytes:
        if bump:
            md.signed.version += 1
        md.signed.expires = self._clock().replace(microsecond=0) + EXPIRY[md.signed.type]
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        return md.to_bytes(_SERIALIZER)

    def _write_root(self, md: Metadata[Root], signers: list[Signer], *, bump: bool) -> None:
        data = self._sign(md, signers, bump=bump)
        atomic_write(self.layout.metadata / f"{md.signed.version}.root.json", data)
        atomic_write(self.layout.metadata / "root.json", data)

    def _signers(self) -> dict[str, Signer]:
        """Every online role's signer (loaded before anything is written).

        Raises:
            ValidationError: A signing key is missing or cannot be decrypted.
        """
        return {role: self._keys.load(role) for role in ONLINE_ROLES}

    def _publish(
        self, *, targets: Metadata[Targets] | None, snapshot: bool, signers: dict[str, Signer] | None = None
    ) -> None:
        """Sign what changed and everything above it: targets → snapshot → timestamp (written last).

        Every signer is loaded and every role signed in memory before the first file is
        written; a write that fails removes the files this call wrote, so a failure leaves
        the published state (timestamp.json) as it was.

        Raises:
            ValidationError: A signing key is missing or cannot be decrypted (nothing written).
            OSError: A file could not be written (what this call wrote is removed).
        """
        signers = signers or self._signers()
        writes: list[tuple[Path, bytes]] = []
        snap = self._current("snapshot", Snapshot)
        if targets is not None:
            data = self._sign(targets, [signers["targets"]])
            writes.append((self.layout.metadata / f"{targets.signed.version}.targets.json", data))
        if targets is not None or snapshot:
            published = targets if targets is not None else self._current("targets", Targets)
            snap.signed.meta["targets.json"] = MetaFile(version=published.signed.version)
            data = self._sign(snap, [signers["snapshot"]])
            writes.append((self.layout.metadata / f"{snap.signed.version}.snapshot.json", data))
        stamp = self._current("timestamp", Timestamp)
        stamp.signed.snapshot_meta = MetaFile(version=snap.signed.version)
        stamp_data = self._sign(stamp, [signers["timestamp"]])
        written: list[Path] = []
        try:
            for path, data in writes:
                atomic_write(path, data)
                written.append(path)
            atomic_write(self.layout.metadata / "timestamp.json", stamp_data)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise

    def init(self, root_key_dir: Path, *, threshold: int = 1, count: int = 1) -> list[str]:
        """Create the repository: ``count`` offline root keys in ``root_key_dir``, online keys, version 1 of each role.

        Args:
            root_key_dir: Where the root keys go (outside the data dir; removable media).
            threshold: How many root keys must sign a new root.
            count: How many root keys to make.

        Returns:
            The root key ids.

        Raises:
            ValidationError: Bad threshold/count or root key directory.
            ConflictError: The repository or the root keys exist already.
        """
        if not 1 <= threshold <= count <= 9:
            raise ValidationError("need 1 <= threshold <= keys <= 9")
        check_root_key_dir(root_key_dir, self.data_dir)
        if self.layout.exists():
            raise ConflictError("the update repository exists already")
        with self._locked():
            self.layout.create_dirs()
            root_signers = generate_root_keys(root_key_dir, count)
            root = Root(expires=self._clock(), consistent_snapshot=True)
            root.roles["root"] = Role([], threshold)
            for signer in root_signers:
                root.add_key(signer.public_key, "root")
            for role in ONLINE_ROLES:
                root.add_key(self._keys.generate(role).public_key, role)
            self._write_root(Metadata(root), list(root_signers), bump=False)
            targets = Metadata(Targets(expires=self._clock()))
            atomic_write(
                self.layout.metadata / "1.targets.json", self._sign(targets, [self._keys.load("targets")], bump=False)
            )
            snap = Metadata(Snapshot(expires=self._clock()))
            atomic_write(
                self.layout.metadata / "1.snapshot.json", self._sign(snap, [self._keys.load("snapshot")], bump=False)
            )
            stamp = Metadata(Timestamp(expires=self._clock()))
            atomic_write(
                self.layout.metadata / "timestamp.json", self._sign(stamp, [self._keys.load("timestamp")], bump=False)
            )
        return [s.public_key.keyid for s in root_signers]

    def add(self, path: Path, *, version: str, platform: Platform) -> Release:
        """Add an installer as a new target and publish new targets, snapshot and timestamp.

        Raises:
            ValidationError: Not a regular file, a bad name or version, or a version not newer than
                the newest one for ``platform``.
            ConflictError: A target of that name exists already.
        """
        if not path.is_file():
            raise ValidationError(f"{path} is not a regular file")
        if not valid_target_name(path.name):
            raise ValidationError("installer file name must be letters, digits and . _ + - only")
        wanted = parse_version(version)
        with self._locked():
            signers = self._signers()  # a missing key fails here, before anything is written
            current = [r for r in self.releases() if r.platform == platform]
            if current and wanted <= parse_version(current[-1].version):
                raise ValidationError(f"version {version} is not newer than {current[-1].version} for {platform}")
            targets = self._current("targets", Targets)
            if path.name in targets.signed.targets:
                raise ConflictError(f"a release named {path.name} exists already")
            target = TargetFile.from_file(path.name, str(path), ["sha256"])
            target.unrecognized_fields["custom"] = {"version": version, "platform": platform}
            digest = target.hashes["sha256"]
            stored = self.layout.targets / f"{digest}.{path.name}"
            tmp = stored.with_name(f".{stored.name}.tmp")
            shutil.copyfile(path, tmp)
            with tmp.open("rb") as fh:
                copied = hashlib.file_digest(fh, "sha256").hexdigest()
            if copied != digest:
                tmp.unlink()
                raise ValidationError(f"{path} changed while it was being added")
            tmp.chmod(0o644)
            fresh = not stored.exists()
            tmp.replace(stored)
            targets.signed.targets[path.name] = target
            try:
                self._publish(targets=targets, snapshot=True, signers=signers)
            except BaseException:
                if fresh:
                    stored.unlink(missing_ok=True)
                raise
        return Release(path.name, version, platform, target.length, digest)

    def resign_timestamp(self) -> int:
        """Sign a new timestamp version (same snapshot); returns its version."""
        with self._locked():
            self._publish(targets=None, snapshot=False)
            return self._current("timestamp", Timestamp).signed.version

    def refresh(self) -> list[str]:
        """Re-sign each online role whose metadata expires within :data:`REFRESH_MARGIN` (with the roles above it).

        Returns:
            The roles re-signed (empty when nothing was near expiry).
        """
        with self._locked():
            now = self._clock()
            due = {role for role, margin in REFRESH_MARGIN.items() if self.expiries()[role] - now < margin}
            if not due:
                return []
            targets = self._current("targets", Targets) if "targets" in due else None
            self._publish(targets=targets, snapshot=bool(due & {"targets", "snapshot"}))
        return sorted(due | ({"snapshot", "timestamp"} if targets else {"timestamp"}))

    def rotate_online(self, root_key_dir: Path) -> int:
        """Replace the online keys: a new root (signed by the offline root keys) and re-signed online roles.

        Returns:
            The new root version.

        Raises:
            ValidationError: Fewer root keys in ``root_key_dir`` than root's threshold.
        """
        check_root_key_dir(root_key_dir, self.data_dir)
        with self._locked():
            root_md = self._current("root", Root)
            role = root_md.signed.roles["root"]
            signers = load_root_signers(root_key_dir, role.keyids)
            if len(signers) < role.threshold:
                raise ValidationError(f"{root_key_dir} holds {len(signers)} of the {role.threshold} root keys needed")
            for name in ONLINE_ROLES:
                for keyid in list(root_md.signed.roles[name].keyids):
                    root_md.signed.revoke_key(keyid, name)
                root_md.signed.add_key(self._keys.generate(name).public_key, name)
            self._write_root(root_md, list(signers), bump=True)
            self._publish(targets=self._current("targets", Targets), snapshot=True)
            return root_md.signed.version
