"""Rasa's PikaEventBroker when RabbitMQ goes away and comes back, and what the metrics show.

The broker talks to the machine's RabbitMQ (127.0.0.1:5672, guest) through a proxy this test
cuts, on a queue and an exchange of its own, removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import aio_pika
import pytest
import rasa.shared.core.events  # noqa: F401  (the broker reads it; `rasa run` has it loaded)
from prometheus_client import REGISTRY
from rasa.core.brokers.pika import PikaEventBroker

from monitoring.event_broker import instrument_pika_broker, read_queue_depths
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration
RABBITMQ = ("127.0.0.1", 5672)
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return await check()


async def drain(queue_name: str) -> list[str]:
    """Every message's `text` in the queue, consumed and acknowledged."""
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    texts = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        while (message := await queue.get(fail=False, timeout=5)) is not None:
            texts.append(json.loads(message.body)["text"])
            await message.ack()
    return texts


async def remove(queue_name: str, exchange_name: str) -> None:
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue_name)
        await channel.exchange_delete(exchange_name)


async def outage_drill(queue_name: str, exchange_name: str) -> None:
    instrument_pika_broker()
    with TcpProxy(RABBITMQ) as proxy:
        broker = PikaEventBroker(
            "127.0.0.1",
            "guest",
            "guest",
            port=proxy.port,
            queues=[queue_name],
            exchange_name=exchange_name,
            connection_attempts=1,
            event_loop=asyncio.get_running_loop(),
        )
        await broker.connect()

        def publish(text: str) -> None:
            broker.publish({"event": "user", "text": text, "sender_id": "drill"})

        async def depth_is(count: int) -> bool:
            await read_queue_depths()
            return value("assistant_event_queue_messages", queue=queue_name) == count

        publish("before")
        assert await eventually(lambda: depth_is(1), 10)
        failures = value("assistant_event_broker_publish_failures_total")

        proxy.cut()
        await asyncio.sleep(0.5)  # the client sees the connection end
        publish("during-1")
        publish("during-2")

        async def held_back() -> bool:
            return value("assistant_event_broker_unpublished") == 2

        assert await eventually(held_back, 5), "the failed publishes are not held back"
        assert value("assistant_event_broker_publish_failures_total") == failures + 2
        await read_queue_depths()  # unreachable: no stale depth is exported
        assert (
            REGISTRY.get_sample_value("assistant_event_queue_messages", {"queue": queue_name})
            is None
        )

        proxy.restore()  # aio-pika reconnects within its 5 s and Rasa publishes what it kept

        async def delivered() -> bool:
            return value("assistant_event_broker_unpublished") == 0 and await depth_is(3)

        assert await eventually(delivered, 20), "the held-back events were not delivered"
        await broker.close()
    assert Counter(await drain(queue_name)) == Counter(["before", "during-1", "during-2"])


def test_events_published_while_rabbitmq_is_down_arrive_once_it_is_back() -> None:
    suffix = uuid.uuid4().hex[:10]
    queue_name, exchange_name = f"drill_events_{suffix}", f"drill-exchange-{suffix}"
    try:
        asyncio.run(outage_drill(queue_name, exchange_name))
    finally:
        asyncio.run(remove(queue_name, exchange_name))
