"""Catalogue routes: categories, search, resolve, match, product detail."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from mall import schemas
from mall.db import Database
from mall.models import Product
from mall.services import catalogue as catalogue_service


def ids(items: list[dict]) -> list[str]:
    return [item["id"] for item in items]


def test_categories_are_listed(client: TestClient) -> None:
    body = client.get("/categories").json()
    schemas.CategoriesOut.parse_obj(body)
    assert {"id": "digital", "name": "数码电子"} in body["items"]


def test_search_by_alias_is_case_insensitive(client: TestClient) -> None:
    body = client.get("/products", params={"q": "t恤"}).json()
    schemas.ProductsOut.parse_obj(body)
    assert ids(body["items"]) == ["P2001"]
    assert body["items"][0] == {
        "id": "P2001",
        "name": "织锦纯棉圆领T恤",
        "category": "apparel",
        "price": 59.0,
        "list_price": 99.0,
    }


def test_search_by_part_of_a_name_finds_every_product_containing_it(client: TestClient) -> None:
    found = ids(client.get("/products", params={"q": "耳机"}).json()["items"])
    assert found == ["P1001", "P1002"]


def test_search_without_words_lists_a_category(client: TestClient) -> None:
    items = client.get("/products", params={"category": "beauty"}).json()["items"]
    assert len(items) == 6
    assert {item["category"] for item in items} == {"beauty"}


def test_search_respects_the_limit(client: TestClient) -> None:
    assert len(client.get("/products", params={"limit": 5}).json()["items"]) == 5
    assert len(client.get("/products").json()["items"]) == 20


def test_search_for_something_not_sold_is_empty(client: TestClient) -> None:
    assert client.get("/products", params={"q": "iPhone"}).json() == {"items": []}


def test_resolve_exact_alias_returns_the_full_product(client: TestClient) -> None:
    body = client.get("/products/resolve", params={"q": "蓝牙耳机"}).json()
    schemas.ResolutionOut.parse_obj(body)
    product = body["product"]
    assert product["id"] == "P1001"
    assert product["price"] == 299.0
    assert product["category_name"] == "数码电子"
    assert product["supplier"] == "深圳声悦科技有限公司"
    assert product["total_stock"] == 205
    assert {"sku_id": "P1001-03", "color": "薄荷绿", "size": None, "stock": 0} in product["skus"]
    assert product["specs"]["蓝牙版本"] == "5.3"
    assert body["suggestions"] == []


def test_resolve_ignores_case_and_spaces(client: TestClient) -> None:
    assert client.get("/products/resolve", params={"q": " k87 "}).json()["product"]["id"] == "P1006"


def test_resolve_words_inside_a_name(client: TestClient) -> None:
    body = client.get("/products/resolve", params={"q": "降噪蓝牙"}).json()
    assert body["product"]["id"] == "P1001"


def test_resolve_a_name_mentioned_inside_the_words(client: TestClient) -> None:
    body = client.get("/products/resolve", params={"q": "白色的T恤"}).json()
    assert body["product"]["id"] == "P2001"


def test_resolve_ambiguous_words_offers_the_candidates(client: TestClient) -> None:
    body = client.get("/products/resolve", params={"q": "声悦"}).json()
    assert body["product"] is None
    assert ids(body["suggestions"]) == ["P1001", "P1002"]


def test_resolve_a_typo_suggests_near_matches(client: TestClient) -> None:
    body = client.get("/products/resolve", params={"q": "降躁耳麦"}).json()
    assert body["product"] is None
    assert 1 <= len(body["suggestions"]) <= 3
    assert body["suggestions"][0]["id"] == "P1001"


def test_resolve_unknown_product_has_no_product_and_no_suggestions(client: TestClient) -> None:
    body = client.get("/products/resolve", params={"q": "iPhone 15"}).json()
    assert body == {"product": None, "suggestions": []}


def test_resolve_needs_words(client: TestClient) -> None:
    response = client.get("/products/resolve", params={"q": ""})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_match_finds_the_product_in_a_message(client: TestClient) -> None:
    body = client.get("/products/match", params={"text": "运动耳机多少钱啊"}).json()
    schemas.ProductsOut.parse_obj(body)
    assert ids(body["items"]) == ["P1002"]


def test_match_orders_by_longest_mention(client: TestClient) -> None:
    text = "想问下充电宝和降噪耳机能一起发吗"
    assert ids(client.get("/products/match", params={"text": text}).json()["items"]) == [
        "P1001",
        "P1003",
    ]


def test_match_in_a_message_without_products_is_empty(client: TestClient) -> None:
    assert client.get("/products/match", params={"text": "在吗？"}).json() == {"items": []}


def test_product_detail(client: TestClient) -> None:
    body = client.get("/products/P2001").json()
    schemas.ProductOut.parse_obj(body)
    assert body["name"] == "织锦纯棉圆领T恤"
    assert [sku["size"] for sku in body["skus"]] == ["M", "L", "XL", "M", "L", "XL"]
    assert body["total_stock"] == 238


def test_unknown_product_is_404(client: TestClient) -> None:
    response = client.get("/products/P9999")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "没有找到商品 P9999"}


# ---- the product index follows catalogue changes ----


@pytest.fixture(autouse=True)
def _rebuild_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo catalogue's index is rebuilt inline, however busy the machine is (a build
    slower than INLINE_REBUILD_SECONDS would go to the background and the old index would
    answer); the background path has its own test, which sets the limit itself."""
    monkeypatch.setattr(catalogue_service, "INLINE_REBUILD_SECONDS", 60.0)


