"""The trainer's to-do list: what the assistant did not understand, grouped by similarity.

Customers ask one question a hundred ways; a trainer wants to see it once, with how often
and a few of the ways. The messages that fell back (`nlu_fallback` in Rasa's tracker store)
are grouped by their character n-grams: the most frequent message leads a group, and every
message close enough to a group's leader joins it. Each group can be written out as an NLU
stub (`intent: TODO_...` with its examples) that the trainer renames and moves to data/nlu/.

    python -m analytics todo --since 30d [--yaml var/todo.yml]
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import sqlalchemy as sa
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

from components.placeholders import canonical

DEFAULT_SIMILARITY = 0.45
MAX_EXAMPLES = 8


@dataclass
class Group:
    """Messages that say about the same thing; `leader` is the most frequent of them."""

    leader: str
    count: int = 0
    messages: Counter[str] = field(default_factory=Counter)

    def examples(self, limit: int = MAX_EXAMPLES) -> list[str]:
        return [text for text, _ in self.messages.most_common(limit)]


def group_messages(messages: Iterable[str], similarity: float = DEFAULT_SIMILARITY) -> list[Group]:
    """Group messages by cosine similarity of their character 1-3-grams, biggest first."""
    counts = Counter(text.strip() for text in messages if text and text.strip())
    if not counts:
        return []
    # Most frequent first (ties by text, so the same input always gives the same groups).
    texts = sorted(counts, key=lambda text: (-counts[text], text))
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    vectors = vectorizer.fit_transform([canonical(text) for text in texts])
    groups: list[Group] = []
    leaders: list[int] = []
    for index, text in enumerate(texts):
        target = None
        if leaders:
            scores = (vectors[leaders] @ vectors[index].T).toarray().ravel()
            best = int(np.argmax(scores))
            if scores[best] >= similarity:
                target = groups[best]
        if target is None:
            target = Group(leader=text)
            groups.append(target)
            leaders.append(index)
        target.messages[text] += counts[text]
        target.count += counts[text]
    return sorted(groups, key=lambda group: (-group.count, group.leader))


def tracker_events(tracker_db_url: str, *where: Any) -> list[sa.Row]:
    """Rows of Rasa's SQL tracker store's `events` table (none when it has no such table)."""
    engine = sa.create_engine(tracker_db_url)
    try:
        events = sa.Table("events", sa.MetaData(), autoload_with=engine)
        query = sa.select(events).where(*(condition(events.c) for condition in where))
        with engine.connect() as connection:
            return list(connection.execute(query.order_by(events.c.sender_id, events.c.id)))
    except sa.exc.NoSuchTableError:
        return []
    finally:
        engine.dispose()


def read_fallbacks(tracker_db_url: str, since: datetime) -> list[str]:
    """The customer messages Rasa's SQL tracker store recorded as `nlu_fallback` since then."""
    rows = [
        row.data
        for row in tracker_events(
            tracker_db_url,
            lambda c: c.type_name == "user",
            lambda c: c.intent_name == "nlu_fallback",
            lambda c: c.timestamp >= since.timestamp(),
        )
    ]
    texts = []
    for data in rows:
        try:
            text = json.loads(data).get("text")
        except (TypeError, ValueError, AttributeError):
            continue
        if isinstance(text, str) and text.strip() and not text.startswith("/"):
            texts.append(text)
    return texts


def to_nlu_stub(groups: Sequence[Group], *, since: datetime, until: datetime) -> str:
    """An NLU file with one TODO intent per group, its examples, and how often it came."""
    lines = [
        'version: "3.1"',
        f"# Messages that fell back between {since:%Y-%m-%d} and {until:%Y-%m-%d}, grouped.",
        "# Rename each TODO intent to the intent it is (or drop it), then move the examples",
        "# to data/nlu/ and retrain. Never paste customers' personal data into training data.",
        "nlu:",
    ]
    for number, group in enumerate(groups, start=1):
        examples = yaml.safe_dump(group.examples(), allow_unicode=True, default_flow_style=False)
        lines.append(f"  # {group.count} messages like this")
        lines.append(f"  - intent: TODO_{number:03d}")
        lines.append("    examples: |")
        lines.extend(f"      {line}" for line in examples.strip().splitlines())
    return "\n".join(lines) + "\n"


def format_groups(groups: Sequence[Group], limit: int = 20) -> str:
    """The to-do list as text: count, the leading message and a few other ways."""
    if not groups:
        return "nothing fell back in this period"
    out = [f"{'count':>6}  message (other ways it was said)"]
    for group in groups[:limit]:
        others = [text for text in group.examples(4) if text != group.leader]
        extra = f"  ({' / '.join(others)})" if others else ""
        out.append(f"{group.count:>6}  {group.leader}{extra}")
    if len(groups) > limit:
        out.append(f"... and {len(groups) - limit} smaller groups")
    return "\n".join(out)


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """30d, 12h or an ISO date -> an aware datetime."""
    now = now or datetime.now(timezone.utc)
    value = value.strip()
    if value[:-1].isdigit() and value[-1:] in ("d", "h"):
        amount = int(value[:-1])
        return now - (timedelta(days=amount) if value.endswith("d") else timedelta(hours=amount))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected 30d, 12h or a date like 2026-11-01, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
