"""Canary contacts: synthetic entries with the owner's trap numbers, so a leaked list points at who saw it.

A canary is stored exactly as an imported contact is (per-field AES-256-GCM
under the campaign's data key with the contact ref and field name bound in,
the phone's keyed blind index, a random ``pick_key``, state ``new``) and is
issued like any other; only ``Contact.is_canary`` tells it apart, and that
column never reaches the wire. Its trap number rings at the owner, so a third
party calling it shows the list leaked, and the issuance audit names every
agent who was shown that entry.

How a canary is made to look like the campaign's real contacts:
    * A random sample of the campaign's live real contacts (up to
      :data:`TEMPLATE_SAMPLE`, drawn by ``pick_key``) is decrypted in memory.
      Each canary copies the *field names* of one of them, so the mix of filled
      and empty fields is the real one; with no real contact yet, the
      policy's field names are used.
    * Names, e-mail, city, address and postal code come from the demo
      generator (:mod:`owner_server.demo.sample`, Faker ``pl_PL``) under a
      fresh random seed; ``full_name`` is the generated first and last name;
      ``pesel`` is a well-formed synthetic PESEL (date, serial, sex digit and
      check digit); ``customer_id`` keeps the shape of a real one with its
      last digits redrawn.
    * Any other field (``notes``, ``extra:*``) takes the value of that field
      from a random sampled real contact, every run of five or more digits
      redrawn (so no real identifier is copied; short values such as
      categories and dates stay as they are).
    * The ref carries the import time of a real contact (see
      :func:`owner_server.lists.import_workers.new_ref`: the first 48 bits are
      a millisecond time) with fresh random bits, so its ref does not date it.

Nothing is written unless every trap number is valid, none is on the DNC
list (a canary on it would never be issued) and none is a real contact's of
the campaign. The addition is audited ``canary_added`` with the count only.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.core.db import session_scope
from owner_server.demo.sample import COLUMNS, generate_contacts
from owner_server.identity.admin import get_campaign
from owner_server.lists.import_workers import contact_values, new_ref
from owner_server.lists.importing.mapping import map_columns
from owner_server.lists.importing.normalise import NormalisedRow, RejectedRow
from owner_server.lists.importing.phones import PhoneOk
from owner_server.lists.visibility import is_visible
from owner_server.models import Campaign, Contact, ContactState, Suppression
from owner_server.models.contacts import new_pick_key
from owner_server.vault.keys import KeyService
from shared.errors import ConflictError, ValidationError
from shared.policy import CampaignPolicy, is_phone_field

__all__ = ["MAX_CANARIES", "TEMPLATE_SAMPLE", "CanaryReport", "add_canaries", "trap_numbers"]

#: Most canaries one ``canary add`` makes.
MAX_CANARIES = 10_000
#: Real contacts sampled (decrypted in memory) as templates.
TEMPLATE_SAMPLE = 200

_RNG = secrets.SystemRandom()
_LONG_DIGITS = re.compile(r"\d{5,}")
_DIGITS = re.compile(r"\d+")
_GENERATED = {field: COLUMNS[i] for i, field in map_columns(COLUMNS).fields.items() if field != "customer_id"}
_PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
_REFUSED_SHOWN = 10


@dataclass(frozen=True, slots=True)
class CanaryReport:
    """What ``canary add`` did (no numbers).

    Attributes:
        campaign: The campaign's name.
        added: Canaries written.
        trap_numbers: Distinct trap numbers they use.
        refs: The canaries' contact refs (for ``lookup --contact``).
    """

    campaign: str
    added: int
    trap_numbers: int
    refs: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "campaign": self.campaign,
            "added": self.added,
            "trap_numbers": self.trap_numbers,
            "refs": list(self.refs),
        }


@dataclass(frozen=True, slots=True)
class _Template:
    ref: str
    values: dict[str, str]
    pick_batch: int


def trap_numbers(rows: Iterable[NormalisedRow | RejectedRow]) -> list[tuple[int, PhoneOk]]:
    """The distinct trap numbers of a phone file, in file order, each with its record number.

    Args:
        rows: Rows from :func:`owner_server.lists.importing.pipeline.phone_rows`
            (a second phone column is ignored).

    Returns:
        ``(record_no, phone)`` pairs, first occurrence of each number.

    Raises:
        ValidationError: A record is not a usable phone number, or there is none.
    """
    seen: dict[PhoneOk, int] = {}
    for row in rows:
        if isinstance(row, RejectedRow):
            raise ValidationError(f"record {row.record_no}: {row.reason}")
        seen.setdefault(row.phone, row.record_no)
    if not seen:
        raise ValidationError("the file holds no phone number")
    return [(record_no, phone) for phone, record_no in seen.items()]


def add_canaries(
    engine: Engine,
    *,
    keys: KeyService,
    campaign_name: str,
    phones: Iterable[NormalisedRow | RejectedRow],
    actor: str,
    count: int | None = None,
) -> CanaryReport:
    """Seed a campaign with canary contacts carrying the owner's trap numbers, in one transaction.

    Args:
        engine: Database engine.
        keys: Key service (the campaign's data key, the blind-index key).
        campaign_name: The campaign.
        phones: The trap numbers, as :func:`owner_server.lists.importing.pipeline.phone_rows` reads them.
        actor: Who adds them, for the audit log.
        count: Canaries to add (1 to :data:`MAX_CANARIES`); trap numbers are
            used round-robin. None for one per distinct number.

    Returns:
        The report.

    Raises:
        ValidationError: A bad number or count, a trap number on the DNC list
            or belonging to a real contact of the campaign (nothing written).
        NotFoundError: Unknown campaign.
        ConflictError: The campaign is erased.
    """
    traps = trap_numbers(phones)
    total = len(traps) if count is None else count
    if not 1 <= total <= MAX_CANARIES:
        raise ValidationError(f"the count must be between 1 and {MAX_CANARIES}")
    with session_scope(engine) as session:
        campaign = get_campaign(session, name=campaign_name)
        if campaign.erased_at is not None or campaign.id is None:
            raise ConflictError(f"campaign '{campaign_name}' is erased")
        key = keys.campaign_key(session, campaign_id=campaign.id)
        phone_index = keys.indexer(session).phone
        bidxs = [phone_index(phone.e164) for _, phone in traps]
        _refuse_listed(session, campaign_id=campaign.id, traps=traps, bidxs=bidxs)
        templates = _templates(session, keys=keys, campaign_id=campaign.id)
        names = _policy_names(campaign)
        rows: list[tuple[str, NormalisedRow]] = []
        orders: list[int] = []  # each canary is issued among its template's batch, like the real contact
        for i, demo in zip(range(total), _demo_rows(total), strict=True):
            template = _RNG.choice(templates) if templates else None
            ref = (template.ref[:12] if template else new_ref()[:12]) + os.urandom(10).hex()
            fields = _fields(template.values if template else dict.fromkeys(names, ""), demo, templates)
            rows.append((ref, NormalisedRow(0, fields, traps[i % len(traps)][1])))
            orders.append(template.pick_batch if template else 0)
        payloads = key.cipher.encrypt_many([(ref, contact_values(row)) for ref, row in rows])
        contacts = [
            Contact(
                ref=ref,
                campaign_id=campaign.id,
                data_key_id=key.data_key_id,
                payload=payload,
                phone_bidx=bidxs[i % len(traps)],
                state=ContactState.NEW,
                pick_key=new_pick_key(),
                pick_batch=orders[i],
                is_canary=True,
            )
            for i, ((ref, _), payload) in enumerate(zip(rows, payloads, strict=True))
        ]
        session.add_all(contacts)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="canary_added",
            object_type="campaign",
            object_id=str(campaign.id),
            details={"count": total},
        )
        return CanaryReport(campaign.name, total, len(traps), tuple(ref for ref, _ in rows))


def _refuse_listed(
    session: Session, *, campaign_id: int, traps: Sequence[tuple[int, PhoneOk]], bidxs: list[bytes]
) -> None:
    """Refuse trap numbers on the DNC list or held by a real contact of the campaign (record numbers only)."""
    listed = set(session.exec(select(Suppression.phone_bidx).where(col(Suppression.phone_bidx).in_(bidxs))).all())
    real = set(
        session.exec(
            select(Contact.phone_bidx).where(
                Contact.campaign_id == campaign_id,
                col(Contact.is_canary).is_(False),
                col(Contact.state) != ContactState.ERASED,
                is_visible(),
                col(Contact.phone_bidx).in_(bidxs),
            )
        ).all()
    )
    for found, why in (
        (listed, "on the do-not-call list, so a canary with it would never be issued; remove it from the file"),
        (real, "a real contact's number in this campaign, not a trap number; remove it from the file"),
    ):
        records = [str(record_no) for (record_no, _), bidx in zip(traps, bidxs, strict=True) if bidx in found]
        if records:
            shown = ", ".join(records[:_REFUSED_SHOWN]) + (" ..." if len(records) > _REFUSED_SHOWN else "")
            plural = "s" if len(records) > 1 else ""
            raise ValidationError(f"record{plural} {shown}: the number is {why}")


def _templates(session: Session, *, keys: KeyService, campaign_id: int) -> list[_Template]:
    """A random sample of the campaign's live real contacts, decrypted (in memory only)."""
    live_real = (
        Contact.campaign_id == campaign_id,
        col(Contact.is_canary).is_(False),
        col(Contact.state) != ContactState.ERASED,
        is_visible(),
    )
    sample = session.exec(
        select(Contact)
        .where(*live_real, col(Contact.pick_key) >= _RNG.randrange(2**31 - 1))
        .order_by(col(Contact.pick_key))
        .limit(TEMPLATE_SAMPLE)
    ).all()
    if len(sample) < TEMPLATE_SAMPLE:  # wrapped past the largest pick_key: take the smallest too
        more = session.exec(
            select(Contact)
            .where(*live_real, col(Contact.id).not_in([c.id for c in sample]))
            .order_by(col(Contact.pick_key))
            .limit(TEMPLATE_SAMPLE - len(sample))
        ).all()
        sample = [*sample, *more]
    return [
        _Template(
            c.ref, keys.cipher_for(session, data_key_id=c.data_key_id).decrypt_fields(c.ref, c.payload), c.pick_batch
        )
        for c in sample
    ]


def _policy_names(campaign: Campaign) -> list[str]:
    policy = CampaignPolicy.model_validate_json(campaign.policy_json)
    return [name for name in policy.fields if not is_phone_field(name)]


def _demo_rows(count: int) -> Iterator[dict[str, str]]:
    """Generated rows keyed by canonical field name, under a fresh random seed."""
    for row in generate_contacts(count, seed=secrets.randbits(62)):
        yield {field: row[column] for field, column in _GENERATED.items()}


def _fields(shape: dict[str, str], demo: dict[str, str], templates: Sequence[_Template]) -> dict[str, str]:
    """A canary's stored fields (phones apart): the template's names, synthetic values."""
    fields: dict[str, str] = {}
    for name, value in shape.items():
        if is_phone_field(name):
            continue  # the trap number is the phone; a second phone or extension would be a real one's
        made = _value(name, value, demo, templates)
        if made:
            fields[name] = made
    return fields


def _value(name: str, shape: str, demo: dict[str, str], templates: Sequence[_Template]) -> str:
    if name in demo:
        return demo[name]
    if name == "full_name":
        return f"{demo['first_name']} {demo['last_name']}"
    if name == "pesel":
        return _pesel(female=demo["first_name"].endswith("a"))
    if name == "customer_id":
        return _customer_id(shape)
    donors = [t.values[name] for t in templates if t.values.get(name)]
    if not donors:
        return ""
    return _LONG_DIGITS.sub(lambda m: _digits(len(m.group(0))), _RNG.choice(donors))


def _digits(n: int) -> str:
    return "".join(str(_RNG.randrange(10)) for _ in range(n))


def _customer_id(shape: str) -> str:
    """A real customer id's shape with the last half of its last digit run redrawn (at least one digit)."""
    runs = list(_DIGITS.finditer(shape))
    if not runs:
        return f"KL-{_RNG.randrange(10**7, 10**8):08d}"
    last = runs[-1]
    keep = len(last.group(0)) // 2
    return shape[: last.start() + keep] + _digits(len(last.group(0)) - keep) + shape[last.end() :]


def _pesel(*, female: bool) -> str:
    """A well-formed synthetic PESEL: birth date 1950-2005, random serial, sex digit, check digit."""
    born = date(1950, 1, 1) + timedelta(days=_RNG.randrange((date(2005, 12, 31) - date(1950, 1, 1)).days))
    month = born.month + (20 if born.year >= 2000 else 0)
    sex = _RNG.randrange(0, 10, 2) + (0 if female else 1)
    head = f"{born.year % 100:02d}{month:02d}{born.day:02d}{_RNG.randrange(1000):03d}{sex}"
    check = (10 - sum(int(d) * w for d, w in zip(head, _PESEL_WEIGHTS, strict=True)) % 10) % 10
    return head + str(check)
