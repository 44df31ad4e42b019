"""What a WeChat push means for the assistant: the text (and page product) to send to Rasa."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, BaseMessage, UnknownMessage

from channels.wechat.errors import RequestRejected

# The intent payload that makes Rasa greet (the domain's greet rule runs action_welcome).
GREET = "/greet"
# Longest customer text passed on; WeChat itself caps text messages near this.
MAX_TEXT_CHARS = 2000

UNSUPPORTED_TEXT = "抱歉，这类消息我暂时看不了😅 请用文字告诉我您想了解什么，或回复“人工”找客服。"
UNHEARD_VOICE_TEXT = "抱歉，这条语音我没听清，麻烦打字告诉我好吗？"
# What a human agent sees in the conversation for messages the bot cannot read.
_AGENT_LABELS = {
    "image": "[图片]",
    "voice": "[语音]",
    "video": "[视频]",
    "shortvideo": "[小视频]",
    "location": "[位置]",
    "link": "[链接]",
    "file": "[文件]",
    "miniprogrampage": "[小程序卡片]",
}
_PRODUCT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PRODUCT_KEYS = ("product_id", "productId", "id", "pid")
# Events that need no answer (menu clicks open pages, template receipts, ...).
_GREETING_EVENTS = {"subscribe", "subscribe_scan", "user_enter_tempsession"}


@dataclass(frozen=True)
class Inbound:
    """One push, read: who wrote, what Rasa should hear, or what to answer without Rasa."""

    message: BaseMessage
    sender_id: str
    dedupe_key: str
    # What Rasa hears (text, voice recognition, or the greet intent for events).
    text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # The item the customer tapped in a menu the assistant sent (bizmsgmenuid).
    menu_id: str | None = None
    # A polite answer for messages the assistant cannot read...
    notice: str | None = None
    # ...and what a human agent sees for them while they have the conversation.
    agent_text: str | None = None


def read_message(fields: dict[str, Any]) -> Inbound | None:
    """The push as the assistant sees it; None for pushes that need no answer."""
    sender = str(fields.get("FromUserName") or "").strip()
    msg_type = str(fields.get("MsgType") or "").strip().lower()
    if not sender or not msg_type:
        raise RequestRejected(400, "push without FromUserName or MsgType")
    message = _typed_message(fields, msg_type)
    key = dedupe_key(fields)
    if msg_type == "event":
        return _read_event(message, fields, sender, key)
    if msg_type == "text":
        text = str(fields.get("Content") or "")[:MAX_TEXT_CHARS]
        menu_id = str(fields.get("bizmsgmenuid") or "") or None
        return Inbound(message, sender, key, text=text, menu_id=menu_id)
    if msg_type == "voice":
        recognition = str(fields.get("Recognition") or "").strip()
        if recognition:
            return Inbound(message, sender, key, text=recognition[:MAX_TEXT_CHARS])
        return Inbound(message, sender, key, notice=UNHEARD_VOICE_TEXT, agent_text="[语音]")
    if msg_type == "miniprogrampage":
        product_id = product_from(str(fields.get("PagePath") or ""))
        if product_id:
            return Inbound(message, sender, key, text=GREET, metadata={"product_id": product_id})
    label = _AGENT_LABELS.get(msg_type, "[消息]")
    detail = str(fields.get("PicUrl") or fields.get("Url") or fields.get("Title") or "")
    agent_text = f"{label} {detail}".strip()
    return Inbound(message, sender, key, notice=UNSUPPORTED_TEXT, agent_text=agent_text)


def dedupe_key(fields: dict[str, Any]) -> str:
    """Messages by MsgId; events (which have none) by sender, creation time and event."""
    msg_id = str(fields.get("MsgId") or "").strip()
    if msg_id and msg_id != "0":
        return f"msg:{msg_id}"
    sender = str(fields.get("FromUserName") or "")
    created = str(fields.get("CreateTime") or "")
    event = str(fields.get("Event") or fields.get("MsgType") or "").lower()
    return f"event:{sender}:{created}:{event}"


def product_from(reference: str) -> str | None:
    """The product id in a page path (`pages/product/index?id=P1001`), JSON, or `key=value`."""
    reference = reference.strip()
    if not reference:
        return None
    if reference.startswith("{"):
        try:
            document = json.loads(reference)
        except ValueError:
            return None
        candidates = (
            [document.get(key) for key in _PRODUCT_KEYS] if isinstance(document, dict) else []
        )
    else:
        query = urlsplit(reference).query if "?" in reference else reference
        parsed = parse_qs(query)
        candidates = [parsed.get(key, [None])[0] for key in _PRODUCT_KEYS]
    for candidate in candidates:
        if isinstance(candidate, str | int) and _PRODUCT_ID.match(str(candidate)):
            return str(candidate)
    return None


def _read_event(
    message: BaseMessage, fields: dict[str, Any], sender: str, key: str
) -> Inbound | None:
    event = str(fields.get("Event") or "").lower()
    if event not in _GREETING_EVENTS:
        return None
    metadata: dict[str, Any] = {}
    # A mini-program page passes its product as SessionFrom; a poster's QR code as its scene.
    reference = str(fields.get("SessionFrom") or fields.get("EventKey") or "")
    product_id = product_from(reference.removeprefix("qrscene_"))
    if product_id:
        metadata["product_id"] = product_id
    return Inbound(message, sender, key, text=GREET, metadata=metadata)


def _typed_message(fields: dict[str, Any], msg_type: str) -> BaseMessage:
    # wechatpy's classes give typed access and know how to address a passive reply.
    if msg_type == "event":
        event = str(fields.get("Event") or "").lower()
        if event == "subscribe" and str(fields.get("EventKey") or "").startswith("qrscene_"):
            event = "subscribe_scan"
        cls = EVENT_TYPES.get(event, UnknownMessage)
    else:
        cls = MESSAGE_TYPES.get(msg_type, UnknownMessage)
    message: BaseMessage = cls(fields)
    return message
