"""The analytics consumer: Rasa's event broker in, conversation facts out.

Whatever the broker (Rasa's SQL broker table, RabbitMQ through Rasa's pika broker, Kafka),
a batch of events goes through `ingest`: each event is normalised (`analytics.facts`), the
ones already stored are skipped by their key, the new ones are written, and every touched
sender's conversation rows are rebuilt from all its stored events, all in one transaction.
The broker is told "done" (the SQL position saved, the RabbitMQ message acknowledged, the
Kafka offset committed) only after that transaction, so a crash in between delivers the
batch again, and the keys make the second delivery count once.

What a broker could not deliver is still in Rasa's tracker store: `recover` reads it back
through the same keys, stores only what is missing and counts it
(`analytics_events_recovered_total`), so an outage loses no turn and says how many it missed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from analytics import store as tables
from analytics.facts import BadEvent, NoProfiles, Profile, Profiles, conversation_facts, event_row
from analytics.store import AnalyticsStore
from monitoring.metrics import (
    ANALYTICS_BACKLOG,
    ANALYTICS_DUPLICATES,
    ANALYTICS_EVENTS,
    ANALYTICS_FAILURES,
    ANALYTICS_LAG,
    ANALYTICS_NEWEST_EVENT,
    ANALYTICS_RECOVERED,
)

logger = logging.getLogger(__name__)


@dataclass
class Ingested:
    """What one batch did."""

    stored: int = 0
    duplicates: int = 0
    bad: int = 0
    ignored: int = 0
    newest: float | None = None
    senders: set[str] = field(default_factory=set)

    @property
    def read(self) -> int:
        """Messages taken from the broker, whatever became of them."""
        return self.stored + self.duplicates + self.bad + self.ignored


def ingest(
    store: AnalyticsStore,
    messages: Iterable[Any],
    *,
    source: str,
    profiles: Profiles | None = None,
    position: int | None = None,
) -> Ingested:
    """Store a batch of events once each and rebuild the touched conversations.

    `messages` are event dicts or their JSON (the broker's payloads); `position`, when
    given, is saved as `source`'s read position in the same transaction.
    """
    result = Ingested()
    rows: dict[str, dict[str, Any]] = {}
    for message in messages:
        try:
            row = event_row(message, source)
        except BadEvent as error:
            result.bad += 1
            logger.warning("analytics: dropped a message from %s: %s", source, error)
            continue
        if row is None:
            result.ignored += 1
            continue
        if row["event_key"] in rows:
            result.duplicates += 1
            continue
        rows[row["event_key"]] = row
    with store.begin() as connection:
        known = store.known_keys(connection, list(rows))
        new = [row for key, row in rows.items() if key not in known]
        result.duplicates += len(rows) - len(new)
        if new:
            connection.execute(tables.events.insert(), new)
            result.senders = {row["sender_id"] for row in new}
            result.newest = max(row["timestamp"] for row in new)
            _rebuild(store, connection, result.senders, profiles or NoProfiles())
        result.stored = len(new)
        if position is not None:
            store.save_position(connection, source, position, result.newest)
    ANALYTICS_EVENTS.labels(source).inc(result.stored)
    ANALYTICS_DUPLICATES.labels(source).inc(result.duplicates)
    if result.bad:
        ANALYTICS_FAILURES.labels(source, "bad_event").inc(result.bad)
    if result.newest is not None:
        ANALYTICS_NEWEST_EVENT.labels(source).set(result.newest)
    return result


def _rebuild(
    store: AnalyticsStore, connection: sa.engine.Connection, senders: set[str], profiles: Profiles
) -> None:
    by_sender: dict[str, list[Any]] = {sender: [] for sender in senders}
    for row in store.events_of(connection, senders):
        by_sender[row.sender_id].append(row)
    connection.execute(
        tables.conversations.delete().where(tables.conversations.c.sender_id.in_(list(senders)))
    )
    facts = []
    for sender, sender_rows in by_sender.items():
        facts += conversation_facts(sender, sender_rows, profiles.profile(sender))
    if facts:
        connection.execute(tables.conversations.insert(), facts)


def observe_lag(source: str, backlog: int, newest: float | None, now: float | None = None) -> float:
    """Set the lag gauge: how old the newest event read is, while events wait (else 0)."""
    now = time.time() if now is None else now
    lag = max(0.0, now - newest) if backlog > 0 and newest is not None else 0.0
    ANALYTICS_BACKLOG.labels(source).set(backlog)
    ANALYTICS_LAG.labels(source).set(lag)
    return lag


# ---- Rasa's SQL event broker ----


class SqlBrokerSource:
    """Rasa's SQL event broker's `events` table (id, sender_id, data), read by id."""

    name = "sql"

    def __init__(self, url: str, batch: int = 500) -> None:
        self.url = url
        self.batch = batch
        self.engine = sa.create_engine(url, future=True)
        self._table: sa.Table | None = None

    def _events(self) -> sa.Table | None:
        if self._table is None:
            try:
                self._table = sa.Table("events", sa.MetaData(), autoload_with=self.engine)
            except sa.exc.NoSuchTableError:
                return None  # Rasa creates it when it starts
        return self._table

    def read(self, after: int) -> tuple[list[Any], int, int]:
        """The next batch after row `after`: (payloads, last id, rows still waiting after)."""
        table = self._events()
        if table is None:
            return [], after, 0
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table.c.id, table.c.data)
                .where(table.c.id > after)
                .order_by(table.c.id)
                .limit(self.batch)
            ).all()
            last = rows[-1].id if rows else after
            waiting = connection.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.id > last)
            ).scalar()
        return [row.data for row in rows], int(last), int(waiting or 0)

    def poll_once(self, store: AnalyticsStore, profiles: Profiles | None = None) -> Ingested:
        """Read and ingest one batch; the position moves in the same transaction."""
        after = store.position(self.name)
        payloads, last, waiting = self.read(after)
        result = ingest(store, payloads, source=self.name, profiles=profiles, position=last)
        newest = result.newest or _newest(store, self.name)
        observe_lag(self.name, waiting, newest)
        return result

    def dispose(self) -> None:
        """Close the pool."""
        self.engine.dispose()


def _newest(store: AnalyticsStore, source: str) -> float | None:
    with store.engine.connect() as connection:
        value = connection.execute(
            sa.select(tables.consumer_state.c.newest_event_at).where(
                tables.consumer_state.c.source == source
            )
        ).scalar()
    return float(value) if value is not None else None


# ---- recovery from the tracker store ----


def recover(
    store: AnalyticsStore,
    tracker_db_url: str,
    *,
    since: float,
    profiles: Profiles | None = None,
) -> Ingested:
    """Store the events of Rasa's tracker store since `since` that no broker delivered."""
    from analytics.todo import tracker_events

    payloads = []
    for row in tracker_events(tracker_db_url, lambda c: c.timestamp >= since):
        payloads.append(_with_sender(row.data, row.sender_id))
    result = ingest(
        store, [p for p in payloads if p is not None], source="tracker", profiles=profiles
    )
    if result.stored:
        ANALYTICS_RECOVERED.inc(result.stored)
        logger.warning(
            "analytics: %d events were missing from the broker's stream and were read back "
            "from the tracker store",
            result.stored,
        )
    return result


def _with_sender(data: Any, sender: str) -> dict[str, Any] | None:
    import json

    try:
        event = json.loads(data)
    except (TypeError, ValueError):
        return None
    if not isinstance(event, dict):
        return None
    event.setdefault("sender_id", sender)
    return event


# ---- the mall's view of a customer ----


class MallProfiles:
    """Segment, distributor card and experiment exposures from the mall's database."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)

    def profile(self, customer_id: str) -> Profile:
        """What the mall knows about `customer_id` (nothing when it does not know them)."""
        from mall.models import Customer, ExperimentExposure

        try:
            with self.engine.connect() as connection:
                customer = connection.execute(
                    sa.select(Customer.segment, Customer.card_id).where(Customer.id == customer_id)
                ).first()
                exposures = connection.execute(
                    sa.select(
                        ExperimentExposure.experiment_id,
                        ExperimentExposure.variant_id,
                        ExperimentExposure.exposed_at,
                    ).where(ExperimentExposure.customer_id == customer_id)
                ).all()
        except sa.exc.SQLAlchemyError as error:
            # The facts are still written; the breakdowns say `unknown` for this customer.
            ANALYTICS_FAILURES.labels("mall", "profile").inc()
            logger.warning("analytics: mall profile lookup failed: %s", type(error).__name__)
            return Profile()
        if customer is None:
            return Profile()
        return Profile(
            segment=customer.segment,
            distributor=customer.card_id,
            exposures=tuple(
                (str(e.experiment_id), str(e.variant_id), _timestamp(e.exposed_at))
                for e in exposures
            ),
        )

    def dispose(self) -> None:
        """Close the pool."""
        self.engine.dispose()


def _timestamp(value: Any) -> float:
    from datetime import timezone

    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return float(value.timestamp())


def payloads_of(events: Sequence[dict[str, Any]], sender: str) -> list[dict[str, Any]]:
    """Events as a broker publishes them (with `sender_id`), for tests and replays."""
    return [{"sender_id": sender, **event} for event in events]
