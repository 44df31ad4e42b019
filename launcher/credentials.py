"""The credentials file Rasa runs with: credentials.yml minus the channels nobody configured.

A channel block whose `${VAR}` values are all unset is switched off (WeChat without
WECHAT_TOKEN and friends), so the default `make run` needs no outside accounts. In a block where
some variables are set, the unset ones become empty strings and the channel's own
`from_credentials` decides whether that is enough.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _variables(block: Any) -> set[str]:
    if isinstance(block, dict):
        return set().union(*(_variables(value) for value in block.values()))
    if isinstance(block, str):
        return set(_VARIABLE.findall(block))
    return set()


def active_channels(
    credentials: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], list[str], set[str]]:
    """(blocks to keep, channels switched off, unset variables that need an empty value)."""
    kept: dict[str, Any] = {}
    switched_off: list[str] = []
    missing: set[str] = set()
    for channel, block in credentials.items():
        names = _variables(block)
        unset = {name for name in names if not env.get(name)}
        if names and unset == names:
            switched_off.append(channel)
            continue
        kept[channel] = block
        missing |= unset
    return kept, switched_off, missing


def write_credentials(source: Path, target: Path, env: dict[str, str]) -> list[str]:
    """Write the runnable credentials to `target`; fill `env` with empties; return what is off."""
    credentials = yaml.safe_load(source.read_text()) or {}
    kept, switched_off, missing = active_channels(credentials, env)
    for name in missing:
        env[name] = ""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "# Written by the launcher from credentials.yml on every start; edit that file.\n"
        + yaml.safe_dump(kept, allow_unicode=True, sort_keys=False)
    )
    for channel in switched_off:
        logger.info("Channel %s is off: none of its variables is set", channel)
    return switched_off
