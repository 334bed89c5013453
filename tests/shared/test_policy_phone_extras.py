"""Red-team regression: phone-like columns kept as ``extra:<slug>`` by the importer stay hidden."""

import pytest

from shared.policy import CampaignPolicy, apply_policy, is_phone_field

# What owner_server.lists.importing.mapping names a third phone column and phone-like headers it
# does not recognise ("Telefon 3", "Telefon domowy", "Nr tel. służbowy", "Tel. kom. 2").
EXTRA_PHONES = ["extra:telefon_3", "extra:telefon_domowy", "extra:nr_tel_sluzbowy", "extra:tel_kom_2", "extra:phone_3"]


@pytest.mark.parametrize("name", EXTRA_PHONES)
def test_extra_phone_columns_are_phone_fields(name):
    assert is_phone_field(name)


@pytest.mark.parametrize("name", ["first_name", "city", "extra:hotel", "extra:data_urodzenia", "notes"])
def test_ordinary_fields_are_not_phone_fields(name):
    assert not is_phone_field(name)


def test_policy_cannot_show_an_extra_phone_column():
    policy = CampaignPolicy.model_validate(
        {
            "fields": {"first_name": "visible", **{n: "visible" for n in EXTRA_PHONES}},
            "dispositions": [{"code": "sale", "label": "Sale"}],
        }
    )
    values = {"first_name": "Jan", **{n: "602100200" for n in EXTRA_PHONES}}
    views = apply_policy(policy, values)
    assert [v.name for v in views] == ["first_name"]
