"""The checks and the summary of ``bench/double_claim_bench.py``, and how its limits are sized.

Checks, on the database once the servers have stopped:
    * no double claim: :func:`tests.support.multi_server.check_leases` over every lease (no contact
      with two open leases, no lease issued before the contact's previous one closed), and one
      ``record_issued`` audit entry per lease;
    * the rogue's limit held across processes: its leases per local day of the campaign's time zone
      equal its limit, never more (a day begun within the last 10 minutes may have fewer);
    * no honest agent at a limit or suspended, and every disposition the agents saw accepted closed a lease;
    * ``custos-server audit verify --json`` (the full pass) finds the log intact.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from owner_server.core.db import make_engine
from tests.support.multi_server import check_leases, contained_policy

__all__ = ["check_all", "describe", "limits_for"]

#: The campaign's limits are bounded by the policy (``shared.containment.Count``).
LIMIT_CEILING = 100_000
ROGUE = "rogue-0"


def limits_for(claims: int, agents: int) -> dict[str, int]:
    """Velocity, per-hour and per-day limits an honest agent does not reach in this run.

    Each honest agent does about ``claims / agents`` claims in the whole run. Every threshold is
    twice that plus 100: not reached even if the whole run fell in one hour (or one velocity
    window) and an agent did twice its share; still a real limit, reached by an agent that
    claimed for two.

    Raises:
        ValueError: The thresholds would pass the policy's ceiling of 100,000 (too few agents).
    """
    share = -(-claims // agents)
    limit = 2 * share + 100
    if limit > LIMIT_CEILING:
        raise ValueError(f"{claims} claims over {agents} agents need limits above {LIMIT_CEILING:,}: more --agents")
    return {"velocity": limit, "per_hour": limit, "per_day": limit}


_ROGUE_DAYS = """
SELECT to_char(l.issued_at AT TIME ZONE :tz, 'YYYY-MM-DD'), count(*)
FROM lease l JOIN app_user u ON u.id = l.user_id WHERE u.login = :rogue GROUP BY 1 ORDER BY 1
"""
_HONEST = """
SELECT count(*), count(*) FILTER (WHERE closed_at IS NOT NULL), max(n), min(n) FROM
  (SELECT l.closed_at, count(*) OVER (PARTITION BY l.user_id) AS n
   FROM lease l JOIN app_user u ON u.id = l.user_id WHERE u.login <> :rogue) AS per
"""
_OTHERS = """
SELECT (SELECT count(*) FROM app_user WHERE suspended AND login <> :rogue),
       (SELECT count(*) FROM app_user WHERE suspended AND login = :rogue),
       (SELECT count(*) FROM alert)
