"""The metrics endpoints, probed as an outsider: from another address, through a proxy."""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

import pytest

from tests.outsider.conftest import Target

pytestmark = pytest.mark.integration


def outside_address() -> str | None:
    """A non-loopback address of this machine, to send requests from."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def get(url: str, source: str | None = None, **headers: str) -> tuple[int, str]:
    """GET `url`, the connection made from `source` (an address of this machine)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1",
        parts.port,
        timeout=10,
        source_address=(source, 0) if source else None,
    )
    try:
        connection.request("GET", parts.path or "/", headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read().decode(errors="replace")
    finally:
        connection.close()


def metrics_urls(target: Target) -> list[str]:
    return [
        f"{target.rasa}/webhooks/metrics/",
        f"{target.settings.actions_url}/metrics",
        f"{target.mall}/metrics",
        f"{target.desk}/metrics",
        f"{target.settings.analytics_url}/metrics",
    ]


def test_metrics_are_not_found_from_another_address_with_or_without_a_token(
    target: Target,
) -> None:
    source = outside_address()
    if source is None:
        pytest.skip("this machine has no non-loopback address to probe from")
    for url in metrics_urls(target):
        status, body = get(url)  # the probe reaches the real endpoint from loopback ...
        assert status == 200 and "process_resident_memory_bytes" in body, url
        for headers in ({}, {"Authorization": "Bearer guessed-metrics-token-0123"}):
            status, body = get(url, source, **headers)  # ... and not from outside
            assert status == 404, (url, headers)
            assert "process_" not in body and "assistant_" not in body


def test_metrics_are_not_found_through_a_proxy_on_the_same_host(target: Target) -> None:
    for url in metrics_urls(target):
        for header in ("X-Forwarded-For", "X-Real-IP"):
            status, body = get(url, **{header: "203.0.113.9"})
            assert status == 404, (url, header)
            assert "process_" not in body
        status, _ = get(url, Forwarded="for=203.0.113.9")
        assert status == 404, url
