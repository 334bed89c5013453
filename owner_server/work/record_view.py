"""What an agent is shown of one record: the one function the agent API and the console's preview share.

:func:`record_view` turns a contact's clear values into the wire
:class:`~shared.protocol.RecordView` under the campaign policy
(:func:`shared.policy.apply_policy`, :func:`shared.policy.verify_fields`);
:func:`after_answer_fields` gives what a call adds while it is answered.
Nothing here does IO: callers decrypt, these functions filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.policy import PHONE_MASK, CampaignPolicy, FieldMode, apply_policy, verify_fields
from shared.protocol import FieldView, RecordView

__all__ = ["after_answer_fields", "after_answer_names", "callback_code", "record_view"]


def callback_code(policy: CampaignPolicy) -> str | None:
    """The campaign's callback code, if it offers that outcome (the client then asks for a time)."""
    code = policy.strategy.callback_code
    return code if code in policy.disposition_codes() else None


def record_view(
    policy: CampaignPolicy,
    values: Mapping[str, str],
    *,
    lease_id: str,
    contact_ref: str,
    campaign: str,
    issued_at: datetime,
    expires_at: datetime,
    attempts: int = 0,
    watermark_code: str | None = None,
) -> RecordView:
    """The record as the agent receives it from ``/next``.

    Args:
        policy: The campaign policy in force.
        values: The contact's clear values by field name (never sent as is).
        lease_id: The lease's id.
        contact_ref: The pseudonym of the contact the agent sees.
        campaign: The campaign's name.
        issued_at: When the lease began (UTC).
        expires_at: When it ends (UTC).
        attempts: Outcomes the contact had before this lease.
        watermark_code: The signed watermark token of this issuance (base64), if any
            (:mod:`owner_server.audit.watermark`).

    Returns:
        Visible fields in clear, masked fields masked, the names of the
        ``verify_only`` fields, the count of ``after_answer`` fields; hidden
        fields and phones absent (the phone is only :data:`~shared.policy.PHONE_MASK`).
    """
    return RecordView(
        lease_id=lease_id,
        contact_ref=contact_ref,
        campaign=campaign,
        script=policy.script,
        fields=apply_policy(policy, values),
        phone_mask=PHONE_MASK,
        dispositions=policy.disposition_options(),
        issued_at=issued_at,
        expires_at=expires_at,
        verify_fields=verify_fields(policy, values),
        after_answer_fields=sum(
            1 for name, value in values.items() if value and policy.rule_for(name).mode is FieldMode.AFTER_ANSWER
        ),
        timezone=policy.timezone,
        attempts=attempts,
        callback_code=callback_code(policy),
        watermark_code=watermark_code,
    )


def after_answer_names(policy: CampaignPolicy) -> list[str]:
    """The policy's ``after_answer`` fields, in policy order (phones never: they are hidden)."""
    return [name for name in policy.fields if policy.rule_for(name).mode is FieldMode.AFTER_ANSWER]


def after_answer_fields(policy: CampaignPolicy, values: Mapping[str, str]) -> tuple[FieldView, ...]:
    """The fields a call adds to the record while the customer's leg is answered (empty when none)."""
    names = after_answer_names(policy)
    return apply_policy(policy, values, names, answered=True) if names else ()
