"""Human handoff: open a handoff, tell the customer how long the wait is, let one agent claim it.

Agents log in to the console with a password (scrypt-hashed) and get a session token; only
its SHA-256 is stored, so a leaked database does not leak live sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mall.errors import AlreadyClaimed, InvalidRequest, NotAllowed, NotFound
from mall.handoff_settings import HandoffSettings
from mall.models import Agent, AgentSession, Handoff, HandoffNote, utcnow

OPEN_STATUSES = ("waiting", "active")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


# ---- agents and console sessions ----


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


def save_agent(*, session: Session, username: str, display_name: str, password: str) -> Agent:
    """Create the agent, or set the password and name of an existing one."""
    if not username.strip() or len(password) < 8:
        raise InvalidRequest("坐席账号不能为空，密码至少 8 位")
    agent = session.scalars(select(Agent).where(Agent.username == username)).one_or_none()
    if agent is None:
        agent = Agent(username=username, display_name=display_name, active=True)
        session.add(agent)
    agent.display_name = display_name
    agent.password_hash = hash_password(password)
    agent.active = True
    session.flush()
    return agent


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def log_in(
    *, session: Session, username: str, password: str, settings: HandoffSettings, now: datetime
) -> str | None:
    """A new session token for the agent, or None when the name or password is wrong."""
    agent = session.scalars(
        select(Agent).where(Agent.username == username, Agent.active.is_(True))
    ).one_or_none()
    # Hash even for unknown names, so timing does not tell which names exist.
    stored = agent.password_hash if agent is not None else hash_password("not-a-password")
    if not verify_password(password, stored) or agent is None:
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        AgentSession(
            token_hash=_token_hash(token),
            agent_id=agent.id,
            created_at=now,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    agent.last_seen_at = now
    return token


def log_out(*, session: Session, token: str) -> None:
    """End the session of `token` (no error when it is already gone)."""
    found = session.get(AgentSession, _token_hash(token))
    if found is not None:
        session.delete(found)


def agent_for_token(*, session: Session, token: str, now: datetime) -> Agent | None:
    """The agent of a live session; refreshes when they were last seen."""
    found = session.get(AgentSession, _token_hash(token))
    if found is None or found.expires_at <= now:
        return None
    agent = session.get(Agent, found.agent_id)
    if agent is None or not agent.active:
        return None
    agent.last_seen_at = now
    return agent


# ---- availability and opening a handoff ----


@dataclass(frozen=True)
class Availability:
    """Whether a person can answer soon, and roughly when."""

    in_service_hours: bool
    agents_online: int
    waiting: int
    expected_wait_minutes: int
    service_hours: str
    hotline: str

    @property
    def available(self) -> bool:
        """Someone can take the conversation now."""
        return self.in_service_hours and self.agents_online > 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON view."""
        return {
            "available": self.available,
            "in_service_hours": self.in_service_hours,
            "agents_online": self.agents_online,
            "waiting": self.waiting,
            "expected_wait_minutes": self.expected_wait_minutes,
            "service_hours": self.service_hours,
            "hotline": self.hotline,
        }


def availability(
    *, session: Session, settings: HandoffSettings, now: datetime, ahead: int | None = None
) -> Availability:
    """Service hours, agents online, the queue, and the expected wait for one more customer."""
    online = session.scalar(
        select(func.count())
        .select_from(Agent)
        .where(Agent.active.is_(True), Agent.last_seen_at >= now - settings.online_window)
    )
    waiting = session.scalar(
        select(func.count()).select_from(Handoff).where(Handoff.status == "waiting")
    )
    queue = int(waiting or 0) if ahead is None else ahead
    agents = int(online or 0)
    # Everyone ahead, plus this customer, shared among the agents online.
    wait = math.ceil((queue + 1) * settings.minutes_per_conversation / max(agents, 1))
    return Availability(
        in_service_hours=settings.in_service_hours(now),
        agents_online=agents,
        waiting=int(waiting or 0),
        expected_wait_minutes=max(wait, 1),
        service_hours=settings.service_hours,
        hotline=settings.hotline,
    )


@dataclass(frozen=True)
class Opened:
    """The open handoff for a conversation and the wait the customer should be told."""

    handoff: Handoff
    created: bool
    availability: Availability


def _open_for(session: Session, sender_id: str) -> Handoff | None:
    return session.scalars(
        select(Handoff).where(Handoff.sender_id == sender_id, Handoff.status.in_(OPEN_STATUSES))
    ).one_or_none()


