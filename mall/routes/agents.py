"""Agent sign-in for the desk: a session per sign-in, lock-out after repeated failures."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mall import schemas
from mall.errors import InvalidCredentials, Locked
from mall.models import Agent, utcnow
from mall.routes.deps import DatabaseDep
from mall.routes.handoffs import AgentSession, signed_in
from mall.services import agents

router = APIRouter(prefix="/agents", tags=["agents"])


def agent_view(agent: Agent) -> dict[str, object]:
    """The JSON view of an agent."""
    return {
        "id": agent.id,
        "username": agent.username,
        "display_name": agent.display_name,
        "role": agent.role or "agent",
        "scope_id": agent.scope_id,
    }


@router.post(
    "/sessions",
    status_code=201,
    response_model=schemas.SignedInOut,
    responses={
        401: {"model": schemas.ErrorOut, "description": "wrong name or password"},
        429: {"model": schemas.LockedOut, "description": "locked after repeated failures"},
    },
)
def sign_in(request: Request, database: DatabaseDep, body: schemas.SignInIn) -> dict[str, Any]:
    """Check an agent's password and start a session (the desk keeps the token in a cookie)."""
    settings = request.app.state.settings.handoff
    with database.write_session() as session:
        outcome = agents.log_in(
            session=session,
            username=body.username.strip(),
            password=body.password,
            settings=settings,
            now=utcnow(),
        )
        content = (
            {
                "token": outcome.token,
                "expires_at": outcome.expires_at.isoformat(),
                "agent": agent_view(outcome.agent),
            }
            if outcome.token and outcome.agent and outcome.expires_at
            else None
        )
    # Raised after the commit: a wrong password must still count towards the lock.
    if outcome.locked_for is not None:
        seconds = max(1, math.ceil(outcome.locked_for.total_seconds()))
        raise Locked(
            f"密码错误次数过多，账号已临时锁定，请 {math.ceil(seconds / 60)} 分钟后再试",
            extra={"retry_after": seconds},
        )
    if content is None:
        raise InvalidCredentials("账号或密码不正确")
    return content


@router.get("/me", response_model=schemas.AgentOut, responses={401: {"model": schemas.ErrorOut}})
def current_agent(database: DatabaseDep, agent_session: AgentSession) -> dict[str, Any]:
    """The agent of a live session (and they count as online from now)."""
    with database.write_session() as session:
        return agent_view(signed_in(session, agent_session, role=None))


@router.delete("/me", status_code=204)
def sign_out(database: DatabaseDep, agent_session: AgentSession) -> Response:
    """End the session (no error when it is already gone)."""
    with database.write_session() as session:
        agents.log_out(session=session, token=agent_session)
    return Response(status_code=204)
