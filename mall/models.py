"""ORM models: catalogue, customers and their behaviour, coupons, orders and logistics.

Relationships load with `lazy="raise"`: every query names what it eager-loads, so a
request can never slide into one query per row.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain
from typing import Any, get_args

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from mall.schemas import EventType

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base: Any = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


CENT = Decimal("0.01")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware.

    SQLite keeps no timezone, so values are normalised to UTC on the way in and tagged
    as UTC on the way out; PostgreSQL stores them as `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Money(TypeDecorator):
    """Yuan with two decimals (NUMERIC(10, 2)), always read back as a `Decimal`.

    SQLite keeps NUMERIC values as floats; reading them as floats and rounding to the
    cent here is exact for any price, and avoids SQLAlchemy's generic warning about
    SQLite and Decimal.
    """

    impl = Numeric(10, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(10, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(10, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        cents = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
        # pysqlite cannot bind Decimal; a float holds any cent amount a mall will see.
        return float(cents) if dialect.name == "sqlite" else cents

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


# ---- catalogue ----


class Category(Base):
    __tablename__ = "categories"

    id = Column(String(32), primary_key=True)
    name = Column(String(64), nullable=False)


class Supplier(Base):
    __tablename__ = "suppliers"

    id = Column(String(64), primary_key=True)
    name = Column(String(128), nullable=False)


class Product(Base):
    __tablename__ = "products"

    id = Column(String(32), primary_key=True)
    name = Column(String(128), nullable=False, unique=True)
    category_id = Column(String(32), ForeignKey("categories.id"), nullable=False, index=True)
    supplier_id = Column(String(64), ForeignKey("suppliers.id"), nullable=False)
    aliases = Column(JSON, nullable=False, default=list)
    list_price = Column(Money(), nullable=False)
    price = Column(Money(), nullable=False)
    description = Column(Text, nullable=False, default="")
    specs = Column(JSON, nullable=False, default=dict)
    image_url = Column(String(512), nullable=True)

    category = relationship(Category, lazy="raise")
    supplier = relationship(Supplier, lazy="raise")
    skus = relationship("Sku", lazy="raise", order_by="Sku.position", back_populates="product")

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("list_price >= 0", name="list_price_not_negative"),
    )


class Sku(Base):
    __tablename__ = "skus"

    id = Column(String(48), primary_key=True)
    product_id = Column(String(32), ForeignKey("products.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False, default=0)
    color = Column(String(32), nullable=True)
    size = Column(String(32), nullable=True)
    stock = Column(Integer, nullable=False, default=0)

    product = relationship(Product, lazy="raise", back_populates="skus")

    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)


class CatalogueVersion(Base):
    """One row whose token changes in every transaction that adds, edits or removes a product
    (or a category: recommendations name it).

    Processes that keep the catalogue in memory (the product index) compare the token
    instead of reloading the products; see `_bump_catalogue_version`.
    """

    __tablename__ = "catalogue_version"

    id = Column(Integer, primary_key=True)
    token = Column(String(32), nullable=False)


@event.listens_for(Session, "before_flush")
def _bump_catalogue_version(session: Session, _context: Any, _instances: Any) -> None:
    # Every product write goes through the ORM (seeding, the services), so this one hook
    # keeps the token honest; a random token is never reused, even after a rollback.
    changed = chain(session.new, session.dirty, session.deleted)
    if any(isinstance(instance, Product | Category) for instance in changed):
        session.execute(
            update(CatalogueVersion)
            .where(CatalogueVersion.id == 1)
            .values(token=uuid.uuid4().hex)
            .execution_options(synchronize_session=False)
        )


# ---- customers and behaviour ----


class DistributorCard(Base):
    """The shop owner's "AI business card" a customer came through."""

    __tablename__ = "distributor_cards"

    id = Column(String(64), primary_key=True)
    owner_name = Column(String(64), nullable=False)
    shop_name = Column(String(128), nullable=False)


