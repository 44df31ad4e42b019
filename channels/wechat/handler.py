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

from channels.once import Claim
from channels.safety import BUSY_TEXT, conversation_paused, reply_or_fallback
from channels.store import Store
from channels.wechat.choices import ChoiceMemory
from channels.wechat.dedupe import Deduplicator
from channels.wechat.errors import DeliveryError, RequestRejected
from channels.wechat.inbound import GREET, Inbound, read_message
from channels.wechat.outbound import Part, last_choices, passive_text
from channels.wechat.output import WeChatOutput
from channels.wechat.payload import MAX_BODY_BYTES, parse_document
from channels.wechat.security import MessageCrypto, check_fresh, check_signature, query_value
from channels.wechat.settings import WeChatSettings
from security.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

CHANNEL = "wechat"
# The empty acknowledgement: WeChat shows nothing and does not retry.
ACK = "success"
# What a customer who writes faster than a person can is told (the message is not read).
TOO_FAST_TEXT = "您发送消息太频繁了，请稍等片刻再发。"

# How often a retry looks whether the first delivery was answered or its handler is gone.
RETRY_POLL_SECONDS = 0.2

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
            too_fast = self.output.parts([{"text": TOO_FAST_TEXT}])
            return await self._reply(inbound, push, too_fast, None)
        claim = await self.dedupe.claim(inbound.dedupe_key)
        if claim is None:
            waited = await self._wait_for_first_delivery(inbound, started)
            if isinstance(waited, Answer):
                return waited
            claim = waited
        work = asyncio.create_task(self._respond(inbound, ask, agent))
        remaining = self.settings.reply_timeout - (time.monotonic() - started)
        try:
            parts = await asyncio.wait_for(asyncio.shield(work), timeout=max(remaining, 0.01))
        except asyncio.TimeoutError:
            # Too slow for a passive reply: acknowledge now, send through the API when ready.
            self._spawn(self._deliver_when_done(inbound.sender_id, work, claim))
            return ACKNOWLEDGED
        except Exception:
            logger.exception("Answering a WeChat message from %s failed", inbound.sender_id)
            parts = self.output.parts([{"text": BUSY_TEXT}])
        return await self._reply(inbound, push, parts, claim)

    async def _wait_for_first_delivery(self, inbound: Inbound, started: float) -> Answer | Claim:
        """A retry: the first delivery's answer, or the push itself when its handler died.

        WeChat drops the earlier connection when it retries, so a passive reply is given
        again on the retry; a handler that is alive renews its lease and answers through
        the API when it is too slow; a lease that ran out means the replica handling the
        push is gone (killed mid-turn), and this process answers in its place.
        """
        key = inbound.dedupe_key
        while True:
            state = await self.dedupe.state(key)
            if state.outcome is not None:
                logger.info("WeChat retry of %s answered once already", key)
                stored = self.dedupe.reply_in(state)
                return Answer(200, stored, "application/xml") if stored else ACKNOWLEDGED
            if state.free:
                claim = await self.dedupe.claim(key)
                if claim is not None:
                    logger.warning("WeChat retry of %s: its first handler is gone", key)
                    return claim
            if time.monotonic() - started + RETRY_POLL_SECONDS >= self.settings.reply_timeout:
                return ACKNOWLEDGED  # its handler is alive and answers through the API
            await asyncio.sleep(RETRY_POLL_SECONDS)

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

    async def _reply(
        self, inbound: Inbound, push: _Push, parts: list[Part], claim: Claim | None
    ) -> Answer:
        """Answer passively or through the API; with `claim`, record that the push is answered."""
        text = passive_text(parts) if parts else None
        if text is None or self.settings.is_mini_program:
            # Answered through the API (or nothing to say): a retry is only acknowledged.
            if (claim is None or await self.dedupe.answered(claim)) and parts:
                self._spawn(self._deliver(inbound.sender_id, parts))
            return ACKNOWLEDGED
        reply = TextReply(message=inbound.message, content=text, time=int(time.time())).render()
        if self._crypto is not None:
            reply = self._crypto.seal(reply, push.nonce)
        if claim is not None and not await self.dedupe.answered_passively(claim, reply):
            return ACKNOWLEDGED  # another replica took the push over and answers it
        return Answer(200, reply, "application/xml")

    async def _deliver_when_done(
        self, openid: str, work: asyncio.Task[list[Part]], claim: Claim
    ) -> None:
        try:
            parts = await work
        except Exception:
            logger.exception("Answering a WeChat message from %s failed", openid)
            parts = self.output.parts([{"text": BUSY_TEXT}])
        if await self.dedupe.answered(claim):
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
