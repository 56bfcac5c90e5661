"""Build an evaluator from a task file's validated ``evaluator:`` entry (a dict, or a list of dicts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gepa.core.types import Evaluator
from gepa.errors import EvaluatorError
from gepa.evaluators.custom import Completes, LLMJudge, PythonEvaluator, Weighted, load_function
from gepa.evaluators.match import Contains, Exact, JsonOutput, Numeric, Regex

EVALUATOR_TYPES = ("exact", "contains", "regex", "json", "numeric", "python", "judge")
JudgeFactory = Callable[[str | None], Completes]


def build_evaluator(spec: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, base_dir: Path,
                    judge_client: JudgeFactory | None = None) -> Evaluator:
    if isinstance(spec, Sequence):
        parts = [(build_evaluator(s, base_dir=base_dir, judge_client=judge_client), float(s.get("weight", 1.0)))
                 for s in spec]
        return parts[0][0] if len(parts) == 1 else Weighted(parts=parts)
    kind = spec.get("type")
    norm = tuple(spec["normalize"]) if spec.get("normalize") is not None else None
    if kind == "exact":
        return Exact(expected=spec["expected"], **({"normalize": norm} if norm is not None else {}))
    if kind == "contains":
        return Contains(expected=spec["expected"], **({"normalize": norm} if norm is not None else {}))
    if kind == "regex":
        return Regex(pattern=spec["pattern"])
    if kind == "numeric":
        return Numeric(expected=spec["expected"], tolerance=float(spec.get("tolerance") or 1e-6))
    if kind == "json":
        return JsonOutput(schema=spec.get("schema"), fields=dict(spec.get("fields") or {}),
                          **({"normalize": norm} if norm is not None else {}))
    if kind == "python":
        return PythonEvaluator(function=load_function(spec["function"], base_dir))
    if kind == "judge":
        if judge_client is None:
            raise EvaluatorError("judge evaluator: no model available for the judge")
        return LLMJudge(rubric=spec["rubric"], client=judge_client(spec.get("model")),
                        expected=spec.get("expected"), input_fields=tuple(spec.get("input_fields") or ()))
    raise EvaluatorError(f"unknown evaluator type {kind!r}; valid types: {', '.join(EVALUATOR_TYPES)}")
