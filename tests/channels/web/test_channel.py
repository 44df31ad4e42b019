"""The web channel over real HTTP: tokens guard every conversation; messages, history, push."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from rasa.shared.core.events import BotUttered, ConversationPaused
from rasa.shared.exceptions import RasaException

from channels import delivery, safety
from channels.web import WebInput
from channels.web.tokens import TokenSigner
from tests.channels.web.conftest import SECRET, ChannelServer


def test_without_a_secret_development_keeps_one_and_production_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEB_CHANNEL_SECRET", raising=False)
    monkeypatch.setenv("MALL_ASSISTANT_VAR", str(tmp_path))
    first = WebInput.from_credentials({"secret": ""})
    kept = (tmp_path / "secrets" / "WEB_CHANNEL_SECRET").read_text()
    assert len(kept) >= 32
    # The same secret after a restart: tokens the widget holds stay valid.
    token, _ = first.signer.issue("web-visitor-1")
    assert WebInput.from_credentials(None).signer.verify(token).sender_id == "web-visitor-1"
    monkeypatch.setenv("MALL_ASSISTANT_ENV", "production")
    for credentials in (None, {}, {"secret": "   "}, {"secret": "changeme"}, {"secret": "short"}):
        with pytest.raises(RasaException, match="WEB_CHANNEL_SECRET"):
            WebInput.from_credentials(credentials)
    monkeypatch.setenv("WEB_CHANNEL_SECRET", "a-long-production-secret-0123456789")
    assert WebInput.from_credentials({}).name() == "web"


# -- tokens --------------------------------------------------------------------------------


def test_a_new_visitor_gets_a_token_for_a_fresh_conversation(server: ChannelServer) -> None:
    token_a, sender_a = server.new_session()
    token_b, sender_b = server.new_session()
    assert sender_a.startswith("web-") and sender_b.startswith("web-")
    assert sender_a != sender_b
    assert server.history(token_a).json()["items"] == []


def test_a_valid_token_renews_for_the_same_conversation(server: ChannelServer) -> None:
    token, sender = server.new_session()
    answer = requests.post(
        f"{server.url}/session", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert answer.status_code == 200
    assert answer.json()["sender_id"] == sender
    assert answer.json()["expires_in"] > 3600


def _refusal(answer: requests.Response) -> tuple[int, str]:
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert body["message"]
    return answer.status_code, body["error"]


def _expired_token(sender: str) -> str:
    # Issued two hours ago with a one-hour lifetime.
    signer = TokenSigner(SECRET, ttl_seconds=3600, clock=lambda: time.time() - 7200)
    return signer.issue(sender)[0]


def _forged_token(sender: str) -> str:
    return TokenSigner("not-the-server-secret").issue(sender)[0]


@pytest.mark.parametrize(
    ("make_token", "status", "error"),
    [
        (lambda sender: None, 401, "missing_token"),
        (_forged_token, 401, "invalid_token"),
        (lambda sender: "v1.bm90LWpzb24.c2lnbmF0dXJl", 401, "invalid_token"),
        (_expired_token, 401, "token_expired"),
    ],
    ids=["missing", "forged", "garbage", "expired"],
)
def test_messages_without_a_valid_token_are_refused_and_never_reach_the_assistant(
    server: ChannelServer, make_token: Any, status: int, error: str
) -> None:
    token = make_token("wx-o7Xh2-vip")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    sent = requests.post(
        f"{server.url}/webhook", json={"message": "我的订单到哪了"}, headers=headers, timeout=5
    )
    read = requests.get(f"{server.url}/history", headers=headers, timeout=5)
    assert _refusal(sent) == (status, error)
    assert _refusal(read) == (status, error)
    assert server.received == []


def test_a_customer_cannot_write_or_read_another_customers_conversation(
    server: ChannelServer,
) -> None:
    victim_token, victim = server.new_session()
    assert server.say(victim_token, "我的地址是幸福路1号").status_code == 200
    attacker_token, _ = server.new_session()

    sent = server.say(attacker_token, "改地址", sender=victim)
    read = server.history(attacker_token, sender=victim)

    assert _refusal(sent) == (403, "sender_mismatch")
    assert _refusal(read) == (403, "sender_mismatch")
    assert [m.text for m in server.received] == ["我的地址是幸福路1号"]
    # The attacker's own history holds nothing of the victim's.
    assert server.history(attacker_token).json()["items"] == []


def test_only_the_mall_server_with_the_secret_gets_a_token_for_a_named_customer(
    server: ChannelServer,
) -> None:
    url = f"{server.url}/session"
    body = {"customer_id": "wx-o7Xh2-vip"}
    no_secret = requests.post(url, json=body, timeout=5)
    wrong = requests.post(url, json=body, headers={"X-Web-Channel-Secret": "guess"}, timeout=5)
    right = requests.post(url, json=body, headers={"X-Web-Channel-Secret": SECRET}, timeout=5)
    assert _refusal(no_secret) == (403, "forbidden")
    assert _refusal(wrong) == (403, "forbidden")
    assert right.status_code == 200 and right.json()["sender_id"] == "wx-o7Xh2-vip"
    assert server.say(right.json()["token"], "在吗").json()["sender_id"] == "wx-o7Xh2-vip"


# -- messages ------------------------------------------------------------------------------


def test_a_message_reaches_the_assistant_with_the_page_context(server: ChannelServer) -> None:
    token, sender = server.new_session()
    answer = server.say(
        token,
        " 多少钱 ",
        metadata={
            "product_id": "P1003",
            "page_url": "http://shop.example/shop",
            "time_zone": "Europe/Berlin",
            "agent": "假冒客服",
            "extra": {"x": 1},
        },
    )
    assert answer.status_code == 200
    assert answer.json()["messages"][0]["text"] == "P1003 现在到手价¥299。是否需要优惠?"
    (message,) = server.received
    assert message.text == "多少钱"
    assert message.sender_id == sender
    assert message.input_channel == "web"
    # Only the page context passes: a browser cannot pose as an agent.
    assert message.metadata == {
        "product_id": "P1003",
        "page_url": "http://shop.example/shop",
        "time_zone": "Europe/Berlin",
    }


@pytest.mark.parametrize(
    "metadata",
    [
        {"product_id": "<img src=x>"},
        {"page_url": "javascript:alert(1)"},
        {"product_id": 7},
        {"time_zone": "../../etc/passwd"},
        {"time_zone": "Asia/Shanghai<script>"},
    ],
)
def test_odd_page_context_is_dropped(server: ChannelServer, metadata: dict[str, Any]) -> None:
    token, _ = server.new_session()
    assert server.say(token, "在吗", metadata=metadata).status_code == 200
    assert server.received[0].metadata == {}


@pytest.mark.parametrize(
    ("body", "status"),
    [({"message": ""}, 400), ({"message": 5}, 400), ({"message": "长" * 2001}, 413)],
)
def test_bad_messages_are_refused(server: ChannelServer, body: dict[str, Any], status: int) -> None:
    token, _ = server.new_session()
    answer = requests.post(
        f"{server.url}/webhook", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert answer.status_code == status
    assert server.received == []


def test_a_resent_message_is_answered_once(server: ChannelServer) -> None:
    token, _ = server.new_session()
    first = server.say(token, "多少钱", message_id="retry-0001")
    again = server.say(token, "多少钱", message_id="retry-0001")
    assert first.json()["messages"] and again.json()["messages"] == []
    assert len(server.received) == 1
    users = [i for i in server.history(token).json()["items"] if i["role"] == "user"]
    assert len(users) == 1 and users[0]["message_id"] == "retry-0001"


def test_the_customer_is_never_met_with_silence() -> None:
    running = ChannelServer(WebInput(SECRET), reply=lambda message: [])
    running.start()
    try:
        token, _ = running.new_session()
        answer = running.say(token, "在吗").json()
        assert [m["text"] for m in answer["messages"]] == [safety.BUSY_TEXT]
        assert answer["recorded"] is False
    finally:
        running.stop()
        delivery.unregister("web")


def test_while_an_agent_has_the_conversation_the_bot_stays_silent(server: ChannelServer) -> None:
    token, sender = server.new_session()
    server.say(token, "我要投诉")
    server.run(_append(server, sender, ConversationPaused()))
    answer = server.say(token, "人呢").json()
    assert answer["messages"] == []
    history = server.history(token).json()
    assert history["handoff"] is True
    assert history["items"][-1] == {**history["items"][-1], "role": "user", "text": "人呢"}


async def _append(server: ChannelServer, sender: str, *events: Any) -> None:
    server.agent.tracker_store.append(sender, *events)


# -- history and push ----------------------------------------------------------------------


def test_history_shows_what_the_customer_saw(server: ChannelServer) -> None:
    token, sender = server.new_session()
    server.say(token, "/greet")
    server.say(token, "多少钱", metadata={"product_id": "P1001"})
    server.say(token, "/affirm")
    items = server.history(token).json()["items"]
    # The widget's silent greeting is not shown; a button press shows the button's title.
    assert [(i["role"], i["text"]) for i in items] == [
        ("bot", "? 现在到手价¥299。是否需要优惠?"),
        ("user", "多少钱"),
        ("bot", "P1001 现在到手价¥299。是否需要优惠?"),
        ("user", "要优惠"),
        ("bot", "? 现在到手价¥299。是否需要优惠?"),
    ]
    assert items[2]["buttons"] == [{"title": "要优惠", "payload": "/affirm"}]
    assert len({i["id"] for i in items}) == len(items)


def test_history_after_the_cursor_has_only_new_messages(server: ChannelServer) -> None:
    token, _ = server.new_session()
    server.say(token, "多少钱")
    first = server.history(token).json()
    assert len(first["items"]) == 2
    assert server.history(token, after=first["cursor"]).json()["items"] == []
    server.say(token, "包邮吗")
    second = server.history(token, after=first["cursor"]).json()
    new_ids = {i["id"] for i in second["items"]} - {i["id"] for i in first["items"]}
    assert len(new_ids) == 2


def test_an_agent_reply_wakes_a_waiting_widget_at_once(server: ChannelServer) -> None:
    token, sender = server.new_session()
    server.say(token, "转人工")
    cursor = server.history(token).json()["cursor"]
    result: dict[str, Any] = {}

    def wait_for_news() -> None:
        started = time.monotonic()
        result["answer"] = server.history(token, after=cursor, wait=20).json()
        result["seconds"] = time.monotonic() - started

    waiting = threading.Thread(target=wait_for_news)
    waiting.start()
    deadline = time.monotonic() + 5
    while server.channel.notifier.waiting(sender) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)

    async def agent_replies() -> bool:
        # What the handoff bridge does: record the reply, then push through the channel.
        reply = {"text": "您好，我是客服小美，马上为您处理。"}
        event = BotUttered(reply["text"], metadata={"agent": "小美"})
        server.agent.tracker_store.append(sender, event)
        return await delivery.deliver("web", sender, [reply])

    assert server.run(agent_replies()) is True
    waiting.join(10)
    assert result["seconds"] < 2
    new = [i for i in result["answer"]["items"] if i["ts"] > cursor]
    assert [(i["role"], i.get("agent"), i["text"]) for i in new] == [
        ("agent", "小美", "您好，我是客服小美，马上为您处理。")
    ]


def test_a_waiting_widget_gets_an_empty_answer_when_nothing_happens(
    server: ChannelServer,
) -> None:
    token, _ = server.new_session()
    server.say(token, "你好")
    cursor = server.history(token).json()["cursor"]
    started = time.monotonic()
    answer = server.history(token, after=cursor, wait=1).json()
    assert 0.9 < time.monotonic() - started < 3
    assert answer["items"] == [] and answer["cursor"] == cursor


def test_history_refuses_a_cursor_that_is_not_a_number(server: ChannelServer) -> None:
    token, _ = server.new_session()
    assert server.history(token, after="nan").status_code == 400
    assert server.history(token, after="yesterday").status_code == 400


# -- assets --------------------------------------------------------------------------------


def test_the_widget_script_and_stylesheet_are_served(server: ChannelServer) -> None:
    script = requests.get(f"{server.url}/widget.js", timeout=5)
    style = requests.get(f"{server.url}/widget.css", timeout=5)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    assert style.status_code == 200 and "text/css" in style.headers["Content-Type"]
    assert "window.MallAssistant" in script.text
    # Messages go into the page as text only; the script never parses strings as HTML.
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert unsafe not in script.text
