"""Rasa's messages as WeChat messages: length limit, menus, numbered choices, cards."""

from __future__ import annotations

from channels.wechat.outbound import (
    TEXT_LIMIT_BYTES,
    CardPart,
    CardTarget,
    Choice,
    ImagePart,
    MenuPart,
    api_message,
    last_choices,
    passive_text,
    split_text,
    to_parts,
)

CARDS = CardTarget("wxminiprogram01", "pages/product/index?id={product_id}", "thumb-1")
NO_CARDS = CardTarget(None, "pages/product/index?id={product_id}")
PRICE = {
    "text": "声悦Pro降噪蓝牙耳机现在到手价¥299。是否需要优惠?",
    "buttons": [{"title": "要优惠", "payload": "/affirm"}, {"title": "不用了", "payload": "/deny"}],
}


def test_long_text_is_split_under_the_byte_limit_without_losing_anything() -> None:
    text = "\n".join(f"第{i}行：声悦Pro降噪蓝牙耳机现在到手价¥299，原价¥399。" for i in range(120))
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(piece.encode()) <= TEXT_LIMIT_BYTES for piece in pieces)
    assert "\n".join(pieces) == text


def test_unbroken_chinese_text_is_cut_on_character_boundaries() -> None:
    pieces = split_text("优" * 1500)
    assert all(len(piece.encode()) <= TEXT_LIMIT_BYTES for piece in pieces)
    assert "".join(pieces) == "优" * 1500


def test_buttons_become_a_tappable_menu_on_official_accounts() -> None:
    parts = to_parts([PRICE], menus=True, cards=CARDS)
    assert parts == [
        MenuPart(PRICE["text"], (Choice("要优惠", "/affirm"), Choice("不用了", "/deny")))
    ]
    body = api_message(parts[0], "o-1")
    assert body["msgtype"] == "msgmenu"
    assert body["msgmenu"]["list"] == [
        {"id": "1", "content": "要优惠"},
        {"id": "2", "content": "不用了"},
    ]
    assert passive_text(parts) is None


def test_buttons_become_numbered_choices_where_menus_do_not_exist() -> None:
    parts = to_parts([PRICE], menus=False, cards=CARDS)
    text = passive_text(parts)
    assert text is not None
    assert "1. 要优惠" in text and "2. 不用了" in text and "回复数字" in text


def test_consecutive_texts_become_one_message() -> None:
    parts = to_parts([{"text": "您好"}, {"text": "有什么可以帮您？"}], menus=True, cards=CARDS)
    assert passive_text(parts) == "您好\n\n有什么可以帮您？"


def test_product_card_opens_the_product_page_in_the_mini_program() -> None:
    card = {"custom": {"type": "product_card", "product_id": "P1001", "title": "声悦Pro"}}
    parts = to_parts([card], menus=True, cards=CARDS)
    assert parts == [
        CardPart("声悦Pro", "wxminiprogram01", "pages/product/index?id=P1001", "thumb-1")
    ]
    body = api_message(parts[0], "o-1")
    assert body["miniprogrampage"]["pagepath"] == "pages/product/index?id=P1001"
    assert body["miniprogrampage"]["thumb_media_id"] == "thumb-1"
    # Without a mini-program there is no card: the quote's own text already names the product.
    card["custom"]["price"] = 299
    assert to_parts([card], menus=True, cards=NO_CARDS) == []


def test_images_are_sent_as_images() -> None:
    parts = to_parts([{"image": "http://x/p.png"}], menus=True, cards=CARDS)
    assert parts == [ImagePart("http://x/p.png")]
    assert api_message(parts[0], "o-1", "media-9")["image"] == {"media_id": "media-9"}


def test_choices_stay_open_only_while_they_are_the_last_word() -> None:
    assert last_choices([PRICE]) == [Choice("要优惠", "/affirm"), Choice("不用了", "/deny")]
    assert last_choices([PRICE, {"text": "还有别的吗"}]) is None
    assert last_choices([{"text": "好的"}]) is None
