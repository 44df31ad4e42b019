"""MallClient against a real HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from actions.clients.errors import (
    Conflict,
    InvalidRequest,
    MallUnavailable,
    NotFound,
    Unauthorized,
)
from actions.clients.mall import MallClient
from actions.sales import ActionQuotePrice
from actions.settings import Settings
from tests.actions.trackers import entity, make_tracker, run_action

Reply = tuple[int, Any]  # (status, JSON body or raw bytes)
DROP = (0, None)  # close the connection without answering


@dataclass
class FakeMallServer:
    """Routes `METHOD /path` to a function of (query, body) -> (status, body)."""

    routes: dict[str, Callable[[dict[str, list[str]], Any], Reply]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    tokens: list[str | None] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


@pytest.fixture
def server() -> Iterator[FakeMallServer]:
    state = FakeMallServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self, method: str) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            key = f"{method} {split.path}"
            state.hits[key] += 1
            state.requests.append((method, self.path, body))
            state.tokens.append(self.headers.get("Authorization"))
            route = state.routes.get(key)
            if route is None:
                status, payload = 404, {"error": "not_found", "message": "no such route"}
            else:
                status, payload = route(parse_qs(split.query), body)
            if (status, payload) == DROP:
                self.close_connection = True
                return
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()


TOKEN = "client-test-token-0123456789"


def client_for(url: str, *, read_timeout: float = 2.0, retries: int = 2) -> MallClient:
    settings = Settings(
        mall_api_url=url,
        mall_api_token=TOKEN,
        connect_timeout=0.5,
        read_timeout=read_timeout,
        read_retries=retries,
        retry_backoff=0.01,
    )
    return MallClient.from_settings(settings)


PRODUCT = {
    "id": "P1001",
    "name": "声悦Pro降噪蓝牙耳机",
    "category": "digital",
    "price": 299.0,
    "list_price": 399.0,
    "category_name": "数码电子",
    "supplier": "深圳声悦科技有限公司",
    "aliases": ["耳机"],
    "description": "主动降噪",
    "specs": {"续航": "8小时"},
    "skus": [{"sku_id": "S1", "color": "白色", "size": None, "stock": 120}],
    "total_stock": 120,
    "image_url": None,
}


def test_get_product_parses_json(server: FakeMallServer) -> None:
    server.routes["GET /products/P1001"] = lambda q, b: (200, PRODUCT)
    product = client_for(server.url).get_product("P1001")
    assert product["name"] == "声悦Pro降噪蓝牙耳机"
    assert product["skus"][0]["stock"] == 120
    assert server.tokens == [f"Bearer {TOKEN}"]  # the service token goes with every call


def test_a_refused_token_is_its_own_error_and_not_an_outage(server: FakeMallServer) -> None:
    server.routes["GET /products/P1001"] = lambda q, b: (
        401,
        {"error": "unauthorized", "message": "需要服务令牌"},
    )
    client = client_for(server.url)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            client.get_product("P1001")
    assert server.hits["GET /products/P1001"] == 5  # not retried, and no open breaker
    assert not client.breaker.is_open


def test_no_client_without_a_token() -> None:
    with pytest.raises(ValueError, match="MALL_API_TOKEN"):
        MallClient.from_settings(Settings(mall_api_url="http://127.0.0.1:9"))


def test_failures_never_carry_the_customers_words(server: FakeMallServer) -> None:
    client = client_for("http://127.0.0.1:9", retries=0)  # nothing listens there
    with pytest.raises(MallUnavailable) as failure:
        client.match_products("我电话13812345678 送到建国路88号")
    assert "13812345678" not in str(failure.value) and "%" not in str(failure.value)


def test_query_parameters_are_sent(server: FakeMallServer) -> None:
    server.routes["GET /products/match"] = lambda q, b: (
        200,
        {"items": [PRODUCT]} if q["text"] == ["那个耳机多少钱"] else {"items": []},
    )
    server.routes["GET /products/resolve"] = lambda q, b: (
        200,
        {"product": None, "suggestions": [{"q": q["q"][0]}]},
    )
    client = client_for(server.url)
    assert [p["id"] for p in client.match_products("那个耳机多少钱")] == ["P1001"]
    assert client.resolve_product("耳塞 & 耳机")["suggestions"] == [{"q": "耳塞 & 耳机"}]


def test_ids_cannot_escape_their_path(server: FakeMallServer) -> None:
    server.routes["GET /customers/a/b/orders"] = lambda q, b: (200, {"items": ["leak"]})
    with pytest.raises(NotFound):
        client_for(server.url).list_orders("a/b")
    assert server.requests[-1][1] == "/customers/a%2Fb/orders"
    with pytest.raises(NotFound):
        client_for(server.url).get_order("cust-1", "..")


def test_404_is_not_found(server: FakeMallServer) -> None:
    server.routes["GET /products/P9"] = lambda q, b: (404, {"error": "not_found", "message": "无"})
    with pytest.raises(NotFound) as caught:
        client_for(server.url).get_product("P9")
    assert caught.value.code == "not_found"
    assert server.hits["GET /products/P9"] == 1  # a 404 is an answer, not retried


def test_unknown_profile_is_none(server: FakeMallServer) -> None:
    assert client_for(server.url).get_profile("nobody") is None


def test_409_is_conflict_with_code_and_body(server: FakeMallServer) -> None:
    existing = {"code": "C1", "template_id": "T1"}
    server.routes["POST /customers/c1/coupons"] = lambda q, b: (
        409,
        {"error": "limit_reached", "message": "已领取", "coupon": existing},
    )
    with pytest.raises(Conflict) as caught:
        client_for(server.url).issue_coupon("c1", "T1", "key-1")
    assert caught.value.code == "limit_reached"
    assert caught.value.body["coupon"] == existing
    assert server.requests[-1][2] == {"template_id": "T1", "idempotency_key": "key-1"}


def test_422_is_invalid_request(server: FakeMallServer) -> None:
    server.routes["POST /customers/c1/events"] = lambda q, b: (422, {"error": "invalid_request"})
    with pytest.raises(InvalidRequest):
        client_for(server.url).record_event("c1", "consult", "P1")


def test_500_is_retried_then_unavailable(server: FakeMallServer) -> None:
    server.routes["GET /terms/shipping"] = lambda q, b: (500, {"error": "boom"})
    with pytest.raises(MallUnavailable):
        client_for(server.url, retries=2).get_terms("shipping")
    assert server.hits["GET /terms/shipping"] == 3


def test_a_503_that_recovers_is_answered(server: FakeMallServer) -> None:
    def flaky(q: dict[str, list[str]], b: Any) -> Reply:
        if server.hits["GET /terms/payment"] == 1:
            return 503, {"error": "busy"}
        return 200, {"methods": ["微信支付"]}

    server.routes["GET /terms/payment"] = flaky
    assert client_for(server.url).get_terms("payment")["methods"] == ["微信支付"]


def test_posts_are_not_retried_on_500(server: FakeMallServer) -> None:
    server.routes["POST /customers/c1/coupons"] = lambda q, b: (500, {"error": "boom"})
    with pytest.raises(MallUnavailable):
        client_for(server.url).issue_coupon("c1", "T1", "key-1")
    assert server.hits["POST /customers/c1/coupons"] == 1


def test_non_json_success_is_unavailable(server: FakeMallServer) -> None:
    server.routes["GET /terms/returns"] = lambda q, b: (200, b"<html>proxy error</html>")
    with pytest.raises(MallUnavailable):
        client_for(server.url).get_terms("returns")


def test_slow_mall_times_out_within_the_budget(server: FakeMallServer) -> None:
    def slow(q: dict[str, list[str]], b: Any) -> Reply:
        server.release.wait(10)
        return 200, PRODUCT

    server.routes["GET /products/P1001"] = slow
    client = client_for(server.url, read_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(MallUnavailable):
        client.get_product("P1001")
    elapsed = time.monotonic() - started
    # One read timeout, no second wait for a mall that is already slow.
    assert 0.45 <= elapsed < 1.5
    assert server.hits["GET /products/P1001"] == 1


def test_connection_refused_is_unavailable_quickly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = client_for(f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(MallUnavailable):
        client.get_product("P1001")
    assert time.monotonic() - started < 1.0


def test_dropped_connection_on_issue_is_resent_with_the_same_key(server: FakeMallServer) -> None:
    coupon = {"code": "C1", "template_id": "T1"}

    def drop_first(q: dict[str, list[str]], b: Any) -> Reply:
        return DROP if server.hits["POST /customers/c1/coupons"] == 1 else (201, coupon)

    server.routes["POST /customers/c1/coupons"] = drop_first
    assert client_for(server.url).issue_coupon("c1", "T1", "key-1") == coupon
    keys = [body["idempotency_key"] for _, _, body in server.requests]
    assert keys == ["key-1", "key-1"]


def test_dropped_connection_on_an_event_is_not_resent(server: FakeMallServer) -> None:
    server.routes["POST /customers/c1/events"] = lambda q, b: DROP
    with pytest.raises(MallUnavailable):
        client_for(server.url).record_event("c1", "consult")
    assert server.hits["POST /customers/c1/events"] == 1


def test_best_coupon_without_product_sends_no_product(server: FakeMallServer) -> None:
    server.routes["GET /customers/c1/coupons/best"] = lambda q, b: (
        200,
        {"template": None, "saving": 0, "query": q},
    )
    assert client_for(server.url).best_coupon("c1")["query"] == {}
    assert client_for(server.url).best_coupon("c1", "P1")["query"] == {"product_id": ["P1"]}


def test_customer_gets_the_apology_within_the_budget(server: FakeMallServer) -> None:
    def slow(q: dict[str, list[str]], b: Any) -> Reply:
        server.release.wait(10)
        return 200, {"product": PRODUCT, "suggestions": []}

    # The one-request consult and, for a mall without it, the separate calls.
    server.routes["POST /customers/cust-1/consults"] = slow
    server.routes["GET /products/resolve"] = slow
    action = ActionQuotePrice(client_for(server.url, read_timeout=0.5))
    tracker = make_tracker(entities=[entity("product", "耳机")], text="耳机多少钱")
    started = time.monotonic()
    messages, events = run_action(action, tracker)
    assert time.monotonic() - started < 1.5
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert events == []
