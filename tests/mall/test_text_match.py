"""Matching customer words against product names and aliases, without a database."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from mall.services import text_match

CATALOGUE = [
    text_match.names_of("P1001", "声悦Pro降噪蓝牙耳机", ["蓝牙耳机", "降噪耳机", "耳机"]),
    text_match.names_of("P1002", "声悦Air开放式运动耳机", ["运动耳机", "开放式耳机"]),
    text_match.names_of("P2001", "织锦纯棉圆领T恤", ["T恤", "短袖"]),
    text_match.names_of("P4006", "不锈钢保温杯", ["保温杯", "水杯"]),
]


def test_normalise_folds_case_width_and_punctuation() -> None:
    assert text_match.normalise(" Ｔ恤， 要白色的！") == "t恤要白色的"
    assert text_match.normalise("iPhone 15 Pro") == "iphone15pro"


def test_names_are_normalised_and_deduplicated() -> None:
    names = text_match.names_of("P2001", "织锦纯棉圆领T恤", ["T恤", "t恤", " Ｔ恤 "])
    assert names.terms == ("织锦纯棉圆领t恤", "t恤")


def test_exact_alias_matches_one_product() -> None:
    assert text_match.exact_matches("耳机", CATALOGUE) == ["P1001"]


def test_query_inside_a_name_matches() -> None:
    assert text_match.query_inside_names("降噪蓝牙", CATALOGUE) == ["P1001"]
    assert text_match.query_inside_names("声悦", CATALOGUE) == ["P1001", "P1002"]


def test_mentions_prefer_the_longest_and_ignore_mentions_inside_it() -> None:
    # "耳机" (P1001's alias) sits inside "运动耳机": the customer means P1002 only.
    assert text_match.mentions("运动耳机多少钱", CATALOGUE) == ["P1002"]


def test_mentions_list_every_product_named_longest_first() -> None:
    text = text_match.normalise("t恤和蓝牙耳机一起买有优惠吗")
    assert text_match.mentions(text, CATALOGUE) == ["P1001", "P2001"]


def test_mentions_of_nothing_known_are_empty() -> None:
    assert text_match.mentions("你好在吗", CATALOGUE) == []


def test_near_matches_forgive_a_typo() -> None:
    assert text_match.near_matches("降躁耳麦", CATALOGUE)[0] == "P1001"


def test_near_matches_ignore_unrelated_words() -> None:
    assert text_match.near_matches("iphone", CATALOGUE) == []
    assert text_match.near_matches("洗衣机", CATALOGUE) == []


def test_near_matches_are_capped() -> None:
    assert len(text_match.near_matches("声悦耳机", CATALOGUE, limit=1)) == 1


def test_dice_bounds() -> None:
    assert text_match.dice("耳机", "耳机") == 1.0
    assert text_match.dice("耳机", "水杯") == 0.0
    assert text_match.dice("", "水杯") == 0.0


# ---- the index answers exactly as the scans do ----

SEED_CATALOGUE = Path(__file__).resolve().parents[2] / "mall" / "seed" / "catalogue.yml"
_PIECES = ["声悦", "降噪", "蓝牙", "耳机", "运动", "pro", "t恤", "纯棉", "保温", "杯", "机", "洗衣"]


def _demo_catalogue() -> list[text_match.Names]:
    products = yaml.safe_load(SEED_CATALOGUE.read_text(encoding="utf-8"))["products"]
    return [
        text_match.names_of(p["id"], p["name"], [str(a) for a in p.get("aliases", [])])
        for p in products
    ]


def _random_catalogue(rng: random.Random, size: int) -> list[text_match.Names]:
    # Few pieces, so names overlap, nest and share aliases: the hard cases for ordering.
    catalogue = []
    for number in range(size):
        words = ["".join(rng.sample(_PIECES, rng.randint(1, 4))) for _ in range(rng.randint(1, 4))]
        catalogue.append(text_match.names_of(f"P{number:04d}", words[0], words[1:]))
    rng.shuffle(catalogue)
    return sorted(catalogue, key=lambda names: names.product_id)


def _queries(rng: random.Random, catalogue: list[text_match.Names]) -> list[str]:
    terms = [term for names in catalogue for term in names.terms]
    queries = ["", "在吗", "iphone15", "机", "洗衣机", "降躁耳麦", "声悦耳机"]
    for _ in range(150):
        term = rng.choice(terms)
        start = rng.randrange(len(term))
        queries += [
            term,
            term[start : start + rng.randint(1, 4)],
            "想问下" + term + "和" + rng.choice(terms) + "多少钱",
            term.replace(term[start], rng.choice("躁麦x的"), 1),
            "".join(rng.sample(_PIECES, 3)),
        ]
    return queries


def _assert_index_agrees(catalogue: list[text_match.Names], queries: list[str]) -> None:
    index = text_match.NameIndex(catalogue)
    for query in queries:
        assert index.exact_matches(query) == text_match.exact_matches(query, catalogue), query
        assert index.query_inside_names(query) == text_match.query_inside_names(
            query, catalogue
        ), query
        assert index.mentions(query) == text_match.mentions(query, catalogue), query
        assert index.longest_mentions(query) == text_match.longest_mentions(query, catalogue), query
        assert index.near_matches(query) == text_match.near_matches(query, catalogue), query
        assert index.near_matches(query, limit=1) == text_match.near_matches(
            query, catalogue, limit=1
        ), query


def test_index_agrees_with_the_scans_on_the_demo_catalogue() -> None:
    catalogue = _demo_catalogue()
    _assert_index_agrees(catalogue, _queries(random.Random(7), catalogue))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_index_agrees_with_the_scans_on_overlapping_names(seed: int) -> None:
    rng = random.Random(seed)
    catalogue = _random_catalogue(rng, 60)
    _assert_index_agrees(catalogue, _queries(rng, catalogue))


def test_index_of_the_test_catalogue_keeps_the_documented_answers() -> None:
    index = text_match.NameIndex(CATALOGUE)
    assert index.exact_matches("耳机") == ["P1001"]
    assert index.query_inside_names("声悦") == ["P1001", "P1002"]
    assert index.mentions("运动耳机多少钱") == ["P1002"]
    assert index.longest_mentions("白色的t恤") == ["P2001"]
    assert index.longest_mentions("声悦耳机") == ["P1001"]
    assert index.near_matches("降躁耳麦")[0] == "P1001"
    assert index.near_matches("洗衣机") == []
