"""Console pages: log in, see the queue, claim a conversation, reply, hand it back.

Server-rendered HTML (Jinja2, autoescaped: every customer word is shown as text). Every
route but the login form needs a session cookie (HttpOnly, SameSite=Strict); forms also
carry a token derived from the session, so another site cannot post on an agent's behalf.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from mall.console.bridge import BridgeError, Line, RasaBridge
from mall.db import Database
from mall.errors import MallError
from mall.handoff_settings import HandoffSettings
from mall.models import Agent, Handoff, utcnow
from mall.services import handoffs

logger = logging.getLogger(__name__)

COOKIE = "console_session"
PREFIX = "/console"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

REASONS = {
    "customer_asked": "顾客要求人工",
    "angry": "顾客情绪激动",
    "angry_complaint": "投诉且情绪负面",
    "persistent_negativity": "连续多条负面情绪",
    "not_understood": "连续两次没听懂",
    "service_failure": "系统故障",
}
STATUSES = {"waiting": "等待接入", "active": "接待中", "closed": "已结束"}


class LoginRequired(Exception):
    """The request has no live console session."""


def _csrf(token: str) -> str:
    return hashlib.sha256(f"console-form:{token}".encode()).hexdigest()


def _settings(request: Request) -> HandoffSettings:
    settings: HandoffSettings = request.app.state.handoff_settings
    return settings


def _bridge(request: Request) -> RasaBridge:
    bridge = getattr(request.app.state, "rasa_bridge", None)
    if bridge is None:
        bridge = RasaBridge(_settings(request))
        request.app.state.rasa_bridge = bridge
    return bridge


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def current_agent(request: Request) -> tuple[Agent, str]:
    """The logged-in agent and their session token; raises LoginRequired."""
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise LoginRequired
    with _database(request).write_session() as session:
        agent = handoffs.agent_for_token(session=session, token=token, now=utcnow())
        if agent is None:
            raise LoginRequired
        session.expunge(agent)
    return agent, token


def _check_form(token: str, csrf: str) -> None:
    if not hmac.compare_digest(_csrf(token), csrf):
        raise LoginRequired


def _back(handoff_id: int, **query: str) -> RedirectResponse:
    suffix = "&".join(f"{key}={quote(value)}" for key, value in query.items())
    url = f"{PREFIX}/handoffs/{handoff_id}" + (f"?{suffix}" if suffix else "")
    return RedirectResponse(url, status_code=303)


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    context.update(reasons=REASONS, statuses=STATUSES, prefix=PREFIX)
    context.setdefault("agent", None)
    response = templates.TemplateResponse(request, name, context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str = "") -> HTMLResponse:
    """The login form."""
    return _page(request, "login.html", error=error)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form("")) -> Response:
    """Check the password and start a session."""
    settings = _settings(request)
    with _database(request).write_session() as session:
        token = handoffs.log_in(
            session=session,
            username=username.strip(),
            password=password,
            settings=settings,
            now=utcnow(),
        )
    if token is None:
        return _page(request, "login.html", error="账号或密码不正确", username=username)
    response = RedirectResponse(PREFIX, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path=PREFIX,
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    """End the session."""
    _agent, token = current_agent(request)
    _check_form(token, csrf)
    with _database(request).write_session() as session:
        handoffs.log_out(session=session, token=token)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("", response_class=HTMLResponse)
def queue(request: Request) -> HTMLResponse:
    """Waiting and active handoffs, and the last closed ones."""
    agent, token = current_agent(request)
    with _database(request).read_session() as session:
        waiting = handoffs.list_handoffs(session=session, statuses=("waiting",))
        active = handoffs.list_handoffs(session=session, statuses=("active",))
        closed = handoffs.list_handoffs(session=session, statuses=("closed",), limit=10)
        state = handoffs.availability(session=session, settings=_settings(request), now=utcnow())
    return _page(
        request,
        "queue.html",
        agent=agent,
        csrf=_csrf(token),
        waiting=waiting,
        active=active,
        closed=closed,
        availability=state,
    )


def _transcript(request: Request, handoff: Handoff) -> tuple[list[Line], str]:
    try:
        return _bridge(request).transcript(handoff.sender_id), ""
    except BridgeError as exc:
        logger.warning("transcript of %s unavailable: %s", handoff.sender_id, exc)
        return [], "暂时连不上对话服务，下面是转人工时保存的记录。"


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
def detail(request: Request, handoff_id: int, sent: str = "", error: str = "") -> HTMLResponse:
    """One handoff: the context package, the live transcript, and the reply form."""
    agent, token = current_agent(request)
    with _database(request).read_session() as session:
        handoff = handoffs.get_handoff(session=session, handoff_id=handoff_id)
    lines, problem = _transcript(request, handoff)
    return _page(
        request,
        "handoff.html",
        agent=agent,
        csrf=_csrf(token),
        handoff=handoff,
        context=handoff.context or {},
        lines=lines,
        problem=problem,
        sent=sent,
        error=error,
        mine=handoff.status == "active" and handoff.agent_id == agent.id,
    )


@router.get("/handoffs/{handoff_id}/transcript", response_class=HTMLResponse)
def transcript(request: Request, handoff_id: int) -> HTMLResponse:
    """The transcript alone, which the detail page polls for new messages."""
    current_agent(request)
    with _database(request).read_session() as session:
        handoff = handoffs.get_handoff(session=session, handoff_id=handoff_id)
    lines, problem = _transcript(request, handoff)
    return _page(request, "transcript.html", lines=lines, problem=problem)


@router.post("/handoffs/{handoff_id}/claim")
def claim(request: Request, handoff_id: int, csrf: str = Form("")) -> Response:
    """Take a waiting conversation; a second agent gets a clear refusal."""
    agent, token = current_agent(request)
    _check_form(token, csrf)
    try:
        with _database(request).write_session() as session:
            handoffs.claim(session=session, handoff_id=handoff_id, agent_id=agent.id, now=utcnow())
            handoff = handoffs.get_handoff(session=session, handoff_id=handoff_id)
    except MallError as exc:
        return _back(handoff_id, error=exc.message)
    try:
        _bridge(request).claimed(handoff.sender_id, agent.display_name)
    except BridgeError as exc:
        logger.error("claim of %s not sent to Rasa: %s", handoff.sender_id, exc)
        return _back(handoff_id, error="已接入，但暂时连不上对话服务，顾客可能还没收到提示")
    return _back(handoff_id)


@router.post("/handoffs/{handoff_id}/reply")
def reply(
    request: Request, handoff_id: int, text: str = Form(""), csrf: str = Form("")
) -> Response:
    """Send the agent's words to the customer through the channel they use."""
    agent, token = current_agent(request)
    _check_form(token, csrf)
    text = text.strip()
    if not text:
        return _back(handoff_id, error="回复不能为空")
    if len(text) > 2000:
        return _back(handoff_id, error="回复太长了（最多 2000 字）")
    with _database(request).read_session() as session:
        handoff = handoffs.get_handoff(session=session, handoff_id=handoff_id)
        try:
            handoffs.assert_owner(handoff, agent.id)
        except MallError as exc:
            return _back(handoff_id, error=exc.message)
    try:
        _bridge(request).reply(handoff.sender_id, agent.display_name, text)
    except BridgeError as exc:
        logger.error("reply to %s failed: %s", handoff.sender_id, exc)
        return _back(handoff_id, error="发送失败：暂时连不上对话服务，请稍后重试")
    return _back(handoff_id, sent="1")


