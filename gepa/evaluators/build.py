"""Build an evaluator from a task file's validated ``evaluator:`` entry (a dict, or a list of dicts).

``EVALUATORS`` is the one list of evaluator types: the task file's validation, its JSON Schema and the error
for an unknown type all read it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gepa.core.types import Evaluator
from gepa.errors import EvaluatorError
from gepa.evaluators.custom import Completes, LLMJudge, Named, PythonEvaluator, Weighted, load_function
from gepa.evaluators.match import Contains, Exact, JsonOutput, Numeric, Regex

JudgeFactory = Callable[[str | None], Completes]


@dataclass(frozen=True, kw_only=True)
class BuildContext:
    """What some evaluators need beyond their spec: where relative files are, and a client for judges."""

    base_dir: Path
    judge_client: JudgeFactory | None = None


def _normalize(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"normalize": tuple(spec["normalize"])} if spec.get("normalize") is not None else {}


def _judge(spec: Mapping[str, Any], context: BuildContext) -> Evaluator:
    if context.judge_client is None:
        raise EvaluatorError("judge evaluator: no model available for the judge")
    return LLMJudge(rubric=spec["rubric"], client=context.judge_client(spec.get("model")),
                    expected=spec.get("expected"), input_fields=tuple(spec.get("input_fields") or ()))


EVALUATORS: dict[str, Callable[[Mapping[str, Any], BuildContext], Evaluator]] = {
    "exact": lambda spec, _: Exact(expected=spec["expected"], **_normalize(spec)),
    "contains": lambda spec, _: Contains(expected=spec["expected"], **_normalize(spec)),
    "regex": lambda spec, _: Regex(pattern=spec["pattern"]),
    "json": lambda spec, _: JsonOutput(schema=spec.get("schema"), fields=dict(spec.get("fields") or {}),
                                       **_normalize(spec)),
    "numeric": lambda spec, _: Numeric(expected=spec["expected"], tolerance=float(spec.get("tolerance") or 1e-6)),
    "python": lambda spec, context: PythonEvaluator(function=load_function(spec["function"], context.base_dir)),
    "judge": _judge,
}
REQUIRED_KEY = {"exact": "expected", "contains": "expected", "numeric": "expected", "regex": "pattern",
                "python": "function", "judge": "rubric"}


def part_names(specs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each evaluator's objective name: its ``name``, else its type (numbered when a type repeats)."""
    names = []
    for spec in specs:
        base = str(spec.get("name") or spec.get("type"))
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def build_evaluator(spec: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, base_dir: Path,
                    judge_client: JudgeFactory | None = None) -> Evaluator:
    """One evaluator, or a weighted combination of a list of them."""
    context = BuildContext(base_dir=base_dir, judge_client=judge_client)
    if isinstance(spec, Sequence):
        names = part_names(spec)
        parts = [(name, build_evaluator(s, base_dir=base_dir, judge_client=judge_client), float(s.get("weight", 1.0)))
                 for name, s in zip(names, spec, strict=True)]
        if len(parts) == 1:
            return parts[0][1]
        return Weighted(parts=[(name, e.inner if isinstance(e, Named) else e, w) for name, e, w in parts])
    if spec.get("name"):  # a named evaluator's score is also kept under its name, as an objective
        inner = build_evaluator({k: v for k, v in spec.items() if k != "name"}, base_dir=base_dir,
                                judge_client=judge_client)
        return Named(name=str(spec["name"]), inner=inner)
    kind = str(spec.get("type"))
    if kind not in EVALUATORS:
        raise EvaluatorError(f"unknown evaluator type {kind!r}; valid types: {', '.join(EVALUATORS)}")
    return EVALUATORS[kind](spec, context)
