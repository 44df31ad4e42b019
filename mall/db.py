"""Database engine, sessions and schema migrations.

SQLite is the default store. pysqlite's own transaction handling is switched off (the
recipe from SQLAlchemy's pysqlite documentation) so that the service emits BEGIN itself:
read sessions use a deferred BEGIN, write sessions use BEGIN IMMEDIATE, which takes the
write lock up front. Concurrent writers then queue on `busy_timeout` instead of failing
with "database is locked" when a read transaction tries to upgrade to a write. On
PostgreSQL the services take row locks (`SELECT ... FOR UPDATE`) where they need them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000
# Execution option that marks connections used by write sessions.
_WRITE_OPTION = "mall_write"


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> str | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, tuned for SQLite or PostgreSQL."""
    if not _is_sqlite(url):
        # values_plus_batch: executemany UPDATEs (segments, last visits) go in pages, not
        # one round trip per row.
        return create_engine(
            url,
            future=True,
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=True,
            executemany_mode="values_plus_batch",
        )
    path = _sqlite_path(url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            future=True,
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=40,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
    else:
        # One shared connection, or every session would see its own empty database.
        engine = create_engine(
            url, future=True, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    _install_sqlite_hooks(engine, wal=path is not None)
    return engine


def _install_sqlite_hooks(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN instead of pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """An engine plus the two kinds of session the service uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = _is_sqlite(url)
        self._reader = sessionmaker(bind=self.engine, future=True, expire_on_commit=False)
        self._writer = sessionmaker(
            bind=self.engine.execution_options(**{_WRITE_OPTION: True}),
            future=True,
            expire_on_commit=False,
        )

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for queries; it never commits."""
        session = self._reader()
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session holding one write transaction: committed on success, else rolled back."""
        session = self._writer()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(url: str) -> Any:
    """An Alembic configuration for `url` that needs no alembic.ini."""
    from alembic.config import Config  # imported lazily: serving does not need Alembic

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats % as interpolation; URLs may carry percent-encoded passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (the latest by default)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def is_migrated(engine: Engine) -> bool:
    """Whether the schema migrations have been applied to this database."""
    from sqlalchemy import inspect

    return inspect(engine).has_table("alembic_version")
