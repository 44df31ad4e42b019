"""Coupon routes: best offer, issuing, listing, redeeming."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError

from mall import changes, schemas, views
from mall.models import utcnow
from mall.routes.deps import CustomerId, DatabaseDep, Responses
from mall.services import consults, coupons
from monitoring.metrics import COUPONS_ISSUED

logger = logging.getLogger(__name__)
router = APIRouter(tags=["coupons"])
CONFLICT: Responses = {409: {"model": schemas.CouponErrorOut}, 404: {"model": schemas.ErrorOut}}


@router.get(
    "/customers/{customer_id}/coupons/best",
    response_model=schemas.BestOfferOut,
    responses={404: {"model": schemas.ErrorOut}},
)
def best_offer(
    database: DatabaseDep,
    customer_id: CustomerId,
    product_id: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """The coupon that saves this customer most on one unit of the product."""
    with database.read_session() as session:
        offer = coupons.best_offer(session=session, customer_id=customer_id, product_id=product_id)
        template = views.template(offer.template) if offer.template is not None else None
    return {"template": template, "saving": views.money(offer.saving)}


@router.get(
    "/customers/{customer_id}/offer",
    response_model=schemas.OfferOut,
    responses={422: {"model": schemas.ErrorOut}},
)
def offer(
    database: DatabaseDep,
    customer_id: CustomerId,
    words: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    page_product_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    text: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
    product_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> dict[str, Any]:
    """A discount question in one request: the product in play, its best coupon, the profile.

    The product comes from the first source that names one, as for a consult; without one
    the best coupon is a store-wide one.
    """
    sources = consults.Sources(
        words=words, page_product_id=page_product_id, text=text, product_id=product_id
    )
    with database.read_session() as session:
        found = consults.find_product(session=session, sources=sources)
        suggestions = [views.product_summary(p) for p in found.suggestions]
        if found.asked_for is not None:
            return {
                "product": None,
                "asked_for": found.asked_for,
                "suggestions": suggestions,
                "best": None,
                "profile": None,
            }
        product = found.product
        best = coupons.best_offer(
            session=session,
            customer_id=customer_id,
            product_id=product.id if product is not None else None,
        )
        return {
            "product": views.product_detail(product) if product is not None else None,
            "asked_for": None,
            "suggestions": [],
            "best": {
                "template": views.template(best.template) if best.template is not None else None,
                "saving": views.money(best.saving),
            },
            "profile": consults.profile_view(session=session, customer_id=customer_id),
        }


@router.post(
    "/customers/{customer_id}/coupons",
    status_code=201,
    response_model=schemas.IssuedCouponOut,
    responses={
        **CONFLICT,
        200: {"model": schemas.IssuedCouponOut, "description": "key seen before"},
    },
)
def issue_coupon(
    database: DatabaseDep, customer_id: CustomerId, body: schemas.IssueIn, response: Response
) -> dict[str, Any]:
    """Issue a coupon: 201 when new, 200 with the same coupon for a key seen before.

    The answer carries the customer's card profile after the coupon, for the confirmation
    line, so the coupon turn needs no second request.
    """
    with database.write_session() as session:
        issued = coupons.issue_coupon(
            session=session,
            customer_id=customer_id,
            template_id=body.template_id,
            idempotency_key=body.idempotency_key,
        )
    answer = views.coupon(issued.coupon, utcnow())
    if issued.created:
        COUPONS_ISSUED.inc()
        changes.announce("profile", customer_id)
    else:
        response.status_code = 200
    try:
        with database.read_session() as session:
            answer["profile"] = consults.profile_view(session=session, customer_id=customer_id)
    except OperationalError:
        # The coupon is issued and committed: a database too busy for the extra read leaves
        # the profile null (the confirmation is then plain), never the coupon unanswered.
        logger.warning(
            "coupon for %s issued without the profile: the database is busy", customer_id
        )
        answer["profile"] = None
    return answer


@router.get("/customers/{customer_id}/coupons", response_model=schemas.CouponsOut)
def list_coupons(database: DatabaseDep, customer_id: CustomerId) -> dict[str, Any]:
    """The customer's coupons, newest first."""
    now = utcnow()
    with database.read_session() as session:
        items = coupons.list_coupons(session=session, customer_id=customer_id)
        return {"items": [views.coupon(c, now) for c in items]}


@router.post("/coupons/{code}/redeem", response_model=schemas.CouponOut, responses=CONFLICT)
def redeem_coupon(
    database: DatabaseDep, code: str, body: schemas.RedeemIn | None = None
) -> dict[str, Any]:
    """Mark the coupon used (409 already_used or expired)."""
    order_id = body.order_id if body is not None else None
    with database.write_session() as session:
        coupon = coupons.redeem_coupon(session=session, code=code, order_id=order_id)
        content = views.coupon(coupon, utcnow())
    return content
