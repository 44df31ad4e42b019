"""The channel end to end with a fake Rasa and a fake WeChat API server on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage

from channels import delivery
from channels.once import LEASE_SECONDS
from channels.safety import BUSY_TEXT
from channels.wechat.errors import OutsideServiceWindow
from channels.wechat.inbound import UNSUPPORTED_TEXT
from channels.wechat.outbound import TEXT_LIMIT_BYTES
from tests.channels.wechat.conftest import FakeRasa, Harness
from tests.channels.wechat.protocol import signature

pytestmark = pytest.mark.anyio

MakeHarness = Callable[..., Harness]
OFFER = [
    {
        "text": "现在到手价¥299。是否需要优惠?",
        "buttons": [
            {"title": "要优惠", "payload": "/affirm"},
            {"title": "不用了", "payload": "/deny"},
        ],
    }
]


def offer_or_echo(message: UserMessage) -> list[dict[str, Any]]:
    if message.text == "多少钱":
        return OFFER
    return [{"text": f"收到：{message.text}"}]


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_text_message_gets_a_passive_reply(make_harness: MakeHarness, safe: bool) -> None:
    harness = make_harness(safe=safe)
    answer = await harness.say("o-customer-1", "包邮吗")
    assert harness.reply_text(answer) == "收到：包邮吗"
    [heard] = harness.rasa.received
    assert heard.sender_id == "o-customer-1"  # the openid is the customer
    assert heard.input_channel == "wechat"
    reply = harness.account.read_reply(answer.body)
    assert reply["ToUserName"] == "o-customer-1"
    assert reply["FromUserName"] == harness.account.original_id
    assert harness.wechat.sent == []


async def test_server_verification_echoes_only_for_the_right_token(
    make_harness: MakeHarness,
) -> None:
    handler = make_harness().channel.handler
    query = harness_query = make_harness().account.verification("echo-123")
    ok = handler.verify_server({name: [value] for name, value in query.items()})
    assert (ok.status, ok.body) == (200, "echo-123")
    harness_query["signature"] = "0" * 40
    forged = handler.verify_server({name: [value] for name, value in harness_query.items()})
    assert forged.status == 403 and "echo-123" not in forged.body


async def test_retried_push_is_answered_once_with_the_same_reply(make_harness: MakeHarness) -> None:
    harness = make_harness()
    fields = harness.account.message("o-customer-2", Content="在吗")
    first = await harness.post(fields)
    retry = await harness.post(fields)  # WeChat retries with the same MsgId
    assert harness.rasa.texts == ["在吗"]
    assert harness.reply_text(retry) == harness.reply_text(first) == "收到：在吗"


async def test_concurrent_duplicates_reach_rasa_once(make_harness: MakeHarness) -> None:
    harness = make_harness(rasa=FakeRasa(delay=0.2))
    fields = harness.account.message("o-customer-3", Content="你好")
    answers = await asyncio.gather(*(harness.post(fields) for _ in range(3)))
    assert harness.rasa.texts == ["你好"]
    # WeChat drops a connection when it retries, so only the latest answer reaches the
    # customer: every copy carries the one reply Rasa gave, none a second turn.
    assert {harness.reply_text(answer) for answer in answers} == {"收到：你好"}
    assert harness.wechat.sent_to("o-customer-3") == []


async def test_a_retry_takes_over_a_push_whose_handler_died(make_harness: MakeHarness) -> None:
    harness = make_harness()
    fields = harness.account.message("o-customer-31", Content="还在吗")
    # Another replica claimed the push and was killed: its lease is left, nobody renews it.
    key = f"wechat:{harness.account.app_id}:seen:msg:{fields['MsgId']}"
    store = harness.channel.handler.dedupe._store
    assert await store.claim(key, "pending:dead-replica:1:x", LEASE_SECONDS)
    started = time.monotonic()
    retry = await harness.post(fields)
    assert harness.reply_text(retry) == "收到：还在吗"
    assert LEASE_SECONDS - 0.5 <= time.monotonic() - started < 4.5  # within WeChat's 5 s
    assert harness.rasa.texts == ["还在吗"]
    # The next retry gets the same reply, and Rasa no second turn.
    assert harness.reply_text(await harness.post(fields)) == "收到：还在吗"
    assert harness.rasa.texts == ["还在吗"]


async def test_a_retry_leaves_a_slow_push_to_its_live_handler(make_harness: MakeHarness) -> None:
    harness = make_harness(rasa=FakeRasa(delay=2.0 * LEASE_SECONDS), reply_timeout="1.0")
    fields = harness.account.message("o-customer-32", Content="订单到哪了")
    first = await harness.post(fields)
    assert first.body == "success"  # too slow for a passive reply: the API will answer
    retries = [await harness.post(fields) for _ in range(3)]  # the lease is renewed meanwhile
    assert [retry.body for retry in retries] == ["success"] * 3
    await harness.channel.handler.drain()
    assert harness.rasa.texts == ["订单到哪了"]
    assert [m["text"]["content"] for m in harness.wechat.sent_to("o-customer-32")] == [
        "收到：订单到哪了"
    ]


async def test_repeated_event_greets_once(make_harness: MakeHarness) -> None:
    harness = make_harness()
    event = harness.account.message("o-customer-4", "event", Event="subscribe")
    await harness.post(event)
    await harness.post(event)
    assert harness.rasa.texts == ["/greet"]


async def test_slow_answer_is_acknowledged_then_sent_through_the_api(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(rasa=FakeRasa(delay=0.6), reply_timeout="0.2")
    started = time.monotonic()
    answer = await harness.say("o-customer-5", "订单到哪了")
    assert answer.body == "success"
    assert time.monotonic() - started < 0.5  # WeChat got its answer in time
    assert harness.wechat.sent_to("o-customer-5") == []
    await harness.channel.handler.drain()
    [sent] = harness.wechat.sent_to("o-customer-5")
    assert sent["msgtype"] == "text" and sent["text"]["content"] == "收到：订单到哪了"


def forgeries(harness: Harness) -> list[tuple[str, dict[str, str], bytes, int]]:
    """(name, query, body, expected status) of pushes that must be refused."""
    account = harness.account
    query, body = account.push(account.message("o-attacker", Content="伪造"))
    stale_query, stale_body = account.push(
        account.message("o-attacker", Content="旧"), timestamp=int(time.time()) - 3600
    )
    wrong_body = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")
    plain = account.message("o-attacker", Content="明文")
    soon = signature(account.token, "soon", query["nonce"])
    badly_timed = dict(query, timestamp="soon", signature=soon)
    plain_query = {key: query[key] for key in ("signature", "timestamp", "nonce")}
    return [
        ("bad signature", dict(query, signature="f" * 40), body, 403),
        ("bad msg_signature", dict(query, msg_signature="0" * 40), body, 403),
        ("missing signature", {"timestamp": query["timestamp"], "nonce": "1"}, body, 403),
        ("stale", stale_query, stale_body, 403),
        ("timestamp not a number", badly_timed, body, 400),
        ("body swapped", query, wrong_body, 403),
        ("plain push to a safe channel", plain_query, str(plain).encode(), 400),
        ("malformed", query, b"<xml><Encrypt>", 400),
        ("oversized", query, b"<xml>" + b" " * 100_000 + b"</xml>", 413),
    ]


async def test_forged_stale_malformed_or_oversized_pushes_are_refused(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness()
    for name, query, body, status in forgeries(harness):
        answer = await harness.post_raw(query, body)
        assert answer.status == status, name
    assert harness.rasa.received == []
    assert harness.wechat.send_attempts == []
    # Nothing is lost: a genuine message right after is answered.
    assert harness.reply_text(await harness.say("o-customer-6", "还在吗")) == "收到：还在吗"


async def test_plain_mode_signature_cannot_carry_another_body(make_harness: MakeHarness) -> None:
    harness = make_harness(safe=False)
    query, body = harness.account.push(harness.account.message("o-customer-7", Content="你好"))
    assert (await harness.post_raw(query, body)).status == 200
    evil = harness.account.message("o-customer-7", Content="给我发券")
    answer = await harness.post_raw(query, harness.account.push(evil)[1])
    assert answer.status == 403
    assert harness.rasa.texts == ["你好"]


async def test_buttons_go_out_as_a_menu_and_a_tap_sends_the_payload(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(rasa=FakeRasa(replies=offer_or_echo))
    answer = await harness.say("o-customer-8", "多少钱")
    assert answer.body == "success"
    await harness.channel.handler.drain()
    [menu] = harness.wechat.sent_to("o-customer-8")
    assert menu["msgtype"] == "msgmenu"
    assert menu["msgmenu"]["head_content"] == OFFER[0]["text"]
    # Tapping 要优惠 sends its content with the menu item's id.
    await harness.say("o-customer-8", "要优惠", bizmsgmenuid="1")
    assert harness.rasa.texts[-1] == "/affirm"


async def test_numbered_choices_in_a_mini_program(make_harness: MakeHarness) -> None:
    harness = make_harness(rasa=FakeRasa(replies=offer_or_echo), account_type="mini_program")
    fields = harness.account.message("o-customer-9", Content="多少钱")
    answer = await harness.post(fields, as_json=True)
    # Mini-programs take no passive replies: everything goes through the API.
    assert answer.body == "success"
    await harness.channel.handler.drain()
    [sent] = harness.wechat.sent_to("o-customer-9")
    assert "1. 要优惠" in sent["text"]["content"] and "2. 不用了" in sent["text"]["content"]
    await harness.post(harness.account.message("o-customer-9", Content="2"), as_json=True)
    assert harness.rasa.texts[-1] == "/deny"


async def test_session_from_a_product_page_tells_rasa_the_product(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(account_type="mini_program")
    event = harness.account.message(
        "o-customer-10",
        "event",
        Event="user_enter_tempsession",
        SessionFrom="pages/product/index?id=P1001",
    )
    assert (await harness.post(event, as_json=True)).body == "success"
    [greeting] = harness.rasa.received
    assert greeting.text == "/greet" and greeting.metadata == {"product_id": "P1001"}


async def test_voice_is_heard_through_its_recognition(make_harness: MakeHarness) -> None:
    harness = make_harness()
    voice = harness.account.message(
        "o-customer-11", "voice", MediaId="m1", Format="amr", Recognition="能开发票吗"
    )
    assert harness.reply_text(await harness.post(voice)) == "收到：能开发票吗"


async def test_unsupported_message_gets_a_polite_answer_without_rasa(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness()
    location = harness.account.message(
        "o-customer-12", "location", Location_X="31.2", Location_Y="121.4", Label="上海"
    )
    assert harness.reply_text(await harness.post(location)) == UNSUPPORTED_TEXT
    assert harness.rasa.received == []


async def test_during_a_handoff_rasa_records_and_the_channel_only_acknowledges(
    make_harness: MakeHarness,
) -> None:
    rasa = FakeRasa()
    rasa.paused.add("o-customer-13")
    harness = make_harness(rasa=rasa)
    assert (await harness.say("o-customer-13", "人呢？")).body == "success"
    image = harness.account.message("o-customer-13", "image", PicUrl="http://p/1.jpg", MediaId="m")
    assert (await harness.post(image)).body == "success"
    await harness.channel.handler.drain()
    assert rasa.texts == ["人呢？", "[图片] http://p/1.jpg"]  # the agent sees both
    assert harness.wechat.send_attempts == []


async def test_agent_replies_are_delivered_through_the_api(make_harness: MakeHarness) -> None:
    harness = make_harness()
    harness.channel.blueprint(harness.rasa.ask)  # Rasa builds the blueprint at start
    pushed = await delivery.deliver("wechat", "o-customer-14", [{"text": "我是客服小李"}])
    assert pushed
    assert harness.wechat.sent_to("o-customer-14")[0]["text"]["content"] == "我是客服小李"
    harness.wechat.always_error = 45015
    with pytest.raises(OutsideServiceWindow):
        await delivery.deliver("wechat", "o-customer-14", [{"text": "还在吗"}])


async def test_silence_from_rasa_becomes_an_apology(make_harness: MakeHarness) -> None:
    harness = make_harness(rasa=FakeRasa(replies=lambda message: []))
    assert harness.reply_text(await harness.say("o-customer-15", "在吗")) == BUSY_TEXT


async def test_a_failing_rasa_becomes_an_apology(make_harness: MakeHarness) -> None:
    def broken(message: UserMessage) -> list[dict[str, Any]]:
        raise RuntimeError("action server down")

    harness = make_harness(rasa=FakeRasa(replies=broken))
    assert harness.reply_text(await harness.say("o-customer-16", "在吗")) == BUSY_TEXT


async def test_long_answer_arrives_whole_in_several_messages(make_harness: MakeHarness) -> None:
    long_text = "\n".join(f"第{i}条：单笔订单满¥99包邮，不满收运费¥8。" for i in range(150))
    harness = make_harness(rasa=FakeRasa(replies=lambda message: [{"text": long_text}]))
    assert (await harness.say("o-customer-17", "运费规则")).body == "success"
    await harness.channel.handler.drain()
    sent = harness.wechat.sent_to("o-customer-17")
    assert len(sent) > 1
    assert all(len(m["text"]["content"].encode()) <= TEXT_LIMIT_BYTES for m in sent)
    assert "\n".join(m["text"]["content"] for m in sent) == long_text


async def test_get_verification_signature_is_the_published_algorithm(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness()
    stamp, nonce = str(int(time.time())), "5150"
    query = {
        "signature": signature(harness.account.token, stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "echostr": "abc",
    }
    answer = harness.channel.handler.verify_server({k: [v] for k, v in query.items()})
    assert answer.body == "abc"


async def test_a_customer_writing_faster_than_a_person_is_told_to_slow_down(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(sender_rate_limit="3/60")
    answers = [await harness.say("o-flood", f"第{n}条") for n in range(5)]
    assert harness.rasa.texts == ["第0条", "第1条", "第2条"]  # the rest never reach Rasa
    assert harness.reply_text(answers[3]) == "您发送消息太频繁了，请稍等片刻再发。"
    assert harness.reply_text(await harness.say("o-someone-else", "在吗")) == "收到：在吗"
