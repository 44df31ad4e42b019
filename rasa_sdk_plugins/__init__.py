"""Plugins of the action server: rasa_sdk imports this package by name when it starts.

(`rasa_sdk.plugin` looks for a top-level `rasa_sdk_plugins` and calls `init_hooks`.)
"""

from __future__ import annotations

import pluggy


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Register the metrics extension (GET /metrics, per-action timing)."""
    from monitoring import action_server

    manager.register(action_server)
