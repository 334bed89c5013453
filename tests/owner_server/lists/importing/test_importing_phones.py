"""Phone cell rules: a table of inputs, and the fast path proven equal to phonenumbers."""

import random
import re

import phonenumbers
import pytest
from phonenumbers import PhoneNumber

from owner_server.lists.importing import ImportFileError, PhoneOk, PhoneRejected, normalise_phone
from owner_server.lists.importing.phones import _fast_pl, _fast_pl_more, _slow
from owner_server.lists.importing.plvalid import pl_national_is_valid

ACCEPTED = [
    # plain national, separators, unicode spaces
    ("500000001", "+48500000001", None),
    ("500 000 001", "+48500000001", None),
    ("500-000-001", "+48500000001", None),
    ("500.000.001", "+48500000001", None),
    ("(500) 000 001", "+48500000001", None),
    ("500\u00a0000\u00a0001", "+48500000001", None),
    ("500\u202f000\u202f001", "+48500000001", None),
    ("\t500000001 ", "+48500000001", None),
    ("500\u2013000\u2013001", "+48500000001", None),
    ("２２ ０００ ００ ０４", "+48220000004", None),
    # international prefixes
    ("+48 500 000 001", "+48500000001", None),
    ("+48500000001", "+48500000001", None),
    ("0048 500 000 001", "+48500000001", None),
    ("(+48) 500 000 001", "+48500000001", None),
    ("+ 48 500 000 001", "+48500000001", None),
    ("(48) 500 000 001", "+48500000001", None),
    ("48 500 000 001", "+48500000001", None),
    ("48500000001", "+48500000001", None),
    ("+49 30 12345678", "+493012345678", None),
    ("0049 30 12345678", "+493012345678", None),
    # national numbers that begin with area code 48
    ("48 360 00 01", "+48483600001", None),
    ("483600002", "+48483600002", None),
    ("+48 48 360 00 05", "+48483600005", None),
    ("48 48 360 00 05", "+48483600005", None),
    # legacy trunk zero
    ("0 22 000 00 04", "+48220000004", None),
    ("022 000 00 04", "+48220000004", None),
    ("(022) 000-00-04", "+48220000004", None),
    ("0500000001", "+48500000001", None),
    ("+48 (0) 22 000 00 04", "+48220000004", None),
    ("0048 0 22 000 00 04", "+48220000004", None),
    ("+480500000001", "+48500000001", None),
    # labels and extensions
    ("tel. 500 000 001", "+48500000001", None),
    ("Tel: +48 500 000 001", "+48500000001", None),
    ("+48 22 000 01 51 wew. 123", "+48220000151", "123"),
    ("22 000 01 52 w. 45", "+48220000152", "45"),
    ("22 000 01 53 wewn. 7", "+48220000153", "7"),
    ("22 000 01 53 WEWN 7", "+48220000153", "7"),
    ("+48 22 000 01 54 ext. 9", "+48220000154", "9"),
    ("22 000 01 54 ext 9", "+48220000154", "9"),
    ("22 000 01 55 #12", "+48220000155", "12"),
    ("22 000 01 55 x 12", "+48220000155", "12"),
    ("22 000 01 55x12", "+48220000155", "12"),
    ("22 000 01 55, wew. 012", "+48220000155", "012"),
]

REJECTED = [
    ("", "empty"),
    ("   ", "empty"),
    ("\u00a0", "empty"),
    ("brak", "no_number"),
    ("BRAK", "no_number"),
    ("Brak danych", "no_number"),
    ("-", "no_number"),
    ("--", "no_number"),
    ("n/a", "no_number"),
    ("N/A", "no_number"),
    ("nie ma", "no_number"),
    ("nan", "no_number"),
    ("000 000 000", "no_number"),
    ("0", "no_number"),
    ("+48 000 000 000", "invalid_number"),
    ("4,85E+10", "scientific_notation"),
    ("4.85E+10", "scientific_notation"),
    ("5E+08", "scientific_notation"),
    ("5,00E+08", "scientific_notation"),
    ("4.85e10", "scientific_notation"),
    ("500000001.0", "decimal_number"),
    ("48500000071,00", "decimal_number"),
    ("500 000 001 / 600 000 002", "several_numbers"),
    ("500000001/600000002", "several_numbers"),
    ("500 000 001, 600 000 002", "several_numbers"),
    ("500 000 001; 600 000 002", "several_numbers"),
    ("500 000 001 lub 600 000 002", "several_numbers"),
    ("500 000 001 or 600 000 002", "several_numbers"),
    ("500000001 600000002", "several_numbers"),
    ("500 000 001 600 000 002", "several_numbers"),
    ("+48 500 000 001 +48 600 000 002", "several_numbers"),
    ("500 abc 001", "letters"),
    ("5OO OOO OO1", "letters"),
    ("0800-FLOWERS", "letters"),
    ("500 000 001 (praca)", "letters"),
    ("tel.", "letters"),
    ("22 000 01 51 wew.", "letters"),
    ("500*000*001", "invalid_characters"),
    ("500 000 + 001", "invalid_characters"),
    ("500²000001", "invalid_characters"),
    ("12345", "invalid_number"),
    ("50000000", "invalid_number"),
    ("5000000011", "invalid_number"),
    ("100000000", "invalid_number"),
    ("+48 100 000 000", "invalid_number"),
    ("48100000000", "invalid_number"),
    ("+999 123 456", "invalid_number"),
    ("00", "no_number"),
    ("5" * 65, "too_long"),
    ("500 000 001 " + "x" * 60, "too_long"),
    ("#N/D", "spreadsheet_error"),
    ("#N/A", "spreadsheet_error"),
    ("#VALUE!", "spreadsheet_error"),
    ("#ARG!", "spreadsheet_error"),
    ("#DZIEL/0!", "spreadsheet_error"),
    ("#NAZWA?", "spreadsheet_error"),
    ("#REF!", "spreadsheet_error"),
    (" #ADR! ", "spreadsheet_error"),
]


