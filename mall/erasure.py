"""Erase a customer: profile, behaviour, conversations and handoff notes go; orders stay.

What the mall holds about a customer, and what happens to it:
- the card profile (name, interests, the card they came through, segment, last visit):
  deleted, or emptied when orders must keep pointing at the customer;
- behaviour events (views, consults, ...): deleted;
- coupons never used: deleted; used coupons belong to their orders and stay;
- handoffs of their conversations, with the notes and call-back numbers left on them and the
  audit of what agents revealed: deleted;
- orders (with their items, shipping address and logistics): kept, as bookkeeping and
  consumer-protection law require.
The conversation itself lives in Rasa's tracker store (SQL): every event of that sender is
deleted there too (`erase_conversations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mall.models import (
    BehaviourEvent,
    Coupon,
    Customer,
    ExperimentExposure,
    Handoff,
    HandoffNote,
    HandoffReveal,
    Order,
    OutreachJob,
)

# The table Rasa's SQLTrackerStore keeps every conversation event in.
TRACKER_EVENTS_TABLE = "events"


@dataclass(frozen=True)
class Erased:
    """What an erasure removed, and the orders it kept."""

    profile: str  # deleted / emptied / none
    events: int
    coupons: int
    handoffs: int
    notes: int
    orders_kept: int
    conversation_events: int = 0


def erase_customer(*, session: Session, customer_id: str) -> Erased:
    """Erase the customer's data in the mall database (in the caller's transaction)."""
    handoff_ids = select(Handoff.id).where(Handoff.sender_id == customer_id).scalar_subquery()
    # Nothing of these is loaded in the session: plain DELETEs, no in-Python synchronising.
    plain = {"synchronize_session": False}
    session.execute(
        delete(HandoffReveal).where(HandoffReveal.handoff_id.in_(handoff_ids)),
        execution_options=plain,
    )
    notes = session.execute(
        delete(HandoffNote).where(HandoffNote.handoff_id.in_(handoff_ids)),
        execution_options=plain,
    )
    handoffs = session.execute(
        delete(Handoff).where(Handoff.sender_id == customer_id), execution_options=plain
    )
    events = session.execute(
        delete(BehaviourEvent).where(BehaviourEvent.customer_id == customer_id)
    )
    # Proactive messages planned or sent, and the A/B variants shown: behaviour too.
    session.execute(delete(OutreachJob).where(OutreachJob.customer_id == customer_id))
    session.execute(delete(ExperimentExposure).where(ExperimentExposure.customer_id == customer_id))
    coupons = session.execute(
        delete(Coupon).where(
            Coupon.customer_id == customer_id, Coupon.used_at.is_(None), Coupon.order_id.is_(None)
        )
    )
    orders = int(
        session.scalar(
            select(func.count()).select_from(Order).where(Order.customer_id == customer_id)
        )
        or 0
    )
    kept_coupons = int(
        session.scalar(
            select(func.count()).select_from(Coupon).where(Coupon.customer_id == customer_id)
        )
        or 0
    )
    customer = session.get(Customer, customer_id)
    if customer is None:
        profile = "none"
    elif orders or kept_coupons:
        # Orders must still name their customer: keep the id, empty everything else.
        customer.display_name = ""
        customer.interests = []
        customer.card_id = None
        customer.segment = "regular"
        customer.last_visit_at = None
        # The behaviour features and the churn score describe the person too.
        customer.segment_run_id = None
        customer.segment_computed_at = None
        customer.segment_features = None
        customer.churn_probability = None
        profile = "emptied"
    else:
        session.delete(customer)
        profile = "deleted"
    session.flush()
    return Erased(
        profile=profile,
        events=events.rowcount,
        coupons=coupons.rowcount,
        handoffs=handoffs.rowcount,
        notes=notes.rowcount,
        orders_kept=orders,
    )


def erase_conversations(tracker_db_url: str, sender_id: str) -> int:
    """Delete every event of `sender_id` from Rasa's SQL tracker store; how many went."""
    url = sa.engine.make_url(tracker_db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return 0  # no conversation was ever stored there (and none must be created)
    engine = sa.create_engine(tracker_db_url, future=True)
    try:
        if not sa.inspect(engine).has_table(TRACKER_EVENTS_TABLE):
            return 0
        events = sa.Table(TRACKER_EVENTS_TABLE, sa.MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            result = connection.execute(events.delete().where(events.c.sender_id == sender_id))
        return int(result.rowcount)
    finally:
        engine.dispose()
