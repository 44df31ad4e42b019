"""HTTP client for the mall API: catalogue, shop terms, card profiles, orders and coupons."""

from __future__ import annotations

import functools
import logging
from typing import Any, Literal, cast
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from actions.clients.breaker import CircuitBreaker
from actions.clients.cache import ReadCache
from actions.clients.errors import (
    CircuitOpen,
    Conflict,
    InvalidRequest,
    MallError,
    MallUnavailable,
    NotFound,
    Unauthorized,
)
from actions.clients.metrics import measured
from actions.clients.models import (
    BestCoupon,
    Consult,
    EventType,
    Guide,
    HandoffOpened,
    IssuedCoupon,
    Offer,
    Order,
    Product,
    ProductResolution,
    ProductSummary,
    Profile,
    Welcome,
)
from actions.settings import Settings, get_settings
from security.tokens import require_secret

logger = logging.getLogger(__name__)

TermsName = Literal["shipping", "returns", "payment", "discounts"]

# Statuses worth retrying a GET for: the mall or a proxy in front of it is struggling.
_RETRY_STATUSES = frozenset({500, 502, 503, 504})


def build_session(settings: Settings) -> requests.Session:
    """A keep-alive session that retries idempotent reads on connection errors and 5xx."""
    retry = Retry(
        total=settings.read_retries,
        connect=settings.read_retries,
        # A slow mall stays slow: waiting for a second read timeout only delays the apology.
        read=False,
        status=settings.read_retries,
        status_forcelist=_RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        backoff_factor=settings.retry_backoff,
        backoff_max=1.0,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json"})
    return session


class MallClient:
    """Calls the mall API and maps every failure onto `actions.clients.errors`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        session: requests.Session | None = None,
        connect_timeout: float = 1.0,
        read_timeout: float = 2.0,
        breaker: CircuitBreaker | None = None,
        cache: ReadCache | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cache = cache
        self._session = session if session is not None else build_session(Settings())
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self._timeout = (connect_timeout, read_timeout)
        self.breaker = breaker or CircuitBreaker()

    @classmethod
    def from_settings(cls, settings: Settings) -> MallClient:
        """Build a client with the URL, token, timeouts and retries from `settings`.

        Refuses (SecretError, a ValueError) to build without the service token: every call
        would be refused, and the log should say why once, clearly.
        """
        return cls(
            settings.mall_api_url,
            token=require_secret("MALL_API_TOKEN", settings.mall_api_token),
            session=build_session(settings),
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            breaker=CircuitBreaker(settings.breaker_threshold, settings.breaker_cooldown),
            cache=_listening_cache(settings.cache_redis_url),
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    # ---- catalogue ----

    def get_product(self, product_id: str) -> Product:
        """The product with this id; `NotFound` when there is none."""
        cached = self.cache.get("product", product_id) if self.cache else None
        if cached is not None:
            return cast(Product, cached)
        product = cast(Product, self._get(f"/products/{_segment(product_id)}"))
        if self.cache:
            self.cache.put("product", product_id, product)
        return product

    def get_guide(self, product_id: str) -> Guide:
        """After-sales guidance for the product by topic (usage, troubleshooting, ...)."""
        return cast(Guide, self._get(f"/products/{_segment(product_id)}/guide"))

    def resolve_product(self, words: str) -> ProductResolution:
        """The product the customer's words name, or up to 3 near matches."""
        return cast(ProductResolution, self._get("/products/resolve", params={"q": words}))

    def match_products(self, text: str) -> list[ProductSummary]:
        """Products named anywhere in a whole message, longest mention first."""
        body = self._get("/products/match", params={"text": text})
        return cast(list[ProductSummary], body["items"])

    # ---- shop terms ----

    def get_terms(self, name: TermsName) -> dict[str, Any]:
        """The shop's shipping, returns, payment or discount terms."""
        return self._get(f"/terms/{name}")

    # ---- customers ----

    def get_profile(self, customer_id: str) -> Profile | None:
        """The customer's card profile, or None for a customer the mall does not know."""
        cached = self.cache.get("profile", customer_id) if self.cache else None
        if cached is not None:
            return cast(Profile, cached)
        try:
            profile = cast(Profile, self._get(f"/customers/{_segment(customer_id)}/profile"))
        except NotFound:
            return None
        if self.cache:
            self.cache.put("profile", customer_id, profile)
        return profile

    def record_event(
        self,
        customer_id: str,
        event_type: EventType,
        product_id: str | None = None,
        properties: dict[str, str | float | int | bool | None] | None = None,
    ) -> str:
        """Record what the customer did; returns their (possibly new) segment."""
        event: dict[str, Any] = {"type": event_type, "product_id": product_id}
        if properties:
            event["properties"] = properties
        body = self._send("POST", f"/customers/{_segment(customer_id)}/events", json=event)
        if self.cache:
            self.cache.drop("profile", customer_id)  # read your own write at once
        return str(body.get("segment", ""))

    def set_opt_out(self, customer_id: str, kind: str, *, opted_out: bool) -> list[str]:
        """Opt the customer out of `kind` ("marketing") or back in; their opt-outs after."""
        body = self._send(
            "PUT" if opted_out else "DELETE",
            f"/customers/{_segment(customer_id)}/opt-outs/{_segment(kind)}",
            # Setting a preference twice is the same as once.
            retry_dropped_connection=True,
        )
        if self.cache:
            self.cache.drop("profile", customer_id)
        return [str(item) for item in body.get("opt_outs", [])]

    def expose(self, customer_id: str, line: str) -> dict[str, Any]:
        """The variant of `line` to show the customer (an A/B test's exposure is recorded)."""
        return self._send(
            "POST", f"/customers/{_segment(customer_id)}/exposures", json={"line": line}
        )

    def recommend_products(
        self, customer_id: str, product_id: str | None = None, limit: int = 3
    ) -> list[dict[str, Any]]:
        """Products to suggest to the customer (with the product in play), best first."""
        params: dict[str, Any] = {"limit": limit}
        if product_id:
            params["product_id"] = product_id
        body = self._get(f"/customers/{_segment(customer_id)}/recommendations", params=params)
        return [dict(item) for item in body.get("items", [])]

    def welcome(
        self, customer_id: str, page_product_id: str | None = None, limit: int = 3
    ) -> Welcome:
        """A greeting's reads in one call: the profile (None for a customer the mall does not
        know), the page's product (None when unknown) and `limit` suggestions. `NotFound`
        from a mall without this route."""
        params: dict[str, Any] = {"recommendations": limit}
        if page_product_id:
            params["page_product_id"] = page_product_id
        answer = cast(
            Welcome, self._get(f"/customers/{_segment(customer_id)}/welcome", params=params)
        )
        if self.cache and answer.get("profile") is not None:
            self.cache.put("profile", customer_id, answer["profile"])
        return answer

    def consult(
        self,
        customer_id: str,
        *,
        words: str | None = None,
        page_product_id: str | None = None,
        text: str | None = None,
        product_id: str | None = None,
        properties: dict[str, str | float | int | bool | None] | None = None,
    ) -> Consult:
        """A price question in one call: the product in play (from the first source that names
        one), the customer's profile and suggestions; the consult is recorded when a product
        was found. `NotFound` from a mall without this route."""
        sources = {
            "words": words,
            "page_product_id": page_product_id,
            # The mall reads names from the first 1,000 characters of a message.
            "text": text[:1000] if text else None,
            "product_id": product_id,
        }
        body: dict[str, Any] = {key: value for key, value in sources.items() if value}
        if properties:
            body["properties"] = properties
        answer = cast(
            Consult, self._send("POST", f"/customers/{_segment(customer_id)}/consults", json=body)
        )
        if self.cache and answer.get("product") is not None:
            self.cache.drop("profile", customer_id)  # the consult was recorded
        return answer

    # ---- orders ----

    def list_orders(self, customer_id: str) -> list[Order]:
        """The customer's orders, newest first."""
        body = self._get(f"/customers/{_segment(customer_id)}/orders")
        return cast(list[Order], body["items"])

    def get_order(self, customer_id: str, order_id: str) -> Order:
        """One of the customer's orders; `NotFound` when missing or someone else's."""
        path = f"/customers/{_segment(customer_id)}/orders/{_segment(order_id)}"
        return cast(Order, self._get(path))

    # ---- coupons ----

    def best_coupon(self, customer_id: str, product_id: str | None = None) -> BestCoupon:
        """The coupon template saving this customer the most (store-wide without a product)."""
        params = {"product_id": product_id} if product_id else None
        body = self._get(f"/customers/{_segment(customer_id)}/coupons/best", params=params)
        return cast(BestCoupon, body)

    def offer(
        self,
        customer_id: str,
        *,
        words: str | None = None,
        page_product_id: str | None = None,
        text: str | None = None,
        product_id: str | None = None,
    ) -> Offer:
        """A discount question in one call: the product in play (as for `consult`), its best
        coupon for this customer (store-wide without a product) and the customer's profile.
        `NotFound` from a mall without this route."""
        sources = {
            "words": words,
            "page_product_id": page_product_id,
            "text": text[:1000] if text else None,
            "product_id": product_id,
        }
        params = {key: value for key, value in sources.items() if value}
        return cast(Offer, self._get(f"/customers/{_segment(customer_id)}/offer", params=params))

    def issue_coupon(
        self, customer_id: str, template_id: str, idempotency_key: str
    ) -> IssuedCoupon:
        """Issue a coupon; the same key always yields the same coupon, never a second one.

        The answer carries the customer's profile after the coupon (`profile`; a mall that
        does not send it leaves the key out)."""
        body = self._send(
            "POST",
            f"/customers/{_segment(customer_id)}/coupons",
            json={"template_id": template_id, "idempotency_key": idempotency_key},
            # The idempotency key makes a resend harmless when the connection drops mid-call.
            retry_dropped_connection=True,
        )
        if self.cache:
            # The segment may have moved: keep the profile the mall sent, or forget it.
            if body.get("profile") is not None:
                self.cache.put("profile", customer_id, body["profile"])
            else:
                self.cache.drop("profile", customer_id)
        return cast(IssuedCoupon, body)

    # ---- human handoff ----

    def open_handoff(
        self, sender_id: str, channel: str, reason: str, context: dict[str, Any]
    ) -> HandoffOpened:
        """Open a handoff (or get the conversation's open one) with the wait to announce."""
        body = self._send(
            "POST",
            "/handoffs",
            json={"sender_id": sender_id, "channel": channel, "reason": reason, "context": context},
            # One open handoff per conversation: a resend returns the same one.
            retry_dropped_connection=True,
        )
        return cast(HandoffOpened, body)

    def add_handoff_note(
        self, handoff_id: int, text: str, kind: str = "message", phone: str | None = None
    ) -> dict[str, Any]:
        """Record a message or call-back number left for the team."""
        return self._send(
            "POST",
            f"/handoffs/{int(handoff_id)}/notes",
            json={"kind": kind, "text": text, "phone": phone},
        )

    # ---- transport ----

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._send("GET", path, params=params)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        retry_dropped_connection: bool = False,
    ) -> dict[str, Any]:
        with measured(method, path, self.breaker):
            return self._send_through_breaker(method, path, params, json, retry_dropped_connection)

    def _send_through_breaker(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: dict[str, Any] | None,
        retry_dropped_connection: bool,
    ) -> dict[str, Any]:
        if not self.breaker.allow():
            raise CircuitOpen(f"{method} {path} not attempted: the mall failed repeatedly")
        try:
            body = self._attempt(method, path, params, json, retry_dropped_connection)
        except MallUnavailable:
            self.breaker.record_failure()
            raise
        except MallError:
            self.breaker.record_success()  # it answered, if only to say no
            raise
        self.breaker.record_success()
        return body

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: dict[str, Any] | None,
        retry_dropped_connection: bool,
    ) -> dict[str, Any]:
        url = self.base_url + path
        attempts = 2 if retry_dropped_connection else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._session.request(
                    method, url, params=params, json=json, timeout=self._timeout
                )
            # Messages name the path and the failure's type only: a request's URL carries the
            # customer's words (?text=...), which have no place in a log line.
            except requests.Timeout as exc:
                raise MallUnavailable(f"{method} {path} timed out") from exc
            except requests.ConnectionError as exc:
                if attempt < attempts:
                    logger.info("%s %s lost its connection, sending once more", method, path)
                    continue
                raise MallUnavailable(
                    f"{method} {path} could not connect ({type(exc).__name__})"
                ) from exc
            except requests.RequestException as exc:
                raise MallUnavailable(f"{method} {path} failed ({type(exc).__name__})") from exc
            return _parse(method, path, response)
        raise AssertionError("unreachable")  # pragma: no cover


