"""The assistant as `make run` starts it, probed from outside with nothing but HTTP.

One stack for the whole folder, on free loopback ports, with the embedded defaults (no REST
token, no demo sign-in, generated secrets) and a WeChat account configured the way an
operator would (its API address points nowhere: no probe may make the assistant send).
Every probe runs inside `unchanged(...)`: the mall database and the tracker store must be
exactly as before.
"""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from launcher.settings import StackSettings
from launcher.stack import Stack
from tests.integration.conftest import free_port

WECHAT = {
    "WECHAT_TOKEN": "outsiderWeChatToken",
    "WECHAT_APP_ID": "wxoutsider0123456",
    "WECHAT_APP_SECRET": "outsider-app-secret-0123456789",
    "WECHAT_ENCODING_AES_KEY": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
    "WECHAT_API_BASE_URL": "http://127.0.0.1:9",
}
# Columns a probe may change by design: an agent signing in is "seen", brute force counts.
MOVING = {
    "agents": {"last_seen_at", "failed_logins", "locked_until"},
    "agent_sessions": {"*"},
}


@dataclass
class Target:
    """What an outsider can aim at, and what the test (not the outsider) knows to check."""

    stack: Stack

    @property
    def settings(self) -> StackSettings:
        return self.stack.settings

    def secret(self, name: str) -> str:
        """A secret of the running stack (generated under var/secrets/ unless set)."""
        return self.settings.child_env()[name]

    @property
    def mall(self) -> str:
        return self.settings.mall_url

    @property
    def rasa(self) -> str:
        return self.settings.rasa_url

    @property
    def desk(self) -> str:
        return self.settings.desk_url

    def database_urls(self) -> list[str]:
        env = self.settings.child_env()
        return [env["MALL_DATABASE_URL"], env["TRACKER_DB_URL"]]

    def snapshot(self) -> dict[str, str]:
        """A digest of every table of the mall database and of the tracker store."""
        digests: dict[str, str] = {}
        for url in self.database_urls():
            engine = sa.create_engine(url)
            try:
                with engine.connect() as connection:
                    for name in sa.inspect(engine).get_table_names():
                        table = sa.Table(name, sa.MetaData(), autoload_with=connection)
                        moving = MOVING.get(name, set())
                        if "*" in moving:
                            continue
                        columns = [c for c in table.columns if c.name not in moving]
                        rows = connection.execute(sa.select(*columns)).all()
                        digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode())
                        digests[f"{url}#{name}"] = digest.hexdigest()
            finally:
                engine.dispose()
        return digests


@pytest.fixture(scope="session")
def target(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    base = StackSettings.from_env()
    settings = base.replace(
        host="127.0.0.1",
        mall_host="127.0.0.1",
        actions_host="127.0.0.1",
        rasa_port=free_port(),
        actions_port=free_port(),
        mall_port=free_port(),
        desk_port=free_port(),
        analytics_port=free_port(),
        var_dir=tmp_path_factory.mktemp("outsider"),
        mall_database_url="",
        tracker_db_url="",
        widget_allowed_origins=(),
        # What a developer's shell might have set must not weaken `make run`'s defaults.
        extra_env={
            **WECHAT,
            "REST_CHANNEL_TOKEN": "",
            "SHOP_DEMO_SIGN_IN": "",
            # Rasa logs every customer message at debug level: the masking must hold there.
            "LOG_LEVEL": "DEBUG",
        },
    )
    stack = Stack(settings)
    stack.start(timeout=300)
    yield Target(stack)
    stack.stop()


@pytest.fixture
def unchanged(target: Target) -> Any:
    """`with unchanged(): ...` fails when the probe inside changed any stored data."""

    @contextmanager
    def check() -> Iterator[None]:
        before = target.snapshot()
        yield
        after = target.snapshot()
        changed = sorted(key.rsplit("#", 1)[1] for key in before if before[key] != after.get(key))
        assert not changed, f"an outsider's request changed these tables: {changed}"
        assert set(after) == set(before)

    return check


def listening_addresses(port: int) -> set[str]:
    """The local addresses sockets listen on for `port` (from /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table, size in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            if size == 8:
                found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def demo_password(target: Target) -> str:
    """The demo agent's password `make run` generated (what its operator reads on screen)."""
    return target.secret("CONSOLE_DEMO_PASSWORD")


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, "no form token on the page"
    return match.group(1)


def signed_in_agent(target: Target) -> requests.Session:
    """The demo agent, signed in to the console like a browser."""
    agent = requests.Session()
    answer = agent.post(
        f"{target.desk}/console/login",
        data={"username": "demo", "password": demo_password(target)},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return agent
