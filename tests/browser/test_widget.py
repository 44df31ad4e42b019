"""The demo shop and the chat widget in a real browser, against the real assistant."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from launcher.stack import Stack
from tests.integration.conftest import mall_get

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
expect = sync_api.expect

pytestmark = pytest.mark.integration

WIDGET = "#mall-assistant"
TIMINGS = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "browser-timings.json"


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser profile (empty storage) and one tab in it."""
    viewport = getattr(request, "param", {"width": 1280, "height": 800})
    context = chromium.new_context(viewport=viewport, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.dialogs = dialogs
    yield tab
    context.close()


def open_shop(page: Any, assistant: Stack, query: str = "") -> None:
    page.goto(f"{assistant.settings.desk_url}/shop{query}")
    page.wait_for_function("() => window.MallAssistant && window.MallAssistant.version")


def bot_texts(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(f"{WIDGET} .ma-bot .ma-text").all_text_contents()]


def ask(page: Any, text: str) -> str:
    """Type a message, wait for the assistant's answer, return its text."""
    before = page.locator(f"{WIDGET} .ma-bot").count()
    field = page.locator(f"{WIDGET} .ma-input")
    field.fill(text)
    field.press("Enter")
    page.locator(f"{WIDGET} .ma-bot").nth(before).wait_for()
    expect(page.locator(f"{WIDGET} .ma-typing")).to_be_hidden()
    rows = page.locator(f"{WIDGET} .ma-bot")
    return "\n".join(rows.nth(i).inner_text() for i in range(before, rows.count()))


def consult(page: Any, product_id: str) -> float:
    """Click 一键咨询 on a product; seconds until the greeting shows."""
    started = time.monotonic()
    page.click(f'[data-mall-consult="{product_id}"]')
    page.locator(f"{WIDGET} .ma-bot").first.wait_for()
    return time.monotonic() - started


def sender_of(page: Any) -> str:
    token = page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.endsWith(':token'))"
        ".map(k => localStorage.getItem(k))[0]"
    )
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def record_timing(name: str, seconds: float) -> None:
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    timings[name] = round(seconds, 3)
    TIMINGS.write_text(json.dumps(timings, indent=2))


def test_consult_price_coupon_and_reload(page: Any, assistant: Stack, screenshots: Path) -> None:
    open_shop(page, assistant)
    card = page.locator('[data-product-id="P1001"]')
    expect(card).to_contain_text("声悦Pro降噪蓝牙耳机")
    expect(card).to_contain_text("¥299")

    greeting_seconds = consult(page, "P1001")
    record_timing("greeting_after_consult_click_s", greeting_seconds)
    print(f"greeting shown {greeting_seconds * 1000:.0f} ms after the click")
    # The figure is recorded for the README (about 0.3 s on a quiet machine); the bound only
    # catches a widget that waits for something it should not (a timeout, a retry).
    assert greeting_seconds < 3.0
    expect(page.locator(f"{WIDGET} .ma-context")).to_contain_text("声悦Pro降噪蓝牙耳机")
    expect(page.locator(f"{WIDGET} .ma-bot").first).to_contain_text("声悦Pro降噪蓝牙耳机")
    page.screenshot(path=str(screenshots / "01-greeting.png"))

    price = ask(page, "多少钱")
    assert "声悦Pro降噪蓝牙耳机" in price and "¥299" in price
    offer = ask(page, "有优惠吗")
    assert "券" in offer and "领取" in offer
    claimed = ask(page, "好的")
    code = re.search(r"券码：(CP[A-Z0-9]+)", claimed)
    assert code, claimed
    page.screenshot(path=str(screenshots / "02-coupon-code.png"))

    # The coupon really exists in the mall for this visitor.
    coupons = mall_get(assistant, f"/customers/{sender_of(page)}/coupons")
    assert code.group(1) in json.dumps(coupons)

    before = bot_texts(page)
    page.reload()
    expect(page.locator(f"{WIDGET} .ma-panel")).to_be_visible()
    expect(page.locator(f"{WIDGET} .ma-bot").last).to_contain_text(code.group(1))
    assert bot_texts(page) == before  # kept, and no second greeting
    users = page.locator(f"{WIDGET} .ma-user .ma-text").all_text_contents()
    assert users == ["多少钱", "有优惠吗", "好的"]
    page.screenshot(path=str(screenshots / "03-after-reload.png"))


