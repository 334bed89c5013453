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
