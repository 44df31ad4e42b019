"""Handoffs in the mall: open once per conversation, the honest wait, notes, one claim wins."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mall.app import create_app
from mall.db import Database
from mall.errors import AlreadyClaimed
from mall.models import Agent, AgentSession, Handoff, HandoffReveal, utcnow
from mall.services import agents, handoffs
from mall.settings import HandoffSettings, SettingsError
from tests.mall.fixtures import AUTH, settings_for

ALWAYS_OPEN = HandoffSettings(service_hours="00:00-24:00", minutes_per_conversation=4)


@pytest.fixture
def app_client(db_url: str, database: Database) -> Iterator[TestClient]:
    app = create_app(settings_for(db_url, handoff=ALWAYS_OPEN), database=database)
    with TestClient(app, headers=AUTH) as test_client:
        yield test_client


def agent_online(database: Database, username: str = "li") -> int:
    with database.write_session() as session:
        agent = agents.save_agent(
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
    stored = agents.hash_password("correct horse")
    assert "correct horse" not in stored
    assert agents.verify_password("correct horse", stored)
    assert not agents.verify_password("wrong", stored)
    assert not agents.verify_password("x", "garbage")


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


# ---- the desk's side: agents sign in, list, claim, close, reveal ----


def sign_in(client: TestClient, username: str = "li", password: str = "secret-pass") -> str:
    answer = client.post("/agents/sessions", json={"username": username, "password": password})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def test_an_agent_signs_in_and_the_session_says_who(
    app_client: TestClient, database: Database
) -> None:
    agent_online(database)
    token = sign_in(app_client)
    me = app_client.get("/agents/me", headers={"X-Agent-Session": token})
    assert me.status_code == 200 and me.json()["username"] == "li"
    with database.read_session() as session:
        stored = session.query(AgentSession).one().token_hash
    assert token not in stored  # only a hash is kept
    assert app_client.delete("/agents/me", headers={"X-Agent-Session": token}).status_code == 204
    assert app_client.get("/agents/me", headers={"X-Agent-Session": token}).status_code == 401
    assert app_client.get("/agents/me", headers={"X-Agent-Session": "forged"}).status_code == 401
    assert app_client.get("/agents/me").status_code == 422  # no session header at all


def test_repeated_wrong_passwords_lock_the_account(
    app_client: TestClient, database: Database
) -> None:
    agent_online(database)
    wrong = {"username": "li", "password": "guess-guess"}
    codes = [app_client.post("/agents/sessions", json=wrong).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    locked = app_client.post("/agents/sessions", json={"username": "li", "password": "secret-pass"})
    # Locked: even the right password is refused, with how long to wait.
    assert locked.status_code == 429 and locked.json()["error"] == "locked"
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert locked.json()["retry_after"] == int(locked.headers["retry-after"])
    assert "锁定" in locked.json()["message"]
    with database.read_session() as session:
        assert session.query(AgentSession).count() == 0
    # An unknown name gets the same answer as a wrong password.
    unknown = app_client.post("/agents/sessions", json={"username": "nobody", "password": "x"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_credentials"


def test_the_lock_lifts_after_its_time(database: Database) -> None:
    agent_online(database)
    settings = HandoffSettings(login_max_failures=2, login_lock_minutes=15)
    now = utcnow()
    with database.write_session() as session:
        for _ in range(2):
            agents.log_in(session=session, username="li", password="x", settings=settings, now=now)
    later = now + timedelta(minutes=16)
    with database.write_session() as session:
        locked = agents.log_in(
            session=session, username="li", password="secret-pass", settings=settings, now=now
        )
        assert locked.locked_for is not None and locked.token is None
        opened = agents.log_in(
            session=session, username="li", password="secret-pass", settings=settings, now=later
        )
        assert opened.token is not None
        assert session.scalars(select(Agent.failed_logins)).one() == 0


def test_the_desk_lists_claims_reveals_and_closes(
    app_client: TestClient, database: Database
) -> None:
    agent_online(database)
    agent_online(database, "wang")
    li, wang = sign_in(app_client), sign_in(app_client, "wang")
    handoff_id = app_client.post("/handoffs", json=open_body()).json()["handoff"]["id"]
    app_client.post(f"/handoffs/{handoff_id}/notes", json={"text": "回电 13812345678"})

    waiting = app_client.get("/handoffs", params={"status": "waiting"}).json()["items"]
    assert [(h["id"], h["notes_count"], h["agent"]) for h in waiting] == [(handoff_id, 1, None)]
    assert app_client.get("/handoffs", params={"status": "lost"}).status_code == 422

    as_li = {"X-Agent-Session": li}
    claimed = app_client.post(f"/handoffs/{handoff_id}/claim", headers=as_li)
    assert claimed.status_code == 200 and claimed.json()["agent"]["display_name"] == "li"
    second = app_client.post(f"/handoffs/{handoff_id}/claim", headers={"X-Agent-Session": wang})
    assert second.status_code == 409 and second.json()["error"] == "already_claimed"
    forged = app_client.post(f"/handoffs/{handoff_id}/claim", headers={"X-Agent-Session": "x"})
    assert forged.status_code == 401

    revealed = app_client.post(
        f"/handoffs/{handoff_id}/reveals", headers=as_li, json={"target": "note:1"}
    )
    assert revealed.status_code == 201 and revealed.json()["agent"]["display_name"] == "li"
    assert (
        app_client.post(
            f"/handoffs/{handoff_id}/reveals", headers=as_li, json={"target": "../etc"}
        ).status_code
        == 422
    )
    detail = app_client.get(f"/handoffs/{handoff_id}").json()
    assert [r["target"] for r in detail["reveals"]] == ["note:1"]
    assert detail["notes"][0]["text"] == "回电 13812345678" and detail["context"] == {"x": 1}

    not_owner = app_client.post(f"/handoffs/{handoff_id}/close", headers={"X-Agent-Session": wang})
    assert not_owner.status_code == 409
    closed = app_client.post(f"/handoffs/{handoff_id}/close", headers=as_li).json()
    assert closed["previous_status"] == "active" and closed["handoff"]["status"] == "closed"
    assert app_client.get("/handoffs/9999").status_code == 404
    with database.read_session() as session:
        assert session.query(HandoffReveal).count() == 1
