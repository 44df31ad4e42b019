"""Shapes of the mall API's JSON bodies (see docs/mall-api.md)."""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class ProductSummary(TypedDict):
    """A product as listed by search and match."""

    id: str
    name: str
    category: str
    price: float
    list_price: float


class Sku(TypedDict):
    """One colour/size variant and its stock."""

    sku_id: str
    color: str | None
    size: str | None
    stock: int


class Product(ProductSummary):
    """A product with everything the product page shows."""

    category_name: str
    supplier: str
    aliases: list[str]
    description: str
    specs: dict[str, str]
    skus: list[Sku]
    total_stock: int
    image_url: str | None


class Guide(TypedDict):
    """How to use and look after a product, by topic."""

    product_id: str
    category: str
    topics: dict[str, str]


class ProductResolution(TypedDict):
    """The product the customer's words name, or near matches when none does."""

    product: Product | None
    suggestions: list[ProductSummary]


class Card(TypedDict):
    """The distributor's business card the customer came through."""

    id: str
    owner_name: str
    shop_name: str


class Profile(TypedDict):
    """A customer's card profile: who they are and how they behave."""

    customer_id: str
    display_name: str
    channel: str
    card: Card | None
    interests: list[str]
    segment: Literal["high_value", "churn_risk", "price_sensitive", "new", "regular"]
    last_visit_at: str | None
    stats: dict[str, int]


EventType = Literal["card_view", "product_view", "add_to_cart", "consult", "order"]


class OrderItem(TypedDict):
    """One line of an order."""

    product_id: str
    name: str
    color: str | None
    size: str | None
    quantity: int
    price: float


class LogisticsEvent(TypedDict):
    """One step of a parcel's journey."""

    time: str
    description: str
    location: str | None


class Logistics(TypedDict):
    """Courier, tracking number and events (newest first)."""

    courier: str
    tracking_no: str
    events: list[LogisticsEvent]


class Order(TypedDict):
    """A customer's order and what its status allows."""

    id: str
    status: str
    status_name: str
    created_at: str
    total: float
    items: list[OrderItem]
    address: dict[str, Any]
    logistics: Logistics | None
    allowed_actions: list[str]


class CouponTemplate(TypedDict):
    """A kind of coupon the mall hands out."""

    id: str
    name: str
    kind: Literal["instant", "threshold"]
    amount: float
    threshold: float | None
    valid_days: int | None
    valid_until: str | None
    per_user_limit: int
    stock_left: int
    segments: list[str]
    product_ids: list[str]
    category_ids: list[str]
    description: str


class BestCoupon(TypedDict):
    """The best coupon template for a customer (and product), with what it saves."""

    template: CouponTemplate | None
    saving: float


class Coupon(TypedDict):
    """A coupon issued to a customer."""

    code: str
    template_id: str
    name: str
    kind: Literal["instant", "threshold"]
    amount: float
    threshold: float | None
    status: str
    issued_at: str
    valid_until: str
    used_at: str | None


class Availability(TypedDict):
    available: bool
    in_service_hours: bool
    agents_online: int
    waiting: int
    expected_wait_minutes: int
    service_hours: str
    hotline: str


class Handoff(TypedDict):
    id: int
    sender_id: str
    channel: str
    status: str
    reason: str
    reasons: list[str]
    offline: bool
    created_at: str


class HandoffOpened(TypedDict):
    handoff: Handoff
    created: bool
    availability: Availability
