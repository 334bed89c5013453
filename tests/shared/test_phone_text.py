"""Phone numbers inside visible and masked field values, however they are written, and what must pass."""

import pytest

from shared.phone_text import contains_phone_number, fold_phone_text
from shared.policy import PHONE_MASK, CampaignPolicy, FieldMode, MaskRule, apply_policy

CAUGHT = [
    # Unicode spaces between the groups
    "500\u2009123\u2009456",  # thin space
    "500\u202f123\u202f456",  # narrow no-break space
    "500\u00a0123\u00a0456",  # no-break space
    "500\u2007123\u2007456",  # figure space
    "500\u2002123\u2002456",  # en space
    "500\u3000123\u3000456",  # ideographic space
    "500\u200a123\u200a456",  # hair space
    "500\t123\t456",
    "tel.\u2009+48\u2009500\u2009123\u2009456",
    "+48\u202f22\u202f123\u202f45\u202f67",
    # Unicode dashes and minus
    "500\u2010123\u2010456",  # hyphen
    "500\u2011123\u2011456",  # non-breaking hyphen
    "500\u2012123\u2012456",  # figure dash
    "500\u2013123\u2013456",  # en dash
    "500\u2014123\u2014456",  # em dash
    "500\u2212123\u2212456",  # minus sign
    "500\ufe63123\ufe63456",  # small hyphen-minus
    # invisible characters inside the number
    "500\u200b123\u200b456",  # zero-width space
    "5\u20600\u206001\u206023\u2060456",  # word joiner
    "500\u00ad123\u00ad456",  # soft hyphen
    # other separators
    "500\u00b7123\u00b7456",  # middle dot
    "500\u2022123\u2022456",  # bullet
    "500'123'456",
    # fullwidth and other scripts' digits
    "\uff15\uff10\uff10\uff11\uff12\uff13\uff14\uff15\uff16",
    "\uff0b\uff14\uff18 \uff15\uff10\uff10 \uff11\uff12\uff13 \uff14\uff15\uff16",
    "\u0665\u0660\u0660\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic
    "\u096b\u0966\u0966 \u0967\u0968\u0969 \u096a\u096b\u096c",  # Devanagari
    "\u2464\u24ea\u24ea \u2460\u2461\u2462 \u2463\u2464\u2465",  # circled digits
    # look-alike letters inside digit groups
    "5OO 123 456",
    "5oo 123 456",
    "500 l23 456",
    "500 I23 456",
    "500 |23 456",
    "5OO l2З 4S6",  # Latin O, l, Cyrillic Ze, Latin S
    "5\u041e\u041e 123 456",  # Cyrillic O
    "5\u039f\u039f 123 456",  # Greek Omicron
    "+48 5OO 1OO 2OO",
    "5OO-l23-456",
    "(22) l23-45-6B",
    "dzwonić 5OO 123 456 po 16",
    "500 OOO 456",  # a group of look-alikes between digit groups
    "\uff15\uff2f\uff2f \uff11\uff12\uff13 \uff14\uff15\uff16",  # fullwidth 5, fullwidth O
    # spaced out digit by digit (the first_letter leak)
    "5 0 1 2 3 4 5 6 7",
    "5\u20090\u20091\u20092\u20093\u20094\u20095\u20096\u20097",
    "5-0-1-2-3-4-5-6-7",
    "5 O 1 2 3 4 5 6 7",
    # what was caught before stays caught
    "Proszę dzwonić na 600 000 002 po 16",
    "tel500000001",
    "call +44 20 7946 0958",
]

PASSES = [
    # Polish names, with look-alike letters that are just letters
    "Łucja Żółkiewicz",
    "Grzegorz Brzęczyszczykiewicz",
    "Ola",
    "Zosia",
    "Iga Świątek",
    "Bożena Lis",
    "OSOBA",
    "Józef II",
    "SOS",
    "Ilona Oleksy",
    # addresses with house numbers
    "ul. Lipowa 5",
    "ul. Długa 12/34",
    "ul. Długa 12B/3",
    "Al. Jerozolimskie 123A/45, 02-017 Warszawa",
    "ul. Polna 1, m. 2, 00-001 Warszawa",
    "ul. Długa\u00a05 m.\u00a012, 80-827 Gdańsk",
    "os. Zielone 5b/12",
    "pl. Bohaterów Getta 10–12",
    "ul. Kościuszki 150\u2009/\u20092",
    # postal codes
    "00-950",
    "80\u2013827",
    "31-444 Kraków",
    # dates and times
    "2026-11-29 10:00",
    "15.01.2024 10:30",
    "12 III 2024",
    "01.III.1990",
    "3 XII 2023 r.",
    "29\u00a0listopada\u00a02026",
    "2024\u201301\u201315",
    "1O.O1.2O24",
    # short ids and amounts
    "KL-00012345",
    "C-1",
    "ID 12345",
    "B2B",
    "4G LTE",
    "1 500 zł",
    "Faktura FV 12/2024",
]


@pytest.mark.parametrize("value", CAUGHT)
def test_numbers_written_any_way_are_caught(value):
    assert contains_phone_number(value)


@pytest.mark.parametrize("value", PASSES)
def test_ordinary_values_pass(value):
    assert not contains_phone_number(value)


@pytest.mark.parametrize(
    ("value", "folded"),
    [
        ("5OO\u2009l23\u2009456", "500 123 456"),
        ("Ola 5", "Ola 5"),
        ("12 III 2024", "12 III 2024"),
        ("\uff15\uff10\uff10", "500"),
        ("Zosia 5OO", "Zosia 500"),
        ("tel5OO", "tel5OO"),  # touching a word: left alone
    ],
)
def test_fold(value, folded):
    assert fold_phone_text(value) == folded


def _policy(mode: FieldMode, mask: MaskRule = MaskRule.FIRST_LETTER) -> CampaignPolicy:
    rule = {"mode": mode.value, "mask": mask.value, "label": "Notatki"}
    return CampaignPolicy.model_validate({"fields": {"notes": rule}, "dispositions": [{"code": "a", "label": "A"}]})


@pytest.mark.parametrize("mask", list(MaskRule))
@pytest.mark.parametrize("value", ["5 0 1 2 3 4 5 6 7", "500\u2009123\u2009456", "5OO l23 456", "500123456"])
def test_masked_field_holding_a_number_is_masked_whole(value, mask):
    (view,) = apply_policy(_policy(FieldMode.MASKED, mask), {"notes": value})
    assert view.masked and view.label == "Notatki"
    assert not any(ch.isdigit() for ch in view.value)
    assert view.value not in (value, PHONE_MASK)


@pytest.mark.parametrize("value", CAUGHT[:8] + ["5OO l23 456"])
def test_visible_field_holding_a_number_is_masked_whole(value):
    (view,) = apply_policy(_policy(FieldMode.VISIBLE), {"notes": value})
    assert view.masked and not any(ch.isdigit() for ch in view.value)


@pytest.mark.parametrize("value", PASSES)
def test_ordinary_visible_values_go_out_untouched(value):
    (view,) = apply_policy(_policy(FieldMode.VISIBLE), {"notes": value})
    assert not view.masked and view.value == value


def test_ordinary_masked_values_keep_their_mask_rule():
    (view,) = apply_policy(_policy(FieldMode.MASKED, MaskRule.FIRST_LETTER), {"notes": "Łucja Żółkiewicz"})
    assert view.value == "Ł•••• Ż••••••••"
    (view,) = apply_policy(_policy(FieldMode.MASKED, MaskRule.LAST4), {"notes": "KL-00012345"})
    assert view.value.endswith("2345")
