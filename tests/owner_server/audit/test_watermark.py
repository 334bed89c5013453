"""Watermark tokens: signed, verified, refused when altered or another installation's; issued with every record."""

from __future__ import annotations

import stat
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from owner_server.audit import watermark
from owner_server.audit.watermark import ForgedCodeError, WatermarkClaims
from owner_server.models import Contact, Lease, User
from shared.errors import ValidationError

from ..helpers import CONTACTS, seed
from ..test_agent_api import API, logged_in

LEASE = "0123456789abcdef0123456789abcdef"
CLAIMS = WatermarkClaims(agent_id=7, lease_id=LEASE, issued_at=datetime(2026, 12, 2, 5, 20, 11, tzinfo=UTC))


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def test_a_signed_token_verifies_to_its_claims(key):
    token = watermark.sign_claims(key, CLAIMS)
    assert len(token) == watermark.TOKEN_LEN == 89
    assert watermark.verify_token(key.public_key(), token) == CLAIMS
    assert watermark.sign_claims(key, CLAIMS) == token  # Ed25519 is deterministic: one issuance, one code
    assert watermark.decode_code(watermark.encode_code(token)) == token


def test_the_time_is_kept_to_the_second(key):
    claims = WatermarkClaims(agent_id=1, lease_id=LEASE, issued_at=datetime(2026, 1, 1, 8, 0, 0, 999_999, tzinfo=UTC))
    back = watermark.verify_token(key.public_key(), watermark.sign_claims(key, claims))
    assert back.issued_at == datetime(2026, 1, 1, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "what"), [(1, "agent id"), (12, "lease id"), (23, "time"), (25, "signature"), (88, "signature end")]
)
def test_a_flipped_byte_is_not_signed_by_this_installation(key, offset, what):
    token = bytearray(watermark.sign_claims(key, CLAIMS))
    token[offset] ^= 0x01
    with pytest.raises(ForgedCodeError, match="not signed by this installation"):
        watermark.verify_token(key.public_key(), bytes(token))


def test_another_installations_token_is_refused(key):
    theirs = watermark.sign_claims(Ed25519PrivateKey.generate(), CLAIMS)
    with pytest.raises(ForgedCodeError):
        watermark.verify_token(key.public_key(), theirs)


def test_a_signature_without_the_watermark_context_is_refused(key):
    """The same key signing the bare body (any other protocol) never makes a valid watermark."""
    body = watermark.sign_claims(key, CLAIMS)[:25]
    with pytest.raises(ForgedCodeError):
        watermark.verify_token(key.public_key(), body + key.sign(body))


@pytest.mark.parametrize(
    ("token", "message"),
    [(b"", "wrong length"), (b"\x01" * 88, "wrong length"), (b"\x02" + b"\x00" * 88, "unknown watermark code version")],
)
def test_malformed_tokens_are_refused(key, token, message):
    with pytest.raises(ValidationError, match=message):
        watermark.verify_token(key.public_key(), token)


@pytest.mark.parametrize(
    "claims",
    [
        WatermarkClaims(agent_id=1, lease_id="lease-1", issued_at=CLAIMS.issued_at),
        WatermarkClaims(agent_id=1, lease_id=LEASE.upper(), issued_at=CLAIMS.issued_at),
        WatermarkClaims(agent_id=2**32, lease_id=LEASE, issued_at=CLAIMS.issued_at),
        WatermarkClaims(agent_id=-1, lease_id=LEASE, issued_at=CLAIMS.issued_at),
        WatermarkClaims(agent_id=1, lease_id=LEASE, issued_at=datetime(1969, 12, 31, tzinfo=UTC)),
    ],
)
def test_claims_that_do_not_fit_are_refused(key, claims):
    with pytest.raises(ValidationError):
        watermark.sign_claims(key, claims)


def test_a_wire_code_of_the_wrong_size_is_refused():
    with pytest.raises(ValidationError):
        watermark.decode_code("AAAA")


def test_init_makes_the_key_private_and_an_older_installation_gets_one_on_first_use(installation, tmp_path):
    path = installation.settings.data_dir / watermark.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = watermark.load_watermark_key(installation.settings.data_dir)
    assert watermark.load_watermark_key(installation.settings.data_dir, create=False).public_key() == first.public_key()
    older = tmp_path / "older"
    with pytest.raises(ValidationError, match="no watermark key"):
        watermark.load_watermark_key(older, create=False)
    made = watermark.load_watermark_key(older)
    assert stat.S_IMODE((older / watermark.KEY_FILE).stat().st_mode) == 0o600
    assert watermark.load_watermark_key(older).public_key() == made.public_key()
    assert [p.name for p in (older / "keys").iterdir()] == ["watermark-signing.pem"]  # no temp file left


def test_a_damaged_key_file_is_one_clear_error(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / watermark.KEY_FILE).write_text("not a key")
    with pytest.raises(ValidationError, match="unreadable"):
        watermark.load_watermark_key(tmp_path)


def test_every_issued_record_carries_a_code_of_its_agent_lease_and_time(client, installation):
    headers = logged_in(client, seed(installation))
    record = client.post(f"{API}/next", headers=headers, json={}).json()["record"]
    token = watermark.decode_code(record["watermark_code"])
    key = watermark.load_watermark_key(installation.settings.data_dir, create=False)
    claims = watermark.verify_token(key.public_key(), token)
    with Session(installation.engine) as session:
        lease = session.get(Lease, record["lease_id"])
        holder = session.get(User, lease.user_id)
        contact = session.get(Contact, lease.contact_id)
    assert claims == WatermarkClaims(
        agent_id=holder.id, lease_id=lease.id, issued_at=lease.issued_at.replace(microsecond=0)
    )
    # the same record returned again names the same issuance
    again = client.post(f"{API}/next", headers=headers, json={}).json()["record"]
    assert again["watermark_code"] == record["watermark_code"]
    # ids and a time only: nothing of the person, the login or the stored contact ref
    assert token[0] == watermark.VERSION and token[5:21] == bytes.fromhex(lease.id)
    secrets = [v.encode() for person in CONTACTS for v in person.values()] + [
        b"agent1",
        contact.ref.encode(),
        bytes.fromhex(contact.ref),
    ]
    for value in secrets:
        assert value not in token
