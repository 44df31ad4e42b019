"""The desk's application factory: the demo shop, the agent console and its dashboard.

The desk holds no data of its own: it calls the mall API (service token) and the Rasa
server (API token, handoff bridge token), and never shares a process with either.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from desk import console, dashboard, experiments, partners, shop, shop_events
from desk.analytics import AnalyticsApi
from desk.errors import MallRefused, MallUnavailable
from desk.headers import SecurityHeadersMiddleware
from desk.mall import MallApi
from desk.pages import Services, render
from desk.rasa import Rasa
from desk.settings import DeskSettings
from monitoring import asgi as metrics
from security.asgi import BodyLimitMiddleware
from security.ratelimit import RateLimiter

logger = logging.getLogger("desk")

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The standard web client from the npm registry (`make webchat`), for the demo shop.
WEBCHAT_DIR = Path(__file__).resolve().parent.parent / "node_modules" / "rasa-webchat" / "lib"


class StaticFolder(StaticFiles):
    """The desk's static files; a path Starlette cannot even resolve is simply not found."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """Starlette's lookup, which keeps every path inside the folder; NUL bytes: not found."""
        if "\x00" in path:
            return "", None
        return super().lookup_path(path)


def _problem(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    back = console.PREFIX if request.url.path.startswith(console.PREFIX) else "/shop"
    return render(
        request, "problem.html", status_code=status, title=title, message=message, back=back
    )


async def _on_mall_unavailable(request: Request, exc: Exception) -> HTMLResponse:
    logger.error("mall API unavailable: %s", exc)
    return _problem(request, 503, "暂时无法服务", "暂时连不上商城服务，请稍后再试。")


async def _on_mall_refused(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, MallRefused)
    if exc.status == 404:
        return _problem(request, 404, "没有找到", exc.message or "没有找到这个页面。")
    logger.warning("mall API refused: %s %s", exc.status, exc.code)
    return _problem(request, 400, "无法完成", exc.message or "请求没有被接受。")


async def _on_http_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, HTTPException)
    return _problem(request, exc.status_code, "无法完成", str(exc.detail))


async def _on_unexpected(request: Request, exc: Exception) -> HTMLResponse:
    logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return _problem(request, 500, "出错了", "服务器内部错误，请稍后再试。")


def create_app(
    settings: DeskSettings | None = None,
    *,
    mall: MallApi | None = None,
    rasa: Rasa | None = None,
    analytics: AnalyticsApi | None = None,
) -> FastAPI:
    """Build the desk (tests pass fakes for the mall API and Rasa)."""
    settings = settings or DeskSettings.from_env()
    app = FastAPI(title="Agent desk", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.desk = Services(
        settings=settings,
        mall=mall or MallApi(settings),
        rasa=rasa or Rasa(settings),
        login_limiter=RateLimiter(settings.login_limit),
        analytics=analytics or AnalyticsApi(settings),
    )

    @app.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        """Liveness: the process answers."""
        return JSONResponse({"status": "ok"})

    app.include_router(shop.router)
    app.include_router(shop_events.router)
    app.include_router(partners.router)
    app.include_router(experiments.router)
    app.include_router(dashboard.router)
    dashboard.install_handlers(app)
    console.install(app)
    # StaticFiles resolves every path inside the folder and refuses anything outside it.
    app.mount("/static", StaticFolder(directory=STATIC_DIR), name="static")
    app.mount(
        "/vendor/rasa-webchat",
        StaticFolder(directory=WEBCHAT_DIR, check_dir=False),
        name="rasa-webchat",
    )
    app.add_exception_handler(MallUnavailable, _on_mall_unavailable)
    app.add_exception_handler(MallRefused, _on_mall_refused)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware, widget_origin=settings.widget_origin)
    metrics.install(app)  # GET /metrics: METRICS_TOKEN, else loopback callers only
    return app
