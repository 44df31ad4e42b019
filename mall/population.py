"""A generated demo population: several hundred customers with 60 days of behaviour.

`python -m mall seed --customers N` adds them beside the five hand-written demo customers,
so that the segments, the business cards and the distributor and supplier pages show real
differences. The same `--random-seed` gives the same people doing the same things (times
are relative to the moment of seeding, like the hand-written demo data).

Each generated customer follows one of five habits, in these shares, with noise:
- close to buying (15%): visits on many days this month, adds to the cart and has not
  ordered what is in it (some bought dear things before);
- drifting away (20%): bought a month or two ago, nothing for one to seven weeks;
- bargain hunter (20%): compares prices again and again, claims coupons, buys little;
- newcomer (15%): arrived in the last fortnight, a few visits, no order;
- regular (30%): orders now and then and keeps coming.
Conversations (consults) carry a sentiment score and their length in turns; after-sales
signals (out-of-stock inquiries, complaints by kind, return reasons) flow to suppliers.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from mall.experiments import Experiment
from mall.models import (
    BehaviourEvent,
    Category,
    Coupon,
    CouponTemplate,
    Customer,
    DistributorCard,
    ExperimentExposure,
    Order,
    OrderItem,
    Product,
    Sku,
    utcnow,
)

logger = logging.getLogger(__name__)

HABITS = (
    ("close_to_buying", 0.15),
    ("drifting", 0.20),
    ("bargain", 0.20),
    ("newcomer", 0.15),
    ("regular", 0.30),
)
# Extra distributor cards, so the distributor pages can be compared.
CARDS = (
    ("card-wu-home", "吴老板", "吴老板的家居好物"),
    ("card-he-mom", "何妈妈", "何妈妈母婴团购"),
)
# Which card customers of each habit tend to come through (None: no card).
CARD_CHOICES: dict[str, tuple[str | None, ...]] = {
    "close_to_buying": ("card-li-digital", "card-li-digital", "card-wu-home", None),
    "drifting": ("card-zhou-beauty", "card-he-mom", None, None),
    "bargain": ("card-zhou-beauty", "card-zhou-beauty", "card-he-mom", None),
    "newcomer": ("card-li-digital", "card-wu-home", "card-he-mom", None),
    "regular": ("card-li-digital", "card-wu-home", "card-zhou-beauty", None),
}
COMPLAINT_KINDS = ("defect", "damage", "wrong_item")
RETURN_REASONS = ("尺码不合适", "质量问题", "与描述不符", "不想要了", "发错货")
GEN_TEMPLATE = "T-GEN-10"
SPENDING = ("paid", "shipped", "delivered", "completed")
BATCH = 5000


@dataclass
class _Rows:
    customers: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    coupons: list[dict[str, Any]] = field(default_factory=list)

    def size(self) -> int:
        return len(self.customers) + len(self.events) + len(self.orders) + len(self.items)


@dataclass(frozen=True)
class _Catalogue:
    by_category: dict[str, list[tuple[str, Decimal, str | None, str | None]]]
    names: dict[str, str]


def _catalogue(session: Session) -> _Catalogue:
    by_category: dict[str, list[tuple[str, Decimal, str | None, str | None]]] = {}
    first_sku: dict[str, Sku] = {}
    for sku in session.scalars(select(Sku).order_by(Sku.product_id, Sku.position)):
        first_sku.setdefault(sku.product_id, sku)
    for product in session.scalars(select(Product).order_by(Product.id)):
        sku = first_sku.get(product.id)
        by_category.setdefault(product.category_id, []).append(
            (product.id, product.price, sku.color if sku else None, sku.size if sku else None)
        )
    names = {c.id: c.name for c in session.scalars(select(Category))}
    return _Catalogue(by_category=by_category, names=names)


def _ensure_cards_and_template(session: Session, now: datetime) -> None:
    for card_id, owner, shop in CARDS:
        if session.get(DistributorCard, card_id) is None:
            session.add(DistributorCard(id=card_id, owner_name=owner, shop_name=shop))
    if session.get(CouponTemplate, GEN_TEMPLATE) is None:
        # Not active: it only carries the generated customers' coupon history.
        session.add(
            CouponTemplate(
                id=GEN_TEMPLATE,
                name="老顾客回馈立减10元",
                kind="instant",
                amount=Decimal("10"),
                valid_days=30,
                per_user_limit=1000,
                total_stock=10_000_000,
                issued_count=0,
                segments=[],
                product_ids=[],
                category_ids=[],
                description="演示数据",
                active=False,
            )
        )
    session.flush()


def generate_population(
    *, session: Session, customers: int, random_seed: int = 7, now: datetime | None = None
) -> Counter:
    """Add `customers` generated customers (ids gen-NNNNN / wx-gen-NNNNN) and their history.

    Idempotent per id: customers that exist already are skipped with their history.
    """
    now = now or utcnow()
    rng = random.Random(random_seed)
    catalogue = _catalogue(session)
    if not catalogue.by_category:
        raise ValueError("the catalogue is empty: seed the demo data first")
    _ensure_cards_and_template(session, now)
    existing = set(session.scalars(select(Customer.id).where(Customer.id.like("%gen-%"))))
    added: Counter = Counter()
    rows = _Rows()
    order_serial = int(
        session.scalar(select(func.count()).select_from(Order).where(Order.id.like("G%"))) or 0
    )
    habits = [habit for habit, _ in HABITS]
    weights = [share for _, share in HABITS]
    for number in range(1, customers + 1):
        habit = rng.choices(habits, weights)[0]
        # Drawn for every number, so the same seed gives the same people whatever exists.
        person_rng = random.Random(rng.getrandbits(64))
        wechat = person_rng.random() < 0.55
        customer_id = f"{'wx-' if wechat else ''}gen-{number:05d}"
        if customer_id in existing:
            continue
        order_serial = _person(
            rows, person_rng, catalogue, customer_id, wechat, habit, now, order_serial, added
        )
        added[habit] += 1
        if rows.size() >= BATCH:
            _flush(session, rows)
    _flush(session, rows)
    _count_issued(session)
    added["customers"] = sum(added[h] for h in habits)
    logger.info("generated: %s", dict(added))
    return added


def _person(
    rows: _Rows,
    rng: random.Random,
    catalogue: _Catalogue,
    customer_id: str,
    wechat: bool,
    habit: str,
    now: datetime,
    order_serial: int,
    added: Counter,
) -> int:
    categories = sorted(catalogue.by_category)
    favourites = rng.sample(categories, k=min(len(categories), rng.choice((1, 2, 2, 3))))
    card = rng.choice(CARD_CHOICES[habit])
    source = "wechat" if wechat else rng.choice(("shop", "widget"))
    plan = _plan(habit, rng)
    created = now - timedelta(days=plan["tenure"])
    rows.customers.append(
        {
            "id": customer_id,
            "channel": "wechat" if wechat else "web",
            "display_name": "",
            "interests": [catalogue.names.get(c, c) for c in favourites],
            "card_id": card,
            "segment": "new",
            "created_at": created,
            "last_visit_at": None,
        }
    )
    serial = 0

    def when(days_ago: float) -> datetime:
        return now - timedelta(days=max(days_ago, 0.001), minutes=rng.uniform(0, 30))

    def product() -> tuple[str, Decimal, str | None, str | None]:
        return rng.choice(catalogue.by_category[rng.choice(favourites)])

    def event(type_: str, days_ago: float, item: str | None, **properties: Any) -> None:
        kind = type_
        nonlocal serial
        serial += 1
        is_mall = kind in ("consult", "coupon_claim", "order") or kind in (
            "stock_inquiry",
            "complaint",
            "return_request",
        )
        rows.events.append(
            {
                "customer_id": customer_id,
                "type": kind,
                "product_id": item,
                "occurred_at": when(days_ago),
                "source": "mall" if is_mall else source,
                "event_id": f"{customer_id}-{serial}",
                "card_id": card,
                "properties": properties or None,
            }
        )

    last_seen = plan["tenure"]
    if card is not None:
        event("card_view", plan["tenure"], None, card_id=card)
    visit_days = sorted(plan["visits"], reverse=True)
    for day in visit_days:
        last_seen = min(last_seen, day)
        seen = product()
        event("product_view", day, seen[0])
        if rng.random() < plan["search"]:
            event("search", day, None, query=catalogue.names.get(favourites[0], "好物"))
        if rng.random() < plan["consult"]:
            sentiment = rng.gauss(plan["mood"], 0.35)
            turns = max(1, int(rng.gauss(plan["turns"], 2)))
            event(
                "consult",
                day,
                seen[0],
                sentiment=round(max(-1.0, min(1.0, sentiment)), 2),
                turns=turns,
                questions=max(1, turns // 2 + rng.randint(-1, 1)),
            )
        if rng.random() < 0.1:
            event("share", day, seen[0])
    for _ in range(plan["compares"]):
        day = rng.choice(visit_days) if visit_days else 0.0
        first, second = product(), product()
        if rng.random() < 0.5:
            event("compare", day, first[0], product_ids=[first[0], second[0]])
        else:
            for _ in range(3):  # the same page again and again
                event("product_view", day, first[0])
    for _ in range(plan["carts"]):
        day = rng.choice(visit_days[-4:]) if visit_days else 0.0
        event("add_to_cart", day, product()[0])
    for _ in range(plan["claims"]):
        day = rng.choice(visit_days) if visit_days else 0.0
        code = f"CPG{customer_id.rsplit('-', 1)[-1]}S{serial}"
        issued = when(day)
        used = rng.random() < 0.4 and bool(plan["order_days"])
        rows.coupons.append(
            {
                "code": code,
                "customer_id": customer_id,
                "template_id": GEN_TEMPLATE,
                "name": "老顾客回馈立减10元",
                "kind": "instant",
                "amount": Decimal("10"),
                "threshold": None,
                "status": "used" if used else "issued",
                "issued_at": issued,
                "valid_until": issued + timedelta(days=30),
                "used_at": issued + timedelta(hours=2) if used else None,
                "order_id": None,
                "idempotency_key": f"gen-{customer_id}-{serial}",
                "card_id": card,
            }
        )
        event("coupon_claim", day, None, template_id=GEN_TEMPLATE)
    for order_day in plan["order_days"]:
        order_serial += 1
        order_id = f"G{order_serial:011d}"
        lines = [_pick(product, habit) for _ in range(rng.choice((1, 1, 2)))]
        goods = sum((price for _, price, _, _ in lines), Decimal("0"))
        fee = Decimal("0") if goods >= 99 else Decimal("8")
        created_at = when(order_day)
        status = rng.choice(SPENDING) if order_day > 2 else rng.choice(("paid", "shipped"))
        if rng.random() < 0.06:
            status = "refunded"
        rows.orders.append(
            {
                "id": order_id,
                "customer_id": customer_id,
                "status": status,
                "created_at": created_at,
                "goods_amount": goods,
                "shipping_fee": fee,
                "discount": Decimal("0"),
                "total": goods + fee,
                "recipient_name": "演示顾客",
                "recipient_phone": "13800000000",
                "region": "上海市 浦东新区",
                "address_detail": "演示地址1号",
                "card_id": card,
            }
        )
        for product_id, price, color, size in lines:
            rows.items.append(
                {
                    "order_id": order_id,
                    "product_id": product_id,
                    "name": product_id,
                    "color": color,
                    "size": size,
                    "quantity": 1,
                    "price": price,
                }
            )
        event(
            "order",
            order_day,
            lines[0][0],
            order_id=order_id,
            products=[line[0] for line in lines],
        )
        added["orders"] += 1
        if rng.random() < 0.12:
            event(
                "complaint", max(order_day - 2, 0.01), lines[0][0], kind=rng.choice(COMPLAINT_KINDS)
            )
        if status == "refunded" or rng.random() < 0.05:
            event(
                "return_request",
                max(order_day - 3, 0.01),
                lines[0][0],
                reason=rng.choice(RETURN_REASONS),
            )
    if rng.random() < 0.08 and visit_days:
        event("stock_inquiry", visit_days[-1], product()[0])
    return order_serial


def _pick(
    product: Callable[[], tuple[str, Decimal, str | None, str | None]], habit: str
) -> tuple[str, Decimal, str | None, str | None]:
    """What an order holds: the close-to-buying go for dear things, regulars for cheap ones."""
    first, second = product(), product()
    if habit == "close_to_buying":
        return max(first, second, key=lambda line: line[1])
    if habit == "regular":
        return min(first, second, key=lambda line: line[1])
    return first


def _plan(habit: str, rng: random.Random) -> dict[str, Any]:
    """How much of what a customer of this habit does (days are days ago)."""
    if habit == "close_to_buying":
        tenure = rng.uniform(45, 60)
        visits = rng.sample(range(0, 28), k=rng.randint(6, 12))
        return {
            "tenure": tenure,
            "visits": [float(v) + rng.random() * 0.5 for v in sorted(visits)][:12],
            "carts": rng.randint(2, 5),
            "compares": rng.randint(0, 1),
            "claims": rng.randint(0, 1),
            # They have bought before (dear things); what is in the cart now they have not.
            "order_days": [rng.uniform(28, 44) for _ in range(rng.randint(1, 4))],
            "consult": 0.35,
            "search": 0.4,
            "mood": 0.2,
            "turns": 6,
        }
    if habit == "drifting":
        quiet = rng.uniform(9, 45)
        tenure = rng.uniform(quiet + 20, 60)
        gone: list[float] = [
            quiet + rng.uniform(0, tenure - quiet) for _ in range(rng.randint(2, 5))
        ]
        return {
            "tenure": tenure,
            "visits": [*gone, quiet],
            "carts": rng.randint(0, 1),
            "compares": rng.randint(0, 1),
            "claims": rng.randint(0, 1),
            "order_days": [quiet + rng.uniform(0.5, 10) for _ in range(rng.randint(1, 2))],
            "consult": 0.5,
            "search": 0.2,
            "mood": -0.35,
            "turns": 11,
        }
    if habit == "bargain":
        tenure = rng.uniform(30, 60)
        visits = rng.sample(range(0, 30), k=rng.randint(3, 7))
        return {
            "tenure": tenure,
            "visits": [float(v) + rng.random() * 0.5 for v in visits] + [rng.uniform(0, 3)],
            "carts": rng.randint(0, 1),
            "compares": rng.randint(4, 9),
            "claims": rng.randint(1, 3),
            "order_days": [rng.uniform(3, 25)] if rng.random() < 0.4 else [],
            "consult": 0.7,
            "search": 0.6,
            "mood": 0.0,
            "turns": 8,
        }
    if habit == "newcomer":
        tenure = rng.uniform(0.05, 14)
        early: list[float] = [rng.uniform(0, tenure) for _ in range(rng.randint(0, 2))]
        return {
            "tenure": tenure,
            "visits": [*early, min(tenure, rng.uniform(0, 2))],
            "carts": rng.randint(0, 1),
            "compares": 0,
            "claims": 0,
            "order_days": [],
            "consult": 0.4,
            "search": 0.5,
            "mood": 0.3,
            "turns": 4,
        }
    tenure = rng.uniform(40, 60)
    visits = rng.sample(range(0, 40), k=rng.randint(3, 7))
    orders = rng.randint(2, 5)
    return {
        "tenure": tenure,
        "visits": [float(v) + rng.random() for v in visits] + [rng.uniform(0, 4)],
        "carts": 0,
        "compares": rng.randint(0, 1),
        "claims": rng.randint(0, 1),
        "order_days": [rng.uniform(1, 40) for _ in range(orders)],
        "consult": 0.3,
        "search": 0.3,
        "mood": 0.25,
        "turns": 5,
    }


def _chunks(rows: list[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _flush(session: Session, rows: _Rows) -> None:
    """Write what has been generated so far with executemany inserts, in FK order."""
    for table, batch in (
        (Customer.__table__, rows.customers),
        (Order.__table__, rows.orders),
        (OrderItem.__table__, rows.items),
        (Coupon.__table__, rows.coupons),
        (BehaviourEvent.__table__, rows.events),
    ):
        for chunk in _chunks(batch):
            session.execute(insert(table), chunk)
        batch.clear()
    # Last visits: the latest event of each customer just written.
    session.flush()


def _count_issued(session: Session) -> None:
    template = session.get(CouponTemplate, GEN_TEMPLATE)
    if template is not None:
        template.issued_count = int(
            session.scalar(
                select(func.count()).select_from(Coupon).where(Coupon.template_id == GEN_TEMPLATE)
            )
            or 0
        )


def touch_last_visits(session: Session) -> None:
    """Set every customer's last visit from their events (after a bulk load)."""
    latest = (
        select(func.max(BehaviourEvent.occurred_at))
        .where(BehaviourEvent.customer_id == Customer.id)
        .scalar_subquery()
    )
    session.execute(
        Customer.__table__.update()
        .where(Customer.__table__.c.last_visit_at.is_(None))
        .values(last_visit_at=latest)
    )


