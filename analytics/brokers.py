"""Reading Rasa's RabbitMQ (pika) and Kafka event brokers.

Both hand each batch to `analytics.consumer.ingest` and say "done" to the broker only after
its transaction: a RabbitMQ message is acknowledged, a Kafka offset committed. A consumer
that is down or cannot reach the broker loses nothing: the messages wait in the durable
queue (Rasa publishes them persistent) or in the topic, and come when it is back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from analytics.consumer import Ingested, ingest, observe_lag
from analytics.facts import Profiles
from analytics.settings import KafkaSettings
from analytics.store import AnalyticsStore
from monitoring.metrics import ANALYTICS_FAILURES

logger = logging.getLogger(__name__)

# Rasa's PikaEventBroker publishes to this fanout exchange, bound to the configured queues.
RASA_EXCHANGE = "rasa-exchange"


class PikaSource:
    """A durable RabbitMQ queue bound to Rasa's exchange, as Rasa itself declares them."""

    name = "pika"

    def __init__(
        self, url: str, queue: str, *, exchange: str = RASA_EXCHANGE, batch: int = 200
    ) -> None:
        self.url = url
        self.queue_name = queue
        self.exchange_name = exchange
        self.batch = batch
        self._connection: Any = None
        self._channel: Any = None
        self._queue: Any = None  # set by connect()

    async def connect(self) -> None:
        """Connect and declare what Rasa declares (fanout exchange, durable queue, binding)."""
        import aio_pika

        self._connection = await aio_pika.connect_robust(self.url, timeout=5)
        self._channel = await self._connection.channel()
        await self._channel.set_qos(prefetch_count=self.batch)
        exchange = await self._channel.declare_exchange(
            self.exchange_name, type=aio_pika.ExchangeType.FANOUT
        )
        self._queue = await self._channel.declare_queue(self.queue_name, durable=True)
        await self._queue.bind(exchange, "")

    async def close(self) -> None:
        """Close the connection (unacknowledged messages go back to the queue)."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def depth(self) -> int:
        """Messages waiting in the queue (RabbitMQ's count, from a passive declare)."""
        queue = await self._channel.declare_queue(self.queue_name, passive=True)
        return int(queue.declaration_result.message_count or 0)

    async def poll_once(self, store: AnalyticsStore, profiles: Profiles | None = None) -> Ingested:
        """Take up to a batch, store it, then acknowledge it; an empty queue: nothing."""
        if self._queue is None:
            await self.connect()
        queue: Any = self._queue
        messages = []
        for _ in range(self.batch):
            message = await queue.get(no_ack=False, fail=False, timeout=5)
            if message is None:
                break
            messages.append(message)
        if not messages:
            observe_lag(self.name, 0, None)
            return Ingested()
        bodies = [message.body for message in messages]
        try:
            result = await asyncio.to_thread(
                ingest, store, bodies, source=self.name, profiles=profiles
            )
        except Exception:
            ANALYTICS_FAILURES.labels(self.name, "store").inc()
            for message in messages:
                await message.nack(requeue=True)
            raise
        # One acknowledgement for the whole batch, after the facts are committed.
        await messages[-1].ack(multiple=True)
        observe_lag(self.name, await self.depth(), result.newest)
        return result


class KafkaSource:
    """A consumer group on Rasa's Kafka topic (offsets committed after each batch).

    Not run against a Kafka server in this project's tests (none is installed on the
    development machines): its settings and the configuration it builds are tested.
    """

    name = "kafka"

    def __init__(self, settings: KafkaSettings, batch: int = 200) -> None:
        self.settings = settings
        self.batch = batch
        self._consumer: Any = None

    def connect(self) -> None:
        """Create the consumer and subscribe to the topic."""
        from confluent_kafka import Consumer

        self._consumer = Consumer(self.settings.consumer_config())
        self._consumer.subscribe([self.settings.topic])

    def poll_once(self, store: AnalyticsStore, profiles: Profiles | None = None) -> Ingested:
        """Consume up to a batch, store it, then commit the offsets."""
        if self._consumer is None:
            self.connect()
        consumer: Any = self._consumer
        records = consumer.consume(num_messages=self.batch, timeout=1.0)
        bodies = []
        for record in records:
            if record.error():
                ANALYTICS_FAILURES.labels(self.name, "broker").inc()
                logger.warning("analytics: Kafka error: %s", record.error())
                continue
            bodies.append(record.value())
        if not bodies:
            return Ingested()
        result = ingest(store, bodies, source=self.name, profiles=profiles)
        consumer.commit(asynchronous=False)
        return result

    def close(self) -> None:
        """Leave the group."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
