import os

import pytest

from owner_server.vault.aead import DecryptionError, FieldCipher, decode_payload, encode_payload, unwrap_key, wrap_key
from owner_server.vault.blind_index import BlindIndexer


@pytest.fixture
def cipher():
    return FieldCipher(os.urandom(32), campaign_id=7)


def test_field_round_trip(cipher):
    blob = cipher.encrypt("ref1", "last_name", "Żółkiewicz-Ćwik")
    assert b"\xc5\xbb" not in blob  # no clear UTF-8 of the value
    assert cipher.decrypt("ref1", "last_name", blob) == "Żółkiewicz-Ćwik"


def test_same_value_encrypts_differently(cipher):
    assert cipher.encrypt("r", "f", "x") != cipher.encrypt("r", "f", "x")


@pytest.mark.parametrize(
    ("ref", "field", "campaign"),
    [("ref2", "last_name", 7), ("ref1", "first_name", 7), ("ref1", "last_name", 8)],
    ids=["moved-to-other-contact", "moved-to-other-field", "moved-to-other-campaign"],
)
def test_moved_ciphertext_fails(ref, field, campaign):
    dek = os.urandom(32)
    blob = FieldCipher(dek, 7).encrypt("ref1", "last_name", "Nowak")
    with pytest.raises(DecryptionError):
        FieldCipher(dek, campaign).decrypt(ref, field, blob)


def test_tampered_ciphertext_fails(cipher):
    blob = bytearray(cipher.encrypt("r", "f", "Nowak"))
    blob[15] ^= 1
    with pytest.raises(DecryptionError):
        cipher.decrypt("r", "f", bytes(blob))


def test_payload_round_trip_and_truncation(cipher):
    payload = cipher.encrypt_fields("r", {"a": "1", "b": "Łódź"})
    assert cipher.decrypt_fields("r", payload) == {"a": "1", "b": "Łódź"}
    assert decode_payload(encode_payload({})) == {}
    with pytest.raises(DecryptionError):
        decode_payload(payload[:-3])


def test_key_wrap_binds_identity():
    kek, dek = os.urandom(32), os.urandom(32)
    wrapped = wrap_key(kek, dek, purpose="campaign", owner="3", version=1, kek_version=1)
    assert unwrap_key(kek, wrapped, purpose="campaign", owner="3", version=1, kek_version=1) == dek
    with pytest.raises(DecryptionError):
        unwrap_key(kek, wrapped, purpose="campaign", owner="4", version=1, kek_version=1)
    with pytest.raises(DecryptionError):
        unwrap_key(os.urandom(32), wrapped, purpose="campaign", owner="3", version=1, kek_version=1)


def test_blind_index_is_keyed_and_stable():
    a, b = BlindIndexer(b"k" * 32), BlindIndexer(b"j" * 32)
    assert a.phone("+48500000001") == a.phone("+48500000001")
    assert a.phone("+48500000001") != b.phone("+48500000001")
    assert len(a.phone("+48500000001")) == 32


def test_blind_index_is_rfc2104_hmac_sha256_and_pickles_as_its_key() -> None:
    import hashlib
    import hmac
    import pickle

    key = os.urandom(32)
    indexer = BlindIndexer(key)
    copy = pickle.loads(pickle.dumps(indexer))  # noqa: S301 - our own bytes, as the import workers receive them
    for number in ("+48221234567", "+48600000000", "+4930123456", "+1" + "9" * 14):
        expected = hmac.new(key, b"phone|" + number.encode(), hashlib.sha256).digest()
        assert indexer.phone(number) == expected
        assert copy.phone(number) == expected
    assert "key" not in repr(indexer)
