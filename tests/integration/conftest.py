"""Fixtures that run the real assistant (mall service, action server, Rasa) on loopback."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from launcher.settings import StackSettings
from launcher.stack import Stack

CONSOLE_PASSWORD = "demo-console-pass"
# The REST channel is off unless its token is set; these tests talk REST as a trusted script.
REST_TOKEN = "integration-rest-token-0123456789"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stack_settings(var_dir: Path) -> StackSettings:
    """Settings for a stack on free ports with its own databases under var_dir."""
    base = StackSettings.from_env()
    return base.replace(
        host="127.0.0.1",
        rasa_port=free_port(),
        actions_port=free_port(),
        mall_port=free_port(),
        desk_port=free_port(),
        analytics_port=free_port(),
        var_dir=var_dir,
        mall_database_url="",
        tracker_db_url="",
        # People answer around the clock in tests, and the console has a known demo login.
        extra_env={
            "HANDOFF_SERVICE_HOURS": "00:00-24:00",
            "CONSOLE_DEMO_PASSWORD": CONSOLE_PASSWORD,
            "REST_CHANNEL_TOKEN": REST_TOKEN,
            # Agents sign in again in every test; the login limit is the outsider suite's.
            "CONSOLE_LOGIN_RATE_LIMIT": "100/60",
        },
    )


@pytest.fixture(scope="session")
def stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant, started once for the session."""
    running = Stack(stack_settings(tmp_path_factory.mktemp("stack")))
    running.start(timeout=240)
    yield running
    running.stop()


class Customer:
    """A customer chatting over the REST channel (as a trusted script, with its token)."""

    def __init__(self, rasa_url: str, sender: str | None = None) -> None:
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender = sender or f"web-test-{uuid.uuid4().hex[:10]}"

    def say(self, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Send a message and return the assistant's replies."""
        body: dict[str, Any] = {"sender": self.sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        answer = requests.post(
            self.url, json=body, headers={"Authorization": f"Bearer {REST_TOKEN}"}, timeout=30
        )
        answer.raise_for_status()
        replies: list[dict[str, Any]] = answer.json()
        return replies

    def say_text(self, text: str, metadata: dict[str, Any] | None = None) -> str:
        """Send a message and return the replies' text joined."""
        return "\n".join(reply.get("text", "") for reply in self.say(text, metadata))


class Console:
    """An agent in the desk's console, over HTTP like a browser (cookie session + form token)."""

    def __init__(self, desk_url: str, username: str = "demo") -> None:
        self.base = f"{desk_url}/console"
        self.http = requests.Session()
        answer = self.http.post(
            f"{self.base}/login",
            data={"username": username, "password": CONSOLE_PASSWORD},
            timeout=10,
        )
        answer.raise_for_status()
        assert "console_session" in self.http.cookies, "console login failed"

    def page(self, path: str = "") -> str:
        """A console page's HTML."""
        answer = self.http.get(f"{self.base}{path}", timeout=10)
        answer.raise_for_status()
        return answer.text

    def _csrf(self) -> str:
        match = re.search(r'name="csrf" value="([0-9a-f]+)"', self.page())
        assert match
        return match.group(1)

    def handoff_id(self, sender_id: str) -> int:
        """The id of the sender's handoff in the queue."""
        html = self.page()
        match = re.search(rf'id="handoff-(\d+)" data-sender="{re.escape(sender_id)}"', html)
        assert match, f"no handoff for {sender_id} in the console queue"
        return int(match.group(1))

    def post(self, handoff_id: int, action: str, **data: str) -> str:
        """Claim, reply or close; returns the page it lands on."""
        answer = self.http.post(
            f"{self.base}/handoffs/{handoff_id}/{action}",
            data={"csrf": self._csrf(), **data},
            timeout=15,
        )
        answer.raise_for_status()
        return answer.text


def tracker(rasa_url: str, token: str, sender_id: str) -> dict[str, Any]:
    """The conversation's tracker from Rasa's HTTP API."""
    answer = requests.get(
        f"{rasa_url}/conversations/{sender_id}/tracker", params={"token": token}, timeout=10
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def mall_get(stack: Stack, path: str) -> Any:
    """A GET on the mall API with the service token (as the action server calls it)."""
    token = stack.settings.shared_secret("MALL_API_TOKEN")
    answer = requests.get(
        f"{stack.settings.mall_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()
