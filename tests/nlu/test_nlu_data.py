"""Checks on the NLU training data and the held-out NLU test set (tests/nlu/data/)."""

from __future__ import annotations

import glob
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import jieba
import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = REPO_ROOT / "data" / "nlu"
TEST_DIR = REPO_ROOT / "tests" / "nlu" / "data"
JIEBA_DIR = REPO_ROOT / "data" / "jieba"
DOMAIN_FILE = REPO_ROOT / "domain.yml"
CATALOGUE_FILE = REPO_ROOT / "mall" / "seed" / "catalogue.yml"

MIN_TRAIN_EXAMPLES = 45
MIN_TEST_EXAMPLES = 15
# Out-of-scope messages are trained under an internal intent that the pipeline
# (components/out_of_scope.py) reports as the schema's nlu_fallback. `rasa test nlu` undoes
# fallback predictions and scores the trained class, so the test set labels it out_of_scope.
OUT_OF_SCOPE = "out_of_scope"
ORDER_ID = re.compile(r"\d{12}")
# What may surround a product named on its own: "那个[充电宝]", "[蓝牙耳机]呢", "问的是[键盘]".
BARE_NAME_FILLER = re.compile(
    r"我要问的是|我说的是|问的是|就那个|就是|那个|这个|那双|我要|看看|[那这呢吧啊呀哈]"
)
# "不是这个，是[充电宝]" right after a quote: the customer wants the other product's price.
CORRECTION = re.compile(r"^(不是这|不是那|不对|搞错|弄错|错了|问错|我说的不是|我问的不是|你搞错)")
# Spec words that make a 多少 question about the product rather than its price.
SPEC_WORDS = ("容量", "重量", "续航", "功率", "尺寸", "克重", "吸力", "含绒量", "规格")
# Annotation syntax that survived parsing means a typo such as "[耳机](prodcut" or "[耳机]product".
LEFTOVER_MARKUP = re.compile(r"\]\(|\]\{|\[[^\]]*\]\s*\(")

Tokenize = Callable[[str], list[tuple[int, int]]]


def _examples(data: TrainingData) -> list[Message]:
    return [message for message in data.intent_examples if message.get("text")]


def _product_free(message: Message) -> str:
    """The message text with its product annotations cut out."""
    text = message.get("text")
    products = [e for e in message.get("entities") or [] if e["entity"] == "product"]
    for entity in sorted(products, key=lambda e: -e["start"]):
        text = text[: entity["start"]] + text[entity["end"] :]
    return text


def _names_a_product_only(message: Message) -> bool:
    """Whether the message is a product name on its own, give or take "那个" or "呢"."""
    if not any(e["entity"] == "product" for e in message.get("entities") or []):
        return False
    return not BARE_NAME_FILLER.sub("", _normalised(_product_free(message)))


def _normalised(text: str) -> str:
    """Text without case, spacing or punctuation, so near-identical lines compare equal."""
    folded = unicodedata.normalize("NFKC", text).lower()
    # Keep letters, digits and symbols (emoji are symbols: "👌" and "👌👌" differ).
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZC")


@pytest.fixture(scope="module")
def training() -> TrainingData:
    return load_data(str(TRAIN_DIR), language="zh")


@pytest.fixture(scope="module")
def test_set() -> TrainingData:
    return load_data(str(TEST_DIR), language="zh")


@pytest.fixture(scope="module")
def domain_intents() -> set[str]:
    """The intents NLU predicts: external ones (EXTERNAL_*) are triggered, never parsed."""
    names = set()
    for intent in yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["intents"]:
        name = next(iter(intent)) if isinstance(intent, dict) else intent
        if not str(name).startswith("EXTERNAL_"):
            names.add(str(name))
    return names


@pytest.fixture(scope="module")
def catalogue_words() -> set[str]:
    """Every product name and alias in the demo catalogue."""
    catalogue = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    words: set[str] = set()
    for product in catalogue["products"]:
        words.add(str(product["name"]))
        words.update(str(alias) for alias in product.get("aliases") or [])
    return words


