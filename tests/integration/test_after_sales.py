"""After-sales questions as real customers ask them, through the whole running assistant.

Each test sends messages in the style of real shop chat over HTTP to Rasa (trained model),
the action server and the mall, and checks what the customer reads.
"""

from __future__ import annotations

import pytest
import requests

from launcher.stack import Stack
from tests.integration.conftest import REST_TOKEN, Customer

pytestmark = pytest.mark.integration

EARBUDS_PAGE = {"product_id": "P1001"}
VACUUM_PAGE = {"product_id": "P6002"}


def test_troubleshooting_on_a_product_page_uses_its_guide(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    reply = customer.say_text("亲 扫地机一直报E1是啥意思啊 怎么弄", metadata=VACUUM_PAGE)
    assert "扫拖一体机器人X10" in reply
    assert "E1是滚刷被缠住" in reply  # the product's own line from the mall's guide


def test_usage_question_without_a_product_asks_which_one(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    reply = customer.say_text("这个刚买的第一次用要注意点啥")
    assert "哪款商品" in reply


def test_defect_report_gets_an_apology_and_the_after_sales_path(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    replies = customer.say("收到的耳机右边没声音 才用了两天", metadata=EARBUDS_PAGE)
    text = "\n".join(reply.get("text", "") for reply in replies)
    assert "抱歉" in text
    payloads = {b["payload"] for reply in replies for b in reply.get("buttons") or []}
    assert {"/return_refund", "/request_human"} <= payloads


def test_wrong_item_is_apologised_for_specifically(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    reply = customer.say_text("你们发错货了 我买的白色给我发了个黑的")
    assert "发错" in reply


def test_refund_progress_shows_the_customers_refund(stack: Stack) -> None:
    # The demo's regular customer has an order being refunded (mall/seed/orders.yml).
    customer = Customer(stack.settings.rasa_url, sender="wx-o7Xh2-regular")
    reply = customer.say_text("退款到哪一步了 怎么还没到账")
    assert "原路退回" in reply
    assert "您的退款进度" in reply


def test_invoice_question_gets_the_invoice_answer(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    reply = customer.say_text("发票抬头开错了 能帮我重开一张公司的吗")
    assert "发票" in reply and "抬头" in reply
    assert "支付方式" not in reply


def test_price_protection_is_explained_not_sold(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    reply = customer.say_text("我前天买的 今天降价了 能保价退差价不")
    assert "7天内" in reply and "差价" in reply
    assert "领取" not in reply


def test_two_requests_in_one_message_are_both_handled(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    replies = customer.say("衣服尺码小了想换个大一码的 还有换货运费谁出啊")
    text = "\n".join(reply.get("text", "") for reply in replies)
    assert "换货" in text
    # The second request is answered outright or offered with a button that asks it.
    offered = [b for reply in replies for b in reply.get("buttons") or []]
    assert "运费" in text or any("return_refund" in b["payload"] for b in offered), text


ODD_MESSAGES = {
    "empty": "",
    "whitespace": " \n\t ",
    "emoji only": "😀😀😀",
    "5,000 characters": "退" * 5000,
    "a script tag": "<script>alert(1)</script>",
    "html": "<b>在吗</b>&nbsp;",
    "control characters": "\x00\x01\x02\x7f",
    "replacement characters": "\ufffd" * 5,
    "four scripts": "refund 退款 환불 返金",
    "an order card": "[订单编号:[ORDERID_10203040]，订单金额:[金额x]]",
}


@pytest.mark.parametrize("message", list(ODD_MESSAGES.values()), ids=list(ODD_MESSAGES))
def test_odd_messages_parse_without_error(stack: Stack, message: str) -> None:
    # Every component of the trained pipeline, through Rasa's own parse endpoint.
    answer = requests.post(
        f"{stack.settings.rasa_url}/model/parse",
        params={"token": stack.settings.rasa_api_token},
        json={"text": message},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:200]
    parsed = answer.json()
    assert parsed["intent"]["name"]
    assert -1.0 <= parsed["sentiment"]["score"] <= 1.0


@pytest.mark.parametrize(
    "name",
    [name for name in ODD_MESSAGES if name not in ("empty", "whitespace", "5,000 characters")],
)
def test_odd_messages_get_a_polite_answer(stack: Stack, name: str) -> None:
    customer = Customer(stack.settings.rasa_url)
    texts = [
        reply.get("text", "") for reply in customer.say(ODD_MESSAGES[name]) if reply.get("text")
    ]
    assert texts, f"no answer to {name}"
    assert all("Traceback" not in text and "Error" not in text for text in texts)


def test_empty_and_oversized_messages_are_refused_clearly(stack: Stack) -> None:
    url = f"{stack.settings.rasa_url}/webhooks/rest/webhook"
    headers = {"Authorization": f"Bearer {REST_TOKEN}"}
    for text, status in ((" ", 400), ("退" * 5000, 413)):
        answer = requests.post(
            url, json={"sender": "web-odd", "message": text}, headers=headers, timeout=30
        )
        assert answer.status_code == status
        assert answer.json()["message"]  # a sentence a developer can act on
