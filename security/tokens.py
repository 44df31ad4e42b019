"""Shared secrets: read them safely, compare them in constant time."""

from __future__ import annotations

import hmac

MIN_SECRET_LENGTH = 16
# Values people paste from examples; a deployment with one of these has no secret at all.
PLACEHOLDERS = frozenset(
    {"changeme", "change-me", "secret", "password", "token", "example", "xxx", "todo"}
)


class SecretError(ValueError):
    """A secret is missing or too weak to protect anything."""


def require_secret(name: str, value: str | None, *, min_length: int = MIN_SECRET_LENGTH) -> str:
    """The stripped secret, or SecretError naming the variable (never showing the value)."""
    secret = (value or "").strip()
    if not secret:
        raise SecretError(f"{name} is not set: give it a long random value (see .env.example)")
    if secret.lower() in PLACEHOLDERS or len(secret) < min_length:
        raise SecretError(
            f"{name} is a placeholder or shorter than {min_length} characters: "
            "use a long random value, e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`"
        )
    return secret


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def same_secret(offered: str | None, expected: str) -> bool:
    """Whether `offered` is the expected secret; takes the same time wherever they differ."""
    if not offered or not expected:
        return False
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))
