"""Health, shop terms, OpenAPI and the uniform error format."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mall import schemas
from mall.app import create_app
from mall.db import Database
from tests.mall.fixtures import AUTH, TOKEN, settings_for


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_shipping_terms(client: TestClient) -> None:
    body = client.get("/terms/shipping").json()
    schemas.ShippingTermsOut.parse_obj(body)
    assert body["free_shipping_threshold"] == 99.0
    assert body["fee"] == 8.0
    assert "顺丰速运" in body["couriers"]


def test_returns_terms(client: TestClient) -> None:
    body = client.get("/terms/returns").json()
    schemas.ReturnsTermsOut.parse_obj(body)
    assert body["no_reason_days"] == 7
    assert body["how_to"]


def test_payment_terms(client: TestClient) -> None:
    body = client.get("/terms/payment").json()
    schemas.PaymentTermsOut.parse_obj(body)
    assert "微信支付" in body["methods"]


def test_openapi_documents_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/health",
        "/categories",
        "/products",
        "/products/resolve",
        "/products/match",
        "/products/{product_id}",
        "/terms/shipping",
        "/customers/{customer_id}/profile",
        "/customers/{customer_id}/events",
        "/customers/{customer_id}/orders",
        "/customers/{customer_id}/orders/{order_id}",
        "/customers/{customer_id}/orders/{order_id}/cancel",
        "/customers/{customer_id}/coupons/best",
        "/customers/{customer_id}/coupons",
        "/coupons/{code}/redeem",
    } <= set(spec["paths"])
    assert "ProductOut" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 404  # no HTML pages: nothing for a browser
    # The schema says which operations need the token: all but /health.
    assert spec["components"]["securitySchemes"]["serviceToken"]["scheme"] == "bearer"
    assert spec["paths"]["/health"]["get"]["security"] == []
    assert spec["paths"]["/products"]["get"]["security"] == [{"serviceToken": []}]


def test_every_route_but_health_needs_the_service_token(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    anonymous = TestClient(client.app)
    wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
    checked = 0
    for path, operations in spec["paths"].items():
        concrete = path.replace("{customer_id}", "wx-o7Xh2-vip").replace("{order_id}", "1")
        concrete = concrete.replace("{product_id}", "P1001").replace("{code}", "X")
        concrete = concrete.replace("{handoff_id}", "1")
        for method in operations:
            for headers in (
                {},
                wrong,
                {"Authorization": TOKEN},
                {"Authorization": f"Basic {TOKEN}"},
            ):
                answer = anonymous.request(method, concrete, headers=headers, json={})
                expected = 200 if path == "/health" else 401
                assert answer.status_code == expected, (method, path, headers)
                if expected == 401:
                    assert answer.json()["error"] == "unauthorized"
                    assert answer.headers["www-authenticate"] == "Bearer"
                checked += 1
    assert checked > 60
    # Unknown paths and the docs answer 401 too: probing reveals nothing.
    for path in ("/no/such/thing", "/docs", "/openapi.json", "/health/../products"):
        assert anonymous.get(path).status_code == 401
    assert anonymous.get("/products", params={"token": TOKEN}).status_code == 401


def test_the_app_refuses_to_start_without_a_real_token(db_url: str, database: Database) -> None:
    for weak in ("", "changeme", "short"):
        with pytest.raises(ValueError, match="MALL_API_TOKEN"):
            create_app(settings_for(db_url, api_token=weak), database=database)


def test_oversized_bodies_are_refused_before_any_route(client: TestClient) -> None:
    big = {"type": "consult", "product_id": "x" * (1024 * 1024)}
    answer = client.post("/customers/web-probe-big/events", json=big)
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"

    def chunks():  # no Content-Length: the body streams in
        for _ in range(40):
            yield b"x" * 32768

    streamed = client.post(
        "/customers/web-probe-big/events",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert client.get("/customers/web-probe-big/profile").status_code == 404  # nothing recorded


def test_unknown_route_uses_the_error_format(client: TestClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert response.json()["message"]


def test_validation_errors_are_invalid_request(client: TestClient) -> None:
    response = client.post("/customers/web-new-001/events", json={"type": "dance"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "body.type" in body["message"]


def test_malformed_json_is_invalid_request(client: TestClient) -> None:
    response = client.post(
        "/customers/web-new-001/events",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_bad_customer_id_is_invalid_request(client: TestClient) -> None:
    response = client.get("/customers/bad%20id!/profile")
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_unexpected_failure_is_a_500_without_internals(db_url: str) -> None:
    database = Database(db_url)
    with database.engine.begin() as connection:
        # A broken table stands in for any bug: the customer must not see a stack trace.
        connection.exec_driver_sql("DROP TABLE logistics_events")
    app = create_app(settings_for(db_url), database=database)
    with TestClient(app, raise_server_exceptions=False, headers=AUTH) as client:
        response = client.get("/customers/wx-o7Xh2-vip/orders")
    database.dispose()
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "message": "服务器内部错误，请稍后再试"}
