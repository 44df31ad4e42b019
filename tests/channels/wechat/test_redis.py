"""Several server processes sharing Redis (127.0.0.1:6379): one answer, one token."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from channels.once import LEASE_SECONDS
from channels.wechat import WeChatInput
from channels.wechat.client import WeChatApi
from channels.wechat.settings import WeChatSettings
from tests.channels.wechat.conftest import AES_KEY, APP_SECRET, TOKEN, FakeRasa, Harness
from tests.channels.wechat.fake_wechat import FakeWeChat, running_fake
from tests.channels.wechat.protocol import Account

pytestmark = [pytest.mark.integration, pytest.mark.anyio]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def app_id() -> Iterator[str]:
    """An app id of its own, so that keys never meet another run's; its keys removed after."""
    app_id = f"wxtest{uuid.uuid4().hex[:12]}"
    yield app_id
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"wechat:{app_id}*"):
        client.delete(key)


@pytest.fixture
def shared_fake(app_id: str) -> Iterator[FakeWeChat]:
    with running_fake(app_id, APP_SECRET) as fake:
        yield fake


def process(app_id: str, fake: FakeWeChat) -> Harness:
    """One server process's channel, configured like the others."""
    channel = WeChatInput.from_credentials(
        {
            "token": TOKEN,
            "app_id": app_id,
            "app_secret": APP_SECRET,
            "encoding_aes_key": AES_KEY,
            "api_base_url": fake.url,
            "redis_url": REDIS_URL,
        }
    )
    return Harness(Account(TOKEN, app_id, AES_KEY), channel, FakeRasa(delay=0.1), fake)


async def test_a_push_retried_to_another_process_is_answered_once(
    app_id: str, shared_fake: FakeWeChat
) -> None:
    first, second = process(app_id, shared_fake), process(app_id, shared_fake)
    fields = first.account.message("o-redis-1", Content="蓝牙耳机多少钱")
    answers = await asyncio.gather(first.post(fields), second.post(fields))
    assert len(first.rasa.received) + len(second.rasa.received) == 1
    # After the first answer, a retry anywhere gets that same passive reply.
    retry = await second.post(fields)
    assert second.reply_text(retry) == "收到：蓝牙耳机多少钱"
    assert [answer.status for answer in answers] == [200, 200]


async def test_processes_share_one_access_token(app_id: str, shared_fake: FakeWeChat) -> None:
    settings = WeChatSettings.from_credentials(
        {
            "token": TOKEN,
            "app_id": app_id,
            "app_secret": APP_SECRET,
            "api_base_url": shared_fake.url,
            "redis_url": REDIS_URL,
        }
    )
    one, two = WeChatApi(settings), WeChatApi(settings)
    message = {"touser": "o-redis-2", "msgtype": "text", "text": {"content": "你好"}}
    await one.send(message)
    await two.send(message)
    assert shared_fake.token_requests == 1
    shared_fake.expire_tokens()
    await one.send(message)  # refreshes the shared token
    await two.send(message)  # uses the refreshed one
    assert shared_fake.token_requests == 2
    assert len(shared_fake.sent_to("o-redis-2")) == 4


async def test_unreachable_redis_still_answers(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(redis_url="redis://127.0.0.1:9/0")  # nothing listens there
    assert harness.reply_text(await harness.say("o-redis-3", "在吗")) == "收到：在吗"


async def test_a_retry_to_another_process_takes_over_from_a_dead_one(
    app_id: str, shared_fake: FakeWeChat
) -> None:
    survivor = process(app_id, shared_fake)
    fields = survivor.account.message("o-redis-3", Content="充电宝多少钱")
    # The replica that took the first delivery was killed: its lease is left in Redis.
    client = redis.Redis.from_url(REDIS_URL)
    key = f"wechat:{app_id}:seen:msg:{fields['MsgId']}"
    assert client.set(key, "pending:killed-replica:4242:0", nx=True, ex=LEASE_SECONDS)
    retry = await survivor.post(fields)
    assert survivor.reply_text(retry) == "收到：充电宝多少钱"
    assert len(survivor.rasa.received) == 1
    assert client.get(key).startswith(b"reply:")  # the outcome replaced the dead lease
    assert client.ttl(key) > LEASE_SECONDS
