"""Rasa's pika event broker and the consumer on the machine's real RabbitMQ, with outages.

Rasa reaches RabbitMQ through a TCP relay this test can cut, so "RabbitMQ unreachable" is
real for Rasa's `PikaEventBroker` (aio-pika's robust connection) while other users of the
shared RabbitMQ carry on. Queue and exchange names are unique per test and deleted after.
Skipped when no RabbitMQ listens on 127.0.0.1:5672.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import rasa.shared.core.events  # noqa: F401  (the broker refers to it; `rasa run` imports it)
from prometheus_client import REGISTRY
from rasa.core.brokers.pika import PikaEventBroker
from rasa.shared.exceptions import ConnectionException

from analytics.brokers import PikaSource
from analytics.store import AnalyticsStore

RABBITMQ = ("127.0.0.1", 5672)
URL = "amqp://guest:guest@127.0.0.1:5672/"

pytestmark = pytest.mark.integration


def _rabbitmq_up() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(RABBITMQ, timeout=1):
        return True
    return False


if not _rabbitmq_up():
    pytestmark = [pytest.mark.integration, pytest.mark.skip(reason="no RabbitMQ on 5672")]


class Relay:
    """A TCP relay to RabbitMQ that can be cut (every connection dropped, nothing accepted)."""

    def __init__(self) -> None:
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*RABBITMQ)
        self.links |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            target.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def event(sender: str, n: int) -> dict[str, Any]:
    return {
        "sender_id": sender,
        "event": "user",
        "timestamp": 1_790_000_000.0 + n,
        "text": f"消息{n}",
        "parse_data": {"intent": {"name": "greet", "confidence": 0.9}},
        "input_channel": "web",
    }


@contextlib.asynccontextmanager
async def names() -> AsyncIterator[tuple[str, str]]:
    """A unique queue and exchange, deleted afterwards."""
    import aio_pika

    suffix = uuid.uuid4().hex[:10]
    queue, exchange = f"test_analytics_{suffix}", f"test-analytics-{suffix}"
    try:
        yield queue, exchange
    finally:
        connection = await aio_pika.connect(URL, timeout=5)
        async with connection:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(queue)
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(exchange)


async def drain(source: PikaSource, store: AnalyticsStore, expected: int) -> int:
    stored = 0
    deadline = time.monotonic() + 20
    while stored < expected and time.monotonic() < deadline:
        stored += (await source.poll_once(store)).stored
        await asyncio.sleep(0.05)
    return stored


async def wait_until(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def test_events_wait_in_the_queue_while_the_consumer_is_down(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with names() as (queue, exchange):
            # The consumer declares its queue once (as at its first start), then is down.
            first = PikaSource(URL, queue, exchange=exchange)
            await first.connect()
            await first.close()
            broker = PikaEventBroker(
                "127.0.0.1", "guest", "guest", queues=[queue], exchange_name=exchange
            )
            await broker.connect()
            for n in range(30):
                broker.publish(event("web-pika-1", n))
            await wait_until(lambda: not broker._background_tasks)
            await broker.close()
            store = AnalyticsStore(f"sqlite:///{tmp_path / 'a.db'}")
            source = PikaSource(URL, queue, exchange=exchange, batch=8)
            await source.connect()
            assert await source.depth() == 30
            assert await drain(source, store, 30) == 30
            assert REGISTRY.get_sample_value("analytics_broker_backlog", {"source": "pika"}) == 0
            await source.close()
            assert store.counts()["analytics_events"] == 30
            store.dispose()

    asyncio.run(scenario())


def test_rasa_keeps_what_it_could_not_publish_and_sends_it_after_an_outage(
    tmp_path: Path,
) -> None:
    """What Rasa 3.6's PikaEventBroker does when RabbitMQ goes away mid-conversation."""

    async def scenario() -> dict[str, Any]:
        async with names() as (queue, exchange):
            relay = Relay()
            await relay.start()
            broker = PikaEventBroker(
                "127.0.0.1",
                "guest",
                "guest",
                port=relay.port,
                queues=[queue],
                exchange_name=exchange,
            )
            await broker.connect()
            store = AnalyticsStore(f"sqlite:///{tmp_path / 'a.db'}")
            source = PikaSource(URL, queue, exchange=exchange)
            await source.connect()
            for n in range(5):
                broker.publish(event("web-pika-2", n))
            assert await drain(source, store, 5) == 5
            await relay.cut()
            await asyncio.sleep(1)
            # Rasa does not notice: its robust connection is "not closed" while it retries.
            ready_during_outage = broker.is_ready()
            for n in range(5, 12):
                broker.publish(event("web-pika-2", n))
            await wait_until(lambda: not broker._background_tasks, 30)
            kept = len(broker._unpublished_events)
            await relay.start()  # the same port again: RabbitMQ is reachable again
            # aio-pika reconnects on its own (every 5 s); Rasa then publishes what it kept.
            await wait_until(lambda: not broker._unpublished_events, 30)
            stored = 5 + await drain(source, store, 7)
            await broker.close()
            await source.close()
            await relay.cut()
            store.dispose()
            return {"kept": kept, "stored": stored, "ready": ready_during_outage}

    outcome = asyncio.run(scenario())
    # Every event published during the outage was kept in Rasa's deque and delivered later.
    assert outcome["kept"] == 7
    assert outcome["stored"] == 12
    assert outcome["ready"] is True


