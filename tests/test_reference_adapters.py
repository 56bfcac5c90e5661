"""An adapter written for the reference GEPA runs on this engine through ``gepa.ReferenceAdapter``: its batch
``evaluate`` drives the search and its ``make_reflective_dataset`` feedback reaches the reflector."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import gepa
from gepa.lm.base import Message
from tests import fakes


@dataclass
class EvaluationBatch:  # the reference's shape, written out: the bridge must not need the reference package
    outputs: list[Any]
    scores: list[float]
    trajectories: list[Any] | None = None


class ReviewAdapter:
    """What a reference user writes: the model call, the scoring and the reflective records in one object."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def evaluate(
        self, batch: list[dict[str, Any]], candidate: dict[str, str], capture_traces: bool = False
    ) -> EvaluationBatch:
        self.batches.append(len(batch))
        outputs, scores, trajectories = [], [], []
        for row in batch:
            messages: list[Message] = [
                {"role": "system", "content": candidate["system"]},
                {"role": "user", "content": candidate["user"].replace("{{text}}", row["text"])},
            ]
            answer = fakes.task_model(messages, {})
            outputs.append({"answer": answer})
            scores.append(1.0 if answer == row["label"] else 0.0)
            trajectories.append({"messages": messages, "label": row["label"]})
        return EvaluationBatch(outputs, scores, trajectories if capture_traces else None)

    def make_reflective_dataset(
        self, candidate: dict[str, str], eval_batch: EvaluationBatch, components_to_update: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        records = [
            {
                "Inputs": t["messages"][-1]["content"],
                "Generated Outputs": o["answer"],
                "Feedback": f"ADAPTER-FEEDBACK the label is {t['label']}",
            }
            for o, t in zip(eval_batch.outputs, eval_batch.trajectories or [], strict=True)
        ]
        return {name: records for name in components_to_update}


def test_a_reference_adapter_drives_the_search_and_its_feedback_reaches_the_reflector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "reflections.jsonl"
    monkeypatch.setenv("GEPA_TEST_REFLECTION_LOG", str(log))
    adapter = ReviewAdapter()
    bridge = gepa.ReferenceAdapter(adapter)
    result = gepa.optimize(
        {"system": "You classify reviews.", "user": "Review: {{text}}"},
        fakes.make_rows(10),
        fakes.make_rows(10, 100),
        task_model=bridge.system,
        evaluator=bridge.evaluator,
        reflection_model="fake/tests.fakes:recording_reflector",
        config=fakes.scripted_config(max_metric_calls=80),
        use_cache=False,
    )
    assert result.val_scores[0] and sum(result.val_scores[0]) / 10 == pytest.approx(0.2)
    assert result.best_score == 0.8 and fakes.RULE_B in result.best["user"]
    assert adapter.batches and set(adapter.batches) == {1}
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    assert requests and all("ADAPTER-FEEDBACK the label is" in fakes.request(m) for m in requests)
    assert '{"answer": ' in fakes.request(requests[0])  # a structured output reaches the reflector as JSON


def test_an_object_without_the_adapter_methods_is_refused_up_front() -> None:
    with pytest.raises(TypeError, match="make_reflective_dataset"):
        gepa.ReferenceAdapter(type("Half", (), {"evaluate": lambda self, *a: None})())
