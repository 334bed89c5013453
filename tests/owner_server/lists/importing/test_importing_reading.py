"""Reading CSV and XLSX files: encodings, delimiters, quoting, blank rows, errors."""

import datetime as dt
import re
import zipfile

import pytest
from openpyxl import Workbook

from owner_server.lists.importing import ImportFileError, read_records
from owner_server.lists.importing.xlsx import cell_text

POLISH = "Imię;Nazwisko;Telefon\r\nŁucja;Źdźbło-Gąska;500 000 001\r\nŚwiętosław;Żółć;600 000 002\r\n"
ROWS = [
    (1, ("Łucja", "Źdźbło-Gąska", "500 000 001")),
    (2, ("Świętosław", "Żółć", "600 000 002")),
]


def write(tmp_path, data, name="list.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (POLISH.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + POLISH.encode("utf-8"), "utf-8"),
        (POLISH.encode("cp1250"), "cp1250"),
        (POLISH.encode("iso-8859-2"), "iso-8859-2"),
        (POLISH.encode("utf-16"), "utf-16"),
        ("Imię;Telefon\r\nAnna „Ania” – test;500 000 001\r\nŁukasz;600 000 002\r\n".encode("cp1250"), "cp1250"),
    ],
    ids=["utf8", "utf8-bom", "cp1250", "iso-8859-2", "utf16", "cp1250-quotes"],
)
def test_encodings_are_detected(tmp_path, data, encoding):
    source = read_records(write(tmp_path, data))
    assert source.encoding == encoding
    assert source.header[0] == "Imię"
    records = list(source)
    assert records[0][1][0] in ("Łucja", "Anna „Ania” – test")
    if source.header == ("Imię", "Nazwisko", "Telefon"):
        assert records == ROWS


def test_iso_8859_2_needs_evidence_else_cp1250(tmp_path):
    # Only letters both encodings share (ł ó ż ę): the tie goes to Windows-1250, and reads the same.
    data = "Imię;Telefon\nŁukasz Żółw;500 000 001\n".encode("iso-8859-2")
    source = read_records(write(tmp_path, data))
    assert source.encoding == "cp1250"
    assert list(source) == [(1, ("Łukasz Żółw", "500 000 001"))]


def test_forced_encoding_is_used_and_checked(tmp_path):
    path = write(tmp_path, POLISH.encode("iso-8859-2"))
    assert list(read_records(path, encoding="iso-8859-2")) == ROWS
    with pytest.raises(ImportFileError, match="not valid utf-8"):
        read_records(path, encoding="utf-8")
    with pytest.raises(ImportFileError, match="encoding name"):
        read_records(path, encoding="no-such-codec")


def test_undecodable_file_is_refused_not_mangled(tmp_path):
    # 0x81 and 0x98 are undefined in Windows-1250 and C1 controls in ISO-8859-2.
    with pytest.raises(ImportFileError, match="not UTF-8, Windows-1250 or ISO-8859-2"):
        read_records(write(tmp_path, b"Imie;Telefon\n\x81\x98;500000001\n"))


def test_bad_byte_at_the_end_of_a_large_utf8_file_is_found(tmp_path):
    body = "Imię;Telefon\n" + "Żaneta;500 000 001\n" * 50_000
    source = read_records(write(tmp_path, body.encode("utf-8") + b"\xb9;1\n"))
    assert source.encoding == "cp1250"  # never utf-8 with a replacement character
    assert list(source)[-1] == (50_001, ("ą", "1"))


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    text = delimiter.join(["Name", "Phone", "Notes"]) + "\n"
    text += delimiter.join(["Anna", "500 000 001", '"a; b, c | d"']) + "\n"
    text += delimiter.join(["Jan", "600 000 002", ""]) + "\n"
    source = read_records(write(tmp_path, text.encode()))
    assert source.delimiter == delimiter
    assert list(source) == [(1, ("Anna", "500 000 001", "a; b, c | d")), (2, ("Jan", "600 000 002", ""))]


