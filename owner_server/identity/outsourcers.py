"""Outsourcer settings that contain its agents: limits, site networks and shift.

An outsourcer's limits only tighten the campaign policy's ``[limits]`` (the
lowest applies, :func:`effective_limits`). Its networks are CIDR ranges
(IPv4 and IPv6, :mod:`ipaddress`) stored as JSON in ``Outsourcer.networks``;
when set, its agents log in and work only from inside them
(:func:`address_allowed`). Its shift is ``HH:MM``-``HH:MM`` in the campaign's
time zone. Every change is audited in the same transaction.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import time
from typing import Protocol, TypeAlias

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.models import Outsourcer, Role, User
from shared.containment import IssueLimits
from shared.errors import NotFoundError, ValidationError
from shared.limits import LIMITS

__all__ = [
    "Network",
    "OutsourcerTerms",
    "OutsourcerView",
    "address_allowed",
    "effective_limits",
    "get_outsourcer",
    "list_outsourcers",
    "networks_of",
    "parse_networks",
    "set_limits",
    "set_networks",
    "set_shift",
    "shift_of",
]

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_MAX_LIMIT = 100_000


class OutsourcerTerms(Protocol):
    """What the checks below read of an outsourcer: an :class:`Outsourcer` row or plain columns.

    The agent API's hot path holds the columns of its one authentication
    statement (:class:`owner_server.identity.bearer.AgentOutsourcer`), not an ORM row.
    """

    @property
    def per_hour_limit(self) -> int | None:
        """Records per hour at most (None: the policy's)."""

    @property
    def per_day_limit(self) -> int | None:
        """Records per day at most (None: the policy's)."""

    @property
    def networks(self) -> str:
        """JSON list of CIDR ranges (empty list: anywhere)."""

    @property
    def shift_start(self) -> str | None:
        """``HH:MM`` or None."""

    @property
    def shift_end(self) -> str | None:
        """``HH:MM`` or None."""


def effective_limits(policy_limits: IssueLimits, outsourcer: OutsourcerTerms | None) -> tuple[int, int]:
    """The records-per-hour and per-day limits in force for an outsourcer's agent.

    Args:
        policy_limits: The campaign policy's ``[limits]``.
        outsourcer: The agent's outsourcer (None: the policy alone).

    Returns:
        ``(per_hour, per_day)``: for each, the lower of the policy's value and
        the outsourcer's, where the outsourcer set one.
    """
    per_hour, per_day = policy_limits.per_hour, policy_limits.per_day
    if outsourcer is not None and outsourcer.per_hour_limit is not None:
        per_hour = min(per_hour, outsourcer.per_hour_limit)
    if outsourcer is not None and outsourcer.per_day_limit is not None:
        per_day = min(per_day, outsourcer.per_day_limit)
    return per_hour, per_day


@functools.lru_cache(maxsize=256)
def parse_networks(stored: str) -> tuple[Network, ...]:
    """The networks of an ``Outsourcer.networks`` JSON text (cached: it is read on every request).

    A text that is not a JSON list of CIDR strings yields a network that
    matches nothing, so a damaged row fails closed.
    """
    try:
        items = json.loads(stored or "[]")
        return tuple(ipaddress.ip_network(item) for item in items)
    except (ValueError, TypeError):
        return (ipaddress.ip_network("0.0.0.0/32"),)  # matches no real client: fail closed


def networks_of(outsourcer: OutsourcerTerms | None) -> tuple[Network, ...]:
    """An outsourcer's site networks (empty: anywhere)."""
    return parse_networks(outsourcer.networks) if outsourcer is not None else ()


def address_allowed(outsourcer: OutsourcerTerms | None, address: str) -> bool:
    """Whether a client address may log in / work for this outsourcer's agents.

    Args:
        outsourcer: The agent's outsourcer.
        address: The client's IP address as the server saw it (an IPv4-mapped
            IPv6 address counts as its IPv4 address).

    Returns:
        True when the outsourcer has no networks, or the address is inside one
        of them; False otherwise, and for an address that does not parse.
    """
    networks = networks_of(outsourcer)
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(c in net for c in candidates for net in networks if c.version == net.version)


def shift_of(outsourcer: OutsourcerTerms | None) -> tuple[time, time] | None:
    """An outsourcer's shift as local times ``(start, end)`` in the campaign's time zone (None: no shift set).

    ``end`` before ``start`` spans midnight. A damaged value counts as no shift.
    """
    if outsourcer is None or not outsourcer.shift_start or not outsourcer.shift_end:
        return None
    try:
        return time.fromisoformat(outsourcer.shift_start), time.fromisoformat(outsourcer.shift_end)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class OutsourcerView:
    """One outsourcer as ``outsourcer list`` shows it (no personal data)."""

    name: str
    per_hour_limit: int | None
    per_day_limit: int | None
    networks: tuple[str, ...]
    shift_start: str | None
    shift_end: str | None
    agents: int


def get_outsourcer(session: Session, *, name: str) -> Outsourcer:
    """Find an outsourcer by name.

    Raises:
        NotFoundError: No such outsourcer.
    """
    org = session.exec(select(Outsourcer).where(Outsourcer.name == name)).first()
    if org is None:
        raise NotFoundError(f"outsourcer '{name}' not found")
    return org


def list_outsourcers(session: Session) -> list[OutsourcerView]:
    """Every outsourcer with its limits, networks, shift and number of agents, by name."""
    counts = dict(
        session.exec(
            select(User.outsourcer_id, func.count())
            .where(User.role == Role.AGENT, col(User.outsourcer_id).is_not(None))
            .group_by(col(User.outsourcer_id))
        ).all()
    )
    return [
        OutsourcerView(
            name=org.name,
            per_hour_limit=org.per_hour_limit,
            per_day_limit=org.per_day_limit,
            networks=tuple(str(n) for n in networks_of(org)),
            shift_start=org.shift_start,
            shift_end=org.shift_end,
            agents=int(counts.get(org.id, 0)),
        )
        for org in session.exec(select(Outsourcer).order_by(col(Outsourcer.name))).all()
    ]


def _check_limit(name: str, value: int | None) -> None:
    if value is not None and not 1 <= value <= _MAX_LIMIT:
        raise ValidationError(f"{name} is a whole number from 1 to {_MAX_LIMIT}")


def set_limits(
    session: Session, *, name: str, per_hour: int | None, per_day: int | None, clear: bool, actor: str
) -> Outsourcer:
    """Set (either or both) or clear an outsourcer's records-per-hour and per-day limits.

    Args:
        session: Open transaction.
        name: The outsourcer.
        per_hour: New per-hour limit, or None to keep the current one.
        per_day: New per-day limit, or None to keep the current one.
        clear: Remove both limits (the campaign policy alone applies).
        actor: Who acts.

    Raises:
        NotFoundError: Unknown outsourcer.
        ValidationError: Nothing to do, ``clear`` with values, a value out of
            1-100000, or a per-hour limit above the per-day one.
    """
    if clear == (per_hour is not None or per_day is not None):
        raise ValidationError("give --per-hour and/or --per-day, or --clear alone")
    _check_limit("--per-hour", per_hour)
    _check_limit("--per-day", per_day)
    org = get_outsourcer(session, name=name)
    hour = None if clear else (per_hour if per_hour is not None else org.per_hour_limit)
    day = None if clear else (per_day if per_day is not None else org.per_day_limit)
    if hour is not None and day is not None and hour > day:
        raise ValidationError(f"the per-hour limit ({hour}) cannot exceed the per-day limit ({day})")
    org.per_hour_limit, org.per_day_limit = hour, day
    session.add(org)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="outsourcer_limits_set",
        object_type="outsourcer",
        object_id=str(org.id),
        details={"per_hour": hour, "per_day": day},
    )
    return org


