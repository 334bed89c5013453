"""Normalising records: field rules, phone2 warnings, formulas kept, streaming memory."""

import tracemalloc

import pytest

from owner_server.lists.importing import (
    ImportFileError,
    NormalisedRow,
    PhoneOk,
    RejectedRow,
    map_columns,
    neutralise_formula,
    normalise_records,
    read_records,
)
from owner_server.lists.importing.formulas import is_formula_like

HEADER = ("Imię", "Nazwisko", "Telefon", "Telefon 2", "Adres", "Ulubiony kolor")
MAPPING = map_columns(HEADER)


def one(cells, **kwargs):
    (row,) = normalise_records([(7, cells)], MAPPING, **kwargs)
    return row


def test_values_are_trimmed_unified_and_extras_kept():
    decomposed = "Zo\u0301fia"  # ó as o + combining acute (macOS exports)
    row = one((f"  {decomposed} ", "\u00a0Kowalska\t", "500 000 001", "", "ul. A 1\r\nm. 2\rX", "zielony"))
    assert row == NormalisedRow(
        7,
        {
            "first_name": "Zófia",
            "last_name": "Kowalska",
            "address": "ul. A 1\nm. 2\nX",
            "extra:ulubiony_kolor": "zielony",
        },
        PhoneOk("+48500000001"),
    )


def test_empty_values_are_left_out():
    row = one(("", "", "500 000 001", "", "", ""))
    assert isinstance(row, NormalisedRow)
    assert row.fields == {}


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "=1+1"])
def test_formula_like_values_are_kept_unchanged(value):
    row = one((value, "B", "500 000 001", "", "", ""))
    assert isinstance(row, NormalisedRow)
    assert row.fields["first_name"] == value


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=1+1", "'=1+1"), ("+48", "'+48"), ("-x", "'-x"), ("@a", "'@a"), ("\tx", "'\tx"), ("\rx", "'\rx"),
     ("Anna", "Anna"), ("", ""), ("a=b", "a=b")],
)  # fmt: skip
def test_neutralise_formula(value, safe):
    assert neutralise_formula(value) == safe
    assert is_formula_like(value) == (safe != value)


def test_bad_phone_rejects_the_row_with_a_safe_reason():
    row = one(("Anna", "Nowak", "500 abc 001", "", "", ""))
    assert row == RejectedRow(7, "letters", row.reason)
    assert "Anna" not in row.reason and "500" not in row.reason


def test_bad_phone2_keeps_the_row_and_warns():
    row = one(("Anna", "Nowak", "500 000 001", "4,85E+10", "", ""))
    assert isinstance(row, NormalisedRow)
    assert row.extra_phones == ()
    [(slot, dropped)] = row.phones_rejected
    assert (slot, dropped.reason_code) == ("phone2", "scientific_notation")


def test_phone2_kept_and_equal_phone2_dropped():
    kept = one(("A", "B", "500 000 001", "600 000 002 wew. 5", "", "")).extra_phones
    assert kept == (("phone2", PhoneOk("+48600000002", "5")),)
    same = one(("A", "B", "500 000 001", "+48 500-000-001", "", ""))
    assert (same.extra_phones, same.phones_rejected) == ((), ())


def test_field_count_mismatch_is_rejected():
    row = one(("A", "B", "500 000 001"))
    assert (row.record_no, row.reason_code) == (7, "field_count")


@pytest.mark.parametrize("column", [0, 2, 4, 5])
def test_too_long_values_are_rejected(column):
    cells = ["A", "B", "500 000 001", "", "", ""]
    cells[column] = "x" * 2001
    row = one(tuple(cells))
    assert isinstance(row, RejectedRow)
    assert row.reason_code == "field_too_long"
    assert HEADER[column] in row.reason
    assert "xxx" not in row.reason


def test_limit_is_inclusive_and_configurable():
    assert isinstance(one(("x" * 2000, "B", "500 000 001", "", "", "")), NormalisedRow)
    assert isinstance(one(("x" * 11, "B", "500 000 001", "", "", ""), max_field_chars=10), RejectedRow)


def test_unknown_region_fails_before_any_row():
    with pytest.raises(ImportFileError):
        next(normalise_records([], MAPPING, region="XX"))


def test_200k_rows_stream_with_flat_memory(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="cp1250", newline="") as f:
        f.write("Imię;Nazwisko;Telefon;Miasto\r\n")
        for i in range(200_000):
            f.write(f"Łucja{i};Żółkiewska-{i % 97};5{i:08d};Łódź\r\n")
    tracemalloc.start()
    try:
        source = read_records(path)
        counts = {"ok": 0, "rejected": 0}
        for row in normalise_records(source, map_columns(source.header)):
            counts["ok" if isinstance(row, NormalisedRow) else "rejected"] += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert source.encoding == "cp1250"
    assert counts["ok"] + counts["rejected"] == 200_000
    assert counts["ok"] > 100_000
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_every_further_phone_is_normalised_kept_in_its_slot_or_dropped_with_a_warning():
    mapping = map_columns(("Telefon", "Telefon 2", "Telefon 3", "Telefon 4", "Telefon 5"))
    cells = ("500 000 001", "", "22 123 45 67", "abc", "+48 500 000 001")  # empty, kept, bad, same as phone
    (row,) = normalise_records([(3, cells)], mapping)
    assert row.extra_phones == (("phone3", PhoneOk("+48221234567")),)
    assert [(slot, r.reason_code) for slot, r in row.phones_rejected] == [("phone4", "letters")]
    assert row.fields == {}
