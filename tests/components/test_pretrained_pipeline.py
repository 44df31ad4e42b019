"""The pretrained-encoder pipeline (alternatives/pretrained_bert.yml) trains and parses.

No Chinese encoder with its weights installs from the package registries, so the test builds
a tiny BERT of its own in a temporary folder (random weights, a character vocabulary) and points
the configuration's LanguageModelFeaturizer at it: the loading, featurizing and training code an
operator's real weights go through, without downloading anything.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "alternatives" / "pretrained_bert.yml"
EXAMPLES = {
    "return_refund": ["我要退货", "怎么退款", "退款多久到账", "能退吗", "申请售后"],
    "ask_order_status": ["快递到哪了", "还没发货吗", "物流不动了", "什么时候到", "单号多少"],
    "greet": ["你好", "在吗", "亲 在不", "您好", "哈喽"],
}


def _tiny_bert(folder: Path) -> None:
    transformers = pytest.importorskip("transformers")
    characters = sorted({char for texts in EXAMPLES.values() for text in texts for char in text})
    # Laid out like bert-base-chinese's vocabulary: Rasa's BERT pre-processing adds the ids
    # 101 ([CLS]) and 102 ([SEP]) itself.
    unused = [f"[unused{i}]" for i in range(1, 100)]
    vocabulary = ["[PAD]", *unused, "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters]
    (folder / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    config = transformers.BertConfig(
        vocab_size=len(vocabulary),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    model = transformers.TFBertModel(config)
    model(model.dummy_inputs)  # build the weights, so that they are saved
    model.save_pretrained(str(folder))
    transformers.BertTokenizer(str(folder / "vocab.txt")).save_pretrained(str(folder))


def _config(weights: Path, out: Path) -> Path:
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"] == "LanguageModelFeaturizer":
            component["model_weights"] = str(weights)
        if component["name"] == "DIETClassifier":
            component["epochs"] = 2
    path = out / "config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _nlu(out: Path) -> Path:
    blocks = [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
        for intent, texts in EXAMPLES.items()
    ]
    path = out / "nlu.yml"
    path.write_text(
        yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True), encoding="utf-8"
    )
    return path


def test_the_pretrained_pipeline_trains_and_parses_with_local_weights(tmp_path: Path) -> None:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    weights = tmp_path / "chinese-bert"
    weights.mkdir()
    _tiny_bert(weights)
    model = train_nlu(
        config=str(_config(weights, tmp_path)),
        nlu_data=str(_nlu(tmp_path)),
        output=str(tmp_path / "models"),
        fixed_model_name="pretrained",
    )
    assert model and Path(model).is_file()
    agent = Agent.load(model)
    parsed = asyncio.run(agent.parse_message("退货怎么弄"))
    assert parsed["intent"]["name"] in {*EXAMPLES, "nlu_fallback"}
    assert "sentiment" in parsed  # the project's components run after the encoder
