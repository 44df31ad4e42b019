"""The planned graph runner parses and predicts exactly as Rasa's dask runner, on the model.

The trained model is loaded twice, once into each runner; every message of a few
conversations is parsed by both, and after each the next actions are predicted by both on
the same tracker until the assistant listens again: intents, entities, confidences, the
predicted actions and their probabilities must be equal.
"""

from __future__ import annotations

import asyncio
import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.engine import loader
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, UserUttered

from channels.graph_runner import PlannedGraphRunner

pytestmark = pytest.mark.integration

CONVERSATIONS = [
    ["你好", "声悦Pro降噪蓝牙耳机多少钱", "要优惠", "好的", "谢谢"],
    ["我的快递到哪了", "还没收到", "太慢了，我要投诉", "转人工"],
    ["耳机坏了能退吗", "怎么申请退款", "订单号是多少来着", "再见"],
    ["有没有便宜点的手机", "你是机器人吗", "哈哈", "拜拜"],
]


@pytest.fixture(scope="module")
def processors(trained_model: Path) -> tuple[MessageProcessor, MessageProcessor]:
    """The model's processor on the planned runner, and a copy of it on dask's."""
    agent = Agent.load(str(trained_model))
    planned = agent.processor
    assert planned is not None
    assert isinstance(planned.graph_runner, PlannedGraphRunner)
    storage = Path(tempfile.mkdtemp(prefix="dask-runner-"))
    _, dask_runner = loader.load_predict_graph_runner(
        storage, trained_model, LocalModelStorage, DaskGraphRunner
    )
    on_dask = copy.copy(planned)
    on_dask.graph_runner = dask_runner
    return planned, on_dask


def _parsed(processor: MessageProcessor, text: str, sender: str) -> dict[str, Any]:
    return asyncio.run(processor.parse_message(UserMessage(text, sender_id=sender)))


def _predictions(processor: MessageProcessor, tracker: Any) -> list[tuple[str, list[float]]]:
    """The actions predicted after the last message, up to action_listen (not run)."""
    predicted = []
    for _ in range(10):
        prediction = processor._predict_next_with_tracker(tracker)
        action = processor.domain.action_names_or_texts[prediction.max_confidence_index]
        predicted.append((action, list(prediction.probabilities)))
        tracker.update(ActionExecuted(action))
        if action == ACTION_LISTEN_NAME:
            break
    return predicted


def test_parses_and_predictions_equal_rasas_dask_runner(
    processors: tuple[MessageProcessor, MessageProcessor],
) -> None:
    planned, on_dask = processors
    checked = 0
    for number, conversation in enumerate(CONVERSATIONS):
        sender = f"runner-{number}"
        ours = planned.tracker_store.init_tracker(sender)
        theirs = on_dask.tracker_store.init_tracker(sender)
        for tracker in (ours, theirs):
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        for text in conversation:
            parsed = _parsed(planned, text, sender)
            assert parsed == _parsed(on_dask, text, sender), text
            for tracker in (ours, theirs):
                tracker.update(UserUttered(text, parsed["intent"], parsed["entities"], parsed))
            predicted = _predictions(planned, ours)
            assert predicted == _predictions(on_dask, theirs), text
            assert predicted[-1][0] == ACTION_LISTEN_NAME
            checked += len(predicted)
    assert checked > sum(map(len, CONVERSATIONS))


def test_a_plan_is_made_once_per_targets(
    processors: tuple[MessageProcessor, MessageProcessor],
) -> None:
    planned, _ = processors
    runner = planned.graph_runner
    assert isinstance(runner, PlannedGraphRunner)
    _parsed(planned, "你好", "runner-plans")
    plans = dict(runner._plans)
    _parsed(planned, "在吗", "runner-plans")
    assert runner._plans == plans
    # The same objects: the second message reused the first one's plan.
    assert all(runner._plans[key] is plan for key, plan in plans.items())


def test_an_input_named_like_a_node_is_refused_as_dask_refuses_it(
    processors: tuple[MessageProcessor, MessageProcessor],
) -> None:
    planned, on_dask = processors
    target = planned.model_metadata.nlu_target
    for processor in (planned, on_dask):
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            processor.graph_runner.run(inputs={"__message__": target}, targets=[target])
