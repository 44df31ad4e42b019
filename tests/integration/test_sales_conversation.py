"""A real sales conversation over HTTP against the running assistant and its trained model."""

from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from launcher.settings import ROOT
from launcher.stack import Stack
from tests.integration.conftest import REST_TOKEN, Customer, mall_get, stack_settings

pytestmark = pytest.mark.integration


def coupons_in_database(stack: Stack, customer_id: str) -> list[dict[str, object]]:
    """Issued coupons of a customer, read straight from the mall database."""
    url = stack.settings.child_env()["MALL_DATABASE_URL"]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT code, status, template_id FROM coupons WHERE customer_id = :c"),
                {"c": customer_id},
            )
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def test_sales_flow_issues_a_real_coupon(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url, sender="wx-o7Xh2-vip")
    before = {row["code"] for row in coupons_in_database(stack, customer.sender)}

    welcome = customer.say_text("你好")
    assert "王" in welcome  # the card profile's display name

    quote = customer.say_text("声悦Pro降噪蓝牙耳机多少钱")
    assert "299" in quote and "399" in quote  # current and list price
    assert "优惠" in quote

    offer = customer.say_text("要优惠")
    assert "券" in offer

    issued = customer.say_text("好的，帮我领一下")
    after = coupons_in_database(stack, customer.sender)
    new = [row for row in after if row["code"] not in before]
    assert len(new) == 1, f"expected exactly one new coupon in the mall database: {new}"
    assert new[0]["status"] == "issued"
    assert str(new[0]["code"]) in issued  # the customer is told the real code

    # A further "好的" has no open question behind it: nothing more is issued.
    customer.say_text("好的")
    assert len(coupons_in_database(stack, customer.sender)) == len(after)


def test_product_from_page_metadata(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    reply = customer.say_text("这个多少钱", metadata={"product_id": "P1003"})
    assert "129" in reply  # 极光20000毫安充电宝


def test_price_without_product_asks_which_then_answers(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    question = customer.say_text("多少钱")
    assert "哪" in question
    answer = customer.say_text("充电宝")
    assert "129" in answer


def test_unknown_product_suggests_near_matches(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    replies = customer.say("降噪耳麦多少钱")
    text = "\n".join(reply.get("text", "") for reply in replies)
    assert "没有找到" in text or "是不是" in text or "哪" in text


def test_order_status_shows_only_own_orders(stack: Stack) -> None:
    owner = Customer(stack.settings.rasa_url, sender="wx-o7Xh2-vip")
    stranger = Customer(stack.settings.rasa_url)
    orders = mall_get(stack, "/customers/wx-o7Xh2-vip/orders")["items"]
    shipped = next(order for order in orders if order["status"] == "shipped")
    mine = owner.say_text(f"订单{shipped['id']}到哪了")
    assert shipped["logistics"]["tracking_no"] in mine
    theirs = stranger.say_text(f"订单{shipped['id']}到哪了")
    assert shipped["logistics"]["tracking_no"] not in theirs


def test_short_and_huge_messages_get_a_clear_answer(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    assert customer.say_text("在吗")
    huge = requests.post(
        customer.url,
        json={"sender": customer.sender, "message": "我想问一下" * 2000},
        headers={"Authorization": f"Bearer {REST_TOKEN}"},
        timeout=30,
    )
    assert huge.status_code == 413 and huge.json()["error"] == "too_large"
    assert "Traceback" not in huge.text


def test_mall_down_gives_a_polite_answer_quickly(stack: Stack) -> None:
    """Run last in this module: it stops the mall service and starts it again."""
    mall = next(service for service in stack.services if service.name == "mall")
    assert mall.process is not None
    mall.process.send_signal(signal.SIGTERM)
    mall.process.wait(timeout=10)
    try:
        customer = Customer(stack.settings.rasa_url)
        started = time.monotonic()
        reply = customer.say_text("蓝牙耳机多少钱")
        elapsed = time.monotonic() - started
        assert "稍后" in reply or "人工" in reply
        assert elapsed < 8.0, f"the customer waited {elapsed:.1f} s"
    finally:
        env = stack.settings.child_env()
        log = open(stack.settings.log_dir / "mall.log", "ab")  # noqa: SIM115
        mall.process = subprocess.Popen(
            mall.command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        mall.log = log
        stack.wait_healthy(timeout=60)


def test_make_run_starts_everything_and_stops_on_ctrl_c(
    trained_model: Path, tmp_path: Path
) -> None:
    settings = stack_settings(tmp_path)
    env = settings.child_env()
    env.update(
        MALL_ASSISTANT_VAR=str(tmp_path),
        RASA_PORT=str(settings.rasa_port),
        ACTIONS_PORT=str(settings.actions_port),
        MALL_PORT=str(settings.mall_port),
    )
    env.pop("MALL_DATABASE_URL", None)
    env.pop("TRACKER_DB_URL", None)
    launcher = subprocess.Popen(
        [sys.executable, "-m", "launcher", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert launcher.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in launcher.stdout], daemon=True
    ).start()
    output: list[str] = []

    def read_until(marker: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(marker in line for line in output):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {marker!r} within {timeout:.0f} s:\n{''.join(output)}"
            with contextlib.suppress(queue.Empty):
                output.append(lines.get(timeout=min(remaining, 1.0)))

    try:
        read_until("Press Ctrl-C", timeout=240)
        assert "Mall Assistant is running" in "".join(output)
        assert "Training" not in "".join(output)  # the model from `make train` is current
        assert Customer(settings.rasa_url).say_text("你好")
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=30) == 0
        read_until("All processes stopped.", timeout=5)
        for port in (
            settings.rasa_port,
            settings.actions_port,
            settings.mall_port,
            settings.desk_port,
        ):
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://127.0.0.1:{port}/", timeout=2)
    finally:
        if launcher.poll() is None:
            launcher.kill()
