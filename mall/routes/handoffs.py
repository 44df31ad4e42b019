"""Handoff routes: the assistant opens handoffs and leaves notes; the agent desk works them.

Routes an agent acts through (claim, close, reveal) also need the agent's session
(`X-Agent-Session`, from `POST /agents/sessions`): the service token says the desk is
calling, the session says which agent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from mall import schemas
from mall.errors import Forbidden, Unauthorized
from mall.metrics import record_claim_wait
from mall.models import Agent, Handoff, HandoffNote, HandoffReveal, utcnow
from mall.routes.deps import DatabaseDep, Responses
from mall.services import agents, handoffs
from mall.settings import HandoffSettings
from monitoring.metrics import HANDOFFS_OPENED

router = APIRouter(tags=["handoffs"])
NOT_FOUND: Responses = {404: {"model": schemas.ErrorOut}}
AGENT_ERRORS: Responses = {
    401: {"model": schemas.ErrorOut, "description": "no live agent session"},
    403: {"model": schemas.ErrorOut, "description": "not an agent account"},
    404: {"model": schemas.ErrorOut},
    409: {"model": schemas.ErrorOut},
}
HandoffId = Annotated[int, Path(ge=1, le=2**31 - 1)]
AgentSession = Annotated[str, Header(alias="X-Agent-Session", max_length=128)]


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def handoff_view(handoff: Handoff, *, with_agent: bool = True) -> dict[str, Any]:
    """The JSON view of a handoff (without its context package)."""
    profile = (handoff.context or {}).get("profile") or {}
    view: dict[str, Any] = {
        "id": handoff.id,
        "sender_id": handoff.sender_id,
        "channel": handoff.channel,
        "status": handoff.status,
        "reason": handoff.reason,
        "reasons": list(handoff.reasons or []),
        "offline": bool(handoff.offline),
        "created_at": handoff.created_at.isoformat(),
        "claimed_at": _time(handoff.claimed_at),
        "closed_at": _time(handoff.closed_at),
        "customer_name": profile.get("name") if isinstance(profile, dict) else None,
    }
    if with_agent:
        agent = handoff.agent
        view["agent"] = {"id": agent.id, "display_name": agent.display_name} if agent else None
        view["notes_count"] = len(handoff.notes)
    return view


def note_view(note: HandoffNote) -> dict[str, Any]:
    """The JSON view of a note."""
    return {
        "id": note.id,
        "kind": note.kind,
        "text": note.text,
        "phone": note.phone,
        "created_at": note.created_at.isoformat(),
    }


def reveal_view(reveal: HandoffReveal) -> dict[str, Any]:
    """The JSON view of one audited reveal."""
    return {
        "id": reveal.id,
        "target": reveal.target,
        "agent": {"id": reveal.agent.id, "display_name": reveal.agent.display_name},
        "created_at": reveal.created_at.isoformat(),
    }


def detail_view(handoff: Handoff) -> dict[str, Any]:
    """A handoff with its context package, notes and reveals."""
    return {
        **handoff_view(handoff),
        "context": handoff.context or {},
        "notes": [note_view(note) for note in handoff.notes],
        "reveals": [reveal_view(reveal) for reveal in handoff.reveals],
    }


def _settings(request: Request) -> HandoffSettings:
    settings: HandoffSettings = request.app.state.settings.handoff
    return settings


def signed_in(session: Session, token: str, role: str | None = "agent") -> Agent:
    """The account of a live desk session, in `role` (None: any); Unauthorized otherwise."""
    agent = agents.agent_for_token(session=session, token=token, now=utcnow())
    if agent is None:
        raise Unauthorized("坐席登录已失效，请重新登录")
    if role is not None and agent.role != role:
        # A distributor's or supplier's session never acts on customers' conversations.
        raise Forbidden("这个账号没有这项权限")
    return agent


# ---- the assistant ----


@router.get("/handoffs/availability", response_model=schemas.AvailabilityOut)
def get_availability(request: Request, database: DatabaseDep) -> dict[str, Any]:
    """Whether a person can take a conversation now, and the expected wait."""
    with database.read_session() as session:
        state = handoffs.availability(session=session, settings=_settings(request), now=utcnow())
    return state.as_dict()


@router.post(
    "/handoffs",
    status_code=201,
    response_model=schemas.HandoffOpenedOut,
    responses={200: {"model": schemas.HandoffOpenedOut, "description": "already open"}},
)
def open_handoff(
    request: Request, database: DatabaseDep, body: schemas.HandoffIn, response: Response
) -> dict[str, Any]:
    """Open a handoff (201), or return the conversation's open one (200)."""
    with database.write_session() as session:
        opened = handoffs.open_handoff(
            session=session,
            sender_id=body.sender_id,
            channel=body.channel,
            reason=body.reason,
            context=body.context,
            settings=_settings(request),
        )
        content = {
            "handoff": handoff_view(opened.handoff, with_agent=False),
            "created": opened.created,
            "availability": opened.availability.as_dict(),
        }
    if opened.created:
        HANDOFFS_OPENED.labels(body.reason).inc()
    else:
        response.status_code = 200
    return content


