"""The login gate admits ``slots + queue`` password checks and answers one more busy, with a wait to retry after."""

from __future__ import annotations

import asyncio
import threading

import pytest

from owner_server.api.login_gate import LoginGate
from shared.errors import STATUS_BY_CODE, BusyError, ErrorCode


def test_one_check_beyond_slots_and_queue_is_refused_and_the_admitted_ones_run():
    release = threading.Event()
    gate = LoginGate(slots=1, queue=1, first_estimate_s=3.0)

    async def scenario() -> tuple[list[str], BusyError]:
        first = asyncio.ensure_future(gate.run(lambda: release.wait(30) and "first"))
        second = asyncio.ensure_future(gate.run(lambda: "second"))
        while gate.admitted < 2:
            await asyncio.sleep(0)
        with pytest.raises(BusyError) as refused:
            await gate.run(lambda: "third")
        release.set()
        return list(await asyncio.gather(first, second)), refused.value

    try:
        ran, refused = asyncio.run(scenario())
    finally:
        gate.close()
    assert ran == ["first", "second"]
    assert refused.code is ErrorCode.SERVER_BUSY and STATUS_BY_CODE[refused.code] == 503
    assert refused.retry_after_s == 9  # two admitted and this refusal, 3 s each, one slot
    assert gate.admitted == 0


def test_each_refusal_lengthens_the_wait_so_the_refused_do_not_all_come_back_at_once():
    gate = LoginGate(slots=1, queue=0, first_estimate_s=0.5)
    release = threading.Event()

    async def scenario() -> list[int]:
        held = asyncio.ensure_future(gate.run(lambda: release.wait(30)))
        while gate.admitted < 1:
            await asyncio.sleep(0)
        waits = []
        for _ in range(4):
            with pytest.raises(BusyError) as refused:
                await gate.run(lambda: None)
            waits.append(refused.value.retry_after_s)
        release.set()
        await held
        return waits

    try:
        waits = asyncio.run(scenario())
    finally:
        gate.close()
    assert waits == sorted(waits) and waits[-1] > waits[0], waits  # 1 admitted + n refused, 0.5 s each


def test_the_wait_to_retry_after_is_between_one_second_and_a_minute():
    gate = LoginGate(slots=4, queue=0, first_estimate_s=0.01)
    assert gate.retry_after_s() == 1
    assert LoginGate(slots=1, queue=0, first_estimate_s=1000).retry_after_s() == 1  # nothing admitted yet
    assert BusyError("busy", retry_after_s=0).retry_after_s == 1


def test_zero_slots_means_one_per_cpu(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    assert LoginGate(slots=0, queue=5).slots == 3


def test_a_closed_gate_runs_again_on_a_new_event_loop():
    gate = LoginGate(slots=1, queue=0)
    assert asyncio.run(gate.run(lambda: 1)) == 1
    gate.close()
    assert asyncio.run(gate.run(lambda: 2)) == 2
    gate.close()


def test_a_check_expected_to_wait_longer_than_max_wait_is_refused_though_the_queue_has_room():
    release = threading.Event()
    gate = LoginGate(slots=1, queue=10, first_estimate_s=10.0, max_wait_s=15.0)

    async def scenario() -> tuple[int, BusyError]:
        running = asyncio.ensure_future(gate.run(lambda: release.wait(30)))
        waiting = asyncio.ensure_future(gate.run(lambda: None))  # expected to wait 10 s: admitted
        while gate.admitted < 2:
            await asyncio.sleep(0)
        with pytest.raises(BusyError) as refused:  # would wait 20 s, longer than its nonce should
            await gate.run(lambda: None)
        admitted = gate.admitted
        release.set()
        await asyncio.gather(running, waiting)
        return admitted, refused.value

    try:
        admitted, refused = asyncio.run(scenario())
    finally:
        gate.close()
    assert admitted == 2 and refused.code is ErrorCode.SERVER_BUSY
