"""Request bodies and response shapes: the mall API's contract.

Every route answers through one of these as its `response_model`; the action server's
client types (actions/clients/models.py) are generated from them, so this module imports
pydantic only (the action server loads it without the database layer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

# Everything a channel or the mall may record; `mall.services.events` says who may send what.
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
    # After-sales signals that flow back to the product's supplier.
    "stock_inquiry",
    "complaint",
    "return_request",
]
Segment = Literal["high_value", "churn_risk", "price_sensitive", "new", "regular"]


class ErrorOut(BaseModel):
    error: str = Field(..., example="not_found")
    message: str = Field(..., example="没有找到商品 P9999")


class HealthOut(BaseModel):
    status: Literal["ok"]


# ---- catalogue ----


class CategoryOut(BaseModel):
    id: str
    name: str


class CategoriesOut(BaseModel):
    items: list[CategoryOut]


class ProductSummaryOut(BaseModel):
    id: str
    name: str
    category: str
    price: float
    list_price: float


class ProductsOut(BaseModel):
    items: list[ProductSummaryOut]


class SkuOut(BaseModel):
    sku_id: str
    color: str | None
    size: str | None
    stock: int


class ProductOut(ProductSummaryOut):
    category_name: str
    supplier: str
    aliases: list[str]
    description: str
    specs: dict[str, str]
    skus: list[SkuOut]
    total_stock: int
    image_url: str | None


class ResolutionOut(BaseModel):
    product: ProductOut | None
    suggestions: list[ProductSummaryOut]


# ---- shop terms ----


class ShippingTermsOut(BaseModel):
    free_shipping_threshold: float
    fee: float
    couriers: list[str]
    dispatch_hours: int
    delivery_days: str
    remote_areas: str
    notes: list[str]


class ReturnsTermsOut(BaseModel):
    no_reason_days: int
    quality_issue_days: int
    return_shipping: str
    refund_days: str
    how_to: list[str]
    notes: list[str]


class PaymentTermsOut(BaseModel):
    methods: list[str]
    installments: str
    invoice: str


class DiscountsTermsOut(BaseModel):
    price_protection_days: int
    promotions: list[str]


class GuideOut(BaseModel):
    product_id: str
    category: str
    topics: dict[str, str]


# ---- customers ----


class CardOut(BaseModel):
    id: str
    owner_name: str
    shop_name: str


class StatsOut(BaseModel):
    card_view: int
    product_view: int
    add_to_cart: int
    consult: int
    order: int
    remove_from_cart: int = 0
    search: int = 0
    compare: int = 0
    share: int = 0
    coupon_claim: int = 0
    stock_inquiry: int = 0
    complaint: int = 0
    return_request: int = 0


class ProfileOut(BaseModel):
    customer_id: str
    display_name: str
    channel: Literal["wechat", "web"]
    card: CardOut | None
    interests: list[str]
    segment: Segment
    last_visit_at: datetime | None
    stats: StatsOut
    # The AI business card's computed parts.
    segment_reason: str | None = Field(None, example="近60天到访9天，加购2次未下单")
    segment_version: int | None = Field(None, description="the segment run (model version)")
    segment_computed_at: datetime | None = None
    top_interests: list[str] = Field(default_factory=list, description="from behaviour")
    lifetime_value: float = 0.0
    preferred_channel: Literal["wechat", "web"] = "web"
    churn_probability: float | None = None
    opt_outs: list[str] = Field(default_factory=list)


class EventIn(BaseModel):
    type: EventType
    product_id: str | None = Field(None, min_length=1, max_length=32)
    # e.g. {"sentiment": -0.8} on a consult, {"kind": "defect"} on a complaint.
    properties: dict[str, str | float | int | bool | None] | None = None


class EventRecordedOut(BaseModel):
    ok: bool
    segment: Segment


OptOut = Literal["marketing"]


class OptOutsOut(BaseModel):
    customer_id: str
    # "marketing": no proactive message and no sales line of the customer's segment.
    opt_outs: list[OptOut]


class ExposureIn(BaseModel):
    # The domain response (or sales-line template) about to be shown.
    line: str = Field(..., min_length=1, max_length=64, regex=r"^[A-Za-z0-9_.\-]+$")


class ExperimentVariantOut(BaseModel):
    variant: str
    exposures: int
    conversions: int
    rate: float
    # The 95 % Wilson interval of the rate.
    low: float
    high: float
    # Two-proportion z-test against the control; None for the control itself.
    p_value: float | None
    stopped: bool


class ExperimentOut(BaseModel):
    id: str
    line: str
    metric: Literal["coupon_claim", "order_7d", "reply"]
    # False for `reply`, which is counted from conversations (the KPI report), not the mall.
    counted_here: bool
    planned_per_variant: int
    reached: bool
    control: str
    variants: list[ExperimentVariantOut]


class ExperimentsOut(BaseModel):
    items: list[ExperimentOut]


class ExposureOut(BaseModel):
    # The experiment varying the line (None: no experiment, show the line as it is).
    experiment: str | None
    # The customer's variant, recorded at its first exposure and kept.
    variant: str | None
    # The variant to show now: the customer's, or the control's once theirs was stopped.
    show: str | None
    # The experiment's first variant, which shows the line as it is.
    control: str | None = None


# ---- orders ----


class OrderItemOut(BaseModel):
    product_id: str
    name: str
    color: str | None
    size: str | None
    quantity: int
    price: float


class AddressOut(BaseModel):
    name: str
    phone: str = Field(..., description="masked, e.g. 138****5678")
    region: str
    detail: str


class LogisticsEventOut(BaseModel):
    time: datetime
    description: str
    location: str | None


class LogisticsOut(BaseModel):
    courier: str
    tracking_no: str
    events: list[LogisticsEventOut] = Field(..., description="newest first")


class OrderOut(BaseModel):
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
    created_at: datetime
    total: float
    goods_amount: float
    shipping_fee: float
    discount: float
    items: list[OrderItemOut]
    address: AddressOut
    logistics: LogisticsOut | None
    allowed_actions: list[
        Literal["cancel", "change_address", "change_sku", "refuse_delivery", "return", "exchange"]
    ]


class OrdersOut(BaseModel):
    items: list[OrderOut]


# ---- coupons ----


class TemplateOut(BaseModel):
    id: str
    name: str
    kind: Literal["instant", "threshold"]
    amount: float
    threshold: float | None
    valid_days: int | None
    valid_until: datetime | None
    per_user_limit: int
    stock_left: int
    segments: list[str]
    product_ids: list[str]
    category_ids: list[str]
    description: str


class BestOfferOut(BaseModel):
    template: TemplateOut | None
    saving: float


class OfferOut(BaseModel):
    product: ProductOut | None
    # The words that named no product (`product` and `best` are then null), near matches.
    asked_for: str | None
    suggestions: list[ProductSummaryOut]
    # The best coupon on the product (store-wide without one).
    best: BestOfferOut | None
    profile: ProfileOut | None


class CouponOut(BaseModel):
    code: str
    template_id: str
    name: str
    kind: Literal["instant", "threshold"]
    amount: float
    threshold: float | None
    status: Literal["issued", "used", "expired"]
    issued_at: datetime
    valid_until: datetime | None
    used_at: datetime | None
    order_id: str | None


class IssuedCouponOut(CouponOut):
    # The customer after the coupon was issued (their segment may have moved).
    profile: ProfileOut | None


class CouponsOut(BaseModel):
    items: list[CouponOut]


class IssueIn(BaseModel):
    template_id: str = Field(..., min_length=1, max_length=32)
    idempotency_key: str = Field(..., min_length=1, max_length=128)


class RedeemIn(BaseModel):
    order_id: str | None = Field(None, min_length=1, max_length=32)


class CouponErrorOut(ErrorOut):
    coupon: CouponOut | None = Field(None, description="limit_reached: the latest coupon")


# ---- human handoff ----

HANDOFF_REASONS = (
    "customer_asked",
    "angry",
    "angry_complaint",
    "persistent_negativity",
    "not_understood",
    "service_failure",
)


class HandoffIn(BaseModel):
    sender_id: str = Field(..., regex=r"^[A-Za-z0-9_.:@-]{1,64}$")
    channel: str = Field("rest", min_length=1, max_length=32)
    reason: str = Field(..., regex="^(" + "|".join(HANDOFF_REASONS) + ")$")
    context: dict[str, Any] = Field(default_factory=dict, description="the context package")


class AvailabilityOut(BaseModel):
    available: bool
    in_service_hours: bool
    agents_online: int
    waiting: int
    expected_wait_minutes: int
    service_hours: str
    hotline: str


class AgentOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Literal["agent", "distributor", "supplier"] = "agent"
    scope_id: str | None = Field(None, description="a distributor's card, a supplier's id")


class HandoffAgentOut(BaseModel):
    id: int
    display_name: str


class HandoffOut(BaseModel):
    id: int
    sender_id: str
    channel: str
    status: str
    reason: str
    reasons: list[str]
    offline: bool
    created_at: str
    claimed_at: str | None = None
    closed_at: str | None = None
    agent: HandoffAgentOut | None = None
    customer_name: str | None = Field(None, description="from the context package's profile")
    notes_count: int = 0


class HandoffOpenedOut(BaseModel):
    handoff: HandoffOut
    created: bool
    availability: AvailabilityOut


class NoteIn(BaseModel):
    kind: str = Field("message", regex=r"^(message|callback)$")
    text: str = Field(..., min_length=1, max_length=2000)
    phone: str | None = Field(None, regex=r"^\+?[0-9 -]{6,20}$")


class NoteOut(BaseModel):
    id: int
    kind: str
    text: str
    phone: str | None
    created_at: str


class RevealOut(BaseModel):
    id: int
    target: str
    agent: HandoffAgentOut
    created_at: str


class HandoffDetailOut(HandoffOut):
    context: dict[str, Any]
    notes: list[NoteOut]
    reveals: list[RevealOut]


class HandoffsOut(BaseModel):
    items: list[HandoffOut]


class HandoffClosedOut(BaseModel):
    handoff: HandoffOut
    previous_status: str = Field(..., description="active: the bot must be resumed")


class RevealIn(BaseModel):
    target: str = Field(..., regex=r"^(line|note):[0-9]{1,9}$", description="line:<n> or note:<id>")


# ---- agents of the desk ----


class SignInIn(BaseModel):
    username: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=256)


class SignedInOut(BaseModel):
    token: str = Field(..., description="send it as X-Agent-Session on the agent's calls")
    expires_at: str
    agent: AgentOut


class LockedOut(ErrorOut):
    retry_after: int = Field(..., description="seconds until the account can sign in again")


# ---- recommendations, segments, partners ----


class RecommendationOut(BaseModel):
    id: str
    name: str
    price: float
    reason: str = Field(..., example="买了这款的人也买了")


class RecommendationsOut(BaseModel):
    items: list[RecommendationOut]


# ---- a price turn in one request ----


class ConsultIn(BaseModel):
    # Where the product in play may come from, strongest first: the words NLU took for the
    # product (its canonical name after synonyms), the page the customer chats from, a name
    # anywhere in the message, the product of earlier turns.
    words: str | None = Field(None, min_length=1, max_length=100)
    page_product_id: str | None = Field(None, min_length=1, max_length=32)
    text: str | None = Field(None, min_length=1, max_length=1000)
    product_id: str | None = Field(None, min_length=1, max_length=32)
    # Recorded on the consult event (e.g. {"time_zone": "Asia/Shanghai"}).
    properties: dict[str, str | float | int | bool | None] | None = None
    recommendations: int = Field(3, ge=0, le=10)


class ConsultOut(BaseModel):
    product: ProductOut | None
    # The words that named no product (`product` is then null), with near matches.
    asked_for: str | None
    suggestions: list[ProductSummaryOut]
    # The customer before this consult (null: unknown until now, or no product).
    profile: ProfileOut | None
    recommendations: list[RecommendationOut]
    # The customer's segment after the consult was recorded (null: no product, nothing kept).
    segment: Segment | None


class WelcomeOut(BaseModel):
    # Null for a customer the mall does not know yet.
    profile: ProfileOut | None
    # The product of the page the customer chats from (null: none given, or unknown).
    product: ProductOut | None
    recommendations: list[RecommendationOut]


class SegmentRunOut(BaseModel):
    version: int
    computed_at: datetime
    window_days: int
    customers: int
    k: int
    silhouette: float | None
    clusters: list[dict[str, Any]] = Field(..., description="the named clusters and sizes")
    churn_auc: float | None


class WinBackCustomerOut(BaseModel):
    customer_id: str
    display_name: str
    segment: Segment
    churn_probability: float | None
    reason: str | None
    last_visit_at: datetime | None


class WinBackOut(BaseModel):
    threshold: float
    items: list[WinBackCustomerOut]


class DistributorStatsOut(BaseModel):
    card: CardOut
    days: int
    customers: int
    visitors: int
    chats: int
    chatting_customers: int
    coupons_issued: int
    coupons_redeemed: int
    orders: int
    revenue: float
    buyers: int
    conversion: float = Field(..., description="share of the card's active customers who bought")
    segments: dict[Segment, int]


class SupplierOut(BaseModel):
    id: str
    name: str


class BackflowProductOut(BaseModel):
    product_id: str
    name: str
    stock_inquiries: int
    complaints: dict[str, int] = Field(..., description="by kind, `other` included")
    return_reasons: dict[str, int]


class BackflowTotalsOut(BaseModel):
    stock_inquiries: int
    complaints: int
    returns: int


class SupplierBackflowOut(BaseModel):
    supplier: SupplierOut
    days: int
    products: list[BackflowProductOut]
    totals: BackflowTotalsOut
