"""A private certificate authority and the owner server's TLS certificate.

The owner server is reached on a LAN address or a private host name that no public CA will
certify, so it carries its own CA: one ECDSA P-256 key that signs only server certificates
(``pathLenConstraint`` 0), whose certificate agents import as their sole trust anchor. Key
and certificate profiles follow RFC 5280 (section 4.2.1 for every extension used here);
ECDSA with SHA-256 is as RFC 5758 section 3.2 specifies.

Private keys are written once, unencrypted PKCS #8 PEM (RFC 5958, RFC 7468), created with
mode 0600 and never over an existing file; certificates are PEM, mode 0644, replaced
atomically.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.limits import LIMITS

__all__ = [
    "MAX_PEM_BYTES",
    "create_ca",
    "issue_server_certificate",
    "load_certificate",
    "load_private_key",
    "write_certificate",
    "write_private_key",
]

#: Largest key or certificate file the loaders read, in bytes.
MAX_PEM_BYTES = 64 * 1024

_MAX_COMMON_NAME = 64  # ub-common-name, RFC 5280 Appendix A.1
_DNS_NAME = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
_MAX_DNS_NAME = 253

_GeneralName = x509.DNSName | x509.IPAddress


def _validity(valid_days: int) -> tuple[datetime.datetime, datetime.datetime]:
    if valid_days < 1:
        raise ValueError(f"valid_days must be at least 1, got {valid_days}")
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    # Backdated so clients whose clocks lag within the tolerated skew accept a fresh certificate.
    return now - datetime.timedelta(seconds=LIMITS.clock_skew_s), now + datetime.timedelta(days=valid_days)


def create_ca(common_name: str, *, valid_days: int = 3650) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Create a self-signed certificate authority that may sign only end-entity certificates.

    Args:
        common_name: Subject and issuer common name, 1 to 64 characters (RFC 5280 ub-common-name),
            e.g. ``"Custos CA – Biuro Kowalski"``.
        valid_days: Lifetime in days from now; the start is backdated by the tolerated clock skew.

    Returns:
        A new ECDSA P-256 private key and its self-signed X.509 v3 certificate (SHA-256), with
        BasicConstraints ``cA=TRUE, pathLenConstraint=0`` (critical), KeyUsage
        ``keyCertSign, cRLSign`` (critical), and SubjectKeyIdentifier and
        AuthorityKeyIdentifier (RFC 5280 method 1, SHA-1 of the public key).

    Raises:
        ValueError: If ``common_name`` is empty or too long, or ``valid_days`` is below 1.
    """
    if not 1 <= len(common_name) <= _MAX_COMMON_NAME:
        raise ValueError(f"common_name must have 1 to {_MAX_COMMON_NAME} characters")
    not_before, not_after = _validity(valid_days)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(host_name: str) -> _GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host_name))
    except ValueError:
        pass
    name = host_name.lower().removesuffix(".")
    if len(name) > _MAX_DNS_NAME or not _DNS_NAME.fullmatch(name):
        raise ValueError(f"not an IP address or an ASCII DNS name: {host_name!r}")
    return x509.DNSName(name)


def _check_issuer(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate) -> None:
    public_format = serialization.PublicFormat.SubjectPublicKeyInfo
    if ca_key.public_key().public_bytes(serialization.Encoding.DER, public_format) != ca_cert.public_key().public_bytes(
        serialization.Encoding.DER, public_format
    ):
        raise ValueError("ca_key does not belong to ca_cert")
    try:
        is_ca = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise ValueError("ca_cert is not a CA certificate")


