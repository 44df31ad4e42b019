"""The web chat channel: signed per-visitor tokens, messages, history with long-poll, assets."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import delivery, safety
from channels.once import Claim, Once
from channels.ratelimits import RateLimited, client_address, too_many
from channels.settings import channel_settings, merged
from channels.store import Store, open_store
from channels.tracker_store import retrieve_since
from channels.web.history import conversation_items, items_after
from channels.web.notify import Notifier
from channels.web.tokens import (
    DEFAULT_TTL_SECONDS,
    SENDER_ID,
    Claims,
    TokenError,
    TokenSigner,
    bearer_token,
    issue_jwt,
    new_visitor_id,
)
from security.ratelimit import Limit, RateLimiter
from security.tokens import SecretError

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS = {
    "widget.js": "application/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
}
MAX_BODY_BYTES = 16 * 1024
MAX_MESSAGE_CHARS = 2000
# Long-poll: a waiting request returns after at most this long (below common proxy timeouts)
# and re-reads the tracker this often, for messages written by another Rasa process.
MAX_WAIT_SECONDS = 25.0
RECHECK_SECONDS = 5.0
# An IANA time zone name as browsers report it ("Asia/Shanghai", "America/Argentina/Salta").
TIME_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){1,2}$")
# How long after sending a message on its own Rasa has surely stored it.
STORED_AFTER_SECONDS = 1.0
# A history answer repeats this much before the cursor: an event saved late (a turn that
# finished after an agent's reply) still reaches the widget, which drops what it has by id.
OVERLAP_SECONDS = 60.0
# Retried sends (a response lost in a network drop) are answered once per message id, for
# this long, by every replica sharing WEB_REDIS_URL (without it, by this process).
SEEN_TTL = 3600
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
PRODUCT_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
SECRET_HEADER = "X-Web-Channel-Secret"
# Per client address: new sessions; per conversation and per client address: messages.
DEFAULT_SESSION_LIMIT = Limit(30, 60)
DEFAULT_MESSAGE_LIMIT = Limit(20, 60)
DEFAULT_CLIENT_MESSAGE_LIMIT = Limit(120, 60)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
Handler = Callable[[Request], Coroutine[Any, Any, HTTPResponse]]


class RequestRefused(Exception):
    """A request the channel answers with an error status and a JSON explanation."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _json(body: Any, status: int = 200) -> HTTPResponse:
    # Chinese stays readable for anyone looking at the answers with curl.
    return response.json(body, status=status, dumps=partial(json.dumps, ensure_ascii=False))


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return _json({"error": code, "message": message}, status=status)


def _json_body(request: Request) -> dict[str, Any]:
    if len(request.body or b"") > MAX_BODY_BYTES:
        raise RequestRefused(413, "too_large", "请求太大。")
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise RequestRefused(400, "invalid_json", "请求体不是合法的 JSON。") from None
    if not isinstance(body, dict):
        raise RequestRefused(400, "invalid_json", "请求体必须是 JSON 对象。")
    return body


def page_metadata(raw: Any) -> dict[str, str]:
    """The page context a browser may pass: product id, page URL, language, time zone."""
    # Whitelisted: metadata reaches the actions and the tracker, and a browser must not be
    # able to pose as an agent or smuggle other keys in.
    if not isinstance(raw, dict):
        return {}
    metadata: dict[str, str] = {}
    product_id = raw.get("product_id")
    if isinstance(product_id, str) and PRODUCT_ID.match(product_id):
        metadata["product_id"] = product_id
    language = raw.get("language")
    if language in ("zh", "en"):
        metadata["language"] = language
    page_url = raw.get("page_url")
    if (
        isinstance(page_url, str)
        and len(page_url) <= 2048
        and page_url.startswith(("http://", "https://"))
    ):
        metadata["page_url"] = page_url
    time_zone = raw.get("time_zone")
    if isinstance(time_zone, str) and TIME_ZONE.match(time_zone):
        # Checked against the zone database by the mall, which keeps it for quiet hours.
        metadata["time_zone"] = time_zone
    return metadata