class Customer(Base):
    __tablename__ = "customers"

    # A WeChat openid or a web visitor id.
    id = Column(String(64), primary_key=True)
    channel = Column(String(16), nullable=False)
    display_name = Column(String(64), nullable=False, default="")
    interests = Column(JSON, nullable=False, default=list)
    card_id = Column(String(64), ForeignKey("distributor_cards.id"), nullable=True)
    segment = Column(String(24), nullable=False, default="new")
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_visit_at = Column(UTCDateTime(), nullable=True)
    # Which clustering run put the customer in `segment`, when, and the features it saw
    # (None: not clustered yet; the segment then comes from the naming rules alone).
    segment_run_id = Column(Integer, ForeignKey("segment_runs.id"), nullable=True)
    segment_computed_at = Column(UTCDateTime(), nullable=True)
    segment_features = Column(JSON, nullable=True)
    churn_probability = Column(Float, nullable=True)
    # What the customer asked not to get: "marketing", "wechat_push", "sms".
    opt_outs = Column(JSON, nullable=True)
    # An IANA name ("Asia/Shanghai"), from the customer's browser; None: the shop's default.
    time_zone = Column(String(64), nullable=True)

    card = relationship(DistributorCard, lazy="raise")


EVENT_TYPES: tuple[str, ...] = get_args(EventType)
EVENT_SOURCES = ("mall", "shop", "widget", "wechat")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class BehaviourEvent(Base):
    __tablename__ = "behaviour_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(64), ForeignKey("customers.id"), nullable=False)
    type = Column(String(24), nullable=False)
    product_id = Column(String(32), ForeignKey("products.id"), nullable=True)
    occurred_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    # Who sent it, and the sender's own id for it: a retried batch is recorded once.
    source = Column(String(16), nullable=False, default="mall", server_default="mall")
    event_id = Column(String(64), nullable=True)
    # The distributor card the customer was attributed to when it happened.
    card_id = Column(String(64), ForeignKey("distributor_cards.id"), nullable=True)
    # Small type-specific details: the search query, the products compared, a sentiment.
    properties = Column(JSON, nullable=True)

    __table_args__ = (
        Index("ix_behaviour_events_customer_time", "customer_id", "occurred_at"),
        Index("ix_behaviour_events_card_type", "card_id", "type"),
        Index("ix_behaviour_events_product_type", "product_id", "type"),
        UniqueConstraint("source", "event_id", name="uq_behaviour_events_source_event_id"),
        CheckConstraint(_in("type", EVENT_TYPES), name="known_type"),
        CheckConstraint(_in("source", EVENT_SOURCES), name="known_source"),
    )


class SegmentRun(Base):
    """One clustering run: the model version every customer's segment names."""

    __tablename__ = "segment_runs"

    id = Column(Integer, primary_key=True, autoincrement=True)
    computed_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    window_days = Column(Integer, nullable=False)
    customers = Column(Integer, nullable=False)
    k = Column(Integer, nullable=False)
    silhouette = Column(Float, nullable=True)
    # [{"name", "size", "centroid": {feature: value}}], in the run's stable cluster order.
    clusters = Column(JSON, nullable=False, default=list)
    churn_auc = Column(Float, nullable=True)


# ---- coupons ----


class CouponTemplate(Base):
    __tablename__ = "coupon_templates"

    id = Column(String(32), primary_key=True)
    name = Column(String(64), nullable=False)
    # instant = 立减 (no threshold), threshold = 满减.
    kind = Column(String(16), nullable=False)
    amount = Column(Money(), nullable=False)
    threshold = Column(Money(), nullable=True)
    # A coupon expires at the earlier of valid_until and issue time + valid_days.
    valid_days = Column(Integer, nullable=True)
    valid_until = Column(UTCDateTime(), nullable=True)
    per_user_limit = Column(Integer, nullable=False, default=1)
    total_stock = Column(Integer, nullable=False)
    issued_count = Column(Integer, nullable=False, default=0)
    # Empty lists mean "no restriction".
    segments = Column(JSON, nullable=False, default=list)
    product_ids = Column(JSON, nullable=False, default=list)
    category_ids = Column(JSON, nullable=False, default=list)
    description = Column(Text, nullable=False, default="")
    active = Column(Boolean, nullable=False, default=True)

    __table_args__ = (
        CheckConstraint("kind IN ('instant', 'threshold')", name="known_kind"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("per_user_limit >= 1", name="per_user_limit_positive"),
        CheckConstraint("issued_count >= 0 AND issued_count <= total_stock", name="within_stock"),
    )

    @property
    def stock_left(self) -> int:
        """How many more coupons may be issued from this template."""
        return int(self.total_stock) - int(self.issued_count)


class Coupon(Base):
    """An issued coupon. Its terms are copied from the template at issue time."""

    __tablename__ = "coupons"

    code = Column(String(32), primary_key=True)
    customer_id = Column(String(64), ForeignKey("customers.id"), nullable=False)
    template_id = Column(String(32), ForeignKey("coupon_templates.id"), nullable=False)
    name = Column(String(64), nullable=False)
    kind = Column(String(16), nullable=False)
    amount = Column(Money(), nullable=False)
    threshold = Column(Money(), nullable=True)
    status = Column(String(16), nullable=False, default="issued")
    issued_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    valid_until = Column(UTCDateTime(), nullable=True)
    used_at = Column(UTCDateTime(), nullable=True)
    # Orders may live in an operator's own mall, so this is a reference, not a foreign key.
    order_id = Column(String(32), nullable=True)
    idempotency_key = Column(String(128), nullable=False)
    # The distributor card the customer was attributed to when it was issued.
    card_id = Column(String(64), ForeignKey("distributor_cards.id"), nullable=True, index=True)

    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key", name="uq_coupons_customer_key"),
        Index("ix_coupons_customer_template", "customer_id", "template_id"),
        CheckConstraint("status IN ('issued', 'used', 'expired')", name="known_status"),
    )


