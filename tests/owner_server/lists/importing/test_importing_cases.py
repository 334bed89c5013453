"""The real-world files of shared/cases/import give exactly the values in EXPECTED.md."""

import os
from pathlib import Path

import pytest

from owner_server.lists.importing import (
    NormalisedRow,
    PhoneOk,
    RejectedRow,
    map_columns,
    normalise_records,
    read_records,
)

CASES = Path(
    os.environ.get("CUSTOS_CASES_DIR") or Path(__file__).parents[4] / ".." / "shared" / "cases" / "import"
).resolve()

pytestmark = pytest.mark.skipif(
    not (CASES / "EXPECTED.md").is_file(), reason=f"case files not found at {CASES} (shared/ beside the clone)"
)


def run(name):
    source = read_records(CASES / name)
    mapping = map_columns(source.header)
    return source, list(normalise_records(source, mapping, region="PL"))


def ok(rows):
    assert all(isinstance(r, NormalisedRow) for r in rows), rows
    return rows


def test_case01_cp1250_semicolon():
    source, rows = run("case01_cp1250_semicolon.csv")
    assert (source.encoding, source.delimiter) == ("cp1250", ";")
    rows = ok(rows)
    assert [r.fields["first_name"] for r in rows] == ["Łucja", "Świętosław", "Żaneta", "Ewelina"]
    assert rows[1].fields["last_name"] == "Żółkiewicz-Ćwik"
    assert rows[3].fields["last_name"] == "Nowak; Wiśniewska"
    assert rows[0].fields["city"] == "Łódź"
    assert [r.phone.e164 for r in rows] == ["+48500000001", "+48600000002", "+48500000003", "+48220000004"]
    assert [r.record_no for r in rows] == [1, 2, 3, 4]


def test_case02_utf8_bom_header():
    source, rows = run("case02_utf8_bom_header.csv")
    assert source.header[0] == "Imię"
    rows = ok(rows)
    assert [(r.fields["first_name"], r.fields["last_name"], r.phone.e164) for r in rows] == [
        ("Zdzisława", "Gęślą", "+48500000011"),
        ("Jaźń", "Pąkowski", "+48600000012"),
    ]
    assert not any("\ufeff" in v for r in rows for v in r.fields.values())


def test_case04_semicolon_with_commas():
    source, rows = run("case04_semicolon_with_commas.csv")
    assert source.delimiter == ";"
    assert len(source.header) == 4
    rows = ok(rows)
    assert rows[0].fields["full_name"] == "Kowalczyk, Anna"
    assert rows[0].fields["address"] == "ul. Polna 1, m. 2, 00-001 Warszawa"
    assert rows[0].fields["notes"] == "tagi: 'VIP', 'pilne'"
    assert [r.phone.e164 for r in rows] == ["+48500000031", "+48600000032", "+48220000033"]


def test_case05_excel_scientific():
    _, rows = run("case05_excel_scientific.csv")
    for rejected in rows[:3]:
        assert isinstance(rejected, RejectedRow)
        assert rejected.reason_code == "scientific_notation"
        assert "scientific notation" in rejected.reason
        assert "text" in rejected.reason
    assert [r.record_no for r in rows[:3]] == [1, 2, 3]
    assert isinstance(rows[3], NormalisedRow)
    assert (rows[3].record_no, rows[3].phone.e164) == (4, "+48500000044")


def test_case07_xlsx_numeric_phone():
    source, rows = run("case07_xlsx_numeric_phone.xlsx")
    assert (source.encoding, source.delimiter) == ("xlsx", None)
    assert [type(r).__name__ for r in rows] == ["NormalisedRow", "RejectedRow", "NormalisedRow", "NormalisedRow"]
    assert [r.phone.e164 for r in rows if isinstance(r, NormalisedRow)] == [
        "+48500000071",
        "+48600000073",
        "+48500000075",
    ]
    assert rows[0].extra_phones == (("phone2", PhoneOk("+48220000074")),)
    empty = rows[1]
    assert (empty.record_no, empty.reason_code) == (2, "empty")
    assert "nan" not in repr(rows).lower()


def test_case09_duplicates_all_normalise_to_one_number():
    _, rows = run("case09_duplicates_formats.csv")
    rows = ok(rows)
    assert [(r.record_no, r.phone) for r in rows] == [(n, PhoneOk("+48500000091")) for n in range(1, 8)]


def test_case11_quoted_newline_address():
    source, rows = run("case11_quoted_newline_address.csv")
    assert source.encoding == "cp1250"
    rows = ok(rows)
    assert [r.record_no for r in rows] == [1, 2, 3]
    assert rows[0].fields["address"] == "ul. Kręta 7\nklatka B, piętro 3\n05-500 Piaseczno"
    assert rows[0].fields["address"].count("\n") == 2
    assert rows[1].fields["last_name"] == 'Cudzysłów "Lolek"'
    assert rows[1].fields["address"] == "os. Słoneczne 2;\n31-000 Kraków"
    assert [r.phone.e164 for r in rows] == ["+48500000111", "+48600000112", "+48220000113"]


def test_case13_pl_48_prefix():
    _, rows = run("case13_pl_48_prefix.csv")
    assert [r.phone.e164 for r in ok(rows)] == [
        "+48483600001",
        "+48483600002",
        "+48500000133",
        "+48500000134",
        "+48483600005",
    ]


def test_case15_pl_extensions():
    _, rows = run("case15_pl_extensions.csv")
    assert [(r.phone.e164, r.phone.extension) for r in ok(rows)] == [
        ("+48220000151", "123"),
        ("+48220000152", "45"),
        ("+48220000153", "7"),
        ("+48220000154", "9"),
        ("+48220000155", "12"),
    ]


def test_reject_reasons_hold_no_personal_data():
    _, rows = run("case05_excel_scientific.csv")
    source = read_records(CASES / "case05_excel_scientific.csv")
    values = {cell for _, cells in source for cell in cells}
    for rejected in (r for r in rows if isinstance(r, RejectedRow)):
        assert not any(value in rejected.reason for value in values)
        assert not any(ch.isdigit() for ch in rejected.reason)
