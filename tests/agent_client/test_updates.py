"""The client's update check (python-tuf ngclient) against the real repository code and the real agent routes.

Each attack is played by changing what the server's repository directory holds
(what a compromised mirror or a man in the middle could serve) and must be
refused with ngclient's own error. The install step is :class:`RecordingEdge`,
a fake at the OS edge implementing the same interface.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from securesystemslib.signer import CryptoSigner
from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import Metadata, Timestamp

from agent_client.updates import LinuxAptEdge, UpdateOutcome, WindowsInstallerEdge
from owner_server.api.app import create_app
from tests.support.updates import RecordingEdge, checker, init_repository, installer, repository


@pytest.fixture
def served(installation, tmp_path):
    """A repository with a Windows 0.2.0 release, served by the agent app in process.

    The app's lifespan is not run: its refresher would re-sign what an attacker served (tests/owner_server cover it).
    """
    repo = init_repository(installation, tmp_path / "rootkeys")
    repo.add(installer(tmp_path, "0.2.0"), version="0.2.0", platform="windows")
    app = create_app(installation.settings, engine=installation.engine, keys=installation.keys)
    client = TestClient(app, base_url="https://127.0.0.1:1")
    yield repo, client
    client.close()


def test_a_good_update_is_found_downloaded_verified_and_installed(installation, served, tmp_path):
    repo, client = served
    edge = RecordingEdge()
    result = checker(installation, client, tmp_path / "cache", edge=edge).check()
    assert result is not None
    offer, outcome = result
    assert (offer.version, offer.platform, outcome) == ("0.2.0", "windows", UpdateOutcome.INSTALL_ON_EXIT)
    assert offer.installer is not None and offer.installer.is_file()
    published = repo.releases()[-1]
    assert hashlib.sha256(offer.installer.read_bytes()).hexdigest() == published.sha256
    assert edge.prepared == [offer]


def test_the_newest_release_of_this_platform_wins(installation, served, tmp_path):
    repo, client = served
    repo.add(installer(tmp_path, "0.10.0"), version="0.10.0", platform="windows")
    repo.add(installer(tmp_path, "9.0.0", "linux"), version="9.0.0", platform="linux")
    offer, _ = checker(installation, client, tmp_path / "cache").check()
    assert offer.version == "0.10.0"  # numbers compare as numbers: 0.10 > 0.2; the Linux 9.0 is not ours


def test_a_current_client_is_offered_nothing(installation, served, tmp_path):
    _repo, client = served
    edge = RecordingEdge()
    assert checker(installation, client, tmp_path / "cache", edge=edge, current_version="0.2.0").check() is None
    assert edge.prepared == []


def test_on_linux_the_client_only_says_it_is_coming(installation, served, tmp_path):
    repo, client = served
    repo.add(installer(tmp_path, "0.3.0", "linux"), version="0.3.0", platform="linux")
    offer, outcome = checker(installation, client, tmp_path / "cache", edge=LinuxAptEdge(), platform="linux").check()
    assert (offer.version, offer.installer, outcome) == ("0.3.0", None, UpdateOutcome.IT_INSTALLS)
    assert not any((tmp_path / "cache" / "targets").iterdir())


def test_a_tampered_installer_is_refused(installation, served, tmp_path):
    repo, client = served
    stored = next(repo.layout.targets.iterdir())
    data = bytearray(stored.read_bytes())
    data[100] ^= 0x01  # same length, one bit changed after signing
    stored.write_bytes(bytes(data))
    edge = RecordingEdge()
    with pytest.raises(tuf_errors.LengthOrHashMismatchError):
        checker(installation, client, tmp_path / "cache", edge=edge).check()
    assert edge.prepared == []
    assert not any((tmp_path / "cache" / "targets").iterdir())


def test_rollback_to_an_older_timestamp_is_refused(installation, served, tmp_path):
    repo, client = served
    old = repo.layout.metadata / "timestamp.json"
    saved = old.read_bytes()
    repo.add(installer(tmp_path, "0.3.0"), version="0.3.0", platform="windows")
    cache = tmp_path / "cache"
    assert checker(installation, client, cache).check()[0].version == "0.3.0"  # the newer state was seen
    old.write_bytes(saved)  # the attacker serves the state before 0.3.0
    with pytest.raises(tuf_errors.BadVersionNumberError):
        checker(installation, client, cache).check()


def test_rollback_of_snapshot_under_a_fresh_timestamp_is_refused(installation, served, tmp_path):
    repo, client = served
    cache = tmp_path / "cache"
    checker(installation, client, cache).check()
    repo.add(installer(tmp_path, "0.3.0"), version="0.3.0", platform="windows")
    checker(installation, client, cache).check()
    stamp = Metadata[Timestamp].from_file(str(repo.layout.metadata / "timestamp.json"))
    stamp.signed.version += 1
    stamp.signed.snapshot_meta.version -= 1  # points back at the snapshot before 0.3.0
    stamp.signatures.clear()
    stamp.sign(repo._keys.load("timestamp"))  # even with the real timestamp key
    stamp.to_file(str(repo.layout.metadata / "timestamp.json"))
    with pytest.raises(tuf_errors.BadVersionNumberError):
        checker(installation, client, cache).check()


def test_expired_timestamp_is_refused(installation, served, tmp_path):
    repo, client = served
    past = datetime.now(UTC) - timedelta(days=2)
    repository(installation, clock=lambda: past).resign_timestamp()  # valid signature, expired yesterday
    with pytest.raises(tuf_errors.ExpiredMetadataError):
        checker(installation, client, tmp_path / "cache").check()


def test_mix_and_match_targets_of_another_release_are_refused(installation, served, tmp_path):
    repo, client = served
    first = repo.layout.latest_version("targets")
    repo.add(installer(tmp_path, "0.3.0"), version="0.3.0", platform="windows")
    latest = repo.layout.latest_version("targets")
    # the current snapshot and timestamp with the targets of the earlier release, under the current name
    shutil.copyfile(repo.layout.metadata / f"{first}.targets.json", repo.layout.metadata / f"{latest}.targets.json")
    with pytest.raises(tuf_errors.BadVersionNumberError):
        checker(installation, client, tmp_path / "cache").check()


def test_targets_signed_by_a_key_root_does_not_trust_are_refused(installation, served, tmp_path):
    repo, client = served
    latest = repo.layout.metadata / f"{repo.layout.latest_version('targets')}.targets.json"
    forged = Metadata.from_file(str(latest))
    forged.signatures.clear()
    forged.sign(CryptoSigner.generate_ed25519())
    forged.to_file(str(latest))
    with pytest.raises(tuf_errors.UnsignedMetadataError):
        checker(installation, client, tmp_path / "cache").check()


def test_timestamp_signed_by_a_key_not_in_root_is_refused(installation, served, tmp_path):
    repo, client = served
    path = repo.layout.metadata / "timestamp.json"
    forged = Metadata.from_file(str(path))
    forged.signed.version += 1
    forged.signatures.clear()
    forged.sign(CryptoSigner.generate_ed25519())
    forged.to_file(str(path))
    with pytest.raises(tuf_errors.UnsignedMetadataError):
        checker(installation, client, tmp_path / "cache").check()


def test_a_new_root_signed_without_the_root_keys_is_refused(installation, served, tmp_path):
    repo, client = served
    forged = Metadata.from_file(str(repo.layout.metadata / "root.json"))
    forged.signed.version += 1
    forged.signatures.clear()
    forged.sign(repo._keys.load("targets"))  # an online key, not a root key
    forged.to_file(str(repo.layout.metadata / "2.root.json"))
    with pytest.raises(tuf_errors.UnsignedMetadataError):
        checker(installation, client, tmp_path / "cache").check()


def test_rotated_online_keys_are_followed_through_the_new_root(installation, served, tmp_path):
    repo, client = served
    cache = tmp_path / "cache"
    checker(installation, client, cache).check()
    assert repo.rotate_online(tmp_path / "rootkeys") == 2
    repo.add(installer(tmp_path, "0.4.0"), version="0.4.0", platform="windows")
    offer, _ = checker(installation, client, cache).check()  # still bootstrapped from the provisioned 1.root.json
    assert offer.version == "0.4.0"


def _windows_offer(installation, client, tmp_path):
    edge = WindowsInstallerEdge(launch=lambda path: launched.append((path, path.read_bytes())))
    launched: list[tuple[Path, bytes]] = []
    result = checker(installation, client, tmp_path / "cache", edge=edge).check()
    assert result is not None and result[1] is UpdateOutcome.INSTALL_ON_EXIT
    return edge, result[0], launched


def test_the_verified_installer_is_launched_from_a_checked_private_copy(installation, served, tmp_path):
    """The launch is the OS edge (``os.startfile`` runas), faked here; the copy and hash check are real."""
    _repo, client = served
    edge, offer, launched = _windows_offer(installation, client, tmp_path)
    copy = edge.run_pending()
    assert copy is not None and copy != offer.installer and launched == [(copy, offer.installer.read_bytes())]
    assert edge.run_pending() is None and len(launched) == 1  # once only


@pytest.mark.parametrize("swap", [b"MZ evil", None])
def test_an_installer_swapped_after_verification_is_not_launched(installation, served, tmp_path, swap, caplog):
    """Red-team F7: a same-user process replaces (or pads) the cached installer between download and exit."""
    _repo, client = served
    edge, offer, launched = _windows_offer(installation, client, tmp_path)
    original = offer.installer.read_bytes()
    offer.installer.write_bytes(swap if swap is not None else original[:-1] + bytes([original[-1] ^ 1]))
    assert edge.run_pending() is None
    assert launched == []
    assert "changed after it was verified" in caplog.text
