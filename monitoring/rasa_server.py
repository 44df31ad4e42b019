"""Metrics for the Rasa server, as a channel: GET /webhooks/metrics/ and turn instrumentation.

Rasa 3.6 offers no hook around a turn, so this channel, when Rasa builds it from
credentials.yml, wraps two methods once: `Agent.handle_message` (one customer message, lock
wait included: what the customer waits for) and `MessageProcessor.parse_message` (to count
messages not understood). Labels: the channel the message came through.
The event broker is counted too (monitoring/event_broker.py).
The metrics route answers METRICS_TOKEN, else direct loopback callers only; Rasa's port faces
customers, so everything else gets 404.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore
from sanic import Blueprint

# The channels package gates Agent.handle_message (channels/turns.py): imported first, so the
# metrics' wrapper goes around the gate and a turn's time includes its wait for a place.
import channels  # noqa: F401
from monitoring.access import MetricsSettings
from monitoring.event_broker import instrument_pika_broker, read_queue_depths
from monitoring.metrics import (
    FALLBACKS,
    MESSAGES,
    SAFETY_NET_CHANNELS,
    TRACKER_STORE_FAILURES,
    TURN_ERRORS,
    TURN_SECONDS,
    channel_label,
)
from monitoring.sanic import metrics_handler

FALLBACK_INTENT = "nlu_fallback"
_INSTRUMENTED = "_mall_assistant_metrics"


def instrument_rasa() -> None:
    """Wrap Agent.handle_message and MessageProcessor.parse_message with metrics (once)."""
    if getattr(Agent.handle_message, _INSTRUMENTED, False):
        return
    handle = Agent.handle_message
    parse = MessageProcessor.parse_message

    @functools.wraps(handle)
    async def handle_message(self: Agent, message: UserMessage) -> Any:
        channel = channel_label(message.input_channel)
        MESSAGES.labels(channel).inc()
        started = time.perf_counter()
        try:
            return await handle(self, message)
        except Exception:
            # The web and WeChat channels' safety net answers and counts it (no_answer).
            if channel not in SAFETY_NET_CHANNELS:
                TURN_ERRORS.labels(channel, "exception").inc()
            raise
        finally:
            TURN_SECONDS.labels(channel).observe(time.perf_counter() - started)

    @functools.wraps(parse)
    async def parse_message(
        self: MessageProcessor, message: UserMessage, *args: Any, **kw: Any
    ) -> Any:
        parsed = await parse(self, message, *args, **kw)
        # Messages of a channel only: /model/parse (no channel) is not a customer's turn.
        if message.input_channel and (parsed.get("intent") or {}).get("name") == FALLBACK_INTENT:
            FALLBACKS.labels(channel_label(message.input_channel)).inc()
        return parsed

    # Rasa's fail-safe tracker store only logs when the real store fails and carries on in
    # memory: the conversation's record is lost. Count it, so the loss is never silent.
    on_save_error = FailSafeTrackerStore.on_tracker_store_error
    on_retrieve_error = FailSafeTrackerStore.on_tracker_store_retrieve_error

    def tracker_store_error(self: FailSafeTrackerStore, error: Exception) -> None:
        TRACKER_STORE_FAILURES.labels("save").inc()
        on_save_error(self, error)

    def tracker_store_retrieve_error(self: FailSafeTrackerStore, error: Exception) -> None:
        TRACKER_STORE_FAILURES.labels("retrieve").inc()
        on_retrieve_error(self, error)

    setattr(handle_message, _INSTRUMENTED, True)
    Agent.handle_message = handle_message
    MessageProcessor.parse_message = parse_message
    FailSafeTrackerStore.on_tracker_store_error = tracker_store_error
    FailSafeTrackerStore.on_tracker_store_retrieve_error = tracker_store_retrieve_error


class MetricsInput(InputChannel):
    """Not a chat channel: the Rasa process's metrics, at GET /webhooks/metrics/."""

    def __init__(self, settings: MetricsSettings | None = None) -> None:
        self.settings = settings or MetricsSettings.from_env()
        instrument_rasa()
        # Rasa builds the channels before it connects the event broker: in time to count it.
        instrument_pika_broker()

    @classmethod
    def name(cls) -> str:
        """The channel's name: its routes live under /webhooks/metrics/."""
        return "metrics"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """No credentials here: METRICS_TOKEN comes from the environment (MetricsSettings)."""
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """GET / with the metrics (the route takes no messages)."""
        routes = Blueprint("metrics_channel", __name__)
        handler = metrics_handler(self.settings, refresh=read_queue_depths)
        routes.add_route(handler, "/", methods=["GET"], name="metrics")
        return routes
