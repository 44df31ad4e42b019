"""Catalogue rules: listing, search, resolving what a customer called a product."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol
from weakref import WeakKeyDictionary, WeakSet

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from mall.errors import NotFound
from mall.models import CatalogueVersion, Category, Product
from mall.services import text_match

logger = logging.getLogger(__name__)


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


def _all_products(session: Session) -> list[ProductRow]:
    return list(session.execute(select(*_SUMMARY_COLUMNS).order_by(Product.id)).all())


def _rows(session: Session, ids: list[str]) -> list[ProductRow]:
    """The summary rows of `ids`, in that order."""
    if not ids:
        return []
    rows = session.execute(select(*_SUMMARY_COLUMNS).where(Product.id.in_(ids))).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


@dataclass(frozen=True)
class _Indexed:
    token: str | None
    names: text_match.NameIndex
    categories: dict[str, str]  # product id -> category id
    build_seconds: float


# One index per database (keyed by its connection pool), rebuilt when the catalogue
# version token changes: matching then costs the same for 40 products or 50,000.
_indexes: WeakKeyDictionary[Any, _Indexed] = WeakKeyDictionary()
_rebuilding: WeakSet[Any] = WeakSet()
_index_lock = threading.Lock()
# An index that took longer than this to build is rebuilt in the background after a
# change, the previous one answering meanwhile (a few seconds at 50,000 products), so no
# customer's request waits for it; a smaller catalogue is rebuilt on the spot.
INLINE_REBUILD_SECONDS = 0.25


# Read on every resolution and recommendation: built once (building the statement cost twice
# as much as running it, 95 of 140 µs).
_TOKEN = select(CatalogueVersion.token).where(CatalogueVersion.id == 1)


def _token(session: Session) -> str | None:
    token: str | None = session.scalar(_TOKEN)
    return token


def version_token(session: Session) -> str | None:
    """The catalogue's version token: it changes whenever a product is added or changed."""
    return _token(session)


def _build(session: Session, token: str | None) -> _Indexed:
    started = time.perf_counter()
    products = _all_products(session)
    return _Indexed(
        token=token,
        names=text_match.NameIndex(
            [text_match.names_of(p.id, p.name, p.aliases) for p in products]
        ),
        categories={p.id: p.category_id for p in products},
        build_seconds=time.perf_counter() - started,
    )


def _index(session: Session) -> _Indexed:
    token = _token(session)
    pool = session.get_bind().pool
    current = _indexes.get(pool)
    if current is not None and token is not None and current.token == token:
        return current
    if current is not None and token is not None and current.build_seconds > INLINE_REBUILD_SECONDS:
        _rebuild_in_background(session.get_bind())
        return current
    with _index_lock:
        current = _indexes.get(pool)
        if current is None or token is None or current.token != token:
            current = _build(session, token)
            _indexes[pool] = current
        return current


def _rebuild_in_background(engine: Any) -> None:
    with _index_lock:
        if engine.pool in _rebuilding:
            return
        _rebuilding.add(engine.pool)

    def rebuild() -> None:
        try:
            with Session(bind=engine, future=True) as session:  # reads only
                built = _build(session, _token(session))
            with _index_lock:
                _indexes[engine.pool] = built
        except Exception:
            logger.exception("rebuilding the product index failed; the previous one answers")
        finally:
            with _index_lock:
                _rebuilding.discard(engine.pool)

    threading.Thread(target=rebuild, name="product-index", daemon=True).start()


def warm_up(*, session: Session) -> None:
    """Build the product index now (at start-up), not on the first customer's request."""
    _index(session)


def search_products(
    *, session: Session, q: str | None = None, category: str | None = None, limit: int = 20
) -> list[ProductRow]:
    """Products whose name or an alias contains `q`, optionally within one category."""
    query = text_match.normalise(q or "")
    if not query:
        statement = select(*_SUMMARY_COLUMNS).order_by(Product.id).limit(limit)
        if category:
            statement = statement.where(Product.category_id == category)
        return list(session.execute(statement).all())
    index = _index(session)
    ids = index.names.query_inside_names(query)
    if category:
        ids = [i for i in ids if index.categories[i] == category]
    return _rows(session, ids[:limit])


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
    names = _index(session).names
    for finder in (names.exact_matches, names.query_inside_names, names.longest_mentions):
        ids = finder(query)
        if len(ids) == 1:
            return Resolution(product=get_product(session=session, product_id=ids[0]))
        if ids:
            return Resolution(product=None, suggestions=_rows(session, ids[:3]))
    return Resolution(product=None, suggestions=_rows(session, names.near_matches(query)))


def match_products(*, session: Session, text: str) -> list[ProductRow]:
    """Products named anywhere in a customer's message, longest mention first."""
    query = text_match.normalise(text)
    if not query:
        return []
    return _rows(session, _index(session).names.mentions(query))
