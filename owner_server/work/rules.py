"""Anomaly rules, evaluated in the request they concern (DESIGN.md, containment).

Each check is one or two indexed queries in the request's own transaction.
A rule whose action is ``alert`` raises an alert (once per quiet period) and
lets the request go on; a rule whose action is ``suspend`` alerts, suspends
the agent (open lease closed, every token revoked, audited) and ends the
request with ``account_suspended`` — the transaction still commits, so
nothing a client does can undo it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from statistics import median_low

from sqlalchemy import Select, bindparam, func, select, text
from sqlmodel import Session, col

from owner_server.audit import log as audit
from owner_server.audit.alerts import raise_alert
from owner_server.core.deferred import DeferredError
from owner_server.identity.outsourcers import shift_of
from owner_server.models import DisplayEventRow, Disposition, Lease, User
from owner_server.work import claim_sql
from owner_server.work.context import AgentContext
from owner_server.work.limits import HOUR, IssueCounts
from owner_server.work.suspension import suspend_agent
from shared.containment import RuleAction, RuleName, within_hours
from shared.errors import ErrorCode, ForbiddenError
from shared.protocol import BlockedAction, DisplayEventKind

__all__ = ["EVENT_RULE_KINDS", "SUSPENDED_MESSAGE", "check_before_issue", "check_events", "check_outcome", "trip"]

SUSPENDED_MESSAGE = "account suspended"
_ACTOR = "system:rules"
#: The event kinds that can trip an event rule (a display can fill the focus-loss window); others skip the rules.
EVENT_RULE_KINDS = frozenset(
    {DisplayEventKind.ACTION_BLOCKED, DisplayEventKind.FOCUS_LOST, DisplayEventKind.RECORD_DISPLAYED}
)
_CAPTURE_LIKE = frozenset({BlockedAction.COPY, BlockedAction.CUT, BlockedAction.PRINT, BlockedAction.CAPTURE})


def trip(
    session: Session,
    *,
    ctx: AgentContext,
    rule: RuleName,
    action: RuleAction,
    figures: Mapping[str, audit.Detail],
    now: datetime,
    quiet_for: timedelta = HOUR,
) -> None:
    """Act on a tripped rule.

    Args:
        session: The request's transaction.
        ctx: The agent's context.
        rule: The rule that tripped.
        action: Its configured action.
        figures: What it saw and its thresholds (no personal data).
        now: The request's time.
        quiet_for: An ``alert`` rule raises at most one alert per agent in this long.

    Raises:
        DeferredError: Carrying ``account_suspended`` when the action is ``suspend``
            (the suspension commits with the request).
    """
    user = session.get(User, ctx.user_id)  # the cold path: the alert and the suspension name the agent's row
    assert user is not None
    if action is RuleAction.ALERT:
        raise_alert(
            session,
            rule=rule,
            action=action,
            user=user,
            figures=figures,
            campaign_id=ctx.campaign_id,
            quiet_for=quiet_for,
            now=now,
        )
        return
    raise_alert(session, rule=rule, action=action, user=user, figures=figures, campaign_id=ctx.campaign_id, now=now)
    suspend_agent(session, user=user, reason=rule.value, actor=_ACTOR, figures=figures, now=now)
    raise DeferredError(ForbiddenError(SUSPENDED_MESSAGE, code=ErrorCode.ACCOUNT_SUSPENDED))


def _shift_allows(ctx: AgentContext, local: datetime) -> bool:
    shift = shift_of(ctx.outsourcer)
    return shift is None or within_hours(local, *shift)


def check_before_issue(session: Session, *, ctx: AgentContext, counts: IssueCounts, now: datetime) -> None:
    """Velocity and working hours, before a new record is issued.

    Args:
        session: The issuing transaction.
        ctx: The agent's context.
        counts: The agent's issuances (``counts.window`` over the velocity window).
        now: The request's time.

    Raises:
        DeferredError: ``account_suspended`` when a ``suspend`` rule tripped;
            nothing is issued then.
    """
    rules = ctx.policy.rules
    velocity = rules.velocity
    if velocity.enabled and counts.window + 1 > velocity.max_records:
        trip(
            session,
            ctx=ctx,
            rule=RuleName.VELOCITY,
            action=velocity.action,
            figures={
                "records": counts.window + 1,
                "max_records": velocity.max_records,
                "window_minutes": velocity.window_minutes,
            },
            now=now,
            quiet_for=timedelta(minutes=velocity.window_minutes),
        )
    hours = rules.hours
    local = now.astimezone(ctx.zone)
    if hours.enabled and not (hours.allows(local) and _shift_allows(ctx, local)):
        figures: dict[str, audit.Detail] = {
            "local_time": local.strftime("%a %H:%M"),
            "hours": f"{hours.start:%H:%M}-{hours.end:%H:%M}",
        }
        if ctx.outsourcer is not None and ctx.outsourcer.shift_start:
            figures["shift"] = f"{ctx.outsourcer.shift_start}-{ctx.outsourcer.shift_end}"
        trip(session, ctx=ctx, rule=RuleName.OUTSIDE_HOURS, action=hours.action, figures=figures, now=now)


def check_outcome(session: Session, *, ctx: AgentContext, handled_s: float, now: datetime) -> None:
    """Too short to be a call: the (low) median issuance-to-outcome time of the agent's last outcomes.

    The low median (an actual value: the lower middle one) is under the
    threshold exactly when enough of the values are, so an outcome that took
    at least the threshold cannot make it trip: then nothing is read.

    Args:
        session: The outcome's transaction.
        ctx: The agent's context.
        handled_s: This outcome's time from issuance, in seconds.
        now: The request's time.

    Raises:
        DeferredError: ``account_suspended`` when the rule suspends.
    """
    rule = ctx.policy.rules.short_handling
    if not rule.enabled or handled_s >= rule.min_median_s:
        return
    rows = claim_sql.run(session, _last_outcomes(rule.records), {"b_user_id": ctx.user_id}).all()
    if len(rows) < rule.records:
        return
    handled = median_low((done - issued).total_seconds() for issued, done in rows)
    if handled < rule.min_median_s:
        figures: dict[str, audit.Detail] = {
            "median_s": round(handled, 1),
            "records": rule.records,
            "min_median_s": rule.min_median_s,
        }
        trip(session, ctx=ctx, rule=RuleName.SHORT_HANDLING, action=rule.action, figures=figures, now=now)


@cache
def _last_outcomes(records: int) -> Select[datetime, datetime]:
    """The agent's last ``records`` outcomes, newest first: (issued, outcome) times (built once per count)."""
    stmt = (
        select(col(Lease.issued_at), col(Disposition.created_at))
        .join(Lease, col(Lease.id) == col(Disposition.lease_id))
        .where(col(Disposition.user_id) == bindparam("b_user_id"))
        .order_by(col(Disposition.created_at).desc())
        .limit(records)
    )
    return stmt


