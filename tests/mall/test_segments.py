"""The segment rules, on hand-made facts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from mall.services.segments import Facts, derive_segment

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def facts(events: list[tuple[str, float]], spend: str = "0", claims: int = 0) -> Facts:
    ordered = sorted(((kind, ago(days)) for kind, days in events), key=lambda e: e[1])
    return Facts(events=ordered, spend_180d=Decimal(spend), coupon_claims_30d=claims)


def test_no_history_is_new() -> None:
    assert derive_segment(facts([]), NOW) == "new"
    assert derive_segment(facts([("card_view", 0), ("product_view", 0)]), NOW) == "new"


def test_recent_order_with_modest_spend_is_regular() -> None:
    assert derive_segment(facts([("order", 10), ("card_view", 1)], spend="300"), NOW) == "regular"


def test_spending_a_thousand_in_half_a_year_is_high_value() -> None:
    history = [("order", 20), ("order", 5)]
    assert derive_segment(facts(history, spend="999.99"), NOW) == "regular"
    assert derive_segment(facts(history, spend="1000"), NOW) == "high_value"


def test_customer_away_for_a_month_after_ordering_is_churn_risk() -> None:
    history = [("order", 90), ("card_view", 60)]
    assert derive_segment(facts(history), NOW) == "churn_risk"


def test_churn_risk_stays_while_the_customer_returns_then_fades() -> None:
    history = [("order", 90), ("card_view", 60), ("card_view", 0.01), ("consult", 0)]
    assert derive_segment(facts(history), NOW) == "churn_risk"
    # Eight days after coming back, the absence no longer counts.
    back_a_while = [("order", 98), ("card_view", 68), ("card_view", 8), ("consult", 2)]
    assert derive_segment(facts(back_a_while), NOW) == "regular"


def test_a_new_order_ends_churn_risk() -> None:
    history = [("order", 90), ("card_view", 60), ("card_view", 0.1), ("order", 0)]
    assert derive_segment(facts(history), NOW) == "regular"


def test_churn_risk_outranks_high_value() -> None:
    history = [("order", 100), ("card_view", 50)]
    assert derive_segment(facts(history, spend="5000"), NOW) == "churn_risk"


def test_never_ordered_and_long_gone_is_not_churn_risk() -> None:
    assert derive_segment(facts([("card_view", 90)]), NOW) == "new"


def test_many_consults_and_claims_with_few_orders_is_price_sensitive() -> None:
    history = [("consult", d) for d in (1, 3, 5)] + [("order", 10)]
    assert derive_segment(facts(history, claims=1), NOW) == "regular"
    assert derive_segment(facts(history, claims=2), NOW) == "price_sensitive"


def test_price_signals_older_than_a_month_do_not_count() -> None:
    history = [("consult", d) for d in (31, 35, 40, 45, 50)]
    assert derive_segment(facts(history), NOW) == "new"


def test_customer_who_orders_often_is_not_price_sensitive() -> None:
    history = [("consult", d) for d in (1, 2, 3, 4, 5)] + [("order", 6), ("order", 3)]
    assert derive_segment(facts(history), NOW) == "regular"
