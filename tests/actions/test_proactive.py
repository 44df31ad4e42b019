"""The scheduler's offers said in the conversation, and the customer's say over them, against
the real mall in-process (tests/actions/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from actions.proactive import ActionMarketingPreference, ActionProactiveOffer
from mall.models import Customer, ExperimentExposure
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import entity, make_tracker, rendered, run_action, slots_of, texts


def offer_tracker(offer: str, product: str | None = None, sender: str = "web-pro-1") -> Any:
    entities = [entity("outreach_rule", "rule-x"), entity("outreach_offer", offer)]
    if product:
        entities.append(entity("outreach_product", product))
    return make_tracker(
        sender_id=sender, intent="EXTERNAL_proactive_offer", entities=entities, text=""
    )


def test_a_coupon_offer_names_the_product_and_waits_for_a_yes(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template("T-PRO-20", name="耳机立减20", kind="instant", amount=20, threshold=None)
    messages, events = run_action(ActionProactiveOffer(mall), offer_tracker("coupon", "P1001"))
    text = texts(messages)
    assert "声悦Pro降噪蓝牙耳机" in text and "耳机立减20" in text and "退订" in text
    assert slots_of(events)["sales_stage"] == "coupon_offered"
    assert slots_of(events)["offered_coupon"] == "T-PRO-20"
    assert slots_of(events)["product_id"] == "P1001"
    # The variant shown is the one recorded for the customer (the shipped A/B test).
    with mall.database.read_session() as session:
        (variant,) = session.scalars(
            select(ExperimentExposure.variant_id).where(
                ExperimentExposure.customer_id == "web-pro-1"
            )
        ).all()
    expected = {
        "saving": "utter_proactive_coupon",
        "price_after": "utter_proactive_coupon_price_after",
    }
    assert messages[0]["response"] == expected[variant]
    if variant == "price_after":
        assert "券后到手只要279元" in rendered(messages[0])  # ¥299 - ¥20


def test_with_no_coupon_to_give_the_offer_is_a_plain_reminder(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    messages, events = run_action(ActionProactiveOffer(mall), offer_tracker("coupon", "P1001"))
    assert messages[0]["response"] == "utter_proactive_cart_reminder"
    assert slots_of(events).get("sales_stage") is None


@pytest.mark.parametrize(
    ("offer", "product", "response"),
    [
        ("reminder", "P1001", "utter_proactive_cart_reminder"),
        ("reminder", None, "utter_proactive_reminder"),
        ("back_in_stock", "P1003", "utter_proactive_back_in_stock"),
        ("win_back", None, "utter_proactive_win_back"),
    ],
)
def test_each_offer_has_its_line(
    mall: LiveMall, offer: str, product: str | None, response: str
) -> None:
    messages, _ = run_action(ActionProactiveOffer(mall), offer_tracker(offer, product))
    assert messages[0]["response"] == response
    assert "退订" in rendered(messages[0])


def test_a_product_gone_since_leaves_it_out(mall: LiveMall) -> None:
    messages, events = run_action(ActionProactiveOffer(mall), offer_tracker("reminder", "P9999"))
    assert messages[0]["response"] == "utter_proactive_reminder"
    assert "product_id" not in slots_of(events)


def test_the_mall_down_gives_the_apology_not_an_offer(mall: LiveMall) -> None:
    mall.unavailable = True
    messages, _ = run_action(ActionProactiveOffer(mall), offer_tracker("coupon", "P1001"))
    assert [m.get("response") for m in messages] == ["utter_service_unavailable"]


def test_opting_out_and_back_in_is_stored_and_confirmed(mall: LiveMall) -> None:
    stop = make_tracker(sender_id="web-pro-2", intent="stop_marketing", text="退订")
    messages, _ = run_action(ActionMarketingPreference(mall), stop)
    assert messages[0]["response"] == "utter_marketing_stopped"
    with mall.database.read_session() as session:
        assert session.get(Customer, "web-pro-2").opt_outs == ["marketing"]  # type: ignore[union-attr]
    resume = make_tracker(sender_id="web-pro-2", intent="resume_marketing", text="恢复推送")
    messages, _ = run_action(ActionMarketingPreference(mall), resume)
    assert messages[0]["response"] == "utter_marketing_resumed"
    with mall.database.read_session() as session:
        assert session.get(Customer, "web-pro-2").opt_outs == []  # type: ignore[union-attr]
