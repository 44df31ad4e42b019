"""Write actions/clients/models.py from the mall's schemas (the API's one contract).

The action server reads the mall's JSON as plain dicts; these TypedDicts give those dicts
the shapes of `mall/schemas.py`, timestamps as the ISO 8601 strings JSON carries. Run it
after changing a response schema: `python scripts/generate_client_models.py`
(tests/actions/test_client_models.py fails while the file is out of date).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mall import schemas  # noqa: E402

TARGET = ROOT / "actions" / "clients" / "models.py"
# Response schema -> the client's name for it, in the order the file defines them.
NAMES = {
    "ProductSummaryOut": "ProductSummary",
    "SkuOut": "Sku",
    "ProductOut": "Product",
    "GuideOut": "Guide",
    "ResolutionOut": "ProductResolution",
    "CardOut": "Card",
    "StatsOut": "Stats",
    "ProfileOut": "Profile",
    "EventRecordedOut": "EventRecorded",
    "OrderItemOut": "OrderItem",
    "AddressOut": "Address",
    "LogisticsEventOut": "LogisticsEvent",
    "LogisticsOut": "Logistics",
    "OrderOut": "Order",
    "TemplateOut": "CouponTemplate",
    "BestOfferOut": "BestCoupon",
    "CouponOut": "Coupon",
    "IssuedCouponOut": "IssuedCoupon",
    "AvailabilityOut": "Availability",
    "HandoffAgentOut": "HandoffAgent",
    "HandoffOut": "Handoff",
    "HandoffOpenedOut": "HandoffOpened",
    "NoteOut": "Note",
    "RecommendationOut": "Recommendation",
    "ConsultOut": "Consult",
    "OfferOut": "Offer",
    "WelcomeOut": "Welcome",
}
ALIASES = ("EventType", "Segment")

HEADER = '''"""Shapes of the mall API's JSON bodies, generated from mall/schemas.py: do not edit.

Regenerate with `python scripts/generate_client_models.py`; docs/mall-api.md describes them.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict
'''


def _annotation(text: str) -> str:
    text = text.replace("'", '"')
    text = re.sub(r"\bdatetime\b", "str", text)
    for schema, name in NAMES.items():
        text = re.sub(rf"\b{schema}\b", name, text)
    return text


def _alias(name: str) -> str:
    values = ", ".join(f'"{value}"' for value in get_args(getattr(schemas, name)))
    return f"{name} = Literal[{values}]\n"


def _typed_dict(schema: type[BaseModel]) -> str:
    base = schema.__bases__[0].__name__
    parent = NAMES.get(base, "TypedDict")
    doc = (schema.__doc__ or f"The body of the mall's `{schema.__name__}`.").strip()
    lines = [f"class {NAMES[schema.__name__]}({parent}):", f'    """{doc}"""', ""]
    own = schema.__dict__.get("__annotations__", {})
    lines += [f"    {field}: {_annotation(str(kind))}" for field, kind in own.items()]
    return "\n".join(lines) + "\n"


def render() -> str:
    """The module's text, formatted as the repository formats code."""
    parts = [HEADER, *(_alias(name) for name in ALIASES)]
    parts += [_typed_dict(getattr(schemas, schema)) for schema in NAMES]
    source = "\n\n".join(parts)
    # ruff drops the imports a schema change left unused, then formats.
    source = _ruff(["check", "--fix-only", "--exit-zero", "--quiet"], source)
    return _ruff(["format"], source)


def _ruff(command: list[str], source: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(TARGET), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