def _parse_cidr(text: str) -> Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ValidationError(
                f"'{text}' is not an IPv4 or IPv6 network (e.g. 192.0.2.0/24, 2001:db8::/48)"
            ) from None
        raise ValidationError(f"'{text}' has host bits set; did you mean {loose}?") from None


def set_networks(session: Session, *, name: str, cidrs: list[str], clear: bool, actor: str) -> Outsourcer:
    """Set or clear the site networks an outsourcer's agents may log in from.

    Args:
        session: Open transaction.
        name: The outsourcer.
        cidrs: CIDR ranges (IPv4 or IPv6; a bare address is a single host).
        clear: Remove them (agents may log in from anywhere).
        actor: Who acts.

    Raises:
        NotFoundError: Unknown outsourcer.
        ValidationError: Nothing to do, ``clear`` with networks, a malformed
            range, or more than ``LIMITS.max_networks``.
    """
    if clear == bool(cidrs):
        raise ValidationError("give one or more networks (CIDR), or --clear alone")
    if len(cidrs) > LIMITS.max_networks:
        raise ValidationError(f"at most {LIMITS.max_networks} networks")
    parsed = sorted({_parse_cidr(c) for c in cidrs}, key=lambda n: (n.version, n))
    org = get_outsourcer(session, name=name)
    org.networks = json.dumps([str(n) for n in parsed])
    session.add(org)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="outsourcer_networks_set",
        object_type="outsourcer",
        object_id=str(org.id),
        details={"networks": org.networks},
    )
    return org


def set_shift(
    session: Session, *, name: str, start: str | None, end: str | None, clear: bool, actor: str
) -> Outsourcer:
    """Set or clear an outsourcer's shift (``HH:MM`` to ``HH:MM``, campaign time zone; end before start spans midnight).

    Raises:
        NotFoundError: Unknown outsourcer.
        ValidationError: Nothing to do, ``clear`` with times, only one of the
            two, a time that is not ``HH:MM`` (00:00-23:59), or start equal to end.
    """
    if clear:
        if start is not None or end is not None:
            raise ValidationError("give --start and --end, or --clear alone")
    else:
        if start is None or end is None:
            raise ValidationError("give both --start and --end (HH:MM), or --clear")
        for label, value in (("--start", start), ("--end", end)):
            if not _HHMM.fullmatch(value):
                raise ValidationError(f"{label} is a time HH:MM from 00:00 to 23:59")
        if start == end:
            raise ValidationError("the shift's start and end must differ")
    org = get_outsourcer(session, name=name)
    org.shift_start, org.shift_end = (None, None) if clear else (start, end)
    session.add(org)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="outsourcer_shift_set",
        object_type="outsourcer",
        object_id=str(org.id),
        details={"start": org.shift_start, "end": org.shift_end},
    )
    return org
