"""The desk's exception tree: what its calls to the mall API and to Rasa can end in."""

from __future__ import annotations

from typing import Any


class DeskError(Exception):
    """Any failure of a call the desk makes."""


class MallUnavailable(DeskError):
    """The mall API could not be reached, timed out or failed (5xx)."""


class MallRefused(DeskError):
    """The mall API answered with a refusal (4xx): its code and message for people."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body


class BridgeError(DeskError):
    """The Rasa server could not be reached or refused the request."""


class AnalyticsUnavailable(DeskError):
    """The analytics process could not be reached, refused the desk or failed."""
