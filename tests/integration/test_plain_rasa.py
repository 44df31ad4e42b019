"""Rasa's own commands in a fresh checkout with no variables set (`env -i`): they just work.

The checkout is a copy of the project's files as git sees them (no var/, no .env) plus the
trained model; every command runs with PATH and HOME only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from launcher.settings import ROOT

pytestmark = pytest.mark.integration

BIN = ROOT / ".venv" / "bin"
MODEL = ROOT / "models" / "mall-assistant.tar.gz"
CLEAN_ENV = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's tracked (and new, not ignored) files, and the trained model."""
    if not MODEL.exists():
        pytest.skip("needs the trained model: make train")
    target = tmp_path_factory.mktemp("checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (raw.decode() for raw in listed)):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not (target / ".env").exists() and not (target / "var" / "secrets").exists()
    shutil.copy2(MODEL, target / "models" / MODEL.name)
    return target


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def started(checkout: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts in the checkout; stopped afterwards."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start(
    checkout: Path, command: list[str], log_name: str, started: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], Path]:
    log = checkout / log_name
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=checkout, env=CLEAN_ENV, stdout=out, stderr=subprocess.STDOUT
        )
    started.append(process)
    return process, log


def test_rasa_data_validate_passes(checkout: Path) -> None:
    result = subprocess.run(
        ["rasa", "data", "validate"],
        cwd=checkout,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


def test_rasa_run_comes_up_on_the_embedded_defaults_and_answers(
    checkout: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    port = _free_port()
    process, log = _start(
        checkout, ["rasa", "run", "--enable-api", "--port", str(port)], "rasa.log", started
    )
    base = f"http://127.0.0.1:{port}"
    _wait_for(f"{base}/status", process, log, timeout=300)
    parsed = requests.post(f"{base}/model/parse", json={"text": "蓝牙耳机多少钱"}, timeout=10)
    assert parsed.status_code == 200 and parsed.json()["intent"]["name"] == "ask_price"
    # A conversation lands in the SQLite tracker store under var/.
    added = requests.post(
        f"{base}/conversations/plain-1/messages",
        json={"text": "你好", "sender": "user"},
        timeout=10,
    )
    assert added.status_code == 200
    assert (checkout / "var" / "trackers.db").stat().st_size > 0
    # The channels: the widget's and the bridge's secrets were generated for development,
    # REST and WeChat are off (no routes) without their tokens.
    assert requests.get(f"{base}/webhooks/web/", timeout=5).status_code == 200
    assert requests.get(f"{base}/webhooks/handoff/", timeout=5).status_code == 200
    assert requests.get(f"{base}/webhooks/socketio/", timeout=5).status_code == 200
    # Standard socket.io clients reach /socket.io; without the channel's JWT they are refused.
    handshake = requests.get(f"{base}/socket.io/?EIO=4&transport=polling", timeout=5)
    assert handshake.status_code == 200 and handshake.text.startswith("0")
    assert (checkout / "var" / "secrets" / "WEB_CHANNEL_SECRET").exists()
    rest = requests.post(
        f"{base}/webhooks/rest/webhook", json={"sender": "x", "message": "hi"}, timeout=5
    )
    assert rest.status_code == 404
    assert requests.get(f"{base}/webhooks/wechat/webhook", timeout=5).status_code == 404


def test_rasa_run_actions_comes_up(checkout: Path, started: list[subprocess.Popen[bytes]]) -> None:
    port = _free_port()
    process, log = _start(
        checkout, ["rasa", "run", "actions", "--port", str(port)], "actions.log", started
    )
    _wait_for(f"http://127.0.0.1:{port}/health", process, log, timeout=120)
    names = {action["name"] for action in requests.get(f"http://127.0.0.1:{port}/actions").json()}
    assert {"action_quote_price", "action_offer_coupon"} <= names