# The demo's made-up effect of an A/B test's variants on claiming the offered coupon: the
# control converts 10 % of exposed customers, every other variant 15 %. Generated data, so
# that `python -m mall experiments` has something to show; it says nothing about real lines.
DEMO_CONTROL_RATE = 0.10
DEMO_VARIANT_RATE = 0.15


def simulate_exposures(
    *, session: Session, experiments: Sequence[Experiment], random_seed: int = 7
) -> Counter:
    """Expose the generated customers who consulted to each experiment, as the scheduler's
    offer would 30 minutes after their latest consultation, and let some claim the coupon.

    Idempotent: a customer already exposed to an experiment is left as they are.
    """
    rng = random.Random(random_seed)
    latest = session.execute(
        select(BehaviourEvent.customer_id, func.max(BehaviourEvent.occurred_at))
        .where(BehaviourEvent.type == "consult", BehaviourEvent.customer_id.like("%gen-%"))
        .group_by(BehaviourEvent.customer_id)
        .order_by(BehaviourEvent.customer_id)
    ).all()
    added: Counter = Counter()
    for experiment in experiments:
        exposed = set(
            session.scalars(
                select(ExperimentExposure.customer_id).where(
                    ExperimentExposure.experiment_id == experiment.id
                )
            )
        )
        for customer_id, consulted in latest:
            variant = experiment.assign(customer_id)
            claims = rng.random()  # drawn for everyone: the same seed, the same outcome
            if variant is None or customer_id in exposed:
                continue
            at = consulted + timedelta(minutes=30)
            session.add(
                ExperimentExposure(
                    experiment_id=experiment.id,
                    variant_id=variant.id,
                    customer_id=customer_id,
                    exposed_at=at,
                )
            )
            added[f"{experiment.id}:{variant.id}"] += 1
            rate = DEMO_CONTROL_RATE if variant.id == experiment.control.id else DEMO_VARIANT_RATE
            if experiment.metric == "coupon_claim" and claims < rate:
                session.add(
                    Coupon(
                        code="GX-" + _digest(f"{experiment.id}/{customer_id}")[:12],
                        customer_id=customer_id,
                        template_id=GEN_TEMPLATE,
                        name="老顾客回馈立减10元",
                        kind="instant",
                        amount=Decimal("10"),
                        status="issued",
                        issued_at=at + timedelta(minutes=20),
                        valid_until=at + timedelta(days=30),
                        idempotency_key=f"gen-ab-{experiment.id}-{customer_id}",
                    )
                )
                added["claimed"] += 1
    session.flush()
    _count_issued(session)
    return added


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest().upper()
