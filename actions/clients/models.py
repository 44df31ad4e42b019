"""Shapes of the mall API's JSON bodies, generated from mall/schemas.py: do not edit.

Regenerate with `python scripts/generate_client_models.py`; docs/mall-api.md describes them.
"""

from __future__ import annotations

from typing import Literal, TypedDict

EventType = Literal[
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "search",
    "compare",
    "share",
    "card_view",
    "consult",
    "coupon_claim",
    "order",
    "stock_inquiry",
    "complaint",
    "return_request",
]


Segment = Literal["high_value", "churn_risk", "price_sensitive", "new", "regular"]


class ProductSummary(TypedDict):
    """The body of the mall's `ProductSummaryOut`."""

    id: str
    name: str
    category: str
    price: float
    list_price: float


class Sku(TypedDict):
    """The body of the mall's `SkuOut`."""

    sku_id: str
    color: str | None
    size: str | None
    stock: int


class Product(ProductSummary):
    """The body of the mall's `ProductOut`."""

    category_name: str
    supplier: str
    aliases: list[str]
    description: str
    specs: dict[str, str]
    skus: list[Sku]
    total_stock: int
    image_url: str | None


class Guide(TypedDict):
    """The body of the mall's `GuideOut`."""

    product_id: str
    category: str
    topics: dict[str, str]


class ProductResolution(TypedDict):
    """The body of the mall's `ResolutionOut`."""

    product: Product | None
    suggestions: list[ProductSummary]


class Card(TypedDict):
    """The body of the mall's `CardOut`."""

    id: str
    owner_name: str
    shop_name: str


class Stats(TypedDict):
    """The body of the mall's `StatsOut`."""

    card_view: int
    product_view: int
    add_to_cart: int
    consult: int
    order: int
    remove_from_cart: int
    search: int
    compare: int
    share: int
    coupon_claim: int
    stock_inquiry: int
    complaint: int
    return_request: int


class Profile(TypedDict):
    """The body of the mall's `ProfileOut`."""

    customer_id: str
    display_name: str
    channel: Literal["wechat", "web"]
    card: Card | None
    interests: list[str]
    segment: Segment
    last_visit_at: str | None
    stats: Stats
    segment_reason: str | None
    segment_version: int | None
    segment_computed_at: str | None
    top_interests: list[str]
    lifetime_value: float
    preferred_channel: Literal["wechat", "web"]
    churn_probability: float | None
    opt_outs: list[str]


class EventRecorded(TypedDict):
    """The body of the mall's `EventRecordedOut`."""

    ok: bool
    segment: Segment


class OrderItem(TypedDict):
    """The body of the mall's `OrderItemOut`."""

    product_id: str
    name: str
    color: str | None
    size: str | None
    quantity: int
    price: float


class Address(TypedDict):
    """The body of the mall's `AddressOut`."""

    name: str
    phone: str
    region: str
    detail: str


class LogisticsEvent(TypedDict):
    """The body of the mall's `LogisticsEventOut`."""

    time: str
    description: str
    location: str | None


class Logistics(TypedDict):
    """The body of the mall's `LogisticsOut`."""

    courier: str
    tracking_no: str
    events: list[LogisticsEvent]


class Order(TypedDict):
    """The body of the mall's `OrderOut`."""

    id: str
    status: Literal[
        "pending_payment",
        "paid",
        "shipped",
        "delivered",
        "completed",
        "cancelled",
        "refunding",
        "refunded",
    ]
    status_name: str
    created_at: str
    total: float
    goods_amount: float
    shipping_fee: float
    discount: float
    items: list[OrderItem]
    address: Address
    logistics: Logistics | None
    allowed_actions: list[
        Literal["cancel", "change_address", "change_sku", "refuse_delivery", "return", "exchange"]
    ]


class CouponTemplate(TypedDict):
    """The body of the mall's `TemplateOut`."""

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
    """The body of the mall's `BestOfferOut`."""

    template: CouponTemplate | None
    saving: float


class Coupon(TypedDict):
    """The body of the mall's `CouponOut`."""

    code: str
    template_id: str
    name: str
    kind: Literal["instant", "threshold"]
    amount: float
    threshold: float | None
    status: Literal["issued", "used", "expired"]
    issued_at: str
    valid_until: str | None
    used_at: str | None
    order_id: str | None


class IssuedCoupon(Coupon):
    """The body of the mall's `IssuedCouponOut`."""

    profile: Profile | None


class Availability(TypedDict):
    """The body of the mall's `AvailabilityOut`."""

    available: bool
    in_service_hours: bool
    agents_online: int
    waiting: int
    expected_wait_minutes: int
    service_hours: str
    hotline: str


class HandoffAgent(TypedDict):
    """The body of the mall's `HandoffAgentOut`."""

    id: int
    display_name: str


class Handoff(TypedDict):
    """The body of the mall's `HandoffOut`."""

    id: int
    sender_id: str
    channel: str
    status: str
    reason: str
    reasons: list[str]
    offline: bool
    created_at: str
    claimed_at: str | None
    closed_at: str | None
    agent: HandoffAgent | None
    customer_name: str | None
    notes_count: int


class HandoffOpened(TypedDict):
    """The body of the mall's `HandoffOpenedOut`."""

    handoff: Handoff
    created: bool
    availability: Availability


class Note(TypedDict):
    """The body of the mall's `NoteOut`."""

    id: int
    kind: str
    text: str
    phone: str | None
    created_at: str


class Recommendation(TypedDict):
    """The body of the mall's `RecommendationOut`."""

    id: str
    name: str
    price: float
    reason: str


class Consult(TypedDict):
    """The body of the mall's `ConsultOut`."""

    product: Product | None
    asked_for: str | None
    suggestions: list[ProductSummary]
    profile: Profile | None
    recommendations: list[Recommendation]
    segment: Segment | None


class Offer(TypedDict):
    """The body of the mall's `OfferOut`."""

    product: Product | None
    asked_for: str | None
    suggestions: list[ProductSummary]
    best: BestCoupon | None
    profile: Profile | None


class Welcome(TypedDict):
    """The body of the mall's `WelcomeOut`."""

    profile: Profile | None
    product: Product | None
    recommendations: list[Recommendation]
