"""Proactive offers through the real assistant: the scheduler's passes, Rasa, the channels.

The whole assistant runs (mall, actions, Rasa with the trained model, desk) with the web
channel and WeChat on (WeChat's servers faked on loopback). The test plays the scheduler: it
runs `mall.scheduler.run_once` against the stack's mall database with a clock it sets, so
"31 minutes after the consultation" is a `now` argument, not a wait. `pytest -m integration
-k proactive` selects these tests.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
import requests
from sqlalchemy import select

from launcher.settings import StackSettings
from launcher.stack import Stack
from mall.db import Database
from mall.experiments import load_experiments
from mall.models import (
    BehaviourEvent,
    Coupon,
    Customer,
    ExperimentExposure,
    Order,
    OutreachJob,
    utcnow,
)
from mall.outreach import Guards, Rule, load_rules
from mall.scheduler import RasaDeliverer, run_once
from tests.channels.wechat.fake_wechat import FakeWeChat, running_fake
from tests.channels.wechat.protocol import Account
from tests.integration.conftest import stack_settings

pytestmark = pytest.mark.integration

APP_ID = f"wxpro{uuid.uuid4().hex[:10]}"
APP_SECRET = "proactive-secret-0123456789"
TOKEN = "mallProactiveToken"
AES_KEY = "Zm9yLXRoZS1tYWxsLWFzc2lzdGFudC13ZWNoYXQtdGVzdA"[:43]
REDIS_URL = "redis://127.0.0.1:6379/0"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CONSULT_RULES = tuple(rule for rule in load_rules() if rule.id == "consult_no_order")
# Words every proactive coupon line carries (both A/B variants), and the opt-out hint.
OFFER_WORDS = "还在等您"
OPT_OUT_HINT = "退订"


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeWeChat]:
    with running_fake(APP_ID, APP_SECRET) as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(fake_api: FakeWeChat, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The assistant with the web channel and WeChat (safe mode, Redis), started once."""
    if not StackSettings.from_env().model_path.exists():
        pytest.fail("no trained model: run `make train` first")
    base = stack_settings(tmp_path_factory.mktemp("proactive-stack"))
    wechat_env = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "WECHAT_API_BASE_URL": fake_api.url,
        "WECHAT_REDIS_URL": REDIS_URL,
    }
    running = Stack(base.replace(extra_env={**base.extra_env, **wechat_env}))
    running.start(timeout=300)
    yield running
    running.stop()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"wechat:{APP_ID}*"):
        client.delete(key)


@pytest.fixture(scope="module")
def mall_db(stack: Stack) -> Iterator[Database]:
    database = Database(stack.settings.child_env()["MALL_DATABASE_URL"])
    yield database
    database.dispose()


# --- the customers ----------------------------------------------------------------------------


