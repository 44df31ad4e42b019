"""Rasa's prediction graph run in a plan made once, instead of a dask graph built per call.

Rasa runs its model graph twice or more per message (NLU once, the policies once per
predicted action) with `DaskGraphRunner`, which on every call prunes the schema to the
targets, builds a dask task graph from it, orders the tasks (`dask.order`) and runs them
through dask's scheduler bookkeeping: about a tenth of the Rasa server's CPU per turn, for a
graph that never changes while the model is loaded. `PlannedGraphRunner` is that runner with
the order worked out once per set of targets and inputs and the nodes then called in it,
each with its parents' outputs, as dask calls them: the same nodes, the same arguments, the
same results and errors (a node's failure still surfaces as Rasa's `GraphComponentException`,
a `RuntimeError` as `GraphRunError`).

Rasa loads its model in `rasa.core.processor` with the runner class named there and no
setting for another; `install()` names this one (training keeps dask). Importing the
`channels` package calls it, as for the remote action (channels/remote_action.py).
"""

from __future__ import annotations

import threading
from typing import Any

from rasa.core import processor as rasa_processor
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphNode
from rasa.engine.runner.dask import DaskGraphRunner

# One step of a plan: a node's name, the node, and the names its inputs come from, in the
# order of the schema's `needs` (the order dask passes them in).
Step = tuple[str, GraphNode, tuple[str, ...]]


class PlannedGraphRunner(DaskGraphRunner):
    """`DaskGraphRunner` whose runs follow a plan kept per targets and input names."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[tuple[str, ...], frozenset[str]], tuple[Step, ...]] = {}
        self._plans_lock = threading.Lock()

    def _plan(self, targets: tuple[str, ...], inputs: frozenset[str]) -> tuple[Step, ...]:
        """Every node the targets need, each after the nodes it needs (inputs not run)."""
        key = (targets, inputs)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        nodes = self._graph_schema.nodes
        steps: list[Step] = []
        placed: set[str] = set()

        def place(name: str) -> None:
            if name in placed or name in inputs or name not in nodes:
                return
            placed.add(name)
            needs = tuple(nodes[name].needs.values())
            for parent in needs:
                place(parent)
            steps.append((name, self._instantiated_nodes[name], needs))

        for target in targets:
            place(target)
        plan = tuple(steps)
        with self._plans_lock:
            self._plans[key] = plan
        return plan

    def run(
        self,
        inputs: dict[str, Any] | None = None,
        targets: list[str] | None = None,
    ) -> dict[str, Any]:
        """Runs the graph (see Rasa's `GraphRunner.run`)."""
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        given = dict(inputs or {})
        plan = self._plan(run_targets, frozenset(given))
        # Outputs by name, as dask keeps them: (name, output), the inputs' too.
        outputs: dict[str, Any] = {}
        for name, value in given.items():
            if isinstance(value, str) and any(value == name for name, _, _ in plan):
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none of "
                    f"the input names passed to the `run` method are the same as node names "
                    f"in the graph schema."
                )
            outputs[name] = (name, value)
        try:
            for name, node, needs in plan:
                # A name nothing provides reaches the node as the bare name (dask's way);
                # the node says which input is missing.
                outputs[name] = node(*(outputs.get(parent, parent) for parent in needs))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs.get(target, target) for target in run_targets)


def install() -> None:
    """Make Rasa's message processor load its prediction graph into `PlannedGraphRunner`."""
    rasa_processor.DaskGraphRunner = PlannedGraphRunner