@pytest.fixture(scope="module")
def unknown_products() -> set[str]:
    """Products the mall does not sell, named on purpose in data/nlu/unknown_products.yml."""
    data = load_data(str(TRAIN_DIR / "unknown_products.yml"), language="zh")
    return {
        str(entity["value"])
        for message in _examples(data)
        for entity in message.get("entities") or []
        if entity["entity"] == "product"
    }


def test_unknown_products_are_really_not_in_the_catalogue(
    unknown_products: set[str], catalogue_words: set[str]
) -> None:
    assert len(unknown_products) >= 20
    assert not unknown_products & catalogue_words


@pytest.fixture(scope="module")
def tokenize() -> Tokenize:
    """Jieba loaded with data/jieba the way Rasa's JiebaTokenizer loads dictionary_path."""
    jieba.setLogLevel(logging.WARNING)
    dictionaries = glob.glob(f"{JIEBA_DIR}/*")
    assert dictionaries, "data/jieba holds no user dictionary"
    for dictionary in dictionaries:
        jieba.load_userdict(dictionary)
    return lambda text: [(start, end) for _, start, end in jieba.tokenize(text)]


@pytest.mark.parametrize(
    ("name", "minimum"), [("train", MIN_TRAIN_EXAMPLES), ("test", MIN_TEST_EXAMPLES)]
)
def test_every_domain_intent_has_enough_examples(
    name: str,
    minimum: int,
    training: TrainingData,
    test_set: TrainingData,
    domain_intents: set[str],
) -> None:
    data = training if name == "train" else test_set
    counts = Counter(message.get("intent") for message in _examples(data))
    # domain.yml's intents, including the internal out_of_scope.
    assert OUT_OF_SCOPE in domain_intents
    assert set(counts) == domain_intents, "intents differ from domain.yml"
    too_few = {intent: count for intent, count in counts.items() if count < minimum}
    assert not too_few, f"{name} intents with fewer than {minimum} examples: {too_few}"


def test_no_test_example_appears_in_training(
    training: TrainingData, test_set: TrainingData
) -> None:
    seen = {_normalised(message.get("text")) for message in _examples(training)}
    leaked = [m.get("text") for m in _examples(test_set) if _normalised(m.get("text")) in seen]
    assert not leaked, f"test examples also in training: {leaked}"


def test_no_example_is_labelled_with_two_intents(training: TrainingData) -> None:
    intents: dict[str, set[str]] = {}
    for message in _examples(training):
        intents.setdefault(_normalised(message.get("text")), set()).add(message.get("intent"))
    clashes = {text: labels for text, labels in intents.items() if len(labels) > 1}
    assert not clashes, f"examples under more than one intent: {clashes}"


