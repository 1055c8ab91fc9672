"""One retry curve for every worker job: 5 s after the first failure, doubling, capped."""

from __future__ import annotations

import datetime as dt

import pytest

from services.platform.job_runner import MAX_RETRY_DELAY, retry_delay


@pytest.mark.parametrize(("failures", "base"), [(1, 5), (2, 10), (3, 20), (6, 160)])
def test_the_delay_doubles_from_five_seconds_with_jitter(failures: int, base: int) -> None:
    delays = [retry_delay(failures).total_seconds() for _ in range(200)]
    assert all(base * 0.5 <= d <= base * 1.5 for d in delays)
    assert max(delays) - min(delays) > base * 0.2  # rows that failed together spread out


def test_the_delay_stops_growing_at_thirty_minutes() -> None:
    assert dt.timedelta(minutes=30) == MAX_RETRY_DELAY
    assert all(retry_delay(40) <= MAX_RETRY_DELAY * 1.5 for _ in range(50))
    assert all(retry_delay(40) >= MAX_RETRY_DELAY * 0.5 for _ in range(50))


def test_a_retry_after_from_the_other_side_wins() -> None:
    assert retry_delay(1, retry_after=120) == dt.timedelta(seconds=120)
    assert retry_delay(9, retry_after=0) == dt.timedelta(seconds=1)
