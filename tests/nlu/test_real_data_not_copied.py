"""The project's examples are its own: none repeats or closely paraphrases the real dev set.

The shared real set (../shared/data/jd_dev/) is for measuring only. A training example copied
from it would make the measured figures a memory test, so every NLU example, NLU test
example and labelled sentiment message is compared with it: the same text (ignoring spaces,
punctuation and case), or one sharing most of its character trigrams, fails. Skipped when the
shared set is absent (a user's clone has none).
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT.parent / "shared" / "data" / "jd_dev" / "jd_dev.csv"
# Short messages (好的, 谢谢, 退货) are bound to coincide with somebody's: they carry no
# writing of their own to copy. From five characters on, the same text counts as a copy; from
# seven on, so does one that shares most of its character trigrams.
MIN_EXACT_CHARS = 5
MIN_CHARS = 7
MAX_TRIGRAM_OVERLAP = 0.7
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def normalise(text: str) -> str:
    """Text without annotations, spaces, punctuation or case."""
    return _NOISE.sub("", _ANNOTATION.sub(r"\1", text)).lower()


def trigrams(text: str) -> set[str]:
    """Character trigrams of a normalised text."""
    return {text[i : i + 3] for i in range(len(text) - 2)}


def project_texts() -> Iterator[tuple[str, str]]:
    """(file, message) for every example the project writes itself."""
    nlu_files = sorted((ROOT / "data" / "nlu").rglob("*.yml"))
    for path in nlu_files + sorted((ROOT / "tests" / "nlu" / "data").rglob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("- ") and not stripped.startswith(("- intent:", "- regex:")):
                yield str(path.relative_to(ROOT)), stripped[2:]
    for path in sorted((ROOT / "components" / "sentiment_data").glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                yield str(path.relative_to(ROOT)), line.partition("\t")[2]
    for path in sorted((ROOT / "tests" / "sentiment").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield str(path.relative_to(ROOT)), line


@pytest.fixture(scope="module")
def dev_texts() -> list[str]:
    if not DEV_SET.is_file():
        pytest.skip("the shared real dev set is absent")
    with DEV_SET.open(encoding="utf-8", newline="") as handle:
        return [normalise(row["text"]) for row in csv.DictReader(handle)]


def test_no_example_copies_or_paraphrases_a_real_message(dev_texts: list[str]) -> None:
    exact = {text for text in dev_texts if len(text) >= MIN_EXACT_CHARS}
    grams = {text: trigrams(text) for text in exact if len(text) >= MIN_CHARS}
    index: dict[str, set[str]] = defaultdict(set)
    for text, text_grams in grams.items():
        for gram in text_grams:
            index[gram].add(text)
    problems = []
    for source, message in project_texts():
        own = normalise(message)
        if own in exact:
            problems.append(f"{source}: {message!r} is a real dev-set message")
            continue
        if len(own) < MIN_CHARS:
            continue
        own_grams = trigrams(own)
        candidates = set().union(*(index.get(gram, set()) for gram in own_grams))
        for text in candidates:
            overlap = len(own_grams & grams[text]) / len(own_grams | grams[text])
            if overlap >= MAX_TRIGRAM_OVERLAP:
                problems.append(f"{source}: {message!r} paraphrases a real dev-set message")
                break
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_copy(dev_texts: list[str]) -> None:
    # The comparison itself works: a dev message, re-spaced and re-punctuated, is caught.
    sample = next(text for text in dev_texts if len(text) >= MIN_CHARS + 3)
    assert normalise(" ".join(sample) + "？？") == sample
