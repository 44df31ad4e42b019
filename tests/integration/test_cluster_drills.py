"""Chaos drills on `make cluster`: RabbitMQ goes away, WeChat retries through a failover, a
widget resend lands on the other replica.

The cluster talks to the machine's RabbitMQ through a proxy the test cuts (the broker itself
serves other people), on a queue and an exchange of its own; WeChat is the fake API on
loopback, with an app id of its own. Skipped when a store or HAProxy is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import redis
import requests

from launcher.cluster import Backends, Cluster, ClusterError, check_backends, drop_databases
from tests.channels.wechat.fake_wechat import FakeWeChat, running_fake
from tests.channels.wechat.protocol import Account
from tests.integration.conftest import stack_settings
from tests.integration.tcp_proxy import TcpProxy
from tests.integration.test_cluster import conversation, free_base, restart
from tests.integration.test_supervision import WebCustomer

pytestmark = pytest.mark.integration

SUFFIX = uuid.uuid4().hex[:10]
QUEUE, EXCHANGE = f"drill_events_{SUFFIX}", f"drill-exchange-{SUFFIX}"
# The analytics consumer reads QUEUE; the drills read their own copy of every event from a
# second queue on the same (fanout) exchange.
OBSERVED = f"drill_observed_{SUFFIX}"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
APP_ID = f"wxdrill{SUFFIX}"
APP_SECRET = "drill-secret-0123456789"
TOKEN = "mallDrillToken"
AES_KEY = "Zm9yLXRoZS1tYWxsLWFzc2lzdGFudC13ZWNoYXQtdGVzdA"[:43]
# `make cluster`'s Redis databases: the lock store's, and the channels' (lock + 2).
LOCKS = redis.Redis(host="127.0.0.1", port=6379, db=0)
CHANNELS = redis.Redis(host="127.0.0.1", port=6379, db=2)


@pytest.fixture(scope="module")
def broker_proxy() -> Iterator[TcpProxy]:
    with TcpProxy(("127.0.0.1", 5672)) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeWeChat]:
    with running_fake(APP_ID, APP_SECRET) as fake:
        yield fake


@pytest.fixture(scope="module")
def cluster(
    trained_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
    broker_proxy: TcpProxy,
    fake_api: FakeWeChat,
) -> Iterator[Cluster]:
    backends = Backends(
        rabbitmq_url=f"amqp://guest:guest@127.0.0.1:{broker_proxy.port}/",
        rabbitmq_queue=QUEUE,
        rabbitmq_exchange=EXCHANGE,
        mall_database=f"mall_assistant_test_{SUFFIX}_mall",
        tracker_database=f"mall_assistant_test_{SUFFIX}_rasa",
        analytics_database=f"mall_assistant_test_{SUFFIX}_analytics",
    )
    try:
        check_backends(backends)
    except ClusterError as missing:
        pytest.skip(str(missing))
    base = stack_settings(tmp_path_factory.mktemp("cluster-drills"))
    wechat = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "WECHAT_API_BASE_URL": fake_api.url,
    }
    settings = base.replace(
        rasa_port=free_base(),
        actions_port=free_base(),
        extra_env={**base.extra_env, **wechat, "WEB_CLIENT_RATE_LIMIT": "0"},
    )
    running = Cluster(settings, backends)
    try:
        running.start(timeout=420)
        asyncio.run(observe_the_exchange())
        yield running
    finally:
        running.stop()
        drop_databases(backends)
        asyncio.run(remove_queue())
        for key in CHANNELS.scan_iter(f"wechat:{APP_ID}:*"):
            CHANNELS.delete(key)


async def observe_the_exchange() -> None:
    """Bind the drills' own queue to the exchange Rasa declared at start."""
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(OBSERVED, durable=True)
        await queue.bind(EXCHANGE)


async def remove_queue() -> None:
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(QUEUE)
        await channel.queue_delete(OBSERVED)
        await channel.exchange_delete(EXCHANGE)


async def queued_events() -> list[dict[str, Any]]:
    """Every event in the drills' queue (consumed: each drill reads what it caused)."""
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    events = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(OBSERVED, passive=True)
        while (message := await queue.get(fail=False, timeout=5)) is not None:
            events.append(json.loads(message.body))
            await message.ack()
    return events


