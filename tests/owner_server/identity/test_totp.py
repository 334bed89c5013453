"""TOTP (RFC 6238): the test vectors, the ±1 step window, no code twice, the secret encrypted at rest."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from owner_server.core.db import session_scope
from owner_server.identity import console_login, totp
from owner_server.identity.admin import create_user
from owner_server.models import DataKey, Role, User
from owner_server.vault.aead import DecryptionError

#: RFC 6238 appendix B: the SHA-1 seed "12345678901234567890"; 8-digit codes there, their last 6 digits here.
RFC_SEED = b"12345678901234567890"
RFC_VECTORS = [(59, "287082"), (1111111109, "081804"), (1111111111, "050471"), (1234567890, "005924")]


@pytest.mark.parametrize(("unix", "code"), RFC_VECTORS)
def test_rfc_6238_vectors(unix: int, code: str) -> None:
    when = datetime.fromtimestamp(unix, UTC)
    assert totp.code_at(RFC_SEED, when) == code
    assert totp.accepted_step(RFC_SEED, code, now=when, last_step=None) == unix // 30


def test_one_step_either_side_and_never_twice() -> None:
    now = datetime.fromtimestamp(1_700_000_000, UTC)
    step = 1_700_000_000 // 30
    for offset in (-1, 0, 1):
        code = totp.code_at(RFC_SEED, datetime.fromtimestamp((step + offset) * 30, UTC))
        assert totp.accepted_step(RFC_SEED, code, now=now, last_step=None) == step + offset
        assert totp.accepted_step(RFC_SEED, code, now=now, last_step=step + offset) is None
    far = totp.code_at(RFC_SEED, datetime.fromtimestamp((step + 2) * 30, UTC))
    assert totp.accepted_step(RFC_SEED, far, now=now, last_step=None) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5"])
def test_malformed_codes_are_refused(typed: str) -> None:
    assert totp.accepted_step(RFC_SEED, typed, now=datetime.now(UTC), last_step=None) is None


def test_provisioning_uri_and_qr_code() -> None:
    secret = totp.new_secret()
    assert len(secret) == 20 and len(totp.base32_text(secret)) == 32
    uri = totp.provisioning_uri(secret, login="anna", issuer="Custos Demo Telecom")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert query["secret"] == [totp.base32_text(secret)] and query["issuer"] == ["Custos Demo Telecom"]
    assert query["digits"] == ["6"] and query["period"] == ["30"] and query["algorithm"] == ["SHA1"]
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg") and "style" not in svg and "<?xml" not in svg and "<script" not in svg


def test_the_secret_is_never_stored_in_the_clear(installation) -> None:
    with session_scope(installation.engine) as session:
        create_user(session, login="anna", role=Role.ADMIN, password="console-test-password", actor="t")
    with session_scope(installation.engine) as session:
        token = console_login.check_password(
            session, keys=installation.keys, login="anna", password="console-test-password", address=""
        )
    assert token is not None
    with session_scope(installation.engine) as session:
        user = session.exec(select(User).where(User.login == "anna")).one()
        secret = totp.load_secret(session, keys=installation.keys, user=user)
        assert secret is not None and user.totp_secret is not None and secret not in user.totp_secret
        assert session.exec(select(DataKey).where(DataKey.purpose == "secrets")).one().wrapped
    text = totp.base32_text(secret)
    installation.engine.dispose()
    database = installation.settings.data_dir.glob("**/*.db*")
    raw = b"".join(path.read_bytes() for path in database)
    assert raw, "no database file found"
    for needle in (secret, text.encode(), text.lower().encode(), base64.b64encode(secret), secret.hex().encode()):
        assert needle not in raw


def test_a_secret_moved_to_another_user_does_not_decrypt(installation) -> None:
    with session_scope(installation.engine) as session:
        anna = create_user(session, login="anna", role=Role.ADMIN, password="console-test-password", actor="t")
        ben = create_user(session, login="ben", role=Role.ADMIN, password="console-test-password", actor="t")
        totp.store_secret(session, keys=installation.keys, user=anna, secret=totp.new_secret())
        ben.totp_secret = anna.totp_secret
        with pytest.raises(DecryptionError):
            totp.load_secret(session, keys=installation.keys, user=ben)
