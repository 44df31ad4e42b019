"""Two Rasa replicas' web channels sharing Redis (127.0.0.1:6379): a resend is answered once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from channels import delivery
from channels.once import LEASE_SECONDS
from channels.store import open_store
from channels.web import WebInput
from tests.channels.web.conftest import SECRET, ChannelServer

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def replicas() -> Iterator[tuple[ChannelServer, ChannelServer]]:
    servers = tuple(ChannelServer(WebInput(SECRET, store=open_store(REDIS_URL))) for _ in "12")
    for server in servers:
        server.start()
    yield servers  # type: ignore[misc]
    for server in servers:
        server.stop()
    delivery.unregister("web")


def message_id() -> str:
    """A fresh widget message id: the keys of one run never meet another's."""
    return f"drill-{uuid.uuid4().hex}"


def test_a_resend_landing_on_the_other_replica_is_answered_once(
    replicas: tuple[ChannelServer, ChannelServer],
) -> None:
    first, second = replicas
    token, sender = first.new_session()  # the same signing secret: valid on both
    sent = message_id()
    answer = first.say(token, "多少钱", message_id=sent)
    resend = second.say(token, "多少钱", message_id=sent)
    assert answer.json()["messages"]
    assert resend.status_code == 200 and resend.json() == {
        "sender_id": sender,
        "messages": [],
        "recorded": True,
    }
    assert len(first.received) == 1 and second.received == []
    key = f"web:seen:{sender}:{sent}"
    assert redis.Redis.from_url(REDIS_URL).get(key) == b"done"
    redis.Redis.from_url(REDIS_URL).delete(key)


def test_a_resend_is_answered_when_the_replica_that_took_it_died(
    replicas: tuple[ChannelServer, ChannelServer],
) -> None:
    _, survivor = replicas
    token, sender = survivor.new_session()
    sent = message_id()
    key = f"web:seen:{sender}:{sent}"
    client = redis.Redis.from_url(REDIS_URL)
    # Killed mid-turn: its lease stays until it runs out, nobody renews it.
    assert client.set(key, "pending:killed-replica:4242:0", nx=True, ex=LEASE_SECONDS)
    early = survivor.say(token, "多少钱", message_id=sent)
    assert early.json()["messages"] == [] and survivor.received == []
    client.delete(key)  # as if the lease ran out
    late = survivor.say(token, "多少钱", message_id=sent)
    assert late.json()["messages"] and len(survivor.received) == 1
    client.delete(key)
