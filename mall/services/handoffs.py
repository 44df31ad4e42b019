"""The record of every handoff: open it, tell the customer the wait, let one agent claim it.

This is the one place a handoff is written down. The assistant opens one (`action_handoff`,
or the channels' safety net when the assistant itself fails) through `POST /handoffs`; the
agent desk lists, claims and closes them through the same API. Agents and their sign-in are
in `mall/services/agents.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mall.errors import AlreadyClaimed, InvalidRequest, NotAllowed, NotFound
from mall.models import Agent, Handoff, HandoffNote, HandoffReveal, utcnow
from mall.settings import HandoffSettings

OPEN_STATUSES = ("waiting", "active")
STATUSES = ("waiting", "active", "closed")


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
        .where(
            Agent.active.is_(True),
            Agent.role == "agent",  # distributor and supplier accounts answer nobody
            Agent.last_seen_at >= now - settings.online_window,
        )
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


# ---- the agent desk ----


def list_handoffs(*, session: Session, statuses: tuple[str, ...], limit: int = 50) -> list[Handoff]:
    """Handoffs in the given statuses: the longest-waiting first, closed ones newest first."""
    order = Handoff.created_at.desc() if statuses == ("closed",) else Handoff.created_at
    return list(
        session.scalars(
            select(Handoff)
            .where(Handoff.status.in_(statuses))
            .options(selectinload(Handoff.agent), selectinload(Handoff.notes))
            .order_by(order, Handoff.id)
            .limit(limit)
        )
    )


def get_handoff(*, session: Session, handoff_id: int) -> Handoff:
    """One handoff with its agent, notes and the audit of what agents revealed."""
    handoff = session.scalars(
        select(Handoff)
        .where(Handoff.id == handoff_id)
        .options(
            selectinload(Handoff.agent),
            selectinload(Handoff.notes),
            selectinload(Handoff.reveals).selectinload(HandoffReveal.agent),
        )
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


def reveal(*, session: Session, handoff_id: int, agent: Agent, target: str) -> HandoffReveal:
    """Record that `agent` looked at the personal data the desk masks in `target`."""
    if session.get(Handoff, handoff_id) is None:
        raise NotFound(f"没有找到转人工记录 {handoff_id}")
    record = HandoffReveal(handoff_id=handoff_id, agent_id=agent.id, target=target)
    session.add(record)
    session.flush()
    record.agent = agent
    return record
