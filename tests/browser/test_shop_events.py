"""Behaviour events from the demo shop page and the chat widget reach the mall, in a real
browser against the real assistant (desk, Rasa with the widget, mall)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from launcher.stack import Stack

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

pytestmark = pytest.mark.integration


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def recorded(assistant: Stack, since_id: int) -> list[tuple[Any, ...]]:
    url = assistant.settings.child_env()["MALL_DATABASE_URL"]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT id, customer_id, type, product_id, source, card_id, properties "
                    "FROM behaviour_events WHERE id > :since AND source IN ('shop', 'widget') "
                    "ORDER BY id"
                ),
                {"since": since_id},
            ).all()
    finally:
        engine.dispose()


def last_id(assistant: Stack) -> int:
    url = assistant.settings.child_env()["MALL_DATABASE_URL"]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT max(id) FROM behaviour_events")).scalar())
    finally:
        engine.dispose()


def wait_for(assistant: Stack, since: int, count: int, timeout: float = 10.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    rows = recorded(assistant, since)
    while len(rows) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = recorded(assistant, since)
    return rows


def test_shopping_on_the_page_and_in_the_widget_reaches_the_mall(
    page: Any, assistant: Stack
) -> None:
    since = last_id(assistant)
    page.goto(f"{assistant.settings.desk_url}/shop?card=card-zhou-beauty")
    page.wait_for_function("() => window.MallAssistant && window.MallAssistant.version")
    p1 = page.locator('[data-product-id="P1001"]')
    p2 = page.locator('[data-product-id="P1002"]')
    p1.locator(".name").click()
    p1.locator("[data-track=add_to_cart]").click()
    p1.locator("[data-track=compare]").click()
    p2.locator("[data-track=compare]").click()
    page.fill("#shop-search input", "降噪耳机")
    page.click("#shop-search button")
    page.click('[data-mall-consult="P1002"]')  # the widget reports what is asked about
    rows = wait_for(assistant, since, 6)
    kinds = [(row[2], row[3], row[4]) for row in rows]
    assert ("card_view", None, "shop") in kinds
    assert ("product_view", "P1001", "shop") in kinds
    assert ("add_to_cart", "P1001", "shop") in kinds
    assert ("compare", "P1002", "shop") in kinds
    assert ("search", None, "shop") in kinds
    assert ("product_view", "P1002", "widget") in kinds
    # One visitor, attributed to the card the link named, first touch.
    assert len({row[1] for row in rows}) == 1 and rows[0][1].startswith("web-v-")
    assert {row[5] for row in rows} == {"card-zhou-beauty"}
    assert page.evaluate("document.documentElement.getAttribute('data-events-sent')") == "200"
    # Reloading sends the card view again as a new event; nothing is doubled.
    before = len(rows)
    page.reload()
    page.wait_for_function("() => window.MallAssistant && window.MallAssistant.version")
    rows = wait_for(assistant, since, before + 1)
    assert len(rows) == before + 1 and rows[-1][2] == "card_view"
