"""The Rasa server's and the action server's metrics: discovery, guard, turn counting."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from prometheus_client import REGISTRY
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from monitoring import action_server
from monitoring.access import MetricsSettings
from monitoring.rasa_server import MetricsInput, instrument_rasa
from monitoring.sanic import metrics_handler


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def request(ip: str, **headers: str) -> SimpleNamespace:
    return SimpleNamespace(ip=ip, headers={k.replace("_", "-"): v for k, v in headers.items()})


def test_the_sanic_handler_answers_loopback_and_404s_outsiders_and_proxied_callers() -> None:
    handler = metrics_handler(MetricsSettings())
    outsider = asyncio.run(handler(request("203.0.113.9")))  # type: ignore[arg-type]
    assert outsider.status == 404 and b"assistant_" not in outsider.body
    proxied = asyncio.run(handler(request("127.0.0.1", x_forwarded_for="203.0.113.9")))  # type: ignore[arg-type]
    assert proxied.status == 404
    local = asyncio.run(handler(request("127.0.0.1")))  # type: ignore[arg-type]
    assert local.status == 200 and b"assistant_turn_seconds" in local.body


def test_rasa_sdk_discovers_the_metrics_plugin_and_it_adds_the_route() -> None:
    from rasa_sdk.plugin import plugin_manager

    assert action_server in plugin_manager().get_plugins()
    app = Sanic("actions_metrics_test")
    action_server.attach_sanic_app_extensions(app)
    assert any(route.path == "metrics" for route in app.router.routes)
    assert action_server.action_label("action_quote_price") == "action_quote_price"
    assert action_server.action_label("'; DROP TABLE --") == "other"
    assert action_server.action_label(None) == "other"


def test_a_customer_message_is_counted_and_timed_by_channel() -> None:
    instrument_rasa()
    instrument_rasa()  # twice is once
    before = value("assistant_messages_total", channel="web")
    timed = value("assistant_turn_seconds_count", channel="web")
    other = value("assistant_messages_total", channel="other")
    agent = Agent()  # no model: it ignores the message, but the turn is still a turn
    asyncio.run(agent.handle_message(UserMessage("你好", input_channel="web")))
    asyncio.run(agent.handle_message(UserMessage("hi", input_channel="a-customer-id-123")))
    assert value("assistant_messages_total", channel="web") == before + 1
    assert value("assistant_turn_seconds_count", channel="web") == timed + 1
    assert value("assistant_messages_total", channel="other") == other + 1  # closed label set


def test_a_failing_tracker_store_is_counted_not_just_logged() -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore

    class Broken(InMemoryTrackerStore):
        async def retrieve(self, sender_id: str) -> None:
            raise ConnectionError("PostgreSQL is down")

        async def save(self, tracker: object) -> None:
            raise ConnectionError("PostgreSQL is down")

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    instrument_rasa()
    store = FailSafeTrackerStore(Broken(Domain.empty()))
    retrieved = value("assistant_tracker_store_failures_total", operation="retrieve")
    saved = value("assistant_tracker_store_failures_total", operation="save")
    assert asyncio.run(store.retrieve("wx-1")) is None  # Rasa carries on without it ...
    asyncio.run(store.save(DialogueStateTracker("wx-1", [])))  # ... and keeps it in memory
    assert value("assistant_tracker_store_failures_total", operation="retrieve") == retrieved + 1
    assert value("assistant_tracker_store_failures_total", operation="save") == saved + 1


def test_the_metrics_channel_serves_under_webhooks_metrics() -> None:
    channel = MetricsInput.from_credentials(None)
    assert channel.name() == "metrics"
    routes = channel.blueprint(lambda message: asyncio.sleep(0))
    assert [route.uri for route in routes._future_routes] == ["/"]