def test_a_rasa_restart_during_an_outage_loses_its_deque_and_recovery_counts_it(
    tmp_path: Path,
) -> None:
    """Rasa's deque lives in memory: a restart while RabbitMQ is away drops it. The turns are
    in the tracker store, so the consumer's recovery stores them and counts the loss."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from analytics.consumer import recover

    async def scenario() -> tuple[int, int, float]:
        async with names() as (queue, exchange):
            relay = Relay()
            await relay.start()
            broker = PikaEventBroker(
                "127.0.0.1",
                "guest",
                "guest",
                port=relay.port,
                queues=[queue],
                exchange_name=exchange,
            )
            await broker.connect()
            trackers = SQLTrackerStore(
                Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"), event_broker=broker
            )
            store = AnalyticsStore(f"sqlite:///{tmp_path / 'a.db'}")
            source = PikaSource(URL, queue, exchange=exchange)
            await source.connect()
            now = time.time()
            turn = [
                ActionExecuted("action_listen", timestamp=now),
                UserUttered("在吗", {"name": "greet", "confidence": 0.9}, timestamp=now + 1),
                BotUttered("在的", timestamp=now + 2),
            ]
            await trackers.save(DialogueStateTracker.from_events("web-pika-3", turn[:1]))
            delivered = await drain(source, store, 1)
            await relay.cut()
            await asyncio.sleep(1)
            await trackers.save(DialogueStateTracker.from_events("web-pika-3", turn))
            await wait_until(lambda: not broker._background_tasks, 30)
            assert len(broker._unpublished_events) == 2
            # Rasa restarts: the broker object (and its deque) is gone.
            broker._unpublished_events.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(broker.close(), timeout=5)
            before = REGISTRY.get_sample_value("analytics_events_recovered_total") or 0.0
            recovered = recover(store, f"sqlite:///{tmp_path / 't.db'}", since=now - 60)
            after = REGISTRY.get_sample_value("analytics_events_recovered_total") or 0.0
            await source.close()
            trackers.engine.dispose()
            store.dispose()
            return delivered, recovered.stored, after - before

    delivered, recovered, counted = asyncio.run(scenario())
    assert (delivered, recovered, counted) == (1, 2, 2.0)


def test_rasa_gives_up_starting_when_rabbitmq_is_unreachable() -> None:
    """At start Rasa tries `connection_attempts` times, then refuses to run (no events lost:
    it serves nothing)."""
    from rasa.core.brokers.broker import EventBroker
    from rasa.utils.endpoints import EndpointConfig

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = EndpointConfig(
        url="127.0.0.1",
        type="pika",
        port=port,
        username="guest",
        password="guest",
        queues=["never"],
        connection_attempts=2,
        retry_delay_in_seconds=0.1,
    )
    with pytest.raises(ConnectionException):
        asyncio.run(EventBroker.create(config))
