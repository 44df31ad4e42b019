"""What every action guarantees: registered under its domain name, never silent, never stuck."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import SORRY_RESPONSE, MallAction
from actions.clients.mall import default_mall_client
from actions.sales import ActionQuotePrice, ActionWelcome
from actions.settings import get_settings
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import (
    DOMAIN,
    DOMAIN_ACTIONS,
    entity,
    make_tracker,
    run_action,
    texts,
)


def test_executor_registers_exactly_the_domain_actions() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    # Classes defined by test modules are subclasses too; count only the product's own.
    registered = {
        name
        for name, run in executor.actions.items()
        if type(run.__self__).__module__.startswith("actions.")
    }
    assert registered == set(DOMAIN_ACTIONS)


def test_actions_build_without_a_mall() -> None:
    # The executor instantiates with no arguments; nothing may connect at that point.
    action = ActionQuotePrice()
    assert action._mall is None


def test_default_client_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALL_API_URL", "http://10.0.0.7:8080/")
    monkeypatch.setenv("MALL_API_READ_TIMEOUT", "1.5")
    monkeypatch.setenv("MALL_API_TOKEN", "env-service-token-0123456789")
    get_settings.cache_clear()
    default_mall_client.cache_clear()
    try:
        client = ActionQuotePrice().mall
        assert client.base_url == "http://10.0.0.7:8080"
        assert client._timeout == (1.0, 1.5)
        assert ActionWelcome().mall is client  # one pooled client per process
    finally:
        get_settings.cache_clear()
        default_mall_client.cache_clear()


def test_used_responses_exist_in_the_domain() -> None:
    for response in ("utter_service_unavailable", "utter_default"):
        assert response in DOMAIN["responses"]


class ActionHalfThenBug(MallAction):
    """Says something, then hits a bug."""

    def name(self) -> str:
        return "action_half_then_bug"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text="半句话")
        raise KeyError("price")


def test_a_bug_gets_a_polite_line_and_no_stack_trace(
    mall: LiveMall, caplog: pytest.LogCaptureFixture
) -> None:
    messages, events = run_action(ActionHalfThenBug(mall), make_tracker())
    assert [m["response"] for m in messages] == [SORRY_RESPONSE]
    assert texts(messages).startswith("抱歉，我这边出了点小问题")
    assert "Traceback" not in texts(messages) and "KeyError" not in texts(messages)
    assert events == []
    assert any(r.exc_info for r in caplog.records)  # the operator gets the traceback


def test_mall_down_is_logged_with_sender_and_action(
    mall: LiveMall, caplog: pytest.LogCaptureFixture
) -> None:
    mall.unavailable = True
    run_action(ActionQuotePrice(mall), make_tracker(sender_id="wx-openid-9", text="耳机多少钱"))
    warning = next(r for r in caplog.records if r.levelname == "WARNING")
    assert "wx-openid-9" in warning.getMessage()
    assert "action_quote_price" in warning.getMessage()


def test_slow_mall_does_not_block_the_event_loop(mall: LiveMall) -> None:
    mall.delay = 0.1  # every call blocks its thread for 100 ms
    tracker = make_tracker(entities=[entity("product", "耳机")])

    async def scenario() -> tuple[list[dict[str, Any]], int, float]:
        ticks = 0
        done = asyncio.Event()

        async def heartbeat() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        beating = asyncio.create_task(heartbeat())
        dispatcher = CollectingDispatcher()
        started = time.monotonic()
        await ActionQuotePrice(mall).run(dispatcher, tracker, DOMAIN)
        elapsed = time.monotonic() - started
        done.set()
        await beating
        return dispatcher.messages, ticks, elapsed

    messages, ticks, elapsed = asyncio.run(scenario())
    assert "到手价¥299" in texts(messages)
    assert elapsed >= 0.1  # the price turn's one mall call (the consult) blocked 100 ms
    # A loop blocked by the call could not tick while it runs (at most once in all);
    # a free loop ticks about every 10 ms of the 100+ ms the call takes.
    assert ticks >= 5
