"""`python -m analytics consume`: the consumer loop, plus a small read API for the desk.

One process: it reads the configured event broker into the facts store (retrying with
back-off while the broker is unreachable, counted in `analytics_consumer_failures_total`),
reads back from the tracker store what no broker delivered, and serves on loopback:

- `GET /health`: the process answers;
- `GET /metrics`: Prometheus (METRICS_TOKEN, else loopback callers only);
- `GET /kpis?since=&until=&by=` and `GET /todo?since=&until=`: the dashboard's figures, only
  with `Authorization: Bearer <ANALYTICS_API_TOKEN>` (the desk holds it; the desk holds no
  database credentials).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from analytics.brokers import KafkaSource, PikaSource
from analytics.consumer import MallProfiles, SqlBrokerSource, recover
from analytics.facts import Profiles
from analytics.kpis import BREAKDOWNS, facts_report, report_json
from analytics.settings import AnalyticsSettings
from analytics.store import AnalyticsStore
from analytics.todo import group_messages
from monitoring import asgi as metrics
from monitoring.metrics import ANALYTICS_FAILURES
from security.tokens import bearer_token, same_secret

logger = logging.getLogger("analytics")

MAX_DAYS = 366


class Consumer:
    """The loop: poll the broker, ingest, recover what it missed; never crash on an outage."""

    def __init__(self, settings: AnalyticsSettings, store: AnalyticsStore) -> None:
        self.settings = settings
        self.store = store
        self.profiles: Profiles = MallProfiles(settings.mall_database_url)
        self.source: Any = self._source()
        self.started = time.time()
        self._horizon: float | None = None
        self._last_recovery = time.monotonic()
        self.backlog = 0

    def _source(self) -> Any:
        if self.settings.broker == "pika":
            return PikaSource(self.settings.rabbitmq_url, self.settings.queue)
        if self.settings.broker == "kafka":
            assert self.settings.kafka is not None
            return KafkaSource(self.settings.kafka)
        return SqlBrokerSource(self.settings.event_broker_db_url)

    async def poll_once(self) -> int:
        """One batch from the broker; the number of events stored."""
        if isinstance(self.source, PikaSource):
            result = await self.source.poll_once(self.store, self.profiles)
        else:
            result = await asyncio.to_thread(self.source.poll_once, self.store, self.profiles)
        return result.read

    def recover_missing(self, now: float | None = None) -> int:
        """Read back from the tracker store what the broker missed (events older than the
        grace period, so an event still on its way is not taken for a lost one)."""
        if not self.settings.tracker_db_url:
            return 0
        now = time.time() if now is None else now
        grace = max(self.settings.recover_every, 60)
        if self._horizon is None:
            self._horizon = self.started - grace
        until = now - grace
        if until <= self._horizon:
            return 0
        result = recover(
            self.store, self.settings.tracker_db_url, since=self._horizon, profiles=self.profiles
        )
        self._horizon = until
        return result.stored

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: read, ingest, and now and then recover."""
        delay = 1.0
        while not stop.is_set():
            try:
                moved = await self.poll_once()
                delay = 1.0
            except Exception as error:  # the broker or the store is down: wait, retry
                ANALYTICS_FAILURES.labels(self.settings.broker, "broker").inc()
                logger.warning(
                    "analytics: reading %s failed (%s); retrying in %.0f s",
                    self.settings.broker,
                    type(error).__name__,
                    delay,
                )
                await _sleep(stop, delay)
                delay = min(delay * 2, 30.0)
                if isinstance(self.source, PikaSource):
                    with contextlib.suppress(Exception):
                        await self.source.close()
                    self.source = self._source()
                continue
            every = self.settings.recover_every
            if every and time.monotonic() - self._last_recovery >= every:
                self._last_recovery = time.monotonic()
                try:
                    await asyncio.to_thread(self.recover_missing)
                except Exception as error:
                    ANALYTICS_FAILURES.labels("tracker", "broker").inc()
                    logger.warning("analytics: recovery failed: %s", type(error).__name__)
            if not moved:
                await _sleep(stop, self.settings.poll_seconds)
        if isinstance(self.source, PikaSource):
            await self.source.close()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a date like 2026-11-01, got {value[:20]!r}") from None


