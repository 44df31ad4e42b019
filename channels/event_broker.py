"""Rasa's SQL event broker, writing a turn's events in one transaction.

Rasa's `SQLEventBroker` commits every event on its own, on a new connection each time
(SQLAlchemy 1.4 opens SQLite files without a pool), in SQLite's rollback-journal mode: a
turn's ten or so events cost ten commits, each syncing the disk several times, and all of
it ran on the Rasa server's event loop, where every other conversation waited for it (the
loop stood still for up to a second at 10 customers). `BatchedSQLEventBroker` writes the
same rows to the same `events` table (the analytics consumer reads them as before), with
`publish_many` storing a turn's events in one commit, on a kept connection, with SQLite in
write-ahead-log mode; the tracker store calls it from a worker thread
(channels/tracker_store.py). `publish` stores one event, as Rasa's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy
from rasa.core.brokers.sql import SQLEventBroker
from rasa.utils.endpoints import EndpointConfig


def pooled_sqlite_engine(engine: Any) -> Any:
    """The same SQLite database behind a kept pool of connections in write-ahead-log mode.

    Other databases are returned as they are. A file opened without a pool is opened and
    closed for every session, and closing the last connection checkpoints the log: each
    session paid an open, a checkpoint and its syncs.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    pooled = sqlalchemy.create_engine(
        engine.url,
        poolclass=sqlalchemy.pool.QueuePool,
        pool_size=4,
        max_overflow=8,
        # The pool hands connections to the worker threads in turn, one at a time.
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @sqlalchemy.event.listens_for(pooled, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    engine.dispose()
    return pooled


class BatchedSQLEventBroker(SQLEventBroker):
    """`SQLEventBroker` storing a batch of events in one transaction on a pooled connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.engine: Any = pooled_sqlite_engine(self.engine)
        self.sessionmaker = sqlalchemy.orm.sessionmaker(bind=self.engine)

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Any = None
    ) -> BatchedSQLEventBroker:
        """Built from endpoints.yml, as Rasa's SQL broker."""
        return cls(host=broker_config.url, **broker_config.kwargs)

    def publish_many(self, events: Iterable[dict[str, Any]]) -> None:
        """Store the events, in order, in one commit."""
        rows = [
            {"sender_id": event.get("sender_id"), "data": json.dumps(event)} for event in events
        ]
        if not rows:
            return
        with self.session_scope() as session:
            # One multi-row insert, without the ORM's unit of work (the rows are never read
            # back as objects here).
            session.execute(self.SQLBrokerEvent.__table__.insert(), rows)
            session.commit()

    def publish(self, event: dict[str, Any]) -> None:
        """Store one event."""
        self.publish_many([event])
