"""The proactive scheduler on a real database, with a clock the test controls.

Deliveries go to a recording deliverer, and once through RasaDeliverer to a real HTTP server
on loopback that stands in for Rasa's trigger_intent route.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from mall.db import Database
from mall.models import BehaviourEvent, Customer, Handoff, Order, OutreachJob
from mall.outreach import Rule, parse_rules
from mall.scheduler import PROACTIVE_INTENT, Delivery, RasaDeliverer, run_once
from mall.services.profiles import ensure_customer, record_event
from tests.mall.fixtures import database_with_customers

# 10:00 in Shanghai.
MORNING = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
CONSULT_RULE = parse_rules(
    {
        "rules": [
            {
                "id": "consult_no_order",
                "when": {"event": "consult", "without": "order", "within": "30m"},
                "offer": "coupon",
            }
        ]
    }
)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def deliver(
        self, job: OutreachJob, rule: Rule, *, product_id: str | None = None, now: datetime
    ) -> Delivery:
        with self.lock:
            self.sent.append((job.customer_id, rule.id))
        return Delivery(True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    yield from database_with_customers(request, [f"web-pro-{n}" for n in range(4)], MORNING)


def ours(recorder: Recorder) -> list[tuple[str, str]]:
    """What went to this test's customers (the seeded demo customers have their own)."""
    return [sent for sent in recorder.sent if sent[0].startswith("web-pro-")]


def consult(db: Database, customer: str, at: datetime) -> None:
    with db.write_session() as session:
        session.add(BehaviourEvent(customer_id=customer, type="consult", occurred_at=at))


def decisions(db: Database, customer: str) -> list[tuple[str, str | None]]:
    with db.read_session() as session:
        return [
            (job.status, job.reason)
            for job in session.scalars(
                select(OutreachJob).where(OutreachJob.customer_id == customer)
            )
        ]


def test_31_minutes_after_a_consultation_exactly_one_offer_goes(db: Database) -> None:
    consult(db, "web-pro-0", MORNING - timedelta(minutes=20))
    recorder = Recorder()
    run_once(db, CONSULT_RULE, recorder, worker="s1", now=MORNING)
    assert ours(recorder) == []  # 20 minutes: not yet
    later = MORNING + timedelta(minutes=11)
    with ThreadPoolExecutor(max_workers=3) as pool:  # three schedulers at once
        list(
            pool.map(
                lambda w: run_once(db, CONSULT_RULE, recorder, worker=w, now=later),
                ["s1", "s2", "s3"],
            )
        )
    run_once(db, CONSULT_RULE, recorder, worker="s1", now=later + timedelta(hours=1))
    assert [c for c in recorder.sent if c[0] == "web-pro-0"] == [("web-pro-0", "consult_no_order")]
    assert decisions(db, "web-pro-0") == [("sent", None)]


def test_quiet_hours_wait_until_morning(db: Database) -> None:
    night = datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc)  # 23:30 in Shanghai
    consult(db, "web-pro-1", night - timedelta(minutes=40))
    recorder = Recorder()
    outcome = run_once(db, CONSULT_RULE, recorder, worker="s1", now=night)
    assert outcome["postponed: quiet hours"] >= 1
    assert not [c for c in recorder.sent if c[0] == "web-pro-1"]
    run_once(db, CONSULT_RULE, recorder, worker="s1", now=night + timedelta(hours=2))
    assert not [c for c in recorder.sent if c[0] == "web-pro-1"]  # 01:30: still quiet
    run_once(db, CONSULT_RULE, recorder, worker="s1", now=night + timedelta(hours=8, minutes=31))
    assert [c for c in recorder.sent if c[0] == "web-pro-1"] == [("web-pro-1", "consult_no_order")]


