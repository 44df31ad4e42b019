"""The mall's metrics: the handoff queue and the outreach backlog, read when Prometheus scrapes.

The counters (coupons issued, handoffs opened, queue wait) live in `monitoring.metrics` and
are counted by the routes; the queue's length and its oldest wait, and the proactive messages
that are due and not yet sent, are facts of the database, so every mall process reports the
same numbers whatever it served itself (and whether a scheduler runs at all).
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
from mall.models import Handoff, OutreachJob, utcnow
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

# Jobs a scheduler has not decided yet: waiting, or taken by one that may have died (the
# scheduler takes a claimed job back after its lease). Postponed jobs are due later.
UNDECIDED = ("pending", "claimed")


class OutreachBacklogCollector(Collector):
    """mall_outreach_jobs_due{status} and mall_outreach_oldest_due_seconds, from the database."""

    def __init__(self) -> None:
        self.database: Database | None = None

    def collect(self) -> Iterator[Metric]:
        """Count the due, undecided jobs by status and the oldest one's lateness."""
        if self.database is None:
            return
        now = utcnow()
        try:
            with self.database.read_session() as session:
                rows = session.execute(
                    select(OutreachJob.status, func.count(), func.min(OutreachJob.due_at))
                    .where(OutreachJob.status.in_(UNDECIDED), OutreachJob.due_at <= now)
                    .group_by(OutreachJob.status)
                ).all()
        except SQLAlchemyError as error:  # a scrape must not fail because the database does
            logger.warning("outreach backlog metrics unavailable: %s", error)
            return
        counts = {status: 0 for status in UNDECIDED}
        oldest: datetime | None = None
        for status, count, earliest in rows:
            counts[status] = int(count)
            if earliest is not None and (oldest is None or earliest < oldest):
                oldest = earliest
        due = GaugeMetricFamily(
            "mall_outreach_jobs_due",
            "Proactive messages due and not yet sent or skipped (pending, or claimed by a "
            "scheduler that has not decided)",
            labels=["status"],
        )
        for status, count in counts.items():
            due.add_metric([status], float(count))
        yield due
        late = GaugeMetricFamily(
            "mall_outreach_oldest_due_seconds",
            "How long the oldest due, undecided proactive message is overdue (0: none)",
        )
        late.add_metric([], _seconds_between(oldest, now) if oldest else 0.0)
        yield late


OUTREACH_BACKLOG = OutreachBacklogCollector()
REGISTRY.register(OUTREACH_BACKLOG)


def record_claim_wait(created_at: datetime, claimed_at: datetime | None) -> None:
    """Observe how long a customer waited for the agent who just claimed the handoff."""
    if claimed_at is not None:
        HANDOFF_QUEUE_WAIT.observe(_seconds_between(created_at, claimed_at))
