"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from mall import schemas, views
from mall.console import routes as console
from mall.db import Database
from mall.errors import MallError
from mall.handoff_settings import HandoffSettings
from mall.models import Coupon, utcnow
from mall.policies import load_guides, load_policies
from mall.routes import catalogue, coupons, customers, handoffs, orders, policies, shop
from mall.routes.deps import MallJSONResponse
from mall.settings import Settings

logger = logging.getLogger("mall")

HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return MallJSONResponse(
        status_code=status,
        content=jsonable_encoder({"error": code, "message": message, **extra}),
    )


def _extra_view(value: Any) -> Any:
    return views.coupon(value, utcnow()) if isinstance(value, Coupon) else value


async def _on_mall_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MallError)
    extra = {key: _extra_view(value) for key, value in exc.extra.items()}
    return _error(exc.status_code, exc.code, exc.message, **extra)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": [str(part) for part in error["loc"]], "msg": error["msg"]} for error in exc.errors()
    ]
    where = ", ".join(".".join(d["loc"]) for d in details) or "request"
    return _error(422, "invalid_request", f"请求参数不正确：{where}", details=details)


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "invalid_request")
    return _error(exc.status_code, code, str(exc.detail))


def _database_busy_or_down(exc: OperationalError) -> bool:
    # Lock timeouts and lost connections are worth a retry; other operational errors
    # (a missing table, say) are faults like any other.
    return exc.connection_invalidated or "database is locked" in str(exc.orig)


async def _on_operational_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    if not _database_busy_or_down(exc):
        return await _on_unexpected(request, exc)
    logger.error("database unavailable: %s", exc)
    return _error(503, "unavailable", "服务繁忙，请稍后再试")


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return _error(500, "internal_error", "服务器内部错误，请稍后再试")


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    handoff_settings: HandoffSettings | None = None,
) -> FastAPI:
    """Build the mall API on the settings' database (or on `database`, for tests)."""
    settings = settings or Settings.from_env()
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        logger.info("mall service ready (database %s)", database.engine.url)
        yield
        database.dispose()

    app = FastAPI(
        title="Mall service",
        version="1.0",
        description="Reference S2B2C mall: catalogue, policies, card profiles, orders, coupons.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.policies = load_policies()
    app.state.guides = load_guides()
    app.state.handoff_settings = handoff_settings or HandoffSettings.from_env()

    app.add_exception_handler(MallError, _on_mall_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(OperationalError, _on_operational_error)
    app.add_exception_handler(Exception, _on_unexpected)

    @app.get("/health", response_model=schemas.HealthOut, tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    for module in (catalogue, policies, customers, orders, coupons, handoffs, shop):
        app.include_router(module.router)
    # The agent console: HTML pages behind a login (mall/console).
    console.install(app)
    return app
