"""Create and open an installation's data dir.

Layout::

    settings.toml            settings (no secrets)
    custos.db                SQLite database (when no database_url is set)
    keys/kek-1.key           key-encryption key, base64, 0600 (file provider)
    keys/audit-signing.pem   Ed25519 key signing audit checkpoints, 0600
    keys/watermark-signing.pem  Ed25519 key signing the records' watermark codes, 0600
    tls/ca.pem, tls/ca-key.pem, tls/server.pem, tls/server-key.pem
    deployment/custos-agent.toml   what IT installs with every agent client
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import tomli_w
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from owner_server.audit import log as audit
from owner_server.audit.anchor import append_anchor, read_anchors
from owner_server.audit.incremental import verify_since_checkpoint
from owner_server.audit.verify_ranges import verify_full
from owner_server.audit.watermark import load_watermark_key
from owner_server.core import tls
from owner_server.core.db import make_engine, session_scope, snapshot_session
from owner_server.core.migrate import upgrade_to_head
from owner_server.core.settings import SETTINGS_FILE, Settings, load_settings
from owner_server.models import Checkpoint
from owner_server.vault.kek import FileKekProvider, make_kek_provider
from owner_server.vault.key_files import load_ed25519_key
from owner_server.vault.keys import KeyService
from owner_server.vault.rotation import verify_keys
from shared.errors import ConflictError

__all__ = [
    "DEPLOYMENT_FILE",
    "Installation",
    "init_data_dir",
    "load_audit_signing_key",
    "open_installation",
    "verify_audit",
]

DEPLOYMENT_FILE = Path("deployment") / "custos-agent.toml"
AUDIT_KEY_FILE = Path("keys") / "audit-signing.pem"


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def init_data_dir(
    data_dir: Path,
    *,
    organisation: str,
    host_names: list[str],
    public_url: str,
    database_url: str = "",
) -> Settings:
    """Create a new data dir with settings, keys, TLS material and a migrated database.

    Args:
        data_dir: Directory to create; must not exist or be empty.
        organisation: The owner's name.
        host_names: DNS names and IP addresses for the server certificate.
        public_url: The URL agents connect to.
        database_url: Optional external database (PostgreSQL); SQLite otherwise.

    Returns:
        The new settings.

    Raises:
        ConflictError: The path is a file, or a directory that is not empty.
        OSError: The directory cannot be written (it is then removed again).
        SQLAlchemyError: The database cannot be reached or migrated (ditto).
    """
    if data_dir.exists() and not data_dir.is_dir():
        raise ConflictError(f"{data_dir} is a file, not a directory; choose another --data-dir")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise ConflictError(f"{data_dir} already exists and is not empty; refusing to touch it")
    created = _first_missing(data_dir)
    try:
        return _fill_data_dir(data_dir, organisation, host_names, public_url, database_url)
    except BaseException:
        _remove_partial(data_dir, created)  # a failed init leaves nothing that a second init refuses
        raise


def _first_missing(path: Path) -> Path | None:
    """The outermost directory of ``path`` that does not exist yet (``path`` itself if only it), or None."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _remove_partial(data_dir: Path, created: Path | None) -> None:
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
        return
    for child in data_dir.iterdir():  # the directory existed empty: empty it again
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _fill_data_dir(
    data_dir: Path, organisation: str, host_names: list[str], public_url: str, database_url: str
) -> Settings:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings = Settings(
        data_dir=data_dir,
        organisation=organisation,
        host_names=host_names,
        public_url=public_url,
        database_url=database_url,
    )
    for sub in ("keys", "tls", "deployment"):
        (data_dir / sub).mkdir(mode=0o700 if sub != "deployment" else 0o755)
    FileKekProvider(settings.keys_dir).create(1)
    signing = Ed25519PrivateKey.generate()
    pem = signing.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(data_dir / AUDIT_KEY_FILE, pem, 0o600)
    load_watermark_key(data_dir)  # made here; an older installation gets it on first use
    ca_key, ca_cert = tls.create_ca(f"{organisation} Custos CA")
    srv_key, srv_cert = tls.issue_server_certificate(ca_key, ca_cert, host_names)
    tls.write_private_key(settings.tls_dir / "ca-key.pem", ca_key)
    tls.write_certificate(settings.tls_dir / "ca.pem", ca_cert)
    tls.write_private_key(settings.tls_dir / "server-key.pem", srv_key)
    tls.write_certificate(settings.tls_dir / "server.pem", srv_cert)
    deployment = {
        "server_url": public_url,
        "organisation": organisation,
        "ca_certificate": (settings.tls_dir / "ca.pem").read_text(encoding="ascii"),
    }
    _write_new(data_dir / DEPLOYMENT_FILE, tomli_w.dumps(deployment).encode(), 0o644)
    if not database_url:
        _write_new(data_dir / "custos.db", b"", 0o600)  # SQLite keeps this mode for its -wal/-shm files
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade_to_head(engine)
        keys = KeyService(make_kek_provider(settings))
        with session_scope(engine) as session:
            keys.indexer(session)
            audit.append(session, actor="admin:cli", action="installation_initialised", details={"kek_version": 1})
    finally:
        engine.dispose()
    _write_new(data_dir / SETTINGS_FILE, tomli_w.dumps(settings.to_toml_dict()).encode(), 0o600)
    return settings


