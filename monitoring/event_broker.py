"""The event broker seen from a Rasa replica: failed publishes, events held back, queue depth.

Rasa 3.6's PikaEventBroker publishes every event in a background task, so a RabbitMQ that
is unreachable never slows a customer down. A publish that fails is kept in an in-memory
deque and published again when aio-pika has reconnected (it retries every 5 s), so the events
arrive late but whole; they are lost only if the replica stops before that. Rasa only logs
all this, so here it is counted:

- `assistant_event_broker_publish_failures_total`: publishes that failed (and were kept);
- `assistant_event_broker_unpublished`: events held in this process's memory right now;
- `assistant_event_queue_messages{queue}`: messages waiting in RabbitMQ's queues, read when
  Prometheus scrapes (a passive queue declaration on the broker's own connection), so a
  queue that nobody drains shows without another exporter.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from rasa.core.brokers.pika import PikaEventBroker

from monitoring.metrics import EVENT_PUBLISH_FAILURES

logger = logging.getLogger(__name__)

QUEUE_READ_TIMEOUT = 2.0
_INSTRUMENTED = "_mall_assistant_metrics"
_brokers: weakref.WeakSet[PikaEventBroker] = weakref.WeakSet()
# Queue name -> messages ready, as read at the latest scrape (absent when it could not be read).
_queue_depths: dict[str, int] = {}


class _CountedDeque(deque):
    """Rasa's deque of unpublished events: every event put back is a failed publish."""

    def append(self, event: Any) -> None:
        EVENT_PUBLISH_FAILURES.inc()
        super().append(event)


def instrument_pika_broker() -> None:
    """Count what PikaEventBroker keeps back, and remember the broker for the scrape (once)."""
    if getattr(PikaEventBroker.__init__, _INSTRUMENTED, False):
        return
    original = PikaEventBroker.__init__

    def __init__(self: PikaEventBroker, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._unpublished_events = _CountedDeque(self._unpublished_events)
        _brokers.add(self)

    setattr(__init__, _INSTRUMENTED, True)
    PikaEventBroker.__init__ = __init__


async def read_queue_depths() -> None:
    """Read every broker queue's depth (at scrape time); an unreachable broker leaves none."""
    _queue_depths.clear()
    for broker in list(_brokers):
        try:
            depths = await asyncio.wait_for(_depths(broker), QUEUE_READ_TIMEOUT)
        except Exception as error:  # the scrape must not fail because RabbitMQ does
            logger.debug("event queue depth unavailable: %s", error)
            continue
        _queue_depths.update(depths)


async def _depths(broker: PikaEventBroker) -> dict[str, int]:
    connection = broker._connection  # the broker's own connection: no second login
    if connection is None or connection.is_closed or not connection.connected.is_set():
        return {}
    channel = await connection.channel()
    try:
        depths = {}
        for name in broker.queues:
            queue = await channel.declare_queue(name, passive=True)
            depths[name] = int(queue.declaration_result.message_count or 0)
        return depths
    finally:
        await channel.close()


class EventBrokerCollector(Collector):
    """Events held back in memory, and the queue depths read at the latest scrape."""

    def collect(self) -> Iterator[Metric]:
        """Nothing without a pika broker in this process (development, other processes)."""
        brokers = list(_brokers)
        if not brokers:
            return
        held = GaugeMetricFamily(
            "assistant_event_broker_unpublished",
            "Events this Rasa process could not publish yet and holds in memory (RabbitMQ "
            "unreachable); published when it reconnects, lost if the process stops first",
        )
        held.add_metric([], float(sum(len(broker._unpublished_events) for broker in brokers)))
        yield held
        depth = GaugeMetricFamily(
            "assistant_event_queue_messages",
            "Messages waiting in the event broker's queue (read from RabbitMQ at scrape time)",
            labels=["queue"],
        )
        for name, count in sorted(_queue_depths.items()):
            depth.add_metric([name], float(count))
        yield depth


REGISTRY.register(EventBrokerCollector())
