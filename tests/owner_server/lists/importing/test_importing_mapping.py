"""Header → field mapping, automatic and by --map overrides."""

import pytest

from owner_server.lists.importing import ImportFileError, map_columns
from owner_server.lists.importing.mapping import header_key


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Imię", "first_name"),
        ("IMIE", "first_name"),
        ("First name", "first_name"),
        ("firstname", "first_name"),
        ("Nazwisko", "last_name"),
        ("Surname", "last_name"),
        ("Last Name", "last_name"),
        ("Imię i nazwisko", "full_name"),
        ("Klient", "full_name"),
        ("Name", "full_name"),
        ("Customer name", "full_name"),
        ("E-mail", "email"),
        ("email", "email"),
        ("Mail", "email"),
        ("Miasto", "city"),
        ("City", "city"),
        ("Adres", "address"),
        ("Ulica", "address"),
        ("Street", "address"),
        ("Kod pocztowy", "postal_code"),
        ("Kod", "postal_code"),
        ("ZIP", "postal_code"),
        ("Postcode", "postal_code"),
        ("PESEL", "pesel"),
        ("Id klienta", "customer_id"),
        ("Nr klienta", "customer_id"),
        ("Customer ID", "customer_id"),
        ("Client id", "customer_id"),
        ("Uwagi", "notes"),
        ("Notes", "notes"),
        ("Comments", "notes"),
    ],
)
def test_known_headers(header, field):
    mapping = map_columns(("Telefon", header))
    assert mapping.fields == {0: "phone", 1: field}


@pytest.mark.parametrize(
    "header",
    ["Telefon", "Tel.", "Tel. kom.", "Nr telefonu", "Numer telefonu", "Komórka", "phone", "Mobile", "Phone number",
     "MSISDN", " TELEFON: "],
)  # fmt: skip
def test_phone_headers(header):
    assert map_columns(("Imię", header)).fields == {0: "first_name", 1: "phone"}


def test_header_key_ignores_case_diacritics_and_punctuation():
    assert header_key("  Nr. TELEFONU:") == "nr telefonu"
    assert header_key("Komórka") == "komorka"
    assert header_key("Miejscowość/Łódź") == "miejscowosc lodz"


def test_second_phone_column_is_phone2_and_numbers_order_them():
    assert map_columns(("Telefon", "Telefon 2")).fields == {0: "phone", 1: "phone2"}
    assert map_columns(("Telefon 2", "Telefon 1")).fields == {0: "phone2", 1: "phone"}
    assert map_columns(("Tel. kom.", "Telefon")).fields == {0: "phone", 1: "phone2"}
    assert map_columns(("Drugi telefon", "Telefon")).fields == {0: "phone2", 1: "phone"}
    assert map_columns(("Tel", "Tel 2", "Tel 3")).fields == {0: "phone", 1: "phone2", 2: "phone3"}


def test_name_means_first_name_next_to_a_surname():
    assert map_columns(("Name", "Surname", "Phone")).fields == {0: "first_name", 1: "last_name", 2: "phone"}


def test_unknown_and_repeated_columns_are_kept_as_extras():
    mapping = map_columns(("Telefon", "Data urodzenia", "", "Miasto", "Miasto", "Data urodzenia"))
    assert mapping.fields == {
        0: "phone",
        1: "extra:data_urodzenia",
        2: "extra:column_3",
        3: "city",
        4: "extra:miasto_2",
        5: "extra:data_urodzenia_2",
    }


def test_overrides_win_and_take_the_field_away():
    header = ("Klient", "Kontakt", "Telefon", "Śmieci")
    mapping = map_columns(header, {"Kontakt": "phone", "telefon": "phone2", "#4": "ignore", "Klient": "extra"})
    assert mapping.fields == {0: "extra:klient", 1: "phone", 2: "phone2"}
    assert mapping.overridden == frozenset({0, 1, 2, 3})
    assert mapping.phone_index == 1
    assert mapping.extra_phones == ((2, "phone2"),)
    lines = mapping.describe()
    assert lines[1] == 'column 2 "Kontakt" -> phone (set by --map)'
    assert lines[3] == 'column 4 "Śmieci" -> (ignored) (set by --map)'


