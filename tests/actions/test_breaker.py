"""The circuit breaker: open after repeated failures, probe after the cool-down."""

from __future__ import annotations

import pytest
import requests

from actions.clients.breaker import CircuitBreaker
from actions.clients.errors import CircuitOpen, MallUnavailable
from actions.clients.mall import MallClient


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_the_threshold_and_probes_after_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=30, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow() and not breaker.is_open
    breaker.record_failure()
    assert breaker.is_open and not breaker.allow()
    clock.now += 31
    assert breaker.allow()  # one probe
    assert not breaker.allow()  # the others wait for its result
    breaker.record_success()
    assert breaker.allow() and not breaker.is_open


def test_client_stops_calling_a_dead_mall() -> None:
    calls = []

    class DeadSession(requests.Session):
        def request(self, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
            calls.append(args)
            raise requests.ConnectionError("refused")

    client = MallClient("http://127.0.0.1:9", session=DeadSession(), breaker=CircuitBreaker(3, 60))
    for _ in range(3):
        with pytest.raises(MallUnavailable):
            client.get_product("P1001")
    with pytest.raises(CircuitOpen):
        client.get_product("P1001")
    assert len(calls) == 3  # the fourth call never went out