def _float_arg(request: Request, name: str, default: float) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RequestRefused(400, "invalid_request", f"参数 {name} 必须是数字。") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise RequestRefused(400, "invalid_request", f"参数 {name} 必须是数字。")
    return value


class WakingOutput(CollectingOutputChannel):
    """Messages Rasa sends on its own (a triggered proactive offer): wake the open widget.

    The messages are in the conversation, so an open widget's history request picks them up
    and a closed one shows them on the next visit. Rasa saves the tracker after sending, so
    the widget is woken once more a moment later, when the messages are certainly stored.
    """

    def __init__(self, notifier: Notifier) -> None:
        super().__init__()
        self._notifier = notifier

    async def _persist_message(self, message: dict[str, Any]) -> None:
        await super()._persist_message(message)
        recipient = message.get("recipient_id")
        if isinstance(recipient, str):
            self._notifier.notify(recipient)
            asyncio.get_running_loop().call_later(
                STORED_AFTER_SECONDS, self._notifier.notify, recipient
            )


class WebInput(InputChannel):
    """The chat widget's channel: `/webhooks/web/...` on the Rasa server."""

    @classmethod
    def name(cls) -> str:
        """Channel name: routes live under /webhooks/web/."""
        return "web"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebInput:
        """Build from the credentials.yml block over WEB_* settings; no secret is refused.

        In development an unset WEB_CHANNEL_SECRET is generated once under var/secrets/.
        """
        settings = channel_settings()
        credentials = merged(
            credentials,
            {
                "session_rate_limit": settings.web_session_rate_limit,
                "message_rate_limit": settings.web_message_rate_limit,
                "client_rate_limit": settings.web_client_rate_limit,
                "redis_url": settings.web_redis_url,
            },
        )
        try:
            secret = settings.secret("WEB_CHANNEL_SECRET", credentials.get("secret"))
        except SecretError as error:
            raise RasaException(f"The web channel cannot sign widget tokens: {error}") from None
        ttl = int(credentials.get("token_ttl_seconds") or DEFAULT_TTL_SECONDS)
        try:
            return cls(
                secret,
                token_ttl_seconds=ttl,
                session_limit=Limit.parse(
                    "WEB_SESSION_RATE_LIMIT",
                    credentials.get("session_rate_limit"),
                    DEFAULT_SESSION_LIMIT,
                ),
                message_limit=Limit.parse(
                    "WEB_MESSAGE_RATE_LIMIT",
                    credentials.get("message_rate_limit"),
                    DEFAULT_MESSAGE_LIMIT,
                ),
                client_message_limit=Limit.parse(
                    "WEB_CLIENT_RATE_LIMIT",
                    credentials.get("client_rate_limit"),
                    DEFAULT_CLIENT_MESSAGE_LIMIT,
                ),
                store=open_store(credentials.get("redis_url") or None),
            )
        except ValueError as error:
            raise RasaException(str(error)) from None

    def __init__(
        self,
        secret: str,
        token_ttl_seconds: int = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
        *,
        session_limit: Limit = DEFAULT_SESSION_LIMIT,
        message_limit: Limit = DEFAULT_MESSAGE_LIMIT,
        client_message_limit: Limit = DEFAULT_CLIENT_MESSAGE_LIMIT,
        store: Store | None = None,
    ) -> None:
        self.signer = TokenSigner(secret, ttl_seconds=token_ttl_seconds, clock=clock)
        self.session_limiter = RateLimiter(session_limit)
        self.message_limiter = RateLimiter(message_limit)
        self.client_message_limiter = RateLimiter(client_message_limit)
        self._secret = secret.encode("utf-8")
        self.notifier = Notifier()
        self.once = Once(store or open_store(None))
        self._assets = {name: (STATIC_DIR / name).read_bytes() for name in ASSETS}

    # -- pieces the routes share -------------------------------------------------------

    def authenticate(self, request: Request) -> Claims:
        """The claims of the request's bearer token; RequestRefused (401) otherwise."""
        try:
            return self.signer.verify(bearer_token(request.headers.get("Authorization")))
        except TokenError as exc:
            raise RequestRefused(401, exc.code, exc.message) from None

    @staticmethod
    def check_sender(claims: Claims, claimed: Any) -> None:
        """Refuse (403) a request that names a conversation other than its token's."""
        if claimed is not None and claimed != claims.sender_id:
            raise RequestRefused(403, "sender_mismatch", "无权访问其他顾客的会话。")

    def _server_may_issue(self, request: Request) -> bool:
        # The mall's server, which knows who is signed in, proves itself with the secret.
        offered = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        return bool(offered) and hmac.compare_digest(offered, self._secret)

    def get_output_channel(self) -> CollectingOutputChannel:
        """For messages Rasa sends on its own (`trigger_intent` with `output_channel=latest`)."""
        return WakingOutput(self.notifier)

    async def deliver(self, recipient_id: str, messages: list[dict[str, Any]]) -> None:
        """Wake the widget of `recipient_id`: the handoff bridge put `messages` in its tracker."""
        logger.debug("waking %s for %d pushed message(s)", recipient_id, len(messages))
        self.notifier.notify(recipient_id)

    def _token_answer(self, sender_id: str, *, status: int = 200) -> HTTPResponse:
        token, claims = self.signer.issue(sender_id)
        return _json(
            {
                "token": token,
                "sender_id": claims.sender_id,
                "expires_at": claims.expires_at,
                "expires_in": claims.expires_at - claims.issued_at,
                # The same identity for Rasa's socketio channel (channels/socketio.py).
                "socketio_token": issue_jwt(
                    self._secret.decode("utf-8"), claims.sender_id, claims.expires_at
                ),
            },
            status=status,
        )

    # -- routes ------------------------------------------------------------------------

    async def session(self, request: Request) -> HTTPResponse:
        """Issue a token: renew a valid one, one for a known customer, or a new visitor's."""
        # The shop's server (holding the secret) asks for every signed-in customer from one
        # address: it is not held to a browser's rate.
        if not self._server_may_issue(request):
            too_many(self.session_limiter, client_address(request))
        body = _json_body(request)
        customer_id = body.get("customer_id")
        if customer_id is not None:
            if not self._server_may_issue(request):
                raise RequestRefused(
                    403, "forbidden", "只有商城服务器（持有渠道密钥）可以为指定顾客签发凭证。"
                )
            if not isinstance(customer_id, str) or not SENDER_ID.match(customer_id):
                raise RequestRefused(400, "invalid_request", "customer_id 格式不正确。")
            return self._token_answer(customer_id)
        if request.headers.get("Authorization"):
            claims = self.authenticate(request)
            return self._token_answer(claims.sender_id)
        return self._token_answer(new_visitor_id(), status=201)

    async def webhook(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Handle one customer message; answer with the assistant's replies."""
        too_many(self.client_message_limiter, client_address(request))
        claims = self.authenticate(request)
        too_many(self.message_limiter, claims.sender_id)
        body = _json_body(request)
        self.check_sender(claims, body.get("sender"))
        text = body.get("message")
        if not isinstance(text, str) or not text.strip():
            raise RequestRefused(400, "invalid_request", "消息不能为空。")
        if len(text) > MAX_MESSAGE_CHARS:
            raise RequestRefused(413, "too_large", f"消息太长（最多{MAX_MESSAGE_CHARS}字）。")
        message_id = body.get("message_id")
        if message_id is not None and (
            not isinstance(message_id, str) or not MESSAGE_ID.match(message_id)
        ):
            raise RequestRefused(400, "invalid_request", "message_id 格式不正确。")
        sender_id = claims.sender_id
        claim: Claim | None = None
        if message_id is not None:
            # Any replica may get a resend; a claim left by a replica killed mid-turn runs
            # out within seconds, and the next resend is answered here.
            claim = await self.once.claim(f"web:seen:{sender_id}:{message_id}")
            if claim is None:
                # A resend: the answer is (or will be) in the history the widget reads.
                return _json({"sender_id": sender_id, "messages": [], "recorded": True})
        try:
            return await self._answer(request, on_new_message, text, sender_id, message_id, body)
        finally:
            if claim is not None:
                await claim.finish("done", SEEN_TTL)

    async def _answer(
        self,
        request: Request,
        on_new_message: OnNewMessage,
        text: str,
        sender_id: str,
        message_id: str | None,
        body: dict[str, Any],
    ) -> HTTPResponse:
        """Hand the message to Rasa; its replies, or the safety net's apology."""
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(
                    text.strip(),
                    collector,
                    sender_id,
                    input_channel=self.name(),
                    message_id=message_id,
                    metadata=page_metadata(body.get("metadata")),
                )
            )
        except asyncio.CancelledError:
            logger.error("message from %s timed out", sender_id)
        except Exception:
            logger.exception("message from %s failed", sender_id)
        agent = request.app.ctx.agent
        messages = await safety.reply_or_fallback(agent, sender_id, collector.messages)
        # Other tabs of the same visitor learn about the turn at once.
        self.notifier.notify(sender_id)
        return _json(
            {
                "sender_id": sender_id,
                "messages": messages,
                # False for the apology sent when the assistant had nothing: it is not in the
                # conversation history, so the widget shows it from this answer.
                "recorded": bool(collector.messages),
            }
        )

    async def history(self, request: Request) -> HTTPResponse:
        """The conversation after the cursor `after`; waits up to `wait` s for something new."""
        claims = self.authenticate(request)
        self.check_sender(claims, request.args.get("sender"))
        after = _float_arg(request, "after", 0.0)
        wait = min(max(_float_arg(request, "wait", 0.0), 0.0), MAX_WAIT_SECONDS)
        sender_id = claims.sender_id
        tracker_store = request.app.ctx.agent.tracker_store

        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        waiter = self.notifier.subscribe(sender_id)
        try:
            while True:
                waiter.clear()
                tracker = await retrieve_since(tracker_store, sender_id, after - OVERLAP_SECONDS)
                items = conversation_items(tracker.events) if tracker is not None else []
                new = items_after(items, after)
                remaining = deadline - loop.time()
                if new or remaining <= 0:
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(waiter.wait(), min(remaining, RECHECK_SECONDS))
        finally:
            self.notifier.unsubscribe(sender_id, waiter)
        cursor = max([after] + [item["ts"] for item in items])
        return _json(
            {
                "sender_id": sender_id,
                "items": items_after(items, after - OVERLAP_SECONDS) if new else [],
                "cursor": cursor,
                "handoff": bool(tracker is not None and tracker.is_paused()),
            }
        )

    def asset(self, name: str) -> HTTPResponse:
        """A widget file (script or stylesheet)."""
        return response.raw(
            self._assets[name],
            content_type=ASSETS[name],
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The channel's routes; also makes this channel the push target for web customers."""
        delivery.register(self.name(), self.deliver)
        web = Blueprint(f"web_channel_{id(self)}", __name__)

        def guarded(handler: Handler) -> Handler:
            async def route(request: Request) -> HTTPResponse:
                try:
                    return await handler(request)
                except RateLimited as limited:
                    return limited.answer()
                except RequestRefused as refused:
                    return _error(refused.status, refused.code, refused.message)

            route.__name__ = handler.__name__
            return route

        async def health(_request: Request) -> HTTPResponse:
            return _json({"status": "ok"})

        async def widget_js(_request: Request) -> HTTPResponse:
            return self.asset("widget.js")

        async def widget_css(_request: Request) -> HTTPResponse:
            return self.asset("widget.css")

        async def webhook(request: Request) -> HTTPResponse:
            return await self.webhook(request, on_new_message)

        web.add_route(health, "/", methods=["GET"], name="health")
        web.add_route(widget_js, "/widget.js", methods=["GET"], name="widget_js")
        web.add_route(widget_css, "/widget.css", methods=["GET"], name="widget_css")
        web.add_route(guarded(self.session), "/session", methods=["POST"], name="session")
        web.add_route(guarded(webhook), "/webhook", methods=["POST"], name="webhook")
        web.add_route(guarded(self.history), "/history", methods=["GET"], name="history")
        return web