# ---- orders and logistics ----


class Order(Base):
    __tablename__ = "orders"

    id = Column(String(20), primary_key=True)
    customer_id = Column(String(64), ForeignKey("customers.id"), nullable=False)
    status = Column(String(24), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    goods_amount = Column(Money(), nullable=False)
    shipping_fee = Column(Money(), nullable=False, default=Decimal("0.00"))
    discount = Column(Money(), nullable=False, default=Decimal("0.00"))
    total = Column(Money(), nullable=False)
    recipient_name = Column(String(64), nullable=False)
    recipient_phone = Column(String(32), nullable=False)
    region = Column(String(128), nullable=False)
    address_detail = Column(String(256), nullable=False)
    # The distributor card the order is attributed to (S2B2C commission).
    card_id = Column(String(64), ForeignKey("distributor_cards.id"), nullable=True, index=True)

    items = relationship("OrderItem", lazy="raise", order_by="OrderItem.id")
    logistics = relationship("Logistics", lazy="raise", uselist=False)

    __table_args__ = (
        Index("ix_orders_customer_created", "customer_id", "created_at"),
        CheckConstraint(
            "status IN ('pending_payment', 'paid', 'shipped', 'delivered', 'completed',"
            " 'cancelled', 'refunding', 'refunded')",
            name="known_status",
        ),
    )


class OrderItem(Base):
    """One line of an order; name and price are what the customer saw when ordering."""

    __tablename__ = "order_items"

    id = Column(Integer, primary_key=True, autoincrement=True)
    order_id = Column(String(20), ForeignKey("orders.id"), nullable=False, index=True)
    product_id = Column(String(32), ForeignKey("products.id"), nullable=False)
    name = Column(String(128), nullable=False)
    color = Column(String(32), nullable=True)
    size = Column(String(32), nullable=True)
    quantity = Column(Integer, nullable=False)
    price = Column(Money(), nullable=False)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class Logistics(Base):
    __tablename__ = "logistics"

    order_id = Column(String(20), ForeignKey("orders.id"), primary_key=True)
    courier = Column(String(32), nullable=False)
    tracking_no = Column(String(40), nullable=False)

    events = relationship(
        "LogisticsEvent", lazy="raise", order_by="LogisticsEvent.occurred_at.desc()"
    )


class LogisticsEvent(Base):
    __tablename__ = "logistics_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    order_id = Column(String(20), ForeignKey("logistics.order_id"), nullable=False, index=True)
    occurred_at = Column(UTCDateTime(), nullable=False)
    description = Column(String(256), nullable=False)
    location = Column(String(64), nullable=True)


# ---- human handoff and the agent console ----


class Agent(Base):
    """A person who answers handed-off conversations in the console."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    password_hash = Column(String(256), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    # Every console request refreshes it; "online" means seen within a few minutes.
    last_seen_at = Column(UTCDateTime(), nullable=True)
    # Wrong passwords in a row, and until when the account is locked after too many.
    failed_logins = Column(Integer, nullable=False, default=0, server_default="0")
    locked_until = Column(UTCDateTime(), nullable=True)
    # agent: the console; distributor / supplier: their own figures only, for `scope_id`
    # (a distributor card id, a supplier id).
    role = Column(String(16), nullable=False, default="agent", server_default="agent")
    scope_id = Column(String(64), nullable=True)

    __table_args__ = (
        CheckConstraint("role IN ('agent', 'distributor', 'supplier')", name="known_role"),
    )


class AgentSession(Base):
    """A console login. Only a hash of the cookie's token is stored."""

    __tablename__ = "agent_sessions"

    token_hash = Column(String(64), primary_key=True)
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=False, index=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime(), nullable=False)


