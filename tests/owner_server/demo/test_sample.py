import csv
import re
from itertools import islice

import phonenumbers
import pytest

from owner_server.demo.sample import (
    COLUMNS,
    MAX_CONTACTS,
    expected_phones,
    generate_contacts,
    phone_e164,
    write_polish_excel_csv,
    write_sample,
)

POLISH_LETTERS = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")


@pytest.fixture(scope="module")
def thousand():
    return list(generate_contacts(1000))


def test_same_seed_gives_same_rows():
    assert list(generate_contacts(300, seed=7)) == list(generate_contacts(300, seed=7))


def test_other_seed_gives_other_rows():
    assert list(generate_contacts(50, seed=7)) != list(generate_contacts(50, seed=8))


def test_shorter_list_is_a_prefix_of_a_longer_one():
    assert list(generate_contacts(40)) == list(generate_contacts(400))[:40]


def test_rows_have_the_eight_columns_in_cp1250(thousand):
    for row in thousand:
        assert tuple(row) == COLUMNS
        assert all(value and isinstance(value, str) for value in row.values())
        "".join(row.values()).encode("cp1250")


def test_phones_and_customer_ids_are_unique(thousand):
    e164 = {
        phonenumbers.format_number(phonenumbers.parse(row["Telefon"], "PL"), phonenumbers.PhoneNumberFormat.E164)
        for row in thousand
    }
    assert len(e164) == 1000
    assert len({row["Nr klienta"] for row in thousand}) == 1000


def test_every_phone_is_valid_and_matches_the_expected_e164(thousand):
    expected = expected_phones(1000)
    for index, row in enumerate(thousand):
        number = phonenumbers.parse(row["Telefon"], "PL")
        assert phonenumbers.is_valid_number(number), row["Telefon"]
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == expected[index]
        assert phone_e164(index) == expected[index]


def test_expected_phones_follow_the_seed():
    assert expected_phones(20, seed=1) == [row_phone(row) for row in generate_contacts(20, seed=1)]
    assert expected_phones(20, seed=1) != expected_phones(20, seed=2)


def row_phone(row):
    number = phonenumbers.parse(row["Telefon"], "PL")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_phones_are_written_in_many_styles(thousand):
    shapes = {re.sub(r"\d", "9", row["Telefon"]) for row in thousand}
    assert {"999 999 999", "999-999-999", "+99 999 999 999", "9999999999999", "999999999"} <= shapes
    assert {"+99999999999", "(+99) 999 999 999", "99 999 99 99", "(99) 999-99-99"} <= shapes


def test_both_mobile_and_landline_numbers_occur(thousand):
    types = {phonenumbers.number_type(phonenumbers.parse(row["Telefon"], "PL")) for row in thousand}
    assert {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE} <= types


def test_some_names_have_polish_diacritics(thousand):
    with_diacritics = [row for row in thousand if POLISH_LETTERS & set(row["Imię"] + row["Nazwisko"])]
    assert len(with_diacritics) >= 50


def test_emails_postcodes_and_ids_look_right(thousand):
    for row in thousand:
        assert re.fullmatch(r"[a-z0-9._-]+@[a-z0-9.-]+\.[a-z]+", row["E-mail"]), row["E-mail"]
        assert re.fullmatch(r"\d\d-\d\d\d", row["Kod pocztowy"])
        assert re.fullmatch(r"KL-\d{8}", row["Nr klienta"])


def test_the_generator_is_lazy():
    assert len(list(islice(generate_contacts(MAX_CONTACTS), 3))) == 3


@pytest.mark.parametrize("count", [-1, MAX_CONTACTS + 1])
def test_count_out_of_range_is_refused(count, tmp_path):
    with pytest.raises(ValueError, match="count"):
        next(generate_contacts(count))
    with pytest.raises(ValueError, match="count"):
        expected_phones(count)
    with pytest.raises(ValueError, match="count"):
        write_sample(tmp_path / "x.csv", count)
    assert not list(tmp_path.iterdir())


def test_file_is_polish_excel_csv(tmp_path, thousand):
    path = tmp_path / "kontakty.csv"
    assert write_sample(path, 1000) == 1000
    raw = path.read_bytes()
    assert raw.startswith(";".join(COLUMNS).encode("cp1250") + b"\r\n")
    assert raw.count(b"\r\n") == 1001
    assert raw.count(b"\n") == 1001
    assert b'"' not in raw  # minimal quoting: none of these values needs quotes
    text = raw.decode("cp1250")
    assert any(letter in text for letter in POLISH_LETTERS)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    with path.open(encoding="cp1250", newline="") as handle:
        read_back = list(csv.DictReader(handle, delimiter=";"))
    assert read_back == thousand


def test_values_with_separators_are_quoted_and_read_back(tmp_path):
    row = dict.fromkeys(COLUMNS, "x")
    row["Adres"] = 'ul. "Długa"; 5\r\nlok. 2'
    path = tmp_path / "a.csv"
    assert write_polish_excel_csv([row], path) == 1
    assert b'"ul. ""D\xb3uga""; 5\r\nlok. 2"' in path.read_bytes()
    with path.open(encoding="cp1250", newline="") as handle:
        assert list(csv.DictReader(handle, delimiter=";")) == [row]


def test_empty_list_writes_only_the_header(tmp_path):
    path = tmp_path / "empty.csv"
    assert write_sample(path, 0) == 0
    assert path.read_bytes() == ";".join(COLUMNS).encode("cp1250") + b"\r\n"


def test_unencodable_value_fails_and_leaves_no_file(tmp_path):
    row = dict.fromkeys(COLUMNS, "x")
    row["Nazwisko"] = "Müller 😀"
    with pytest.raises(UnicodeEncodeError):
        write_polish_excel_csv([row], tmp_path / "bad.csv")
    assert not list(tmp_path.iterdir())


def test_existing_file_is_replaced(tmp_path):
    path = tmp_path / "k.csv"
    path.write_bytes(b"old content that is longer than the new one" * 100)
    write_sample(path, 2)
    assert path.read_bytes().count(b"\r\n") == 3
    assert [p.name for p in tmp_path.iterdir()] == ["k.csv"]
