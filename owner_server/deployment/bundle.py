"""The deployment bundle: what IT needs for one site, written to a new directory.

Files::

    custos-agent.toml   the installation's deployment config (<data dir>/deployment/)
    ca.pem              the owner CA's certificate (public; the key never leaves tls/)
    tuf-root.json       the update repository's root metadata, when updates are set up
    INSTALL.md          a short guide for IT
    SHA256SUMS          ``sha256sum -c`` format, over every other file

Nothing in the bundle is secret. It is written to a temporary sibling directory
and renamed into place, so a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from owner_server.core.datadir import DEPLOYMENT_FILE
from owner_server.core.settings import Settings
from owner_server.deployment.guide import render_guide
from shared.errors import ConflictError, ValidationError

__all__ = ["UPDATE_ROOT_FILE", "Bundle", "write_bundle"]

#: Where the update repository keeps its trusted root metadata, relative to the data dir.
UPDATE_ROOT_FILE = Path("updates") / "metadata" / "root.json"
_CA_FILE = Path("tls") / "ca.pem"
_REQUIRED = ("server_url", "organisation", "ca_certificate")
_SUMS = "SHA256SUMS"


@dataclass(frozen=True, slots=True)
class Bundle:
    """A written bundle.

    Attributes:
        out: Its directory.
        sha256: File name → SHA-256 (hex) of every file but SHA256SUMS.
        sums_sha256: SHA-256 (hex) of SHA256SUMS, for the owner to tell IT by another channel.
        ca_fingerprint: SHA-256 fingerprint of the owner CA certificate (hex, colon-separated).
        updates: Whether ``tuf-root.json`` is included.
    """

    out: Path
    sha256: dict[str, str]
    sums_sha256: str
    ca_fingerprint: str
    updates: bool


def _check_out(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ValidationError(f"{out} exists and is not a directory; refusing to touch it")
    if out.exists() and any(out.iterdir()):
        raise ConflictError(f"{out} already exists and is not empty; refusing to touch it")
    if not out.parent.is_dir():
        raise ValidationError(f"{out.parent} does not exist; create it first")


def _read_config(data_dir: Path) -> tuple[bytes, dict[str, object]]:
    path = data_dir / DEPLOYMENT_FILE
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise ValidationError(f"cannot read the deployment config {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise ValidationError(f"the deployment config {path} is not valid UTF-8 TOML") from None
    missing = [key for key in _REQUIRED if not isinstance(data.get(key), str) or not data[key].strip()]
    if missing:
        raise ValidationError(f"the deployment config {path} lacks {', '.join(missing)}")
    return raw, data


def _certificates(pem: str, what: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValidationError(f"{what} is not a PEM certificate") from None


def _read_ca(data_dir: Path, config: dict[str, object]) -> tuple[bytes, str]:
    """The CA certificate re-encoded from its parsed form (so nothing else in the file is copied)."""
    path = data_dir / _CA_FILE
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise ValidationError(f"cannot read the owner CA certificate {path}") from None
    certs = _certificates(text, str(path))
    pinned = _certificates(str(config["ca_certificate"]), "the deployment config's ca_certificate")
    if [c.fingerprint(hashes.SHA256()) for c in certs] != [c.fingerprint(hashes.SHA256()) for c in pinned]:
        raise ValidationError(f"the deployment config's ca_certificate is not {path}; refusing a mixed bundle")
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    return pem, certs[0].fingerprint(hashes.SHA256()).hex(":").upper()


def _read_tuf_root(data_dir: Path) -> bytes | None:
    path = data_dir / UPDATE_ROOT_FILE
    if not path.exists():
        return None
    try:
        raw = path.read_bytes()
        signed = json.loads(raw)["signed"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ValidationError(f"{path} is not TUF root metadata") from None
    if not isinstance(signed, dict) or signed.get("_type") != "root":
        raise ValidationError(f"{path} is not TUF root metadata")
    return raw


def _write_file(directory: Path, name: str, data: bytes) -> None:
    fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_bundle(settings: Settings, out: Path) -> Bundle:
    """Write the deployment bundle of an installation into a new directory.

    Args:
        settings: The installation (its data dir is read, never changed).
        out: The directory to create; it must not exist or be empty, and its parent must exist.

    Returns:
        What was written.

    Raises:
        ConflictError: ``out`` exists and is not empty.
        ValidationError: ``out`` is a file or its parent is missing; the deployment config, the CA
            certificate or the TUF root is missing, unreadable or inconsistent.
    """
    _check_out(out)
    data_dir = settings.data_dir
    config_raw, config = _read_config(data_dir)
    ca_pem, fingerprint = _read_ca(data_dir, config)
    tuf_root = _read_tuf_root(data_dir)
    files = {"custos-agent.toml": config_raw, "ca.pem": ca_pem}
    if tuf_root is not None:
        files["tuf-root.json"] = tuf_root
    guide = render_guide(
        organisation=str(config["organisation"]),
        server_url=str(config["server_url"]),
        ca_fingerprint=fingerprint,
        updates=tuf_root is not None,
    )
    files["INSTALL.md"] = guide.encode("utf-8")
    for name, data in files.items():
        if b"PRIVATE KEY" in data:  # defence in depth: the bundle is public
            raise ValidationError(f"refusing to write {name}: it holds private key material")
    sha256 = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(sha256.items())).encode("ascii")
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        for name, data in (*files.items(), (_SUMS, sums)):
            _write_file(staging, name, data)
        staging.chmod(0o755)
        if out.exists():
            out.rmdir()  # empty, checked above
        staging.rename(out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ValidationError(f"cannot write the bundle to {out}: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Bundle(
        out=out,
        sha256=sha256,
        sums_sha256=hashlib.sha256(sums).hexdigest(),
        ca_fingerprint=fingerprint,
        updates=tuf_root is not None,
    )