@pytest.mark.parametrize("name", ["train", "test"])
def test_entity_annotations_parse(
    name: str,
    training: TrainingData,
    test_set: TrainingData,
    catalogue_words: set[str],
    unknown_products: set[str],
) -> None:
    data = training if name == "train" else test_set
    known = catalogue_words | (unknown_products if name == "train" else set())
    problems = []
    for message in _examples(data):
        text = message.get("text")
        if LEFTOVER_MARKUP.search(text):
            problems.append(f"unparsed annotation: {text}")
        for entity in message.get("entities") or []:
            value = entity["value"]
            if text[entity["start"] : entity["end"]] != value:
                problems.append(f"span does not match value {value!r}: {text}")
            if entity["entity"] == "product" and value not in known:
                problems.append(f"product {value!r} is not a catalogue name or alias: {text}")
            if entity["entity"] == "order_id" and not ORDER_ID.fullmatch(value):
                problems.append(f"order id {value!r} is not 12 digits: {text}")
            if entity["entity"] not in {"product", "order_id", "color", "size"}:
                problems.append(f"unknown entity {entity['entity']!r}: {text}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ["train", "test"])
def test_catalogue_words_are_always_annotated(
    name: str, training: TrainingData, test_set: TrainingData, catalogue_words: set[str]
) -> None:
    # An alias labelled in one example and left bare in another teaches DIET two answers.
    data = training if name == "train" else test_set
    words = sorted((word for word in catalogue_words if len(word) > 1), key=len, reverse=True)
    unlabelled = []
    for message in _examples(data):
        text = message.get("text")
        for entity in sorted(message.get("entities") or [], key=lambda e: -e["start"]):
            text = text[: entity["start"]] + "|" + text[entity["end"] :]
        found = [word for word in words if word in text]
        if found:
            unlabelled.append(f"{found[0]!r} in {message.get('text')}")
    assert not unlabelled, "unannotated catalogue words:\n" + "\n".join(unlabelled)


@pytest.mark.parametrize("name", ["train", "test"])
def test_entities_start_and_end_on_token_boundaries(
    name: str, training: TrainingData, test_set: TrainingData, tokenize: Tokenize
) -> None:
    # DIET tags whole tokens: an entity that cuts a Jieba token in half can never be learned.
    data = training if name == "train" else test_set
    misaligned = []
    for message in _examples(data):
        text = message.get("text")
        spans = tokenize(text)
        starts = {start for start, _ in spans}
        ends = {end for _, end in spans}
        for entity in message.get("entities") or []:
            if entity["start"] not in starts or entity["end"] not in ends:
                misaligned.append(f"{entity['value']!r} in {text}")
    assert not misaligned, "entities that split a token:\n" + "\n".join(misaligned)


def test_tokenizer_keeps_catalogue_names_whole(tokenize: Tokenize) -> None:
    message = "请问声悦Pro降噪蓝牙耳机和极光20000毫安充电宝多少钱"
    tokens = [message[start:end] for start, end in tokenize(message)]
    assert "声悦Pro降噪蓝牙耳机" in tokens and "极光20000毫安充电宝" in tokens
    order = "订单202611280042到哪了"
    assert "202611280042" in [order[s:e] for s, e in tokenize(order)]


def test_domain_declares_the_out_of_scope_intent(domain_intents: set[str]) -> None:
    # Without it in the domain, the trained out-of-scope examples have no intent to go to.
    assert OUT_OF_SCOPE in domain_intents


def test_out_of_scope_examples_name_no_product_or_order(training: TrainingData) -> None:
    # A message about a product or an order is in scope, whatever else it says.
    tagged = [
        m.get("text")
        for m in _examples(training)
        if m.get("intent") == OUT_OF_SCOPE and m.get("entities")
    ]
    assert not tagged, f"out_of_scope examples with entities: {tagged}"


@pytest.mark.parametrize("name", ["train", "test"])
def test_a_product_named_on_its_own_is_a_product_question(
    name: str, training: TrainingData, test_set: TrainingData
) -> None:
    # The rules turn a bare product name into the answer of the pending "which product?".
    data = training if name == "train" else test_set
    bare = [m for m in _examples(data) if _names_a_product_only(m)]
    assert len(bare) >= (40 if name == "train" else 3), "too few bare product names"
    wrong = [
        f"{m.get('intent')}: {m.get('text')}" for m in bare if m.get("intent") != "ask_product_info"
    ]
    assert not wrong, "bare product names outside ask_product_info:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", ["train", "test"])
def test_a_correction_naming_a_product_is_a_price_question(
    name: str, training: TrainingData, test_set: TrainingData
) -> None:
    # "不对 我问的是[吹风机]" after a quote asks for that product's price.
    data = training if name == "train" else test_set
    corrections = [
        m
        for m in _examples(data)
        if CORRECTION.match(m.get("text"))
        and any(e["entity"] == "product" for e in m.get("entities") or [])
    ]
    wrong = [
        f"{m.get('intent')}: {m.get('text')}" for m in corrections if m.get("intent") != "ask_price"
    ]
    assert not wrong, "corrections outside ask_price:\n" + "\n".join(wrong)
    if name == "train":
        assert len(corrections) >= 15, "too few price corrections to learn from"


@pytest.mark.parametrize("name", ["train", "test"])
def test_price_examples_ask_about_money_not_specs(
    name: str, training: TrainingData, test_set: TrainingData
) -> None:
    # "容量多少" is a spec question; under ask_price it would teach that 多少 means money.
    data = training if name == "train" else test_set
    specs = [
        m.get("text")
        for m in _examples(data)
        if m.get("intent") == "ask_price" and any(word in m.get("text") for word in SPEC_WORDS)
    ]
    assert not specs, f"spec questions under ask_price: {specs}"