_BLOCKED_LAST_HOUR = select(func.count()).where(
    col(DisplayEventRow.user_id) == bindparam("b_user_id"),
    col(DisplayEventRow.kind) == DisplayEventKind.ACTION_BLOCKED.value,
    col(DisplayEventRow.received_at) > bindparam("b_since"),
    col(DisplayEventRow.detail).in_(sorted(a.value for a in _CAPTURE_LIKE)),
)


def _blocked_last_hour(session: Session, *, user_id: int, now: datetime) -> int:
    params = {"b_user_id": user_id, "b_since": now - HOUR}
    return int(claim_sql.run(session, _BLOCKED_LAST_HOUR, params).scalar_one())


_FOCUS_SHARE = text(
    """
    SELECT count(*), coalesce(sum(CASE WHEN EXISTS (
               SELECT 1 FROM display_event AS lost
               WHERE lost.user_id = :user_id AND lost.kind = :lost_kind AND lost.lease_id = recent.lease_id
           ) THEN 1 ELSE 0 END), 0)
    FROM (SELECT lease_id FROM display_event
          WHERE user_id = :user_id AND kind = :shown_kind
          ORDER BY received_at DESC LIMIT :displays) AS recent
    """
)


def _focus_share(session: Session, *, user_id: int, displays: int) -> tuple[int, int]:
    """Of the agent's last ``displays`` displayed leases, how many saw focus lost: (seen, with focus lost).

    One fixed statement (no per-call SQL building on a path every display
    takes): the last displays by index ``(user_id, kind, received_at)``, and for
    each whether a ``focus_lost`` event of that lease exists (index on ``lease_id``).
    """
    params = {
        "user_id": user_id,
        "displays": displays,
        "lost_kind": DisplayEventKind.FOCUS_LOST.value,
        "shown_kind": DisplayEventKind.RECORD_DISPLAYED.value,
    }
    seen, lost = claim_sql.run(session, _FOCUS_SHARE, params).one()
    return int(seen), int(lost)


def check_events(session: Session, *, ctx: AgentContext, kinds: frozenset[DisplayEventKind], now: datetime) -> None:
    """Blocked copy/print/capture attempts per hour, and focus lost during most displays.

    Only the rules a batch can change are evaluated (``kinds``: the kinds it stored).

    Raises:
        DeferredError: ``account_suspended`` when a rule is set to suspend.
    """
    rules = ctx.policy.rules
    blocked = rules.blocked_actions
    if blocked.enabled and DisplayEventKind.ACTION_BLOCKED in kinds:
        count = _blocked_last_hour(session, user_id=ctx.user_id, now=now)
        if count > blocked.max_per_hour:
            trip(
                session,
                ctx=ctx,
                rule=RuleName.BLOCKED_ACTIONS,
                action=blocked.action,
                figures={"blocked_last_hour": count, "max_per_hour": blocked.max_per_hour},
                now=now,
            )
    focus = rules.focus_loss
    if focus.enabled and kinds & {DisplayEventKind.FOCUS_LOST, DisplayEventKind.RECORD_DISPLAYED}:
        seen, lost = _focus_share(session, user_id=ctx.user_id, displays=focus.displays)
        if seen >= focus.displays and lost > focus.max_share * seen:
            figures: dict[str, audit.Detail] = {"displays": seen, "focus_lost": lost, "max_share": focus.max_share}
            trip(session, ctx=ctx, rule=RuleName.FOCUS_LOSS, action=focus.action, figures=figures, now=now)
