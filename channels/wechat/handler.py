"""One push from WeChat: verify, read, dedupe, ask Rasa, answer passively or through the API."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from wechatpy.replies import TextReply

from channels.safety import BUSY_TEXT, conversation_paused, reply_or_fallback
from channels.wechat.choices import ChoiceMemory
from channels.wechat.dedupe import Deduplicator
from channels.wechat.errors import DeliveryError, RequestRejected
from channels.wechat.inbound import GREET, Inbound, read_message
from channels.wechat.outbound import Part, last_choices, passive_text
from channels.wechat.output import WeChatOutput
from channels.wechat.payload import MAX_BODY_BYTES, parse_document
from channels.wechat.security import MessageCrypto, check_fresh, check_signature, query_value
from channels.wechat.settings import WeChatSettings
from channels.wechat.store import Store
from security.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

CHANNEL = "wechat"
# The empty acknowledgement: WeChat shows nothing and does not retry.
ACK = "success"
# What a customer who writes faster than a person can is told (the message is not read).
TOO_FAST_TEXT = "您发送消息太频繁了，请稍等片刻再发。"

Ask = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to WeChat."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


ACKNOWLEDGED = Answer(200, ACK)


@dataclass(frozen=True)
class _Push:
    fields: dict[str, Any]
    nonce: str


class PushHandler:
    """Handles WeChat's server verification and message pushes for one account."""

    def __init__(self, settings: WeChatSettings, store: Store, output: WeChatOutput) -> None:
        self.settings = settings
        self.output = output
        namespace = f"wechat:{settings.app_id}"
        self.dedupe = Deduplicator(store, namespace)
        self.choices = ChoiceMemory(store, namespace)
        self._crypto = (
            MessageCrypto(settings.token, settings.encoding_aes_key, settings.app_id)
            if settings.encoding_aes_key
            else None
        )
        self._background: set[asyncio.Task[None]] = set()
        self.sender_limiter = RateLimiter(settings.sender_limit)

    def verify_server(self, args: Mapping[str, list[str]]) -> Answer:
        """GET from the console's 'submit' button: echo echostr when the signature is right."""
        try:
            self._check_query(args)
        except RequestRejected as exc:
            logger.warning("WeChat server verification refused: %s", exc.reason)
            return Answer(exc.status, exc.reason)
        echostr = query_value(args, "echostr")
        if not echostr:
            return Answer(400, "missing echostr")
        return Answer(200, echostr)

    async def handle_push(
        self, args: Mapping[str, list[str]], body: bytes, ask: Ask, agent: Any
    ) -> Answer:
        """Answer one push within WeChat's 5 s: a passive reply, or 'success' and the API."""
        started = time.monotonic()
        try:
            push = await self._open(args, body)
            inbound = read_message(push.fields)
        except RequestRejected as exc:
            logger.warning("WeChat push refused (%s): %s", exc.status, exc.reason)
            return Answer(exc.status, exc.reason)
        if inbound is None:
            return ACKNOWLEDGED
        if self.sender_limiter.hit(inbound.sender_id) is not None:
            logger.warning("WeChat customer %s is over the message rate", inbound.sender_id)
            if self.settings.is_mini_program:
                return ACKNOWLEDGED  # no API call per flooded message
            return await self._reply(inbound, push, self.output.parts([{"text": TOO_FAST_TEXT}]))
        if not await self.dedupe.first_time(inbound.dedupe_key):
            logger.info("WeChat retry of %s answered once already", inbound.dedupe_key)
            stored = await self.dedupe.reply_for(inbound.dedupe_key)
            return Answer(200, stored, "application/xml") if stored else ACKNOWLEDGED
        work = asyncio.create_task(self._respond(inbound, ask, agent))
        remaining = self.settings.reply_timeout - (time.monotonic() - started)
        try:
            parts = await asyncio.wait_for(asyncio.shield(work), timeout=max(remaining, 0.01))
        except asyncio.TimeoutError:
            # Too slow for a passive reply: acknowledge now, send through the API when ready.
            self._spawn(self._deliver_when_done(inbound.sender_id, work))
            return ACKNOWLEDGED
        except Exception:
            logger.exception("Answering a WeChat message from %s failed", inbound.sender_id)
            parts = self.output.parts([{"text": BUSY_TEXT}])
        return await self._reply(inbound, push, parts)

    async def drain(self) -> None:
        """Wait for deliveries still under way (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def _open(self, args: Mapping[str, list[str]], body: bytes) -> _Push:
        # Size first: nothing larger than a real push is read any further.
        if len(body) > MAX_BODY_BYTES:
            raise RequestRejected(413, "body too large")
        timestamp, nonce = self._check_query(args)
        encrypted_push = query_value(args, "encrypt_type") == "aes"
        if self._crypto is None:
            if encrypted_push:
                raise RequestRejected(400, "encrypted push, but no EncodingAESKey is configured")
            signature = query_value(args, "signature") or ""
            if not await self.dedupe.same_body(signature, body, 2 * self.settings.max_clock_skew):
                raise RequestRejected(403, "signature reused with a different body")
            return _Push(parse_document(body), nonce)
        if not encrypted_push:
            raise RequestRejected(400, "plain push, but the channel expects safe mode (aes)")
        envelope = parse_document(body)
        encrypted = envelope.get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise RequestRejected(400, "encrypted push without Encrypt")
        msg_signature = query_value(args, "msg_signature")
        plaintext = self._crypto.open(encrypted, msg_signature, timestamp, nonce)
        return _Push(parse_document(plaintext), nonce)

    def _check_query(self, args: Mapping[str, list[str]]) -> tuple[str, str]:
        timestamp = query_value(args, "timestamp") or ""
        nonce = query_value(args, "nonce") or ""
        signature = query_value(args, "signature")
        # Safe-mode pushes carry msg_signature over the body; `signature` comes with them
        # too and is checked here, before the body is read.
        if signature or self._crypto is None:
            check_signature(signature, self.settings.token, timestamp, nonce)
        elif not query_value(args, "msg_signature"):
            raise RequestRejected(403, "missing signature")
        if not nonce:
            raise RequestRejected(400, "missing nonce")
        check_fresh(timestamp, self.settings.max_clock_skew)
        return timestamp, nonce

    async def _respond(self, inbound: Inbound, ask: Ask, agent: Any) -> list[Part]:
        sender = inbound.sender_id
        if inbound.text is None:
            if await conversation_paused(agent, sender):
                # The human agent reads the conversation: record what the customer sent.
                messages = await self._ask_rasa(inbound, inbound.agent_text or "[消息]", ask, agent)
            else:
                messages = [{"recipient_id": sender, "text": inbound.notice}]
        else:
            text = inbound.text
            if text != GREET:
                text = await self.choices.resolve(sender, text, inbound.menu_id) or text
            messages = await self._ask_rasa(inbound, text, ask, agent)
        await self.choices.remember(sender, last_choices(messages))
        return self.output.parts(messages)

    async def _ask_rasa(
        self, inbound: Inbound, text: str, ask: Ask, agent: Any
    ) -> list[dict[str, Any]]:
        collector = CollectingOutputChannel()
        message = UserMessage(
            text,
            collector,
            inbound.sender_id,
            input_channel=CHANNEL,
            # A stable id: actions key idempotent work (coupon issuing) on it.
            message_id=f"wechat-{inbound.dedupe_key}",
            metadata=dict(inbound.metadata) or None,
        )
        try:
            await ask(message)
        except Exception:
            logger.exception("Rasa failed on a WeChat message from %s", inbound.sender_id)
        return await reply_or_fallback(agent, inbound.sender_id, collector.messages)

    async def _reply(self, inbound: Inbound, push: _Push, parts: list[Part]) -> Answer:
        if not parts:
            return ACKNOWLEDGED
        text = passive_text(parts)
        if text is None or self.settings.is_mini_program:
            self._spawn(self._deliver(inbound.sender_id, parts))
            return ACKNOWLEDGED
        reply = TextReply(message=inbound.message, content=text, time=int(time.time())).render()
        if self._crypto is not None:
            reply = self._crypto.seal(reply, push.nonce)
        await self.dedupe.remember_reply(inbound.dedupe_key, reply)
        return Answer(200, reply, "application/xml")

    async def _deliver_when_done(self, openid: str, work: asyncio.Task[list[Part]]) -> None:
        try:
            parts = await work
        except Exception:
            logger.exception("Answering a WeChat message from %s failed", openid)
            parts = self.output.parts([{"text": BUSY_TEXT}])
        await self._deliver(openid, parts)

    async def _deliver(self, openid: str, parts: list[Part]) -> None:
        try:
            await self.output.send_parts(openid, parts)
        except DeliveryError as exc:
            # The customer cannot be reached now (48-hour window, quota, API down): say so
            # in the log; there is nobody else to tell for an automatic answer.
            logger.error("WeChat answer to %s not delivered: %s", openid, exc)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        # Keep a reference: the event loop holds tasks only weakly.
        self._background.add(task)
        task.add_done_callback(self._background.discard)
