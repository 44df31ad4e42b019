"""Shared secrets: read them safely, compare them in constant time."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

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


DEVELOPMENT = "development"
ENVIRONMENTS = (DEVELOPMENT, "production")
ENVIRONMENT_VARIABLE = "MALL_ASSISTANT_ENV"


def check_environment(value: str | None) -> str:
    """The deployment's environment name (development unless told), or SecretError."""
    name = (value or DEVELOPMENT).strip().lower() or DEVELOPMENT
    if name not in ENVIRONMENTS:
        raise SecretError(f"{ENVIRONMENT_VARIABLE} must be one of {', '.join(ENVIRONMENTS)}")
    return name


def kept_secret(path: Path) -> str:
    """The random secret kept in `path`, generated (readable by the owner only) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(value)
    return value


def resolve_secret(name: str, value: str | None, *, environment: str, var_dir: Path) -> str:
    """`value`; in development, when unset, a random one kept in var/secrets/<name>.

    Outside development a missing, short or placeholder secret is refused: a production
    process never invents a key that other hosts must share.
    """
    if environment != DEVELOPMENT:
        return require_secret(name, value)
    return (value or "").strip() or kept_secret(var_dir / "secrets" / name)
