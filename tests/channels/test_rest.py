"""The REST channel: Rasa's, but only for callers with its token, and with its body checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from rasa.shared.exceptions import RasaException

from channels.rest import RestInput
from tests.channels.web.conftest import ChannelServer

TOKEN = "rest-channel-token-0123456789"


@pytest.fixture
def rest() -> Iterator[ChannelServer]:
    running = ChannelServer(RestInput(TOKEN))
    running.start()
    yield running
    running.stop()


def post(server: ChannelServer, body: object, token: str | None = TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{server.url}/webhook", json=body, headers=headers, timeout=10)


def test_with_the_token_it_is_rasas_rest_channel(rest: ChannelServer) -> None:
    answer = post(
        rest, {"sender": "wx-o7Xh2-vip", "message": "多少钱", "metadata": {"product_id": "P1"}}
    )
    assert answer.status_code == 200
    assert answer.json()[0]["text"].startswith("P1 现在到手价")
    assert rest.received[0].sender_id == "wx-o7Xh2-vip"
    assert rest.received[0].input_channel == "rest"


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789", TOKEN[:-1]])
def test_without_the_token_nobody_speaks_as_anyone(rest: ChannelServer, token: str | None) -> None:
    answer = post(rest, {"sender": "wx-o7Xh2-vip", "message": "我的订单到哪了"}, token=token)
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
    assert requests.get(f"{rest.url}/", timeout=5).status_code == 401
    assert rest.received == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"message": "hi"}, 400),
        ({"sender": "../x", "message": "hi"}, 400),
        ({"sender": "wx-1", "message": ""}, 400),
        ({"sender": "wx-1", "message": "好" * 2001}, 413),
        ({"sender": "wx-1", "message": "hi", "metadata": "x"}, 400),
        (["not", "an", "object"], 400),
    ],
)
def test_bad_bodies_get_a_clear_refusal(rest: ChannelServer, body: object, status: int) -> None:
    answer = post(rest, body)
    assert answer.status_code == status and answer.json()["message"]
    assert rest.received == []


def test_a_caller_cannot_route_replies_into_another_channel(rest: ChannelServer) -> None:
    post(rest, {"sender": "wx-1", "message": "hi", "input_channel": "wechat"})
    assert rest.received[0].input_channel == "rest"


def test_no_token_no_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REST_CHANNEL_TOKEN", raising=False)
    for credentials in (None, {}, {"token": ""}):
        channel = RestInput.from_credentials(credentials)
        assert channel.token is None
        # Off: no routes at all (the plain-checkout test sees the 404 over HTTP).
        assert not channel.blueprint(lambda message: None)._future_routes  # type: ignore[arg-type, return-value]
    with pytest.raises(RasaException, match="REST_CHANNEL_TOKEN"):
        RestInput.from_credentials({"token": "short"})
    monkeypatch.setenv("REST_CHANNEL_TOKEN", "rest-token-from-the-environment")
    assert RestInput.from_credentials(None).token == "rest-token-from-the-environment"
