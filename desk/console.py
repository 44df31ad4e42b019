"""The agent console: sign in, see the queue, claim a conversation, reply, hand it back.

Server-rendered HTML; every action is a call to the mall API (handoffs, agents) or to the
Rasa server (transcripts, agent lines), made by this process with its credentials. The
browser holds only a session cookie (HttpOnly, SameSite=Strict, the mall's session token);
every form also carries a token derived from the session and must come from this origin, so
another site cannot post on an agent's behalf. Personal data in the conversation is masked
until the agent reveals it, and every reveal is recorded in the mall first.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from desk.errors import BridgeError, MallRefused, MallUnavailable
from desk.pages import client_address, render, services
from desk.transcript import Line, lines_from_events
from security.pii import contains_pii, mask_pii

logger = logging.getLogger(__name__)

COOKIE = "console_session"
PREFIX = "/console"
MAX_REPLY = 2000
TARGET = re.compile(r"^(line|note):[0-9]{1,9}$")

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


class FormRefused(Exception):
    """A form post without this session's form token, or from another site."""


SEGMENT_NAMES = {
    "high_value": "高价值",
    "churn_risk": "流失风险",
    "price_sensitive": "价格敏感",
    "new": "新客",
    "regular": "普通",
}


def _csrf(token: str) -> str:
    return hashlib.sha256(f"console-form:{token}".encode()).hexdigest()


class PartnerAccount(Exception):
    """A distributor or supplier signed in: they have their own page, not the console."""


def current_account(request: Request) -> tuple[dict[str, Any], str]:
    """The signed-in account (any role) and its session token; raises LoginRequired."""
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 128:
        raise LoginRequired
    account = services(request).mall.agent(token)
    if account is None:
        raise LoginRequired
    return account, token


def current_agent(request: Request) -> tuple[dict[str, Any], str]:
    """The signed-in agent and their session token; LoginRequired, or PartnerAccount."""
    account, token = current_account(request)
    if account.get("role", "agent") != "agent":
        raise PartnerAccount
    return account, token


def _check_form(request: Request, token: str, csrf: str) -> None:
    origin = request.headers.get("origin")
    # Browsers send Origin on every cross-site POST; it must name this very host.
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise FormRefused
    if not hmac.compare_digest(_csrf(token), csrf):
        raise FormRefused


def _back(handoff_id: int, anchor: str = "", **query: str) -> RedirectResponse:
    suffix = "&".join(f"{key}={quote(value)}" for key, value in query.items())
    url = f"{PREFIX}/handoffs/{handoff_id}" + (f"?{suffix}" if suffix else "") + anchor
    return RedirectResponse(url, status_code=303)


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.update(reasons=REASONS, statuses=STATUSES, prefix=PREFIX)
    context.setdefault("agent", None)
    return render(request, name, status_code, **context)


router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    """The login form."""
    return _page(request, "console/login.html")


