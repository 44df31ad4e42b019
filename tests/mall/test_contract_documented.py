"""docs/mall-api.md, the contract an operator's own mall implements, matches the OpenAPI
document the reference mall serves: every operation, and every field of every answer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

DOC = (Path(__file__).resolve().parents[2] / "docs" / "mall-api.md").read_text(encoding="utf-8")
# "`GET /products/{product_id}`", "`POST /customers/{customer_id}/events`", ...
DOCUMENTED = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)")


def operations(spec: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}


def test_every_operation_is_documented_and_every_documented_one_exists(
    client: TestClient,
) -> None:
    served = operations(client.get("/openapi.json").json()) | {"GET /openapi.json"}
    documented = {f"{method} {path}" for method, path in DOCUMENTED.findall(DOC)}
    assert sorted(served - documented) == [], "document these in docs/mall-api.md"
    assert sorted(documented - served) == [], "docs/mall-api.md names operations the mall lacks"


def test_every_field_of_every_answer_is_documented(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    missing = sorted(
        f"{name}.{field}"
        for name, schema in schemas.items()
        if name.endswith("Out")
        for field in schema.get("properties", {})
        if f'"{field}"' not in DOC and f"`{field}`" not in DOC
    )
    assert missing == [], "describe these fields in docs/mall-api.md"