def period(
    since: str | None, until: str | None, today: date | None = None
) -> tuple[datetime, datetime]:
    """[since, until] as whole UTC days (default: the last 30 days); ValueError when bad."""
    today = today or datetime.now(timezone.utc).date()
    last = _day(until, today)
    first = _day(since, last - timedelta(days=29))
    if first > last:
        raise ValueError("the start date is after the end date")
    if (last - first).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at a time")
    start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
    end = datetime(last.year, last.month, last.day, tzinfo=timezone.utc) + timedelta(days=1)
    return start, end


def create_app(
    settings: AnalyticsSettings,
    *,
    store: AnalyticsStore | None = None,
    consume: bool = True,
) -> FastAPI:
    """The analytics process (tests pass consume=False to serve the read API alone)."""
    store = store or AnalyticsStore(settings.database_url)
    mall_engine = sa.create_engine(settings.mall_database_url, future=True)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = None
        if consume:
            task = asyncio.create_task(Consumer(settings, store).run(stop))
        yield
        stop.set()
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=10)
        mall_engine.dispose()

    app = FastAPI(
        title="Analytics", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )

    def allowed(request: Request) -> bool:
        offered = bearer_token(request.headers.get("authorization"))
        return bool(settings.api_token) and same_secret(offered, settings.api_token)

    def refused() -> JSONResponse:
        return JSONResponse(
            {"error": "unauthorized", "message": "a valid analytics token is required"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    def bad(message: str) -> JSONResponse:
        return JSONResponse({"error": "invalid_request", "message": message}, status_code=400)

    @app.get("/health")
    async def health() -> JSONResponse:
        """Liveness: the process answers."""
        return JSONResponse({"status": "ok", "broker": settings.broker})

    @app.get("/kpis")
    def kpis(request: Request, since: str = "", until: str = "", by: str = "") -> JSONResponse:
        """The KPIs, funnel, sentiment and the asked breakdowns for whole UTC days."""
        if not allowed(request):
            return refused()
        try:
            start, end = period(since or None, until or None)
        except ValueError as error:
            return bad(str(error))
        names = [name for name in by.split(",") if name]
        unknown = [name for name in names if name not in BREAKDOWNS]
        if unknown:
            return bad(f"by is a list of {', '.join(BREAKDOWNS)}")
        with Session(mall_engine) as session:
            try:
                report = facts_report(store, session, start, end, names)
            except sa.exc.OperationalError:
                # No mall database (yet): the conversation figures alone.
                report = facts_report(store, None, start, end, names)
        return JSONResponse(report_json(report))

    @app.get("/todo")
    def todo(request: Request, since: str = "", until: str = "", limit: int = 20) -> JSONResponse:
        """The trainer's to-do list: the messages that fell back, grouped."""
        if not allowed(request):
            return refused()
        try:
            start, end = period(since or None, until or None)
        except ValueError as error:
            return bad(str(error))
        texts = fallback_texts(store, start, end)
        groups = group_messages(texts)[: max(1, min(limit, 100))]
        return JSONResponse(
            {
                "groups": [
                    {"leader": g.leader, "count": g.count, "examples": g.examples(4)}
                    for g in groups
                ]
            }
        )

    metrics.install(app)
    return app


def fallback_texts(store: AnalyticsStore, since: datetime, until: datetime) -> list[str]:
    """The (masked) customer messages that fell back in [since, until), from the facts."""
    return [
        row.text
        for row in store.user_events_between(since.timestamp(), until.timestamp())
        if row.intent == "nlu_fallback" and row.text
    ]