@router.post("/handoffs/{handoff_id}/close")
def close(request: Request, handoff_id: int, csrf: str = Form("")) -> Response:
    """End the handoff and give the conversation back to the bot."""
    agent, token = current_agent(request)
    _check_form(token, csrf)
    try:
        with _database(request).write_session() as session:
            handoff, previous = handoffs.close(
                session=session, handoff_id=handoff_id, agent_id=agent.id, now=utcnow()
            )
    except MallError as exc:
        return _back(handoff_id, error=exc.message)
    if previous == "active":
        try:
            _bridge(request).closed(handoff.sender_id, agent.display_name)
        except BridgeError as exc:
            logger.error("hand-back of %s not sent to Rasa: %s", handoff.sender_id, exc)
            return _back(handoff_id, error="已结束，但暂时连不上对话服务，机器人还没恢复接待")
    return RedirectResponse(PREFIX, status_code=303)


async def _login_required(request: Request, _exc: Exception) -> Response:
    if request.method == "GET":
        return RedirectResponse(f"{PREFIX}/login", status_code=303)
    return PlainTextResponse("请先登录客服工作台", status_code=401)


def install(app: FastAPI) -> None:
    """Mount the console on the mall app."""
    app.include_router(router)
    app.add_exception_handler(LoginRequired, _login_required)
