"""Messages of the containment codes: chosen by code, times in local time, both languages."""

import time
from datetime import UTC, datetime

import pytest

from agent_client.errors import ApiError, NetworkError
from agent_client.messages import error_message, limit_message, local_time_text, quota_texts
from agent_client.translations import install_translators
from shared.errors import ErrorCode
from shared.protocol import QuotaView

NOW = datetime(2026, 12, 1, 13, 5, tzinfo=UTC)  # 14:05 in Warsaw (CET, UTC+1)
HOUR_FULL = QuotaView(issued_hour=60, per_hour=60, issued_day=200, per_day=480)
DAY_FULL = QuotaView(issued_hour=12, per_hour=60, issued_day=480, per_day=480)


@pytest.fixture
def warsaw(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Warsaw")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def polish(qapp):
    installed = install_translators(qapp, "pl")
    assert installed
    yield
    for translator in installed:
        qapp.removeTranslator(translator)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 12, 1, 13, 32, tzinfo=UTC), "14:32"),
        (datetime(2026, 12, 1, 13, 31, 1, tzinfo=UTC), "14:32"),  # rounded up, never earlier than the server's
        (datetime(2026, 12, 1, 13, 31, 59, 999, tzinfo=UTC), "14:32"),
        (datetime(2026, 12, 2, 7, 0, tzinfo=UTC), "2026-12-02 08:00"),  # another day: the date too
        (datetime(2026, 12, 1, 22, 59, 30, tzinfo=UTC), "2026-12-02 00:00"),  # rounding crosses midnight
    ],
)
def test_times_are_local_and_rounded_up(warsaw, at, expected):
    assert local_time_text(at, now=NOW) == expected


def test_hourly_and_daily_limit_messages(warsaw):
    at = datetime(2026, 12, 1, 13, 32, tzinfo=UTC)
    assert limit_message(HOUR_FULL, at, now=NOW) == "Limit of 60 records an hour reached; next at 14:32."
    tomorrow = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    assert limit_message(DAY_FULL, tomorrow, now=NOW) == "Limit of 480 records a day reached; next at 2026-12-02 08:00."
    assert limit_message(None, at, now=NOW) == "Record limit reached; next at 14:32."


def test_counts():
    assert quota_texts(QuotaView(issued_hour=23, per_hour=60, issued_day=130, per_day=480)) == (
        "23 of 60 this hour",
        "130 of 480 today",
    )


def api_error(code, **extra):
    return ApiError(code, "server text never shown", status=403, **extra)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            api_error(ErrorCode.ACCOUNT_LOCKED, retry_at=datetime(2026, 12, 1, 13, 47, tzinfo=UTC)),
            "Too many failed logins. Try again at 14:47.",
        ),
        (api_error(ErrorCode.ACCOUNT_LOCKED), "Too many failed logins. Try again later."),
        (
            api_error(ErrorCode.ADDRESS_NOT_ALLOWED),
            "Logging in from this network is not allowed. Contact your supervisor.",
        ),
        (api_error(ErrorCode.ACCOUNT_SUSPENDED), "Your account has been suspended. Contact your supervisor."),
        (api_error(ErrorCode.NO_LEASE), "This record was withdrawn."),
        (
            api_error(ErrorCode.QUOTA_REACHED, retry_at=datetime(2026, 12, 1, 13, 32, tzinfo=UTC), quota=HOUR_FULL),
            "Limit of 60 records an hour reached; next at 14:32.",
        ),
        (NetworkError("boom"), "Cannot reach the server. Check the network connection."),
    ],
)
def test_error_messages_by_code(warsaw, error, expected):
    assert error_message(error, now=NOW) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            api_error(ErrorCode.ACCOUNT_LOCKED, retry_at=datetime(2026, 12, 1, 13, 47, tzinfo=UTC)),
            "Zbyt wiele nieudanych logowań. Spróbuj ponownie o 14:47.",
        ),
        (
            api_error(ErrorCode.ADDRESS_NOT_ALLOWED),
            "Logowanie z tej sieci jest niedozwolone. Skontaktuj się z przełożonym.",
        ),
        (api_error(ErrorCode.ACCOUNT_SUSPENDED), "Twoje konto zostało zawieszone. Skontaktuj się z przełożonym."),
        (api_error(ErrorCode.NO_LEASE), "Ten rekord został wycofany."),
        (
            api_error(ErrorCode.QUOTA_REACHED, retry_at=datetime(2026, 12, 1, 13, 32, tzinfo=UTC), quota=HOUR_FULL),
            "Osiągnięto limit 60 rekordów na godzinę; następny o 14:32.",
        ),
        (
            api_error(ErrorCode.QUOTA_REACHED, retry_at=datetime(2026, 12, 1, 13, 32, tzinfo=UTC), quota=DAY_FULL),
            "Osiągnięto limit 480 rekordów na dzień; następny o 14:32.",
        ),
    ],
)
def test_polish_error_messages(warsaw, polish, error, expected):
    assert error_message(error, now=NOW) == expected


def test_polish_counts(polish):
    assert quota_texts(QuotaView(issued_hour=23, per_hour=60, issued_day=130, per_day=480)) == (
        "23 z 60 w tej godzinie",
        "130 z 480 dzisiaj",
    )
