"""The agent console: login on every route, claim once, reply and close through the bridge."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mall.app import create_app
from mall.console.bridge import BridgeError, Line
from mall.db import Database
from mall.handoff_settings import HandoffSettings
from mall.services import handoffs
from mall.settings import Settings

SETTINGS = HandoffSettings(service_hours="00:00-24:00")


class FakeBridge:
    """Records what the console asks Rasa to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.down = False

    def _call(self, *call: str) -> dict[str, Any]:
        if self.down:
            raise BridgeError("down")
        self.calls.append(call)
        return {"ok": True}

    def transcript(self, sender_id: str) -> list[Line]:
        if self.down:
            raise BridgeError("down")
        return [Line(who="customer", text="<b>什么垃圾客服</b>", at=None, sentiment=-0.9)]

    def claimed(self, sender_id: str, agent: str) -> dict[str, Any]:
        return self._call("claim", sender_id, agent)

    def reply(self, sender_id: str, agent: str, text: str) -> dict[str, Any]:
        return self._call("reply", sender_id, agent, text)

    def closed(self, sender_id: str, agent: str) -> dict[str, Any]:
        return self._call("close", sender_id, agent)


@pytest.fixture
def bridge() -> FakeBridge:
    return FakeBridge()


@pytest.fixture
def app(db_url: str, database: Database, bridge: FakeBridge) -> Any:
    app = create_app(Settings(database_url=db_url), database=database, handoff_settings=SETTINGS)
    app.state.rasa_bridge = bridge
    with database.write_session() as session:
        for username, name in (("li", "小李"), ("wang", "小王")):
            handoffs.save_agent(
                session=session, username=username, display_name=name, password="secret-pass"
            )
        opened = handoffs.open_handoff(
            session=session,
            sender_id="wx-angry",
            channel="rest",
            reason="angry",
            context={"profile": {"name": "王女士", "segment": "high_value"}},
            settings=SETTINGS,
        )
        app.state.test_handoff_id = opened.handoff.id
    return app


def logged_in(app: Any, username: str) -> TestClient:
    client = TestClient(app)
    answer = client.post(
        "/console/login",
        data={"username": username, "password": "secret-pass"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, "no form token on the page"
    return match.group(1)


ROUTES = [
    ("GET", "/console"),
    ("GET", "/console/handoffs/1"),
    ("GET", "/console/handoffs/1/transcript"),
    ("POST", "/console/handoffs/1/claim"),
    ("POST", "/console/handoffs/1/reply"),
    ("POST", "/console/handoffs/1/close"),
    ("POST", "/console/logout"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_login(app: Any, bridge: FakeBridge, method: str, path: str) -> None:
    client = TestClient(app)
    client.cookies.set("console_session", "forged-token")
    answer = client.request(method, path, data={"csrf": "x", "text": "hi"}, follow_redirects=False)
    assert answer.status_code in (303, 401)
    if answer.status_code == 303:
        assert answer.headers["location"] == "/console/login"
    assert bridge.calls == []


def test_a_wrong_password_is_refused(app: Any) -> None:
    client = TestClient(app)
    answer = client.post("/console/login", data={"username": "li", "password": "nope-nope"})
    assert answer.status_code == 200 and "账号或密码不正确" in answer.text
    assert "console_session" not in client.cookies


def test_claim_reply_close(app: Any, bridge: FakeBridge) -> None:
    handoff_id = app.state.test_handoff_id
    li = logged_in(app, "li")
    queue = li.get("/console")
    assert "王女士" in queue.text and "顾客情绪激动" in queue.text
    token = csrf_of(queue.text)
    li.post(f"/console/handoffs/{handoff_id}/claim", data={"csrf": token})
    assert bridge.calls == [("claim", "wx-angry", "小李")]
    page = li.get(f"/console/handoffs/{handoff_id}")
    # Customer words are shown as text, never as markup.
    assert "&lt;b&gt;什么垃圾客服&lt;/b&gt;" in page.text and "<b>什么垃圾客服</b>" not in page.text
    assert 'id="reply-text"' in page.text
    li.post(f"/console/handoffs/{handoff_id}/reply", data={"csrf": token, "text": "非常抱歉"})
    assert bridge.calls[-1] == ("reply", "wx-angry", "小李", "非常抱歉")
    li.post(f"/console/handoffs/{handoff_id}/close", data={"csrf": token})
    assert bridge.calls[-1] == ("close", "wx-angry", "小李")
    assert "已结束" in li.get(f"/console/handoffs/{handoff_id}").text


def test_a_second_agent_cannot_claim_or_reply(app: Any, bridge: FakeBridge) -> None:
    handoff_id = app.state.test_handoff_id
    li, wang = logged_in(app, "li"), logged_in(app, "wang")
    li.post(
        f"/console/handoffs/{handoff_id}/claim", data={"csrf": csrf_of(li.get("/console").text)}
    )
    token = csrf_of(wang.get("/console").text)
    refused = wang.post(f"/console/handoffs/{handoff_id}/claim", data={"csrf": token})
    assert "已经被其他客服接待了" in refused.text
    wang.post(f"/console/handoffs/{handoff_id}/reply", data={"csrf": token, "text": "我来"})
    assert [call[0] for call in bridge.calls] == ["claim"]


def test_a_form_without_the_session_token_is_refused(app: Any, bridge: FakeBridge) -> None:
    li = logged_in(app, "li")
    answer = li.post(
        f"/console/handoffs/{app.state.test_handoff_id}/claim", data={"csrf": "0" * 64}
    )
    assert answer.status_code == 401 and bridge.calls == []


def test_rasa_down_is_reported_to_the_agent(app: Any, bridge: FakeBridge) -> None:
    li = logged_in(app, "li")
    handoff_id = app.state.test_handoff_id
    token = csrf_of(li.get("/console").text)
    li.post(f"/console/handoffs/{handoff_id}/claim", data={"csrf": token})
    bridge.down = True
    page = li.post(f"/console/handoffs/{handoff_id}/reply", data={"csrf": token, "text": "在的"})
    assert "发送失败" in page.text
    assert "暂时连不上对话服务" in li.get(f"/console/handoffs/{handoff_id}").text


def test_logout_ends_the_session(app: Any) -> None:
    li = logged_in(app, "li")
    session_token = li.cookies["console_session"]
    li.post("/console/logout", data={"csrf": csrf_of(li.get("/console").text)})
    # The old cookie, replayed, no longer opens anything: the session is gone server-side.
    replay = TestClient(app)
    replay.cookies.set("console_session", session_token)
    assert replay.get("/console", follow_redirects=False).status_code == 303
