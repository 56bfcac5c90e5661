"""Evaluators the user supplies or that need a model: a Python function, an LLM judge, a weighted mix."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from gepa.core.candidate import render
from gepa.core.evaluation import as_result
from gepa.core.types import EvalResult, Evaluator, Example
from gepa.core.user_code import load_object
from gepa.errors import EvaluatorError
from gepa.lm.base import Completes


def load_function(reference: str, base_dir: Path) -> Callable[..., Any]:
    """``package.module:function`` or ``path/to/file.py:function`` (relative to the task file)."""
    function = load_object(reference, base_dir, kind="python evaluator", error=EvaluatorError, noun="function")
    if not callable(function):
        raise EvaluatorError(f"python evaluator: {reference!r} is not a function")
    return cast("Callable[..., Any]", function)


@dataclass(frozen=True, kw_only=True)
class PythonEvaluator:
    """Calls ``function(example_fields: dict, output: str)``."""

    function: Callable[..., Any]

    @property
    def name(self) -> str:
        return f"python:{getattr(self.function, '__module__', '?')}.{getattr(self.function, '__qualname__', '?')}"

    def __call__(self, example: Example, output: str) -> EvalResult:
        return as_result(self.function(dict(example.fields), output))  # the engine converts it too: typed here


JUDGE_PROMPT = """You grade an answer against a rubric.

Rubric:
{{rubric}}

Input:
{{input}}

Reference answer (may be empty):
{{expected}}

Answer to grade:
{{output}}

Reply with JSON only: {"score": <a number from 0 to 10>, "reason": "<one sentence on what is wrong or right>"}"""


def parse_judgement(text: str) -> tuple[float, str]:
    """Score in [0, 1] and reason from a judge reply (JSON, or 'score: N' as a fallback)."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        try:
            data = json.loads(match.group(0))
            return min(1.0, max(0.0, float(data["score"]) / 10.0)), str(data.get("reason", ""))
        except (ValueError, KeyError, TypeError):
            pass
    number = re.search(r"score\D{0,5}(\d+(?:\.\d+)?)", text, re.IGNORECASE)
    if number:
        return min(1.0, float(number.group(1)) / 10.0), text.strip()
    raise ValueError(f"the judge's reply has no score: {text[:200]!r}")


@dataclass(frozen=True, kw_only=True)
class LLMJudge:
    """An LLM scores the output against ``rubric``; its reason becomes the feedback."""

    rubric: str
    client: Completes
    input_fields: tuple[str, ...] = ()
    expected: str | None = None

    def compared_fields(self) -> set[str]:
        """The reference answer's field, when the judge is given one."""
        return {self.expected} if self.expected else set()

    def __call__(self, example: Example, output: str) -> EvalResult:
        fields = example.fields
        shown = self.input_fields or tuple(k for k in fields if k != self.expected)
        prompt = render(
            JUDGE_PROMPT,
            {
                "rubric": self.rubric,
                "output": output,
                "input": "\n".join(f"{k}: {fields[k]}" for k in shown),
                "expected": str(fields.get(self.expected, "")) if self.expected else "",
            },
        )
        reply = self.client.complete([{"role": "user", "content": prompt}], {"temperature": 0})
        score, reason = parse_judgement(reply.text)
        return EvalResult(score=score, feedback=f"Judge: {reason}")


@dataclass(frozen=True, kw_only=True)
class Weighted:
    """Weighted mean of several evaluators; each part's score is also kept by its name, and the feedback lists
    each part's."""

    parts: Sequence[tuple[str, Evaluator, float]]

    def compared_fields(self) -> set[str]:
        """Every part's."""
        return set().union(*(compared_fields(part) for _, part, _ in self.parts))

    def __call__(self, example: Example, output: str) -> EvalResult:
        total = sum(w for _, _, w in self.parts) or 1.0
        results = [(name, e(example, output), w) for name, e, w in self.parts]
        score = sum(r.score * w for _, r, w in results) / total
        return EvalResult(
            score=score,
            feedback=" ".join(r.feedback for _, r, _ in results if r.feedback),
            scores={name: r.score for name, r, _ in results},
            expected=next((r.expected for _, r, _ in results if r.expected is not None), None),
        )


@dataclass(frozen=True, kw_only=True)
class Named:
    """One evaluator whose score is also kept under ``name`` (an objective), beside any scores it names itself."""

    name: str
    inner: Evaluator

    def compared_fields(self) -> set[str]:
        return compared_fields(self.inner)

    def __call__(self, example: Example, output: str) -> EvalResult:
        result = self.inner(example, output)
        return EvalResult(
            score=result.score,
            feedback=result.feedback,
            expected=result.expected,
            scores={**result.scores, self.name: result.score},
        )


def compared_fields(evaluator: object) -> set[str]:
    """The example fields ``evaluator`` compares the output against, which the task model is never shown as
    inputs: what its ``compared_fields()`` names (gepa's evaluators have one; a user's class may), else none (a
    function reads what it likes)."""
    method = getattr(evaluator, "compared_fields", None)
    found = method() if callable(method) else set()
    return {name for name in found if isinstance(name, str)}
