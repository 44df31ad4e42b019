"""The WeChat channel in the real assistant (Rasa + actions + mall), WeChat faked on loopback."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
import requests
import sqlalchemy as sa

from launcher.settings import StackSettings
from launcher.stack import Stack
from tests.channels.wechat.fake_wechat import FakeWeChat, running_fake
from tests.channels.wechat.protocol import Account
from tests.integration.conftest import stack_settings

pytestmark = pytest.mark.integration

APP_ID = f"wxstack{uuid.uuid4().hex[:10]}"
APP_SECRET = "stack-secret-0123456789"
TOKEN = "mallStackToken"
AES_KEY = "Zm9yLXRoZS1tYWxsLWFzc2lzdGFudC13ZWNoYXQtdGVzdA"[:43]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeWeChat]:
    with running_fake(APP_ID, APP_SECRET) as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(fake_api: FakeWeChat, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant with the WeChat channel on (safe mode, Redis), started once."""
    if not StackSettings.from_env().model_path.exists():
        pytest.fail("no trained model: run `make train` first")
    base = stack_settings(tmp_path_factory.mktemp("wechat-stack"))
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


class WeChatCustomer:
    """A customer writing to the official account; WeChat's servers played by the test."""

    def __init__(self, stack: Stack, fake: FakeWeChat, openid: str | None = None) -> None:
        self.url = f"{stack.settings.rasa_url}/webhooks/wechat/webhook"
        self.account = Account(TOKEN, APP_ID, AES_KEY)
        self.fake = fake
        self.openid = openid or f"o-test-{uuid.uuid4().hex[:10]}"

    def post(self, fields: dict[str, Any], **options: Any) -> requests.Response:
        """Push a message the way WeChat does."""
        query, body = self.account.push(fields, **options)
        return requests.post(self.url, params=query, data=body, timeout=10)

    def send(self, msg_type: str = "text", **fields: Any) -> list[str]:
        """Push a message and return what the customer sees (passive reply or API messages)."""
        seen = len(self.fake.sent_to(self.openid))
        answer = self.post(self.account.message(self.openid, msg_type, **fields))
        assert answer.status_code == 200, answer.text
        if answer.text != "success":
            return [self.account.read_reply(answer.text)["Content"]]
        return self.wait_for_api(seen)

    def say(self, text: str, **fields: Any) -> list[str]:
        """A text message."""
        return self.send(Content=text, **fields)

    def wait_for_api(self, seen: int, timeout: float = 20.0) -> list[str]:
        """Messages sent to this customer after the first `seen`, once they stop coming."""
        messages = self.fake.wait_for(self.openid, seen + 1, timeout)
        while True:
            time.sleep(0.5)
            latest = self.fake.sent_to(self.openid)
            if len(latest) == len(messages):
                break
            messages = latest
        return [_visible(message) for message in messages[seen:]]


def _visible(message: dict[str, Any]) -> str:
    if message["msgtype"] == "text":
        return str(message["text"]["content"])
    if message["msgtype"] == "msgmenu":
        menu = message["msgmenu"]
        items = " ".join(f"[{item['content']}]" for item in menu["list"])
        return f"{menu['head_content']} {items}"
    return f"<{message['msgtype']}>"


def user_texts(stack: Stack, openid: str) -> list[str]:
    """What Rasa recorded the customer saying."""
    answer = requests.get(
        f"{stack.settings.rasa_url}/conversations/{openid}/tracker",
        params={"token": stack.settings.rasa_api_token},
        timeout=10,
    )
    answer.raise_for_status()
    return [
        event.get("text") or "" for event in answer.json()["events"] if event["event"] == "user"
    ]


def coupon_codes(stack: Stack, customer_id: str) -> set[str]:
    """Codes of the coupons the mall issued to a customer."""
    engine = sa.create_engine(stack.settings.child_env()["MALL_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT code FROM coupons WHERE customer_id = :c"), {"c": customer_id}
            )
            return {str(row[0]) for row in rows}
    finally:
        engine.dispose()


def test_health_and_console_verification(stack: Stack, fake_api: FakeWeChat) -> None:
    base = f"{stack.settings.rasa_url}/webhooks/wechat"
    assert requests.get(f"{base}/", timeout=5).json()["mode"] == "safe"
    query = WeChatCustomer(stack, fake_api).account.verification("echo-98765")
    assert requests.get(f"{base}/webhook", params=query, timeout=5).text == "echo-98765"
    forged = requests.get(f"{base}/webhook", params=dict(query, signature="0" * 40), timeout=5)
    assert forged.status_code == 403


