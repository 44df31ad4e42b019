"""Who may read /metrics: the token's holder, else a direct loopback caller only."""

from __future__ import annotations

import pytest

from monitoring.access import MetricsSettings, may_read_metrics
from security.tokens import SecretError

TOKEN = "metrics-token-0123456789abcdef"


def headers(**values: str) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in values.items()}


def test_without_a_token_only_direct_loopback_callers_may_read() -> None:
    open_to_loopback = MetricsSettings()
    assert may_read_metrics(open_to_loopback, "127.0.0.1", {}.get)
    assert may_read_metrics(open_to_loopback, "::1", {}.get)
    assert not may_read_metrics(open_to_loopback, "203.0.113.7", {}.get)
    assert not may_read_metrics(open_to_loopback, "10.0.0.5", {}.get)
    assert not may_read_metrics(open_to_loopback, None, {}.get)
    assert not may_read_metrics(open_to_loopback, "testclient", {}.get)
    # A proxy on the same machine makes every outsider look local: forwarded is refused.
    for forwarded in (
        headers(x_forwarded_for="203.0.113.7"),
        headers(forwarded="for=203.0.113.7"),
        headers(x_real_ip="203.0.113.7"),
    ):
        assert not may_read_metrics(open_to_loopback, "127.0.0.1", forwarded.get)


def test_with_a_token_every_caller_needs_it_even_on_loopback() -> None:
    settings = MetricsSettings(token=TOKEN)
    assert may_read_metrics(settings, "203.0.113.7", {"authorization": f"Bearer {TOKEN}"}.get)
    assert not may_read_metrics(settings, "127.0.0.1", {}.get)
    assert not may_read_metrics(settings, "127.0.0.1", {"authorization": "Bearer wrong"}.get)
    assert not may_read_metrics(settings, "127.0.0.1", {"authorization": TOKEN}.get)


def test_a_weak_token_is_refused_and_none_means_loopback_only() -> None:
    assert MetricsSettings.from_env({}).token == ""
    assert MetricsSettings.from_env({"METRICS_TOKEN": TOKEN}).token == TOKEN
    with pytest.raises(SecretError, match="METRICS_TOKEN"):
        MetricsSettings.from_env({"METRICS_TOKEN": "changeme"})
