"""The windowed tracker store: what Rasa sees is what the whole session says, in fewer events."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from channels import tracker_store
from channels.tracker_store import WINDOW_ATTRIBUTE, WindowedSQLTrackerStore, retrieve_since
from tests.mall.fixtures import throwaway_postgres

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))
INTENTS = ["greet", "ask_price", "affirm", "deny", "thank", "ask_stock"]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def stores(
    tmp_path: Path, window_turns: int = 3
) -> tuple[SQLTrackerStore, WindowedSQLTrackerStore]:
    stock = SQLTrackerStore(DOMAIN, host=f"sqlite:///{tmp_path / 'stock.db'}")
    windowed = WindowedSQLTrackerStore(
        DOMAIN, host=f"sqlite:///{tmp_path / 'windowed.db'}", window_turns=window_turns
    )
    return stock, windowed


def turn_events(rng: random.Random, number: int) -> list[Event]:
    """One customer turn: the message, some slots, an action or two, the bot's line."""
    intent = rng.choice(INTENTS)
    events: list[Event] = [
        UserUttered(
            f"第{number}句",
            intent={"name": intent, "confidence": 0.9},
            parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": []},
        )
    ]
    if rng.random() < 0.4:
        events.append(SlotSet("sales_stage", rng.choice(["price_quoted", "coupon_offered", None])))
    if rng.random() < 0.3:
        events.append(SlotSet("product", rng.choice(["蓝牙耳机", "保温杯"])))
    if rng.random() < 0.2:
        events.append(SlotSet("pending_question", rng.choice(["price", "stock", None])))
    events += [ActionExecuted("action_quote_price"), BotUttered(f"回答{number}")]
    if number % 17 == 5:
        events.append(ConversationPaused())
    if number % 17 == 9:
        events.append(ConversationResumed())
    events.append(ActionExecuted("action_listen"))
    return events


async def play_turn(
    store: SQLTrackerStore, sender: str, events: list[Event]
) -> DialogueStateTracker:
    tracker = await store.retrieve(sender)
    if tracker is None:
        tracker = store.init_tracker(sender)
        tracker.update(ActionExecuted("action_listen"))
    for event in events:
        tracker.update(event)
    await store.save(tracker)
    return tracker


def play_both(
    stock: SQLTrackerStore, windowed: WindowedSQLTrackerStore, sender: str, events: list[Event]
) -> None:
    """The same turn through both stores (the windowed one gets copies of the events)."""
    run(play_turn(stock, sender, events))
    copies = [e for e in (Event.from_parameters(x.as_dict()) for x in events) if e]
    run(play_turn(windowed, sender, copies))


def assert_same_view(full: DialogueStateTracker, windowed: DialogueStateTracker) -> None:
    assert windowed.current_slot_values() == full.current_slot_values()
    assert windowed.is_paused() == full.is_paused()
    assert windowed.latest_message.text == full.latest_message.text
    assert windowed.latest_action_name == full.latest_action_name
    assert windowed.followup_action == full.followup_action
    # What the policies featurise: the states of the window's turns (two a turn here; the
    # memoization policy looks back 4, rules a few turns, the window keeps 3 to 6 turns).
    assert windowed.past_states(DOMAIN)[-6:] == full.past_states(DOMAIN)[-6:]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_long_conversation_reads_the_same_and_stores_everything(
    tmp_path: Path, seed: int
) -> None:
    stock, windowed = stores(tmp_path)
    rng = random.Random(seed)
    for number in range(40):
        events = turn_events(rng, number)
        play_both(stock, windowed, "c1", events)
        full, window = run(stock.retrieve("c1")), run(windowed.retrieve("c1"))
        assert_same_view(full, window)
    # The window stays short: at most twice window_turns customer turns, plus the state.
    assert len(window.events) < len(full.events) / 3
    assert getattr(window, WINDOW_ATTRIBUTE) is not None
    # Every event is stored once, in order, as the stock store stores it.
    stored = [e.as_dict() for e in run(windowed.retrieve_full_tracker("c1")).events]
    expected = [e.as_dict() for e in run(stock.retrieve_full_tracker("c1")).events]
    assert [(e["event"], e.get("name"), e.get("text"), e.get("value")) for e in stored] == [
        (e["event"], e.get("name"), e.get("text"), e.get("value")) for e in expected
    ]


def test_a_pause_before_the_window_is_kept(tmp_path: Path) -> None:
    _, windowed = stores(tmp_path, window_turns=2)
    run(play_turn(windowed, "c2", [UserUttered("人工"), ConversationPaused()]))
    for number in range(8):
        run(
            play_turn(
                windowed, "c2", [UserUttered(f"还在吗{number}"), ActionExecuted("action_listen")]
            )
        )
    tracker = run(windowed.retrieve("c2"))
    assert getattr(tracker, WINDOW_ATTRIBUTE) is not None
    assert tracker.is_paused()
    assert not any(e.text == "人工" for e in tracker.events if isinstance(e, UserUttered))


