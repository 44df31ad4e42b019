"""The shop's terms (shipping, returns, payment, discounts) and after-sales guides, read from YAML
once at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT_TERMS = Path(__file__).resolve().parent / "seed" / "terms.yml"
DEFAULT_GUIDES = Path(__file__).resolve().parent / "seed" / "guides.yml"
SECTIONS = ("shipping", "returns", "payment", "discounts")


def load_terms(path: Path = DEFAULT_TERMS) -> dict[str, dict[str, Any]]:
    """Read the terms file; refuse one that lacks a section."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    missing = [name for name in SECTIONS if not isinstance(data.get(name), dict)]
    if missing:
        raise ValueError(f"{path} has no {', '.join(missing)} section")
    return {name: data[name] for name in SECTIONS}


def load_guides(path: Path = DEFAULT_GUIDES) -> dict[str, dict[str, dict[str, str]]]:
    """Read the after-sales guides: `{"categories": {cat: {topic: text}}, "products": {...}}`."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    guides: dict[str, dict[str, dict[str, str]]] = {}
    for part in ("categories", "products"):
        entries = data.get(part) or {}
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: `{part}` must map names to topics")
        guides[part] = {}
        for name, topics in entries.items():
            if not isinstance(topics, dict) or not all(
                isinstance(text, str) and text.strip() for text in topics.values()
            ):
                raise ValueError(f"{path}: {part}.{name} must map topics to texts")
            guides[part][str(name)] = {str(t): " ".join(v.split()) for t, v in topics.items()}
    return guides


def guide_for(
    guides: dict[str, dict[str, dict[str, str]]], *, product_id: str, category: str
) -> dict[str, str]:
    """The topics of one product: its category's, overridden by its own."""
    return {
        **guides.get("categories", {}).get(category, {}),
        **guides.get("products", {}).get(product_id, {}),
    }
