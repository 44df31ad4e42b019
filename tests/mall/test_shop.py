"""The demo shop page as served HTML (tests/browser drives it in chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from mall.app import create_app
from mall.db import Database, upgrade
from mall.routes.shop import DEMO_COOKIE, demo_cookie_value, widget_script_url
from mall.seeding import seed
from mall.settings import Settings

CATALOGUE = Path(__file__).resolve().parents[2] / "mall" / "seed" / "catalogue.yml"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('shop') / 'mall.db'}"
    upgrade(url)
    database = Database(url)
    with database.write_session() as session:
        seed(session=session)
    with TestClient(create_app(Settings(database_url=url), database=database)) as test_client:
        yield test_client
    database.dispose()


def test_every_seeded_product_is_on_the_page_with_its_price_and_consult_button(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:5005")
    page = client.get("/shop")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    products = yaml.safe_load(CATALOGUE.read_text())["products"]
    for product in products:
        assert f'data-mall-consult="{product["id"]}"' in page.text
        assert product["name"] in page.text
        assert f"¥{product['price']:.0f}" in page.text or f"¥{product['price']:.2f}" in page.text
    assert page.text.count("一键咨询") == len(products)
    assert '<script src="http://127.0.0.1:5005/webhooks/web/widget.js"' in page.text


def test_the_front_page_leads_to_the_shop_and_the_api_still_answers(client: TestClient) -> None:
    front = client.get("/", follow_redirects=False)
    assert front.status_code == 307 and front.headers["location"] == "/shop"
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/products/P1001").json()["price"] in ("299.00", 299.0, "299")


def test_the_page_speaks_english_on_request(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:5005")
    page = client.get("/shop", params={"lang": "en"})
    assert "Ask about this" in page.text and 'data-lang="en"' in page.text
    assert client.get("/shop", params={"lang": "<x>"}).status_code == 422


def test_without_a_rasa_url_the_page_says_chat_is_off(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RASA_URL", raising=False)
    monkeypatch.delenv("WIDGET_SCRIPT_URL", raising=False)
    page = client.get("/shop")
    assert "在线客服未配置" in page.text and "widget.js" not in page.text


def test_an_explicit_widget_url_wins() -> None:
    env = {"RASA_URL": "http://127.0.0.1:5005", "WIDGET_SCRIPT_URL": "https://chat.example/w.js"}
    assert widget_script_url(env) == "https://chat.example/w.js"
    assert widget_script_url({"RASA_URL": "http://r:1/"}) == "http://r:1/webhooks/web/widget.js"
    assert widget_script_url({}) is None


def test_demo_sign_in_is_off_unless_enabled(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOP_DEMO_SIGN_IN", raising=False)
    assert 'name="customer_id"' not in client.get("/shop").text
    chosen = client.post("/shop/demo-customer", data={"customer_id": "wx-o7Xh2-vip"})
    assert chosen.status_code == 404


def test_a_visitor_can_browse_as_a_seeded_customer_only(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_DEMO_SIGN_IN", "1")
    monkeypatch.setenv("WEB_CHANNEL_SECRET", "shop-test-secret")
    monkeypatch.delenv("RASA_URL", raising=False)
    page = client.get("/shop").text
    assert "王女士 (wx-o7Xh2-vip)" in page

    refused = client.post(
        "/shop/demo-customer", data={"customer_id": "web-someone-else"}, follow_redirects=False
    )
    assert refused.status_code == 400
    chosen = client.post(
        "/shop/demo-customer", data={"customer_id": "wx-o7Xh2-vip"}, follow_redirects=False
    )
    assert chosen.status_code == 303
    assert '<option value="wx-o7Xh2-vip" selected>' in client.get("/shop").text

    # A cookie this server did not sign names nobody.
    client.cookies.clear()
    client.cookies.set(DEMO_COOKIE, "wx-o7Xh2-churn.0000")
    assert " selected>" not in client.get("/shop").text
    client.cookies.clear()
    client.cookies.set(DEMO_COOKIE, demo_cookie_value("wx-o7Xh2-churn"))
    assert '<option value="wx-o7Xh2-churn" selected>' in client.get("/shop").text
    client.cookies.clear()
