"""Signed widget tokens: which conversation a browser may read and write, and until when.

A token is `v1.<payload>.<signature>`: the payload is base64url JSON `{"sub": sender id,
"iat": issued, "exp": expires}` and the signature HMAC-SHA256 over `v1.<payload>` with the
channel secret. Nothing is stored server-side; the secret alone decides.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt

VERSION = "v1"
DEFAULT_TTL_SECONDS = 24 * 3600
# The mall's customer id rule (WeChat openids, web visitor ids), so every sender we sign is
# also a valid mall customer id.
SENDER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
# Domain separation: the same secret may sign other things elsewhere.
_CONTEXT = b"mall-assistant/web-channel-token\x00"


class TokenError(Exception):
    """A token the channel does not accept."""

    code = "invalid_token"
    message = "登录凭证无效，请刷新页面重试。"


class MissingToken(TokenError):
    """No token came with the request."""

    code = "missing_token"
    message = "缺少登录凭证（Authorization: Bearer <token>）。"


class ForgedToken(TokenError):
    """The token is malformed or its signature does not match."""

    code = "invalid_token"
    message = "登录凭证无效，请刷新页面重试。"


class ExpiredToken(TokenError):
    """The token was genuine but its time is up."""

    code = "token_expired"
    message = "登录凭证已过期，请刷新页面。"


@dataclass(frozen=True)
class Claims:
    """What a valid token says."""

    sender_id: str
    issued_at: int
    expires_at: int


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_visitor_id() -> str:
    """A fresh id for an anonymous web visitor."""
    return f"web-{secrets.token_urlsafe(12)}"


class TokenSigner:
    """Issues and checks widget tokens with one secret."""

    def __init__(
        self,
        secret: str,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("the web channel needs a non-empty secret")
        if ttl_seconds <= 0:
            raise ValueError("token lifetime must be positive")
        self._key = secret.encode("utf-8")
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def _sign(self, signed_part: str) -> bytes:
        return hmac.new(self._key, _CONTEXT + signed_part.encode("ascii"), hashlib.sha256).digest()

    def issue(self, sender_id: str) -> tuple[str, Claims]:
        """A token for `sender_id`, valid for the signer's lifetime."""
        if not SENDER_ID.match(sender_id):
            raise ValueError(f"not a valid sender id: {sender_id!r}")
        now = int(self._clock())
        claims = Claims(sender_id=sender_id, issued_at=now, expires_at=now + self.ttl_seconds)
        payload = json.dumps(
            {"sub": claims.sender_id, "iat": claims.issued_at, "exp": claims.expires_at},
            separators=(",", ":"),
        )
        signed_part = f"{VERSION}.{_b64encode(payload.encode('utf-8'))}"
        return f"{signed_part}.{_b64encode(self._sign(signed_part))}", claims

    def verify(self, token: str | None) -> Claims:
        """The claims of a genuine, unexpired token; a TokenError otherwise."""
        if not token:
            raise MissingToken()
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION:
            raise ForgedToken()
        signed_part = f"{parts[0]}.{parts[1]}"
        try:
            signature = _b64decode(parts[2])
        except (binascii.Error, ValueError):
            raise ForgedToken() from None
        # Signature first, in constant time: nothing of an unsigned payload is ever parsed.
        if not hmac.compare_digest(signature, self._sign(signed_part)):
            raise ForgedToken()
        try:
            payload = json.loads(_b64decode(parts[1]))
            claims = Claims(
                sender_id=str(payload["sub"]),
                issued_at=int(payload["iat"]),
                expires_at=int(payload["exp"]),
            )
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise ForgedToken() from None
        if self._clock() >= claims.expires_at:
            raise ExpiredToken()
        return claims


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


# -- the same identity as a JWT, for Rasa's socketio channel (channels/socketio.py) ---------
JWT_ALGORITHM = "HS256"
# Domain separation: the JWT key is not the widget tokens' key, though both come from one secret.
_KEY_CONTEXT = b"mall-assistant/socketio-jwt\x00"


def jwt_key(secret: str) -> str:
    """The socketio channel's JWT key, derived from the web channel's secret."""
    return hmac.new(secret.encode("utf-8"), _KEY_CONTEXT, hashlib.sha256).hexdigest()


def issue_jwt(secret: str, sender_id: str, expires_at: int) -> str:
    """A socketio token for `sender_id` (the web channel issues it with its own token)."""
    now = int(time.time())
    payload = {"sub": sender_id, "iat": now, "exp": expires_at}
    return jwt.encode(payload, jwt_key(secret), algorithm=JWT_ALGORITHM)


def sender_of(token: str | None, key: str) -> str | None:
    """The sender a genuine, unexpired socketio token names; None otherwise."""
    if not token:
        return None
    try:
        payload = jwt.decode(token, key, algorithms=[JWT_ALGORITHM], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    sender = payload.get("sub")
    return sender if isinstance(sender, str) and SENDER_ID.match(sender) else None
