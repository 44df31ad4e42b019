"""The mall's metrics: the handoff queue read from the database when Prometheus scrapes.

The counters (coupons issued, handoffs opened, queue wait) live in `monitoring.metrics` and
are counted by the routes; the queue's length and its oldest wait are a fact of the database,
so every mall process reports the same numbers whatever it served itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timezone

from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from mall.db import Database
from mall.models import Handoff, utcnow
from monitoring.metrics import HANDOFF_QUEUE_WAIT

logger = logging.getLogger("mall")


class HandoffQueueCollector(Collector):
    """mall_handoffs_waiting and mall_handoff_oldest_wait_seconds, from the database."""

    def __init__(self) -> None:
        self.database: Database | None = None

    def collect(self) -> Iterator[Metric]:
        """Count the waiting handoffs and the oldest one's age (nothing while unconfigured)."""
        if self.database is None:
            return
        try:
            with self.database.read_session() as session:
                count, oldest = session.execute(
                    select(func.count(), func.min(Handoff.created_at)).where(
                        Handoff.status == "waiting"
                    )
                ).one()
        except SQLAlchemyError as error:  # a scrape must not fail because the database does
            logger.warning("handoff queue metrics unavailable: %s", error)
            return
        waiting = GaugeMetricFamily(
            "mall_handoffs_waiting", "Handed-off conversations no agent has claimed"
        )
        waiting.add_metric([], float(count or 0))
        yield waiting
        age = GaugeMetricFamily(
            "mall_handoff_oldest_wait_seconds",
            "How long the longest-waiting unclaimed handoff has waited (0: none waiting)",
        )
        age.add_metric([], _seconds_between(oldest, utcnow()) if oldest else 0.0)
        yield age


def _seconds_between(earlier: datetime, later: datetime) -> float:
    if earlier.tzinfo is None:
        earlier = earlier.replace(tzinfo=timezone.utc)
    if later.tzinfo is None:
        later = later.replace(tzinfo=timezone.utc)
    return max(0.0, (later - earlier).total_seconds())


HANDOFF_QUEUE = HandoffQueueCollector()
REGISTRY.register(HANDOFF_QUEUE)


def record_claim_wait(created_at: datetime, claimed_at: datetime | None) -> None:
    """Observe how long a customer waited for the agent who just claimed the handoff."""
    if claimed_at is not None:
        HANDOFF_QUEUE_WAIT.observe(_seconds_between(created_at, claimed_at))
