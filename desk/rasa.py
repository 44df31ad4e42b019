"""The desk's link to the Rasa server: read a conversation, speak in it, hand it back.

Transcripts come from Rasa's HTTP API (its token), agent lines and the hand-back go through
the handoff bridge channel (`channels/handoff.py`, the bridge token), which writes them into
the tracker and pushes them through the customer's channel. Widget tokens for signed-in shop
customers come from the web channel, which issues them only to a caller with its secret.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import requests

from desk.errors import BridgeError
from desk.settings import DeskSettings

logger = logging.getLogger(__name__)

TIMEOUT = (2.0, 8.0)


class Rasa:
    """HTTP calls from the desk to the Rasa server."""

    def __init__(self, settings: DeskSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.http = session or requests.Session()

    def events(self, sender_id: str) -> list[dict[str, Any]]:
        """Every event of the conversation, oldest first."""
        url = f"{self.settings.rasa_url}/conversations/{quote(sender_id, safe='')}/tracker"
        try:
            answer = self.http.get(
                url,
                params={"include_events": "ALL", "token": self.settings.rasa_api_token},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise BridgeError(f"Rasa is not reachable: {type(exc).__name__}") from None
        if answer.status_code != 200:
            raise BridgeError(f"Rasa answered {answer.status_code} for the transcript")
        events = answer.json().get("events") or []
        return [event for event in events if isinstance(event, dict)]

    def _post(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.settings.rasa_url}/webhooks/handoff/{action}"
        try:
            answer = self.http.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {self.settings.handoff_token}"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise BridgeError(f"Rasa is not reachable: {type(exc).__name__}") from None
        if answer.status_code != 200:
            raise BridgeError(f"Rasa refused {action}: {answer.status_code}")
        result: dict[str, Any] = answer.json()
        return result

    def claimed(self, sender_id: str, agent: str) -> dict[str, Any]:
        """Pause the bot (if it is not already) and greet the customer as the agent."""
        return self._post("claim", {"sender_id": sender_id, "agent": agent})

    def reply(self, sender_id: str, agent: str, text: str) -> dict[str, Any]:
        """Say `text` to the customer as the agent."""
        return self._post("reply", {"sender_id": sender_id, "agent": agent, "text": text})

    def closed(self, sender_id: str, agent: str) -> dict[str, Any]:
        """Hand the conversation back to the bot with a short line."""
        return self._post("close", {"sender_id": sender_id, "agent": agent})

    def widget_token(self, customer_id: str) -> str | None:
        """A widget token for a signed-in customer (server to server, with the channel secret)."""
        secret = self.settings.web_channel_secret
        if not secret:
            return None
        try:
            answer = self.http.post(
                f"{self.settings.rasa_url}/webhooks/web/session",
                json={"customer_id": customer_id},
                headers={"X-Web-Channel-Secret": secret},
                timeout=(1.0, 2.0),
            )
            answer.raise_for_status()
            token = answer.json().get("token")
        except (requests.RequestException, ValueError) as exc:
            # The page still works; the widget then starts as an anonymous visitor.
            logger.warning("no widget token for a demo customer: %s", type(exc).__name__)
            return None
        return token if isinstance(token, str) else None