def scraped(cluster: Cluster, metric: str) -> list[float]:
    """The metric's samples on each Rasa replica (labels ignored)."""
    values = []
    for name in cluster.names("rasa"):
        text = requests.get(f"{cluster.replica_url(name)}/webhooks/metrics/", timeout=10).text
        pattern = rf"^{metric}(?:\{{[^}}]*\}})? (\S+)$"
        values += [float(value) for value in re.findall(pattern, text, re.M)]
    return values


def eventually(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return bool(check())


def test_rabbitmq_down_customers_answered_turns_kept_events_delivered_after(
    cluster: Cluster, broker_proxy: TcpProxy
) -> None:
    customer = WebCustomer(cluster.settings, f"web-drill-{SUFFIX}")
    assert "¥" in customer.say_text("蓝牙耳机多少钱")
    # The replicas read the queue's depth at scrape time (the analytics consumer keeps it
    # near 0, so the gauge's presence is what is checked).
    assert eventually(lambda: len(scraped(cluster, "assistant_event_queue_messages")) > 0, 20)
    failures = sum(scraped(cluster, "assistant_event_broker_publish_failures_total"))

    broker_proxy.cut()
    cut_at = time.monotonic()
    try:
        during = [customer.say_text("包邮吗"), customer.say_text("有优惠吗")]
        answered_in = time.monotonic() - cut_at
        assert all(text.strip() for text in during), during
        assert "券" in during[1], during  # a normal answer, not the safety net's apology
        # The events are held back, and it shows: counted, and waiting in memory.
        assert eventually(
            lambda: sum(scraped(cluster, "assistant_event_broker_unpublished")) > 0, 10
        )
        held = sum(scraped(cluster, "assistant_event_broker_unpublished"))
        assert sum(scraped(cluster, "assistant_event_broker_publish_failures_total")) > failures
        # No stale queue depth while the broker cannot be read.
        assert scraped(cluster, "assistant_event_queue_messages") == []
    finally:
        broker_proxy.restore()
    restored_at = time.monotonic()
    # No turn is lost from the tracker store.
    users = [e["text"] for e in conversation(cluster, customer.sender) if e["event"] == "user"]
    assert users == ["蓝牙耳机多少钱", "包邮吗", "有优惠吗"]
    # aio-pika reconnects within 5 s; Rasa then publishes what it held.
    assert eventually(
        lambda: sum(scraped(cluster, "assistant_event_broker_unpublished")) == 0, 30
    ), "the held-back events were never published"
    delivered_in = time.monotonic() - restored_at
    events = [e for e in asyncio.run(queued_events()) if e.get("sender_id") == customer.sender]
    texts = Counter(e["text"] for e in events if e["event"] == "user")
    assert texts == Counter(["蓝牙耳机多少钱", "包邮吗", "有优惠吗"])  # each exactly once
    stamps = Counter((e["event"], e["timestamp"]) for e in events)
    assert max(stamps.values()) == 1, "an event was published twice"
    print(
        f"\nRabbitMQ down: 2 turns answered in {answered_in:.1f} s, {held:.0f} events held "
        f"back, all {len(events)} delivered {delivered_in:.1f} s after it came back"
    )


@dataclass
class WeChatServers:
    """WeChat's side of one message: the first delivery and up to 3 retries 5 s apart."""

    url: str
    query: dict[str, str]
    body: bytes
    answers: list[tuple[float, int, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def deliver(self) -> None:
        for attempt in range(4):
            sent = self.started + 5 * attempt
            time.sleep(max(0.0, sent - time.monotonic()))
            try:
                answer = requests.post(self.url, params=self.query, data=self.body, timeout=5)
                status, text = answer.status_code, answer.text
            except requests.RequestException as error:
                status, text = 0, type(error).__name__  # no answer within 5 s
            self.answers.append((time.monotonic() - self.started, status, text))
            if status == 200:
                return  # WeChat has its answer ("success" or a passive reply)


def wait_for_key(client: redis.Redis, key: str, seconds: float = 10) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = client.get(key)
        if value is not None:
            return bytes(value)
        time.sleep(0.005)
    raise AssertionError(f"{key} never appeared")


def test_wechat_retry_storm_while_the_replica_handling_it_is_killed_is_answered_once(
    cluster: Cluster, fake_api: FakeWeChat
) -> None:
    account = Account(TOKEN, APP_ID, AES_KEY)
    openid = f"o-drill-{SUFFIX}"
    fields = account.message(openid, Content="蓝牙耳机多少钱")
    query, body = account.push(fields)
    wechat = WeChatServers(f"{cluster.settings.rasa_url}/webhooks/wechat/webhook", query, body)
    # Hold the action servers, so that the replica is caught in the middle of the turn.
    actions = [cluster.supervisor.program(name) for name in cluster.names("actions")]
    for program in actions:
        assert program.pid is not None
        os.kill(program.pid, signal.SIGSTOP)
    storm = threading.Thread(target=wechat.deliver)
    try:
        storm.start()
        owner = wait_for_key(CHANNELS, f"wechat:{APP_ID}:seen:msg:{fields['MsgId']}").decode()
        wait_for_key(LOCKS, f"lock:{openid}")  # Rasa holds the conversation: mid-turn
        pid = int(owner.split(":")[2])  # pending:<host>:<pid>:<nonce>
        [victim] = [
            name for name in cluster.names("rasa") if cluster.supervisor.program(name).pid == pid
        ]
        os.kill(pid, signal.SIGKILL)
    finally:
        for program in actions:
            os.kill(program.pid, signal.SIGCONT)  # type: ignore[arg-type]
    try:
        storm.join(30)
        statuses = [status for _, status, _ in wechat.answers]
        # The balancer re-sends a request the killed replica left unanswered (retry-on
        # empty-response), and WeChat retries after 5 s: either way one answer in the end.
        assert statuses[-1] == 200, wechat.answers
        passive = [account.read_reply(text)["Content"] for _, status, text in wechat.answers
                   if status == 200 and text != "success"]  # fmt: skip
        # Through the API the answer waits for the dead replica's conversation lock to
        # expire (Rasa's ticket lifetime, 60 s).
        fake_api.wait_for(openid, 1, timeout=0 if passive else 100)
        answered_after = time.monotonic() - wechat.started
        time.sleep(5)  # anything sent twice would have arrived by now
        api = fake_api.sent_to(openid)
        seen = passive + [json.dumps(message, ensure_ascii=False) for message in api]
        # One turn's answer (the quote, and what others bought), nothing of it twice.
        assert sum("是否需要优惠" in text for text in seen) == 1, seen
        assert len(seen) == len(set(seen)), seen
        users = [e["text"] for e in conversation(cluster, openid) if e["event"] == "user"]
        assert users == ["蓝牙耳机多少钱"]  # handled once across the two replicas
        print(
            f"\nWeChat storm: {victim} killed mid-turn; WeChat's deliveries {wechat.answers}; "
            f"answered once, {'passively' if passive else 'through the API'}, "
            f"{answered_after:.0f} s after the first delivery"
        )
    finally:
        restart(cluster, victim)


def test_a_widget_resend_landing_on_the_other_replica_is_answered_once(cluster: Cluster) -> None:
    customer = WebCustomer(cluster.settings, f"web-resend-{SUFFIX}")
    message = {"message": "智能手表多少钱", "message_id": f"resend-{uuid.uuid4().hex}"}
    headers = {"Authorization": f"Bearer {customer.token}"}
    answers = [
        requests.post(
            f"{cluster.replica_url(name)}/webhooks/web/webhook",
            json=message,
            headers=headers,
            timeout=30,
        ).json()
        for name in cluster.names("rasa")  # the first to rasa-1, the resend to rasa-2
    ]
    assert "¥" in " ".join(m.get("text", "") for m in answers[0]["messages"])
    assert answers[1] == {"sender_id": customer.sender, "messages": [], "recorded": True}
    users = [e["text"] for e in conversation(cluster, customer.sender) if e["event"] == "user"]
    assert users == ["智能手表多少钱"]
