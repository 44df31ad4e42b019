"""Customer routes: card profiles and behaviour events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from mall import changes, schemas, views
from mall.routes.deps import CustomerId, DatabaseDep
from mall.services import card, profiles, recommendations

router = APIRouter(prefix="/customers/{customer_id}", tags=["customers"])


@router.get(
    "/profile", response_model=schemas.ProfileOut, responses={404: {"model": schemas.ErrorOut}}
)
def get_profile(database: DatabaseDep, customer_id: CustomerId) -> dict[str, Any]:
    """The customer's AI business card: profile, segment and why, interests, value."""
    with database.read_session() as session:
        found = profiles.get_profile(session=session, customer_id=customer_id)
        details = card.card_details(session=session, customer=found.customer)
        return views.profile(found.customer, found.stats, details)


@router.post(
    "/events",
    status_code=201,
    response_model=schemas.EventRecordedOut,
    responses={422: {"model": schemas.ErrorOut}},
)
def record_event(
    database: DatabaseDep, customer_id: CustomerId, event: schemas.EventIn
) -> dict[str, Any]:
    """Log a behaviour event (creating the customer if new) and return the segment."""
    with database.write_session() as session:
        segment = profiles.record_event(
            session=session,
            customer_id=customer_id,
            event_type=event.type,
            product_id=event.product_id,
            properties=dict(event.properties) if event.properties else None,
        )
    changes.announce("profile", customer_id)
    return {"ok": True, "segment": segment}


@router.get("/recommendations", response_model=schemas.RecommendationsOut)
def get_recommendations(
    database: DatabaseDep,
    customer_id: CustomerId,
    product_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
) -> dict[str, Any]:
    """Products for this customer, from behaviour (co-bought, co-viewed, their categories)."""
    with database.read_session() as session:
        items = recommendations.recommend(
            session=session, customer_id=customer_id, product_id=product_id, limit=limit
        )
    return {"items": items}
