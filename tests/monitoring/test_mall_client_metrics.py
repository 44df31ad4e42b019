"""The action server's calls to the mall: latency by operation and outcome, errors, breaker."""

from __future__ import annotations

import socket

import pytest
from prometheus_client import REGISTRY

from actions.clients.errors import CircuitOpen, MallUnavailable, NotFound
from actions.clients.metrics import operation
from tests.actions.test_mall_client import PRODUCT, FakeMallServer, client_for, server

__all__ = ["server"]  # the fixture


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def calls(outcome: str) -> float:
    return value("actions_mall_call_seconds_count", operation="GET /products", outcome=outcome)


def test_operations_name_the_resource_never_the_id() -> None:
    assert operation("GET", "/products/P1001") == "GET /products"
    assert operation("POST", "/customers/wx-o7Xh2-vip/coupons") == "POST /customers"
    assert operation("GET", "/policies?name=shipping") == "GET /policies"


def test_answers_and_refusals_are_outcomes_not_errors(server: FakeMallServer) -> None:
    server.routes["GET /products/P1001"] = lambda q, b: (200, PRODUCT)
    server.routes["GET /products/P9999"] = lambda q, b: (404, {"error": "not_found"})
    ok = value("actions_mall_call_seconds_count", operation="GET /products", outcome="ok")
    missing = value(
        "actions_mall_call_seconds_count", operation="GET /products", outcome="not_found"
    )
    errors = sum(value("actions_mall_call_errors_total", kind=k) for k in ("unavailable", "error"))
    client = client_for(server.url)
    client.get_product("P1001")
    with pytest.raises(NotFound):
        client.get_product("P9999")
    assert (
        value("actions_mall_call_seconds_count", operation="GET /products", outcome="ok") == ok + 1
    )
    assert (
        value("actions_mall_call_seconds_count", operation="GET /products", outcome="not_found")
        == missing + 1
    )
    after = sum(value("actions_mall_call_errors_total", kind=k) for k in ("unavailable", "error"))
    assert after == errors
    assert value("actions_mall_breaker_open") == 0


def test_a_mall_that_is_down_counts_errors_and_opens_the_breaker_gauge() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client = client_for(f"http://127.0.0.1:{port}", retries=0)
    unavailable = value("actions_mall_call_errors_total", kind="unavailable")
    refused = value("actions_mall_call_errors_total", kind="breaker_open")
    for _ in range(client.breaker.threshold):
        with pytest.raises(MallUnavailable):
            client.get_product("P1001")
    assert value("actions_mall_breaker_open") == 1
    with pytest.raises(CircuitOpen):
        client.get_product("P1001")
    assert value("actions_mall_call_errors_total", kind="unavailable") == unavailable + 3
    assert value("actions_mall_call_errors_total", kind="breaker_open") == refused + 1
