"""Buttons offered to a customer, so that a tapped menu item or a number sends its payload."""

from __future__ import annotations

import json

from channels.store import Store
from channels.wechat.outbound import Choice

# A customer may answer an offer the next day; after that a bare "1" means something else.
CHOICES_TTL = 24 * 3600


class ChoiceMemory:
    """The latest buttons each customer was offered."""

    def __init__(self, store: Store, namespace: str) -> None:
        self._store = store
        self._namespace = namespace

    async def remember(self, openid: str, choices: list[Choice] | None) -> None:
        """Keep the choices just offered; None forgets older ones (they no longer apply)."""
        key = self._key(openid)
        if not choices:
            await self._store.delete(key)
            return
        value = json.dumps([[choice.title, choice.payload] for choice in choices])
        await self._store.put(key, value, CHOICES_TTL)

    async def resolve(self, openid: str, text: str, menu_id: str | None) -> str | None:
        """The payload the customer picked (menu tap, number or exact title), else None."""
        raw = await self._store.get(self._key(openid))
        if raw is None:
            return None
        choices = [Choice(title, payload) for title, payload in json.loads(raw)]
        answer = text.strip().rstrip(".。、")
        index = menu_id if menu_id else answer
        if index.isdigit() and 1 <= int(index) <= len(choices):
            return choices[int(index) - 1].payload
        for choice in choices:
            if answer == choice.title:
                return choice.payload
        return None

    def _key(self, openid: str) -> str:
        return f"{self._namespace}:choices:{openid}"
