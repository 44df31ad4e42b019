"""Exceptions raised by the mall clients, in one tree callers can catch precisely."""

from __future__ import annotations

from typing import Any


class MallError(Exception):
    """Any failure talking to the mall API."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class MallUnavailable(MallError):
    """The mall could not answer: connection refused or dropped, timeout, or a 5xx."""


class CircuitOpen(MallUnavailable):
    """Not even attempted: the mall failed several times in a row moments ago."""


class NotFound(MallError):
    """The mall says the thing asked for does not exist (or is not this customer's)."""


class Conflict(MallError):
    """The request clashes with the current state, e.g. `limit_reached` or `out_of_stock`."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = 409,
        body: dict[str, Any] | None = None,
    ):
        super().__init__(message, code=code, status=status)
        # The whole error body: `limit_reached` carries the customer's existing coupon.
        self.body: dict[str, Any] = body or {}


class Unauthorized(MallError):
    """The mall refused our service token (401/403): MALL_API_TOKEN is wrong or missing."""


class InvalidRequest(MallError):
    """The mall refused the request as malformed (400/422): a bug on our side."""