"""


def _rogue_verdict(days: list[tuple[str, int]], limit: int, zone: ZoneInfo) -> str:
    """``held`` (its limit each day), ``EXCEEDED`` (more on a day) or ``not reached`` (fewer: the run was too short)."""
    if any(n > limit for _, n in days):
        return "EXCEEDED"
    now = datetime.now(zone)
    young = now - datetime.combine(now.date(), datetime.min.time(), zone) < timedelta(minutes=10)
    counted = [n for day, n in days if not (day == now.date().isoformat() and young and len(days) > 1)]
    return "held" if counted and all(n == limit for n in counted) else "not reached"


def _audit_verify(data_dir: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "owner_server", "audit", "verify", "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        return {"ok": False, "reason": f"exit {done.returncode}, no JSON"}
    return {k: answer.get(k) for k in ("ok", "entries", "checkpoints", "bad_seq", "reason")}


def check_all(url: str, data_dir: Path, args: Any, done: int) -> dict[str, Any]:
    """Every check of the module docstring; ``ok`` is True when all of them hold."""
    zone = ZoneInfo(contained_policy().timezone)
    engine = make_engine(url)
    try:
        leases = check_leases(engine)
        with engine.connect() as conn:
            days = [(str(d), int(n)) for d, n in conn.execute(text(_ROGUE_DAYS), {"tz": zone.key, "rogue": ROGUE})]
            honest = conn.execute(text(_HONEST), {"rogue": ROGUE}).one()
            others = conn.execute(text(_OTHERS), {"rogue": ROGUE}).one()
    finally:
        engine.dispose()
    limit = limits_for(args.claims, args.agents)["per_hour"]
    out: dict[str, Any] = {
        "leases": leases.leases,
        "contacts_leased": leases.contacts,
        "open_leases": leases.open_leases,
        "contacts_open_twice": leases.contacts_open_twice,
        "overlapping": leases.overlapping,
        "record_issued_entries": leases.issued_entries,
        "rogue_leases_by_day": dict(days),
        "rogue_limit": args.rogue_limit,
        "honest_leases": int(honest[0]),
        "honest_closed": int(honest[1]),
        "honest_claims_seen": done,
        "honest_max_per_agent": int(honest[2] or 0),
        "honest_min_per_agent": int(honest[3] or 0),
        "honest_limit": limit,
        "honest_suspended": int(others[0]),
        "rogue_suspended": int(others[1]),
        "alerts": int(others[2]),
        "audit_verify": _audit_verify(data_dir),
    }
    out["no_double_claims"] = leases.contacts_open_twice == 0 and leases.overlapping == 0
    out["no_double_claims"] &= leases.contacts == leases.leases  # max_attempts 1: a contact is leased once
    out["issued_entries_match"] = leases.issued_entries == leases.leases
    out["rogue_verdict"] = _rogue_verdict(days, args.rogue_limit, zone)
    out["rogue_held"] = out["rogue_verdict"] == "held"
    out["honest_clear"] = out["honest_max_per_agent"] < limit and out["honest_suspended"] == 0
    out["honest_clear"] &= out["honest_closed"] >= done
    checks = ("no_double_claims", "issued_entries_match", "rogue_held", "honest_clear")
    out["ok"] = all(out[k] for k in checks) and bool(out["audit_verify"]["ok"])
    return out


def describe(result: dict[str, Any]) -> str:
    """A few readable lines of a result (what there is of it, after an abort too)."""
    lines = [f"aborted: {result['aborted']}"] if "aborted" in result else []
    if "error" in result:
        lines.append(f"error: {result['error']}")
    if seed := result.get("seed"):
        lines.append(
            f"seed: installation {seed['seed_s']} s; {seed['imported']:,} contacts imported in {seed['import_s']} s "
            f"(CSV written in {seed['csv_s']} s)"
        )
    if load := result.get("load"):
        h, ms = load["honest"], load["cpu_ms_per_claim"]
        lines.append(
            f"load: {load['claims']:,} claims in {load['seconds']} s = {load['claims_per_s']} claims/s "
            f"(stopped by: {load['stopped_by']}); all agents logged in in {load['login_all_s']} s"
        )
        lines.append(
            f"CPU per claim: servers {ms['servers_s']} ms, PostgreSQL {ms['db_s']} ms, "
            f"generator {ms['generator_s']} ms; load average at the end {load['load_average_end']}"
        )
        steps = "; ".join(
            f"{s} p50/p99 {h[s]['p50_ms']}/{h[s]['p99_ms']} ms" for s in ("next", "dispositions") if s in h
        )
        lines.append(
            f"honest: {steps}; errors {h['errors']}; 503 waited out {h['retried_503']}; "
            f"refreshes {load['refreshes']}, logins {load['logins']}"
        )
        rogue = load["rogue"]
        lines.append(f"rogue: {rogue['leases_seen']} leases seen; refused {rogue['refusals']} ({rogue['messages']})")
    if c := result.get("checks"):
        lines.append(
            f"double claims: {c['contacts_open_twice']} open twice, {c['overlapping']} overlapping in "
            f"{c['leases']:,} leases of {c['contacts_leased']:,} contacts; record_issued {c['record_issued_entries']:,}"
        )
        lines.append(
            f"rogue: leases by day {c['rogue_leases_by_day']} against its limit {c['rogue_limit']}: "
            f"{c['rogue_verdict']}; honest per agent {c['honest_min_per_agent']}-"
            f"{c['honest_max_per_agent']} (limits {c['honest_limit']}), suspended {c['honest_suspended']}; "
            f"alerts {c['alerts']}"
        )
        a = c["audit_verify"]
        lines.append(f"audit verify: ok {a['ok']}, {a.get('entries')} entries; checks ok: {c['ok']}")
    if disk := result.get("disk_mb"):
        lines.append(f"disk: PostgreSQL {disk['pg']} MB, server logs {disk['logs']} MB")
    return "\n".join(lines)
