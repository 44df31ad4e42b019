"""Pieces of a line (one stock entry, one order step) read from the domain's responses.

Whole messages go out as `dispatcher.utter_message(response=...)`. A message built from a
varying number of pieces (a stock list, the steps an order still allows) takes each piece from
a domain response through `phrase`, so every word a customer reads is in domain.yml.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk.types import DomainDict

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def phrase(domain: DomainDict, name: str, /, **values: Any) -> str:
    """The first variation of response `name`, its `{variables}` filled from `values`."""
    variations = (domain.get("responses") or {}).get(name)
    if not variations:
        raise KeyError(f"domain.yml has no response {name}")
    text = str(variations[0].get("text") or "")

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"response {name} needs {{{key}}}")
        return str(values[key])

    return _VARIABLE.sub(fill, text)
