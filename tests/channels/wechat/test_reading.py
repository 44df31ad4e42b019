"""Reading pushes: unsafe XML refused, JSON accepted, what Rasa hears for each kind of push."""

from __future__ import annotations

import pytest

from channels.wechat.errors import RequestRejected
from channels.wechat.inbound import GREET, UNSUPPORTED_TEXT, dedupe_key, product_from, read_message
from channels.wechat.payload import parse_document

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><Content>&lol3;</Content></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><Content>&secret;</Content></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_xml_with_entities_is_refused(body: bytes) -> None:
    with pytest.raises(RequestRejected) as refused:
        parse_document(body)
    assert refused.value.status == 400


@pytest.mark.parametrize("body", [b"<xml><a>", b"not a push", b"[1, 2]", b"{bad json", b"<html/>"])
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(RequestRejected) as refused:
        parse_document(body)
    assert refused.value.status == 400


def test_oversized_body_is_refused() -> None:
    with pytest.raises(RequestRejected) as refused:
        parse_document(b"<xml><Content>" + b"x" * 70_000 + b"</Content></xml>")
    assert refused.value.status == 413


def test_json_and_xml_pushes_read_the_same() -> None:
    xml = parse_document(
        "<xml><FromUserName><![CDATA[o-1]]></FromUserName><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[多少钱]]></Content><MsgId>42</MsgId></xml>"
    )
    json_fields = parse_document(
        '{"FromUserName": "o-1", "MsgType": "text", "Content": "多少钱", "MsgId": 42}'.encode()
    )
    assert xml == json_fields
    inbound = read_message(json_fields)
    assert inbound is not None and inbound.text == "多少钱" and inbound.sender_id == "o-1"


def test_voice_with_recognition_is_heard_as_text() -> None:
    inbound = read_message(
        {"FromUserName": "o-1", "MsgType": "voice", "MsgId": "7", "Recognition": "包邮吗"}
    )
    assert inbound is not None and inbound.text == "包邮吗"


def test_unsupported_message_gets_a_polite_chinese_notice() -> None:
    inbound = read_message(
        {"FromUserName": "o-1", "MsgType": "location", "MsgId": "8", "Label": "上海"}
    )
    assert inbound is not None and inbound.text is None
    assert inbound.notice == UNSUPPORTED_TEXT


def test_subscribe_greets_and_unsubscribe_is_ignored() -> None:
    subscribe = read_message({"FromUserName": "o-1", "MsgType": "event", "Event": "subscribe"})
    assert subscribe is not None and subscribe.text == GREET
    assert read_message({"FromUserName": "o-1", "MsgType": "event", "Event": "unsubscribe"}) is None


def test_product_page_session_passes_the_product_as_metadata() -> None:
    inbound = read_message(
        {
            "FromUserName": "o-1",
            "MsgType": "event",
            "Event": "user_enter_tempsession",
            "SessionFrom": "pages/product/index?id=P1001",
        }
    )
    assert inbound is not None
    assert inbound.text == GREET and inbound.metadata == {"product_id": "P1001"}
    card = read_message(
        {
            "FromUserName": "o-1",
            "MsgType": "miniprogrampage",
            "MsgId": "9",
            "Title": "声悦Pro",
            "PagePath": "pages/product/index?id=P1002&from=share",
        }
    )
    assert card is not None and card.metadata == {"product_id": "P1002"}


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("pages/product/index?id=P1001", "P1001"),
        ('{"product_id": "P1003"}', "P1003"),
        ("product_id=P1004", "P1004"),
        ("pages/home/index", None),
        ("pages/product/index?id=<script>", None),
        ("", None),
    ],
)
def test_product_reference_forms(reference: str, expected: str | None) -> None:
    assert product_from(reference) == expected


def test_messages_dedupe_by_msg_id_and_events_by_sender_and_time() -> None:
    assert dedupe_key({"MsgId": "42", "FromUserName": "o-1"}) == "msg:42"
    event = {"FromUserName": "o-1", "CreateTime": "1700000000", "Event": "subscribe"}
    assert dedupe_key(event) == dedupe_key(dict(event))
    assert dedupe_key(event) != dedupe_key(dict(event, CreateTime="1700000001"))
    assert dedupe_key(event) != dedupe_key(dict(event, FromUserName="o-2"))
