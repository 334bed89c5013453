import pytest

from owner_server.lists.importing import ImportFileError
from owner_server.lists.importing.pipeline import open_file


def test_headerless_file_is_refused_without_echoing_its_first_person(tmp_path):
    path = tmp_path / "nohdr.csv"
    path.write_text("Grzegorz;Brzęczyszczykiewicz;501 234 567\nAnna;Nowak;600 000 002\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        open_file(path, overrides={"501 234 567": "phone"})
    assert "header row" in caught.value.message
    assert "Grzegorz" not in caught.value.message and "501" not in caught.value.message


def test_a_normal_header_passes(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("Imię;Telefon\nAnna;600 000 002\n", encoding="utf-8")
    assert [r.phone.e164 for r in open_file(path).rows()] == ["+48600000002"]


def test_a_few_records_with_the_wrong_field_count_are_rejected_one_by_one(tmp_path):
    """Issue 10: the delimiter comes from the header and most records; the odd ones are named, not the file."""
    lines = ["Imię;Nazwisko;Telefon"]
    lines += [f"Anna;Nowak{i};6{i:08d}" for i in range(1, 301)]
    lines[57] = "Jan;Kowalski;Adres;600 000 057"  # record 57: one field too many
    lines[120] = "Ewa;600 000 120"  # record 120: one too few
    path = tmp_path / "mostly.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    opened = open_file(path)
    assert opened.source.delimiter == ";"
    rows = list(opened.rows())
    rejected = {r.record_no: r for r in rows if getattr(r, "reason_code", None) == "field_count"}
    assert sorted(rejected) == [57, 120]
    assert "4 fields but the header has 3" in rejected[57].reason
    assert "2 fields but the header has 3" in rejected[120].reason
    assert all("Kowalski" not in r.reason and "600" not in r.reason for r in rejected.values())
    assert sum(1 for r in rows if hasattr(r, "phone")) == 298


def test_a_header_only_file_is_an_error_not_an_empty_import(tmp_path):
    """Issue 10: nothing to import is an error (the importer then writes no batch and no audit entry)."""
    for name, data in (("h.csv", "Imię;Telefon\n"), ("hb.csv", "Imię;Telefon\n;;\n\n")):
        path = tmp_path / name
        path.write_text(data, encoding="utf-8")
        with pytest.raises(ImportFileError, match="header but no records"):
            open_file(path)


def test_a_header_that_did_not_split_says_so(tmp_path):
    """Issue 10: ``--delimiter ','`` on a ``;`` file must not say "no column looks like a phone number"."""
    path = tmp_path / "semi.csv"
    path.write_text("Imię;Nazwisko;Telefon\nAnna;Nowak;600 000 002\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        open_file(path, delimiter=",")
    assert "did not split into columns with --delimiter ','" in caught.value.message
    assert "';'" in caught.value.message
    assert open_file(path).source.delimiter == ";"


def test_unnamed_columns_empty_in_every_record_are_ignored(tmp_path):
    """Issue 10: Excel's trailing ``;;;`` must not become ``extra:column_4`` … fields."""
    path = tmp_path / "excel.csv"
    path.write_text("Imię;Telefon;;;\nAnna;600 000 002;;;\nJan;600 000 003;;x;\n", encoding="utf-8")
    mapping = open_file(path).mapping
    assert mapping.fields == {0: "first_name", 1: "phone", 3: "extra:column_4"}
    assert 'column 3 "" -> (ignored) (no header, no values)' in mapping.describe()
    assert open_file(path, overrides={"#3": "extra"}).mapping.fields[2] == "extra:column_3"
