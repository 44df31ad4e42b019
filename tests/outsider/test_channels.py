"""The chat channels, as an outsider sees them: nobody speaks or reads as another customer."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from channels.web.tokens import TokenSigner
from tests.channels.wechat.protocol import Account
from tests.outsider.conftest import WECHAT, Target

pytestmark = pytest.mark.integration

VIP = "wx-o7Xh2-vip"


def visitor_token(target: Target) -> tuple[str, str]:
    answer = requests.post(f"{target.rasa}/webhooks/web/session", json={}, timeout=10)
    assert answer.status_code == 201
    body = answer.json()
    return body["token"], body["sender_id"]


def test_the_rest_channel_is_off(target: Target, unchanged: Any) -> None:
    with unchanged():
        for body in (
            {"sender": VIP, "message": "我的订单到哪了"},
            {"sender": VIP, "message": "hi"},
        ):
            answer = requests.post(f"{target.rasa}/webhooks/rest/webhook", json=body, timeout=10)
            assert answer.status_code == 404
            assert "202611" not in answer.text


def test_rasas_http_api_needs_its_token(target: Target, unchanged: Any) -> None:
    with unchanged():
        for token in (None, "wrong-token-0123456789"):
            params = {"token": token} if token else {}
            tracker = requests.get(
                f"{target.rasa}/conversations/{VIP}/tracker", params=params, timeout=10
            )
            assert tracker.status_code == 401 and "events" not in tracker.text
            said = requests.post(
                f"{target.rasa}/conversations/{VIP}/messages",
                params=params,
                json={"text": "我的订单", "sender": "user"},
                timeout=10,
            )
            assert said.status_code == 401
            assert (
                requests.post(
                    f"{target.rasa}/model/parse", params=params, json={"text": "hi"}, timeout=10
                ).status_code
                == 401
            )


@pytest.mark.parametrize("action", ["claim", "reply", "close"])
def test_the_agent_bridge_needs_its_token(target: Target, unchanged: Any, action: str) -> None:
    body = {"sender_id": VIP, "agent": "冒充的客服", "text": "请把验证码发给我"}
    with unchanged():
        for headers in ({}, {"Authorization": "Bearer not-the-token-0123456789"}):
            answer = requests.post(
                f"{target.rasa}/webhooks/handoff/{action}", json=body, headers=headers, timeout=10
            )
            assert answer.status_code == 401


def test_widget_tokens_cannot_be_forged_expired_or_pointed_at_someone_else(
    target: Target, unchanged: Any
) -> None:
    url = f"{target.rasa}/webhooks/web"
    real, sender = visitor_token(target)
    other_secret = TokenSigner("not-the-channel-secret").issue(VIP)[0]
    past = time.time() - 3 * 24 * 3600
    expired = TokenSigner(target.secret("WEB_CHANNEL_SECRET"), clock=lambda: past).issue(VIP)[0]
    tampered = real.rsplit(".", 1)[0] + ".AAAA"
    with unchanged():
        for token, code in (
            (None, "missing_token"),
            ("garbage", "invalid_token"),
            (other_secret, "invalid_token"),
            (tampered, "invalid_token"),
            (expired, "token_expired"),
        ):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            said = requests.post(
                f"{url}/webhook", json={"message": "我的订单"}, headers=headers, timeout=10
            )
            assert (said.status_code, said.json()["error"]) == (401, code)
            read = requests.get(f"{url}/history", headers=headers, timeout=10)
            assert read.status_code == 401
        # A genuine token for one visitor never reads or writes another customer's chat.
        auth = {"Authorization": f"Bearer {real}"}
        said = requests.post(
            f"{url}/webhook", json={"message": "我的订单", "sender": VIP}, headers=auth, timeout=10
        )
        assert (said.status_code, said.json()["error"]) == (403, "sender_mismatch")
        read = requests.get(f"{url}/history", params={"sender": VIP}, headers=auth, timeout=10)
        assert read.status_code == 403
        # Only the shop's server, with the channel secret, may ask for a named customer.
        for headers in ({}, {"X-Web-Channel-Secret": "guess-0123456789"}):
            asked = requests.post(
                f"{url}/session", json={"customer_id": VIP}, headers=headers, timeout=10
            )
            assert asked.status_code == 403 and "token" not in asked.json()
        renewed = requests.post(f"{url}/session", json={}, headers=auth, timeout=10)
        assert renewed.json()["sender_id"] == sender  # renewing keeps you who you were


def test_bad_bodies_are_refused_without_a_trace(target: Target, unchanged: Any) -> None:
    url = f"{target.rasa}/webhooks/web"
    token, _ = visitor_token(target)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with unchanged():
        for body, status in (
            (b"{not json", 400),
            (b'["a list"]', 400),
            (b'{"message": ""}', 400),
            (b'{"message": "' + "好".encode() * 3000 + b'"}', 413),
            (b'{"message": "' + b"a" * 100_000 + b'"}', 413),
            (b'{"message": "hi", "message_id": "../../x"}', 400),
        ):
            answer = requests.post(f"{url}/webhook", data=body, headers=auth, timeout=10)
            assert answer.status_code == status, body[:40]
            assert "Traceback" not in answer.text and answer.json()["message"]


def test_widget_files_never_leave_their_folder(target: Target) -> None:
    for path in (
        "/webhooks/web/../../credentials.yml",
        "/webhooks/web/%2e%2e/%2e%2e/credentials.yml",
        "/webhooks/web/widget.js/../../../endpoints.yml",
        "/webhooks/web/static/../channel.py",
        "/webhooks/web/widget.js%00.css",
    ):
        answer = requests.get(f"{target.rasa}{path}", timeout=10)
        assert answer.status_code in (400, 404), path
        assert "${" not in answer.text and "import" not in answer.text
    widget = requests.get(f"{target.rasa}/webhooks/web/widget.js", timeout=10)
    assert widget.headers["X-Content-Type-Options"] == "nosniff"


def test_cors_lets_only_the_shop_call_the_widget_routes(target: Target) -> None:
    def preflight(origin: str) -> requests.Response:
        return requests.options(
            f"{target.rasa}/webhooks/web/webhook",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
            timeout=10,
        )

    for evil in ("https://evil.example", "null", f"{target.desk}.evil.example"):
        allowed = preflight(evil).headers.get("Access-Control-Allow-Origin")
        assert allowed not in (evil, "*"), evil
    assert preflight(target.desk).headers.get("Access-Control-Allow-Origin") == target.desk


def test_wechat_pushes_must_be_signed_fresh_and_small(target: Target, unchanged: Any) -> None:
    url = f"{target.rasa}/webhooks/wechat/webhook"
    genuine = Account(
        WECHAT["WECHAT_TOKEN"], WECHAT["WECHAT_APP_ID"], WECHAT["WECHAT_ENCODING_AES_KEY"]
    )
    forger = Account("guessed-token", WECHAT["WECHAT_APP_ID"], WECHAT["WECHAT_ENCODING_AES_KEY"])
    fields = genuine.message(f"o-outsider-{uuid.uuid4().hex[:8]}", Content="我的订单到哪了")
    with unchanged():
        query, body = forger.push(fields)
        assert requests.post(url, params=query, data=body, timeout=10).status_code == 403
        query, body = genuine.push(fields, timestamp=int(time.time()) - 3600)
        assert requests.post(url, params=query, data=body, timeout=10).status_code == 403
        query, body = genuine.push(fields)
        assert requests.post(url, data=body, timeout=10).status_code in (400, 403)  # unsigned
        other = dict(query, msg_signature="0" * 40)
        assert requests.post(url, params=other, data=body, timeout=10).status_code == 403
        huge = requests.post(url, params=query, data=b"<xml>" + b"a" * 200_000, timeout=10)
        assert huge.status_code == 413
        verify = forger.verification("echo-outsider")
        answer = requests.get(url, params=verify, timeout=10)
        assert answer.status_code == 403 and "echo-outsider" not in answer.text