class Handoff(Base):
    """A conversation handed to a person: waiting, then active with one agent, then closed."""

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True, autoincrement=True)
    sender_id = Column(String(64), nullable=False)
    channel = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, default="waiting")
    reason = Column(String(32), nullable=False)
    # Why, in order, when more than one trigger fired for the same conversation.
    reasons = Column(JSON, nullable=False, default=list)
    # The context package the assistant built at handoff time (transcript, product, order,
    # profile, sentiment over time, coupons).
    context = Column(JSON, nullable=False, default=dict)
    # No agent could take it when it was created (outside hours or nobody online).
    offline = Column(Boolean, nullable=False, default=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=True)
    claimed_at = Column(UTCDateTime(), nullable=True)
    closed_at = Column(UTCDateTime(), nullable=True)

    agent = relationship("Agent", lazy="raise")
    notes = relationship("HandoffNote", lazy="raise", order_by="HandoffNote.id")
    reveals = relationship("HandoffReveal", lazy="raise", order_by="HandoffReveal.id")

    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'active', 'closed')", name="known_status"),
        # At most one open handoff per conversation, even when two triggers race.
        Index(
            "uq_handoffs_open_sender",
            "sender_id",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
        Index("ix_handoffs_status_created", "status", "created_at"),
    )


class HandoffNote(Base):
    """A message left for the team, or a number to call back, while nobody could answer."""

    __tablename__ = "handoff_notes"

    id = Column(Integer, primary_key=True, autoincrement=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    text = Column(Text, nullable=False)
    phone = Column(String(32), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (CheckConstraint("kind IN ('message', 'callback')", name="known_kind"),)


class HandoffReveal(Base):
    """An agent chose to see a piece of personal data the desk masks: who, what and when."""

    __tablename__ = "handoff_reveals"

    id = Column(Integer, primary_key=True, autoincrement=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"), nullable=False, index=True)
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=False)
    # What was revealed: "line:<n>" (the n-th event of the conversation) or "note:<id>".
    target = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    agent = relationship("Agent", lazy="raise")


class OutreachJob(Base):
    """A proactive message a trigger rule made due: one per customer, rule and cause, ever.

    The unique key is what keeps a trigger from firing twice for the same cause (the same
    consultation, the same cart add) across restarts and with two schedulers running; a
    scheduler takes a job by moving it from `pending` to `claimed` in one conditional UPDATE.
    Every decision stays: `sent`, or `skipped` with the reason.
    """

    __tablename__ = "outreach_jobs"

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(64), ForeignKey("customers.id"), nullable=False)
    rule_id = Column(String(64), nullable=False)
    cause = Column(String(128), nullable=False)
    due_at = Column(UTCDateTime(), nullable=False)
    status = Column(String(16), nullable=False, default="pending")
    claimed_by = Column(String(64), nullable=True)
    claimed_at = Column(UTCDateTime(), nullable=True)
    decided_at = Column(UTCDateTime(), nullable=True)
    reason = Column(String(255), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("customer_id", "rule_id", "cause", name="uq_outreach_jobs_cause"),
        Index("ix_outreach_jobs_status_due", "status", "due_at"),
        CheckConstraint("status IN ('pending', 'claimed', 'sent', 'skipped')", name="known_status"),
    )


class ExperimentExposure(Base):
    """The first time a customer was shown an experiment's variant (one row per pair)."""

    __tablename__ = "experiment_exposures"

    id = Column(Integer, primary_key=True, autoincrement=True)
    experiment_id = Column(String(64), nullable=False)
    variant_id = Column(String(64), nullable=False)
    customer_id = Column(String(64), ForeignKey("customers.id"), nullable=False)
    exposed_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("experiment_id", "customer_id", name="uq_experiment_exposures_customer"),
        Index("ix_experiment_exposures_variant", "experiment_id", "variant_id"),
    )
