"""Floods get a clear 429 and brute force locks the account (run after the other probes)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.channels.wechat.protocol import Account
from tests.outsider.conftest import WECHAT, Target, demo_password

pytestmark = pytest.mark.integration


def test_a_flood_of_widget_sessions_gets_a_clear_429(target: Target) -> None:
    url = f"{target.rasa}/webhooks/web/session"
    codes = [requests.post(url, json={}, timeout=10).status_code for _ in range(35)]
    assert codes.count(201) <= 30 and codes[-1] == 429
    limited = requests.post(url, json={}, timeout=10)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.json()["error"] == "rate_limited" and "秒后再试" in limited.json()["message"]


def test_a_flood_of_messages_in_one_conversation_gets_a_clear_429(target: Target) -> None:
    token = requests.post(
        f"{target.rasa}/webhooks/web/session",
        json={"customer_id": f"web-flood-{uuid.uuid4().hex[:8]}"},
        headers={"X-Web-Channel-Secret": target.secret("WEB_CHANNEL_SECRET")},
        timeout=10,
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    codes = [
        requests.post(
            f"{target.rasa}/webhooks/web/webhook",
            json={"message": "在吗"},
            headers=auth,
            timeout=30,
        ).status_code
        for _ in range(22)
    ]
    assert codes[:20] == [200] * 20 and codes[20:] == [429, 429]


def test_forged_wechat_pushes_from_one_address_are_cut_off(target: Target, unchanged: Any) -> None:
    url = f"{target.rasa}/webhooks/wechat/webhook"
    forger = Account("guessed-token", WECHAT["WECHAT_APP_ID"], WECHAT["WECHAT_ENCODING_AES_KEY"])
    session = requests.Session()
    with unchanged():
        codes = []
        for _ in range(620):
            query, body = forger.push(forger.message("o-flood", Content="hi"))
            codes.append(session.post(url, params=query, data=body, timeout=10).status_code)
    # Refused one by one (403: bad signature) until the address's 600 a minute are spent;
    # earlier probes from this address count too.
    cut_off = codes.index(429)
    assert 580 <= cut_off <= 600
    assert set(codes[:cut_off]) == {403} and set(codes[cut_off:]) == {429}


def test_console_logins_lock_out_brute_force(target: Target, unchanged: Any) -> None:
    login = f"{target.desk}/console/login"
    with unchanged():
        answers = [
            requests.post(login, data={"username": "demo", "password": f"guess-{n}"}, timeout=10)
            for n in range(5)
        ]
        assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
        # Locked: the right password does not open it either, and the answer says why.
        right = requests.post(
            login,
            data={"username": "demo", "password": demo_password(target)},
            timeout=10,
            allow_redirects=False,
        )
        assert right.status_code == 429 and "锁定" in right.text
        assert "console_session" not in right.cookies
        # And one address cannot keep guessing other names either.
        others = [
            requests.post(login, data={"username": f"agent{n}", "password": "x"}, timeout=10)
            for n in range(6)
        ]
        assert others[-1].status_code == 429 and int(others[-1].headers["Retry-After"]) > 0
