"""The channels' safety net: a conversation the assistant keeps failing goes to a person.

Against the real mall API (uvicorn on loopback, a seeded SQLite copy) with Rasa's in-memory
tracker and lock stores: the handoff is recorded through the mall client with the service
token, or the customer gets the hotline when it cannot be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels import safety
from mall.app import create_app
from mall.db import Database
from mall.models import Handoff
from tests.mall.fixtures import TOKEN, settings_for
from tests.mall.live_server import live_server


@dataclass
class Processor:
    domain: Domain
    store: InMemoryTrackerStore

    async def save_tracker(self, tracker: DialogueStateTracker) -> None:
        await self.store.save(tracker)


@dataclass
class Agent:
    tracker_store: InMemoryTrackerStore
    lock_store: InMemoryLockStore
    processor: Processor


def agent_with(sender: str, unanswered: int) -> Agent:
    domain = Domain.empty()
    store = InMemoryTrackerStore(domain)
    events: list[Any] = [ActionExecuted("action_listen")]
    for n in range(unanswered):
        events += [UserUttered(f"在吗{n}", input_channel="web"), ActionExecuted("action_listen")]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    return Agent(store, InMemoryLockStore(), Processor(domain, store))


@pytest.fixture
def mall(db_url: str, database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    with live_server(create_app(settings_for(db_url), database=database)) as url:
        monkeypatch.setenv("MALL_API_URL", url)
        monkeypatch.setenv("MALL_API_TOKEN", TOKEN)
        safety.mall_client.cache_clear()
        yield database
    safety.mall_client.cache_clear()


def handoffs_of(database: Database, sender: str) -> list[str]:
    with database.read_session() as session:
        return [h.reason for h in session.query(Handoff).filter_by(sender_id=sender)]


def test_one_silent_turn_gets_an_apology_and_two_a_person(mall: Database) -> None:
    once = agent_with("web-silent-1", unanswered=1)
    assert asyncio.run(safety.reply_or_fallback(once, "web-silent-1", [])) == [
        {"recipient_id": "web-silent-1", "text": safety.BUSY_TEXT}
    ]
    assert handoffs_of(mall, "web-silent-1") == []

    twice = agent_with("web-silent-2", unanswered=2)
    answer = asyncio.run(safety.reply_or_fallback(twice, "web-silent-2", []))
    assert answer == [{"recipient_id": "web-silent-2", "text": safety.ESCALATED_TEXT}]
    assert handoffs_of(mall, "web-silent-2") == ["service_failure"]
    tracker = asyncio.run(twice.tracker_store.retrieve("web-silent-2"))
    assert tracker is not None and tracker.is_paused()


def test_when_the_mall_refuses_the_customer_gets_the_hotline(
    mall: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MALL_API_TOKEN", "not-the-service-token-0123")
    safety.mall_client.cache_clear()
    agent = agent_with("web-silent-3", unanswered=2)
    [answer] = asyncio.run(safety.reply_or_fallback(agent, "web-silent-3", []))
    assert "400-800-8888" in answer["text"]
    assert handoffs_of(mall, "web-silent-3") == []
    tracker = asyncio.run(agent.tracker_store.retrieve("web-silent-3"))
    assert tracker is not None and not tracker.is_paused()
