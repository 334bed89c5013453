"""Which contacts exist yet: the one gate every reader of contacts goes through.

An import inserts its contacts in their working state (``new``) under its
import batch and publishes them all at once by marking the batch
``published`` (one row), not by updating each contact. Until then the batch's
contacts are *staged*: no agent is given one, and no report, lookup, export,
DNC match, erasure or canary sees one. A contact without a batch (a canary
cloned from no template, a contact made by a test) is visible.

Every query that reads contacts for anyone but the importer itself adds
:func:`is_visible`; the pick also bounds its new-contacts tier by
:func:`published_bound` so a running import's rows are never walked.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from owner_server.models import Contact, ImportBatch

__all__ = [
    "PUBLISHED",
    "STAGED",
    "hidden_batch_ids",
    "is_staged",
    "is_visible",
    "published_bound",
    "staged_counts",
]

#: ``ImportBatch.status`` of a batch whose contacts are visible.
PUBLISHED = "published"
#: How reports name the contacts of a batch not yet published.
STAGED = "staged"


def hidden_batch_ids(campaign_id: int | None = None) -> SelectOfScalar[int | None]:
    """The ids of import batches not published (running, failed, or being discarded).

    Args:
        campaign_id: Only this campaign's batches (None: every campaign's).

    Returns:
        A ``SELECT importbatch.id`` to use as a subquery; a handful of rows at most.
    """
    stmt = select(col(ImportBatch.id)).where(col(ImportBatch.status) != PUBLISHED)
    if campaign_id is not None:
        stmt = stmt.where(col(ImportBatch.campaign_id) == campaign_id)
    return stmt


def is_visible() -> ColumnElement[bool]:
    """``contact`` has no batch or a published one (one uncorrelated subquery, hashed by both databases)."""
    return or_(col(Contact.batch_id).is_(None), col(Contact.batch_id).not_in(hidden_batch_ids()))


def is_staged() -> ColumnElement[bool]:
    """The negation of :func:`is_visible`: ``contact`` belongs to a batch not published."""
    return col(Contact.batch_id).in_(hidden_batch_ids())


def published_bound(campaign_id: int | BindParameter[Any]) -> ColumnElement[int]:
    """The campaign's highest published batch id, 0 when none: a scalar subquery.

    Batch ids grow and a campaign runs one import at a time, so every row
    above this bound is staged; the pick's new-contacts index
    ``(campaign_id, pick_batch, pick_key)`` is read up to it only.
    """
    top = select(func.max(ImportBatch.id)).where(
        col(ImportBatch.campaign_id) == campaign_id, col(ImportBatch.status) == PUBLISHED
    )
    return func.coalesce(top.scalar_subquery(), 0)


def staged_counts(session: Session, campaign_ids: list[int]) -> Counter[tuple[int, str]]:
    """Staged contacts per (campaign, state), canaries left out.

    Read on ``ix_contact_batch_state`` for the campaigns' unpublished batches
    only, so a published campaign of any size costs one probe.

    Returns:
        ``(campaign_id, state value) → count``; states are ``new`` and, for a
        number put on the DNC list during the import, ``suppressed``.
    """
    counts: Counter[tuple[int, str]] = Counter()
    if not campaign_ids:
        return counts
    hidden = select(ImportBatch.id).where(
        col(ImportBatch.status) != PUBLISHED, col(ImportBatch.campaign_id).in_(campaign_ids)
    )
    grouped = (col(Contact.campaign_id), col(Contact.state))
    stmt = (
        select(*grouped, func.count())
        .where(col(Contact.batch_id).in_(hidden), col(Contact.is_canary).is_(False))
        .group_by(*grouped)
    )
    for cid, state, n in session.exec(stmt).all():
        counts[(int(cid), str(getattr(state, "value", state)))] += int(n)
    return counts
