"""The import's CPU side: field encryption, chunk preparation, worker processes."""

from __future__ import annotations

import os
import pickle
import re

from owner_server.lists.import_workers import (
    BIDX_AT,
    RECORD_AT,
    STAGED_COLUMNS,
    ChunkPreparer,
    StageTarget,
    new_ref,
    prepare_in_parallel,
)
from owner_server.lists.importing.normalise import NormalisedRow, RejectedRow
from owner_server.lists.importing.phones import PhoneOk, PhoneRejected
from owner_server.lists.importing.reading import Record
from owner_server.vault.aead import FieldCipher, decode_payload, encode_payload
from owner_server.vault.blind_index import BlindIndexer

VALUES = {"first_name": "Łucja", "last_name": "Żółkiewicz", "city": "Łódź", "phone": "+48500000001"}
REF = "0" * 32
TARGET = StageTarget(campaign_id=7, batch_id=3, data_key_id=5, state="NEW")


def test_encrypt_fields_is_the_per_field_format():
    cipher = FieldCipher(os.urandom(32), 7)
    payload = cipher.encrypt_fields(REF, VALUES)
    blobs = decode_payload(payload)
    assert list(blobs) == list(VALUES)
    assert {name: cipher.decrypt(REF, name, blob) for name, blob in blobs.items()} == VALUES
    # byte for byte what encode_payload makes of the same ciphertexts
    assert encode_payload(blobs) == payload
    assert len({blob[:12] for blob in blobs.values()}) == len(VALUES)  # fresh nonce per field


def test_encrypt_fields_binds_campaign_and_ref():
    import pytest

    from owner_server.vault.aead import DecryptionError

    dek = os.urandom(32)
    payload = FieldCipher(dek, 7).encrypt_fields(REF, VALUES)
    with pytest.raises(DecryptionError):
        FieldCipher(dek, 8).decrypt_fields(REF, payload)
    with pytest.raises(DecryptionError):
        FieldCipher(dek, 7).decrypt_fields("1" * 32, payload)


def test_cipher_pickles_for_workers_and_never_shows_its_key():
    dek = os.urandom(32)
    cipher = FieldCipher(dek, 7)
    copy = pickle.loads(pickle.dumps(cipher))  # noqa: S301 - our own bytes
    assert copy.decrypt_fields(REF, cipher.encrypt_fields(REF, VALUES)) == VALUES
    assert dek.hex() not in repr(cipher) and dek.hex() not in repr(
        ChunkPreparer(cipher=cipher, indexer=BlindIndexer(dek), target=TARGET)
    )


