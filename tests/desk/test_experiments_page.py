"""The desk's A/B test page: the figures of the shipped experiment, for agents only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from mall.db import Database
from mall.models import Coupon, ExperimentExposure, utcnow
from mall.services.agents import save_agent
from mall.services.profiles import ensure_customer
from tests.desk.conftest import PASSWORD, logged_in
from tests.mall.fixtures import coupon_template

EXPERIMENT = "proactive_coupon_2026w49"


def expose(database: Database) -> None:
    """4 customers see `saving` (1 claims a coupon), 4 see `price_after` (3 claim)."""
    now = utcnow() - timedelta(days=3)
    with database.write_session() as session:
        session.add(coupon_template("T-AB-DESK"))
        for n in range(8):
            customer = f"web-abdesk-{n}"
            ensure_customer(session=session, customer_id=customer, now=now)
            variant = "saving" if n < 4 else "price_after"
            session.add(
                ExperimentExposure(
                    experiment_id=EXPERIMENT,
                    variant_id=variant,
                    customer_id=customer,
                    exposed_at=now,
                )
            )
            if n in (0, 4, 5, 6):
                session.add(
                    Coupon(
                        code=f"CP-ABD-{n}",
                        customer_id=customer,
                        template_id="T-AB-DESK",
                        name="立减5元",
                        kind="instant",
                        amount=Decimal("5"),
                        issued_at=now + timedelta(hours=1),
                        idempotency_key=f"abd-{n}",
                    )
                )


def test_an_agent_sees_rates_intervals_and_the_p_value(desk: Any, database: Database) -> None:
    expose(database)
    page = logged_in(desk).get("/console/experiments")
    assert page.status_code == 200
    html = page.text
    assert f'id="experiment-{EXPERIMENT}"' in html
    saving = html.split(f'id="variant-{EXPERIMENT}-saving"')[1].split("</tr>")[0]
    after = html.split(f'id="variant-{EXPERIMENT}-price_after"')[1].split("</tr>")[0]
    # Hand-computed: 1/4 vs 3/4, pooled p = 0.5, z = 0.5 / sqrt(0.25 * 0.5) = 1.414, p = 0.1573.
    assert "<td>4</td><td>1</td><td>25.0%</td>" in saving and "对照" in saving
    assert "<td>4</td><td>3</td><td>75.0%</td>" in after and "0.1573" in after
    # Wilson 95 % for 1/4: 4.6 %-69.9 %.
    assert "4.6%–69.9%" in saving
    assert "样本未够" in html  # 400 per variant are planned


def test_the_page_is_for_signed_in_agents_only(desk: Any, database: Database) -> None:
    anonymous = TestClient(desk).get("/console/experiments", follow_redirects=False)
    assert anonymous.status_code == 303 and "/console/login" in anonymous.headers["location"]
    with database.write_session() as session:
        save_agent(
            session=session,
            username="li-shop",
            display_name="li-shop",
            password=PASSWORD,
            role="distributor",
            scope_id="card-li-digital",
        )
    partner = logged_in(desk, "li-shop").get("/console/experiments", follow_redirects=False)
    assert partner.status_code == 303 and partner.headers["location"] == "/console/partner"
