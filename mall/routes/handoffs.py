"""Handoff routes for the assistant: open a handoff, check availability, leave a message."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from mall import schemas
from mall.handoff_settings import HandoffSettings
from mall.models import Handoff, HandoffNote, utcnow
from mall.routes.deps import DatabaseDep, Responses, ok
from mall.services import handoffs

router = APIRouter(tags=["handoffs"])
NOT_FOUND: Responses = {404: {"model": schemas.ErrorOut}}


def handoff_view(handoff: Handoff) -> dict[str, Any]:
    """The JSON view of a handoff (without its context package)."""
    return {
        "id": handoff.id,
        "sender_id": handoff.sender_id,
        "channel": handoff.channel,
        "status": handoff.status,
        "reason": handoff.reason,
        "reasons": list(handoff.reasons or []),
        "offline": bool(handoff.offline),
        "created_at": handoff.created_at.isoformat(),
    }


def note_view(note: HandoffNote) -> dict[str, Any]:
    """The JSON view of a note."""
    return {
        "id": note.id,
        "kind": note.kind,
        "text": note.text,
        "phone": note.phone,
        "created_at": note.created_at.isoformat(),
    }


def _settings(request: Request) -> HandoffSettings:
    settings: HandoffSettings = request.app.state.handoff_settings
    return settings


@router.get("/handoffs/availability", response_model=schemas.AvailabilityOut)
def get_availability(request: Request, database: DatabaseDep) -> Response:
    """Whether a person can take a conversation now, and the expected wait."""
    with database.read_session() as session:
        state = handoffs.availability(session=session, settings=_settings(request), now=utcnow())
    return ok(state.as_dict())


@router.post(
    "/handoffs",
    status_code=201,
    response_model=schemas.HandoffOpenedOut,
    responses={200: {"model": schemas.HandoffOpenedOut, "description": "already open"}},
)
def open_handoff(request: Request, database: DatabaseDep, body: schemas.HandoffIn) -> Response:
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
            "handoff": handoff_view(opened.handoff),
            "created": opened.created,
            "availability": opened.availability.as_dict(),
        }
    return ok(content, status_code=201 if opened.created else 200)


@router.post(
    "/handoffs/{handoff_id}/notes",
    status_code=201,
    response_model=schemas.NoteOut,
    responses=NOT_FOUND,
)
def add_note(
    database: DatabaseDep, body: schemas.NoteIn, handoff_id: int = Path(..., ge=1)
) -> Response:
    """Record a message or call-back number the customer left for the team."""
    with database.write_session() as session:
        note = handoffs.add_note(
            session=session, handoff_id=handoff_id, kind=body.kind, text=body.text, phone=body.phone
        )
        content = note_view(note)
    return ok(content, status_code=201)