def _add_product(database: Database, product_id: str, name: str, aliases: list[str]) -> None:
    with database.write_session() as session:
        session.add(
            Product(
                id=product_id,
                name=name,
                category_id="digital",
                supplier_id="sup-shenzhen-audio",
                aliases=aliases,
                list_price=Decimal("99"),
                price=Decimal("89"),
            )
        )


def test_a_product_added_after_a_lookup_is_found(client: TestClient, database: Database) -> None:
    assert client.get("/products/resolve", params={"q": "骨传导"}).json()["product"] is None
    _add_product(database, "P1901", "声悦Bone骨传导耳机", ["骨传导耳机"])
    body = client.get("/products/resolve", params={"q": "骨传导"}).json()
    assert body["product"]["id"] == "P1901"
    assert ids(client.get("/products", params={"q": "声悦"}).json()["items"]) == [
        "P1001",
        "P1002",
        "P1901",
    ]


def test_a_renamed_product_is_found_by_its_new_name_only(
    client: TestClient, database: Database
) -> None:
    assert client.get("/products/resolve", params={"q": "水杯"}).json()["product"]["id"] == "P4006"
    with database.write_session() as session:
        cup = session.get(Product, "P4006")
        cup.name = "不锈钢真空焖烧杯"
        cup.aliases = ["焖烧杯"]
    assert client.get("/products/resolve", params={"q": "焖烧杯"}).json()["product"]["id"] == (
        "P4006"
    )
    assert "P4006" not in ids(client.get("/products", params={"q": "水杯"}).json()["items"])
    text = "焖烧杯和充电宝一起买"
    assert "P4006" in ids(client.get("/products/match", params={"text": text}).json()["items"])


def test_a_change_made_through_another_connection_pool_is_seen(
    client: TestClient, db_url: str
) -> None:
    # Another process (seeding, a second mall worker) writes through its own engine.
    client.get("/products/resolve", params={"q": "耳机"})
    other = Database(db_url)
    try:
        _add_product(other, "P1902", "声悦Kids儿童耳机", ["儿童耳机"])
    finally:
        other.dispose()
    assert client.get("/products/resolve", params={"q": "儿童耳机"}).json()["product"]["id"] == (
        "P1902"
    )


def test_a_price_change_shows_in_suggestions_at_once(
    client: TestClient, database: Database
) -> None:
    with database.write_session() as session:
        session.get(Product, "P1002").price = Decimal("188")
    suggestions = client.get("/products/resolve", params={"q": "声悦"}).json()["suggestions"]
    assert {s["id"]: s["price"] for s in suggestions}["P1002"] == 188.0


def test_a_large_catalogue_is_reindexed_in_the_background(
    client: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every index counts as slow to build: after a change the previous one answers until
    # the new one is ready, and then the new product is found.
    monkeypatch.setattr(catalogue_service, "INLINE_REBUILD_SECONDS", -1.0)
    client.get("/products/resolve", params={"q": "耳机"})
    _add_product(database, "P1903", "声悦Sleep睡眠耳机", ["睡眠耳机"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        product = client.get("/products/resolve", params={"q": "睡眠耳机"}).json()["product"]
        if product is not None and product["id"] == "P1903":
            break
        time.sleep(0.05)
    else:
        pytest.fail("the rebuilt index never answered")
