"""Matching what customers type against product names and aliases (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Spaces and punctuation (ASCII and full-width) carry no meaning for product names.
_NOISE = re.compile(r"[\s\u3000!-/:-@\[-`{-~，。！？、；：“”‘’（）【】《》…·～]+")
# A suggestion must share at least this many characters with a name or alias (one
# shared character such as 机 links 洗衣机 to 耳机) and reach this Dice score.
SUGGESTION_MIN_SHARED = 2
SUGGESTION_MIN_SCORE = 0.4


def normalise(text: str) -> str:
    """Fold width and case and drop spaces and punctuation: 'Ｔ恤 ' -> 't恤'."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


@dataclass(frozen=True)
class Names:
    """A product id with its normalised name and aliases."""

    product_id: str
    terms: tuple[str, ...]


def names_of(product_id: str, name: str, aliases: Iterable[str]) -> Names:
    """Collect the normalised, de-duplicated terms a product is known by."""
    terms: list[str] = []
    for raw in (name, *aliases):
        term = normalise(raw)
        if term and term not in terms:
            terms.append(term)
    return Names(product_id, tuple(terms))


def exact_matches(query: str, catalogue: Sequence[Names]) -> list[str]:
    """Ids of products whose name or an alias equals the query."""
    return [n.product_id for n in catalogue if query in n.terms]


def query_inside_names(query: str, catalogue: Sequence[Names]) -> list[str]:
    """Ids of products whose name or an alias contains the query ('降噪蓝牙' -> P1001)."""
    return [n.product_id for n in catalogue if any(query in term for term in n.terms)]


def mentions(text: str, catalogue: Sequence[Names]) -> list[str]:
    """Ids of products named in `text`, longest mention first.

    A mention inside a longer mention of another product does not count: in
    "运动耳机多少钱" the customer means the sports earphones, not any "耳机".
    """
    found: list[tuple[int, int, str]] = []  # (start, end, product id)
    for names in catalogue:
        for term in names.terms:
            start = text.find(term)
            while start != -1:
                found.append((start, start + len(term), names.product_id))
                start = text.find(term, start + 1)
    found.sort(key=lambda m: (-(m[1] - m[0]), m[0]))
    taken: list[tuple[int, int]] = []
    ordered: list[str] = []
    for start, end, product_id in found:
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        if product_id not in ordered:
            ordered.append(product_id)
    return ordered


def dice(a: str, b: str) -> float:
    """Character-set overlap of two strings: 1.0 for the same characters, 0.0 for none shared."""
    set_a, set_b = set(a), set(b)
    if not set_a or not set_b:
        return 0.0
    return 2 * len(set_a & set_b) / (len(set_a) + len(set_b))


def near_matches(query: str, catalogue: Sequence[Names], *, limit: int = 3) -> list[str]:
    """Ids of up to `limit` products whose best name or alias shares enough characters."""
    scored = []
    for position, names in enumerate(catalogue):
        score = max(
            (
                dice(query, term)
                for term in names.terms
                if len(set(query) & set(term)) >= SUGGESTION_MIN_SHARED
            ),
            default=0.0,
        )
        if score >= SUGGESTION_MIN_SCORE:
            scored.append((-score, position, names.product_id))
    scored.sort()
    return [product_id for _, _, product_id in scored[:limit]]
