"""`make run` under an operator's hand: kill -9 a process, kill -9 the launcher, a taken port."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from launcher.settings import ROOT, StackSettings
from launcher.supervisor import port_holder
from tests.integration.conftest import stack_settings

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children(pid: int) -> dict[str, int]:
    """The launcher's children by service name (read from their command lines)."""
    names = {
        "mall": "mall",
        "rasa_sdk": "actions",
        "rasa": "rasa",
        "analytics": "analytics",
        "desk": "desk",
    }
    found: dict[str, int] = {}
    raw = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in map(int, raw):
        argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        words = [Path(word.decode()).name for word in argv if word]
        for word, name in names.items():
            if word in words[:4]:
                found.setdefault(name, child)
    return found


class WebCustomer:
    """A shopper in the web widget (the channel customers use, with its safety net)."""

    def __init__(self, settings: StackSettings, customer_id: str) -> None:
        self.rasa = settings.rasa_url
        secret = settings.shared_secret("WEB_CHANNEL_SECRET")
        answer = requests.post(
            f"{self.rasa}/webhooks/web/session",
            json={"customer_id": customer_id},
            headers={"X-Web-Channel-Secret": secret},
            timeout=10,
        )
        answer.raise_for_status()
        self.token = answer.json()["token"]
        self.sender = str(answer.json()["sender_id"])

    def say_text(self, text: str) -> str:
        """Send a message; the replies' text joined."""
        answer = requests.post(
            f"{self.rasa}/webhooks/web/webhook",
            json={"message": text},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        answer.raise_for_status()
        return "\n".join(message.get("text", "") for message in answer.json()["messages"])


class Launcher:
    """`python -m launcher run` as a child, its console collected line by line."""

    def __init__(self, settings: StackSettings, tmp_path: Path) -> None:
        env = settings.child_env()
        env.update(
            MALL_ASSISTANT_VAR=str(tmp_path),
            RASA_PORT=str(settings.rasa_port),
            ACTIONS_PORT=str(settings.actions_port),
            MALL_PORT=str(settings.mall_port),
            DESK_PORT=str(settings.desk_port),
        )
        env.pop("MALL_DATABASE_URL", None)
        env.pop("TRACKER_DB_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "launcher", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        stdout = self.process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: [self.lines.put(line) for line in stdout])
        reader.daemon = True
        reader.start()

    def read_until(self, marker: str, timeout: float) -> str:
        """Wait for a console line with `marker`; return it."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.output:
                if marker in line:
                    return line
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {marker!r} within {timeout:.0f} s:\n{''.join(self.output)}"
            with contextlib.suppress(queue.Empty):
                self.output.append(self.lines.get(timeout=min(remaining, 1.0)))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_kill_9_of_a_process_restarts_it_the_others_keep_serving_and_nothing_outlives_the_launcher(
    trained_model: Path, tmp_path: Path
) -> None:
    settings = stack_settings(tmp_path)
    launcher = Launcher(settings, tmp_path)
    pids: dict[str, int] = {}
    try:
        launcher.read_until("Press Ctrl-C", timeout=240)
        pids = _children(launcher.process.pid)
        assert set(pids) == {"mall", "actions", "rasa", "analytics", "desk"}, pids
        customer = WebCustomer(settings, "wx-o7Xh2-vip")
        assert "¥" in customer.say_text("蓝牙耳机多少钱")

        os.kill(pids["actions"], signal.SIGKILL)
        # While the action server is down the customer gets a polite answer, never silence.
        assert "稍后" in customer.say_text("包邮吗")
        launcher.read_until("actions killed by SIGKILL; restarting in 1 s", timeout=10)
        launcher.read_until("actions is serving again", timeout=120)
        assert "¥" in customer.say_text("蓝牙耳机多少钱")
        after = _children(launcher.process.pid)
        assert after["actions"] != pids["actions"]
        for name in ("mall", "rasa", "analytics", "desk"):  # nobody else was restarted
            assert after[name] == pids[name]
        assert requests.get(f"{settings.desk_url}/health", timeout=5).status_code == 200
        pids = after

        launcher.process.kill()  # SIGKILL of the launcher itself: no clean-up code runs
        launcher.process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [name for name, pid in pids.items() if _alive(pid)], "children outlived it"
        # ... so nothing listens on their ports for the next `make run` to trip over (a dying
        # process with many threads shows as a zombie a moment before its sockets close).
        ports = (
            settings.rasa_port,
            settings.actions_port,
            settings.mall_port,
            settings.desk_port,
            settings.analytics_port,
        )
        deadline = time.monotonic() + 15
        while any(port_holder(port) for port in ports) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [port for port in ports if port_holder(port)], "a port is still held"
    finally:
        launcher.kill()
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_taken_port_is_reported_with_its_holder_and_nothing_starts(
    trained_model: Path, tmp_path: Path
) -> None:
    settings = stack_settings(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", settings.mall_port))
        squatter.listen()
        launcher = Launcher(settings, tmp_path)
        try:
            assert launcher.process.wait(timeout=120) == 1
            line = launcher.read_until("already in use", timeout=5)
            assert f"port {settings.mall_port} for mall" in line
            assert f"pid {os.getpid()}" in line
        finally:
            launcher.kill()
    assert "Mall Assistant is running" not in "".join(launcher.output)
