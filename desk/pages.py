"""Rendering desk pages: one template folder, one function, the request's desk services."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from desk.analytics import AnalyticsApi
from desk.mall import MallApi
from desk.rasa import Rasa
from desk.settings import DeskSettings
from security.ratelimit import Limit, RateLimiter

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))


@dataclass
class Services:
    """What the routes of one desk app use (tests put fakes in)."""

    settings: DeskSettings
    mall: MallApi
    rasa: Rasa
    login_limiter: RateLimiter
    analytics: AnalyticsApi | None = None
    # Behaviour events from shop pages, per client address.
    event_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(Limit(120, 60)))


def services(request: Request) -> Services:
    """The desk services of the app serving `request`."""
    found: Services = request.app.state.desk
    return found


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page from desk/templates (autoescaped: every customer word is shown as text)."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def client_address(request: Request) -> str:
    """The caller's address (the proxy's X-Forwarded-For when uvicorn trusts that proxy)."""
    return request.client.host if request.client else "unknown"
