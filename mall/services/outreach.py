"""The durable side of proactive messages and A/B tests: jobs, claims, exposures, outcomes.

A job is due once per customer, rule and cause (the unique key): scheduling the same cause
again is a no-op, across restarts and processes. A scheduler takes due jobs with one
conditional UPDATE each (pending -> claimed), so two schedulers racing never both get one;
a claim older than the lease is taken over (its scheduler died). The decision is recorded
on the job: sent, or skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mall.db import Database
from mall.experiments import Experiment
from mall.models import (
    BehaviourEvent,
    Coupon,
    Customer,
    ExperimentExposure,
    Order,
    OutreachJob,
    Sku,
    utcnow,
)
from mall.outreach import Rule

DEFAULT_LEASE = timedelta(minutes=5)
OUTCOME_WINDOW = timedelta(days=7)


def schedule(
    session: Session, *, customer_id: str, rule_id: str, cause: str, due_at: datetime
) -> bool:
    """Make a job due; False when this customer, rule and cause already have one."""
    try:
        with session.begin_nested():
            session.add(
                OutreachJob(
                    customer_id=customer_id,
                    rule_id=rule_id,
                    cause=cause,
                    due_at=due_at,
                    status="pending",
                )
            )
    except IntegrityError:
        return False
    return True


def claim_due(
    database: Database,
    *,
    worker: str,
    now: datetime | None = None,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> list[int]:
    """Take up to `limit` due jobs for `worker`; each job goes to exactly one worker."""
    now = now or utcnow()
    takeable = or_(
        OutreachJob.status == "pending",
        and_(OutreachJob.status == "claimed", OutreachJob.claimed_at < now - lease),
    )
    with database.read_session() as session:
        candidates = list(
            session.scalars(
                select(OutreachJob.id)
                .where(takeable, OutreachJob.due_at <= now)
                .order_by(OutreachJob.due_at, OutreachJob.id)
                .limit(limit)
            )
        )
    claimed = []
    for job_id in candidates:
        with database.write_session() as session:
            result = session.execute(
                update(OutreachJob)
                .where(OutreachJob.id == job_id, takeable)
                .values(status="claimed", claimed_by=worker, claimed_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(job_id)
    return claimed


def decide(
    database: Database,
    *,
    job_id: int,
    worker: str,
    sent: bool,
    reason: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record what became of a claimed job; False when `worker` no longer holds it."""
    with database.write_session() as session:
        result = session.execute(
            update(OutreachJob)
            .where(
                OutreachJob.id == job_id,
                OutreachJob.status == "claimed",
                OutreachJob.claimed_by == worker,
            )
            .values(
                status="sent" if sent else "skipped",
                reason=reason,
                decided_at=now or utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)


def record_exposure(
    session: Session,
    *,
    experiment: Experiment,
    customer_id: str,
    now: datetime | None = None,
) -> str | None:
    """Assign and record the customer's variant; the first exposure's variant stays theirs."""
    stored = session.scalar(
        select(ExperimentExposure.variant_id).where(
            ExperimentExposure.experiment_id == experiment.id,
            ExperimentExposure.customer_id == customer_id,
        )
    )
    if stored is not None:
        return str(stored)
    variant = experiment.assign(customer_id)
    if variant is None:
        return None
    try:
        with session.begin_nested():
            session.add(
                ExperimentExposure(
                    experiment_id=experiment.id,
                    variant_id=variant.id,
                    customer_id=customer_id,
                    exposed_at=now or utcnow(),
                )
            )
    except IntegrityError:  # another process recorded it first: theirs stands
        return record_exposure(session, experiment=experiment, customer_id=customer_id)
    return variant.id


def experiment_counts(
    session: Session, experiment: Experiment, window: timedelta = OUTCOME_WINDOW
) -> dict[str, tuple[int, int]]:
    """{variant: (exposed customers, converted customers)} for the experiment's metric.

    A customer converts when, within `window` after their first exposure, they claimed a
    coupon (`coupon_claim`) or placed an order (`order_7d`).
    """
    if experiment.metric == "coupon_claim":
        outcome_customer, outcome_time = Coupon.customer_id, Coupon.issued_at
    elif experiment.metric == "order_7d":
        outcome_customer, outcome_time = Order.customer_id, Order.created_at
    else:
        raise ValueError(f"metric {experiment.metric!r} is not counted from the mall's tables")
    exposures = session.execute(
        select(
            ExperimentExposure.customer_id,
            ExperimentExposure.variant_id,
            ExperimentExposure.exposed_at,
        ).where(ExperimentExposure.experiment_id == experiment.id)
    ).all()
    exposed_at = {customer: (variant, at) for customer, variant, at in exposures}
    converted: set[str] = set()
    customers = list(exposed_at)
    for start in range(0, len(customers), 500):  # bounded IN lists
        batch = customers[start : start + 500]
        for customer, at in session.execute(
            select(outcome_customer, outcome_time).where(outcome_customer.in_(batch))
        ):
            first = exposed_at[customer][1]
            if first <= at <= first + window:
                converted.add(customer)
    counts: dict[str, tuple[int, int]] = {}
    for customer, (variant, _at) in exposed_at.items():
        exposed, won = counts.get(variant, (0, 0))
        counts[variant] = (exposed + 1, won + (customer in converted))
    return counts


# --- which customers a rule makes due -------------------------------------------------------

LOOKBACK = timedelta(days=3)


@dataclass(frozen=True)
class Cause:
    customer_id: str
    cause: str
    due_at: datetime


def find_causes(
    session: Session, rule: Rule, *, now: datetime, lookback: timedelta = LOOKBACK
) -> list[Cause]:
    """The customers `rule` makes due at `now`, each with the cause that keys the job.

    - an event with nothing after it (`event` + `without` + `within`): each such event whose window
      has passed without the customer doing `without` (an order in the orders table counts as an
      order event); causes older than `lookback` past their window are not revived;
    - a segment (+ `inactive`): customers in it whose last visit is that long ago, keyed by
      the last visit, so a later spell of inactivity is a new cause;
    - `stock: back`: stock inquiries (of the last 30 days) whose product is in stock again.
    """
    if rule.segment is not None:
        return _segment_causes(session, rule, now)
    if rule.stock_back:
        return _stock_causes(session, rule, now)
    assert rule.event is not None
    within = rule.within or timedelta(0)
    started = session.execute(
        select(BehaviourEvent.id, BehaviourEvent.customer_id, BehaviourEvent.occurred_at).where(
            BehaviourEvent.type == rule.event,
            BehaviourEvent.occurred_at <= now - within,
            BehaviourEvent.occurred_at > now - within - lookback,
        )
    ).all()
    causes = []
    for event_id, customer_id, occurred_at in started:
        if rule.absent is not None and did_since(session, customer_id, rule.absent, occurred_at):
            continue
        causes.append(Cause(customer_id, f"{rule.event}:{event_id}", occurred_at + within))
    return causes


def did_since(session: Session, customer_id: str, event_type: str, since: datetime) -> bool:
    """Whether the customer did `event_type` after `since` (orders: the orders table too)."""
    followed = session.scalar(
        select(BehaviourEvent.id)
        .where(
            BehaviourEvent.customer_id == customer_id,
            BehaviourEvent.type == event_type,
            BehaviourEvent.occurred_at > since,
        )
        .limit(1)
    )
    if followed is not None:
        return True
    if event_type == "order":
        ordered = session.scalar(
            select(Order.id)
            .where(Order.customer_id == customer_id, Order.created_at > since)
            .limit(1)
        )
        return ordered is not None
    return False


def _segment_causes(session: Session, rule: Rule, now: datetime) -> list[Cause]:
    query = select(Customer.id, Customer.last_visit_at).where(Customer.segment == rule.segment)
    if rule.inactive is not None:
        query = query.where(Customer.last_visit_at <= now - rule.inactive)
    return [
        Cause(
            customer_id,
            f"{rule.segment}:{last_visit.isoformat() if last_visit else 'never'}",
            now,
        )
        for customer_id, last_visit in session.execute(query)
    ]


def _stock_causes(session: Session, rule: Rule, now: datetime) -> list[Cause]:
    in_stock = (
        select(Sku.id).where(Sku.product_id == BehaviourEvent.product_id, Sku.stock > 0).exists()
    )
    rows = session.execute(
        select(BehaviourEvent.id, BehaviourEvent.customer_id).where(
            BehaviourEvent.type == (rule.event or "stock_inquiry"),
            BehaviourEvent.occurred_at > now - timedelta(days=30),
            BehaviourEvent.product_id.is_not(None),
            in_stock,
        )
    ).all()
    return [Cause(customer_id, f"stock:{event_id}", now) for event_id, customer_id in rows]
