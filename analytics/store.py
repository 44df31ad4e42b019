"""The analytics store: conversation facts from Rasa's events, in a database of its own.

Its own SQLAlchemy metadata and tables (`analytics_*`), created and upgraded by this package
(`upgrade`), never by the mall's migrations: SQLite under var/ by default, PostgreSQL by URL.

- `analytics_events`: one row per Rasa event, keyed by `event_key` (a hash of sender, type,
  timestamp and name/text), so an event delivered twice, by two brokers or read back from the
  tracker store, is stored once;
- `analytics_conversations`: one row per conversation (a session), rebuilt from a sender's
  stored events whenever one of them arrives: a pure function of the events, so replaying
  them changes nothing;
- `analytics_consumer_state`: how far each source has read (the SQL broker's row id).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

SCHEMA_VERSION = 1

metadata = sa.MetaData()

events = sa.Table(
    "analytics_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_key", sa.String(64), nullable=False, unique=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("channel", sa.String(32), nullable=True),
    sa.Column("intent", sa.String(64), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("sentiment_score", sa.Float, nullable=True),
    sa.Column("sentiment_label", sa.String(16), nullable=True),
    sa.Column("action_name", sa.String(64), nullable=True),
    sa.Column("slot_name", sa.String(64), nullable=True),
    sa.Column("slot_value", sa.String(128), nullable=True),
    # A customer's words only when they fell back (the trainer's to-do list), masked.
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("from_agent", sa.Boolean, nullable=False, default=False),
    # Which source delivered it first: sql, pika, kafka or tracker (recovered).
    sa.Column("source", sa.String(16), nullable=False),
    sa.Index("ix_analytics_events_sender_time", "sender_id", "timestamp"),
    sa.Index("ix_analytics_events_time", "timestamp"),
)

conversations = sa.Table(
    "analytics_conversations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("segment", sa.String(24), nullable=True),
    sa.Column("distributor", sa.String(64), nullable=True),
    # "experiment/variant" pairs the customer was exposed to by then, comma-separated.
    sa.Column("variants", sa.Text, nullable=False, default=""),
    sa.Column("messages", sa.Integer, nullable=False),
    sa.Column("fallbacks", sa.Integer, nullable=False),
    sa.Column("mean_confidence", sa.Float, nullable=True),
    sa.Column("min_sentiment", sa.Float, nullable=True),
    sa.Column("first_response_seconds", sa.Float, nullable=True),
    # The furthest sales stage: welcome, price, offer, coupon (the order comes from the mall).
    sa.Column("stage", sa.String(16), nullable=True),
    sa.Column("coupon_offered", sa.Boolean, nullable=False),
    sa.Column("coupon_issued", sa.Boolean, nullable=False),
    sa.Column("handed_off", sa.Boolean, nullable=False),
    sa.Column("handoff_reason", sa.String(32), nullable=True),
    sa.Column("handoff_wait_seconds", sa.Float, nullable=True),
    # open (still with a person or waiting), handed_back (the agent gave it back to the bot)
    sa.Column("handoff_resolution", sa.String(16), nullable=True),
    sa.UniqueConstraint("sender_id", "started_at", name="uq_analytics_conversations_session"),
    sa.Index("ix_analytics_conversations_started", "started_at"),
)

consumer_state = sa.Table(
    "analytics_consumer_state",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, default=0),
    sa.Column("newest_event_at", sa.Float, nullable=True),
)

schema_version = sa.Table(
    "analytics_schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
)


def upgrade(engine: Engine) -> None:
    """Create the tables that are missing and record the schema version (idempotent)."""
    metadata.create_all(engine)
    with engine.begin() as connection:
        current = connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
        if current is None:
            connection.execute(schema_version.insert().values(version=SCHEMA_VERSION))
        elif current > SCHEMA_VERSION:
            raise RuntimeError(
                f"the analytics store has schema {current}, newer than this code's "
                f"{SCHEMA_VERSION}: upgrade the code"
            )


class AnalyticsStore:
    """The analytics database: one engine, short transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine = sa.create_engine(url, future=True, connect_args=connect_args)
        upgrade(self.engine)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One write transaction."""
        with self.engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        """Close the pool."""
        self.engine.dispose()

    def known_keys(self, connection: Connection, keys: Sequence[str]) -> set[str]:
        """Which of these event keys are stored already."""
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            found.update(
                connection.execute(
                    sa.select(events.c.event_key).where(events.c.event_key.in_(chunk))
                ).scalars()
            )
        return found

    def position(self, source: str) -> int:
        """How far `source` has been read (0: from the start)."""
        with self.engine.connect() as connection:
            value = connection.execute(
                sa.select(consumer_state.c.position).where(consumer_state.c.source == source)
            ).scalar()
        return int(value or 0)

    def save_position(
        self, connection: Connection, source: str, position: int, newest: float | None
    ) -> None:
        """Record how far `source` has been read, in the same transaction as its events."""
        updated = connection.execute(
            consumer_state.update()
            .where(consumer_state.c.source == source)
            .values(
                position=position,
                newest_event_at=sa.func.coalesce(newest, consumer_state.c.newest_event_at),
            )
        )
        if updated.rowcount == 0:
            connection.execute(
                consumer_state.insert().values(
                    source=source, position=position, newest_event_at=newest
                )
            )

    def events_of(self, connection: Connection, senders: Iterable[str]) -> list[Any]:
        """Every stored event of these senders, in time order."""
        return list(
            connection.execute(
                sa.select(events)
                .where(events.c.sender_id.in_(list(senders)))
                .order_by(events.c.sender_id, events.c.timestamp, events.c.id)
            )
        )

    def conversations_between(self, since: float, until: float) -> list[Any]:
        """The conversations that started in [since, until)."""
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    sa.select(conversations)
                    .where(conversations.c.started_at >= since)
                    .where(conversations.c.started_at < until)
                    .order_by(conversations.c.started_at, conversations.c.sender_id)
                )
            )

    def user_events_between(self, since: float, until: float) -> list[Any]:
        """The customers' messages in [since, until) (sentiment, fallbacks)."""
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    sa.select(events)
                    .where(events.c.type == "user")
                    .where(events.c.from_agent.is_(False))
                    .where(events.c.timestamp >= since)
                    .where(events.c.timestamp < until)
                    .order_by(events.c.timestamp)
                )
            )

    def counts(self) -> dict[str, int]:
        """Rows per table (tests and the README's numbers)."""
        with self.engine.connect() as connection:
            return {
                table.name: int(
                    connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0
                )
                for table in (events, conversations)
            }
