"""The FastAPI application factory: the mall API, behind its service token.

The mall is a backend: only the assistant's processes (action server, Rasa's safety net) and
the agent desk call it, each with the service token. Nothing here is meant for a browser.
"""

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
from mall.db import Database
from mall.errors import MallError
from mall.experiments import ExperimentBook
from mall.guards import (
    CHANNEL_KEY_PATHS,
    OPEN_PATHS,
    BodyLimitMiddleware,
    ServiceTokenMiddleware,
)
from mall.metrics import HANDOFF_QUEUE, OUTREACH_BACKLOG
from mall.models import Coupon, utcnow
from mall.routes import (
    agents,
    catalogue,
    coupons,
    customers,
    events,
    experiments,
    handoffs,
    orders,
    partners,
    segments,
    terms,
)
from mall.routes.deps import MallJSONResponse
from mall.services import catalogue as catalogue_service
from mall.services.events import EventBudget
from mall.settings import Settings
from mall.terms import load_guides, load_terms
from monitoring import asgi as metrics
from security.tokens import require_secret

logger = logging.getLogger("mall")

HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    response = MallJSONResponse(
        status_code=status,
        content=jsonable_encoder({"error": code, "message": message, **extra}),
    )
    if isinstance(extra.get("retry_after"), int):
        response.headers["Retry-After"] = str(extra["retry_after"])
    return response


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


def _document_the_token(app: FastAPI) -> None:
    """Say in the OpenAPI schema that every operation but /health needs the bearer token."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {})["securitySchemes"] = {
            "serviceToken": {"type": "http", "scheme": "bearer", "description": "MALL_API_TOKEN"},
            "channelKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "SHOP_EVENT_KEY, WIDGET_EVENT_KEY or WECHAT_EVENT_KEY",
            },
        }
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                if path in OPEN_PATHS:
                    operation["security"] = []
                elif path in CHANNEL_KEY_PATHS:
                    operation["security"] = [{"channelKey": []}]
                else:
                    operation["security"] = [{"serviceToken": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _warm_up(database: Database) -> None:
    try:
        with database.read_session() as session:
            catalogue_service.warm_up(session=session)
    except Exception:  # the first request that needs the index builds it instead
        logger.warning("product index not built at start-up", exc_info=True)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the mall API on the settings' database (or on `database`, for tests).

    Refuses (SecretError) to build without a real service token: a mall API open to anyone
    who can reach it must not start by accident.
    """
    settings = settings or Settings.from_env()
    token = require_secret("MALL_API_TOKEN", settings.api_token)
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The product index before the first request (a few seconds for 50,000 products).
        _warm_up(database)
        logger.info("mall service ready (database %s)", database.engine.url)
        yield
        database.dispose()

    app = FastAPI(
        title="Mall service",
        version="1.0",
        description="Reference S2B2C mall: catalogue, shop terms, card profiles, orders, coupons, "
        "handoffs. Every operation but /health needs the service token.",
        lifespan=lifespan,
        # No HTML documentation pages: no browser can send the token anyway, and the schema
        # (`/openapi.json`, with the token) and docs/mall-api.md describe every route.
        docs_url=None,
        redoc_url=None,
        # What every route returns, after FastAPI has checked it against its response_model.
        default_response_class=MallJSONResponse,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.terms = load_terms()
    app.state.guides = load_guides()
    app.state.experiments = ExperimentBook()
    app.state.event_budget = EventBudget(settings.insight.event_rate_limit)

    app.add_exception_handler(MallError, _on_mall_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(OperationalError, _on_operational_error)
    app.add_exception_handler(Exception, _on_unexpected)

    @app.get("/health", response_model=schemas.HealthOut, tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    for module in (
        catalogue,
        terms,
        customers,
        events,
        orders,
        coupons,
        handoffs,
        agents,
        partners,
        segments,
        experiments,
    ):
        app.include_router(module.router)
    _document_the_token(app)
    # Added last, so they run first: the token, then the body size, then the routes.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        ServiceTokenMiddleware, token=token, channel_keys=settings.insight.event_keys.values()
    )
    metrics.install(app)  # outermost: times every request, GET /metrics needs METRICS_TOKEN
    HANDOFF_QUEUE.database = database
    OUTREACH_BACKLOG.database = database
    return app
