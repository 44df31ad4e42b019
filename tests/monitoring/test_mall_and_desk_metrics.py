"""The mall's and the desk's /metrics: guarded, labelled by route template, business counts."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from mall.app import create_app
from mall.db import Database
from mall.models import OutreachJob, utcnow
from mall.services.profiles import ensure_customer
from monitoring import asgi
from monitoring.access import MetricsSettings
from tests.mall.fixtures import AUTH, settings_for

TOKEN = "metrics-token-0123456789abcdef"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def call(app: Any, client: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(client, 40000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://mall") as http:
            return await http.request(method, path, **kwargs)

    return asyncio.run(go())


@pytest.fixture
def mall(db_url: str, database: Database, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    return create_app(settings_for(db_url), database=database)


def test_outsiders_get_404_and_loopback_gets_the_metrics_without_the_mall_token(mall: Any) -> None:
    assert call(mall, "203.0.113.7", "GET", "/metrics").status_code == 404
    assert call(mall, "203.0.113.7", "GET", "/metrics", headers=AUTH).status_code == 404
    proxied = call(mall, "127.0.0.1", "GET", "/metrics", headers={"X-Forwarded-For": "1.2.3.4"})
    assert proxied.status_code == 404 and "mall_" not in proxied.text
    local = call(mall, "127.0.0.1", "GET", "/metrics")
    assert local.status_code == 200
    assert local.headers["content-type"].startswith("text/plain")
    for name in ("http_request_duration_seconds", "mall_handoffs_waiting", "process_resident"):
        assert name in local.text
    # Everything else still needs the service token, from loopback too.
    assert call(mall, "127.0.0.1", "GET", "/products/P1001").status_code == 401


def test_with_metrics_token_set_the_token_is_needed_from_everywhere(
    db_url: str, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    app = create_app(settings_for(db_url), database=database)
    assert call(app, "127.0.0.1", "GET", "/metrics").status_code == 404
    wrong = {"Authorization": "Bearer metrics-token-but-wrong-000"}
    assert call(app, "10.1.2.3", "GET", "/metrics", headers=wrong).status_code == 404
    good = call(app, "10.1.2.3", "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert good.status_code == 200 and "mall_coupons_issued_total" in good.text


def test_requests_are_labelled_by_route_template_never_by_id(mall: Any) -> None:
    template = {"route": "/products/{product_id}", "method": "GET", "status": "200"}
    before = value("http_request_duration_seconds_count", **template)
    assert call(mall, "127.0.0.1", "GET", "/products/P1001", headers=AUTH).status_code == 200
    assert value("http_request_duration_seconds_count", **template) == before + 1
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    before_unmatched = value("http_request_duration_seconds_count", **unmatched)
    call(mall, "127.0.0.1", "GET", "/wp-admin/../etc/passwd-12345", headers=AUTH)
    assert value("http_request_duration_seconds_count", **unmatched) == before_unmatched + 1
    text = call(mall, "127.0.0.1", "GET", "/metrics").text
    assert "P1001" not in text and "passwd" not in text


def test_coupons_issued_count_once_per_idempotency_key(mall: Any) -> None:
    before = value("mall_coupons_issued_total")
    body = {"template_id": "T-VIP-50", "idempotency_key": "metrics-test-key"}
    path = "/customers/wx-o7Xh2-vip/coupons"
    assert call(mall, "127.0.0.1", "POST", path, json=body, headers=AUTH).status_code == 201
    assert call(mall, "127.0.0.1", "POST", path, json=body, headers=AUTH).status_code == 200
    assert value("mall_coupons_issued_total") == before + 1


def test_handoffs_are_counted_by_reason_and_the_queue_is_read_from_the_database(
    mall: Any,
) -> None:
    before = value("mall_handoffs_opened_total", reason="angry")
    body = {"sender_id": "web-metrics-1", "channel": "web", "reason": "angry", "context": {}}
    assert call(mall, "127.0.0.1", "POST", "/handoffs", json=body, headers=AUTH).status_code == 201
    assert call(mall, "127.0.0.1", "POST", "/handoffs", json=body, headers=AUTH).status_code == 200
    assert value("mall_handoffs_opened_total", reason="angry") == before + 1
    assert value("mall_handoffs_waiting") >= 1
    assert value("mall_handoff_oldest_wait_seconds") >= 0


def test_the_desk_serves_metrics_to_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from desk.app import create_app as create_desk
    from desk.settings import DeskSettings

    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    desk = create_desk(
        DeskSettings(mall_api_url="http://127.0.0.1:9", mall_api_token="t" * 24),
        mall=object(),  # type: ignore[arg-type]
        rasa=object(),  # type: ignore[arg-type]
    )
    assert call(desk, "198.51.100.2", "GET", "/metrics").status_code == 404
    page = call(desk, "127.0.0.1", "GET", "/metrics")
    assert page.status_code == 200 and "http_request_duration_seconds" in page.text
    assert call(desk, "198.51.100.2", "GET", "/health").status_code == 200


def test_a_bare_app_gets_the_same_guard() -> None:
    from starlette.applications import Starlette

    app = Starlette()
    asgi.install(app, MetricsSettings(token=TOKEN))
    assert call(app, "127.0.0.1", "GET", "/metrics").status_code == 404
    good = call(app, "127.0.0.1", "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert good.status_code == 200


def test_the_outreach_backlog_is_read_from_the_database_at_scrape_time(
    mall: Any, database: Database
) -> None:
    now = utcnow()
    jobs = [  # (status, due): only what is due and undecided counts
        ("pending", now - timedelta(minutes=40)),
        ("pending", now - timedelta(minutes=5)),
        ("claimed", now - timedelta(minutes=1)),
        ("pending", now + timedelta(hours=2)),  # postponed: not due yet
        ("sent", now - timedelta(days=1)),
        ("skipped", now - timedelta(days=1)),
    ]
    with database.write_session() as session:
        ensure_customer(session=session, customer_id="web-backlog-1")
        for n, (status, due) in enumerate(jobs):
            session.add(
                OutreachJob(
                    customer_id="web-backlog-1",
                    rule_id="r",
                    cause=f"c{n}",
                    due_at=due,
                    status=status,
                )
            )
    scraped = call(mall, "127.0.0.1", "GET", "/metrics").text
    assert 'mall_outreach_jobs_due{status="pending"} 2.0' in scraped
    assert 'mall_outreach_jobs_due{status="claimed"} 1.0' in scraped
    [late] = re.findall(r"^mall_outreach_oldest_due_seconds (\S+)$", scraped, re.M)
    assert 40 * 60 <= float(late) < 41 * 60
    with database.write_session() as session:  # the scheduler catches up: nothing is late
        session.execute(update(OutreachJob).values(status="sent"))
    assert value("mall_outreach_oldest_due_seconds") == 0.0
    assert value("mall_outreach_jobs_due", status="pending") == 0.0
