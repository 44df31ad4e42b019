"""The trainer's to-do list: fallbacks read from a real Rasa tracker store, grouped."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from analytics.__main__ import main
from analytics.todo import group_messages, parse_since, read_fallbacks, to_nlu_stub

NOW = datetime.now(timezone.utc)


def said(text: str, intent: str, when: datetime) -> UserUttered:
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 0.9},
        parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": text},
        timestamp=when.timestamp(),
    )


@pytest.fixture
def tracker_db(tmp_path: Path) -> str:
    path = tmp_path / "trackers.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    recent = NOW - timedelta(days=2)
    conversations = {
        "c1": [("发票怎么开", "nlu_fallback"), ("好的", "affirm")],
        "c2": [("怎么开发票呀", "nlu_fallback"), ("发票怎么开", "nlu_fallback")],
        "c3": [("发票怎么开呢", "nlu_fallback"), ("新疆能送吗", "nlu_fallback")],
        "c4": [
            ("新疆能送到吗", "nlu_fallback"),
            ("/greet", "nlu_fallback"),
            ("多少钱", "ask_price"),
        ],
    }
    for sender, turns in conversations.items():
        events = [ActionExecuted("action_listen")]
        for text, intent in turns:
            events += [said(text, intent, recent), BotUttered("…", timestamp=recent.timestamp())]
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    old = DialogueStateTracker.from_events(
        "old", [said("去年的问题", "nlu_fallback", NOW - timedelta(days=90))]
    )
    asyncio.run(store.save(old))
    store.engine.dispose()
    return f"sqlite:///{path}"


def test_only_recent_fallbacks_are_read(tracker_db: str) -> None:
    texts = read_fallbacks(tracker_db, NOW - timedelta(days=30))
    assert sorted(texts) == sorted(
        [
            "发票怎么开",
            "怎么开发票呀",
            "发票怎么开",
            "发票怎么开呢",
            "新疆能送吗",
            "新疆能送到吗",
        ]
    )
    assert read_fallbacks("sqlite:///" + str(Path(tracker_db[10:]).with_name("none.db")), NOW) == []


def test_one_question_asked_many_ways_shows_once() -> None:
    groups = group_messages(
        [
            "发票怎么开",
            "发票怎么开",
            "怎么开发票呀",
            "发票怎么开呢",
            "新疆能送吗",
            "新疆能送到吗",
        ]
    )
    assert [(g.leader, g.count) for g in groups] == [("发票怎么开", 4), ("新疆能送到吗", 2)]
    invoice = groups[0]
    assert set(invoice.messages) == {"发票怎么开", "怎么开发票呀", "发票怎么开呢"}
    # The same input gives the same groups.
    again = group_messages(
        [
            "新疆能送到吗",
            "发票怎么开",
            "怎么开发票呀",
            "发票怎么开",
            "新疆能送吗",
            "发票怎么开呢",
        ]
    )
    assert [(g.leader, g.count) for g in again] == [(g.leader, g.count) for g in groups]
    assert group_messages(["", "  "]) == []


def test_the_stubs_are_nlu_data_rasa_reads() -> None:
    groups = group_messages(["发票怎么开", "怎么开发票呀", "新疆能送吗"])
    text = to_nlu_stub(groups, since=NOW - timedelta(days=30), until=NOW)
    data = RasaYAMLReader().reads(text)
    assert {example.get("intent") for example in data.intent_examples} == {"TODO_001", "TODO_002"}
    assert "发票怎么开" in {example.get("text") for example in data.intent_examples}
    assert yaml.safe_load(text)["nlu"][0]["intent"] == "TODO_001"


def test_since_accepts_days_hours_and_dates() -> None:
    now = datetime(2026, 12, 2, tzinfo=timezone.utc)
    assert parse_since("30d", now) == now - timedelta(days=30)
    assert parse_since("12h", now) == now - timedelta(hours=12)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="30d"):
        parse_since("lately", now)


def test_the_command_prints_the_list_and_writes_stubs(
    tracker_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "todo.yml"
    assert main(["todo", "--since", "30d", "--tracker-db-url", tracker_db, "--yaml", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "     4  发票怎么开" in printed
    assert "wrote 2 stubs" in printed
    assert RasaYAMLReader().reads(out.read_text(encoding="utf-8")).intent_examples
    assert main(["todo", "--since", "soon", "--tracker-db-url", tracker_db]) == 2