def test_a_new_process_reads_the_whole_session_once(tmp_path: Path) -> None:
    _, windowed = stores(tmp_path)
    rng = random.Random(3)
    for number in range(12):
        run(play_turn(windowed, "c3", turn_events(rng, number)))
    fresh = WindowedSQLTrackerStore(
        DOMAIN, host=f"sqlite:///{tmp_path / 'windowed.db'}", window_turns=3
    )
    whole = run(fresh.retrieve("c3"))
    assert getattr(whole, WINDOW_ATTRIBUTE, None) is None
    run(play_turn(fresh, "c3", turn_events(rng, 12)))
    assert getattr(run(fresh.retrieve("c3")), WINDOW_ATTRIBUTE) is not None


def test_an_erased_conversation_is_not_brought_back(tmp_path: Path) -> None:
    _, windowed = stores(tmp_path)
    rng = random.Random(4)
    for number in range(12):
        run(play_turn(windowed, "c4", turn_events(rng, number)))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'windowed.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM events WHERE sender_id = 'c4'"))
    engine.dispose()
    assert run(windowed.retrieve("c4")) is None


def test_a_new_session_starts_afresh(tmp_path: Path) -> None:
    _, windowed = stores(tmp_path)
    rng = random.Random(5)
    for number in range(12):
        run(play_turn(windowed, "c5", turn_events(rng, number)))
    run(
        play_turn(
            windowed,
            "c5",
            [
                ActionExecuted("action_session_start"),
                SessionStarted(),
                ActionExecuted("action_listen"),
            ],
        )
    )
    tracker = run(windowed.retrieve("c5"))
    assert [e.type_name for e in tracker.events][:2] == ["session_started", "action"]
    assert (
        tracker.current_slot_values()
        == DialogueStateTracker("x", DOMAIN.slots).current_slot_values()
    )


def test_window_turns_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        WindowedSQLTrackerStore(DOMAIN, host=f"sqlite:///{tmp_path / 'x.db'}", window_turns=0)


def test_history_from_long_ago_reads_the_whole_session(tmp_path: Path) -> None:
    _, windowed = stores(tmp_path)
    rng = random.Random(6)
    for number in range(12):
        run(play_turn(windowed, "c6", turn_events(rng, number)))
    latest = run(windowed.retrieve("c6"))
    texts = [e.text for e in latest.events if isinstance(e, UserUttered)]
    assert len(texts) < 12
    recent = run(retrieve_since(windowed, "c6", latest.events[-1].timestamp - 0.0001))
    assert recent is not None and getattr(recent, WINDOW_ATTRIBUTE) is not None
    whole = run(retrieve_since(windowed, "c6", 0.0))
    assert [e.text for e in whole.events if isinstance(e, UserUttered)] == [
        f"第{number}句" for number in range(12)
    ]


def test_events_read_back_as_rasa_reads_them() -> None:
    """The store's event reader gives the events Rasa's own `deserialise_events` gives."""
    import json

    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        BotUttered,
        ConversationPaused,
        ConversationResumed,
        FollowupAction,
        SessionStarted,
        SlotSet,
        UserUttered,
        deserialise_events,
    )

    from channels.tracker_store import _deserialise

    originals = [
        SessionStarted(timestamp=1.0),
        ActionExecuted("action_listen", timestamp=2.0),
        UserUttered(
            "耳机多少钱",
            {"name": "ask_price", "confidence": 0.9},
            [{"entity": "product", "value": "耳机", "start": 0, "end": 2}],
            parse_data={"sentiment": {"score": -0.1}},
            timestamp=3.0,
            metadata={"product_id": "P1001"},
        ),
        SlotSet("product_id", "P1001", timestamp=4.0),
        BotUttered("¥299", {"buttons": [{"title": "要优惠", "payload": "/affirm"}]}, timestamp=5.0),
        FollowupAction("action_handoff", timestamp=6.0),
        ConversationPaused(timestamp=7.0),
        ConversationResumed(timestamp=8.0),
        ActiveLoop(None, timestamp=9.0),
    ]
    stored = [json.dumps(event.as_dict()) for event in originals]
    ours = _deserialise(iter(stored))
    rasas = deserialise_events([json.loads(data) for data in stored])
    assert ours == rasas == originals
    assert [type(event) for event in ours] == [type(event) for event in originals]
    assert [event.as_dict() for event in ours] == [event.as_dict() for event in rasas]


