"""Matching what customers type against product names and aliases (no database).

The functions scan a catalogue; `NameIndex` answers the same questions from indexes, for
catalogues of tens of thousands of products.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

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


def longest_mentions(query: str, catalogue: Sequence[Names]) -> list[str]:
    """Products whose longest mention in the query is the longest one there ('白色t恤' -> T恤)."""
    best: dict[str, int] = {}
    for names in catalogue:
        lengths = [len(term) for term in names.terms if term in query]
        if lengths:
            best[names.product_id] = max(lengths)
    if not best:
        return []
    top = max(best.values())
    return [product_id for product_id, length in best.items() if length == top]


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


class NameIndex:
    """The matching functions above over a catalogue, answered from indexes built once.

    Each method gives the same ids in the same order as its linear function on the same
    catalogue, at a cost that depends on the words looked up rather than on how many
    products there are: a dictionary of whole terms (first character -> term lengths) for
    exact and mentioned names, character bigrams for words inside names, and characters by
    term size for near matches.
    """

    def __init__(self, catalogue: Sequence[Names]) -> None:
        self.product_ids = [names.product_id for names in catalogue]
        by_term: dict[str, list[int]] = {}
        lengths: dict[str, set[int]] = {}
        self._terms: list[str] = []
        self._term_product: list[int] = []
        self._term_size: list[int] = []
        unigrams: dict[str, list[int]] = {}
        bigrams: dict[str, list[int]] = {}
        by_size: dict[tuple[str, int], list[int]] = {}
        for position, names in enumerate(catalogue):
            for term in names.terms:
                by_term.setdefault(term, []).append(position)
                lengths.setdefault(term[0], set()).add(len(term))
                index = len(self._terms)
                self._terms.append(term)
                self._term_product.append(position)
                characters = set(term)
                self._term_size.append(len(characters))
                for character in characters:
                    unigrams.setdefault(character, []).append(index)
                    by_size.setdefault((character, len(characters)), []).append(index)
                for bigram in {term[i : i + 2] for i in range(len(term) - 1)}:
                    bigrams.setdefault(bigram, []).append(index)
        self._by_term = by_term
        self._lengths = {first: sorted(found) for first, found in lengths.items()}
        self._unigrams = unigrams
        self._bigrams = bigrams
        self._by_size = by_size
        self._sizes = sorted(set(self._term_size))

    def __len__(self) -> int:
        return len(self.product_ids)

    def _ids(self, positions: Iterable[int]) -> list[str]:
        return [self.product_ids[p] for p in sorted(set(positions))]

    def exact_matches(self, query: str) -> list[str]:
        """Like exact_matches(query, catalogue)."""
        return self._ids(self._by_term.get(query, ()))

    def query_inside_names(self, query: str) -> list[str]:
        """Like query_inside_names(query, catalogue)."""
        if not query:
            return list(self.product_ids) if self._terms else []
        if len(query) == 1:
            candidates: Sequence[int] = self._unigrams.get(query, ())
        else:
            postings = [self._bigrams.get(query[i : i + 2], ()) for i in range(len(query) - 1)]
            candidates = min(postings, key=len)
        terms = self._terms
        return self._ids(self._term_product[t] for t in candidates if query in terms[t])

    def _spans(self, text: str) -> Iterable[tuple[int, int, int]]:
        """(start, end, product position) of every term occurring in `text`."""
        for start, first in enumerate(text):
            for length in self._lengths.get(first, ()):
                end = start + length
                if end > len(text):
                    break
                for position in self._by_term.get(text[start:end], ()):
                    yield start, end, position

    def mentions(self, text: str) -> list[str]:
        """Like mentions(text, catalogue)."""
        found = sorted(self._spans(text), key=lambda m: (-(m[1] - m[0]), m[0], m[2]))
        taken: list[tuple[int, int]] = []
        ordered: list[str] = []
        for start, end, position in found:
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            product_id = self.product_ids[position]
            if product_id not in ordered:
                ordered.append(product_id)
        return ordered

    def longest_mentions(self, query: str) -> list[str]:
        """Like longest_mentions(query, catalogue)."""
        best: dict[int, int] = {}
        for start, end, position in self._spans(query):
            best[position] = max(best.get(position, 0), end - start)
        if not best:
            return []
        top = max(best.values())
        return self._ids(position for position, length in best.items() if length == top)

    def near_matches(self, query: str, *, limit: int = 3) -> list[str]:
        """Like near_matches(query, catalogue, limit=limit)."""
        characters = set(query)
        best: dict[int, float] = {}
        for size in self._sizes:
            # Terms of `size` distinct characters need this many in common with the query.
            needed = SUGGESTION_MIN_SHARED
            while needed <= min(len(characters), size) and (
                2 * needed / (len(characters) + size) < SUGGESTION_MIN_SCORE
            ):
                needed += 1
            if needed > min(len(characters), size):
                continue
            # Such a term contains one of any len - needed + 1 of the query's characters:
            # the rarest ones give the fewest candidates (prefix filtering).
            postings = sorted((self._by_size.get((c, size), ()) for c in characters), key=len)
            for term in set(chain.from_iterable(postings[: len(characters) - needed + 1])):
                count = len(characters.intersection(self._terms[term]))
                if count < needed:
                    continue
                score = 2 * count / (len(characters) + size)  # dice(query, term)
                position = self._term_product[term]
                if score > best.get(position, 0.0):
                    best[position] = score
        scored = sorted((-score, position) for position, score in best.items())
        return [self.product_ids[position] for _, position in scored[:limit]]