def test_refs_are_time_ordered_hex():
    refs = [new_ref() for _ in range(1000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", ref) for ref in refs)
    assert len(set(refs)) == 1000
    assert [r[:12] for r in refs] == sorted(r[:12] for r in refs)


def test_preparer_keeps_order_rejects_and_warnings():
    indexer = BlindIndexer(os.urandom(32))
    cipher = FieldCipher(os.urandom(32), 7)
    rows = [
        NormalisedRow(1, {"city": "Łódź"}, PhoneOk("+48500000001")),
        RejectedRow(2, "empty", "The phone number is empty."),
        NormalisedRow(3, {}, PhoneOk("+48500000003", "12"), (), (("phone2", PhoneRejected("letters", "has letters")),)),
    ]
    chunk = ChunkPreparer(cipher=cipher, indexer=indexer, target=TARGET).prepare(rows)
    assert chunk.handled == 3
    assert [r.record_no for r in chunk.rejected] == [2]
    assert [(w.record_no, w.reason_code) for w in chunk.warnings] == [(3, "letters")]
    assert [(r[1], r[2], r[3], r[6], r[7], r[8]) for r in chunk.rows] == [
        (7, 3, 5, "NEW", 0, 1),
        (7, 3, 5, "NEW", 0, 3),
    ]
    assert chunk.rows[0][5] == indexer.phone("+48500000001")
    assert [r[STAGED_COLUMNS.index("pick_batch")] for r in chunk.rows] == [3, 3]  # issued batch by batch
    assert cipher.decrypt_fields(chunk.rows[1][0], chunk.rows[1][4]) == {"phone": "+48500000003", "phone_ext": "12"}


def test_dry_preparer_encrypts_nothing():
    chunk = ChunkPreparer(cipher=None, indexer=BlindIndexer(os.urandom(32)), target=TARGET).prepare(
        [NormalisedRow(1, {"city": "Łódź"}, PhoneOk("+48500000001"))]
    )
    assert chunk.rows[0][4] == b""


def test_parallel_chunks_come_back_in_file_order():
    from owner_server.lists.importing.mapping import map_columns

    mapping = map_columns(("Imię", "Telefon"), None)
    records: list[Record] = [(n, (f"Imię {n}", f"500{n:06d}" if n % 7 else "brak")) for n in range(1, 1001)]
    indexer = BlindIndexer(os.urandom(32))
    preparer = ChunkPreparer(cipher=None, indexer=indexer, target=TARGET)
    chunks = list(
        prepare_in_parallel(records, preparer=preparer, mapping=mapping, region="PL", workers=2, chunk_records=64)
    )
    assert [c.handled for c in chunks] == [64] * 15 + [40]
    numbers = [row[8] for c in chunks for row in c.rows]
    assert numbers == [n for n in range(1, 1001) if n % 7]
    assert [r.record_no for c in chunks for r in c.rejected] == list(range(7, 1001, 7))
    assert chunks[0].rows[0][5] == indexer.phone("+48500000001")


def test_column_positions_match_their_names():
    assert (STAGED_COLUMNS[BIDX_AT], STAGED_COLUMNS[RECORD_AT]) == ("phone_bidx", "source_record")


def test_encrypt_many_is_encrypt_fields_for_each_contact():
    import pytest

    cipher = FieldCipher(os.urandom(32), 7)
    contacts = [(new_ref(), {**VALUES, "city": f"Łódź {n}"}) for n in range(50)] + [(new_ref(), {})]
    payloads = cipher.encrypt_many(contacts)
    assert len(payloads) == len(contacts)
    nonces = set()
    for (ref, values), payload in zip(contacts, payloads, strict=True):
        blobs = decode_payload(payload)
        assert encode_payload(blobs) == payload
        assert cipher.decrypt_fields(ref, payload) == values
        nonces |= {blob[:12] for blob in blobs.values()}
    assert len(nonces) == 50 * len(VALUES)  # a fresh nonce for every field of every contact
    assert cipher.encrypt_many([]) == []
    with pytest.raises(ValueError, match="255 bytes"):
        cipher.encrypt_many([(REF, {"x" * 256: "v"})])
    with pytest.raises(ValueError, match="65535 bytes"):
        cipher.encrypt_fields(REF, {"note": "v" * 65_536})


def test_refs_made_in_bulk_look_like_single_refs():
    from owner_server.lists.import_workers import new_refs

    refs = new_refs(1000)
    assert all(re.fullmatch(r"[0-9a-f]{32}", ref) for ref in refs)
    assert len(set(refs)) == 1000
    assert [r[:12] for r in refs] == sorted(r[:12] for r in refs)
    assert abs(int(refs[0][:12], 16) - int(new_ref()[:12], 16)) < 60_000  # milliseconds of the same minute
    assert new_refs(0) == []


def test_workers_are_spawned_without_the_programs_main_module():
    import sys
    from multiprocessing import spawn

    from owner_server.lists.import_workers import _main_module_hidden

    main = sys.modules["__main__"]
    with _main_module_hidden():
        data = spawn.get_preparation_data("worker")
        assert "init_main_from_name" not in data and "init_main_from_path" not in data
    assert sys.modules["__main__"] is main


def test_pick_keys_are_drawn_on_the_models_range() -> None:
    import inspect

    from owner_server.lists.import_workers import PICK_KEY_BOUND, new_pick_keys
    from owner_server.models.contacts import new_pick_key

    assert "randbelow(2**31 - 1)" in inspect.getsource(new_pick_key)  # same bound as the model's
    assert PICK_KEY_BOUND == 2**31 - 1
    keys = new_pick_keys(20000)
    assert len(keys) == 20000
    assert all(0 <= key < PICK_KEY_BOUND for key in keys)
    assert len(set(keys)) > 19990  # 31 random bits each
    assert max(keys) > 2**30  # the top bit is used
    assert new_pick_keys(0) == []