@pytest.mark.parametrize("page", [{"width": 375, "height": 667}], indirect=True)
def test_quick_replies_on_a_phone(page: Any, assistant: Stack, screenshots: Path) -> None:
    open_shop(page, assistant)
    consult(page, "P1003")
    panel = page.locator(f"{WIDGET} .ma-panel").bounding_box()
    assert panel["width"] >= 370 and panel["height"] >= 660  # the whole screen

    page.locator(f"{WIDGET} .ma-button", has_text="查价格").click()
    expect(page.locator(f"{WIDGET} .ma-user").last).to_have_text("查价格")
    bots = page.locator(f"{WIDGET} .ma-bot")
    # The quote comes as the product's card and a question with quick replies.
    expect(page.locator(f"{WIDGET} .ma-card").last).to_contain_text("¥129")
    bots.locator(".ma-button", has_text="要优惠").last.click()
    expect(bots.last).to_contain_text("领取")
    bots.last.locator(".ma-button", has_text="帮我领取").click()
    expect(bots.last).to_contain_text(re.compile(r"券码：CP"))
    page.screenshot(path=str(screenshots / "04-phone-quick-replies.png"))


def test_markup_from_a_customer_is_shown_as_text(
    page: Any, assistant: Stack, screenshots: Path
) -> None:
    open_shop(page, assistant)
    consult(page, "P1001")
    attacks = [
        "<img src=x onerror=alert(1)>",
        "<script>window.pwned = 1; alert(2)</script>",
        '"><svg onload=alert(3)>',
    ]
    for attack in attacks:
        ask(page, attack)
    shown = page.locator(f"{WIDGET} .ma-user .ma-text").all_text_contents()
    assert shown == attacks
    messages = page.locator(f"{WIDGET} .ma-messages")
    assert messages.locator("script, svg, img[src='x']").count() == 0
    assert page.evaluate("() => window.pwned") is None
    page.reload()
    expect(page.locator(f"{WIDGET} .ma-user .ma-text")).to_have_count(len(attacks))
    assert page.locator(f"{WIDGET} .ma-user .ma-text").all_text_contents() == attacks
    assert page.locator(f"{WIDGET} .ma-messages").locator("script, svg, img").count() == 0
    assert page.dialogs == [] and page.evaluate("() => window.pwned") is None
    page.screenshot(path=str(screenshots / "05-injection-as-text.png"))


def test_english_labels(page: Any, assistant: Stack) -> None:
    open_shop(page, assistant, "?lang=en")
    expect(page.locator(f"{WIDGET} .ma-launcher")).to_have_text("Chat with us")
    page.locator(f"{WIDGET} .ma-launcher").click()
    expect(page.locator(f"{WIDGET} .ma-title")).to_have_text("Customer service")
    field = page.locator(f"{WIDGET} .ma-input")
    expect(field).to_have_attribute("placeholder", "Type your question…")
    expect(page.locator(f"{WIDGET} .ma-send")).to_have_text("Send")
    # The English page's greeting is the domain's English variation.
    expect(page.locator(f"{WIDGET} .ma-bot").first).to_contain_text("Hello and welcome")


