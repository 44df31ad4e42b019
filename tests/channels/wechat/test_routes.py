"""The channel's routes in a real Sanic server (as Rasa mounts them), with a fake Rasa."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sanic import Sanic

from tests.channels.wechat.conftest import FakeRasa, Harness

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def served(make_harness: Callable[..., Harness]) -> AsyncIterator[tuple[Harness, str]]:
    """A plain-mode channel behind /webhooks/wechat on a free port."""
    harness = make_harness(safe=False, rasa=FakeRasa())
    app = Sanic(f"wechat_test_{uuid.uuid4().hex}")
    app.ctx.agent = harness.rasa
    app.blueprint(harness.channel.blueprint(harness.rasa.ask), url_prefix="/webhooks/wechat")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    assert server is not None
    await server.startup()
    yield harness, f"http://127.0.0.1:{port}/webhooks/wechat"
    server.close()
    await server.wait_closed()


async def test_health_verification_and_a_message_over_http(served: tuple[Harness, str]) -> None:
    harness, base = served
    async with httpx.AsyncClient(timeout=10) as http:
        health = await http.get(f"{base}/")
        assert health.json() == {"status": "ok", "mode": "plain"}

        verification = harness.account.verification("echo-31337")
        echoed = await http.get(f"{base}/webhook", params=verification)
        assert (echoed.status_code, echoed.text) == (200, "echo-31337")

        query, body = harness.account.push(harness.account.message("o-http-1", Content="你好"))
        answer = await http.post(f"{base}/webhook", params=query, content=body)
        assert answer.status_code == 200
        assert harness.account.read_reply(answer.text)["Content"] == "收到：你好"

        forged = await http.post(
            f"{base}/webhook", params=dict(query, signature="0" * 40), content=body
        )
        assert forged.status_code == 403
    assert harness.rasa.texts == ["你好"]
