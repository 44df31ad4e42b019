"""The `python -m mall` command line, run as a real process."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mall.__main__ import main
from tests.mall.fixtures import AUTH, TOKEN

REPO = Path(__file__).resolve().parents[2]


def mall_main(
    *args: str, url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> tuple[int, str]:
    """Run the command line in this process; return its exit status and what it logged."""
    monkeypatch.setenv("MALL_DATABASE_URL", url)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        status = main(list(args))
    return status, caplog.text


def test_init_db_seeds_once_and_seed_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    status, log = mall_main("init-db", "--seed", url=url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 0
    assert "'products': 43" in log
    status, log = mall_main("init-db", "--seed", url=url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 0
    assert "not seeding" in log
    status, log = mall_main("seed", url=url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 0
    assert "nothing new" in log


@pytest.mark.parametrize("command", ["seed", "serve"])
def test_commands_refuse_a_database_without_schema(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    command: str,
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    status, log = mall_main(command, url=url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 1
    assert "init-db" in log


def test_serve_without_a_token_says_so_and_stops(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("MALL_API_TOKEN", raising=False)
    status, log = mall_main("serve", url=db_url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 2 and "MALL_API_TOKEN is not set" in log


def test_bad_port_setting_is_reported_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "MALL_PORT": "http", "MALL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run(
        [sys.executable, "-m", "mall", "serve"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "MALL_PORT" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.integration
def test_serve_answers_on_the_requested_port(db_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "mall", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "MALL_DATABASE_URL": db_url, "MALL_API_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/products/P1001", headers=AUTH, timeout=2
                )
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert response.json()["name"] == "声悦Pro降噪蓝牙耳机"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert "mall service ready" in output
    assert "GET /products" not in output  # no access log


def test_add_agent_creates_a_console_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mall.db import Database
    from mall.models import Agent
    from mall.services.agents import verify_password

    url = f"sqlite:///{tmp_path / 'mall.db'}"
    monkeypatch.setenv("MALL_DATABASE_URL", url)
    monkeypatch.setenv("CONSOLE_AGENT_PASSWORD", "long-enough-secret")
    assert main(["add-agent", "li", "--name", "小李"]) == 1  # no schema yet: says so
    assert main(["init-db"]) == 0
    assert main(["add-agent", "li", "--name", "小李"]) == 0
    monkeypatch.setenv("CONSOLE_AGENT_PASSWORD", "short")
    assert main(["add-agent", "wang"]) == 2  # refused, with a reason
    database = Database(url)
    with database.read_session() as session:
        agents = session.query(Agent).all()
        assert [(a.username, a.display_name) for a in agents] == [("li", "小李")]
        assert verify_password("long-enough-secret", agents[0].password_hash)
    database.dispose()