@pytest.mark.parametrize(("raw", "e164", "extension"), ACCEPTED)
def test_accepted(raw, e164, extension):
    result = normalise_phone(raw, "PL")
    assert isinstance(result, PhoneOk) and (result.e164, result.extension) == (e164, extension)


@pytest.mark.parametrize(("raw", "code"), REJECTED)
def test_rejected(raw, code):
    result = normalise_phone(raw, "PL")
    assert isinstance(result, PhoneRejected)
    assert result.reason_code == code


@pytest.mark.parametrize("raw", [raw for raw, _ in REJECTED] + ["4,85E+10", "500 000 001 lub 600 000 002"])
def test_reasons_contain_no_digits(raw):
    result = normalise_phone(raw, "PL")
    assert isinstance(result, PhoneRejected)
    assert result.reason.endswith(".")
    assert not re.search(r"\d", result.reason)


def test_e164_never_holds_the_extension():
    result = normalise_phone("22 000 01 51 wew. 123")
    assert isinstance(result, PhoneOk)
    assert "123" not in result.e164.removeprefix("+48220000151")
    assert result.e164 == "+48220000151"


def test_other_region_national_numbers():
    assert normalise_phone("030 12345678", "DE") == PhoneOk("+493012345678")
    assert normalise_phone("+48 500 000 001", "DE") == PhoneOk("+48500000001")


def test_unknown_region_is_an_error():
    with pytest.raises(ImportFileError):
        normalise_phone("500 000 001", "XX")


def test_pl_validator_equals_phonenumbers():
    rng = random.Random(1234)
    numbers = [f"{prefix:03d}{rng.randrange(10**6):06d}" for prefix in range(100, 1000) for _ in range(40)]
    numbers += [str(rng.randrange(10**8, 10**9)) for _ in range(50_000)]
    numbers += [str(rng.randrange(10**5, 10**10)) for _ in range(20_000)]  # other lengths too
    for national in numbers:
        expected = phonenumbers.is_valid_number(PhoneNumber(country_code=48, national_number=int(national)))
        assert pl_national_is_valid(national) is expected, national


def _formats(national, rng):
    spaced = f"{national[:3]} {national[3:6]} {national[6:]}"
    return [
        national,
        spaced,
        national.replace("0", "-", 1) if rng.random() < 0.1 else f"{national[:2]} {national[2:]}",
        "+48" + national,
        "+48 " + spaced,
        "48" + national,
        "48\u00a0" + spaced.replace(" ", "\u00a0"),
        "\t" + national + " ",
        "0" + national,
        "0048" + national,
        # every style the demo generator writes, and other common Polish spreadsheet styles
        f"{national[:3]}-{national[3:6]}-{national[6:]}",
        "(+48) " + spaced,
        "0048 " + spaced,
        f"({national[:2]}) {national[2:5]}-{national[5:7]}-{national[7:]}",
        f"+48 {national[:2]} {national[2:5]} {national[5:7]} {national[7:]}",
        f"(0{national[:2]}) {national[2:5]} {national[5:7]} {national[7:]}",
        f"0 {national[:2]} {national[2:5]} {national[5:7]} {national[7:]}",
        f"(0-{national[:2]}) {national[2:5]}-{national[5:7]}-{national[7:]}",
        "(48) " + spaced,
        "00 48 " + spaced,
        "(0048) " + spaced,
        "+48 (" + national[:3] + ") " + national[3:],
    ]


