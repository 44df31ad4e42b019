"""The sliding-window limiter the public endpoints share."""

from __future__ import annotations

import pytest

from security.ratelimit import Limit, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_the_limit_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(Limit(3, 60), clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    clock.now += 10
    assert limiter.hit("a") == pytest.approx(50)
    assert limiter.hit("b") is None  # another client is not affected
    clock.now += 50.5
    assert limiter.hit("a") is None  # the first hit left the window


def test_refused_hits_do_not_extend_the_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(Limit(1, 10), clock=clock)
    limiter.hit("a")
    for _ in range(100):
        clock.now += 0.05
        assert limiter.hit("a") is not None
    clock.now = 1010.01
    assert limiter.hit("a") is None


def test_zero_switches_the_limit_off_and_memory_stays_bounded() -> None:
    assert all(RateLimiter(Limit(0, 60)).hit("a") is None for _ in range(1000))
    limiter = RateLimiter(Limit(1, 60), max_keys=10)
    for n in range(100):
        limiter.hit(f"client-{n}")
    assert limiter.hit("client-0") is None  # forgotten, not remembered forever


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", Limit(5, 60)), ("10/30", Limit(10, 30)), ("7", Limit(7, 60)), ("0", Limit(0, 60))],
)
def test_limits_from_settings(raw: str, expected: Limit) -> None:
    assert Limit.parse("X_RATE", raw, Limit(5, 60)) == expected


@pytest.mark.parametrize("raw", ["lots", "-1/60", "5/0", "5/soon"])
def test_malformed_limits_are_refused_by_name(raw: str) -> None:
    with pytest.raises(ValueError, match="X_RATE"):
        Limit.parse("X_RATE", raw, Limit(5, 60))
