"""Matching customer words against product names and aliases, without a database."""

from __future__ import annotations

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
