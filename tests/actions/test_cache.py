"""The shared read cache: a hit spares the mall, a change announced by the mall drops it."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from actions.clients.cache import ReadCache
from actions.clients.mall import MallClient
from tests.actions.test_mall_client import PRODUCT, TOKEN, FakeMallServer, server

__all__ = ["server"]  # the fixture
REDIS_URL = "redis://127.0.0.1:6379/14"


def redis_or_skip() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            pass
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def cache() -> Iterator[ReadCache]:
    redis_or_skip()
    cache = ReadCache.from_url(REDIS_URL)
    cache.prefix = f"mall-assistant-test:{uuid.uuid4().hex[:8]}:"
    yield cache
    for key in cache.client.scan_iter(f"{cache.prefix}*"):
        cache.client.delete(key)


def client_with(url: str, cache: ReadCache | None) -> MallClient:
    return MallClient(url, token=TOKEN, cache=cache)


def test_a_cached_product_spares_the_mall_for_five_minutes(
    server: FakeMallServer, cache: ReadCache
) -> None:
    server.routes["GET /products/P1001"] = lambda q, b: (200, PRODUCT)
    first, second = client_with(server.url, cache), client_with(server.url, cache)
    assert first.get_product("P1001")["name"] == PRODUCT["name"]
    # Another action server's client shares the same Redis: a hit, no call to the mall.
    assert second.get_product("P1001")["name"] == PRODUCT["name"]
    assert server.hits["GET /products/P1001"] == 1
    assert 0 < cache.client.ttl(cache.key("product", "P1001")) <= 300


def test_a_change_announced_by_the_mall_drops_the_entry(
    server: FakeMallServer, cache: ReadCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mall import changes

    server.routes["GET /customers/wx-1/profile"] = lambda q, b: (200, {"customer_id": "wx-1"})
    cache.listen()
    time.sleep(0.3)  # let the listener subscribe
    client = client_with(server.url, cache)
    client.get_profile("wx-1")
    client.get_profile("wx-1")
    assert server.hits["GET /customers/wx-1/profile"] == 1
    monkeypatch.setenv("MALL_CHANGES_REDIS_URL", REDIS_URL)
    changes._publisher.cache_clear()
    try:
        changes.announce("profile", "wx-1")
    finally:
        changes._publisher.cache_clear()
    assert wait_until(lambda: cache.get("profile", "wx-1") is None)
    client.get_profile("wx-1")
    assert server.hits["GET /customers/wx-1/profile"] == 2


def test_the_clients_own_writes_drop_the_profile_at_once(
    server: FakeMallServer, cache: ReadCache
) -> None:
    server.routes["GET /customers/wx-2/profile"] = lambda q, b: (200, {"customer_id": "wx-2"})
    server.routes["POST /customers/wx-2/events"] = lambda q, b: (201, {"ok": True, "segment": "x"})
    client = client_with(server.url, cache)
    client.get_profile("wx-2")
    client.record_event("wx-2", "view", "P1001")
    client.get_profile("wx-2")
    assert server.hits["GET /customers/wx-2/profile"] == 2


def test_without_redis_every_read_goes_to_the_mall(server: FakeMallServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    server.routes["GET /products/P1001"] = lambda q, b: (200, PRODUCT)
    client = client_with(server.url, ReadCache.from_url(f"redis://127.0.0.1:{closed}/0"))
    for _ in range(2):
        assert client.get_product("P1001")["name"] == PRODUCT["name"]
    assert server.hits["GET /products/P1001"] == 2
