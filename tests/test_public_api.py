"""The public surface: ``__all__`` is sorted and complete, and ``gepa.optimize`` runs a custom system."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gepa
from tests import fakes


def test_all_is_sorted_and_importable() -> None:
    assert gepa.__all__ == sorted(gepa.__all__)
    for name in gepa.__all__:
        assert getattr(gepa, name) is not None


def test_optimize_with_fake_models() -> None:
    result = gepa.optimize({"system": "You classify reviews.", "user": "Review: {{text}}"},
                           fakes.make_rows(10), fakes.make_rows(10, 100),
                           task_model=gepa.lm.FakeModel(fakes.task_model),
                           reflection_model=gepa.lm.FakeModel(fakes.reflector),
                           evaluator=gepa.evaluators.Exact(expected="label"),
                           config=gepa.OptimizerConfig(max_metric_calls=80, proposals_per_iteration=1), use_cache=False)
    assert result.best_score == 0.8 and fakes.RULE_B in result.best["user"]
    assert result.metric_calls <= 80 and result.best in result.frontier
    assert result.usage.calls > 0


class Pipeline:
    """A two-step custom system: it only uses the candidate's `user` component as a prefix."""

    def run(self, candidate: gepa.Candidate, example: gepa.Example) -> gepa.SystemOutput:
        user = candidate["user"].replace("{{text}}", example.fields["text"])
        answer = fakes.task_model([{"role": "user", "content": user}], {})
        return gepa.SystemOutput(text=answer, trace={"steps": 2})


def test_optimize_accepts_a_custom_system_and_evaluator() -> None:
    def evaluate(example: gepa.Example, output: str) -> gepa.EvalResult:
        ok = output == example.fields["label"]
        return gepa.EvalResult(score=float(ok), feedback="ok" if ok else "say the label")

    def respond(messages: Any, params: Mapping[str, Any]) -> str:
        return fakes.reflector(messages, params)

    result = gepa.optimize({"user": "Review: {{text}}"}, fakes.make_rows(10), fakes.make_rows(10, 100),
                           task_model=Pipeline(), reflection_model=gepa.lm.FakeModel(respond),
                           evaluator=evaluate, use_cache=False,
                           config=gepa.OptimizerConfig(max_metric_calls=60, proposals_per_iteration=1))
    assert fakes.RULE_B in result.best["user"]