def test_comma_file_with_semicolons_in_values(tmp_path):
    text = 'Imię,Telefon,Uwagi\nAnna,500 000 001,"x;y"\nJan,600 000 002,a;b\n'
    assert read_records(write(tmp_path, text.encode())).delimiter == ","


def test_inconsistent_file_is_an_error(tmp_path):
    text = "a;b;c\n1;2;3\n1,2;3\n4;5\n"
    with pytest.raises(ImportFileError, match="delimiter"):
        read_records(write(tmp_path, text.encode()))


def test_forced_delimiter_and_sep_line(tmp_path):
    path = write(tmp_path, b"sep=,\nImie,Telefon\nAnna,500000001\n")
    source = read_records(path)
    assert (source.delimiter, source.header) == (",", ("Imie", "Telefon"))
    assert list(source) == [(1, ("Anna", "500000001"))]
    forced = read_records(write(tmp_path, b"a:b\n1:2\n", "f.csv"), delimiter=":")
    assert list(forced) == [(1, ("1", "2"))]
    with pytest.raises(ImportFileError, match="single character"):
        read_records(path, delimiter=";;")


def test_single_column_file(tmp_path):
    source = read_records(write(tmp_path, b"telefon\n500 000 001\n600 000 002\n"))
    assert source.header == ("telefon",)
    assert [cells for _, cells in source] == [("500 000 001",), ("600 000 002",)]


def test_records_count_records_not_lines_and_blank_rows_are_counted(tmp_path):
    text = '\n\nImie;Adres;Telefon\r\nA;"l1\r\nl2\r\nl3";1\r\n;;\r\n\r\n   ;  ;\r\nB;"say ""hi""";2\r\nC;x;3;;\r\n'
    source = read_records(write(tmp_path, text.encode()))
    records = list(source)
    assert records == [
        (1, ("A", "l1\r\nl2\r\nl3", "1")),
        (5, ("B", 'say "hi"', "2")),
        (6, ("C", "x", "3")),
    ]
    assert source.blank_records == 3
    assert list(source) == records  # a source can be read again


def test_short_and_long_csv_records_are_passed_on(tmp_path):
    source = read_records(write(tmp_path, b"a;b;c\n1;2;3\n1;2;3\n1;2;3\n1;2\n1;2;3;4\n"), delimiter=";")
    assert [cells for _, cells in source][-2:] == [("1", "2"), ("1", "2", "3", "4")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no header"),
        (b"\n\n;;\n", "no header"),
        (b"a;b\n1;\x00\n", "NUL"),
        (b"\xd0\xcf\x11\xe0rest", "xls"),
        (b"PK\x03\x04broken", "xlsx"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "is a PDF document, not a CSV or XLSX"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is a PNG image"),
        (b"\x1f\x8b\x08\x00", "is a gzip archive"),
    ],
)
def test_unreadable_files(tmp_path, data, message):
    with pytest.raises(ImportFileError, match=message):
        read_records(write(tmp_path, data))


def test_missing_file(tmp_path):
    with pytest.raises(ImportFileError, match="cannot be opened"):
        read_records(tmp_path / "nope.csv")


def test_unclosed_quote_fails_with_a_line_number(tmp_path):
    path = write(tmp_path, b'a;b\n1;2\n3;"unclosed\n5;6\n')
    source = read_records(path, delimiter=";")
    with pytest.raises(ImportFileError, match="quot"):
        list(source)


