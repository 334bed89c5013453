import pytest

from agent_client.errors import ApiError, NetworkError, ProtocolError
from agent_client.reporter import Backoff, Verdict, verdict
from shared.errors import ErrorCode


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NetworkError("down"), Verdict.RETRY),
        (ProtocolError("odd"), Verdict.RETRY),
        (ApiError(ErrorCode.INTERNAL, "x", status=500), Verdict.RETRY),
        (ApiError(ErrorCode.RATE_LIMITED, "x", status=429), Verdict.RETRY),
        (ApiError(ErrorCode.CONFLICT, "x", status=409), Verdict.RETRY),
        (ApiError(ErrorCode.ADDRESS_NOT_ALLOWED, "x", status=403), Verdict.RETRY),
        (ApiError(ErrorCode.UNAUTHORIZED, "x", status=401), Verdict.KEEP),
        (ApiError(ErrorCode.TOKEN_EXPIRED, "x", status=401), Verdict.KEEP),
        (ApiError(ErrorCode.ACCOUNT_SUSPENDED, "x", status=403), Verdict.KEEP),
        (ApiError(ErrorCode.NO_LEASE, "x", status=409), Verdict.GONE),
        (ApiError(ErrorCode.BAD_REQUEST, "x", status=400), Verdict.REFUSED),
        (ApiError(ErrorCode.PAYLOAD_TOO_LARGE, "x", status=413), Verdict.REFUSED),
    ],
)
def test_what_a_failed_upload_means(error, expected):
    assert verdict(error) is expected


def test_backoff_walks_the_delays_then_stays_at_the_last():
    backoff = Backoff((10, 20, 50))
    assert [backoff.failed() for _ in range(5)] == [10, 20, 50, 50, 50]
    backoff.succeeded()
    assert backoff.failed() == 10


def test_backoff_needs_a_delay():
    with pytest.raises(ValueError, match="delay"):
        Backoff(())
