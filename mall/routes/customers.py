"""Customer routes: card profiles and behaviour events."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.exc import OperationalError

from mall import changes, schemas, views
from mall.experiments import ExperimentBook
from mall.routes.deps import CustomerId, DatabaseDep
from mall.services import card, consults, profiles, recommendations
from mall.services.outreach import record_exposure

logger = logging.getLogger(__name__)
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


@router.get("/welcome", response_model=schemas.WelcomeOut)
def welcome(
    database: DatabaseDep,
    customer_id: CustomerId,
    page_product_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    recommendations: Annotated[int, Query(ge=0, le=10)] = 3,
) -> dict[str, Any]:
    """A greeting in one request: the card profile, the page's product, suggestions.

    Nothing is recorded. An unknown customer has no profile yet and an unknown page product
    is null: the greeting is then plain, never an error.
    """
    with database.read_session() as session:
        return consults.read_welcome(
            session=session,
            customer_id=customer_id,
            page_product_id=page_product_id,
            limit=recommendations,
        )


@router.post(
    "/consults", response_model=schemas.ConsultOut, responses={422: {"model": schemas.ErrorOut}}
)
def consult(
    database: DatabaseDep, customer_id: CustomerId, body: schemas.ConsultIn
) -> dict[str, Any]:
    """A price question in one request: the product in play, profile, suggestions; consult kept.

    The product comes from the first source that names one (words, page, text, earlier
    turns); the profile and suggestions are read as they were before this consult, which is
    then recorded (nothing is recorded when no product was found).
    """
    sources = consults.Sources(
        words=body.words,
        page_product_id=body.page_product_id,
        text=body.text,
        product_id=body.product_id,
    )
    with database.read_session() as session:
        answer = consults.read_consult(
            session=session, customer_id=customer_id, sources=sources, limit=body.recommendations
        )
    if answer["product"] is None:
        return answer
    try:
        with database.write_session() as session:
            answer["segment"] = profiles.record_event(
                session=session,
                customer_id=customer_id,
                event_type="consult",
                product_id=answer["product"]["id"],
                properties=dict(body.properties) if body.properties else None,
            )
    except OperationalError as exc:
        # The customer's answer matters more than the statistics: a database too busy to
        # take the event (SQLite's lock timed out) leaves the segment null.
        if not (exc.connection_invalidated or "database is locked" in str(exc.orig)):
            raise
        logger.warning("consult of %s not recorded: the database is busy", customer_id)
        return answer
    changes.announce("profile", customer_id)
    return answer


OptOutKind = Annotated[schemas.OptOut, Path(description="what the customer opts out of")]


@router.put("/opt-outs/{kind}", response_model=schemas.OptOutsOut)
def opt_out(database: DatabaseDep, customer_id: CustomerId, kind: OptOutKind) -> dict[str, Any]:
    """Stop `kind` for the customer ("marketing": every proactive message); idempotent."""
    return _change_opt_outs(database, customer_id, kind, add=True)


@router.delete("/opt-outs/{kind}", response_model=schemas.OptOutsOut)
def opt_in(database: DatabaseDep, customer_id: CustomerId, kind: OptOutKind) -> dict[str, Any]:
    """Undo an opt-out ("恢复推送"); idempotent."""
    return _change_opt_outs(database, customer_id, kind, add=False)


def _change_opt_outs(database: Any, customer_id: str, kind: str, *, add: bool) -> dict[str, Any]:
    with database.write_session() as session:
        customer = profiles.ensure_customer(session=session, customer_id=customer_id, lock=True)
        current = [item for item in (customer.opt_outs or []) if item != kind]
        customer.opt_outs = sorted(current + [kind]) if add else current
        opt_outs = list(customer.opt_outs)
    changes.announce("profile", customer_id)
    return {"customer_id": customer_id, "opt_outs": opt_outs}


@router.post(
    "/exposures", response_model=schemas.ExposureOut, responses={422: {"model": schemas.ErrorOut}}
)
def expose(
    request: Request, database: DatabaseDep, customer_id: CustomerId, body: schemas.ExposureIn
) -> dict[str, Any]:
    """Which variant of `line` the customer sees; the first exposure is recorded and kept.

    Assignment hashes the experiment and customer ids (mall/experiments.py), so every replica
    and every restart agrees; a variant stopped in the experiments file gets nobody new, and
    its customers see the control from then on (they stay counted where they were exposed).
    """
    book: ExperimentBook = request.app.state.experiments
    experiment = book.for_line(body.line)
    if experiment is None:
        return {"experiment": None, "variant": None, "show": None, "control": None}
    with database.write_session() as session:
        profiles.ensure_customer(session=session, customer_id=customer_id)
        variant = record_exposure(session, experiment=experiment, customer_id=customer_id)
    live = {item.id for item in experiment.live_variants()}
    show = (
        variant
        if variant in live
        else (experiment.control.id if experiment.control.id in live else None)
    )
    return {
        "experiment": experiment.id,
        "variant": variant,
        "show": show,
        "control": experiment.control.id,
    }
