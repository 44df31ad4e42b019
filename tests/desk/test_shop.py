"""The demo shop page, served by the desk from the real mall API (tests/browser drives it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from desk.shop import DEMO_COOKIE, demo_cookie_value
from tests.desk.conftest import FakeRasa, with_settings

CATALOGUE = Path(__file__).resolve().parents[2] / "mall" / "seed" / "catalogue.yml"
SECRET = "web-secret-0123456789"


def test_every_seeded_product_is_on_the_page_with_its_price_and_consult_button(desk: Any) -> None:
    page = TestClient(desk).get("/shop")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    products = yaml.safe_load(CATALOGUE.read_text())["products"]
    for product in products:
        assert f'data-mall-consult="{product["id"]}"' in page.text
        assert product["name"] in page.text
        assert f"¥{product['price']:.0f}" in page.text or f"¥{product['price']:.2f}" in page.text
    assert page.text.count("一键咨询") == len(products)
    assert '<script src="http://127.0.0.1:5005/webhooks/web/widget.js"' in page.text


def test_the_front_page_leads_to_the_shop(desk: Any) -> None:
    client = TestClient(desk)
    front = client.get("/", follow_redirects=False)
    assert front.status_code == 307 and front.headers["location"] == "/shop"
    assert client.get("/health").json() == {"status": "ok"}


def test_the_page_speaks_english_on_request(desk: Any) -> None:
    client = TestClient(desk)
    page = client.get("/shop", params={"lang": "en"})
    assert "Ask about this" in page.text and 'data-lang="en"' in page.text
    assert client.get("/shop", params={"lang": "<x>"}).status_code == 422


def test_without_a_widget_url_the_page_says_chat_is_off(desk: Any) -> None:
    with_settings(desk, widget_script_url=None)
    page = TestClient(desk).get("/shop")
    assert "在线客服未配置" in page.text and "widget.js" not in page.text


def test_demo_sign_in_is_off_unless_enabled(desk: Any) -> None:
    client = TestClient(desk)
    assert 'name="customer_id"' not in client.get("/shop").text
    chosen = client.post("/shop/demo-customer", data={"customer_id": "wx-o7Xh2-vip"})
    assert chosen.status_code == 404


def test_a_visitor_can_browse_as_a_seeded_customer_only(desk: Any, rasa: FakeRasa) -> None:
    with_settings(desk, shop_demo_sign_in=True)
    client = TestClient(desk)
    assert "王女士 (wx-o7Xh2-vip)" in client.get("/shop").text

    refused = client.post(
        "/shop/demo-customer", data={"customer_id": "web-someone-else"}, follow_redirects=False
    )
    assert refused.status_code == 400
    chosen = client.post(
        "/shop/demo-customer", data={"customer_id": "wx-o7Xh2-vip"}, follow_redirects=False
    )
    assert chosen.status_code == 303
    page = client.get("/shop").text
    assert '<option value="wx-o7Xh2-vip" selected>' in page
    # The desk, not the browser, asked the channel for the customer's token.
    assert 'data-token="v1.token-for-wx-o7Xh2-vip"' in page
    assert rasa.calls == [("widget_token", "wx-o7Xh2-vip")]

    # A cookie this server did not sign names nobody.
    client.cookies.clear()
    client.cookies.set(DEMO_COOKIE, "wx-o7Xh2-churn.0000")
    assert " selected>" not in client.get("/shop").text
    client.cookies.clear()
    client.cookies.set(DEMO_COOKIE, demo_cookie_value(SECRET, "wx-o7Xh2-churn"))
    assert '<option value="wx-o7Xh2-churn" selected>' in client.get("/shop").text


@pytest.mark.parametrize("path", ["/shop", "/console/login"])
def test_pages_carry_security_headers_and_no_inline_script(desk: Any, path: str) -> None:
    page = TestClient(desk).get(path)
    policy = page.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self' http://127.0.0.1:5005"
    assert "unsafe-inline" not in policy and directives["frame-ancestors"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-frame-options"] == "DENY"
    # Every script is a file; no style attributes either (the policy would block them).
    assert "<script>" not in page.text and " style=" not in page.text and "<style" not in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/static/../settings.py",
        "/static/%2e%2e/settings.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2f%2e%2e%2fREADME.md",
        "/static/....//....//etc/passwd",
        "/static//etc/passwd",
        "/static/%00console.css",
    ],
)
def test_static_files_never_leave_their_folder(desk: Any, path: str) -> None:
    answer = TestClient(desk).get(path)
    assert answer.status_code in (400, 404)
    assert "MALL_API_TOKEN" not in answer.text and "root:" not in answer.text


def test_static_files_are_served_with_nosniff(desk: Any) -> None:
    answer = TestClient(desk).get("/static/console.js")
    assert answer.status_code == 200 and "javascript" in answer.headers["content-type"]
    assert answer.headers["x-content-type-options"] == "nosniff"
