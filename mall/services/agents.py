"""Agents of the console: passwords, sign-in with lock-out, and their sessions.

Passwords are scrypt-hashed. A sign-in gives a random session token; only its SHA-256 is
stored, so a leaked database does not leak live sessions. After too many wrong passwords in a
row the account is locked for a while, whatever the next password is.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mall.errors import InvalidRequest
from mall.models import Agent, AgentSession, DistributorCard, Supplier
from mall.settings import HandoffSettings

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# Hashed for unknown names, so that timing does not tell which names exist.
_DUMMY_HASH = ""


def hash_password(password: str) -> str:
    """A salted scrypt hash, self-describing: scrypt$n$r$p$salt$hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + f"{salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate.hex(), digest)


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if not _DUMMY_HASH:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


ROLES = ("agent", "distributor", "supplier")


def save_agent(
    *,
    session: Session,
    username: str,
    display_name: str,
    password: str,
    role: str = "agent",
    scope_id: str | None = None,
) -> Agent:
    """Create the account, or set the password and name of an existing one (and unlock it).

    `role` agent answers handoffs; a distributor (scope: their card id) or a supplier
    (scope: their supplier id) reads only their own figures.
    """
    if not username.strip() or len(password) < 8:
        raise InvalidRequest("坐席账号不能为空，密码至少 8 位")
    if role not in ROLES:
        raise InvalidRequest(f"未知的角色 {role}（可选：{', '.join(ROLES)}）")
    if role == "agent" and scope_id is not None:
        raise InvalidRequest("坐席账号没有归属范围")
    if role == "distributor" and session.get(DistributorCard, scope_id or "") is None:
        raise InvalidRequest(f"没有找到分销名片 {scope_id}")
    if role == "supplier" and session.get(Supplier, scope_id or "") is None:
        raise InvalidRequest(f"没有找到供应商 {scope_id}")
    agent = session.scalars(select(Agent).where(Agent.username == username)).one_or_none()
    if agent is None:
        agent = Agent(username=username, display_name=display_name, active=True)
        session.add(agent)
    agent.display_name = display_name
    agent.role = role
    agent.scope_id = scope_id
    agent.password_hash = hash_password(password)
    agent.active = True
    agent.failed_logins = 0
    agent.locked_until = None
    session.flush()
    return agent


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a session, a refusal, or a lock with its remaining time."""

    token: str | None = None
    agent: Agent | None = None
    expires_at: datetime | None = None
    locked_for: timedelta | None = None


def log_in(
    *, session: Session, username: str, password: str, settings: HandoffSettings, now: datetime
) -> SignIn:
    """Check the password; a new session, or why not (returned, so the count is committed)."""
    agent = session.scalars(
        select(Agent).where(Agent.username == username, Agent.active.is_(True))
    ).one_or_none()
    if agent is not None and agent.locked_until is not None and agent.locked_until > now:
        return SignIn(locked_for=agent.locked_until - now)
    stored = agent.password_hash if agent is not None else _dummy_hash()
    if not verify_password(password, stored) or agent is None:
        if agent is None:
            return SignIn()
        agent.failed_logins = int(agent.failed_logins or 0) + 1
        if agent.failed_logins >= settings.login_max_failures:
            agent.failed_logins = 0
            agent.locked_until = now + settings.lock_duration
            return SignIn(locked_for=settings.lock_duration)
        return SignIn()
    agent.failed_logins = 0
    agent.locked_until = None
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=settings.session_hours)
    session.add(
        AgentSession(
            token_hash=_token_hash(token), agent_id=agent.id, created_at=now, expires_at=expires_at
        )
    )
    agent.last_seen_at = now
    return SignIn(token=token, agent=agent, expires_at=expires_at)


def log_out(*, session: Session, token: str) -> None:
    """End the session of `token` (no error when it is already gone)."""
    found = session.get(AgentSession, _token_hash(token))
    if found is not None:
        session.delete(found)


def agent_for_token(*, session: Session, token: str, now: datetime) -> Agent | None:
    """The agent of a live session; refreshes when they were last seen."""
    if not token:
        return None
    found = session.get(AgentSession, _token_hash(token))
    if found is None or found.expires_at <= now:
        return None
    agent = session.get(Agent, found.agent_id)
    if agent is None or not agent.active:
        return None
    agent.last_seen_at = now
    return agent
