"""Shared request plumbing: the database dependency, path parameters, JSON responses.

Routes open their session inside the endpoint and return a ready `JSONResponse`: a
generator dependency and FastAPI's response re-validation would each add a thread hop
or a full re-encoding to every request, and this service answers within a per-turn
latency budget. The response models still document every route in the OpenAPI schema,
and the tests check real responses against them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse

from mall.db import Database

# WeChat openids and web visitor ids: letters, digits and a few separators.
CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,64}$"

CustomerId = Annotated[
    str, Path(pattern=CUSTOMER_ID_PATTERN, description="WeChat openid or web visitor id")
]


async def get_database(request: Request) -> Database:
    """The database the app was created with (async: no thread hop for a lookup)."""
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]

# The `responses=` argument of a route: extra statuses for the OpenAPI schema.
Responses = dict[int | str, dict[str, Any]]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class MallJSONResponse(JSONResponse):
    """JSON with Chinese left readable and timestamps in ISO 8601."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, separators=(",", ":"), default=_encode
        ).encode("utf-8")


def ok(content: Any, status_code: int = 200) -> MallJSONResponse:
    """A JSON response from a view's plain dict."""
    return MallJSONResponse(content=content, status_code=status_code)
