"""Behaviour events in batches from the channels (shop page, widget, WeChat).

This route takes a channel's event key instead of the service token: a channel can append
its own kind of behaviour and nothing else, so the key a shop page's server or the WeChat
channel holds is worth far less than the token that reads every customer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from mall import schemas
from mall.routes.deps import DatabaseDep
from mall.services import events
from security.tokens import bearer_token

router = APIRouter(tags=["events"])
PATH = "/events"


class ChannelEventIn(BaseModel):
    id: str = Field(..., min_length=1, max_length=64, description="the channel's own event id")
    type: str = Field(..., max_length=32, example="add_to_cart")
    customer_id: str = Field(..., min_length=1, max_length=64)
    occurred_at: datetime
    product_id: str | None = Field(None, min_length=1, max_length=32)
    properties: dict[str, Any] | None = None


class EventBatchIn(BaseModel):
    source: str | None = Field(None, description="optional: must be the key's channel")
    events: list[ChannelEventIn]


class EventBatchOut(BaseModel):
    source: str
    accepted: int
    duplicates: int


@router.post(
    PATH,
    response_model=EventBatchOut,
    responses={
        401: {"model": schemas.ErrorOut, "description": "no or unknown channel key"},
        403: {"model": schemas.ErrorOut, "description": "the key belongs to another channel"},
        413: {"model": schemas.ErrorOut, "description": "too many events in one batch"},
        422: {"model": schemas.ErrorOut, "description": "the batch was refused whole"},
        429: {"model": schemas.ErrorOut, "description": "the channel's event rate is exceeded"},
    },
)
def ingest(
    request: Request,
    database: DatabaseDep,
    body: EventBatchIn,
    authorization: Annotated[str | None, Header(max_length=256)] = None,
) -> dict[str, Any]:
    """Record a batch of behaviour events: all or nothing, each event id at most once."""
    insight = request.app.state.settings.insight
    source = events.source_for_key(insight.event_keys, bearer_token(authorization))
    incoming = [
        events.IncomingEvent(
            id=item.id,
            type=item.type,
            customer_id=item.customer_id,
            occurred_at=item.occurred_at,
            product_id=item.product_id,
            properties=item.properties,
        )
        for item in body.events
    ]
    with database.read_session() as session:
        events.validate_batch(
            session=session,
            source=source,
            events=incoming,
            max_events=insight.max_batch_events,
            claimed_source=body.source,
        )
    wait = request.app.state.event_budget.take(source, len(incoming))
    if wait is not None:
        raise events.TooManyEvents(
            f"渠道 {source} 的事件太多，请 {wait:.1f} 秒后重试",
            extra={"retry_after": max(1, round(wait + 0.5))},
        )
    with database.write_session() as session:
        result = events.record_batch(
            session=session, source=source, events=incoming, attribution=insight.attribution
        )
    return {"source": result.source, "accepted": result.accepted, "duplicates": result.duplicates}
