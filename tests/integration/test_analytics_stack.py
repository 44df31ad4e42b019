"""Real turns through the running assistant reach the facts store through Rasa's SQL broker.

The stack is `make run`'s: Rasa publishes to its SQL event broker (endpoints.production.yml),
the analytics process consumes it, and its read API shows the conversation: the sales stage
reached, the coupon issued, the segment and distributor from the mall.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import pytest
import requests
import sqlalchemy as sa

from launcher.stack import Stack
from tests.integration.conftest import Customer

pytestmark = pytest.mark.integration


def test_a_sales_conversation_becomes_facts(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url, sender=f"web-kpi-{uuid.uuid4().hex[:8]}")
    customer.say_text("你好")
    customer.say_text("声悦Pro降噪蓝牙耳机多少钱")
    customer.say_text("要优惠")
    customer.say_text("好的，帮我领一下")
    env = stack.settings.child_env()
    engine = sa.create_engine(env["ANALYTICS_DATABASE_URL"])
    deadline = time.monotonic() + 30
    fact = None
    try:
        # The consumer polls every second: wait until the last turn is in.
        while (fact is None or fact.messages < 4) and time.monotonic() < deadline:
            with engine.connect() as connection:
                if sa.inspect(connection).has_table("analytics_conversations"):
                    fact = connection.execute(
                        sa.text("SELECT * FROM analytics_conversations WHERE sender_id = :s"),
                        {"s": customer.sender},
                    ).first()
            time.sleep(0.5)
    finally:
        engine.dispose()
    assert fact is not None, "the conversation never reached the facts store"
    assert fact.stage == "coupon" and fact.coupon_offered and fact.coupon_issued
    assert fact.messages == 4 and fact.channel == "rest" and not fact.handed_off
    assert fact.first_response_seconds is not None and fact.first_response_seconds < 60
    assert fact.segment == "new"  # the mall's profile of a first-time customer
    today = datetime.now(timezone.utc).date().isoformat()
    answer = requests.get(
        f"{stack.settings.analytics_url}/kpis",
        params={"since": today, "until": today, "by": "channel"},
        headers={"Authorization": f"Bearer {env['ANALYTICS_API_TOKEN']}"},
        timeout=30,
    )
    assert answer.status_code == 200
    channels = {row["key"]: row for row in answer.json()["groups"]["channel"]}
    assert channels["rest"]["funnel_coupon"] >= 1