def test_sqlite_keeps_a_write_ahead_log_and_other_readers_see_every_turn(tmp_path: Path) -> None:
    import sqlite3

    _, windowed = stores(tmp_path)
    rng = random.Random(8)
    for number in range(3):
        run(play_turn(windowed, "c8", turn_events(rng, number)))
    with windowed.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    # Another process (the desk, `rasa export`) reading the file sees what was committed.
    other = sqlite3.connect(tmp_path / "windowed.db")
    stored = other.execute("SELECT count(*) FROM events WHERE sender_id = 'c8'").fetchone()[0]
    other.close()
    reread = run(windowed.retrieve_full_tracker("c8"))
    assert reread is not None and stored == len(reread.events) > 0


class RecordingBroker:
    """An event broker keeping what Rasa's `stream_events` publishes, one call at a time."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


def test_saving_streams_the_same_events_as_rasas_store_in_one_batch(tmp_path: Path) -> None:
    import json

    from channels.event_broker import BatchedSQLEventBroker

    recording = RecordingBroker()
    stock = SQLTrackerStore(
        DOMAIN, host=f"sqlite:///{tmp_path / 'stock.db'}", event_broker=recording
    )
    broker = BatchedSQLEventBroker(db=str(tmp_path / "events.db"))
    windowed = WindowedSQLTrackerStore(
        DOMAIN,
        host=f"sqlite:///{tmp_path / 'windowed.db'}",
        window_turns=3,
        event_broker=broker,
    )
    commits: list[int] = []
    sa.event.listen(broker.engine, "commit", lambda _connection: commits.append(1))
    rng = random.Random(11)
    for number in range(12):
        events = turn_events(rng, number)
        play_both(stock, windowed, "c11", events)
    with broker.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT sender_id, data FROM events ORDER BY id").all()
    assert [row.sender_id for row in rows] == ["c11"] * len(recording.published)

    # The same events in the same order (each store's first action_listen has its own time).
    def untimed(event: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in event.items() if key != "timestamp"}

    assert [untimed(json.loads(row.data)) for row in rows] == [
        untimed(event) for event in recording.published
    ]
    assert len(commits) == 12  # one per saved turn, not one per event
    with broker.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_conversations_saved_at_once_from_worker_threads_keep_every_event(
    tmp_path: Path,
) -> None:
    _, windowed = stores(tmp_path)
    senders = [f"p{number}" for number in range(8)]
    expected: dict[str, int] = {}

    async def conversation(sender: str) -> None:
        rng = random.Random(sender)
        for number in range(10):
            tracker = await play_turn(windowed, sender, turn_events(rng, number))
        full = await windowed.retrieve_full_tracker(sender)
        assert full is not None
        expected[sender] = len(full.events)
        assert_same_view(full, tracker)

    async def everyone() -> None:
        await asyncio.gather(*(conversation(sender) for sender in senders))

    run(everyone())
    with windowed.engine.connect() as connection:
        counts = dict(
            connection.exec_driver_sql(
                "SELECT sender_id, count(*) FROM events GROUP BY sender_id"
            ).all()
        )
    assert counts == expected
    assert all(count >= 41 for count in counts.values())  # at least 4 events a turn


def test_saving_the_same_tracker_twice_or_a_tracker_built_elsewhere_stores_each_event_once(
    tmp_path: Path,
) -> None:
    _, windowed = stores(tmp_path)
    rng = random.Random(7)
    run(play_turn(windowed, "c1", turn_events(rng, 1)))
    tracker = run(windowed.retrieve("c1"))
    for number in (2, 3):
        for event in turn_events(rng, number):
            tracker.update(event)
        run(windowed.save(tracker))  # the same object, saved after each turn
        run(windowed.save(tracker))  # and again with nothing new
    stored = run(windowed.retrieve("c1"))
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in tracker.events]
    # A tracker this store did not read (as Rasa's HTTP API builds one) is counted instead.
    rebuilt = DialogueStateTracker.from_events("c1", list(tracker.events), DOMAIN.slots)
    rebuilt.update(ActionExecuted("action_listen"))
    run(windowed.save(rebuilt))
    again = run(windowed.retrieve("c1"))
    assert len(again.events) == len(tracker.events) + 1
    with sa.create_engine(f"sqlite:///{tmp_path / 'windowed.db'}").connect() as connection:
        rows = connection.execute(sa.text("SELECT count(*) FROM events")).scalar()
    assert rows == len(tracker.events) + 1


def test_a_new_conversation_is_stored_as_rasas_store_stores_it_without_counting_rows(
    tmp_path: Path,
) -> None:
    stock, windowed = stores(tmp_path)
    statements: list[str] = []
    sa.event.listen(
        windowed.engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_args: statements.append(statement.lower()),
    )
    trackers = [run(store.get_or_create_tracker("new-1")) for store in (stock, windowed)]
    assert not any("count(" in statement for statement in statements)
    assert any(statement.startswith("insert") for statement in statements)
    for store, tracker in zip((stock, windowed), trackers, strict=True):
        for event in turn_events(random.Random(3), 1):
            tracker.update(event)
        run(store.save(tracker))
    assert not any("count(" in statement for statement in statements)

    def untimed(tracker: DialogueStateTracker) -> list[dict[str, Any]]:
        return [{**e.as_dict(), "timestamp": None} for e in tracker.events]

    stock_events = untimed(run(stock.retrieve("new-1")))
    assert untimed(run(windowed.retrieve("new-1"))) == stock_events
    assert len(stock_events) == 1 + len(turn_events(random.Random(3), 1))
    # The same conversation asked for again is read, not created.
    assert len(run(windowed.get_or_create_tracker("new-1")).events) == len(stock_events)


def test_a_new_conversation_through_rasas_wrapping_stores_is_not_counted_either(
    tmp_path: Path,
) -> None:
    """As the Rasa server holds the store: FailSafeTrackerStore(AwaitableTrackerStore(...))."""
    _, windowed = stores(tmp_path)
    served = FailSafeTrackerStore(TrackerStore.create(windowed))
    statements: list[str] = []
    sa.event.listen(
        windowed.engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_args: statements.append(statement.lower()),
    )
    tracker = run(served.get_or_create_tracker("wrapped-1"))
    for event in turn_events(random.Random(5), 1):
        tracker.update(event)
    run(served.save(tracker))
    assert any(statement.startswith("insert") for statement in statements)
    assert not any("count(" in statement for statement in statements)
    stored = run(served.retrieve("wrapped-1"))
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in tracker.events]
    # Once stored, a tracker built elsewhere for the conversation is counted again.
    rebuilt = DialogueStateTracker.from_events("wrapped-1", list(tracker.events), DOMAIN.slots)
    rebuilt.update(ActionExecuted("action_listen"))
    run(served.save(rebuilt))
    assert any("count(" in statement for statement in statements)
    assert len(run(served.retrieve("wrapped-1")).events) == len(tracker.events) + 1


def test_nothing_found_long_ago_does_not_make_a_later_tracker_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, windowed = stores(tmp_path)
    assert run(windowed.retrieve("late-1")) is None
    # Meanwhile another process stores the conversation's first turn.
    _, other = stores(tmp_path)
    first = run(play_turn(other, "late-1", turn_events(random.Random(9), 1)))
    clock = time.monotonic() + tracker_store.UNSTORED_SECONDS + 1
    monkeypatch.setattr(tracker_store.time, "monotonic", lambda: clock)
    rebuilt = DialogueStateTracker.from_events("late-1", list(first.events), DOMAIN.slots)
    rebuilt.update(ActionExecuted("action_listen"))
    run(windowed.save(rebuilt))
    assert len(run(windowed.retrieve("late-1")).events) == len(first.events) + 1


@pytest.fixture
def postgres_tracker_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for tracker stores, dropped afterwards."""
    with throwaway_postgres("trackers_test") as url:
        yield url


