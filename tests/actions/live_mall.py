"""The real mall app in-process for the action tests, and a transport that can fail.

The actions talk to the real `MallClient`; its requests go through `InProcessTransport` to
the mall's FastAPI app (starlette's TestClient) on a temporary SQLite copy of the seeded demo
database. What a test arranges (a profile, an order, a coupon template) is written into that
database with the mall's own models; how products resolve, which coupon is best and what an
order allows is the mall's own logic. Outages are the transport's: refused connections,
5xx answers and slow calls, the way a network or a proxy in front of the mall fails.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import requests
from fastapi.testclient import TestClient
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from sqlalchemy import select

from actions.clients.mall import MallClient
from mall.db import Database
from mall.models import (
    Agent,
    BehaviourEvent,
    Coupon,
    CouponTemplate,
    Customer,
    DistributorCard,
    Handoff,
    HandoffNote,
    Logistics,
    LogisticsEvent,
    Order,
    OrderItem,
    SegmentRun,
    utcnow,
)
from mall.services.orders import STATUS_NAMES
from mall.settings import Settings

BASE_URL = "http://mall.test"
PRODUCT_NAMES = {"P1001": "声悦Pro降噪蓝牙耳机"}
ORDERED_AT = datetime(2025, 1, 1, 8, 0, tzinfo=timezone.utc)
SHIPMENT = (
    (datetime(2025, 1, 1, 10, 0, tzinfo=timezone.utc), "已揽收", "东莞"),
    (datetime(2025, 1, 2, 2, 5, tzinfo=timezone.utc), "快件已到达深圳转运中心", "深圳"),
)


class InProcessTransport(BaseAdapter):
    """A requests transport that hands each request to the ASGI app, or fails like a network.

    `down`: every request is refused before it leaves (requests.ConnectionError);
    `failing`: paths containing one of these fragments get a 503 from "the proxy";
    `delay`: seconds every request takes before it is sent.
    """

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client
        self.down = False
        self.failing: set[str] = set()
        self.delay = 0.0
        self.paths: list[str] = []

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, timeout: Any = None, **_kwargs: Any
    ) -> requests.Response:
        path = requests.utils.urlparse(request.url).path  # type: ignore[attr-defined]
        self.paths.append(f"{request.method} {path}")
        if self.delay:
            time.sleep(self.delay)
        if self.down:
            raise requests.ConnectionError(f"connection refused: {path}", request=request)
        if any(fragment in path for fragment in self.failing):
            return _response(request, 503, b'{"error":"unavailable","message":"upstream down"}')
        answer = self.client.request(
            request.method or "GET",
            request.url or "",
            content=request.body,
            headers=dict(request.headers),
        )
        response = _response(request, answer.status_code, answer.content)
        response.headers = CaseInsensitiveDict(answer.headers)
        return response

    def close(self) -> None:
        """Nothing pooled: the TestClient is closed by the fixture."""


def _response(request: requests.PreparedRequest, status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers = CaseInsensitiveDict({"content-type": "application/json"})
    response.url = request.url or ""
    response.request = request
    response.encoding = "utf-8"
    return response


class LiveMall(MallClient):
    """The real MallClient on the real mall app, plus ways to arrange the mall's data."""

    def __init__(self, app_client: TestClient, database: Database, settings: Settings) -> None:
        self.transport = InProcessTransport(app_client)
        session = requests.Session()
        session.mount("http://", self.transport)
        session.headers.update({"Accept": "application/json"})
        super().__init__(BASE_URL, token=settings.api_token, session=session)
        self.app = app_client.app
        self.database = database
        self._ids = itertools.count(1)

    # ---- outages ----

    @property
    def unavailable(self) -> bool:
        """Whether the transport refuses every connection."""
        return self.transport.down

    @unavailable.setter
    def unavailable(self, value: bool) -> None:
        self.transport.down = value

    @property
    def failing(self) -> set[str]:
        """Path fragments answered with 503 (e.g. "/coupons/best")."""
        return self.transport.failing

    @failing.setter
    def failing(self, value: set[str]) -> None:
        self.transport.failing = set(value)

    @property
    def delay(self) -> float:
        """Seconds every call takes before it is sent."""
        return self.transport.delay

    @delay.setter
    def delay(self, value: float) -> None:
        self.transport.delay = value

    @property
    def calls(self) -> list[str]:
        """`METHOD /path` of every request the transport carried (or refused)."""
        return self.transport.paths

    # ---- arranging data ----

    def add_profile(
        self,
        customer_id: str = "cust-1",
        *,
        display_name: str = "小王",
        segment: str = "regular",
        interests: tuple[str, ...] = ("蓝牙耳机",),
        card: bool = True,
        opt_outs: tuple[str, ...] = (),
    ) -> None:
        """A customer placed in `segment` by a clustering run (so events do not rename it).

        Adding the same customer again replaces what the first call set.
        """
        now = utcnow()
        with self.database.write_session() as session:
            run = SegmentRun(computed_at=now, window_days=60, customers=1, k=5, clusters=[])
            session.add(run)
            if card and session.get(DistributorCard, "card-1") is None:
                session.add(
                    DistributorCard(id="card-1", owner_name="李姐", shop_name="李姐的数码小铺")
                )
            session.flush()
            customer = session.get(Customer, customer_id) or Customer(id=customer_id)
            customer.channel = "wechat" if customer_id.startswith("wx-") else "web"
            customer.display_name = display_name
            customer.interests = list(interests)
            customer.card_id = "card-1" if card else None
            customer.segment = segment
            customer.created_at = now - timedelta(days=30)
            customer.last_visit_at = now - timedelta(days=1)
            customer.segment_run_id = run.id
            customer.segment_computed_at = now
            customer.opt_outs = list(opt_outs)
            session.add(customer)

    def add_template(
        self,
        template_id: str = "T-AUDIO-30",
        *,
        name: str = "耳机满减券",
        kind: str = "threshold",
        amount: float = 30.0,
        threshold: float | None = 199.0,
        per_user_limit: int = 1,
        stock_left: int = 100,
        segments: tuple[str, ...] = (),
        product_ids: tuple[str, ...] = ("P1001", "P1002"),
        category_ids: tuple[str, ...] = (),
        valid_until: datetime | None = datetime(2031, 1, 31, 15, 59, 59, tzinfo=timezone.utc),
        valid_days: int | None = None,
    ) -> None:
        """A coupon template the mall offers from now on."""
        with self.database.write_session() as session:
            session.add(
                CouponTemplate(
                    id=template_id,
                    name=name,
                    kind=kind,
                    amount=Decimal(str(amount)),
                    threshold=Decimal(str(threshold)) if threshold is not None else None,
                    valid_until=valid_until,
                    valid_days=valid_days,
                    per_user_limit=per_user_limit,
                    total_stock=stock_left,
                    issued_count=0,
                    segments=list(segments),
                    product_ids=list(product_ids),
                    category_ids=list(category_ids),
                    description="",
                    active=True,
                )
            )

    def withdraw_seeded_coupons(self) -> None:
        """Stop offering the demo templates, so a test's own template is the only one."""
        with self.database.write_session() as session:
            for template in session.scalars(select(CouponTemplate)):
                template.active = False

    def add_order(
        self, customer_id: str, order_id: str, status: str, *, total: float = 299.0
    ) -> None:
        """An order of one P1001 in `status`, shipped by SF when its status says so.

        Each order added is a minute older than the one before: list them newest first.
        """
        created = ORDERED_AT - timedelta(minutes=next(self._ids))
        with self.database.write_session() as session:
            if session.get(Customer, customer_id) is None:
                session.add(Customer(id=customer_id, channel="web", display_name=""))
                session.flush()
            session.add(
                Order(
                    id=order_id,
                    customer_id=customer_id,
                    status=status,
                    created_at=created,
                    goods_amount=Decimal(str(total)),
                    total=Decimal(str(total)),
                    recipient_name="王小明",
                    recipient_phone="13800000000",
                    region="广东省深圳市",
                    address_detail="南山区科技园1号",
                )
            )
            session.add(
                OrderItem(
                    order_id=order_id,
                    product_id="P1001",
                    name=PRODUCT_NAMES["P1001"],
                    color="白色",
                    quantity=1,
                    price=Decimal(str(total)),
                )
            )
            if status in ("shipped", "delivered", "completed"):
                session.add(
                    Logistics(order_id=order_id, courier="顺丰速运", tracking_no="SF1234567890")
                )
                session.flush()
                for when, text, place in SHIPMENT:
                    session.add(
                        LogisticsEvent(
                            order_id=order_id,
                            occurred_at=when,
                            description=text,
                            location=place,
                        )
                    )
        assert status in STATUS_NAMES, status

    def agent_online(self) -> None:
        """An agent seen by the console just now (the handoff queue has someone to answer)."""
        with self.database.write_session() as session:
            session.add(
                Agent(
                    username=f"agent{next(self._ids)}",
                    display_name="小李",
                    password_hash="x",
                    role="agent",
                    active=True,
                    last_seen_at=utcnow(),
                )
            )

    def agents_away(self) -> None:
        """No agent has been seen by the console lately."""
        with self.database.write_session() as session:
            for agent in session.scalars(select(Agent)):
                agent.last_seen_at = None

    def close_the_desk(self) -> str:
        """Service hours that exclude the present moment; returns them as the mall says them."""
        settings: Settings = self.app.state.settings  # type: ignore[attr-defined]
        hour = (utcnow().astimezone(settings.handoff.zone()).hour + 12) % 24
        hours = f"{hour:02d}:00-{hour:02d}:01"
        self.set_service_hours(hours)
        return hours

    def set_service_hours(self, hours: str) -> None:
        """When people answer, as HANDOFF_SERVICE_HOURS would set it."""
        settings: Settings = self.app.state.settings  # type: ignore[attr-defined]
        handoff = settings.handoff.replace(service_hours=hours)
        self.app.state.settings = settings.replace(handoff=handoff)  # type: ignore[attr-defined]

    # ---- reading what the mall stored ----

    def coupons_of(self, customer_id: str) -> list[dict[str, Any]]:
        """The coupons the mall issued to the customer, oldest first."""
        with self.database.read_session() as session:
            rows = session.scalars(
                select(Coupon).where(Coupon.customer_id == customer_id).order_by(Coupon.issued_at)
            )
            return [{"code": c.code, "template_id": c.template_id} for c in rows]

    def events_of(self, customer_id: str) -> list[tuple[str, str, str | None]]:
        """(customer, type, product) of the behaviour events the mall recorded."""
        with self.database.read_session() as session:
            rows = session.scalars(
                select(BehaviourEvent)
                .where(BehaviourEvent.customer_id == customer_id)
                .order_by(BehaviourEvent.id)
            )
            return [(e.customer_id, e.type, e.product_id) for e in rows]

    def handoffs(self) -> list[dict[str, Any]]:
        """The handoffs the mall recorded, oldest first."""
        with self.database.read_session() as session:
            rows = session.scalars(select(Handoff).order_by(Handoff.id))
            return [
                {
                    "id": h.id,
                    "sender_id": h.sender_id,
                    "channel": h.channel,
                    "reason": h.reason,
                    "offline": h.offline,
                    "context": h.context,
                }
                for h in rows
            ]

    def notes(self) -> list[dict[str, Any]]:
        """The notes left on handoffs, oldest first."""
        with self.database.read_session() as session:
            rows = session.scalars(select(HandoffNote).order_by(HandoffNote.id))
            return [
                {"handoff_id": n.handoff_id, "kind": n.kind, "text": n.text, "phone": n.phone}
                for n in rows
            ]