def test_fast_path_gives_exactly_the_full_rules_answer():
    rng = random.Random(99)
    checked = 0
    for _ in range(6_000):
        national = f"{rng.randrange(10**8, 10**9)}"
        for raw in _formats(national, rng):
            fast = _fast_pl(raw)
            if fast is not None:
                checked += 1
                assert fast == _slow(raw, "PL"), raw
                if re.sub(r"\D", "", raw)[:2] in {f"0{d}" for d in range(1, 10)}:
                    continue  # a legacy trunk zero: our rule, not phonenumbers'
                parsed = phonenumbers.parse(raw.replace("\u00a0", " ").strip(), "PL")
                assert phonenumbers.is_valid_number(parsed)
                assert fast.e164 == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    assert checked > 80_000


_FUZZ_PIECES = ("", " ", "  ", "-", "(", ")", "+", "0", "00", "48", "\u00a0", "\t", ".", "/", "x")


def _fuzzed(national: str, rng: random.Random) -> str:
    head = "".join(rng.choice(_FUZZ_PIECES) for _ in range(rng.randrange(4)))
    cuts = sorted(rng.sample(range(1, len(national)), rng.randrange(4)))
    parts = [national[i:j] for i, j in zip([0, *cuts], [*cuts, len(national)], strict=True)]
    body = "".join(p + rng.choice(_FUZZ_PIECES[:6]) for p in parts)
    return head + body + rng.choice(("", " ", ")", "-"))


def test_fast_path_equals_the_full_rules_on_fuzzed_cells():
    """Random mixes of prefixes, separators and parentheses: whenever the fast path answers, it is the full rules'."""
    rng = random.Random(7)
    checked = 0
    for _ in range(60_000):
        national = rng.choice(("5", "6", "7", "8", "2", "1", "4")) + f"{rng.randrange(10**8):08d}"
        raw = _fuzzed(national, rng)
        more = _fast_pl_more(raw)
        if more is not None:
            checked += 1
            assert more == _slow(raw, "PL"), raw
        fast = _fast_pl(raw)
        # The first fast path has always read "-+48..." as "+48..." where the full rules refuse it; kept as it was.
        if fast is not None and not re.match(r"[\s-]*-[\s-]*\+", raw):
            assert fast == _slow(raw, "PL"), raw
    assert checked > 10_000


def test_a_dash_before_the_plus_is_read_as_it_always_was():
    assert normalise_phone("-+48 500 000 001") == PhoneOk("+48500000001")
    assert normalise_phone("-(+48) 500 000 001") == _slow("-(+48) 500 000 001", "PL")


@pytest.mark.parametrize("cell", ["1" * 2000, "1 " * 1000, "1)" * 1000 + "a", "(" * 2000, "1 w " * 500])
def test_hostile_cells_are_refused_before_any_pattern_runs(cell):
    assert normalise_phone(cell) == PhoneRejected("too_long", normalise_phone("9" * 65).reason)


@pytest.mark.parametrize("cell", ["'+48500000001", "'500 000 001", "'0048 500 000 001"])
def test_spreadsheet_text_marker_is_ignored(cell):
    assert normalise_phone(cell) == PhoneOk("+48500000001", None)


@pytest.mark.parametrize(
    ("raw", "repair"),
    [
        ("500 000 001", None),
        ("+48 500 000 001", None),
        ("0048 22 123 45 67", None),
        ("022 123 45 67", "trunk_zero"),
        ("(0-22) 123 45 67", "trunk_zero"),
        ("(022) 123-45-67", "trunk_zero"),
        ("+48 (0) 22 123 45 67", "trunk_zero"),
        ("0048 0 22 123 45 67", "trunk_zero"),
    ],
)
def test_repairs_are_named(raw, repair):
    """Issue 10: a dropped trunk zero is a repair the report lists, not silent."""
    result = normalise_phone(raw, "PL")
    assert isinstance(result, PhoneOk) and result.e164.startswith("+48") and result.repair == repair


def test_float_artefacts_only_when_asked_and_only_an_exact_point_zero():
    rejected = normalise_phone("607924402.0")
    assert isinstance(rejected, PhoneRejected) and rejected.reason_code == "decimal_number"
    assert "--accept-float-artefacts" in rejected.reason
    floated = normalise_phone("607924402.0", accept_float_artefacts=True)
    assert floated == PhoneOk("+48607924402", None, "float_artefact")
    assert normalise_phone("48607924402.0", accept_float_artefacts=True).e164 == "+48607924402"
    for other in ("607924402.00", "607924402.5", "607924402,0"):
        assert isinstance(normalise_phone(other, accept_float_artefacts=True), PhoneRejected), other
