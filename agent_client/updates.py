"""Verified client updates: python-tuf's ngclient over the pinned TLS context.

The only trust anchor is the TUF root IT provisioned beside the system config
(:data:`agent_client.config.TUF_ROOT_FILE_NAME`); the only CA is the deployment
config's. ngclient checks signatures, thresholds, versions (no rollback),
expiry and every file's length and SHA-256, so what this module hands on is
what the owner's release keys signed. The metadata cache holds signed public
metadata only (no personal data). Nothing here touches Qt: the service in
:mod:`agent_client.update_service` runs :meth:`UpdateChecker.check` on a worker.
Source: TUF specification 1.0, "Detailed client workflow".
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import httpx
from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import Metadata, Targets
from tuf.ngclient import FetcherInterface, Updater, UpdaterConfig

from agent_client.config import DeploymentConfig, build_ssl_context
from shared.updates import Platform, parse_version, release_info
from shared.version import __version__

__all__ = [
    "HttpxFetcher",
    "InstallEdge",
    "LinuxAptEdge",
    "UpdateChecker",
    "UpdateOffer",
    "UpdateOutcome",
    "WindowsInstallerEdge",
    "current_platform",
    "default_edge",
]

_CHUNK = 64 * 1024
log = logging.getLogger(__name__)


class HttpxFetcher(FetcherInterface):
    """ngclient's transport over an httpx client (:meth:`pinned` for the deployment's TLS context).

    Args:
        client: The client every download goes through.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    @classmethod
    def pinned(cls, ca_pem: str, timeout_s: float = 30.0) -> HttpxFetcher:
        """A fetcher trusting only ``ca_pem`` (no system CAs, no proxy from the environment).

        Args:
            ca_pem: The deployment config's CA certificate(s).
            timeout_s: Connect/read timeout per request, seconds.
        """
        return cls(httpx.Client(verify=build_ssl_context(ca_pem), timeout=timeout_s, trust_env=False))

    def _fetch(self, url: str) -> Iterator[bytes]:
        """Start a GET of ``url``; the body is streamed in chunks.

        Raises:
            DownloadHTTPError: The server answered other than 200.
        """
        response = self._client.send(self._client.build_request("GET", url), stream=True)
        if response.status_code != httpx.codes.OK:
            response.close()
            raise tuf_errors.DownloadHTTPError(f"update server answered {response.status_code}", response.status_code)
        return self._chunks(response)

    @staticmethod
    def _chunks(response: httpx.Response) -> Iterator[bytes]:
        try:
            yield from response.iter_bytes(_CHUNK)
        except httpx.HTTPError as exc:
            raise tuf_errors.DownloadError(f"update download broke off ({type(exc).__name__})") from exc
        finally:
            response.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


@dataclass(frozen=True, slots=True)
class UpdateOffer:
    """A newer release for this platform, verified by ngclient.

    Attributes:
        name: Target name (the installer's file name).
        version: Its release version.
        platform: ``linux`` or ``windows``.
        installer: The downloaded, verified installer, or None when this platform's edge does not download.
        length: The size in bytes the verified targets metadata gives.
        sha256: The hex SHA-256 the verified targets metadata gives.
    """

    name: str
    version: str
    platform: Platform
    installer: Path | None = None
    length: int | None = None
    sha256: str | None = None


class UpdateOutcome(StrEnum):
    """What happens with an offer on this platform."""

    INSTALL_ON_EXIT = "install_on_exit"  # Windows: the installer runs silently once the client exits
    IT_INSTALLS = "it_installs"  # Linux: the signed apt repository delivers it; restart afterwards


class InstallEdge(Protocol):
    """The platform's install step, the one place that touches the OS.

    Attributes:
        downloads: Whether the installer is downloaded (and verified) before :meth:`prepare`.
    """

    downloads: bool

    def prepare(self, offer: UpdateOffer) -> UpdateOutcome:
        """Arrange the install of ``offer`` and say what the agent is told."""


class LinuxAptEdge:
    """Linux: IT's apt (from the signed apt repository) installs the .deb; the client only says it is coming."""

    downloads = False

    def prepare(self, offer: UpdateOffer) -> UpdateOutcome:  # noqa: D102
        return UpdateOutcome.IT_INSTALLS


def _start_elevated(path: Path) -> None:
    """Start ``path`` detached with elevation (ShellExecute verb ``runas``) and ``/S``; Windows only."""
    if sys.platform == "win32":
        os.startfile(str(path), "runas", "/S")  # noqa: S606 - a copy just re-hashed, no shell


