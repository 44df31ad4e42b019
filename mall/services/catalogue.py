"""Catalogue rules: listing, search, resolving what a customer called a product."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from mall.errors import NotFound
from mall.models import Category, Product
from mall.services import text_match


class ProductRow(Protocol):
    """A row of _SUMMARY_COLUMNS."""

    id: str
    name: str
    category_id: str
    price: Decimal
    list_price: Decimal
    aliases: list[str]


@dataclass(frozen=True)
class Resolution:
    """The product a query names, or else products the customer may have meant."""

    product: Product | None
    suggestions: list[ProductRow] = field(default_factory=list)


def list_categories(*, session: Session) -> list[Category]:
    """All categories in catalogue order."""
    return list(session.scalars(select(Category).order_by(Category.id)))


# Just the columns a product list shows and matching needs: plain rows are several
# times cheaper to load than ORM objects.
_SUMMARY_COLUMNS = (
    Product.id,
    Product.name,
    Product.category_id,
    Product.price,
    Product.list_price,
    Product.aliases,
)


def _all_products(session: Session, category: str | None = None) -> list[ProductRow]:
    # The whole catalogue in one query: alias matching happens in Python because
    # aliases live in a JSON list, and a mall's catalogue is small enough for that.
    statement = select(*_SUMMARY_COLUMNS).order_by(Product.id)
    if category:
        statement = statement.where(Product.category_id == category)
    return list(session.execute(statement).all())


@lru_cache(maxsize=4096)
def _names_of(product_id: str, name: str, aliases: tuple[str, ...]) -> text_match.Names:
    # Keyed on the names themselves, so an edited product is simply normalised afresh.
    return text_match.names_of(product_id, name, aliases)


def _names(products: list[ProductRow]) -> list[text_match.Names]:
    return [_names_of(p.id, p.name, tuple(p.aliases)) for p in products]


def search_products(
    *, session: Session, q: str | None = None, category: str | None = None, limit: int = 20
) -> list[ProductRow]:
    """Products whose name or an alias contains `q`, optionally within one category."""
    products = _all_products(session, category)
    query = text_match.normalise(q or "")
    if query:
        wanted = set(text_match.query_inside_names(query, _names(products)))
        products = [p for p in products if p.id in wanted]
    return products[:limit]


def get_product(*, session: Session, product_id: str) -> Product:
    """One product with its category, supplier and SKUs; NotFound when unknown."""
    product = (
        session.scalars(
            select(Product)
            .where(Product.id == product_id)
            .options(
                joinedload(Product.category),
                joinedload(Product.supplier),
                joinedload(Product.skus),
            )
        )
        .unique()
        .one_or_none()
    )
    if product is None:
        raise NotFound(f"没有找到商品 {product_id}")
    return product


def resolve_product(*, session: Session, q: str) -> Resolution:
    """Find the product a customer means by `q`.

    An exact name or alias wins; then a unique product whose name or alias contains
    the words; then a unique longest name or alias mentioned inside the words. When
    several products fit, none is chosen and they come back as suggestions; when
    none fits, the suggestions are up to three products sharing the most characters.
    """
    query = text_match.normalise(q)
    if not query:
        return Resolution(product=None)
    products = _all_products(session)
    by_id = {p.id: p for p in products}
    catalogue = _names(products)
    for finder in (
        text_match.exact_matches,
        text_match.query_inside_names,
        _longest_mentions,
    ):
        ids = finder(query, catalogue)
        if len(ids) == 1:
            return Resolution(product=get_product(session=session, product_id=ids[0]))
        if ids:
            return Resolution(product=None, suggestions=[by_id[i] for i in ids[:3]])
    near = text_match.near_matches(query, catalogue)
    return Resolution(product=None, suggestions=[by_id[i] for i in near])


def _longest_mentions(query: str, catalogue: list[text_match.Names]) -> list[str]:
    """Products whose longest mention in the query is the longest one there ('白色T恤' -> T恤)."""
    best: dict[str, int] = {}
    for names in catalogue:
        lengths = [len(term) for term in names.terms if term in query]
        if lengths:
            best[names.product_id] = max(lengths)
    if not best:
        return []
    top = max(best.values())
    return [product_id for product_id, length in best.items() if length == top]


def match_products(*, session: Session, text: str) -> list[ProductRow]:
    """Products named anywhere in a customer's message, longest mention first."""
    query = text_match.normalise(text)
    if not query:
        return []
    products = _all_products(session)
    by_id = {p.id: p for p in products}
    return [by_id[i] for i in text_match.mentions(query, _names(products))]
