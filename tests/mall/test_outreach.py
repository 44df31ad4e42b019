"""Proactive messages: trigger rules are checked, quiet hours and caps hold."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from mall.outreach import Guards, OutreachConfigError, load_rules, parse_rules

RULES = {
    "rules": [
        {
            "id": "consult_no_order",
            "when": {"event": "consult", "without": "order", "within": "30m"},
            "offer": "coupon",
        },
        {
            "id": "cart_no_order",
            "when": {"event": "add_to_cart", "without": "order", "within": "24h"},
            "offer": "reminder",
        },
        {
            "id": "churn_win_back",
            "when": {"segment": "churn_risk", "inactive": "7d"},
            "offer": "win_back",
        },
        {
            "id": "back_in_stock",
            "when": {"event": "stock_inquiry", "stock": "back"},
            "offer": "back_in_stock",
        },
    ]
}
UTC = timezone.utc


def test_the_four_rules_parse() -> None:
    consult, cart, churn, stock = parse_rules(RULES)
    assert (consult.event, consult.absent, consult.within) == (
        "consult",
        "order",
        timedelta(minutes=30),
    )
    assert cart.within == timedelta(hours=24)
    assert (churn.segment, churn.inactive) == ("churn_risk", timedelta(days=7))
    assert stock.stock_back and stock.offer == "back_in_stock"


@pytest.mark.parametrize(
    ("when", "offer", "message"),
    [
        ({"event": "consult", "without": "order", "within": "soon"}, "coupon", "duration"),
        ({"event": "consult", "without": "order"}, "coupon", "needs `within`"),
        ({"event": "teleport"}, "coupon", "`event` must be one of"),
        ({"segment": "vip"}, "coupon", "`segment` must be one of"),
        ({"event": "consult", "colour": "red"}, "coupon", "unknown condition colour"),
        ({"event": "consult"}, "cash", "`offer` must be one of"),
        ({"within": "30m", "without": "order"}, "coupon", "needs an `event` or a `segment`"),
        ({"event": "consult", "without": "order", "within": "0m"}, "coupon", "duration"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_rule(
    when: dict[str, str], offer: str, message: str
) -> None:
    with pytest.raises(OutreachConfigError, match="'broken'") as error:
        parse_rules({"rules": [{"id": "broken", "when": when, "offer": offer}]})
    assert message in str(error.value)


def test_duplicates_and_files(tmp_path: Path) -> None:
    with pytest.raises(OutreachConfigError, match="used twice"):
        parse_rules({"rules": RULES["rules"][:1] * 2})
    path = tmp_path / "outreach.yml"
    path.write_text("rules: {", encoding="utf-8")
    with pytest.raises(OutreachConfigError, match="not valid YAML"):
        load_rules(path)
    assert load_rules(tmp_path / "absent.yml") == ()


def test_quiet_hours_wait_until_morning_in_the_customers_time_zone() -> None:
    guards = Guards()
    # 23:30 in Shanghai is 15:30 UTC: the message waits until 08:00 Shanghai = 00:00 UTC.
    late = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    assert guards.in_quiet_hours(late, "Asia/Shanghai")
    assert guards.next_allowed(late, "Asia/Shanghai") == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    # 02:00 Shanghai (18:00 UTC the day before) waits until the same morning.
    night = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    assert guards.next_allowed(night, "Asia/Shanghai") == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    # The same instant is 16:30 in Berlin, outside quiet hours there.
    assert not guards.in_quiet_hours(late, "Europe/Berlin")
    assert guards.next_allowed(late, "Europe/Berlin") == late
    # An unknown zone falls back to the default instead of failing.
    assert guards.in_quiet_hours(late, "Mars/Olympus")
    # Quiet hours inside one day (a lunch break) work too.
    lunch = Guards(quiet_start=time(12, 0), quiet_end=time(13, 0))
    noon = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)  # 12:30 Shanghai
    assert lunch.next_allowed(noon) == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        guards.next_allowed(datetime(2026, 12, 1, 12, 0))


def test_frequency_caps_count_rolling_days_and_weeks() -> None:
    guards = Guards(per_day=1, per_week=3)
    now = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    assert guards.over_cap(now, []) is None
    assert guards.over_cap(now, [now - timedelta(hours=5)]) == "at most 1 a day"
    assert guards.over_cap(now, [now - timedelta(hours=25)]) is None
    three = [now - timedelta(days=d) for d in (2, 4, 6)]
    assert guards.over_cap(now, three) == "at most 3 a week"
    assert guards.over_cap(now, [now - timedelta(days=d) for d in (2, 4, 8)]) is None


def test_the_shipped_rules_file_is_valid() -> None:
    ids = [rule.id for rule in load_rules()]
    assert ids == ["consult_no_order", "cart_no_order", "churn_win_back", "back_in_stock"]
