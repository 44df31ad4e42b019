"""After-sales guides per product, and the discount rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mall.terms import guide_for, load_guides


def test_a_product_guide_merges_its_category_and_its_own_lines(client: TestClient) -> None:
    body = client.get("/products/P6002/guide").json()
    assert body["product_id"] == "P6002" and body["category"] == "appliance"
    # The robot vacuum's own troubleshooting replaces the category's; the rest is inherited.
    assert "E1是滚刷被缠住" in body["topics"]["troubleshooting"]
    assert "全国联保" in body["topics"]["warranty"]
    assert {"usage", "troubleshooting", "installation", "care", "warranty"} <= set(body["topics"])


def test_every_catalogue_category_has_a_guide(client: TestClient) -> None:
    for item in client.get("/categories").json()["items"]:
        products = client.get("/products", params={"category": item["id"], "limit": 1}).json()
        product_id = products["items"][0]["id"]
        topics = client.get(f"/products/{product_id}/guide").json()["topics"]
        assert {"usage", "troubleshooting", "warranty"} <= set(topics), item["id"]


def test_guide_of_an_unknown_product_is_404(client: TestClient) -> None:
    response = client.get("/products/P9999/guide")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_discount_rules(client: TestClient) -> None:
    body = client.get("/terms/discounts").json()
    assert body["price_protection_days"] == 7
    assert body["promotions"] and all(isinstance(line, str) for line in body["promotions"])


def test_a_malformed_guides_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "guides.yml"
    path.write_text("categories:\n  digital: just a string\n", encoding="utf-8")
    with pytest.raises(ValueError, match="categories.digital"):
        load_guides(path)


def test_guide_for_a_product_without_lines_of_its_own() -> None:
    guides = {"categories": {"food": {"care": "阴凉处保存"}}, "products": {}}
    assert guide_for(guides, product_id="P5001", category="food") == {"care": "阴凉处保存"}
