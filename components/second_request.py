"""Notice a second request in one message: "我想退货 另外运费谁出".

Real customers often ask two things at once. The intent classifier reads the message as a
whole and reports one intent; this component, placed after it (and after the
ResponseSelector), splits the message into clauses, reads each with a small classifier of its
own (TF-IDF character n-grams and logistic regression over the full labels, `intent/topic`
where the intent has topics, components/char_ngrams.py), and reports the strongest clause
that asks for something else:

    parse_data["second_request"] = {"intent": "ask_shipping", "topic": null,
                                    "confidence": 0.91, "text": "另外运费谁出"}

"Something else" is another intent, or another topic of the same intent ("退货怎么申请 退款多久到"
asks return_refund/how_to and return_refund/progress). Small talk and out-of-scope clauses
never count. The actions answer the primary request and answer or offer the second one.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.char_ngrams import CharNgramModel

SECOND_REQUEST = "second_request"
RESPONSE_SELECTOR = "response_selector"
_MODEL = "second_request"

# Where one request ends and the next begins: punctuation, line breaks, runs of spaces, and
# the words that introduce another question.
_BOUNDARY = re.compile(r"[，,。.！!？?；;\n～~]+|\s{1,}")
_CONNECTIVES = re.compile(
    r"(另外|还有就是|还有|顺便问一下|顺便问下|顺便|再问一下|再问下|以及|然后)"
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# What makes a clause a request rather than context ("这个订单", "我昨天买的"): a question
# word or particle, a question mark, or asking someone to do something.
_REQUEST = re.compile(
    r"[?？]|[吗嘛么呢]|怎么|怎样|如何|能不能|可不可以|可以|能否|是否|有没有|多久|多少|几天|"
    r"什么|啥|哪|谁|请|帮我|麻烦|给我|我想|我要|想要|需要"
)

DEFAULT_IGNORED = (
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "out_of_scope",
    "nlu_fallback",
)


def split_clauses(text: str, min_chars: int) -> list[str]:
    """The message's clauses; a fragment with fewer than min_chars Han characters joins its
    neighbour ("亲 能退吗" is one clause)."""
    marked = _CONNECTIVES.sub(r"\n\1", text)
    pieces = [piece.strip() for piece in _BOUNDARY.split(marked) if piece and piece.strip()]
    clauses: list[str] = []
    carry = ""
    for piece in pieces:
        piece = f"{carry} {piece}" if carry else piece
        carry = ""
        if len(_HAN.findall(piece)) < min_chars:
            if clauses:
                clauses[-1] = f"{clauses[-1]} {piece}"
            else:
                carry = piece
            continue
        clauses.append(piece)
    if carry:
        clauses.append(carry)
    return clauses


def full_label(message: Message) -> str | None:
    """`return_refund/progress` for a retrieval example, the intent otherwise."""
    if not message.get(INTENT):
        return None
    return str(message.get_full_intent())


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SecondRequestDetector(GraphComponent):
    """Put the strongest second request of a message into its parse data."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Clause size, confidence needed, and the intents that never count."""
        return {
            # A clause needs this many Han characters to be read on its own.
            "min_chars": 4,
            # How sure the clause classifier must be.
            "threshold": 0.6,
            "ignored_intents": list(DEFAULT_IGNORED),
            "C": 20.0,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Refuse settings that cannot work."""
        full = {**cls.get_default_config(), **config}
        if not 0.0 < float(full["threshold"]) <= 1.0:
            raise InvalidConfigException("SecondRequestDetector needs 0 < threshold <= 1.")
        if int(full["min_chars"]) < 1:
            raise InvalidConfigException("SecondRequestDetector needs min_chars >= 1.")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SecondRequestDetector:
        """Build an untrained component."""
        cls.validate_config(config)
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: CharNgramModel | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._model = model
        self._ignored = set(config["ignored_intents"])

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the clause classifier on the NLU examples (full labels)."""
        # Only examples that are one clause long: the clauses of a longer example are not
        # labelled (its label is the message's main request).
        min_chars = int(self._config["min_chars"])
        pairs = [
            (message.get(TEXT), label)
            for message in training_data.intent_examples
            if message.get(TEXT)
            and (label := full_label(message))
            and len(split_clauses(message.get(TEXT), min_chars)) == 1
        ]
        if len({label for _, label in pairs}) >= 2:
            self._model = CharNgramModel.fit(
                [text for text, _ in pairs],
                [label for _, label in pairs],
                C=float(self._config["C"]),
            )
            with self._storage.write_to(self._resource) as folder:
                self._model.save(folder, _MODEL)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SecondRequestDetector:
        """Load the trained clause classifier (an untrained one says nothing)."""
        full = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as folder:
                model = CharNgramModel.load(folder, _MODEL)
        except (ValueError, FileNotFoundError):
            return cls(full, model_storage, resource)
        return cls(full, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Add `second_request` to messages that ask for a second thing."""
        if self._model is None:
            return messages
        for message in messages:
            found = self.second_request(message)
            if found is not None:
                message.set(SECOND_REQUEST, found, add_to_output=True)
        return messages

    def classify(self, clauses: list[str]) -> list[tuple[str, float]]:
        """The most likely full label of each clause and its probability."""
        assert self._model is not None
        return [self._model.ranking(clause, 1)[0] for clause in clauses]

    def second_request(self, message: Message) -> dict[str, Any] | None:
        """The strongest clause asking for something the primary request does not."""
        text = message.get(TEXT) or ""
        if text.startswith("/") or len(text) > 500:
            # Button payloads carry one intent; very long texts are stories, not two asks.
            return None
        clauses = split_clauses(text, int(self._config["min_chars"]))
        if len(clauses) < 2:
            return None
        primary = self._primary_label(message)
        if primary is None or primary.split("/")[0] in self._ignored:
            return None
        best: dict[str, Any] | None = None
        for clause, (label, confidence) in zip(clauses, self.classify(clauses), strict=True):
            intent, _, topic = label.partition("/")
            if intent in self._ignored or confidence < float(self._config["threshold"]):
                continue
            if not _REQUEST.search(clause):
                continue
            if label == primary or (intent == primary and not topic):
                continue
            if best is None or confidence > best["confidence"]:
                best = {
                    "intent": intent,
                    "topic": topic or None,
                    "confidence": round(confidence, 4),
                    "text": clause,
                }
        return best

    @staticmethod
    def _primary_label(message: Message) -> str | None:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if not intent:
            return None
        selector = message.get(RESPONSE_SELECTOR) or {}
        best: tuple[float, str] | None = None
        for name, result in selector.items():
            if name == "all_retrieval_intents" or not isinstance(result, dict):
                continue
            for item in result.get("ranking") or []:
                key = str(item.get("intent_response_key") or "")
                confidence = float(item.get("confidence") or 0.0)
                if key.startswith(f"{intent}/") and (best is None or confidence > best[0]):
                    best = (confidence, key)
        return best[1] if best else str(intent)