def test_sales_conversation_ends_with_a_real_coupon_code(
    stack: Stack, fake_api: FakeWeChat
) -> None:
    customer = WeChatCustomer(stack, fake_api, openid="wx-o7Xh2-vip")
    before = coupon_codes(stack, customer.openid)

    welcome = "\n".join(customer.say("你好"))
    assert "王" in welcome  # the card profile, looked up by the openid

    quote = "\n".join(customer.say("声悦Pro降噪蓝牙耳机多少钱"))
    assert "299" in quote and "[要优惠]" in quote  # a tappable menu

    offer = "\n".join(customer.say("要优惠", bizmsgmenuid="1"))
    assert "券" in offer and "[帮我领取]" in offer

    issued = "\n".join(customer.say("帮我领取", bizmsgmenuid="1"))
    new_codes = coupon_codes(stack, customer.openid) - before
    assert len(new_codes) == 1
    assert new_codes.pop() in issued  # the customer reads the real code


def test_product_card_message_makes_the_product_known(stack: Stack, fake_api: FakeWeChat) -> None:
    customer = WeChatCustomer(stack, fake_api)
    customer.send(
        "miniprogrampage",
        Title="极光20000毫安充电宝",
        AppId="wxminiprogram",
        PagePath="pages/product/index?id=P1003",
        ThumbMediaId="thumb",
    )
    assert any("129" in text for text in customer.say("多少钱"))


def test_duplicate_pushes_are_answered_once(stack: Stack, fake_api: FakeWeChat) -> None:
    customer = WeChatCustomer(stack, fake_api)
    fields = customer.account.message(customer.openid, Content="包邮吗")
    query, body = customer.account.push(fields)
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(
            pool.map(
                lambda _: requests.post(customer.url, params=query, data=body, timeout=10),
                range(3),
            )
        )
    retry = requests.post(customer.url, params=query, data=body, timeout=10)
    assert all(answer.status_code == 200 for answer in [*answers, retry])
    assert user_texts(stack, customer.openid) == ["包邮吗"]
    # WeChat reads only its latest connection for a message: each copy may carry the one
    # passive reply, and nothing more goes through the API.
    passive = {
        customer.account.read_reply(a.text)["Content"] for a in answers if a.text != "success"
    }
    sent = customer.wait_for_api(0, 3)
    assert len(passive) + len(sent) == 1, (passive, sent)


def test_slow_answer_arrives_through_the_customer_service_api(
    stack: Stack, fake_api: FakeWeChat
) -> None:
    customer = WeChatCustomer(stack, fake_api)
    actions = next(service for service in stack.services if service.name == "actions")
    assert actions.process is not None
    actions.process.send_signal(signal.SIGSTOP)  # the action server hangs
    try:
        started = time.monotonic()
        answer = customer.post(customer.account.message(customer.openid, Content="充电宝多少钱"))
        waited = time.monotonic() - started
    finally:
        actions.process.send_signal(signal.SIGCONT)
    assert answer.text == "success"
    assert waited < 5.0  # before WeChat gives up and retries
    # Generous: on a loaded machine the resumed turn can take a while; it must come at all.
    assert any("129" in text for text in customer.wait_for_api(0, timeout=60))


def test_forged_stale_malformed_and_oversized_pushes_are_refused(
    stack: Stack, fake_api: FakeWeChat
) -> None:
    customer = WeChatCustomer(stack, fake_api)
    account = customer.account
    query, body = account.push(account.message(customer.openid, Content="给我发十张券"))
    stale_query, stale_body = account.push(
        account.message(customer.openid, Content="旧消息"), timestamp=int(time.time()) - 900
    )
    refused = [
        requests.post(customer.url, params=dict(query, signature="0" * 40), data=body, timeout=5),
        requests.post(
            customer.url, params=dict(query, msg_signature="1" * 40), data=body, timeout=5
        ),
        requests.post(customer.url, params=stale_query, data=stale_body, timeout=5),
        requests.post(customer.url, params=query, data=b"<xml><Encrypt>", timeout=5),
        requests.post(customer.url, params=query, data=b"<xml>" + b"x" * 200_000, timeout=5),
    ]
    assert [answer.status_code for answer in refused] == [403, 403, 403, 400, 413]
    assert user_texts(stack, customer.openid) == []
    # Nothing is lost: the next genuine message is answered.
    assert customer.say("在吗")
    assert user_texts(stack, customer.openid) == ["在吗"]


def test_paused_conversation_is_recorded_and_only_acknowledged(
    stack: Stack, fake_api: FakeWeChat
) -> None:
    customer = WeChatCustomer(stack, fake_api)
    customer.say("你好")
    paused = requests.post(
        f"{stack.settings.rasa_url}/conversations/{customer.openid}/tracker/events",
        params={"token": stack.settings.rasa_api_token},
        json={"event": "pause"},
        timeout=10,
    )
    paused.raise_for_status()
    sent_before = len(fake_api.sent_to(customer.openid))
    answer = customer.post(customer.account.message(customer.openid, Content="蓝牙耳机多少钱"))
    assert answer.text == "success"
    time.sleep(2)
    assert len(fake_api.sent_to(customer.openid)) == sent_before  # the bot stays silent
    assert user_texts(stack, customer.openid)[-1] == "蓝牙耳机多少钱"  # the agent sees it
