"""Catalogue routes: categories, product search, resolve, match, detail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from mall import schemas, views
from mall.routes.deps import DatabaseDep, Responses
from mall.services import catalogue
from mall.terms import guide_for

router = APIRouter(tags=["catalogue"])
NOT_FOUND: Responses = {404: {"model": schemas.ErrorOut}}


@router.get("/categories", response_model=schemas.CategoriesOut)
def list_categories(database: DatabaseDep) -> dict[str, Any]:
    """All product categories."""
    with database.read_session() as session:
        items = catalogue.list_categories(session=session)
        return {"items": [{"id": c.id, "name": c.name} for c in items]}


@router.get("/products", response_model=schemas.ProductsOut)
def search_products(
    database: DatabaseDep,
    q: Annotated[str | None, Query(max_length=100, description="name or alias words")] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Products whose name or an alias contains `q` (all products when `q` is empty)."""
    with database.read_session() as session:
        items = catalogue.search_products(session=session, q=q, category=category, limit=limit)
        return {"items": [views.product_summary(p) for p in items]}


@router.get("/products/resolve", response_model=schemas.ResolutionOut)
def resolve_product(
    database: DatabaseDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="the customer's words")],
) -> dict[str, Any]:
    """The product the customer's words name, or up to three suggestions."""
    with database.read_session() as session:
        resolution = catalogue.resolve_product(session=session, q=q)
        product = resolution.product
        return {
            "product": views.product_detail(product) if product is not None else None,
            "suggestions": [views.product_summary(p) for p in resolution.suggestions],
        }


@router.get("/products/match", response_model=schemas.ProductsOut)
def match_products(
    database: DatabaseDep,
    text: Annotated[str, Query(min_length=1, max_length=1000, description="a whole message")],
) -> dict[str, Any]:
    """Products named anywhere in a message, longest mention first."""
    with database.read_session() as session:
        items = catalogue.match_products(session=session, text=text)
        return {"items": [views.product_summary(p) for p in items]}


@router.get("/products/{product_id}/guide", response_model=schemas.GuideOut, responses=NOT_FOUND)
def get_product_guide(request: Request, database: DatabaseDep, product_id: str) -> dict[str, Any]:
    """How to use and look after the product, and what to try before a repair, by topic."""
    with database.read_session() as session:
        product = catalogue.get_product(session=session, product_id=product_id)
        category = product.category_id
    topics = guide_for(request.app.state.guides, product_id=product_id, category=category)
    return {"product_id": product_id, "category": category, "topics": topics}


@router.get("/products/{product_id}", response_model=schemas.ProductOut, responses=NOT_FOUND)
def get_product(database: DatabaseDep, product_id: str) -> dict[str, Any]:
    """One product with specs and SKU stock."""
    with database.read_session() as session:
        product = catalogue.get_product(session=session, product_id=product_id)
        return views.product_detail(product)
