"""../shared/cases/import through the whole importer into the encrypted store (both databases).

The reading and normalising level is tested in tests/owner_server/lists/importing;
here the same values must come back out of the database after encryption.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ..cases_support import contacts, import_case, make_campaign


def test_case01_cp1250_semicolon(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    report = import_case(any_installation, cases_dir / "case01_cp1250_semicolon.csv", camp)
    got = contacts(any_installation)
    assert report.imported == 4 and not report.rejected and not report.duplicates
    assert [c["first_name"] for c in got] == ["Łucja", "Świętosław", "Żaneta", "Ewelina"]
    assert got[1]["last_name"] == "Żółkiewicz-Ćwik"
    assert got[3]["last_name"] == "Nowak; Wiśniewska"
    assert got[0]["city"] == "Łódź"
    assert [c["phone"] for c in got] == ["+48500000001", "+48600000002", "+48500000003", "+48220000004"]


def test_case02_utf8_bom_header(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    import_case(any_installation, cases_dir / "case02_utf8_bom_header.csv", camp)
    got = contacts(any_installation)
    assert [(c["first_name"], c["last_name"], c["phone"]) for c in got] == [
        ("Zdzisława", "Gęślą", "+48500000011"),
        ("Jaźń", "Pąkowski", "+48600000012"),
    ]
    assert not any("\ufeff" in v for c in got for v in c.values())


def test_case04_semicolon_with_commas(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    import_case(any_installation, cases_dir / "case04_semicolon_with_commas.csv", camp)
    got = contacts(any_installation)
    assert [c["phone"] for c in got] == ["+48500000031", "+48600000032", "+48220000033"]
    assert got[0]["full_name"] == "Kowalczyk, Anna"
    assert got[0]["address"] == "ul. Polna 1, m. 2, 00-001 Warszawa"


def test_case05_scientific_notation_rejected(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    report = import_case(any_installation, cases_dir / "case05_excel_scientific.csv", camp)
    assert [r.record_no for r in report.rejected] == [1, 2, 3]
    assert all("scientific" in r.reason and "text" in r.reason for r in report.rejected)
    assert [c["phone"] for c in contacts(any_installation)] == ["+48500000044"]


def test_case07_xlsx_numeric_phone(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    report = import_case(any_installation, cases_dir / "case07_xlsx_numeric_phone.xlsx", camp)
    got = contacts(any_installation)
    assert [c["phone"] for c in got] == ["+48500000071", "+48600000073", "+48500000075"]
    assert got[0]["phone2"] == "+48220000074"
    assert [(r.record_no, r.reason_code) for r in report.rejected] == [(2, "empty")]
    assert not any("nan" in v.lower() or v.startswith("+480") for c in got for v in c.values() if v)


def test_case09_duplicates_reported_with_record_numbers(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    report = import_case(any_installation, cases_dir / "case09_duplicates_formats.csv", camp)
    assert report.imported == 1
    assert [c["phone"] for c in contacts(any_installation)] == ["+48500000091"]
    assert sorted(d.record_no for d in report.duplicates) == [2, 3, 4, 5, 6, 7]
    assert all(d.first_record_no == 1 for d in report.duplicates)


def test_case11_quoted_newlines(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    import_case(any_installation, cases_dir / "case11_quoted_newline_address.csv", camp)
    got = contacts(any_installation)
    assert len(got) == 3 and [c["_record"] for c in got] == ["1", "2", "3"]
    assert got[0]["address"].count("\n") == 2
    assert got[1]["last_name"] == 'Cudzysłów "Lolek"'


def test_case13_48_prefix(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    import_case(any_installation, cases_dir / "case13_pl_48_prefix.csv", camp)
    assert [c["phone"] for c in contacts(any_installation)] == [
        "+48483600001",
        "+48483600002",
        "+48500000133",
        "+48500000134",
        "+48483600005",
    ]


def test_case15_extensions_kept_apart(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    import_case(any_installation, cases_dir / "case15_pl_extensions.csv", camp)
    got = [(c["phone"], c.get("phone_ext")) for c in contacts(any_installation)]
    assert got == [
        ("+48220000151", "123"),
        ("+48220000152", "45"),
        ("+48220000153", "7"),
        ("+48220000154", "9"),
        ("+48220000155", "12"),
    ]


@pytest.mark.parametrize(
    "case", ["case01_cp1250_semicolon.csv", "case09_duplicates_formats.csv", "case07_xlsx_numeric_phone.xlsx"]
)
def test_reimport_adds_nothing(any_installation, cases_dir, case):
    camp = make_campaign(any_installation)
    first = import_case(any_installation, cases_dir / case, camp)
    before = contacts(any_installation)
    second = import_case(any_installation, cases_dir / case, camp)
    assert second.imported == 0
    assert len(second.duplicates) == first.imported + len(first.duplicates)
    assert contacts(any_installation) == before


def test_reports_and_database_hold_no_clear_personal_data(any_installation, cases_dir):
    camp = make_campaign(any_installation)
    report = import_case(any_installation, cases_dir / "case05_excel_scientific.csv", camp)
    assert not any(ch.isdigit() for r in report.rejected for ch in r.reason)
    assert "Halina" not in str(report.as_dict())
    with any_installation.engine.connect() as conn:
        blobs = [bytes(row[0]) for row in conn.execute(text("SELECT payload FROM contact"))]
    assert blobs and not any(b"Wzorcowy" in b or b"500000044" in b for b in blobs)


def test_database_files_alone_reveal_no_name_or_number(installation, cases_dir):
    """Raw bytes of the SQLite database and its WAL, searched as a thief with no keys would."""
    camp = make_campaign(installation)
    import_case(installation, cases_dir / "case01_cp1250_semicolon.csv", camp)
    import_case(installation, cases_dir / "case04_semicolon_with_commas.csv", camp)
    db = installation.settings.data_dir / "custos.db"
    raw = b"".join(p.read_bytes() for p in (db, db.with_name("custos.db-wal")) if p.exists())
    secrets = ["Łucja", "Żółkiewicz-Ćwik", "Wiśniewska", "Łódź", "Kowalczyk", "ul. Polna 1"]
    for value in secrets:
        for encoding in ("utf-8", "cp1250", "utf-16-le"):
            assert value.encode(encoding) not in raw, (value, encoding)
    for national in ("500000001", "600000002", "220000004", "500000031", "220000033"):
        assert national.encode() not in raw and national.encode("utf-16-le") not in raw