@router.post("/login")
def login(
    request: Request,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=256),
) -> Response:
    """Check the password (in the mall) and start a session."""
    desk = services(request)
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise FormRefused
    wait = desk.login_limiter.hit(client_address(request))
    if wait is not None:
        seconds = math.ceil(wait)
        page = _page(
            request,
            "console/login.html",
            status_code=429,
            error=f"登录尝试太频繁，请 {seconds} 秒后再试",
            username=username,
        )
        page.headers["Retry-After"] = str(seconds)
        return page
    if not username.strip() or not password:
        return _page(request, "console/login.html", error="请输入账号和密码", username=username)
    try:
        session = desk.mall.sign_in(username.strip(), password)
    except MallRefused as refused:
        if refused.status == 429:
            page = _page(
                request,
                "console/login.html",
                status_code=429,
                error=refused.message,
                username=username,
            )
            page.headers["Retry-After"] = str(refused.body.get("retry_after") or 60)
            return page
        return _page(
            request,
            "console/login.html",
            status_code=401 if refused.status == 401 else 400,
            error="账号或密码不正确",
            username=username,
        )
    expires_at: datetime = session["expires_at"]
    response = RedirectResponse(PREFIX, status_code=303)
    response.set_cookie(
        COOKIE,
        session["token"],
        max_age=max(60, int((expires_at - datetime.now(timezone.utc)).total_seconds())),
        httponly=True,
        samesite="strict",
        secure=desk.settings.secure_cookies,
        path=PREFIX,
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    """End the session."""
    _agent, token = current_account(request)
    _check_form(request, token, csrf)
    services(request).mall.sign_out(token)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("", response_class=HTMLResponse)
def queue(request: Request) -> HTMLResponse:
    """Waiting and active handoffs, and the last closed ones."""
    agent, token = current_agent(request)
    mall = services(request).mall
    return _page(
        request,
        "console/queue.html",
        agent=agent,
        csrf=_csrf(token),
        waiting=mall.handoffs("waiting"),
        active=mall.handoffs("active"),
        closed=mall.handoffs("closed", limit=10),
        availability=mall.availability(),
    )


def _revealed(handoff: dict[str, Any], agent: dict[str, Any]) -> set[str]:
    """What this agent has revealed in this handoff (each recorded in the audit)."""
    return {
        str(reveal["target"])
        for reveal in handoff.get("reveals") or []
        if (reveal.get("agent") or {}).get("id") == agent["id"]
    }


def _transcript(
    request: Request, handoff: dict[str, Any], revealed: set[str]
) -> tuple[list[Line], str]:
    try:
        events = services(request).rasa.events(str(handoff["sender_id"]))
    except BridgeError as exc:
        logger.warning("transcript of handoff %s unavailable: %s", handoff["id"], exc)
        return [], "暂时连不上对话服务，请稍后刷新。"
    return lines_from_events(events, revealed), ""


def _notes(handoff: dict[str, Any], revealed: set[str]) -> list[dict[str, Any]]:
    notes = []
    for note in handoff.get("notes") or []:
        target = f"note:{note['id']}"
        shown = target in revealed
        text, phone = str(note.get("text") or ""), str(note.get("phone") or "")
        notes.append(
            {
                **note,
                "target": target,
                "maskable": not shown and (contains_pii(text) or contains_pii(phone)),
                "text": text if shown else mask_pii(text),
                "phone": phone if shown else mask_pii(phone),
            }
        )
    return notes


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
def detail(request: Request, handoff_id: int, sent: str = "", error: str = "") -> HTMLResponse:
    """One handoff: the context package, the live transcript, and the reply form."""
    agent, token = current_agent(request)
    handoff = services(request).mall.handoff(handoff_id)
    revealed = _revealed(handoff, agent)
    lines, problem = _transcript(request, handoff, revealed)
    context = handoff.get("context") or {}
    sentiment = [
        {"score": point.get("score"), "text": mask_pii(str(point.get("text") or ""))}
        for point in context.get("sentiment") or []
        if isinstance(point, dict)
    ]
    owner = (handoff.get("agent") or {}).get("id")
    try:
        business_card = services(request).mall.profile(str(handoff.get("sender_id") or ""))
    except MallUnavailable:
        business_card = None
    return _page(
        request,
        "console/handoff.html",
        agent=agent,
        csrf=_csrf(token),
        handoff=handoff,
        handoff_id=handoff["id"],
        context=context,
        sentiment=sentiment,
        notes=_notes(handoff, revealed),
        reveals=handoff.get("reveals") or [],
        lines=lines,
        problem=problem,
        sent=sent[:1],
        error=error[:200],
        mine=handoff["status"] == "active" and owner == agent["id"],
        business_card=business_card,
        segment_names=SEGMENT_NAMES,
    )


@router.get("/handoffs/{handoff_id}/transcript", response_class=HTMLResponse)
def transcript(request: Request, handoff_id: int) -> HTMLResponse:
    """The transcript alone, which the detail page polls for new messages."""
    agent, token = current_agent(request)
    handoff = services(request).mall.handoff(handoff_id)
    lines, problem = _transcript(request, handoff, _revealed(handoff, agent))
    return _page(
        request,
        "console/transcript.html",
        lines=lines,
        problem=problem,
        csrf=_csrf(token),
        handoff_id=handoff["id"],
    )


@router.post("/handoffs/{handoff_id}/claim")
def claim(request: Request, handoff_id: int, csrf: str = Form("")) -> Response:
    """Take a waiting conversation; a second agent gets a clear refusal."""
    agent, token = current_agent(request)
    _check_form(request, token, csrf)
    desk = services(request)
    try:
        handoff = desk.mall.claim(handoff_id, token)
    except MallRefused as refused:
        if refused.status == 401:
            raise LoginRequired from None
        return _back(handoff_id, error=refused.message)
    try:
        desk.rasa.claimed(str(handoff["sender_id"]), str(agent["display_name"]))
    except BridgeError as exc:
        logger.error("claim of handoff %s not sent to Rasa: %s", handoff_id, exc)
        return _back(handoff_id, error="已接入，但暂时连不上对话服务，顾客可能还没收到提示")
    return _back(handoff_id)


@router.post("/handoffs/{handoff_id}/reply")
def reply(
    request: Request,
    handoff_id: int,
    text: str = Form("", max_length=MAX_REPLY * 2),
    csrf: str = Form(""),
) -> Response:
    """Send the agent's words to the customer through the channel they use."""
    agent, token = current_agent(request)
    _check_form(request, token, csrf)
    text = text.strip()
    if not text:
        return _back(handoff_id, error="回复不能为空")
    if len(text) > MAX_REPLY:
        return _back(handoff_id, error=f"回复太长了（最多 {MAX_REPLY} 字）")
    desk = services(request)
    handoff = desk.mall.handoff(handoff_id)
    if handoff["status"] != "active" or (handoff.get("agent") or {}).get("id") != agent["id"]:
        return _back(handoff_id, error="只有接待中的客服本人可以回复或结束这个会话")
    try:
        desk.rasa.reply(str(handoff["sender_id"]), str(agent["display_name"]), text)
    except BridgeError as exc:
        logger.error("reply in handoff %s failed: %s", handoff_id, exc)
        return _back(handoff_id, error="发送失败：暂时连不上对话服务，请稍后重试")
    return _back(handoff_id, sent="1")


@router.post("/handoffs/{handoff_id}/close")
def close(request: Request, handoff_id: int, csrf: str = Form("")) -> Response:
    """End the handoff and give the conversation back to the bot."""
    agent, token = current_agent(request)
    _check_form(request, token, csrf)
    desk = services(request)
    try:
        closed = desk.mall.close(handoff_id, token)
    except MallRefused as refused:
        if refused.status == 401:
            raise LoginRequired from None
        return _back(handoff_id, error=refused.message)
    if closed["previous_status"] == "active":
        try:
            desk.rasa.closed(str(closed["handoff"]["sender_id"]), str(agent["display_name"]))
        except BridgeError as exc:
            logger.error("hand-back of handoff %s not sent to Rasa: %s", handoff_id, exc)
            return _back(handoff_id, error="已结束，但暂时连不上对话服务，机器人还没恢复接待")
    return RedirectResponse(PREFIX, status_code=303)


@router.post("/handoffs/{handoff_id}/reveal")
def reveal(
    request: Request, handoff_id: int, target: str = Form("", max_length=32), csrf: str = Form("")
) -> Response:
    """Show one masked line or note as written, after recording who looked at it."""
    _agent, token = current_agent(request)
    _check_form(request, token, csrf)
    if not TARGET.match(target):
        return _back(handoff_id, error="无法显示这一条")
    try:
        services(request).mall.reveal(handoff_id, token, target)
    except MallRefused as refused:
        if refused.status == 401:
            raise LoginRequired from None
        return _back(handoff_id, error=refused.message)
    kind, _, number = target.partition(":")
    return _back(handoff_id, anchor=f"#{kind}-{number}")


async def _login_required(request: Request, _exc: Exception) -> Response:
    if request.method == "GET":
        return RedirectResponse(f"{PREFIX}/login", status_code=303)
    return PlainTextResponse("请先登录客服工作台", status_code=401)


async def _partner_account(request: Request, _exc: Exception) -> Response:
    if request.method == "GET":
        return RedirectResponse(f"{PREFIX}/partner", status_code=303)
    return PlainTextResponse("这个账号只能查看自己的数据", status_code=403)


async def _form_refused(_request: Request, _exc: Exception) -> Response:
    return PlainTextResponse("表单已过期或来自其他网站，请刷新页面后重试", status_code=403)


def install(app: FastAPI) -> None:
    """Mount the console on the desk app."""
    app.include_router(router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PartnerAccount, _partner_account)
    app.add_exception_handler(FormRefused, _form_refused)
