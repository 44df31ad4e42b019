"""A turn's reads in one request: the greeting's and the price question's.

The assistant's price turn needs the product the customer means, their card profile, the
products to suggest beside it, and the consult recorded. Answered one by one that is four
round trips per turn; here it is one, reading from the same product index and database.
The greeting likewise needs the profile, the product of the page the customer chats from
and suggestions: `read_welcome`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from mall import views
from mall.errors import NotFound
from mall.models import Product
from mall.services import card, catalogue, profiles, recommendations


@dataclass(frozen=True)
class Sources:
    """Where the product in play may come from, strongest first."""

    words: str | None = None  # the product entity NLU found (a canonical name after synonyms)
    page_product_id: str | None = None  # the product page the customer chats from
    text: str | None = None  # the whole message, for names written inside it
    product_id: str | None = None  # the product of earlier turns


@dataclass(frozen=True)
class Found:
    """The product in play, or the words that named none (with near matches)."""

    product: Product | None = None
    asked_for: str | None = None
    suggestions: list[Any] = field(default_factory=list)


def find_product(*, session: Session, sources: Sources) -> Found:
    """The product in play: named words > the page's product > names in the text > earlier.

    Words that name no product stop the search: the customer asked about something else
    than the page or earlier turns show, and is offered near matches instead.
    """
    if sources.words:
        resolution = catalogue.resolve_product(session=session, q=sources.words)
        if resolution.product is not None:
            return Found(product=resolution.product)
        return Found(asked_for=sources.words, suggestions=resolution.suggestions[:3])
    if sources.page_product_id:
        product = _product_or_none(session, sources.page_product_id)
        if product is not None:
            return Found(product=product)
    if sources.text:
        mentioned = catalogue.match_products(session=session, text=sources.text)
        if mentioned:
            product = _product_or_none(session, mentioned[0].id)
            if product is not None:
                return Found(product=product)
    if sources.product_id:
        product = _product_or_none(session, sources.product_id)
        if product is not None:
            return Found(product=product)
    return Found()


def _product_or_none(session: Session, product_id: str) -> Product | None:
    try:
        return catalogue.get_product(session=session, product_id=product_id)
    except NotFound:
        return None


def profile_view(*, session: Session, customer_id: str) -> dict[str, Any] | None:
    """The customer's profile as `GET /customers/{id}/profile` answers it, None if unknown."""
    try:
        found = profiles.get_profile(session=session, customer_id=customer_id)
    except NotFound:
        return None
    details = card.card_details(session=session, customer=found.customer)
    return views.profile(found.customer, found.stats, details)


def read_consult(
    *, session: Session, customer_id: str, sources: Sources, limit: int
) -> dict[str, Any]:
    """Everything the answer shows, read before the consult is recorded."""
    found = find_product(session=session, sources=sources)
    product = found.product
    if product is None:
        return {
            "product": None,
            "asked_for": found.asked_for,
            "suggestions": [views.product_summary(p) for p in found.suggestions],
            "profile": None,
            "recommendations": [],
            "segment": None,
        }
    suggested = (
        recommendations.recommend(
            session=session, customer_id=customer_id, product_id=product.id, limit=limit
        )
        if limit
        else []
    )
    return {
        "product": views.product_detail(product),
        "asked_for": None,
        "suggestions": [],
        "profile": profile_view(session=session, customer_id=customer_id),
        "recommendations": suggested,
        "segment": None,
    }


def read_welcome(
    *, session: Session, customer_id: str, page_product_id: str | None, limit: int
) -> dict[str, Any]:
    """The greeting's reads: the profile, the page's product (None if unknown), suggestions."""
    product = _product_or_none(session, page_product_id) if page_product_id else None
    suggested = (
        recommendations.recommend(session=session, customer_id=customer_id, limit=limit)
        if limit
        else []
    )
    return {
        "profile": profile_view(session=session, customer_id=customer_id),
        "product": views.product_detail(product) if product is not None else None,
        "recommendations": suggested,
    }
