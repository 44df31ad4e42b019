"""Store policies (shipping, returns, payment), read from YAML once at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT_POLICIES = Path(__file__).resolve().parent / "seed" / "policies.yml"
SECTIONS = ("shipping", "returns", "payment")


def load_policies(path: Path = DEFAULT_POLICIES) -> dict[str, dict[str, Any]]:
    """Read the policy file; refuse one that lacks a section."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    missing = [name for name in SECTIONS if not isinstance(data.get(name), dict)]
    if missing:
        raise ValueError(f"{path} has no {', '.join(missing)} section")
    return {name: data[name] for name in SECTIONS}