def test_quiet_hours_are_the_customers_own(db: Database) -> None:
    """23:30 in Shanghai is 16:30 in Berlin: the Berlin customer's offer goes at once."""
    night = datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc)
    with db.write_session() as session:
        record_event(
            session=session,
            customer_id="web-pro-2",
            event_type="consult",
            properties={"time_zone": "Europe/Berlin"},
            now=night - timedelta(minutes=40),
        )
    consult(db, "web-pro-3", night - timedelta(minutes=40))
    recorder = Recorder()
    run_once(db, CONSULT_RULE, recorder, worker="s1", now=night)
    assert ours(recorder) == [("web-pro-2", "consult_no_order")]
    assert decisions(db, "web-pro-3") == [("pending", "quiet hours")]


def test_only_a_real_time_zone_is_kept(db: Database) -> None:
    for zone in ("Mars/Olympus", "../etc/passwd", "UTC+8", 8, "Asia/Tokyo"):
        with db.write_session() as session:
            record_event(
                session=session,
                customer_id="web-pro-0",
                event_type="consult",
                properties={"time_zone": zone},  # type: ignore[dict-item]
                now=MORNING,
            )
    with db.read_session() as session:
        customer = session.get(Customer, "web-pro-0")
        assert customer is not None and customer.time_zone == "Asia/Tokyo"


def test_no_offer_after_opt_out_an_order_or_during_a_handoff(db: Database) -> None:
    for n in (1, 2):
        consult(db, f"web-pro-{n}", MORNING - timedelta(minutes=40))
    with db.write_session() as session:
        customer = session.get(Customer, "web-pro-1")
        assert customer is not None
        customer.opt_outs = ["marketing"]
        session.add(Handoff(sender_id="web-pro-2", channel="web", status="waiting", reason="angry"))
    recorder = Recorder()
    run_once(db, CONSULT_RULE, recorder, worker="s1", now=MORNING)
    assert ours(recorder) == []
    assert decisions(db, "web-pro-1") == [("skipped", "opted out")]
    assert decisions(db, "web-pro-2") == [("pending", "handed off")]
    # While a person helps, the customer orders; the handoff ends; the offer is not sent.
    with db.write_session() as session:
        session.add(
            Order(
                id="ORD-PRO-2",
                customer_id="web-pro-2",
                status="paid",
                created_at=MORNING + timedelta(minutes=10),
                goods_amount=10,
                total=10,
                recipient_name="测试",
                recipient_phone="13800000000",
                region="上海",
                address_detail="测试路1号",
            )
        )
        for handoff in session.scalars(select(Handoff).where(Handoff.sender_id == "web-pro-2")):
            handoff.status = "closed"
    run_once(db, CONSULT_RULE, recorder, worker="s1", now=MORNING + timedelta(minutes=31))
    assert ours(recorder) == []
    assert decisions(db, "web-pro-2") == [("skipped", "ordered since")]


def test_at_most_one_proactive_message_a_day(db: Database) -> None:
    consult(db, "web-pro-0", MORNING - timedelta(hours=3))
    consult(db, "web-pro-0", MORNING - timedelta(hours=2))
    recorder = Recorder()
    run_once(db, CONSULT_RULE, recorder, worker="s1", now=MORNING)
    assert [c for c in recorder.sent if c[0] == "web-pro-0"] == [("web-pro-0", "consult_no_order")]
    assert sorted(decisions(db, "web-pro-0")) == [("sent", None), ("skipped", "at most 1 a day")]


