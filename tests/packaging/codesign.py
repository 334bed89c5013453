"""Throwaway code-signing PKI for the installer tests: a CA and a leaf with extendedKeyUsage codeSigning.

Made with ``cryptography`` (RFC 5280 profile: CA with basicConstraints cA and keyCertSign; leaf
with digitalSignature and id-kp-codeSigning, the usage Authenticode requires). Nothing here is used
outside tests.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["SigningPki", "make_signing_pki"]


@dataclass(frozen=True)
class SigningPki:
    """Files of one throwaway PKI.

    Attributes:
        ca_pem: The CA certificate (PEM), what ``osslsigncode verify -CAfile`` trusts.
        cert_pem: The code-signing certificate followed by the CA (PEM chain).
        key_pem: The code-signing key (PEM, unencrypted, 0600).
        pfx: The key and chain as PKCS#12, encrypted with ``password``.
        password: The PKCS#12 password.
    """

    ca_pem: Path
    cert_pem: Path
    key_pem: Path
    pfx: Path
    password: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_signing_pki(directory: Path, label: str) -> SigningPki:
    """Create a CA and a code-signing certificate it issued, valid from a day ago for 30 days.

    Args:
        directory: Where to write the files (created).
        label: Distinguishes this PKI's names (e.g. "ours", "other").

    Returns:
        The files written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name(f"Custos test code-signing CA ({label})")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"Custos test publisher ({label})"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )  # digitalSignature
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    pki = SigningPki(
        ca_pem=directory / "ca.pem",
        cert_pem=directory / "signing-chain.pem",
        key_pem=directory / "signing-key.pem",
        pfx=directory / "signing.pfx",
        password=f"test-{label}-pass",
    )
    pki.ca_pem.write_bytes(ca.public_bytes(pem))
    pki.cert_pem.write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    pki.key_pem.touch(mode=0o600)
    pki.key_pem.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    pki.pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"custos", key, cert, [ca], serialization.BestAvailableEncryption(pki.password.encode())
        )
    )
    return pki
