"""The service's error tree; the HTTP layer turns each into `{"error", "message"}`."""

from __future__ import annotations

from typing import Any, ClassVar


class MallError(Exception):
    """A request the service refuses, with a stable code and a message for people."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_request"

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFound(MallError):
    status_code = 404
    code = "not_found"


class InvalidRequest(MallError):
    status_code = 422
    code = "invalid_request"


class LimitReached(MallError):
    status_code = 409
    code = "limit_reached"


class OutOfStock(MallError):
    status_code = 409
    code = "out_of_stock"


class AlreadyUsed(MallError):
    status_code = 409
    code = "already_used"


class Expired(MallError):
    status_code = 409
    code = "expired"


class NotAllowed(MallError):
    status_code = 409
    code = "not_allowed"


class AlreadyClaimed(MallError):
    status_code = 409
    code = "already_claimed"


class Unauthorized(MallError):
    status_code = 401
    code = "unauthorized"


class Forbidden(MallError):
    status_code = 403
    code = "forbidden"


class InvalidCredentials(MallError):
    status_code = 401
    code = "invalid_credentials"


class Locked(MallError):
    status_code = 429
    code = "locked"


class TooLarge(MallError):
    status_code = 413
    code = "too_large"
