"""Rasa bot messages as WeChat messages: text, menus or numbered choices, images, cards."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# WeChat refuses text messages over 2048 bytes (UTF-8); a Chinese character takes 3.
TEXT_LIMIT_BYTES = 2048
CHOOSE_BY_NUMBER = "（回复数字即可）"
MENU_HEAD = "请选择："


@dataclass(frozen=True)
class Choice:
    """One button: what the customer sees, and what Rasa hears when they pick it."""

    title: str
    payload: str


@dataclass(frozen=True)
class TextPart:
    """Plain text (at most TEXT_LIMIT_BYTES)."""

    text: str


@dataclass(frozen=True)
class MenuPart:
    """A tappable menu (msgmenu, official accounts only)."""

    head: str
    choices: tuple[Choice, ...]


@dataclass(frozen=True)
class ImagePart:
    """An image by URL; it is uploaded as temporary media before sending."""

    url: str


@dataclass(frozen=True)
class CardPart:
    """A mini-program product card (miniprogrampage) opening the product's page."""

    title: str
    app_id: str
    page_path: str
    thumb_media_id: str | None = None
    thumb_url: str | None = None


Part = TextPart | MenuPart | ImagePart | CardPart


@dataclass(frozen=True)
class CardTarget:
    """Where product cards lead: the mini-program and its product page."""

    app_id: str | None
    product_page: str
    thumb_media_id: str | None = None


def to_parts(messages: Iterable[dict[str, Any]], *, menus: bool, cards: CardTarget) -> list[Part]:
    """The WeChat messages for Rasa's bot messages, in order, texts merged where they fit."""
    parts: list[Part] = []
    for message in messages:
        parts.extend(_message_parts(message, menus=menus, cards=cards))
    return _merge_texts(parts)


def last_choices(messages: Iterable[dict[str, Any]]) -> list[Choice] | None:
    """The buttons of the last message that has any, if it is the answer's last word."""
    choices: list[Choice] | None = None
    for message in messages:
        buttons = _choices(message.get("buttons"))
        choices = buttons or (choices if not message.get("text") else None)
    return choices


def passive_text(parts: list[Part]) -> str | None:
    """The one text that answers passively, or None when the answer needs the API."""
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    return None


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut at line ends where possible."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest.encode()) > limit:
        cut = _fit(rest, limit)
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest:
        pieces.append(rest)
    return pieces


def api_message(part: Part, openid: str, media_id: str | None = None) -> dict[str, Any]:
    """The body of one /cgi-bin/message/custom/send call (images need their media id)."""
    if isinstance(part, TextPart):
        return {"touser": openid, "msgtype": "text", "text": {"content": part.text}}
    if isinstance(part, MenuPart):
        items = [{"id": str(i), "content": c.title} for i, c in enumerate(part.choices, 1)]
        menu = {"head_content": part.head, "list": items, "tail_content": ""}
        return {"touser": openid, "msgtype": "msgmenu", "msgmenu": menu}
    if isinstance(part, ImagePart):
        return {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}
    card = {
        "title": part.title,
        "appid": part.app_id,
        "pagepath": part.page_path,
        "thumb_media_id": media_id or part.thumb_media_id,
    }
    return {"touser": openid, "msgtype": "miniprogrampage", "miniprogrampage": card}


def numbered(text: str, choices: list[Choice]) -> str:
    """Text followed by numbered choices, for places without tappable menus."""
    lines = [f"{index}. {choice.title}" for index, choice in enumerate(choices, 1)]
    return "\n".join([text.strip(), *lines, CHOOSE_BY_NUMBER]).strip()


def _message_parts(message: dict[str, Any], *, menus: bool, cards: CardTarget) -> list[Part]:
    parts: list[Part] = []
    text = str(message.get("text") or "").strip()
    choices = _choices(message.get("buttons") or message.get("quick_replies"))
    if choices and menus:
        head = text if text and len(text.encode()) <= TEXT_LIMIT_BYTES // 2 else MENU_HEAD
        if head is not text and text:
            parts.extend(TextPart(piece) for piece in split_text(text))
        parts.append(MenuPart(head, tuple(choices)))
    elif choices:
        parts.extend(TextPart(piece) for piece in split_text(numbered(text, choices)))
    elif text:
        parts.extend(TextPart(piece) for piece in split_text(text))
    custom = message.get("custom")
    if isinstance(custom, dict):
        parts.extend(_custom_parts(custom, cards))
    image = message.get("image")
    if isinstance(image, str) and image:
        parts.append(ImagePart(image))
    return parts


def _custom_parts(custom: dict[str, Any], cards: CardTarget) -> list[Part]:
    # `{"type": "product_card", "product_id": ..., "title": ..., "image": ...}` from the actions.
    if custom.get("type") != "product_card" or not custom.get("product_id"):
        return []
    product_id = str(custom["product_id"])
    title = str(custom.get("title") or custom.get("name") or product_id)
    image = custom.get("image") if isinstance(custom.get("image"), str) else None
    if cards.app_id and (image or cards.thumb_media_id):
        page = cards.product_page.format(product_id=product_id)
        return [CardPart(title, cards.app_id, page, cards.thumb_media_id, image)]
    # No mini-program to open (or no picture for the card): the assistant's own words already
    # name the product and its price, and every extra message counts against the quota.
    return []


def _choices(buttons: Any) -> list[Choice]:
    if not isinstance(buttons, list):
        return []
    choices = []
    for button in buttons:
        if isinstance(button, dict) and button.get("title"):
            title = str(button["title"])
            choices.append(Choice(title, str(button.get("payload") or title)))
    return choices


def _merge_texts(parts: list[Part]) -> list[Part]:
    # Rasa splits texts on blank lines; each WeChat message counts against the quota.
    merged: list[Part] = []
    for part in parts:
        previous = merged[-1] if merged else None
        if isinstance(part, TextPart) and isinstance(previous, TextPart):
            joined = f"{previous.text}\n\n{part.text}"
            if len(joined.encode()) <= TEXT_LIMIT_BYTES:
                merged[-1] = TextPart(joined)
                continue
        merged.append(part)
    return merged


def _fit(text: str, limit: int) -> int:
    """The number of leading characters of `text` that fit in `limit` UTF-8 bytes."""
    size = 0
    for index, char in enumerate(text):
        size += len(char.encode())
        if size > limit:
            return index
    return len(text)
