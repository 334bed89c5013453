"""What an agent would see of a record under a policy, shown on a synthetic sample (never a customer's data).

The sample is made from the policy's field names with the demo generator
(:mod:`owner_server.demo.sample`, Faker ``pl_PL``), a synthetic PESEL and
Faker text for any other field; it always has a phone, so the preview shows
that the phone never reaches the agent. The record is then built by
:func:`owner_server.work.record_view.record_view`, the function ``/next``
uses, so the preview is exactly what an agent is sent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from faker import Faker

from owner_server.demo.sample import DEFAULT_SEED, generate_contacts
from owner_server.models._common import utcnow
from owner_server.work.record_view import after_answer_fields, record_view
from shared.limits import LIMITS
from shared.policy import CampaignPolicy, FieldMode, is_phone_field
from shared.protocol import FieldView, RecordView

__all__ = ["MAX_SAMPLE", "AgentPreview", "preview_record", "sample_values"]

#: Samples the preview can step through (``sample`` 0 to MAX_SAMPLE - 1).
MAX_SAMPLE = 50
#: Where the demo generator's columns go (canonical field name → demo column).
_DEMO_COLUMNS = {
    "first_name": "Imię",
    "last_name": "Nazwisko",
    "email": "E-mail",
    "city": "Miasto",
    "address": "Adres",
    "postal_code": "Kod pocztowy",
    "customer_id": "Nr klienta",
}
_PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)


@cache
def _faker() -> Faker:
    return Faker("pl_PL")


def _pesel(rng: random.Random, *, female: bool) -> str:
    """A well-formed synthetic PESEL (birth date, serial, sex digit, check digit)."""
    year, month, day = rng.randrange(1950, 2000), rng.randrange(1, 13), rng.randrange(1, 29)
    sex = rng.randrange(0, 10, 2) + (0 if female else 1)
    head = f"{year % 100:02d}{month:02d}{day:02d}{rng.randrange(1000):03d}{sex}"
    check = (10 - sum(int(d) * w for d, w in zip(head, _PESEL_WEIGHTS, strict=True)) % 10) % 10
    return head + str(check)


def sample_values(names: list[str], *, sample: int = 0) -> dict[str, str]:
    """A synthetic contact with a value for each name (and a phone), the same for the same ``sample``.

    Args:
        names: Field names of the policy.
        sample: Which sample (0 to :data:`MAX_SAMPLE` - 1; others wrap).

    Returns:
        Field name → synthetic value; ``phone`` always set.
    """
    index = sample % MAX_SAMPLE
    row = list(generate_contacts(index + 1, seed=DEFAULT_SEED))[-1]
    rng = random.Random(DEFAULT_SEED + index)  # noqa: S311 - synthetic sample, not a secret
    fake = _faker()
    values = {"phone": row["Telefon"]}
    for position, name in enumerate(names):
        if name in _DEMO_COLUMNS:
            values[name] = row[_DEMO_COLUMNS[name]]
        elif is_phone_field(name):
            values[name] = row["Telefon"]
        elif name == "full_name":
            values[name] = f"{row['Imię']} {row['Nazwisko']}"
        elif name == "pesel":
            values[name] = _pesel(rng, female=row["Imię"].endswith("a"))
        else:
            fake.seed_instance(DEFAULT_SEED + index * 1000 + position)
            values[name] = fake.sentence(nb_words=4).rstrip(".")
    return values


@dataclass(frozen=True, slots=True)
class AgentPreview:
    """A policy applied to a sample record.

    Attributes:
        record: What ``/next`` sends the agent.
        after_answer: What a call adds while it is answered.
        not_sent: Names (never values) of the sample's fields the agent is
            never sent: hidden ones and phones.
        sample: Which sample record this is.
    """

    record: RecordView
    after_answer: tuple[FieldView, ...]
    not_sent: tuple[str, ...]
    sample: int


def preview_record(policy: CampaignPolicy, *, campaign: str, sample: int = 0) -> AgentPreview:
    """Build what an agent would see under ``policy`` for a synthetic sample record.

    Args:
        policy: The policy (saved or not yet).
        campaign: The campaign's name (shown on the record).
        sample: Which sample record.

    Returns:
        The preview.
    """
    names = list(policy.fields)
    values = sample_values(names, sample=sample)
    now = utcnow()
    record = record_view(
        policy,
        values,
        lease_id="preview",
        contact_ref="preview",
        campaign=campaign,
        issued_at=now,
        expires_at=now + timedelta(seconds=LIMITS.lease_ttl_s),
    )
    not_sent = tuple(n for n in values if policy.rule_for(n).mode is FieldMode.HIDDEN)
    return AgentPreview(record, after_answer_fields(policy, values), not_sent, sample % MAX_SAMPLE)
