"""Every process of the running assistant exports its metrics, to loopback callers only."""

from __future__ import annotations

import re

import pytest
import requests

from launcher.stack import Stack
from tests.integration.conftest import Customer, tracker

pytestmark = pytest.mark.integration


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = ",".join(sorted((match.group(2) or "{}")[1:-1].split(","))) if labels else ""
        if found == wanted or (not labels and not match.group(2)):
            return float(match.group(3))
    return 0.0


def test_every_process_exports_metrics_about_what_it_did(stack: Stack) -> None:
    settings = stack.settings
    customer = Customer(settings.rasa_url)
    assert "¥" in customer.say_text("蓝牙耳机多少钱")
    for text in ("今天天气怎么样", "给我讲个笑话吧"):  # out of scope: not understood
        customer.say_text(text)
    events = tracker(settings.rasa_url, settings.rasa_api_token, customer.sender)["events"]
    intents = [e["parse_data"]["intent"]["name"] for e in events if e["event"] == "user"]
    assert "nlu_fallback" in intents, intents

    rasa = requests.get(f"{settings.rasa_url}/webhooks/metrics/", timeout=10)
    assert rasa.status_code == 200
    assert sample(rasa.text, "assistant_messages_total", channel="rest") >= 2
    assert sample(rasa.text, "assistant_turn_seconds_count", channel="rest") >= 2
    assert sample(rasa.text, "assistant_fallbacks_total", channel="rest") >= intents.count(
        "nlu_fallback"
    )
    assert sample(rasa.text, "process_resident_memory_bytes") > 50e6

    actions = requests.get(f"{settings.actions_url}/metrics", timeout=10)
    assert actions.status_code == 200
    assert sample(actions.text, "actions_run_seconds_count", action="action_quote_price") >= 1
    assert 'actions_mall_call_seconds_count{operation="GET /products",outcome="ok"}' in actions.text
    assert sample(actions.text, "actions_mall_breaker_open") == 0

    mall = requests.get(f"{settings.mall_url}/metrics", timeout=10)
    assert mall.status_code == 200 and "mall_handoffs_waiting" in mall.text
    desk = requests.get(f"{settings.desk_url}/metrics", timeout=10)
    assert desk.status_code == 200 and "http_request_duration_seconds" in desk.text


def test_metrics_through_a_proxy_or_with_the_wrong_route_are_not_found(stack: Stack) -> None:
    settings = stack.settings
    # What a reverse proxy on the same host would forward for an outsider.
    forwarded = {"X-Forwarded-For": "203.0.113.50"}
    for url in (
        f"{settings.rasa_url}/webhooks/metrics/",
        f"{settings.actions_url}/metrics",
        f"{settings.mall_url}/metrics",
        f"{settings.desk_url}/metrics",
    ):
        answer = requests.get(url, headers=forwarded, timeout=10)
        assert answer.status_code == 404, url
        assert "process_resident_memory_bytes" not in answer.text
    assert requests.get(f"{settings.rasa_url}/metrics", timeout=10).status_code == 404
