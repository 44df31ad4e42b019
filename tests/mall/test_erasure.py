"""`python -m mall erase-customer`: profile, events, conversations, handoff notes go; orders stay.

On SQLite and on PostgreSQL, with Rasa's real SQL tracker store holding the conversations.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select

from mall.__main__ import main
from mall.db import Database
from mall.models import (
    BehaviourEvent,
    Coupon,
    Customer,
    ExperimentExposure,
    Handoff,
    HandoffNote,
    HandoffReveal,
    Order,
    OrderItem,
    OutreachJob,
    utcnow,
)
from mall.seeding import seed
from mall.services import agents, coupons, handoffs, outreach, profiles
from mall.settings import HandoffSettings

VIP = "wx-o7Xh2-vip"  # has orders
VISITOR = "web-erase-me"  # has none
OTHER = "wx-o7Xh2-churn"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(mall database, tracker store): a seeded mall, and Rasa's store beside it."""
    if request.param == "sqlite":
        mall_url: str = request.getfixturevalue("db_url")
        yield mall_url, f"sqlite:///{tmp_path / 'trackers.db'}"
        return
    mall_url = request.getfixturevalue("postgres_url")
    database = Database(mall_url)
    with database.write_session() as session:
        seed(session=session)
    database.dispose()
    yield mall_url, mall_url  # Rasa's `events` table lives beside the mall's tables


def conversation(sender: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_listen"),
            UserUttered("我电话13812345678，送到北京市朝阳区建国路88号"),
            BotUttered("好的"),
        ],
    )


def fill(mall_url: str, tracker_url: str) -> None:
    """Everything the assistant would have recorded about three customers."""
    store = SQLTrackerStore(Domain.empty(), host=tracker_url)
    for sender in (VIP, VISITOR, OTHER):
        asyncio.run(store.save(conversation(sender)))
    store.engine.dispose()
    database = Database(mall_url)
    settings = HandoffSettings()
    with database.write_session() as session:
        agent = agents.save_agent(
            session=session, username="li", display_name="小李", password="secret-pass"
        )
        for customer in (VIP, VISITOR, OTHER):
            profiles.record_event(
                session=session, customer_id=customer, event_type="consult", product_id="P1001"
            )
            template = coupons.best_offer(
                session=session, customer_id=customer, product_id="P1001"
            ).template
            assert template is not None
            coupons.issue_coupon(
                session=session,
                customer_id=customer,
                template_id=template.id,
                idempotency_key=f"k-{customer}",
            )
            opened = handoffs.open_handoff(
                session=session,
                sender_id=customer,
                channel="web",
                reason="angry",
                context={"transcript": [{"who": "customer", "text": "电话13812345678"}]},
                settings=settings,
            )
            handoffs.add_note(
                session=session,
                handoff_id=opened.handoff.id,
                kind="callback",
                text="回电",
                phone="13812345678",
            )
            handoffs.reveal(
                session=session, handoff_id=opened.handoff.id, agent=agent, target="note:1"
            )
            outreach.schedule(
                session,
                customer_id=customer,
                rule_id="consult_no_order",
                cause=f"consult:{customer}",
                due_at=utcnow(),
            )
            session.add(
                ExperimentExposure(experiment_id="price_line", variant_id="a", customer_id=customer)
            )
    database.dispose()


def counts(mall_url: str, customer: str) -> dict[str, int]:
    database = Database(mall_url)
    with database.read_session() as session:

        def count(model: object, *where: object) -> int:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        handoff_ids = select(Handoff.id).where(Handoff.sender_id == customer).scalar_subquery()
        found = {
            "customer": count(Customer, Customer.id == customer),
            "events": count(BehaviourEvent, BehaviourEvent.customer_id == customer),
            "coupons": count(Coupon, Coupon.customer_id == customer),
            "used_coupons": count(
                Coupon, Coupon.customer_id == customer, Coupon.used_at.is_not(None)
            ),
            "handoffs": count(Handoff, Handoff.sender_id == customer),
            "notes": count(HandoffNote, HandoffNote.handoff_id.in_(handoff_ids)),
            "reveals": count(HandoffReveal, HandoffReveal.handoff_id.in_(handoff_ids)),
            "outreach_jobs": count(OutreachJob, OutreachJob.customer_id == customer),
            "exposures": count(ExperimentExposure, ExperimentExposure.customer_id == customer),
            "orders": count(Order, Order.customer_id == customer),
            "order_items": count(OrderItem),
        }
    database.dispose()
    return found


