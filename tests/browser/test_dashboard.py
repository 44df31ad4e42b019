"""The KPI dashboard in a real browser, fed by the running assistant's own consumer.

The simulated week (tests/analytics/week.py) is published into the running stack's event
broker with Rasa's own `SQLEventBroker`, exactly as `rasa run` publishes; the stack's
analytics process consumes it; a supervisor signs in, picks the week in the date filter and
reads the figures counted by hand. The stack's mall has none of the week's customers or
orders, so only the conversation figures are checked (the order step is 0).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from launcher.stack import Stack
from tests.analytics.week import write_week

pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

pytestmark = pytest.mark.integration


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 1400}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def test_a_supervisor_reads_the_week_counted_by_hand(
    assistant: Stack, page: Any, tmp_path: Path, screenshots: Path
) -> None:
    # Playwright's sync API runs an event loop in this thread; Rasa's store needs its own.
    with ThreadPoolExecutor(1) as worker:
        worker.submit(write_week, tmp_path, assistant.settings.var_dir / "events.db").result()
    env = assistant.settings.child_env()
    desk = assistant.settings.desk_url
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.goto(f"{desk}/console/login")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", env["CONSOLE_DEMO_PASSWORD"])
    page.click("button[type=submit]")
    page.click("text=数据看板")
    page.fill("input[name=since]", "2026-11-23")
    page.fill("input[name=until]", "2026-11-29")
    deadline = time.monotonic() + 30
    while True:  # the consumer polls its broker every second
        page.click("#range button[type=submit]")
        shown = page.text_content("[data-kpi=conversations]")
        if shown == "6" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert shown == "6"
    assert page.text_content("[data-kpi=first_response_rate]") == "66.7%"  # 4 of 6
    assert page.text_content("[data-kpi=handoff_rate]") == "16.7%"  # 1 of 6
    assert page.text_content("[data-kpi=ai_resolution_rate]") == "83.3%"
    assert page.text_content("[data-kpi=fallback_rate]") == "22.2%"  # 2 of 9 messages
    assert "below" in (page.get_attribute("#tile-first_response_rate", "class") or "")
    steps = {
        step: page.text_content(f"[data-step={step}]")
        for step in ("欢迎", "询价", "推荐优惠", "领券", "下单")
    }
    assert steps == {
        "欢迎": "3（100%）",
        "询价": "2（67%）",
        "推荐优惠": "1（33%）",
        "领券": "1（33%）",
        "下单": "0（0%）",
    }
    # Seven columns, one per day; two conversations started on 11-25.
    assert page.locator("#trend rect.bar").count() == 7
    assert page.get_attribute("rect[data-day='11-25']", "data-conversations") == "2"
    assert "那个 138****5678" in page.text_content("#todo")
    assert re.search(r"负面 1.*中性 1.*正面 2", page.text_content("#sentiment-counts") or "")
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
    assert errors == []  # nothing the CSP blocked, no script errors
