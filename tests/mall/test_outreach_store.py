"""Proactive jobs and experiment exposures in a real database (SQLite; PostgreSQL too)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mall.db import Database
from mall.experiments import parse_experiments
from mall.models import (
    BehaviourEvent,
    Coupon,
    Customer,
    ExperimentExposure,
    OutreachJob,
    Sku,
)
from mall.outreach import parse_rules
from mall.services.outreach import (
    Cause,
    claim_due,
    decide,
    experiment_counts,
    find_causes,
    record_exposure,
    schedule,
)
from tests.mall.fixtures import coupon_template, database_with_customers
from tests.mall.test_outreach import RULES

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    yield from database_with_customers(request, [f"web-out-{n:02d}" for n in range(40)], NOW)


def test_a_cause_makes_one_job_however_often_it_is_scheduled(db: Database) -> None:
    for _ in range(3):
        with db.write_session() as session:
            schedule(
                session,
                customer_id="web-out-00",
                rule_id="consult_no_order",
                cause="consult:abc",
                due_at=NOW,
            )
    with db.write_session() as session:
        assert schedule(
            session,
            customer_id="web-out-00",
            rule_id="consult_no_order",
            cause="consult:def",
            due_at=NOW,
        )
    with db.read_session() as session:
        causes = session.scalars(select(OutreachJob.cause).order_by(OutreachJob.cause)).all()
    assert causes == ["consult:abc", "consult:def"]


def test_racing_schedulers_take_each_due_job_once(db: Database) -> None:
    with db.write_session() as session:
        for n in range(40):
            schedule(
                session,
                customer_id=f"web-out-{n:02d}",
                rule_id="cart_no_order",
                cause=f"cart:{n}",
                due_at=NOW - timedelta(minutes=1) if n < 30 else NOW + timedelta(hours=1),
            )
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda w: claim_due(db, worker=f"scheduler-{w}", now=NOW), range(4))
        )
    taken = Counter(job for jobs in results for job in jobs)
    assert len(taken) == 30  # every due job, none of the future ones
    assert set(taken.values()) == {1}  # each by one scheduler only
    # Only the holder can record the decision, and only once.
    job = next(j for jobs in results for j in jobs)
    holder = next(f"scheduler-{w}" for w, jobs in enumerate(results) if job in jobs)
    assert not decide(db, job_id=job, worker="someone-else", sent=True)
    assert decide(db, job_id=job, worker=holder, sent=False, reason="quiet hours", now=NOW)
    assert not decide(db, job_id=job, worker=holder, sent=True)
    with db.read_session() as session:
        stored = session.get(OutreachJob, job)
        assert stored is not None and (stored.status, stored.reason) == ("skipped", "quiet hours")


def test_a_dead_schedulers_claim_is_taken_over_after_the_lease(db: Database) -> None:
    with db.write_session() as session:
        schedule(session, customer_id="web-out-01", rule_id="r", cause="c", due_at=NOW)
    [job] = claim_due(db, worker="dead", now=NOW)
    assert claim_due(db, worker="alive", now=NOW + timedelta(minutes=1)) == []
    assert claim_due(db, worker="alive", now=NOW + timedelta(minutes=6)) == [job]
    assert not decide(db, job_id=job, worker="dead", sent=True)


def test_exposures_keep_the_first_variant_and_outcomes_are_joined(db: Database) -> None:
    [experiment] = parse_experiments(
        {
            "experiments": [
                {
                    "id": "welcome_gift",
                    "line": "utter_first_order_gift",
                    "metric": "coupon_claim",
                    "variants": [{"id": "a"}, {"id": "b"}],
                }
            ]
        }
    )
    with db.write_session() as session:
        session.add(coupon_template("T-AB", stock=999))
        variants = {
            f"web-out-{n:02d}": record_exposure(
                session, experiment=experiment, customer_id=f"web-out-{n:02d}", now=NOW
            )
            for n in range(40)
        }
        # Asking again, even later, gives the stored variant and records nothing new.
        again = record_exposure(
            session, experiment=experiment, customer_id="web-out-00", now=NOW + timedelta(days=1)
        )
        assert again == variants["web-out-00"]
        # Customers 0-9 claim a coupon two days after exposure, 10-11 eight days after
        # (outside the window), 12 the day before (not caused by it).
        for n, days in [*((n, 2) for n in range(10)), (10, 8), (11, 8), (12, -1)]:
            session.add(
                Coupon(
                    code=f"CP-AB-{n}",
                    customer_id=f"web-out-{n:02d}",
                    template_id="T-AB",
                    name="立减5元",
                    kind="instant",
                    amount=Decimal("5"),
                    status="issued",
                    issued_at=NOW + timedelta(days=days),
                    idempotency_key=f"ab-{n}",
                )
            )
    with db.read_session() as session:
        assert session.query(ExperimentExposure).count() == 40
        counts = experiment_counts(session, experiment)
    expected: dict[str, list[int]] = {}
    for customer, variant in variants.items():
        assert variant is not None
        row = expected.setdefault(variant, [0, 0])
        row[0] += 1
        row[1] += int(int(customer[-2:]) < 10)
    assert counts == {variant: (e, c) for variant, (e, c) in expected.items()}
    assert sum(c for _, c in counts.values()) == 10


def mine(causes: list[Cause]) -> list[Cause]:
    """Leave out the seeded demo customers' own behaviour."""
    return [c for c in causes if c.customer_id.startswith("web-out-")]


