"""The segment naming rules and the features they read, on hand-made behaviour."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mall.services.segments import FeatureAccumulator, Features, name_segment, reason

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
DAY = 86400.0


def features_of(
    events: list[tuple[str, str | None, float]],
    *,
    tenure: float = 200,
    spend: float = 0,
    claims: int = 0,
    sentiments: dict[int, float] | None = None,
) -> Features:
    """Features of (type, product, days ago) events, oldest first after sorting."""
    accumulator = FeatureAccumulator(NOW.timestamp())
    ordered = sorted(enumerate(events), key=lambda item: -item[1][2])
    for index, (kind, product, days) in ordered:
        sentiment = (sentiments or {}).get(index)
        accumulator.add(kind, product, NOW.timestamp() - days * DAY, sentiment)
    last = min((days for _, _, days in events), default=tenure)
    return accumulator.features(
        now=NOW.timestamp(),
        window_days=60,
        last_seen=NOW.timestamp() - last * DAY,
        created=(NOW - timedelta(days=tenure)).timestamp(),
        spend=spend,
        coupon_claims=claims,
    )


def test_a_week_without_any_interaction_is_churn_risk() -> None:
    six = features_of([("order", "P1", 20), ("product_view", "P1", 6.9)])
    seven = features_of([("order", "P1", 20), ("product_view", "P1", 7.0)])
    assert name_segment(six) == "regular"
    assert name_segment(seven) == "churn_risk"
    assert reason("churn_risk", seven) == "7天未互动，之前下单1次"


def test_a_recent_arrival_who_has_not_ordered_is_new() -> None:
    first_visit = features_of([("card_view", None, 0.1), ("product_view", "P1", 0.05)], tenure=0.1)
    assert name_segment(first_visit) == "new"
    assert reason("new", first_visit) == "今天首次到访，还没有下单"
    ordered = features_of([("product_view", "P1", 2), ("order", "P1", 1)], tenure=3)
    assert name_segment(ordered) == "regular"


def test_visits_often_and_cart_adds_without_an_order_is_high_value() -> None:
    visits = [("product_view", f"P{d}", float(d)) for d in range(1, 6)]
    carts = [("add_to_cart", "P1", 1.0), ("add_to_cart", "P2", 2.0)]
    features = features_of(visits + carts)
    assert features.cart_no_order == 2 and features.visit_days == 5
    assert name_segment(features) == "high_value"
    assert reason("high_value", features) == "近60天到访5天，加购2次未下单"
    # Ordering what was in the cart settles it: no longer "adds without ordering".
    settled = features_of(visits + carts + [("order", "P1", 0.5), ("order", "P2", 0.5)])
    assert settled.cart_no_order == 0
    assert name_segment(settled) == "regular"
    # Four visit days are not "often".
    assert name_segment(features_of(visits[:4] + carts[:1] + [("add_to_cart", "P3", 1)])) == (
        "regular"
    )


def test_comparing_prices_many_times_without_buying_is_price_sensitive() -> None:
    compares = [("compare", "P1", 3), ("compare", "P2", 2)]
    assert name_segment(features_of(compares + [("product_view", "P1", 1)])) == "regular"
    # The third view of the same product counts as comparing its price again.
    repeated = compares + [("product_view", "P1", d) for d in (1.5, 1.2, 1)]
    features = features_of(repeated)
    assert features.compares == 3
    assert name_segment(features) == "price_sensitive"
    assert reason("price_sensitive", features) == "比价3次未下单"
    one_order = features_of(repeated + [("order", "P9", 0.5)])
    assert name_segment(one_order) == "price_sensitive"
    two_orders = features_of(repeated + [("order", "P9", 0.5), ("order", "P8", 0.4)])
    assert name_segment(two_orders) == "regular"


def test_churn_risk_outranks_everything_else() -> None:
    busy_but_gone = [("compare", "P1", d) for d in (20, 19, 18)] + [
        ("add_to_cart", f"P{d}", float(d)) for d in range(8, 14)
    ]
    assert name_segment(features_of(busy_but_gone)) == "churn_risk"


def test_negative_share_and_the_other_features() -> None:
    events = [("consult", "P1", 3), ("consult", "P1", 2), ("consult", "P1", 1)]
    features = features_of(events, spend=120.5, claims=2, sentiments={0: -0.9, 1: 0.2})
    assert features.consults == 3
    assert features.negative_share == pytest.approx(1 / 3)
    assert features.spend == 120.5 and features.coupon_claims == 2
    assert features.recency_days == pytest.approx(1)
    assert Features.from_mapping(features.as_dict(6)) == Features.from_mapping(features.as_dict(6))


def test_centroid_averages_are_named_by_the_same_rules() -> None:
    centroid = Features(
        recency_days=2.4, visit_days=7.8, cart_no_order=2.6, orders=0.3, tenure_days=60
    )
    assert name_segment(centroid) == "high_value"
    assert name_segment(Features(recency_days=1, tenure_days=12, orders=0.4)) == "new"
    assert name_segment(Features(recency_days=1, tenure_days=12, orders=0.6)) == "regular"


def test_visit_days_do_not_depend_on_the_hour_they_are_counted_at() -> None:
    # Three events a few hours apart, four days ago, and one a day ago: two visit days,
    # whether "now" is just after midnight or late in the evening.
    for hour in (0, 2, 12, 23):
        now = NOW.replace(hour=hour).timestamp()
        accumulator = FeatureAccumulator(now)
        for days in (4.2, 4.1, 4.05, 1.0):
            accumulator.add("product_view", "P1", now - days * DAY)
        features = accumulator.features(
            now=now,
            window_days=60,
            last_seen=now - DAY,
            created=now - 90 * DAY,
            spend=0,
            coupon_claims=0,
        )
        assert features.visit_days == 2, hour