def load_audit_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The Ed25519 key that signs audit checkpoints (``keys/audit-signing.pem``).

    Raises:
        ValidationError: The key file is missing or not an Ed25519 key.
    """
    return load_ed25519_key(data_dir / AUDIT_KEY_FILE, what="audit signing key")


def verify_audit(
    settings: Settings, engine: Engine, *, incremental: bool = False, processes: int = 1
) -> audit.VerifyResult:
    """Verify an installation's audit log: the chain, its signed checkpoints and the data dir's anchors.

    The log is read in one consistent snapshot (:func:`owner_server.core.db.snapshot_session`),
    so entries appended meanwhile are neither seen nor a reason to fail.

    Args:
        settings: The installation's settings (data dir: signing key, anchor file).
        engine: Its database engine.
        incremental: Only from the latest signed checkpoint on
            (:func:`owner_server.audit.incremental.verify_since_checkpoint`).
        processes: Worker processes of the full pass
            (:func:`owner_server.audit.verify_ranges.verify_full`, forked: more than 1 only from
            a single-threaded process such as the CLI).

    Returns:
        The result (``bad_seq`` names the first entry that does not check out).

    Raises:
        ValidationError: The signing key or the anchor file is damaged.
    """
    anchors = read_anchors(settings.data_dir)
    public_key = load_audit_signing_key(settings.data_dir).public_key()
    with snapshot_session(engine) as session:
        if incremental:
            return verify_since_checkpoint(session, public_key=public_key, anchors=anchors)
        return verify_full(session, public_key=public_key, anchors=anchors, processes=processes)


class Installation:
    """An opened data dir: settings, engine (migrated) and key service.

    Args:
        settings: Loaded settings.

    Raises:
        KekError: The key-encryption key is missing or malformed.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = KeyService(make_kek_provider(settings))
        self.keys.check_kek()
        self.engine: Engine = make_engine(settings.effective_database_url)
        upgrade_to_head(self.engine)
        with session_scope(self.engine) as session:
            verify_keys(session, keys=self.keys)

    def audit_signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs audit checkpoints (see :func:`load_audit_signing_key`)."""
        return load_audit_signing_key(self.settings.data_dir)

    def checkpoint(self) -> Checkpoint | None:
        """Sign the audit head (chained) and anchor it outside the database.

        Returns:
            The new checkpoint, or None when the head was already checkpointed.
        """
        with session_scope(self.engine) as session:
            cp = audit.sign_checkpoint(session, key=self.audit_signing_key())
        if cp is not None:
            append_anchor(self.settings.data_dir, cp)
        return cp

    def verify_audit(self, *, incremental: bool = False, processes: int = 1) -> audit.VerifyResult:
        """Verify the audit log against its checkpoints and this data dir's anchors (see :func:`verify_audit`)."""
        return verify_audit(self.settings, self.engine, incremental=incremental, processes=processes)

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self.engine.dispose()


def open_installation(data_dir: Path, *, database_url: str | None = None) -> Installation:
    """Open an initialised data dir (migrating its database to head)."""
    return Installation(load_settings(data_dir, database_url=database_url))