def test_override_moves_the_automatic_choice_to_an_extra():
    mapping = map_columns(("Telefon", "Komórka"), {"Komórka": "phone"})
    assert mapping.fields == {0: "phone2", 1: "phone"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Faks": "phone"}, "not in the header"),
        ({"Telefon": "fax"}, "unknown field"),
        ({"Telefon": "phone", "Uwagi": "phone"}, "two columns"),
        ({"X": "notes"}, "more than once"),
        ({"#9": "notes"}, "not in the header"),
        ({"Telefon": "extra:Bad Name"}, "unknown field"),
        ({"Uwagi": "extra:seg", "#3": "extra:seg"}, "two columns"),
        ({"Uwagi": "extra:x"}, "another column already has"),
    ],
)
def test_bad_overrides(overrides, message):
    with pytest.raises(ImportFileError, match=message):
        map_columns(("Telefon", "Uwagi", "X", "X"), overrides)


def test_no_phone_column_is_an_error():
    with pytest.raises(ImportFileError, match="phone"):
        map_columns(("Imię", "Nazwisko"))


def test_an_override_can_name_an_extra_field():
    mapping = map_columns(("Telefon", "Grupa klienta"), {"Grupa klienta": "extra:segment"})
    assert mapping.fields == {0: "phone", 1: "extra:segment"}
    assert 1 in mapping.overridden


@pytest.mark.parametrize(
    "second",
    ["Nr telefonu stacjonarnego", "Telefon stacjonarny", "Tel. dom.", "Telefon 2", "Drugi telefon", "Tel. służbowy",
     "Telefon do pracy", "Phone (work)", "Mobile 2"],
)  # fmt: skip
def test_any_header_that_means_a_telephone_is_a_phone_column(second):
    """Issue 10: a second phone column under a Polish name must be dialable, not a hidden extra."""
    mapping = map_columns(("Imię", "Telefon komórkowy", second))
    assert mapping.fields == {0: "first_name", 1: "phone", 2: "phone2"}
    assert any(line.endswith("-> phone2") for line in mapping.describe())


@pytest.mark.parametrize("header", ["Data telefonu", "Zgoda na kontakt tel.", "Liczba telefonów", "Operator telefonu"])
def test_headers_about_calls_are_not_numbers(header):
    assert map_columns(("Telefon", header)).fields == {0: "phone", 1: "extra:" + header_key(header).replace(" ", "_")}


def test_third_and_later_phone_columns_are_phone3_and_on():
    """Issue 10: "phone, phone2, phone3 …": every telephone column is a phone slot, up to phone9."""
    header = ("Imię", "Telefon", "Tel. dom.", "Tel. służbowy", "Telefon 4")
    mapping = map_columns(header)
    assert mapping.fields == {0: "first_name", 1: "phone", 2: "phone2", 3: "phone3", 4: "phone4"}
    assert mapping.extra_phones == ((2, "phone2"), (3, "phone3"), (4, "phone4"))
    assert mapping.describe()[3] == 'column 4 "Tel. służbowy" -> phone3'
    numbered = map_columns(tuple(f"Telefon {n}" for n in (3, 1, 2)))
    assert numbered.fields == {0: "phone3", 1: "phone", 2: "phone2"}


def test_phone_columns_beyond_the_ninth_are_kept_hidden_and_the_dry_run_says_so():
    mapping = map_columns(tuple(f"Telefon {n}" for n in range(1, 12)))
    assert [mapping.fields[i] for i in range(9)] == ["phone", *(f"phone{n}" for n in range(2, 10))]
    assert mapping.fields[9] == "extra:telefon_10" and mapping.surplus_phones == frozenset({9, 10})
    assert mapping.describe()[9].endswith(
        "-> extra:telefon_10 (a phone column beyond phone9: kept hidden, never dialled)"
    )


def test_map_can_name_a_later_phone_slot():
    mapping = map_columns(("Telefon", "Kontakt"), {"Kontakt": "phone5"})
    assert mapping.fields == {0: "phone", 1: "phone5"} and mapping.extra_phones == ((1, "phone5"),)
