"""Shared request plumbing: the database dependency, path parameters, JSON responses.

Routes open their session inside the endpoint (a generator dependency would add a thread
hop to every request) and return a plain dict; FastAPI checks it against the route's
`response_model` (mall/schemas.py, the API's contract) and renders it with
`MallJSONResponse`, so no route can answer a shape the schema does not promise.
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
