import datetime
import ipaddress
import os
import socket
import ssl
import stat
import sys
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from owner_server.core.tls import (
    MAX_PEM_BYTES,
    create_ca,
    issue_server_certificate,
    load_certificate,
    load_private_key,
    write_certificate,
    write_private_key,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@pytest.fixture(scope="module")
def ca():
    return create_ca("Custos test CA")


@pytest.fixture(scope="module")
def server(ca):
    return issue_server_certificate(*ca, ["localhost", "127.0.0.1", "::1", "Custos.LAN."])


def verifier_for(ca_cert, name):
    return PolicyBuilder().store(Store([ca_cert])).build_server_verifier(name)


def ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


def test_server_certificate_verifies_under_the_ca(ca, server):
    ca_cert, cert = ca[1], server[1]
    for name in (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))):
        chain = verifier_for(ca_cert, name).verify(cert, [])
        assert chain == [cert, ca_cert]


def test_server_certificate_does_not_verify_for_another_name(ca, server):
    with pytest.raises(VerificationError):
        verifier_for(ca[1], x509.DNSName("example.com")).verify(server[1], [])


def test_server_certificate_does_not_verify_under_another_ca(server):
    _, other_ca = create_ca("Other CA")
    with pytest.raises(VerificationError):
        verifier_for(other_ca, x509.DNSName("localhost")).verify(server[1], [])


def test_tampered_certificate_does_not_verify(ca, server):
    der = bytearray(server[1].public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature
    tampered = x509.load_der_x509_certificate(bytes(der))
    with pytest.raises(VerificationError):
        verifier_for(ca[1], x509.DNSName("localhost")).verify(tampered, [])


def test_san_holds_dns_names_and_ip_addresses(server):
    san = ext(server[1], x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "custos.lan"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]


def test_ca_profile(ca):
    key, cert = ca
    assert isinstance(key.curve, ec.SECP256R1)
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    assert ext(cert, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    assert cert.subject == cert.issuer
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= datetime.timedelta(days=3650)


def test_server_profile(ca, server):
    cert = server[1]
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ca_ski = ext(ca[1], x509.SubjectKeyIdentifier).value
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ca_ski.digest
    assert cert.issuer == ca[1].subject


def test_server_certificate_never_outlives_the_ca():
    ca_key, ca_cert = create_ca("Short CA", valid_days=10)
    _, cert = issue_server_certificate(ca_key, ca_cert, ["localhost"], valid_days=825)
    assert cert.not_valid_after_utc == ca_cert.not_valid_after_utc


@pytest.mark.parametrize(
    "host_names",
    [[], ["bad name"], ["zażółć.pl"], ["-leading.example"], ["a" * 64 + ".example"], ["a..b"]],
)
def test_bad_host_names_are_refused(ca, host_names):
    with pytest.raises(ValueError):
        issue_server_certificate(*ca, host_names)


def test_mismatched_ca_key_is_refused(ca):
    other_key, _ = create_ca("Other CA")
    with pytest.raises(ValueError, match="does not belong"):
        issue_server_certificate(other_key, ca[1], ["localhost"])


def test_non_ca_certificate_cannot_issue(server):
    with pytest.raises(ValueError, match="not a CA"):
        issue_server_certificate(*server, ["localhost"])


@pytest.mark.parametrize("kwargs", [{"common_name": ""}, {"common_name": "x" * 65}, {"valid_days": 0}])
def test_bad_ca_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        create_ca(**{"common_name": "CA", **kwargs})


@posix_only
def test_key_file_has_mode_0600_and_loads_back(tmp_path, server):
    path = tmp_path / "server.key"
    old_umask = os.umask(0)
    try:
        write_private_key(path, server[0])
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert load_private_key(path).private_numbers() == server[0].private_numbers()


def test_existing_key_file_is_not_overwritten(tmp_path, server):
    path = tmp_path / "server.key"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        write_private_key(path, server[0])
    assert path.read_bytes() == b"precious"


@posix_only
def test_key_is_not_written_through_a_symlink(tmp_path, server):
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / "server.key").symlink_to(elsewhere)
    with pytest.raises(FileExistsError):
        write_private_key(tmp_path / "server.key", server[0])
    assert not elsewhere.exists()


@posix_only
def test_certificate_file_has_mode_0644_is_replaced_and_loads_back(tmp_path, ca, server):
    path = tmp_path / "server.crt"
    write_certificate(path, ca[1])
    write_certificate(path, server[1])
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert load_certificate(path) == server[1]
    assert [p.name for p in tmp_path.iterdir()] == ["server.crt"]


def test_loaders_refuse_oversized_and_wrong_files(tmp_path, ca):
    big = tmp_path / "big.pem"
    big.write_bytes(b"x" * (MAX_PEM_BYTES + 1))
    with pytest.raises(ValueError, match="larger"):
        load_certificate(big)
    with pytest.raises(ValueError, match="larger"):
        load_private_key(big)
    cert_file = tmp_path / "ca.crt"
    write_certificate(cert_file, ca[1])
    with pytest.raises(ValueError):
        load_private_key(cert_file)
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(
        ca[0].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(ValueError):
        load_private_key(encrypted)


# --- a real TLS handshake -------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path, server):
    """Serve TLS on 127.0.0.1 with the issued certificate; yield the port."""
    write_private_key(tmp_path / "server.key", server[0])
    write_certificate(tmp_path / "server.crt", server[1])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(10)
                try:
                    with context.wrap_socket(connection, server_side=True) as tls:
                        tls.sendall(b"custos")
                except (ssl.SSLError, OSError):
                    pass  # the client refused our certificate

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        with socket.create_connection(("127.0.0.1", listener.getsockname()[1]), timeout=10):
            pass  # wake the accept() up
        thread.join(10)
        listener.close()


def client_context(ca_cert):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    return context


def handshake(context, port, server_hostname):
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        return tls.recv(16)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_tls_handshake_succeeds_with_only_the_private_ca(tls_server, ca, host):
    assert handshake(client_context(ca[1]), tls_server, host) == b"custos"


def test_tls_handshake_fails_with_the_system_store(tls_server):
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(ssl.create_default_context(), tls_server, "localhost")


def test_tls_handshake_fails_for_a_name_not_in_the_certificate(tls_server, ca):
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(client_context(ca[1]), tls_server, "example.com")


def test_tls_handshake_fails_under_another_ca(tls_server):
    _, other_ca = create_ca("Other CA")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(client_context(other_ca), tls_server, "localhost")