def stored_conversation(tracker_url: str, sender: str) -> DialogueStateTracker | None:
    store = SQLTrackerStore(Domain.empty(), host=tracker_url)
    try:
        return asyncio.run(store.retrieve(sender))
    finally:
        store.engine.dispose()


def erase(
    mall_url: str, tracker_url: str, customer: str, monkeypatch: pytest.MonkeyPatch, *extra: str
) -> int:
    monkeypatch.setenv("MALL_DATABASE_URL", mall_url)
    return main(["erase-customer", customer, "--tracker-db-url", tracker_url, *extra])


def test_erasing_keeps_orders_and_everyone_else(
    urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    mall_url, tracker_url = urls
    fill(mall_url, tracker_url)
    vip_before, other_before = counts(mall_url, VIP), counts(mall_url, OTHER)
    assert vip_before["orders"] == 5 and vip_before["notes"] == 1

    with caplog.at_level(logging.INFO):
        assert erase(mall_url, tracker_url, VIP, monkeypatch, "--yes") == 0
    assert "5 orders kept" in caplog.text and "profile emptied" in caplog.text

    vip = counts(mall_url, VIP)
    # Used coupons belong to their orders and stay; the unused one is gone.
    assert vip_before["used_coupons"] > 0 and vip_before["coupons"] > vip_before["used_coupons"]
    assert vip == {
        **vip_before,
        "events": 0,
        "coupons": vip_before["used_coupons"],
        "handoffs": 0,
        "notes": 0,
        "reveals": 0,
        "outreach_jobs": 0,
        "exposures": 0,
    }
    database = Database(mall_url)
    with database.read_session() as session:
        profile = session.get(Customer, VIP)
        assert (profile.display_name, profile.interests, profile.card_id) == ("", [], None)
        order = session.get(Order, "202611180001")
        assert order.recipient_phone == "13812345678"  # the order itself is untouched
    database.dispose()
    assert stored_conversation(tracker_url, VIP) is None
    # Nobody else lost anything.
    assert counts(mall_url, OTHER) == other_before
    other = stored_conversation(tracker_url, OTHER)
    assert other is not None and other.latest_message.text.startswith("我电话")


def test_a_customer_without_orders_is_deleted_outright(
    urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mall_url, tracker_url = urls
    fill(mall_url, tracker_url)
    assert erase(mall_url, tracker_url, VISITOR, monkeypatch, "--yes") == 0
    assert counts(mall_url, VISITOR) | {"order_items": 0} == dict.fromkeys(
        counts(mall_url, VISITOR), 0
    )
    assert stored_conversation(tracker_url, VISITOR) is None
    # Erasing again finds nothing and says so without failing.
    assert erase(mall_url, tracker_url, VISITOR, monkeypatch, "--yes") == 0


def test_erasing_needs_confirmation_and_a_real_id(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker_url = f"sqlite:///{tmp_path / 'trackers.db'}"
    before = counts(db_url, VIP)
    assert erase(db_url, tracker_url, VIP, monkeypatch) == 2  # not a terminal, no --yes
    assert erase(db_url, tracker_url, "../../etc", monkeypatch, "--yes") == 2
    assert counts(db_url, VIP) == before
    assert not (tmp_path / "trackers.db").exists()  # nothing created where nothing was
    shutil.rmtree(tmp_path, ignore_errors=True)