def test_xlsx_cells_become_exact_text(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Imię", "Telefon", "Kiedy", "Kwota"])
    ws.append([None, None, None, None])
    ws.append(["Anna", 48500000071.0, dt.datetime(2024, 3, 1), 12.5])
    ws.append(["Jan", 600000073, dt.date(2024, 3, 2)])
    ws.cell(row=4, column=2).number_format = "0.00E+00"
    path = tmp_path / "list.xlsx"
    wb.save(path)
    source = read_records(path)
    assert (source.header, source.delimiter, source.encoding) == (("Imię", "Telefon", "Kiedy", "Kwota"), None, "xlsx")
    assert list(source) == [
        (2, ("Anna", "48500000071", "2024-03-01", "12.5")),
        (3, ("Jan", "600000073", "2024-03-02", "")),
    ]
    assert source.blank_records == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("x", "x"),
        (True, "TRUE"),
        (48500000071, "48500000071"),
        (48500000071.0, "48500000071"),
        (4.85e10, "48500000000"),
        (1e20, "100000000000000000000"),
        (0.1, "0.1"),
        (1e-7, "0.0000001"),
        (dt.datetime(2024, 3, 1, 12, 30), "2024-03-01T12:30:00"),
        (dt.time(8, 15), "08:15:00"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_xlsx_openpyxl_warnings_do_not_break_reading(tmp_path):
    wb = Workbook()
    wb.active.append(["Telefon"])
    wb.active.append([500000001])
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    styleless = tmp_path / "styleless.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(styleless, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/styles.xml":  # openpyxl warns "Workbook contains no stylesheet"
                data = b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
            zout.writestr(item, data)
    source = read_records(styleless)  # pytest turns warnings into errors
    assert list(source) == [(1, ("500000001",))]


def test_xlsx_with_a_wrong_stored_dimension_is_read_to_the_end(tmp_path):
    wb = Workbook()
    for row in (["Telefon", "Imię"], [500000001, "A"], [600000002, "B"]):
        wb.active.append(row)
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    lying = tmp_path / "lying.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(lying, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:A2"', data)
            zout.writestr(item, data)
    assert list(read_records(lying)) == [(1, ("500000001", "A")), (2, ("600000002", "B"))]


def test_damaged_xlsx_gets_an_xlsx_message(tmp_path):
    bad = tmp_path / "list.xlsx"
    bad.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(ImportFileError, match="not a valid XLSX workbook"):
        read_records(bad)


def test_xlsx_with_malformed_xml_part_gets_an_xlsx_message(tmp_path):
    # Red-team pass 2: an entity-expansion ("billion laughs") sharedStrings.xml made the
    # XML parser raise ParseError, which escaped as a traceback instead of a clear error.
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    pkg = "http://schemas.openxmlformats.org/package/2006"
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{pkg}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{sheet_type}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sheet_type}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{sheet_type}.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{pkg}/relationships">'
        f'<Relationship Id="rId1" Type="{office}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {main} xmlns:r="{office}"><sheets>'
        '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{pkg}/relationships">'
        f'<Relationship Id="rId1" Type="{office}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{office}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet {main}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        "</sheetData></worksheet>",
        "xl/sharedStrings.xml": f'<?xml version="1.0"?><!DOCTYPE s [{entities}]><sst {main}><si><t>&i;</t></si></sst>',
    }
    bad = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(bad, "w") as zout:
        for name, text in parts.items():
            zout.writestr(name, text)
    with pytest.raises(ImportFileError, match="xlsx"):
        list(read_records(bad))


def test_xlsx_decompression_bomb_is_refused_before_parsing(tmp_path):
    import zipfile

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/sharedStrings.xml", "<si><t>a</t></si>" * 2_000_000)  # 34 MB of XML, ~100 kB zipped
    with pytest.raises(ImportFileError, match="expands abnormally"):
        read_records(bomb)


def test_xlsx_wider_than_the_column_cap_is_refused(tmp_path):
    from openpyxl import Workbook

    from owner_server.lists.importing.xlsx import MAX_COLUMNS

    wb = Workbook()
    sheet = wb.active
    sheet.append(["Telefon", *[f"c{i}" for i in range(MAX_COLUMNS)]])
    path = tmp_path / "wide.xlsx"
    wb.save(path)
    with pytest.raises(ImportFileError, match=f"more than {MAX_COLUMNS} columns"):
        read_records(path)