def test_a_message_sent_during_a_network_drop_arrives_after_reconnect(
    page: Any, assistant: Stack, screenshots: Path
) -> None:
    open_shop(page, assistant)
    consult(page, "P1007")
    page.context.set_offline(True)
    field = page.locator(f"{WIDGET} .ma-input")
    field.fill("多少钱")
    field.press("Enter")
    expect(page.locator(f"{WIDGET} .ma-status")).to_contain_text("网络已断开")
    page.screenshot(path=str(screenshots / "06-offline.png"))
    page.context.set_offline(False)
    expect(page.locator(f"{WIDGET} .ma-bot").nth(1)).to_contain_text("¥69", timeout=20_000)
    expect(page.locator(f"{WIDGET} .ma-status")).to_be_hidden()
    assert page.locator(f"{WIDGET} .ma-user .ma-text").all_text_contents() == ["多少钱"]


def test_a_human_agent_takes_over_in_the_widget(
    page: Any, assistant: Stack, screenshots: Path
) -> None:
    open_shop(page, assistant)
    consult(page, "P1001")
    sender = sender_of(page)
    bridge = f"{assistant.settings.rasa_url}/webhooks/handoff"
    headers = {"Authorization": f"Bearer {assistant.settings.shared_secret('HANDOFF_TOKEN')}"}

    def console(action: str, **body: str) -> dict[str, Any]:
        # What the agent console does when an agent claims, answers and hands back.
        answer = requests.post(
            f"{bridge}/{action}",
            json={"sender_id": sender, "agent": "小美", **body},
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    assert console("claim")["pushed"] is True
    agent = page.locator(f"{WIDGET} .ma-agent")
    # Pushed through the channel: it shows at once, not at the next re-check.
    expect(agent.first).to_contain_text("人工客服 · 小美", timeout=2_000)
    expect(page.locator(f"{WIDGET} .ma-status")).to_contain_text("人工客服已接入")

    field = page.locator(f"{WIDGET} .ma-input")
    field.fill("耳机有杂音")
    field.press("Enter")
    expect(page.locator(f"{WIDGET} .ma-user .ma-text")).to_have_text(["耳机有杂音"])
    expect(page.locator(f"{WIDGET} .ma-typing")).to_be_hidden()
    bots_while_paused = page.locator(f"{WIDGET} .ma-bot").count()

    console("reply", text="您好，麻烦提供一下订单号<b>，我帮您换新")
    expect(agent.last.locator(".ma-text")).to_have_text(
        "您好，麻烦提供一下订单号<b>，我帮您换新", timeout=2_000
    )
    assert page.locator(f"{WIDGET} .ma-bot").count() == bots_while_paused  # the bot stayed quiet
    page.screenshot(path=str(screenshots / "07-agent-reply.png"))

    console("close")
    expect(page.locator(f"{WIDGET} .ma-bot").last).to_contain_text("智能助手", timeout=2_000)
    expect(page.locator(f"{WIDGET} .ma-status")).to_be_hidden()
    assert "¥299" in ask(page, "多少钱")


def test_browsing_as_a_demo_customer_personalises_the_chat(
    page: Any, assistant: Stack, screenshots: Path
) -> None:
    open_shop(page, assistant)
    page.select_option("select[name=customer_id]", "wx-o7Xh2-vip")
    page.click("form.demo button[type=submit]")
    page.wait_for_function("() => window.MallAssistant && window.MallAssistant.version")
    consult(page, "P1001")
    expect(page.locator(f"{WIDGET} .ma-bot").first).to_contain_text("王女士")
    assert "王女士" in ask(page, "多少钱")
    page.screenshot(path=str(screenshots / "08-demo-customer.png"))

    # Back to a new visitor: the customer's conversation is not on the page any more.
    page.select_option("select[name=customer_id]", "")
    page.click("form.demo button[type=submit]")
    page.wait_for_function("() => window.MallAssistant && window.MallAssistant.version")
    expect(page.locator(f"{WIDGET} .ma-panel")).to_be_visible()
    page.locator(f"{WIDGET} .ma-bot").first.wait_for()
    assert not any("王女士" in text for text in bot_texts(page))
