"""Personal data customers type is masked; order numbers, prices and product talk are not."""

from __future__ import annotations

import pytest

from security.pii import contains_pii, find_pii, mask_pii


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我电话13812345678", "我电话138****5678"),
        ("手机 138 1234 5678 谢谢", "手机 138****5678 谢谢"),
        ("+86 138-1234-5678", "138****5678"),
        ("座机010-12345678", "座机010****5678"),
        ("身份证110101199003071234", "身份证110***********1234"),
        ("身份证号11010119900307123X", "身份证号110***********123X"),
        ("卡号6222 0212 3456 7890 123", "卡号622************0123"),
        ("送到北京市朝阳区建国路88号SOHO现代城5号楼1203室", "送到北京市朝阳区****"),
        ("我家住在幸福里5号", "我家住在****"),
        ("麻烦寄到阳光小区3栋2单元501", "麻烦寄到****"),
        (
            "改地址到南京市鼓楼区中山路18号，电话13900001111",
            "改地址到南京市鼓楼区****，电话139****1111",
        ),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked
    assert contains_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "订单202611180001到哪了",
        "顺丰单号SF1234567890123",
        "满99减10 价格299",
        "30号之前能到吗",
        "这个路由器3000多",
        "在吗 路上3天了",
        "杭州市西湖区文三路",
        "XL码有吗 白色的",
        "这款电视能挂墙吗 家里客厅3米宽",
        "",
    ],
)
def test_everyday_messages_stay_readable(text: str) -> None:
    assert mask_pii(text) == text
    assert not contains_pii(text)


def test_findings_say_what_and_where() -> None:
    text = "电话13812345678，身份证110101199003071234"
    kinds = [(finding.kind, text[finding.start : finding.end]) for finding in find_pii(text)]
    assert kinds == [("phone", "13812345678"), ("id_card", "110101199003071234")]