class WindowsInstallerEdge:
    """Windows: run the verified, Authenticode-signed NSIS installer silently (``/S``) after the client exits.

    The installer writes to Program Files, so Windows asks for elevation (UAC,
    ShellExecute verb ``runas``); where agents are standard users without that
    right, IT's software distribution installs it and the notice still tells the
    agent. At exit the cached download is copied into a fresh private temp
    directory and the copy's length and SHA-256 are checked against the verified
    target info right before it is launched: a file swapped in the cache after
    ngclient verified it is not run.

    Args:
        launch: Starts the installer (default ``os.startfile`` with ``runas`` on Windows,
            nothing elsewhere); tests fake this OS edge.
    """

    downloads = True

    def __init__(self, launch: Callable[[Path], None] | None = None) -> None:
        self.pending: UpdateOffer | None = None
        self._launch = launch or _start_elevated

    def prepare(self, offer: UpdateOffer) -> UpdateOutcome:  # noqa: D102
        self.pending = offer
        return UpdateOutcome.INSTALL_ON_EXIT

    def run_pending(self) -> Path | None:
        """Start the pending installer detached (call as the client exits).

        Returns:
            The checked copy that was launched, or None when none is pending or it did not match.
        """
        offer = self.pending
        self.pending = None
        if offer is None or offer.installer is None or offer.length is None or offer.sha256 is None:
            return None
        private = Path(tempfile.mkdtemp(prefix="custos-update-"))  # 0700 on POSIX; the user's own %TEMP% on Windows
        copy = private / Path(offer.name).name
        try:
            shutil.copyfile(offer.installer, copy)
            with copy.open("rb") as fh:  # the copy is what runs, so the copy is what is checked
                length, digest = os.fstat(fh.fileno()).st_size, hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError as exc:
            log.warning("update installer could not be copied (%s); not started", type(exc).__name__)
            return None
        if length != offer.length or digest != offer.sha256:
            log.warning("update installer %s changed after it was verified; not started", offer.name)
            copy.unlink(missing_ok=True)
            private.rmdir()
            return None
        self._launch(copy)
        return copy


def current_platform() -> Platform:
    """This machine's release platform."""
    return "windows" if sys.platform == "win32" else "linux"


def default_edge() -> InstallEdge:
    """The install edge of this platform."""
    return WindowsInstallerEdge() if sys.platform == "win32" else LinuxAptEdge()


class UpdateChecker:
    """One check against the owner's repository (``<server_url>/updates/``).

    Args:
        config: The deployment config (server URL, pinned CA).
        trusted_root: The provisioned root metadata (bytes of ``tuf-root.json``).
        cache_dir: Where ngclient keeps metadata and downloads.
        edge: The platform's install step.
        platform: Which releases to look at.
        current_version: This client's version.
        fetcher: The transport (default :meth:`HttpxFetcher.pinned` with the deployment's CA).
    """

    def __init__(
        self,
        config: DeploymentConfig,
        trusted_root: bytes,
        cache_dir: Path,
        edge: InstallEdge,
        *,
        platform: Platform | None = None,
        current_version: str = __version__,
        fetcher: FetcherInterface | None = None,
    ) -> None:
        self._base = f"{config.server_url}/updates/"
        self._root = trusted_root
        self._cache = cache_dir
        self.edge = edge
        self._platform = platform or current_platform()
        self._current = parse_version(current_version)
        self._fetcher = fetcher or HttpxFetcher.pinned(config.ca_certificate)

    def close(self) -> None:
        """Close the transport's connections."""
        if isinstance(self._fetcher, HttpxFetcher):
            self._fetcher.close()

    def _updater(self) -> Updater:
        metadata_dir, target_dir = self._cache / "metadata", self._cache / "targets"
        metadata_dir.mkdir(parents=True, exist_ok=True)
        target_dir.mkdir(parents=True, exist_ok=True)
        return Updater(
            str(metadata_dir),
            self._base + "metadata/",
            str(target_dir),
            self._base + "targets/",
            self._fetcher,
            UpdaterConfig(app_user_agent=f"custos-agent/{__version__}"),
            bootstrap=self._root,
        )

    def check(self) -> tuple[UpdateOffer, UpdateOutcome] | None:
        """Refresh the metadata; on a newer release for this platform, download it (if the edge does) and prepare it.

        Returns:
            The offer and what happens with it, or None when this client is current.

        Raises:
            tuf.api.exceptions.RepositoryError: Metadata did not verify (bad signature, rollback,
                expired, mix-and-match) or a download did not match its length and hash.
            tuf.api.exceptions.DownloadError: The server could not be reached or answered an error.
            OSError: The cache cannot be written.
        """
        updater = self._updater()
        updater.refresh()
        best = self._newest()
        if best is None:
            return None
        target = updater.get_targetinfo(best.name)  # from the verified metadata, not the cache file
        info = release_info(target.custom) if target is not None else None
        if target is None or info is None or info[1] != self._platform or parse_version(info[0]) <= self._current:
            return None
        offer = UpdateOffer(target.path, info[0], info[1], length=target.length, sha256=target.hashes.get("sha256"))
        if self.edge.downloads:
            path = updater.find_cached_target(target) or updater.download_target(target)
            offer = replace(offer, installer=Path(path))
        return offer, self.edge.prepare(offer)

    def _newest(self) -> UpdateOffer | None:
        """The newest release for this platform named in the targets metadata ngclient just verified and cached.

        ngclient has no listing call; the cache file only names the candidate, whose
        details are then taken from ngclient's verified metadata (:meth:`check`).
        """
        cached = Metadata[Targets].from_file(str(self._cache / "metadata" / "targets.json"))
        best: UpdateOffer | None = None
        for name, target in cached.signed.targets.items():
            info = release_info(target.custom)
            if info is None or info[1] != self._platform:
                continue
            if best is None or parse_version(info[0]) > parse_version(best.version):
                best = UpdateOffer(name, info[0], info[1])
        return best
