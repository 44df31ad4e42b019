"""Rasa's socketio channel over a real socket.io connection: the session is the token's sender."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
import socketio

from channels import delivery
from channels.socketio import SocketIOCardOutput, SocketIOInput
from channels.web import WebInput
from channels.web.tokens import jwt_key
from tests.channels.web.conftest import SECRET, ChannelServer


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ChannelServer, ChannelServer]]:
    """The web channel (issues tokens) and the socketio channel, on one secret."""
    web = ChannelServer(WebInput(SECRET))
    sockets = ChannelServer(SocketIOInput.from_credentials({"jwt_key": jwt_key(SECRET)}))
    web.start()
    sockets.start()
    yield web, sockets
    sockets.stop()
    web.stop()


def _socketio_token(web: ChannelServer) -> tuple[str, str]:
    answer = requests.post(f"{web.url}/session", json={}, timeout=5).json()
    return answer["socketio_token"], answer["sender_id"]


def _client(events: queue.Queue[tuple[str, Any]]) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.on("session_confirm", lambda data: events.put(("session_confirm", data)))
    client.on("bot_uttered", lambda data: events.put(("bot_uttered", data)))
    return client


def test_a_token_holder_talks_as_its_sender_whatever_session_it_names(
    servers: tuple[ChannelServer, ChannelServer],
) -> None:
    web, sockets = servers
    token, sender = _socketio_token(web)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    client = _client(events)
    client.connect(
        f"http://127.0.0.1:{sockets.port}", auth={"token": token}, transports=["polling"]
    )
    try:
        client.emit("session_request", {"session_id": "wx-o7Xh2-vip"})
        assert events.get(timeout=5) == ("session_confirm", sender)
        client.emit(
            "user_uttered",
            {
                "message": "这个多少钱",
                "session_id": "wx-o7Xh2-vip",
                "metadata": {"product_id": "P1003", "role": "agent"},
            },
        )
        kind, bot = events.get(timeout=5)
        assert kind == "bot_uttered" and "P1003" in bot["text"]
        assert bot["quick_replies"][0]["title"] == "要优惠"
    finally:
        client.disconnect()
    message = sockets.received[-1]
    assert (message.sender_id, message.input_channel) == (sender, "socketio")
    assert message.metadata == {"product_id": "P1003"}  # only the page's whitelisted keys


def test_an_agents_reply_is_pushed_to_the_senders_session(
    servers: tuple[ChannelServer, ChannelServer],
) -> None:
    web, sockets = servers
    token, sender = _socketio_token(web)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    client = _client(events)
    client.connect(
        f"http://127.0.0.1:{sockets.port}", auth={"token": token}, transports=["polling"]
    )
    try:
        client.emit("session_request", {})
        assert events.get(timeout=5) == ("session_confirm", sender)
        # What the handoff bridge does with an agent's line (channels/handoff.py).
        pushed = sockets.run(delivery.deliver("socketio", sender, [{"text": "我是人工客服小李"}]))
        assert pushed is True
        assert events.get(timeout=5) == ("bot_uttered", {"text": "我是人工客服小李"})
    finally:
        client.disconnect()


def test_the_token_may_come_in_the_socket_url(
    servers: tuple[ChannelServer, ChannelServer],
) -> None:
    web, sockets = servers
    token, sender = _socketio_token(web)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    client = _client(events)
    client.connect(f"http://127.0.0.1:{sockets.port}?token={token}", transports=["polling"])
    try:
        client.emit("session_request", {})
        assert events.get(timeout=5) == ("session_confirm", sender)
    finally:
        client.disconnect()


@pytest.mark.parametrize("kind", ["none", "forged", "expired", "widget"])
def test_connections_without_a_genuine_token_are_refused(
    servers: tuple[ChannelServer, ChannelServer], kind: str
) -> None:
    web, sockets = servers
    answer = requests.post(f"{web.url}/session", json={}, timeout=5).json()
    token = {
        "none": None,
        "forged": jwt.encode({"sub": "wx-o7Xh2-vip", "exp": 2**40}, "guessed-" * 5, "HS256"),
        "expired": jwt.encode({"sub": "web-x", "exp": 1}, jwt_key(SECRET), "HS256"),
        "widget": answer["token"],  # the widget's own token is not a JWT
    }[kind]
    client = socketio.Client(reconnection=False)
    before = len(sockets.received)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(
            f"http://127.0.0.1:{sockets.port}",
            auth={"token": token} if token else None,
            transports=["polling"],
        )
    assert len(sockets.received) == before


class RecordingServer:
    """What SocketIOOutput needs of a socket.io server: emit, recorded."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, str]] = []

    async def emit(self, event: str, data: Any = None, room: str = "", **_: Any) -> None:
        self.emitted.append((event, data, room))


def test_a_product_card_reaches_standard_clients_as_picture_and_line() -> None:
    server = RecordingServer()
    output = SocketIOCardOutput(server, "bot_uttered")  # type: ignore[arg-type]
    card = {"type": "product_card", "title": "声悦Pro降噪蓝牙耳机", "price": "299", "image": None}
    asyncio.run(output.send_response("web-1", {"custom": card}))
    assert server.emitted == [("bot_uttered", {"text": "声悦Pro降噪蓝牙耳机  ¥299"}, "web-1")]
    asyncio.run(output.send_response("web-1", {"custom": {"kind": "other"}}))
    assert server.emitted[-1] == ("bot_uttered", {"custom": {"kind": "other"}}, "web-1")
