"""The desk's client for the mall API: the catalogue for the shop, handoffs and agents.

Every call carries the service token; calls an agent makes also carry their session
(`X-Agent-Session`). Failures map onto `desk.errors`: MallUnavailable when the mall cannot
answer, MallRefused with the mall's code and message when it says no.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from desk.errors import MallRefused, MallUnavailable
from desk.settings import DeskSettings

TIMEOUT = (2.0, 5.0)
_TIMES = ("created_at", "claimed_at", "closed_at", "expires_at")


def _parse_times(item: dict[str, Any]) -> dict[str, Any]:
    """ISO timestamps become datetimes (templates format them); nested lists too."""
    for key in _TIMES:
        if isinstance(item.get(key), str):
            item[key] = datetime.fromisoformat(item[key])
    for key in ("notes", "reveals"):
        for nested in item.get(key) or []:
            _parse_times(nested)
    return item


class MallApi:
    """HTTP calls from the desk to the mall API."""

    def __init__(self, settings: DeskSettings, session: requests.Session | None = None) -> None:
        self.base_url = settings.mall_api_url
        self.http = session or requests.Session()
        self.http.headers.update(
            {"Authorization": f"Bearer {settings.mall_api_token}", "Accept": "application/json"}
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        agent_session: str | None = None,
        params: Any = None,
        json: Any = None,
    ) -> Any:
        headers = {"X-Agent-Session": agent_session} if agent_session is not None else None
        try:
            answer = self.http.request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                headers=headers,
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            # The type only: a request's URL and body can carry customer words.
            raise MallUnavailable(f"{method} {path}: {type(exc).__name__}") from None
        if answer.status_code == 204:
            return None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 500 or not isinstance(body, dict | list):
            raise MallUnavailable(f"{method} {path} answered {answer.status_code}")
        if answer.status_code >= 400:
            error = body if isinstance(body, dict) else {}
            raise MallRefused(
                answer.status_code,
                str(error.get("error") or "refused"),
                str(error.get("message") or ""),
                error,
            )
        return body

    # ---- the shop ----

    def categories(self) -> list[dict[str, Any]]:
        """Every product category."""
        return list(self._call("GET", "/categories")["items"])

    def products(self) -> list[dict[str, Any]]:
        """The catalogue (summaries with price and list price)."""
        return list(self._call("GET", "/products", params={"limit": 100})["items"])

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's AI business card, or None for a customer the mall does not know."""
        try:
            return dict(self._call("GET", f"/customers/{quote(customer_id, safe='')}/profile"))
        except MallRefused as refused:
            if refused.status in (404, 422):
                return None
            raise

    def distributor_stats(self, card_id: str, agent_session: str) -> dict[str, Any]:
        """A distributor's own figures; MallRefused 403 for anyone else's."""
        path = f"/distributors/{quote(card_id, safe='')}/stats"
        return dict(self._call("GET", path, agent_session=agent_session))

    def supplier_backflow(self, supplier_id: str, agent_session: str) -> dict[str, Any]:
        """A supplier's own after-sales signals; MallRefused 403 for anyone else's."""
        path = f"/suppliers/{quote(supplier_id, safe='')}/backflow"
        return dict(self._call("GET", path, agent_session=agent_session))

    def experiments(self) -> list[dict[str, Any]]:
        """The A/B tests in force with their figures (GET /experiments)."""
        return list(self._call("GET", "/experiments")["items"])

    def send_events(self, key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Hand a batch of behaviour events to the mall with a channel's own key."""
        try:
            answer = self.http.post(
                self.base_url + "/events",
                json={"events": events},
                headers={"Authorization": f"Bearer {key}"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise MallUnavailable(f"POST /events: {type(exc).__name__}") from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 500 or not isinstance(body, dict):
            raise MallUnavailable(f"POST /events answered {answer.status_code}")
        if answer.status_code >= 400:
            raise MallRefused(
                answer.status_code,
                str(body.get("error") or "refused"),
                str(body.get("message") or ""),
                body,
            )
        return body

    # ---- agents ----

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """A new session for the agent; MallRefused 401 (wrong) or 429 (locked)."""
        body = self._call(
            "POST", "/agents/sessions", json={"username": username, "password": password}
        )
        return _parse_times(body)

    def agent(self, agent_session: str) -> dict[str, Any] | None:
        """The agent of a live session, or None."""
        try:
            return dict(self._call("GET", "/agents/me", agent_session=agent_session))
        except MallRefused as refused:
            if refused.status in (401, 422):
                return None
            raise

    def sign_out(self, agent_session: str) -> None:
        """End the session."""
        self._call("DELETE", "/agents/me", agent_session=agent_session)

    # ---- handoffs ----

    def availability(self) -> dict[str, Any]:
        """Service hours, agents online, the queue."""
        return dict(self._call("GET", "/handoffs/availability"))

    def handoffs(self, *statuses: str, limit: int = 50) -> list[dict[str, Any]]:
        """Handoffs in these statuses."""
        body = self._call("GET", "/handoffs", params={"status": list(statuses), "limit": limit})
        return [_parse_times(item) for item in body["items"]]

    def handoff(self, handoff_id: int) -> dict[str, Any]:
        """One handoff with context, notes and reveals."""
        return _parse_times(self._call("GET", f"/handoffs/{int(handoff_id)}"))

    def claim(self, handoff_id: int, agent_session: str) -> dict[str, Any]:
        """The agent takes the handoff; MallRefused 409 when someone else has it."""
        path = f"/handoffs/{int(handoff_id)}/claim"
        return _parse_times(self._call("POST", path, agent_session=agent_session))

    def close(self, handoff_id: int, agent_session: str) -> dict[str, Any]:
        """Close the handoff; says which status it replaced."""
        body = self._call("POST", f"/handoffs/{int(handoff_id)}/close", agent_session=agent_session)
        _parse_times(body["handoff"])
        return dict(body)

    def reveal(self, handoff_id: int, agent_session: str, target: str) -> dict[str, Any]:
        """Record in the audit that the agent looked at masked personal data."""
        path = f"/handoffs/{int(handoff_id)}/reveals"
        body = self._call("POST", path, agent_session=agent_session, json={"target": target})
        return _parse_times(body)