def _parse(method: str, path: str, response: requests.Response) -> dict[str, Any]:
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if 200 <= status < 300:
        if not isinstance(body, dict):
            raise MallUnavailable(f"{method} {path} answered {status} without a JSON object")
        return body
    error = body if isinstance(body, dict) else {}
    code = error.get("error") if isinstance(error.get("error"), str) else None
    message = f"{method} {path} -> {status} {code or ''}: {error.get('message', '')}".strip()
    if status in (401, 403):
        logger.error("the mall refused the service token: check MALL_API_TOKEN (%s)", status)
        raise Unauthorized(message, code=code or "unauthorized", status=status)
    if status == 404:
        raise NotFound(message, code=code or "not_found", status=status)
    if status == 409:
        raise Conflict(message, code=code, status=status, body=error)
    if status in (400, 422):
        raise InvalidRequest(message, code=code or "invalid_request", status=status)
    if status >= 500 or status == 429:
        raise MallUnavailable(message, code=code, status=status)
    raise MallError(message, code=code, status=status)


def _segment(value: str) -> str:
    # Ids come from chat input: quote everything so an id can never reach another path;
    # dot segments would be collapsed by URL normalisation, so no such id can exist.
    if value.strip() in ("", ".", ".."):
        raise NotFound(f"no such id: {value!r}", code="not_found")
    return quote(value, safe="")


def _listening_cache(url: str) -> ReadCache | None:
    if not url:
        return None
    cache = ReadCache.from_url(url)
    cache.listen()
    return cache


@functools.lru_cache(maxsize=1)
def default_mall_client() -> MallClient:
    """The process-wide client, built on first use from the environment."""
    return MallClient.from_settings(get_settings())
