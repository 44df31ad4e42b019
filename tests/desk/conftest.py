"""The desk against a real mall API (uvicorn on loopback, a seeded SQLite copy) and a fake Rasa."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from desk.app import create_app as create_desk
from desk.errors import BridgeError
from desk.settings import DeskSettings
from mall.app import create_app as create_mall
from mall.db import Database
from mall.services import agents, handoffs
from mall.settings import HandoffSettings
from tests.mall.fixtures import TOKEN, settings_for
from tests.mall.live_server import live_server

ALWAYS_OPEN = HandoffSettings(service_hours="00:00-24:00")
PASSWORD = "secret-pass"


class FakeRasa:
    """Records what the desk asks Rasa to do; serves a transcript."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.down = False
        self.transcript: list[dict[str, Any]] = [
            {
                "event": "user",
                "text": "<b>什么垃圾客服</b>",
                "parse_data": {"sentiment": {"score": -0.9}},
            },
            {"event": "user", "text": "我电话13812345678，送到北京市朝阳区建国路88号"},
        ]

    def _call(self, *call: str) -> dict[str, Any]:
        if self.down:
            raise BridgeError("down")
        self.calls.append(call)
        return {"ok": True}

    def events(self, sender_id: str) -> list[dict[str, Any]]:
        if self.down:
            raise BridgeError("down")
        return self.transcript

    def claimed(self, sender_id: str, agent: str) -> dict[str, Any]:
        return self._call("claim", sender_id, agent)

    def reply(self, sender_id: str, agent: str, text: str) -> dict[str, Any]:
        return self._call("reply", sender_id, agent, text)

    def closed(self, sender_id: str, agent: str) -> dict[str, Any]:
        return self._call("close", sender_id, agent)

    def widget_token(self, customer_id: str) -> str | None:
        self.calls.append(("widget_token", customer_id))
        return f"v1.token-for-{customer_id}"


@pytest.fixture
def mall_url(db_url: str, database: Database) -> Iterator[str]:
    """The real mall API, with two agents and one waiting handoff."""
    with database.write_session() as session:
        for username, name in (("li", "小李"), ("wang", "小王")):
            agents.save_agent(
                session=session, username=username, display_name=name, password=PASSWORD
            )
        opened = handoffs.open_handoff(
            session=session,
            sender_id="wx-angry",
            channel="rest",
            reason="angry",
            context={
                "profile": {"name": "王女士", "segment": "high_value"},
                "sentiment": [{"text": "电话13812345678", "score": -0.2}],
            },
            settings=ALWAYS_OPEN,
        )
        handoffs.add_note(
            session=session,
            handoff_id=opened.handoff.id,
            kind="callback",
            text="回电 13900001111",
            phone="13900001111",
        )
    app = create_mall(settings_for(database.url, handoff=ALWAYS_OPEN), database=database)
    with live_server(app) as url:
        yield url


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def desk_settings(mall_url: str) -> DeskSettings:
    return DeskSettings(
        mall_api_url=mall_url,
        mall_api_token=TOKEN,
        rasa_api_token="rasa-token-0123456789",
        handoff_token="handoff-token-0123456789",
        web_channel_secret="web-secret-0123456789",
        widget_script_url="http://127.0.0.1:5005/webhooks/web/widget.js",
    )


@pytest.fixture
def desk(desk_settings: DeskSettings, rasa: FakeRasa) -> FastAPI:
    # The fake stands in for the Rasa server (transcripts and the handoff bridge).
    return create_desk(desk_settings, rasa=rasa)  # type: ignore[arg-type]


def with_settings(app: FastAPI, **changes: Any) -> None:
    """Change the desk's settings in place (demo sign-in, limits)."""
    app.state.desk.settings = app.state.desk.settings.replace(**changes)


def logged_in(app: FastAPI, username: str = "li") -> TestClient:
    client = TestClient(app)
    answer = client.post(
        "/console/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, "no form token on the page"
    return match.group(1)
