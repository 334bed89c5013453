"""The canonical contact field names the importer, the policy and exports share.

An imported column maps to one of :data:`CONTACT_FIELDS` or is kept as an
extra field named ``extra:<slug of its header>``.
"""

from __future__ import annotations

__all__ = ["CONTACT_FIELDS", "EXTRA_PREFIX", "MAPPABLE_FIELDS", "MAX_PHONES", "PHONE_FIELDS"]

#: Most phone numbers a contact keeps (``phone``, ``phone2`` ... ``phone9``).
MAX_PHONES = 9
#: The phone slots in dialling order: slot 1 is ``phone`` (deduplicated, blind-indexed), then ``phone2`` ...
PHONE_FIELDS = ("phone", *(f"phone{n}" for n in range(2, MAX_PHONES + 1)))

#: Every known field, in the order exports and reports show them.
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "phone",
    "phone_ext",
    *PHONE_FIELDS[1:],
    "email",
    "city",
    "address",
    "postal_code",
    "pesel",
    "customer_id",
    "notes",
)
#: Fields a column can be mapped to (the extension comes out of the phone cell).
MAPPABLE_FIELDS = tuple(name for name in CONTACT_FIELDS if name != "phone_ext")
#: Prefix of fields kept from columns no known field matched.
EXTRA_PREFIX = "extra:"
