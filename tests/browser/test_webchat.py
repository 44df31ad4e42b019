"""rasa-webchat, the standard client of Rasa's socketio channel, on the demo shop page.

The client comes from the npm registry (`make webchat`, node_modules/) and the desk serves it;
it talks to the real assistant over /socket.io with the web channel's identity.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from launcher.settings import ROOT
from launcher.stack import Stack
from tests.integration.conftest import mall_get

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
expect = sync_api.expect

pytestmark = pytest.mark.integration

WEBCHAT = ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile and one tab; console errors are collected."""
    if not WEBCHAT.exists():
        pytest.skip("rasa-webchat is not installed: make webchat (npm)")
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def ask(page: Any, text: str, expected: str) -> str:
    """Type a message in rasa-webchat; wait for an answer matching `expected`; return it."""
    before = page.locator(".rw-response").count()
    field = page.locator(".rw-new-message")
    field.fill(text)
    field.press("Enter")
    answers = page.locator(".rw-response")
    expect(answers.nth(before)).to_be_visible()
    expect(answers.last).to_contain_text(re.compile(expected))
    return "\n".join(answers.nth(i).inner_text() for i in range(before, answers.count()))


def sender_of(page: Any) -> str:
    token = page.evaluate("() => sessionStorage.getItem('mall-webchat:token')")
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def test_price_discount_coupon_through_rasa_webchat(
    page: Any, assistant: Stack, screenshots: Path
) -> None:
    served = requests.get(f"{assistant.settings.desk_url}/vendor/rasa-webchat/index.js", timeout=10)
    assert served.status_code == 200 and served.content == WEBCHAT.read_bytes()

    page.goto(f"{assistant.settings.desk_url}/shop/webchat")
    page.click('[data-mall-consult="P1001"]')
    page.locator("body[data-webchat=started]").wait_for()
    page.locator(".rw-launcher").click()
    expect(page.locator(".rw-response").first).to_contain_text("声悦Pro降噪蓝牙耳机")

    price = ask(page, "多少钱", "¥299")
    assert "声悦Pro降噪蓝牙耳机" in price
    offer = ask(page, "有优惠吗", "领取")
    assert "券" in offer
    claimed = ask(page, "好的", "券码")
    code = re.search(r"券码：(CP[A-Z0-9]+)", claimed)
    assert code, claimed
    page.screenshot(path=str(screenshots / "webchat-coupon-code.png"))

    # The coupon really exists in the mall for the visitor the web channel signed in, and the
    # conversation came through Rasa's socketio channel.
    sender = sender_of(page)
    assert code.group(1) in json.dumps(mall_get(assistant, f"/customers/{sender}/coupons"))
    tracker = requests.get(
        f"{assistant.settings.rasa_url}/conversations/{sender}/tracker",
        params={"token": assistant.settings.rasa_api_token},
        timeout=10,
    ).json()
    assert tracker["latest_input_channel"] == "socketio"
    assert tracker["latest_message"]["metadata"]["product_id"] == "P1001"
