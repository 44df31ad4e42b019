"""The desk's client for the analytics process's read API (the dashboard's figures).

The desk holds its token, never a database URL: the analytics process reads its facts
store and the mall's orders itself. Failures become AnalyticsUnavailable.
"""

from __future__ import annotations

from typing import Any

import requests

from desk.errors import AnalyticsUnavailable
from desk.settings import DeskSettings

TIMEOUT = (2.0, 10.0)


class AnalyticsApi:
    """HTTP calls from the desk to `python -m analytics consume`'s API."""

    def __init__(self, settings: DeskSettings, session: requests.Session | None = None) -> None:
        self.base_url = settings.analytics_api_url
        self.http = session or requests.Session()
        self.http.headers.update(
            {
                "Authorization": f"Bearer {settings.analytics_api_token}",
                "Accept": "application/json",
            }
        )

    def _get(self, path: str, params: dict[str, str]) -> Any:
        try:
            answer = self.http.get(self.base_url + path, params=params, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise AnalyticsUnavailable(f"GET {path}: {type(exc).__name__}") from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code != 200 or not isinstance(body, dict):
            message = body.get("message") if isinstance(body, dict) else ""
            raise AnalyticsUnavailable(f"GET {path} answered {answer.status_code} {message}")
        return body

    def kpis(self, since: str, until: str, by: list[str]) -> dict[str, Any]:
        """The KPIs, funnel, sentiment and breakdowns for whole days [since, until]."""
        return dict(self._get("/kpis", {"since": since, "until": until, "by": ",".join(by)}))

    def todo(self, since: str, until: str) -> list[dict[str, Any]]:
        """The trainer's to-do list for the period."""
        return list(self._get("/todo", {"since": since, "until": until}).get("groups") or [])
