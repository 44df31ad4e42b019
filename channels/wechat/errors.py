"""The WeChat channel's exceptions, in one tree callers can catch precisely."""

from __future__ import annotations


class WeChatError(Exception):
    """Anything the WeChat channel refuses or fails to do."""


class WeChatConfigError(WeChatError, ValueError):
    """The channel's credentials are missing or unusable."""


class RequestRejected(WeChatError):
    """A push that is forged, stale, malformed or too large: answered with a 4xx."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


class DeliveryError(WeChatError):
    """The customer-service message API did not take a message."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class OutsideServiceWindow(DeliveryError):
    """45015: the customer last wrote more than 48 hours ago; only they can reopen the chat."""


class QuotaExceeded(DeliveryError):
    """45047: too many messages sent since the customer last wrote."""
