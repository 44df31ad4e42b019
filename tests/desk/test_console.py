"""The agent console on the real mall API: login on every route, claim once, reply, close."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from mall.db import Database
from mall.models import Handoff, HandoffReveal
from tests.desk.conftest import PASSWORD, FakeRasa, csrf_of, logged_in

ROUTES = [
    ("GET", "/console"),
    ("GET", "/console/handoffs/1"),
    ("GET", "/console/handoffs/1/transcript"),
    ("POST", "/console/handoffs/1/claim"),
    ("POST", "/console/handoffs/1/reply"),
    ("POST", "/console/handoffs/1/close"),
    ("POST", "/console/handoffs/1/reveal"),
    ("POST", "/console/logout"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_login(desk: Any, rasa: FakeRasa, method: str, path: str) -> None:
    client = TestClient(desk)
    client.cookies.set("console_session", "forged-token")
    answer = client.request(method, path, data={"csrf": "x", "text": "hi"}, follow_redirects=False)
    assert answer.status_code in (303, 401)
    if answer.status_code == 303:
        assert answer.headers["location"] == "/console/login"
    assert rasa.calls == []


def test_a_wrong_password_is_refused(desk: Any) -> None:
    client = TestClient(desk)
    answer = client.post("/console/login", data={"username": "li", "password": "nope-nope"})
    assert answer.status_code == 401 and "账号或密码不正确" in answer.text
    assert "console_session" not in client.cookies


def test_claim_reply_close(desk: Any, rasa: FakeRasa) -> None:
    li = logged_in(desk, "li")
    queue = li.get("/console")
    assert "王女士" in queue.text and "顾客情绪激动" in queue.text and "留言 1" in queue.text
    token = csrf_of(queue.text)
    li.post("/console/handoffs/1/claim", data={"csrf": token})
    assert rasa.calls == [("claim", "wx-angry", "小李")]
    page = li.get("/console/handoffs/1")
    # Customer words are shown as text, never as markup.
    assert "&lt;b&gt;什么垃圾客服&lt;/b&gt;" in page.text and "<b>什么垃圾客服</b>" not in page.text
    assert 'id="reply-text"' in page.text
    li.post("/console/handoffs/1/reply", data={"csrf": token, "text": "非常抱歉"})
    assert rasa.calls[-1] == ("reply", "wx-angry", "小李", "非常抱歉")
    li.post("/console/handoffs/1/close", data={"csrf": token})
    assert rasa.calls[-1] == ("close", "wx-angry", "小李")
    assert "已结束" in li.get("/console/handoffs/1").text


def test_a_second_agent_cannot_claim_or_reply(desk: Any, rasa: FakeRasa) -> None:
    li, wang = logged_in(desk, "li"), logged_in(desk, "wang")
    li.post("/console/handoffs/1/claim", data={"csrf": csrf_of(li.get("/console").text)})
    token = csrf_of(wang.get("/console").text)
    refused = wang.post("/console/handoffs/1/claim", data={"csrf": token})
    assert "已经被其他客服接待了" in refused.text
    wang.post("/console/handoffs/1/reply", data={"csrf": token, "text": "我来"})
    assert [call[0] for call in rasa.calls] == ["claim"]


def test_a_form_without_the_session_token_or_from_another_site_is_refused(
    desk: Any, rasa: FakeRasa, database: Database
) -> None:
    li = logged_in(desk, "li")
    token = csrf_of(li.get("/console").text)
    assert li.post("/console/handoffs/1/claim", data={"csrf": "0" * 64}).status_code == 403
    cross_site = li.post(
        "/console/handoffs/1/claim",
        data={"csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert rasa.calls == []
    with database.read_session() as session:
        assert session.get(Handoff, 1).status == "waiting"


def test_personal_data_is_masked_until_revealed_and_each_reveal_is_audited(
    desk: Any, database: Database
) -> None:
    li = logged_in(desk, "li")
    page = li.get("/console/handoffs/1").text
    assert "13812345678" not in page and "138****5678" in page
    assert "建国路88号" not in page and "北京市朝阳区****" in page
    assert "13900001111" not in page and "139****1111" in page  # the call-back note
    token = csrf_of(page)
    li.post("/console/handoffs/1/reveal", data={"csrf": token, "target": "line:1"})
    shown = li.get("/console/handoffs/1").text
    assert "我电话13812345678，送到北京市朝阳区建国路88号" in shown
    assert "小李 于" in shown and "查看了消息 #1" in shown
    assert "13900001111" not in shown  # the note stays masked until it is revealed too
    # Another agent still sees it masked.
    assert "13812345678" not in logged_in(desk, "wang").get("/console/handoffs/1").text
    assert (
        li.post("/console/handoffs/1/reveal", data={"csrf": token, "target": "../../x"}).status_code
        == 200
    )  # refused with a message, nothing recorded
    with database.read_session() as session:
        assert [r.target for r in session.query(HandoffReveal).all()] == ["line:1"]


def test_rasa_down_is_reported_to_the_agent(desk: Any, rasa: FakeRasa) -> None:
    li = logged_in(desk, "li")
    token = csrf_of(li.get("/console").text)
    li.post("/console/handoffs/1/claim", data={"csrf": token})
    rasa.down = True
    page = li.post("/console/handoffs/1/reply", data={"csrf": token, "text": "在的"})
    assert "发送失败" in page.text
    assert "暂时连不上对话服务" in li.get("/console/handoffs/1").text


def test_the_mall_down_is_a_page_not_a_stack_trace(desk: Any) -> None:
    li = logged_in(desk, "li")
    desk.state.desk.mall.base_url = "http://127.0.0.1:9"
    page = li.get("/console", follow_redirects=False)
    assert page.status_code == 503 and "暂时连不上商城服务" in page.text
    assert "Traceback" not in page.text


def test_logout_ends_the_session(desk: Any) -> None:
    li = logged_in(desk, "li")
    session_token = li.cookies["console_session"]
    li.post("/console/logout", data={"csrf": csrf_of(li.get("/console").text)})
    replay = TestClient(desk)
    replay.cookies.set("console_session", session_token)
    assert replay.get("/console", follow_redirects=False).status_code == 303


def test_logins_from_one_address_are_rate_limited(desk: Any) -> None:
    client = TestClient(desk)
    for _ in range(10):
        client.post("/console/login", data={"username": "nobody", "password": "x"})
    limited = client.post("/console/login", data={"username": "li", "password": PASSWORD})
    assert limited.status_code == 429 and "登录尝试太频繁" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    assert "console_session" not in client.cookies


def test_an_account_locks_after_repeated_wrong_passwords(desk: Any) -> None:
    client = TestClient(desk)
    answers = [
        client.post("/console/login", data={"username": "wang", "password": "wrong-one"})
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    right = client.post("/console/login", data={"username": "wang", "password": PASSWORD})
    assert right.status_code == 429 and "锁定" in right.text
    assert "console_session" not in client.cookies