def issue_server_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    host_names: Sequence[str],
    *,
    valid_days: int = 825,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Issue a TLS server certificate for the given names and addresses under a CA.

    Args:
        ca_key: The CA's private key, as returned by :func:`create_ca`.
        ca_cert: The CA's certificate; must carry BasicConstraints ``cA=TRUE``.
        host_names: Names clients will connect to, e.g. ``["localhost", "127.0.0.1",
            "custos.lan"]``. Entries that parse with :func:`ipaddress.ip_address` become
            iPAddress SANs, the rest dNSName SANs (lower-cased, trailing dot removed, ASCII
            only: IDNs must be given as A-labels). Duplicates are dropped, order is kept.
        valid_days: Lifetime in days from now (825 by default, the most Apple platforms
            accept); never past the CA's own expiry.

    Returns:
        A new ECDSA P-256 key and its certificate signed by the CA with ECDSA-SHA256: subject
        CN the first name (if at most 64 characters), SubjectAltName (RFC 5280 4.2.1.6),
        BasicConstraints ``cA=FALSE`` (critical), KeyUsage ``digitalSignature`` (critical),
        ExtendedKeyUsage ``serverAuth``, SubjectKeyIdentifier and AuthorityKeyIdentifier.

    Raises:
        ValueError: If ``host_names`` is empty or holds something that is neither an IP
            address nor a DNS name, if ``ca_key`` does not match ``ca_cert`` or ``ca_cert`` is
            not a CA, if ``valid_days`` is below 1, or if the CA has already expired.
    """
    names = list(dict.fromkeys(_general_name(host) for host in host_names))
    if not names:
        raise ValueError("host_names must name at least one host")
    _check_issuer(ca_key, ca_cert)
    not_before, not_after = _validity(valid_days)
    not_after = min(not_after, ca_cert.not_valid_after_utc)
    if not_after <= not_before:
        raise ValueError("the CA certificate has expired")
    first = str(names[0].value)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, first)] if len(first) <= _MAX_COMMON_NAME else [])
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        )
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        # RFC 5280 4.2.1.6: the SAN extension must be critical when the subject is empty.
        .add_extension(x509.SubjectAlternativeName(names), critical=len(subject) == 0)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, certificate


def _fsync_directory(directory: Path) -> None:
    if sys.platform == "win32":  # directories cannot be opened for fsync there
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def write_private_key(path: str | os.PathLike[str], key: PrivateKeyTypes) -> None:
    """Write a private key as unencrypted PKCS #8 PEM, readable by its owner only.

    The file is created with ``O_CREAT | O_EXCL`` and mode 0600, so it never exists with wider
    permissions, an existing file (or symlink) at ``path`` is never overwritten, and two
    writers cannot both succeed. The data is fsynced, then the directory entry. If writing
    fails the partial file is removed; a crash mid-write can leave a truncated file, which
    :func:`load_private_key` rejects.

    Args:
        path: Destination file; its directory must exist.
        key: Any private key ``cryptography`` can serialise, e.g. from :func:`create_ca`.

    Raises:
        FileExistsError: If ``path`` already exists.
        OSError: If the file cannot be created or written.
    """
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    target = Path(path)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags, 0o600)
    try:
        try:
            if sys.platform != "win32":
                os.fchmod(fd, 0o600)  # the umask may only have narrowed it; make it exact
            _write_all(fd, data)
        finally:
            os.close(fd)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def write_certificate(path: str | os.PathLike[str], certificate: x509.Certificate) -> None:
    """Write a certificate as PEM with mode 0644, atomically replacing any existing file.

    The PEM goes to a temporary file in the same directory, which is fsynced and moved over
    ``path`` with :func:`os.replace`; readers see the old or the new certificate, never a mix.

    Args:
        path: Destination file; its directory must exist.
        certificate: The certificate, e.g. from :func:`create_ca` or
            :func:`issue_server_certificate`.

    Raises:
        OSError: If the file cannot be written; no temporary file is left behind.
    """
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        try:
            if sys.platform != "win32":
                os.fchmod(fd, 0o644)
            _write_all(fd, certificate.public_bytes(serialization.Encoding.PEM))
        finally:
            os.close(fd)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _read_bounded(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read(MAX_PEM_BYTES + 1)
    if len(data) > MAX_PEM_BYTES:
        raise ValueError(f"{os.fspath(path)!r} is larger than {MAX_PEM_BYTES} bytes")
    return data


def load_private_key(path: str | os.PathLike[str]) -> ec.EllipticCurvePrivateKey:
    """Load an unencrypted PEM private key written by :func:`write_private_key`.

    Args:
        path: The key file, at most :data:`MAX_PEM_BYTES` bytes.

    Returns:
        The elliptic-curve private key.

    Raises:
        OSError: If the file cannot be read.
        ValueError: If the file is too large, is not an unencrypted PEM private key
            (``cryptography`` raises ``TypeError`` for an encrypted one), or holds a key that
            is not elliptic-curve.
    """
    try:
        key = serialization.load_pem_private_key(_read_bounded(path), password=None)
    except TypeError as error:  # encrypted key and no password
        raise ValueError(f"{os.fspath(path)!r}: {error}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{os.fspath(path)!r} holds a {type(key).__name__}, not an elliptic-curve key")
    return key


def load_certificate(path: str | os.PathLike[str]) -> x509.Certificate:
    """Load the first PEM certificate from a file written by :func:`write_certificate`.

    Args:
        path: The certificate file, at most :data:`MAX_PEM_BYTES` bytes.

    Returns:
        The certificate.

    Raises:
        OSError: If the file cannot be read.
        ValueError: If the file is too large or holds no PEM certificate.
    """
    return x509.load_pem_x509_certificate(_read_bounded(path))
