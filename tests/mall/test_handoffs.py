"""Handoffs in the mall: open once per conversation, the honest wait, notes, one claim wins."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from mall.app import create_app
from mall.db import Database
from mall.errors import AlreadyClaimed
from mall.handoff_settings import HandoffSettings
from mall.models import Handoff, utcnow
from mall.services import handoffs
from mall.settings import Settings, SettingsError

ALWAYS_OPEN = HandoffSettings(service_hours="00:00-24:00", minutes_per_conversation=4)


@pytest.fixture
def app_client(db_url: str, database: Database) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db_url), database=database, handoff_settings=ALWAYS_OPEN)
    with TestClient(app) as test_client:
        yield test_client


def agent_online(database: Database, username: str = "li") -> int:
    with database.write_session() as session:
        agent = handoffs.save_agent(
            session=session, username=username, display_name=username, password="secret-pass"
        )
        agent.last_seen_at = utcnow()
        return int(agent.id)


def open_body(sender: str = "wx-1", reason: str = "angry") -> dict[str, object]:
    return {"sender_id": sender, "channel": "wechat", "reason": reason, "context": {"x": 1}}


def test_nobody_online_is_reported_honestly(app_client: TestClient) -> None:
    answer = app_client.post("/handoffs", json=open_body())
    assert answer.status_code == 201
    body = answer.json()
    assert body["availability"]["available"] is False
    assert body["availability"]["agents_online"] == 0
    assert body["handoff"]["offline"] is True


def test_one_open_handoff_per_conversation(app_client: TestClient, database: Database) -> None:
    agent_online(database)
    first = app_client.post("/handoffs", json=open_body(reason="angry"))
    again = app_client.post("/handoffs", json=open_body(reason="customer_asked"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["handoff"]["id"] == first.json()["handoff"]["id"]
    assert again.json()["handoff"]["reasons"] == ["angry", "customer_asked"]
    assert first.json()["availability"]["available"] is True


def test_expected_wait_grows_with_the_queue(app_client: TestClient, database: Database) -> None:
    agent_online(database)
    waits = [
        app_client.post("/handoffs", json=open_body(sender=f"wx-{n}")).json()["availability"][
            "expected_wait_minutes"
        ]
        for n in range(3)
    ]
    assert waits == [4, 8, 12]
    agent_online(database, "wang")
    state = app_client.get("/handoffs/availability").json()
    assert state["agents_online"] == 2 and state["waiting"] == 3
    assert state["expected_wait_minutes"] == 8  # (3 + 1) * 4 / 2


def test_notes_are_recorded_and_validated(app_client: TestClient, database: Database) -> None:
    handoff_id = app_client.post("/handoffs", json=open_body()).json()["handoff"]["id"]
    note = app_client.post(
        f"/handoffs/{handoff_id}/notes",
        json={"kind": "callback", "text": "明早打我 13812345678", "phone": "13812345678"},
    )
    assert note.status_code == 201 and note.json()["phone"] == "13812345678"
    assert app_client.post(f"/handoffs/{handoff_id}/notes", json={"text": ""}).status_code == 422
    assert app_client.post("/handoffs/9999/notes", json={"text": "hi"}).status_code == 404
    assert (
        app_client.post("/handoffs", json={"sender_id": "../x", "reason": "a"}).status_code == 422
    )


def test_service_hours() -> None:
    shanghai = HandoffSettings(service_hours="09:00-21:00", timezone="Asia/Shanghai")
    at = datetime(2026, 11, 22, tzinfo=timezone.utc)
    assert shanghai.in_service_hours(at + timedelta(hours=2))  # 10:00 in Shanghai
    assert not shanghai.in_service_hours(at + timedelta(hours=14))  # 22:00
    night = HandoffSettings(service_hours="20:00-02:00", timezone="UTC")
    assert night.in_service_hours(at + timedelta(hours=1))
    assert not night.in_service_hours(at + timedelta(hours=12))
    with pytest.raises(SettingsError):
        HandoffSettings.from_env({"HANDOFF_SERVICE_HOURS": "9am-9pm"})
    with pytest.raises(SettingsError):
        HandoffSettings.from_env({"HANDOFF_TIMEZONE": "Mars/Olympus"})


def test_passwords_are_hashed_and_checked() -> None:
    stored = handoffs.hash_password("correct horse")
    assert "correct horse" not in stored
    assert handoffs.verify_password("correct horse", stored)
    assert not handoffs.verify_password("wrong", stored)
    assert not handoffs.verify_password("x", "garbage")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def racing_database(request: pytest.FixtureRequest) -> Iterator[Database]:
    url: str = request.getfixturevalue("db_url" if request.param == "sqlite" else "postgres_url")
    database = Database(url)
    yield database
    database.dispose()


def test_only_one_of_many_agents_claims_a_conversation(racing_database: Database) -> None:
    agents = [agent_online(racing_database, f"agent{n}") for n in range(8)]
    with racing_database.write_session() as session:
        opened = handoffs.open_handoff(
            session=session,
            sender_id="wx-race",
            channel="rest",
            reason="angry",
            context={},
            settings=ALWAYS_OPEN,
        )
        handoff_id = int(opened.handoff.id)

    def try_claim(agent_id: int) -> bool:
        try:
            with racing_database.write_session() as session:
                handoffs.claim(
                    session=session, handoff_id=handoff_id, agent_id=agent_id, now=utcnow()
                )
            return True
        except AlreadyClaimed:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(try_claim, agents))
    assert results.count(True) == 1
    with racing_database.read_session() as session:
        handoff = session.get(Handoff, handoff_id)
        assert handoff.status == "active"
        assert handoff.agent_id == agents[results.index(True)]
