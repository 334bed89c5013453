"""``server_busy`` answers are tried again after ``Retry-After`` times jitter, within a budget; others are not."""

from __future__ import annotations

import pytest

from agent_client.busy_retry import retry_when_busy
from agent_client.errors import ApiError
from shared.errors import ErrorCode


def busy(after: float | None = 3.0) -> ApiError:
    return ApiError(ErrorCode.SERVER_BUSY, "busy", status=503, retry_after_s=after)


def answers(*results):
    queue = list(results)

    def call():
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return call


def test_busy_twice_then_the_answer_waiting_retry_after_times_the_jitter():
    waits: list[float] = []
    got = retry_when_busy(answers(busy(3), busy(5), "ok"), sleep=waits.append, jitter=lambda: 1.25)
    assert got == "ok"
    assert waits == [3.75, 6.25]


def test_the_jitter_never_makes_a_wait_shorter_than_the_server_asked():
    waits: list[float] = []
    retry_when_busy(answers(busy(4), "ok"), sleep=waits.append, jitter=lambda: 0.5)
    assert waits == [4.0]


def test_a_busy_answer_without_retry_after_waits_two_seconds():
    waits: list[float] = []
    retry_when_busy(answers(busy(None), "ok"), sleep=waits.append, jitter=lambda: 1.0)
    assert waits == [2.0]


def test_other_refusals_are_raised_at_once():
    waits: list[float] = []
    wrong = ApiError(ErrorCode.UNAUTHORIZED, "login failed", status=401)
    with pytest.raises(ApiError) as raised:
        retry_when_busy(answers(wrong, "ok"), sleep=waits.append)
    assert raised.value is wrong and waits == []


def test_busy_is_raised_once_the_budget_would_be_spent():
    waits: list[float] = []
    with pytest.raises(ApiError) as raised:
        retry_when_busy(answers(*[busy(10)] * 5), budget_s=25, sleep=waits.append, jitter=lambda: 1.0)
    assert raised.value.code is ErrorCode.SERVER_BUSY
    assert waits == [10.0, 10.0]
