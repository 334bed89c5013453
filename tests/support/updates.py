"""A real update repository in a test installation, and the client's checker reading it through the real routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from agent_client.config import load_deployment_config
from agent_client.updates import HttpxFetcher, UpdateChecker, UpdateOffer, UpdateOutcome
from owner_server.core.datadir import DEPLOYMENT_FILE
from owner_server.updates.keys import OnlineKeys
from owner_server.updates.layout import UpdatesLayout
from owner_server.updates.repository import UpdateRepository
from shared.updates import Platform


@dataclass
class RecordingEdge:
    """The install step at its OS edge, faked: it implements :class:`agent_client.updates.InstallEdge`
    (a Windows installer cannot run here) and records what it was asked to install."""

    downloads: bool = True
    prepared: list[UpdateOffer] = field(default_factory=list)

    def prepare(self, offer: UpdateOffer) -> UpdateOutcome:
        self.prepared.append(offer)
        return UpdateOutcome.INSTALL_ON_EXIT


def repository(installation, clock=None) -> UpdateRepository:
    """The installation's update repository (its online keys wrapped by the installation's KEK)."""
    data_dir = installation.settings.data_dir
    keys = OnlineKeys(UpdatesLayout(data_dir), installation.keys.provider)
    return UpdateRepository(data_dir, keys, clock=clock or (lambda: datetime.now(UTC)))


def init_repository(installation, root_key_dir: Path, **kwargs) -> UpdateRepository:
    root_key_dir.mkdir(exist_ok=True)
    repo = repository(installation)
    repo.init(root_key_dir, **kwargs)
    return repo


def installer(directory: Path, version: str, platform: Platform = "windows", size: int = 4096) -> Path:
    """A stand-in installer file with content unique to its version."""
    name = f"custos-agent-{version}-setup.exe" if platform == "windows" else f"custos-agent_{version}_amd64.deb"
    path = directory / name
    path.write_bytes((f"installer {version} ".encode() * size)[:size])
    return path


def checker(
    installation,
    client: TestClient,
    cache_dir: Path,
    *,
    edge=None,
    platform: Platform = "windows",
    current_version: str = "0.1.0",
    root: bytes | None = None,
) -> UpdateChecker:
    """The real checker with the real fetcher code over ``client`` (the agent app in process)."""
    config, _raw = load_deployment_config(installation.settings.data_dir / DEPLOYMENT_FILE)
    trusted = (
        root
        if root is not None
        else (UpdatesLayout(installation.settings.data_dir).metadata / "1.root.json").read_bytes()
    )
    return UpdateChecker(
        config,
        trusted,
        cache_dir,
        edge if edge is not None else RecordingEdge(),
        platform=platform,
        current_version=current_version,
        fetcher=HttpxFetcher(client),
    )
