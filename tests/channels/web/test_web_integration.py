"""The web channel inside the real Rasa server, over HTTP (tokens, page context, CORS)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from channels.web.tokens import TokenSigner
from launcher.settings import StackSettings
from launcher.stack import Stack
from tests.integration.conftest import stack_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not StackSettings.from_env().model_path.exists():
        pytest.fail("no trained model: run `make train` first")
    settings = stack_settings(tmp_path_factory.mktemp("web-stack"))
    # An operator's shop on its own origin embeds the widget (WIDGET_ALLOWED_ORIGINS).
    running = Stack(settings.replace(widget_allowed_origins=("http://shop.example",)))
    running.start(timeout=240)
    yield running
    running.stop()


@pytest.fixture
def web(stack: Stack) -> str:
    return f"{stack.settings.rasa_url}/webhooks/web"


def secret(stack: Stack) -> str:
    return stack.settings.shared_secret("WEB_CHANNEL_SECRET")


def session(web: str) -> tuple[str, str]:
    answer = requests.post(f"{web}/session", timeout=10)
    assert answer.status_code == 201
    return answer.json()["token"], answer.json()["sender_id"]


def say(web: str, token: str, text: str, **body: Any) -> requests.Response:
    return requests.post(
        f"{web}/webhook",
        json={"message": text, **body},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def texts(answer: requests.Response) -> str:
    assert answer.status_code == 200, answer.text
    return "\n".join(m.get("text", "") for m in answer.json()["messages"])


def test_the_page_product_reaches_the_assistant(stack: Stack, web: str) -> None:
    token, sender = session(web)
    page = {"product_id": "P1003", "page_url": "http://127.0.0.1/shop"}
    assert "极光20000毫安充电宝" in texts(say(web, token, "/greet", metadata=page))
    price = texts(say(web, token, "多少钱", metadata=page))
    assert "极光20000毫安充电宝" in price and "¥129" in price

    tracker = requests.get(
        f"{stack.settings.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.settings.rasa_api_token},
        timeout=10,
    ).json()
    latest = tracker["latest_message"]
    assert tracker["latest_input_channel"] == "web"
    assert latest["metadata"] == page


def test_the_channel_refuses_what_it_did_not_sign(stack: Stack, web: str) -> None:
    victim_token, victim = session(web)
    assert say(web, victim_token, "我的订单到哪了").status_code == 200
    attacker_token, _ = session(web)
    forged = TokenSigner("guessed-secret").issue(victim)[0]
    expired = TokenSigner(secret(stack), clock=lambda: time.time() - 2 * 86400).issue(victim)[0]

    cases = {
        "missing": ({}, 401, "missing_token"),
        "forged": ({"Authorization": f"Bearer {forged}"}, 401, "invalid_token"),
        "expired": ({"Authorization": f"Bearer {expired}"}, 401, "token_expired"),
    }
    for name, (headers, status, error) in cases.items():
        for answer in (
            requests.post(f"{web}/webhook", json={"message": "hi"}, headers=headers, timeout=10),
            requests.get(f"{web}/history", headers=headers, timeout=10),
        ):
            assert (answer.status_code, answer.json()["error"]) == (status, error), name

    cross_write = say(web, attacker_token, "取消订单", sender=victim)
    cross_read = requests.get(
        f"{web}/history",
        params={"sender": victim},
        headers={"Authorization": f"Bearer {attacker_token}"},
        timeout=10,
    )
    assert (cross_write.status_code, cross_write.json()["error"]) == (403, "sender_mismatch")
    assert (cross_read.status_code, cross_read.json()["error"]) == (403, "sender_mismatch")

    victim_history = requests.get(
        f"{web}/history", headers={"Authorization": f"Bearer {victim_token}"}, timeout=10
    ).json()
    assert [i["text"] for i in victim_history["items"] if i["role"] == "user"] == ["我的订单到哪了"]


def test_the_mall_server_can_get_a_token_for_a_signed_in_customer(stack: Stack, web: str) -> None:
    body = {"customer_id": "wx-o7Xh2-vip"}
    refused = requests.post(f"{web}/session", json=body, timeout=10)
    assert refused.status_code == 403
    granted = requests.post(
        f"{web}/session", json=body, headers={"X-Web-Channel-Secret": secret(stack)}, timeout=10
    )
    assert granted.json()["sender_id"] == "wx-o7Xh2-vip"
    assert "王女士" in texts(say(web, granted.json()["token"], "你好"))


def test_the_widget_can_be_loaded_and_called_from_a_configured_origin_only(web: str) -> None:
    script = requests.get(f"{web}/widget.js", timeout=10)
    assert script.status_code == 200 and "MallAssistant" in script.text

    def preflight(origin: str) -> requests.Response:
        return requests.options(
            f"{web}/webhook",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
            timeout=10,
        )

    allowed = preflight("http://shop.example")
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://shop.example"
    assert "authorization" in allowed.headers["Access-Control-Allow-Headers"].lower()
    other = preflight("http://other-shop.example").headers.get("Access-Control-Allow-Origin")
    assert other not in ("*", "http://other-shop.example")
