"""Outsourcer limits, networks and shift: the pure rules, and the services on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import time

import pytest
from sqlmodel import Session, select

from owner_server.core.db import session_scope
from owner_server.identity import admin, outsourcers
from owner_server.models import Outsourcer
from shared.containment import IssueLimits
from shared.errors import NotFoundError, ValidationError

from .agent_support import actions


@pytest.mark.parametrize(
    ("policy", "org_hour", "org_day", "expected"),
    [
        ((60, 480), None, None, (60, 480)),
        ((60, 480), 40, None, (40, 480)),
        ((60, 480), None, 200, (60, 200)),
        ((60, 480), 100, 1000, (60, 480)),  # an outsourcer can only tighten
        ((30, 100), 20, 50, (20, 50)),
    ],
)
def test_effective_limits_take_the_lowest(policy, org_hour, org_day, expected):
    org = Outsourcer(name="BPO", per_hour_limit=org_hour, per_day_limit=org_day)
    limits = IssueLimits(per_hour=policy[0], per_day=policy[1])
    assert outsourcers.effective_limits(limits, org) == expected
    assert outsourcers.effective_limits(limits, None) == policy


@pytest.mark.parametrize(
    ("networks", "address", "allowed"),
    [
        ([], "203.0.113.9", True),
        ([], "not an address", True),
        (["10.0.0.0/8"], "10.200.1.1", True),
        (["10.0.0.0/8"], "11.0.0.1", False),
        (["10.0.0.0/8"], "::ffff:10.1.2.3", True),
        (["10.0.0.0/8"], "::ffff:11.1.2.3", False),
        (["2001:db8::/48"], "2001:db8:0:ffff::1", True),
        (["2001:db8::/48"], "2001:db9::1", False),
        (["10.0.0.0/8", "2001:db8::/48"], "2001:db8::1", True),
        (["10.0.0.0/8"], "", False),
        (["10.0.0.0/8"], "testclient", False),
        (["192.0.2.7/32"], "192.0.2.7", True),
    ],
)
def test_address_allowed(networks, address, allowed):
    org = Outsourcer(name="BPO", networks=json.dumps(networks))
    assert outsourcers.address_allowed(org, address) is allowed


def test_shift_of():
    assert outsourcers.shift_of(Outsourcer(name="BPO", shift_start="22:00", shift_end="06:30")) == (
        time(22, 0),
        time(6, 30),
    )
    assert outsourcers.shift_of(Outsourcer(name="BPO")) is None
    assert outsourcers.shift_of(None) is None


def test_a_damaged_networks_column_fails_closed():
    assert not outsourcers.address_allowed(Outsourcer(name="BPO", networks="{oops"), "10.0.0.1")


def _with_outsourcer(inst):
    with session_scope(inst.engine) as s:
        admin.add_outsourcer(s, name="BPO", actor="test")
    return inst


@pytest.fixture
def org(any_installation):
    """An outsourcer on SQLite and PostgreSQL."""
    return _with_outsourcer(any_installation)


@pytest.fixture
def org_sqlite(installation):
    """An outsourcer on SQLite (input rules do not depend on the database)."""
    return _with_outsourcer(installation)


def _row(inst) -> Outsourcer:
    with Session(inst.engine) as s:
        return s.exec(select(Outsourcer)).one()


def _call(inst, fn, **kwargs):
    with session_scope(inst.engine) as s:
        return fn(s, name="BPO", actor="test", **kwargs)


def test_set_limits_either_both_or_clear(org):
    _call(org, outsourcers.set_limits, per_hour=40, per_day=None, clear=False)
    assert (_row(org).per_hour_limit, _row(org).per_day_limit) == (40, None)
    _call(org, outsourcers.set_limits, per_hour=None, per_day=300, clear=False)
    assert (_row(org).per_hour_limit, _row(org).per_day_limit) == (40, 300)
    _call(org, outsourcers.set_limits, per_hour=None, per_day=None, clear=True)
    assert (_row(org).per_hour_limit, _row(org).per_day_limit) == (None, None)
    assert actions(org).count("outsourcer_limits_set") == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_hour": None, "per_day": None, "clear": False},
        {"per_hour": 5, "per_day": None, "clear": True},
        {"per_hour": 0, "per_day": None, "clear": False},
        {"per_hour": None, "per_day": 100_001, "clear": False},
        {"per_hour": 50, "per_day": 40, "clear": False},
        {"per_hour": 200, "per_day": None, "clear": False},  # above the per-day limit already set
    ],
)
def test_set_limits_refuses_bad_input_and_changes_nothing(org_sqlite, kwargs):
    _call(org_sqlite, outsourcers.set_limits, per_hour=None, per_day=100, clear=False)
    before = actions(org_sqlite)
    with pytest.raises(ValidationError):
        _call(org_sqlite, outsourcers.set_limits, **kwargs)
    assert (_row(org_sqlite).per_hour_limit, _row(org_sqlite).per_day_limit) == (None, 100)
    assert actions(org_sqlite) == before


def test_set_networks_normalises_and_clears(org):
    _call(
        org, outsourcers.set_networks, cidrs=["2001:db8::/48", "10.1.0.0/16", "10.1.0.0/16", "192.0.2.7"], clear=False
    )
    assert json.loads(_row(org).networks) == ["10.1.0.0/16", "192.0.2.7/32", "2001:db8::/48"]
    _call(org, outsourcers.set_networks, cidrs=[], clear=True)
    assert json.loads(_row(org).networks) == []


@pytest.mark.parametrize(
    ("cidrs", "clear", "message"),
    [
        (["10.0.0.1/24"], False, "did you mean 10.0.0.0/24"),
        (["10.0.0.0/33"], False, "not an IPv4 or IPv6 network"),
        (["example.com"], False, "not an IPv4 or IPv6 network"),
        (["10.0.0.0/8", "garbage"], False, "'garbage'"),
        ([], False, "--clear"),
        (["10.0.0.0/8"], True, "--clear alone"),
        ([f"10.0.{i}.0/24" for i in range(65)], False, "at most 64"),
    ],
)
def test_set_networks_refuses_bad_input_and_changes_nothing(org_sqlite, cidrs, clear, message):
    _call(org_sqlite, outsourcers.set_networks, cidrs=["192.0.2.0/24"], clear=False)
    before = actions(org_sqlite)
    with pytest.raises(ValidationError) as refused:
        _call(org_sqlite, outsourcers.set_networks, cidrs=cidrs, clear=clear)
    assert message in refused.value.message
    assert json.loads(_row(org_sqlite).networks) == ["192.0.2.0/24"] and actions(org_sqlite) == before


def test_set_shift_and_clear(org):
    _call(org, outsourcers.set_shift, start="22:00", end="06:00", clear=False)
    assert (_row(org).shift_start, _row(org).shift_end) == ("22:00", "06:00")
    _call(org, outsourcers.set_shift, start=None, end=None, clear=True)
    assert (_row(org).shift_start, _row(org).shift_end) == (None, None)


@pytest.mark.parametrize(
    ("start", "end", "clear"),
    [
        ("8:00", "16:00", False),
        ("24:00", "06:00", False),
        ("08:00", None, False),
        ("08:00", "08:00", False),
        ("08:00", "16:00", True),
        ("08:60", "16:00", False),
        (None, None, False),
    ],
)
def test_set_shift_refuses_bad_input(org_sqlite, start, end, clear):
    before = actions(org_sqlite)
    with pytest.raises(ValidationError):
        _call(org_sqlite, outsourcers.set_shift, start=start, end=end, clear=clear)
    assert _row(org_sqlite).shift_start is None and actions(org_sqlite) == before


def test_unknown_outsourcer(org):
    with pytest.raises(NotFoundError), session_scope(org.engine) as s:
        outsourcers.set_shift(s, name="Nope", start="08:00", end="16:00", clear=False, actor="test")
