"""Running an adapter written for the reference GEPA (PyPI ``gepa``) on this engine, without depending on it.

A reference adapter scores a whole batch at once (``evaluate(batch, candidate, capture_traces)`` returning an
object with ``outputs``, ``scores`` and ``trajectories``) and writes the reflector's evidence itself
(``make_reflective_dataset(candidate, eval_batch, components)`` returning, per component, one record per
example, whose ``Feedback`` is the evaluator's word on it). Here a system runs one example and an evaluator
scores one output, so the bridge runs the adapter on a batch of one and hands its score and feedback to its
evaluator::

    bridge = gepa.ReferenceAdapter(my_adapter)
    gepa.optimize(seed, train, val, task_model=bridge.system, evaluator=bridge.evaluator,
                  reflection_model="openai/gpt-4.1")
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from gepa.core.candidate import Candidate
from gepa.core.types import EvalResult, Example, SystemOutput

FEEDBACK_KEYS = ("Feedback", "feedback")


class ReferenceAdapter:
    """A reference-GEPA adapter as a ``system`` and an ``evaluator`` for ``gepa.optimize``. The examples are
    given to the adapter as the mappings they were passed in as (the reference's data instances)."""

    def __init__(self, adapter: Any) -> None:
        for method in ("evaluate", "make_reflective_dataset"):
            if not callable(getattr(adapter, method, None)):
                raise TypeError(f"{type(adapter).__name__} is not a GEPA adapter: it has no {method}() method")
        self.adapter = adapter
        self._scored: dict[tuple[str, str], EvalResult] = {}  # (example id, output text) -> what the adapter said
        self._lock = threading.Lock()
        self.system = _AdapterSystem(self)
        self.evaluator = _AdapterEvaluator(self)

    def run(self, candidate: Candidate, example: Example) -> SystemOutput:
        components = dict(candidate.components)
        batch = self.adapter.evaluate([dict(example.fields)], components, True)
        output, score = _one(batch.outputs, "outputs"), _one(batch.scores, "scores")
        text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
        records = self.adapter.make_reflective_dataset(components, batch, list(components))
        feedback = _feedback(records, components)
        with self._lock:
            self._scored[(example.id, text)] = EvalResult(score=score, feedback=feedback)
        trajectories = getattr(batch, "trajectories", None) or []
        trace = {"trajectory": trajectories[0]} if trajectories else {}
        return SystemOutput(text=text, trace=json.loads(json.dumps(trace, default=str)))

    def score(self, example: Example, output: str) -> EvalResult:
        with self._lock:
            found = self._scored.get((example.id, output))
        if found is None:
            raise ValueError(f"the adapter never produced this output for example {example.id}")
        return found


class _AdapterSystem:
    def __init__(self, bridge: ReferenceAdapter) -> None:
        self.bridge = bridge

    def run(self, candidate: Candidate, example: Example) -> SystemOutput:
        return self.bridge.run(candidate, example)


class _AdapterEvaluator:
    name = "reference-adapter"

    def __init__(self, bridge: ReferenceAdapter) -> None:
        self.bridge = bridge

    def __call__(self, example: Example, output: str) -> EvalResult:
        return self.bridge.score(example, output)


def _one(values: Sequence[Any], what: str) -> Any:
    if len(values) != 1:
        raise ValueError(f"the adapter's evaluate() returned {len(values)} {what} for a batch of one")
    return values[0]


def _feedback(records: Mapping[str, Sequence[Mapping[str, Any]]], components: Mapping[str, str]) -> str:
    """The first feedback any component's record gives for the one example (the adapter writes one per
    component; they usually agree), else the whole record as text so the reflector still sees it."""
    for name in components:
        for record in list(records.get(name) or [])[:1]:
            for key in FEEDBACK_KEYS:
                if record.get(key):
                    return str(record[key])
            return json.dumps(record, ensure_ascii=False, default=str)
    return ""
