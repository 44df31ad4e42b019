"""The turn gate: a few messages at once, the others in order of arrival, nothing lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.agent import Agent

import channels  # noqa: F401  (installs the gate, as Rasa loading a channel does)
from channels import turns
from channels.settings import ChannelSettings
from channels.turns import TurnGate
from monitoring.metrics import TURNS_WAITING


def waiting() -> float:
    return TURNS_WAITING._value.get()


class Work:
    """Turns that note when they start and end and how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started: list[int] = []
        self.finished: list[int] = []

    async def turn(self, number: int, seconds: float = 0.02) -> int:
        self.started.append(number)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(seconds)
            return number * 10
        finally:
            self.running -= 1
            self.finished.append(number)


async def _arrive(gate: TurnGate, work: Work, count: int) -> list[int]:
    tasks = []
    for number in range(count):
        tasks.append(asyncio.create_task(gate.run(work.turn(number))))
        await asyncio.sleep(0)  # arrivals one after the other
    return await asyncio.gather(*tasks)


def test_at_most_the_limit_run_at_once_and_the_rest_start_in_order_of_arrival() -> None:
    work = Work()
    answers = asyncio.run(_arrive(TurnGate(2), work, 8))
    assert answers == [number * 10 for number in range(8)]
    assert work.most == 2
    assert work.started == list(range(8))
    assert waiting() == 0


def test_no_limit_lets_every_turn_in_at_once() -> None:
    work = Work()
    asyncio.run(_arrive(TurnGate(0), work, 8))
    assert work.most == 8


def test_waiting_turns_are_counted_while_they_wait() -> None:
    async def scenario() -> list[float]:
        gate, work = TurnGate(1), Work()
        tasks = [asyncio.create_task(gate.run(work.turn(n, 0.05))) for n in range(4)]
        await asyncio.sleep(0.01)
        seen = [waiting()]
        await asyncio.gather(*tasks)
        return [*seen, waiting()]

    assert asyncio.run(scenario()) == [3, 0]


def test_a_failed_or_cancelled_turn_gives_its_place_back() -> None:
    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("the turn failed")

    async def scenario() -> list[int]:
        gate, work = TurnGate(1), Work()
        failed = asyncio.create_task(gate.run(failing()))
        queued = work.turn(99)
        cancelled = asyncio.create_task(gate.run(queued))
        later = asyncio.create_task(gate.run(work.turn(1)))
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(RuntimeError, match="the turn failed"):
            await failed
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        # The cancelled turn never ran (and was closed, not left un-awaited).
        assert queued.cr_frame is None
        assert await later == 10
        return work.started

    assert asyncio.run(scenario()) == [1]
    assert waiting() == 0


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        TurnGate(-1)
    with pytest.raises(ValueError):
        ChannelSettings(concurrent_turns=-1)


def test_rasas_handle_message_is_gated_inside_the_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitoring.rasa_server import instrument_rasa

    instrument_rasa()
    outer: Any = Agent.handle_message
    assert getattr(outer, "_mall_assistant_metrics", False)
    assert isinstance(getattr(outer.__wrapped__, "_mall_assistant_turn_gate", None), TurnGate)
    # Installing again sets the limit of the one gate, it does not wrap twice.
    gate = outer.__wrapped__._mall_assistant_turn_gate
    before = gate.limit
    try:
        turns.install(5)
        assert gate.limit == 5
        assert Agent.handle_message is outer
    finally:
        turns.install(before)


def test_the_default_is_a_few_turns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONCURRENT_TURNS", raising=False)
    assert ChannelSettings.from_env().concurrent_turns == 3
    monkeypatch.setenv("CONCURRENT_TURNS", "0")
    assert ChannelSettings.from_env().concurrent_turns == 0


def test_a_conversations_burst_holds_one_place_and_keeps_its_order() -> None:
    async def scenario() -> tuple[list[int], float, list[int]]:
        gate, work = TurnGate(2), Work()
        burst = []
        for number in range(6):  # one customer sends six messages at once
            burst.append(asyncio.create_task(gate.run(work.turn(number, 0.05), "spammer")))
            await asyncio.sleep(0)
        started = asyncio.get_running_loop().time()
        other = await gate.run(work.turn(100, 0.01), "someone-else")
        waited = asyncio.get_running_loop().time() - started
        await asyncio.gather(*burst)
        return work.started, waited, [other]

    started, waited, other = asyncio.run(scenario())
    # The other customer is answered within one of the burst's turns, not after all six.
    assert waited < 0.15
    assert other == [1000]
    assert [n for n in started if n < 100] == list(range(6))
    assert waiting() == 0


def test_a_cancelled_message_of_a_conversation_lets_the_next_one_through() -> None:
    async def scenario() -> list[int]:
        gate, work = TurnGate(1), Work()
        first = asyncio.create_task(gate.run(work.turn(1, 0.03), "c"))
        await asyncio.sleep(0)
        second_turn = work.turn(2)
        second = asyncio.create_task(gate.run(second_turn, "c"))
        third = asyncio.create_task(gate.run(work.turn(3), "c"))
        await asyncio.sleep(0)
        second.cancel()
        await asyncio.gather(first, third)
        with pytest.raises(asyncio.CancelledError):
            await second
        assert second_turn.cr_frame is None
        assert not gate._state().conversations
        return work.started

    assert asyncio.run(scenario()) == [1, 3]
    assert waiting() == 0