def _event(
    session: Session, customer: str, kind: str, at: datetime, product: str | None = None
) -> int:
    event = BehaviourEvent(customer_id=customer, type=kind, occurred_at=at, product_id=product)
    session.add(event)
    session.flush()
    return int(event.id)


def test_the_rules_find_the_customers_they_describe(db: Database) -> None:
    consult, cart, churn, stock = parse_rules(RULES)
    with db.write_session() as session:
        product = session.scalars(select(Sku.product_id).limit(1)).first()
        waited = _event(session, "web-out-00", "consult", NOW - timedelta(minutes=31))
        _event(session, "web-out-01", "consult", NOW - timedelta(minutes=10))  # too soon
        _event(session, "web-out-02", "consult", NOW - timedelta(minutes=40))
        _event(session, "web-out-02", "order", NOW - timedelta(minutes=20))  # ordered since
        _event(session, "web-out-03", "consult", NOW - timedelta(days=5))  # long past
        carted = _event(session, "web-out-04", "add_to_cart", NOW - timedelta(hours=25))
        for n, (segment, days) in enumerate([("churn_risk", 8), ("churn_risk", 2), ("regular", 9)]):
            customer = session.get(Customer, f"web-out-1{n}")
            assert customer is not None
            customer.segment, customer.last_visit_at = segment, NOW - timedelta(days=days)
        asked = None
        if product is not None:
            session.execute(update(Sku).where(Sku.product_id == product).values(stock=0))
            asked = _event(session, "web-out-20", "stock_inquiry", NOW - timedelta(days=1), product)
    with db.read_session() as session:
        assert mine(find_causes(session, consult, now=NOW)) == [
            Cause("web-out-00", f"consult:{waited}", NOW - timedelta(minutes=1))
        ]
        assert [c.cause for c in mine(find_causes(session, cart, now=NOW))] == [
            f"add_to_cart:{carted}"
        ]
        [win_back] = mine(find_causes(session, churn, now=NOW))
        assert win_back.customer_id == "web-out-10"
        if product is not None:
            assert mine(find_causes(session, stock, now=NOW)) == []  # still out of stock
    if product is not None:
        with db.write_session() as session:
            session.execute(update(Sku).where(Sku.product_id == product).values(stock=3))
        with db.read_session() as session:
            assert mine(find_causes(session, stock, now=NOW)) == [
                Cause("web-out-20", f"stock:{asked}", NOW)
            ]
