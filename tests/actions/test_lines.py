"""Sales-line rendering: personal when it can be, plain when it must be, never unsafe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actions import lines
from actions.formatting import readable_date, readable_time, variant_label, yuan
from actions.lines import coupon_terms, coupon_validity, customer_context, render
from tests.actions.trackers import make_profile

PRODUCT = {"name": "声悦Pro降噪蓝牙耳机", "price": 299.0, "list_price": 399.0}


def test_quote_renders_without_a_profile() -> None:
    text = render("quote_price.j2", fallback="plain", product=PRODUCT, saving=100.0, customer=None)
    assert text == "声悦Pro降噪蓝牙耳机现在到手价¥299，原价¥399，立省¥100。\n是否需要优惠?"


def test_welcome_renders_without_a_profile() -> None:
    text = render("welcome.j2", fallback="plain", customer=None, product=None)
    assert text.startswith("您好，欢迎光临")


def test_profile_without_card_or_interests_renders() -> None:
    profile = make_profile(card=None, interests=[], last_visit_at=None, segment="churn_risk")
    text = render("welcome.j2", fallback="plain", customer=customer_context(profile), product=None)
    assert text.startswith("小王，好久不见！")
    assert "店主" not in text and "关注" not in text


def test_churn_risk_mentions_how_long_it_has_been() -> None:
    context = customer_context(make_profile(segment="churn_risk"))
    assert context is not None and context["days_away"] > 300
    text = render("welcome.j2", fallback="plain", customer=context, product=None)
    assert f"上次见面还是{context['days_away']}天前" in text


def test_missing_value_falls_back_to_the_plain_line() -> None:
    text = render("quote_price.j2", fallback="plain line", product={"name": "x"}, customer=None)
    assert text == "plain line"


def test_values_are_never_compiled_as_templates() -> None:
    typed = "{{ ''.__class__.__mro__ }}{% for x in range(3) %}x{% endfor %}"
    text = render("product_not_found.j2", fallback="plain", words=typed, suggestions=[])
    assert text.startswith(f"抱歉，没有找到“{typed}”")


@pytest.fixture
def hostile_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(lines, "TEMPLATES_DIR", tmp_path)
    lines._environment.cache_clear()
    yield tmp_path
    lines._environment.cache_clear()


def test_sandbox_blocks_unsafe_attribute_access(hostile_templates: Path) -> None:
    (hostile_templates / "evil.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    assert render("evil.j2", fallback="plain") == "plain"


def test_broken_template_falls_back(hostile_templates: Path) -> None:
    (hostile_templates / "broken.j2").write_text("{% if %}")
    assert render("broken.j2", fallback="plain") == "plain"
    assert render("missing.j2", fallback="plain") == "plain"


def test_coupon_wording() -> None:
    assert coupon_terms({"kind": "threshold", "amount": 30.0, "threshold": 199.0}) == "满199减30元"
    assert coupon_terms({"kind": "instant", "amount": 5.5, "threshold": None}) == "立减5.50元"
    assert coupon_validity({"valid_until": None, "valid_days": 7}) == "领取后7天内有效"
    # 2031-01-31T16:30Z is already 1 February in China.
    assert coupon_validity({"valid_until": "2031-01-31T16:30:00Z"}) == "有效期至2031年2月1日"


def test_money_dates_and_variants_read_naturally() -> None:
    assert yuan(299.0) == "299"
    assert yuan(69.9) == "69.90"
    assert yuan(0.1 + 0.2) == "0.30"
    assert readable_date("2025-01-31T15:59:59+00:00") == "2025年1月31日"
    assert readable_date("not a date") == "not a date"
    assert readable_time("2025-01-02T02:05:00Z") == "1月2日 10:05"
    assert variant_label("黑色", "L") == "黑色L码"
    assert variant_label("深蓝", "27") == "深蓝27码"
    assert variant_label("雾蓝", "1.5m床") == "雾蓝1.5m床"
    assert variant_label(None, None) == "默认款"
