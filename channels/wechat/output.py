"""Send the assistant's messages to a WeChat customer through the customer-service API."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.channels.channel import OutputChannel

from channels.wechat.client import WeChatApi
from channels.wechat.errors import DeliveryError, OutsideServiceWindow, QuotaExceeded
from channels.wechat.outbound import (
    CardPart,
    CardTarget,
    ImagePart,
    Part,
    TextPart,
    api_message,
    to_parts,
)
from channels.wechat.settings import WeChatSettings

logger = logging.getLogger(__name__)


class WeChatOutput(OutputChannel):
    """Messages pushed with /cgi-bin/message/custom/send, in order per customer."""

    def __init__(self, settings: WeChatSettings, api: WeChatApi) -> None:
        self.settings = settings
        self.api = api
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def name(cls) -> str:
        """The channel name Rasa records."""
        return "wechat"

    def parts(self, messages: list[dict[str, Any]]) -> list[Part]:
        """Rasa's bot messages as WeChat messages for this account."""
        cards = CardTarget(
            self.settings.card_app_id,
            self.settings.product_page,
            self.settings.card_thumb_media_id,
        )
        # Mini-programs have no tappable menus: buttons become numbered choices there.
        return to_parts(messages, menus=not self.settings.is_mini_program, cards=cards)

    async def deliver(self, openid: str, messages: list[dict[str, Any]]) -> None:
        """Send Rasa bot messages (the handoff bridge's deliverer); DeliveryError on failure."""
        await self.send_parts(openid, self.parts(messages))

    async def send_parts(self, openid: str, parts: list[Part]) -> None:
        """Send WeChat messages in order; stops at the first refusal and raises it."""
        lock = self._locks.setdefault(openid, asyncio.Lock())
        try:
            async with lock:
                for part in parts:
                    await self._send_part(openid, part)
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._locks.pop(openid, None)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Send one Rasa bot message (Rasa calls this for messages it pushes itself)."""
        await self.deliver(recipient_id, [message])

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send a text."""
        await self.deliver(recipient_id, [{"text": text}])

    async def _send_part(self, openid: str, part: Part) -> None:
        media_id: str | None = None
        try:
            if isinstance(part, ImagePart):
                media_id = await self.api.upload_image(part.url)
            elif isinstance(part, CardPart) and part.thumb_url and not part.thumb_media_id:
                media_id = await self.api.upload_image(part.thumb_url)
        except (OutsideServiceWindow, QuotaExceeded):
            raise
        except DeliveryError as exc:
            # A picture that cannot be uploaded must not swallow the rest of the answer.
            logger.warning("WeChat image upload failed for %s: %s", openid, exc)
            part = _in_words(part)
        await self.api.send(api_message(part, openid, media_id))


def _in_words(part: Part) -> Part:
    if isinstance(part, ImagePart):
        return TextPart(f"图片：{part.url}")
    if isinstance(part, CardPart):
        return TextPart(f"【{part.title}】")
    return part
