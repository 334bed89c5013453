import pytest
from pydantic import ValidationError

from shared.policy import PHONE_MASK, CampaignPolicy, FieldMode, MaskRule, apply_policy, mask_value

POLICY = CampaignPolicy.model_validate(
    {
        "fields": {
            "first_name": "visible",
            "last_name": {"mode": "masked", "mask": "first_letter"},
            "customer_id": {"mode": "masked", "mask": "last4"},
            "address": "hidden",
            "phone": "visible",  # an owner mistake: phones stay hidden anyway
            "phone2": "visible",
        },
        "dispositions": [{"code": "sale", "label": "Sale"}],
    }
)
VALUES = {
    "first_name": "Łucja",
    "last_name": "Żółkiewicz-Ćwik",
    "customer_id": "KL-00012345",
    "address": "ul. Polna 1",
    "phone": "+48500000001",
    "phone2": "+48600000002",
    "pesel": "90010112345",
}


def test_only_visible_and_masked_fields_leave():
    views = {v.name: v for v in apply_policy(POLICY, VALUES)}
    assert set(views) == {"first_name", "last_name", "customer_id"}
    assert views["first_name"].value == "Łucja" and not views["first_name"].masked
    assert views["last_name"].masked and "ółkiewicz" not in views["last_name"].value
    assert views["customer_id"].value.endswith("2345") and "KL-0001" not in views["customer_id"].value


def test_unlisted_fields_are_hidden_by_default():
    assert all(v.name != "pesel" for v in apply_policy(POLICY, VALUES, order=VALUES))


@pytest.mark.parametrize("name", ["phone", "phone2", "phone_ext", "telefon", "mobile"])
def test_phone_fields_are_always_hidden(name):
    assert POLICY.rule_for(name).mode is FieldMode.HIDDEN


def test_phone_mask_has_no_digit():
    assert not any(ch.isdigit() for ch in PHONE_MASK)


@pytest.mark.parametrize(
    ("value", "rule", "expected"),
    [
        ("Anna Maria", MaskRule.FIRST_LETTER, "A••• M••••"),
        ("KL-00012345", MaskRule.LAST4, "•••••••2345"),
        ("abc", MaskRule.LAST4, "••••"),
        ("secret", MaskRule.FULL, "••••••"),
    ],
)
def test_mask_rules(value, rule, expected):
    assert mask_value(value, rule) == expected


def test_policy_rejects_duplicate_codes_and_unknown_keys():
    with pytest.raises(ValidationError):
        CampaignPolicy.model_validate({"dispositions": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]})
    with pytest.raises(ValidationError):
        CampaignPolicy.model_validate({"dispositions": [{"code": "a", "label": "A"}], "export": True})


@pytest.mark.parametrize(
    ("value", "hidden"),
    [
        ("Proszę dzwonić na 600 000 002 po 16", True),
        ("tel. +48 22 000 00 04", True),
        ("call +44 20 7946 0958", True),
        ("KL-00012345", False),
        ("ul. Polna 1, m. 2, 00-001 Warszawa", False),
        ("Łódź", False),
        ("tel500000001", True),
        ("Anna500000001", True),
        ("500_000_001", True),
        ("500000001x", True),
        ("2026-11-29 10:00", False),
    ],
)
def test_visible_value_holding_a_phone_number_is_masked(value, hidden):
    policy = CampaignPolicy.model_validate(
        {"fields": {"notes": "visible"}, "dispositions": [{"code": "a", "label": "A"}]}
    )
    (view,) = apply_policy(policy, {"notes": value})
    assert view.masked is hidden
    assert (view.value == value) is not hidden


def test_the_demo_policy_spells_out_the_containment_defaults():
    import tomllib
    from pathlib import Path

    demo = Path(__file__).parents[2] / "owner_server" / "demo" / "policy.toml"
    spelled = CampaignPolicy.model_validate(tomllib.loads(demo.read_text(encoding="utf-8")))
    bare = CampaignPolicy.model_validate({"dispositions": [{"code": "a", "label": "A"}]})
    assert (spelled.timezone, spelled.limits, spelled.rules) == (bare.timezone, bare.limits, bare.rules)
