"""Fixtures: the WeChat channel wired to a fake Rasa and a fake WeChat API server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage

from channels import delivery
from channels.wechat import WeChatInput
from channels.wechat.handler import Answer
from tests.channels.wechat.fake_wechat import FakeWeChat, running_fake
from tests.channels.wechat.protocol import Account

APP_ID = "wx5e1f2a3b4c5d6e7f"
APP_SECRET = "test-app-secret-0123456789abcdef"
TOKEN = "mallAssistantToken2026"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"

Replies = Callable[[UserMessage], list[dict[str, Any]]]


def echo(message: UserMessage) -> list[dict[str, Any]]:
    """A stand-in assistant that repeats what it heard."""
    return [{"text": f"收到：{message.text}"}]


class FakeTracker:
    """Just enough of a tracker for channels.safety."""

    def __init__(self, paused: bool) -> None:
        self._paused = paused
        self.events: list[Any] = []

    def is_paused(self) -> bool:
        return self._paused


@dataclass
class FakeRasa:
    """Records what the channel hands to Rasa and answers with `replies` after `delay`."""

    replies: Replies = echo
    delay: float = 0.0
    received: list[UserMessage] = field(default_factory=list)
    paused: set[str] = field(default_factory=set)

    @property
    def tracker_store(self) -> FakeRasa:
        return self

    async def retrieve(self, sender_id: str) -> FakeTracker:
        return FakeTracker(sender_id in self.paused)

    async def ask(self, message: UserMessage) -> None:
        self.received.append(message)
        await asyncio.sleep(self.delay)
        if message.sender_id in self.paused:
            return  # Rasa records the message and stays silent
        for reply in self.replies(message):
            await message.output_channel.send_response(message.sender_id, dict(reply))

    @property
    def texts(self) -> list[str]:
        return [message.text or "" for message in self.received]


@dataclass
class Harness:
    """One channel, its fake Rasa and the fake WeChat API it talks to."""

    account: Account
    channel: WeChatInput
    rasa: FakeRasa
    wechat: FakeWeChat

    async def post(self, fields: dict[str, Any], **push_options: Any) -> Answer:
        """Deliver a push the way WeChat would."""
        query, body = self.account.push(fields, **push_options)
        return await self.post_raw(query, body)

    async def post_raw(self, query: dict[str, str], body: bytes) -> Answer:
        """Deliver exactly this query and body."""
        args = {name: [value] for name, value in query.items()}
        return await self.channel.handler.handle_push(args, body, self.rasa.ask, self.rasa)

    async def say(self, openid: str, text: str, **fields: Any) -> Answer:
        """A customer's text message."""
        return await self.post(self.account.message(openid, Content=text, **fields))

    def reply_text(self, answer: Answer) -> str:
        """The text of a passive reply."""
        assert answer.status == 200 and answer.body != "success", answer
        reply = self.account.read_reply(answer.body)
        assert reply["MsgType"] == "text"
        return reply["Content"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChat]:
    with running_fake(APP_ID, APP_SECRET) as fake:
        yield fake


@pytest.fixture
def make_harness(fake_wechat: FakeWeChat) -> Iterator[Callable[..., Harness]]:
    """Build a channel from credentials the way Rasa does (safe mode unless told)."""

    def build(*, safe: bool = True, rasa: FakeRasa | None = None, **credentials: Any) -> Harness:
        values: dict[str, Any] = {
            "token": TOKEN,
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "encoding_aes_key": AES_KEY if safe else "",
            "api_base_url": fake_wechat.url,
            "redis_url": "",
        }
        values.update(credentials)
        channel = WeChatInput.from_credentials(values)
        account = Account(TOKEN, APP_ID, AES_KEY if safe else None)
        return Harness(account, channel, rasa or FakeRasa(), fake_wechat)

    yield build
    delivery.unregister("wechat")