class WebCustomer:
    """A visitor chatting in the web widget (the channel's own HTTP API, as the widget does)."""

    def __init__(self, stack: Stack) -> None:
        self.web = f"{stack.settings.rasa_url}/webhooks/web"
        answer = requests.post(f"{self.web}/session", timeout=10)
        assert answer.status_code == 201, answer.text
        self.token, self.sender = answer.json()["token"], answer.json()["sender_id"]
        self.cursor = 0.0
        # Item ids already shown: history overlaps its cursor, the widget shows each id once.
        self.seen: set[str] = set()

    def say(self, text: str) -> str:
        answer = requests.post(
            f"{self.web}/webhook",
            json={"message": text, "message_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        self.history()  # move the cursor past this turn
        return "\n".join(m.get("text", "") for m in answer.json()["messages"])

    def history(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """The bot's new messages (waiting up to `wait` s for some, as an open widget does)."""
        answer = requests.get(
            f"{self.web}/history",
            params={"sender": self.sender, "after": self.cursor, "wait": wait},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=wait + 15,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        self.cursor = body["cursor"]
        new = [item for item in body["items"] if item["id"] not in self.seen]
        self.seen.update(item["id"] for item in new)
        return [item for item in new if item["role"] == "bot"]


class WeChatCustomer:
    """A customer of the official account; WeChat's servers are played by the test."""

    def __init__(self, stack: Stack, fake: FakeWeChat) -> None:
        self.url = f"{stack.settings.rasa_url}/webhooks/wechat/webhook"
        self.account = Account(TOKEN, APP_ID, AES_KEY)
        self.fake = fake
        self.openid = f"o-pro-{uuid.uuid4().hex[:10]}"

    def say(self, text: str) -> str:
        seen = len(self.fake.sent_to(self.openid))
        query, body = self.account.push(self.account.message(self.openid, "text", Content=text))
        answer = requests.post(self.url, params=query, data=body, timeout=10)
        assert answer.status_code == 200, answer.text
        if answer.text != "success":
            return str(self.account.read_reply(answer.text)["Content"])
        return "\n".join(_visible(m) for m in self.fake.wait_for(self.openid, seen + 1)[seen:])

    def api_messages(self) -> list[str]:
        return [_visible(message) for message in self.fake.sent_to(self.openid)]

    def settled(self, quiet: float = 2.0) -> int:
        """How many API messages the customer has, once none came for `quiet` seconds (a
        slow answer goes through the API after the passive reply's 4.5 s)."""
        count = len(self.api_messages())
        while True:
            time.sleep(quiet)
            now = len(self.api_messages())
            if now == count:
                return count
            count = now


def _visible(message: dict[str, Any]) -> str:
    if message["msgtype"] == "text":
        return str(message["text"]["content"])
    if message["msgtype"] == "msgmenu":
        menu = message["msgmenu"]
        return menu["head_content"] + " " + " ".join(item["content"] for item in menu["list"])
    return f"<{message['msgtype']}>"


# --- the scheduler, with the test's clock ---------------------------------------------------


def daytime_guards(now: datetime) -> Guards:
    """The default caps, with quiet hours placed away from `now` (the test may run at any
    hour): two hours that start three hours after it, in Shanghai time."""
    local = now.astimezone(SHANGHAI)
    start = (local + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    end = (local + timedelta(hours=5)).time().replace(second=0, microsecond=0)
    return Guards(quiet_start=start, quiet_end=end)


def consult_time(mall_db: Database, customer_id: str) -> datetime:
    with mall_db.read_session() as session:
        moment = session.scalar(
            select(BehaviourEvent.occurred_at)
            .where(BehaviourEvent.customer_id == customer_id, BehaviourEvent.type == "consult")
            .order_by(BehaviourEvent.occurred_at.desc())
        )
    assert moment is not None, f"the price question of {customer_id} recorded no consultation"
    return moment


def scheduler_pass(
    stack: Stack,
    mall_db: Database,
    now: datetime,
    *,
    worker: str = "test-scheduler",
    guards: Guards | None = None,
    rules: tuple[Rule, ...] = CONSULT_RULES,
) -> dict[str, int]:
    deliverer = RasaDeliverer(stack.settings.rasa_url, stack.settings.rasa_api_token, timeout=30)
    decided = run_once(
        mall_db, rules, deliverer, worker=worker, guards=guards or daytime_guards(now), now=now
    )
    return dict(decided)


def jobs_of(mall_db: Database, customer_id: str) -> list[tuple[str, str | None]]:
    with mall_db.read_session() as session:
        return [
            (job.status, job.reason)
            for job in session.scalars(
                select(OutreachJob).where(OutreachJob.customer_id == customer_id)
            )
        ]


def coupons_of(mall_db: Database, customer_id: str) -> list[str]:
    with mall_db.read_session() as session:
        return list(session.scalars(select(Coupon.code).where(Coupon.customer_id == customer_id)))


# --- the tests --------------------------------------------------------------------------------


def test_proactive_offer_reaches_the_open_widget_once_and_yes_claims_it(
    stack: Stack, mall_db: Database
) -> None:
    customer = WebCustomer(stack)
    assert "¥" in customer.say("声悦Pro降噪蓝牙耳机多少钱")
    customer.say("不用了")  # no discount now: the conversation rests
    consulted = consult_time(mall_db, customer.sender)

    # Half an hour is not over yet: nothing.
    scheduler_pass(stack, mall_db, consulted + timedelta(minutes=29))
    assert jobs_of(mall_db, customer.sender) == []

    # The widget is open, waiting for news, when the 31st minute's pass runs.
    waiting: list[list[dict[str, Any]]] = []
    widget = threading.Thread(target=lambda: waiting.append(customer.history(wait=20)))
    widget.start()
    time.sleep(1.0)
    scheduler_pass(stack, mall_db, consulted + timedelta(minutes=31))
    widget.join(timeout=30)
    assert waiting and len(waiting[0]) == 1, waiting
    offer = waiting[0][0]
    assert OFFER_WORDS in offer["text"] and "声悦Pro降噪蓝牙耳机" in offer["text"]
    assert OPT_OUT_HINT in offer["text"]
    assert [b["title"] for b in offer["buttons"]] == ["帮我领取", "不用了"]
    assert jobs_of(mall_db, customer.sender) == [("sent", "via web")]

    # Later passes send nothing more for the same consultation.
    scheduler_pass(stack, mall_db, consulted + timedelta(minutes=45))
    assert customer.history(wait=2) == []

    # "好的" claims the offered coupon through the ordinary rule.
    reply = customer.say("好的")
    codes = coupons_of(mall_db, customer.sender)
    assert len(codes) == 1 and codes[0] in reply


def test_proactive_offer_waits_for_the_next_visit_when_the_widget_is_closed(
    stack: Stack, mall_db: Database
) -> None:
    customer = WebCustomer(stack)
    customer.say("充电宝多少钱")
    consulted = consult_time(mall_db, customer.sender)
    scheduler_pass(stack, mall_db, consulted + timedelta(minutes=31))
    # The next visit (a new page load reads the history from the start) shows it once.
    customer.cursor, customer.seen = 0.0, set()
    offers = [m for m in customer.history() if OFFER_WORDS in m["text"]]
    assert len(offers) == 1


def test_proactive_offer_reaches_wechat_once_even_with_two_schedulers_racing(
    stack: Stack, mall_db: Database, fake_api: FakeWeChat
) -> None:
    customer = WeChatCustomer(stack, fake_api)
    assert "¥" in customer.say("蓝牙耳机多少钱")
    consulted = consult_time(mall_db, customer.openid)
    before = customer.settled()
    now = consulted + timedelta(minutes=31)
    passes = [
        threading.Thread(target=scheduler_pass, args=(stack, mall_db, now), kwargs={"worker": w})
        for w in ("scheduler-a", "scheduler-b")
    ]
    for thread in passes:
        thread.start()
    for thread in passes:
        thread.join(timeout=60)
    fake_api.wait_for(customer.openid, before + 1)
    time.sleep(2.0)  # a second message, if there were one, would have come by now
    sent = customer.api_messages()[before:]
    assert len(sent) == 1 and OFFER_WORDS in sent[0], sent
    assert jobs_of(mall_db, customer.openid) == [("sent", "via wechat")]
    # The customer answers inside WeChat; the coupon is issued once.
    reply = customer.say("好的")
    codes = coupons_of(mall_db, customer.openid)
    assert len(codes) == 1 and codes[0] in reply


def test_proactive_offer_skips_wechat_customers_outside_the_48_hour_window(
    stack: Stack, mall_db: Database, fake_api: FakeWeChat
) -> None:
    customer = WeChatCustomer(stack, fake_api)
    customer.say("充电宝多少钱")
    consulted = consult_time(mall_db, customer.openid)
    before = customer.settled()
    # The job's first pass comes two days later (the scheduler was down, say).
    scheduler_pass(stack, mall_db, consulted + timedelta(hours=49))
    assert jobs_of(mall_db, customer.openid) == [("skipped", "outside WeChat's 48-hour window")]
    time.sleep(1.0)
    assert customer.api_messages()[before:] == []


def test_proactive_offer_waits_out_quiet_hours(stack: Stack, mall_db: Database) -> None:
    customer = WebCustomer(stack)
    customer.say("充电宝多少钱")
    consulted = consult_time(mall_db, customer.sender)
    now = consulted + timedelta(minutes=31)
    local = now.astimezone(SHANGHAI)
    quiet = Guards(
        quiet_start=(local - timedelta(hours=1)).time().replace(second=0, microsecond=0),
        quiet_end=(local + timedelta(hours=1)).time().replace(second=0, microsecond=0),
    )
    scheduler_pass(stack, mall_db, now, guards=quiet)
    assert jobs_of(mall_db, customer.sender) == [("pending", "quiet hours")]
    assert customer.history(wait=2) == []
    # Once they are over, it goes.
    scheduler_pass(stack, mall_db, now + timedelta(hours=1, minutes=1), guards=quiet)
    assert [m for m in customer.history(wait=5) if OFFER_WORDS in m["text"]]


def test_proactive_offers_stop_after_opting_out_and_come_back_after_opting_in(
    stack: Stack, mall_db: Database
) -> None:
    customer = WebCustomer(stack)
    assert "已为您退订" in customer.say("以后别再给我发优惠消息了，退订")
    with mall_db.read_session() as session:
        found = session.get(Customer, customer.sender)
        assert found is not None and found.opt_outs == ["marketing"]
    customer.say("充电宝多少钱")
    consulted = consult_time(mall_db, customer.sender)
    scheduler_pass(stack, mall_db, consulted + timedelta(minutes=31))
    assert jobs_of(mall_db, customer.sender) == [("skipped", "opted out")]
    assert customer.history(wait=2) == []

    assert "已为您恢复推送" in customer.say("恢复推送")
    with mall_db.read_session() as session:
        found = session.get(Customer, customer.sender)
        assert found is not None and found.opt_outs == []


def test_no_proactive_offer_after_the_customer_ordered(stack: Stack, mall_db: Database) -> None:
    customer = WebCustomer(stack)
    customer.say("充电宝多少钱")
    consulted = consult_time(mall_db, customer.sender)
    with mall_db.write_session() as session:
        session.add(
            Order(
                id=f"T{uuid.uuid4().int % 10**15:015d}",
                customer_id=customer.sender,
                status="paid",
                created_at=consulted + timedelta(minutes=10),
                goods_amount=Decimal("129"),
                total=Decimal("129"),
                recipient_name="测试",
                recipient_phone="13800000000",
                region="上海市",
                address_detail="测试路1号",
            )
        )
    scheduler_pass(stack, mall_db, consulted + timedelta(minutes=31))
    assert jobs_of(mall_db, customer.sender) == []  # the rule's "without: order" holds
    assert customer.history(wait=2) == []


def test_no_proactive_offer_while_handed_off(stack: Stack, mall_db: Database) -> None:
    customer = WebCustomer(stack)
    customer.say("充电宝多少钱")
    customer.say("转人工")
    consulted = consult_time(mall_db, customer.sender)
    decided = scheduler_pass(stack, mall_db, consulted + timedelta(minutes=31))
    assert jobs_of(mall_db, customer.sender) == [("pending", "handed off")], decided
    assert [m for m in customer.history(wait=2) if OFFER_WORDS in m["text"]] == []


def test_proactive_coupon_line_is_the_customers_stable_ab_variant(
    stack: Stack, mall_db: Database
) -> None:
    """The shown line is the variant the experiment's hash gives the customer, recorded once."""
    (experiment,) = (e for e in load_experiments() if e.line == "utter_proactive_coupon")
    phrase = {"saving": "下单立省", "price_after": "券后到手只要"}
    shown: dict[str, str] = {}
    for _ in range(4):
        customer = WebCustomer(stack)
        customer.say("声悦Pro降噪蓝牙耳机多少钱")
        consulted = consult_time(mall_db, customer.sender)
        scheduler_pass(stack, mall_db, consulted + timedelta(minutes=31))
        (offer,) = (m for m in customer.history(wait=5) if OFFER_WORDS in m["text"])
        expected = experiment.assign(customer.sender)
        assert expected is not None
        assert phrase[expected.id] in offer["text"], (expected.id, offer["text"])
        with mall_db.read_session() as session:
            stored = session.scalars(
                select(ExperimentExposure.variant_id).where(
                    ExperimentExposure.customer_id == customer.sender
                )
            ).all()
        assert stored == [expected.id]
        shown[customer.sender] = expected.id
    assert set(shown.values()) <= {"saving", "price_after"}


def test_proactive_rules_file_and_guard_defaults_are_what_the_readme_says() -> None:
    ids = {rule.id: rule for rule in load_rules()}
    assert ids["consult_no_order"].within == timedelta(minutes=30)
    assert ids["cart_no_order"].within == timedelta(hours=24)
    assert ids["churn_win_back"].inactive == timedelta(days=7)
    assert ids["back_in_stock"].stock_back
    guards = Guards()
    assert (guards.quiet_start, guards.quiet_end) == (clock(22, 0), clock(8, 0))
    assert (guards.per_day, guards.per_week) == (1, 3)
    assert utcnow().tzinfo is not None