@pytest.mark.postgres
def test_two_replicas_on_postgresql_read_and_store_as_rasas_store(
    tmp_path: Path, postgres_tracker_url: str
) -> None:
    """As in `make cluster`: replicas take turns on a conversation (the lock store orders
    them), each with its own windows; both see what Rasa's store sees, every event once."""
    stock = SQLTrackerStore(DOMAIN, host=f"sqlite:///{tmp_path / 'stock.db'}")
    replicas = [
        WindowedSQLTrackerStore(DOMAIN, host=postgres_tracker_url, window_turns=3) for _ in range(2)
    ]
    assert replicas[0].engine.dialect.name == "postgresql"
    rng = random.Random(4)
    for number in range(30):
        events = turn_events(rng, number)
        run(play_turn(stock, "pg-1", events))
        replica = replicas[rng.randrange(2)]
        copies = [e for e in (Event.from_parameters(x.as_dict()) for x in events) if e]
        run(play_turn(replica, "pg-1", copies))
        full = run(stock.retrieve("pg-1"))
        for reader in replicas:
            assert_same_view(full, run(reader.retrieve("pg-1")))
    stored = [e.as_dict() for e in run(replicas[0].retrieve_full_tracker("pg-1")).events]
    expected = [e.as_dict() for e in run(stock.retrieve_full_tracker("pg-1")).events]
    assert [(e["event"], e.get("name"), e.get("text")) for e in stored] == [
        (e["event"], e.get("name"), e.get("text")) for e in expected
    ]
    window = run(replicas[1].retrieve("pg-1"))
    assert getattr(window, WINDOW_ATTRIBUTE) is not None
    assert len(window.events) < len(stored) / 3
    for store in replicas:
        store.engine.dispose()
