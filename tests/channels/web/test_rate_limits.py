"""The widget's public routes answer a flood with a clear 429, per client and per conversation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from channels import delivery
from channels.web import WebInput
from security.ratelimit import Limit
from tests.channels.web.conftest import SECRET, ChannelServer


@pytest.fixture
def strict() -> Iterator[ChannelServer]:
    channel = WebInput(
        SECRET,
        session_limit=Limit(3, 60),
        message_limit=Limit(2, 60),
        client_message_limit=Limit(5, 60),
    )
    running = ChannelServer(channel)
    running.start()
    yield running
    running.stop()
    delivery.unregister("web")


def test_new_sessions_are_limited_per_client_but_not_for_the_shops_server(
    strict: ChannelServer,
) -> None:
    codes = [
        requests.post(f"{strict.url}/session", json={}, timeout=5).status_code for _ in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    limited = requests.post(f"{strict.url}/session", json={}, timeout=5)
    body = limited.json()
    assert body["error"] == "rate_limited" and "秒后再试" in body["message"]
    assert int(limited.headers["Retry-After"]) == body["retry_after"] > 0
    # The shop's server, proving itself with the secret, asks for signed-in customers.
    for n in range(5):
        server_side = requests.post(
            f"{strict.url}/session",
            json={"customer_id": f"wx-{n}"},
            headers={"X-Web-Channel-Secret": SECRET},
            timeout=5,
        )
        assert server_side.status_code == 200


def test_messages_are_limited_per_conversation_and_per_client(strict: ChannelServer) -> None:
    first, _ = strict.new_session()
    second, _ = strict.new_session()
    codes = [strict.say(first, f"第{n}条").status_code for n in range(3)]
    assert codes == [200, 200, 429]
    assert [m.text for m in strict.received] == ["第0条", "第1条"]
    # Another conversation from the same address still gets through, up to the address's limit.
    assert [strict.say(second, "在吗").status_code for _ in range(2)] == [200, 200]
    assert strict.say(second, "在吗").status_code == 429
    assert len(strict.received) == 4


def test_limits_come_from_the_credentials() -> None:
    from rasa.shared.exceptions import RasaException

    channel = WebInput.from_credentials({"secret": SECRET, "message_rate_limit": "5/10"})
    assert channel.message_limiter.limit == Limit(5, 10)
    assert channel.session_limiter.limit == Limit(30, 60)  # empty: the default
    with pytest.raises(RasaException, match="WEB_SESSION_RATE_LIMIT"):
        WebInput.from_credentials({"secret": SECRET, "session_rate_limit": "lots"})
