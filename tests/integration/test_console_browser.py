"""The agent console in a real browser (Debian's chromium): log in, claim, reply.

Skipped with a clear reason where /usr/bin/chromium is not installed (`make browser` installs
it with apt-get); the `chromium` fixture is in tests/conftest.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from launcher.stack import Stack
from tests.integration.conftest import CONSOLE_PASSWORD, Customer, tracker

pytestmark = pytest.mark.integration


def test_an_agent_claims_a_conversation_and_replies(
    stack: Stack, chromium: Any, screenshots: Path
) -> None:
    customer = Customer(stack.settings.rasa_url, sender=f"web-console-{uuid.uuid4().hex[:8]}")
    customer.say_text("转人工")
    customer.say("订单202611180002 三天了还没发货")
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    try:
        console = f"{stack.settings.desk_url}/console"
        page.goto(console)
        assert page.url.endswith("/console/login")  # the queue needs a login
        page.fill("input[name=username]", "demo")
        page.fill("input[name=password]", CONSOLE_PASSWORD)
        page.click("button[type=submit]")
        row = page.locator(f'tr[data-sender="{customer.sender}"]')
        row.wait_for()
        row.locator("button", has_text="接入").click()
        page.wait_for_selector("#reply-text")
        # What the customer wrote while waiting is on the agent's screen.
        assert "三天了还没发货" in page.inner_text("#transcript")
        page.fill("#reply-text", "您好，我是小美，已经帮您催仓库今天发出")
        page.click("#send")
        page.wait_for_selector("#flash-sent")
        page.wait_for_function(
            "document.querySelector('#transcript').innerText.includes('今天发出')"
        )
        page.screenshot(path=str(screenshots / "console-reply.png"), full_page=True)
    finally:
        page.close()
    events = tracker(stack.settings.rasa_url, stack.settings.rasa_api_token, customer.sender)[
        "events"
    ]
    agent_lines = [
        e["text"] for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("agent")
    ]
    assert agent_lines[-1] == "您好，我是小美，已经帮您催仓库今天发出"