class FakeRasa(BaseHTTPRequestHandler):
    """Rasa's HTTP API as far as the scheduler uses it: the tracker and trigger_intent."""

    calls: list[dict[str, Any]] = []
    status = 200
    # The tracker GET answers with this channel and a customer message this long ago.
    channel: str | None = "web"
    last_message_ago = timedelta(minutes=40)

    def do_GET(self) -> None:
        FakeRasa.calls.append({"path": self.path, "method": "GET"})
        written = (MORNING - FakeRasa.last_message_ago).timestamp()
        tracker = {
            "latest_input_channel": FakeRasa.channel,
            "events": [
                {
                    "event": "user",
                    "timestamp": written,
                    "parse_data": {"intent": {"name": "greet"}},
                },
                # An earlier offer is not the customer writing.
                {
                    "event": "user",
                    "timestamp": MORNING.timestamp() - 60,
                    "parse_data": {"intent": {"name": "EXTERNAL_proactive_offer"}},
                },
            ],
        }
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(tracker).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        FakeRasa.calls.append(
            {"path": self.path, "method": "POST", "body": json.loads(self.rfile.read(length))}
        )
        self.send_response(FakeRasa.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def test_delivery_through_rasas_trigger_intent_route(db: Database) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeRasa.calls, FakeRasa.status = [], 500
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        consult(db, "web-pro-0", MORNING - timedelta(minutes=40))
        deliverer = RasaDeliverer(url, token="rasa-token")
        outcome = run_once(db, CONSULT_RULE, deliverer, worker="s1", now=MORNING)
        assert outcome["postponed: Rasa answered 500"] >= 1  # kept, tried again later
        FakeRasa.status = 200
        run_once(db, CONSULT_RULE, deliverer, worker="s1", now=MORNING + timedelta(minutes=6))
        mine = [c for c in FakeRasa.calls if "/web-pro-0/" in c["path"] and c["method"] == "POST"]
        assert len(mine) == 2
        assert mine[-1]["path"].startswith("/conversations/web-pro-0/trigger_intent?")
        assert "token=rasa-token" in mine[-1]["path"]
        assert mine[-1]["body"] == {
            "name": PROACTIVE_INTENT,
            "entities": {"outreach_rule": "consult_no_order", "outreach_offer": "coupon"},
        }
        assert decisions(db, "web-pro-0") == [("sent", "via web")]
    finally:
        server.shutdown()
    # Rasa down altogether: postponed with the reason, never lost.
    consult(db, "web-pro-1", MORNING - timedelta(minutes=40))
    outcome = run_once(
        db,
        CONSULT_RULE,
        RasaDeliverer(url, "t", timeout=1),
        worker="s1",
        now=MORNING + timedelta(minutes=20),
    )
    assert any(key.startswith("postponed: Rasa unreachable") for key in outcome)


def test_wechat_customers_are_written_to_only_inside_the_48_hour_window(
    database: Database,
) -> None:
    """On the seeded demo database, whose products the consultation can name."""
    db = database
    with db.write_session() as session:
        for customer in ("web-pro-0", "web-pro-1"):
            ensure_customer(session=session, customer_id=customer, now=MORNING)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeRasa.calls, FakeRasa.status, FakeRasa.channel = [], 200, "wechat"
    deliverer = RasaDeliverer(f"http://127.0.0.1:{server.server_address[1]}", token="t")
    try:
        FakeRasa.last_message_ago = timedelta(hours=49)
        consult(db, "web-pro-0", MORNING - timedelta(minutes=40))
        run_once(db, CONSULT_RULE, deliverer, worker="s1", now=MORNING)
        assert decisions(db, "web-pro-0") == [("skipped", "outside WeChat's 48-hour window")]
        assert not [c for c in FakeRasa.calls if c["method"] == "POST"]

        FakeRasa.last_message_ago = timedelta(hours=47)
        with db.write_session() as session:
            session.add(
                BehaviourEvent(
                    customer_id="web-pro-1",
                    type="consult",
                    product_id="P1001",
                    occurred_at=MORNING - timedelta(minutes=40),
                )
            )
        run_once(db, CONSULT_RULE, deliverer, worker="s1", now=MORNING)
        assert decisions(db, "web-pro-1") == [("sent", "via wechat")]
        posted = [c for c in FakeRasa.calls if c["method"] == "POST"]
        # The offer names the product the customer consulted about.
        assert posted[0]["body"]["entities"]["outreach_product"] == "P1001"
    finally:
        FakeRasa.channel, FakeRasa.last_message_ago = "web", timedelta(minutes=40)
        server.shutdown()
