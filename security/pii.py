"""Personal data customers type: phone numbers, street addresses, ID-card and bank-card numbers.

`mask_pii` hides them wherever text leaves the conversation for people who do not need them:
log lines, and what the agent desk shows until an agent reveals one (an audited click). The
conversation itself keeps the customer's words, so an agent who must call back still can.

Patterns are tuned for mainland China: 11-digit mobiles (+86 and 3-4-4 spacing allowed) and
landlines with an area code; 18-character resident ID numbers with a plausible birth date;
16-19 digit card numbers (order numbers are 12 digits and stay readable); and the street part
of an address (a road, lane, estate or building followed by a house, building or room number),
keeping province, city and district so the agent still sees where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOT_AFTER = r"(?<![A-Za-z0-9])"
_NOT_BEFORE = r"(?![0-9])"

_ID_CARD = re.compile(
    _NOT_AFTER + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"(?![0-9A-Za-z])"
)
_BANK_CARD = re.compile(_NOT_AFTER + r"\d(?:[ -]?\d){15,18}" + _NOT_BEFORE)
_PHONE = re.compile(
    _NOT_AFTER + r"(?:\+?86[ -]?)?(?:1[3-9]\d[ -]?\d{4}[ -]?\d{4}|0\d{2,3}-\d{7,8})" + _NOT_BEFORE
)
# Region words stay visible; a place name must not run through one, so the region before it
# is matched as the region.
_REGION = r"(?:[\u4e00-\u9fff]{1,8}?(?:省|自治区|特别行政区|市|自治州|地区|盟|区|县|旗))*"
_PLACE = (
    r"[^\s省市区县旗，。,.;；!！?？:：、]{1,12}?"
    r"(?:小区|大道|胡同|花园|公寓|大厦|广场|新村|路|街|巷|弄|道|村|镇|乡|苑|园|里|城)"
)
_NUMBER = r"[A-Za-z0-9#\-\u4e00-\u9fff]{0,12}?\d+\s*(?:号楼|号院|号|栋|幢|座|单元|室|楼|层|组)"
_ADDRESS = re.compile(
    rf"(?P<region>{_REGION})(?P<detail>(?P<place>{_PLACE})(?:{_NUMBER})+(?:\d+(?!\d))?)"
)
# Words customers put before an address ("我家住在", "改地址到"): what follows is the address.
_LEAD_IN = re.compile(r"住在|送到|寄到|发到|改到|改成|地址是|地址为|地址|位于|在|到")

KINDS = ("id_card", "bank_card", "phone", "address")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data in a text: what kind, and where."""

    kind: str
    start: int
    end: int


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def find_pii(text: str) -> list[Finding]:
    """The personal data in `text`, in order, without overlaps."""
    if not text:
        return []
    found: list[Finding] = []

    def add(kind: str, start: int, end: int) -> None:
        if all(end <= other.start or start >= other.end for other in found):
            found.append(Finding(kind, start, end))

    for match in _ID_CARD.finditer(text):
        add("id_card", match.start(), match.end())
    for match in _BANK_CARD.finditer(text):
        if 16 <= len(_digits(match.group())) <= 19:
            add("bank_card", match.start(), match.end())
    for match in _PHONE.finditer(text):
        add("phone", match.start(), match.end())
    for match in _ADDRESS.finditer(text):
        start = match.start("detail")
        for lead_in in _LEAD_IN.finditer(match.group("place")[:-1]):
            start = match.start("place") + lead_in.end()
        add("address", start, match.end("detail"))
    return sorted(found, key=lambda finding: finding.start)


def _masked(kind: str, value: str) -> str:
    if kind == "address":
        return "****"
    digits = re.sub(r"[^0-9Xx]", "", value)
    if kind == "phone" and digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    # Enough to recognise ("the number ending 5678"), not enough to use.
    keep_start = 3
    return digits[:keep_start] + "*" * max(len(digits) - keep_start - 4, 4) + digits[-4:]


def mask_pii(text: str) -> str:
    """`text` with every phone, ID-card, bank-card number and street address masked."""
    findings = find_pii(text)
    if not findings:
        return text
    parts: list[str] = []
    position = 0
    for finding in findings:
        parts.append(text[position : finding.start])
        parts.append(_masked(finding.kind, text[finding.start : finding.end]))
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


def contains_pii(text: str) -> bool:
    """Whether `text` holds anything `mask_pii` would hide."""
    return bool(find_pii(text))
