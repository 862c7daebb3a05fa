"""The in-memory rate limits, on a clock the test moves."""

from __future__ import annotations

import pytest

from caldicott.access import guard
from caldicott.access.guard import AuthFailureGuard, SearchPace, SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_beyond_the_free_ones_wait_twice_as_long_each_time() -> None:
    clock = Clock()
    limiter = AuthFailureGuard(limit=20, free=2, window=600, clock=clock)
    waits = []
    for _ in range(5):
        limiter.failed("192.0.2.1", None, "unknown")
        waits.append(limiter.retry_after("192.0.2.1", None))
    assert waits == [None, 1, 2, 4, 8]
    clock.now += 8
    assert limiter.retry_after("192.0.2.1", None) is None


def test_one_token_tried_from_many_addresses_is_slowed_by_its_own_count() -> None:
    limiter = AuthFailureGuard(limit=20, free=3, window=600, clock=Clock())
    for i in range(3):
        limiter.failed(f"192.0.2.{i}", "tokenhash", "revoked")
    assert limiter.retry_after("198.51.100.7", "tokenhash") == 1
    assert limiter.retry_after("198.51.100.7", "another") is None


def test_at_the_limit_the_rest_of_the_window_is_refused() -> None:
    clock = Clock()
    limiter = AuthFailureGuard(limit=3, free=3, window=600, clock=clock)
    for _ in range(3):
        limiter.failed("192.0.2.1", None, "unknown")
        clock.now += 10
    assert limiter.retry_after("192.0.2.1", None) == 570
    clock.now += 571
    assert limiter.retry_after("192.0.2.1", None) is None


def test_failures_are_counted_by_reason() -> None:
    limiter = AuthFailureGuard(clock=Clock())
    limiter.failed("192.0.2.1", "a", "expired")
    limiter.failed("192.0.2.1", "b", "expired")
    assert limiter.counts == {"expired": 2}


def test_memory_is_bounded_however_many_keys_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "MAX_KEYS", 100)
    window = SlidingWindow(600, 5, Clock())
    for i in range(1000):
        window.add(f"token:{i}")
    assert len(window._keys) == 100
    assert window.recent("token:999")[0] == 1 and window.recent("token:0")[0] == 0


def test_search_pace_refuses_beyond_the_limit_and_flags_once_a_minute() -> None:
    clock = Clock()
    pace = SearchPace(per_minute=2, clock=clock)
    assert pace.check(7) == (None, False)
    assert pace.check(7) == (None, False)
    wait, flag = pace.check(7)
    assert wait == 60 and flag
    assert pace.check(7)[1] is False
    assert pace.check(8) == (None, False)  # another tracer is not slowed
    clock.now += 61
    assert pace.check(7) == (None, False)
