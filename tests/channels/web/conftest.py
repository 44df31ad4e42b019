"""A real Sanic server on loopback with the web channel, a fake agent and a fake Rasa turn."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from channels import delivery
from channels.web import WebInput

SECRET = "test-secret-for-the-web-channel"


class FakeTrackerStore:
    """Trackers in memory, keyed by sender id."""

    def __init__(self) -> None:
        self.trackers: dict[str, DialogueStateTracker] = {}

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return self.trackers.get(sender_id)

    def append(self, sender_id: str, *events: Event) -> None:
        tracker = self.trackers.setdefault(sender_id, DialogueStateTracker(sender_id, slots=[]))
        for event in events:
            tracker.update(event)


@dataclass
class FakeAgent:
    tracker_store: FakeTrackerStore = field(default_factory=FakeTrackerStore)


Reply = Callable[[UserMessage], list[dict[str, Any]]]


def echo_price(message: UserMessage) -> list[dict[str, Any]]:
    """A tiny assistant: quotes a price for the page's product and offers buttons."""
    product = (message.metadata or {}).get("product_id", "?")
    return [
        {
            "text": f"{product} 现在到手价¥299。是否需要优惠?",
            "buttons": [{"title": "要优惠", "payload": "/affirm"}],
        }
    ]


class ChannelServer:
    """A channel served by Sanic in a background thread, with a fake Rasa behind it."""

    def __init__(self, channel: InputChannel, reply: Reply = echo_price) -> None:
        self.channel = channel
        self.agent = FakeAgent()
        self.reply = reply
        self.received: list[UserMessage] = []
        # Test mode: Sanic rewrites its own methods on first start, which breaks a second app
        # in the same process unless it keeps the originals.
        Sanic.test_mode = True
        self.app = Sanic(f"web-test-{uuid.uuid4().hex[:8]}")
        self.app.ctx.agent = self.agent
        self.app.blueprint(channel.blueprint(self.handle), url_prefix=f"/webhooks/{channel.name()}")
        self.loop = asyncio.new_event_loop()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/webhooks/{channel.name()}"
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    async def handle(self, message: UserMessage) -> None:
        """What Rasa does for a message: record it, answer, record the answer."""
        self.received.append(message)
        store = self.agent.tracker_store
        store.append(
            message.sender_id,
            UserUttered(
                message.text,
                input_channel=message.input_channel,
                message_id=message.message_id,
                metadata=message.metadata,
            ),
        )
        tracker = store.trackers[message.sender_id]
        if tracker.is_paused():
            return
        for reply in self.reply(message):
            store.append(
                message.sender_id,
                ActionExecuted("action_reply"),
                BotUttered(reply.get("text"), data={"buttons": reply.get("buttons")}),
            )
            if reply.get("buttons"):
                await message.output_channel.send_text_with_buttons(
                    message.sender_id, reply["text"], reply["buttons"]
                )
            else:
                await message.output_channel.send_text_message(message.sender_id, reply["text"])

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            self.app.create_server(
                host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
            )
        )
        assert server is not None
        self.loop.run_until_complete(server.startup())
        self.server = server
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(15), "the Sanic test server did not start"

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run `coro` on the server's loop (as the handoff bridge would) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def append_soon(self, sender_id: str, *events: Event) -> None:
        """Append events to a tracker from the server's loop."""
        self.loop.call_soon_threadsafe(self.agent.tracker_store.append, sender_id, *events)

    # -- a visitor's requests --------------------------------------------------------------

    def new_session(self) -> tuple[str, str]:
        answer = requests.post(f"{self.url}/session", json={}, timeout=5)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        return body["token"], body["sender_id"]

    def say(self, token: str, text: str, **extra: Any) -> requests.Response:
        return requests.post(
            f"{self.url}/webhook",
            json={"message": text, **extra},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    def history(self, token: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.url}/history",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=40,
        )


@pytest.fixture
def server() -> Iterator[ChannelServer]:
    running = ChannelServer(WebInput(SECRET))
    running.start()
    yield running
    running.stop()
    delivery.unregister("web")