@router.post(
    "/handoffs/{handoff_id}/notes",
    status_code=201,
    response_model=schemas.NoteOut,
    responses=NOT_FOUND,
)
def add_note(database: DatabaseDep, body: schemas.NoteIn, handoff_id: HandoffId) -> dict[str, Any]:
    """Record a message or call-back number the customer left for the team."""
    with database.write_session() as session:
        note = handoffs.add_note(
            session=session, handoff_id=handoff_id, kind=body.kind, text=body.text, phone=body.phone
        )
        content = note_view(note)
    return content


# ---- the agent desk ----


@router.get("/handoffs", response_model=schemas.HandoffsOut)
def list_handoffs(
    database: DatabaseDep,
    status: Annotated[
        list[str], Query(description="waiting, active and/or closed (default: the open ones)")
    ] = ["waiting", "active"],  # noqa: B006 - FastAPI copies query defaults per request
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Handoffs in the given statuses: longest waiting first; closed ones newest first."""
    wanted = tuple(dict.fromkeys(status))
    if not set(wanted) <= set(handoffs.STATUSES):
        from mall.errors import InvalidRequest

        raise InvalidRequest("status 只能是 waiting、active 或 closed")
    with database.read_session() as session:
        items = handoffs.list_handoffs(session=session, statuses=wanted, limit=limit)
        return {"items": [handoff_view(handoff) for handoff in items]}


@router.get("/handoffs/{handoff_id}", response_model=schemas.HandoffDetailOut, responses=NOT_FOUND)
def get_handoff(database: DatabaseDep, handoff_id: HandoffId) -> dict[str, Any]:
    """One handoff with its context package, notes and the audit of revealed data."""
    with database.read_session() as session:
        return detail_view(handoffs.get_handoff(session=session, handoff_id=handoff_id))


@router.post(
    "/handoffs/{handoff_id}/claim", response_model=schemas.HandoffDetailOut, responses=AGENT_ERRORS
)
def claim(
    database: DatabaseDep, handoff_id: HandoffId, agent_session: AgentSession
) -> dict[str, Any]:
    """The signed-in agent takes a waiting handoff; of racing agents exactly one wins (409)."""
    with database.write_session() as session:
        agent = signed_in(session, agent_session)
        handoffs.claim(session=session, handoff_id=handoff_id, agent_id=agent.id, now=utcnow())
        handoff = handoffs.get_handoff(session=session, handoff_id=handoff_id)
        content = detail_view(handoff)
    record_claim_wait(handoff.created_at, handoff.claimed_at)
    return content


@router.post(
    "/handoffs/{handoff_id}/close", response_model=schemas.HandoffClosedOut, responses=AGENT_ERRORS
)
def close(
    database: DatabaseDep, handoff_id: HandoffId, agent_session: AgentSession
) -> dict[str, Any]:
    """Close a handoff: the claiming agent's own, or a waiting one any agent has dealt with."""
    with database.write_session() as session:
        agent = signed_in(session, agent_session)
        handoff, previous = handoffs.close(
            session=session, handoff_id=handoff_id, agent_id=agent.id, now=utcnow()
        )
        session.flush()
        content = {"handoff": handoff_view(handoff), "previous_status": previous}
    return content


@router.post(
    "/handoffs/{handoff_id}/reveals",
    status_code=201,
    response_model=schemas.RevealOut,
    responses=AGENT_ERRORS,
)
def reveal(
    database: DatabaseDep,
    handoff_id: HandoffId,
    agent_session: AgentSession,
    body: schemas.RevealIn,
) -> dict[str, Any]:
    """Record that the signed-in agent looked at masked personal data (the audit trail)."""
    with database.write_session() as session:
        agent = signed_in(session, agent_session)
        record = handoffs.reveal(
            session=session, handoff_id=handoff_id, agent=agent, target=body.target
        )
        content = reveal_view(record)
    return content