def open_handoff(
    *,
    session: Session,
    sender_id: str,
    channel: str,
    reason: str,
    context: dict[str, Any],
    settings: HandoffSettings,
    now: datetime | None = None,
) -> Opened:
    """Open a handoff for the conversation, or return the one already open (idempotent).

    A second trigger on an open handoff adds its reason and refreshes the context package.
    """
    now = now or utcnow()
    existing = _open_for(session, sender_id)
    if existing is None:
        ahead = session.scalar(
            select(func.count()).select_from(Handoff).where(Handoff.status == "waiting")
        )
        state = availability(session=session, settings=settings, now=now, ahead=int(ahead or 0))
        handoff = Handoff(
            sender_id=sender_id,
            channel=channel,
            status="waiting",
            reason=reason,
            reasons=[reason],
            context=context,
            offline=not state.available,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(handoff)
        except IntegrityError:
            # Another trigger for the same conversation won the race.
            existing = _open_for(session, sender_id)
            if existing is None:
                raise
        else:
            return Opened(handoff=handoff, created=True, availability=state)
    if reason not in existing.reasons:
        existing.reasons = [*existing.reasons, reason]
    existing.context = context or existing.context
    ahead = session.scalar(
        select(func.count())
        .select_from(Handoff)
        .where(Handoff.status == "waiting", Handoff.created_at < existing.created_at)
    )
    state = availability(session=session, settings=settings, now=now, ahead=int(ahead or 0))
    return Opened(handoff=existing, created=False, availability=state)


def add_note(
    *, session: Session, handoff_id: int, kind: str, text: str, phone: str | None = None
) -> HandoffNote:
    """Record a message or a call-back number on a handoff."""
    if kind not in ("message", "callback"):
        raise InvalidRequest("留言类型只能是 message 或 callback")
    if not text.strip():
        raise InvalidRequest("留言不能为空")
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFound(f"没有找到转人工记录 {handoff_id}")
    note = HandoffNote(handoff_id=handoff_id, kind=kind, text=text[:2000], phone=phone)
    session.add(note)
    session.flush()
    return note


# ---- the console ----


def list_handoffs(*, session: Session, statuses: tuple[str, ...], limit: int = 50) -> list[Handoff]:
    """Handoffs in the given statuses: the longest-waiting first, closed ones newest first."""
    order = Handoff.created_at.desc() if statuses == ("closed",) else Handoff.created_at
    return list(
        session.scalars(
            select(Handoff)
            .where(Handoff.status.in_(statuses))
            .options(selectinload(Handoff.agent), selectinload(Handoff.notes))
            .order_by(order)
            .limit(limit)
        )
    )


def get_handoff(*, session: Session, handoff_id: int) -> Handoff:
    """One handoff with its agent and notes."""
    handoff = session.scalars(
        select(Handoff)
        .where(Handoff.id == handoff_id)
        .options(selectinload(Handoff.agent), selectinload(Handoff.notes))
    ).one_or_none()
    if handoff is None:
        raise NotFound(f"没有找到转人工记录 {handoff_id}")
    return handoff


def claim(*, session: Session, handoff_id: int, agent_id: int, now: datetime) -> None:
    """Give a waiting handoff to the agent; exactly one of several racing agents succeeds."""
    # One conditional UPDATE: the database decides the race, on SQLite and PostgreSQL alike.
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="active", agent_id=agent_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        return
    current = session.get(Handoff, handoff_id)
    if current is None:
        raise NotFound(f"没有找到转人工记录 {handoff_id}")
    if current.status == "active" and current.agent_id == agent_id:
        return  # a double click
    raise AlreadyClaimed(
        "这个会话已经被其他客服接待了" if current.status == "active" else "会话已结束"
    )


def assert_owner(handoff: Handoff, agent_id: int) -> None:
    """Only the agent who claimed a handoff may reply in it or close it."""
    if handoff.status != "active" or handoff.agent_id != agent_id:
        raise NotAllowed("只有接待中的客服本人可以回复或结束这个会话")


def close(
    *, session: Session, handoff_id: int, agent_id: int, now: datetime
) -> tuple[Handoff, str]:
    """Close a handoff: the claiming agent's, or a waiting one any agent has dealt with.

    Returns the handoff and the status it had, so the caller knows whether a person had the
    conversation (and the bot must be resumed).
    """
    handoff = get_handoff(session=session, handoff_id=handoff_id)
    previous = str(handoff.status)
    if previous == "closed":
        return handoff, previous
    if previous == "active":
        assert_owner(handoff, agent_id)
    else:
        handoff.agent_id = agent_id
    handoff.status = "closed"
    handoff.closed_at = now
    return handoff, previous
